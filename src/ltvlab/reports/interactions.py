"""Presentation of contact-strategy effects inside the LTV model: tables, forest plots, headline and answer.

Inputs are tidy frames, so everything here is tested without a fit:

- ``effects`` (:meth:`ltvlab.ltv.interactions.TVCFit.effects`): ``segment``, ``strategy``, ``parameter``
  (``"purchase"`` or ``"dropout"``), ``mean``, ``lower``, ``upper`` of the log multiplier per contact counted by
  the carry-over (``lower``/``upper`` missing for a point estimate);
- ``truth`` (the synthetic generator's): ``segment``, ``strategy``, ``parameter``, ``value``;
- ``value`` (incremental value per contact): ``strategy``, ``segment``, ``mean``, ``lower``, ``upper``, ``cost``.

An effect ``g`` on the purchase rate multiplies it by ``exp(g)`` per contact: ``exp(g) - 1`` is the change in the
rate, shown as a percentage. On the dropout rate a negative effect means customers stay longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.reports import format as fmt
from ltvlab.reports.headline import Headline
from ltvlab.reports.status import NOT_APPLICABLE, PASSED, Check

KEYS = ["parameter", "strategy", "segment"]
PARAMETER_WORDS = {"purchase": "purchase rate", "dropout": "dropout rate"}


def _with_truth(effects: pd.DataFrame, truth: pd.DataFrame | None) -> pd.DataFrame:
    frame = effects.copy()
    frame["segment"] = frame["segment"].astype(str)
    if truth is None:
        return frame
    right = truth[["segment", "strategy", "parameter", "value"]].rename(columns={"value": "truth"})
    right = right.assign(segment=right["segment"].astype(str))
    return frame.merge(right, on=["segment", "strategy", "parameter"], how="left")


def effect_table(effects: pd.DataFrame, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per effect: the change of the rate per contact (``exp(g) - 1``) with its interval, and the truth.

    Columns ``parameter``, ``strategy``, ``segment``, ``change``, ``change_lower``, ``change_upper`` (shares),
    ``excludes_zero`` and, with ``truth``, ``true_change`` and ``covered`` (the truth inside the interval).
    """
    frame = _with_truth(effects, truth)
    out = frame[KEYS].copy()
    point = ~(frame["upper"].astype(float) > frame["lower"].astype(float))  # a MAP fit: no interval
    frame.loc[point, ["lower", "upper"]] = np.nan
    out["change"] = np.expm1(frame["mean"].astype(float))
    out["change_lower"] = np.expm1(frame["lower"].astype(float))
    out["change_upper"] = np.expm1(frame["upper"].astype(float))
    spans = [fmt.spans_zero(lo, hi) for lo, hi in zip(frame["lower"], frame["upper"], strict=True)]
    out["excludes_zero"] = ~np.array(spans, dtype=bool)
    if "truth" in frame:
        out["true_change"] = np.expm1(frame["truth"].astype(float))
        covered = (frame["lower"] <= frame["truth"]) & (frame["truth"] <= frame["upper"])
        out["covered"] = covered.astype(object).where(~point, None)
    return out.sort_values(KEYS, kind="stable", ignore_index=True)


