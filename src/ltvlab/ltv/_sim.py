"""Small helpers shared by the models' predictive simulators and holdout distributions."""

from __future__ import annotations

import numpy as np
from scipy import stats

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


def nb_pmf(k: np.ndarray, shape: np.ndarray, rate: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """P(N = k) for N ~ Poisson(lambda t), lambda ~ Gamma(shape, rate): a negative binomial."""
    return stats.nbinom.pmf(k, shape, rate / (rate + t))


def nb_sf(k: np.ndarray, shape: np.ndarray, rate: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """P(N > k) for the same negative binomial."""
    return stats.nbinom.sf(k, shape, rate / (rate + t))
