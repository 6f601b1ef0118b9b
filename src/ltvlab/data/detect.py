"""Guessing the layout of a user's file: which column is the customer, the date, the amount, the arm.

Used by ``ltvlab init`` to write a first batch config. Every guess is shown to the user and written into the
config, where it can be corrected; the loaders then validate the file with those names as usual. A guess
that cannot be made (no date-like column, say) raises a :class:`DataValidationError` naming the flag that
states it (``--customer-col`` ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ltvlab.data.dates import parse_dates
from ltvlab.data.io import RawTable, read_table
from ltvlab.data.numbers import boolean_pair, parse_number_column
from ltvlab.errors import DataValidationError

_CUSTOMER = re.compile(
    r"cust|client|user|member|buyer|account|shopper|客户|客戶|顧客|会员|會員|用户|用戶", re.I
)
_DATE = re.compile(r"date|time|day|dt$|ordered|purchased|日期|日付|时间|時間", re.I)
_AMOUNT = re.compile(r"amount|value|revenue|sales|price|total|spend|paid|sum|金额|金額|价格|價格|売上", re.I)
_UNIT = re.compile(r"unit|cust|user|member|client|id$|客户|客戶|顧客|用户|用戶", re.I)
_ARM = re.compile(r"arm|group|variant|treat|cohort|bucket|test|组|組|分组", re.I)
_CONTROL = re.compile(r"^(control|ctrl|baseline|holdout|none|no[ _-]?.*|a|对照.*|對照.*|対照.*|0)$", re.I)
_ID_LIKE = re.compile(r"(^|_)(id|no|num|code)$|编号|編號|番号", re.I)


def _sample(values: pd.Series, n: int = 5_000) -> pd.Series:
    return values if len(values) <= n else values.iloc[:: max(len(values) // n, 1)]


def _share_numeric(values: pd.Series, file_name: str, column: str) -> float:
    try:
        parsed = parse_number_column(_sample(values), file_name=file_name, column=column, allow_boolean=True)
    except DataValidationError:
        return 1.0  # ambiguous separators: numbers all the same (the loader will ask which)
    present = parsed.present
    return float(parsed.numbers[present].notna().mean()) if present.any() else 0.0


def _share_dates(values: pd.Series, file_name: str, column: str) -> float:
    sample = _sample(values)
    try:
        parsed = parse_dates(
            sample, date_format=None, file_name=file_name, column=column, rows=pd.Series(range(len(sample)))
        )
    except DataValidationError:
        return 0.0
    return float(parsed.values.notna().mean())


def _pick(candidates: Sequence[str], pattern: re.Pattern[str], what: str, flag: str, file_name: str,
          found: Sequence[str]) -> str:  # fmt: skip
    named = [c for c in candidates if pattern.search(c)]
    chosen = (named or list(candidates))[:1]
    if not chosen:
        raise DataValidationError(
            f"{file_name}: no column looks like the {what}; columns found: {', '.join(found)}. Name it with {flag}"
        )
    return chosen[0]


@dataclass(frozen=True, slots=True)
class TransactionLayout:
    customer_col: str
    date_col: str
    amount_col: str
    extra_columns: tuple[str, ...]
    raw: RawTable = field(repr=False)


@dataclass(frozen=True, slots=True)
class ExperimentLayout:
    unit_col: str
    arm_col: str
    control: str
    arms: tuple[str, ...]
    metrics: tuple[str, ...]
    binary_metrics: tuple[str, ...]
    raw: RawTable = field(repr=False)


def detect_transactions(
    path: str | Path,
    *,
    encoding: str | None = None,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
) -> TransactionLayout:
    """The customer, date and amount columns of a transactions file (given names are kept as given)."""
    name = Path(path).name
    raw = read_table(path, encoding=encoding)
    frame = raw.frame
    found = [str(c) for c in frame.columns]
    dates = [
        c for c in found if _share_dates(frame[c], name, c) > 0.9 and _share_numeric(frame[c], name, c) < 0.5
    ]
    date_col = date_col or _pick(dates, _DATE, "purchase date", "--date-col", name, found)
    numeric = [c for c in found if c != date_col and _share_numeric(frame[c], name, c) > 0.9]
    not_ids = [c for c in numeric if not _ID_LIKE.search(c) and not _CUSTOMER.search(c)]
    amount_col = amount_col or _pick(not_ids, _AMOUNT, "purchase amount", "--amount-col", name, found)
    rest = [c for c in found if c not in (date_col, amount_col)]
    customer_col = customer_col or _pick(rest, _CUSTOMER, "customer id", "--customer-col", name, found)
    extras = tuple(c for c in found if c not in (customer_col, date_col, amount_col))
    return TransactionLayout(customer_col, date_col, amount_col, extras, raw)


def detect_experiment(
    path: str | Path,
    *,
    encoding: str | None = None,
    unit_col: str | None = None,
    arm_col: str | None = None,
    control: str | None = None,
) -> ExperimentLayout:
    """Unit id, arm (and its control label) and outcome columns of an experiment file."""
    name = Path(path).name
    raw = read_table(path, encoding=encoding)
    frame = raw.frame
    found = [str(c) for c in frame.columns]
    unique_share = {c: frame[c].nunique() / max(len(frame), 1) for c in found}
    ids = [c for c in found if unique_share[c] > 0.95]
    unit_col = unit_col or _pick(ids, _UNIT, "unit id", "--unit-col", name, found)
    labels = [c for c in found if c != unit_col and 2 <= frame[c].nunique() <= 10]
    text_labels = [c for c in labels if _share_numeric(frame[c], name, c) < 0.5] or labels
    arm_col = arm_col or _pick(text_labels, _ARM, "arm", "--arm-col", name, found)
    arms = tuple(sorted(str(a) for a in frame[arm_col].dropna().astype(str).str.strip().unique() if a))
    if control is None:
        named = [a for a in arms if _CONTROL.match(a)]
        if not named:
            raise DataValidationError(
                f"{name}: no arm of column '{arm_col}' ({', '.join(arms)}) looks like the control; name it "
                "with --control LABEL"
            )
        control = named[0]
    metrics, binary = [], []
    for c in found:
        if c in (unit_col, arm_col) or _share_numeric(frame[c], name, c) < 0.99:
            continue
        metrics.append(c)
        text = frame[c].astype("str").str.strip()
        uniques = pd.Series(text.unique(), dtype="str")
        if boolean_pair(uniques[uniques != ""]) is not None or set(uniques) <= {"0", "1", "0.0", "1.0", ""}:
            binary.append(c)
    if not metrics:
        raise DataValidationError(
            f"{name}: no numeric outcome column found; columns found: {', '.join(found)}"
        )
    return ExperimentLayout(unit_col, arm_col, control, arms, tuple(metrics), tuple(binary), raw)
