"""Bayesian summaries checked against numerical integration of the exact posteriors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from ltvlab.experiments import MeanStats, beta_binomial_effect, student_t_effect, welch_test

DRAWS = 40_000


def _posteriors(arm: MeanStats, control: MeanStats):
    return stats.beta(1 + arm.total, 1 + arm.n - arm.total), stats.beta(
        1 + control.total, 1 + control.n - control.total
    )


@pytest.mark.parametrize(("arm_successes", "control_successes"), [(30, 22), (22, 22), (5, 9)])
def test_beta_binomial_against_quadrature(arm_successes: int, control_successes: int) -> None:
    arm, control = (
        MeanStats(200, arm_successes, arm_successes),
        MeanStats(200, control_successes, control_successes),
    )
    result = beta_binomial_effect(arm, control, draws=DRAWS, seed=1, rope=0.01)
    post_a, post_c = _posteriors(arm, control)
    # P(p_arm > p_control) = integral of f_c(x) (1 - F_a(x)) dx.
    prob = integrate.quad(lambda x: post_c.pdf(x) * post_a.sf(x), 0, 1, limit=200)[0]
    # Expected loss E[(p_c - p_a)+] = integral of f_c(x) E[(x - p_a)+] dx, where
    # E[(x - p_a)+] = x F_a(x) - E[p_a] F_{a+1,b}(x) (closed form for a Beta).
    a_a, b_a = post_a.args
    shifted = stats.beta(a_a + 1, b_a)
    loss = integrate.quad(
        lambda x: post_c.pdf(x) * (x * post_a.cdf(x) - post_a.mean() * shifted.cdf(x)), 0, 1, limit=200
    )[0]
    lift_mean = post_a.mean() - post_c.mean()
    # Monte Carlo SEs of the draw-based estimates, 4 SE tolerance.
    se_prob = np.sqrt(prob * (1 - prob) / DRAWS)
    se_loss = np.std(np.maximum(-result.lift_draws, 0)) / np.sqrt(DRAWS)
    se_mean = np.std(result.lift_draws) / np.sqrt(DRAWS)
    assert result.prob_better == pytest.approx(prob, abs=4 * se_prob)
    assert result.expected_loss == pytest.approx(loss, abs=4 * se_loss)
    assert result.lift_mean == pytest.approx(lift_mean, abs=4 * se_mean)
    assert result.lift_ci_low < lift_mean < result.lift_ci_high
    assert 0 <= result.prob_in_rope <= 1


def test_student_t_matches_normal_approximation_for_large_samples() -> None:
    rng = np.random.default_rng(3)
    a, c = rng.gamma(2.0, 2.0, size=800) + 0.15, rng.gamma(2.0, 2.0, size=800)
    arm, control = MeanStats.from_values(a), MeanStats.from_values(c)
    result = student_t_effect(arm, control, draws=DRAWS, seed=2, rope=0.1)
    welch = welch_test(arm, control)
    # With n - 1 = 799 degrees of freedom the t posterior is normal to ~1e-3; MC SE of a probability <= 0.0025.
    prob = stats.norm.cdf(welch.estimate / welch.std_error)
    assert result.prob_better == pytest.approx(prob, abs=4 * 0.0025 + 1e-3)
    in_rope = stats.norm.cdf(0.1, welch.estimate, welch.std_error) - stats.norm.cdf(
        -0.1, welch.estimate, welch.std_error
    )
    assert result.prob_in_rope == pytest.approx(in_rope, abs=4 * 0.0025 + 1e-3)
    # Credible interval ~ Welch confidence interval (flat prior); MC error of a 2.5% quantile ~ 1% of the SE.
    assert result.lift_ci_low == pytest.approx(welch.ci_low, abs=0.05 * welch.std_error)
    assert result.lift_ci_high == pytest.approx(welch.ci_high, abs=0.05 * welch.std_error)


def test_seed_reproduces_and_degenerate_posterior_is_flagged() -> None:
    arm, control = MeanStats(100, 12, 12), MeanStats(100, 10, 10)
    assert beta_binomial_effect(arm, control, seed=5) == beta_binomial_effect(arm, control, seed=5)
    constant = student_t_effect(MeanStats(10, 20.0, 40.0), MeanStats(10, 20.0, 40.0))
    assert "degenerate_posterior" in constant.warnings
    assert np.isnan(constant.prob_better)
