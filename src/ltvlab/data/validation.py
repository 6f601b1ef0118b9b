"""Row-level checks on a raw table: each failing row gets one reason, the first check it fails.

Hand-written vectorised checks rather than a pandera schema: every check here needs the file's own row
number, the offending text as written and a fix in the message, and several depend on the whole column
(date-format detection, duplicate ids). Checks run per column in the order the loader calls them; a row
already flagged is not flagged again, so the quarantine holds exactly one record per bad row.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.errors import DataValidationError

_NUMBER_WITH_DECIMAL_COMMA = re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+),\d+$")


@dataclass(frozen=True, slots=True)
class Issue:
    """What one check found: which column, how to read it, and how to fix it."""

    column: str
    reason: str
    fix: str


class RowIssues:
    """The first failing check of each row of a table of ``n`` rows."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)
        self.value = np.full(n, None, dtype=object)
        self.fix: dict[str, str] = {}

    @property
    def bad(self) -> np.ndarray:
        return self.reason != None  # noqa: E711 - element-wise comparison on an object array

    def flag(self, mask: pd.Series | np.ndarray, values: pd.Series, issue: Issue) -> None:
        """Record ``issue`` on rows where ``mask`` holds and no earlier check failed."""
        new = np.asarray(mask, dtype=bool) & ~self.bad
        if not new.any():
            return
        self.reason[new] = issue.reason
        self.column[new] = issue.column
        self.value[new] = [_as_text(v) for v in np.asarray(values.astype(object))[new]]
        self.fix.setdefault(issue.reason, issue.fix)

    def to_frame(self, rows: pd.Series) -> pd.DataFrame:
        """One record per bad row: ``row``, ``column``, ``value``, ``reason`` in row order."""
        bad = self.bad
        return pd.DataFrame(
            {
                "row": rows.to_numpy()[bad].astype("int64"),
                "column": pd.array(self.column[bad], dtype="str"),
                "value": pd.array(self.value[bad], dtype="str"),
                "reason": pd.array(self.reason[bad], dtype="str"),
            }
        )


def _as_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return "nan"
    return str(value)


def resolve_columns(
    found: Sequence[str],
    wanted: Mapping[str, str],
    *,
    file_name: str,
    flags: Mapping[str, str],
) -> dict[str, str]:
    """Map canonical names to the file's columns; raise listing what was found and the flag to use."""
    missing = {canonical: name for canonical, name in wanted.items() if name not in found}
    if not missing:
        return dict(wanted)
    if len(found) == 1:
        raise DataValidationError(
            f"{file_name}: only one column was found ({found[0][:60]!r}), so the delimiter was not recognised "
            "(expected , ; tab | or whitespace); save the file with one of those delimiters"
        )
    parts = []
    for canonical, name in missing.items():
        close = difflib.get_close_matches(name, list(found), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        flag = flags.get(canonical, canonical)
        parts.append(
            f"column '{name}' for {canonical} not found{hint}; pass columns={{'{canonical}': 'YOUR_NAME'}}"
            + (f" or {flag} YOUR_NAME" if flag.startswith("--") else "")
        )
    raise DataValidationError(f"{file_name}: {'; '.join(parts)}. Columns found: {', '.join(found)}")


def text_of(values: pd.Series) -> pd.Series:
    """Values as stripped text with NA kept; whole floats from Parquet lose their ``.0``."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & np.isfinite(values) & (values == np.floor(values))
        out = values.astype(object).where(values.notna(), None)
        out[whole] = values[whole].astype("int64").astype(str)
        return pd.Series(out, index=values.index).astype("str").str.strip()
    return values.astype("str").str.strip()


def check_required_text(issues: RowIssues, values: pd.Series, *, column: str, what: str) -> pd.Series:
    """Flag empty/missing values; return the stripped text."""
    text = text_of(values)
    issues.flag(
        text.isna() | (text == ""),
        values,
        Issue(column, f"is empty (missing {what})", f"fill in the {what} or remove the row"),
    )
    return text


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series, bool]:
    """Numbers from text or numeric values: ``(numbers, was_nonempty_text, decimal_comma)``.

    A text column whose values look like ``12,50`` or ``1.234,50`` (and none like ``12.50``) is read with a
    decimal comma, as written by European spreadsheet exports.
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64"), values.notna(), False
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64"), values.notna(), False
    text = values.astype("str").str.strip()
    present = text.notna() & (text != "")
    comma = text[present].str.match(_NUMBER_WITH_DECIMAL_COMMA)
    dotted = text[present].str.contains(r"^-?\d+\.\d+$", regex=True)
    decimal_comma = bool(comma.any()) and not bool(dotted.any()) and comma.mean() > 0.5
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(text.where(present), errors="coerce").astype("float64")
    return numbers, present, decimal_comma


def check_numbers(
    issues: RowIssues, values: pd.Series, *, column: str, what: str, allow_negative: bool, negative_fix: str
) -> tuple[pd.Series, bool]:
    """Flag missing, non-numeric, NaN, infinite (and, unless allowed, negative) values.

    Returns the floats and whether the text used a decimal comma.
    """
    numbers, present, decimal_comma = parse_numbers(values)
    text = values.astype("str").str.strip().str.lower()
    is_nan_text = text.isin(["nan", "-nan", "+nan"])
    missing = ~present
    if pd.api.types.is_numeric_dtype(values):
        missing = pd.Series(False, index=values.index)
        is_nan_text = values.isna()
    fix_value = f"correct the {what} or remove the row"
    issues.flag(missing, values, Issue(column, f"is empty (missing {what})", fix_value))
    issues.flag(is_nan_text, values, Issue(column, "is NaN", fix_value))
    issues.flag(numbers.isna(), values, Issue(column, "is not a number", fix_value))
    issues.flag(np.isinf(numbers), values, Issue(column, "is infinite", fix_value))
    if not allow_negative:
        issues.flag(numbers < 0, values, Issue(column, "is negative (a return?)", negative_fix))
    return numbers, decimal_comma
