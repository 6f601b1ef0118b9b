"""The real-shapes corpus end to end: what was written is what is read, through summary, a MAP fit and ab.

The files and their truth (``manifest.json``) come from ``real_shapes/make_shapes.py``. For each file: the
ids and every amount (to the cent) equal what the generator wrote, rows in = loaded + quarantined, the summary
counts the customers whose first purchase is on or after the calibration end, and ``summary``, ``ltv fit
--method map`` (transactions) or ``ab`` (experiments) finish with exit code 0 and no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ltvlab.cli import cli
from ltvlab.data import load_experiment, load_transactions
from ltvlab.features import columns as col

HERE = Path(__file__).parent / "real_shapes"
MANIFEST = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
CAL = MANIFEST["calibration_end"]
TRANSACTIONS = sorted(k for k, v in MANIFEST["files"].items() if v["kind"] == "transactions")
EXPERIMENTS = sorted(k for k, v in MANIFEST["files"].items() if v["kind"] == "experiment")
FLAG_KEYS = {"--customer-col": "customer_id", "--date-col": "date", "--amount-col": "amount"}


def _kwargs(args: list[str]) -> dict:
    columns, extras, kwargs = {}, [], {}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in FLAG_KEYS:
            columns[FLAG_KEYS[flag]] = value
        elif flag == "--extra-col":
            extras.append(value)
        elif flag == "--max-bad-share":
            kwargs["max_bad_share"] = float(value)
        elif flag == "--encoding":
            kwargs["encoding"] = value
    return {"columns": columns, "extra_columns": tuple(extras), **kwargs}


def _invoke(args: list[str]):
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0, result.output
    return result


def test_the_corpus_has_the_shapes_of_the_issue() -> None:
    assert len(MANIFEST["files"]) >= 20
    assert all((HERE / name).is_file() for name in MANIFEST["files"])


@pytest.mark.parametrize("name", TRANSACTIONS)
def test_transactions_read_exactly_and_run(name: str, tmp_path: Path) -> None:
    truth = MANIFEST["files"][name]
    load = load_transactions(HERE / name, quarantine_dir=tmp_path, **_kwargs(truth["args"]))
    assert load.n_rows == truth["rows"] == load.n_loaded + load.n_quarantined
    assert load.n_quarantined == truth["quarantined"]
    assert sorted(set(load.frame[col.CUSTOMER_ID])) == truth["ids"]
    np.testing.assert_array_equal(
        np.round(load.frame[col.AMOUNT].to_numpy() * 100).astype(int), truth["cents"]
    )

    flags = [a for pair in zip(truth["args"][::2], truth["args"][1::2], strict=True) if pair[0] != "--extra-col"
             for a in pair]  # fmt: skip
    base = ["--data", str(HERE / name), *flags, "--quarantine-dir", str(tmp_path)]
    figures = json.loads(_invoke(["summary", *base, "--calibration-end", CAL, "--json"]).stdout)
    assert figures["first_on_calibration_end"] == truth["first_on_calibration_end"]
    assert figures["new_after_calibration_end"] == truth["first_after_calibration_end"]
    assert figures["customers"] == len(truth["ids"]) - truth["first_after_calibration_end"]
    fit = json.loads(
        _invoke(
            [
                "ltv",
                "fit",
                *base,
                "--calibration-end",
                CAL,
                "--holdout-end",
                "none",
                "--method",
                "map",
                "--json",
            ]
        ).stdout
    )
    assert fit["customers"] == figures["customers"]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiments_read_exactly_and_run(name: str, tmp_path: Path) -> None:
    truth = MANIFEST["files"][name]
    load = load_experiment(
        HERE / name,
        outcomes=("converted", "spend"),
        binary_outcomes=("converted",),
        covariates=("loyal",),
        encoding=_kwargs(truth["args"]).get("encoding"),
    )
    assert load.n_rows == truth["rows"] == load.n_loaded and load.n_quarantined == 0
    assert sorted(load.frame[col.UNIT_ID]) == truth["ids"]
    assert load.frame["converted"].tolist() == truth["converted"]
    np.testing.assert_array_equal(
        np.round(load.frame["spend"].to_numpy() * 100).astype(int), truth["spend_cents"]
    )
    payload = json.loads(
        _invoke(
            [
                "ab",
                "--data",
                str(HERE / name),
                *truth["args"],
                "--arm-col",
                "arm",
                "--control",
                truth["arms"][0],
                "--metric",
                "converted",
                "--binary-metric",
                "converted",
                "--metric",
                "spend",
                "--covariate",
                "loyal",
                "--json",
            ]
        ).stdout
    )
    assert payload["srm"]["observed"] == {truth["arms"][0]: 200, truth["arms"][1]: 200}


def test_text_too_short_to_tell_apart_stops_and_names_the_readings(tmp_path: Path) -> None:
    name = "shift_jis_japanese.csv"
    result = CliRunner().invoke(
        cli, ["validate", "--data", str(HERE / name), "--quarantine-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--encoding NAME" in result.output and MANIFEST["files"][name]["undetectable"] in result.output
