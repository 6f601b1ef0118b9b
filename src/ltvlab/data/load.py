"""Loading users' transaction and experiment tables with validation and quarantine.

Every data row of the file ends up either in ``LoadResult.frame`` or in ``LoadResult.quarantine`` (one record
per bad row, its first failing check), so ``n_rows == n_loaded + n_quarantined``. Blank lines are not rows.
Row numbers follow :mod:`ltvlab.data.io`: line numbers with the header on line 1 for text files, record
numbers from 1 for Parquet.

Exact duplicate transactions (same customer, date, amount and extra columns) are **kept** and counted in
``warnings``: the CDNOW files themselves hold 21 such rows in the sample, legitimate repeat purchases of one
title on one day, and the customer summary merges same-day purchases by default anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ltvlab.data.bundled import file_sha256
from ltvlab.data.dates import parse_dates
from ltvlab.data.io import RawTable, read_table
from ltvlab.data.numbers import check_separators, parse_number_column
from ltvlab.data.quarantine import check_bad_share, write_quarantine
from ltvlab.data.validation import (
    Issue,
    RowIssues,
    check_numbers,
    check_required_text,
    resolve_columns,
)
from ltvlab.errors import DataValidationError, LtvlabError
from ltvlab.features import columns as col

TRANSACTION_FLAGS = {col.CUSTOMER_ID: "--customer-col", col.DATE: "--date-col", col.AMOUNT: "--amount-col"}
EXPERIMENT_FLAGS = {col.UNIT_ID: "--unit-col", col.ARM: "--arm-col"}


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A validated table and what was set aside.

    ``frame`` has canonical column names; ``quarantine`` one record per bad row (``row``, ``column``,
    ``value`` as written, ``reason``); ``quarantine_path`` is the CSV copy of it (``None`` when empty).
    """

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    n_rows: int
    n_loaded: int
    n_quarantined: int
    quarantine_path: Path | None
    source: Path
    sha256: str
    kind: str  # "transactions" or "experiment"
    file_format: str
    encoding: str | None
    delimiter: str | None
    date_format: str | None
    warnings: tuple[str, ...] = ()
    interpretation: tuple[str, ...] = ()  # how the file was read, one sentence each (print it)


def _check_share_argument(max_bad_share: float) -> None:
    if not 0.0 <= max_bad_share <= 1.0:
        raise LtvlabError(f"max_bad_share={max_bad_share!r} must be a share between 0 and 1, e.g. 0.01")


def _mapping(columns: Mapping[str, str] | None, canonical: Sequence[str], what: str) -> dict[str, str]:
    given = dict(columns or {})
    unknown = sorted(set(given) - set(canonical))
    if unknown:
        raise LtvlabError(
            f"columns= has unknown key(s) {unknown} for a {what} table; keys are the canonical names "
            f"{list(canonical)} and values your file's column names"
        )
    return {name: given.get(name, name) for name in canonical}


def _require(found: Sequence[str], names: Sequence[str], *, file_name: str, what: str, flag: str) -> None:
    missing = [n for n in names if n not in found]
    if missing:
        raise DataValidationError(
            f"{file_name}: {what} column(s) {missing} not found; columns found: {', '.join(found)}. "
            f"Check the names ({flag} NAME on the command line)"
        )


def _read_columns(
    path: str | Path,
    *,
    encoding: str | None,
    mapping: Mapping[str, str],
    flags: Mapping[str, str],
    required: Sequence[tuple[Sequence[str], str, str]],
) -> tuple[Path, RawTable, dict[str, str]]:
    """Read ``path``; resolve the canonical columns of ``mapping`` and check each ``(names, what, flag)`` group.

    Raises at the first group with a missing column (canonical columns first); returns the source, the raw
    table and the canonical -> file column names.
    """
    source = Path(path)
    raw = read_table(source, encoding=encoding)
    found = list(raw.frame.columns)
    names = resolve_columns(found, mapping, file_name=source.name, flags=flags)
    for wanted, what, flag in required:
        _require(found, list(wanted), file_name=source.name, what=what, flag=flag)
    return source, raw, names


