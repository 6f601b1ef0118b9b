"""One entry point for a randomised experiment: ``analyse_experiment(frame, ...) -> ExperimentReport``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.experiments.balance import balance_table, covariate_matrix
from ltvlab.experiments.bayesian import beta_binomial_effect, student_t_effect
from ltvlab.experiments.corrections import adjust_p_values
from ltvlab.experiments.cuped import regression_adjusted_effect
from ltvlab.experiments.heterogeneity import segment_effects
from ltvlab.experiments.ratio import ratio_test
from ltvlab.experiments.report import ExperimentReport
from ltvlab.experiments.results import BayesianEffect, EffectEstimate
from ltvlab.experiments.srm import srm_test
from ltvlab.experiments.stats import MeanStats, RatioStats
from ltvlab.experiments.validation import check_arms, check_covariates, check_metric
from ltvlab.experiments.welch import welch_test
from ltvlab.experiments.winsorize import winsorize


def _corrected(effects: list[EffectEstimate], correction: str) -> tuple[EffectEstimate, ...]:
    adjusted = adjust_p_values([e.p_value for e in effects], correction)
    return tuple(e.with_adjusted_p(p, correction) for e, p in zip(effects, adjusted, strict=True))


def analyse_experiment(
    frame: pd.DataFrame,
    *,
    arm_col: str,
    control: str,
    metrics: Sequence[str],
    covariates: Sequence[str] = (),
    binary_metrics: Sequence[str] | None = None,
    ratio_metrics: Mapping[str, tuple[str, str]] | None = None,
    guardrails: Sequence[str] = (),
    arms: Sequence[str] | None = None,
    planned_shares: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    winsorize_metrics: Sequence[str] = (),
    winsorize_quantile: float = 0.99,
    rope: Mapping[str, float] | None = None,
    segment_col: str | None = None,
    srm_threshold: float = 0.001,
    bayes_draws: int = 40_000,
    seed: int = 0,
) -> ExperimentReport:
    """Analyse a randomised experiment with one row per unit.

    Parameters
    ----------
    frame
        One row per randomised unit: the arm label, outcome columns and pre-treatment covariates.
    arm_col, control
        Column holding the arm label and the label of the control arm.
    metrics
        Outcome columns; each arm is compared with the control on each (Welch difference in means).
    covariates
        Pre-treatment columns for regression adjustment (Lin 2013) and the balance table; categorical
        columns are one-hot encoded.
    binary_metrics
        Metrics that must be 0/1 (Beta-Binomial posterior); None detects them from the values.
    ratio_metrics
        ``{name: (numerator, denominator)}``, compared by the delta method (e.g. spend per visit).
    guardrails
        Metrics that must not get worse; a breach (interval wholly below zero) is flagged in the summary.
    arms, planned_shares
        The planned arms (an arm with no units yields a warning, not a crash) and their planned shares
        for the sample-ratio check (equal when None).
    correction
        "holm", "bh" or "none", applied across arms x metrics.
    winsorize_metrics
        Heavy-tailed metrics capped at the pooled ``winsorize_quantile`` before comparison (stated in ``note``).
    rope
        Region of practical equivalence per metric (absolute lift), default 0.
    segment_col
        Optional pre-treatment segment column: per-segment and partially pooled effects of every arm.
    """
    if not 0 < alpha < 1:
        raise LtvlabError(f"alpha must be in (0, 1), got {alpha}")
    if correction not in ("holm", "bh", "none"):
        raise LtvlabError(f"unknown correction {correction!r}; use 'holm', 'bh' or 'none'")
    metrics = list(dict.fromkeys([*metrics, *guardrails]))
    ratio_metrics = dict(ratio_metrics or {})
    if not metrics and not ratio_metrics:
        raise LtvlabError("give at least one metric to analyse")
    all_arms = check_arms(frame, arm_col=arm_col, control=control, arms=arms)
    declared = set(binary_metrics) if binary_metrics is not None else None
    if declared is not None and declared - set(metrics):
        raise LtvlabError(
            f"binary metrics {sorted(declared - set(metrics))} are not among the metrics {metrics}"
        )
    binary = [
        m for m in metrics if check_metric(frame, m, binary=(m in declared) if declared is not None else None)
    ]
    for name, (num, den) in ratio_metrics.items():
        check_metric(frame, num, binary=None)
        check_metric(frame, den, binary=None)
        if name in metrics:
            raise LtvlabError(f"ratio metric name {name!r} clashes with a metric column")
    covariates = list(covariates)
    check_covariates(frame, covariates)
    for name in winsorize_metrics:
        if name not in metrics or name in binary:
            raise LtvlabError(f"winsorize metric {name!r} must be one of the continuous metrics")
    rope = dict(rope or {})
    labels = frame[arm_col].astype(str)
    masks = {arm: (labels == arm).to_numpy() for arm in all_arms}
    report_warnings: list[str] = []
    for arm in all_arms:
        if not masks[arm].any():
            report_warnings.append(f"arm {arm!r} has no units")

    effects: list[EffectEstimate] = []
    adjusted: list[EffectEstimate] = []
    bayes: list[BayesianEffect] = []
    design_frame = covariate_matrix(frame, covariates) if covariates else None
    design = design_frame.to_numpy() if design_frame is not None else None
    design_names = tuple(str(c) for c in design_frame.columns) if design_frame is not None else ()
    for metric in metrics:
        values = frame[metric].astype(float).to_numpy()
        note = ""
        if metric in winsorize_metrics:
            capped = winsorize(values, upper_quantile=winsorize_quantile)
            values, note = capped.values, capped.note
        if np.ptp(values) == 0:
            report_warnings.append(f"metric {metric!r} is constant ({values[0]:g}) in every arm")
        stats_ = {arm: MeanStats.from_values(values[mask]) for arm, mask in masks.items()}
        for arm in all_arms[1:]:
            effects.append(
                welch_test(
                    stats_[arm], stats_[control], metric=metric, arm_name=arm, control_name=control,
                    alpha=alpha, note=note,
                )
            )  # fmt: skip
            if stats_[arm].n == 0:
                continue
            model = beta_binomial_effect if metric in binary else student_t_effect
            bayes.append(
                model(
                    stats_[arm], stats_[control], metric=metric, arm_name=arm, control_name=control,
                    rope=rope.get(metric, 0.0), credible_mass=1 - alpha, draws=bayes_draws, seed=seed,
                )
            )  # fmt: skip
            if design is not None:
                adjusted.append(
                    regression_adjusted_effect(
                        values[masks[arm]], design[masks[arm]], values[masks[control]], design[masks[control]],
                        metric=metric, arm_name=arm, control_name=control, alpha=alpha,
                        covariate_names=design_names,
                    )
                )  # fmt: skip
    for name, (num, den) in ratio_metrics.items():
        nums, dens = frame[num].astype(float).to_numpy(), frame[den].astype(float).to_numpy()
        stats_r = {arm: RatioStats.from_values(nums[mask], dens[mask]) for arm, mask in masks.items()}
        for arm in all_arms[1:]:
            if stats_r[arm].n == 0:
                continue
            effects.append(
                ratio_test(
                    stats_r[arm],
                    stats_r[control],
                    metric=name,
                    arm_name=arm,
                    control_name=control,
                    alpha=alpha,
                )
            )

    srm = srm_test(
        {arm: int(mask.sum()) for arm, mask in masks.items()},
        planned_shares=planned_shares,
        threshold=srm_threshold,
    )
    if srm.flagged:
        report_warnings.append(f"sample-ratio mismatch (p = {srm.p_value:.2g} < {srm_threshold})")
    balance = (
        balance_table(frame, arm_col=arm_col, control=control, covariates=covariates)
        if covariates
        else pd.DataFrame(columns=["arm", "covariate", "mean_control", "mean_arm", "smd", "imbalanced"])
    )
    heterogeneity = []
    if segment_col is not None:
        for metric in metrics:
            for arm in all_arms[1:]:
                if masks[arm].any() and np.ptp(frame[metric].to_numpy(dtype=float)) > 0:
                    heterogeneity.append(
                        segment_effects(
                            frame, arm_col=arm_col, control=control, arm=arm, metric=metric,
                            segment_col=segment_col, alpha=alpha, seed=seed,
                        )
                    )  # fmt: skip
    return ExperimentReport(
        arm_col=arm_col,
        control=control,
        arms=all_arms,
        metrics=(*metrics, *ratio_metrics),
        binary_metrics=tuple(binary),
        covariates=tuple(covariates),
        guardrails=tuple(guardrails),
        alpha=alpha,
        correction=correction,
        seed=seed,
        effects=_corrected(effects, correction),
        adjusted_effects=_corrected(adjusted, correction) if adjusted else (),
        bayes=tuple(bayes),
        srm=srm,
        balance=balance,
        heterogeneity=tuple(heterogeneity),
        warnings=tuple(report_warnings),
    )
