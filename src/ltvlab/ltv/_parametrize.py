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
_MAX_ETA = 50.0  # log-parameters beyond +-50 are not evaluated (the objective is taken as infinite there)


def _objective(kind: ModelDef, data: Compressed, centres: np.ndarray):
    """``eta (n_segments, n_params) -> (value, gradient)`` of the sum over segments of each segment's negative
    log-likelihood plus its regulariser, compiled once: the segments' problems are independent, so one pass over
    the rows (the model's fused kernel where it has one) evaluates all of them, with the exact gradient."""
    import pytensor
    import pytensor.tensor as pt

    from ltvlab.ltv._build import total_loglik

    eta = pt.dmatrix("eta")
    thetas = [offset + pt.exp(eta[:, j]) for j, offset in enumerate(kind.offsets)]
    total = total_loglik(kind, data, thetas, np.asarray(data.segment_code, dtype=np.int64))
    negative = -total + 0.5 * pt.sum(((eta - centres) / REGULARISER_SD) ** 2)
    fn = pytensor.function([eta], [negative, pt.grad(negative, eta)])
    shape = (len(data.segments), centres.size)

    def value_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        if not np.all(np.isfinite(flat)) or np.any(np.abs(flat) > _MAX_ETA):
            return np.inf, np.zeros_like(flat)
        try:
            value, grad = fn(flat.reshape(shape))
        except ArithmeticError:  # a compiled kernel dividing by zero at extreme parameters
            return np.inf, np.zeros_like(flat)
        value = float(value)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(flat)
        return value, np.asarray(grad, dtype=float).ravel()

    return value_and_gradient


def _hessian_blocks(f, mode: np.ndarray, h: float = _STEP) -> np.ndarray:
    """``(n_segments, n_params, n_params)``: each segment's Hessian at ``mode`` by central differences of the exact
    gradient; the segments are independent, so moving parameter ``j`` of every segment at once gives column ``j``
    of every block (``2 n_params`` gradient evaluations in all)."""
    n_seg, k = mode.shape
    blocks = np.empty((n_seg, k, k))
    for j in range(k):
        step = np.zeros_like(mode)
        step[:, j] = h
        up, down = f((mode + step).ravel())[1], f((mode - step).ravel())[1]
        blocks[:, :, j] = ((up - down) / (2 * h)).reshape(n_seg, k)
    return 0.5 * (blocks + np.swapaxes(blocks, 1, 2))


def segment_laplace(kind: ModelDef, data: Compressed, priors: Priors) -> tuple[np.ndarray, np.ndarray]:
    """``(modes, sds)``, each ``(n_segments, n_params)``: the maximum of each segment's own likelihood in the
    log-parameters and the marginal sds of its Laplace approximation (``REGULARISER_SD`` where the data say
    nothing; the modes are then the prior centres).

    All segments are maximised together (their problems are independent, so the joint maximum is each segment's
    maximum) by Newton-CG on the exact gradient and the segments' Hessian blocks, which come from differences of
    the gradient: one pass over the rows per evaluation, whatever the number of segments.
    """
    centres = np.array([priors.normal[name][0] for name in kind.param_names], dtype=float)
    n_seg = len(data.segments)
    modes = np.tile(centres, (n_seg, 1))
    sds = np.full((n_seg, centres.size), REGULARISER_SD)
    has_rows = np.bincount(np.asarray(data.segment_code, dtype=np.int64), minlength=n_seg) > 0
    if not has_rows.any():
        return modes, sds
    f = _objective(kind, data, centres)
    shape = modes.shape
    cache: dict[bytes, np.ndarray] = {}

    def hessp(flat: np.ndarray, vector: np.ndarray) -> np.ndarray:
        key = flat.tobytes()
        if key not in cache:  # Newton-CG asks for several products at one point
            cache.clear()
            cache[key] = _hessian_blocks(f, flat.reshape(shape))
        return np.einsum("sij,sj->si", cache[key], vector.reshape(shape)).ravel()

    # Newton steps on the exact gradient and the segments' Hessian blocks (truncated CG: a descent direction where
    # a block is not positive definite), with a line search on the sum
    result = optimize.minimize(
        f, modes.ravel(), jac=True, hessp=hessp, method="Newton-CG", options={"xtol": 1e-10}
    )
    if not np.isfinite(result.fun):
        return modes, sds
    mode = np.asarray(result.x, dtype=float).reshape(shape)
    blocks = _hessian_blocks(f, mode)
    for s in np.flatnonzero(has_rows):
        try:
            var = np.diag(np.linalg.inv(blocks[s]))
        except np.linalg.LinAlgError:
            continue
        if np.all(np.isfinite(var)) and np.all(var > 0):
            modes[s] = mode[s]
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
