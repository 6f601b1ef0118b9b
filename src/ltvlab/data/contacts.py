"""Contact history as time-varying covariates: the carry-over of a contact and the per-period covariate table.

A contact of strategy ``k`` dated in period ``q`` (periods of one fixed length on a grid that starts at
``origin``) counts from the period it falls in; its weight ``d`` periods later is ``w(d)``, so the covariate of
strategy ``k`` in period ``p`` is ``z_k(p) = sum_{d >= 0} w(d) * c_k(p - d)`` with ``c_k(q)`` the number of
contacts of strategy ``k`` in period ``q``. Two carry-overs:

- ``CarryOver.window(k)``: ``w(d) = 1`` for ``0 <= d < k``, else 0 (an effect that lasts ``k`` periods);
- ``CarryOver.geometric(theta)``: ``w(d) = theta ** d`` with ``0 < theta < 1`` (an effect that decays).

The table is in "long format": one row per customer and period in which some covariate is not 0, with the
columns ``customer_id``, ``period_start`` and one float64 column ``contacts_<strategy>`` per strategy; an absent
(customer, period) row means all covariates are 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

TIMESTAMP = "timestamp"
STRATEGY = "strategy"
COST = "cost"
CAMPAIGN_ID = "campaign_id"
PERIOD_START = "period_start"
COVARIATE_PREFIX = "contacts_"
CONTACT_COLUMNS = (col.CUSTOMER_ID, TIMESTAMP, STRATEGY, COST)

_CHUNK = 20_000  # customers per block of the dense (customer, period, strategy) array


@dataclass(frozen=True, slots=True)
class CarryOver:
    """How long a contact keeps counting: ``window`` (``k`` periods) or ``geometric`` (weight ``theta ** d``)."""

    kind: Literal["window", "geometric"]
    value: float  # k (a whole number of periods) or theta

    def __post_init__(self) -> None:
        if self.kind == "window":
            if not float(self.value).is_integer() or self.value < 1:
                raise LtvlabError(
                    f"carry-over window:{self.value} must last a whole number of periods >= 1, e.g. window:4"
                )
        elif self.kind == "geometric":
            if not (0.0 < float(self.value) < 1.0):
                raise LtvlabError(
                    f"carry-over geometric:{self.value} needs a decay 0 < theta < 1, e.g. geometric:0.5"
                )
        else:
            raise LtvlabError(f"carry-over kind {self.kind!r} is not 'window' or 'geometric'")

    @classmethod
    def window(cls, k: int) -> CarryOver:
        """A contact counts fully in its own period and the next ``k - 1``, then not at all."""
        return cls("window", float(k))

    @classmethod
    def geometric(cls, theta: float) -> CarryOver:
        """A contact counts 1 in its own period and ``theta ** d`` after ``d`` periods."""
        return cls("geometric", float(theta))

    @classmethod
    def parse(cls, text: str) -> CarryOver:
        """``"window:4"`` or ``"geometric:0.5"`` (the command-line spelling) as a :class:`CarryOver`."""
        match = re.fullmatch(r"\s*(window|geometric)\s*:\s*([0-9.eE+-]+)\s*", str(text))
        if match is None:
            raise LtvlabError(
                f"carry-over {text!r} is not understood; write window:K (a contact counts for K periods) "
                "or geometric:THETA (its weight falls by THETA each period), e.g. window:4 or geometric:0.5"
            )
        try:
            value = float(match.group(2))
        except ValueError as exc:
            raise LtvlabError(f"carry-over {text!r}: {match.group(2)!r} is not a number") from exc
        return cls(match.group(1), value)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.kind == "window":
            return f"window:{int(self.value)}"
        return f"geometric:{self.value:g}"

    def weights(self, n: int) -> np.ndarray:
        """``w(0), ..., w(n - 1)``."""
        d = np.arange(int(n), dtype=np.float64)
        if self.kind == "window":
            return (d < self.value).astype(np.float64)
        return self.value**d

    def check_window(self, n_periods: int) -> None:
        """Refuse a window carry-over longer than the ``n_periods`` it is applied over.

        Such a contact counts to the end of the data wherever it falls, so the carry-over says nothing the data
        can check; a geometric carry-over is always allowed (its weight is truncated at the end).
        """
        if self.kind == "window" and self.value > n_periods:
            raise LtvlabError(
                f"carry-over {self} is longer than the {n_periods} period(s) from the origin to the end of the "
                f"data, so every contact would count to the end; choose window:K with K <= {n_periods} "
                "(or a geometric carry-over)"
            )


def carry(counts: np.ndarray, carry_over: CarryOver) -> np.ndarray:
    """Apply ``carry_over`` along axis 1 (periods) of contact counts shaped ``(customers, periods, ...)``."""
    counts = np.asarray(counts, dtype=np.float64)
    z = np.empty_like(counts)
    if carry_over.kind == "window":
        k = int(carry_over.value)
        cum = np.cumsum(counts, axis=1)
        z[:] = cum
        if k < counts.shape[1]:
            z[:, k:] -= cum[:, :-k]
        return z
    theta = carry_over.value
    running = np.zeros_like(counts[:, 0])
    for p in range(counts.shape[1]):
        running = theta * running + counts[:, p]
        z[:, p] = running
    return z


def period_grid(
    origin: str | pd.Timestamp, period_length: str | pd.Timedelta, end: str | pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timedelta, pd.Timestamp, int]:
    """Checked ``(origin, period_length, end, n_periods)``; the grid covers every period that starts before ``end``."""
    try:
        start = pd.Timestamp(origin)
        stop = pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise LtvlabError(f"origin={origin!r} / end={end!r}: give dates as YYYY-MM-DD") from exc
    try:
        length = pd.Timedelta(period_length)
    except (ValueError, TypeError) as exc:
        raise LtvlabError(f"period_length={period_length!r} is not a duration, e.g. '7D'") from exc
    if length <= pd.Timedelta(0):
        raise LtvlabError(f"period_length={period_length!r} must be positive, e.g. '7D'")
    if stop <= start:
        raise LtvlabError(f"end {stop} must come after origin {start}")
    return start, length, stop, math.ceil((stop - start) / length)


def _strategies(contacts: pd.DataFrame, strategies: Sequence[str] | None) -> list[str]:
    used = pd.unique(contacts[STRATEGY].astype(str))
    if strategies is None:
        return sorted(used)
    chosen = [str(s) for s in strategies]
    if len(set(chosen)) != len(chosen):
        raise LtvlabError(f"strategies={chosen} names a strategy twice")
    never = [s for s in chosen if s not in set(used)]
    if never:
        raise LtvlabError(
            f"strategy(ies) {never} have no contact in the contact log between the origin and the end, so their "
            f"effect cannot be estimated; the log has {sorted(used)}. Remove them from strategies or check the "
            "strategy column"
        )
    return chosen


def contact_covariates(
    contacts: pd.DataFrame,
    *,
    origin: str | pd.Timestamp,
    period_length: str | pd.Timedelta,
    end: str | pd.Timestamp,
    carry_over: CarryOver,
    strategies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The long covariate table of a contact log: ``customer_id``, ``period_start``, ``contacts_<strategy>``.

    Parameters
    ----------
    contacts
        A contact log with ``customer_id``, ``timestamp`` and ``strategy`` (the frame of
        :func:`ltvlab.data.load_contacts` or of the synthetic generator).
    origin, period_length
        The period grid: period ``p`` is ``[origin + p * period_length, origin + (p + 1) * period_length)``.
    end
        End of the data (exclusive); the table covers every period that starts before it.
    carry_over
        :class:`CarryOver`; a window longer than the number of periods is refused.
    strategies
        The strategies to make covariates of, in this order; ``None`` takes every strategy in the log, sorted.
        Contacts of strategies not listed are left out; a listed strategy without any contact is an error.

    Returns
    -------
    One row per customer and period in which some covariate is not 0, sorted by ``customer_id`` and
    ``period_start``; ``attrs`` holds ``origin``, ``period_length``, ``end``, ``n_periods``, ``carry_over`` and
    ``strategies``. Contacts before ``origin`` or at/after ``end`` are an error naming the first such row (the
    loader quarantines them).
    """
    missing = [c for c in (col.CUSTOMER_ID, TIMESTAMP, STRATEGY) if c not in contacts.columns]
    if missing:
        raise LtvlabError(
            f"contacts lack column(s) {missing}; have {list(contacts.columns)} (load the file with "
            "ltvlab.data.load_contacts, which maps your column names)"
        )
    if not isinstance(carry_over, CarryOver):
        raise LtvlabError(f"carry_over={carry_over!r} must be a CarryOver, e.g. CarryOver.window(4)")
    start, length, stop, n_periods = period_grid(origin, period_length, end)
    carry_over.check_window(n_periods)
    names = _strategies(contacts, strategies)
    columns = [f"{COVARIATE_PREFIX}{s}" for s in names]
    stamps = pd.to_datetime(contacts[TIMESTAMP]).to_numpy()
    outside = (stamps < start.to_datetime64()) | (stamps >= stop.to_datetime64())
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise LtvlabError(
            f"contacts row {i} (customer {contacts[col.CUSTOMER_ID].iloc[i]!r}, timestamp "
            f"{pd.Timestamp(stamps[i])}) lies outside the periods from {start} to {stop}; "
            f"{int(outside.sum()):,} contact(s) do. Load the log with load_contacts (which quarantines them) "
            "or choose origin/end that cover them"
        )
    keep = contacts[STRATEGY].astype(str).isin(names).to_numpy()
    customer = contacts[col.CUSTOMER_ID].astype(str).to_numpy()[keep]
    strategy = pd.Categorical(contacts[STRATEGY].astype(str).to_numpy()[keep], categories=names).codes
    period = ((stamps[keep] - start.to_datetime64()) // length.to_timedelta64()).astype(np.int64)
    ids, owner = np.unique(customer, return_inverse=True)
    frames = []
    for lo in range(0, len(ids), _CHUNK):
        sel = (owner >= lo) & (owner < lo + _CHUNK)
        block = min(_CHUNK, len(ids) - lo)
        counts = np.zeros((block, n_periods, len(names)))
        np.add.at(counts, (owner[sel] - lo, period[sel], strategy[sel]), 1.0)
        z = carry(counts, carry_over)
        who, when = np.nonzero((z != 0).any(axis=2))
        frame = pd.DataFrame(z[who, when], columns=columns)
        frame.insert(0, PERIOD_START, start + pd.to_timedelta(when * length.value, unit="ns"))
        frame.insert(0, col.CUSTOMER_ID, ids[lo + who])
        frames.append(frame)
    if frames:
        table = pd.concat(frames, ignore_index=True)
    else:
        table = pd.DataFrame({col.CUSTOMER_ID: [], PERIOD_START: [], **{c: [] for c in columns}})
    table[col.CUSTOMER_ID] = table[col.CUSTOMER_ID].astype(str)
    table[PERIOD_START] = pd.to_datetime(table[PERIOD_START]).astype("datetime64[ns]")
    table[columns] = table[columns].astype("float64")
    table.attrs.update(
        {
            "origin": start,
            "period_length": length,
            "end": stop,
            "n_periods": n_periods,
            "carry_over": str(carry_over),
            "strategies": tuple(names),
        }
    )
    return table


def combine_covariates(*tables: pd.DataFrame) -> pd.DataFrame:
    """One long covariate table from several on the same grid (e.g. contact covariates and a user's table).

    Rows are matched on ``customer_id`` and ``period_start``; a (customer, period) absent from one table gets 0
    in its columns (the long format's meaning of an absent row). Covariate names must not repeat across tables.
    ``attrs`` are taken from the first table that has them.
    """
    if not tables:
        raise LtvlabError("combine_covariates needs at least one table")
    keys = [col.CUSTOMER_ID, PERIOD_START]
    seen: set[str] = set()
    for table in tables:
        missing = [k for k in keys if k not in table.columns]
        if missing:
            raise LtvlabError(f"a covariate table lacks {missing}; have {list(table.columns)}")
        names = [c for c in table.columns if c not in keys]
        clash = sorted(seen & set(names))
        if clash:
            raise LtvlabError(f"covariate column(s) {clash} appear in two tables; rename one of them")
        seen |= set(names)
    merged = tables[0]
    for table in tables[1:]:
        merged = merged.merge(table, on=keys, how="outer")
    names = [c for c in merged.columns if c not in keys]
    merged[names] = merged[names].fillna(0.0).astype("float64")
    merged = merged.sort_values(keys, kind="stable", ignore_index=True)
    for table in tables:
        if table.attrs:
            merged.attrs.update(table.attrs)
            break
    return merged


def __getattr__(name: str):
    """The loaders live in :mod:`ltvlab.data.contact_load`; importable from here too (lazily, no cycle)."""
    if name in ("load_contacts", "load_covariate_table"):
        from ltvlab.data import contact_load

        return getattr(contact_load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
