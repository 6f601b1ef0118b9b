"""Regenerate the bad-input corpus (committed; run from anywhere: ``python tests/data/bad_inputs/make_corpus.py``).

Every file starts from the same clean table of 150 purchases (30 customers, 1997 dates) and breaks it in one
way. What each file must produce is listed in ``tests/data/test_bad_inputs.py``.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_ROWS = 150


def _rows() -> list[list[str]]:
    rows = []
    for i in range(N_ROWS):
        day = date(1997, 1, 1) + timedelta(days=(i * 2) % 300)
        rows.append([f"c{i % 30:03d}", day.strftime("%Y%m%d"), f"{10 + (i * 7.31) % 90:.2f}"])
    return rows


def _csv(rows: list[list[str]], header: str = "customer_id,date,amount", sep: str = ",") -> str:
    return "\n".join([header, *(sep.join(r) for r in rows)]) + "\n"


def _write(name: str, content: str | bytes) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    (HERE / name).write_bytes(data)


def _experiment_rows() -> list[list[str]]:
    arms = ("control", "email", "sms")
    return [
        [f"u{i:04d}", arms[i % 3], f"{(i * 13.7) % 500:.2f}", str(i % 2), f"{(i * 3.3) % 40:.2f}"]
        for i in range(N_ROWS)
    ]


EXPERIMENT_HEADER = "unit_id,arm,history,visit,spend"


def main() -> None:
    rows = _rows()
    _write("empty.csv", b"")
    _write("header_only.csv", "customer_id,date,amount\n")
    _write("unknown_delimiter.csv", _csv(rows, header="customer_id:date:amount", sep=":"))
    _write("missing_column.csv", _csv([r[:2] for r in rows], header="customer_id,date"))
    _write("duplicate_header.csv", _csv(rows, header="customer_id,date,date"))

    # Excel "Unicode text" export: UTF-16 LE with a byte-order mark, tab separated.
    _write("utf16_tabs.csv", _csv(rows, header="customer_id\tdate\tamount", sep="\t").encode("utf-16"))
    # Windows-1252 bytes (not UTF-8) in an extra column; decoded with the stated cp1252 fallback.
    latin = [[*r, "Île-de-France" if i % 2 else "Zürich"] for i, r in enumerate(rows)]
    _write("latin1_region.csv", _csv(latin, header="customer_id,date,amount,region").encode("cp1252"))

    bad_date = [list(r) for r in rows]
    bad_date[100][1] = "19971301"
    _write("bad_date.csv", _csv(bad_date))

    future = [list(r) for r in rows]
    future[7][1] = "20990101"
    _write("future_date.csv", _csv(future))

    amounts = [list(r) for r in rows]
    for i, value in zip((3, 40, 77, 120), ("abc", "NaN", "inf", ""), strict=True):
        amounts[i][2] = value
    _write("bad_amounts.csv", _csv(amounts))

    negative = [list(r) for r in rows]
    negative[55][2] = "-19.99"
    _write("negative_amount.csv", _csv(negative))

    no_id = [list(r) for r in rows]
    no_id[12][0] = ""
    _write("missing_customer_id.csv", _csv(no_id))

    many_bad = [list(r) for r in rows]
    for i in range(0, N_ROWS, 5):  # 20% of the dates unparseable
        many_bad[i][1] = "1997-02-30x"
    _write("too_many_bad.csv", _csv(many_bad))

    ambiguous = [[r[0], f"{1 + i % 12:02d}/{1 + (i // 12) % 12:02d}/1997", r[2]] for i, r in enumerate(rows)]
    _write("ambiguous_dates.csv", _csv(ambiguous))

    words = [[r[0], f"{1 + i % 28} Jan 1997", r[2]] for i, r in enumerate(rows)]
    _write("unrecognised_dates.csv", _csv(words))

    ragged = _csv(rows).splitlines()
    ragged[20] = ragged[20] + ",extra"
    ragged[90] = ragged[90].rsplit(",", 1)[0]
    _write("ragged_rows.csv", "\n".join(ragged) + "\n")

    quote = _csv(rows).splitlines()
    quote[60] = '"' + quote[60]  # opens a quote that is never closed
    _write("unclosed_quote.csv", "\n".join(quote) + "\n")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    _write("excel_workbook.csv", buffer.getvalue())
    _write("binary_garbage.csv", bytes((i * 37 + 11) % 256 for i in range(600)) + b"\x00\x00\x07" * 50)
    _write("corrupt.parquet", b"PAR1" + b"\x15\x04" * 40 + b"not really parquet")

    european = [[r[0], r[1], r[2].replace(".", ",")] for r in rows]
    _write("semicolon_decimal_comma.csv", _csv(european, header="customer_id;date;amount", sep=";"))

    experiment = _experiment_rows()
    unknown_arm = [list(r) for r in experiment]
    unknown_arm[30][1] = "emial"
    _write("experiment_unknown_arm.csv", _csv(unknown_arm, header=EXPERIMENT_HEADER))

    duplicate_ids = [list(r) for r in experiment]
    duplicate_ids[60][0] = duplicate_ids[59][0]
    _write("experiment_duplicate_ids.csv", _csv(duplicate_ids, header=EXPERIMENT_HEADER))

    not_binary = [list(r) for r in experiment]
    not_binary[10][3] = "2"
    _write("experiment_binary_not_01.csv", _csv(not_binary, header=EXPERIMENT_HEADER))


if __name__ == "__main__":
    main()
