"""Loading contact logs and long-format time-varying covariate tables, with the transactions' validation.

Both loaders read files like :func:`ltvlab.data.load_transactions` (CSV/Parquet, any encoding, column mapping,
date detection, number separators) and put every bad row in the quarantine with its reason, so
``n_rows == n_loaded + n_quarantined``. Given the customers (the transactions frame, or a summary with
``first_purchase``), they also set aside, with a count in ``warnings``:

- rows of a customer who is not in the transactions ("unknown customer");
- contacts before the customer's first purchase (a covariate period that ends on or before it);
- contacts after the end of the data (``data_end``: the last day of the data, inclusive; by default the day
  of the last transaction) or covariate periods that start after it.

Documented behaviour for the remaining bad inputs of issue 17:

- a strategy listed in ``strategies=`` without any valid contact is an error (its effect cannot be
  estimated); contacts of a strategy not listed are quarantined ("unknown strategy");
- a covariate column that is constant over the window is an error (its effect cannot be told apart from the
  base purchase rate): all zeros, or one value on every (customer, period) of the grid. One non-zero value on
  only some of the periods is an indicator of those periods and is kept, with a warning;
- a carry-over longer than the window is refused by :func:`ltvlab.data.contacts.contact_covariates`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ltvlab.data.bundled import file_sha256
from ltvlab.data.contacts import (
    CAMPAIGN_ID,
    COST,
    PERIOD_START,
    STRATEGY,
    TIMESTAMP,
)
from ltvlab.data.dates import parse_dates
from ltvlab.data.io import read_table
from ltvlab.data.load import (
    LoadResult,
    _check_share_argument,
    _finish,
    _flag_malformed,
    _mapping,
    _read_columns,
)
from ltvlab.data.numbers import check_separators
from ltvlab.data.validation import Issue, RowIssues, check_numbers, check_required_text, resolve_columns
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

CONTACT_FLAGS = {
    col.CUSTOMER_ID: "--contact-customer-col",
    TIMESTAMP: "--contact-time-col",
    STRATEGY: "--strategy-col",
    COST: "--cost-col",
    CAMPAIGN_ID: "--campaign-col",
}
COVARIATE_FLAGS = {col.CUSTOMER_ID: "--covariate-customer-col", PERIOD_START: "--period-col"}
_DAY = pd.Timedelta(days=1)


def acquisition_times(customers: pd.DataFrame) -> pd.Series:
    """First purchase per customer id (index: ``customer_id`` as str) from transactions or a summary."""
    if col.CUSTOMER_ID not in customers.columns:
        raise LtvlabError(f"customers= needs a '{col.CUSTOMER_ID}' column; have {list(customers.columns)}")
    ids = customers[col.CUSTOMER_ID].astype(str)
    if col.FIRST_PURCHASE in customers.columns:
        first = pd.to_datetime(customers[col.FIRST_PURCHASE])
    elif col.DATE in customers.columns:
        first = pd.to_datetime(customers[col.DATE])
    else:
        raise LtvlabError(
            f"customers= needs '{col.FIRST_PURCHASE}' (a summary) or '{col.DATE}' (transactions); "
            f"have {list(customers.columns)}"
        )
    return first.groupby(ids.to_numpy()).min().astype("datetime64[ns]")


def _data_end(data_end: str | pd.Timestamp | None, customers: pd.DataFrame | None) -> pd.Timestamp | None:
    """The exclusive end instant: the midnight after the last day of the data."""
    if data_end is not None:
        return pd.Timestamp(data_end).normalize() + _DAY
    if customers is not None and col.DATE in customers.columns and len(customers):
        return pd.Timestamp(pd.to_datetime(customers[col.DATE]).max()).normalize() + _DAY
    return None


def _today(now: str | pd.Timestamp | None) -> pd.Timestamp:
    today = (
        pd.Timestamp.now().normalize() + pd.Timedelta(days=1, microseconds=-1)
        if now is None
        else pd.Timestamp(now)
    )
    return today.tz_convert("UTC").tz_localize(None) if today.tz is not None else today


def _dates(issues: RowIssues, raw, data: pd.DataFrame, column: str, date_format: str | None, name: str):
    dates = parse_dates(data[column], date_format=date_format, file_name=name, column=column, rows=raw.rows)
    if pd.api.types.is_datetime64_any_dtype(data[column]):
        issues.flag(
            data[column].isna(),
            data[column],
            Issue(column, "is empty (missing date)", "fill in the date or remove the row"),
        )
    else:
        check_required_text(issues, data[column], column=column, what="date")
    fix = "fix the row" + ("" if date_format else " or pass date_format= (--date-format)")
    issues.flag(dates.values.isna(), data[column], Issue(column, f"is not {dates.label}", fix))
    return dates


def _flag_customers(
    issues: RowIssues,
    customer: pd.Series,
    raw_ids: pd.Series,
    acquired: pd.Series | None,
    *,
    column: str,
    warnings: list[str],
    name: str,
    what: str,
) -> pd.Series | None:
    """Quarantine rows of customers not in the transactions; return each row's first purchase (or None)."""
    if acquired is None:
        return None
    unknown = ~customer.isin(acquired.index) & customer.notna() & (customer != "")
    before = int(issues.bad.sum())
    issues.flag(
        unknown,
        raw_ids,
        Issue(
            column, "is an unknown customer (not in the transactions)", "fix the id or load their purchases"
        ),
    )
    n = int(issues.bad.sum()) - before
    if n:
        warnings.append(f"{name}: {n:,} {what} of customers not in the transactions quarantined")
    return pd.Series(acquired.reindex(customer.to_numpy()).to_numpy(), index=customer.index)


