"""Sufficient statistics of BTYD models with time-varying covariates on a period grid.

While alive, customer ``i``'s purchase rate at time ``t`` (since the first purchase) is
``lambda_i exp(gamma . z_i(t) + beta . w_i)`` and, for Pareto/NBD, the dropout rate ``mu_i exp(delta . z_i(t))``;
``z_i(t)`` is piecewise constant on the calendar grid ``[origin + p L, origin + (p + 1) L)`` (the long covariate
table: one row per customer and period, absent rows are 0) and ``w_i`` are static covariates. With
``A(t) = int_0^t exp(gamma . z(u)) du`` the likelihood depends on the purchase times only through

- ``x``, the repeat purchases, and ``sum_j z(t_j)`` over them (``purchase_sum``);
- the time spent at each distinct covariate value up to ``t_x`` and up to ``T`` (``exposure``), which give
  ``A(t_x)``, ``A(T)`` (and ``B`` with ``delta``) for any coefficients;
- for Pareto/NBD's "died between t_x and T" term, the ordered runs of constant covariate value in ``(t_x, T]``
  (``post``), over which ``A`` and ``B`` grow linearly.

:func:`prepare_tvc_data` computes these from canonical transactions (``customer_id``, ``date``) and the long
covariate table with the conventions of :func:`ltvlab.features.customer_summary` (the first purchase starts
the clock and is not counted; ``T`` ends at the start of the calibration end day, purchases on that day
count), and compresses customers with identical statistics (e.g. never contacted, same ``x, t_x, T``) to one
weighted row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._data import distinct_rows

__all__ = ["PERIOD_START", "Pieces", "TVCData", "covariate_pieces", "prepare_tvc_data"]

PERIOD_START = "period_start"
UNIT_DAYS = {"D": 1, "W": 7}


@dataclass(frozen=True)
class Pieces:
    """Pieces of constant covariate value: row, value index into ``TVCData.values``, start and length (unit)."""

    row: np.ndarray
    value: np.ndarray
    start: np.ndarray
    length: np.ndarray

    def take(self, mask: np.ndarray) -> Pieces:
        return Pieces(self.row[mask], self.value[mask], self.start[mask], self.length[mask])


@dataclass(frozen=True)
class TVCData:
    """Weighted distinct rows of customers (see the module docstring); times in ``unit``."""

    names: tuple[str, ...]  # time-varying covariate columns
    values: np.ndarray  # (V, k) distinct covariate vectors
    segments: tuple[str, ...]
    segment_code: np.ndarray  # (n_rows,)
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    purchase_sum: np.ndarray  # (n_rows, k): sum of z at the repeat purchases
    exposure_row: np.ndarray  # (E,) entries of time spent at a value
    exposure_value: np.ndarray
    time_T: np.ndarray  # time at the value in (0, T]
    time_tx: np.ndarray  # time at the value in (0, t_x]
    post: Pieces  # runs of constant value in (t_x, T], ordered by row then time
    weight: np.ndarray  # customers per row
    inverse: np.ndarray  # (n_customers,) row of each customer
    customer_id: np.ndarray  # (n_customers,)
    first_purchase: np.ndarray  # (n_customers,) datetime64[ns]
    static_names: tuple[str, ...] = ()
    static: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # (n_rows, q) standardised
    static_mean: tuple[float, ...] = ()
    static_scale: tuple[float, ...] = ()
    unit: str = "W"
    origin: pd.Timestamp | None = None
    period_length: pd.Timedelta | None = None
    calibration_end: pd.Timestamp | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return int(self.x.size)

    @property
    def n_customers(self) -> int:
        return int(self.inverse.size)

    def positions(self, names: Sequence[str]) -> list[int]:
        """Columns of ``values`` of the covariates ``names``."""
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise LtvlabError(
                f"covariate(s) {unknown} are not in the covariate table; it has {list(self.names)}"
            )
        return [self.names.index(n) for n in names]


def _as_ns(value, name: str) -> np.int64:
    try:
        return np.int64(pd.Timestamp(value).value)
    except (ValueError, TypeError) as exc:
        raise LtvlabError(f"{name}={value!r} is not a date; give it as YYYY-MM-DD") from exc


def _purchases(
    transactions: pd.DataFrame, cal_ns: np.int64, merge_same_day: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customer ids (sorted), first purchase (ns), and the repeat purchases as (customer code, time ns)."""
    missing = [c for c in (col.CUSTOMER_ID, col.DATE) if c not in transactions.columns]
    if missing:
        raise LtvlabError(
            f"transactions lack column(s) {missing}; have {list(transactions.columns)} "
            "(load them with ltvlab.data.load_transactions)"
        )
    stamps = pd.to_datetime(transactions[col.DATE], errors="coerce")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise LtvlabError(f"transactions row {row}, column 'date': missing or not a date")
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    day = (ns // 86_400_000_000_000) * 86_400_000_000_000
    if merge_same_day:
        ns = day
    ids, code = np.unique(transactions[col.CUSTOMER_ID].astype(str).to_numpy(), return_inverse=True)
    order = np.lexsort((ns, code))
    code, ns, day = code[order], ns[order], day[order]
    if merge_same_day:
        keep = np.ones(code.size, dtype=bool)
        keep[1:] = (code[1:] != code[:-1]) | (ns[1:] != ns[:-1])
        code, ns, day = code[keep], ns[keep], day[keep]
    first_pos = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    first = ns[first_pos]
    is_first = np.zeros(code.size, dtype=bool)
    is_first[first_pos] = True
    repeat = ~is_first & (day <= cal_ns)
    acquired = (first // 86_400_000_000_000) * 86_400_000_000_000 <= cal_ns
    new_code = np.cumsum(acquired) - 1
    rep_code = code[repeat]
    keep_rep = acquired[rep_code]
    return ids[acquired], first[acquired], new_code[rep_code[keep_rep]], ns[repeat][keep_rep]


def _covariate_lookup(
    covariates: pd.DataFrame, names: Sequence[str], ids: np.ndarray, origin_ns: np.int64, length_ns: np.int64
) -> tuple[np.ndarray, np.ndarray, int]:
    """Sorted keys ``customer * 2^32 + period`` and covariate rows of the table; rows of unknown customers."""
    missing = [c for c in (col.CUSTOMER_ID, PERIOD_START, *names) if c not in covariates.columns]
    if missing:
        raise LtvlabError(
            f"covariate table lacks column(s) {missing}; have {list(covariates.columns)} (build it with "
            "ltvlab.data.contact_covariates or give customer_id, period_start and numeric columns)"
        )
    start = pd.to_datetime(covariates[PERIOD_START], errors="coerce")
    if start.isna().any():
        row = int(np.flatnonzero(start.isna().to_numpy())[0])
        raise LtvlabError(f"covariate table row {row}, column 'period_start': missing or not a date")
    offset = start.to_numpy(dtype="datetime64[ns]").astype(np.int64) - origin_ns
    off_grid = offset % length_ns != 0
    if off_grid.any():
        row = int(np.flatnonzero(off_grid)[0])
        raise LtvlabError(
            f"covariate table row {row}, column 'period_start': {start.iloc[row]} is not on the period grid "
            f"(origin {pd.Timestamp(int(origin_ns))}, period length {pd.Timedelta(int(length_ns))}); pass the "
            "origin and period_length the table was built with"
        )
    period = offset // length_ns
    z = np.empty((len(covariates), len(names)))
    for j, name in enumerate(names):
        try:
            column = pd.to_numeric(covariates[name], errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise LtvlabError(f"covariate table column '{name}' must be numeric: {exc}") from exc
        bad = ~np.isfinite(column)
        if bad.any():
            raise LtvlabError(
                f"covariate table row {int(np.flatnonzero(bad)[0])}, column '{name}': missing or infinite value "
                "(an absent customer-period row means 0; fill or drop the row)"
            )
        z[:, j] = column
    cust = np.searchsorted(ids, covariates[col.CUSTOMER_ID].astype(str).to_numpy())
    known = (cust < ids.size) & (
        ids[np.minimum(cust, ids.size - 1)] == covariates[col.CUSTOMER_ID].astype(str)
    )
    known = np.asarray(known, dtype=bool)
    keys = cust[known].astype(np.int64) * (1 << 32) + (period[known] + (1 << 31))
    order = np.argsort(keys, kind="stable")
    keys, z = keys[order], z[known][order]
    dup = np.flatnonzero(keys[1:] == keys[:-1])
    if dup.size:
        row = int(np.flatnonzero(known)[order[dup[0] + 1]])
        raise LtvlabError(
            f"covariate table row {row}: customer {covariates[col.CUSTOMER_ID].iloc[row]!r} has two rows for "
            f"period {start.iloc[row].date()}; give one row per customer and period"
        )
    return keys, z, int((~known).sum())


def covariate_pieces(
    start_ns: np.ndarray, end_ns: np.ndarray, origin_ns: int, length_ns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split windows ``[start, end)`` (ns) at the period boundaries: window, period, piece start, piece end (ns)."""
    p0 = (start_ns - origin_ns) // length_ns
    p1 = -((origin_ns - end_ns) // length_ns) - 1  # last period that starts before end
    count = np.where(end_ns > start_ns, p1 - p0 + 1, 0)
    window = np.repeat(np.arange(start_ns.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    period = p0[window] + (np.arange(window.size) - first)
    lo = np.maximum(origin_ns + period * length_ns, start_ns[window])
    hi = np.minimum(origin_ns + (period + 1) * length_ns, end_ns[window])
    keep = hi > lo
    return window[keep], period[keep], lo[keep], hi[keep]


def lookup(keys: np.ndarray, table: np.ndarray, cust: np.ndarray, period: np.ndarray, k: int) -> np.ndarray:
    """Covariates of (customer, period) pairs from the sorted table (0 where absent)."""
    want = cust.astype(np.int64) * (1 << 32) + (period + (1 << 31))
    pos = np.searchsorted(keys, want)
    hit = (pos < keys.size) & (keys[np.minimum(pos, max(keys.size - 1, 0))] == want) if keys.size else None
    out = np.zeros((want.size, k))
    if keys.size:
        out[hit] = table[pos[hit]]
    return out


def prepare_tvc_data(
    transactions: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    calibration_end,
    origin=None,
    period_length=None,
    covariate_columns: Sequence[str] | None = None,
    unit: str = "W",
    segment: pd.Series | pd.DataFrame | None = None,
    static: pd.DataFrame | None = None,
    static_columns: Sequence[str] = (),
    merge_same_day: bool = False,
    compress: bool = True,
) -> TVCData:
    """Sufficient statistics of every customer acquired by ``calibration_end``.

    Parameters
    ----------
    transactions
        Canonical transactions (``customer_id``, ``date``).
    covariates
        Long covariate table: ``customer_id``, ``period_start`` and numeric columns (absent rows are 0).
    calibration_end
        Last calibration day (inclusive), as in :func:`ltvlab.features.customer_summary`.
    origin, period_length
        The period grid; default ``covariates.attrs["origin"]`` / ``["period_length"]``.
    covariate_columns
        Columns of ``covariates`` to use (default: every column but ``customer_id`` and ``period_start``).
    segment
        Segment label per customer: a frame with ``customer_id`` and one other column, or a Series indexed by
        customer id (default: one segment ``"all"``).
    static, static_columns
        Static (time-invariant) purchase-rate covariates: a frame with ``customer_id`` and ``static_columns``,
        standardised with the calibration customers' mean and standard deviation.
    merge_same_day
        Several purchases on one day count as one, at the day's start (``customer_summary``'s default); the
        continuous-time synthetic data want ``False``.
    compress
        Merge customers with identical statistics into weighted rows.
    """
    if unit not in UNIT_DAYS:
        raise LtvlabError(f"unit={unit!r}: use 'W' (weeks) or 'D' (days)")
    origin = covariates.attrs.get("origin") if origin is None else origin
    period_length = covariates.attrs.get("period_length") if period_length is None else period_length
    if origin is None or period_length is None:
        raise LtvlabError(
            "the period grid is unknown: pass origin= and period_length= (the covariate table's attrs were lost)"
        )
    length = pd.Timedelta(period_length)
    if length <= pd.Timedelta(0):
        raise LtvlabError(f"period_length={period_length!r} must be positive, e.g. '7D'")
    origin_ns, length_ns = _as_ns(origin, "origin"), np.int64(length.value)
    cal_ns = _as_ns(pd.Timestamp(calibration_end).normalize(), "calibration_end")
    names = (
        tuple(c for c in covariates.columns if c not in (col.CUSTOMER_ID, PERIOD_START))
        if covariate_columns is None
        else tuple(covariate_columns)
    )
    if not names:
        raise LtvlabError("the covariate table has no covariate column besides customer_id and period_start")
    ids, first, rep_cust, rep_ns = _purchases(transactions, cal_ns, merge_same_day)
    if ids.size == 0:
        raise LtvlabError(f"no customer made a first purchase on or before calibration_end {calibration_end}")
    keys, table, n_unknown = _covariate_lookup(covariates, names, ids, origin_ns, length_ns)
    notes = []
    if n_unknown:
        notes.append(
            f"{n_unknown:,} covariate row(s) belong to customers without a first purchase by the calibration "
            "end; they do not enter the fit"
        )
    unit_ns = float(UNIT_DAYS[unit] * 86_400_000_000_000)
    n, k = ids.size, len(names)
    x = np.bincount(rep_cust, minlength=n).astype(float)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, rep_cust, rep_ns)
    t_x = np.where(x > 0, (last - first) / unit_ns, 0.0)
    end_ns = np.maximum(cal_ns, np.where(x > 0, last, cal_ns))  # T >= t_x (purchases on the end day)
    T = (end_ns - first) / unit_ns
    # purchase sums
    rep_period = (rep_ns - origin_ns) // length_ns
    rep_z = lookup(keys, table, rep_cust, rep_period, k)
    purchase_sum = np.zeros((n, k))
    np.add.at(purchase_sum, rep_cust, rep_z)
    # pieces of the window (0, T]
    win, period, lo, hi = covariate_pieces(first, end_ns, int(origin_ns), int(length_ns))
    z = lookup(keys, table, win, period, k)
    values, value = distinct_rows(np.vstack([np.zeros((1, k)), z]))
    value = np.asarray(value).reshape(-1)[1:]
    p_start = (lo - first[win]) / unit_ns
    p_end = (hi - first[win]) / unit_ns
    tx_w = t_x[win]
    before = np.clip(np.minimum(p_end, tx_w) - p_start, 0.0, None)
    after_start = np.maximum(p_start, tx_w)
    after = np.clip(p_end - after_start, 0.0, None)
    ex = pd.DataFrame({"row": win, "value": value, "T": p_end - p_start, "tx": before})
    ex = ex.groupby(["row", "value"], sort=True).sum().reset_index()
    post = _runs(win, value, after_start, after)
    seg_labels, segments = _segments(segment, ids)
    static_mat, s_mean, s_scale = _static(static, static_columns, ids)
    data = TVCData(
        names=names,
        values=values,
        segments=segments,
        segment_code=seg_labels,
        x=x,
        t_x=t_x,
        T=T,
        purchase_sum=purchase_sum,
        exposure_row=ex["row"].to_numpy(np.int64),
        exposure_value=ex["value"].to_numpy(np.int64),
        time_T=ex["T"].to_numpy(float),
        time_tx=ex["tx"].to_numpy(float),
        post=post,
        weight=np.ones(n),
        inverse=np.arange(n),
        customer_id=ids,
        first_purchase=first.astype("datetime64[ns]"),
        static_names=tuple(static_columns),
        static=static_mat,
        static_mean=s_mean,
        static_scale=s_scale,
        unit=unit,
        origin=pd.Timestamp(int(origin_ns)),
        period_length=length,
        calibration_end=pd.Timestamp(int(cal_ns)),
        notes=tuple(notes),
    )
    constant = [name for j, name in enumerate(names) if np.ptp(values[:, j]) == 0]
    if constant:
        raise LtvlabError(
            f"covariate(s) {constant} take a single value over every customer's calibration window: their "
            "effect is not identified; drop them (or extend the window to periods where they vary)"
        )
    return compress_rows(data) if compress else data


def _runs(row: np.ndarray, value: np.ndarray, start: np.ndarray, length: np.ndarray) -> Pieces:
    """Merge consecutive pieces of one row with the same value (pieces are ordered by row, then time)."""
    keep = length > 0
    row, value, start, length = row[keep], value[keep], start[keep], length[keep]
    new = np.r_[True, (row[1:] != row[:-1]) | (value[1:] != value[:-1])] if row.size else np.zeros(0, bool)
    run = np.cumsum(new) - 1
    total = np.bincount(run, weights=length, minlength=int(new.sum())) if row.size else np.zeros(0)
    return Pieces(row[new], value[new], start[new], total)


def _segments(segment, ids: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    if segment is None:
        return np.zeros(ids.size, dtype=np.int64), ("all",)
    if isinstance(segment, pd.DataFrame):
        others = [c for c in segment.columns if c != col.CUSTOMER_ID]
        if col.CUSTOMER_ID not in segment.columns or len(others) != 1:
            raise LtvlabError("segment frame needs customer_id and exactly one segment column")
        segment = segment.set_index(segment[col.CUSTOMER_ID].astype(str))[others[0]]
    labels = pd.Series(segment).copy()
    labels.index = labels.index.astype(str)
    labels = labels[~labels.index.duplicated()].reindex(ids)
    if labels.isna().any():
        missing = ids[labels.isna().to_numpy()]
        raise LtvlabError(
            f"{missing.size:,} customer(s) have no segment label (first: {missing[0]!r}); give every customer "
            "in the transactions a segment"
        )
    text = labels.astype(str).to_numpy()
    segments = tuple(sorted(set(text.tolist())))
    return np.searchsorted(np.array(segments), text).astype(np.int64), segments


def _static(static, names: Sequence[str], ids: np.ndarray):
    names = tuple(names)
    if not names:
        return np.empty((ids.size, 0)), (), ()
    if static is None or col.CUSTOMER_ID not in static.columns:
        raise LtvlabError("static_columns need a static frame with customer_id and those columns")
    missing = [c for c in names if c not in static.columns]
    if missing:
        raise LtvlabError(f"static covariate column(s) {missing} not in the static frame")
    frame = static.set_index(static[col.CUSTOMER_ID].astype(str))
    frame = frame[~frame.index.duplicated()].reindex(ids)
    raw = frame[list(names)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(raw)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise LtvlabError(
            f"static covariate '{names[j]}' is missing or not numeric for customer {ids[i]!r}; give every "
            "customer a value"
        )
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    if (scale <= 0).any():
        const = [n for n, s in zip(names, scale, strict=True) if s <= 0]
        raise LtvlabError(f"static covariate(s) {const} are constant: their effect is not identified")
    return (raw - mean) / scale, tuple(map(float, mean)), tuple(map(float, scale))


def _row_keys(data: TVCData) -> np.ndarray:
    """One hashable key per row from every statistic the likelihood uses."""
    n = data.n_rows
    ex_bounds = np.searchsorted(data.exposure_row, np.arange(n + 1))
    po_bounds = np.searchsorted(data.post.row, np.arange(n + 1))
    head = np.column_stack(
        [data.segment_code.astype(float), data.x, data.t_x, data.T, data.purchase_sum, data.static]
    )
    ex = np.column_stack([data.exposure_value.astype(float), data.time_T, data.time_tx])
    po = np.column_stack([data.post.value.astype(float), data.post.length])
    return np.array(
        [
            head[i].tobytes()
            + ex[ex_bounds[i] : ex_bounds[i + 1]].tobytes()
            + b"|"
            + po[po_bounds[i] : po_bounds[i + 1]].tobytes()
            for i in range(n)
        ],
        dtype=object,
    )


def compress_rows(data: TVCData) -> TVCData:
    """Merge rows with identical statistics (weights add); ``inverse`` maps customers to the new rows."""
    codes, uniques = pd.factorize(_row_keys(data))
    if uniques.size == data.n_rows:
        return data
    rep = np.zeros(uniques.size, dtype=np.int64)
    rep[codes[::-1]] = np.arange(data.n_rows)[::-1]  # first row of each group
    weight = np.bincount(codes, weights=data.weight, minlength=uniques.size)
    new_of_old = np.full(data.n_rows, -1)
    new_of_old[rep] = np.arange(rep.size)
    ex_keep = new_of_old[data.exposure_row] >= 0
    po_keep = new_of_old[data.post.row] >= 0
    post = data.post.take(po_keep)
    post = replace(post, row=new_of_old[post.row])
    ex_row = new_of_old[data.exposure_row[ex_keep]]
    order_ex = np.argsort(ex_row, kind="stable")
    order_po = np.argsort(post.row, kind="stable")
    return replace(
        data,
        segment_code=data.segment_code[rep],
        x=data.x[rep],
        t_x=data.t_x[rep],
        T=data.T[rep],
        purchase_sum=data.purchase_sum[rep],
        exposure_row=ex_row[order_ex],
        exposure_value=data.exposure_value[ex_keep][order_ex],
        time_T=data.time_T[ex_keep][order_ex],
        time_tx=data.time_tx[ex_keep][order_ex],
        post=Pieces(post.row[order_po], post.value[order_po], post.start[order_po], post.length[order_po]),
        weight=weight,
        inverse=codes[data.inverse],
        static=data.static[rep],
    )
