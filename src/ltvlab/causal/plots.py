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
    ax.set_xlabel("propensity score")
    ax.set_ylabel("density (control mirrored)")
    ax.set_title(f"Overlap; rule: {overlap.rule}", fontsize=9)
    ax.legend()
    return ax


def plot_love(balance: pd.DataFrame, ax: Axes | None = None, threshold: float = 0.1) -> Axes:
    """Love plot: |SMD| of each covariate before and after weighting, with the balance threshold."""
    ax = _axes(ax)
    table = balance.assign(order=balance["smd_unweighted"].abs()).sort_values("order")
    y = np.arange(len(table))
    ax.scatter(table["smd_unweighted"].abs(), y, marker="o", color="tab:red", label="unweighted")
    ax.scatter(table["smd_weighted"].abs(), y, marker="s", color="tab:green", label="weighted")
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, table["covariate"].astype(str).tolist())
    ax.set_xlabel("|standardised mean difference|")
    ax.legend()
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
    ax.set_title(f"Event study ({verdict}, joint p = {result.pretrend_p_value:.3g})", fontsize=9)
    ax.set_xlabel("period relative to start")
    ax.set_ylabel(f"effect on {result.outcome}")
    return ax


def plot_estimates_vs_naive(table: pd.DataFrame, ax: Axes | None = None, label: str = "label") -> Axes:
    """Each estimate with its interval next to the naive difference (columns of ``estimates_frame``)."""
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
    ax.set_xlabel("effect")
    ax.legend()
    return ax
