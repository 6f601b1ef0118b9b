"""The ``ltvlab causal``, ``kpi`` and ``allocate`` commands: JSON output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ltvlab.cli import cli
from tests.causal.dgp import TRUE_EFFECT, confounded_frame, did_panel


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("causal_cli")
    paths = {"units": root / "units.csv", "panel": root / "panel.parquet", "values": root / "values.csv"}
    confounded_frame(3000, seed=12).to_csv(paths["units"], index=False)
    did_panel(200, seed=12).to_parquet(paths["panel"])
    pd.DataFrame(
        [("A", "email", 0, 3.0), ("A", "call", 0, 10.0), ("B", "email", 0, 1.5), ("B", "call", 0, 4.0)],
        columns=["segment", "strategy", "draw", "incremental_value"],
    ).to_csv(paths["values"], index=False)
    return paths


def _run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_aipw_json(files: dict[str, Path]) -> None:
    out = _run(["causal", "aipw", "--data", str(files["units"]), "--treatment", "treated", "--outcome", "y",
                "--covariates", "x1,x2", "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["method"] == "aipw"
    assert payload["ci_low"] <= TRUE_EFFECT <= payload["ci_high"]
    assert payload["naive_estimate"] > payload["ci_high"]
    assert {row["covariate"] for row in payload["balance"]} == {"x1", "x2"}
    assert payload["e_value"] > 1


def test_did_json(files: dict[str, Path]) -> None:
    out = _run(["causal", "did", "--data", str(files["panel"]), "--unit", "customer_id", "--time", "week",
                "--outcome", "sales", "--treated", "promo", "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["method"] == "did_twfe" and len(payload["event_study"]) == 8


def test_kpi_json_with_targets() -> None:
    out = _run(
        ["kpi", "--dataset", "cdnow-sample", "--freq", "Q", "--target", "retention_rate=0.3", "--json"]
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert {row["status"] for row in payload["kpis"]} <= {"red", "amber", "green", "n/a"}
    # CDNOW sample: all 2,357 customers make their first purchase in 1997Q1.
    assert payload["kpis"][0]["denominator"] == 2357


def test_allocate_json(files: dict[str, Path]) -> None:
    out = _run(["allocate", "--values", str(files["values"]), "--budget", "700", "--cost", "email=1",
                "--cost", "call=5", "--size", "A=100", "--size", "B=1000", "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["expected_return"] == pytest.approx(600.0)


def test_user_errors_are_one_line_exit_2(files: dict[str, Path]) -> None:
    runner = CliRunner()
    bad_budget = runner.invoke(cli, ["allocate", "--values", str(files["values"]), "--budget", "0.5",
                                     "--cost", "email=1", "--cost", "call=5", "--size", "A=1", "--size", "B=1"])  # fmt: skip
    assert bad_budget.exit_code == 2 and "below the cost of one contact" in bad_budget.output
    constant = runner.invoke(cli, ["causal", "did", "--data", str(files["panel"]), "--unit", "customer_id",
                                   "--time", "week", "--outcome", "sales", "--treated", "week"])  # fmt: skip
    assert constant.exit_code == 2 and "four different columns" in constant.output
    never = runner.invoke(cli, ["causal", "ipw", "--data", str(files["units"]), "--treatment", "x2",
                                "--outcome", "y", "--covariates", "x2"])  # fmt: skip
    assert never.exit_code == 2 and "must not be covariates" in never.output
