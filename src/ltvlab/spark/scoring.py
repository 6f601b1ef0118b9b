"""Distributed scoring: P(alive), expected purchases and discounted CLV per customer on the Spark executors.

The driver checks the unit and takes the posterior draws once (:func:`ltvlab.ltv.scoring_plan`, the same draws as
:func:`ltvlab.ltv.score_customers` with the same ``max_draws`` and ``seed``) and ships them with the horizon inside
the scoring function (DataFrame APIs only, so a classic session and Spark Connect run the same code).
Each executor scores its partitions with ``mapInPandas`` through the public scoring engine (:mod:`ltvlab.ltv.engine`:
``validate_summary``, ``unique_rows``, ``unique_row_table``), Spark's Arrow batches gathered to ``task_rows``
customers per call: distinct summaries of a call are evaluated once, ``chunk_rows`` at a time, so an executor
holds at most draws x ``chunk_rows`` numbers (and ``task_rows`` rows of input and scores). The
scores are those of the one-machine path to floating-point rounding, in no particular row order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import (
    QUANTILES,
    clv_attrs,
    scoring_plan,
    segment_index_of,
    unique_row_table,
    unique_rows,
    validate_summary,
)
from ltvlab.ltv.decisions import CUSTOMER_HASH, hash_ids, project_salt
from ltvlab.spark.session import pandas_conversion

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import DataFrame

METADATA_FILE = "_ltvlab.json"  # Spark and pyarrow readers skip files starting with "_"
# Customers scored per engine call on an executor (Spark's Arrow batches gathered up to this many rows): enough
# for the engine to share its tables between customers, a few hundred MB of draws x rows at most.
TASK_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class SparkScoringRun:
    """What :func:`write_scores` wrote and how the scores were computed."""

    path: Path
    n_customers: int
    n_draws: int
    columns: tuple[str, ...]
    attrs: dict[str, Any]


def score_columns(quantities: tuple[str, ...], id_column: str) -> list[str]:
    """Output columns: the id, then ``{quantity}_{mean,q05,q50,q95}`` per quantity."""
    stats = ["mean", *(f"q{round(q * 100):02d}" for q in QUANTILES)]
    return [id_column, *(f"{name}_{stat}" for name in quantities for stat in stats)]


def score_dataframe(
    purchase_fit: Any,
    spend_fit: Any | None,
    summary: DataFrame | pd.DataFrame,
    *,
    unit: str | None = None,
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
    max_draws: int | None = 1000,
    seed: int = 0,
    chunk_rows: int = 2048,
    hash_customer_ids: bool = False,
    salt: str | None = None,
    task_rows: int = TASK_ROWS,
) -> tuple[DataFrame, dict[str, Any]]:
    """Scores of every customer of a Spark (or pandas) summary as a lazy Spark DataFrame, and how they were made.

    Columns are those of :func:`ltvlab.ltv.score_customers`: ``customer_id`` (``customer_hash`` with
    ``hash_customer_ids``) then ``{p_alive,expected_purchases,clv}_{mean,q05,q50,q95}`` (CLV only with a
    ``spend_fit``). ``unit`` is the summary's time unit (``"D"``/``"W"``), read from a pandas summary's ``attrs``
    when not given; it must be the purchase fit's unit. The returned dict holds the horizon, discounting and draws used (no per-row counts).
    """
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

    if isinstance(summary, pd.DataFrame):
        unit = unit or summary.attrs.get("unit")
        spark = SparkSession.getActiveSession()
        if spark is None:
            raise LtvlabError(
                "no active SparkSession to score a pandas summary; start one with spark_session()"
            )
        with pandas_conversion():
            summary = spark.createDataFrame(summary)
    if not isinstance(summary, SparkDataFrame):
        raise LtvlabError(f"summary must be a Spark or pandas DataFrame, not {type(summary).__name__}")
    if unit is None:
        raise LtvlabError("pass unit='W' or unit='D': the time unit of the summary's t_x and T")
    plan = scoring_plan(
        purchase_fit,
        spend_fit,
        unit=str(unit),
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=seed,
    )
    horizon, draws, quantities = plan.horizon, plan.draws, plan.quantities
    p_index = segment_index_of(purchase_fit)
    s_index = segment_index_of(spend_fit) if spend_fit is not None else None
    needed = [col.CUSTOMER_ID, col.X, col.T_X, col.T] + ([col.MONETARY] if spend_fit is not None else [])
    needed += sorted({i.segment for i in (p_index, s_index) if i is not None and i.segment} - set(needed))
    if p_index.covariates is not None:
        needed += [c for c in p_index.covariates.columns if c not in needed]
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise LtvlabError(
            f"the summary lacks column(s) {missing}; build it with ltvlab.spark.summary_dataframe"
        )
    key = (salt if salt is not None else project_salt()) if hash_customer_ids else None
    id_column = CUSTOMER_HASH if hash_customer_ids else col.CUSTOMER_ID
    columns = score_columns(quantities, id_column)
    schema = ", ".join(f"`{name}` {'string' if i == 0 else 'double'}" for i, name in enumerate(columns))
    # The draws travel inside the function's closure (pickled once per task): no SparkContext broadcast, which
    # Spark Connect lacks; they are a few thousand numbers per parameter.
    work = {
        "draws": draws,
        "horizon": horizon,
        "quantities": quantities,
        "p_index": p_index,
        "s_index": s_index,
        "chunk_rows": chunk_rows,
        "task_rows": int(task_rows),
        "salt": key,
        "columns": columns,
    }

    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        # Spark hands over Arrow batches of 10,000 rows; the engine shares its tables between the customers of
        # one call (same segment and x, same T), so batches are gathered to ``task_rows`` rows per call. The task
        # runs on the cores Spark gave it: the engine's Numba threads are held to that number.
        _hold_threads_to_task_cpus()
        pending: list[pd.DataFrame] = []
        n = 0
        for batch in batches:
            if len(batch) == 0:
                continue
            pending.append(batch)
            n += len(batch)
            if n >= work["task_rows"]:
                yield score_batch(_gathered(pending), work)
                pending, n = [], 0
        if pending:
            yield score_batch(_gathered(pending), work)

    scored = summary.select(*needed).mapInPandas(score_batches, schema)
    attrs = clv_attrs(horizon, draws, seed=seed, n_unique=-1)
    attrs.pop("n_unique_summaries")
    attrs["expected_purchases_horizon"] = f"{horizon.horizon_weeks:g} weeks"
    return scored, attrs


def _gathered(batches: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame of Spark's Arrow batches; the ids as one plain array (a concatenation of Arrow-backed strings
    is chunked, which Spark cannot send back as one Arrow column)."""
    frame = pd.concat(batches, ignore_index=True)
    frame[col.CUSTOMER_ID] = frame[col.CUSTOMER_ID].to_numpy(dtype=object)
    return frame


