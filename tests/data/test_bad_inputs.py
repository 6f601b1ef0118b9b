"""The bad-input corpus through the CLI: a quarantine (rows in = loaded + quarantined) or one clear error line.

Each file in ``tests/data/bad_inputs/`` (made by ``make_corpus.py`` from one clean 150-row table) breaks the
table in one way. The expected outcome below is what a careful analyst would want, written down before
running: the counts of quarantined rows follow from how many rows the generator broke.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ltvlab.cli import cli
from tests.conftest import CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END
from tests.reference import cdnow

CORPUS = Path(__file__).parent / "bad_inputs"
EXPERIMENT = (
    "--kind", "experiment", "--arm", "control", "--arm", "email", "--arm", "sms",
    "--binary-outcome", "visit", "--outcome", "spend", "--covariate", "history",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    file: str
    args: tuple[str, ...] = ()
    exit_code: int = 0
    quarantined: int = 0  # exit 0: rows the generator broke
    reasons: tuple[str, ...] = ()  # exit 0: reasons expected in the report
    message: tuple[str, ...] = ()  # exit 2: what the one-line error must name besides the file


CASES = [
    Case("empty.csv", exit_code=2, message=("is empty",)),
    Case("header_only.csv", exit_code=2, message=("no data rows", "customer_id, date, amount")),
    Case("unknown_delimiter.csv", exit_code=2, message=("'customer_id:date:amount'", "delimiter")),
    Case("missing_column.csv", exit_code=2, message=("column 'amount'", "--amount-col", "Columns found")),
    Case("duplicate_header.csv", exit_code=2, message=("['date']", "more than once")),
    Case("utf16_tabs.csv"),
    Case("latin1_region.csv", args=("--extra-col", "region")),
    Case("bad_date.csv", quarantined=1, reasons=("is not a YYYYMMDD date",)),
    Case("future_date.csv", quarantined=1, reasons=("is in the future",)),
    Case(
        "bad_amounts.csv",
        args=("--max-bad-share", "0.05"),
        quarantined=4,
        reasons=("is not a number", "is NaN", "is infinite", "is empty (missing amount)"),
    ),
    Case("negative_amount.csv", quarantined=1, reasons=("is negative (a return?)",)),
    Case("negative_amount.csv", args=("--allow-returns",)),
    Case("missing_customer_id.csv", quarantined=1, reasons=("is empty (missing customer id)",)),
    Case("too_many_bad.csv", exit_code=2, message=("column 'date'", "30 of 150 rows", "--max-bad-share")),
    Case("ambiguous_dates.csv", exit_code=2, message=("column 'date'", "ambiguous", "--date-format")),
    Case("ambiguous_dates.csv", args=("--date-format", "%d/%m/%Y")),
    Case("unrecognised_dates.csv", exit_code=2, message=("column 'date'", "'1 Jan 1997'", "--date-format")),
    Case("ragged_rows.csv", args=("--max-bad-share", "0.02"), quarantined=2),
    Case("unclosed_quote.csv", exit_code=2, message=("row 61", "never closed")),
    Case("excel_workbook.csv", exit_code=2, message=("zip archive",)),
    Case("binary_garbage.csv", exit_code=2, message=("binary data",)),
    Case("corrupt.parquet", exit_code=2, message=("not a readable Parquet file",)),
    Case("semicolon_decimal_comma.csv"),
    Case("experiment_unknown_arm.csv", args=EXPERIMENT, quarantined=1, reasons=("is an unknown arm",)),
    Case(
        "experiment_duplicate_ids.csv",
        args=(*EXPERIMENT, "--max-bad-share", "0.02"),
        quarantined=2,
        reasons=("is a duplicate unit id",),
    ),
    Case("experiment_binary_not_01.csv", args=EXPERIMENT, quarantined=1, reasons=("is not 0 or 1",)),
]


def _argv(case: Case, quarantine_dir: Path) -> list[str]:
    return [
        "validate",
        "--data",
        str(CORPUS / case.file),
        *case.args,
        "--quarantine-dir",
        str(quarantine_dir),
        "--json",
    ]


def _check(case: Case, exit_code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr
    assert exit_code == case.exit_code, stdout + stderr
    if case.exit_code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"error: {case.file}"), stderr
        for text in case.message:
            assert text in lines[0]
        return
    report = json.loads(stdout)
    assert report["rows_in"] == report["loaded"] + report["quarantined"]
    assert report["rows_in"] == 150  # every corpus table has 150 data rows
    assert report["quarantined"] == case.quarantined
    found = {r["reason"] for r in report["reasons"]}
    assert set(case.reasons) <= found
    if case.quarantined:
        written = pd.read_csv(report["quarantine_path"])
        assert len(written) == case.quarantined
    else:
        assert report["quarantine_path"] is None


def test_the_corpus_has_at_least_12_kinds_of_broken_file() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".parquet")}
    assert files == {c.file for c in CASES}
    assert len(files) >= 12


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}{'+' + c.args[0] if c.args else ''}")
def test_corpus_file_through_cli_runner(case: Case, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, _argv(case, tmp_path))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    _check(case, result.exit_code, result.stdout, result.stderr)


DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from ltvlab.cli import main

    results = []
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        sys.argv = ["ltvlab", *argv]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
    print(json.dumps(results))
    """
)


