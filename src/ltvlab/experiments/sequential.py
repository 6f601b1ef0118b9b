"""Always-valid inference for peeking: the mixture sequential probability ratio test (mSPRT).

For an estimate ``d`` of the effect with (plug-in) variance ``v`` and a normal mixing distribution
N(0, tau^2) over the alternative, the mixture likelihood ratio against zero is

    Lambda = sqrt(v / (v + tau^2)) * exp(tau^2 d^2 / (2 v (v + tau^2)))

(Johari, Pekelis & Walsh 2017; Robbins 1970). Rejecting the first time Lambda >= 1/alpha keeps the type I
error at most alpha however often one looks; the always-valid p-value is the running minimum of
min(1, 1/Lambda), and inverting the test gives a confidence sequence ``d +- radius``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def msprt_log_lr(estimate: np.ndarray, variance: np.ndarray, *, mixing_sd: float | np.ndarray) -> np.ndarray:
    """log of the normal-mixture likelihood ratio for H0: effect = 0 (vectorised)."""
    d = np.asarray(estimate, dtype=float)
    v = np.asarray(variance, dtype=float)
    tau2 = np.asarray(mixing_sd, dtype=float) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * np.log(v / (v + tau2)) + tau2 * d**2 / (2 * v * (v + tau2))


def confidence_sequence_radius(
    variance: np.ndarray, *, mixing_sd: float | np.ndarray, alpha: float = 0.05
) -> np.ndarray:
    """Half-width of the (1 - alpha) always-valid interval: the set of effects the mSPRT does not reject."""
    v = np.asarray(variance, dtype=float)
    tau2 = np.asarray(mixing_sd, dtype=float) ** 2
    return np.sqrt(v * (v + tau2) / tau2 * (2 * np.log(1 / alpha) + np.log((v + tau2) / v)))


def always_valid_p_values(
    estimates: np.ndarray, variances: np.ndarray, *, mixing_sd: float | np.ndarray
) -> np.ndarray:
    """Running-minimum p-values along the last axis (the looks), ``min(1, 1/Lambda)``."""
    log_lr = msprt_log_lr(estimates, variances, mixing_sd=mixing_sd)
    p = np.minimum(1.0, np.exp(-log_lr))
    return np.minimum.accumulate(p, axis=-1)


def default_mixing_sd(sd: float, *, n_arm: int, n_control: int, multiple: float = 3.0) -> float:
    """A mixing scale of ``multiple`` standard errors of the difference at the final planned look."""
    value = float(multiple * sd * np.sqrt(1 / max(n_arm, 1) + 1 / max(n_control, 1)))
    return value if value > 0 else 1.0


@dataclass(frozen=True, slots=True)
class SequentialResult:
    """The monitoring path: one row per look with estimate, always-valid interval and p-value."""

    path: pd.DataFrame
    alpha: float
    mixing_sd: float
    rejected: bool
    first_rejection_look: int | None

    def to_frame(self) -> pd.DataFrame:
        return self.path.copy()


def sequential_monitor(
    arm: np.ndarray,
    control: np.ndarray,
    *,
    looks: int = 10,
    alpha: float = 0.05,
    mixing_sd: float | None = None,
) -> SequentialResult:
    """Replay an experiment in arrival order with ``looks`` equally spaced interim analyses.

    Parameters
    ----------
    arm, control
        Outcomes in arrival order.
    mixing_sd
        Scale of the effects the test is tuned to detect. Default: the pooled outcome standard deviation
        times ``sqrt(2 / n_max)`` times 3, i.e. about three standard errors at the final look.
    """
    a = np.asarray(arm, dtype=float)
    c = np.asarray(control, dtype=float)
    if mixing_sd is None:
        mixing_sd = default_mixing_sd(float(np.concatenate([a, c]).std()), n_arm=len(a), n_control=len(c))
    fractions = np.arange(1, looks + 1) / looks
    rows = []
    for k, fraction in enumerate(fractions, start=1):
        na, nc = max(round(fraction * len(a)), 2), max(round(fraction * len(c)), 2)
        xa, xc = a[:na], c[:nc]
        estimate = xa.mean() - xc.mean()
        variance = xa.var(ddof=1) / na + xc.var(ddof=1) / nc
        rows.append({"look": k, "n_arm": na, "n_control": nc, "estimate": estimate, "variance": variance})
    path = pd.DataFrame(rows)
    radius = confidence_sequence_radius(path["variance"].to_numpy(), mixing_sd=mixing_sd, alpha=alpha)
    path["cs_low"] = path["estimate"] - radius
    path["cs_high"] = path["estimate"] + radius
    path["p_value_always_valid"] = always_valid_p_values(
        path["estimate"].to_numpy(), path["variance"].to_numpy(), mixing_sd=mixing_sd
    )
    rejected = path["p_value_always_valid"].to_numpy() <= alpha
    first = int(path["look"][rejected].iloc[0]) if rejected.any() else None
    return SequentialResult(path, alpha, float(mixing_sd), bool(rejected.any()), first)