def _flag_malformed(issues: RowIssues, raw: RawTable) -> None:
    if not raw.malformed:
        return
    rows = raw.rows.to_numpy()
    mask = np.isin(rows, list(raw.malformed))
    counts = pd.Series([raw.malformed.get(int(r), "") for r in rows], dtype="str")
    for reason in sorted(set(raw.malformed.values())):
        issues.flag(
            mask & (counts == reason).to_numpy(),
            pd.Series(["(whole row)"] * len(rows)),
            Issue("*", f"{reason} (wrong number of fields)", "fix the row's delimiters or quoting"),
        )


def _finish(
    *,
    raw: RawTable,
    frame: pd.DataFrame,
    issues: RowIssues,
    source: Path,
    sha256: str,
    kind: str,
    date_format: str | None,
    max_bad_share: float,
    quarantine_dir: str | Path | None,
    warnings: list[str],
    notes: Sequence[str] = (),
    int_columns: Sequence[str] = (),
) -> LoadResult:
    bad = issues.bad
    quarantine = issues.to_frame(raw.rows)
    quarantine_path = write_quarantine(
        quarantine, source=source, sha256=sha256, quarantine_dir=quarantine_dir
    )
    check_bad_share(
        quarantine,
        n_rows=len(bad),
        max_bad_share=max_bad_share,
        file_name=source.name,
        quarantine_path=quarantine_path,
        fixes=issues.fix,
    )
    loaded = frame.loc[~bad].reset_index(drop=True)
    for column in int_columns:
        loaded[column] = loaded[column].astype("int64")
    return LoadResult(
        frame=loaded,
        quarantine=quarantine,
        n_rows=len(bad),
        n_loaded=len(loaded),
        n_quarantined=len(quarantine),
        quarantine_path=quarantine_path,
        source=source,
        sha256=sha256,
        kind=kind,
        file_format=raw.file_format,
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        date_format=date_format,
        warnings=tuple(warnings),
        interpretation=(_how_read(raw, source.name, date_format), *notes),
    )


def _how_read(raw: RawTable, name: str, date_format: str | None) -> str:
    if raw.file_format == "parquet":
        text = f"{name}: Parquet"
    else:
        delimiter = {None: "one column", "\t": "tab", "whitespace": "whitespace"}.get(
            raw.delimiter, f"'{raw.delimiter}'"
        )
        text = f"{name}: text, encoding {raw.encoding}, delimiter {delimiter}"
    if date_format:
        text += f", dates {date_format}"
    return text


