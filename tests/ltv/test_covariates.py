"""Customer covariates on purchase and dropout rates: likelihood, recovery of known effects, predictions, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic_btyd import bgnbd_counts, pareto_nbd_counts
from ltvlab.errors import LtvlabError
from ltvlab.ltv import BGNBD, GammaGamma, ParetoNBD, customer_lifetime_value, formulas, holdout_validation
from ltvlab.ltv.distributions import bgnbd_loglik, pnbd_loglik

# Truth on the raw covariate scale: a binary trait (e.g. acquired by e-mail) that raises the purchase rate and
# lowers dropout, and a three-level one (0, 1, 2) acting on the purchase rate only.
R, ALPHA, A, B = 0.8, 6.0, 0.7, 3.0
G_PURCHASE = np.array([0.5, -0.3])  # alpha_i = alpha exp(-g . v_i)
G_A, G_B = np.array([-0.6]), np.array([0.4])  # a_i = a exp(g_a v), b_i = b exp(g_b v): binary trait only


def _simulate_bgnbd(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    email = rng.integers(0, 2, n).astype(float)
    tier = rng.integers(0, 3, n).astype(float)
    alpha_i = ALPHA * np.exp(-(G_PURCHASE[0] * email + G_PURCHASE[1] * tier))
    a_i, b_i = A * np.exp(G_A[0] * email), B * np.exp(G_B[0] * email)
    lam = rng.gamma(R, 1.0 / alpha_i)
    p = rng.beta(a_i, b_i)
    T = np.round(rng.uniform(20.0, 52.0, n) * 7) / 7  # weeks with day resolution
    holdout = np.full(n, 26.0)
    x, t_x, x_h = bgnbd_counts(lam, p, T, holdout, rng)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n).astype(str),
            "x": x,
            "t_x": np.round(t_x * 7) / 7,
            "T": T,
            "email": email,
            "tier": tier,
            "x_holdout": x_h,
            "duration_holdout": holdout,
        }
    )
    frame["t_x"] = np.minimum(frame["t_x"], frame["T"])
    frame.loc[frame["x"] > 0, "t_x"] = np.maximum(frame.loc[frame["x"] > 0, "t_x"], 1 / 7)
    frame.attrs["unit"] = "W"
    return frame


def _standardised_truth(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The truth in the fit's parametrisation: per-sd coefficients and baseline at the covariate means."""
    mean = frame[["email", "tier"]].mean().to_numpy()
    sd = frame[["email", "tier"]].std(ddof=0).to_numpy()
    return {
        "gamma_purchase": G_PURCHASE * sd,
        "gamma_dropout_a": G_A * sd[:1],
        "gamma_dropout_b": G_B * sd[:1],
        "alpha": np.array([ALPHA * np.exp(-(G_PURCHASE @ mean))]),
        "a": np.array([A * np.exp(G_A[0] * mean[0])]),
        "b": np.array([B * np.exp(G_B[0] * mean[0])]),
        "r": np.array([R]),
    }


def _per_customer(fit, frame: pd.DataFrame) -> list[np.ndarray]:
    """Per-customer parameters computed by hand from a one-draw (MAP) fit: the independent reference."""
    cov = fit.covariates
    z = (frame[list(cov.columns)].to_numpy(float) - np.array([cov.mean[c] for c in cov.columns])) / np.array(
        [cov.scale[c] for c in cov.columns]
    )
    d = {k: v[0] for k, v in fit.param_draws.items()}
    zp = z[:, [cov.columns.index(c) for c in cov.purchase]]
    zd = z[:, [cov.columns.index(c) for c in cov.dropout]]
    if fit.model_name == "bgnbd":
        return [
            np.full(len(frame), d["r"][0]),
            d["alpha"][0] * np.exp(-zp @ d["gamma_purchase"]),
            d["a"][0] * np.exp(zd @ d["gamma_dropout_a"]),
            d["b"][0] * np.exp(zd @ d["gamma_dropout_b"]),
        ]
    return [
        np.full(len(frame), d["r"][0]),
        d["alpha"][0] * np.exp(-zp @ d["gamma_purchase"]),
        np.full(len(frame), d["s"][0]),
        d["beta"][0] * np.exp(-zd @ d["gamma_dropout"]),
    ]


