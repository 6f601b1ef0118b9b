"""Discounted CLV: discounting, draw pairing, quantiles, chunking and bad input, at fixed parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import formulas
from ltvlab.ltv.clv import customer_lifetime_value, naive_clv_baseline
from ltvlab.ltv.discounting import clv_horizon, discounted_purchases, period_discount_rate
from tests.ltv.fixed_fit import FixedFit, cdnow_bgnbd, cdnow_gamma_gamma, cdnow_pnbd, jittered
from tests.reference import cdnow


def test_period_rate_compounds_to_the_annual_rate():
    # 4-week periods: (1 + d)^(365.25 / 28) must give back the annual rate exactly (up to float rounding).
    d = period_discount_rate(0.10, 28.0)
    assert (1.0 + d) ** (365.25 / 28.0) == pytest.approx(1.10, rel=1e-12)
    assert period_discount_rate(0.0, 28.0) == 0.0


def test_discounting_matches_the_geometric_sum():
    # Constant purchase rate lam per unit time: each period brings lam * P purchases, so the discounted sum is
    # lam * P * sum_{k=1..K} (1 + d)^-k = lam * P * (1 - (1 + d)^-K) / d (hand-derived geometric series).
    lam, period, n_periods, d = 0.3, 4.0, 13, 0.0074
    got = discounted_purchases(
        lambda t: np.array([lam * t]), period_length=period, n_periods=n_periods, period_rate=d
    )
    expected = lam * period * (1.0 - (1.0 + d) ** -n_periods) / d
    assert got[0] == pytest.approx(expected, rel=1e-12)


def test_zero_discount_one_period_is_expected_purchases_times_expected_spend(cdnow_sample_summary):
    summary = cdnow_sample_summary
    out = customer_lifetime_value(
        cdnow_bgnbd(),
        cdnow_gamma_gamma(),
        summary,
        horizon_weeks=39,
        period_weeks=39,
        annual_discount_rate=0.0,
    )
    b, g = cdnow_bgnbd().params, cdnow_gamma_gamma().params
    x, t_x, t_cal = (summary[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    purchases = formulas.bgnbd_expected_purchases(39.0, x, t_x, t_cal, b["r"], b["alpha"], b["a"], b["b"])[0]
    spend = formulas.gg_expected_spend(x, summary[col.MONETARY].to_numpy(float), g["p"], g["q"], g["gamma"])[
        0
    ]
    np.testing.assert_allclose(out["clv_mean"].to_numpy(), purchases * spend, rtol=1e-12)
    # one draw: every quantile is the value itself
    np.testing.assert_allclose(out["clv_q05"], out["clv_q95"], rtol=1e-12)
    assert (out[col.CUSTOMER_ID].to_numpy() == summary[col.CUSTOMER_ID].to_numpy()).all()
    assert out.attrs["unit"] == "W" and out.attrs["n_periods"] == 1


def _direct_clv_draws(purchase: FixedFit, spend: FixedFit, summary: pd.DataFrame, *, n_periods, period, rate):
    """Per-draw CLV by explicit loops over draws and periods (independent of the chunked implementation)."""
    x, t_x, t_cal, m = (summary[c].to_numpy(float) for c in (col.X, col.T_X, col.T, col.MONETARY))
    n_draws = purchase.params["r"].shape[0]
    out = np.zeros((n_draws, len(summary)))
    for j in range(n_draws):
        pp = {k: v[j, 0] for k, v in purchase.params.items()}
        sp = {k: v[j, 0] for k, v in spend.params.items()}
        spend_j = formulas.gg_expected_spend(x, m, sp["p"], sp["q"], sp["gamma"])
        for k in range(1, n_periods + 1):
            hi = formulas.bgnbd_expected_purchases(k * period, x, t_x, t_cal, **pp)
            lo = formulas.bgnbd_expected_purchases((k - 1) * period, x, t_x, t_cal, **pp)
            out[j] += (hi - lo) / (1.0 + rate) ** k * spend_j
    return out


def test_quantiles_and_pairing_match_direct_computation(cdnow_sample_summary):
    summary = cdnow_sample_summary.iloc[::25].copy()  # ~95 customers, repeaters and non-repeaters
    purchase = jittered(cdnow_bgnbd(), 9, scale=0.2, seed=1)
    spend = jittered(cdnow_gamma_gamma(), 9, scale=0.2, seed=2)
    out = customer_lifetime_value(
        purchase, spend, summary, horizon_weeks=52, period_weeks=4, annual_discount_rate=0.1
    )
    direct = _direct_clv_draws(
        purchase, spend, summary, n_periods=13, period=4.0, rate=period_discount_rate(0.1, 28)
    )
    np.testing.assert_allclose(out["clv_mean"], direct.mean(axis=0), rtol=1e-10)
    for level, name in ((0.05, "clv_q05"), (0.5, "clv_q50"), (0.95, "clv_q95")):
        np.testing.assert_allclose(out[name], np.quantile(direct, level, axis=0), rtol=1e-10)
    # Averaging spend over draws first (what we must not do) gives a different, narrower answer.
    assert not np.allclose(out["clv_q95"], out["clv_q05"])


def test_chunked_equals_unchunked_exactly(cdnow_sample_summary):
    purchase = jittered(cdnow_bgnbd(), 20, scale=0.1, seed=3)
    spend = jittered(cdnow_gamma_gamma(), 20, scale=0.1, seed=4)
    small = customer_lifetime_value(purchase, spend, cdnow_sample_summary, chunk_rows=7)
    whole = customer_lifetime_value(purchase, spend, cdnow_sample_summary, chunk_rows=10**6)
    pd.testing.assert_frame_equal(small, whole, check_exact=True)
    # distinct summaries are fewer than customers (the point of the deduplication)
    assert whole.attrs["n_unique_summaries"] < len(cdnow_sample_summary)


def test_x0_customers_have_finite_positive_clv(cdnow_sample_summary):
    for purchase in (cdnow_bgnbd(), cdnow_pnbd()):
        out = customer_lifetime_value(purchase, cdnow_gamma_gamma(), cdnow_sample_summary)
        zero = cdnow_sample_summary[col.X].to_numpy() == 0
        values = out.loc[zero, ["clv_mean", "clv_q05", "clv_q50", "clv_q95"]].to_numpy()
        assert zero.sum() == 2357 - 946
        assert np.isfinite(values).all() and (values > 0).all()


def test_days_and_weeks_give_the_same_clv(cdnow_sample_summary):
    # BTYD models are invariant to the time unit when alpha (and beta) scale with it: the same customers in days
    # with alpha x 7 must have the same CLV, provided the code converts the horizon to the summary's unit.
    weeks = cdnow_sample_summary.iloc[::10].copy()
    days = weeks.copy()
    for c in (col.T_X, col.T):
        days[c] = days[c] * 7.0
    days.attrs["unit"] = "D"
    bg_days = cdnow_bgnbd()
    bg_days.params["alpha"] = bg_days.params["alpha"] * 7.0
    a = customer_lifetime_value(cdnow_bgnbd(), cdnow_gamma_gamma(), weeks)
    b = customer_lifetime_value(bg_days, cdnow_gamma_gamma(), days)
    np.testing.assert_allclose(a["clv_mean"], b["clv_mean"], rtol=1e-9)


def test_segments_use_their_own_parameters(cdnow_sample_summary):
    summary = cdnow_sample_summary.copy()
    summary["segment"] = np.where(summary["first_purchase"].dt.month == 1, "jan", "later")
    two = {k: np.array([[v[0, 0], v[0, 0] * 1.5]]) for k, v in cdnow_bgnbd().params.items()}
    seg_fit = FixedFit("bgnbd", two, segment="segment", segments=("jan", "later"))
    out = customer_lifetime_value(seg_fit, cdnow_gamma_gamma(), summary)
    later = cdnow_bgnbd()
    later.params = {k: v * 1.5 for k, v in later.params.items()}
    is_jan = (summary["segment"] == "jan").to_numpy()
    jan_only = customer_lifetime_value(cdnow_bgnbd(), cdnow_gamma_gamma(), summary[is_jan])
    later_only = customer_lifetime_value(later, cdnow_gamma_gamma(), summary[~is_jan])
    np.testing.assert_allclose(out.loc[is_jan, "clv_mean"], jan_only["clv_mean"], rtol=1e-12)
    np.testing.assert_allclose(out.loc[~is_jan, "clv_mean"], later_only["clv_mean"], rtol=1e-12)


def test_naive_baseline_is_labelled_and_hand_computed():
    # Two customers observed 8 weeks (two 4-week periods each): one made 2 repeat purchases of $10, one none.
    summary = pd.DataFrame({col.CUSTOMER_ID: ["A", "B"], col.X: [2, 0], col.T_X: [6.0, 0.0], col.T: [8.0, 8.0],
                            col.MONETARY: [10.0, 0.0]})  # fmt: skip
    summary.attrs["unit"] = "W"
    base = naive_clv_baseline(summary, period_weeks=4, horizon_weeks=52)
    revenue = 20.0 / 4.0  # $20 of repeat revenue over 4 customer-periods
    retention = 0.5 ** (1 / 2)  # half came back, over 2 periods each
    lifespan = 1 / (1 - retention)  # 3.41 periods, under the 13-period cap
    assert base.label.startswith("BASELINE")
    assert base.value_per_customer == pytest.approx(revenue * lifespan * retention, rel=1e-12)
    assert base.expected_lifespan_periods == pytest.approx(lifespan, rel=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.drop(columns=[col.MONETARY]), "lacks column"),
        (lambda s: s.assign(t_x=s[col.T] + 1.0), "t_x > T"),
        (lambda s: s.assign(T=-1.0, t_x=0.0, x=0), "T < 0"),
        (lambda s: s.assign(x=np.nan), "missing or infinite"),
        (lambda s: s.iloc[:0], "empty"),
    ],
)
def test_bad_summaries_raise(cdnow_sample_summary, change, message):
    bad = change(cdnow_sample_summary.copy())
    bad.attrs.update(cdnow_sample_summary.attrs)
    with pytest.raises(LtvlabError, match=message):
        customer_lifetime_value(cdnow_bgnbd(), cdnow_gamma_gamma(), bad)


def test_bad_settings_raise(cdnow_sample_summary):
    with pytest.raises(LtvlabError, match="whole number of periods"):
        clv_horizon(unit="W", horizon_weeks=52, period_weeks=5)
    with pytest.raises(LtvlabError, match="annual_discount_rate"):
        clv_horizon(unit="W", annual_discount_rate=-1.5)
    no_unit = cdnow_sample_summary.copy()
    no_unit.attrs = {}
    with pytest.raises(LtvlabError, match="time unit"):
        customer_lifetime_value(cdnow_bgnbd(), cdnow_gamma_gamma(), no_unit)
    with pytest.raises(LtvlabError, match="not supported"):
        customer_lifetime_value(cdnow_gamma_gamma(), cdnow_gamma_gamma(), cdnow_sample_summary)
    with pytest.raises(LtvlabError, match="spend model"):
        customer_lifetime_value(cdnow_bgnbd(), cdnow_bgnbd(), cdnow_sample_summary)


def test_infinite_mean_spend_is_an_error_not_a_nan(cdnow_sample_summary):
    heavy_tail = cdnow_gamma_gamma()
    heavy_tail.params["q"] = np.array([[0.9]])  # q <= 1: the population mean spend is infinite
    with pytest.raises(LtvlabError, match="not finite"):
        customer_lifetime_value(cdnow_bgnbd(), heavy_tail, cdnow_sample_summary)


def test_customer_acquired_at_the_end_of_calibration():
    # Documented behaviour for T == 0 (first purchase on the last calibration day): nothing is known about the
    # customer yet, so CLV is the new-customer expectation E[X(t)] (FHL 2005 eq. 9) times the population mean
    # spend p * gamma / (q - 1) (Fader & Hardie 2013) - finite, not NaN.
    summary = pd.DataFrame(
        {col.CUSTOMER_ID: ["new"], col.X: [0], col.T_X: [0.0], col.T: [0.0], col.MONETARY: [0.0]}
    )
    summary.attrs["unit"] = "W"
    out = customer_lifetime_value(
        cdnow_bgnbd(),
        cdnow_gamma_gamma(),
        summary,
        horizon_weeks=26,
        period_weeks=26,
        annual_discount_rate=0.0,
    )
    g = cdnow.GAMMA_GAMMA
    expected = formulas.bgnbd_expected_purchases_new(26.0, **cdnow.BGNBD) * g["p"] * g["gamma"] / (g["q"] - 1)
    assert out["clv_mean"].iloc[0] == pytest.approx(expected, rel=1e-10)
