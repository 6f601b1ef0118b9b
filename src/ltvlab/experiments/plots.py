"""Figures of the A/B engine; every function takes an optional ``ax`` and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ltvlab.experiments.heterogeneity import HeterogeneityResult
from ltvlab.experiments.results import BayesianEffect
from ltvlab.experiments.uplift import UpliftResult


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=(7, 4))[1]


def _level(frame: pd.DataFrame) -> str:
    if "alpha" in frame and len(frame):
        return f"{100 * (1 - float(frame['alpha'].iloc[0])):g}%"
    return "95%"


def plot_effects(
    effects: pd.DataFrame, *, metric: str | None = None, unit: str = "", ax: Axes | None = None
) -> Axes:
    """Point estimates with confidence intervals, one row per arm (and method), for one metric.

    ``unit`` names the metric's unit on the axis (e.g. ``"share of units"``, ``"$ per unit"``)."""
    ax = _axes(ax)
    rows = effects if metric is None else effects[effects["metric"] == metric]
    rows = rows.reset_index(drop=True)
    labels = [f"{r.arm} · {r.metric} ({r.method})" for r in rows.itertuples()]
    y = np.arange(len(rows))
    ax.errorbar(
        rows["estimate"],
        y,
        xerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
        fmt="o",
        capsize=4,
    )
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    unit_text = f", {unit}" if unit else ""
    ax.set_xlabel(f"absolute lift vs control{unit_text} ({_level(rows)} confidence interval)")
    return ax


def plot_posteriors(
    results: list[BayesianEffect] | tuple[BayesianEffect, ...], *, unit: str = "", ax: Axes | None = None
) -> Axes:
    """Posterior densities (histograms of draws) of the lift, one per arm/metric, with P(better) in the legend."""
    ax = _axes(ax)
    for result in results:
        if result.lift_draws.size == 0:
            continue
        ax.hist(
            result.lift_draws,
            bins=80,
            density=True,
            histtype="step",
            linewidth=1.5,
            label=f"{result.arm} · {result.metric}: P(better) "
            + ("> 99.9%" if result.prob_better > 0.999 else f"= {result.prob_better:.1%}"),
        )
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("absolute lift vs control" + (f" ({unit})" if unit else ""))
    ax.set_ylabel("posterior density")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    return ax


def cuped_reduction(effects: pd.DataFrame) -> pd.DataFrame:
    """Per arm and metric present in both methods: the Welch and CUPED intervals and the share of the estimate's
    variance the covariates removed, ``1 - (SE adjusted / SE unadjusted)^2``."""
    raw = effects[effects["method"] == "welch"].set_index(["arm", "metric"])
    adjusted = effects[effects["method"] == "cuped"].set_index(["arm", "metric"])
    keys = [k for k in raw.index if k in adjusted.index]
    rows = [
        {
            "arm": arm,
            "metric": metric,
            "ci_low_welch": raw.loc[(arm, metric), "ci_low"],
            "ci_high_welch": raw.loc[(arm, metric), "ci_high"],
            "ci_low_cuped": adjusted.loc[(arm, metric), "ci_low"],
            "ci_high_cuped": adjusted.loc[(arm, metric), "ci_high"],
            "variance_reduction": 1
            - (adjusted.loc[(arm, metric), "std_error"] / raw.loc[(arm, metric), "std_error"]) ** 2,
        }
        for arm, metric in keys
    ]
    columns = ["arm", "metric", "ci_low_welch", "ci_high_welch", "ci_low_cuped", "ci_high_cuped"]
    return pd.DataFrame(rows, columns=[*columns, "variance_reduction"])


def plot_cuped(effects: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Variance reduction from covariate adjustment per arm and metric (:func:`cuped_reduction`), each bar
    labelled with its share only; the intervals before and after belong in a table beside the figure."""
    ax = _axes(ax)
    table = cuped_reduction(effects)
    reduction = table["variance_reduction"].to_numpy(float)
    y = np.arange(len(table))
    ax.barh(y, 100 * reduction, color="tab:orange")
    for pos, value in zip(y, reduction, strict=True):
        ax.text(max(100 * value, 0), pos, f" {100 * value:.1f}%", va="center", fontsize="small")
    ax.set_yticks(y, [f"{a} · {m}" for a, m in zip(table["arm"], table["metric"], strict=True)])
    ax.invert_yaxis()
    ax.axvline(0, color="grey", linewidth=1)
    upper = max(float(100 * reduction.max()) if len(table) else 1.0, 1.0)
    ax.set_xlim(min(0.0, float(100 * reduction.min()) if len(table) else 0.0), upper * 1.15)
    ax.set_xlabel("share of the estimate's variance removed by covariate adjustment (%)")
    return ax


def plot_forest(result: HeterogeneityResult, *, ax: Axes | None = None) -> Axes:
    """Forest plot: raw per-segment estimates (open) beside partially pooled ones (filled), with intervals."""
    ax = _axes(ax)
    table = result.table
    y = np.arange(len(table))
    ax.errorbar(
        table["raw_estimate"], y - 0.12,
        xerr=[table["raw_estimate"] - table["raw_ci_low"], table["raw_ci_high"] - table["raw_estimate"]],
        fmt="o", mfc="white", capsize=3, label="raw (Welch)",
    )  # fmt: skip
    ax.errorbar(
        table["shrunk_mean"], y + 0.12,
        xerr=[table["shrunk_mean"] - table["shrunk_ci_low"], table["shrunk_ci_high"] - table["shrunk_mean"]],
        fmt="s", capsize=3, label="partially pooled",
    )  # fmt: skip
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.axvline(result.mu_mean, color="tab:green", linewidth=1, label="population mean effect")
    ax.set_yticks(y, [f"{result.segment_col} = {s}" for s in table["segment"]])
    ax.set_xlabel(f"effect of {result.arm} on {result.metric} (raw: 95% CI; pooled: 95% credible interval)")
    ax.set_title(f"Effect of {result.arm} on {result.metric} by {result.segment_col}", fontsize=11)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    return ax


def plot_qini(result: UpliftResult, *, ax: Axes | None = None) -> Axes:
    """Held-out Qini curve of the uplift model against random targeting."""
    ax = _axes(ax)
    curve = result.curve
    ax.plot(curve["depth"], curve["qini"], label=f"{result.learner.upper()}-learner (AUUC {result.auuc:.4f})")
    ax.plot(
        curve["depth"],
        curve["random"],
        linestyle="--",
        color="grey",
        label=f"random ({result.random_auuc:.4f})",
    )
    ax.set_xlabel("share of customers targeted (highest predicted uplift first)")
    ax.set_ylabel(f"incremental {result.outcome} per customer (held-out half)")
    ax.set_title(f"Qini curve: targeting by predicted uplift on {result.outcome}", fontsize=11)
    ax.legend(fontsize="small", loc="lower right")
    return ax
