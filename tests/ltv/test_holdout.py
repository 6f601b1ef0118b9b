"""Holdout validation on CDNOW at the published MLE, and the conditional holdout-count distributions."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import formulas
from ltvlab.ltv.bgnbd import bgnbd_holdout_pmf
from ltvlab.ltv.holdout import conditional_expectations, cumulative_tracking, holdout_validation
from ltvlab.ltv.pnbd import pnbd_holdout_pmf
from tests.ltv.fixed_fit import cdnow_bgnbd, cdnow_gamma_gamma, jittered
from tests.reference import cdnow

# Data fact of the FHL (2005) protocol: repeat transactions in weeks 40-78 (1997-10-01 .. 1998-06-30).
CDNOW_HOLDOUT_TRANSACTIONS = 1882

# Customers (x, t_x, T) spanning no repeat, light, heavy-and-recent and heavy-but-lapsed buyers.
CASES = np.array([[0, 0.0, 38.0], [1, 30.0, 38.0], [2, 5.0, 36.0], [10, 37.5, 38.5], [6, 4.0, 39.0]])


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_holdout_pmf_sums_to_one_and_has_the_closed_form_mean(model):
    # Independent truths: a distribution sums to 1, and its mean must equal the published closed-form
    # conditional expectation (FHL 2005 eq. 10; Fader & Hardie 2005 note eq. 22) computed by ltv.formulas.
    x, t_x, t_cal = CASES.T
    t = 39.0
    k = np.arange(0, 400)[:, None]
    if model == "bgnbd":
        p = cdnow.BGNBD
        alive = formulas.bgnbd_p_alive(x, t_x, t_cal, **p)
        pmf = bgnbd_holdout_pmf(k, t, x, t_x, t_cal, p["r"], p["alpha"], p["a"], p["b"], alive)
        mean = formulas.bgnbd_expected_purchases(t, x, t_x, t_cal, **p)
    else:
        p = cdnow.PARETO_NBD
        alive = formulas.pnbd_p_alive(x, t_x, t_cal, **p)
        pmf = pnbd_holdout_pmf(k, t, x, t_x, t_cal, p["r"], p["alpha"], p["s"], p["beta"], alive)
        mean = formulas.pnbd_expected_purchases(t, x, t_x, t_cal, **p)
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose((k * pmf).sum(axis=0), mean, rtol=1e-7)
    assert (pmf >= 0).all()


def test_bgnbd_pmf_matches_simulation():
    # Simulate the BG/NBD story for customer (x=2, t_x=30, T=38): alive w.p. P(alive); then lambda ~
    # Gamma(r+x, alpha+T), p ~ Beta(a, b+x); the count in 39 weeks is min(Poisson(lambda t), Geometric(p)).
    # 400,000 draws: the SE of a probability is <= 0.5/sqrt(4e5) = 0.0008; tolerance 5 SE = 0.004.
    p = cdnow.BGNBD
    x, t_x, t_cal, t = 2.0, 30.0, 38.0, 39.0
    rng = np.random.default_rng(11)
    n = 400_000
    alive = rng.random(n) < formulas.bgnbd_p_alive(x, t_x, t_cal, **p)
    lam = rng.gamma(p["r"] + x, 1.0 / (p["alpha"] + t_cal), n)
    drop = rng.beta(p["a"], p["b"] + x, n)
    counts = np.where(alive, np.minimum(rng.poisson(lam * t), rng.geometric(drop)), 0)
    k = np.arange(6)
    pmf = bgnbd_holdout_pmf(
        k, t, x, t_x, t_cal, p["r"], p["alpha"], p["a"], p["b"], formulas.bgnbd_p_alive(x, t_x, t_cal, **p)
    )
    empirical = np.array([(counts == i).mean() for i in k])
    np.testing.assert_allclose(pmf, empirical, atol=0.004)


def test_pnbd_pmf_matches_simulation():
    # Pareto/NBD: alive w.p. P(alive); lambda ~ Gamma(r+x, alpha+T), mu ~ Gamma(s, beta+T); remaining lifetime
    # Exp(mu); count ~ Poisson(lambda min(t, lifetime)). Same 5-SE tolerance as above.
    p = cdnow.PARETO_NBD
    x, t_x, t_cal, t = 3.0, 20.0, 38.0, 39.0
    rng = np.random.default_rng(12)
    n = 400_000
    p_alive = formulas.pnbd_p_alive(x, t_x, t_cal, **p)
    alive = rng.random(n) < p_alive
    lam = rng.gamma(p["r"] + x, 1.0 / (p["alpha"] + t_cal), n)
    mu = rng.gamma(p["s"], 1.0 / (p["beta"] + t_cal), n)
    life = rng.exponential(1.0 / mu)
    counts = np.where(alive, rng.poisson(lam * np.minimum(t, life)), 0)
    k = np.arange(6)
    pmf = pnbd_holdout_pmf(k, t, x, t_x, t_cal, p["r"], p["alpha"], p["s"], p["beta"], p_alive)
    empirical = np.array([(counts == i).mean() for i in k])
    np.testing.assert_allclose(pmf, empirical, atol=0.004)


@pytest.fixture(scope="module")
def bgnbd_holdout(cdnow_sample_summary):
    return holdout_validation(cdnow_bgnbd(), cdnow_sample_summary, spend_fit=cdnow_gamma_gamma())


def test_cdnow_holdout_aggregate_and_baseline(bgnbd_holdout, cdnow_sample_summary):
    result = bgnbd_holdout
    assert result.actual_total == CDNOW_HOLDOUT_TRANSACTIONS
    assert result.n_customers == cdnow.CUSTOMERS and result.holdout_length == 39.0
    # The model's per-customer forecasts beat "keep buying at the calibration rate" (the requirement),
    # and so does its aggregate: the naive rate extrapolation overshoots because it ignores drop-out.
    assert result.mae < result.naive_mae
    assert result.rmse < result.naive_rmse
    assert abs(result.predicted_total - result.actual_total) < abs(result.naive_total - result.actual_total)
    assert result.spend_mae < result.naive_spend_mae
    # Per-customer predictions are the closed-form conditional expectations at the MLE.
    s = cdnow_sample_summary
    direct = formulas.bgnbd_expected_purchases(39.0, s[col.X], s[col.T_X], s[col.T], **cdnow.BGNBD)
    np.testing.assert_allclose(result.per_customer["predicted"], direct, rtol=1e-12)
    assert np.isfinite(result.log_predictive_density) and result.log_predictive_density < 0
    table = result.to_frame()
    assert {"model", "naive_baseline", "actual"} <= set(table.columns)


def test_log_predictive_density_averages_probabilities_over_draws(cdnow_sample_summary):
    # The posterior predictive density is log(mean over draws of P(k | draw)), not the mean of the logs; by
    # Jensen the first is larger whenever draws disagree. Recompute it directly for every customer.
    fit = jittered(cdnow_bgnbd(), 12, scale=0.3, seed=6)
    result = holdout_validation(fit, cdnow_sample_summary, max_draws=None)
    s = cdnow_sample_summary
    x, t_x, t_cal, k = (s[c].to_numpy(float) for c in (col.X, col.T_X, col.T, col.X_HOLDOUT))
    r, alpha, a, b = (fit.params[n] for n in ("r", "alpha", "a", "b"))
    alive = formulas.bgnbd_p_alive(x, t_x, t_cal, r, alpha, a, b)
    pmf = bgnbd_holdout_pmf(k, 39.0, x, t_x, t_cal, r, alpha, a, b, alive)
    np.testing.assert_allclose(result.per_customer["log_density"], np.log(pmf.mean(axis=0)), rtol=1e-10)
    assert result.log_predictive_density > np.log(pmf).mean(axis=0).sum()


def test_conditional_expectations_by_frequency(bgnbd_holdout, cdnow_sample_summary):
    table = conditional_expectations(bgnbd_holdout, max_x=7)
    assert list(table["x_bin"].astype(str)) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == cdnow.CUSTOMERS
    assert table.loc[0, "customers"] == cdnow.CUSTOMERS - cdnow.REPEATERS
    weighted = (table["actual"] * table["customers"]).sum()
    assert weighted == pytest.approx(CDNOW_HOLDOUT_TRANSACTIONS)
    assert table["predicted"].is_monotonic_increasing  # more calibration purchases -> more expected


def test_draws_summarised_not_averaged_first(cdnow_sample_summary):
    fit = jittered(cdnow_bgnbd(), 30, scale=0.15, seed=5)
    result = holdout_validation(fit, cdnow_sample_summary, max_draws=None)
    s = cdnow_sample_summary
    per_draw = formulas.bgnbd_expected_purchases(
        39.0,
        s[col.X].to_numpy(float),
        s[col.T_X].to_numpy(float),
        s[col.T].to_numpy(float),
        fit.params["r"],
        fit.params["alpha"],
        fit.params["a"],
        fit.params["b"],
    )
    np.testing.assert_allclose(result.per_customer["predicted"], per_draw.mean(axis=0), rtol=1e-12)
    assert result.n_draws == 30


def test_tracking_counts_the_cohort_repeat_purchases(cdnow_sample_summary, cdnow_sample_transactions):
    track = cumulative_tracking(cdnow_bgnbd(), cdnow_sample_summary, cdnow_sample_transactions)
    assert len(track) == 78
    calibration = track[track["period"] == "calibration"]
    assert len(calibration) == 39
    # Data facts: 2,457 repeat transactions in calibration, 1,882 more in the holdout weeks.
    assert calibration["actual_cumulative"].iloc[-1] == cdnow.REPEAT_TRANSACTIONS
    assert track["actual_cumulative"].iloc[-1] == cdnow.REPEAT_TRANSACTIONS + CDNOW_HOLDOUT_TRANSACTIONS
    assert track["actual_weekly"].sum() == track["actual_cumulative"].iloc[-1]
    # Expected curve: at week w, the sum over customers of E[X(age)] (FHL eq. 9) with age = days since first
    # purchase / 7 - computed here customer by customer, without the code's grouping by first-purchase day.
    first = cdnow_sample_summary[col.FIRST_PURCHASE]
    for week in (10, 39, 78):
        end = first.min() + np.timedelta64(7 * week, "D")
        age = (end - first).dt.days.to_numpy(float) / 7.0
        direct = formulas.bgnbd_expected_purchases_new(age[age > 0], **cdnow.BGNBD).sum()  # acquired by then
        assert track["expected_cumulative"].iloc[week - 1] == pytest.approx(direct, rel=1e-10)
    assert track["expected_cumulative"].is_monotonic_increasing


def test_missing_holdout_columns_raise(cdnow_sample_summary):
    bare = cdnow_sample_summary.drop(columns=[col.X_HOLDOUT])
    bare.attrs.update(cdnow_sample_summary.attrs)
    with pytest.raises(LtvlabError, match="holdout"):
        holdout_validation(cdnow_bgnbd(), bare)


def test_negative_binomial_pmf_equals_scipys():
    # the closed form (with its t-free coefficient computed once) against scipy.stats.nbinom, including t = 0
    from scipy import stats

    from ltvlab.ltv._sim import nb_log_coefficient, nb_pmf

    rng = np.random.default_rng(11)
    k = rng.integers(0, 40, 5000).astype(float)
    shape, rate = rng.gamma(1.0, 3.0, 5000) + 0.05, rng.gamma(2.0, 20.0, 5000) + 0.1
    t = rng.uniform(0.0, 80.0, 5000)
    t[:200] = 0.0
    expected = stats.nbinom.pmf(k, shape, rate / (rate + t))
    np.testing.assert_allclose(nb_pmf(k, shape, rate, t), expected, rtol=1e-9, atol=1e-300)
    coefficient = nb_log_coefficient(k, shape)
    np.testing.assert_allclose(nb_pmf(k, shape, rate, t, coefficient), expected, rtol=1e-9, atol=1e-300)
    assert (nb_pmf(k[:200], shape[:200], rate[:200], 0.0) == (k[:200] == 0)).all()
