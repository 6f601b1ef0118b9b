"""Figure helpers shared by the reports: histograms whose axis shows the bulk of the data, RFM segment counts.

A long tail (one customer with 81 purchases days where nearly everyone has fewer than 10) squeezes the
histogram into one bar. :func:`plot_clipped_histogram` clips at a high quantile, gathers the rest in one
overflow bar labelled ``>= k`` and says so in the title.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ltvlab.reports import format as fmt


def plot_clipped_histogram(
    values: pd.Series | np.ndarray,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    clip_quantile: float = 0.99,
    discrete: bool = False,
    bins: int = 40,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of ``values`` up to their ``clip_quantile``; values above it go into one overflow bar."""
    if ax is None:
        _, ax = plt.subplots()
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        return ax
    cut = float(np.quantile(x, clip_quantile))
    if discrete:
        cut = float(np.ceil(cut))
    over = x > cut
    kept = x[~over]
    if discrete:
        edges = np.arange(np.floor(kept.min()) - 0.5, cut + 1.5, 1.0)
        width = 1.0
    else:
        edges = (
            np.linspace(kept.min(), cut, bins + 1) if cut > kept.min() else np.array([cut - 0.5, cut + 0.5])
        )
        width = edges[1] - edges[0]
    ax.hist(kept, bins=edges, color="#1f5f8b", edgecolor="white")
    suffix = ""
    if over.any():
        position = edges[-1] + width * (0.5 if discrete else 1.0)
        ax.bar(position, int(over.sum()), width=width, color="#d9822b", edgecolor="white", align="center")
        label = f">{fmt.number(cut)}"
        span = position - edges[0]
        ticks = [t for t in ax.get_xticks() if edges[0] <= t <= position - 0.12 * span]
        ax.set_xticks([*ticks, position], [*(fmt.number(t) for t in ticks), label])
        suffix = f"\nclipped at {fmt.number(cut)}; orange bar: {fmt.integer(over.sum())} more (max {fmt.number(x.max())})"
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title + suffix, fontsize=10)
    return ax


def plot_rfm_segments(counts: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Customers per RFM segment (:func:`ltvlab.features.rfm.rfm_segment_counts`): one bar per segment that has
    customers, labelled with its count and share; segments nobody falls in get no empty row but are named, with
    their rule, under the axis, so a reader sees they were checked and why they are empty."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    shown = counts[counts["customers"] > 0].reset_index(drop=True)
    y = np.arange(len(shown))
    ax.barh(y, shown["customers"], color="#1f5f8b")
    for pos, n, share in zip(y, shown["customers"], shown["share"], strict=True):
        ax.text(n, pos, f" {fmt.integer(n)} ({fmt.percent(share)})", va="center", fontsize=8)
    ax.set_yticks(y, shown["rfm_segment"].astype(str).tolist())
    ax.invert_yaxis()
    if len(shown):
        ax.set_xlim(0, float(shown["customers"].max()) * 1.2)
    ax.set(xlabel="customers (count)", ylabel="RFM segment")
    empty = counts[counts["customers"] == 0]
    title = "Customers per RFM segment"
    if len(empty):
        title += "\nno customer in: " + "; ".join(f"{r.rfm_segment} ({r.rule})" for r in empty.itertuples())
    ax.set_title(title, fontsize=10)
    return ax
