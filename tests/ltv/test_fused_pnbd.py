"""The fused Pareto/NBD row kernel (``ltv/_fused.py``): by the series its value equals the exact hypergeometric
likelihood; by the quadrature fallback it equals the PyTensor quadrature expression and PyTensor's gradient of it;
its gradient equals finite differences in both regimes and at ``alpha == beta``."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from ltvlab.ltv._data import compress
from ltvlab.ltv._fused import SERIES_MAX_Z
from ltvlab.ltv.distributions import pnbd_loglik, pnbd_loglik_pt
from ltvlab.ltv.pnbd import _total_loglik_pt as _pnbd_total_loglik


def _summary(rng: np.random.Generator, n: int, n_seg: int, max_T: float = 60.0):
    """Pareto/NBD-like summaries on a day grid, a few customers buying exactly at the end of calibration."""
    T = np.maximum(np.round(rng.uniform(1.0, max_T, n) * 7) / 7, 1 / 7)
    x = rng.poisson(rng.gamma(0.5, 3.0, n)).astype(float)
    t_x = np.where(x > 0, np.minimum(np.round(T * rng.beta(3.0, 1.0, n) * 7) / 7, T), 0.0)
    t_x[:5] = T[:5] * (x[:5] > 0)
    seg = rng.integers(0, n_seg, n)
    return compress(seg, {"x": x, "t_x": t_x, "T": T}, n_seg)


def _functions(rows, mode="NUMBA"):
    params = [pt.dvector(name) for name in ("r", "alpha", "s", "beta")]
    fused = _pnbd_total_loglik(rows, params, rows.segment_code)
    per_row = [p[rows.segment_code] for p in params]
    v = rows.values
    reference = pt.sum(rows.weight * pnbd_loglik_pt(v["x"], v["t_x"], v["T"], *per_row))
    fn = pytensor.function(params, [fused, *pt.grad(fused, params)], mode=mode)
    ref = pytensor.function(params, [reference, *pt.grad(reference, params)], mode="FAST_RUN")
    return fn, ref


def _finite_differences(fn, values, rel=1e-6):
    """Central differences of ``fn``'s value in each element of each parameter vector."""
    grads = []
    for k in range(4):
        grad = np.empty(np.size(values[k]))
        for j in range(grad.size):
            h = rel * np.ravel(values[k])[j]
            up = [np.array(v, dtype=float, copy=True) for v in values]
            down = [np.array(v, dtype=float, copy=True) for v in values]
            up[k].reshape(-1)[j] += h
            down[k].reshape(-1)[j] -= h
            grad[j] = (fn(*up)[0] - fn(*down)[0]) / (2 * h)
        grads.append(grad.reshape(np.shape(values[k])))
    return grads


def _exact(rows, values):
    seg, v = rows.segment_code, rows.values
    per_row = [np.atleast_1d(p)[seg] if np.ndim(p) else p for p in values]
    return pnbd_loglik(v["x"], v["t_x"], v["T"], *per_row) @ rows.weight


@pytest.mark.parametrize("order", ["alpha>beta", "alpha<beta"])
@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_series_value_is_the_exact_likelihood_and_its_gradient_the_finite_differences(order, mode):
    rng = np.random.default_rng(17)
    rows = _summary(rng, 3_000, 3)
    fn, _ = _functions(rows, mode)
    for _ in range(3):
        alpha = rng.uniform(2.0, 20.0, 3)
        # |alpha - beta| / max(alpha, beta) <= 0.7 < SERIES_MAX_Z: every row is summed by the series
        beta = alpha * (rng.uniform(0.3, 0.9, 3) if order == "alpha>beta" else 1 / rng.uniform(0.3, 0.9, 3))
        values = [rng.uniform(0.2, 2.0, 3), alpha, rng.uniform(0.3, 3.0, 3), beta]
        got = fn(*values)
        np.testing.assert_allclose(got[0], _exact(rows, values), rtol=1e-10)
        for g, numeric in zip(got[1:], _finite_differences(fn, values), strict=True):
            np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-4)


