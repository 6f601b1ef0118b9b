"""Figures of the models added through the registry: tracking by discrete period (BG/BB), retention
projections (sBG), and one tracking plot with every compared model."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from ltvlab.ltv.plots import finish_tracking_axes

__all__ = ["plot_model_tracking", "plot_period_tracking", "plot_retention_projection"]


def plot_period_tracking(tracking: pd.DataFrame, *, cumulative: bool = False, ax: Axes | None = None) -> Axes:
    """Actual vs expected repeat transactions per period (:func:`ltvlab.ltv.periods.period_tracking`), with the
    end of calibration marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    suffix = "_cumulative" if cumulative else ""
    x = range(len(tracking))
    ax.plot(x, tracking[f"actual{suffix}"], marker="o", color="black", label="actual")
    ax.plot(x, tracking[f"expected{suffix}"], marker="s", linestyle="--", color="tab:blue", label="model")
    calibration = int((tracking["phase"] == "calibration").sum())
    if 0 < calibration < len(tracking):
        ax.axvline(calibration - 0.5, color="grey", linestyle=":", label="end of calibration")
    ax.set_xticks(list(x), tracking["period"], rotation=45, ha="right")
    ax.set_ylabel(("cumulative " if cumulative else "") + "repeat transactions")
    ax.set_xlabel("period")
    ax.legend(frameon=False)
    return ax


def plot_retention_projection(
    projection: pd.DataFrame,
    baselines: list,
    observed: pd.DataFrame | None = None,
    *,
    last_observed: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Projected survival per cohort with its interval (:func:`ltvlab.ltv.sbg.project_retention`), the
    constant-rate baselines dashed and labelled as such, and the observed shares (``cohort, period, survival``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (cohort, frame) in enumerate(projection.groupby("cohort", sort=True)):
        colour = colours[i % len(colours)]
        ax.fill_between(
            frame["period"], frame["survival_lower"], frame["survival_upper"], color=colour, alpha=0.2
        )
        ax.plot(frame["period"], frame["survival_mean"], color=colour, label=f"{cohort}: sBG model")
        base = next((b for b in baselines if b.cohort == cohort), None)
        if base is not None:
            ax.plot(
                base.survival["period"], base.survival["survival"], color=colour, linestyle="--",
                label=f"{cohort}: baseline, constant retention rate",
            )  # fmt: skip
        if observed is not None:
            seen = observed[observed["cohort"] == cohort]
            ax.scatter(seen["period"], seen["survival"], color=colour, edgecolor="black", zorder=3, s=25)
    if last_observed is not None:
        ax.axvline(last_observed, color="grey", linestyle=":", label="last observed period")
    ax.set_xlabel("period since acquisition")
    ax.set_ylabel("share still active")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_model_tracking(
    tracking: pd.DataFrame, *, labels: dict[str, str] | None = None, ax: Axes | None = None
) -> Axes:
    """Cumulative repeat purchases by week, actual and under every compared model
    (:func:`ltvlab.ltv.compare.model_tracking`), with the end of calibration marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    ax.plot(tracking["week"], tracking["actual_cumulative"], color="black", linewidth=2, label="actual")
    styles = ["--", "-.", ":", (0, (5, 1))]
    for i, name in enumerate(
        c.removeprefix("expected_") for c in tracking.columns if c.startswith("expected_")
    ):
        label = (labels or {}).get(name, name)
        ax.plot(
            tracking["week"], tracking[f"expected_{name}"], linestyle=styles[i % len(styles)], label=label
        )
    return finish_tracking_axes(ax, tracking, "every model")
