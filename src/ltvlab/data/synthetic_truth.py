"""Ground truth of the synthetic CRM: hyper-parameters, strategy specifications, segment draws, true effects.

All rates are per week. See :mod:`ltvlab.data.synthetic` for the whole design.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ltvlab.data.synthetic_processes import DatedProcess
from ltvlab.errors import LtvlabError

Assignment = Literal["randomised", "confounded"]

# CDNOW maximum-likelihood estimates (weeks): Fader, Hardie & Lee (2005) and their Pareto/NBD and
# Gamma-Gamma notes; used as the centre of the segment hyper-distribution.
CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
CDNOW_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@dataclass(frozen=True, slots=True)
class HyperParameters:
    """Hyper-distribution of segment parameters and of strategy effects.

    For every purchase/dropout parameter ``theta`` (r, alpha, a, b or r, alpha, s, beta):
    ``log theta_g ~ Normal(log theta_0, segment_log_sd)``; for the Gamma-Gamma ``p, q, gamma``:
    ``log theta_g ~ Normal(log theta_0, spend_log_sd)``; for strategy ``k`` with mean multipliers
    ``m_k`` (purchase rate, dropout): ``log m_kg ~ Normal(log m_k, effect_log_sd)``.
    Confounded assignment: ``logit P(treated) = logit(share_k) + confounding_slope * (log1p(pre_purchases) -
    confounding_center)``, where ``pre_purchases`` are the repeat purchases in calibration (observable).
    """

    bgnbd: dict[str, float] = field(default_factory=lambda: dict(CDNOW_BGNBD))
    pareto_nbd: dict[str, float] = field(default_factory=lambda: dict(CDNOW_PARETO_NBD))
    gamma_gamma: dict[str, float] = field(default_factory=lambda: dict(CDNOW_GAMMA_GAMMA))
    segment_log_sd: float = 0.3
    spend_log_sd: float = 0.15
    effect_log_sd: float = 0.05
    confounding_slope: float = 1.0
    confounding_center: float = 0.5

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """An interaction strategy and its mean effect (multipliers applied from the treatment start)."""

    name: str
    rate_multiplier: float  # purchase rate lambda x this (1.10 = +10 %)
    dropout_multiplier: float  # dropout p (BG/NBD) or mu (Pareto/NBD) x this (0.90 = -10 %)
    share: float  # share of customers contacted (the base rate under confounding)
    contacts_mean: float  # mean number of contacts per treated customer (at least 1)
    online_share: float  # share of contacts through an online channel
    cost_per_contact: float


DEFAULT_STRATEGIES: dict[str, StrategySpec] = {
    s.name: s
    for s in (
        StrategySpec("email", 1.10, 0.95, 0.50, 4.0, 1.0, 0.05),
        StrategySpec("sms", 1.08, 0.97, 0.30, 3.0, 1.0, 0.10),
        StrategySpec("push", 1.05, 1.00, 0.30, 5.0, 1.0, 0.01),
        StrategySpec("coupon", 1.25, 0.95, 0.25, 2.0, 0.5, 2.00),
        StrategySpec("loyalty_programme", 1.10, 0.80, 0.20, 1.0, 0.5, 5.00),
        StrategySpec("personalised_reco", 1.12, 0.90, 0.30, 4.0, 1.0, 0.02),
        StrategySpec("birthday", 1.03, 0.98, 0.40, 1.0, 0.7, 0.50),
        StrategySpec("member_day", 1.15, 1.00, 0.20, 2.0, 0.3, 1.00),
        StrategySpec("call_back", 1.05, 0.85, 0.10, 1.0, 0.0, 3.00),
    )
}


def resolve_strategies(strategies: tuple[str | StrategySpec, ...]) -> tuple[StrategySpec, ...]:
    out = []
    for s in strategies:
        if isinstance(s, StrategySpec):
            out.append(s)
        elif s in DEFAULT_STRATEGIES:
            out.append(DEFAULT_STRATEGIES[s])
        else:
            raise LtvlabError(
                f"unknown strategy {s!r}; known: {sorted(DEFAULT_STRATEGIES)} (or pass a StrategySpec)"
            )
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise LtvlabError(f"strategies must be unique, got {names}")
    for s in out:
        if (
            not (0 < s.share < 1)
            or s.rate_multiplier <= 0
            or s.dropout_multiplier <= 0
            or s.contacts_mean < 1
        ):
            raise LtvlabError(
                f"strategy {s.name!r}: need 0 < share < 1, positive multipliers, contacts_mean >= 1"
            )
    return tuple(out)


def draw_segments(
    process: DatedProcess, sizes: np.ndarray, hyper: HyperParameters, rng: np.random.Generator
) -> pd.DataFrame:
    """Segment truth table: per segment the purchase/dropout and Gamma-Gamma parameters."""
    n_seg = sizes.size
    centre = process.centre(hyper)
    data: dict[str, object] = {
        "segment": [f"S{g + 1:02d}" for g in range(n_seg)],
        "n_customers": sizes.astype(np.int64),
    }
    for name in process.param_names:
        data[name] = np.exp(np.log(centre[name]) + hyper.segment_log_sd * rng.standard_normal(n_seg))
    for name in ("p", "q", "gamma"):
        data[name] = np.exp(np.log(hyper.gamma_gamma[name]) + hyper.spend_log_sd * rng.standard_normal(n_seg))
    return pd.DataFrame(data)


def draw_effects(
    strategies: tuple[StrategySpec, ...], n_segments: int, hyper: HyperParameters, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Segment-specific multipliers, arrays of shape (strategies, segments): (rate, dropout)."""
    k = len(strategies)
    rate = np.array([s.rate_multiplier for s in strategies])[:, None]
    drop = np.array([s.dropout_multiplier for s in strategies])[:, None]
    noise = hyper.effect_log_sd * rng.standard_normal((2, k, n_segments))
    return rate * np.exp(noise[0]), drop * np.exp(noise[1])


def treatment_probability(
    share: float, pre_purchases: np.ndarray, assignment: Assignment, hyper: HyperParameters
) -> np.ndarray:
    """P(treated) per customer under the assignment rule (see :class:`HyperParameters`)."""
    if assignment == "randomised":
        return np.full(pre_purchases.shape, share)
    logit = np.log(share / (1 - share)) + hyper.confounding_slope * (
        np.log1p(pre_purchases) - hyper.confounding_center
    )
    return 1.0 / (1.0 + np.exp(-logit))
