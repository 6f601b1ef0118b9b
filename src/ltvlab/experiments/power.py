"""Power, minimum detectable effect and sample size for a two-arm comparison of means (normal approximation)."""

from __future__ import annotations

import math

from scipy import stats

from ltvlab.errors import LtvlabError


def _check(alpha: float, power: float | None = None) -> None:
    if not 0 < alpha < 1:
        raise LtvlabError(f"alpha must be in (0, 1), got {alpha}")
    if power is not None and not 0 < power < 1:
        raise LtvlabError(f"power must be in (0, 1), got {power}")


def proportion_sd(baseline_rate: float) -> float:
    """Standard deviation of a 0/1 outcome with the given rate."""
    if not 0 < baseline_rate < 1:
        raise LtvlabError(f"baseline_rate must be in (0, 1), got {baseline_rate}")
    return math.sqrt(baseline_rate * (1 - baseline_rate))


def power(*, effect: float, sd: float, n_control: int, ratio: float = 1.0, alpha: float = 0.05) -> float:
    """Power of the two-sided z-test for an absolute ``effect`` with outcome ``sd``; ``n_arm = ratio * n_control``."""
    _check(alpha)
    se = sd * math.sqrt(1 / n_control + 1 / (ratio * n_control))
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(effect) / se
    return float(stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift))


def minimum_detectable_effect(
    *, sd: float, n_control: int, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest absolute effect detected with ``power`` (ignoring the negligible opposite tail)."""
    _check(alpha, power)
    se = sd * math.sqrt(1 / n_control + 1 / (ratio * n_control))
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def sample_size(
    *, effect: float, sd: float, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Units in the control arm (arm gets ``ratio`` times as many) to detect ``effect`` with ``power``."""
    _check(alpha, power)
    if effect == 0:
        raise LtvlabError("effect must be non-zero to size a test")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil((z * sd / effect) ** 2 * (1 + 1 / ratio))
