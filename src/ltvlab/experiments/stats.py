"""Sufficient statistics that add: the only thing most A/B estimators need from the raw rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True, slots=True)
class MeanStats:
    """Count, sum and sum of squares of one metric in one group; ``a + b`` pools two groups."""

    n: int
    total: float
    total_sq: float

    def __add__(self, other: MeanStats) -> MeanStats:
        if not isinstance(other, MeanStats):
            return NotImplemented
        return MeanStats(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    @classmethod
    def from_values(cls, values: np.ndarray | pd.Series) -> MeanStats:
        array = np.asarray(values, dtype=float)
        return cls(int(array.size), float(array.sum()), float(np.square(array).sum()))

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else float("nan")

    @property
    def variance(self) -> float:
        """Sample variance (ddof = 1); NaN below two units; never negative from rounding."""
        if self.n < 2:
            return float("nan")
        return max((self.total_sq - self.total**2 / self.n) / (self.n - 1), 0.0)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.variance))

    @property
    def mean_se(self) -> float:
        return float(np.sqrt(self.variance / self.n)) if self.n >= 2 else float("nan")


@dataclass(frozen=True, slots=True)
class RatioStats:
    """Sufficient statistics of a ratio metric sum(numerator) / sum(denominator) per unit (delta method)."""

    n: int
    num_total: float
    den_total: float
    num_sq: float
    den_sq: float
    cross: float

    def __add__(self, other: RatioStats) -> RatioStats:
        if not isinstance(other, RatioStats):
            return NotImplemented
        return RatioStats(
            self.n + other.n,
            self.num_total + other.num_total,
            self.den_total + other.den_total,
            self.num_sq + other.num_sq,
            self.den_sq + other.den_sq,
            self.cross + other.cross,
        )

    @classmethod
    def from_values(
        cls, numerator: np.ndarray | pd.Series, denominator: np.ndarray | pd.Series
    ) -> RatioStats:
        num = np.asarray(numerator, dtype=float)
        den = np.asarray(denominator, dtype=float)
        return cls(
            int(num.size),
            float(num.sum()),
            float(den.sum()),
            float(np.square(num).sum()),
            float(np.square(den).sum()),
            float((num * den).sum()),
        )

    @property
    def ratio(self) -> float:
        return self.num_total / self.den_total if self.den_total else float("nan")

    @property
    def ratio_variance(self) -> float:
        """Delta-method variance of the ratio of means (units are i.i.d., numerator and denominator paired)."""
        n = self.n
        if n < 2 or self.den_total == 0:
            return float("nan")
        mean_num, mean_den = self.num_total / n, self.den_total / n
        var_num = max((self.num_sq - n * mean_num**2) / (n - 1), 0.0)
        var_den = max((self.den_sq - n * mean_den**2) / (n - 1), 0.0)
        cov = (self.cross - n * mean_num * mean_den) / (n - 1)
        ratio = mean_num / mean_den
        value = (var_num - 2 * ratio * cov + ratio**2 * var_den) / (mean_den**2 * n)
        return max(value, 0.0)


def group_mean_stats(frame: pd.DataFrame, group_col: str, value_col: str) -> dict[str, MeanStats]:
    """One GROUP BY: ``{group label: MeanStats}`` of ``value_col`` per level of ``group_col``."""
    values = frame[value_col].astype(float)
    grouped = (
        pd.DataFrame({"g": frame[group_col].astype(str), "v": values, "v2": values * values})
        .groupby("g", sort=True, observed=True)
        .agg(n=("v", "size"), total=("v", "sum"), total_sq=("v2", "sum"))
    )
    return {
        str(label): MeanStats(int(row.n), float(row.total), float(row.total_sq))
        for label, row in grouped.iterrows()
    }
