"""Panels for DiD, verdicts, the imbalance warning, and the designs on the synthetic CRM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.causal import (
    WeightingDesign,
    difference_in_differences,
    hypothesis_table,
    purchase_panel,
    verdict,
)
from ltvlab.errors import LtvlabError
from tests.causal.dgp import TRUE_EFFECT, confounded_frame, did_panel


def test_purchase_panel_hand_example() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": pd.to_datetime(["2023-01-02", "2023-01-09", "2022-12-26", "2023-03-01"]),
            "amount": [10.0, 20.0, 5.0, 99.0],
        }
    )
    panel = purchase_panel(
        tx, customers=["a", "b", "c"], treated_customers=["a"], treatment_start="2023-01-01",
        periods_before=1, periods_after=2,
    )  # fmt: skip
    # Weeks: -1 = Dec 25-31, 0 = Jan 1-7, 1 = Jan 8-14; c's March purchase is outside the window.
    wide = panel.pivot(index="customer_id", columns="period", values="purchases")
    assert wide.loc["a"].tolist() == [0, 1, 1]
    assert wide.loc["b"].tolist() == [1, 0, 0]
    assert wide.loc["c"].tolist() == [0, 0, 0]
    assert panel.set_index(["customer_id", "period"]).loc[("a", 1), "spend"] == 20.0
    assert panel.groupby("customer_id")["treated"].sum().to_dict() == {"a": 2, "b": 0, "c": 0}


def test_verdicts_and_hypothesis_table() -> None:
    good = WeightingDesign(
        confounded_frame(3000, seed=4), treatment="treated", outcome="y", covariates=["x1", "x2"]
    ).aipw()
    null = WeightingDesign(
        confounded_frame(3000, seed=4, effect=0.0), treatment="treated", outcome="y", covariates=["x1", "x2"]
    ).aipw()
    violated = difference_in_differences(
        did_panel(300, seed=5, treated_extra_trend=0.3),
        unit="customer_id",
        time="week",
        outcome="sales",
        treated="promo",
    )
    assert verdict(good).startswith("supported")
    assert verdict(violated).startswith("not credible")
    table = hypothesis_table(
        {"good": good, "null": null, "did": violated}, {"good": TRUE_EFFECT, "null": 0.0}
    )
    assert table.set_index("hypothesis").loc["good", "covers_truth"]
    assert table.set_index("hypothesis").loc["did", "covers_truth"] is None
    assert (table["naive_bias"].iloc[:2] > 0.5).all()


@pytest.fixture(scope="module")
def crm_units() -> tuple[pd.DataFrame, pd.DataFrame]:
    from ltvlab.data.synthetic import generate_crm
    from ltvlab.features import customer_summary

    crm = generate_crm(12000, model="paretonbd", assignment="confounded", seed=11)
    summary = customer_summary(
        crm.transactions,
        calibration_end=crm.calibration_end,
        holdout_end=crm.holdout_end,
        unit="W",
        merge_same_day=False,
    )
    units = summary.merge(crm.customers, on="customer_id")
    units = units.assign(
        log_x=np.log1p(units["x"]),
        log_monetary=np.log1p(units["monetary"]),
        treated=units["treated_coupon"].astype(int),
    )
    from ltvlab.features import channels_used

    units = units.merge(channels_used(crm.transactions, end=crm.calibration_end), on="customer_id")
    return units, crm.strategy_effects.set_index(["strategy", "segment"])


def test_crm_confounded_coupon_effect(crm_units: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Generator's confounded assignment: the naive difference in campaign purchases is several times the true
    effect; AIPW and IPW intervals cover the truth (fixed seed; 95% intervals)."""
    units, truth = crm_units
    true_effect = truth.loc[("coupon", "all"), "ate_purchases"]
    design = WeightingDesign(
        units, treatment="treated", outcome="x_holdout",
        covariates=["log_x", "x", "t_x", "T", "log_monetary", "acquisition_channel", "region"],
    )  # fmt: skip
    for result in (design.aipw(), design.ipw()):
        assert result.naive_estimate > 3 * true_effect
        assert result.ci_low <= true_effect <= result.ci_high
        assert result.naive_estimate > result.ci_high


@pytest.mark.filterwarnings("ignore:logistic propensity model did not converge")
def test_crm_multichannel_without_overlap_is_refused(crm_units: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Multi-channel use is a deterministic function of purchase count for one-purchase customers (one purchase ->
    one channel): the propensity model separates them and the design refuses with a clear error (no overlap)."""
    units, _ = crm_units
    with pytest.raises(LtvlabError, match="no overlap"):
        WeightingDesign(
            units, treatment="multi_channel", outcome="x_holdout", covariates=["log_x", "x", "t_x", "T"]
        ).aipw()
