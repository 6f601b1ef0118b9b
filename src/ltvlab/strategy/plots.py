"""Figures for budget allocation: ``plot_*(..., ax=None) -> Axes``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from ltvlab.strategy.allocation import AllocationResult


def plot_policy_returns(result: AllocationResult, ax: Axes | None = None) -> Axes:
    """Expected return of each policy with its credible interval (over the posterior draws)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    table = result.comparison
    y = np.arange(len(table))
    ax.errorbar(
        table["expected_return"],
        y,
        xerr=[table["expected_return"] - table["ci_low"], table["ci_high"] - table["expected_return"]],
        fmt="o",
        capsize=4,
    )
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(y, table["policy"].tolist())
    ax.set_xlabel(f"expected {result.objective} incremental value ({result.credible_mass:.0%} interval)")
    return ax


def plot_plan(result: AllocationResult, ax: Axes | None = None) -> Axes:
    """Contacts per segment, stacked by strategy."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    if result.plan.empty:
        ax.text(0.5, 0.5, "no contact expected to pay off", ha="center", va="center", transform=ax.transAxes)
        return ax
    wide = result.plan.pivot_table(
        index="segment", columns="strategy", values="contacts", aggfunc="sum", fill_value=0
    )
    bottom = np.zeros(len(wide))
    for strategy in wide.columns:
        ax.bar(wide.index.astype(str), wide[strategy], bottom=bottom, label=str(strategy))
        bottom += wide[strategy].to_numpy()
    ax.set_ylabel("customers contacted")
    ax.legend(fontsize=8)
    return ax
