"""Closed-form BTYD expectations against published values, numerical integration and Monte Carlo.

Monte Carlo tolerances: the tower property gives E[x_holdout | x] = E[formula(x, t_x, T) | x] exactly, so within
a frequency bin the mean of the simulated outcome and the mean of the formula differ only by Monte Carlo error;
we allow 4 standard errors of the difference (two-sided false-alarm rate ~6e-5 per check, fixed seeds).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import betaln, gammaln

from ltvlab.data.synthetic import simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd
from ltvlab.ltv import formulas as f
from tests.reference import cdnow

# The integrands below are lambdas built inside loops and integrated immediately, so late binding is harmless.
# ruff: noqa: B023

BG = tuple(cdnow.BGNBD.values())  # r, alpha, a, b
PN = tuple(cdnow.PARETO_NBD.values())  # r, alpha, s, beta
GG = tuple(cdnow.GAMMA_GAMMA.values())  # p, q, gamma


def _within_mc(sim: np.ndarray, pred: np.ndarray, k: float = 4.0) -> None:
    diff = sim - pred
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert abs(diff.mean()) < k * se + 1e-12, (diff.mean(), se)


def test_bgnbd_published_conditional_expectation():
    # Fader, Hardie & Lee (2005), section 5: a customer with x = 2, t_x = 30.43, T = 38.86 (weeks) is expected
    # to make 1.226 purchases in the next 39 weeks at the CDNOW MLE (published to 3 decimals; the parameters are
    # themselves rounded to 3 decimals, hence the 1e-3 tolerance).
    assert f.bgnbd_expected_purchases(39, 2, 30.43, 38.86, *BG) == pytest.approx(1.226, abs=1e-3)


def test_bgnbd_p_alive_by_numerical_integration():
    # P(alive | x, t_x, T) = P(no dropout after the x-th purchase) by Bayes over (lambda, p), integrated numerically.
    r, alpha, a, b = BG
    for x, t_x, T in [(1, 5.0, 38.0), (2, 30.43, 38.86), (7, 20.0, 35.0), (15, 37.5, 38.0)]:
        lam_alive = integrate.quad(
            lambda lam: np.exp(
                r * np.log(alpha) - gammaln(r) + (r + x - 1) * np.log(lam) - lam * (alpha + T)
            ),
            0,
            np.inf,
        )[0]
        lam_dead = integrate.quad(
            lambda lam: np.exp(
                r * np.log(alpha) - gammaln(r) + (r + x - 1) * np.log(lam) - lam * (alpha + t_x)
            ),
            0,
            np.inf,
        )[0]
        p_alive_part = integrate.quad(
            lambda p: (1 - p) ** x * np.exp((a - 1) * np.log(p) + (b - 1) * np.log1p(-p) - betaln(a, b)), 0, 1
        )[0]
        p_dead_part = integrate.quad(
            lambda p: (
                p * (1 - p) ** (x - 1) * np.exp((a - 1) * np.log(p) + (b - 1) * np.log1p(-p) - betaln(a, b))
            ),
            0,
            1,
        )[0]
        alive, dead = lam_alive * p_alive_part, lam_dead * p_dead_part
        assert f.bgnbd_p_alive(x, t_x, T, *BG) == pytest.approx(alive / (alive + dead), rel=1e-7)
    assert f.bgnbd_p_alive(0, 0.0, 30.0, *BG) == 1.0


@pytest.mark.parametrize(
    "params", [PN, (0.553, 12.0, 0.606, 10.0), (2.0, 3.0, 0.9, 1.0), (0.5, 8.0, 1.0, 8.0)]
)
def test_pnbd_p_alive_by_numerical_integration(params):
    # Likelihood = alive-at-T part + integral over the death time tau in (t_x, T) (Fader & Hardie 2005 note, eq. 11
    # before its integral is solved); the hypergeometric closed form must match the quadrature of that integral.
    r, alpha, s, beta = params
    for x, t_x, T in [(0, 0.0, 38.0), (2, 30.43, 38.86), (26, 30.86, 31.0), (5, 2.0, 38.0), (40, 10.0, 60.0)]:
        alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
        dead = (
            s
            * integrate.quad(
                lambda u: (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1), t_x, T, epsrel=1e-12
            )[0]
        )
        assert f.pnbd_p_alive(x, t_x, T, *params) == pytest.approx(alive / (alive + dead), rel=1e-7)


def test_broadcasting_draws_by_customers():
    x = np.array([0, 1, 4, 12])
    t_x = np.array([0.0, 3.0, 20.0, 30.0])
    T = np.array([10.0, 20.0, 30.0, 31.0])
    draws = np.array([[0.2], [0.3], [0.5]])
    for fn, params in ((f.bgnbd_expected_purchases, BG), (f.pnbd_expected_purchases, PN)):
        out = fn(10.0, x, t_x, T, draws, *params[1:])
        assert out.shape == (3, 4)
        for i, r in enumerate(draws[:, 0]):
            np.testing.assert_allclose(out[i], fn(10.0, x, t_x, T, r, *params[1:]), rtol=1e-12)
    assert f.gg_expected_spend(x, np.array([0.0, 10.0, 20.0, 30.0]), draws + 5, 3.0, 15.0).shape == (3, 4)


def test_large_frequencies_stay_finite_and_ordered():
    # Heavy buyers (x in the hundreds) must not overflow. With a purchase at T (certainly alive) the expectation
    # grows with x; for BG/NBD it approaches x * (1 - (1 - z)^(a - 1)) / (a - 1), z = t / (alpha + T + t), as the
    # Beta posterior of p concentrates at 0 (leading term of the 2F1 series for large c = a + b + x - 1).
    x = np.array([50, 200, 800, 20_000])
    for fn, params in ((f.bgnbd_expected_purchases, BG), (f.pnbd_expected_purchases, PN)):
        out = fn(39.0, x, np.full(4, 38.5), np.full(4, 38.5), *params)
        assert np.all(np.isfinite(out)) and np.all(np.diff(out) > 0)
    _, alpha, a, _ = BG
    z = 39.0 / (alpha + 38.5 + 39.0)
    limit = (1 - (1 - z) ** (a - 1)) / (a - 1)
    assert f.bgnbd_expected_purchases(39.0, 20_000, 38.5, 38.5, *BG) / 20_000 == pytest.approx(
        limit, rel=1e-3
    )
    p = f.pnbd_p_alive(x, np.full(4, 1.0), np.full(4, 38.0), *PN)
    assert np.all((p >= 0) & (p < 1e-6))  # many purchases long ago: surely gone


def test_pnbd_continuous_across_alpha_equals_beta_and_s_equals_one():
    base = (0.5, 8.0, 0.7, 8.0)
    for eps in (1e-9, 1e-6):
        lo = f.pnbd_p_alive(3, 10.0, 30.0, 0.5, 8.0 - eps, 0.7, 8.0)
        hi = f.pnbd_p_alive(3, 10.0, 30.0, 0.5, 8.0 + eps, 0.7, 8.0)
        assert lo == pytest.approx(hi, rel=1e-5)
    assert f.pnbd_p_alive(3, 10.0, 30.0, *base) == pytest.approx(lo, rel=1e-5)
    near = f.pnbd_expected_purchases(20.0, 3, 10.0, 30.0, 0.5, 8.0, 1.0 + 1e-7, 8.0)
    at = f.pnbd_expected_purchases(20.0, 3, 10.0, 30.0, 0.5, 8.0, 1.0, 8.0)
    assert near == pytest.approx(at, rel=1e-5)


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_conditional_expectations_match_simulated_holdout(model):
    n, T, horizon = 200_000, 39.0, 39.0
    if model == "bgnbd":
        sim = simulate_bgnbd(n, *BG, T=T, holdout=horizon, seed=11)
        pred = f.bgnbd_expected_purchases(
            horizon, sim.x.to_numpy(), sim.t_x.to_numpy(), sim["T"].to_numpy(), *BG
        )
        new = f.bgnbd_expected_purchases_new(T, *BG)
    else:
        sim = simulate_pareto_nbd(n, *PN, T=T, holdout=horizon, seed=12)
        pred = f.pnbd_expected_purchases(
            horizon, sim.x.to_numpy(), sim.t_x.to_numpy(), sim["T"].to_numpy(), *PN
        )
        new = f.pnbd_expected_purchases_new(T, *PN)
    x = sim.x.to_numpy()
    # new-customer expectation: E[X(T)] = mean calibration count
    se = x.std(ddof=1) / np.sqrt(n)
    assert abs(x.mean() - new) < 4 * se
    # conditional expectation within frequency bins (tower property)
    for lo, hi in [(0, 0), (1, 1), (2, 3), (4, 10**6)]:
        mask = (x >= lo) & (x <= hi)
        _within_mc(sim.x_holdout.to_numpy()[mask], pred[mask])


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_p_alive_matches_simulated_survival(model):
    rng = np.random.default_rng(21)
    n, T = 200_000, 39.0
    r, alpha = (BG if model == "bgnbd" else PN)[:2]
    lam = rng.gamma(r, 1 / alpha, n)
    if model == "bgnbd":
        a, b = BG[2:]
        p = rng.beta(a, b, n)
        n_cal = rng.poisson(lam * T)
        drop_after = rng.geometric(p)
        x = np.minimum(n_cal, drop_after)
        alive = drop_after > n_cal
        t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), n_cal - x + 1), 0.0)
        pred = f.bgnbd_p_alive(x, t_x, T, *BG)
    else:
        s, beta = PN[2:]
        life = rng.exponential(1 / rng.gamma(s, 1 / beta, n))
        x = rng.poisson(lam * np.minimum(life, T))
        t_x = np.where(x > 0, np.minimum(life, T) * rng.beta(np.maximum(x, 1), 1.0), 0.0)
        alive = life > T
        pred = f.pnbd_p_alive(x, t_x, T, *PN)
    for lo, hi in [(0, 0), (1, 1), (2, 4), (5, 10**6)]:
        mask = (x >= lo) & (x <= hi)
        if mask.sum() > 100:
            _within_mc(alive[mask].astype(float), pred[mask])


def test_gamma_gamma_expected_spend():
    p, q, gamma = GG
    assert f.gg_expected_spend(0, 123.0, *GG) == pytest.approx(p * gamma / (q - 1))
    # Posterior mean of the customer's true mean spend p / nu given (x, mbar), by Monte Carlo within x-bins.
    x = np.random.default_rng(3).integers(1, 8, size=200_000)
    sim = simulate_gamma_gamma(x, *GG, seed=4)
    pred = f.gg_expected_spend(sim.x.to_numpy(), sim.monetary.to_numpy(), *GG)
    for k in (1, 2, 5):
        mask = sim.x.to_numpy() == k
        _within_mc(sim.expected_spend.to_numpy()[mask], pred[mask])
    assert np.isinf(f.gg_expected_spend(0, 0.0, 2.0, 0.9, 10.0))  # no finite mean when q <= 1


def test_pnbd_dead_integral_where_scipy_hyp2f1_fails():
    # SciPy's hyp2f1 returns NaN for large parameters with z near 1 (e.g. alpha << beta and x ~ 100); there the
    # formulas fall back to quadrature. Truth: adaptive quadrature of the integral itself, scaled to O(1).
    from ltvlab.ltv.formulas import _pnbd_log_dead_integral

    for x, t_x, T, params in [
        (99.0, 5.08, 8.51, (3.0, 0.5, 2.5, 60.0)),
        (141.0, 6.05, 12.69, (3.0, 0.5, 2.5, 60.0)),
        (200.0, 30.0, 40.0, (0.5, 300.0, 0.6, 1.0)),
    ]:
        r, alpha, s, beta = params
        ref = (r + x) * np.log(alpha + t_x) + (s + 1) * np.log(beta + t_x)
        val = integrate.quad(
            lambda u: np.exp(ref - (r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u)),
            t_x,
            T,
            epsrel=1e-12,
        )[0]
        assert _pnbd_log_dead_integral(x, t_x, T, *params) == pytest.approx(np.log(val) - ref, abs=1e-5)
