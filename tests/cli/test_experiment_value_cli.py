"""``ltvlab ltv experiment-value``: the decomposed incremental CLV of a randomised test from files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ltvlab.cli import cli
from ltvlab.data.synthetic_experiment import simulate_experiment


@pytest.fixture(scope="module")
def sim():
    return simulate_experiment(1_200, n_segments=2, seed=41)


@pytest.fixture()
def files(sim, tmp_path: Path) -> dict[str, Path]:
    tx = tmp_path / "tx.csv"
    sim.transactions.to_csv(tx, index=False)
    assignment = tmp_path / "assignment.csv"
    labelled = sim.assignment.assign(arm=sim.assignment["arm"].map({1: "mail", 0: "holdout"}))
    labelled.to_csv(assignment, index=False)
    return {"tx": tx, "assignment": assignment}


def _run(files, sim, *extra: str):
    args = [
        "ltv", "experiment-value", "--data", str(files["tx"]), "--assignment", str(files["assignment"]),
        "--assignment-date", str(sim.assignment_date.date()), "--test-end", str(sim.test_end.date()),
        "--method", "map", "--horizon-periods", "26", *extra,
    ]  # fmt: skip
    return CliRunner().invoke(cli, args)


@pytest.mark.slow  # MAP fits compile PyMC models: ~4 min each at load 23 on 2 cores (seen passing)
def test_json_has_each_part_per_segment_and_the_extrapolated_share(files, sim) -> None:
    result = _run(
        files, sim, "--treatment", "mail", "--segment-col", "segment", "--effect-pooling", "none", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["decomposition"] == "shapley" and report["randomised"] is True
    assert report["window_periods"] == 8 and report["customers"] == 1_200
    rows = {(r["group"], r["part"]): r for r in report["value"]}
    for group in ("segment_1", "segment_2", "all"):
        parts = sum(rows[group, p]["mean"] for p in ("frequency", "retention", "spend"))
        assert parts == pytest.approx(rows[group, "total"]["mean"], rel=1e-9)
        assert 0 < rows[group, "total"]["share_after_window"] < 1
    assert {e["parameter"] for e in report["effects"]} == {"purchase", "dropout", "spend"}


def test_arm_labels_need_treatment(files, sim) -> None:
    result = _run(files, sim)
    assert result.exit_code == 2
    assert "column 'arm'" in result.output and "--treatment" in result.output


@pytest.mark.slow  # MAP fits compile PyMC models: ~4 min each at load 23 on 2 cores (seen passing)
def test_text_output_names_each_part_with_its_interval(files, sim) -> None:
    result = _run(files, sim, "--treatment", "mail")
    assert result.exit_code == 0, result.output
    assert "Randomised test on 1,200 customers, 8 periods observed" in result.output
    for part in ("frequency", "retention", "spend", "total"):
        assert f"all {part:>9}:" in result.output
    assert "per customer (posterior mode, no interval)" in result.output  # --method map: one point
    assert "of the total accrues after the 8-period test window" in result.output
