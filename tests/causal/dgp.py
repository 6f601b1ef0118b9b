"""Known data-generating processes for the causal tests (ground truth written down, not estimated)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUE_EFFECT = 1.0


def confounded_frame(
    n: int, *, seed: int, effect: float = TRUE_EFFECT, strength: float = 1.0
) -> pd.DataFrame:
    """Customers whose engagement (x1) and membership (x2) raise both the chance of treatment and the outcome.

    logit P(T=1) = -0.3 + 0.8 * strength * x1 + 0.6 * strength * x2; Y = 2 + 1.5 x1 + 1.0 x2 + effect * T + N(0, 2^2).
    The outcome model is linear and the propensity model logistic, so both are correctly specified; the
    naive difference is biased upwards by 1.5 * (E[x1|T=1] - E[x1|T=0]) + 1.0 * (E[x2|T=1] - E[x2|T=0]).
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.4).astype(float)
    region = rng.choice(np.array(["north", "south", "west"]), size=n)
    logit = -0.3 + strength * (0.8 * x1 + 0.6 * x2)
    treated = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    y = 2 + 1.5 * x1 + 1.0 * x2 + effect * treated + rng.normal(scale=2.0, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "treated": treated, "y": y})


DID_EFFECT = 2.0


def did_panel(
    n_units: int,
    n_periods: int = 8,
    *,
    start: int = 4,
    seed: int,
    effect: float = DID_EFFECT,
    treated_extra_trend: float = 0.0,
    staggered: bool = False,
) -> pd.DataFrame:
    """Panel with unit effects, a common upward time trend (which biases a before/after comparison),
    and a known effect on treated units from ``start`` on. ``treated_extra_trend`` adds a slope to treated
    units only (parallel trends violated); ``staggered`` starts half of the treated units one period later.
    """
    rng = np.random.default_rng(seed)
    treated_unit = rng.random(n_units) < 0.5
    unit_effect = rng.normal(size=n_units) + 1.0 * treated_unit  # treated units differ in level: allowed
    unit_start = np.where(treated_unit, start, n_periods + 1)
    if staggered:
        unit_start = np.where(treated_unit & (rng.random(n_units) < 0.5), start + 1, unit_start)
    rows = []
    for t in range(n_periods):
        d = (t >= unit_start).astype(int)
        y = (
            unit_effect
            + 0.5 * t
            + treated_extra_trend * t * treated_unit
            + effect * d
            + rng.normal(scale=1.0, size=n_units)
        )
        rows.append(pd.DataFrame({"customer_id": np.arange(n_units), "week": t, "promo": d, "sales": y}))
    return pd.concat(rows, ignore_index=True)
