"""``ltvlab ltv fit`` / ``ltvlab ltv score``: published CDNOW figures through the command line, and user errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ltvlab.cli import cli
from ltvlab.cli.ltv import add_derived_segment
from ltvlab.features import columns as col
from tests.reference import cdnow

# Repeat transactions in weeks 40-78 of the CDNOW protocol (a data fact; see test_holdout.py).
CDNOW_HOLDOUT_TRANSACTIONS = 1882


def _run(*args: str):
    return CliRunner().invoke(cli, ["ltv", *args], catch_exceptions=False)


def test_fit_map_flat_reproduces_the_published_bgnbd_mle():
    result = _run(
        "fit",
        "--dataset",
        "cdnow-sample",
        "--model",
        "bgnbd",
        "--method",
        "map",
        "--priors",
        "flat",
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    params = {row["param"]: row["mean"] for row in report["parameters"]}
    for name, published in cdnow.BGNBD.items():  # FHL (2005): r, alpha, a, b to 3 decimals
        assert params[name] == pytest.approx(published, rel=0.01), name
    assert report["log_likelihood"] == pytest.approx(cdnow.BGNBD_LL, abs=0.5)
    assert report["diagnostics"].startswith("passed")
    holdout = report["holdout"]
    assert holdout["actual_total"] == CDNOW_HOLDOUT_TRANSACTIONS
    assert holdout["mae"] < holdout["naive_mae"]
    assert report["calibration_end"] == "1997-09-30" and report["unit"] == "W"


def test_score_from_a_users_file_with_column_flags(tmp_path, monkeypatch, cdnow_sample_transactions):
    monkeypatch.setenv("LTVLAB_ID_SALT", "test-salt")  # keep the project salt file untouched
    # The user's file has its own column names; the shared flags map them.
    renamed = cdnow_sample_transactions.rename(
        columns={"customer_id": "cust", "date": "day", "amount": "value"}
    )
    source = tmp_path / "orders.csv"
    renamed[["cust", "day", "value"]].assign(day=lambda d: d["day"].dt.strftime("%Y-%m-%d")).to_csv(
        source, index=False
    )
    output = tmp_path / "scores.parquet"
    result = _run(
        "score", "--data", str(source), "--customer-col", "cust", "--date-col", "day", "--amount-col", "value",
        "--method", "map", "--priors", "flat", "--output", str(output), "--hash-ids", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["customers"] == cdnow.CUSTOMERS
    scores = pd.read_parquet(output)
    assert len(scores) == cdnow.CUSTOMERS and scores.columns[0] == "customer_hash"
    assert scores["clv_q05"].le(scores["clv_q95"]).all() and scores["clv_mean"].gt(0).all()
    assert report["purchase_log_likelihood"] == pytest.approx(cdnow.BGNBD_LL, abs=0.5)


def test_fit_with_a_customer_covariate_from_the_users_file(tmp_path, cdnow_sample_transactions):
    """A covariate column of the user's file (taken at the first purchase) enters the fit; the nested model's
    maximum likelihood can only rise above the published no-covariate MLE."""
    tx = cdnow_sample_transactions
    first_log_amount = np.log1p(tx.groupby(col.CUSTOMER_ID)["amount"].transform("first"))
    source = tmp_path / "orders.csv"
    tx.assign(date=tx["date"].dt.strftime("%Y-%m-%d"), log_first=first_log_amount).to_csv(source, index=False)
    result = _run(
        "fit", "--data", str(source), "--purchase-covariate", "log_first", "--dropout-covariate", "log_first",
        "--method", "map", "--priors", "flat", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {(r["segment"], r["param"]) for r in report["parameters"]}
    assert {
        ("covariate:log_first", g) for g in ("gamma_purchase", "gamma_dropout_a", "gamma_dropout_b")
    } <= rows
    assert report["purchase_covariates"] == ["log_first"]
    assert report["log_likelihood"] >= cdnow.BGNBD_LL - 0.5
    assert report["diagnostics"].startswith("passed")


def test_derived_cohort_segment(cdnow_sample_transactions):
    tx, name = add_derived_segment(cdnow_sample_transactions, "cohort")
    assert name == "cohort"
    firsts = tx.groupby(col.CUSTOMER_ID)["cohort"].nunique()
    assert (firsts == 1).all()  # one segment per customer, fixed at acquisition
    per_cohort = tx.drop_duplicates(col.CUSTOMER_ID)["cohort"].value_counts()
    assert set(per_cohort.index) == {"1997-01", "1997-02", "1997-03"}
    assert per_cohort.sum() == cdnow.CUSTOMERS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "--dataset", "cdnow-sample", "--pooling", "partial"], "needs --segment-col"),
        (["fit", "--dataset", "cdnow-sample", "--data", "x.csv"], "exactly one of"),
        (["fit", "--dataset", "cdnow-sample", "--segment-col", "nope", "--pooling", "none"], "not a column"),
        (
            ["fit", "--dataset", "cdnow-sample", "--segment-col", "a", "--derive-segment", "cohort"],
            "not both",
        ),
        (["fit", "--dataset", "cdnow-sample", "--purchase-covariate", "nope"], "not a column"),
    ],
)
def test_user_errors_exit_2_without_traceback(args, message):
    result = CliRunner().invoke(cli, ["ltv", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_partial_pooling_by_cohort_nuts():
    # Full NUTS fit through the CLI (a few minutes on 2 cores): three cohort segments, diagnostics reported.
    result = _run(
        "fit", "--dataset", "cdnow-sample", "--derive-segment", "cohort", "--pooling", "partial",
        "--method", "nuts", "--draws", "500", "--chains", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    segments = {row["segment"] for row in report["parameters"]}
    assert {"1997-01", "1997-02", "1997-03"} <= segments
    assert report["holdout"]["mae"] < report["holdout"]["naive_mae"]


def test_fit_keeps_customers_acquired_on_the_calibration_end_day(tmp_path, cdnow_sample_transactions):
    """Issue 15: `ltv fit` stopped with "N row(s) with T <= 0" when first purchases fell on the last
    calibration day. Such customers have T = 0 and likelihood exactly 1, so the MLE is the published one."""
    tx = cdnow_sample_transactions.assign(date=cdnow_sample_transactions["date"].dt.strftime("%Y-%m-%d"))
    new = pd.DataFrame(
        {col.CUSTOMER_ID: ["new1", "new2", "new2"], "date": ["1997-09-30", "1997-09-30", "1998-01-05"],
         "amount": [12.0, 30.0, 15.0]}
    )  # fmt: skip
    source = tmp_path / "orders.csv"
    pd.concat([tx[[col.CUSTOMER_ID, "date", "amount"]], new]).to_csv(source, index=False)
    result = _run("fit", "--data", str(source), "--method", "map", "--priors", "flat", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["customers"] == cdnow.CUSTOMERS + 2
    assert report["log_likelihood"] == pytest.approx(cdnow.BGNBD_LL, abs=0.5)


@pytest.mark.parametrize("model", ["mbgnbd"])
def test_model_choices_come_from_the_registry(model):
    result = _run("fit", "--dataset", "cdnow-sample", "--model", model, "--method", "map", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == model


def test_fit_save_then_score_from_the_file_without_refitting(tmp_path):
    """`ltv fit --save` then `ltv score --fit` scores exactly like `ltv score` refitting with the same options;
    a saved fit of another model, or a summary in another unit, is refused."""
    saved = tmp_path / "fit.nc"
    fitted = _run("fit", "--dataset", "cdnow-sample", "--method", "map", "--save", str(saved), "--json")
    assert fitted.exit_code == 0, fitted.output
    assert json.loads(fitted.output)["saved"] == str(saved)
    from_file, refitted = tmp_path / "a.parquet", tmp_path / "b.parquet"
    first = _run(
        "score", "--dataset", "cdnow-sample", "--fit", str(saved), "--output", str(from_file), "--json"
    )
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["fit"] == str(saved)
    second = _run("score", "--dataset", "cdnow-sample", "--method", "map", "--output", str(refitted))
    assert second.exit_code == 0, second.output
    pd.testing.assert_frame_equal(pd.read_parquet(from_file), pd.read_parquet(refitted))
    wrong_model = _run("score", "--dataset", "cdnow-sample", "--fit", str(saved), "--model", "paretonbd",
                       "--output", str(tmp_path / "c.parquet"))  # fmt: skip
    assert wrong_model.exit_code != 0 and "holds a bgnbd fit, not paretonbd" in wrong_model.output
    wrong_unit = _run("score", "--dataset", "cdnow-sample", "--fit", str(saved), "--unit", "D",
                      "--output", str(tmp_path / "d.parquet"))  # fmt: skip
    assert wrong_unit.exit_code != 0 and "weeks" in wrong_unit.output
