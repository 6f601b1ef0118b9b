"""Result records of the A/B engine: frozen dataclasses that say how they were made, plus tidy frames."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

import numpy as np
import pandas as pd

EffectMethod = Literal["welch", "cuped", "delta", "bayes"]


@dataclass(frozen=True, slots=True)
class EffectEstimate:
    """Difference ``arm - control`` in the mean of ``metric``, with its confidence interval.

    ``relative_lift`` is ``estimate / mean_control`` with a delta-method interval. ``warnings`` lists
    degenerate conditions (``zero_variance``, ``empty_arm``, ...) that must be shown next to the number.
    """

    metric: str
    arm: str
    control: str
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    method: EffectMethod
    alpha: float
    n_arm: int
    n_control: int
    mean_arm: float
    mean_control: float
    std_error: float
    relative_lift: float = float("nan")
    relative_ci_low: float = float("nan")
    relative_ci_high: float = float("nan")
    p_value_adjusted: float = float("nan")
    correction: str = "none"
    note: str = ""
    warnings: tuple[str, ...] = ()

    def with_adjusted_p(self, p_value_adjusted: float, correction: str) -> EffectEstimate:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(p_value_adjusted=float(p_value_adjusted), correction=correction)
        return EffectEstimate(**values)

    def to_frame(self) -> pd.DataFrame:
        return results_frame([self])


@dataclass(frozen=True, slots=True)
class BayesianEffect:
    """Posterior of the lift ``arm - control`` (absolute), from ``draws`` Monte Carlo draws.

    ``expected_loss`` is E[max(control - arm, 0)]: what we expect to lose by shipping the arm.
    ``prob_in_rope`` is P(|lift| < rope), the chance the lift is practically zero.
    """

    metric: str
    arm: str
    control: str
    model: Literal["beta-binomial", "student-t"]
    lift_mean: float
    lift_ci_low: float
    lift_ci_high: float
    relative_lift_mean: float
    prob_better: float
    expected_loss: float
    rope: float
    prob_in_rope: float
    credible_mass: float
    draws: int
    seed: int
    warnings: tuple[str, ...] = ()
    lift_draws: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        return results_frame([self])


def results_frame(results: Iterable[object]) -> pd.DataFrame:
    """One tidy row per result dataclass; array fields are dropped, ``warnings`` joined with ``;``."""
    rows = []
    for result in results:
        row = {}
        for key, value in asdict(result).items():
            if isinstance(value, np.ndarray):
                continue
            row[key] = ";".join(value) if key == "warnings" else value
        rows.append(row)
    return pd.DataFrame(rows)
