"""The Spark customer summary equals the DuckDB one: CDNOW and synthetic CRM data, weeks and days, merged and
unmerged same-day purchases, holdout and segment columns, from frames, Parquet, CSV and a catalog table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic_crm import generate_crm
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.features import customer_summary
from ltvlab.features.backend import check_backend, summary_on
from tests.conftest import CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END
from tests.reference import cdnow


def assert_same_summary(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Same columns, dtypes, order and attrs; values equal to floating-point rounding."""
    pd.testing.assert_frame_equal(duck, spark, check_exact=False, rtol=1e-12, atol=1e-12)
    assert duck.attrs == spark.attrs


@pytest.fixture(scope="module")
def crm():
    return generate_crm(3000, seed=11)


@pytest.fixture(scope="module")
def crm_transactions(crm) -> pd.DataFrame:
    tx = crm.transactions
    return tx.assign(channel=tx["channel"].astype(str))


@pytest.mark.parametrize(
    "options",
    [
        {"unit": "W", "holdout_end": CDNOW_HOLDOUT_END},
        {"unit": "D"},
        {"unit": "W", "merge_same_day": True, "holdout_end": "1997-12-31"},
    ],
    ids=["weeks-holdout", "days", "weeks-short-holdout"],
)
def test_cdnow_summary_matches_duckdb(spark, cdnow_sample_transactions: pd.DataFrame, options: dict) -> None:
    from ltvlab.spark import customer_summary as spark_summary

    duck = customer_summary(cdnow_sample_transactions, calibration_end=CDNOW_CALIBRATION_END, **options)
    ours = spark_summary(
        cdnow_sample_transactions, calibration_end=CDNOW_CALIBRATION_END, spark=spark, **options
    )
    assert_same_summary(duck, ours)
    assert len(ours) == cdnow.CUSTOMERS
    if options["unit"] == "W":  # the published figures are for merged same-day purchases
        assert int(ours[col.X].sum()) == cdnow.REPEAT_TRANSACTIONS


def test_unmerged_timestamps_matches_duckdb(spark, cdnow_sample_transactions: pd.DataFrame) -> None:
    """Without same-day merging, times of day count: each purchase gets its own second of the day."""
    from ltvlab.spark import customer_summary as spark_summary

    tx = cdnow_sample_transactions.copy()
    # distinct times within a customer's day, so "the first purchase" is well defined on both engines
    tx[col.DATE] = tx[col.DATE] + pd.to_timedelta(np.arange(len(tx)) % 86_000, unit="s")
    options = {
        "calibration_end": CDNOW_CALIBRATION_END,
        "holdout_end": CDNOW_HOLDOUT_END,
        "merge_same_day": False,
    }
    for unit in ("D", "W"):
        duck = customer_summary(tx, unit=unit, **options)
        ours = spark_summary(tx, unit=unit, spark=spark, **options)
        assert_same_summary(duck, ours)
        assert (ours[col.T_X] % 1 != 0).any()  # fractions of a day/week did reach the summary


def test_purchases_tied_in_time_are_ordered_as_duckdb_orders_them(
    spark, crm, crm_transactions: pd.DataFrame
) -> None:
    """Day-dated purchases, unmerged: ties on a customer's first day go to the smaller amount on both engines,
    whatever the row order."""
    from ltvlab.spark import customer_summary as spark_summary

    days = crm_transactions.assign(**{col.DATE: pd.to_datetime(crm_transactions[col.DATE]).dt.normalize()})
    tx = days.sample(frac=1.0, random_state=5).reset_index(drop=True)  # another row order
    first = tx.groupby(col.CUSTOMER_ID)[col.DATE].transform("min")
    tied = tx[tx[col.DATE] == first].groupby(col.CUSTOMER_ID).size()
    assert (tied > 1).sum() > 0  # the data do have ties on the first day
    options = {
        "calibration_end": crm.calibration_end,
        "unit": "W",
        "merge_same_day": False,
        "segment_cols": ("channel",),
    }
    duck = customer_summary(tx, **options)
    assert_same_summary(duck, spark_summary(tx, spark=spark, **options))
    assert_same_summary(duck, customer_summary(days, **options))


def test_synthetic_summary_with_segments_matches_duckdb(spark, crm, crm_transactions: pd.DataFrame) -> None:
    from ltvlab.spark import customer_summary as spark_summary

    options = {
        "calibration_end": crm.calibration_end,
        "holdout_end": crm.holdout_end,
        "unit": "W",
        "segment_cols": ("channel",),
    }
    duck = customer_summary(crm_transactions, **options)
    ours = spark_summary(crm_transactions, spark=spark, **options)
    assert_same_summary(duck, ours)
    assert ours["channel"].nunique() > 1 and (ours[col.X_HOLDOUT] > 0).any()


