"""Discounted customer lifetime value from posterior draws, with its uncertainty kept whole.

CLV of a customer over ``K`` future periods of length ``P`` (in the summary's time unit)::

    CLV = sum_{k=1..K} (E[N(k P)] - E[N((k-1) P)]) * E[spend] / (1 + d_P)^k

where ``E[N(t)]`` is the purchase model's conditional expected number of purchases in ``(T, T + t]`` given the
customer's ``(x, t_x, T)``, ``E[spend]`` the spend model's conditional expected transaction value given
``(x, monetary)`` and ``d_P = (1 + annual_discount_rate)^(P days / 365.25) - 1`` the discount rate of one period.

Every quantity is computed per posterior draw: draw ``j`` of the purchase model is paired with draw ``j`` of the
spend model (the two models are fitted independently, so the pair is a draw of their joint posterior), and the
per-customer mean and quantiles are taken over the resulting CLV draws. Spend is never averaged over draws first.

Work is done on the distinct ``(segment, x, t_x, T, monetary)`` rows, ``chunk_rows`` at a time, so memory is
``O(draws x chunk_rows)`` whatever the number of customers; results are joined back to customers at the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.discounting import UNIT_DAYS, ClvHorizon
from ltvlab.ltv.engine import (  # noqa: F401  (QUANTILES, pair_draws: read by ltvlab.ltv.plots)
    QUANTILES,
    PairedDraws,
    pair_draws,
    resolve_unit,
    scoring_plan,
    unique_row_table,
    unique_rows,
    validate_summary,
)
from ltvlab.ltv.registry import get_model, registered_models

__all__ = ["NaiveClvBaseline", "clv_attrs", "customer_lifetime_value", "naive_clv_baseline"]


class _PurchaseParams(Mapping[str, tuple[str, ...]]):
    """Parameter names of each registered purchase model (read by :mod:`ltvlab.ltv.plots`)."""

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return get_model(name, "purchase").param_names

    def __iter__(self) -> Iterator[str]:
        return iter(registered_models("purchase"))

    def __len__(self) -> int:
        return len(registered_models("purchase"))


PURCHASE_PARAMS: Mapping[str, tuple[str, ...]] = _PurchaseParams()


# ------------------------------------------------------------------------------------------------ public


def customer_lifetime_value(
    purchase_fit: Any,
    spend_fit: Any,
    summary: pd.DataFrame,
    *,
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
    max_draws: int | None = 1000,
    seed: int = 0,
    chunk_rows: int = 2048,
    unit: str | None = None,
) -> pd.DataFrame:
    """Discounted CLV per customer from the joint posterior of a purchase fit and a Gamma-Gamma spend fit.

    Parameters
    ----------
    purchase_fit, spend_fit
        Fitted BG/NBD or Pareto/NBD model, and fitted Gamma-Gamma model (``fit.draws``, ``fit.segment_index``).
    summary
        Customer summary (``customer_id, x, t_x, T, monetary``).
    unit
        Time unit of the summary's ``t_x`` and ``T`` (``"W"``/``"D"``); default ``summary.attrs["unit"]``. It must
        be the purchase fit's unit (:func:`ltvlab.ltv.engine.resolve_unit`).
    horizon_weeks, period_weeks
        Horizon and discounting period, in weeks whatever the summary's unit; the period must divide the horizon.
    annual_discount_rate
        Yearly discount rate (0.10 = 10%), compounded per period.
    max_draws, seed
        Number of posterior draws used (thinned at random with ``seed``; ``None`` = all).
    chunk_rows
        Distinct summaries processed at once; memory is ``O(draws x chunk_rows)``.

    Returns
    -------
    DataFrame with ``customer_id, clv_mean, clv_q05, clv_q50, clv_q95`` in the summary's row order, in the
    currency of ``monetary``. ``attrs`` record unit, horizon, period, discount rates, draws and seed.
    """
    validate_summary(summary)
    plan = scoring_plan(
        purchase_fit,
        spend_fit,
        summary=summary,
        unit=unit,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=seed,
    )
    rows = unique_rows(summary, purchase_fit, spend_fit)
    table = unique_row_table(
        plan.draws, rows, horizon=plan.horizon, quantities=("clv",), chunk_rows=chunk_rows
    )
    result = table.iloc[rows.inverse].reset_index(drop=True)
    result.insert(0, col.CUSTOMER_ID, summary[col.CUSTOMER_ID].to_numpy())
    result.attrs.update(clv_attrs(plan.horizon, plan.draws, seed=seed, n_unique=len(rows)))
    return result


def clv_attrs(horizon: ClvHorizon, draws: PairedDraws, *, seed: int, n_unique: int) -> dict[str, Any]:
    """How a CLV table was made: recorded in its ``attrs`` and in reports."""
    return {
        "unit": horizon.unit,
        "horizon_weeks": horizon.horizon_weeks,
        "period_weeks": horizon.period_weeks,
        "n_periods": horizon.n_periods,
        "annual_discount_rate": horizon.annual_discount_rate,
        "period_discount_rate": horizon.period_rate,
        "purchase_model": draws.purchase_model,
        "n_draws": draws.n_draws,
        "seed": seed,
        "n_unique_summaries": n_unique,
    }


# ----------------------------------------------------------------------------------------------- baseline


@dataclass(frozen=True, slots=True)
class NaiveClvBaseline:
    """BASELINE ONLY: the textbook "average revenue x expected lifespan x retention" figure.

    Not a model of any customer: one number for everyone, no discounting beyond the retention factor, no
    uncertainty. Shown next to the model's CLV so readers can see how different the two are.
    """

    label: str
    average_revenue_per_period: float
    retention_per_period: float
    expected_lifespan_periods: float
    value_per_customer: float
    period_weeks: float
    horizon_weeks: float


def naive_clv_baseline(
    summary: pd.DataFrame, *, period_weeks: float = 4.0, horizon_weeks: float = 52.0, unit: str | None = None
) -> NaiveClvBaseline:
    """The naive baseline, from the calibration summary.

    average revenue per period = repeat revenue in calibration (``x * monetary`` summed; first purchases are
    acquisition, not lifetime value) / customer-periods observed; retention per period = share of customers who bought again in calibration, spread over the
    mean observed length in periods (``retention = repeaters_share ** (1 / mean periods)``); expected lifespan =
    ``1 / (1 - retention)`` periods, capped at the horizon. Value = revenue x lifespan x retention.
    """
    validate_summary(summary)
    resolved = resolve_unit(None, summary, unit)
    if resolved is None:
        raise LtvlabError(
            "the summary does not record its time unit (summary.attrs['unit'] is missing): pass unit='W' or "
            "unit='D', or build it with ltvlab.features.customer_summary"
        )
    unit_days = UNIT_DAYS[resolved]
    period = 7.0 * period_weeks / unit_days
    t_cal = summary[col.T].to_numpy(float)
    x = summary[col.X].to_numpy(float)
    revenue = float(np.sum(x * summary[col.MONETARY].to_numpy(float)))
    periods_observed = float(np.sum(np.maximum(t_cal, period) / period))
    avg_revenue = revenue / periods_observed
    repeat_share = float(np.mean(x > 0))
    mean_periods = float(np.mean(np.maximum(t_cal, period) / period))
    retention = repeat_share ** (1.0 / mean_periods) if repeat_share > 0 else 0.0
    lifespan = min(1.0 / (1.0 - retention) if retention < 1 else np.inf, horizon_weeks / period_weeks)
    return NaiveClvBaseline(
        label="BASELINE (naive): average revenue x expected lifespan x retention, not a model estimate",
        average_revenue_per_period=avg_revenue,
        retention_per_period=retention,
        expected_lifespan_periods=float(lifespan),
        value_per_customer=float(avg_revenue * lifespan * retention),
        period_weeks=float(period_weeks),
        horizon_weeks=float(horizon_weeks),
    )
