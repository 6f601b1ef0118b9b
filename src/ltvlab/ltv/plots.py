"""LTV figures: ``plot_*(..., ax=None) -> Axes``; every axis is labelled with its unit.

Each function draws on ``ax`` (a new figure when None) and returns it; inputs are the frames produced by
:mod:`ltvlab.ltv.holdout`, :mod:`ltvlab.ltv.scoring` / :mod:`ltvlab.ltv.clv` and the fitted models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.clv import QUANTILES, pair_draws
from ltvlab.ltv.registry import get_model

UNIT_NAMES = {"W": "weeks", "D": "days"}
POOLING_ORDER = ("none", "partial", "complete")


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_tracking(tracking: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Cumulative repeat purchases of the cohort by week: actual vs model, calibration end marked."""
    ax = _axes(ax)
    ax.plot(tracking["week"], tracking["actual_cumulative"], color="black", label="actual")
    ax.plot(
        tracking["week"], tracking["expected_cumulative"], color="tab:blue", ls="--", label="model (expected)"
    )
    return finish_tracking_axes(ax, tracking, "model")


def finish_tracking_axes(ax: Axes, tracking: pd.DataFrame, what: str) -> Axes:
    """Calibration end, axis labels with units, title and legend of a weekly tracking plot (one model or many)."""
    calibration = tracking.loc[tracking["period"] == "calibration", "week"]
    if len(calibration) and len(calibration) < len(tracking):
        ax.axvline(calibration.max() + 0.5, color="grey", ls=":", label="end of calibration")
    ax.set_xlabel("week since the cohort's first purchase (weeks)")
    ax.set_ylabel("cumulative repeat purchases (transactions)")
    ax.set_title(f"Tracking: cumulative repeat purchases, actual vs {what} (posterior mean)", fontsize=11)
    ax.legend(frameon=False, loc="upper left")
    return ax


def plot_conditional_expectations(table: pd.DataFrame, *, unit: str = "W", ax: Axes | None = None) -> Axes:
    """Mean holdout purchases per customer by calibration frequency: actual, model and naive baseline."""
    ax = _axes(ax)
    labels = table["x_bin"].astype(str)
    ax.plot(labels, table["actual"], "o-", color="black", label="actual")
    ax.plot(labels, table["predicted"], "s--", color="tab:blue", label="model")
    if "naive" in table:
        ax.plot(labels, table["naive"], "^:", color="tab:grey", label="naive baseline (x/T rate)")
    ax.set_xlabel("repeat purchases in calibration, x (transactions)")
    ax.set_ylabel("mean holdout purchases per customer (transactions)")
    ax.set_title("Holdout purchases by calibration frequency (model: posterior mean)", fontsize=11)
    ax.legend(frameon=False, loc="upper left")
    return ax


