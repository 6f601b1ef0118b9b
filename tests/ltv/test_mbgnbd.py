"""MBG/NBD (Batislam, Denizel & Filiztekin 2007): likelihood, closed forms, generator, published fit, pooling.

Tolerances: the published MLE to 1% per parameter and 0.5 in log-likelihood (the issue's reference figures);
Monte Carlo comparisons within 4 standard errors computed from the simulated data (two-sided tail 6e-5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special

from ltvlab.data.synthetic_btyd import simulate_mbgnbd
from ltvlab.features import columns as col
from ltvlab.ltv import MBGNBD, formulas, get_model, holdout_validation, model_spec, score_customers
from ltvlab.ltv.distributions import mbgnbd_loglik, mbgnbd_loglik_pt
from ltvlab.ltv.mbgnbd import mbgnbd_holdout_pmf
from tests.ltv.model_references import MBGNBD as REF
from tests.ltv.model_references import MBGNBD_LL

K_SE = 4.0
PARAMS = tuple(REF[k] for k in ("r", "alpha", "a", "b"))


def test_registered_and_built_from_the_registry():
    model = get_model("mbgnbd")
    assert model.spec is MBGNBD and model.param_names == ("r", "alpha", "a", "b")
    assert isinstance(model_spec("mbgnbd", pooling="partial", segment="s"), MBGNBD)


def test_likelihood_of_no_repeat_purchase_is_the_closed_form():
    # x = 0: gone at the first toss (prob a / (a + b)) or still there and no purchase in T, so
    # L = a / (a + b) + b / (a + b) (alpha / (alpha + T))^r.
    r, alpha, a, b = PARAMS
    T = np.array([0.5, 10.0, 39.0, 80.0])
    expected = np.log(a / (a + b) + b / (a + b) * (alpha / (alpha + T)) ** r)
    np.testing.assert_allclose(mbgnbd_loglik(0, 0.0, T, *PARAMS), expected, rtol=1e-12)


def test_likelihood_integrates_over_t_x_against_the_poisson_count():
    # Integrating the density over t_x in (0, T] and summing the dropout branch must give P(X(T) = x) of the
    # generative process. For x >= 1: P(X(T) = x) = B(a, b + x + 1)/B(a, b) P(N(T) = x) +
    # B(a + 1, b + x)/B(a, b) P(N(T) >= x) (alive, or dropped right after purchase x), with N(T) negative
    # binomial. L(x, t_x, T) is a density in t_x with mass x t_x^(x-1)/T^x ... per lambda; we integrate
    # numerically (Gauss-Legendre, 200 nodes) the exact likelihood times the t_x density normaliser
    # x t_x^(x-1) (the likelihood omits the ordering factor of the x purchase times).
    r, alpha, a, b = PARAMS
    T = 30.0
    nodes, weights = np.polynomial.legendre.leggauss(200)
    t = 0.5 * T * (nodes + 1.0)
    for x in (1, 2, 5):
        density = np.exp(mbgnbd_loglik(x, t, T, *PARAMS)) * t ** (x - 1) / special.gamma(x + 1) * x
        integral = 0.5 * T * np.sum(weights * density)
        nb = lambda k: np.exp(  # noqa: E731
            special.gammaln(r + k)
            - special.gammaln(r)
            - special.gammaln(k + 1)
            + r * np.log(alpha / (alpha + T))
            + k * np.log(T / (alpha + T))
        )
        tail = 1.0 - sum(nb(k) for k in range(x))
        closed = (
            np.exp(special.betaln(a, b + x + 1) - special.betaln(a, b)) * nb(x)
            + np.exp(special.betaln(a + 1, b + x) - special.betaln(a, b)) * tail
        )
        assert integral == pytest.approx(closed, rel=1e-6), x


def test_pytensor_likelihood_equals_numpy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 12, 200).astype(float)
    T = rng.uniform(0.0, 60.0, 200)
    t_x = np.where(x > 0, rng.uniform(0, 1, 200) * T, 0.0)
    args = [pt.dvector(n) for n in ("x", "t_x", "T")]
    fn = pytensor.function(args, mbgnbd_loglik_pt(*args, *PARAMS))
    np.testing.assert_allclose(fn(x, t_x, T), mbgnbd_loglik(x, t_x, T, *PARAMS), rtol=1e-10)


def test_flat_prior_map_reproduces_the_published_fit(cdnow_sample_summary):
    fit = MBGNBD(priors="flat").fit(cdnow_sample_summary, method="map")
    table = fit.summary().set_index("param")["mean"]
    for name, value in REF.items():
        assert table[name] == pytest.approx(value, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(MBGNBD_LL, abs=0.5)
    assert fit.unit == "W" and fit.model_name == "mbgnbd"


def test_closed_forms_match_a_simulation_from_the_generator():
    # 400,000 customers from the MBG/NBD process at the reference parameters, T = 39, holdout 39 weeks.
    # (1) mean calibration count = E[X(T)] of a new customer; (2) within each calibration count x = 0, 1, 2,
    # the mean holdout count equals the mean over those customers of the conditional expectation (law of total
    # expectation: the conditioning uses only each customer's own observed (x, t_x, T)); (3) the holdout pmf
    # averaged over customers matches the observed holdout frequencies.
    n, T, hold = 400_000, 39.0, 39.0
    sim = simulate_mbgnbd(n, *PARAMS, T=T, holdout=hold, seed=5)
    x, t_x = sim[col.X].to_numpy(float), sim[col.T_X].to_numpy(float)
    se = x.std(ddof=1) / np.sqrt(n)
    assert abs(x.mean() - formulas.mbgnbd_expected_purchases_new(T, *PARAMS)) <= K_SE * se
    xh = sim[col.X_HOLDOUT].to_numpy(float)
    predicted = formulas.mbgnbd_expected_purchases(hold, x, t_x, T, *PARAMS)
    for k in (0, 1, 2):
        sel = x == k
        diff = xh[sel] - predicted[sel]
        assert abs(diff.mean()) <= K_SE * diff.std(ddof=1) / np.sqrt(sel.sum()), k
    alive = formulas.mbgnbd_p_alive(x, t_x, T, *PARAMS)
    for k in range(4):
        pmf = mbgnbd_holdout_pmf(np.full(n, k), hold, x, t_x, T, *PARAMS, alive)
        freq = (xh == k).astype(float)
        diff = freq - pmf
        assert abs(diff.mean()) <= K_SE * diff.std(ddof=1) / np.sqrt(n), k


def test_holdout_pmf_sums_to_one_and_has_the_closed_form_mean():
    x = np.array([0.0, 1.0, 4.0, 12.0])
    t_x = np.array([0.0, 5.0, 30.0, 38.0])
    T, t = 39.0, 39.0
    alive = formulas.mbgnbd_p_alive(x, t_x, T, *PARAMS)
    k = np.arange(400)[:, None]
    pmf = mbgnbd_holdout_pmf(k, t, x, t_x, T, *PARAMS, alive)
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose(
        (k * pmf).sum(axis=0), formulas.mbgnbd_expected_purchases(t, x, t_x, T, *PARAMS), rtol=1e-7
    )


def test_pooling_covariates_scoring_and_holdout(cdnow_sample_summary):
    summary = cdnow_sample_summary.copy()
    summary["cohort"] = pd.to_datetime(summary[col.FIRST_PURCHASE]).dt.month.astype(str)
    summary["early"] = (pd.to_datetime(summary[col.FIRST_PURCHASE]).dt.day <= 15).astype(float)
    summary.attrs = dict(cdnow_sample_summary.attrs)
    fits = {}
    for name, spec in {
        "partial": MBGNBD(pooling="partial", segment="cohort"),
        "none": MBGNBD(pooling="none", segment="cohort", priors="flat"),
        "covariates": MBGNBD(purchase_covariates=("early",), dropout_covariates=("early",)),
    }.items():
        fit = fits[name] = spec.fit(summary, method="map")
        assert fit.diagnostics.ok, name
        scores = score_customers(fit, None, summary, max_draws=None)
        assert np.isfinite(scores.filter(like="_mean").to_numpy()).all()
        result = holdout_validation(fit, summary)
        assert np.isfinite(result.log_predictive_density) and result.predicted_total > 0
    # pooling="none" with flat priors is the maximum likelihood of each segment on its own: the March
    # cohort's log-likelihood at its segment parameters equals that of a fit on March alone (the optimum is
    # flat along a/b, so compare the maximised log-likelihood, to the optimiser's tolerance)
    march = summary[summary["cohort"] == "3"].copy()
    march.attrs = dict(summary.attrs)
    alone = MBGNBD(priors="flat").fit(march, method="map")
    by_segment = fits["none"].summary().query("segment == '3'").set_index("param")["mean"]
    data = (march[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    ll_segment = mbgnbd_loglik(*data, *(by_segment[k] for k in REF)).sum()
    assert ll_segment == pytest.approx(alone.log_likelihood, abs=0.01)
    coefficients = fits["covariates"].summary().set_index("param")
    assert {"gamma_purchase", "gamma_dropout_a", "gamma_dropout_b"} <= set(coefficients.index)
