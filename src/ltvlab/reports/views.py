"""Report tables per domain, built from the result objects' public attributes and formatted for people.

Each function returns a :class:`~ltvlab.reports.tables.Table` (HTML in Jupyter and in the reports): estimates
with their intervals in one column (``+4.5 pp (95% CI 3.9 to 5.2)``), p-values as ``< 0.001``, counts with
thousands separators, missing as ``—``, and only the columns a reader acts on, so nothing runs off the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.reports import format as fmt
from ltvlab.reports.headline import share_text
from ltvlab.reports.status import MAP_NOTE, diagnostics_check
from ltvlab.reports.tables import Table, format_table


def _is_point(frame: pd.DataFrame, low: str, high: str) -> bool:
    lo, hi = frame[low].to_numpy(float), frame[high].to_numpy(float)
    return bool(np.all(~np.isfinite(lo) | ~np.isfinite(hi) | (hi - lo <= 0)))


# ------------------------------------------------------------------------------------------------- LTV


def posterior_table(fit: Any, *, caption: str = "", level: float = 0.9) -> Table:
    """Posterior summary of a fit (mean, sd, HDI at ``level`` -- 90% as the reports' other intervals --, R-hat,
    ESS); a MAP fit shows its point estimates only."""
    frame = fit.summary(level=level)
    if fit.method == "map":
        shown = frame[["segment", "param", "mean"]].rename(columns={"mean": "estimate (MAP)"})
        return format_table(shown, kinds={"estimate (MAP)": "number"}, caption=caption or f"{MAP_NOTE}.")
    from ltvlab.ltv.fitted import hdi_columns  # a fit was given, so the modelling stack is loaded already

    low, high = hdi_columns(level)
    shown = frame.rename(columns={low: "hdi_low", high: "hdi_high"})
    percent = fmt.level_text(level)
    return format_table(
        shown,
        kinds={"r_hat": "r_hat", "ess_bulk": "int", "ess_tail": "int"},
        labels={"hdi_low": f"{percent} HDI low", "hdi_high": f"{percent} HDI high", "mean": "posterior mean"},
        caption=caption,
        max_columns=9,
    )


def diagnostics_table(fits: Mapping[str, Any]) -> Table:
    """One row per fit: the gate's status word, worst R-hat and ESS, divergences (MAP: not applicable)."""
    rows = []
    for label, fit in fits.items():
        check = diagnostics_check(fit)
        d = fit.diagnostics
        rows.append(
            {
                "fit": label,
                "diagnostics gate": check.status,
                "max R-hat": d.max_r_hat,
                "min bulk ESS": d.min_ess_bulk,
                "min tail ESS": d.min_ess_tail,
                "divergences": np.nan if fit.method == "map" else int(d.divergences),
                "reasons": "; ".join(d.messages) if not d.ok else "",
            }
        )
    frame = pd.DataFrame(rows)
    return format_table(
        frame,
        kinds={"max R-hat": "r_hat", "min bulk ESS": "int", "min tail ESS": "int", "divergences": "int"},
        labels={c: c for c in frame.columns},
    )


def comparison_sampling_note(table: pd.DataFrame, *, reused: str | None = None) -> str:
    """How each compared model was sampled and its smallest ESS, one sentence per model, from the ``chains,
    draws, tune, min_ess_bulk, min_ess_tail`` columns of :class:`ltvlab.ltv.ModelComparison`'s table.
    ``reused`` names the model whose fit is the report's own (not refitted for the comparison)."""
    if table["draws"].map(fmt.is_missing).all():
        return f"Every model is a MAP fit: {MAP_NOTE}."
    parts = []
    for row in table.itertuples():
        own = " (this report's fit, reused)" if row.model == reused else ""
        if fmt.is_missing(row.draws):
            parts.append(f"{row.label}{own}: {MAP_NOTE}")
            continue
        parts.append(
            f"{row.label}{own}: NUTS, {fmt.integer(row.chains)} chains x {fmt.integer(row.draws)} draws after "
            f"{fmt.integer(row.tune)} tuning steps, min bulk ESS {fmt.integer(row.min_ess_bulk)}, "
            f"min tail ESS {fmt.integer(row.min_ess_tail)}"
        )
    return "Sampling: " + "; ".join(parts) + "."


