"""The embedded DuckDB store: validated tables plus a ``sources`` ledger, written atomically.

Every ingest validates the file first (nothing is written when validation stops), then replaces the rows of
that source in one DuckDB transaction: ``BEGIN``; add any new columns; delete the source's previous rows;
insert the new ones; update ``sources``; ``COMMIT``. An exception rolls back, and a process killed before
``COMMIT`` leaves nothing in the write-ahead log, so the store keeps its previous state either way.

A source is identified by ``(table, source_name)``; ``source_name`` defaults to the file name. Ingesting a file
whose content and load options match the recorded ones does nothing (also when that content is stored under
another name: a copy of a file is not ingested twice); a changed file under the same name replaces its earlier
rows. Each stored row carries ``source_name`` and ``source_sha256``. The content hash is
:func:`content_sha256` of the *parsed, validated rows*, not of the file's bytes, so the same rows re-encoded
(UTF-16, GB18030), with CRLF line ends, a byte-order mark or gzipped are recognised as the same content.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from ltvlab.data.load import LoadResult, load_experiment, load_transactions
from ltvlab.errors import DataValidationError, LtvlabError
from ltvlab.features import columns as col
from ltvlab.features.summary import TimeUnit, customer_summary
from ltvlab.paths import processed_data_dir

TRANSACTIONS_TABLE = "transactions"
CONTACTS_TABLE = "contacts"
COVARIATES_TABLE = "covariates"
SOURCES_TABLE = "sources"
SOURCE_NAME = "source_name"
SOURCE_SHA256 = "source_sha256"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_RESERVED_TABLES = {SOURCES_TABLE}

_SOURCES_DDL = f"""
CREATE TABLE IF NOT EXISTS {SOURCES_TABLE} (
    table_name VARCHAR NOT NULL,
    {SOURCE_NAME} VARCHAR NOT NULL,
    {SOURCE_SHA256} VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    source_path VARCHAR,
    load_options VARCHAR,
    n_rows BIGINT,
    n_loaded BIGINT,
    n_quarantined BIGINT,
    quarantine_path VARCHAR,
    ingested_at TIMESTAMP
)
"""


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What an ingest did: ``status`` is ``"inserted"``, ``"replaced"`` or ``"unchanged"``."""

    table: str
    source_name: str
    status: Literal["inserted", "replaced", "unchanged"]
    n_written: int
    load: LoadResult
    store_path: Path
    warnings: tuple[str, ...] = ()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "BIGINT"
    if pd.api.types.is_float_dtype(series):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "TIMESTAMP"
    return "VARCHAR"


def _options_fingerprint(options: Mapping[str, Any]) -> str:
    # how the bytes were decoded does not change what is stored: the content hash covers the parsed rows
    ignored = {"quarantine_dir", "max_bad_share", "now", "encoding", "decimal", "thousands", "strip_currency"}
    kept = {k: v for k, v in sorted(options.items()) if k not in ignored}
    return json.dumps(kept, default=lambda v: list(v) if isinstance(v, (tuple, set)) else str(v))


