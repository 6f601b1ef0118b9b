"""The fused BG/NBD row kernel: value and gradient equal the plain PyTensor expression and the exact NumPy one."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from ltvlab.ltv._data import compress
from ltvlab.ltv._fused import row_data
from ltvlab.ltv.bgnbd import _total_loglik_pt as _bgnbd_total_loglik
from ltvlab.ltv.distributions import bgnbd_loglik, bgnbd_loglik_pt


def _summary(rng: np.random.Generator, n: int, n_seg: int, days: bool):
    """Customers with BG/NBD-like summaries; times on a day grid (few distinct values) or continuous."""
    T = rng.uniform(1.0, 60.0, n)
    x = rng.poisson(rng.gamma(0.5, 2.0, n)).astype(float)
    t_x = np.where(x > 0, T * rng.beta(3.0, 1.0, n), 0.0)
    if days:
        T = np.maximum(np.round(T * 7) / 7, 1 / 7)
        t_x = np.minimum(np.round(t_x * 7) / 7, T)
    t_x[:5] = T[:5] * (x[:5] > 0)  # last purchase exactly at the end of calibration
    seg = rng.integers(0, n_seg, n)
    return compress(seg, {"x": x, "t_x": t_x, "T": T}, n_seg)


def _graphs(rows):
    """(fused total, reference total, parameter inputs) for per-segment parameters."""
    params = [pt.dvector(name) for name in ("r", "alpha", "a", "b")]
    fused = _bgnbd_total_loglik(rows, params, rows.segment_code)
    seg = rows.segment_code
    per_row = [p[seg] for p in params]
    v = rows.values
    reference = pt.sum(rows.weight * bgnbd_loglik_pt(v["x"], v["t_x"], v["T"], *per_row))
    return fused, reference, params


@pytest.mark.parametrize("days", [True, False], ids=["tabulated", "per-row"])
@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_value_and_gradient_match_the_plain_expression(days, mode):
    rng = np.random.default_rng(7)
    rows = _summary(rng, 4_000, 3, days)
    data = row_data(
        rows.segment_code,
        rows.segment_code,
        rows.values["x"],
        rows.values["t_x"],
        rows.values["T"],
        rows.weight,
        3,
    )
    assert data.tabulate == days  # the day grid has few distinct times, continuous times do not
    fused, reference, params = _graphs(rows)
    fn = pytensor.function(params, [fused, *pt.grad(fused, params)], mode=mode)
    ref = pytensor.function(params, [reference, *pt.grad(reference, params)], mode="FAST_RUN")
    for _ in range(3):
        values = [
            rng.uniform(0.2, 2.0, 3),
            rng.uniform(1.0, 20.0, 3),
            rng.uniform(0.3, 3.0, 3),
            rng.uniform(0.5, 8.0, 3),
        ]
        got, want = fn(*values), ref(*values)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        # gradients are sums of ~4,000 terms of either sign summed in a different order: allow rounding at
        # 1e-12 of the sum of their magnitudes (< 1e4 here)
        for g, w in zip(got[1:], want[1:], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-8 * max(1.0, float(np.abs(w).max())))
        # and the exact per-customer NumPy likelihood
        seg = rows.segment_code
        v = rows.values
        exact = bgnbd_loglik(v["x"], v["t_x"], v["T"], *(p[seg] for p in values)) @ rows.weight
        np.testing.assert_allclose(got[0], exact, rtol=1e-12)


def test_gradient_matches_finite_differences_for_scalar_parameters():
    rng = np.random.default_rng(11)
    rows = _summary(rng, 2_000, 1, days=True)
    params = [pt.dscalar(name) for name in ("r", "alpha", "a", "b")]
    codes = np.zeros(rows.n_rows, dtype=np.int64)
    fused = _bgnbd_total_loglik(rows, [pt.atleast_1d(p) for p in params], codes)
    fn = pytensor.function(params, fused)
    grad = pytensor.function(params, pt.grad(fused, params))
    point = np.array([0.6, 5.0, 0.9, 2.5])
    analytic = np.array(grad(*point))
    numeric = np.empty(4)
    for k in range(4):
        h = 1e-6 * point[k]
        up, down = point.copy(), point.copy()
        up[k] += h
        down[k] -= h
        numeric[k] = (fn(*up) - fn(*down)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_extreme_rows_stay_finite():
    """Heavy buyers (large x) and long gaps push either term of the log-sum-exp far below the other."""
    x = np.array([0.0, 1.0, 300.0, 300.0, 50.0])
    t_x = np.array([0.0, 0.01, 0.5, 99.0, 100.0])
    T = np.array([0.1, 100.0, 100.0, 100.0, 100.0])
    rows = compress(np.zeros(5, dtype=np.int64), {"x": x, "t_x": t_x, "T": T}, 1)
    fused, _, params = _graphs(rows)
    fn = pytensor.function(params, [fused, *pt.grad(fused, params)], mode="NUMBA")
    values = [np.array([0.3]), np.array([2.0]), np.array([0.5]), np.array([4.0])]
    got = fn(*values)
    assert all(np.all(np.isfinite(g)) for g in got)
    exact = bgnbd_loglik(x, t_x, T, *(v[0] for v in values)).sum()
    np.testing.assert_allclose(got[0], exact, rtol=1e-12)


@pytest.mark.parametrize("days", [True, False], ids=["tabulated", "per-row"])
def test_total_at_many_draws_equals_the_exact_likelihood(days):
    """The posterior-mean log-likelihood of a fit evaluates the kernel per draw: it must equal the per-row
    NumPy likelihood at every draw."""
    from ltvlab.ltv.bgnbd import _total_loglik_draws

    rng = np.random.default_rng(21)
    rows = _summary(rng, 3_000, 3, days)
    draws = [rng.uniform(0.2, 2.0, (5, 3)), rng.uniform(1.0, 20.0, (5, 3)), rng.uniform(0.3, 3.0, (5, 3)),
             rng.uniform(0.5, 8.0, (5, 3))]  # fmt: skip
    got = _total_loglik_draws(rows, draws, rows.segment_code)
    seg, v = rows.segment_code, rows.values
    want = [
        bgnbd_loglik(v["x"], v["t_x"], v["T"], *(p[d, seg] for p in draws)) @ rows.weight for d in range(5)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


# --- Gamma-Gamma -----------------------------------------------------------------------------------------------


def _spend_rows(rng: np.random.Generator, n: int, n_seg: int):
    """Repeat buyers' (x, mean spend) from the Gamma-Gamma process, values in cents as a summary gives them."""
    from ltvlab.data.synthetic import simulate_gamma_gamma

    x = 1.0 + rng.poisson(rng.gamma(0.7, 3.0, n))
    m = simulate_gamma_gamma(x.astype(int), p=6.25, q=3.74, gamma=15.44, seed=int(rng.integers(1_000)))[
        "monetary"
    ]
    m = np.maximum(np.round(np.asarray(m) * x, 2) / x, 0.01)
    return compress(rng.integers(0, n_seg, n), {"x": x, "monetary": m}, n_seg)


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_gamma_gamma_value_and_gradient_match_the_plain_expression(mode):
    from ltvlab.ltv.distributions import gamma_gamma_loglik, gamma_gamma_loglik_pt
    from ltvlab.ltv.gamma_gamma import _total_loglik_draws, _total_loglik_pt

    rng = np.random.default_rng(17)
    rows = _spend_rows(rng, 5_000, 3)
    params = [pt.dvector(name) for name in ("p", "q", "gamma")]
    seg, v = rows.segment_code, rows.values
    fused = _total_loglik_pt(rows, params, seg)
    reference = pt.sum(rows.weight * gamma_gamma_loglik_pt(v["x"], v["monetary"], *(p[seg] for p in params)))
    fn = pytensor.function(params, [fused, *pt.grad(fused, params)], mode=mode)
    ref = pytensor.function(params, [reference, *pt.grad(reference, params)], mode="FAST_RUN")
    draws = [rng.uniform(1.0, 10.0, (3, 3)), rng.uniform(1.5, 8.0, (3, 3)), rng.uniform(2.0, 40.0, (3, 3))]
    many = _total_loglik_draws(rows, draws, seg)
    for d in range(3):
        values = [p[d] for p in draws]
        got, want = fn(*values), ref(*values)
        exact = gamma_gamma_loglik(v["x"], v["monetary"], *(p[seg] for p in values)) @ rows.weight
        np.testing.assert_allclose([got[0], many[d]], [exact, exact], rtol=1e-12)
        for g, w in zip(got[1:], want[1:], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-8 * max(1.0, float(np.abs(w).max())))


def test_gamma_gamma_gradient_matches_finite_differences():
    from ltvlab.ltv.gamma_gamma import _total_loglik_pt

    rows = _spend_rows(np.random.default_rng(5), 2_000, 1)
    params = [pt.dscalar(name) for name in ("p", "q", "gamma")]
    fused = _total_loglik_pt(rows, [pt.atleast_1d(p) for p in params], np.zeros(rows.n_rows, dtype=np.int64))
    fn = pytensor.function(params, fused)
    grad = pytensor.function(params, pt.grad(fused, params))
    point = np.array([6.0, 3.5, 15.0])
    numeric = np.empty(3)
    for k in range(3):
        # the total (gammaln terms of ~1e5 that cancel to ~-8,500) carries ~1e-11 of rounding: a step of 1e-4
        # keeps it at ~1e-7 of the difference quotient, and the central difference's own error (h^2) far below
        h = 1e-4 * point[k]
        up, down = point.copy(), point.copy()
        up[k] += h
        down[k] -= h
        numeric[k] = (fn(*up) - fn(*down)) / (2 * h)
    np.testing.assert_allclose(np.array(grad(*point)), numeric, rtol=1e-6)
