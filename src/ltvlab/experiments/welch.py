"""Welch's unequal-variance comparison of two means, with a delta-method interval for the relative lift."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ltvlab.experiments.results import EffectEstimate
from ltvlab.experiments.stats import MeanStats


@dataclass(frozen=True, slots=True)
class WelchArrays:
    """Vectorised Welch results (one element per comparison)."""

    estimate: np.ndarray
    std_error: np.ndarray
    dof: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray


def welch_from_moments(
    n_arm: np.ndarray,
    mean_arm: np.ndarray,
    var_arm: np.ndarray,
    n_control: np.ndarray,
    mean_control: np.ndarray,
    var_control: np.ndarray,
    *,
    alpha: float = 0.05,
) -> WelchArrays:
    """Welch t-test of ``mean_arm - mean_control`` on arrays of moments (sample variances, ddof = 1).

    Degrees of freedom by Welch–Satterthwaite. Where the standard error is zero the p-value is NaN.
    """
    n_a, n_c = np.asarray(n_arm, dtype=float), np.asarray(n_control, dtype=float)
    v_a, v_c = np.asarray(var_arm, dtype=float) / n_a, np.asarray(var_control, dtype=float) / n_c
    estimate = np.asarray(mean_arm, dtype=float) - np.asarray(mean_control, dtype=float)
    se = np.sqrt(v_a + v_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = (v_a + v_c) ** 2 / (v_a**2 / (n_a - 1) + v_c**2 / (n_c - 1))
        t_stat = estimate / se
        p_value = np.where(se > 0, 2 * stats.t.sf(np.abs(t_stat), dof), np.nan)
        q = np.where(se > 0, stats.t.ppf(1 - alpha / 2, dof), 0.0)
    half = q * np.where(se > 0, se, 0.0)
    return WelchArrays(estimate, se, dof, estimate - half, estimate + half, p_value)


def relative_lift_interval(
    mean_arm: float, se_arm: float, mean_control: float, se_control: float, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """``mean_arm / mean_control - 1`` with a delta-method normal interval (independent arms)."""
    if mean_control == 0 or not np.isfinite(mean_control):
        return float("nan"), float("nan"), float("nan")
    ratio = mean_arm / mean_control
    se = (
        abs(ratio) * np.sqrt((se_arm / mean_arm) ** 2 + (se_control / mean_control) ** 2)
        if mean_arm
        else (se_arm / abs(mean_control))
    )
    z = stats.norm.ppf(1 - alpha / 2)
    return ratio - 1, ratio - 1 - z * se, ratio - 1 + z * se


def welch_test(
    arm: MeanStats,
    control: MeanStats,
    *,
    metric: str = "metric",
    arm_name: str = "arm",
    control_name: str = "control",
    alpha: float = 0.05,
    note: str = "",
) -> EffectEstimate:
    """Welch difference in means ``arm - control`` with its ``1 - alpha`` interval and two-sided p-value.

    Degenerate data gives a result with ``warnings`` rather than an exception: an empty arm gives NaN,
    zero variance in both groups gives the exact difference with a zero-width interval and NaN p-value.
    """
    warnings: list[str] = []
    if arm.n == 0 or control.n == 0:
        warnings.append("empty_arm" if arm.n == 0 else "empty_control")
        nan = float("nan")
        return EffectEstimate(
            metric, arm_name, control_name, nan, nan, nan, nan, "welch", alpha, arm.n, control.n,
            arm.mean, control.mean, nan, note=note, warnings=tuple(warnings),
        )  # fmt: skip
    if arm.variance == 0 and control.variance == 0:
        warnings.append("zero_variance")
        if arm.mean == control.mean:
            warnings.append("constant_outcome")
    elif arm.variance == 0 or control.variance == 0:
        warnings.append("zero_variance_arm" if arm.variance == 0 else "zero_variance_control")
    result = welch_from_moments(
        arm.n, arm.mean, arm.variance, control.n, control.mean, control.variance, alpha=alpha
    )
    rel, rel_low, rel_high = relative_lift_interval(
        arm.mean, arm.mean_se, control.mean, control.mean_se, alpha=alpha
    )
    if control.mean == 0:
        warnings.append("zero_control_mean")
    return EffectEstimate(
        metric=metric,
        arm=arm_name,
        control=control_name,
        estimate=float(result.estimate),
        ci_low=float(result.ci_low),
        ci_high=float(result.ci_high),
        p_value=float(result.p_value),
        method="welch",
        alpha=alpha,
        n_arm=arm.n,
        n_control=control.n,
        mean_arm=arm.mean,
        mean_control=control.mean,
        std_error=float(result.std_error),
        relative_lift=rel,
        relative_ci_low=rel_low,
        relative_ci_high=rel_high,
        note=note,
        warnings=tuple(warnings),
    )
