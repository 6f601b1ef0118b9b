"""Headline builders of the analyses: data quality, LTV, experiments, observational evidence.

Result objects in, :class:`~ltvlab.reports.headline.Headline` out; they read only the public attributes of the
results (fits, holdout checks, experiment reports, causal estimates), so the numbers in the headline are the
numbers in the sections below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ltvlab.reports import format as fmt
from ltvlab.reports.headline.block import Headline
from ltvlab.reports.status import (
    FAILED,
    MAP_NOTE,
    PASSED,
    Check,
    balance_check,
    diagnostics_check,
    srm_check,
)

UNIT_NAMES = {"D": "days", "W": "weeks"}
# A holdout total within this share of the observed total is not called a miss.
HOLDOUT_TOLERANCE = 0.05


def model_label(name: str) -> str:
    """A registered model's label for prose (e.g. BG/NBD), never its registry name."""
    from ltvlab.ltv.registry import get_model  # here, not at import: the report renderer imports this module

    return get_model(name).label


def _period(start: Any, end: Any) -> str:
    return f"{pd.Timestamp(start).date()} to {pd.Timestamp(end).date()}"


def prediction_miss(
    predicted: float,
    actual: float,
    what: str,
    *,
    tolerance: float = HOLDOUT_TOLERANCE,
    currency: str | None = None,
) -> str:
    """``the model under-predicts holdout purchases by 12% (expected 1,232, observed 1,400)``; within
    ``tolerance`` it says the prediction is within that share."""
    if not actual or fmt.is_missing(actual) or fmt.is_missing(predicted):
        return f"no holdout {what} to compare with"
    gap = predicted / actual - 1
    shown = (lambda v: fmt.money(v, currency)) if currency else (lambda v: fmt.number(v, sig=4))
    figures = f"expected {shown(predicted)}, observed {shown(actual)}"
    if abs(gap) <= tolerance:
        return f"holdout {what}: predicted within {fmt.percent(tolerance)} ({figures})"
    direction = "under-predicts" if gap < 0 else "over-predicts"
    return f"the model {direction} holdout {what} by {fmt.percent(abs(gap))} ({figures})"


# ------------------------------------------------------------------------------------------- data quality


def data_quality_headline(
    transactions: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    source: str,
    n_rows: int,
    n_quarantined: int,
    max_bad_share: float,
    calibration_end: str,
    holdout_end: str,
    currency: str = "$",
) -> Headline:
    """Rows in / loaded / quarantined, customers, the purchase period, repeat buying; the misses name the
    quarantined rows and the customers the summary treats specially (:func:`ltvlab.features.summary_notes`)."""
    from ltvlab.features import columns as col
    from ltvlab.features import summary_notes

    customers = int(transactions[col.CUSTOMER_ID].nunique())
    share_bad = n_quarantined / max(n_rows, 1)
    repeaters = int((summary[col.X] > 0).sum())
    analysed = (
        f"{source}: {fmt.integer(n_rows)} rows, {fmt.integer(customers)} customers, purchases "
        f"{_period(transactions[col.DATE].min(), transactions[col.DATE].max())}; calibration to "
        f"{calibration_end}, holdout to {holdout_end}."
    )
    answer = (
        f"{fmt.integer(len(transactions))} of {fmt.integer(n_rows)} rows loaded ({fmt.integer(n_quarantined)} "
        f"quarantined); {fmt.percent(repeaters / max(len(summary), 1))} of the {fmt.integer(len(summary))} "
        f"customers in the summary bought again during calibration, for "
        f"{fmt.money(float(transactions[col.AMOUNT].sum()), currency)} in total."
    )
    check = Check(
        "validation",
        FAILED if share_bad > max_bad_share else PASSED,
        f"{fmt.percent(share_bad)} of rows quarantined (limit {fmt.percent(max_bad_share)})",
        tone="amber" if 0 < share_bad <= max_bad_share else None,
    )
    misses = []
    if n_quarantined:
        misses.append(
            f"{fmt.integer(n_quarantined)} row(s) quarantined ({fmt.percent(share_bad)}): see the reasons below"
        )
    misses.extend(summary_notes(summary))
    outside = customers - len(summary)
    if outside > 0 and not summary.attrs.get("n_first_after_calibration_end"):
        misses.append(
            f"{fmt.integer(outside)} customer(s) first bought after the calibration end ({calibration_end}) and "
            "are not in the calibration summary"
        )
    return Headline(analysed, answer, (check,), tuple(misses), facts={"customers": len(summary)})


