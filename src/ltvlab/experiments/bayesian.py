"""Bayesian comparison of two arms: Beta-Binomial for proportions, Student-t posterior for means.

Both models are conjugate, so the posterior of each arm's mean is sampled directly; the lift posterior
is the difference of independent draws. Reported: posterior mean and equal-tailed credible interval of
the lift, P(arm better), expected loss of shipping the arm, and the mass inside a region of practical
equivalence (ROPE) around zero.
"""

from __future__ import annotations

import numpy as np

from ltvlab.errors import LtvlabError
from ltvlab.experiments.results import BayesianEffect
from ltvlab.experiments.stats import MeanStats


def _summarise(
    arm_draws: np.ndarray,
    control_draws: np.ndarray,
    *,
    metric: str,
    arm_name: str,
    control_name: str,
    model: str,
    rope: float,
    credible_mass: float,
    seed: int,
    warnings: tuple[str, ...],
    control_mean: float,
) -> BayesianEffect:
    lift = arm_draws - control_draws
    tail = (1 - credible_mass) / 2
    low, high = np.quantile(lift, [tail, 1 - tail])
    relative = float("nan")
    if control_mean == 0:
        # a relative lift over a zero control mean is undefined (the posterior of 1/p has no mean)
        warnings = (*warnings, "zero_control_mean")
    elif np.all(control_draws > 0) or np.all(control_draws < 0):
        relative = np.mean(lift / control_draws)
    else:
        warnings = (*warnings, "control_mean_crosses_zero")
    degenerate = bool(np.ptp(lift) == 0)
    if degenerate:
        warnings = (*warnings, "degenerate_posterior")
    return BayesianEffect(
        metric=metric,
        arm=arm_name,
        control=control_name,
        model=model,  # type: ignore[arg-type]
        lift_mean=float(lift.mean()),
        lift_ci_low=float(low),
        lift_ci_high=float(high),
        relative_lift_mean=float(relative),
        prob_better=float("nan") if degenerate else float(np.mean(lift > 0)),
        expected_loss=float(np.mean(np.maximum(-lift, 0.0))),
        rope=float(rope),
        prob_in_rope=float(np.mean(np.abs(lift) < rope)),
        credible_mass=credible_mass,
        draws=int(lift.size),
        seed=seed,
        warnings=warnings,
        lift_draws=lift,
    )


def beta_binomial_effect(
    arm: MeanStats,
    control: MeanStats,
    *,
    metric: str = "metric",
    arm_name: str = "arm",
    control_name: str = "control",
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    rope: float = 0.0,
    credible_mass: float = 0.95,
    draws: int = 40_000,
    seed: int = 0,
) -> BayesianEffect:
    """Posterior of ``p_arm - p_control`` under independent Beta(prior_alpha, prior_beta) priors.

    ``arm.total`` and ``control.total`` are success counts (the metric is 0/1).
    """
    for stats_ in (arm, control):
        if not 0 <= stats_.total <= stats_.n:
            raise LtvlabError(f"metric {metric!r}: successes must lie between 0 and n for a proportion")
    rng = np.random.default_rng(seed)
    warnings = ("empty_arm",) if arm.n == 0 or control.n == 0 else ()
    arm_draws = rng.beta(prior_alpha + arm.total, prior_beta + arm.n - arm.total, size=draws)
    control_draws = rng.beta(prior_alpha + control.total, prior_beta + control.n - control.total, size=draws)
    return _summarise(
        arm_draws,
        control_draws,
        metric=metric,
        arm_name=arm_name,
        control_name=control_name,
        model="beta-binomial",
        rope=rope,
        credible_mass=credible_mass,
        seed=seed,
        warnings=warnings,
        control_mean=control.mean if control.n else float("nan"),
    )


def student_t_effect(
    arm: MeanStats,
    control: MeanStats,
    *,
    metric: str = "metric",
    arm_name: str = "arm",
    control_name: str = "control",
    rope: float = 0.0,
    credible_mass: float = 0.95,
    draws: int = 40_000,
    seed: int = 0,
) -> BayesianEffect:
    """Posterior of ``mean_arm - mean_control`` under the non-informative prior p(mu, sigma) ∝ 1/sigma.

    Each mean's marginal posterior is ``xbar + s / sqrt(n) * t_(n-1)`` (Gelman et al., BDA3 §3.2).
    Arms with fewer than two units or zero variance get a point-mass posterior and a warning.
    """
    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    sampled = []
    for stats_ in (arm, control):
        if stats_.n < 2:
            warnings.append("empty_arm" if stats_.n == 0 else "too_few_units")
            sampled.append(np.full(draws, stats_.mean))
            continue
        if stats_.variance == 0:
            warnings.append("zero_variance")
        sampled.append(stats_.mean + stats_.mean_se * rng.standard_t(stats_.n - 1, size=draws))
    return _summarise(
        sampled[0],
        sampled[1],
        metric=metric,
        arm_name=arm_name,
        control_name=control_name,
        model="student-t",
        rope=rope,
        credible_mass=credible_mass,
        seed=seed,
        warnings=tuple(dict.fromkeys(warnings)),
        control_mean=control.mean if control.n else float("nan"),
    )
