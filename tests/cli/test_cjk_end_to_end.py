"""Chinese column names, ids and segments through KPIs and scored exports (GB18030 input)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from ltvlab.cli import cli

SHAPES = Path(__file__).resolve().parents[1] / "data" / "real_shapes"
FILE = SHAPES / "gb18030_chinese_headers.csv"
COLUMNS = ["--customer-col", "客户编号", "--date-col", "日期", "--amount-col", "金额"]
TRUTH = json.loads((SHAPES / "manifest.json").read_text(encoding="utf-8"))["files"][FILE.name]


def test_kpis_by_a_chinese_segment() -> None:
    result = CliRunner().invoke(cli, ["kpi", "--data", str(FILE), *COLUMNS, "--by", "地区", "--json"])
    assert result.exit_code == 0, result.output
    groups = {row["group"] for row in json.loads(result.stdout)["kpis"]}
    assert groups <= {"华东", "华北", "华南", "西南"} and len(groups) >= 2


def test_scored_export_keeps_chinese_ids(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    args = ["ltv", "score", "--data", str(FILE), *COLUMNS, "--calibration-end", "2024-04-30",
            "--holdout-end", "none", "--method", "map", "--output", str(out), "--json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out, encoding="utf-8", dtype={"customer_id": str})
    assert sorted(scores["customer_id"]) == TRUTH["ids"]