def _loglik(model, point: dict) -> float:
    """The model's log density at ``point``: with flat priors, exactly its log-likelihood."""
    return float(model.compile_logp(jacobian=False)({**model.initial_point(), **point}))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _simulate_bgnbd(20_000, seed=3)


@pytest.fixture(scope="module")
def map_fit(frame):
    spec = BGNBD(priors="flat", purchase_covariates=("email", "tier"), dropout_covariates=("email",))
    return spec.fit(frame, method="map")


def test_model_log_density_is_the_per_customer_likelihood(frame):
    """Compressed on (cell, x, t_x, T) with weights, the model's likelihood equals the per-customer sum."""
    spec = BGNBD(priors="flat", purchase_covariates=("email", "tier"), dropout_covariates=("email",))
    model = spec.build_model(frame)
    point = model.initial_point()
    rng = np.random.default_rng(0)
    values = {
        "log_r": np.log(0.7),
        "log_alpha": np.log(5.0),
        "log_a": np.log(0.8),
        "log_b": np.log(2.5),
        "gamma_purchase": rng.normal(0, 0.5, 2),
        "gamma_dropout_a": rng.normal(0, 0.5, 1),
        "gamma_dropout_b": rng.normal(0, 0.5, 1),
    }
    point.update(values)
    got = _loglik(model, point)
    cov = spec.prepare(frame).covariates
    z = cov.matrix(frame)
    alpha_i = 5.0 * np.exp(-z @ values["gamma_purchase"])
    a_i = 0.8 * np.exp(z[:, :1] @ values["gamma_dropout_a"])
    b_i = 2.5 * np.exp(z[:, :1] @ values["gamma_dropout_b"])
    want = bgnbd_loglik(frame["x"], frame["t_x"], frame["T"], 0.7, alpha_i, a_i, b_i).sum()
    assert float(got) == pytest.approx(want, rel=1e-10)
    # compression still works: one row per distinct (covariates, x, t_x, T)
    distinct = frame[["email", "tier", "x", "t_x", "T"]].drop_duplicates()
    assert spec.prepare(frame).rows.n_rows == len(distinct) < len(frame)


def test_zero_coefficients_give_the_model_without_covariates(frame):
    plain = BGNBD(priors="flat").build_model(frame)
    with_cov = BGNBD(priors="flat", purchase_covariates=("email",), dropout_covariates=("tier",)).build_model(
        frame
    )
    point = {"log_r": -0.3, "log_alpha": 1.7, "log_a": -0.2, "log_b": 0.9}
    a = _loglik(plain, point)
    zeros = {"gamma_purchase": np.zeros(1), "gamma_dropout_a": np.zeros(1), "gamma_dropout_b": np.zeros(1)}
    b = _loglik(with_cov, {**point, **zeros})
    assert float(b) == pytest.approx(float(a), rel=1e-12)


def test_maximum_likelihood_recovers_known_effects(frame, map_fit):
    """MLE on 20,000 simulated customers: every coefficient and baseline within 4 standard errors of the truth.

    Standard errors from the observed information (the Hessian of the log-likelihood at the MLE, by finite
    differences of the fit's exact gradient).
    """
    truth = _standardised_truth(frame)
    spec = BGNBD(priors="flat", purchase_covariates=("email", "tier"), dropout_covariates=("email",))
    model = spec.build_model(frame)
    names = ["log_r", "log_alpha", "log_a", "log_b", "gamma_purchase", "gamma_dropout_a", "gamma_dropout_b"]
    est = {
        "log_r": np.log(map_fit.param_draws["r"][0, 0]),
        "log_alpha": np.log(map_fit.param_draws["alpha"][0, 0]),
        "log_a": np.log(map_fit.param_draws["a"][0, 0]),
        "log_b": np.log(map_fit.param_draws["b"][0, 0]),
        **{k: map_fit.param_draws[k][0] for k in names[4:]},
    }
    flat = np.concatenate([np.atleast_1d(est[k]) for k in names])
    sizes = [np.atleast_1d(est[k]).size for k in names]
    dlogp = model.compile_dlogp(vars=[model[k] for k in names], jacobian=False)

    def grad(v):
        parts = np.split(v, np.cumsum(sizes)[:-1])
        return dlogp({k: (p if est[k].ndim else p[0]) for k, p in zip(names, parts, strict=True)})

    h = 1e-5
    hessian = np.array([(grad(flat + h * e) - grad(flat - h * e)) / (2 * h) for e in np.eye(flat.size)])
    se = np.sqrt(np.diag(np.linalg.inv(-(hessian + hessian.T) / 2)))
    want = np.concatenate(
        [
            np.log(truth["r"]),
            np.log(truth["alpha"]),
            np.log(truth["a"]),
            np.log(truth["b"]),
            truth["gamma_purchase"],
            truth["gamma_dropout_a"],
            truth["gamma_dropout_b"],
        ]
    )
    z = (flat - want) / se
    assert np.all(np.abs(z) < 4.0), dict(
        zip(["r", "alpha", "a", "b", "gp_email", "gp_tier", "ga", "gb"], z, strict=True)
    )
    # the effects are real: purchase coefficients more than 4 standard errors from zero
    assert np.all(np.abs(flat[4:6]) / se[4:6] > 4)


