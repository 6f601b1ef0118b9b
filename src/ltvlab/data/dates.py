"""Parsing a column of dates or timestamps with an explicit or detected format.

Detection tries, on the non-empty values: ISO 8601 (``1997-01-18``, ``1997-01-18 13:45:00``,
``1997-01-18T13:45:00+01:00``), ``YYYYMMDD`` (``19970118``), ``YYYY/MM/DD``, and day-first versus month-first
``DD/MM/YYYY`` / ``MM/DD/YYYY`` (``/``, ``-`` or ``.`` separated). The format that parses most values wins.
When day-first and month-first parse equally many values (every day is 12 or less) the column is ambiguous
and loading stops with an error asking for ``date_format=``. Timestamps with a UTC offset are converted to
UTC and stored without a time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.errors import DataValidationError

ISO = "ISO8601"


@dataclass(frozen=True, slots=True)
class _Candidate:
    format: str
    label: str
    pattern: re.Pattern[str]


_CANDIDATES: tuple[_Candidate, ...] = (
    _Candidate(ISO, "an ISO date (YYYY-MM-DD)", re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$")),
    _Candidate("%Y%m%d", "a YYYYMMDD date", re.compile(r"^\d{8}$")),
    _Candidate("%Y/%m/%d", "a YYYY/MM/DD date", re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$")),
    _Candidate("%d/%m/%Y", "a DD/MM/YYYY date", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")),
    _Candidate("%m/%d/%Y", "a MM/DD/YYYY date", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")),
    _Candidate("%d-%m-%Y", "a DD-MM-YYYY date", re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$")),
    _Candidate("%m-%d-%Y", "a MM-DD-YYYY date", re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$")),
    _Candidate("%d.%m.%Y", "a DD.MM.YYYY date", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")),
)
_DAY_MONTH_PAIRS = {("%d/%m/%Y", "%m/%d/%Y"), ("%d-%m-%Y", "%m-%d-%Y")}


@dataclass(frozen=True, slots=True)
class ParsedDates:
    """Parsed values (NaT where a value failed), the format used and how to describe it in messages."""

    values: pd.Series
    format: str
    label: str


def describe_format(date_format: str) -> str:
    """Human wording of a format for error messages (``'a YYYYMMDD date'``)."""
    for candidate in _CANDIDATES:
        if candidate.format == date_format:
            return candidate.label
    return f"a date in format {date_format!r}"


def _to_datetime(text: pd.Series, date_format: str) -> pd.Series:
    if date_format == ISO:
        parsed = pd.to_datetime(text, format=ISO, errors="coerce", utc=True)
        return parsed.dt.tz_convert(None)
    return pd.to_datetime(text, format=date_format, errors="coerce")


def parse_dates(
    values: pd.Series,
    *,
    date_format: str | None,
    file_name: str,
    column: str,
    rows: pd.Series,
) -> ParsedDates:
    """Parse ``values`` (text, datetimes or YYYYMMDD integers) into naive ``datetime64[us]``.

    Values that do not parse become NaT; the caller quarantines them. Raises :class:`DataValidationError`
    when no format fits most values or when day-first and month-first cannot be told apart.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
        return ParsedDates(parsed.astype("datetime64[us]"), "stored", "a timestamp")
    if pd.api.types.is_integer_dtype(values) or pd.api.types.is_float_dtype(values):
        numbers = values.astype("float64")
        whole = numbers.notna() & np.isfinite(numbers) & (numbers == np.floor(numbers))
        text = pd.Series(pd.NA, index=values.index, dtype="str")
        text[whole] = numbers[whole].astype("int64").astype(str)
    else:
        text = values.astype("str").str.strip()
    present = text.notna() & (text != "")
    if date_format is not None:
        parsed = _to_datetime(text.where(present), date_format)
        return ParsedDates(parsed.astype("datetime64[us]"), date_format, describe_format(date_format))
    sample = text[present]
    if sample.empty:
        return ParsedDates(pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]"), ISO, "a date")
    scores: dict[str, tuple[int, pd.Series]] = {}
    for candidate in _CANDIDATES:
        shaped = sample.str.match(candidate.pattern)
        if not shaped.any():
            continue
        parsed = _to_datetime(sample.where(shaped), candidate.format)
        scores[candidate.format] = (int(parsed.notna().sum()), parsed)
    if not scores or max(s for s, _ in scores.values()) == 0:
        example_pos = int(np.flatnonzero(present.to_numpy())[0])
        raise DataValidationError(
            f"{file_name} row {rows.iloc[example_pos]:,}, column '{column}': {text.iloc[example_pos]!r} is not "
            "in a recognised date format (ISO YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY, MM/DD/YYYY); "
            "pass date_format= (e.g. '%d %b %Y') or --date-format"
        )
    best = max(scores, key=lambda f: scores[f][0])
    for first, second in _DAY_MONTH_PAIRS:
        if best in (first, second) and first in scores and second in scores:
            if scores[first][0] == scores[second][0]:
                example_pos = int(np.flatnonzero(present.to_numpy())[0])
                raise DataValidationError(
                    f"{file_name} row {rows.iloc[example_pos]:,}, column '{column}': dates such as "
                    f"{text.iloc[example_pos]!r} are ambiguous (every day is 12 or less, so day-first and "
                    f"month-first both fit); pass date_format='{first}' or date_format='{second}' "
                    "(--date-format on the command line)"
                )
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    parsed[sample.index] = scores[best][1].astype("datetime64[us]")
    return ParsedDates(parsed, best, describe_format(best))
