"""A NUTS fit that fails its gate is refitted with the remedy its failure calls for, within a time budget, and
says what it did (issue 18 item 5); default fits of the issue's two failing cases pass the gate (slow)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from ltvlab.data import load_dataset
from ltvlab.data.synthetic import generate_crm, simulate_bgnbd
from ltvlab.errors import ConvergenceWarning
from ltvlab.features import columns as col
from ltvlab.features import customer_summary
from ltvlab.features.segments import first_purchase_segments
from ltvlab.ltv import BGNBD
from ltvlab.reports.status import diagnostics_check


def _small_summary() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    T = rng.integers(20, 53, 400).astype(float)
    sim = simulate_bgnbd(400, 0.5, 5.0, 0.8, 2.5, T=T, seed=rng)
    return pd.DataFrame({col.X: sim[col.X], col.T_X: sim[col.T_X], col.T: T})


def _quiet_fit(spec, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return spec.fit(data, chains=2, seed=4, sampler="pymc", **kwargs)


def test_short_ess_is_remedied_with_more_draws_and_reported() -> None:
    # 2 x 30 draws cannot give ESS 400: the remedy is more draws at the measured ESS per draw
    data = _small_summary()
    fit = _quiet_fit(BGNBD(), data, draws=30, tune=100, remedy=True, time_budget=300)
    remedies = fit.diagnostics.remedies
    assert remedies and "draws per chain 30 ->" in remedies[0] and "ESS" in remedies[0], remedies
    assert fit.config["draws"] > 30 and fit.config["remedies"] == list(remedies)
    assert fit.draws()["r"].shape[0] == 2 * fit.config["draws"]  # the draws are the last fit's
    assert any("refitted with" in w and "draws per chain 30 ->" in w for w in fit.warnings)
    assert json.loads(json.dumps(fit.diagnostics.to_dict()))["remedies"] == list(remedies)
    assert "automatic refit" in diagnostics_check(fit).detail


def test_remedies_respect_the_time_budget_and_short_runs_are_judged_as_they_are() -> None:
    data = _small_summary()
    stopped = _quiet_fit(BGNBD(), data, draws=30, tune=100, remedy=True, time_budget=0.0)
    assert stopped.config["draws"] == 30 and not stopped.diagnostics.ok
    assert len(stopped.diagnostics.remedies) == 1 and "time budget" in stopped.diagnostics.remedies[0]
    # remedy=None (default): a run shorter than the default draws is not refitted
    short = _quiet_fit(BGNBD(), data, draws=30, tune=100)
    assert short.diagnostics.remedies == () and short.config["draws"] == 30 and "remedies" not in short.config


def _crm_summary(n: int) -> pd.DataFrame:
    """As benchmarks/measure.py: generate_crm in 20 segments, weekly summary without merging same-day purchases."""
    crm = generate_crm(n, n_segments=20, seed=2024, experiment_strategy=None, strategies=())
    segment = crm.customers.set_index(col.CUSTOMER_ID)["segment"].astype(str)
    tx = crm.transactions.assign(segment=segment.reindex(crm.transactions[col.CUSTOMER_ID]).to_numpy())
    return customer_summary(
        tx,
        calibration_end="2022-12-31",
        holdout_end="2023-12-31",
        unit="W",
        segment_cols=("segment",),
        merge_same_day=False,
    )


def _cdnow_cohorts(dataset: str) -> pd.DataFrame:
    """As notebooks/10_ltv.ipynb with derive_segment="cohort": first-purchase month of each customer."""
    tx = load_dataset(dataset)
    firsts = first_purchase_segments(tx, cohort="month").set_index(col.CUSTOMER_ID)["cohort"]
    tx = tx.assign(cohort=tx[col.CUSTOMER_ID].astype(str).map(firsts.astype(str)))
    return customer_summary(
        tx, calibration_end="1997-09-30", holdout_end="1998-06-30", unit="W", segment_cols=("cohort",)
    )


def _gate_report(fit) -> str:
    d = fit.diagnostics
    return (
        f"{fit.config['parametrization']}, {d.messages}, remedies {d.remedies}, "
        f"min bulk ESS {d.min_ess_bulk:.0f}, max R-hat {d.max_r_hat:.3f}"
    )


@pytest.mark.slow
def test_default_fit_of_10k_customers_in_20_segments_passes_its_gate() -> None:
    # benchmarks/RESULTS.md, issue 18: this fit, non-centred by the old segment-size rule, failed with bulk ESS 267
    # (rerun here: R-hat 1.073, bulk ESS 26 on sigma_log_b). With the data-driven form the first fit's bulk ESS is
    # 148-228 (sigma_log_b, over 7 seeds). With a wall-clock budget this seed's fit stopped after one refit on CI
    # (R-hat 1.018, ESS 149; budget 58 s) and passed after two here; the budget is now counted in gradient
    # evaluations (10x the first fit), so the fit is the same on every machine: two refits, bulk ESS 862.
    data = _crm_summary(10_000)
    fit = BGNBD(pooling="partial", segment="segment").fit(data)
    assert fit.diagnostics.ok, _gate_report(fit)
    assert fit.config["parametrization"] == "partially non-centered"


# Issue 18 item 5. cdnow-sample passes with its first fit since non-centred pooling samples the cohorts' mean apart
# from their zero-sum deviations (_build.noncentred; before: 50 divergences, then R-hat 1.012 and bulk ESS 388 after
# two remedies). cdnow-master does not yet: its form is partially non-centred (weights between 0 and 1, which the
# mean split does not cover). Rerun with the remedy budget in gradient evaluations (10x): 24 divergences ->
# target_accept 0.95, 2,000 tuning steps: one chain stuck (R-hat 1.463, bulk ESS 4, 437 divergences) -> 0.99, 4,000
# tuning steps: 3 divergences, bulk ESS 357, tail ESS 217; the next refit was over the budget (192 s in all).
# Tried (session 13, seed 2024, no remedies): each cohort's (a, b) sampled as (logit of the mean a / (a + b), log of
# a + b) with the hierarchical Normal prior kept on (log a, log b) (that map has unit Jacobian, so the posterior is
# the same), centred: 81 divergences, bulk ESS 168 and tail ESS 72 on sigma_log_a. Worse: with 3 cohorts the pooling
# sds are loosely identified, and the centred funnel near sigma = 0 dominates whatever the within-cohort coordinates.
# Strict expected failure until it passes.
@pytest.mark.slow
@pytest.mark.study
@pytest.mark.parametrize(
    "dataset",
    [
        "cdnow-sample",
        pytest.param(
            "cdnow-master",
            marks=pytest.mark.xfail(
                strict=True, reason="3 divergences, tail ESS 217 after two remedies (issue 18)"
            ),
        ),
    ],
)
def test_default_partial_pooling_over_the_cdnow_cohorts_passes_its_gate(dataset) -> None:
    data = _cdnow_cohorts(dataset)
    assert data["cohort"].nunique() == 3
    fit = BGNBD(pooling="partial", segment="cohort").fit(data)
    assert fit.diagnostics.ok, _gate_report(fit)


def test_the_remedy_budget_is_counted_in_gradient_evaluations(monkeypatch) -> None:
    # the budget is work, not seconds: a factor below what the first refit is predicted to cost stops it, whatever
    # the clock says (no time_budget), and the message names the budget in gradient evaluations
    from ltvlab.ltv import _model

    data = _small_summary()
    monkeypatch.setattr(_model, "REMEDY_BUDGET_FACTOR", 0.5)
    stopped = _quiet_fit(BGNBD(), data, draws=30, tune=100, remedy=True)
    assert stopped.config["draws"] == 30 and not stopped.diagnostics.ok
    (message,) = stopped.diagnostics.remedies
    assert "gradient evaluations (0.5x the first fit)" in message and "stopped" in message
    # nutpie keeps its warm-up statistics: the count is every leapfrog step of warm-up and draws, both chains
    fit = BGNBD().fit(data, draws=100, tune=100, chains=2, seed=1, remedy=False)
    stats, warmup = fit.idata.sample_stats, fit.idata.warmup_sample_stats
    counted = _model._gradient_evaluations(fit.idata, {"tune": 100, "draws": 100})
    assert counted == float(stats["n_steps"].sum() + warmup["n_steps"].sum()) and counted >= 2 * 200
