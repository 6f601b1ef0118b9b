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


def test_cuped_bars_carry_only_their_share_and_the_table_the_intervals(report) -> None:
    """The variance removed is 1 - (SE adjusted / SE unadjusted)^2 from the two effect rows; the bar labels are
    that share alone (the intervals went to ``reports.views.cuped_table``, where they are readable)."""
    from ltvlab.experiments.plots import cuped_reduction
    from ltvlab.reports.views import cuped_table

    effects = report.effects_frame()
    table = cuped_reduction(effects)
    assert len(table) == 4  # 2 arms x 2 metrics
    for row in table.itertuples():
        pick = effects[(effects["arm"] == row.arm) & (effects["metric"] == row.metric)].set_index("method")
        expected = 1 - (pick.loc["cuped", "std_error"] / pick.loc["welch", "std_error"]) ** 2
        assert row.variance_reduction == pytest.approx(expected, rel=1e-12)
    fig, ax = plt.subplots()
    plot_cuped(effects, ax=ax)
    labels = [t.get_text().strip() for t in ax.texts]
    assert labels == [f"{100 * v:.1f}%" for v in table["variance_reduction"]]
    assert all(" to " not in t for t in labels)
    plt.close(fig)
    shown = cuped_table(report, value_metric="spend").to_frame()
    assert list(shown.columns)[-1] == "Variance removed"
    visit = shown[(shown["Metric"] == "visit")].iloc[0]
    assert visit["95% CI, unadjusted (Welch)"].count(" to ") == 1 and "pp" not in visit.iloc[2]
    assert shown[shown["Metric"] == "spend"].iloc[0].iloc[2].startswith("$")