def load_transactions(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    extra_columns: Sequence[str] = (),
    date_format: str | None = None,
    allow_returns: bool = False,
    max_bad_share: float = 0.01,
    quarantine_dir: str | Path | None = None,
    now: str | pd.Timestamp | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    strip_currency: bool = False,
) -> LoadResult:
    """Load and validate a transactions table (one row per purchase) from CSV or Parquet.

    Parameters
    ----------
    path
        CSV/TSV/whitespace-delimited text (optionally gzipped, any common encoding) or Parquet.
    columns
        Canonical name -> your column name, for ``customer_id``, ``date``, ``amount``; omitted keys keep
        the canonical name.
    extra_columns
        Further columns carried along as given (e.g. ``channel``, ``region``).
    date_format
        strftime format of the dates; ``None`` detects it (see :mod:`ltvlab.data.dates`).
    allow_returns
        Keep negative amounts as returns; by default they are quarantined.
    max_bad_share
        Largest share of rows that may fail validation; above it a :class:`DataValidationError` is raised
        (the quarantine file is still written, for inspection).
    quarantine_dir
        Folder of the quarantine CSV; default ``data/processed/quarantine``.
    now
        Dates after this are quarantined as future dates (default: the end of today, local time).
    encoding
        Force a text encoding instead of detecting it.
    decimal, thousands
        The decimal mark (``"."`` or ``","``) and thousands separator (``","``, ``"."``, ``" "``, ``"'"``,
        ``""``) of the amounts; ``None`` decides from the whole column and stops when it cannot tell (see
        :mod:`ltvlab.data.numbers`).
    strip_currency
        Remove currency signs and codes (``$``, ``€``, ``EUR``) from amounts; by default such rows are
        quarantined.

    Returns
    -------
    LoadResult whose ``frame`` has ``customer_id`` (str), ``date`` (datetime64), ``amount`` (float64) and
    the extra columns.
    """
    _check_share_argument(max_bad_share)
    check_separators(decimal, thousands)
    mapping = _mapping(columns, (col.CUSTOMER_ID, col.DATE, col.AMOUNT), "transactions")
    clash = sorted(set(extra_columns) & set(mapping))
    if clash:
        raise LtvlabError(f"extra_columns {clash} clash with the canonical columns; rename them")
    source, raw, names = _read_columns(
        path,
        encoding=encoding,
        mapping=mapping,
        flags=TRANSACTION_FLAGS,
        required=[(extra_columns, "extra", "--extra-col")],
    )
    name = source.name
    # default "now" is the end of today, so same-day timestamps are never future whatever their time zone
    today = (
        pd.Timestamp.now().normalize() + pd.Timedelta(days=1, microseconds=-1)
        if now is None
        else pd.Timestamp(now)
    )
    if today.tz is not None:  # stored dates are naive UTC
        today = today.tz_convert("UTC").tz_localize(None)
    issues = RowIssues(len(raw.frame))
    _flag_malformed(issues, raw)
    data = raw.frame
    customer = check_required_text(
        issues, data[names[col.CUSTOMER_ID]], column=names[col.CUSTOMER_ID], what="customer id"
    )
    date_col = names[col.DATE]
    dates = parse_dates(
        data[date_col], date_format=date_format, file_name=name, column=date_col, rows=raw.rows
    )
    if pd.api.types.is_datetime64_any_dtype(data[date_col]):
        issues.flag(
            data[date_col].isna(),
            data[date_col],
            Issue(date_col, "is empty (missing date)", "fill in the date or remove the row"),
        )
    else:
        check_required_text(issues, data[date_col], column=date_col, what="date")
    date_fix = "fix the row" + ("" if date_format else " or pass date_format= (--date-format)")
    issues.flag(dates.values.isna(), data[date_col], Issue(date_col, f"is not {dates.label}", date_fix))
    issues.flag(
        dates.values > today,
        data[date_col],
        Issue(date_col, "is in the future", f"fix the row (today is taken as {today:%Y-%m-%d %H:%M})"),
    )
    parsed = check_numbers(
        issues,
        data[names[col.AMOUNT]],
        column=names[col.AMOUNT],
        what="amount",
        allow_negative=allow_returns,
        negative_fix="fix the row, or pass allow_returns=True (--allow-returns) to keep returns",
        file_name=name,
        decimal=decimal,
        thousands=thousands,
        strip_currency=strip_currency,
    )
    amount = parsed.numbers
    frame = pd.DataFrame(
        {
            col.CUSTOMER_ID: customer.astype("str"),
            col.DATE: dates.values,
            col.AMOUNT: amount.astype("float64"),
        }
    )
    for extra in extra_columns:
        frame[extra] = data[extra].to_numpy()
    warnings = list(raw.warnings)
    kept = frame.loc[~issues.bad]
    n_duplicates = int(kept.duplicated().sum())
    if n_duplicates:
        warnings.append(
            f"{name}: {n_duplicates:,} row(s) exactly repeat an earlier row (same customer, date, amount"
            f"{', extras' if extra_columns else ''}); kept as separate purchases"
        )
    return _finish(
        raw=raw,
        frame=frame,
        issues=issues,
        source=source,
        sha256=file_sha256(source),
        kind="transactions",
        date_format=dates.format,
        max_bad_share=max_bad_share,
        quarantine_dir=quarantine_dir,
        warnings=warnings,
        notes=[parsed.interpretation] if parsed.interpretation else [],
    )


