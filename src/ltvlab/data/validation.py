"""Row-level checks on a raw table: each failing row gets one reason, the first check it fails.

Hand-written vectorised checks rather than a pandera schema: every check here needs the file's own row
number, the offending text as written and a fix in the message, and several depend on the whole column
(date-format detection, duplicate ids). Checks run per column in the order the loader calls them; a row
already flagged is not flagged again, so the quarantine holds exactly one record per bad row.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.data.numbers import ParsedNumbers, parse_number_column
from ltvlab.errors import DataValidationError


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


def check_numbers(
    issues: RowIssues,
    values: pd.Series,
    *,
    column: str,
    what: str,
    allow_negative: bool,
    negative_fix: str,
    file_name: str,
    decimal: str | None = None,
    thousands: str | None = None,
    strip_currency: bool = False,
    allow_boolean: bool = False,
) -> ParsedNumbers:
    """Flag missing, non-numeric, NaN, infinite (and, unless allowed, negative) values.

    Returns the parsed column (:func:`ltvlab.data.numbers.parse_number_column`): its floats and the sentence
    saying how they were read.
    """
    parsed = parse_number_column(
        values,
        file_name=file_name,
        column=column,
        decimal=decimal,
        thousands=thousands,
        strip_currency=strip_currency,
        allow_boolean=allow_boolean,
    )
    numbers, present = parsed.numbers, parsed.present
    text = values.astype("str").str.strip().str.lower()
    is_nan_text = text.isin(["nan", "-nan", "+nan"])
    missing = ~present
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        missing = pd.Series(False, index=values.index)
        is_nan_text = values.isna()
    fix_value = f"correct the {what} or remove the row"
    issues.flag(missing, values, Issue(column, f"is empty (missing {what})", fix_value))
    issues.flag(is_nan_text, values, Issue(column, "is NaN", fix_value))
    if parsed.currency is not None and not strip_currency:
        issues.flag(
            parsed.currency != "",
            values,
            Issue(
                column,
                "has a currency symbol",
                f"write the {what} without it, or pass strip_currency=True (--strip-currency) to remove it",
            ),
        )
    issues.flag(numbers.isna(), values, Issue(column, "is not a number", fix_value))
    issues.flag(np.isinf(numbers), values, Issue(column, "is infinite", fix_value))
    if not allow_negative:
        issues.flag(numbers < 0, values, Issue(column, "is negative (a return?)", negative_fix))
    return parsed
