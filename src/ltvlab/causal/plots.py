"""Figures for the observational designs: ``plot_*(..., ax=None) -> Axes``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ltvlab.causal.did import DidResult
from ltvlab.causal.results import OverlapSummary


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_propensity(overlap: OverlapSummary, ax: Axes | None = None, bins: int = 40) -> Axes:
    """Mirrored histograms of the propensity score (treated above, control below) with the trimming bounds."""
    ax = _axes(ax)
    edges = np.linspace(0, 1, bins + 1)
    e, t = overlap.propensity, overlap.treated
    h1, _ = np.histogram(e[t], bins=edges, density=True)
    h0, _ = np.histogram(e[~t], bins=edges, density=True)
    width = edges[1] - edges[0]
    ax.bar(edges[:-1], h1, width=width, align="edge", color="tab:orange", alpha=0.8, label="treated")
    ax.bar(edges[:-1], -h0, width=width, align="edge", color="tab:blue", alpha=0.8, label="control")
    for bound in (overlap.trim_low, overlap.trim_high):
        if 0 < bound < 1:
            ax.axvline(bound, color="grey", linestyle="--", linewidth=1)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xlabel("propensity score (probability of treatment)")
    ax.set_ylabel("density (control mirrored below 0)")
    ax.set_title(f"Overlap of propensity scores\ntrimming rule: {overlap.rule}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax


def plot_love(
    balance: pd.DataFrame, ax: Axes | None = None, threshold: float = 0.1, title: str = "Covariate balance"
) -> Axes:
    """Love plot: |SMD| of each covariate before and after weighting, with the balance threshold."""
    ax = _axes(ax)
    table = balance.assign(order=balance["smd_unweighted"].abs()).sort_values("order")
    y = np.arange(len(table))
    ax.scatter(table["smd_unweighted"].abs(), y, marker="o", color="tab:red", label="unweighted")
    ax.scatter(table["smd_weighted"].abs(), y, marker="s", color="tab:green", label="weighted")
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, table["covariate"].astype(str).tolist())
    ax.set_xlabel(f"|standardised mean difference| (dashed: balance limit {threshold:g})")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax


def plot_event_study(result: DidResult, ax: Axes | None = None) -> Axes:
    """Event-study coefficients with intervals; period -1 is the reference, the dashed line the start."""
    ax = _axes(ax)
    es = result.event_study
    ax.errorbar(
        es["relative_period"],
        es["coef"],
        yerr=[es["coef"] - es["ci_low"], es["ci_high"] - es["coef"]],
        fmt="o",
        capsize=3,
    )
    ax.axhline(0, color="black", linewidth=0.5)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=1)
    verdict = "pre-trends OK" if result.pretrend_ok else "PRE-TRENDS DIFFER"
    ax.set_title(f"Event study ({verdict}, joint pre-trend p = {result.pretrend_p_value:.2g})", fontsize=10)
    ax.set_xlabel("period relative to the start (periods; -1 = reference)")
    ax.set_ylabel(f"effect on {result.outcome} per unit and period\n({100 * (1 - result.alpha):g}% CI)")
    return ax


def plot_estimates_vs_naive(
    table: pd.DataFrame, ax: Axes | None = None, label: str = "label", unit: str = "effect"
) -> Axes:
    """Each estimate with its interval next to the naive difference (columns of ``estimates_frame``).

    All rows must share one outcome unit (``unit`` labels the axis); :func:`plot_estimates_by_outcome`
    draws one panel per outcome."""
    ax = _axes(ax)
    names = table[label] if label in table.columns else table["method"]
    y = np.arange(len(table))
    ax.errorbar(
        table["estimate"],
        y,
        xerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
        fmt="o",
        capsize=3,
        label="design estimate",
    )
    ax.scatter(table["naive_estimate"], y + 0.15, marker="x", color="tab:red", label="naive difference")
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(y, names.astype(str).tolist())
    level = f"{100 * (1 - float(table['alpha'].iloc[0])):g}% CI" if "alpha" in table and len(table) else "CI"
    ax.set_xlabel(f"{unit} (design estimate with {level})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False, fontsize="small")
    return ax


OUTCOME_UNITS = {
    "retained": "effect on retention (share of customers)",
    "x_holdout": "effect on purchases per customer (count)",
    "spend_holdout": "effect on spend per customer (currency)",
}


def plot_estimates_by_outcome(
    table: pd.DataFrame, *, label: str = "label", units: dict[str, str] | None = None
) -> plt.Figure:
    """One panel per outcome (one unit per axis): design estimates with intervals next to the naive ones."""
    outcomes = list(dict.fromkeys(table["outcome"]))
    heights = [max(int((table["outcome"] == o).sum()), 1) for o in outcomes]
    fig, axs = plt.subplots(
        len(outcomes), 1, figsize=(9, 1.6 * len(outcomes) + 0.45 * sum(heights)), height_ratios=heights,
        squeeze=False,
    )  # fmt: skip
    names = {**OUTCOME_UNITS, **(units or {})}
    for ax, outcome in zip(axs[:, 0], outcomes, strict=True):
        part = table[table["outcome"] == outcome].reset_index(drop=True)
        plot_estimates_vs_naive(part, ax=ax, label=label, unit=names.get(outcome, f"effect on {outcome}"))
        ax.set_title(f"Outcome: {outcome}", fontsize=10)
    fig.tight_layout()
    return fig