def load_experiment(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    outcomes: Sequence[str] = (),
    covariates: Sequence[str] = (),
    arms: Sequence[str] | None = None,
    binary_outcomes: Sequence[str] = (),
    max_bad_share: float = 0.01,
    quarantine_dir: str | Path | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    strip_currency: bool = False,
) -> LoadResult:
    """Load and validate an experiment table (one row per randomised unit) from CSV or Parquet.

    Parameters
    ----------
    columns
        Canonical name -> your column name, for ``unit_id`` and ``arm``.
    outcomes
        Outcome columns (numeric, finite); those also in ``binary_outcomes`` must be 0 or 1. A column of
        boolean words (``True``/``False``, ``yes``/``no``, ``Y``/``N``, ``t``/``f``, any case) reads as 1/0 and
        the mapping is stated in ``interpretation``.
    covariates
        Pre-treatment covariates. A covariate whose non-empty values are mostly numbers (or all boolean
        words, read as 1/0) is numeric (other values quarantined); otherwise it is kept as text (a category).
        Empty values are quarantined.
    decimal, thousands, strip_currency, encoding
        As for :func:`load_transactions`, for every numeric column.
    arms
        Allowed arm labels; a row with another label is quarantined. ``None`` accepts any non-empty label.

    Rows sharing a unit id are all quarantined (which assignment is right cannot be told). Returns a
    :class:`LoadResult` whose frame has ``unit_id`` (str), ``arm`` (str), the covariates, the outcomes
    (float64; binary outcomes int64).
    """
    _check_share_argument(max_bad_share)
    check_separators(decimal, thousands)
    mapping = _mapping(columns, (col.UNIT_ID, col.ARM), "experiment")
    unknown_binary = sorted(set(binary_outcomes) - set(outcomes))
    if unknown_binary:
        raise LtvlabError(f"binary_outcomes {unknown_binary} must also be listed in outcomes")
    source, raw, names = _read_columns(
        path,
        encoding=encoding,
        mapping=mapping,
        flags=EXPERIMENT_FLAGS,
        required=[(outcomes, "outcome", "--outcome"), (covariates, "covariate", "--covariate")],
    )
    name = source.name
    data = raw.frame
    issues = RowIssues(len(data))
    _flag_malformed(issues, raw)
    unit_col, arm_col = names[col.UNIT_ID], names[col.ARM]
    unit = check_required_text(issues, data[unit_col], column=unit_col, what="unit id")
    duplicated = unit.notna() & (unit != "") & unit.duplicated(keep=False)
    issues.flag(
        duplicated,
        data[unit_col],
        Issue(unit_col, "is a duplicate unit id", "keep one row per unit (its assignment is ambiguous)"),
    )
    arm = check_required_text(issues, data[arm_col], column=arm_col, what="arm")
    warnings = list(raw.warnings)
    if arms is not None:
        allowed = [str(a) for a in arms]
        issues.flag(
            ~arm.isin(allowed) & arm.notna() & (arm != ""),
            data[arm_col],
            Issue(arm_col, "is an unknown arm", f"fix the label or add it to arms= (allowed: {allowed})"),
        )
        unseen = sorted(set(allowed) - set(arm.dropna()))
        if unseen:
            warnings.append(f"{name}: allowed arm(s) {unseen} have no rows")
    frame = pd.DataFrame({col.UNIT_ID: unit.astype("str"), col.ARM: arm.astype("str")})
    separators = {"decimal": decimal, "thousands": thousands, "strip_currency": strip_currency}
    notes: list[str] = []
    for covariate in covariates:
        frame[covariate] = _covariate(issues, data[covariate], covariate, name, separators, notes)
    for outcome in outcomes:
        parsed = check_numbers(
            issues,
            data[outcome],
            column=outcome,
            what="outcome",
            allow_negative=True,
            negative_fix="",
            file_name=name,
            allow_boolean=True,
            **separators,
        )
        numbers = parsed.numbers
        if parsed.interpretation:
            notes.append(parsed.interpretation)
        if outcome in binary_outcomes:
            issues.flag(
                ~numbers.isin([0.0, 1.0]),
                data[outcome],
                Issue(outcome, "is not 0 or 1", "code the binary outcome as 0/1"),
            )
        frame[outcome] = numbers
    return _finish(
        raw=raw,
        frame=frame,
        issues=issues,
        source=source,
        sha256=file_sha256(source),
        kind="experiment",
        date_format=None,
        max_bad_share=max_bad_share,
        quarantine_dir=quarantine_dir,
        warnings=warnings,
        notes=notes,
        int_columns=binary_outcomes,
    )


