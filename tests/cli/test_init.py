"""``ltvlab init`` + ``ltvlab run`` on a user's files: reports render with zero failed runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from ltvlab.cli import cli

SHAPES = Path(__file__).resolve().parents[1] / "data" / "real_shapes"


def test_init_finds_the_layout_and_run_renders_every_report(tmp_path: Path) -> None:
    transactions = shutil.copy(SHAPES / "gb18030_chinese_headers.csv", tmp_path / "订单.csv")
    experiment = shutil.copy(SHAPES / "experiment_pandas_booleans.csv", tmp_path / "retention_test.csv")
    config = tmp_path / "mine.yml"
    init = CliRunner().invoke(
        cli,
        [
            "init",
            "--transactions",
            str(transactions),
            "--experiment",
            str(experiment),
            "--output",
            str(config),
            "--reports-dir",
            str(tmp_path / "reports"),
            "--ltv-method",
            "map",
        ],
    )
    assert init.exit_code == 0, init.output
    assert "encoding gb18030" in init.output and "False/True read as true = 1" in init.output
    runs = {r["name"]: r["parameters"] for r in yaml.safe_load(config.read_text(encoding="utf-8"))["runs"]}
    ltv = runs["ltv-transactions"]
    assert (ltv["customer_col"], ltv["date_col"], ltv["amount_col"]) == ("客户编号", "日期", "金额")
    assert runs["experiment-retention_test"]["control"] == "control"
    assert runs["experiment-retention_test"]["binary_metrics"].split(",")[0] == "converted"

    again = CliRunner().invoke(cli, ["init", "--transactions", str(transactions), "--output", str(config)])
    assert again.exit_code == 2 and "--force" in again.output

    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--no-progress"])
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    assert "3 executed, 0 skipped (unchanged), 0 failed" in result.output
    assert (tmp_path / "reports" / "index.html").is_file()
