"""``ltvlab ab`` on the bundled Hillstrom data and on a user's file; mistakes end in one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ltvlab.cli import cli
from tests.reference import hillstrom as ref

BASE = ["ab", "--dataset", "hillstrom", "--arm-col", "segment", "--control", "No E-Mail"]


@pytest.fixture(scope="module")
def hillstrom_json() -> dict:
    result = CliRunner().invoke(
        cli, [*BASE, "--metric", "visit", "--metric", "conversion", "--metric", "spend", "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_every_arm_and_metric_with_the_published_figures(hillstrom_json) -> None:
    rows = {(r["arm"], r["metric"]): r for r in hillstrom_json["results"]}
    assert len(rows) == 6
    for (arm, metric), row in rows.items():
        for key in (
            "n_arm",
            "mean_arm",
            "lift",
            "ci_low",
            "ci_high",
            "p_value",
            "p_value_adjusted",
            "prob_better",
            "srm_p_value",
        ):
            assert row[key] is not None, key
        assert row["n_arm"] == ref.ARMS[arm]["n"]
        if metric in ref.LIFTS:
            lift, low, high = ref.LIFTS[metric][arm]
            digits = 4 if metric == "visit" else 3
            assert (
                round(row["lift"], digits),
                round(row["ci_low"], digits),
                round(row["ci_high"], digits),
            ) == (lift, low, high)
    assert round(hillstrom_json["srm"]["p_value"], 2) == ref.SRM_P
    assert hillstrom_json["correction"] == "holm"


def test_covariates_segment_and_bh(tmp_path) -> None:
    result = CliRunner().invoke(
        cli,
        [*BASE, "--metric", "visit", "--covariate", "history", "--covariate", "recency", "--correction", "bh",
         "--segment-col", "womens", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {r["method"] for r in payload["results"]} == {"cuped"}
    womens = [h for h in payload["heterogeneity"] if h["arm"] == "Womens E-Mail"]
    assert {h["segment"]: round(h["raw_estimate"], 3) for h in womens} == {"0": 0.011, "1": 0.073}


def test_text_output() -> None:
    result = CliRunner().invoke(cli, [*BASE, "--metric", "visit"])
    assert result.exit_code == 0
    assert "SRM p-value: 0.9037" in result.output and "Womens E-Mail" in result.output


def _user_file(tmp_path, *, bad_rows: int = 0) -> str:
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(n)],
            "group": np.tile(["ctrl", "sms"], n // 2),
            "bought": (rng.random(n) < 0.3).astype(int),
            "revenue": rng.gamma(1.0, 20.0, n).round(2),
            "tenure": rng.integers(1, 60, n),
        }
    )
    frame = frame.astype({"bought": object})
    frame.loc[: bad_rows - 1, "bought"] = "yes" if bad_rows else frame.loc[: bad_rows - 1, "bought"]
    path = tmp_path / "experiment.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_user_file(tmp_path) -> None:
    args = ["ab", "--data", _user_file(tmp_path), "--unit-col", "customer", "--arm-col", "group", "--control", "ctrl",
            "--metric", "bought", "--binary-metric", "bought", "--metric", "revenue", "--covariate", "tenure", "--json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {r["metric"] for r in payload["results"]} == {"bought", "revenue"}
    assert payload["srm"]["observed"] == {"ctrl": 300, "sms": 300}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--control", "No E-mail", "--metric", "visit"], "control label 'No E-mail' not found"),
        (["--control", "No E-Mail", "--metric", "history_segment"], "not numeric"),
        (["--control", "No E-Mail", "--metric", "spend", "--binary-metric", "spend"], "declared binary"),
        (["--control", "No E-Mail", "--metric", "nope"], "'nope' not found"),
    ],
)
def test_cli_mistakes_are_one_line_errors(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["ab", "--dataset", "hillstrom", "--arm-col", "segment", *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_source_must_be_one_of_dataset_or_data() -> None:
    result = CliRunner().invoke(cli, ["ab", "--arm-col", "a", "--control", "c", "--metric", "m"])
    assert result.exit_code == 2 and "exactly one of" in result.output


def test_cli_gives_the_same_numbers_as_python(hillstrom, hillstrom_json) -> None:
    from ltvlab.experiments import analyse_experiment

    report = analyse_experiment(
        hillstrom, arm_col="segment", control=ref.CONTROL, metrics=["visit", "conversion", "spend"]
    )
    python_rows = report.summary_frame().to_dict(orient="records")
    for cli_row, py_row in zip(hillstrom_json["results"], python_rows, strict=True):
        for key in ("lift", "ci_low", "ci_high", "p_value", "p_value_adjusted", "prob_better"):
            assert cli_row[key] == pytest.approx(py_row[key], rel=1e-12, abs=1e-300)


def test_planned_arm_without_units_is_a_warning_not_a_crash() -> None:
    result = CliRunner().invoke(
        cli,
        [*BASE, "--metric", "visit", "--arm", "No E-Mail", "--arm", "Mens E-Mail", "--arm", "Womens E-Mail",
         "--arm", "SMS", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output[result.output.index("{") :])
    sms = next(r for r in payload["results"] if r["arm"] == "SMS")
    assert sms["lift"] is None and "empty_arm" in sms["warnings"]
    assert payload["srm"]["flagged"] and any("'SMS' has no units" in w for w in payload["warnings"])


def test_arm_outside_the_planned_list_is_an_error() -> None:
    result = CliRunner().invoke(
        cli, [*BASE, "--metric", "visit", "--arm", "No E-Mail", "--arm", "Mens E-Mail"]
    )
    assert result.exit_code == 2 and "not in arms=" in result.output and "Traceback" not in result.output