_NUMERIC_LOOKING = r"^[+-]?[\d.,' ]+$"


def _covariate(
    issues: RowIssues,
    values: pd.Series,
    column: str,
    file_name: str,
    separators: Mapping[str, object],
    notes: list[str],
) -> pd.Series:
    fix = "fill in the covariate or remove the row"
    text = values.astype("str").str.strip() if not pd.api.types.is_numeric_dtype(values) else None
    try:
        parsed = parse_number_column(
            values, file_name=file_name, column=column, allow_boolean=True, **separators
        )
    except DataValidationError:
        looks_numeric = text is not None and text.str.match(_NUMERIC_LOOKING).mean() > 0.5
        if looks_numeric:
            raise
        parsed = None
    if parsed is not None:
        numbers, present = parsed.numbers, parsed.present
        n_present = int(present.sum())
        numeric = (
            parsed.boolean
            or pd.api.types.is_numeric_dtype(values)
            or (n_present > 0 and numbers[present].notna().sum() > 0.5 * n_present)
        )
        if numeric:
            if parsed.interpretation:
                notes.append(parsed.interpretation)
            issues.flag(~present, values, Issue(column, "is empty (missing covariate)", fix))
            issues.flag(numbers.isna(), values, Issue(column, "is not a number", fix))
            issues.flag(np.isinf(numbers), values, Issue(column, "is infinite", fix))
            return numbers
    present = text.notna() & (text != "")
    issues.flag(~present, values, Issue(column, "is empty (missing covariate)", fix))
    return text


def read_analysis_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    strip_currency: bool = False,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """A whole table for an analysis that takes any columns (causal designs, allocation inputs).

    Read like the loaders (encoding, delimiter, separators, booleans decided per column from the whole
    column); a column whose every non-empty value is a number or a boolean word becomes float64, the others
    stay text. Returns the frame and the sentences saying how it was read.
    """
    check_separators(decimal, thousands)
    source = Path(path)
    raw = read_table(source, encoding=encoding)
    if raw.malformed:
        row = min(raw.malformed)
        raise DataValidationError(
            f"{source.name} row {row:,}: {raw.malformed[row]}; fix the row's delimiters or quoting"
        )
    notes = [_how_read(raw, source.name, None), *raw.warnings]
    frame = raw.frame.copy()
    for column in frame.columns:
        values = frame[column]
        try:
            parsed = parse_number_column(
                values,
                file_name=source.name,
                column=str(column),
                decimal=decimal,
                thousands=thousands,
                strip_currency=strip_currency,
                allow_boolean=True,
            )
        except DataValidationError:
            text = values.astype("str").str.strip()
            if text.str.match(_NUMERIC_LOOKING).mean() > 0.5:
                raise
            continue
        if bool(parsed.numbers[parsed.present].notna().all()):
            frame[column] = parsed.numbers
            if parsed.interpretation:
                notes.append(parsed.interpretation)
    return frame, tuple(notes)
