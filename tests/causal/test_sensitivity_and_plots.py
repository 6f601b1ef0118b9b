"""E-values against the published worked example and their defining property; plots return Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.axes import Axes

from ltvlab.causal import (
    WeightingDesign,
    difference_in_differences,
    e_value,
    e_value_of_estimate,
    e_value_of_ratio,
    estimates_frame,
    plot_estimates_vs_naive,
    plot_event_study,
    plot_love,
    plot_propensity,
)
from ltvlab.errors import LtvlabError
from tests.causal.dgp import confounded_frame, did_panel


def test_published_example() -> None:
    # VanderWeele & Ding (2017, Ann Intern Med 167:268), worked example: RR = 3.9 (95% CI 1.8 to 8.7)
    # gives E-values 7.26 for the estimate and 3.0 for the lower limit.
    result = e_value(3.9, 1.8, 8.7)
    assert result.e_value == pytest.approx(7.26, abs=0.005)
    assert result.e_value_ci == pytest.approx(3.0, abs=0.005)


@pytest.mark.parametrize("rr", [1.1, 1.5, 2.0, 4.0, 0.5])
def test_e_value_exactly_explains_away(rr: float) -> None:
    """Ding & VanderWeele's bound: a confounder with RR_EU = RR_UD = E has bias factor E^2 / (2E - 1),
    which equals the observed ratio (or its inverse) exactly."""
    e = e_value_of_ratio(rr)
    assert e**2 / (2 * e - 1) == pytest.approx(max(rr, 1 / rr), rel=1e-12)


def test_interval_including_null_has_e_value_one() -> None:
    assert e_value(1.2, 0.9, 1.6).e_value_ci == 1.0
    with pytest.raises(LtvlabError):
        e_value(1.2, 1.3, 1.6)


def test_e_value_of_weighting_estimates() -> None:
    frame = confounded_frame(3000, seed=2)
    continuous = WeightingDesign(frame, treatment="treated", outcome="y", covariates=["x1", "x2"]).aipw()
    ev = e_value_of_estimate(continuous)
    assert ev.scale == "smd_approx"
    assert ev.risk_ratio == pytest.approx(np.exp(0.91 * continuous.estimate / continuous.outcome_sd))
    assert ev.e_value > ev.e_value_ci > 1
    binary = WeightingDesign(
        frame.assign(buy=(frame["y"] > 3).astype(int)),
        treatment="treated",
        outcome="buy",
        covariates=["x1", "x2"],
    ).ipw()
    ev_b = e_value_of_estimate(binary)
    assert ev_b.scale == "risk_ratio"
    assert ev_b.risk_ratio == pytest.approx(binary.mean_treated / binary.mean_control)
    assert "unmeasured confounder" in ev_b.interpretation


def test_plots_return_axes() -> None:
    design = WeightingDesign(
        confounded_frame(500, seed=1), treatment="treated", outcome="y", covariates=["x1", "x2"]
    )
    did = difference_in_differences(
        did_panel(60, seed=1), unit="customer_id", time="week", outcome="sales", treated="promo"
    )
    table = estimates_frame([design.ipw(), design.aipw()])
    for ax in (
        plot_propensity(design.overlap()),
        plot_love(design.balance()),
        plot_event_study(did),
        plot_estimates_vs_naive(table),
    ):
        assert isinstance(ax, Axes)
        assert ax.has_data()
    import matplotlib.pyplot as plt

    plt.close("all")
