"""Multiple-testing control across arms x metrics: Holm (family-wise error) and Benjamini-Hochberg (FDR)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from ltvlab.errors import LtvlabError

Correction = Literal["holm", "bh", "none"]


def _adjust_finite(
    p_values: Sequence[float] | np.ndarray, step: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Adjust the finite p-values with ``step`` (ascending p-values in, adjusted out); NaNs stay NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    values = p[ok]
    order = np.argsort(values, kind="stable")
    result = np.empty(m)
    result[order] = step(values[order])
    out[ok] = result
    return out


def _holm_step(ascending: np.ndarray) -> np.ndarray:
    m = ascending.size
    scaled = (m - np.arange(m)) * ascending
    return np.minimum(np.maximum.accumulate(scaled), 1.0)


def _bh_step(ascending: np.ndarray) -> np.ndarray:
    m = ascending.size
    scaled = ascending * m / np.arange(1, m + 1)
    return np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values; NaNs stay NaN and do not count as tests."""
    return _adjust_finite(p_values, _holm_step)


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (q-values); NaNs stay NaN and do not count."""
    return _adjust_finite(p_values, _bh_step)


def adjust_p_values(p_values: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Dispatch on ``method``: "holm", "bh" (Benjamini-Hochberg) or "none"."""
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "none":
        return np.asarray(p_values, dtype=float).copy()
    raise LtvlabError(f"unknown correction {method!r}; use 'holm', 'bh' or 'none'")