def coverage(effects: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Share of effects whose interval contains the truth (NaN without intervals)."""
    table = effect_table(effects, truth)
    known = table["covered"].dropna()
    return float(known.astype(bool).mean()) if len(known) else float("nan")


def plot_effect_forest(
    effects: pd.DataFrame,
    *,
    parameter: str,
    truth: pd.DataFrame | None = None,
    level: float = 0.9,
    label: str = "estimate",
    ax: Any = None,
) -> Any:
    """Forest plot of one parameter's effects: change of the rate per contact, by strategy and segment.

    Dots and bars are the posterior mean and its ``level`` interval; crosses the truth when given.
    """
    import matplotlib.pyplot as plt

    table = effect_table(effects[effects["parameter"] == parameter], truth)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.35 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    x = 100 * table["change"].to_numpy()
    lo, hi = 100 * table["change_lower"].to_numpy(), 100 * table["change_upper"].to_numpy()
    has = np.isfinite(lo) & np.isfinite(hi)
    if has.any():
        ax.errorbar(
            x[has], y[has], xerr=[x[has] - lo[has], hi[has] - x[has]], fmt="o", color="#1f5fa8", capsize=3,
            label=f"{label} ({fmt.level_text(level)} interval)",
        )  # fmt: skip
    if (~has).any():
        ax.plot(x[~has], y[~has], "o", color="#1f5fa8", label=f"{label} (point estimate)")
    if "true_change" in table:
        ax.plot(100 * table["true_change"], y, "x", color="#c62828", markersize=8, mew=2, label="truth")
    ax.axvline(0, color="#777", lw=1)
    ax.set_yticks(y, [f"{s} · {g}" for s, g in zip(table["strategy"], table["segment"], strict=True)])
    ax.set_xlabel(f"change of the {PARAMETER_WORDS.get(parameter, parameter)} per contact (%)")
    ax.set_title(f"Effect of each strategy on the {PARAMETER_WORDS.get(parameter, parameter)}, by segment")
    ax.legend(loc="best", fontsize=8)
    return ax


def naive_vs_adjusted(
    naive: pd.DataFrame, adjusted: pd.DataFrame, truth: pd.DataFrame, *, parameter: str = "purchase"
) -> pd.DataFrame:
    """Naive and adjusted estimates of one parameter's effects side by side with the truth.

    Columns ``strategy``, ``segment``, ``truth``, ``naive``, ``naive_lower``, ``naive_upper``, ``adjusted``,
    ``adjusted_lower``, ``adjusted_upper``, ``naive_bias``, ``adjusted_bias`` (estimate minus truth, log
    multiplier per contact), ``naive_covered``, ``adjusted_covered``.
    """
    parts = []
    for name, frame in (("naive", naive), ("adjusted", adjusted)):
        sub = _with_truth(frame[frame["parameter"] == parameter], truth)
        sub = sub[["strategy", "segment", "truth", "mean", "lower", "upper"]].rename(
            columns={"mean": name, "lower": f"{name}_lower", "upper": f"{name}_upper"}
        )
        parts.append(sub.set_index(["strategy", "segment"]))
    out = parts[0].join(parts[1].drop(columns="truth"), how="inner").reset_index()
    for name in ("naive", "adjusted"):
        out[f"{name}_bias"] = out[name] - out["truth"]
        covered = (out[f"{name}_lower"] <= out["truth"]) & (out["truth"] <= out[f"{name}_upper"])
        point = ~(out[f"{name}_upper"] > out[f"{name}_lower"])  # a point estimate covers nothing
        out[f"{name}_covered"] = covered.astype(object).where(~point, None)
    return out.sort_values(["strategy", "segment"], kind="stable", ignore_index=True)


def plot_naive_vs_adjusted(comparison: pd.DataFrame, *, level: float = 0.9, ax: Any = None) -> Any:
    """The naive and adjusted effects with their intervals against the truth, per strategy and segment."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(comparison) + 1.2))
    y = np.arange(len(comparison))[::-1].astype(float)
    for name, shift, color in (("naive", 0.15, "#d9822b"), ("adjusted", -0.15, "#1f5fa8")):
        mid = comparison[name].to_numpy()
        err = [mid - comparison[f"{name}_lower"].to_numpy(), comparison[f"{name}_upper"].to_numpy() - mid]
        ax.errorbar(mid, y + shift, xerr=err, fmt="o", color=color, capsize=3,
                    label=f"{name} ({fmt.level_text(level)} interval)")  # fmt: skip
    ax.plot(comparison["truth"], y, "x", color="#c62828", markersize=8, mew=2, label="truth")
    ax.set_yticks(
        y, [f"{s} · {g}" for s, g in zip(comparison["strategy"], comparison["segment"], strict=True)]
    )
    ax.set_xlabel("effect on the purchase rate (log multiplier per contact)")
    ax.set_title("Targeted contacts: naive fit against the fit adjusted for the targeting score")
    ax.legend(loc="best", fontsize=8)
    return ax


def _share(flags: pd.Series) -> float:
    known = flags.dropna()
    return float(known.astype(bool).mean()) if len(known) else float("nan")


def bias_summary(comparison: pd.DataFrame) -> dict[str, float]:
    """Mean bias and interval coverage of the naive and the adjusted fit (over the compared effects)."""
    return {
        "naive_mean_bias": float(comparison["naive_bias"].mean()),
        "adjusted_mean_bias": float(comparison["adjusted_bias"].mean()),
        "naive_coverage": _share(comparison["naive_covered"]),
        "adjusted_coverage": _share(comparison["adjusted_covered"]),
    }


def _strategy_line(row: pd.Series, parameter: str, level: float) -> str:
    words = PARAMETER_WORDS[parameter]
    change = fmt.lift(row["change"], row["change_lower"], row["change_upper"], kind="percent", level=level,
                      label="interval")  # fmt: skip
    return f"{row['strategy']} changes the {words} by {change} per contact"


def average_effects(effects: pd.DataFrame, weights: pd.Series | None = None) -> pd.DataFrame:
    """Per strategy and parameter, the segments' effects averaged (weighted by ``weights`` per segment, e.g.
    customers; equal weights by default). Intervals are averaged too, a conservative width for the average."""
    frame = effects.copy()
    frame["segment"] = frame["segment"].astype(str)
    w = (
        frame["segment"].map(weights.astype(float).rename(index=str)).fillna(0.0)
        if weights is not None
        else pd.Series(1.0, index=frame.index)
    )
    frame = frame.assign(_w=w.to_numpy())
    rows = []
    for (parameter, strategy), part in frame.groupby(["parameter", "strategy"], sort=True):
        weight = part["_w"] / part["_w"].sum()
        rows.append(
            {
                "parameter": parameter,
                "strategy": strategy,
                "segment": "all",
                **{c: float((part[c] * weight).sum()) for c in ("mean", "lower", "upper")},
            }
        )
    return pd.DataFrame(rows)


def interactions_headline(
    effects: pd.DataFrame,
    *,
    analysed: str,
    randomised: bool,
    adjusted_for: Sequence[str] = (),
    checks: Sequence[Check] = (),
    level: float = 0.9,
    weights: pd.Series | None = None,
    truth: pd.DataFrame | None = None,
) -> Headline:
    """The report's headline: the strategy that moves the purchase rate most, with its interval, and how causal.

    ``checks`` are the fit's trust checks (its diagnostics gate); an assignment check is added: randomised
    contacts pass, targeted ones adjusted for their targeting covariates pass with a caution (amber), others do
    not apply (the effects are associations). With the generator's ``truth`` (synthetic data), the misses list
    the intervals that do not contain it (:func:`truth_misses`).
    """
    avg = effect_table(average_effects(effects, weights))
    purchase = avg[avg["parameter"] == "purchase"].sort_values("change", ascending=False)
    lines = [_strategy_line(r, "purchase", level) for _, r in purchase.head(2).iterrows()]
    dropout = avg[avg["parameter"] == "dropout"].sort_values("change")
    if len(dropout):
        lines.append(_strategy_line(dropout.iloc[0], "dropout", level))
    answer = "Averaged over segments, " + "; ".join(lines) + "."
    if randomised:
        assignment = Check("contact assignment", PASSED, "randomised: the effects are causal under the model")
    elif adjusted_for:
        assignment = Check(
            "contact assignment", PASSED,
            f"targeted, adjusted for {', '.join(adjusted_for)}: causal only if that captures the targeting",
            tone="amber",
        )  # fmt: skip
    else:
        assignment = Check(
            "contact assignment",
            NOT_APPLICABLE,
            "not randomised and not adjusted: the effects are associations",
        )
    return Headline(
        analysed=analysed,
        answer=answer,
        checks=(*checks, assignment),
        misses=truth_misses(effects, truth, level=level) if truth is not None else (),
        facts={"contacts_randomised": bool(randomised), "interval_level": level},
    )


def truth_misses(
    effects: pd.DataFrame, truth: pd.DataFrame, *, level: float = 0.9, shown: int = 4
) -> tuple[str, ...]:
    """Sentences on the effects whose interval misses the generator's true value: how many of how many, how
    many chance alone would give (and the binomial probability of at least that many), then the ``shown``
    largest misses. Empty when every interval contains the truth or the fit has no intervals."""
    from scipy.stats import binom

    table = effect_table(effects, truth)
    known = table[table["covered"].notna()]
    missed = known[~known["covered"].astype(bool)]
    if missed.empty:
        return ()
    n, k = len(known), len(missed)
    tail = float(binom.sf(k - 1, n, 1.0 - level))
    lines = [
        f"{k} of {n} {fmt.level_text(level)} intervals miss the generator's true effect (chance alone: about "
        f"{fmt.number(n * (1.0 - level), sig=2)}; probability of {k} or more {fmt.p_value(tail).removeprefix('p ')})"
    ]
    gap = (missed["change"] - missed["true_change"]).abs()
    for _, row in missed.assign(gap=gap).sort_values("gap", ascending=False).head(shown).iterrows():
        change = fmt.lift(row["change"], row["change_lower"], row["change_upper"], kind="percent", level=level,
                          label="interval")  # fmt: skip
        lines.append(
            f"{row['strategy']} in {row['segment']}: {PARAMETER_WORDS[row['parameter']]} {change} vs true "
            f"{fmt.percent(row['true_change'], sign=True)}"
        )
    return tuple(lines)


def plain_answer(
    effects: pd.DataFrame,
    *,
    randomised: bool,
    level: float = 0.9,
    value: pd.DataFrame | None = None,
    currency: str = "$",
) -> str:
    """The answer in plain language, one sentence per strategy (and its value per contact when known)."""
    table = effect_table(effects)
    avg = effect_table(average_effects(effects))
    sentences = []
    for strategy in sorted(set(avg["strategy"])):
        own = avg[avg["strategy"] == strategy].set_index("parameter")
        parts = [_strategy_line(own.loc["purchase"], "purchase", level)] if "purchase" in own.index else []
        if "dropout" in own.index:
            d = own.loc["dropout"]
            direction = "keeps customers longer" if d["change"] < 0 else "shortens their lifetime"
            has_interval = not fmt.is_missing(d["change_lower"])
            sure = " (the interval includes no change)" if has_interval and not d["excludes_zero"] else ""
            parts.append(
                f"{direction}: dropout {fmt.lift(d['change'], d['change_lower'], d['change_upper'], kind='percent', level=level, label='interval')}{sure}"
            )
        segs = table[(table["strategy"] == strategy) & (table["parameter"] == "purchase")]
        if len(segs) > 1:
            best = segs.sort_values("change").iloc[-1]
            parts.append(f"strongest in {best['segment']} ({fmt.percent(best['change'], sign=True)})")
        if value is not None and strategy in set(value["strategy"]):
            v = value[(value["strategy"] == strategy)].iloc[0]
            parts.append(
                f"worth {fmt.lift(v['mean'], v['lower'], v['upper'], kind='money', level=level, label='interval', currency=currency)} "
                f"per contact against a cost of {fmt.money(v['cost'], currency)}"
            )
        sentences.append("; ".join(parts) + ".")
    cause = (
        "Contacts were randomised, so these are causal effects under the model."
        if randomised
        else "Contacts were not randomised: read these as associations unless the targeting is adjusted for."
    )
    return " ".join([*sentences, cause])


def effects_view(effects: pd.DataFrame, truth: pd.DataFrame | None = None, *, level: float = 0.9) -> Any:
    """The effects as a report table: strategy, segment, rate, change per contact with its interval (and the
    truth, whether the interval covers it)."""
    from ltvlab.reports.tables import format_table

    table = effect_table(effects, truth)
    shown = pd.DataFrame(
        {
            "strategy": table["strategy"],
            "segment": table["segment"],
            "rate": table["parameter"].map(PARAMETER_WORDS),
            "change per contact": [
                fmt.lift(c, lo, hi, kind="percent", level=level, label="interval")
                for c, lo, hi in zip(
                    table["change"], table["change_lower"], table["change_upper"], strict=True
                )
            ],
        }
    )
    if "true_change" in table:
        shown["true change"] = [fmt.percent(v, sign=True) for v in table["true_change"]]
        shown["interval covers truth"] = [
            fmt.MISSING if c is None else ("yes" if c else "no") for c in table["covered"]
        ]
    return format_table(shown, kinds=dict.fromkeys(shown.columns, "text"), transpose=False)


def _yes_no(flag: Any) -> str:
    return fmt.MISSING if flag is None else ("yes" if flag else "no")


def comparison_view(comparison: pd.DataFrame, *, level: float = 0.9) -> Any:
    """The naive-vs-adjusted comparison as a report table (log multipliers per contact)."""
    from ltvlab.reports.tables import format_table

    def est(name: str, row: pd.Series) -> str:
        return fmt.lift(row[name], row[f"{name}_lower"], row[f"{name}_upper"], level=level, label="interval")

    shown = pd.DataFrame(
        {
            "strategy": comparison["strategy"],
            "segment": comparison["segment"],
            "truth": [fmt.number(v, sign=True) for v in comparison["truth"]],
            "naive": [est("naive", r) for _, r in comparison.iterrows()],
            "adjusted for the score": [est("adjusted", r) for _, r in comparison.iterrows()],
            "naive covers truth": [_yes_no(c) for c in comparison["naive_covered"]],
            "adjusted covers truth": [_yes_no(c) for c in comparison["adjusted_covered"]],
        }
    )
    return format_table(shown, kinds=dict.fromkeys(shown.columns, "text"), transpose=False)


def value_view(value: pd.DataFrame, *, level: float = 0.9, currency: str = "$") -> Any:
    """Incremental value per contact and per unit of cost (``summarise_values`` of the ltv module) as a table."""
    from ltvlab.reports.tables import format_table

    def band(mid: str, lo: str, hi: str, row: pd.Series, kind: str) -> str:
        return fmt.lift(
            row[mid], row[lo], row[hi], kind=kind, level=level, label="interval", currency=currency
        )

    shown = pd.DataFrame(
        {
            "strategy": value["strategy"],
            "segment": value["segment"].astype(str),
            "value per contact": [
                band("value_per_contact", "lower", "upper", r, "money") for _, r in value.iterrows()
            ],
            "cost per contact": [fmt.money(c, currency) for c in value["cost"]],
            "value per unit of cost": [
                band("value_per_cost", "per_cost_lower", "per_cost_upper", r, "number")
                for _, r in value.iterrows()
            ],
            "P(value > 0)": [fmt.percent(p) for p in value["prob_positive"]],
        }
    )
    return format_table(shown, kinds=dict.fromkeys(shown.columns, "text"), transpose=False)


def overall_value(values: pd.DataFrame, costs: dict[str, float], *, level: float = 0.9) -> pd.DataFrame:
    """Per strategy, the segments' value per contact averaged draw by draw (equal weights), with its interval.

    ``values``: ``segment, strategy, draw, incremental_value`` draws. Returns ``strategy, segment ("all"), mean,
    lower, upper, cost`` (the ``value`` input of :func:`plain_answer`)."""
    per_draw = values.groupby(["strategy", "draw"])["incremental_value"].mean().reset_index()
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for strategy, part in per_draw.groupby("strategy", sort=True):
        v = part["incremental_value"].to_numpy(float)
        rows.append(
            {
                "strategy": strategy,
                "segment": "all",
                "mean": float(v.mean()),
                "lower": float(np.quantile(v, lo)),
                "upper": float(np.quantile(v, hi)),
                "cost": float(costs[strategy]),
            }
        )
    return pd.DataFrame(rows)


def plan_answer(result: Any, *, currency: str = "$") -> str:
    """The contact plan the allocation picked, in plain language, with its return's credible interval.

    ``result`` is a :class:`ltvlab.strategy.allocation.AllocationResult` made from the incremental-value draws.
    """
    level = result.credible_mass
    if result.plan.empty:
        return (
            f"No contact is expected to pay for itself: the plan spends nothing of the "
            f"{fmt.money(result.budget, currency)} budget."
        )
    cells = result.plan.sort_values("expected_net", ascending=False)
    drawn = result.n_draws > 1  # a single draw is a point estimate: no probabilities to state
    parts = [
        f"{fmt.integer(r['contacts'])} {r['strategy']} contacts to {r['segment']} (each worth "
        f"{fmt.lift(r['value_per_contact_mean'], r['value_per_contact_low'], r['value_per_contact_high'], kind='money', level=level, label='interval', currency=currency, sign=False)}"
        f" against a cost of {fmt.money(r['cost'] / r['contacts'], currency)}"
        + (
            f"; P(worth more than it costs) {fmt.probability(r['prob_value_above_cost'], result.n_draws)})"
            if drawn
            else ")"
        )
        for _, r in cells.iterrows()
    ]
    kind = "net of contact costs" if result.objective == "net" else "gross"
    ret = fmt.lift(result.expected_return, result.ci_low, result.ci_high, kind="money", level=level,
                   label="interval", currency=currency, sign=False)  # fmt: skip
    text = (
        f"The allocation sends {'; '.join(parts)}. It spends {fmt.money(result.spent, currency)} of the "
        f"{fmt.money(result.budget, currency)} budget for an expected incremental CLV of {ret} {kind}"
        + (
            f"; P(return > 0) {fmt.probability(result.prob_positive, result.n_draws, equals=True)}."
            if drawn
            else "."
        )
    )
    if "budget_not_used_no_further_profitable_contacts" in result.warnings:
        text += " The rest of the budget is not spent: no further contact is expected to pay for itself."
    return text
