"""Beta-discrete-Weibull retention (Fader et al. 2018): closed forms, its own simulator, and the fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from ltvlab.ltv import BdW, get_model
from ltvlab.ltv.bdw import bdw_loglik, bdw_retention_rate, bdw_survival
from ltvlab.ltv.sbg import sbg_loglik, sbg_survival

T = np.arange(1, 13, dtype=float)


def test_c_equal_to_one_is_the_sbg():
    # with c = 1 the discrete Weibull is the geometric, so BdW is sBG (Fader & Hardie 2007's closed forms)
    for x in (0.0, 1.0):
        np.testing.assert_allclose(
            bdw_loglik(x, T, 0.704, 1.182, 1.0), sbg_loglik(x, T, 0.704, 1.182), rtol=1e-12
        )
    np.testing.assert_allclose(bdw_survival(T, 0.704, 1.182, 1.0), sbg_survival(T, 0.704, 1.182), rtol=1e-12)


def test_probabilities_add_up_and_retention_is_the_survival_ratio():
    alpha, beta, c = 0.9, 1.4, 0.7
    churn = np.exp(bdw_loglik(1.0, T, alpha, beta, c))
    np.testing.assert_allclose(churn.sum() + bdw_survival(T[-1], alpha, beta, c), 1.0, rtol=1e-12)
    survival = bdw_survival(np.arange(13.0), alpha, beta, c)
    np.testing.assert_allclose(
        bdw_retention_rate(T, alpha, beta, c), survival[1:] / survival[:-1], rtol=1e-12
    )
    # c < 1: each customer's cancellation probability falls with tenure, so the cohort's retention rate rises
    assert np.all(np.diff(bdw_retention_rate(T, alpha, beta, c)) > 0)


@pytest.mark.parametrize("c", [0.6, 1.0, 1.5])
def test_survival_matches_the_models_own_simulator(c):
    alpha, beta, n = 0.9, 1.4, 200_000
    simulate = get_model(BdW.kind_name).simulate_calibration
    rng = np.random.default_rng(7)
    for t in (1.0, 3.0, 8.0):
        cancelled = simulate(rng, [np.full(n, alpha), np.full(n, beta), np.full(n, c)], np.full(n, t))
        survival = bdw_survival(t, alpha, beta, c)
        se = np.sqrt(survival * (1 - survival) / n)  # binomial Monte Carlo error
        assert abs((1 - cancelled.mean()) - survival) < 4 * se, (c, t)


def _cohort_rows(alpha, beta, c, n, periods, seed):
    """Retention rows with counts of ``n`` simulated customers observed for ``periods`` periods."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n)
    lifetime = np.maximum(np.ceil((np.log(rng.random(n)) / np.log1p(-theta)) ** (1 / c)), 1)
    churned = np.bincount(lifetime[lifetime <= periods].astype(int), minlength=periods + 1)[1:]
    rows = pd.DataFrame({"x": 1.0, "T": np.arange(1.0, periods + 1), "count": churned})
    active = pd.DataFrame({"x": [0.0], "T": [float(periods)], "count": [int((lifetime > periods).sum())]})
    return pd.concat([rows[rows["count"] > 0], active], ignore_index=True)


@pytest.mark.slow
def test_map_fit_is_the_maximum_likelihood_and_near_the_truth():
    truth = (0.8, 1.6, 0.75)
    rows = _cohort_rows(*truth, n=20_000, periods=12, seed=3)
    rows.attrs["unit"] = "period"
    fit = BdW(priors="flat").fit(rows, method="map", weights="count")
    estimate = np.array([fit.draws()[k][0, 0] for k in ("alpha", "beta", "c")])

    # independent optimiser on the same weighted log-likelihood (log scale, Nelder-Mead)
    def negative(eta):
        return -np.sum(rows["count"] * bdw_loglik(rows["x"], rows["T"], *np.exp(eta)))

    mle = np.exp(
        optimize.minimize(
            negative,
            np.zeros(3),
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 20_000},
        ).x
    )
    np.testing.assert_allclose(estimate, mle, rtol=2e-3)
    # the truth within 4 standard errors of the MLE, from the observed information on the log scale
    eta, h = np.log(mle), 1e-4
    hessian = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            di, dj = np.eye(3)[i] * h, np.eye(3)[j] * h
            hessian[i, j] = (
                negative(eta + di + dj)
                - negative(eta + di - dj)
                - negative(eta - di + dj)
                + negative(eta - di - dj)
            ) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(hessian)))
    assert np.all(np.abs(np.log(estimate) - np.log(truth)) < 4 * se), (estimate, se)