def test_summary_lists_the_coefficients(map_fit):
    table = map_fit.summary()
    rows = table[table["segment"].str.startswith("covariate:")]
    assert set(zip(rows["segment"], rows["param"], strict=True)) == {
        ("covariate:email", "gamma_purchase"),
        ("covariate:tier", "gamma_purchase"),
        ("covariate:email", "gamma_dropout_a"),
        ("covariate:email", "gamma_dropout_b"),
    }
    assert map_fit.config["covariates"]["purchase"] == ["email", "tier"]


def test_predictions_use_each_customers_parameters(frame, map_fit):
    sample = frame.iloc[:3_000]
    params = _per_customer(map_fit, sample)
    args = (sample["x"].to_numpy(float), sample["t_x"].to_numpy(float), sample["T"].to_numpy(float))
    p_alive = map_fit.p_alive(sample)["mean"].to_numpy()
    np.testing.assert_allclose(p_alive, formulas.bgnbd_p_alive(*args, *params), rtol=1e-10)
    expected = map_fit.expected_purchases(sample, 26.0)["mean"].to_numpy()
    np.testing.assert_allclose(expected, formulas.bgnbd_expected_purchases(26.0, *args, *params), rtol=1e-10)
    # the holdout comparison uses the same per-customer expectations
    result = holdout_validation(map_fit, sample, max_draws=None)
    np.testing.assert_allclose(result.per_customer["predicted"].to_numpy(), expected, rtol=1e-10)


def test_covariates_improve_the_holdout_prediction(frame, map_fit):
    """The covariate model predicts held-out purchases better (log density) than the same model without them."""
    plain = BGNBD(priors="flat").fit(frame, method="map")
    with_cov = holdout_validation(map_fit, frame, max_draws=None)
    without = holdout_validation(plain, frame, max_draws=None)
    assert with_cov.log_predictive_density > without.log_predictive_density + 10


def test_clv_with_covariates_matches_a_hand_computation(frame, map_fit):
    sample = frame.iloc[:500].assign(monetary=np.where(frame["x"].iloc[:500] > 0, 40.0, 0.0))
    spend = GammaGamma(priors="flat").fit(
        frame.iloc[:5_000].assign(monetary=np.random.default_rng(1).gamma(6.0, 7.0, 5_000)), method="map"
    )
    clv = customer_lifetime_value(
        map_fit, spend, sample, horizon_weeks=52, period_weeks=52, annual_discount_rate=0
    )
    params = _per_customer(map_fit, sample)
    args = (sample["x"].to_numpy(float), sample["t_x"].to_numpy(float), sample["T"].to_numpy(float))
    purchases = formulas.bgnbd_expected_purchases(52.0, *args, *params)
    p, q, g = (spend.param_draws[k][0, 0] for k in ("p", "q", "gamma"))
    value = purchases * formulas.gg_expected_spend(args[0], sample["monetary"].to_numpy(float), p, q, g)
    np.testing.assert_allclose(clv["clv_mean"].to_numpy(), value, rtol=1e-9)


