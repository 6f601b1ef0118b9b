"""Loyalty KPIs by period, cohort and segment, against targets, with trends.

Definitions (period ``p`` = calendar period of frequency ``freq``; "active" = at least one order in ``p``):

- ``retention_rate``: share of customers active in ``p - 1`` who are active again in ``p``.
- ``churn_rate``: ``1 - retention_rate``.
- ``repeat_purchase_rate``: share of customers active in ``p`` who had ordered in an earlier period.
- ``win_back_rate``: share of lapsed customers (ordered before, but not in the ``lapse_periods`` periods
  just before ``p``) who order in ``p``.
- ``purchase_frequency``: orders in ``p`` per active customer.
- ``average_order_value``: revenue in ``p`` / orders in ``p``.
- ``active_customers``: count of active customers.

- NPS (:func:`nps`, :func:`nps_table`) from 0-10 survey answers, with a confidence interval.

Every row carries ``numerator`` and ``denominator`` so rates can be re-aggregated and checked. A rate whose
denominator is zero (no active customers in ``p - 1``, no lapsed customers, no orders) is undefined: its
``value`` is NaN and its ``note`` says "undefined: zero denominator" (never 0, never a ratio of zeros).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ltvlab.errors import DataValidationError, LtvlabError
from ltvlab.features.columns import AMOUNT, CUSTOMER_ID, DATE

KPI_NAMES = (
    "active_customers",
    "retention_rate",
    "churn_rate",
    "repeat_purchase_rate",
    "win_back_rate",
    "purchase_frequency",
    "average_order_value",
)
LOWER_IS_BETTER = frozenset({"churn_rate"})


def _activity(tx: pd.DataFrame, periods: pd.PeriodIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer x period matrices of order counts and revenue (customers in rows)."""
    customers, cust_idx = np.unique(tx[CUSTOMER_ID].to_numpy(), return_inverse=True)
    per_idx = periods.get_indexer(tx["_period"])
    orders = np.zeros((len(customers), len(periods)))
    revenue = np.zeros((len(customers), len(periods)))
    np.add.at(orders, (cust_idx, per_idx), 1.0)
    np.add.at(revenue, (cust_idx, per_idx), tx[AMOUNT].to_numpy(float))
    return customers, orders, revenue


def _kpis_for(
    orders: np.ndarray, revenue: np.ndarray, periods: pd.PeriodIndex, lapse_periods: int
) -> list[dict]:
    active = orders > 0
    ever_before = np.cumsum(active, axis=1) - active > 0  # ordered in an earlier period
    rows = []
    for j, period in enumerate(periods):
        a = active[:, j]
        n_active = int(a.sum())
        n_orders = float(orders[:, j].sum())
        values: dict[str, tuple[float, float]] = {
            "active_customers": (n_active, 1.0),
            "repeat_purchase_rate": (float((a & ever_before[:, j]).sum()), n_active),
            "purchase_frequency": (n_orders, n_active),
            "average_order_value": (float(revenue[:, j].sum()), n_orders),
        }
        if j >= 1:
            prev = active[:, j - 1]
            kept = float((prev & a).sum())
            values["retention_rate"] = (kept, float(prev.sum()))
            values["churn_rate"] = (float(prev.sum()) - kept, float(prev.sum()))
        if j >= lapse_periods:
            recent = active[:, j - lapse_periods : j].any(axis=1)
            earlier = ever_before[:, j - lapse_periods] | (active[:, : j - lapse_periods].any(axis=1))
            lapsed = earlier & ~recent
            values["win_back_rate"] = (float((lapsed & a).sum()), float(lapsed.sum()))
        for kpi, (num, den) in values.items():
            undefined = kpi != "active_customers" and not den > 0
            value = num if kpi == "active_customers" else (np.nan if undefined else num / den)
            note = "undefined: zero denominator" if undefined else ""
            rows.append(
                {
                    "period": period,
                    "kpi": kpi,
                    "value": value,
                    "numerator": num,
                    "denominator": den,
                    "note": note,
                }
            )
    return rows


