"""Discrete-time customer summaries ``(x, t_x, n)`` for the BG/BB model, from dated transactions.

Time is cut into calendar periods (``period="Y"`` years, ``"Q"``, ``"M"``, ``"W"``): each period is one
transaction opportunity. A customer's first transaction opens period 0 (their acquisition); the opportunities
are the following periods up to the one containing ``calibration_end``, which must be that period's last day
(so every opportunity is complete): ``n`` = their number, ``x`` = how many of them had at least one transaction,
``t_x`` = the last such opportunity (0 when ``x == 0``). With ``holdout_end`` (also a period's last day),
``x_holdout`` counts the later periods with a transaction and ``duration_holdout`` their number. The result has
the columns ``customer_id, first_purchase, x, t_x, T`` (``T`` = ``n``) and ``attrs["unit"] = "period"``, the unit of
:class:`ltvlab.ltv.bgbb.BGBB` fits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

__all__ = ["PERIODS", "discrete_summary", "period_tracking"]

PERIODS = {"Y": "year", "Q": "quarter", "M": "month", "W": "week"}


def _period_end(value: str | pd.Timestamp, name: str, freq: str) -> pd.Period:
    try:
        day = pd.Timestamp(value).normalize()
    except (TypeError, ValueError) as exc:
        raise LtvlabError(f"{name}={value!r} is not a date; give it as YYYY-MM-DD") from exc
    period = day.to_period(freq)
    if period.end_time.normalize() != day:
        raise LtvlabError(
            f"{name}={day.date()} is not the last day of its {PERIODS[freq]} ({period.end_time.date()}): "
            "every transaction opportunity must be complete"
        )
    return period


def discrete_summary(
    transactions: pd.DataFrame,
    *,
    period: str = "Y",
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Per-customer ``(x, t_x, n)`` over calendar periods (see the module docstring)."""
    if period not in PERIODS:
        raise LtvlabError(f"period={period!r}: use one of {sorted(PERIODS)} (year, quarter, month, week)")
    missing = [c for c in (col.CUSTOMER_ID, col.DATE) if c not in transactions.columns]
    if missing:
        raise LtvlabError(
            f"transactions lack column(s) {missing}; load them with ltvlab.data.load_transactions"
        )
    freq = "W-SUN" if period == "W" else period
    cal = _period_end(calibration_end, "calibration_end", freq)
    hold = _period_end(holdout_end, "holdout_end", freq) if holdout_end is not None else None
    if hold is not None and hold <= cal:
        raise LtvlabError(f"holdout_end must come after calibration_end ({hold} <= {cal})")
    tx = pd.DataFrame(
        {
            col.CUSTOMER_ID: transactions[col.CUSTOMER_ID].astype(str).to_numpy(),
            "day": pd.to_datetime(transactions[col.DATE]).dt.normalize().to_numpy(),
        }
    )
    tx["period"] = tx["day"].dt.to_period(freq)
    first = tx.groupby(col.CUSTOMER_ID, sort=True)["day"].min()
    first_period = first.dt.to_period(freq)
    kept = first_period[first_period <= cal]
    dropped = int((first_period > cal).sum())
    if kept.empty:
        raise LtvlabError(f"no customer made a first transaction by calibration_end ({cal.end_time.date()})")
    origin = tx[col.CUSTOMER_ID].map(kept)
    tx = tx[origin.notna().to_numpy()].assign(origin=origin.dropna())
    ordinal = np.asarray([p.ordinal for p in tx["period"]]) - np.asarray([p.ordinal for p in tx["origin"]])
    tx = tx.assign(opportunity=ordinal)
    n = pd.Series(cal.ordinal - np.asarray([p.ordinal for p in kept]), index=kept.index)
    active = tx[tx["opportunity"] > 0].drop_duplicates([col.CUSTOMER_ID, "opportunity"])
    in_cal = active[active["opportunity"] <= active[col.CUSTOMER_ID].map(n)]
    x = in_cal.groupby(col.CUSTOMER_ID).size().reindex(kept.index, fill_value=0)
    t_x = in_cal.groupby(col.CUSTOMER_ID)["opportunity"].max().reindex(kept.index, fill_value=0)
    out = pd.DataFrame(
        {
            col.CUSTOMER_ID: kept.index.to_numpy(),
            col.FIRST_PURCHASE: first.loc[kept.index].to_numpy(),
            col.X: x.to_numpy(dtype=np.int64),
            col.T_X: t_x.to_numpy(dtype=float),
            col.T: n.to_numpy(dtype=float),
        }
    )
    if hold is not None:
        later = active[active["opportunity"] > active[col.CUSTOMER_ID].map(n)]
        later = later[later["period"] <= hold]
        out[col.X_HOLDOUT] = (
            later.groupby(col.CUSTOMER_ID).size().reindex(kept.index, fill_value=0).to_numpy()
        )
        out[col.DURATION_HOLDOUT] = float(hold.ordinal - cal.ordinal)
    out.attrs.update(
        {
            "unit": "period",
            "period": period,
            "calibration_end": str(cal.end_time.date()),
            "holdout_end": str(hold.end_time.date()) if hold is not None else None,
            "customers_after_calibration": dropped,
        }
    )
    return out


