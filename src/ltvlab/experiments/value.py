"""From a lift in spend to money: incremental value per contacted customer, net of contact cost, and ROI."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ltvlab.errors import LtvlabError
from ltvlab.experiments.results import EffectEstimate, results_frame


@dataclass(frozen=True, slots=True)
class ValueEstimate:
    """Money per contacted customer. Intervals are the effect's interval mapped through the (linear)
    value formulas, so they keep its coverage; ``prob_profitable`` uses the normal approximation."""

    metric: str
    arm: str
    margin_rate: float
    contact_cost_per_customer: float
    incremental_value_per_customer: float
    value_ci_low: float
    value_ci_high: float
    net_value_per_customer: float
    net_ci_low: float
    net_ci_high: float
    roi: float
    roi_ci_low: float
    roi_ci_high: float
    prob_profitable: float
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        return results_frame([self])


def incremental_value(
    effect: EffectEstimate,
    *,
    contact_cost_per_customer: float,
    margin_rate: float = 1.0,
) -> ValueEstimate:
    """Turn an absolute lift in spend per customer into incremental margin, net value and ROI.

    ``margin_rate`` is the share of revenue kept as margin (1.0 = count revenue); ROI is
    ``(margin_rate * lift - cost) / cost`` per unit of contact cost.
    """
    if contact_cost_per_customer <= 0:
        raise LtvlabError("contact_cost_per_customer must be positive to compute an ROI")
    if not 0 < margin_rate <= 1:
        raise LtvlabError(f"margin_rate must be in (0, 1], got {margin_rate}")
    value = margin_rate * np.array([effect.estimate, effect.ci_low, effect.ci_high])
    net = value - contact_cost_per_customer
    roi = net / contact_cost_per_customer
    se = margin_rate * effect.std_error
    prob = (
        float(stats.norm.sf(contact_cost_per_customer, loc=value[0], scale=se))
        if se > 0
        else float(net[0] > 0)
    )
    return ValueEstimate(
        metric=effect.metric,
        arm=effect.arm,
        margin_rate=margin_rate,
        contact_cost_per_customer=contact_cost_per_customer,
        incremental_value_per_customer=float(value[0]),
        value_ci_low=float(value[1]),
        value_ci_high=float(value[2]),
        net_value_per_customer=float(net[0]),
        net_ci_low=float(net[1]),
        net_ci_high=float(net[2]),
        roi=float(roi[0]),
        roi_ci_low=float(roi[1]),
        roi_ci_high=float(roi[2]),
        prob_profitable=prob,
        alpha=effect.alpha,
    )