def _count_flag(issues: RowIssues, mask, values, issue: Issue, warnings: list[str], message: str) -> None:
    before = int(issues.bad.sum())
    issues.flag(mask, values, issue)
    n = int(issues.bad.sum()) - before
    if n:
        warnings.append(message.format(n=f"{n:,}"))


def load_contacts(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    customers: pd.DataFrame | None = None,
    data_end: str | pd.Timestamp | None = None,
    strategies: Sequence[str] | None = None,
    date_format: str | None = None,
    max_bad_share: float = 0.01,
    quarantine_dir: str | Path | None = None,
    now: str | pd.Timestamp | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    strip_currency: bool = False,
) -> LoadResult:
    """Load and validate a contact log (one row per contact of a customer) from CSV or Parquet.

    Parameters
    ----------
    columns
        Canonical name -> your column name, for ``customer_id``, ``timestamp``, ``strategy`` and the optional
        ``cost`` and ``campaign_id``; omitted keys keep the canonical name. ``cost`` and ``campaign_id`` are
        read when the mapping names them or the file has columns of those names; otherwise ``cost`` is 0.
    customers
        The transactions (``customer_id``, ``date``) or a customer summary (``first_purchase``): contacts of
        other customers and contacts before a customer's first purchase are quarantined.
    data_end
        Last day of the data (inclusive); later contacts are quarantined. Default: the day of the last
        transaction when ``customers`` are transactions, else no check.
    strategies
        Allowed strategy labels; contacts with another label are quarantined, and a listed strategy without
        any valid contact is an error. ``None`` accepts any non-empty label.
    date_format, max_bad_share, quarantine_dir, now, encoding, decimal, thousands, strip_currency
        As for :func:`ltvlab.data.load_transactions` (``now``: later timestamps are quarantined as future).

    Returns
    -------
    :class:`ltvlab.data.LoadResult` (``kind="contacts"``) whose frame has ``customer_id`` (str),
    ``timestamp`` (datetime64[ns]), ``strategy`` (str), ``cost`` (float64) and, when read,
    ``campaign_id`` (str), sorted by customer and timestamp.
    """
    _check_share_argument(max_bad_share)
    check_separators(decimal, thousands)
    given = dict(columns or {})
    mapping = _mapping(given, (col.CUSTOMER_ID, TIMESTAMP, STRATEGY, COST, CAMPAIGN_ID), "contacts")
    source = Path(path)
    raw = read_table(source, encoding=encoding)
    found = list(raw.frame.columns)
    for optional in (COST, CAMPAIGN_ID):
        if optional not in given and mapping[optional] not in found:
            mapping.pop(optional)
    names = resolve_columns(found, mapping, file_name=source.name, flags=CONTACT_FLAGS)
    name = source.name
    acquired = acquisition_times(customers) if customers is not None else None
    end = _data_end(data_end, customers)
    today = _today(now)
    data = raw.frame
    issues = RowIssues(len(data))
    _flag_malformed(issues, raw)
    warnings = list(raw.warnings)
    id_col = names[col.CUSTOMER_ID]
    customer = check_required_text(issues, data[id_col], column=id_col, what="customer id")
    time_col = names[TIMESTAMP]
    dates = _dates(issues, raw, data, time_col, date_format, name)
    stamps = dates.values.astype("datetime64[ns]")
    issues.flag(
        stamps > today,
        data[time_col],
        Issue(time_col, "is in the future", f"fix the row (today is taken as {today:%Y-%m-%d %H:%M})"),
    )
    strategy_col = names[STRATEGY]
    strategy = check_required_text(issues, data[strategy_col], column=strategy_col, what="strategy")
    if strategies is not None:
        allowed = [str(s) for s in strategies]
        issues.flag(
            ~strategy.isin(allowed) & strategy.notna() & (strategy != ""),
            data[strategy_col],
            Issue(
                strategy_col, "is an unknown strategy", f"fix the label or add it to strategies= ({allowed})"
            ),
        )
    cost = pd.Series(0.0, index=data.index)
    notes: list[str] = []
    if COST in names:
        parsed = check_numbers(
            issues,
            data[names[COST]],
            column=names[COST],
            what="cost",
            allow_negative=False,
            negative_fix="a contact cannot cost less than nothing; fix the row",
            file_name=name,
            decimal=decimal,
            thousands=thousands,
            strip_currency=strip_currency,
        )
        cost = parsed.numbers
        if parsed.interpretation:
            notes.append(parsed.interpretation)
    else:
        notes.append(f"{name}: no cost column; every contact's cost is taken as 0")
    first = _flag_customers(
        issues,
        customer,
        data[id_col],
        acquired,
        column=id_col,
        warnings=warnings,
        name=name,
        what="contact(s)",
    )
    if first is not None:
        _count_flag(
            issues,
            stamps < first.to_numpy(),
            data[time_col],
            Issue(time_col, "is before the customer's first purchase", "fix the date or the customer id"),
            warnings,
            f"{name}: {{n}} contact(s) before the customer's first purchase quarantined",
        )
    if end is not None:
        _count_flag(
            issues,
            stamps >= end.to_datetime64(),
            data[time_col],
            Issue(
                time_col,
                f"is after the end of the data ({(end - _DAY):%Y-%m-%d})",
                "drop the row or pass a later data_end= (the transactions' last day is the default)",
            ),
            warnings,
            f"{name}: {{n}} contact(s) after the end of the data ({(end - _DAY):%Y-%m-%d}) quarantined",
        )
    frame = pd.DataFrame(
        {
            col.CUSTOMER_ID: customer.astype("str"),
            TIMESTAMP: stamps,
            STRATEGY: strategy.astype("str"),
            COST: cost.astype("float64"),
        }
    )
    if CAMPAIGN_ID in names:
        frame[CAMPAIGN_ID] = data[names[CAMPAIGN_ID]].astype("str").str.strip().to_numpy()
    result = _finish(
        raw=raw,
        frame=frame,
        issues=issues,
        source=source,
        sha256=file_sha256(source),
        kind="contacts",
        date_format=dates.format,
        max_bad_share=max_bad_share,
        quarantine_dir=quarantine_dir,
        warnings=warnings,
        notes=notes,
    )
    loaded = result.frame.sort_values([col.CUSTOMER_ID, TIMESTAMP], kind="stable", ignore_index=True)
    if strategies is not None:
        never = [s for s in allowed if s not in set(loaded[STRATEGY])]
        if never:
            raise LtvlabError(
                f"{name}, column '{strategy_col}': strategy(ies) {never} listed in strategies= have no valid "
                f"contact, so their effect cannot be estimated; remove them from strategies= or check the "
                f"column (--strategy-col). Strategies found: {sorted(set(loaded[STRATEGY]))}"
            )
    return dataclasses.replace(result, frame=loaded)