def _create_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Create ``table`` when missing; add any column of ``frame`` it lacks."""
    existing = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    if not existing:
        columns = ", ".join(f"{_quote(c)} {_sql_type(frame[c])}" for c in frame.columns)
        con.execute(f"CREATE TABLE {_quote(table)} ({columns})")
        return
    for column in frame.columns:
        if column not in existing:
            con.execute(f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(column)} {_sql_type(frame[column])}")


def _delete_source(con: duckdb.DuckDBPyConnection, table: str, source_name: str) -> None:
    con.execute(f"DELETE FROM {_quote(table)} WHERE {SOURCE_NAME} = ?", [source_name])
    con.execute(
        f"DELETE FROM {SOURCES_TABLE} WHERE table_name = ? AND {SOURCE_NAME} = ?", [table, source_name]
    )


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("_ltvlab_ingest", frame)
    try:
        con.execute(f"INSERT INTO {_quote(table)} BY NAME SELECT * FROM _ltvlab_ingest")
    finally:
        con.unregister("_ltvlab_ingest")


def _overlap(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, *, key: str | None, file_name: str
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Rows to store and the warnings about rows other sources already hold (see ``ingest_transactions``)."""
    if table != TRANSACTIONS_TABLE:
        return frame, ()
    if key is not None:
        stored = {
            row[0]
            for row in con.execute(
                f"SELECT DISTINCT CAST({_quote(key)} AS VARCHAR) FROM {_quote(table)} "
                f"WHERE {_quote(key)} IS NOT NULL"
            ).fetchall()
        }
        keys = frame[key].astype("str")
        repeated_in_file = keys.duplicated()
        already = keys.isin(stored)
        drop = (repeated_in_file | already).to_numpy()
        notes = []
        if already.any():
            notes.append(
                f"{file_name}: {int(already.sum()):,} of {len(frame):,} row(s) have a {key!r} already stored from "
                "another source (an overlapping export); not stored again"
            )
        if (repeated_in_file & ~already).any():
            notes.append(
                f"{file_name}: {int((repeated_in_file & ~already).sum()):,} row(s) repeat a {key!r} of an earlier "
                "row of the file; only the first is stored"
            )
        return frame.loc[~drop].reset_index(drop=True), tuple(notes)
    cid, dt, amt = _quote(col.CUSTOMER_ID), _quote(col.DATE), _quote(col.AMOUNT)
    con.register("_ltvlab_incoming", frame[[col.CUSTOMER_ID, col.DATE, col.AMOUNT]])
    try:
        repeated = con.execute(
            f"SELECT count(*) FROM _ltvlab_incoming i WHERE EXISTS (SELECT 1 FROM {_quote(table)} t "
            f"WHERE t.{cid} = i.{cid} AND t.{dt} = i.{dt} AND t.{amt} = i.{amt})"
        ).fetchall()[0][0]
    finally:
        con.unregister("_ltvlab_incoming")
    if not repeated:
        return frame, ()
    return frame, (
        f"{file_name}: {repeated:,} of {len(frame):,} row(s) exactly repeat (customer, date, amount) rows already "
        "stored from other sources; all were stored. If the exports overlap, ingest again with key= "
        "(--key COLUMN) naming a transaction id to store each transaction once",
    )


def _record_source(
    con: duckdb.DuckDBPyConnection, table: str, source_name: str, load: LoadResult, options: str
) -> None:
    con.execute(
        f"INSERT INTO {SOURCES_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP)",
        [
            table,
            source_name,
            load.sha256,
            load.kind,
            str(load.source.resolve()),
            options,
            load.n_rows,
            load.n_loaded,
            load.n_quarantined,
            str(load.quarantine_path) if load.quarantine_path else None,
        ],
    )