def test_corpus_through_a_real_process(tmp_path: Path) -> None:
    """One real interpreter runs the console-script entry point on every corpus case (no CliRunner)."""
    argvs = [_argv(case, tmp_path / str(i)) for i, case in enumerate(CASES)]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(argvs)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for case, got in zip(CASES, json.loads(done.stdout), strict=True):
        _check(case, got["code"], got["stdout"], got["stderr"])


def test_console_script_exit_code_and_single_error_line(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ltvlab")
    command = (
        [str(script)] if script.exists() else [sys.executable, "-c", "from ltvlab.cli import main; main()"]
    )
    done = subprocess.run(
        [*command, "validate", "--data", str(CORPUS / "too_many_bad.csv"), "--quarantine-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(
        "error: too_many_bad.csv row 2, column 'date'"
    )


def _user_cdnow_csv(cdnow_sample_transactions: pd.DataFrame, path: Path) -> Path:
    user = cdnow_sample_transactions.rename(columns={"customer_id": "cust", "date": "day", "amount": "value"})
    user["day"] = user["day"].dt.strftime("%d/%m/%Y")
    user.to_csv(path, index=False, sep="\t")
    return path


def test_summary_on_a_users_file_end_to_end(cdnow_sample_transactions: pd.DataFrame, tmp_path: Path) -> None:
    path = _user_cdnow_csv(cdnow_sample_transactions, tmp_path / "orders.tsv")
    result = CliRunner().invoke(
        cli,
        [
            "summary",
            "--data",
            str(path),
            "--customer-col",
            "cust",
            "--date-col",
            "day",
            "--amount-col",
            "value",
            "--calibration-end",
            CDNOW_CALIBRATION_END,
            "--holdout-end",
            CDNOW_HOLDOUT_END,
            "--unit",
            "W",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["customers"], figures["repeat_transactions"], figures["repeaters"]) == (
        cdnow.CUSTOMERS,
        cdnow.REPEAT_TRANSACTIONS,
        cdnow.REPEATERS,
    )


def test_ingest_command_is_idempotent(cdnow_sample_transactions: pd.DataFrame, tmp_path: Path) -> None:
    path = _user_cdnow_csv(cdnow_sample_transactions, tmp_path / "orders.tsv")
    argv = [
        "ingest", "--data", str(path), "--customer-col", "cust", "--date-col", "day", "--amount-col", "value",
        "--store", str(tmp_path / "s.duckdb"), "--quarantine-dir", str(tmp_path), "--json",
    ]  # fmt: skip
    first = json.loads(CliRunner().invoke(cli, argv).stdout)
    second = json.loads(CliRunner().invoke(cli, argv).stdout)
    assert (first["status"], first["rows_written"]) == ("inserted", 6919)
    assert (second["status"], second["rows_written"]) == ("unchanged", 0)
    from ltvlab.data import Store

    assert len(Store(tmp_path / "s.duckdb").transactions()) == 6919


@pytest.mark.parametrize("command", ["validate", "ingest"])
def test_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    for flag in ("--data", "--customer-col", "--date-format", "--max-bad-share", "--kind", "--json"):
        assert flag in result.output
