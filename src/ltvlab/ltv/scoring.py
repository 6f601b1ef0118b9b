"""Score every customer: P(alive), expected purchases over a horizon and discounted CLV, with quantiles.

The posterior is evaluated once per distinct ``(segment, x, t_x, T, monetary)`` row, ``chunk_rows`` rows at a
time, and the per-customer table is written in blocks of ``write_rows`` customers with a pyarrow
``ParquetWriter`` (or appended to a CSV), so peak memory does not grow with draws x customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.clv import clv_attrs
from ltvlab.ltv.decisions import CUSTOMER_HASH, hash_ids, project_salt
from ltvlab.ltv.engine import scoring_plan, unique_row_table, unique_rows, validate_summary


@dataclass(frozen=True, slots=True)
class ScoringRun:
    """What :func:`write_scores` wrote and how it was computed."""

    path: Path
    n_customers: int
    n_unique_summaries: int
    n_draws: int
    columns: tuple[str, ...]
    attrs: dict[str, Any]


def _prepare(
    purchase_fit: Any,
    spend_fit: Any | None,
    summary: pd.DataFrame,
    *,
    horizon_weeks: float,
    period_weeks: float,
    annual_discount_rate: float,
    max_draws: int | None,
    seed: int,
    chunk_rows: int,
    unit: str | None,
) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    validate_summary(summary, need_monetary=spend_fit is not None)
    plan = scoring_plan(
        purchase_fit,
        spend_fit,
        summary=summary,
        unit=unit,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=seed,
    )
    rows = unique_rows(summary, purchase_fit, spend_fit)
    table = unique_row_table(
        plan.draws, rows, horizon=plan.horizon, quantities=plan.quantities, chunk_rows=chunk_rows
    )
    attrs = clv_attrs(plan.horizon, plan.draws, seed=seed, n_unique=len(rows))
    attrs["expected_purchases_horizon"] = f"{plan.horizon.horizon_weeks:g} weeks"
    return table, rows.inverse, attrs


def _block(
    summary: pd.DataFrame, table: pd.DataFrame, inverse: np.ndarray, sl: slice, ids: pd.Series
) -> pd.DataFrame:
    out = table.iloc[inverse[sl]].reset_index(drop=True)
    out.insert(0, ids.name, ids.iloc[sl].to_numpy())
    return out


def _ids(summary: pd.DataFrame, hashed: bool, salt: str | None) -> pd.Series:
    if not hashed:
        return summary[col.CUSTOMER_ID].astype(str).rename(col.CUSTOMER_ID).reset_index(drop=True)
    key = salt if salt is not None else project_salt()
    return hash_ids(summary[col.CUSTOMER_ID].reset_index(drop=True), salt=key).rename(CUSTOMER_HASH)


def score_customers(
    purchase_fit: Any,
    spend_fit: Any | None,
    summary: pd.DataFrame,
    *,
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
    max_draws: int | None = 1000,
    seed: int = 0,
    chunk_rows: int = 2048,
    hash_customer_ids: bool = False,
    salt: str | None = None,
    unit: str | None = None,
) -> pd.DataFrame:
    """Per-customer scores in memory: ``customer_id`` then ``{p_alive,expected_purchases,clv}_{mean,q05,q50,q95}``.

    ``expected_purchases`` is over ``horizon_weeks``; CLV columns need ``spend_fit`` (omitted when it is None).
    With ``hash_customer_ids`` the first column is ``customer_hash`` (salted sha256) instead of the raw id.
    ``unit`` is the summary's time unit (default ``summary.attrs["unit"]``); it must be the purchase fit's.
    """
    table, inverse, attrs = _prepare(
        purchase_fit,
        spend_fit,
        summary,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=seed,
        chunk_rows=chunk_rows,
        unit=unit,
    )
    out = _block(summary, table, inverse, slice(0, len(summary)), _ids(summary, hash_customer_ids, salt))
    out.attrs.update(attrs)
    return out


def write_scores(
    purchase_fit: Any,
    spend_fit: Any | None,
    summary: pd.DataFrame,
    path: str | Path,
    *,
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
    max_draws: int | None = 1000,
    seed: int = 0,
    chunk_rows: int = 2048,
    write_rows: int = 100_000,
    hash_customer_ids: bool = False,
    salt: str | None = None,
    unit: str | None = None,
) -> ScoringRun:
    """Score every customer and stream the table to ``path`` (``.parquet`` or ``.csv``) in blocks.

    Same columns as :func:`score_customers`; the Parquet file's metadata records how the scores were made.
    """
    out = Path(path)
    if out.suffix not in (".parquet", ".csv"):
        raise LtvlabError(f"output {out} must end in .parquet or .csv")
    if write_rows < 1:
        raise LtvlabError(f"write_rows={write_rows} must be at least 1")
    table, inverse, attrs = _prepare(
        purchase_fit,
        spend_fit,
        summary,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=seed,
        chunk_rows=chunk_rows,
        unit=unit,
    )
    ids = _ids(summary, hash_customer_ids, salt)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    columns: tuple[str, ...] = ()
    try:
        for start in range(0, len(summary), write_rows):
            block = _block(summary, table, inverse, slice(start, min(start + write_rows, len(summary))), ids)
            columns = tuple(block.columns)
            if out.suffix == ".csv":
                block.to_csv(out, mode="w" if start == 0 else "a", header=start == 0, index=False)
                continue
            arrow = pa.Table.from_pandas(block, preserve_index=False)
            if writer is None:
                metadata = {b"ltvlab": repr(attrs).encode()}
                schema = arrow.schema.with_metadata({**(arrow.schema.metadata or {}), **metadata})
                writer = pq.ParquetWriter(out, schema)
            writer.write_table(arrow.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    return ScoringRun(
        path=out,
        n_customers=len(summary),
        n_unique_summaries=len(table),
        n_draws=int(attrs["n_draws"]),
        columns=columns,
        attrs=attrs,
    )
