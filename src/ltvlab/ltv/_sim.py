"""Small helpers shared by the models' predictive simulators and holdout distributions."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from ltvlab.errors import LtvlabError

MIN_PROBABILITY = 1e-12  # floor on a Beta draw of p: Beta(a, .) with small a can underflow to 0


def repeat_draws(values: np.ndarray, sims: int) -> np.ndarray:
    """Each row (posterior draw) repeated for its ``sims`` consecutive samples."""
    return values if sims == 1 else np.repeat(values, sims, axis=0)


def check_finite(values: np.ndarray, what: str, x, t_x, T) -> None:
    """Raise :class:`LtvlabError` naming the first customer summary whose ``values`` are not finite."""
    if np.isfinite(values).all():
        return
    bad = int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])
    where = f"x={x[bad]:g}" + ("" if t_x is None else f", t_x={t_x[bad]:g}, T={T[bad]:g}")
    raise LtvlabError(f"{what} is not finite for the summary {where} (check the fitted parameters)")


def nb_log_coefficient(k: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """``log Gamma(k + shape) - log Gamma(shape) - log k!``, the part of :func:`nb_pmf` that does not depend on
    ``t`` (computed once where one ``k, shape`` is evaluated at many ``t``)."""
    return special.gammaln(k + shape) - special.gammaln(shape) - special.gammaln(k + 1.0)


def nb_pmf(
    k: np.ndarray,
    shape: np.ndarray,
    rate: np.ndarray,
    t: np.ndarray | float,
    log_coefficient: np.ndarray | None = None,
) -> np.ndarray:
    """P(N = k) for N ~ Poisson(lambda t), lambda ~ Gamma(shape, rate): a negative binomial,
    ``C(k, shape) (rate / (rate + t))^shape (t / (rate + t))^k`` (1 at ``k = 0, t = 0``)."""
    if log_coefficient is None:
        log_coefficient = nb_log_coefficient(k, shape)
    log_total = np.log(rate + t)
    log_p = shape * (np.log(rate) - log_total) + special.xlogy(k, t) - k * log_total
    return np.exp(log_coefficient + log_p)


def nb_sf(k: np.ndarray, shape: np.ndarray, rate: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """P(N > k) for the same negative binomial."""
    return stats.nbinom.sf(k, shape, rate / (rate + t))
