"""The contact-CRM generator against closed forms of the processes it simulates.

Every mean check allows K Monte Carlo standard errors (sample sd of the per-customer residuals / sqrt(n)); with
K = 4 a correct simulator fails a check with probability about 6e-5, and the seeds are fixed.

With time-varying covariates the expectations still have closed forms given each customer's covariate path:
- Pareto/NBD: ``E[X] = E[lam exp(b score)] * int_0^T exp(gamma z(t)) * (beta / (beta + H(t)))^s dt`` with
  ``H(t) = int_0^t exp(delta z(u)) du`` (the gamma mixture of the survival ``exp(-mu H(t))``);
- BG/NBD: purchases run on the clock ``L(t) = int_0^t exp(gamma z(u)) du`` and dropout happens only at purchases,
  so ``E[X(T)]`` is the BG/NBD closed form evaluated at ``L(T)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from ltvlab.data.contacts import CarryOver, contact_covariates
from ltvlab.data.synthetic_contacts import ContactStrategy, simulate_contact_crm
from ltvlab.errors import LtvlabError
from ltvlab.features import customer_summary

K = 4.0


def bgnbd_expected_x(t, r, alpha, a, b):
    """E[X(t)], Fader, Hardie & Lee (2005), eq. (9)."""
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def pareto_expected_x(t, r, alpha, s, beta):
    """E[X(t)], Schmittlein, Morrison & Colombo (1987)."""
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def _assert_mean(residual: np.ndarray, label: str) -> None:
    se = np.std(residual, ddof=1) / np.sqrt(residual.size)
    assert abs(residual.mean()) < K * se, f"{label}: mean residual {residual.mean():.4f}, se {se:.4f}"


def _segment_values(sim, name: str) -> np.ndarray:
    seg = sim.segments.set_index("segment")[name]
    return seg.loc[sim.customers["segment"].astype(str)].to_numpy()


def _dense_z(sim) -> np.ndarray:
    """``(customers, periods, strategies)`` covariates from the public long table (absent rows are 0)."""
    cov = sim.covariates
    names = [s.name for s in sim.strategies]
    ids = sim.customers["customer_id"].to_numpy()
    z = np.zeros((ids.size, cov.attrs["n_periods"], len(names)))
    row = pd.Index(ids).get_indexer(cov["customer_id"])
    period = ((cov["period_start"] - sim.origin) / sim.period_length).round().astype(int).to_numpy()
    for j, name in enumerate(names):
        z[row, period, j] = cov[f"contacts_{name}"].to_numpy()
    return z


def _pieces(sim):
    """Per period: (time alive-eligible in the period in weeks, per customer) with acquisition offsets."""
    length = sim.period_length / pd.Timedelta(days=7)
    acq = ((sim.customers["first_purchase"] - sim.origin) / pd.Timedelta(days=7)).to_numpy()
    n_periods = sim.covariates.attrs["n_periods"]
    for q in range(n_periods):
        lo = np.maximum(acq, q * length)
        yield q, np.clip((q + 1) * length - lo, 0.0, None)


def _effect_matrix(sim, parameter: str) -> np.ndarray:
    names = [s.name for s in sim.strategies]
    sub = sim.truth[sim.truth["parameter"] == parameter]
    if sub.empty:
        return np.zeros((len(sim.customers), len(names)))
    table = sub.pivot(index="segment", columns="strategy", values="value").reindex(columns=names)
    return table.loc[sim.customers["segment"].astype(str)].to_numpy()


def test_pareto_nbd_without_effects_matches_the_closed_form():
    sim = simulate_contact_crm(20_000, n_segments=3, model="paretonbd", effects={}, score_effect=0.0, seed=3)
    c = sim.customers
    expected = pareto_expected_x(
        c["T"].to_numpy(), *(_segment_values(sim, k) for k in ("r", "alpha", "s", "beta"))
    )
    _assert_mean(c["x"].to_numpy() - expected, "Pareto/NBD E[X(T)] without effects")


def test_bgnbd_without_effects_matches_the_closed_form():
    sim = simulate_contact_crm(20_000, n_segments=2, model="bgnbd", effects={}, score_effect=0.0, seed=4)
    c = sim.customers
    expected = bgnbd_expected_x(
        c["T"].to_numpy(), *(_segment_values(sim, k) for k in ("r", "alpha", "a", "b"))
    )
    _assert_mean(c["x"].to_numpy() - expected, "BG/NBD E[X(T)] without effects")
    # P(X = 0) = (alpha / (alpha + T))^r: nobody drops out before the first repeat purchase
    p0 = (_segment_values(sim, "alpha") / (_segment_values(sim, "alpha") + c["T"])) ** _segment_values(
        sim, "r"
    )
    _assert_mean((c["x"] == 0).to_numpy() - p0.to_numpy(), "BG/NBD P(X = 0)")


@pytest.mark.parametrize("carry_over", [CarryOver.window(4), CarryOver.geometric(0.6)])
def test_pareto_nbd_with_time_varying_contacts_matches_the_integral(carry_over):
    sim = simulate_contact_crm(
        20_000,
        n_segments=3,
        model="paretonbd",
        strategies=[ContactStrategy("email", 0.5, 0.1), ContactStrategy("call", 0.2, 3.0)],
        effects={
            "email": {"purchase": [0.2, 0.4, 0.6], "dropout": -0.3},
            "call": {"purchase": 0.5, "dropout": 0.4},
        },
        carry_over=carry_over,
        score_effect=0.5,
        seed=5,
    )
    z = _dense_z(sim)
    gamma, delta = _effect_matrix(sim, "purchase"), _effect_matrix(sim, "dropout")
    r, alpha, s, beta = (_segment_values(sim, k) for k in ("r", "alpha", "s", "beta"))
    hazard = np.zeros(len(sim.customers))  # H at the start of the piece
    integral = np.zeros(len(sim.customers))
    for q, e in _pieces(sim):
        c = np.exp((z[:, q] * delta).sum(axis=1))
        up = (beta + hazard + c * e) ** (1 - s) - (beta + hazard) ** (1 - s)
        integral += np.exp((z[:, q] * gamma).sum(axis=1)) * beta**s / (c * (1 - s)) * up
        hazard += c * e
    # randomised contacts are independent of the score: E[exp(0.5 score)] = exp(0.125)
    expected = r / alpha * np.exp(0.5**2 / 2) * integral
    _assert_mean(sim.customers["x"].to_numpy() - expected, f"Pareto/NBD with {carry_over}")
    # the effects matter: the closed form without them is far off
    plain = pareto_expected_x(sim.customers["T"].to_numpy(), r, alpha, s, beta) * np.exp(0.125)
    assert abs((sim.customers["x"].to_numpy() - plain).mean()) > 0.2


def test_bgnbd_with_time_varying_contacts_runs_on_the_changed_clock():
    sim = simulate_contact_crm(
        20_000,
        n_segments=2,
        model="bgnbd",
        strategies=["email", "sms"],
        effects={"email": {"purchase": [0.3, 0.7]}, "sms": {"purchase": -0.4}},
        carry_over=CarryOver.window(3),
        score_effect=0.0,
        seed=6,
    )
    z = _dense_z(sim)
    gamma = _effect_matrix(sim, "purchase")
    clock = np.zeros(len(sim.customers))
    for q, e in _pieces(sim):
        clock += np.exp((z[:, q] * gamma).sum(axis=1)) * e
    expected = bgnbd_expected_x(clock, *(_segment_values(sim, k) for k in ("r", "alpha", "a", "b")))
    _assert_mean(sim.customers["x"].to_numpy() - expected, "BG/NBD on the contact clock")


def test_a_constant_contact_multiplies_the_rate():
    # every period after acquisition brings one contact, counted for that period only: z = 1 from the first full
    # period on; among customers acquired at a period start, E[X] is the closed form on the clock exp(gamma) T
    sim = simulate_contact_crm(
        20_000,
        n_segments=1,
        model="bgnbd",
        strategies=[ContactStrategy("push", 1.0, 0.0)],
        effects={"push": {"purchase": 0.5}},
        carry_over=CarryOver.window(1),
        score_effect=0.0,
        seed=7,
    )
    c = sim.customers
    on_grid = ((c["first_purchase"] - sim.origin) % sim.period_length == pd.Timedelta(0)).to_numpy()
    assert on_grid.sum() > 2_000
    T = c["T"].to_numpy()[on_grid]
    r, alpha, a, b = (_segment_values(sim, k)[on_grid] for k in ("r", "alpha", "a", "b"))
    _assert_mean(c["x"].to_numpy()[on_grid] - bgnbd_expected_x(np.exp(0.5) * T, r, alpha, a, b), "z = 1")


def test_data_frames_follow_the_summary_and_contact_conventions():
    sim = simulate_contact_crm(2_000, n_segments=2, model="paretonbd", assignment="targeted", seed=8)
    summary = customer_summary(
        sim.transactions, calibration_end=sim.calibration_end, merge_same_day=False, unit="W"
    ).set_index("customer_id")
    truth = sim.customers.set_index("customer_id")
    assert len(summary) == len(truth)
    np.testing.assert_array_equal(summary["x"], truth.loc[summary.index, "x"])
    np.testing.assert_allclose(summary["T"], truth.loc[summary.index, "T"], atol=1e-9)
    np.testing.assert_allclose(summary["t_x"], truth.loc[summary.index, "t_x"], atol=1e-9)
    assert (sim.transactions["date"] < sim.calibration_end).all()
    # contacts: canonical columns, sorted, after acquisition and before the end
    contacts = sim.contacts
    assert list(contacts.columns) == ["customer_id", "timestamp", "strategy", "cost", "campaign_id"]
    assert contacts["timestamp"].dtype == "datetime64[ns]" and contacts["cost"].dtype == "float64"
    assert contacts.equals(contacts.sort_values(["customer_id", "timestamp"], ignore_index=True))
    first = truth.loc[contacts["customer_id"], "first_purchase"].to_numpy()
    assert (contacts["timestamp"].to_numpy() >= first).all()
    assert (contacts["timestamp"] < sim.calibration_end).all()
    # the covariate table is the public builder's, on the same grid
    rebuilt = contact_covariates(
        contacts,
        origin=sim.origin,
        period_length=sim.period_length,
        end=sim.calibration_end,
        carry_over=sim.carry_over,
        strategies=[s.name for s in sim.strategies],
    )
    pd.testing.assert_frame_equal(rebuilt, sim.covariates)
    assert sim.covariates.attrs["n_periods"] == 52
    assert sim.origin == sim.transactions["date"].min()


def test_targeted_contacts_follow_the_score_and_randomised_ones_do_not():
    per_customer = {}
    for assignment in ("randomised", "targeted"):
        sim = simulate_contact_crm(5_000, n_segments=2, assignment=assignment, seed=9)
        n = sim.contacts.groupby("customer_id").size().reindex(sim.customers["customer_id"], fill_value=0)
        # contacts per eligible period, against the score
        eligible = np.ceil(
            (sim.calibration_end - sim.customers["first_purchase"]) / sim.period_length
        ).to_numpy()
        per_customer[assignment] = np.corrcoef(n.to_numpy() / eligible, sim.customers["score"])[0, 1]
    # with 5,000 customers the sampling sd of a correlation is about 1 / sqrt(5000) = 0.014
    assert abs(per_customer["randomised"]) < 4 / np.sqrt(5_000)
    assert per_customer["targeted"] > 0.3


def test_truth_is_tidy_and_segment_specific():
    sim = simulate_contact_crm(300, n_segments=3, model="paretonbd", seed=10)
    truth = sim.truth
    assert list(truth.columns) == ["segment", "strategy", "parameter", "value"]
    assert len(truth) == 3 * 3 * 2
    purchase = truth[truth["parameter"] == "purchase"].pivot(
        index="segment", columns="strategy", values="value"
    )
    assert purchase.nunique().min() == 3  # each strategy differs across segments
    bg = simulate_contact_crm(300, n_segments=2, model="bgnbd", seed=10)
    assert set(bg.truth["parameter"]) == {"purchase"}
    assert "p" in bg.customers and "mu" in sim.customers


def test_bad_arguments_are_ltvlab_errors():
    with pytest.raises(LtvlabError, match="BG/NBD dropout"):
        simulate_contact_crm(10, n_segments=1, model="bgnbd", effects={"email": {"dropout": 0.2}}, seed=1)
    with pytest.raises(LtvlabError, match="unknown strategy"):
        simulate_contact_crm(
            10, n_segments=1, strategies=["email"], effects={"sms": {"purchase": 0.2}}, seed=1
        )
    with pytest.raises(LtvlabError, match="longer than the 10 period"):
        simulate_contact_crm(10, n_segments=1, periods=10, carry_over=CarryOver.window(12), seed=1)
    with pytest.raises(LtvlabError, match="assignment"):
        simulate_contact_crm(10, n_segments=1, assignment="random", seed=1)