def test_pareto_nbd_covariates_likelihood():
    rng = np.random.default_rng(5)
    n = 3_000
    email = rng.integers(0, 2, n).astype(float)
    lam = rng.gamma(0.6, 1.0 / (8.0 * np.exp(-0.4 * email)))
    mu = rng.gamma(0.7, 1.0 / (12.0 * np.exp(0.5 * email)))
    T = np.round(rng.uniform(20.0, 40.0, n) * 7) / 7
    x, t_x, _ = pareto_nbd_counts(lam, mu, T, None, rng)
    frame = pd.DataFrame({"x": x, "t_x": np.minimum(np.round(t_x * 7) / 7, T), "T": T, "email": email})
    spec = ParetoNBD(priors="flat", purchase_covariates=("email",), dropout_covariates=("email",))
    model = spec.build_model(frame)
    point = {"log_r": np.log(0.6), "log_alpha": np.log(8.0), "log_s": np.log(0.7), "log_beta": np.log(12.0)}
    point.update({"gamma_purchase": np.array([0.3]), "gamma_dropout": np.array([-0.2])})
    got = _loglik(model, point)
    z = spec.prepare(frame).covariates.matrix(frame)[:, 0]
    want = pnbd_loglik(x, frame["t_x"], T, 0.6, 8.0 * np.exp(-0.3 * z), 0.7, 12.0 * np.exp(0.2 * z)).sum()
    # the PyTensor Pareto/NBD uses a quadrature accurate to ~1e-4 per customer
    assert float(got) == pytest.approx(want, abs=1e-4 * n)


@pytest.mark.parametrize(
    "kwargs, summary_change, message",
    [
        ({"purchase_covariates": ("nope",)}, None, "not in the summary"),
        ({"purchase_covariates": ("constant",)}, None, "constant"),
        ({"dropout_covariates": ("label",)}, None, "must be numeric"),
        ({"purchase_covariates": ("email",)}, "nan", "missing or infinite"),
    ],
)
def test_bad_covariates_are_refused(frame, kwargs, summary_change, message):
    data = frame.iloc[:2_000].assign(constant=1.0, label="x")
    if summary_change == "nan":
        data = data.assign(email=data["email"].where(data.index != 5))
    with pytest.raises(LtvlabError, match=message):
        BGNBD(**kwargs).fit(data, method="map")


def test_covariate_spec_errors():
    with pytest.raises(LtvlabError, match="list of column names"):
        BGNBD(purchase_covariates="email")
    with pytest.raises(LtvlabError, match="BGNBD or ParetoNBD"):
        GammaGamma(purchase_covariates=("email",))


def test_scoring_needs_the_covariate_columns(frame, map_fit):
    with pytest.raises(LtvlabError, match="not in the summary"):
        map_fit.p_alive(frame.drop(columns=["tier"]).iloc[:10])


def test_posterior_predictive_draws_use_each_customers_rates(frame, map_fit):
    """Simulated future purchases of each covariate group average to the closed-form expectation with
    per-customer rates, within Monte Carlo error; the rates without covariates would be far off."""
    from ltvlab.ltv import sample_future_value

    sample = frame.iloc[:4_000]
    sims = sample_future_value(
        map_fit,
        None,
        sample,
        horizon_weeks=26.0,
        period_weeks=2.0,
        segment="email",
        max_draws=None,
        sims_per_draw=400,
        seed=3,
    )
    params = _per_customer(map_fit, sample)
    baseline = [np.full(len(sample), map_fit.param_draws[k][0, 0]) for k in ("r", "alpha", "a", "b")]
    args = (sample["x"].to_numpy(float), sample["t_x"].to_numpy(float), sample["T"].to_numpy(float))
    expected = formulas.bgnbd_expected_purchases(26.0, *args, *params)
    without = formulas.bgnbd_expected_purchases(26.0, *args, *baseline)
    totals = sims.segment_totals
    for label, group in totals.groupby("segment"):
        draws = group["purchases"].to_numpy()
        in_group = sample["email"].astype(str).to_numpy() == label
        se = draws.std(ddof=1) / np.sqrt(draws.size)
        assert abs(draws.mean() - expected[in_group].sum()) < 4 * se, label
        assert abs(without[in_group].sum() - expected[in_group].sum()) > 10 * se, label


def test_extreme_covariate_values_draw_a_warning(frame):
    data = frame.iloc[:3_000].assign(spend=np.r_[np.ones(2_999), 10_000.0])  # one customer 55 sd out
    with pytest.warns(UserWarning, match="standard deviations from their mean"):
        BGNBD(purchase_covariates=("spend",)).prepare(data)
