"""Beta-discrete-Weibull retention (Fader et al. 2018): closed forms, its own simulator, the fit, and its projections.

Projections (survival, retention rates, residual value of ``ltvlab.ltv.sbg``'s projection functions on a BdW fit)
are checked against the sBG at ``c = 1`` (closed forms) and against lifetimes simulated period by period, within 4
binomial / sample standard errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from ltvlab.errors import LtvlabError
from ltvlab.ltv import BGNBD, SBG, BdW, get_model
from ltvlab.ltv.bdw import bdw_loglik, bdw_retention_rate, bdw_survival, duration_dependence
from ltvlab.ltv.sbg import project_retention, residual_value, sbg_loglik, sbg_survival
from tests.ltv.fixed_fit import FixedFit

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


# --- projections: survival, retention rates and residual value of a BdW fit -------------------------------


def _pinned(model_name: str, draws: dict[str, np.ndarray]) -> FixedFit:
    """A fit whose posterior is exactly ``draws`` (one cohort, "all")."""
    fit = FixedFit(model_name, {k: np.asarray(v, dtype=float)[:, None] for k, v in draws.items()})
    fit.pooling = "none"
    return fit


def _walk_lifetimes(alpha, beta, c, n, periods, rng):
    """Lifetimes by walking the periods (independent of the inverse-CDF simulator in ltvlab.ltv.bdw): a customer
    with ``theta ~ Beta(alpha, beta)`` who is active after ``t - 1`` periods is still active after ``t`` with
    probability ``(1 - theta)^(t^c - (t - 1)^c)``; ``periods + 1`` stands for "active after ``periods``"."""
    theta = rng.beta(alpha, beta, n)
    lifetime = np.full(n, periods + 1)
    alive = np.arange(n)
    for t in range(1, periods + 1):
        stay = rng.random(alive.size) < (1.0 - theta[alive]) ** (t**c - (t - 1) ** c)
        lifetime[alive[~stay]] = t
        alive = alive[stay]
    return lifetime


def test_a_bdw_fit_with_c_one_projects_exactly_as_the_sbg():
    # c = 1 makes BdW the sBG, whose projection and closed-form residual lifetime (F&H 2007, 2010) are tested in
    # tests/ltv/test_sbg.py; the BdW path sums its survival curve instead, so this also checks that sum
    rng = np.random.default_rng(11)
    alpha, beta = (
        0.704 * np.exp(0.1 * rng.standard_normal(200)),
        1.182 * np.exp(0.1 * rng.standard_normal(200)),
    )
    bdw = _pinned(BdW.kind_name, {"alpha": alpha, "beta": beta, "c": np.ones(200)})
    sbg = _pinned(SBG.kind_name, {"alpha": alpha, "beta": beta})
    got, want = project_retention(bdw, periods=12), project_retention(sbg, periods=12)
    assert set(got["model"]) == {"BdW"} and set(want["model"]) == {"sBG"}
    numbers = [c for c in got.columns if c.startswith(("survival", "retention"))]
    np.testing.assert_allclose(got[numbers].to_numpy(), want[numbers].to_numpy(), rtol=1e-10, equal_nan=True)
    for tenure in (1, 8):
        kwargs = {"tenure": tenure, "value_per_period": 100.0, "discount_rate": 0.1}
        np.testing.assert_allclose(
            residual_value(bdw, **kwargs)[["mean", "lower", "upper"]].to_numpy(),
            residual_value(sbg, **kwargs)[["mean", "lower", "upper"]].to_numpy(),
            rtol=1e-9,
        )


@pytest.mark.parametrize("c", [0.6, 1.5])
def test_bdw_projection_matches_a_simulation_of_the_story(c):
    # survival S(t) and retention rate r(t) = S(t) / S(t - 1) against simulated lifetimes; tolerance 4 binomial
    # standard errors (n = 200,000 customers; for r(t), n = those active after t - 1 periods)
    alpha, beta, n, periods = 0.9, 1.4, 200_000, 12
    projection = project_retention(
        _pinned(BdW.kind_name, {"alpha": [alpha], "beta": [beta], "c": [c]}), periods=periods
    )
    lifetime = _walk_lifetimes(alpha, beta, c, n, periods, np.random.default_rng(5))
    active = np.array([(lifetime > t).sum() for t in range(periods + 1)], dtype=float)
    survival, rate = active / n, active[1:] / active[:-1]
    se_survival = np.sqrt(survival * (1 - survival) / n)
    se_rate = np.sqrt(rate * (1 - rate) / active[:-1])
    assert np.all(np.abs(projection["survival_mean"].to_numpy() - survival) <= 4 * se_survival + 1e-12)
    assert np.all(np.abs(projection["retention_mean"].to_numpy()[1:] - rate) <= 4 * se_rate)
    # one draw: the interval is the point
    np.testing.assert_allclose(projection["survival_lower"], projection["survival_upper"])
    # duration dependence is visible in the rates: c < 1 rises faster than the sBG's, c > 1 can fall
    sbg_rate = (beta + np.arange(1, periods + 1) - 1) / (alpha + beta + np.arange(1, periods + 1) - 1)
    assert np.all((projection["retention_mean"].to_numpy()[2:] > sbg_rate[1:]) == (c < 1))


def test_bdw_residual_value_matches_a_simulation():
    # discounted expected residual lifetime of a customer active in period 8 (7 renewals): the mean over simulated
    # customers still active after 7 periods of sum_{k=8}^{L-1} 1.1^-(k-8) (the period-8 payment in full); 300
    # periods cover it (1.1^-292 < 1e-12). Tolerance: 4 standard errors of that sample mean.
    alpha, beta, c, d, tenure = 0.9, 1.4, 0.6, 0.1, 8
    rng = np.random.default_rng(9)
    lifetime = _walk_lifetimes(alpha, beta, c, 100_000, 300, rng)
    lifetime = lifetime[lifetime > tenure - 1]
    k = np.arange(tenure, 301)
    factor = (1 + d) ** -(k - tenure)
    derl = np.concatenate([[0.0], np.cumsum(factor)])[lifetime - tenure]  # payments in periods tenure..L-1
    value = residual_value(
        _pinned(BdW.kind_name, {"alpha": [alpha], "beta": [beta], "c": [c]}),
        tenure=tenure,
        value_per_period=1.0,
        discount_rate=d,
    )
    assert abs(value["mean"].iloc[0] - derl.mean()) < 4 * derl.std() / np.sqrt(derl.size)


def test_projections_refuse_a_non_contractual_fit():
    with pytest.raises(LtvlabError, match="contractual model fit"):
        project_retention(
            _pinned(BGNBD.kind_name, {"r": [0.24], "alpha": [4.4], "a": [0.8], "b": [2.4]}), periods=3
        )


def test_duration_dependence_reads_the_interval_of_c():
    rng = np.random.default_rng(2)
    draws = {"alpha": np.full((400, 3), 0.9), "beta": np.full((400, 3), 1.4)}
    draws["c"] = np.column_stack([0.6 + 0.05 * rng.standard_normal(400), 1 + 0.2 * rng.standard_normal(400), 1.6 + 0.05 * rng.standard_normal(400)])  # fmt: skip
    fit = FixedFit(BdW.kind_name, draws, segments=("falling", "unclear", "rising"))
    fit.pooling = "none"
    table = duration_dependence(fit, level=0.9).set_index("cohort")
    np.testing.assert_allclose(table["c_lower"], np.quantile(draws["c"], 0.05, axis=0))
    np.testing.assert_allclose(table["c_upper"], np.quantile(draws["c"], 0.95, axis=0))
    assert "falls" in table.loc["falling", "reading"] and "rises" in table.loc["rising", "reading"]
    assert "no duration dependence" in table.loc["unclear", "reading"]
    with pytest.raises(LtvlabError, match="BdW fit"):
        duration_dependence(_pinned(SBG.kind_name, {"alpha": [0.7], "beta": [1.2]}))


def test_the_retention_plot_draws_each_model_and_cohort_with_its_band():
    import matplotlib

    matplotlib.use("Agg")
    from ltvlab.ltv.model_plots import plot_retention_models

    bdw = _pinned(BdW.kind_name, {"alpha": [0.9, 1.0], "beta": [1.4, 1.5], "c": [0.6, 0.7]})
    sbg = _pinned(SBG.kind_name, {"alpha": [0.9, 1.0], "beta": [1.4, 1.5]})
    projections = [project_retention(sbg, periods=10), project_retention(bdw, periods=10)]
    left, right = plot_retention_models(projections, last_observed=7)
    assert [line.get_label() for line in left.get_lines()][:2] == ["all: sBG", "all: BdW"]
    survival = left.get_lines()[1].get_ydata()
    t = np.arange(11.0)
    np.testing.assert_allclose(
        survival, (bdw_survival(t, 0.9, 1.4, 0.6) + bdw_survival(t, 1.0, 1.5, 0.7)) / 2
    )
    assert len(right.get_lines()[0].get_xdata()) == 10  # retention rates from period 1
