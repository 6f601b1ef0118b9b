"""Ingest is idempotent by content: the same rows in another encoding, line ending or compression."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from ltvlab.data import Store
from ltvlab.errors import LtvlabError

ROWS = [("c1", "2024-01-02", "10.50"), ("c2", "2024-01-03", "7.25"), ("张伟", "2024-01-04", "3.00"),
        ("c1", "2024-01-09", "4.75"), ("c3", "2024-01-10", "1.00")]  # fmt: skip


def _text(newline: str = "\n") -> str:
    return newline.join(["customer_id,date,amount", *(",".join(r) for r in ROWS)]) + newline


def test_reencoded_copies_are_not_stored_again(tmp_path: Path) -> None:
    # before: 20 stored rows for these 5 purchases
    text = _text()
    copies = {
        "plain.csv": text.encode("utf-8"),
        "crlf.csv": _text("\r\n").encode("utf-8"),
        "bom.csv": text.encode("utf-8-sig"),
        "utf16.csv": text.encode("utf-16"),
        "zipped.csv.gz": gzip.compress(text.encode("utf-8")),
    }
    store = Store(tmp_path / "s.duckdb")
    statuses = []
    for name, data in copies.items():
        path = tmp_path / name
        path.write_bytes(data)
        statuses.append(store.ingest_transactions(path, quarantine_dir=tmp_path / "q").status)
    assert statuses == ["inserted", "unchanged", "unchanged", "unchanged", "unchanged"]
    assert len(store.transactions()) == 5


def test_a_failed_commit_reports_its_cause(tmp_path: Path, monkeypatch) -> None:
    # before: the ROLLBACK error ("no transaction is active") hid the cause, as a traceback
    path = tmp_path / "t.csv"
    path.write_text(_text())
    store = Store(tmp_path / "s.duckdb")
    real_execute = duckdb.DuckDBPyConnection.execute

    class Failing:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args):
            if sql == "COMMIT":
                real_execute(self._con, "ROLLBACK")
                raise duckdb.IOException("IO Error: Cannot open file: Read-only file system")
            return real_execute(self._con, sql, *args)

        def __getattr__(self, name):
            return getattr(self._con, name)

    original = Store._connect

    def connect(self, **kwargs):
        from contextlib import contextmanager

        @contextmanager
        def wrapped():
            with original(self, **kwargs) as con:
                yield Failing(con)

        return wrapped()

    monkeypatch.setattr(Store, "_connect", connect)
    with pytest.raises(LtvlabError, match=r"Read-only file system.*nothing was stored"):
        store.ingest_transactions(path, quarantine_dir=tmp_path / "q")


def _export(tmp_path: Path, name: str, rows: list[tuple[str, str, str, str]]) -> Path:
    path = tmp_path / name
    path.write_text("order_id,customer_id,date,amount\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


JANUARY = [
    ("o1", "c1", "2024-01-02", "10.00"),
    ("o2", "c2", "2024-01-15", "5.00"),
    ("o3", "c1", "2024-01-30", "2.50"),
]
FEBRUARY = [*JANUARY[1:], ("o4", "c3", "2024-02-03", "8.00"), ("o5", "c1", "2024-02-20", "1.00")]


def test_overlapping_exports_are_deduplicated_on_a_declared_key(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest_transactions(_export(tmp_path, "jan.csv", JANUARY), key="order_id")
    feb = store.ingest_transactions(_export(tmp_path, "feb.csv", FEBRUARY), key="order_id")
    assert feb.n_written == 2 and any("2 of 4 row(s)" in w for w in feb.warnings)
    stored = store.transactions()
    assert sorted(stored["order_id"]) == ["o1", "o2", "o3", "o4", "o5"]


def test_overlapping_exports_without_a_key_are_counted(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest_transactions(_export(tmp_path, "jan.csv", JANUARY))
    feb = store.ingest_transactions(_export(tmp_path, "feb.csv", FEBRUARY))
    assert feb.n_written == 4
    assert any("2 of 4 row(s) exactly repeat" in w and "--key" in w for w in feb.warnings)