def test_far_apart_rates_use_the_quadrature_with_its_exact_gradient():
    rng = np.random.default_rng(3)
    rows = _summary(rng, 2_000, 2, max_T=20.0)  # z = 99 / (100 + t_x) > SERIES_MAX_Z on every row
    assert 99 / (100 + 20) > SERIES_MAX_Z
    fn, ref = _functions(rows)
    for alpha, beta in ((100.0, 1.0), (1.0, 100.0)):
        values = [np.array([0.5, 1.5]), np.full(2, alpha), np.array([0.8, 0.4]), np.full(2, beta)]
        got, want = fn(*values), ref(*values)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        for g, w in zip(got[1:], want[1:], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-8 * max(1.0, float(np.abs(w).max())))
        # and the quadrature's accuracy (formulas._QUAD_NODES): a small fraction of one log-likelihood unit
        np.testing.assert_allclose(got[0], _exact(rows, values), atol=0.05)


def test_gradient_at_equal_rates_and_for_scalar_parameters():
    rng = np.random.default_rng(5)
    rows = _summary(rng, 2_000, 1)
    params = [pt.dscalar(name) for name in ("r", "alpha", "s", "beta")]
    fused = _pnbd_total_loglik(
        rows, [pt.atleast_1d(p) for p in params], np.zeros(rows.n_rows, dtype=np.int64)
    )
    fn = pytensor.function(params, [fused, *pt.grad(fused, params)])
    for point in ([0.55, 10.6, 0.61, 11.7], [0.55, 10.6, 0.61, 10.6]):
        values = [np.float64(v) for v in point]
        got = fn(*values)
        np.testing.assert_allclose(got[0], _exact(rows, values), rtol=1e-10)
        np.testing.assert_allclose(got[1:], _finite_differences(fn, values), rtol=1e-6)


def test_extreme_rows_stay_finite():
    """Heavy buyers, purchases at (or a hair before) the end of calibration and long gaps push either term far
    below the other; the kernel stays finite where PyTensor's gradient of the quadrature graph is NaN."""
    x = np.array([0.0, 1.0, 300.0, 300.0, 50.0, 3.0])
    t_x = np.array([0.0, 0.01, 0.5, 99.0, 100.0, 100.0 - 1e-9])
    T = np.array([0.1, 100.0, 100.0, 100.0, 100.0, 100.0])
    rows = compress(np.zeros(x.size, dtype=np.int64), {"x": x, "t_x": t_x, "T": T}, 1)
    fn, _ = _functions(rows)
    # the first two by the series on every row; the third (z near 1 at small t_x) partly by the quadrature
    for values, tol in (
        ([0.3, 2.0, 0.5, 4.0], 1e-9),
        ([0.3, 6.0, 0.5, 1.5], 1e-9),
        ([0.3, 60.0, 0.5, 0.5], 1e-3),
    ):
        arrays = [np.array([v]) for v in values]
        got = fn(*arrays)
        assert all(np.all(np.isfinite(g)) for g in got)
        np.testing.assert_allclose(got[0], _exact(rows, arrays), rtol=tol)
        for g, numeric in zip(got[1:], _finite_differences(fn, arrays), strict=True):
            np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6)


def test_total_at_many_draws_equals_the_exact_likelihood():
    from ltvlab.ltv.pnbd import _total_loglik_draws

    rng = np.random.default_rng(23)
    rows = _summary(rng, 3_000, 3)
    alpha = rng.uniform(2.0, 20.0, (4, 3))
    draws = [
        rng.uniform(0.2, 2.0, (4, 3)),
        alpha,
        rng.uniform(0.3, 3.0, (4, 3)),
        alpha * rng.uniform(0.4, 1.6, (4, 3)),
    ]
    got = _total_loglik_draws(rows, draws, rows.segment_code)
    want = [_exact(rows, [p[d] for p in draws]) for d in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
