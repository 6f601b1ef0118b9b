"""E-values (VanderWeele & Ding 2017): how strong an unmeasured confounder would have to be to erase an effect.

The E-value is the minimum strength of association, on the risk-ratio scale, that an unmeasured confounder
would need with both the treatment and the outcome (conditional on the measured covariates) to explain away
the observed risk ratio: ``E = RR + sqrt(RR * (RR - 1))`` for ``RR >= 1`` (use ``1 / RR`` below 1). The
E-value of the confidence limit nearer the null says how strong it must be to move the interval to include 1.

Continuous outcomes use the approximation ``RR ~ exp(0.91 * d)`` with ``d`` the effect in outcome standard
deviations (VanderWeele & Ding 2017, section 5; Chinn 2000).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ltvlab.causal.results import CausalEstimate
from ltvlab.errors import LtvlabError


@dataclass(frozen=True, slots=True)
class EValue:
    """E-values of a point estimate and of its confidence limit nearer the null."""

    scale: Literal["risk_ratio", "smd_approx"]
    risk_ratio: float
    rr_ci_low: float
    rr_ci_high: float
    e_value: float
    e_value_ci: float
    interpretation: str


def e_value_of_ratio(risk_ratio: float) -> float:
    """``RR + sqrt(RR (RR - 1))`` after flipping protective ratios (``RR < 1``) to ``1 / RR``."""
    if not np.isfinite(risk_ratio) or risk_ratio <= 0:
        raise LtvlabError(f"risk ratio must be positive and finite; got {risk_ratio}")
    rr = risk_ratio if risk_ratio >= 1 else 1 / risk_ratio
    return float(rr + np.sqrt(rr * (rr - 1)))


def e_value(
    risk_ratio: float,
    ci_low: float,
    ci_high: float,
    *,
    scale: Literal["risk_ratio", "smd_approx"] = "risk_ratio",
) -> EValue:
    """E-values of ``risk_ratio`` and of the limit of ``[ci_low, ci_high]`` nearer 1 (1 if it includes 1)."""
    if not ci_low <= risk_ratio <= ci_high:
        raise LtvlabError(f"the interval [{ci_low}, {ci_high}] must contain the estimate {risk_ratio}")
    point = e_value_of_ratio(risk_ratio)
    if ci_low <= 1 <= ci_high:
        limit = 1.0
    else:
        limit = e_value_of_ratio(ci_low if risk_ratio > 1 else ci_high)
    text = (
        f"To explain away the estimate, an unmeasured confounder would need a risk ratio of at least {point:.2f} "
        f"with both the treatment and the outcome, beyond the measured covariates; "
        + (
            "the confidence interval already includes no effect."
            if limit == 1.0
            else f"to move the confidence interval to include no effect, at least {limit:.2f}."
        )
    )
    return EValue(
        scale=scale,
        risk_ratio=float(risk_ratio),
        rr_ci_low=float(ci_low),
        rr_ci_high=float(ci_high),
        e_value=point,
        e_value_ci=limit,
        interpretation=text,
    )


def e_value_of_estimate(result: CausalEstimate) -> EValue:
    """E-value of a weighting estimate.

    Binary outcomes: ``RR = mean_treated / mean_control``, the interval mapped from the difference holding
    ``mean_control`` fixed. Other outcomes: ``RR ~ exp(0.91 * estimate / outcome_sd)``.
    """
    if result.outcome_is_binary:
        base = result.mean_control
        if not base > 0:
            raise LtvlabError("the control-group rate is 0: a risk ratio (and its E-value) is undefined")
        rr = result.mean_treated / base
        low = max((base + result.ci_low) / base, 1e-12)
        high = max((base + result.ci_high) / base, 1e-12)
        return e_value(rr, low, high, scale="risk_ratio")
    if not result.outcome_sd > 0:
        raise LtvlabError("the outcome has zero standard deviation: no E-value")
    scale = 0.91 / result.outcome_sd
    return e_value(
        float(np.exp(scale * result.estimate)),
        float(np.exp(scale * result.ci_low)),
        float(np.exp(scale * result.ci_high)),
        scale="smd_approx",
    )
