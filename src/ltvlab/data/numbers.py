"""Reading numbers and booleans written as text, from the evidence of the whole column.

Separators
----------
Each distinct value of a column is classified (:func:`number_format`):

- ``12.50``, ``0.125``, ``1234.5``, ``1,234.50`` can only be read with a **decimal point**; ``12,50``,
  ``0,125``, ``1234,5``, ``1.234,50`` only with a **decimal comma**; ``1,234,567`` only with comma thousands
  (so a decimal point), ``1.234.567`` only with dot thousands (so a decimal comma).
- ``1,234`` and ``1.234`` (one group of three digits after a leading 1-3 digit group not starting with 0) are
  **ambiguous**: a thousands separator or a decimal with three places.
- Whole numbers (``10``) say nothing.

If values of both kinds occur the column is refused (two conventions in one column); if only ambiguous
values decide, the column is refused with the fix (``decimal=`` / ``thousands=``, ``--decimal ,`` /
``--thousands .`` on the command line). Otherwise the one convention the evidence allows is applied to every
value; a value that does not fit it (``1,2,3``, ``12.5`` in a decimal-comma column) is not a number.
The interpretation is returned as a sentence so callers can print what they did. A whole column is decided
at once, never from its first rows.

Currency symbols (``$12.50``, ``12,50 €``) make a value "not a number" with a reason that names them,
unless ``strip_currency=True``, which removes currency signs (Unicode category Sc) and ISO codes next to the
number first.

Booleans
--------
A column whose distinct non-empty values are all one pair of :data:`BOOLEAN_WORDS` (any case), such as
``True``/``False`` (pandas), ``yes``/``no``, ``Y``/``N``, ``t``/``f``, is read as 1/0 and the mapping is stated.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.errors import DataValidationError

DECIMALS = (".", ",")
THOUSANDS = (",", ".", " ", "'", "")
BOOLEAN_WORDS: tuple[tuple[str, str], ...] = (
    ("true", "false"),
    ("yes", "no"),
    ("y", "n"),
    ("t", "f"),
)

_DOT_DECIMAL = re.compile(r"^[+-]?(\d*\.\d+|\d{1,3}(,\d{3})+\.\d*|\d+\.)$")
_COMMA_DECIMAL = re.compile(r"^[+-]?(\d*,\d+|\d{1,3}(\.\d{3})+,\d*)$")
_COMMA_GROUPS = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3}){2,}$")
_DOT_GROUPS = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3}){2,}$")
_AMBIGUOUS_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$")
_AMBIGUOUS_DOT = re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$")
_CURRENCY_CODE = re.compile(r"^(?:[A-Z]{3}\s*)?(.*?)(?:\s*[A-Z]{3})?$")


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """How a column's numbers are written: its decimal mark and thousands separator (``""``: none)."""

    decimal: str
    thousands: str
    detected: bool  # False when the caller stated both

    def describe(self) -> str:
        thousands = {"": "no thousands separator", " ": "space thousands"}.get(
            self.thousands, f"'{self.thousands}' thousands"
        )
        how = "detected from the whole column" if self.detected else "as given"
        return f"decimal '{self.decimal}', {thousands} ({how})"


def check_separators(decimal: str | None, thousands: str | None) -> None:
    """Raise for a decimal mark or thousands separator that is not one of the supported ones."""
    if decimal is not None and decimal not in DECIMALS:
        raise DataValidationError(f"decimal={decimal!r}: use '.' or ',' (--decimal . or --decimal ,)")
    if thousands is not None and thousands not in THOUSANDS:
        raise DataValidationError(
            f"thousands={thousands!r}: use ',', '.', ' ', \"'\" or '' for none (--thousands ...)"
        )
    if decimal is not None and thousands is not None and decimal == thousands:
        raise DataValidationError(f"decimal and thousands are both {decimal!r}; they must differ")


def _strip_currency(text: pd.Series) -> pd.Series:
    def strip(value: str) -> str:
        kept = "".join(c for c in value if unicodedata.category(c) != "Sc").strip()
        match = _CURRENCY_CODE.match(kept)
        return match.group(1).strip() if match else kept

    return text.map(strip, na_action="ignore")


def _currency_symbols(values: pd.Series) -> pd.Series:
    """The currency signs in each value ('' for none)."""
    return values.map(lambda v: "".join(c for c in v if unicodedata.category(c) == "Sc"), na_action="ignore")


def number_format(
    uniques: pd.Series,
    *,
    decimal: str | None,
    thousands: str | None,
    file_name: str,
    column: str,
) -> NumberFormat:
    """Decide the separators of a column from its distinct stripped text values (see module docstring)."""
    check_separators(decimal, thousands)
    if decimal is not None and thousands is not None:
        return NumberFormat(decimal, thousands, detected=False)
    if thousands is not None and thousands not in ("", ",", "."):
        uniques = uniques.str.replace(thousands, "", regex=False)
    amb_comma = uniques.str.match(_AMBIGUOUS_COMMA)
    amb_dot = uniques.str.match(_AMBIGUOUS_DOT)
    dot = (uniques.str.match(_DOT_DECIMAL) & ~amb_dot) | uniques.str.match(_COMMA_GROUPS)
    comma = (uniques.str.match(_COMMA_DECIMAL) & ~amb_comma) | uniques.str.match(_DOT_GROUPS)
    where = f"{file_name}, column '{column}'"
    if decimal is None and thousands in (",", "."):
        decimal = "," if thousands == "." else "."
    if decimal is None:
        if dot.any() and comma.any():
            raise DataValidationError(
                f"{where}: numbers are written with a decimal point ({uniques[dot].iloc[0]!r}) and with a "
                f"decimal comma ({uniques[comma].iloc[0]!r}); export the column with one convention, or pass "
                "decimal= (--decimal . or --decimal ,) and the rows of the other convention are quarantined"
            )
        if dot.any():
            decimal = "."
        elif comma.any():
            decimal = ","
        elif amb_comma.any() or amb_dot.any():
            example = uniques[amb_comma | amb_dot].iloc[0]
            raise DataValidationError(
                f"{where}: {example!r} could be a thousands separator or a decimal mark, and no value in the "
                "column tells which; pass --thousands , or --thousands . (or --decimal , / --decimal .; "
                "thousands= / decimal= in Python and batch configs)"
            )
        else:
            decimal = "."
    if thousands is None:
        other = "," if decimal == "." else "."
        uses_other = uniques.str.contains(other, regex=False)
        thousands = other if uses_other.any() else ""
    return NumberFormat(decimal, thousands, detected=True)


