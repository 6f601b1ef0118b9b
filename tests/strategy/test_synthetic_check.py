"""The budget allocation on synthetic CRMs against the generator's truth: the realised figure in closed form,
the interval on the same draws, and the intervals' coverage over repeated data sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic import generate_crm
from ltvlab.ltv.formulas import pnbd_p_alive
from ltvlab.strategy import (
    REPORT_COVERAGE,
    CoverageStudy,
    allocation_coverage,
    synthetic_allocation_check,
)

STRATEGIES = ("email", "sms", "coupon", "loyalty_programme", "personalised_reco", "call_back")


def _expected_52(shape: np.ndarray, rate: np.ndarray, s: float, beta: np.ndarray) -> np.ndarray:
    """Expected purchases in 52 weeks of a customer alive now, purchase rate ~ Gamma(shape, rate) and dropout
    rate ~ Gamma(s, beta): ``shape / rate * beta / (s - 1) * (1 - (beta / (beta + 52))^(s - 1))``."""
    return shape / rate * beta / (s - 1) * (1 - (beta / (beta + 52.0)) ** (s - 1))


@pytest.fixture(scope="module")
def check():
    crm = generate_crm(5000, model="paretonbd", strategies=STRATEGIES, experiment_strategy=None, seed=7)
    return crm, synthetic_allocation_check(
        crm, budget=1500.0, call_capacity=1500, annual_discount_rate=0.0, n_draws=100, seed=7
    )


def test_true_values_and_realised_returns_in_closed_form(check) -> None:
    """With no discounting the true value per contact of cell (g, k) is the segment mean of
    ``spend_i x P(alive_i) x [E(52; m_r, m_d) - E(52; 1, 1)]``, where a Pareto/NBD customer alive now with
    posterior rates ``Gamma(r + x, alpha + T)`` (purchases) and ``Gamma(s, beta + T)`` (dropout), both scaled by the
    strategy's true multipliers, expects ``E(t) = (r + x) / a' * b' / (s - 1) * (1 - (b' / (b' + t))^(s - 1))``
    purchases in the next ``t`` weeks (``a' = (alpha + T) / m_r``, ``b' = (beta + T) / m_d``). Each policy's
    realised return is then ``sum contacts x (true value - cost)`` with cost = cost per contact x contacts."""
    crm, result = check
    units, params = result.units, crm.segments.set_index("segment")
    for row in result.cells.itertuples():
        rows = units[units["segment"].astype(str) == row.segment]
        r, alpha, s, beta = (params.loc[row.segment, c] for c in ("r", "alpha", "s", "beta"))
        x, t_x, big_t = (rows[c].to_numpy(float) for c in ("x", "t_x", "T"))
        alive = pnbd_p_alive(x, t_x, big_t, r, alpha, s, beta)
        treated = _expected_52(r + x, (alpha + big_t) / row.true_rate_multiplier, s,
                               (beta + big_t) / row.true_dropout_multiplier)  # fmt: skip
        closed = (
            rows["expected_spend"].to_numpy()
            * alive
            * (treated - _expected_52(r + x, alpha + big_t, s, beta + big_t))
        )
        assert row.true_value == pytest.approx(closed.mean(), rel=1e-9, abs=1e-9)
    spec = crm.truth["strategies"]
    truth = result.cells.set_index(["segment", "strategy"])["true_value"]
    plans = result.result.policy_plans
    for row in result.policies.itertuples():
        if row.policy == "oracle":
            plan = result.oracle.plan
        else:
            plan = plans[plans["policy"] == row.policy]
        expected_total = sum(
            p.contacts
            * (
                truth[(p.segment, p.strategy)]
                - spec[p.strategy].cost_per_contact * spec[p.strategy].contacts_mean
            )
            for p in plan.itertuples()
        )
        assert row.realised == pytest.approx(expected_total, rel=1e-12)


def test_intervals_come_from_the_same_draws_costs_and_plans(check) -> None:
    """Each policy's interval is the 5% / 95% quantile over draws of ``sum contacts x value draw - spend``, with the
    same value draws, plans and costs as the realised figure; cells' intervals likewise."""
    _, result = check
    cube = result.values.pivot_table(
        index="draw", columns=["segment", "strategy"], values="incremental_value"
    )
    plans = result.result.policy_plans
    for row in result.policies.dropna(subset=["ci_low"]).itertuples():
        plan = plans[plans["policy"] == row.policy].set_index(["segment", "strategy"])["contacts"]
        spend = sum(n * result.costs[k] for (_, k), n in plan.items())
        returns = cube[plan.index].to_numpy() @ plan.to_numpy() - spend
        assert (row.ci_low, row.ci_high) == pytest.approx(tuple(np.quantile(returns, [0.05, 0.95])), rel=1e-9)
        assert row.covered == (row.ci_low <= row.realised <= row.ci_high)
    for row in result.cells.itertuples():
        draws = cube[(row.segment, row.strategy)].to_numpy()
        assert (row.value_low, row.value_high) == pytest.approx(tuple(np.quantile(draws, [0.05, 0.95])))
    assert set(result.policies["policy"]) == {"optimal", "uniform", "highest_ltv", "oracle"}
    # the summary contract's counts travel with the units (features.summary_notes reads them)
    assert result.units.attrs["unit"] == "W" and "n_first_on_calibration_end" in result.units.attrs
    assert isinstance(result.policies, pd.DataFrame)


@pytest.mark.slow
def test_intervals_cover_the_realised_value_at_the_nominal_rate() -> None:
    """60 independent synthetic CRMs at the report's defaults (20,000 customers, budget 1,500, call capacity 1,500,
    52-week horizon, 10% discounting, 200 draws, default pooling): every policy's 90% interval covers its realised
    value at 90% within 2.6 binomial SE (+-0.10 at 60 repeats), and the realised value falls below the interval no
    more often than the 5% lower tail allows (5% + 2.6 binomial SE = 12.3%). On these data sets the old flat
    per-cell draws put the optimal and highest-LTV plans below their intervals in 13.3% of them (optimal: z-score
    of realised vs expected -0.81). The segment x strategy cells' intervals cover their true values at 90% within
    2.6 SE of the per-repeat coverage (cells of one data set are not independent)."""
    table = allocation_coverage(
        60,
        n_customers=20_000,
        strategies=STRATEGIES,
        first_seed=1000,
        budget=1500.0,
        call_capacity=1500,
        n_draws=200,
    ).set_index("what")
    for policy in ("optimal", "uniform", "highest_ltv"):
        row = table.loc[policy]
        assert row["coverage"] == pytest.approx(0.90, abs=2.6 * row["se"]), policy
        assert row["below"] / row["n"] <= 0.05 + 2.6 * np.sqrt(0.05 * 0.95 / row["n"]), policy
    cells = table.loc["cells"]
    assert cells["coverage"] == pytest.approx(0.90, abs=2.6 * cells["se"])
    # the budget-allocation report quotes this study (REPORT_COVERAGE): its counts are these
    study = CoverageStudy.from_table(table.reset_index(), n_repeats=60, n_customers=20_000, credible_mass=0.9)
    # (the study's cells figure was recorded as a percentage to one decimal, 88.9% of 1,800, so the shares are
    # compared at that precision; the interval counts must agree exactly)
    assert dict(study.n) == dict(REPORT_COVERAGE.n)
    for what, n in study.n.items():
        assert round(100 * study.covered[what] / n, 1) == round(100 * REPORT_COVERAGE.covered[what] / n, 1), (
            what
        )


def test_coverage_table_counts_every_interval_once() -> None:
    """Two small data sets: one interval per policy per data set, 30 cells per data set; the policies' SE is the
    binomial one at the nominal rate and the cells' the spread of the per-data-set coverage."""
    table = allocation_coverage(
        2, n_customers=2000, strategies=STRATEGIES, budget=500.0, call_capacity=200, n_draws=40
    ).set_index("what")
    assert table.loc[["optimal", "uniform", "highest_ltv"], "n"].tolist() == [2, 2, 2]
    assert table.loc["cells", "n"] == 60
    assert (table["covered"] + table["below"] + table["above"] == table["n"]).all()
    assert table.loc["optimal", "se"] == pytest.approx(np.sqrt(0.09 / 2))
    assert 0 <= table.loc["cells", "se"] <= 0.5
    study = CoverageStudy.from_table(table.reset_index(), n_repeats=2, n_customers=2000, credible_mass=0.9)
    for what in ("optimal", "uniform", "highest_ltv", "cells"):
        assert study.covered[what] == table.loc[what, "covered"] and study.n[what] == table.loc[what, "n"]
        assert study.coverage(what) == pytest.approx(table.loc[what, "coverage"])