def test_summary_from_parquet_csv_and_table(
    spark, cdnow_sample_transactions: pd.DataFrame, tmp_path: Path
) -> None:
    from ltvlab.spark import customer_summary as spark_summary

    options = {"calibration_end": CDNOW_CALIBRATION_END, "holdout_end": CDNOW_HOLDOUT_END, "unit": "W"}
    duck = customer_summary(cdnow_sample_transactions, **options)
    parquet = tmp_path / "tx.parquet"
    cdnow_sample_transactions.to_parquet(parquet, index=False)
    csv = tmp_path / "tx.csv"
    cdnow_sample_transactions.to_csv(csv, index=False, date_format="%Y-%m-%d")
    spark.read.parquet(str(parquet)).createOrReplaceTempView("ltvlab_test_tx")
    for source in (str(parquet), str(csv), "ltvlab_test_tx"):
        assert_same_summary(duck, spark_summary(source, spark=spark, **options))


def test_backend_setting_selects_the_engine(spark, cdnow_sample_transactions: pd.DataFrame) -> None:
    options = {"calibration_end": CDNOW_CALIBRATION_END, "unit": "W"}
    duck = summary_on("duckdb", cdnow_sample_transactions, **options)
    assert_same_summary(duck, customer_summary(cdnow_sample_transactions, **options))
    assert_same_summary(duck, summary_on("spark", cdnow_sample_transactions, spark=spark, **options))


def test_bad_arguments_are_refused_like_duckdb(spark, cdnow_sample_transactions: pd.DataFrame) -> None:
    from ltvlab.spark import customer_summary as spark_summary

    for options, message in (
        ({"calibration_end": "1997-09-30", "unit": "M"}, "unit='M'"),
        ({"calibration_end": "1997-09-30", "holdout_end": "1997-01-01"}, "must come after"),
        ({"calibration_end": "not a date"}, "is not a date"),
    ):
        with pytest.raises(LtvlabError, match=message):
            customer_summary(cdnow_sample_transactions, **options)
        with pytest.raises(LtvlabError, match=message):
            spark_summary(cdnow_sample_transactions, spark=spark, **options)
    with pytest.raises(LtvlabError, match=r"lack column\(s\) \['channel'\]"):
        spark_summary(
            cdnow_sample_transactions, calibration_end="1997-09-30", segment_cols=("channel",), spark=spark
        )
    with pytest.raises(LtvlabError, match="neither an existing path nor a table"):
        spark_summary("no_such_table", calibration_end="1997-09-30", spark=spark)


def test_unknown_backend_is_named() -> None:
    assert check_backend("spark") == "spark"
    with pytest.raises(LtvlabError, match="backend='polars' is not supported"):
        check_backend("polars")


def test_importing_ltvlab_does_not_import_pyspark() -> None:
    code = (
        "import sys, ltvlab, ltvlab.data, ltvlab.features, ltvlab.features.backend, ltvlab.cli; "
        "print('pyspark' in sys.modules, 'ltvlab.spark' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"
    # and no other module imports the Spark package (docstrings may name it; import statements may not)
    src = Path(__file__).parents[2] / "src" / "ltvlab"
    allowed = {src / "features" / "backend.py"}
    statement = re.compile(r"^\s*(from|import)\s+(pyspark|ltvlab\.spark)\b", re.MULTILINE)
    mentions = [
        p
        for p in src.rglob("*.py")
        if "spark" not in p.relative_to(src).parts and p not in allowed and statement.search(p.read_text())
    ]
    assert mentions == []


def test_missing_pyspark_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "ltvlab.spark" or m.startswith("ltvlab.spark.")]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh below; restored afterwards
    monkeypatch.setitem(sys.modules, "pyspark", None)  # makes `import pyspark` raise ImportError
    with pytest.raises(LtvlabError, match=r"pip install 'ltvlab\[spark\]'"):
        summary_on("spark", pd.DataFrame(), calibration_end="1997-09-30")
    with pytest.raises(LtvlabError, match="optional extra"):
        import ltvlab.spark  # noqa: F401


def test_ltv_notebook_takes_the_backend_as_a_parameter() -> None:
    import ast
    import json

    from ltvlab.reports.params import load_schema, validate_params

    notebook = Path(__file__).parents[2] / "notebooks" / "10_ltv.ipynb"
    schema = load_schema(notebook)
    assert validate_params(schema, {})["backend"] == "duckdb"
    assert validate_params(schema, {"backend": "spark"})["backend"] == "spark"
    with pytest.raises(LtvlabError, match="not allowed"):
        validate_params(schema, {"backend": "polars"})
    cells = json.loads(notebook.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    (params,) = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    defaults = {n.targets[0].id: n.value for n in ast.parse("".join(params["source"])).body}
    assert ast.literal_eval(defaults["backend"]) == "duckdb"
    assert any("summary_on(\n    backend," in source for source in sources)