# ------------------------------------------------------------------------------------------------ LTV


def ltv_headline(
    fit: Any,
    spend_fit: Any,
    holdout: Any,
    scores: pd.DataFrame,
    *,
    source: str,
    calibration_end: str,
    holdout_end: str,
    unit: str,
    horizon_weeks: float,
    annual_discount_rate: float,
    currency: str = "$",
    level: float = 0.9,
    other_fits: Mapping[str, Any] | None = None,
) -> Headline:
    """Total and per-customer discounted CLV with the customers' intervals, the diagnostics gate of both fits,
    and the holdout misses (purchases and spend). ``other_fits`` (pooling mode -> fit) are the fits shown only
    for comparison (the shrinkage plot): one that failed its gate is named in a note."""
    label = model_label(fit.model_name)
    checks = (
        diagnostics_check(fit, name=f"diagnostics gate, purchase model ({label})"),
        diagnostics_check(spend_fit, name="diagnostics gate, spend model (Gamma-Gamma)"),
    )
    n = len(scores)
    analysed = (
        f"{source}: {fmt.integer(n)} customers; calibration to {calibration_end}, holdout to {holdout_end}; "
        f"time in {UNIT_NAMES.get(unit, unit)}; {label} with {fit.pooling} pooling, fitted by "
        f"{'MAP' if fit.method == 'map' else 'NUTS'}."
    )
    total = float(scores["clv_mean"].sum())
    low, high = float(scores["clv_q05"].sum()), float(scores["clv_q95"].sum())
    worth = (
        f"Over the next {fmt.number(horizon_weeks)} weeks, discounted at {fmt.percent(annual_discount_rate)} a "
        f"year, these customers are worth {fmt.money(total, currency)} in total "
        f"({fmt.money(total / max(n, 1), currency)} per customer)"
    )
    point = fit.method == "map" or spend_fit.method == "map" or high - low <= 0
    if point:
        answer = worth + f" — a {MAP_NOTE.split(':')[0]} with no interval."
        notes: tuple[str, ...] = (
            f"MAP fit: {MAP_NOTE}. Every figure in this report is a point estimate; rerun with method nuts for "
            "intervals and diagnostics.",
        )
    else:
        answer = worth + (
            f"; the customers' own {fmt.level_text(level)} credible intervals add up to "
            f"{fmt.money(low, currency)} to {fmt.money(high, currency)} (wider than the total's interval)."
        )
        notes = ()
    for mode, other in (other_fits or {}).items():
        check = diagnostics_check(other)
        if other is not fit and check.status == FAILED:
            notes = (
                *notes,
                f"The {mode}-pooling fit, shown only for comparison in the shrinkage plot, failed its diagnostics "
                f"gate ({'; '.join(other.diagnostics.messages)}); that plot is marked.",
            )
    misses = [prediction_miss(holdout.predicted_total, holdout.actual_total, "purchases")]
    if holdout.predicted_spend_total is not None and holdout.actual_spend_total:
        misses.append(
            prediction_miss(
                holdout.predicted_spend_total, holdout.actual_spend_total, "spend", currency=currency
            )
        )
    if holdout.mae > holdout.naive_mae:
        misses.append(
            f"per customer the model is further off than the naive rule (MAE {fmt.number(holdout.mae)} vs "
            f"{fmt.number(holdout.naive_mae)} purchases)"
        )
    return Headline(
        analysed,
        answer,
        checks,
        tuple(misses),
        notes,
        facts={"clv_total": total, "holdout_purchase_gap": holdout.predicted_total / holdout.actual_total - 1
               if holdout.actual_total else None},
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ experiments


def _effect_kind(metric: str, binary_metrics: Sequence[str], value_metric: str | None) -> str:
    if metric in binary_metrics:
        return "rate"
    if value_metric and metric == value_metric:
        return "money"
    return "number"


def experiment_headline(
    report: Any,
    *,
    source: str,
    values: Sequence[Any] = (),
    value_metric: str | None = None,
    currency: str = "$",
) -> Headline:
    """The clearest effect, how many effects are clear after correction, SRM and balance, and the arms whose
    net value interval spans zero (from ``values``, :class:`~ltvlab.experiments.ValueEstimate` objects)."""
    level = 1 - report.alpha
    effects = [e for e in report.primary_effects if not fmt.is_missing(e.estimate)]
    clear = [
        e for e in effects if not fmt.is_missing(e.p_value_adjusted) and e.p_value_adjusted < report.alpha
    ]
    n_units = int(sum(report.srm.observed))
    arms = [a for a in report.arms if a != report.control]
    analysed = (
        f"{source}: {fmt.integer(n_units)} randomised units in {len(report.arms)} arms "
        f"({', '.join(arms)} against {report.control}); metrics {', '.join(report.metrics)}."
    )
    if clear:
        best = max(clear, key=lambda e: abs(e.estimate / e.std_error) if e.std_error else 0)
        kind = _effect_kind(best.metric, report.binary_metrics, value_metric)
        answer = (
            f"{len(clear)} of {len(effects)} arm × metric effects are clear after {report.correction} correction "
            f"(level {fmt.level_text(level)}). Strongest: {best.arm} changed {best.metric} by "
            f"{fmt.lift(best.estimate, best.ci_low, best.ci_high, kind=kind, level=level, currency=currency)}"
            + ("." if kind == "rate" else " per unit.")
        )
    else:
        answer = (
            f"No arm × metric effect (of {len(effects)}) is distinguishable from no effect after "
            f"{report.correction} correction (level {fmt.level_text(level)})."
        )
    checks = (srm_check(report.srm), balance_check(report.balance))
    misses = []
    for e in effects:
        if e not in clear:
            kind = _effect_kind(e.metric, report.binary_metrics, value_metric)
            misses.append(
                f"{e.arm} on {e.metric}: "
                f"{fmt.lift(e.estimate, e.ci_low, e.ci_high, kind=kind, level=level, currency=currency)} "
                f"is not clear after correction (adjusted {fmt.p_value(e.p_value_adjusted)})"
            )
    for v in values:
        if fmt.spans_zero(v.net_ci_low, v.net_ci_high):
            misses.append(
                f"{v.arm}: net value per customer "
                f"{fmt.lift(v.net_value_per_customer, v.net_ci_low, v.net_ci_high, kind='money', level=1 - v.alpha, currency=currency)} "
                "spans zero — not shown to pay"
            )
    return Headline(analysed, answer, checks, tuple(misses))


# --------------------------------------------------------------------------------- observational evidence


def evidence_headline(
    table: pd.DataFrame, checks: Sequence[Check], *, source: str, n_customers: int, level: float
) -> Headline:
    """From :func:`ltvlab.causal.hypothesis_table`: how many claims survive, naive vs design, truth coverage."""
    verdicts = table["verdict"].astype(str)
    supported = int(verdicts.str.startswith(("supported", "reversed")).sum())
    not_credible = int(verdicts.str.startswith("not credible").sum())
    naive_outside = int(
        ((table["naive_estimate"] < table["ci_low"]) | (table["naive_estimate"] > table["ci_high"])).sum()
    )
    analysed = (
        f"{source}: {fmt.integer(n_customers)} customers, {len(table)} claims, each with its causal design."
    )
    answer = (
        f"{supported} of {len(table)} claims show an effect whose {fmt.level_text(level)} interval excludes zero, "
        f"{len(table) - supported - not_credible} show none, {not_credible} are not credible; the naive comparison "
        f"lies outside the design's interval for {naive_outside} of them."
    )
    misses = []
    known = table[table["truth"].notna()]
    for row in known.itertuples():
        if not row.covers_truth:
            misses.append(
                f"{row.hypothesis}: interval {fmt.number(row.ci_low)} to {fmt.number(row.ci_high)} misses the "
                f"true effect {fmt.number(row.truth)}"
            )
    return Headline(analysed, answer, tuple(checks), tuple(misses))  # fmt: skip
