"""Approximate posterior draws of a strategy's purchase-rate multiplier from a causal estimate.

For each segment x strategy an AIPW estimate of the effect on period purchases gives
``m = E[Y(1)] / E[Y(0)]``; with ``se`` the standard error of the difference and ``E[Y(0)]`` held fixed,
``se(log m) ~ se / E[Y(1)]`` (delta method), and draws are ``log m ~ Normal(log m_hat, se(log m))`` — the
normal approximation to the posterior under a flat prior. The whole effect is attributed to the purchase
rate (``dropout_multiplier = 1``): a period count cannot separate the two, and this is stated in the output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ltvlab.causal import WeightingDesign
from ltvlab.errors import LtvlabError


def rate_multiplier_draws(
    units: pd.DataFrame,
    *,
    segment: str,
    treatments: Sequence[str],
    outcome: str,
    covariates: Sequence[str],
    n_draws: int = 500,
    seed: int,
) -> pd.DataFrame:
    """``segment, strategy, draw, rate_multiplier, dropout_multiplier`` plus the estimate behind each cell.

    ``treatments`` are 0/1 columns of ``units``, one per strategy (the column name is the strategy name).
    """
    if n_draws < 1:
        raise LtvlabError("n_draws must be at least 1")
    rng = np.random.default_rng(seed)
    frames = []
    for level in sorted(units[segment].astype(str).unique()):
        part = units[(units[segment].astype(str) == level).to_numpy()]
        for strategy in treatments:
            result = WeightingDesign(part, treatment=strategy, outcome=outcome, covariates=covariates).aipw()
            if not (result.mean_control > 0 and result.mean_treated > 0):
                raise LtvlabError(f"segment {level}, {strategy}: mean outcome is 0, no rate multiplier")
            log_m = np.log(result.mean_treated / result.mean_control)
            se_log = result.std_error / result.mean_treated
            frames.append(
                pd.DataFrame(
                    {
                        "segment": level,
                        "strategy": strategy,
                        "draw": np.arange(n_draws),
                        "rate_multiplier": np.exp(log_m + se_log * rng.standard_normal(n_draws)),
                        "dropout_multiplier": 1.0,
                        "effect_estimate": result.estimate,
                        "effect_std_error": result.std_error,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
