"""How centred each segment's parameters are under partial pooling, chosen from the data.

Partial pooling puts ``eta_s ~ Normal(mu, sigma)`` on the log-parameter ``eta_s`` of segment ``s``. The centred form
samples ``eta_s`` itself; the non-centred form samples ``z_s`` with ``eta_s = mu + sigma z_s``. Which one NUTS
samples well depends on how much the segment's own data say about ``eta_s`` compared with the population prior:
with data sd ``d`` (from the likelihood's curvature) and pooling scale ``s``, the posterior of ``eta_s`` given
``mu, sigma`` is nearly independent of ``(mu, sigma)`` in the centred form when ``d << s`` and in the non-centred
form when ``d >> s``; in between, both forms couple them (the funnel). The partially non-centred form
(Papaspiliopoulos, Roberts & Skold 2003; Gorinova, Moore & Hoffman 2020)::

    eta_tilde_s ~ Normal(w mu, sigma**w),     eta_s = mu + sigma**(1 - w) (eta_tilde_s - w mu)

is exactly ``eta_s ~ Normal(mu, sigma)`` for every ``w`` in ``[0, 1]`` (``w = 1`` centred, ``w = 0`` non-centred);
for the normal hierarchy with known variances the posterior of ``eta_tilde`` is independent of ``mu`` at
``w = s**2 / (s**2 + d**2)``, the share of the segment's information that comes from its data.

Here ``d`` of each segment and parameter is the marginal sd of the Laplace approximation to that segment's own
likelihood (at its maximum, with a very weak Normal(prior centre, 10) regulariser so that a segment without repeat
buyers stays finite), and ``s`` the between-segment sd estimated from the segments' maxima (method of moments,
capped at the prior's pooling sd; :func:`population_sd`). Not the segment size: the same 4,000 customers pin
MBG/NBD's ``r`` and ``alpha`` down to a few per cent but leave ``a`` and ``b`` (dropout) loose.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ltvlab.ltv._data import Compressed
from ltvlab.ltv.priors import Priors
from ltvlab.ltv.registry import ModelDef

__all__ = [
    "REGULARISER_SD",
    "centering_weights",
    "population_sd",
    "segment_information_sd",
    "segment_laplace",
]

REGULARISER_SD = 10.0  # sd of the weak Normal around the prior centre that keeps a data-free segment finite
_STEP = 1e-3  # finite-difference step on the log scale


def _segment_objective(kind: ModelDef, data: Compressed, rows: np.ndarray, centres: np.ndarray):
    columns = [np.asarray(data.values[c])[rows] for c in kind.data_columns]
    weight = np.asarray(data.weight)[rows]
    offsets = np.asarray(kind.offsets, dtype=float)

    def negative(eta: np.ndarray) -> float:
        if not np.all(np.isfinite(eta)) or np.any(np.abs(eta) > 50):
            return np.inf
        theta = offsets + np.exp(eta)
        ll = kind.loglik(*columns, *(np.full(len(weight), t) for t in theta))
        total = float(np.dot(weight, ll))
        penalty = 0.5 * float(np.sum(((eta - centres) / REGULARISER_SD) ** 2))
        return -total + penalty if np.isfinite(total) else np.inf

    return negative


def _hessian(f, x: np.ndarray, h: float = _STEP) -> np.ndarray:
    k = x.size
    H = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * h**2
            )
    return H


def segment_laplace(kind: ModelDef, data: Compressed, priors: Priors) -> tuple[np.ndarray, np.ndarray]:
    """``(modes, sds)``, each ``(n_segments, n_params)``: the maximum of each segment's own likelihood in the
    log-parameters and the marginal sds of its Laplace approximation (``REGULARISER_SD`` where the data say
    nothing; the modes are then the prior centres)."""
    centres = np.array([priors.normal[name][0] for name in kind.param_names], dtype=float)
    n_seg = len(data.segments)
    modes = np.tile(centres, (n_seg, 1))
    sds = np.full((n_seg, centres.size), REGULARISER_SD)
    for s in range(n_seg):
        rows = np.flatnonzero(data.segment_code == s)
        if rows.size == 0:
            continue
        f = _segment_objective(kind, data, rows, centres)
        result = optimize.minimize(f, centres, method="Nelder-Mead" if centres.size == 1 else "BFGS")
        if not np.isfinite(result.fun):
            continue
        mode = np.asarray(result.x, dtype=float)
        try:
            cov = np.linalg.inv(_hessian(f, mode))
        except np.linalg.LinAlgError:
            continue
        var = np.diag(cov)
        if np.all(np.isfinite(var)) and np.all(var > 0):
            modes[s] = mode
            sds[s] = np.minimum(np.sqrt(var), REGULARISER_SD)
    return modes, sds


def segment_information_sd(kind: ModelDef, data: Compressed, priors: Priors) -> np.ndarray:
    """``(n_segments, n_params)``: marginal sd of each segment's log-parameters under its own likelihood alone
    (:func:`segment_laplace`)."""
    return segment_laplace(kind, data, priors)[1]


def population_sd(modes: np.ndarray, sds: np.ndarray, pooling_sd: float) -> np.ndarray:
    """Per parameter, the spread ``s`` of the segments' log-parameters the weights compare ``d`` with.

    The method-of-moments estimate ``tau**2 = var(modes) - mean(d**2)`` (floored at 0) of the between-segment
    variance, capped at the pooling sd: segments whose estimates differ by no more than their noise have a
    population sd near 0, where the centred form has a funnel however well each segment is measured (the three
    CDNOW cohorts: 222 divergences centred); segments that differ a lot are bounded by the prior's scale.
    """
    informative = np.all(sds < REGULARISER_SD, axis=1)
    if informative.sum() < 2:
        return np.full(modes.shape[1], pooling_sd)
    m, d = modes[informative], sds[informative]
    tau2 = np.maximum(m.var(axis=0, ddof=1) - np.mean(d**2, axis=0), 0.0)
    return np.minimum(np.sqrt(tau2), pooling_sd)


def centering_weights(kind: ModelDef, data: Compressed, priors: Priors) -> dict[str, np.ndarray]:
    """Per parameter, one weight per segment in ``[0, 1]`` (1 centred, 0 non-centred): ``s**2 / (s**2 + d**2)``
    with ``d`` from :func:`segment_laplace` and ``s`` from :func:`population_sd`."""
    modes, d = segment_laplace(kind, data, priors)
    s2 = population_sd(modes, d, priors.pooling_sd) ** 2
    w = s2 / (s2 + d**2)
    return {name: w[:, k].copy() for k, name in enumerate(kind.param_names)}