def holdout_table(holdout: Any, *, currency: str = "$") -> Table:
    """Holdout figures: model, naive baseline, observed, and the model's gap to the observed total."""
    frame = holdout.to_frame().copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["model vs observed"] = frame["model"] / frame["actual"] - 1
    frame = frame.rename(columns={"naive_baseline": "naive baseline", "actual": "observed"})
    cells = frame.copy()
    for column in ("model", "naive baseline", "observed"):
        cells[column] = [
            fmt.money(v, currency) if "spend" in m and "total" in m else fmt.number(v, sig=4)
            for m, v in zip(frame["metric"], frame[column], strict=True)
        ]
    cells["model vs observed"] = frame["model vs observed"].map(lambda v: fmt.percent(v, sign=True))
    return format_table(
        cells, kinds=dict.fromkeys(cells.columns, "text"), labels={c: c for c in cells.columns}
    )


def clv_table(scores: pd.DataFrame, baseline: Any, *, currency: str = "$", level: float = 0.9) -> Table:
    """Mean and total CLV with the customers' intervals (none for point estimates) and the naive baseline."""
    point = _is_point(scores, "clv_q05", "clv_q95")
    rows = [
        ("model: mean CLV per customer", fmt.money(scores["clv_mean"].mean(), currency)),
        ("model: total CLV of the base", fmt.money(scores["clv_mean"].sum(), currency)),
    ]
    if point:
        rows.append(("model: interval of total CLV", f"none ({MAP_NOTE})"))
    else:
        rows.append(
            (
                f"model: customers' {fmt.level_text(level)} intervals, summed (wider than the total's own)",
                f"{fmt.money(scores['clv_q05'].sum(), currency)} to {fmt.money(scores['clv_q95'].sum(), currency)}",
            )
        )
    rows.append((baseline.label, f"{fmt.money(baseline.value_per_customer, currency)} per customer"))
    frame = pd.DataFrame(rows, columns=["figure", "value"])
    return format_table(
        frame, kinds={"figure": "text", "value": "text"}, labels={"figure": "figure", "value": "value"}
    )


def tier_view(tiers: pd.DataFrame, *, currency: str = "$") -> Table:
    """LTV tiers: customers, total and mean value, share of the value."""
    return format_table(
        tiers,
        kinds={"value_total": "money", "value_mean": "money", "value_share": "percent", "customers": "int"},
        labels={
            "value_total": "expected value, total",
            "value_mean": "per customer",
            "value_share": "share of value",
        },
        currency=currency,
    )


