"""Capping heavy-tailed revenue before comparing means; the cap is reported with the result."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltvlab.errors import LtvlabError


@dataclass(frozen=True, slots=True)
class Winsorized:
    values: np.ndarray
    upper_quantile: float
    cap: float
    n_capped: int

    @property
    def note(self) -> str:
        return f"winsorised at the {self.upper_quantile:.1%} quantile ({self.cap:.4g}; {self.n_capped} values capped)"


def winsorize(values: np.ndarray, *, upper_quantile: float = 0.99, ignore_zeros: bool = True) -> Winsorized:
    """Cap values above the pooled ``upper_quantile`` (computed over all arms together, so the cap does not
    depend on the assignment). With ``ignore_zeros`` the quantile is taken over the non-zero values: revenue
    is mostly zero, and a quantile over all units would cap every purchase to nothing."""
    if not 0.5 < upper_quantile < 1:
        raise LtvlabError(f"winsorize upper_quantile must be in (0.5, 1), got {upper_quantile}")
    array = np.asarray(values, dtype=float)
    basis = array[array != 0] if ignore_zeros else array
    cap = float(np.quantile(basis, upper_quantile)) if basis.size else float("nan")
    if not np.isfinite(cap):
        return Winsorized(array.copy(), upper_quantile, cap, 0)
    capped = np.minimum(array, cap)
    return Winsorized(capped, upper_quantile, cap, int((array > cap).sum()))
