"""Figures for budget allocation: ``plot_*(..., ax=None) -> Axes``."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from ltvlab.strategy.allocation import POLICY_LABELS, AllocationResult


def plot_policy_returns(
    result: AllocationResult,
    ax: Axes | None = None,
    *,
    realised: Mapping[str, float] | None = None,
    currency: str = "$",
) -> Axes:
    """Expected return of each policy with its credible interval (over the posterior draws), and the realised
    value when it is known (synthetic data) — a realised value outside its interval is drawn in red."""
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
        label=f"expected, {result.credible_mass:.0%} credible interval",
    )
    if realised:
        values = np.array([realised.get(p, np.nan) for p in table["policy"]], dtype=float)
        outside = (values < table["ci_low"].to_numpy()) | (values > table["ci_high"].to_numpy())
        ax.scatter(values, y, marker="x", s=60, color=np.where(outside, "tab:red", "black"), zorder=3,
                   label="realised (synthetic truth; red: outside its interval)")  # fmt: skip
    if realised and "oracle" in realised:
        ax.axvline(realised["oracle"], color="tab:green", linestyle="--", linewidth=1,
                   label="oracle: best plan under the true effects")  # fmt: skip
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(y, [POLICY_LABELS.get(p, p) for p in table["policy"]])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel(f"{result.objective} incremental value ({currency})")
    ax.set_title("Return of each policy", fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False, fontsize="small")
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
    ax.set_ylabel("customers contacted (count)")
    ax.set_xlabel("segment")
    ax.set_title("The plan: contacts per segment and strategy", fontsize=11)
    ax.legend(fontsize=8, title="strategy", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax


def plot_cell_values(
    cells: pd.DataFrame, ax: Axes | None = None, *, level: float = 0.9, currency: str = "$"
) -> Axes:
    """Every segment x strategy cell's incremental value per contact: posterior mean with its credible interval,
    and the true value (a cross, red when outside the interval); one row per cell, grouped by strategy.

    ``cells``: :class:`~ltvlab.strategy.AllocationCheck` ``cells`` (``segment, strategy, value_mean,
    value_low, value_high, true_value``)."""
    order = cells.sort_values(["strategy", "segment"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.28 * len(order) + 1.5))
    y = np.arange(len(order))[::-1]
    ax.errorbar(
        order["value_mean"],
        y,
        xerr=[order["value_mean"] - order["value_low"], order["value_high"] - order["value_mean"]],
        fmt="o",
        markersize=4,
        capsize=2,
        color="tab:blue",
        label=f"estimate, {level:.0%} credible interval",
    )
    outside = (order["true_value"] < order["value_low"]) | (order["true_value"] > order["value_high"])
    ax.scatter(order["true_value"], y, marker="x", s=40, zorder=3,
               color=np.where(outside, "tab:red", "black"), label="true value (red: outside its interval)")  # fmt: skip
    ax.set_yticks(
        y, [f"{s} · {k}" for s, k in zip(order["segment"], order["strategy"], strict=True)], fontsize=8
    )
    for boundary in np.flatnonzero(order["strategy"].to_numpy()[1:] != order["strategy"].to_numpy()[:-1]):
        ax.axhline(y[boundary] - 0.5, color="grey", linewidth=0.5)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_xlabel(f"incremental discounted CLV per contacted customer ({currency})")
    ax.set_ylabel("segment · strategy")
    ax.set_title("Value per contact of every cell: estimate vs truth", fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False, fontsize="small")
    return ax
