"""Ratios over a zero denominator are undefined: null plus a warning, never a huge number."""

from __future__ import annotations

import numpy as np

from ltvlab.experiments.bayesian import beta_binomial_effect
from ltvlab.experiments.cuped import regression_adjusted_effect
from ltvlab.experiments.stats import MeanStats


def _data(seed: int = 1, n: int = 400):
    rng = np.random.default_rng(seed)
    y_arm = (rng.random(n) < 0.1).astype(float)
    y_control = np.zeros(n)  # zero conversions in the control
    return y_arm, y_control, rng.integers(1, 50, n).astype(float), rng.integers(1, 50, n).astype(float)


def test_cuped_relative_lift_with_a_zero_control_is_null_and_flagged() -> None:
    # before: relative_lift = -7.1e14 (a regression intercept of 1e-16 as the denominator)
    y_arm, y_control, x_arm, x_control = _data()
    result = regression_adjusted_effect(y_arm, x_arm, y_control, x_control)
    assert np.isnan(result.relative_lift) and np.isnan(result.relative_ci_low)
    assert "zero_control_mean" in result.warnings
    assert result.estimate > 0  # the absolute lift is still reported


def test_bayesian_relative_lift_with_no_control_successes_is_null_and_flagged() -> None:
    arm = MeanStats.from_values(np.r_[np.ones(40), np.zeros(360)])
    control = MeanStats.from_values(np.zeros(400))
    result = beta_binomial_effect(arm, control, seed=3)
    assert np.isnan(result.relative_lift_mean)
    assert "zero_control_mean" in result.warnings
    assert result.prob_better > 0.99
