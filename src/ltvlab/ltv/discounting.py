"""Discounting and horizons of lifetime-value computations, in the summary's time unit.

CLV of a customer over ``K`` future periods of length ``P`` (in the summary's time unit)::

    CLV = sum_{k=1..K} (E[N(k P)] - E[N((k-1) P)]) * E[spend] / (1 + d_P)^k

with ``d_P = (1 + annual_discount_rate)^(P days / 365.25) - 1`` the discount rate of one period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ltvlab.errors import LtvlabError

__all__ = [
    "DAYS_PER_YEAR",
    "UNIT_DAYS",
    "ClvHorizon",
    "clv_horizon",
    "discounted_purchases",
    "period_discount_rate",
]

UNIT_DAYS: dict[str, int] = {"D": 1, "W": 7}
DAYS_PER_YEAR = 365.25


def period_discount_rate(annual_discount_rate: float, period_days: float) -> float:
    """Discount rate of one period of ``period_days`` days, compounding ``annual_discount_rate`` yearly."""
    if not np.isfinite(annual_discount_rate) or annual_discount_rate <= -1:
        raise LtvlabError(
            f"annual_discount_rate={annual_discount_rate!r} must be a finite number > -1 (0.10 = 10%)"
        )
    if period_days <= 0:
        raise LtvlabError(f"the period length must be positive, got {period_days} days")
    return float((1.0 + annual_discount_rate) ** (period_days / DAYS_PER_YEAR) - 1.0)


@dataclass(frozen=True, slots=True)
class ClvHorizon:
    """Horizon, period and discounting of a CLV computation, in the summary's time unit.

    Built by :func:`clv_horizon` from week-denominated inputs; ``period_length`` and ``horizon`` are in ``unit``.
    """

    unit: str
    horizon_weeks: float
    period_weeks: float
    annual_discount_rate: float
    n_periods: int
    period_length: float
    period_rate: float

    @property
    def horizon(self) -> float:
        return self.n_periods * self.period_length


def clv_horizon(
    *, unit: str, horizon_weeks: float = 52.0, period_weeks: float = 4.0, annual_discount_rate: float = 0.10
) -> ClvHorizon:
    """Validate a horizon/period/discount choice and express it in the summary's unit (``"W"`` or ``"D"``)."""
    if unit not in UNIT_DAYS:
        raise LtvlabError(
            f"summary unit {unit!r} is not supported; summaries are in 'W' (weeks) or 'D' (days)"
        )
    if not (horizon_weeks > 0 and period_weeks > 0):
        raise LtvlabError(
            f"horizon_weeks={horizon_weeks} and period_weeks={period_weeks} must both be positive"
        )
    ratio = horizon_weeks / period_weeks
    n_periods = round(ratio)
    if n_periods < 1 or abs(ratio - n_periods) > 1e-9:
        raise LtvlabError(
            f"horizon_weeks={horizon_weeks} is not a whole number of periods of period_weeks={period_weeks}; "
            "choose a period that divides the horizon"
        )
    period_days = 7.0 * period_weeks
    return ClvHorizon(
        unit=unit,
        horizon_weeks=float(horizon_weeks),
        period_weeks=float(period_weeks),
        annual_discount_rate=float(annual_discount_rate),
        n_periods=n_periods,
        period_length=period_days / UNIT_DAYS[unit],
        period_rate=period_discount_rate(annual_discount_rate, period_days),
    )


def discounted_purchases(
    cumulative_purchases: Callable[[float], np.ndarray],
    *,
    period_length: float,
    n_periods: int,
    period_rate: float,
) -> np.ndarray:
    """``sum_k (E[N(kP)] - E[N((k-1)P)]) / (1 + d)^k`` for any cumulative expected-purchases function.

    ``cumulative_purchases(t)`` returns ``E[N(t)]`` (an array, e.g. draws x customers) with ``E[N(0)] = 0``.
    Multiply by the expected spend to get the discounted CLV.
    """
    total: np.ndarray | float = 0.0
    previous: np.ndarray | float = 0.0
    for k in range(1, n_periods + 1):
        current = cumulative_purchases(k * period_length)
        total = total + (current - previous) / (1.0 + period_rate) ** k
        previous = current
    return np.asarray(total, dtype=float)
