"""Ratio metrics (spend per visit, average order value) compared between arms by the delta method."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ltvlab.experiments.results import EffectEstimate
from ltvlab.experiments.stats import RatioStats


def ratio_test(
    arm: RatioStats,
    control: RatioStats,
    *,
    metric: str = "ratio",
    arm_name: str = "arm",
    control_name: str = "control",
    alpha: float = 0.05,
) -> EffectEstimate:
    """Difference of two ratios of sums, ``R_arm - R_control``, with a delta-method normal interval.

    The randomisation unit is the row (customer); the numerator and denominator of each unit are paired,
    so their covariance enters the variance (Deng, Knoblich & Lu 2018).
    """
    warnings: list[str] = []
    if arm.den_total == 0 or control.den_total == 0:
        warnings.append("zero_denominator")
    var = arm.ratio_variance + control.ratio_variance
    se = float(np.sqrt(var)) if np.isfinite(var) else float("nan")
    estimate = arm.ratio - control.ratio
    z = float(stats.norm.ppf(1 - alpha / 2))
    if se == 0:
        warnings.append("zero_variance")
    p_value = float(2 * stats.norm.sf(abs(estimate) / se)) if se and np.isfinite(se) else float("nan")
    relative = arm.ratio / control.ratio - 1 if control.ratio else float("nan")
    rel_se = (
        abs(arm.ratio / control.ratio)
        * np.sqrt(arm.ratio_variance / arm.ratio**2 + control.ratio_variance / control.ratio**2)
        if arm.ratio and control.ratio
        else float("nan")
    )
    return EffectEstimate(
        metric=metric,
        arm=arm_name,
        control=control_name,
        estimate=float(estimate),
        ci_low=float(estimate - z * se),
        ci_high=float(estimate + z * se),
        p_value=p_value,
        method="delta",
        alpha=alpha,
        n_arm=arm.n,
        n_control=control.n,
        mean_arm=arm.ratio,
        mean_control=control.ratio,
        std_error=se,
        relative_lift=float(relative),
        relative_ci_low=float(relative - z * rel_se),
        relative_ci_high=float(relative + z * rel_se),
        warnings=tuple(warnings),
    )
