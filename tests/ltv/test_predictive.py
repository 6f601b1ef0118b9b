"""Posterior predictive simulation: moments and pmf against closed forms, dead customers, coverage, bad input.

Every tolerance is a number of Monte Carlo standard errors computed in the test from the simulated draws (or a
binomial SE for frequencies), with fixed seeds. 4 SEs per comparison: a two-sided normal tail of 6.3e-5, so even
the ~95 comparisons below have a family-wise false-alarm rate under 1% for a correct simulator. Coverage checks
use +-3 binomial SEs of the nominal 0.90.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from ltvlab.data.synthetic import simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd
from ltvlab.data.synthetic_btyd import simulate_mbgnbd
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import ALL_CUSTOMERS, customer_lifetime_value, formulas, sample_future_value
from ltvlab.ltv.bgnbd import bgnbd_holdout_pmf
from ltvlab.ltv.mbgnbd import mbgnbd_holdout_pmf
from ltvlab.ltv.pnbd import pnbd_holdout_pmf
from tests.ltv.fixed_fit import FixedFit, cdnow_bgnbd, cdnow_gamma_gamma, cdnow_pnbd, jittered, point_fit
from tests.ltv.model_references import MBGNBD
from tests.reference import cdnow

K_SE = 4.0

# Customers spanning new (x = 0), recent, lapsed and heavy buyers, in weeks like CDNOW.
CUSTOMERS = pd.DataFrame(
    {
        col.CUSTOMER_ID: ["c0", "c1", "c2", "c3", "c4", "c5"],
        col.X: [0, 1, 3, 10, 2, 5],
        col.T_X: [0.0, 5.0, 30.0, 38.0, 10.0, 20.0],
        col.T: [39.0, 39.0, 39.0, 39.0, 20.0, 39.0],
        col.MONETARY: [0.0, 20.0, 35.0, 50.0, 10.0, 40.0],
    }
)
CUSTOMERS.attrs["unit"] = "W"

PURCHASE_FITS = {"bgnbd": cdnow_bgnbd, "paretonbd": cdnow_pnbd, "mbgnbd": lambda: point_fit("mbgnbd", MBGNBD)}
EXPECTED = {
    "bgnbd": formulas.bgnbd_expected_purchases,
    "paretonbd": formulas.pnbd_expected_purchases,
    "mbgnbd": formulas.mbgnbd_expected_purchases,
}
P_ALIVE = {
    "bgnbd": formulas.bgnbd_p_alive,
    "paretonbd": formulas.pnbd_p_alive,
    "mbgnbd": formulas.mbgnbd_p_alive,
}
HOLDOUT_PMF = {"bgnbd": bgnbd_holdout_pmf, "paretonbd": pnbd_holdout_pmf, "mbgnbd": mbgnbd_holdout_pmf}


def _with_segment(frame: pd.DataFrame) -> pd.DataFrame:
    """The test customers with ``segment`` = their own id, so segment totals are per-customer draws."""
    out = frame.assign(segment=frame[col.CUSTOMER_ID])
    out.attrs["unit"] = "W"
    return out


def _per_customer_draws(result, quantity: str) -> np.ndarray:
    """samples x customers array of one quantity (the test summary's ``segment`` is the customer id)."""
    frame = result.segment_totals.pivot(index="sample", columns="segment", values=quantity)
    return frame[list(CUSTOMERS[col.CUSTOMER_ID])].to_numpy(float)


def _within_k_se(draws: np.ndarray, expected: np.ndarray) -> None:
    se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    z = (draws.mean(axis=0) - expected) / se
    assert np.all(np.abs(z) <= K_SE), f"z-scores {np.round(z, 2)}"


# --------------------------------------------------------------------------- (a) moments at fixed parameters


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd", "mbgnbd"])
def test_mean_purchases_and_value_match_the_closed_forms(model):
    purchase = PURCHASE_FITS[model]()
    summary = _with_segment(CUSTOMERS)
    out = sample_future_value(
        purchase,
        cdnow_gamma_gamma(),
        summary,
        horizon_weeks=52,
        period_weeks=4,
        annual_discount_rate=0.10,
        segment="segment",
        sims_per_draw=40_000,
        seed=11,
    )
    x, t_x, t_cal = (CUSTOMERS[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    params = {k: v[0, 0] for k, v in purchase.params.items()}
    purchases = _per_customer_draws(out, "purchases")
    _within_k_se(purchases, EXPECTED[model](52.0, x, t_x, t_cal, *params.values()))
    clv = customer_lifetime_value(
        purchase, cdnow_gamma_gamma(), CUSTOMERS, horizon_weeks=52, period_weeks=4, annual_discount_rate=0.10
    )
    value = _per_customer_draws(out, "value")
    _within_k_se(value, clv["clv_mean"].to_numpy())
    # the per-customer table summarises exactly these draws
    np.testing.assert_allclose(out.per_customer["value_mean"], value.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(out.per_customer["purchases_q95"], np.quantile(purchases, 0.95, axis=0))


def test_mean_value_over_paired_posterior_draws_matches_expected_clv():
    # 40 distinct (purchase, spend) draws: the predictive mean is the mean over draws of each draw's expected
    # CLV, which customer_lifetime_value computes with the same pairing of draw j with draw j.
    purchase = jittered(cdnow_bgnbd(), 40, scale=0.15, seed=3)
    spend = jittered(cdnow_gamma_gamma(), 40, scale=0.1, seed=4)
    summary = _with_segment(CUSTOMERS)
    out = sample_future_value(
        purchase,
        spend,
        summary,
        horizon_weeks=24,
        period_weeks=8,
        segment="segment",
        sims_per_draw=1000,
        seed=5,
    )
    clv = customer_lifetime_value(
        purchase, spend, CUSTOMERS, horizon_weeks=24, period_weeks=8, max_draws=None
    )
    _within_k_se(_per_customer_draws(out, "value"), clv["clv_mean"].to_numpy())
    assert out.n_draws == 40 and out.attrs["n_samples"] == 40_000


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd", "mbgnbd"])
def test_purchase_distribution_matches_the_closed_form_pmf(model):
    # One 26-week period: the simulated counts must follow the model's conditional holdout pmf (holdout.py,
    # derived independently from the same posterior). Each frequency within 4 binomial SEs of its pmf.
    purchase = PURCHASE_FITS[model]()
    sims = 40_000
    out = sample_future_value(
        purchase,
        None,
        _with_segment(CUSTOMERS),
        horizon_weeks=26,
        period_weeks=26,
        segment="segment",
        sims_per_draw=sims,
        seed=21,
    )
    counts = _per_customer_draws(out, "purchases")
    x, t_x, t_cal = (CUSTOMERS[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    params = list(purchase.params.values())
    p_alive = P_ALIVE[model](x, t_x, t_cal, *params)
    for k in range(5):
        pmf = HOLDOUT_PMF[model](np.full(len(x), k), 26.0, x, t_x, t_cal, *params, p_alive)[0]
        freq = (counts == k).mean(axis=0)
        se = np.sqrt(pmf * (1.0 - pmf) / sims)
        assert np.all(np.abs(freq - pmf) <= K_SE * se), f"k={k}: {freq} vs {pmf}"


def test_conditional_posterior_of_an_alive_bgnbd_customer_by_importance_sampling():
    # Checks the derivation in predictive.py without its code: draw (lambda, p) from the prior, weight by the
    # BG/NBD likelihood of (x, t_x, T), and split the weight into its alive and dead branches. The alive share
    # must be bgnbd_p_alive, and the alive branch must have E[lambda] = (r+x)/(alpha+T), E[p] = a/(a+b+x).
    # Tolerance: 4 self-normalised importance-sampling SEs, sqrt(sum w_i^2 (f_i - est)^2) with sum w_i = 1.
    r, alpha, a, b = (cdnow.BGNBD[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, t_cal = 4.0, 22.0, 39.0
    rng = np.random.default_rng(7)
    lam = rng.gamma(r, 1.0 / alpha, 1_000_000)
    p = rng.beta(a, b, 1_000_000)
    alive = (1.0 - p) ** x * lam**x * np.exp(-lam * t_cal)
    dead = p * (1.0 - p) ** (x - 1.0) * lam**x * np.exp(-lam * t_x)

    def snis(weights, f):
        w = weights / weights.sum()
        est = float(np.sum(w * f))
        return est, float(np.sqrt(np.sum(w**2 * (f - est) ** 2)))

    share, se = snis(alive + dead, alive / (alive + dead))
    assert abs(share - formulas.bgnbd_p_alive(x, t_x, t_cal, r, alpha, a, b)) <= K_SE * se
    mean_lam, se = snis(alive, lam)
    assert abs(mean_lam - (r + x) / (alpha + t_cal)) <= K_SE * se
    mean_p, se = snis(alive, p)
    assert abs(mean_p - a / (a + b + x)) <= K_SE * se
    # and the ratio of branch weights is FHL eq. 10's death odds (exact, no sampling)
    log_odds = (
        special.betaln(a + 1, b + x - 1)
        - special.betaln(a, b + x)
        + (r + x) * np.log((alpha + t_cal) / (alpha + t_x))
    )
    assert special.expit(-log_odds) == pytest.approx(formulas.bgnbd_p_alive(x, t_x, t_cal, r, alpha, a, b))


# ------------------------------------------------------------------------------------- (b) dead customers


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_a_customer_almost_surely_gone_buys_nothing(model):
    # 30 repeat purchases in the first 2 weeks, then silence for 50: P(alive) is astronomically small, so among
    # 20,000 simulated futures the chance of any purchase is at most 20,000 x P(alive) < 1e-10.
    lost = pd.DataFrame(
        {col.CUSTOMER_ID: ["z"], col.X: [30], col.T_X: [2.0], col.T: [52.0], col.MONETARY: [30.0]}
    )
    lost.attrs["unit"] = "W"
    purchase = PURCHASE_FITS[model]()
    p_alive = P_ALIVE[model](30.0, 2.0, 52.0, *(v[0, 0] for v in purchase.params.values()))
    assert p_alive < 1e-14
    out = sample_future_value(purchase, cdnow_gamma_gamma(), lost, sims_per_draw=20_000, seed=1)
    assert out.totals["purchases"].max() == 0 and out.totals["value"].max() == 0.0
    assert out.per_customer.loc[0, "value_q95"] == 0.0


# ------------------------------------------------------------- (c) coverage at the true parameters, no fitting


def _holdout_dataset(model: str, rng: np.random.Generator, n: int, holdout: float) -> pd.DataFrame:
    T = rng.integers(20, 53, n).astype(float)
    if model == "bgnbd":
        sim = simulate_bgnbd(
            n, *(cdnow.BGNBD[k] for k in ("r", "alpha", "a", "b")), T=T, holdout=holdout, seed=rng
        )
    elif model == "mbgnbd":
        sim = simulate_mbgnbd(
            n, *(MBGNBD[k] for k in ("r", "alpha", "a", "b")), T=T, holdout=holdout, seed=rng
        )
    else:
        params = (cdnow.PARETO_NBD[k] for k in ("r", "alpha", "s", "beta"))
        sim = simulate_pareto_nbd(n, *params, T=T, holdout=holdout, seed=rng)
    gg = cdnow.GAMMA_GAMMA
    spend = simulate_gamma_gamma(sim[col.X].to_numpy(), gg["p"], gg["q"], gg["gamma"], seed=rng)
    x_hold = sim[col.X_HOLDOUT].to_numpy()
    data = pd.DataFrame(
        {
            col.CUSTOMER_ID: np.arange(n),
            col.X: sim[col.X],
            col.T_X: sim[col.T_X],
            col.T: T,
            col.MONETARY: spend[col.MONETARY],
            col.X_HOLDOUT: x_hold,
            # x_hold values Gamma(p, rate nu) add up to Gamma(p x_hold, rate nu)
            col.SPEND_HOLDOUT: rng.gamma(gg["p"] * x_hold, 1.0 / spend["nu"].to_numpy()),
        }
    )
    data.attrs["unit"] = "W"
    return data


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd", "mbgnbd"])
def test_predictive_intervals_of_holdout_totals_cover_at_the_nominal_rate(model):
    # Datasets simulated at the true parameters (the CDNOW estimates), predictive simulated at the same
    # parameters: the 90% interval of each dataset's total holdout value must cover the realised total with
    # probability 0.90. 200 independent datasets: binomial SE sqrt(0.9 x 0.1 / 200) = 0.021, band +-3 SE.
    # Total purchases are integers, so a plain interval over-covers by the mass at its ends; they are checked
    # with the randomised PIT u = P(X < obs) + V P(X = obs), V ~ U(0, 1), which is exactly U(0, 1) for a
    # correct predictive: 0.05 <= u <= 0.95 with probability 0.90. (400 predictive samples: the sample
    # quantiles move the expected coverage by about 1/400, well inside the band.)
    rng = np.random.default_rng({"bgnbd": 2024, "paretonbd": 2025, "mbgnbd": 2026}[model])
    fits = PURCHASE_FITS
    n_datasets, holdout = 200, 26.0
    value_hits, purchase_hits = [], []
    for i in range(n_datasets):
        data = _holdout_dataset(model, rng, 60, holdout)
        out = sample_future_value(
            fits[model](),
            cdnow_gamma_gamma(),
            data,
            horizon_weeks=holdout,
            period_weeks=13,
            annual_discount_rate=0.0,  # the simulator gives holdout counts, not times: compare undiscounted
            sims_per_draw=400,
            seed=i,
        )
        value = out.intervals(0.90).set_index("quantity").loc["value"]
        value_hits.append(value.lower <= data[col.SPEND_HOLDOUT].sum() <= value.upper)
        total, realised = out.totals["purchases"].to_numpy(), data[col.X_HOLDOUT].sum()
        u = np.mean(total < realised) + rng.uniform() * np.mean(total == realised)
        purchase_hits.append(0.05 <= u <= 0.95)
    band = 3.0 * np.sqrt(0.9 * 0.1 / n_datasets)
    assert abs(np.mean(value_hits) - 0.90) <= band, np.mean(value_hits)
    assert abs(np.mean(purchase_hits) - 0.90) <= band, np.mean(purchase_hits)


# ---------------------------------------------------------------------------------- aggregates and options


def test_segment_totals_add_up_and_results_are_reproducible():
    summary = CUSTOMERS.assign(channel=["web", "app", "web", "store", "app", "web"])
    summary.attrs["unit"] = "W"
    kwargs = {"segment": "channel", "sims_per_draw": 300, "seed": 9, "chunk_elements": 700}
    out = sample_future_value(cdnow_bgnbd(), cdnow_gamma_gamma(), summary, **kwargs)
    by_sample = out.segment_totals.groupby("sample")[["purchases", "value"]].sum()
    np.testing.assert_allclose(
        by_sample.to_numpy(), out.totals[["purchases", "value"]].to_numpy(), rtol=1e-12
    )
    assert sorted(out.segment_totals["segment"].unique()) == ["app", "store", "web"]
    table = out.intervals(0.8)
    assert table["segment"].iloc[0] == ALL_CUSTOMERS and len(table) == 2 * 4
    assert (table["lower"] <= table["mean"]).all() and (table["mean"] <= table["upper"]).all()
    again = sample_future_value(cdnow_bgnbd(), cdnow_gamma_gamma(), summary, **kwargs)
    pd.testing.assert_frame_equal(out.totals, again.totals)
    other = sample_future_value(cdnow_bgnbd(), cdnow_gamma_gamma(), summary, **{**kwargs, "seed": 10})
    assert not out.totals["value"].equals(other.totals["value"])
    assert list(out.per_customer[col.CUSTOMER_ID]) == list(CUSTOMERS[col.CUSTOMER_ID])


def test_purchases_only_without_a_spend_fit():
    summary = CUSTOMERS.drop(columns=[col.MONETARY])
    summary.attrs["unit"] = "W"
    out = sample_future_value(cdnow_pnbd(), None, summary, sims_per_draw=50, seed=0, progress=True)
    assert not out.has_value and "value_mean" not in out.per_customer
    assert list(out.totals.columns) == ["sample", "draw", "purchases"] and out.segment_totals is None
    assert out.intervals()["quantity"].tolist() == ["purchases"]


# ------------------------------------------------------------------------------------------ (d) bad input


def _bad(**changes) -> pd.DataFrame:
    frame = CUSTOMERS.copy()
    for name, (row, value) in changes.items():
        frame.loc[row, name] = value
    frame.attrs["unit"] = "W"
    return frame


@pytest.mark.parametrize(
    ("summary", "kwargs", "match"),
    [
        (CUSTOMERS.drop(columns=[col.T_X]), {}, "lacks column"),
        (_bad(t_x=(2, 45.0)), {}, "t_x > T"),
        (_bad(x=(1, -1)), {}, "x < 0"),
        (_bad(T=(0, np.nan)), {}, "missing or infinite"),
        (CUSTOMERS.iloc[:0], {}, "empty"),
        (CUSTOMERS, {"segment": "channel"}, "segment column 'channel'"),
        (CUSTOMERS.assign(channel=["a", None, "b", "a", "b", "a"]), {"segment": "channel"}, "missing value"),
        (CUSTOMERS, {"sims_per_draw": 0}, "sims_per_draw"),
        (CUSTOMERS, {"chunk_elements": 0.5}, "chunk_elements"),
        (CUSTOMERS, {"horizon_weeks": 10, "period_weeks": 4}, "whole number of periods"),
        (CUSTOMERS, {"annual_discount_rate": -1.5}, "annual_discount_rate"),
    ],
)
def test_bad_input_raises_a_clear_error(summary, kwargs, match):
    summary = summary.copy()
    summary.attrs["unit"] = "W"
    with pytest.raises(LtvlabError, match=match):
        sample_future_value(cdnow_bgnbd(), cdnow_gamma_gamma(), summary, **kwargs)


def test_bad_fits_and_units_raise_a_clear_error():
    no_unit = CUSTOMERS.copy()
    no_unit.attrs = {}
    with pytest.raises(LtvlabError, match="time unit"):
        sample_future_value(cdnow_bgnbd(), cdnow_gamma_gamma(), no_unit)
    with pytest.raises(LtvlabError, match="not supported"):
        sample_future_value(cdnow_gamma_gamma(), None, CUSTOMERS)
    with pytest.raises(LtvlabError, match="not a gamma_gamma fit"):
        sample_future_value(cdnow_bgnbd(), cdnow_pnbd(), CUSTOMERS)
    with pytest.raises(LtvlabError, match="lack parameter"):
        sample_future_value(point_fit("bgnbd", {"r": 0.2, "alpha": 4.0}), None, CUSTOMERS)
    broken = FixedFit("bgnbd", {k: np.array([[np.nan]]) for k in ("r", "alpha", "a", "b")})
    with pytest.raises(LtvlabError, match="not finite"):
        sample_future_value(broken, None, CUSTOMERS)
    with pytest.raises(LtvlabError, match="level"):
        sample_future_value(cdnow_bgnbd(), None, CUSTOMERS, sims_per_draw=2).intervals(1.0)