def churn_view(risk: pd.DataFrame, customer: pd.Series, *, currency: str = "$", rows: int = 15) -> Table:
    """The churn-risk list (ids already hashed by the caller): CLV with interval, P(alive), value at risk."""
    point = _is_point(risk, "clv_q05", "clv_q95")
    frame = pd.DataFrame({"customer": customer.to_numpy()})
    frame["CLV"] = [
        fmt.money(m, currency) if point else f"{fmt.money(m, currency)} ({fmt.money(lo, currency)} to {fmt.money(hi, currency)})"
        for m, lo, hi in zip(risk["clv_mean"], risk["clv_q05"], risk["clv_q95"], strict=True)
    ]  # fmt: skip
    frame["P(alive)"] = risk["p_alive_mean"].map(fmt.percent).to_numpy()
    frame["value at risk"] = risk["value_at_risk"].map(lambda v: fmt.money(v, currency)).to_numpy()
    caption = (
        f"Top {min(rows, len(frame)):,} of {len(frame):,} customers by value at risk"
        + ("" if point else "; CLV with its 90% credible interval")
        + f"; customer: the first {fmt.SHORT_ID_DIGITS} hex digits of the salted id hash (exports keep all 64)."
    )
    return format_table(
        frame.head(rows), kinds={**dict.fromkeys(frame.columns, "text"), "customer": "id"},
        labels={c: c for c in frame.columns}, caption=caption,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------- experiments


def _kind(metric: str, report: Any, value_metric: str | None) -> str:
    if metric in report.binary_metrics:
        return "rate"
    return "money" if value_metric and metric == value_metric else "number"


def effects_table(report: Any, *, value_metric: str | None = None, currency: str = "$") -> Table:
    """Per arm and metric: control mean, lift with its interval, relative lift, adjusted p-value, P(better)."""
    bayes = {(b.arm, b.metric): b for b in report.bayes}
    level = 1 - report.alpha
    rows = []
    for e in report.primary_effects:
        kind = _kind(e.metric, report, value_metric)
        control = fmt.percent(e.mean_control) if kind == "rate" else (
            fmt.money(e.mean_control, currency) if kind == "money" else fmt.number(e.mean_control)
        )  # fmt: skip
        posterior = bayes.get((e.arm, e.metric))
        rows.append(
            {
                "arm": e.arm,
                "metric": e.metric,
                "n": f"{fmt.integer(e.n_arm)} vs {fmt.integer(e.n_control)}",
                "control mean": control,
                f"lift ({fmt.level_text(level)} CI)": fmt.lift(
                    e.estimate, e.ci_low, e.ci_high, kind=kind, level=level, currency=currency
                ).replace(f" ({fmt.level_text(level)} CI ", " ("),
                "relative lift": fmt.percent(e.relative_lift, sign=True),
                f"p-value ({report.correction})": fmt.p_value_cell(e.p_value_adjusted),
                "P(better)": fmt.percent(posterior.prob_better) if posterior else fmt.MISSING,
            }
        )
    frame = pd.DataFrame(rows)
    return format_table(frame, kinds=dict.fromkeys(frame.columns, "text"), labels={c: c for c in frame.columns},
                        max_columns=8)  # fmt: skip


def bayes_table(report: Any, *, value_metric: str | None = None, currency: str = "$") -> Table:
    """Bayesian lifts with their credible intervals, P(better) and the expected loss of shipping the arm."""
    rows = []
    for b in report.bayes:
        kind = _kind(b.metric, report, value_metric)
        rows.append(
            {
                "arm": b.arm,
                "metric": b.metric,
                "model": b.model,
                "lift": fmt.lift(
                    b.lift_mean, b.lift_ci_low, b.lift_ci_high, kind=kind, level=b.credible_mass,
                    label="credible interval", currency=currency,
                ),
                "P(better)": fmt.percent(b.prob_better),
                "expected loss": fmt.points(b.expected_loss, sign=False) if kind == "rate" else (
                    fmt.money(b.expected_loss, currency) if kind == "money" else fmt.number(b.expected_loss)
                ),
            }
        )  # fmt: skip
    frame = pd.DataFrame(rows)
    return format_table(
        frame, kinds=dict.fromkeys(frame.columns, "text"), labels={c: c for c in frame.columns}
    )


def cuped_table(report: Any, *, value_metric: str | None = None, currency: str = "$") -> Table:
    """Per arm and metric: the interval without and with covariate adjustment and the variance removed
    (the numbers beside :func:`ltvlab.experiments.plot_cuped`'s bars)."""
    from ltvlab.experiments.plots import cuped_reduction

    level = fmt.level_text(1 - report.alpha)
    rows = []
    for r in cuped_reduction(report.effects_frame()).itertuples():
        kind = _kind(r.metric, report, value_metric)
        rows.append(
            {
                "arm": r.arm,
                "metric": r.metric,
                f"{level} CI, unadjusted (Welch)": fmt.bounds(
                    r.ci_low_welch, r.ci_high_welch, kind=kind, currency=currency
                ),
                f"{level} CI, adjusted (CUPED)": fmt.bounds(
                    r.ci_low_cuped, r.ci_high_cuped, kind=kind, currency=currency
                ),
                "variance removed": fmt.percent(r.variance_reduction, decimals=1),
            }
        )
    frame = pd.DataFrame(rows)
    caption = "Lifts of 0/1 metrics in percentage points." if report.binary_metrics else ""
    return format_table(
        frame,
        kinds=dict.fromkeys(frame.columns, "text"),
        labels={c: c for c in frame.columns},
        caption=caption,
    )


def srm_table(srm: Any) -> Table:
    """Observed and expected units per arm with their shares."""
    return format_table(
        srm.to_frame(),
        kinds={"expected": "int", "observed_share": "percent", "expected_share": "percent"},
        caption=f"Sample-ratio check: {fmt.p_value(srm.p_value)} (flagged below {srm.threshold:g}).",
    )


def balance_table(balance: pd.DataFrame) -> Table:
    """Standardised mean differences of the pre-treatment covariates, one row per arm and covariate."""
    return format_table(
        balance,
        kinds={"smd": "number", "mean_control": "number", "mean_arm": "number"},
        labels={"smd": "SMD", "imbalanced": "|SMD| > 0.1"},
    )


def value_table(values: Sequence[Any], *, currency: str = "$") -> Table:
    """From lift to money per arm: incremental and net value per customer, ROI, P(profitable)."""
    rows = []
    for v in values:
        level = 1 - v.alpha
        rows.append(
            {
                "arm": v.arm,
                "incremental margin per customer": fmt.lift(
                    v.incremental_value_per_customer, v.value_ci_low, v.value_ci_high, kind="money",
                    level=level, currency=currency,
                ),
                "net value per customer": fmt.lift(
                    v.net_value_per_customer, v.net_ci_low, v.net_ci_high, kind="money", level=level,
                    currency=currency,
                ),
                "ROI": fmt.lift(v.roi, v.roi_ci_low, v.roi_ci_high, kind="percent", level=level),
                "P(profitable)": fmt.percent(v.prob_profitable),
                "net interval spans zero": "yes" if fmt.spans_zero(v.net_ci_low, v.net_ci_high) else "no",
            }
        )  # fmt: skip
    frame = pd.DataFrame(rows)
    return format_table(
        frame, kinds=dict.fromkeys(frame.columns, "text"), labels={c: c for c in frame.columns}
    )


def heterogeneity_table(result: Any, *, kind: str = "number", currency: str = "$") -> Table:
    """Per segment: raw (Welch) and partially pooled effects with their intervals."""
    level = 1 - getattr(result, "alpha", 0.05)
    rows = []
    for row in result.table.itertuples():
        rows.append(
            {
                "segment": str(row.segment),
                "n": f"{fmt.integer(row.n_arm)} vs {fmt.integer(row.n_control)}",
                "raw effect": fmt.lift(row.raw_estimate, row.raw_ci_low, row.raw_ci_high, kind=kind,
                                       level=level, currency=currency),
                "partially pooled": fmt.lift(row.shrunk_mean, row.shrunk_ci_low, row.shrunk_ci_high, kind=kind,
                                             level=level, label="credible interval", currency=currency),
                "P(effect > 0)": fmt.percent(row.prob_positive),
            }
        )  # fmt: skip
    frame = pd.DataFrame(rows)
    return format_table(
        frame, kinds=dict.fromkeys(frame.columns, "text"), labels={c: c for c in frame.columns}
    )


_LEARNERS = {"t": "T-learner (a gradient-boosting model per arm)", "x": "X-learner (Künzel et al. 2019)"}


def uplift_view(uplift: Any) -> Table:
    """An uplift model's held-out evaluation as figure / value rows: what was ranked, on how many customers, and
    the AUUC and Qini coefficient with their bootstrap intervals against random targeting."""
    level = 1 - uplift.alpha
    rows = [
        ("Learner", _LEARNERS.get(uplift.learner, uplift.learner)),
        ("Treatment vs control", f"{uplift.treatment} vs {uplift.control}"),
        ("Outcome", str(uplift.outcome)),
        ("Customers: training / held-out", f"{fmt.integer(uplift.n_train)} / {fmt.integer(uplift.n_test)}"),
        ("AUUC of the model (held-out)", fmt.lift(uplift.auuc, uplift.auuc_ci_low, uplift.auuc_ci_high,
                                                  level=level, sign=False)),
        ("AUUC of random targeting", fmt.number(uplift.random_auuc)),
        ("Qini coefficient (model minus random)", fmt.lift(uplift.qini_coefficient, uplift.qini_ci_low,
                                                           uplift.qini_ci_high, level=level)),
        ("Intervals", f"bootstrap over {fmt.integer(uplift.n_bootstrap)} resamples of the held-out half"),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["figure", "value"])
    return format_table(
        frame, kinds={"figure": "text", "value": "text"}, labels={"figure": "figure", "value": "value"}
    )


# --------------------------------------------------------------------------------------------- evidence


def hypotheses_view(table: pd.DataFrame) -> Table:
    """From :func:`ltvlab.causal.hypothesis_table`: estimate with interval, naive, truth, verdict."""
    rows = []
    for row in table.itertuples():
        rows.append(
            {
                "hypothesis": row.hypothesis,
                "method": str(row.method).upper() if len(str(row.method)) <= 4 else row.method,
                "estimate (interval)": fmt.lift(row.estimate, row.ci_low, row.ci_high, label="CI", level=0.95),
                "naive": fmt.number(row.naive_estimate, sign=True),
                "truth": fmt.number(row.truth, sign=True),
                "interval covers truth": fmt.MISSING if row.covers_truth is None else ("yes" if row.covers_truth else "no"),
                "verdict": row.verdict,
            }
        )  # fmt: skip
    frame = pd.DataFrame(rows)
    return format_table(
        frame, kinds=dict.fromkeys(frame.columns, "text"), labels={c: c for c in frame.columns}
    )


def estimates_view(frame: pd.DataFrame, *, level: float = 0.95, truth: str | None = "truth") -> Table:
    """Rows with ``estimate, ci_low, ci_high`` (and optionally ``truth``, ``naive_estimate``): one formatted
    estimate column, the other columns as they are."""
    shown = pd.DataFrame(index=frame.index)
    numeric = {"estimate", "ci_low", "ci_high", "naive_estimate", truth}
    keys = [c for c in frame.columns if c not in numeric and not pd.api.types.is_numeric_dtype(frame[c])]
    for key in keys:
        shown[key] = frame[key].astype(str)
    shown["estimate"] = [
        fmt.lift(e, lo, hi, level=level) for e, lo, hi in zip(frame["estimate"], frame["ci_low"], frame["ci_high"], strict=True)
    ]  # fmt: skip
    if "naive_estimate" in frame:
        shown["naive"] = frame["naive_estimate"].map(lambda v: fmt.number(v, sign=True))
    if truth and truth in frame:
        shown["truth"] = frame[truth].map(lambda v: fmt.number(v, sign=True))
        inside = (frame["ci_low"] <= frame[truth]) & (frame[truth] <= frame["ci_high"])
        shown["interval covers truth"] = [
            fmt.MISSING if fmt.is_missing(t) else ("yes" if ok else "no") for t, ok in zip(frame[truth], inside, strict=True)
        ]  # fmt: skip
    return format_table(
        shown, kinds=dict.fromkeys(shown.columns, "text"), labels={c: c for c in shown.columns}
    )


# --------------------------------------------------------------------------------------------- allocation


def policies_view(policies: pd.DataFrame, *, level: float, currency: str = "$") -> Table:
    """From :class:`~ltvlab.strategy.AllocationCheck` ``policies``: per policy its contacts, spend, expected net
    value with its credible interval, the realised value under the true effects, whether the interval covers
    it, and the share of the oracle's value (the oracle has no interval: its value is the truth)."""
    from ltvlab.strategy.allocation import POLICY_LABELS  # here: the strategy package imports the models

    rows = []
    for row in policies.itertuples():
        rows.append(
            {
                "policy": POLICY_LABELS.get(row.policy, str(row.policy)),
                "customers contacted": fmt.integer(row.contacts),
                "spent": fmt.money(row.spent, currency),
                "expected net value": fmt.money(row.expected_return, currency),
                f"{fmt.level_text(level)} credible interval": fmt.bounds(
                    row.ci_low, row.ci_high, kind="money", currency=currency
                ),
                "realised (truth)": fmt.money(row.realised, currency),
                "interval covers realised": fmt.MISSING if row.covered is None or fmt.is_missing(row.covered)
                else ("yes" if row.covered else "no"),
                "share of oracle": share_text(row.share_of_oracle),
            }
        )  # fmt: skip
    frame = pd.DataFrame(rows)
    return format_table(
        frame, kinds=dict.fromkeys(frame.columns, "text"), labels={c: c for c in frame.columns}, max_columns=8
    )


def cells_view(cells: pd.DataFrame, *, level: float, currency: str = "$", rows: int = 10) -> Table:
    """From :class:`~ltvlab.strategy.AllocationCheck` ``cells``: the segment x strategy cells whose interval
    misses the true value first, then the highest expected values; ``rows`` of them, the caption says how many
    more (the figure shows them all)."""
    order = cells.assign(_miss=~cells["covered"].astype(bool)).sort_values(
        ["_miss", "value_mean"], ascending=[False, False]
    )
    frame = pd.DataFrame(
        {
            "segment": order["segment"].astype(str).to_numpy(),
            "strategy": order["strategy"].astype(str).to_numpy(),
            f"value per contact ({fmt.level_text(level)} credible interval)": [
                fmt.lift(
                    m,
                    lo,
                    hi,
                    kind="money",
                    level=level,
                    label="credible interval",
                    currency=currency,
                    sign=False,
                ).replace(f" ({fmt.level_text(level)} credible interval ", " (")
                for m, lo, hi in zip(
                    order["value_mean"], order["value_low"], order["value_high"], strict=True
                )
            ],
            "true value": [fmt.money(v, currency) for v in order["true_value"]],
            "interval covers truth": ["yes" if c else "no" for c in order["covered"].astype(bool)],
            "rate multiplier: estimated / true": [
                f"{fmt.number(e, decimals=2)} / {fmt.number(t, decimals=2)}"
                for e, t in zip(order["rate_multiplier_mean"], order["true_rate_multiplier"], strict=True)
            ],
            "true dropout multiplier": [fmt.number(v, decimals=2) for v in order["true_dropout_multiplier"]],
        }
    )
    misses = int((~cells["covered"].astype(bool)).sum())
    caption = (
        f"Incremental discounted CLV per contacted customer ({fmt.level_text(level)} credible intervals over the "
        f"posterior draws) against the value under the true effects; {misses} of {len(cells)} intervals miss "
        "the truth, listed first, then the cells with the highest expected value."
    )
    return format_table(
        frame, kinds=dict.fromkeys(frame.columns, "text"), labels={c: c for c in frame.columns},
        max_columns=8, max_rows=rows, caption=caption,
    )  # fmt: skip
