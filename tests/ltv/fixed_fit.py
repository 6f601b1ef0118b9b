"""A fitted-model test double pinned at given parameters (no sampling), with the interface of ltvlab's fits.

Draws are given explicitly, one array of shape (n_draws, n_segments) per parameter, so tests know the exact
posterior the code under test sees. Segments are read from ``segment`` in the summary, in ``segments`` order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tests.reference import cdnow


@dataclass
class FixedFit:
    model_name: str
    params: dict[str, np.ndarray]
    segment: str | None = None
    segments: tuple[str, ...] = ("all",)
    calls: list[tuple[int | None, int]] = field(default_factory=list)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self.params)

    def draws(self, max_draws: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        self.calls.append((max_draws, seed))
        out = {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in self.params.items()}
        if max_draws is not None:
            out = {k: v[:max_draws] for k, v in out.items()}
        return out

    def segment_index(self, summary: pd.DataFrame) -> np.ndarray:
        if self.segment is None:
            return np.zeros(len(summary), dtype=np.int64)
        lookup = {name: i for i, name in enumerate(self.segments)}
        return summary[self.segment].map(lookup).to_numpy(dtype=np.int64)


def point_fit(model_name: str, values: dict[str, float]) -> FixedFit:
    """A one-draw, one-segment fit (what a MAP fit looks like)."""
    return FixedFit(model_name, {k: np.array([[v]]) for k, v in values.items()})


def cdnow_bgnbd() -> FixedFit:
    return point_fit("bgnbd", cdnow.BGNBD)


def cdnow_pnbd() -> FixedFit:
    return point_fit("paretonbd", cdnow.PARETO_NBD)


def cdnow_gamma_gamma() -> FixedFit:
    return point_fit("gamma_gamma", cdnow.GAMMA_GAMMA)


def jittered(fit: FixedFit, n_draws: int, *, scale: float, seed: int) -> FixedFit:
    """``n_draws`` draws around a point fit: each parameter times exp(N(0, scale)), a stand-in posterior."""
    rng = np.random.default_rng(seed)
    params = {
        k: v[:1] * np.exp(rng.normal(0.0, scale, size=(n_draws, v.shape[1]))) for k, v in fit.params.items()
    }
    return FixedFit(fit.model_name, params, fit.segment, fit.segments)
