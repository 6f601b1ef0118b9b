"""Predictions of the time-varying-covariate models under a contact plan, checked against closed forms.

Truths: with zero effects the plain models' P(alive) and conditional expected purchases
(:mod:`ltvlab.ltv.formulas`); for customers never contacted in calibration, a plan that holds the covariates
constant at ``c`` is the registered models' strategy expectation with rate multipliers ``exp(gamma c)`` and
``exp(delta c)`` (:func:`ltvlab.ltv.registry.ModelDef.strategy_purchases`); and the discounted sum of the
per-period expectations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.ltv import get_model
from ltvlab.ltv.diagnostics import map_diagnostics
from ltvlab.ltv.interactions import prepare_tvc_data
from ltvlab.ltv.interactions.fit import TVCFit
from ltvlab.ltv.interactions.predict import incremental_value_draws, predict_plan

ORIGIN = pd.Timestamp("2024-01-01")
CAL_END = pd.Timestamp("2024-07-01")  # 26 weeks after ORIGIN: on the grid
NAMES = ("contacts_email", "contacts_sms")
BASE = {
    "bgnbd": {"r": 0.8, "alpha": 3.0, "a": 0.7, "b": 2.5},
    "paretonbd": {"r": 0.8, "alpha": 3.0, "s": 0.6, "beta": 9.0},
}


def case(seed=0, n=40):
    rng = np.random.default_rng(seed)
    rows, cov = [], []
    for i in range(n):
        cid = f"c{i:02d}"
        first = ORIGIN + pd.Timedelta(hours=float(rng.uniform(0, 24 * 7 * 12)))
        rows.append((cid, first))
        for _ in range(int(rng.integers(0, 6))):
            rows.append((cid, first + pd.Timedelta(hours=float(rng.uniform(0, 24 * 7 * 13)))))
        if i % 2 == 0:  # odd customers are never contacted
            for p in range(26):
                if rng.random() < 0.4:
                    cov.append((cid, ORIGIN + pd.Timedelta(weeks=p), *rng.choice([0.0, 1.0, 2.0], size=2)))
    tx = pd.DataFrame(rows, columns=["customer_id", "date"])
    table = pd.DataFrame(cov, columns=["customer_id", "period_start", *NAMES])
    data = prepare_tvc_data(tx, table, calibration_end=CAL_END, origin=ORIGIN, period_length="7D")
    return data, table


def fixed_fit(model, gamma, delta=None):
    params = BASE[model]
    draws = {k: np.array([[v]]) for k, v in params.items()}
    draws["gamma"] = np.array([[gamma]], float)
    dropout = ()
    if model == "paretonbd":
        draws["delta"] = np.array([[delta]], float)
        dropout = NAMES
    return TVCFit(
        model=model,
        segments=("all",),
        purchase_covariates=NAMES,
        dropout_covariates=dropout,
        static_covariates=(),
        static_mean=(),
        static_scale=(),
        draws=draws,
        diagnostics=map_diagnostics(True, "", ["r"]),
        method="map",
        pooling="complete",
        effect_pooling="complete",
        unit="W",
        period_length=pd.Timedelta(days=7),
        origin=ORIGIN,
        calibration_end=CAL_END,
        carry_over="window:4",
        randomised=True,
        n_customers=0,
        n_rows=0,
        log_likelihood=0.0,
        seed=0,
    )


def constant_plan(data, level):
    periods = CAL_END + pd.to_timedelta(7 * np.arange(20), unit="D")
    frame = pd.MultiIndex.from_product([data.customer_id, periods], names=["customer_id", "period_start"])
    return pd.DataFrame(index=frame).reset_index().assign(contacts_email=level[0], contacts_sms=level[1])


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_zero_effects_equal_plain_model(model):
    data, _table = case(1)
    fit = fixed_fit(model, [0.0, 0.0], [0.0, 0.0])
    pred = predict_plan(
        fit, data, constant_plan(data, (1.0, 2.0)), horizon_periods=20, annual_discount_rate=0.0
    )
    x, t_x, T = data.x[data.inverse], data.t_x[data.inverse], data.T[data.inverse]
    spec = get_model(model)
    params = list(BASE[model].values())
    np.testing.assert_allclose(pred.p_alive[0], spec.p_alive(x, t_x, T, *params), rtol=1e-9)
    expected = spec.expected_purchases(20.0, x, t_x, T, *params)
    np.testing.assert_allclose(pred.expected_purchases[0], expected, rtol=1e-8)
    # with no discounting and a spend of 1 the CLV is the expected number of purchases
    np.testing.assert_allclose(pred.clv[0], expected, rtol=1e-8)


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_constant_plan_is_a_rate_multiplier(model):
    data, table = case(2)
    gamma, delta = np.array([0.3, -0.2]), np.array([0.25, -0.4])
    fit = fixed_fit(model, gamma, delta)
    level = np.array([1.0, 2.0])
    pred = predict_plan(fit, data, constant_plan(data, level), horizon_periods=20, annual_discount_rate=0.0)
    ids = data.customer_id
    never = np.array([cid not in set(table["customer_id"]) for cid in ids])
    assert never.sum() >= 10
    x, t_x, T = (v[data.inverse][never] for v in (data.x, data.t_x, data.T))
    spec = get_model(model)
    params = {k: np.array([[v]]) for k, v in BASE[model].items()}
    m_rate = np.exp(gamma @ level)
    m_drop = np.exp(delta @ level) if model == "paretonbd" else 1.0
    cumulative = spec.strategy_purchases(x[None], t_x[None], T[None], params, m_rate, m_drop)
    np.testing.assert_allclose(pred.expected_purchases[0][never], cumulative(20.0)[0], rtol=1e-8)


def test_incremental_value_of_a_contact():
    data, table = case(3)
    gamma = np.array([0.4, 0.0])
    fit = fixed_fit("paretonbd", gamma, [0.0, 0.0])
    empty = table.iloc[:0]

    class Window:  # carry-over: the contact counts in its period and the next one
        @staticmethod
        def weights(n):
            return (np.arange(n) < 2).astype(float)

    values = incremental_value_draws(
        fit,
        data,
        empty,
        carry_over=Window(),
        horizon_periods=20,
        annual_discount_rate=0.0,
        spend_per_purchase=10.0,
    )
    assert set(values["strategy"]) == {"email", "sms"}
    sms = values.loc[values["strategy"] == "sms", "incremental_value"].to_numpy()
    np.testing.assert_allclose(sms, 0.0, atol=1e-12)  # no effect, no value
    email = values.loc[values["strategy"] == "email", "incremental_value"].iloc[0]
    # the same by hand: plan with the contact's covariate path, minus the empty plan
    periods = CAL_END + pd.to_timedelta(7 * np.arange(2), unit="D")
    idx = pd.MultiIndex.from_product([data.customer_id, periods], names=["customer_id", "period_start"])
    plan = pd.DataFrame(index=idx).reset_index().assign(contacts_email=1.0, contacts_sms=0.0)
    with_contact = predict_plan(
        fit, data, plan, horizon_periods=20, annual_discount_rate=0.0, spend_per_purchase=10.0
    )
    without = predict_plan(
        fit, data, empty, horizon_periods=20, annual_discount_rate=0.0, spend_per_purchase=10.0
    )
    assert email > 0
    np.testing.assert_allclose(email, np.mean(with_contact.clv[0] - without.clv[0]), rtol=1e-10)


def test_pnbd_future_integral_matches_quadrature():
    """The per-period closed form of the Pareto/NBD future purchases against a direct quadrature."""
    from scipy import integrate

    data, _table = case(4, n=10)
    gamma, delta = np.array([0.3, 0.1]), np.array([0.5, -0.3])
    fit = fixed_fit("paretonbd", gamma, delta)
    plan = constant_plan(data, (0.0, 0.0)).iloc[:0]
    rng = np.random.default_rng(0)
    rows = []
    for cid in data.customer_id:
        for p in range(6):
            rows.append(
                (cid, CAL_END + pd.Timedelta(weeks=p), float(rng.integers(0, 3)), float(rng.integers(0, 2)))
            )
    plan = pd.DataFrame(rows, columns=["customer_id", "period_start", *NAMES])
    pred = predict_plan(fit, data, plan, horizon_periods=6, annual_discount_rate=0.0)
    from ltvlab.ltv.interactions.likelihood import tvc_components

    params = {k: np.array([v]) for k, v in BASE["paretonbd"].items()}
    comp = tvc_components(
        data, "paretonbd", {**params, "gamma": gamma[None], "delta": delta[None]}, [0, 1], [0, 1]
    )
    r, alpha, s, beta = BASE["paretonbd"].values()
    for i, cid in enumerate(data.customer_id):
        row = data.inverse[i]
        z = plan[plan["customer_id"] == cid][list(NAMES)].to_numpy()
        ea, eb = np.exp(z @ gamma), np.exp(z @ delta)
        q = beta + comp["B_T"][row]

        def integrand(u, ea=ea, eb=eb, q=q):
            k = min(int(u), 5)
            v = eb[:k].sum() + eb[k] * (u - k)
            return ea[k] * (q / (q + v)) ** s

        total = sum(integrate.quad(integrand, k, k + 1, epsabs=0, epsrel=1e-12)[0] for k in range(6))
        p_alive = 1 / (1 + np.exp(comp["log_dead"][row] - comp["log_alive"][row]))
        expected = p_alive * (r + data.x[row]) / (alpha + comp["A_T"][row]) * total
        assert abs(pred.expected_purchases[0][i] - expected) < 1e-10 * max(1.0, expected)


def test_values_feed_the_budget_allocation_and_plan_covariates():
    from ltvlab.data.contacts import CarryOver
    from ltvlab.ltv.interactions import plan_covariates, summarise_values
    from ltvlab.strategy.allocation import allocate_budget

    data, _table = case(5)
    fit = fixed_fit("paretonbd", np.array([0.4, 0.1]), [0.0, -0.2])
    history = pd.DataFrame(
        {
            "customer_id": ["c00", "c02"],
            "timestamp": [CAL_END - pd.Timedelta(days=3), CAL_END - pd.Timedelta(days=10)],
            "strategy": ["email", "sms"],
        }
    )
    baseline = plan_covariates(
        history,
        "none",
        origin=ORIGIN,
        period_length="7D",
        calibration_end=CAL_END,
        horizon_periods=20,
        carry_over=CarryOver.window(2),
        strategies=["email", "sms"],
    )
    # the "none" plan keeps the carry-over of the contact sent 3 days before the end: one more period
    tail = baseline[(baseline["period_start"] >= CAL_END) & (baseline["customer_id"] == "c00")]
    assert tail["contacts_email"].tolist() == [1.0]
    values = incremental_value_draws(
        fit, data, baseline, carry_over=CarryOver.window(2), horizon_periods=20, spend_per_purchase=20.0
    )
    costs = {"email": 0.1, "sms": 0.3}
    summary = summarise_values(values, costs)
    assert (summary["value_per_contact"] > 0).all()
    np.testing.assert_allclose(summary["value_per_cost"], summary["value_per_contact"] / summary["cost"])
    result = allocate_budget(values, budget=5.0, costs=costs, segment_sizes={"all": 40})
    assert result.spent <= 5.0 and result.expected_return > 0