def content_sha256(frame: pd.DataFrame) -> str:
    """sha256 of a validated table's rows in order (column names and values; not the file's bytes)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    if len(frame):
        row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        digest.update(row_hashes.tobytes())
    return digest.hexdigest()


class Store:
    """A DuckDB file holding ingested tables; default ``data/processed/ltvlab.duckdb``.

    Each method opens its own connection and closes it, so no lock is held between calls.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else processed_data_dir() / "ltvlab.duckdb"

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @contextmanager
    def _connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if read_only and not self.path.exists():
            con = duckdb.connect()
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect(str(self.path), read_only=read_only)
            except (duckdb.IOException, OSError) as exc:
                message = str(exc).splitlines()[0]
                raise LtvlabError(
                    f"cannot open the store {self.path} ({message}); close other programs using it "
                    "or pass another --store PATH"
                ) from None
        try:
            if not read_only:
                con.execute(_SOURCES_DDL)
            yield con
        finally:
            con.close()

    def ingest_transactions(
        self,
        path: str | Path,
        *,
        source_name: str | None = None,
        key: str | None = None,
        **load_kwargs: Any,
    ) -> IngestResult:
        """Validate a transactions file with :func:`load_transactions` and store it in ``transactions``.

        ``key`` names a transaction-id column of the file (an order or invoice number): rows whose key is
        already stored from another source, or repeats an earlier row of the same file, are not stored again,
        and a warning counts them, so overlapping exports (this month's file repeating last month's rows)
        add each transaction once. Without ``key`` nothing is dropped, and a warning counts the rows that
        exactly repeat (customer, date, amount) rows stored from other sources.
        """
        if key is not None and key not in (extra := tuple(load_kwargs.get("extra_columns", ()))):
            load_kwargs = {**load_kwargs, "extra_columns": (*extra, key)}
        load = load_transactions(path, **load_kwargs)
        return self._ingest(load, TRANSACTIONS_TABLE, source_name, load_kwargs, key=key)

    def ingest_experiment(
        self,
        path: str | Path,
        *,
        table: str = "experiment",
        source_name: str | None = None,
        **load_kwargs: Any,
    ) -> IngestResult:
        """Validate an experiment file with :func:`load_experiment` and store it in ``table``."""
        if not _IDENTIFIER.match(table) or table in _RESERVED_TABLES | {TRANSACTIONS_TABLE}:
            raise LtvlabError(
                f"table name {table!r} is not allowed; use letters, digits and _ (not 'sources' or "
                "'transactions')"
            )
        load = load_experiment(path, **load_kwargs)
        return self._ingest(load, table, source_name, load_kwargs)

    def _stored_customers(self, load_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """``customers=`` for a contact or covariate loader: the stored transactions unless given."""
        if "customers" in load_kwargs:
            return dict(load_kwargs)
        stored = self.transactions()
        return {**load_kwargs, "customers": stored} if len(stored) else dict(load_kwargs)

    def ingest_contacts(
        self, path: str | Path, *, source_name: str | None = None, **load_kwargs: Any
    ) -> IngestResult:
        """Validate a contact log with :func:`ltvlab.data.contact_load.load_contacts` and store it in
        ``contacts``, next to the transactions.

        Unless ``customers=`` is given, the stored transactions are the customers: contacts of unknown
        customers, before a first purchase or after the last transaction day are quarantined and counted.
        """
        from ltvlab.data.contact_load import load_contacts

        kwargs = self._stored_customers(load_kwargs)
        load = load_contacts(path, **kwargs)
        options = {k: v for k, v in kwargs.items() if k != "customers"}
        return self._ingest(load, CONTACTS_TABLE, source_name, options)

    def ingest_covariates(
        self,
        path: str | Path,
        *,
        table: str = COVARIATES_TABLE,
        source_name: str | None = None,
        **load_kwargs: Any,
    ) -> IngestResult:
        """Validate a long-format covariate table with :func:`ltvlab.data.contact_load.load_covariate_table`
        (customers: the stored transactions unless given) and store it in ``table``."""
        from ltvlab.data.contact_load import load_covariate_table

        if not _IDENTIFIER.match(table) or table in _RESERVED_TABLES | {TRANSACTIONS_TABLE, CONTACTS_TABLE}:
            raise LtvlabError(
                f"table name {table!r} is not allowed; use letters, digits and _ (not 'sources', "
                "'transactions' or 'contacts')"
            )
        kwargs = self._stored_customers(load_kwargs)
        load = load_covariate_table(path, **kwargs)
        options = {k: v for k, v in kwargs.items() if k != "customers"}
        return self._ingest(load, table, source_name, options)

    def contacts(self) -> pd.DataFrame:
        """Stored contacts: ``customer_id``, ``timestamp``, ``strategy``, ``cost`` (and ``campaign_id``),
        sorted by customer and timestamp, plus the source columns."""
        frame = self.table(CONTACTS_TABLE)
        if frame.empty:
            return pd.DataFrame(
                {
                    col.CUSTOMER_ID: pd.Series(dtype="str"),
                    "timestamp": pd.Series(dtype="datetime64[ns]"),
                    "strategy": pd.Series(dtype="str"),
                    "cost": pd.Series(dtype="float64"),
                }
            )
        for name in (col.CUSTOMER_ID, "strategy"):
            frame[name] = frame[name].astype("str")
        frame["timestamp"] = frame["timestamp"].astype("datetime64[ns]")
        return frame.sort_values([col.CUSTOMER_ID, "timestamp"], kind="stable", ignore_index=True)

    def _ingest(
        self,
        load: LoadResult,
        table: str,
        source_name: str | None,
        options: Mapping[str, Any],
        *,
        key: str | None = None,
    ) -> IngestResult:
        name = source_name or load.source.name
        fingerprint = _options_fingerprint(options)
        reserved = {SOURCE_NAME, SOURCE_SHA256} & set(load.frame.columns)
        if reserved:
            raise LtvlabError(f"{load.source.name}: column(s) {sorted(reserved)} are reserved by the store")
        content = content_sha256(load.frame)
        load = dataclasses.replace(load, sha256=content)
        frame = load.frame.assign(**{SOURCE_NAME: name, SOURCE_SHA256: content})
        with self._connect() as con:
            rows = con.execute(
                f"SELECT {SOURCE_SHA256}, load_options FROM {SOURCES_TABLE} "
                f"WHERE table_name = ? AND {SOURCE_NAME} = ?",
                [table, name],
            ).fetchall()
            previous = rows[0] if rows else None
            if previous is not None and tuple(previous) == (load.sha256, fingerprint):
                return IngestResult(table, name, "unchanged", 0, load, self.path)
            twins = con.execute(
                f"SELECT {SOURCE_NAME} FROM {SOURCES_TABLE} "
                f"WHERE table_name = ? AND {SOURCE_SHA256} = ? AND load_options = ? AND {SOURCE_NAME} <> ?",
                [table, load.sha256, fingerprint, name],
            ).fetchall()
            if twins:
                note = (
                    f"{load.source.name}: the same content is already stored as source '{twins[0][0]}' in "
                    f"'{table}'; not stored again (pass source_name='{twins[0][0]}' to replace that one)"
                )
                return IngestResult(table, twins[0][0], "unchanged", 0, load, self.path, (note,))
            con.execute("BEGIN TRANSACTION")
            try:
                _create_table(con, table, frame)
                _delete_source(con, table, name)
                frame, overlap = _overlap(con, table, frame, key=key, file_name=load.source.name)
                _insert_rows(con, table, frame)
                _record_source(con, table, name, load, fingerprint)
                con.execute("COMMIT")
            except BaseException as exc:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # the failed COMMIT already ended the transaction: report its cause, not this
                if isinstance(exc, duckdb.ConversionException | duckdb.BinderException):
                    raise DataValidationError(
                        f"{load.source.name}: its columns do not fit table '{table}' in {self.path.name} "
                        f"({str(exc).splitlines()[0]}); ingest it under another table or fix the column types"
                    ) from None
                if isinstance(exc, duckdb.Error):
                    raise LtvlabError(
                        f"{load.source.name}: could not be written to the store {self.path} "
                        f"({str(exc).splitlines()[0]}); nothing was stored. Check that the store's folder "
                        "is writable and has free space, or pass another --store PATH"
                    ) from None
                raise
        status = "inserted" if previous is None else "replaced"
        return IngestResult(table, name, status, len(frame), load, self.path, overlap)

    def table(self, name: str) -> pd.DataFrame:
        """All rows of a stored table (empty frame when it does not exist yet)."""
        with self._connect(read_only=True) as con:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchall()[0][0]
            if not exists:
                return pd.DataFrame()
            return con.execute(f"SELECT * FROM {_quote(name)}").df()

    def transactions(self) -> pd.DataFrame:
        """Stored transactions: ``customer_id``, ``date``, ``amount``, extra columns, source columns."""
        frame = self.table(TRANSACTIONS_TABLE)
        if frame.empty:
            return pd.DataFrame(
                {
                    col.CUSTOMER_ID: pd.Series(dtype="str"),
                    col.DATE: pd.Series(dtype="datetime64[us]"),
                    col.AMOUNT: pd.Series(dtype="float64"),
                }
            )
        frame[col.CUSTOMER_ID] = frame[col.CUSTOMER_ID].astype("str")
        frame[col.DATE] = frame[col.DATE].astype("datetime64[us]")
        return frame

    def sources(self) -> pd.DataFrame:
        """The ingest ledger: one row per stored source with its sha256, options and row counts."""
        return self.table(SOURCES_TABLE)

    def summary(
        self,
        *,
        calibration_end: str | date,
        holdout_end: str | date | None = None,
        unit: TimeUnit = "W",
        merge_same_day: bool = True,
        segment_cols: Sequence[str] = (),
    ) -> pd.DataFrame:
        """:func:`ltvlab.features.customer_summary` computed in SQL on the stored ``transactions``."""
        with self._connect(read_only=True) as con:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TRANSACTIONS_TABLE]
            ).fetchall()[0][0]
            if not exists:
                raise LtvlabError(f"the store {self.path} has no transactions yet; run `ltvlab ingest` first")
            return customer_summary(
                TRANSACTIONS_TABLE,
                calibration_end=calibration_end,
                holdout_end=holdout_end,
                unit=unit,
                merge_same_day=merge_same_day,
                segment_cols=segment_cols,
                con=con,
            )
