"""Difference-in-differences: known effect under parallel trends, pre-trend test, bad input."""

from __future__ import annotations

import pytest

from ltvlab.causal import difference_in_differences
from ltvlab.errors import LtvlabError
from tests.causal.dgp import DID_EFFECT, did_panel

KW = {"unit": "customer_id", "time": "week", "outcome": "sales", "treated": "promo"}


def test_recovers_effect_under_parallel_trends() -> None:
    result = difference_in_differences(did_panel(400, seed=1), **KW)
    # Fixed seed, 95% interval: covers the truth; SE ~ 1 * sqrt(1/(200*4) * ...) ~ 0.07, so the interval is tight.
    assert result.ci_low <= DID_EFFECT <= result.ci_high
    assert result.ci_high - result.ci_low < 0.5
    # The before/after change of treated units also picks up the common trend 0.5/week * 4 weeks = 2.0.
    assert result.naive_estimate == pytest.approx(DID_EFFECT + 2.0, abs=0.3)
    # Whether a 5%-level pre-trend test rejects on one dataset is itself random: its size is checked over
    # many panels below; here only that the test was run on the three leads (-4, -3, -2).
    assert result.pretrend_df == 3 and 0 <= result.pretrend_p_value <= 1
    assert result.n_units == 400 and result.n_periods == 8 and result.treatment_start == 4
    es = result.event_study.set_index("relative_period")
    assert es.loc[-1, "coef"] == 0.0
    assert list(es.index) == list(range(-4, 4))
    # Post-period coefficients average to the constant effect, leads to zero: each has SE ~ 0.1, so their
    # means have SE <= 0.1 and a 4-SE band is 0.4.
    assert es.loc[0:, "coef"].mean() == pytest.approx(DID_EFFECT, abs=0.4)
    assert es.loc[:-2, "coef"].mean() == pytest.approx(0.0, abs=0.4)


def test_pretrend_violation_is_flagged() -> None:
    result = difference_in_differences(did_panel(400, seed=2, treated_extra_trend=0.3), **KW)
    assert not result.pretrend_ok
    # Leads are -0.3 * k for k = 2..4 with SEs near 0.1, so the joint test is overwhelming.
    assert result.pretrend_p_value < 1e-3
    assert "pre_trends_differ" in result.warnings


def test_pretrend_test_size_is_near_nominal() -> None:
    """Under parallel trends the joint test rejects in about alpha of datasets (40 panels: binomial SE 0.034)."""
    results = [difference_in_differences(did_panel(200, seed=100 + i), **KW) for i in range(40)]
    rejections = sum(not r.pretrend_ok for r in results)
    assert rejections <= 6  # P(Binomial(40, 0.05) >= 7) < 0.005
    assert all(("pre_trends_differ" in r.warnings) == (not r.pretrend_ok) for r in results)
    # The TWFE interval also covers the truth in most panels: P(Binomial(40, 0.95) <= 34) < 0.02.
    assert sum(r.ci_low <= DID_EFFECT <= r.ci_high for r in results) >= 35


def test_staggered_rollout_refused_with_explanation() -> None:
    with pytest.raises(LtvlabError, match="staggered"):
        difference_in_differences(did_panel(200, seed=3, staggered=True), **KW)


def test_single_period_and_constant_treatment_raise() -> None:
    panel = did_panel(100, seed=4)
    with pytest.raises(LtvlabError, match="at least two time periods"):
        difference_in_differences(panel[panel["week"] == 5], **KW)
    with pytest.raises(LtvlabError, match="never varies"):
        difference_in_differences(panel.assign(promo=0), **KW)
    with pytest.raises(LtvlabError, match="never-treated"):
        difference_in_differences(panel.assign(promo=(panel["week"] >= 4).astype(int)), **KW)


def test_to_frame_and_binned_window() -> None:
    result = difference_in_differences(did_panel(200, seed=6), max_leads=2, max_lags=1, **KW)
    assert list(result.event_study["relative_period"]) == [-2, -1, 0, 1]
    frame = result.to_frame()
    assert {"estimate", "naive_estimate", "pretrend_p_value", "naive_bias"} <= set(frame.columns)
