"""One table of hypotheses: each design's estimate next to the naive comparison, the truth when known, and a
plain-language verdict that takes the design's own warnings into account."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ltvlab.causal.did import DidResult
from ltvlab.causal.results import CausalEstimate


def verdict(result: CausalEstimate | DidResult) -> str:
    """ "supported" (interval above 0), "reversed" (below 0) or "not supported" (includes 0); "not credible"
    when parallel trends visibly fail, and a caution appended when the design's own checks raise doubts
    (few units carrying the weight, covariates still imbalanced after weighting)."""
    if "pre_trends_differ" in result.warnings:
        return "not credible: pre-trends differ, parallel trends doubtful"
    if result.ci_low > 0:
        base = "supported: positive effect"
    elif result.ci_high < 0:
        base = "reversed: negative effect"
    else:
        base = "not supported: no detectable effect"
    cautions = []
    if any(w.startswith("low_effective_sample_size") for w in result.warnings):
        cautions.append("a few units carry most of the weight")
    if "covariates_imbalanced_after_weighting" in result.warnings:
        cautions.append("covariates still imbalanced after weighting (propensity model misspecified?)")
    return base + (f" (caution: {'; '.join(cautions)})" if cautions else "")


def hypothesis_table(
    results: Mapping[str, CausalEstimate | DidResult], truths: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """One row per hypothesis label: method, estimate with interval, naive estimate and its bias, the truth
    (synthetic data) and whether the interval covers it, the verdict and the warnings."""
    rows = []
    for label, result in results.items():
        truth = float((truths or {}).get(label, np.nan))
        rows.append(
            {
                "hypothesis": label,
                "method": result.method,
                "estimate": result.estimate,
                "ci_low": result.ci_low,
                "ci_high": result.ci_high,
                "naive_estimate": result.naive_estimate,
                "naive_bias": result.naive_bias,
                "truth": truth,
                "covers_truth": bool(result.ci_low <= truth <= result.ci_high)
                if np.isfinite(truth)
                else None,
                "verdict": verdict(result),
                "warnings": ";".join(result.warnings),
            }
        )
    return pd.DataFrame(rows)