def _hold_threads_to_task_cpus() -> None:
    """Numba's threads (the engine's parallel loops) to the CPUs of the running Spark task (1 unless
    ``spark.task.cpus`` says more), so that tasks side by side on an executor do not share cores."""
    import numba
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is not None:
        numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, int(context.cpus()))))


def score_batch(batch: pd.DataFrame, work: dict[str, Any]) -> pd.DataFrame:
    """Score one batch of customers (runs on an executor); ``work`` holds the draws, horizon and segment indexes."""
    batch = batch.reset_index(drop=True)
    validate_summary(batch, need_monetary=work["s_index"] is not None)
    rows = unique_rows(batch, work["p_index"], work["s_index"])
    table = unique_row_table(
        work["draws"],
        rows,
        horizon=work["horizon"],
        quantities=work["quantities"],
        chunk_rows=work["chunk_rows"],
    )
    out = table.iloc[rows.inverse].reset_index(drop=True)
    ids = batch[col.CUSTOMER_ID]
    out.insert(0, work["columns"][0], hash_ids(ids, salt=work["salt"]) if work["salt"] else ids.astype(str))
    return out[work["columns"]]


def write_scores(
    purchase_fit: Any,
    spend_fit: Any | None,
    summary: DataFrame | pd.DataFrame,
    path: str | Path,
    *,
    mode: str = "overwrite",
    **options: Any,
) -> SparkScoringRun:
    """Score every customer on the executors and write the table as a Parquet folder at ``path``.

    ``options`` are those of :func:`score_dataframe`. How the scores were made is written beside the data parts
    in ``_ltvlab.json`` (skipped by Parquet readers).
    """
    scored, attrs = score_dataframe(purchase_fit, spend_fit, summary, **options)
    target = str(path)
    scored.write.mode(mode).parquet(target)
    n_customers = scored.sparkSession.read.parquet(target).count()
    attrs = {**attrs, "n_customers": n_customers}
    if "://" not in target or target.startswith("file://"):
        folder = Path(target.removeprefix("file://"))
        (folder / METADATA_FILE).write_text(json.dumps(attrs, indent=1, default=str))
    return SparkScoringRun(
        path=Path(target),
        n_customers=n_customers,
        n_draws=int(attrs["n_draws"]),
        columns=tuple(scored.columns),
        attrs=attrs,
    )