def _pattern(fmt: NumberFormat) -> re.Pattern[str]:
    d, t = re.escape(fmt.decimal), re.escape(fmt.thousands)
    grouped = rf"[0-9]{{1,3}}({t}[0-9]{{3}})+" if fmt.thousands else r"(?!)"
    return re.compile(rf"^[+-]?(([0-9]+|{grouped})({d}[0-9]*)?|{d}[0-9]+)$")


def _convert(uniques: pd.Series, fmt: NumberFormat) -> np.ndarray:
    fits = uniques.str.match(_pattern(fmt))
    canonical = uniques.where(fits)
    if fmt.thousands:
        canonical = canonical.str.replace(fmt.thousands, "", regex=False)
    if fmt.decimal != ".":
        canonical = canonical.str.replace(fmt.decimal, ".", regex=False)
    out = pd.to_numeric(canonical, errors="coerce").to_numpy(dtype="float64", copy=True)
    # scientific notation, inf and nan as written by programs (only where '.' is the decimal mark)
    if fmt.decimal == ".":
        rest = ~fits.to_numpy() & ~uniques.str.contains(",", regex=False).to_numpy()
        if rest.any():
            out[rest] = pd.to_numeric(uniques[rest], errors="coerce").to_numpy(dtype="float64")
    return out


@dataclass(frozen=True, slots=True)
class ParsedNumbers:
    """A column read as numbers: the values, which were non-empty, and how they were read."""

    numbers: pd.Series  # float64, NaN where not a number
    present: pd.Series  # bool: the text was non-empty
    interpretation: str | None  # a sentence for the user; None when nothing needed saying
    currency: pd.Series | None  # the currency signs of values that carry one ('' otherwise); None if none
    boolean: bool = False


def boolean_pair(uniques: pd.Series) -> tuple[str, str] | None:
    """The :data:`BOOLEAN_WORDS` pair the distinct values belong to (case-insensitive), if any."""
    lowered = set(uniques.str.lower())
    if not lowered:
        return None
    for true, false in BOOLEAN_WORDS:
        if lowered <= {true, false}:
            return true, false
    return None


def parse_number_column(
    values: pd.Series,
    *,
    file_name: str,
    column: str,
    decimal: str | None = None,
    thousands: str | None = None,
    strip_currency: bool = False,
    allow_boolean: bool = False,
) -> ParsedNumbers:
    """Numbers of a text or numeric column (module docstring); decided once for the whole column."""
    if pd.api.types.is_bool_dtype(values):
        return ParsedNumbers(values.astype("float64"), values.notna(), None, None, boolean=True)
    if pd.api.types.is_numeric_dtype(values):
        return ParsedNumbers(values.astype("float64"), values.notna(), None, None)
    codes, uniques = pd.factorize(values.astype("str").str.strip(), use_na_sentinel=True)
    uniques = pd.Series(uniques, dtype="str")
    present = pd.Series((codes >= 0), index=values.index)
    if len(uniques):
        present &= pd.Series(uniques.to_numpy()[np.maximum(codes, 0)] != "", index=values.index)
    nonempty = uniques[uniques != ""]
    if allow_boolean:
        pair = boolean_pair(nonempty)
        if pair is not None:
            mapped = uniques.str.lower().map({pair[0]: 1.0, pair[1]: 0.0}).to_numpy(dtype="float64")
            numbers = np.where(codes >= 0, mapped[np.maximum(codes, 0)], np.nan)
            written = sorted(set(nonempty))
            note = f"{file_name}, column '{column}': {'/'.join(written)} read as {pair[0]} = 1, {pair[1]} = 0"
            return ParsedNumbers(pd.Series(numbers, index=values.index), present, note, None, boolean=True)
    currency = _currency_symbols(uniques)
    has_currency = currency != ""
    cleaned = _strip_currency(uniques) if strip_currency else uniques
    candidates = cleaned[(cleaned != "") & (strip_currency | ~has_currency)]
    fmt = number_format(candidates, decimal=decimal, thousands=thousands, file_name=file_name, column=column)
    converted = _convert(cleaned, fmt).copy()
    currency_rows = None
    if has_currency.any():
        if not strip_currency:
            converted[has_currency.to_numpy()] = np.nan
        currency_rows = pd.Series(
            np.where(codes >= 0, currency.to_numpy()[np.maximum(codes, 0)], ""), index=values.index
        )
    numbers = pd.Series(np.where(codes >= 0, converted[np.maximum(codes, 0)], np.nan), index=values.index)
    separators_used = candidates.str.contains(r"[.,' ]", regex=True).any()
    note = None
    if separators_used or not fmt.detected:
        note = f"{file_name}, column '{column}': numbers read with {fmt.describe()}"
        if strip_currency and has_currency.any():
            note += f"; currency signs {sorted(set(currency[has_currency]))} removed"
    return ParsedNumbers(numbers, present, note, currency_rows)
