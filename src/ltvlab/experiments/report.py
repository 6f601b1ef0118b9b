"""``ExperimentReport``: everything ``analyse_experiment`` found, as tidy frames and a plain-language summary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.experiments.heterogeneity import HeterogeneityResult
from ltvlab.experiments.results import BayesianEffect, EffectEstimate, results_frame
from ltvlab.experiments.srm import SRMResult

SUMMARY_COLUMNS = [
    "arm",
    "metric",
    "method",
    "n_arm",
    "n_control",
    "mean_arm",
    "mean_control",
    "lift",
    "ci_low",
    "ci_high",
    "relative_lift",
    "p_value",
    "p_value_adjusted",
    "prob_better",
    "expected_loss",
    "srm_p_value",
    "guardrail_breached",
    "warnings",
]


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    """Results of one experiment. ``effects`` are the unadjusted (Welch / delta) estimates, ``adjusted_effects``
    the covariate-adjusted ones (empty without covariates); the primary estimate is the adjusted one when it
    exists. p-values are corrected across arms x metrics within each family with ``correction``."""

    arm_col: str
    control: str
    arms: tuple[str, ...]
    metrics: tuple[str, ...]
    binary_metrics: tuple[str, ...]
    covariates: tuple[str, ...]
    guardrails: tuple[str, ...]
    alpha: float
    correction: str
    seed: int
    effects: tuple[EffectEstimate, ...]
    adjusted_effects: tuple[EffectEstimate, ...]
    bayes: tuple[BayesianEffect, ...]
    srm: SRMResult
    balance: pd.DataFrame
    heterogeneity: tuple[HeterogeneityResult, ...]
    warnings: tuple[str, ...] = ()

    @property
    def primary_effects(self) -> tuple[EffectEstimate, ...]:
        if not self.adjusted_effects:
            return self.effects
        adjusted = {(e.arm, e.metric): e for e in self.adjusted_effects}
        return tuple(adjusted.get((e.arm, e.metric), e) for e in self.effects)

    def effects_frame(self) -> pd.DataFrame:
        """All frequentist estimates (unadjusted and adjusted), one row each."""
        return results_frame([*self.effects, *self.adjusted_effects])

    def bayes_frame(self) -> pd.DataFrame:
        return results_frame(self.bayes)

    def heterogeneity_frame(self) -> pd.DataFrame:
        frames = []
        for result in self.heterogeneity:
            table = result.table.copy()
            table.insert(0, "metric", result.metric)
            table.insert(0, "arm", result.arm)
            table.insert(2, "segment_col", result.segment_col)
            table["tau_mean"] = result.tau_mean
            table["heterogeneity_p_value"] = result.heterogeneity_p_value
            frames.append(table)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def summary_frame(self) -> pd.DataFrame:
        """Per arm and metric: n, mean, absolute lift with CI, p-value, adjusted p-value, P(better), SRM p."""
        bayes = {(b.arm, b.metric): b for b in self.bayes}
        rows = []
        for effect in self.primary_effects:
            posterior = bayes.get((effect.arm, effect.metric))
            rows.append(
                {
                    "arm": effect.arm,
                    "metric": effect.metric,
                    "method": effect.method,
                    "n_arm": effect.n_arm,
                    "n_control": effect.n_control,
                    "mean_arm": effect.mean_arm,
                    "mean_control": effect.mean_control,
                    "lift": effect.estimate,
                    "ci_low": effect.ci_low,
                    "ci_high": effect.ci_high,
                    "relative_lift": effect.relative_lift,
                    "p_value": effect.p_value,
                    "p_value_adjusted": effect.p_value_adjusted,
                    "prob_better": posterior.prob_better if posterior else np.nan,
                    "expected_loss": posterior.expected_loss if posterior else np.nan,
                    "srm_p_value": self.srm.p_value,
                    "guardrail_breached": bool(effect.metric in self.guardrails and effect.ci_high < 0),
                    "warnings": ";".join(effect.warnings),
                }
            )
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

    @property
    def trustworthy(self) -> bool:
        """False when the sample-ratio check fails or a covariate is badly imbalanced (|SMD| > 0.1)."""
        imbalanced = bool(self.balance["imbalanced"].any()) if len(self.balance) else False
        return not self.srm.flagged and not imbalanced

    def summary_text(self) -> str:
        """A few sentences a manager can read: what was tested, what was found, how sure we are."""
        arms = [a for a in self.arms if a != self.control]
        lines = [
            f"We compared {len(arms)} arm(s) ({', '.join(arms)}) against the control {self.control!r} on "
            f"{', '.join(self.metrics)}, with {sum(self.srm.observed):,} units."
        ]
        if self.srm.flagged:
            lines.append(
                f"WARNING: the arm sizes do not match the planned split (SRM p = {self.srm.p_value:.2g}); "
                "the randomisation or logging is suspect and the effects below should not be trusted."
            )
        else:
            lines.append(f"The arm sizes match the planned split (SRM p = {self.srm.p_value:.2f}).")
        level = 1 - self.alpha
        for row in self.summary_frame().itertuples():
            if not np.isfinite(row.lift):
                lines.append(f"{row.arm} / {row.metric}: no estimate ({row.warnings}).")
                continue
            significant = np.isfinite(row.p_value_adjusted) and row.p_value_adjusted < self.alpha
            direction = "raised" if row.lift > 0 else "lowered"
            verdict = (
                f"{direction} {row.metric} by {row.lift:+.4g} per unit "
                f"({level:.0%} CI {row.ci_low:+.4g} to {row.ci_high:+.4g}"
                + (f", {row.relative_lift:+.1%} relative" if np.isfinite(row.relative_lift) else "")
                + ")"
            )
            sure = (
                f"clear after {self.correction} correction (adjusted p = {row.p_value_adjusted:.2g})"
                if significant
                else f"not distinguishable from no effect (adjusted p = {row.p_value_adjusted:.2g})"
            )
            bayes = (
                f"; P(better than control) = {row.prob_better:.1%}" if np.isfinite(row.prob_better) else ""
            )
            lines.append(f"{row.arm} {verdict}: {sure}{bayes}.")
        for result in self.heterogeneity:
            table = result.table
            best = table.loc[table["raw_estimate"].idxmax()]
            worst = table.loc[table["raw_estimate"].idxmin()]
            if result.heterogeneity_p_value < self.alpha:
                lines.append(
                    f"The {result.arm} effect on {result.metric} differs by {result.segment_col} "
                    f"(heterogeneity p = {result.heterogeneity_p_value:.2g}): {best['raw_estimate']:+.4g} for "
                    f"{result.segment_col} = {best['segment']} vs {worst['raw_estimate']:+.4g} for "
                    f"{worst['segment']}."
                )
        if self.warnings:
            lines.append("Warnings: " + "; ".join(self.warnings) + ".")
        return "\n".join(lines)
