"""User mistakes on the command line end in one clear line and exit code 2 (defects of issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ltvlab.cli import cli


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    rows = [f"c{i % 7},2024-01-{i % 28 + 1:02d},{'x' if i == 3 else f'{i}.50'}" for i in range(120)]
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _one_error(result) -> str:
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("command", ["summary", "validate", "ltv fit", "kpi"])
def test_unknown_encoding_is_one_line(tmp_path: Path, command: str) -> None:
    # before: LookupError traceback (validate/ingest), or no --encoding option at all (summary, ltv, kpi)
    args = [*command.split(), "--data", str(_file(tmp_path)), "--encoding", "klingon"]
    if command == "summary":
        args += ["--calibration-end", "2024-01-20"]
    assert "unknown encoding 'klingon'" in _one_error(CliRunner().invoke(cli, args))


def test_summary_on_an_unwritable_project_names_an_option_it_has(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.write_text("a file where the quarantine folder would go: as unwritable as a read-only disk")
    args = ["summary", "--data", str(_file(tmp_path)), "--calibration-end", "2024-01-20",
            "--max-bad-share", "0.5", "--quarantine-dir", str(locked / "q")]  # fmt: skip
    assert "--quarantine-dir" in _one_error(CliRunner().invoke(cli, args))


def test_summary_accepts_the_quarantine_dir_its_message_names(tmp_path: Path) -> None:
    # before: the message told the user to pass --quarantine-dir, which summary did not have
    args = ["summary", "--data", str(_file(tmp_path)), "--calibration-end", "2024-01-20",
            "--max-bad-share", "0.5", "--quarantine-dir", str(tmp_path / "q"), "--json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "q").glob("*.quarantine.csv"))) == 1


def test_reading_options_with_a_bundled_dataset_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["summary", "--dataset", "cdnow-sample", "--calibration-end", "1997-09-30",
                                      "--decimal", ","])  # fmt: skip
    assert "--decimal" in _one_error(result)