def period_tracking(
    fit: Any,
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    max_draws: int | None = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Repeat transactions per calendar period, actual vs expected, over calibration and holdout.

    ``summary`` comes from :func:`discrete_summary` (its ``attrs`` give the period and the calibration and
    holdout ends). Actual = the summary's customers' periods with a transaction after their first; expected =
    sum over customers and mean over the fit's draws of ``E[X(t)] - E[X(t-1)]``, ``t`` = periods since the
    customer's first (the model's ``expected_purchases_new``). Returns ``period, actual, expected,
    actual_cumulative, expected_cumulative, phase`` (``calibration``/``holdout``).
    """
    from ltvlab.ltv.engine import pair_draws, resolve_unit

    if summary.attrs.get("unit") != "period" or "period" not in summary.attrs:
        raise LtvlabError("period tracking needs a summary from ltvlab.ltv.periods.discrete_summary")
    resolve_unit(fit, summary)
    period = str(summary.attrs["period"])
    freq = "W-SUN" if period == "W" else period
    cal = pd.Timestamp(summary.attrs["calibration_end"]).to_period(freq)
    end = pd.Timestamp(summary.attrs.get("holdout_end") or summary.attrs["calibration_end"]).to_period(freq)
    origin = pd.to_datetime(summary[col.FIRST_PURCHASE]).dt.to_period(freq)
    start = origin.min()
    periods = pd.period_range(start + 1, end, freq=freq)
    ids = summary[col.CUSTOMER_ID].astype(str)
    tx = pd.DataFrame(
        {
            col.CUSTOMER_ID: transactions[col.CUSTOMER_ID].astype(str).to_numpy(),
            "period": pd.to_datetime(transactions[col.DATE]).dt.to_period(freq).to_numpy(),
        }
    ).drop_duplicates()
    tx["origin"] = tx[col.CUSTOMER_ID].map(pd.Series(origin.to_numpy(), index=ids.to_numpy()))
    tx = tx[tx["origin"].notna() & (tx["period"] > tx["origin"]) & (tx["period"] <= end)]
    actual = tx.groupby("period").size().reindex(periods, fill_value=0).to_numpy(float)
    draws = pair_draws(fit, None, max_draws=max_draws, seed=seed)
    model = draws.model
    seg = np.asarray(fit.segment_index(summary), dtype=np.int64)
    groups = (
        pd.DataFrame({"seg": seg, "origin": [p.ordinal for p in origin]}).value_counts().reset_index(name="n")
    )
    expected = np.zeros(len(periods))
    ordinals = np.array([p.ordinal for p in periods], dtype=float)
    for g_seg, g_origin, g_n in groups[["seg", "origin", "n"]].itertuples(index=False):
        params = draws.purchase_params(np.array([g_seg]), np.empty((1, 0)))
        t = np.maximum(ordinals - g_origin, 0.0)
        cumulative = np.where(t > 0, model.expected_purchases_new(t, *params), 0.0).mean(axis=0)
        expected += g_n * np.diff(cumulative, prepend=0.0)
    return pd.DataFrame(
        {
            "period": periods.astype(str),
            "actual": actual,
            "expected": expected,
            "actual_cumulative": np.cumsum(actual),
            "expected_cumulative": np.cumsum(expected),
            "phase": np.where(np.array([p <= cal for p in periods]), "calibration", "holdout"),
        }
    )
