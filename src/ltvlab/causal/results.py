"""Result records of the observational designs: frozen dataclasses that say how they were made."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

CausalMethod = Literal["ipw", "aipw", "did"]


@dataclass(frozen=True, slots=True)
class CausalEstimate:
    """An average treatment effect ``E[Y(1) - Y(0)]`` next to the naive comparison it corrects.

    ``naive_estimate`` is the raw difference in means (treated minus control; for DiD the before/after change
    of the treated units), so a reader sees the bias the design removed. ``mean_treated`` / ``mean_control``
    are the design's estimates of ``E[Y(1)]`` and ``E[Y(0)]`` (NaN for DiD). ``trimming`` states the rule that
    decided which units were used; ``warnings`` lists conditions that must be shown next to the number.
    """

    outcome: str
    treatment: str
    method: CausalMethod
    estimand: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    n: int
    n_treated: int
    n_control: int
    naive_estimate: float
    naive_ci_low: float
    naive_ci_high: float
    mean_treated: float = float("nan")
    mean_control: float = float("nan")
    outcome_sd: float = float("nan")
    outcome_is_binary: bool = False
    propensity_model: str = ""
    outcome_model: str = ""
    variance_method: str = ""
    trimming: str = ""
    n_trimmed: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def naive_bias(self) -> float:
        """How far the naive difference sits from the design's estimate (naive - estimate)."""
        return self.naive_estimate - self.estimate

    def to_frame(self) -> pd.DataFrame:
        return estimates_frame([self])


def estimates_frame(results: Iterable[CausalEstimate]) -> pd.DataFrame:
    """Many estimates -> one tidy frame (one row each; ``warnings`` joined with ``;``)."""
    rows = []
    for result in results:
        row = asdict(result)
        row["warnings"] = ";".join(result.warnings)
        row["naive_bias"] = result.naive_bias
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class OverlapSummary:
    """Propensity-score overlap between treated and control units, and the trimming rule applied.

    ``table`` has one row per group (treated, control) with the propensity quantiles; ``n_outside`` counts
    units outside ``[trim_low, trim_high]`` (dropped when trimming is on). ``propensity`` and ``treated`` hold
    the unit-level values for plots.
    """

    table: pd.DataFrame
    trim_low: float
    trim_high: float
    rule: str
    n_outside: int
    share_outside: float
    min_propensity: float
    max_propensity: float
    warnings: tuple[str, ...] = ()
    propensity: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)
    treated: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool), repr=False, compare=False)
