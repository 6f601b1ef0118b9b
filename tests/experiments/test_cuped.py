"""CUPED / regression adjustment on synthetic data with known pre/post correlation rho."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.experiments import MeanStats, cuped_adjust, regression_adjusted_effect, welch_test

RHO = 0.7
EFFECT = 0.1
N_PER_ARM = 1000
REPLICATES = 400


@pytest.fixture(scope="module")
def replicates() -> dict[str, np.ndarray]:
    """REPLICATES experiments: x ~ N(0, 1) pre-period, y = rho x + sqrt(1 - rho^2) e + effect * treated."""
    rng = np.random.default_rng(11)
    raw, adjusted, raw_se, adj_se, covered = [], [], [], [], []
    for _ in range(REPLICATES):
        x = rng.normal(size=(2, N_PER_ARM))
        y = RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=(2, N_PER_ARM))
        y[0] += EFFECT
        welch = welch_test(MeanStats.from_values(y[0]), MeanStats.from_values(y[1]))
        lin = regression_adjusted_effect(y[0], x[0], y[1], x[1])
        raw.append(welch.estimate)
        raw_se.append(welch.std_error)
        adjusted.append(lin.estimate)
        adj_se.append(lin.std_error)
        covered.append(lin.ci_low <= EFFECT <= lin.ci_high)
    return {
        k: np.array(v)
        for k, v in dict(raw=raw, adjusted=adjusted, raw_se=raw_se, adj_se=adj_se, covered=covered).items()
    }


def test_variance_falls_by_rho_squared(replicates) -> None:
    ratio = replicates["adjusted"].var(ddof=1) / replicates["raw"].var(ddof=1)
    # Var(adjusted) / Var(raw) = 1 - rho^2 = 0.51. The raw estimate = adjusted + an independent term, so the
    # ratio of sample variances has delta-method SE r (1 - r) * 2 / sqrt(R - 1) = 0.025 at R = 400; 3 SE.
    expected = 1 - RHO**2
    mc_se = expected * (1 - expected) * 2 / np.sqrt(REPLICATES - 1)
    print(f"CUPED variance ratio {ratio:.3f} (expected {expected:.3f} +- {3 * mc_se:.3f})")
    assert ratio == pytest.approx(expected, abs=3 * mc_se)
    # The reported standard errors shrink by sqrt(1 - rho^2) too (their MC spread is tiny: 1%).
    se_ratio = np.mean(replicates["adj_se"] / replicates["raw_se"])
    assert se_ratio == pytest.approx(np.sqrt(expected), rel=0.02)


def test_adjusted_estimate_is_unbiased_and_covers(replicates) -> None:
    estimates = replicates["adjusted"]
    mc_se = estimates.std(ddof=1) / np.sqrt(REPLICATES)
    assert estimates.mean() == pytest.approx(EFFECT, abs=3 * mc_se)
    coverage = replicates["covered"].mean()
    # 95% nominal; binomial MC SE sqrt(.95 * .05 / 400) = 0.011; 3 SE.
    assert abs(coverage - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / REPLICATES)


def test_classic_cuped_transform_removes_the_covariate_share() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=200_000)
    y = RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=x.size)
    adjusted = cuped_adjust(y, x)
    # Var(y - theta x) / Var(y) = 1 - rho^2; with 200,000 points the sampling error is ~0.3%.
    assert adjusted.var() / y.var() == pytest.approx(1 - RHO**2, rel=0.02)
    assert adjusted.mean() == pytest.approx(y.mean(), abs=1e-12)


def test_regression_adjustment_matches_statsmodels_hc2() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(9)
    x = rng.normal(size=(2, 300, 2))
    y = x @ np.array([0.5, -0.3]) + rng.normal(size=(2, 300)) * np.array([[1.5], [1.0]])
    y[0] += 0.2
    ours = regression_adjusted_effect(y[0], x[0], y[1], x[1])
    xs = np.vstack([x[0], x[1]])
    xs = xs - xs.mean(axis=0)
    t = np.r_[np.ones(300), np.zeros(300)]
    design = sm.add_constant(np.column_stack([t, xs, t[:, None] * xs]))
    fit = sm.OLS(np.r_[y[0], y[1]], design).fit(cov_type="HC2")
    assert ours.estimate == pytest.approx(fit.params[1], rel=1e-10)
    assert ours.std_error == pytest.approx(fit.bse[1], rel=1e-8)
