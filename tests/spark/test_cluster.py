"""The whole Spark pipeline on a real cluster equals the DuckDB path: a standalone cluster (a master and two
workers on 127.0.0.1, started by the session fixture from the pyspark distribution) and a Spark Connect server on
that cluster (local mode: the other modules of ``tests/spark``).

One data set, made once: synthetic CRM transactions split into three CSV files, one of them with a bad amount.
DuckDB side: each file through :func:`ltvlab.data.load_transactions`, the summary of their rows by
:func:`ltvlab.features.customer_summary`, MAP fits and :func:`ltvlab.ltv.score_customers`. Spark side, per mode:
:func:`ltvlab.spark.ingest_files` on the folder (validation on the executors), the summary of the validated rows,
the compressed statistics and :func:`ltvlab.spark.write_scores` with the same fits. Everything must agree: the
quarantine, the summary to 1e-12, the distinct rows and counts exactly, the scores to 1e-10.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ltvlab.data import load_transactions
from ltvlab.data.synthetic_crm import generate_crm
from ltvlab.features import columns as col
from ltvlab.features import customer_summary
from ltvlab.ltv import BGNBD, GammaGamma, score_customers

SEGMENT = "channel"
NOW = pd.Timestamp("2026-01-01")
BAD_ROW = 7  # data row of the second file whose amount is made unreadable
# local mode runs the same steps in the other modules of tests/spark (ingest corpus, summaries, statistics, scores)
CLUSTER_MODES = pytest.mark.spark_modes("standalone", "connect")


@pytest.fixture(scope="module")
def one_machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CSV folder and everything the DuckDB path makes of it."""
    root = tmp_path_factory.mktemp("cluster-data")
    crm = generate_crm(1500, seed=11)
    tx = crm.transactions.assign(**{SEGMENT: crm.transactions[SEGMENT].astype(str)})
    tx["date"] = tx["date"].dt.strftime("%Y-%m-%d")
    tx["amount"] = tx["amount"].map("{:.2f}".format)
    folder = root / "lake"
    folder.mkdir()
    part = pd.factorize(tx[col.CUSTOMER_ID])[0] % 3  # whole customers per file
    files = []
    for i in range(3):
        chunk = tx[part == i].reset_index(drop=True)
        if i == 1:
            chunk.loc[BAD_ROW - 1, "amount"] = "12,5O"
        files.append(folder / f"orders-{i}.csv")
        chunk.to_csv(files[-1], index=False)
    loads = [
        load_transactions(f, quarantine_dir=root / "duck-q", now=NOW, extra_columns=(SEGMENT,)) for f in files
    ]
    rows = pd.concat([load.frame for load in loads], ignore_index=True)
    options = {"calibration_end": crm.calibration_end, "unit": "D", "segment_cols": (SEGMENT,)}
    summary = customer_summary(rows, **options)
    fit = BGNBD(pooling="none", segment=SEGMENT).fit(summary, method="map", seed=1)
    spend = GammaGamma().fit(summary[summary[col.X] > 0], method="map", seed=1)
    scores = score_customers(fit, spend, summary, horizon_weeks=26.0, period_weeks=2.0)
    return {
        "folder": folder,
        "loads": loads,
        "options": options,
        "summary": summary,
        "fit": fit,
        "spend": spend,
        "scores": scores,
    }


def _session_kind(spark: Any) -> str:
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        return "connect"
    master = spark.sparkContext.master
    return "local" if master.startswith("local") else "standalone"


@CLUSTER_MODES
def test_ingest_summary_statistics_and_scores_equal_duckdb(
    spark, request: pytest.FixtureRequest, one_machine: dict[str, Any], tmp_path: Path
) -> None:
    from ltvlab.spark import (
        compressed_statistics,
        ingest_files,
        read_transactions,
        summary_dataframe,
        to_summary_frame,
        write_scores,
    )

    mode = request.node.callspec.params["spark"]
    assert _session_kind(spark) == mode

    # ingest validation: one executor task per file, the loader's own rules and quarantine
    ingest = ingest_files(
        one_machine["folder"],
        spark=spark,
        output=tmp_path / "validated",
        quarantine_dir=tmp_path / "q",
        now=NOW,
        extra_columns=(SEGMENT,),
    )
    loads = one_machine["loads"]
    assert [f.source.name for f in ingest.files] == [load.source.name for load in loads]
    assert [(f.n_rows, f.n_loaded, f.n_quarantined) for f in ingest.files] == [
        (load.n_rows, load.n_loaded, load.n_quarantined) for load in loads
    ]
    assert ingest.n_quarantined == 1
    pd.testing.assert_frame_equal(ingest.files[1].quarantine, loads[1].quarantine)
    assert ingest.files[1].quarantine_path.read_bytes() == loads[1].quarantine_path.read_bytes()
    assert loads[1].quarantine["row"].tolist() == [BAD_ROW + 1]  # the file's own line number (header is 1)

    # the summary of the validated rows
    options = one_machine["options"]
    frame = read_transactions(spark, ingest.frame, extra_columns=(SEGMENT,))
    summary = summary_dataframe(frame, **options).cache()
    collected = to_summary_frame(
        summary,
        calibration_end=options["calibration_end"],
        holdout_end=None,
        unit="D",
        merge_same_day=True,
        transactions=frame,
    )
    duck = one_machine["summary"]
    pd.testing.assert_frame_equal(collected, duck, check_exact=False, rtol=1e-12, atol=1e-12)
    assert collected.attrs == duck.attrs

    # compressed statistics: the distinct rows and weights the model itself compresses the summary to
    statistics = compressed_statistics(summary, segment=SEGMENT, unit="D")
    rows = BGNBD(pooling="none", segment=SEGMENT).prepare(duck).rows
    assert len(statistics) == rows.n_rows and statistics.attrs["n_customers"] == len(duck)
    np.testing.assert_array_equal(statistics["count"].to_numpy(float), rows.weight)
    for name in (col.X, col.T_X, col.T):
        np.testing.assert_allclose(
            statistics[name].to_numpy(float), rows.values[name], rtol=1e-12, atol=1e-12
        )

    # scores on the executors, written as Parquet
    run = write_scores(
        one_machine["fit"],
        one_machine["spend"],
        summary,
        tmp_path / "scores",
        unit="D",
        horizon_weeks=26.0,
        period_weeks=2.0,
    )
    written = pd.read_parquet(run.path).sort_values(col.CUSTOMER_ID).reset_index(drop=True)
    expected = one_machine["scores"].sort_values(col.CUSTOMER_ID).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        written, expected, check_exact=False, rtol=1e-10, atol=1e-12, check_dtype=False
    )
    assert run.n_customers == len(duck)


@pytest.mark.spark_modes("standalone")
def test_standalone_tasks_run_on_both_workers(spark) -> None:
    """The cluster session really is distributed: its executors are two processes on the two workers."""
    import os

    def where(batches):
        for batch in batches:
            yield pd.DataFrame({"pid": [os.getpid()] * len(batch)})

    import time

    status = spark.sparkContext._jsc.sc()
    deadline = time.monotonic() + 120  # executors register a few seconds after the session starts
    while status.getExecutorMemoryStatus().size() - 1 < 2 and time.monotonic() < deadline:  # minus the driver
        time.sleep(1)
    assert status.getExecutorMemoryStatus().size() - 1 == 2
    pids = spark.range(0, 8, 1, numPartitions=8).mapInPandas(where, "pid long").toPandas()["pid"]
    assert os.getpid() not in set(pids)
