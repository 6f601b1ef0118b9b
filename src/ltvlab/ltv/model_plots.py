"""Figures of the models added through the registry: tracking by discrete period (BG/BB), retention
projections (sBG, beta-discrete-Weibull), and one tracking plot with every compared model."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from ltvlab.ltv.plots import finish_tracking_axes

__all__ = [
    "plot_model_tracking",
    "plot_period_tracking",
    "plot_retention_models",
    "plot_retention_projection",
]


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
        model = frame["model"].iloc[0] if "model" in frame else "sBG"
        ax.plot(frame["period"], frame["survival_mean"], color=colour, label=f"{cohort}: {model} model")
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


def plot_retention_models(
    projections: list[pd.DataFrame],
    observed: pd.DataFrame | None = None,
    *,
    last_observed: int | None = None,
    axes: tuple[Axes, Axes] | None = None,
) -> tuple[Axes, Axes]:
    """Survival (left) and retention rate (right) per cohort under several contractual models, each
    :func:`ltvlab.ltv.sbg.project_retention` frame one line style with its interval band; colours are cohorts.
    ``observed`` (``cohort, period, survival``) adds the observed shares and the observed retention rates."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    left, right = axes
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ("-", "-.", ":", "--")
    cohorts = sorted({c for p in projections for c in p["cohort"]})
    for m, projection in enumerate(projections):
        for cohort, frame in projection.groupby("cohort", sort=True):
            colour = colours[cohorts.index(cohort) % len(colours)]
            label = f"{cohort}: {frame['model'].iloc[0]}"
            rates = frame[frame["period"] >= 1]
            for ax, data, what in ((left, frame, "survival"), (right, rates, "retention")):
                ax.fill_between(
                    data["period"], data[f"{what}_lower"], data[f"{what}_upper"], color=colour, alpha=0.12
                )
                ax.plot(
                    data["period"], data[f"{what}_mean"], color=colour, linestyle=styles[m % len(styles)],
                    label=label,
                )  # fmt: skip
    if observed is not None:
        for cohort, seen in observed.groupby("cohort", sort=True):
            colour = colours[cohorts.index(cohort) % len(colours)] if cohort in cohorts else "black"
            seen = seen.sort_values("period")
            left.scatter(seen["period"], seen["survival"], color=colour, edgecolor="black", zorder=3, s=22)
            survival = seen["survival"].to_numpy()
            right.scatter(
                seen["period"].to_numpy()[1:], survival[1:] / survival[:-1], color=colour, edgecolor="black",
                zorder=3, s=22,
            )  # fmt: skip
    for ax, ylabel in ((left, "share still active"), (right, "retention rate (renewing share)")):
        if last_observed is not None:
            ax.axvline(last_observed, color="grey", linestyle=":")
        ax.set_xlabel("period since acquisition")
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    left.set_ylim(0, 1.02)
    right.legend(frameon=False, fontsize=8)
    return left, right


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
