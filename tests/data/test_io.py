"""Reading users' files: encodings, delimiters, gzip, row numbers and ragged rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from ltvlab.data import read_table
from ltvlab.errors import DataValidationError

ROWS = [["a1", "1997-01-02", "10.50", "Zürich"], ["b2", "1997-01-03", "7.25", "Île-de-France"]]
HEADER = ["customer_id", "date", "amount", "region"]


def _text(sep: str) -> str:
    return "\n".join(sep.join(r) for r in [HEADER, *ROWS]) + "\n"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # with byte-order mark
        ("utf-16-le", "utf-16-le"),  # without: detected from the NUL pattern
        ("utf-32", "utf-32"),
        ("cp1252", "cp1252"),  # not valid UTF-8: the stated fallback
    ],
)
def test_encodings_are_detected_and_text_survives(tmp_path: Path, encoding: str, expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(_text(",").encode(encoding))
    raw = read_table(path)
    assert raw.encoding == expected
    assert list(raw.frame.columns) == HEADER
    assert raw.frame["region"].tolist() == ["Zürich", "Île-de-France"]
    if expected in ("cp1252", "utf-16-le"):
        assert raw.warnings, "a guessed encoding must be reported"


@pytest.mark.parametrize(
    ("sep", "expected"), [(",", ","), (";", ";"), ("\t", "\t"), ("|", "|"), ("   ", "whitespace")]
)
def test_delimiters_are_detected(tmp_path: Path, sep: str, expected: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(_text(sep), encoding="utf-8")
    raw = read_table(path)
    assert raw.delimiter == expected
    assert raw.frame.to_numpy().tolist() == ROWS


def test_commas_inside_quotes_do_not_change_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('customer_id;date;amount;note\na;1997-01-01;1;"x, y, z"\nb;1997-01-02;2;"p, q"\n')
    raw = read_table(path)
    assert raw.delimiter == ";"
    assert raw.frame["note"].tolist() == ["x, y, z", "p, q"]


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(_text(",").encode()))
    assert read_table(path).frame.to_numpy().tolist() == ROWS


def test_row_numbers_are_file_lines_with_header_on_line_1(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    # blank lines are not rows, but they still count as lines of the file
    path.write_text("customer_id,date,amount\na,1997-01-01,1\n\nb,1997-01-02,2\n\n\nc,1997-01-03,3\n")
    raw = read_table(path)
    assert raw.rows.tolist() == [2, 4, 7]
    assert raw.frame["customer_id"].tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("longer", [True, False])
def test_ragged_rows_are_reported_with_their_line(tmp_path: Path, longer: bool) -> None:
    lines = ["customer_id,date,amount", "a,1997-01-01,1", "b,1997-01-02,2", "c,1997-01-03,3"]
    lines[2] = "b,1997-01-02,2,surplus" if longer else "b,1997-01-02"
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    raw = read_table(path)
    assert raw.rows.tolist() == [2, 3, 4]
    assert set(raw.malformed) == {3}
    assert ("4 field(s)" if longer else "2 field(s)") in raw.malformed[3]


def test_parquet_keeps_types_and_numbers_records_from_1(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    frame = pd.DataFrame({"customer_id": [1, 2], "date": pd.to_datetime(["1997-01-01", "1997-02-01"])})
    frame.to_parquet(path)
    raw = read_table(path)
    assert raw.file_format == "parquet"
    assert raw.rows.tolist() == [1, 2]
    assert pd.api.types.is_datetime64_any_dtype(raw.frame["date"])


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"\n  \n", "is empty"),
        (b"customer_id,date,amount\n", "no data rows"),
        (b"customer_id,date,amount\n\n\n", "no data rows"),
        (b"a,b,a\n1,2,3\n", r"\['a'\] appear more than once"),
        (b"PK\x03\x04rest-of-a-zip", "zip archive"),
    ],
)
def test_file_level_problems_raise_naming_the_file(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(DataValidationError, match=match) as info:
        read_table(path)
    assert str(info.value).startswith("broken.csv")


def test_missing_file_and_folder_raise_project_errors(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="is a folder"):
        read_table(tmp_path)