def p_alive_grid(
    purchase_fit: Any,
    *,
    T: float,
    max_frequency: int = 20,
    n_recency: int = 40,
    segment_index: int = 0,
    max_draws: int | None = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Posterior-mean P(alive) over frequency ``x = 0..max_frequency`` and recency ``t_x in [0, T]``.

    The formula is the fitted model's own (``get_model(name).p_alive`` of the registry), evaluated for each
    posterior draw of segment ``segment_index`` and averaged over draws.
    """
    draws = pair_draws(purchase_fit, None, max_draws=max_draws, seed=seed)
    model = get_model(draws.purchase_model)
    if model.p_alive is None:
        raise LtvlabError(f"{model.label} declares no P(alive); a P(alive) grid needs a purchase model")
    params = [draws.purchase[n][:, [segment_index]] for n in model.param_names]
    recency = np.linspace(0.0, T, n_recency)
    frequency = np.arange(max_frequency + 1)
    xx, rr = np.meshgrid(frequency, recency, indexing="ij")
    x, t_x = xx.ravel().astype(float), np.where(xx.ravel() == 0, 0.0, rr.ravel())
    values = model.p_alive(x, t_x, np.full_like(x, T), *params).mean(axis=0)
    return pd.DataFrame({col.X: x.astype(int), col.T_X: rr.ravel(), "p_alive": values})


def plot_p_alive_heatmap(grid: pd.DataFrame, *, unit: str = "W", ax: Axes | None = None) -> Axes:
    """Heatmap of P(alive) over frequency (rows) and recency (columns), from :func:`p_alive_grid`."""
    ax = _axes(ax, (8.0, 5.0))
    table = grid.pivot(index=col.X, columns=col.T_X, values="p_alive").sort_index(ascending=False)
    recency = table.columns.to_numpy()
    image = ax.imshow(
        table.to_numpy(),
        aspect="auto",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        extent=(recency.min(), recency.max(), table.index.min() - 0.5, table.index.max() + 0.5),
    )
    plt.colorbar(image, ax=ax, label="P(alive) (probability)")
    ax.grid(False)
    ax.set_xlabel(f"recency: time of the last repeat purchase, t_x ({UNIT_NAMES.get(unit, unit)})")
    ax.set_ylabel("frequency: repeat purchases, x (transactions)")
    ax.set_title("Probability a customer is still active")
    return ax


def plot_clv_distribution(
    scores: pd.DataFrame,
    segments: pd.Series | np.ndarray | None = None,
    *,
    value_col: str = "clv_mean",
    currency: str = "$",
    ax: Axes | None = None,
) -> Axes:
    """Distribution of customer CLV by segment (violins with quartiles, log scale)."""
    ax = _axes(ax)
    frame = pd.DataFrame(
        {
            "value": scores[value_col].to_numpy(float),
            "segment": np.asarray(segments).astype(str) if segments is not None else "all customers",
        }
    )
    positive = frame[frame["value"] > 0]  # log scale: a CLV of exactly 0 cannot be drawn
    sns.violinplot(
        data=positive, x="segment", y="value", ax=ax, color="tab:blue", log_scale=True, cut=0, inner="quart"
    )
    title = "Discounted CLV by segment (violins: spread over customers; lines: quartiles)"
    if len(positive):
        floor = float(
            np.quantile(positive["value"], 0.01)
        )  # the bulk: a few near-zero CLVs stretch a log axis
        below = int((positive["value"] < floor).sum())
        ax.set_ylim(bottom=floor)
        title += (
            f"\naxis from the 1st percentile ({currency}{floor:,.2f}); {below:,} customers below it not shown"
        )
    ax.set_xlabel("segment")
    ax.set_ylabel(f"CLV per customer, posterior mean ({currency}, log scale)")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=30)
    return ax


def segment_estimates(
    fits: Mapping[str, Any],
    summary: pd.DataFrame,
    parameter: str,
    *,
    max_draws: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Segment-level estimates of ``parameter`` under each pooling mode, for :func:`plot_shrinkage`.

    ``fits`` maps a pooling label (``none``/``partial``/``complete``) to a fit. A complete-pooling fit (one
    segment) gives the same estimate to every segment. Returns ``pooling, segment, customers, mean, q05, q95``.
    """
    rows = []
    reference = next((f for f in fits.values() if len(getattr(f, "segments", ())) > 1), None)
    if reference is None:
        raise LtvlabError("segment_estimates needs at least one fit with several segments")
    names = list(reference.segments)
    counts = np.bincount(np.asarray(reference.segment_index(summary), dtype=np.int64), minlength=len(names))
    for pooling, fit in fits.items():
        draws = fit.draws(max_draws=max_draws, seed=seed)
        if parameter not in draws:
            raise LtvlabError(f"parameter {parameter!r} is not in the {pooling} fit; it has {sorted(draws)}")
        values = np.atleast_2d(np.asarray(draws[parameter], dtype=float))
        fit_names = list(getattr(fit, "segments", ())) if values.shape[1] > 1 else None
        for i, name in enumerate(names):
            column = values[:, fit_names.index(name)] if fit_names else values[:, 0]
            q05, q95 = np.quantile(column, [QUANTILES[0], QUANTILES[-1]])
            rows.append((pooling, str(name), int(counts[i]), float(column.mean()), float(q05), float(q95)))
    return pd.DataFrame(rows, columns=["pooling", "segment", "customers", "mean", "q05", "q95"])


def plot_shrinkage(estimates: pd.DataFrame, *, parameter: str = "", ax: Axes | None = None) -> Axes:
    """Segment estimates under no / partial / complete pooling; segments ordered by size (small left)."""
    ax = _axes(ax)
    order = estimates.drop_duplicates("segment").sort_values("customers")["segment"].tolist()
    pos = {s: i for i, s in enumerate(order)}
    poolings = [p for p in POOLING_ORDER if p in set(estimates["pooling"])]
    poolings += [p for p in estimates["pooling"].unique() if p not in poolings]
    width = 0.6 / max(len(poolings), 1)
    colours = {"none": "tab:red", "partial": "tab:blue", "complete": "tab:grey"}
    for j, pooling in enumerate(poolings):
        part = estimates[estimates["pooling"] == pooling]
        x = np.array([pos[s] for s in part["segment"]]) + (j - (len(poolings) - 1) / 2) * width
        err = np.vstack([part["mean"] - part["q05"], part["q95"] - part["mean"]])
        ax.errorbar(
            x,
            part["mean"],
            yerr=np.clip(err, 0, None),
            fmt="o",
            capsize=2,
            label=pooling,
            color=colours.get(pooling),
        )
    sizes = estimates.drop_duplicates("segment").set_index("segment")["customers"]
    ax.set_xticks(range(len(order)), [f"{s}\n(n={sizes[s]:,})" for s in order], fontsize=8)
    ax.set_xlabel("segment (customers), smallest first")
    ax.set_ylabel(f"{parameter or 'parameter'}: mean and 90% interval (model units)")
    ax.set_title(f"Shrinkage of {parameter or 'the parameter'} across segments")
    ax.legend(title="pooling", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def plot_diagnostics(diagnostics: Any, *, title: str = "", ax: Axes | None = None) -> Axes:
    """Diagnostics panel: bulk/tail ESS per parameter against the gate, R-hat in the labels, status banner.

    ``diagnostics`` has ``ok``, ``table`` (``param, r_hat, ess_bulk, ess_tail``), ``messages`` and
    ``thresholds`` (as :class:`ltvlab.ltv.diagnostics.Diagnostics`). Failing parameters are labelled in red;
    the title is a green (passed) or red (failed) banner.
    """
    table = getattr(diagnostics, "table", None)
    n = len(table) if isinstance(table, pd.DataFrame) else 0
    ax = _axes(ax, (8.0, 1.5 + 0.25 * max(n, 2)))
    ok = bool(getattr(diagnostics, "ok", False))
    thresholds = getattr(diagnostics, "thresholds", None)
    min_ess = float(getattr(thresholds, "min_ess_bulk", 400.0))
    max_r_hat = float(getattr(thresholds, "max_r_hat", 1.01))
    messages = "; ".join(getattr(diagnostics, "messages", ()) or ())
    has_ess = n > 0 and {"ess_bulk", "ess_tail"} <= set(table.columns) and table["ess_bulk"].notna().any()
    # the status words of the reports: passed / failed / not applicable (a MAP fit has no sampler diagnostics)
    if not has_ess:
        status, colour = "not applicable (point estimate: no uncertainty, no sampler diagnostics)", "dimgrey"
    elif ok:
        status, colour = "passed", "tab:green"
    else:
        status, colour = "failed: do not rely on these results", "tab:red"
    ax.set_title(
        f"{title + ': ' if title else ''}diagnostics gate {status}"
        + (f"\n{messages}" if messages and not ok and has_ess else ""),
        color="white",
        backgroundcolor=colour,
        fontweight="bold",
        fontsize=9,
    )
    if not has_ess:
        ax.text(0.5, 0.5, "point estimate (MAP): no sampler diagnostics", ha="center", va="center")
        ax.set_xlabel("effective sample size (draws)")
        ax.set_ylabel("parameter")
        ax.set_yticks([])
        return ax
    y = np.arange(n)
    names = table["param"].astype(str) if "param" in table else table.index.astype(str)
    r_hat = table["r_hat"].to_numpy(float) if "r_hat" in table else np.full(n, np.nan)
    bulk, tail = table["ess_bulk"].to_numpy(float), table["ess_tail"].to_numpy(float)
    failing = (r_hat > max_r_hat) | (bulk < min_ess) | (tail < min_ess)
    ax.scatter(bulk, y, marker="o", color="tab:blue", label="bulk ESS", zorder=3)
    ax.scatter(tail, y, marker="s", facecolor="none", edgecolor="tab:orange", label="tail ESS", zorder=3)
    ax.axvline(min_ess, color="tab:red", ls=":", label=f"gate: ESS >= {min_ess:g}")
    ax.plot([], [], " ", label=f"gate: R-hat <= {max_r_hat:g}")  # stated in the legend: a short y-label
    ax.set_yticks(y, [f"{name} (R-hat {r:.3f})" for name, r in zip(names, r_hat, strict=True)], fontsize=8)
    for label, bad in zip(ax.get_yticklabels(), failing, strict=True):
        label.set_color("tab:red" if bad else "black")
    ax.invert_yaxis()
    ax.set_xlabel("effective sample size (draws)")
    ax.set_ylabel("parameter (R-hat)", fontsize=8)  # short: stacked panels' labels must not overlap
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax
