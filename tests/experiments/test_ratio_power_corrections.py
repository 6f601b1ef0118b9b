"""Delta-method ratio metrics, power/MDE/sample size, multiple-testing corrections, value."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from ltvlab.errors import LtvlabError
from ltvlab.experiments import (
    MeanStats,
    RatioStats,
    adjust_p_values,
    benjamini_hochberg,
    holm,
    incremental_value,
    minimum_detectable_effect,
    power,
    ratio_test,
    sample_size,
    welch_test,
)


def test_delta_method_variance_and_coverage_by_simulation() -> None:
    """Spend per visit: units have Poisson visits and gamma spend per visit; the null is true (same law)."""
    rng = np.random.default_rng(8)
    replicates, n = 2000, 400
    estimates, variances, covered = [], [], []
    for _ in range(replicates):
        visits = rng.poisson(2.0, size=(2, n)) + 1
        spend = rng.gamma(visits * 2.0, 5.0)
        arm, control = (
            RatioStats.from_values(spend[0], visits[0]),
            RatioStats.from_values(spend[1], visits[1]),
        )
        result = ratio_test(arm, control)
        estimates.append(result.estimate)
        variances.append(result.std_error**2)
        covered.append(result.ci_low <= 0 <= result.ci_high)
    # Sample variance of R = 2000 estimates has relative SE sqrt(2 / (R - 1)) = 0.032; 3 SE.
    assert np.var(estimates, ddof=1) / np.mean(variances) == pytest.approx(1.0, abs=3 * 0.032)
    assert abs(np.mean(covered) - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / replicates)


def test_ratio_stats_add() -> None:
    rng = np.random.default_rng(1)
    num, den = rng.random(100), rng.random(100) + 1
    whole = RatioStats.from_values(num, den)
    parts = RatioStats.from_values(num[:30], den[:30]) + RatioStats.from_values(num[30:], den[30:])
    assert parts.ratio == pytest.approx(whole.ratio)
    assert parts.ratio_variance == pytest.approx(whole.ratio_variance)


def test_power_functions_agree_with_statsmodels() -> None:
    sd, effect = 0.3, 0.01
    ours = power(effect=effect, sd=sd, n_control=10_000, ratio=1.5)
    theirs = NormalIndPower().power(effect_size=effect / sd, nobs1=10_000, alpha=0.05, ratio=1.5)
    assert ours == pytest.approx(theirs, rel=1e-6)
    n = sample_size(effect=effect, sd=sd, power=0.8)
    exact = NormalIndPower().solve_power(effect_size=effect / sd, alpha=0.05, power=0.8, ratio=1.0)
    # Ours drops the far tail (power contribution < 1e-9 here) and rounds up to whole units.
    assert n == pytest.approx(exact, abs=1.0)
    mde = minimum_detectable_effect(sd=sd, n_control=n)
    assert mde <= effect
    assert power(effect=mde, sd=sd, n_control=n) == pytest.approx(0.8, abs=1e-6)
    with pytest.raises(LtvlabError):
        sample_size(effect=0.0, sd=1.0)


def test_corrections_agree_with_statsmodels() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, size=12)
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])
    assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])
    with_nan = np.r_[p[:3], np.nan]
    adjusted = adjust_p_values(with_nan, "holm")
    assert np.isnan(adjusted[-1]) and np.allclose(adjusted[:3], multipletests(p[:3], method="holm")[1])
    with pytest.raises(LtvlabError, match="unknown correction"):
        adjust_p_values(p, "bonferroni-ish")


def test_incremental_value_maps_the_interval_linearly() -> None:
    rng = np.random.default_rng(2)
    effect = welch_test(
        MeanStats.from_values(rng.gamma(1.0, 2.0, 5000) + 0.3),
        MeanStats.from_values(rng.gamma(1.0, 2.0, 5000)),
    )
    value = incremental_value(effect, contact_cost_per_customer=0.1, margin_rate=0.4)
    assert value.incremental_value_per_customer == pytest.approx(0.4 * effect.estimate)
    assert value.net_ci_low == pytest.approx(0.4 * effect.ci_low - 0.1)
    assert value.roi_ci_high == pytest.approx((0.4 * effect.ci_high - 0.1) / 0.1)
    assert value.roi == pytest.approx(value.net_value_per_customer / 0.1)
    assert 0 <= value.prob_profitable <= 1
    with pytest.raises(LtvlabError):
        incremental_value(effect, contact_cost_per_customer=0.0)