def _grid_origin(
    origin: str | pd.Timestamp | None, acquired: pd.Series | None, periods: pd.Series
) -> pd.Timestamp | None:
    if origin is not None:
        return pd.Timestamp(origin)
    if acquired is not None and len(acquired):
        return pd.Timestamp(acquired.min()).normalize()
    valid = periods.dropna()
    return pd.Timestamp(valid.min()) if len(valid) else None


def load_covariate_table(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    covariates: Sequence[str] | None = None,
    period_length: str | pd.Timedelta = "7D",
    origin: str | pd.Timestamp | None = None,
    customers: pd.DataFrame | None = None,
    data_end: str | pd.Timestamp | None = None,
    date_format: str | None = None,
    max_bad_share: float = 0.01,
    quarantine_dir: str | Path | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
) -> LoadResult:
    """Load a long-format time-varying covariate table: ``customer_id``, ``period_start``, numeric columns.

    Parameters
    ----------
    columns
        Canonical name -> your column name, for ``customer_id`` and ``period_start``.
    covariates
        The covariate columns (numeric; booleans read as 1/0); ``None`` takes every other column.
    period_length, origin
        The period grid: a ``period_start`` must be ``origin + k * period_length``. ``origin`` defaults to the
        earliest transaction day (``customers``), else the earliest period start in the file.
    customers, data_end
        As for :func:`load_contacts`: rows of unknown customers, periods that end on or before the customer's
        first purchase and periods that start after the last day of the data are quarantined.

    A (customer, period) given twice is quarantined (which row holds cannot be told), and an absent
    (customer, period) means all covariates 0. A covariate constant over the window is an error (module
    docstring). Returns a :class:`LoadResult` (``kind="covariates"``) whose frame has ``customer_id``,
    ``period_start`` (datetime64[ns]) and one float64 column per covariate, sorted, with
    ``attrs["period_length"]`` and ``attrs["origin"]``.
    """
    _check_share_argument(max_bad_share)
    check_separators(decimal, thousands)
    try:
        length = pd.Timedelta(period_length)
    except (ValueError, TypeError) as exc:
        raise LtvlabError(f"period_length={period_length!r} is not a duration, e.g. '7D'") from exc
    if length <= pd.Timedelta(0):
        raise LtvlabError(f"period_length={period_length!r} must be positive, e.g. '7D'")
    mapping = _mapping(columns, (col.CUSTOMER_ID, PERIOD_START), "covariate")
    source, raw, names = _read_columns(
        path,
        encoding=encoding,
        mapping=mapping,
        flags=COVARIATE_FLAGS,
        required=[(covariates or (), "covariate", "--covariate-col")],
    )
    name = source.name
    data = raw.frame
    keys = set(names.values())
    chosen = [str(c) for c in data.columns if c not in keys] if covariates is None else list(covariates)
    if not chosen:
        raise LtvlabError(f"{name}: no covariate column besides {sorted(keys)}; add numeric columns")
    acquired = acquisition_times(customers) if customers is not None else None
    end = _data_end(data_end, customers)
    issues = RowIssues(len(data))
    _flag_malformed(issues, raw)
    warnings = list(raw.warnings)
    id_col, period_col = names[col.CUSTOMER_ID], names[PERIOD_START]
    customer = check_required_text(issues, data[id_col], column=id_col, what="customer id")
    dates = _dates(issues, raw, data, period_col, date_format, name)
    starts = pd.Series(dates.values.astype("datetime64[ns]"), index=data.index)
    grid_origin = _grid_origin(origin, acquired, starts[~issues.bad])
    notes: list[str] = []
    values: dict[str, pd.Series] = {}
    for covariate in chosen:
        parsed = check_numbers(
            issues,
            data[covariate],
            column=covariate,
            what="covariate",
            allow_negative=True,
            negative_fix="",
            file_name=name,
            decimal=decimal,
            thousands=thousands,
            allow_boolean=True,
        )
        values[covariate] = parsed.numbers
        if parsed.interpretation:
            notes.append(parsed.interpretation)
    if grid_origin is not None:
        offset = starts - grid_origin
        issues.flag(
            offset < pd.Timedelta(0),
            data[period_col],
            Issue(period_col, f"is before the origin {grid_origin:%Y-%m-%d}", "drop the row or pass origin="),
        )
        issues.flag(
            (offset % length) != pd.Timedelta(0),
            data[period_col],
            Issue(
                period_col,
                f"is not the start of a period (periods of {length} from {grid_origin:%Y-%m-%d %H:%M})",
                "give period starts on the grid, or pass origin= / period_length= that match the file",
            ),
        )
    first = _flag_customers(
        issues, customer, data[id_col], acquired, column=id_col, warnings=warnings, name=name, what="row(s)"
    )
    if first is not None:
        _count_flag(
            issues,
            (starts + length) <= first,
            data[period_col],
            Issue(period_col, "ends before the customer's first purchase", "drop the row"),
            warnings,
            f"{name}: {{n}} row(s) for periods before the customer's first purchase quarantined",
        )
    if end is not None:
        _count_flag(
            issues,
            starts >= end,
            data[period_col],
            Issue(period_col, f"is after the end of the data ({(end - _DAY):%Y-%m-%d})", "drop the row"),
            warnings,
            f"{name}: {{n}} row(s) for periods after the end of the data quarantined",
        )
    twice = (
        customer.notna() & starts.notna() & pd.DataFrame({"c": customer, "s": starts}).duplicated(keep=False)
    )
    issues.flag(
        twice,
        data[period_col],
        Issue(
            period_col, "repeats a (customer, period) of another row", "keep one row per customer and period"
        ),
    )
    frame = pd.DataFrame({col.CUSTOMER_ID: customer.astype("str"), PERIOD_START: starts})
    for covariate in chosen:
        frame[covariate] = values[covariate].astype("float64")
    result = _finish(
        raw=raw,
        frame=frame,
        issues=issues,
        source=source,
        sha256=file_sha256(source),
        kind="covariates",
        date_format=dates.format,
        max_bad_share=max_bad_share,
        quarantine_dir=quarantine_dir,
        warnings=warnings,
        notes=notes,
    )
    loaded = result.frame.sort_values([col.CUSTOMER_ID, PERIOD_START], kind="stable", ignore_index=True)
    full_grid = _covers_grid(loaded, acquired, grid_origin, length, end)
    for covariate in chosen:
        distinct = loaded[covariate].unique()
        if len(distinct) > 1:
            continue
        value = float(distinct[0]) if len(distinct) else 0.0
        if value == 0.0 or full_grid:
            where = "is 0 on every row" if value == 0.0 else f"is {value:g} on every customer and period"
            raise LtvlabError(
                f"{name}, column '{covariate}': the covariate {where}, constant over the window, so its effect "
                "cannot be told apart from the base purchase rate; drop the column (or pass covariates= "
                "without it)"
            )
        warnings.append(
            f"{name}, column '{covariate}': takes only the value {value:g} where given, so it acts as an "
            "indicator of the listed periods (absent periods are 0)"
        )
    loaded.attrs.update({"period_length": length, "origin": grid_origin})
    return dataclasses.replace(result, frame=loaded, warnings=tuple(warnings))


def _covers_grid(
    table: pd.DataFrame,
    acquired: pd.Series | None,
    origin: pd.Timestamp | None,
    length: pd.Timedelta,
    end: pd.Timestamp | None,
) -> bool:
    """Whether ``table`` has a row for every (customer, period) of every customer's window."""
    if acquired is None or origin is None or end is None:
        return False
    first_period = ((acquired - origin) // length).clip(lower=0)
    n_periods = int(np.ceil((end - origin) / length))
    expected = int((n_periods - first_period).clip(lower=0).sum())
    return len(table) == expected
