"""Encodings of real exports: detected, or refused with the fix, never silently garbled."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltvlab.data import load_transactions, read_table
from ltvlab.errors import DataValidationError

ZH = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"]
TW = ["陳志明", "林美玲", "黃建國", "張淑芬", "李宗翰", "王雅婷"]
JA = ["田中太郎", "山田花子", "佐藤健", "鈴木一郎", "高橋美咲"]


def _table(header: list[str], names: list[str], regions: list[str], n: int = 24) -> str:
    rows = [",".join(header)]
    for i in range(n):
        rows.append(
            f"{names[i % len(names)]}{i:03d},{regions[i % len(regions)]},2024-01-{i % 28 + 1:02d},{i}.25"
        )
    return "\n".join(rows) + "\n"


CASES = {
    "gb18030": (["客户编号", "地区", "日期", "金额"], ZH, ["华东", "华北", "华南"]),
    "gbk": (["customer_id", "region", "date", "amount"], ZH, ["华东", "华北"]),
    "big5": (["客戶編號", "地區", "日期", "金額"], TW, ["台北", "高雄"]),
    "shift_jis": (["顧客ID", "地域", "日付", "金額"], JA, ["東京", "大阪"]),
}


@pytest.mark.parametrize("encoding", sorted(CASES))
def test_east_asian_exports_are_detected(tmp_path: Path, encoding: str) -> None:
    # before: decoded as cp1252 ("Columns found: ¿Í»§±àºÅ", ids garbled)
    header, names, regions = CASES[encoding]
    text = _table(header, names, regions)
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    raw = read_table(path)
    assert list(raw.frame.columns) == header
    assert raw.frame.iloc[:, 0].tolist() == [line.split(",")[0] for line in text.splitlines()[1:]]
    assert raw.frame.iloc[:, 1].tolist() == [line.split(",")[1] for line in text.splitlines()[1:]]


def test_too_little_text_to_tell_stops_and_asks_for_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("customer_id,region,date,amount\n张伟,华东,2024-01-01,1\n".encode("gb18030"))
    with pytest.raises(DataValidationError, match=r"--encoding NAME.*gb18030"):
        read_table(path)
    assert read_table(path, encoding="gb18030").frame["region"].tolist() == ["华东"]


def test_unknown_encoding_is_a_message(tmp_path: Path) -> None:
    # before: LookupError traceback
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,1\n")
    with pytest.raises(DataValidationError, match="unknown encoding 'klingon'"):
        load_transactions(path, encoding="klingon")


def test_western_text_without_utf8_is_cp1252_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("customer_id,region,date,amount\nHélène,Genève,2024-01-01,1\nChloé,Sète,2024-01-02,2\n"
                     .encode("cp1252"))  # fmt: skip
    raw = read_table(path)
    assert raw.encoding == "cp1252" and raw.frame["region"].tolist() == ["Genève", "Sète"]
    assert any("--encoding" in w for w in raw.warnings)
