"""LTV figures draw on the given axes, return them, and label every axis (with units)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ltvlab.ltv.holdout import conditional_expectations, cumulative_tracking, holdout_validation
from ltvlab.ltv.plots import (
    p_alive_grid,
    plot_clv_distribution,
    plot_conditional_expectations,
    plot_diagnostics,
    plot_p_alive_heatmap,
    plot_shrinkage,
    plot_tracking,
    segment_estimates,
)
from ltvlab.ltv.scoring import score_customers
from tests.ltv.fixed_fit import FixedFit, cdnow_bgnbd, cdnow_gamma_gamma


def _labelled(ax) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel()) and "(" in ax.get_ylabel()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_holdout_figures(cdnow_sample_summary, cdnow_sample_transactions):
    fit = cdnow_bgnbd()
    _, axs = plt.subplots(1, 2)
    track = cumulative_tracking(fit, cdnow_sample_summary, cdnow_sample_transactions)
    assert plot_tracking(track, ax=axs[0]) is axs[0] and _labelled(axs[0])
    table = conditional_expectations(holdout_validation(fit, cdnow_sample_summary))
    assert plot_conditional_expectations(table, ax=axs[1]) is axs[1] and _labelled(axs[1])


def test_p_alive_heatmap(cdnow_sample_summary):
    grid = p_alive_grid(cdnow_bgnbd(), T=39.0, max_frequency=10, n_recency=20)
    assert grid["p_alive"].between(0, 1).all()
    # BG/NBD: at fixed frequency > 0, a more recent last purchase means more likely alive
    x5 = grid[grid["x"] == 5].sort_values("t_x")
    assert x5["p_alive"].is_monotonic_increasing
    ax = plot_p_alive_heatmap(grid, unit="W")
    assert "weeks" in ax.get_xlabel() and _labelled(ax)


def test_p_alive_grid_uses_the_fitted_models_formula_mbgnbd():
    # MBG/NBD at the CDNOW-sample MLE (Batislam et al. 2007), two posterior draws (the grid averages over draws).
    # Closed form written out here, independently of ltvlab.ltv.formulas (Batislam et al. 2007, eq. 8):
    # P(alive) = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x)); below 1 even at x = 0.
    draws = {"r": [[0.525], [0.60]], "alpha": [[6.183], [5.5]], "a": [[0.891], [0.8]], "b": [[1.614], [1.9]]}
    fit = FixedFit("mbgnbd", {k: np.array(v) for k, v in draws.items()})
    T = 39.0
    grid = p_alive_grid(fit, T=T, max_frequency=6, n_recency=9)
    x, t_x = grid["x"].to_numpy(float), np.where(grid["x"] == 0, 0.0, grid["t_x"])
    expected = np.zeros(len(grid))
    for r, alpha, a, b in zip(*(np.ravel(v) for v in draws.values()), strict=True):
        expected += 1.0 / (1.0 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x)) / 2.0
    np.testing.assert_allclose(grid["p_alive"], expected, rtol=1e-12)
    assert grid.loc[grid["x"] == 0, "p_alive"].lt(0.9).all()  # BG/NBD's formula would say 1 here


def test_clv_distribution_and_shrinkage(cdnow_sample_summary):
    scores = score_customers(cdnow_bgnbd(), cdnow_gamma_gamma(), cdnow_sample_summary)
    segments = np.where(cdnow_sample_summary["first_purchase"].dt.month == 1, "jan", "feb-mar")
    assert _labelled(plot_clv_distribution(scores, segments))
    summary = cdnow_sample_summary.assign(segment=segments)
    none = FixedFit("bgnbd", {"r": np.array([[0.2, 0.3]])}, segment="segment", segments=("jan", "feb-mar"))
    partial = FixedFit(
        "bgnbd", {"r": np.array([[0.22, 0.27]])}, segment="segment", segments=("jan", "feb-mar")
    )
    complete = FixedFit("bgnbd", {"r": np.array([[0.243]])})
    estimates = segment_estimates({"none": none, "partial": partial, "complete": complete}, summary, "r")
    assert len(estimates) == 6
    assert estimates.loc[estimates["pooling"] == "complete", "mean"].eq(0.243).all()
    assert _labelled(plot_shrinkage(estimates, parameter="r"))


def test_diagnostics_panel_banner_and_failing_labels():
    class _Diag:
        ok = False
        messages = ("min bulk ESS 120 < 400",)
        table = pd.DataFrame(
            {
                "param": ["r", "a"],
                "r_hat": [1.0, 1.05],
                "ess_bulk": [900.0, 120.0],
                "ess_tail": [800.0, 300.0],
            }
        )

    ax = plot_diagnostics(_Diag())
    assert "gate failed" in ax.get_title() and "passed" not in ax.get_title() and _labelled(ax)
    colours = [label.get_color() for label in ax.get_yticklabels()]
    assert colours == ["black", "tab:red"]  # only the failing parameter is flagged


def test_diagnostics_panel_of_a_map_fit_says_not_applicable_never_passed():
    class _Map:
        ok = True
        messages = ()
        table = pd.DataFrame({"param": ["r"], "r_hat": [np.nan], "ess_bulk": [np.nan], "ess_tail": [np.nan]})

    title = plot_diagnostics(_Map()).get_title()
    assert "not applicable" in title and "no sampler diagnostics" in title
    assert "passed" not in title.lower()