def kpi_table(
    transactions: pd.DataFrame,
    *,
    freq: str = "M",
    by: str | None = None,
    lapse_periods: int = 3,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Loyalty KPIs per period (and per group) as a long frame.

    Parameters
    ----------
    transactions : one row per order with ``customer_id``, ``date``, ``amount``.
    freq : pandas period frequency: "M" (month), "Q", "W", "Y".
    by : ``None`` (everyone), ``"cohort"`` (period of the first order) or a customer-level column of
        ``transactions`` (its first value per customer is used).
    lapse_periods : periods without an order after which a customer counts as lapsed (win-back).
    start, end : restrict the reported periods (history before ``start`` still counts for "ordered before").

    Returns columns ``period, group, kpi, value, numerator, denominator, note``.
    """
    missing = [c for c in (CUSTOMER_ID, DATE, AMOUNT) if c not in transactions.columns]
    if missing:
        raise DataValidationError(f"kpi_table: transactions lack column(s) {missing}")
    if lapse_periods < 1:
        raise LtvlabError(f"lapse_periods must be >= 1; got {lapse_periods}")
    if transactions.empty:
        raise LtvlabError("kpi_table: no transactions")
    tx = transactions.copy()
    try:
        tx["_period"] = pd.to_datetime(tx[DATE]).dt.to_period(freq)
    except (ValueError, TypeError) as exc:
        raise LtvlabError(f"kpi_table: cannot use freq='{freq}' ({exc}); use M, Q, W or Y") from exc
    periods = pd.period_range(tx["_period"].min(), tx["_period"].max(), freq=tx["_period"].dt.freq)
    if by is None:
        groups = pd.Series("all", index=tx.index)
    elif by == "cohort":
        groups = tx.groupby(CUSTOMER_ID)["_period"].transform("min").astype(str)
    else:
        if by not in tx.columns:
            raise DataValidationError(f"kpi_table: column '{by}' not found in transactions")
        groups = tx.groupby(CUSTOMER_ID)[by].transform("first").astype(str)
    rows = []
    for group in sorted(groups.unique()):
        _, orders, revenue = _activity(tx[groups == group], periods)
        for row in _kpis_for(orders, revenue, periods, lapse_periods):
            rows.append({"group": group} | row)
    out = pd.DataFrame(rows)[["period", "group", "kpi", "value", "numerator", "denominator", "note"]]
    if start is not None:
        out = out[out["period"] >= pd.Period(start, freq=periods.freq)]
    if end is not None:
        out = out[out["period"] <= pd.Period(end, freq=periods.freq)]
    return out.reset_index(drop=True)


def kpi_status(
    kpis: pd.DataFrame,
    targets: Mapping[str, float],
    *,
    amber_tolerance: float = 0.05,
    lower_is_better: frozenset[str] | set[str] = LOWER_IS_BETTER,
) -> pd.DataFrame:
    """Add ``target`` and ``status`` (green / amber / red) to the rows of the KPIs that have a target.

    Green: the target is met. Amber: missed by at most ``amber_tolerance`` relative to the target (a target
    of 0 has no relative scale: the tolerance is then absolute). Red: missed by more. An undefined value
    (zero denominator) is "n/a". Churn (and any KPI in ``lower_is_better``) is met when at or below its target.
    """
    unknown = set(targets) - set(kpis["kpi"])
    if unknown:
        raise LtvlabError(f"targets for unknown KPI(s) {sorted(unknown)}; known: {sorted(set(kpis['kpi']))}")
    out = kpis[kpis["kpi"].isin(list(targets))].copy()
    out["target"] = out["kpi"].map(dict(targets)).astype(float)
    sign = np.where(out["kpi"].isin(list(lower_is_better)), -1.0, 1.0)
    gap = sign * (out["value"] - out["target"]) / out["target"].abs().where(out["target"] != 0, 1.0)
    status = np.select([gap >= 0, gap >= -amber_tolerance], ["green", "amber"], default="red")
    out["status"] = np.where(out["value"].isna(), "n/a", status)
    return out.reset_index(drop=True)


def kpi_trends(kpis: pd.DataFrame, *, last_n_periods: int | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Least-squares slope per period of each KPI and group, with its interval and a direction.

    ``direction`` is "up" / "down" when the interval excludes 0, else "flat"; ``improving`` applies the KPI's
    sense (lower churn is better).
    """
    rows = []
    for (group, kpi), part in kpis.dropna(subset=["value"]).groupby(["group", "kpi"], sort=True):
        part = part.sort_values("period")
        if last_n_periods is not None:
            part = part.tail(last_n_periods)
        n = len(part)
        if n < 3:
            rows.append({"group": group, "kpi": kpi, "n_periods": n, "slope": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "direction": "n/a", "improving": None})  # fmt: skip
            continue
        x = np.arange(n, dtype=float)
        fit = stats.linregress(x, part["value"].to_numpy(float))
        half = stats.t.ppf(1 - alpha / 2, n - 2) * fit.stderr
        low, high = fit.slope - half, fit.slope + half
        direction = "up" if low > 0 else "down" if high < 0 else "flat"
        good = direction == ("down" if kpi in LOWER_IS_BETTER else "up")
        rows.append({"group": group, "kpi": kpi, "n_periods": n, "slope": fit.slope, "ci_low": low,
                     "ci_high": high, "direction": direction,
                     "improving": None if direction == "flat" else good})  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- Net Promoter Score
# Net Promoter Score from 0-10 answers, with a confidence interval.
#
# NPS = 100 * (p_promoters - p_detractors), promoters answering 9-10 and detractors 0-6. The counts of
# (promoters, passives, detractors) are multinomial, so with ``p_P``, ``p_D`` the two shares
# ``Var(p_P - p_D) = [p_P (1 - p_P) + p_D (1 - p_D) + 2 p_P p_D] / n = [p_P + p_D - (p_P - p_D)^2] / n``
# (the covariance of two multinomial shares is ``-p_P p_D / n``). The interval is the normal (Wald) one.


@dataclass(frozen=True, slots=True)
class NpsResult:
    nps: float
    ci_low: float
    ci_high: float
    std_error: float
    n: int
    promoters: int
    passives: int
    detractors: int
    alpha: float
    warnings: tuple[str, ...] = ()


def nps(scores: Sequence[float] | np.ndarray | pd.Series, *, alpha: float = 0.05) -> NpsResult:
    """NPS (points, -100..100) of 0-10 survey answers; missing answers are not allowed (drop them first)."""
    values = np.asarray(pd.Series(scores, dtype="float64"))
    if len(values) == 0:
        raise LtvlabError("nps: no answers")
    if np.isnan(values).any():
        raise DataValidationError(f"nps: {int(np.isnan(values).sum())} missing answers; drop them first")
    bad = (values < 0) | (values > 10) | (values != np.round(values))
    if bad.any():
        raise DataValidationError(
            f"nps: answers must be integers 0-10; found {sorted(set(values[bad].tolist()))[:5]}"
        )
    n = len(values)
    promoters = int((values >= 9).sum())
    detractors = int((values <= 6).sum())
    p_p, p_d = promoters / n, detractors / n
    score = p_p - p_d
    se = float(np.sqrt(max(p_p + p_d - score**2, 0.0) / n))
    z = stats.norm.ppf(1 - alpha / 2)
    notes = ("small_sample",) if n < 30 else ()
    return NpsResult(
        nps=100 * score,
        ci_low=100 * max(score - z * se, -1.0),
        ci_high=100 * min(score + z * se, 1.0),
        std_error=100 * se,
        n=n,
        promoters=promoters,
        passives=n - promoters - detractors,
        detractors=detractors,
        alpha=alpha,
        warnings=notes,
    )


def nps_table(
    frame: pd.DataFrame, *, score: str, by: Sequence[str] = (), alpha: float = 0.05
) -> pd.DataFrame:
    """NPS with interval per group of ``by`` (e.g. period, segment); one row per group."""
    if score not in frame.columns:
        raise DataValidationError(f"nps_table: column '{score}' not found")
    groups = frame.groupby(list(by), sort=True) if by else [((), frame)]
    rows = []
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        result = nps(part[score].dropna(), alpha=alpha)
        row = dict(zip(by, key, strict=True))
        row |= {f: getattr(result, f) for f in ("nps", "ci_low", "ci_high", "std_error", "n", "promoters",
                                               "passives", "detractors")}  # fmt: skip
        row["warnings"] = ";".join(result.warnings)
        rows.append(row)
    return pd.DataFrame(rows)
