"""Every plot function draws on the given Axes and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from ltvlab.experiments import (
    analyse_experiment,
    fit_uplift,
    plot_cuped,
    plot_effects,
    plot_forest,
    plot_posteriors,
    plot_qini,
)
from tests.reference import hillstrom as ref


@pytest.fixture(scope="module")
def report(hillstrom):
    return analyse_experiment(
        hillstrom, arm_col="segment", control=ref.CONTROL, metrics=["visit", "spend"],
        covariates=["history", "recency"], segment_col="womens", bayes_draws=5000,
    )  # fmt: skip


def test_plots_return_their_axes(hillstrom, report) -> None:
    fig, axs = plt.subplots(1, 5)
    effects = report.effects_frame()
    assert plot_effects(effects, metric="visit", ax=axs[0]) is axs[0]
    assert len(axs[0].get_yticklabels()) == 4
    assert plot_posteriors(report.bayes, ax=axs[1]) is axs[1]
    assert plot_cuped(effects, ax=axs[2]) is axs[2]
    assert plot_forest(report.heterogeneity[1], ax=axs[3]) is axs[3]
    uplift = fit_uplift(
        hillstrom.sample(6000, random_state=0), arm_col="segment", treatment="Womens E-Mail",
        control=ref.CONTROL, outcome="visit", features=["womens", "history"], n_bootstrap=20, seed=0,
    )  # fmt: skip
    assert plot_qini(uplift, ax=axs[4]) is axs[4]
    assert len(axs[4].get_lines()) == 2
    plt.close(fig)
