"""Effect heterogeneity across segments: raw per-segment estimates beside partially pooled ones.

Model (normal-normal hierarchy, Gelman et al. BDA3 §5.4): the raw Welch estimate of segment j is
y_j ~ N(theta_j, s_j^2) with s_j its standard error; theta_j ~ N(mu, tau^2); flat prior on mu and a
half-Cauchy(tau_scale) prior on tau (Gelman 2006). The posterior is computed exactly: tau on a fine grid,
then mu | tau and theta_j | mu, tau are normal, so draws are exact (no MCMC, no convergence to check).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ltvlab.errors import LtvlabError
from ltvlab.experiments.stats import MeanStats
from ltvlab.experiments.welch import welch_test


@dataclass(frozen=True, slots=True)
class HeterogeneityResult:
    """Per-segment raw and shrunken effects (``table``) plus the population-level mu and tau."""

    metric: str
    arm: str
    control: str
    segment_col: str
    table: pd.DataFrame
    mu_mean: float
    mu_ci_low: float
    mu_ci_high: float
    tau_mean: float
    tau_ci_low: float
    tau_ci_high: float
    heterogeneity_p_value: float
    alpha: float
    draws: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def partial_pooling(
    estimates: np.ndarray,
    std_errors: np.ndarray,
    *,
    tau_scale: float | None = None,
    draws: int = 20_000,
    seed: int = 0,
    grid_size: int = 4000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact posterior draws ``(theta [draws, J], mu [draws], tau [draws])`` of the normal-normal model."""
    y = np.asarray(estimates, dtype=float)
    s2 = np.asarray(std_errors, dtype=float) ** 2
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(s2)) or np.any(s2 <= 0):
        raise LtvlabError(
            "partial pooling needs finite estimates and positive standard errors in every segment"
        )
    if tau_scale is None:
        tau_scale = float(max(np.std(y), np.sqrt(np.median(s2))))
    upper = 50 * tau_scale + 10 * np.sqrt(s2.max())
    grid = np.linspace(0.0, upper, grid_size)
    total_var = s2[None, :] + grid[:, None] ** 2
    precision = 1 / total_var
    v_mu = 1 / precision.sum(axis=1)
    mu_hat = (y[None, :] * precision).sum(axis=1) * v_mu
    log_post = (
        np.log(stats.halfcauchy.pdf(grid, scale=tau_scale))
        + 0.5 * np.log(v_mu)
        - 0.5 * np.log(total_var).sum(axis=1)
        - 0.5 * ((y[None, :] - mu_hat[:, None]) ** 2 * precision).sum(axis=1)
    )
    weights = np.exp(log_post - log_post.max())
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    idx = rng.choice(grid_size, size=draws, p=weights)
    step = grid[1] - grid[0]
    tau = np.clip(grid[idx] + rng.uniform(-step / 2, step / 2, size=draws), 0.0, None)
    tau2 = np.maximum(tau**2, 1e-300)
    prec = 1 / (s2[None, :] + tau2[:, None])
    v_mu_d = 1 / prec.sum(axis=1)
    mu = rng.normal((y[None, :] * prec).sum(axis=1) * v_mu_d, np.sqrt(v_mu_d))
    post_var = 1 / (1 / s2[None, :] + 1 / tau2[:, None])
    post_mean = post_var * (y[None, :] / s2[None, :] + mu[:, None] / tau2[:, None])
    theta = rng.normal(post_mean, np.sqrt(post_var))
    return theta, mu, tau


def segment_effects(
    frame: pd.DataFrame,
    *,
    arm_col: str,
    control: str,
    arm: str,
    metric: str,
    segment_col: str,
    alpha: float = 0.05,
    tau_scale: float | None = None,
    draws: int = 20_000,
    seed: int = 0,
) -> HeterogeneityResult:
    """Welch effect of ``arm`` vs ``control`` on ``metric`` within each level of ``segment_col``, and the
    same effects partially pooled by the normal-normal hierarchy. Includes Cochran's Q test of equal effects."""
    if segment_col not in frame.columns:
        raise LtvlabError(f"segment column {segment_col!r} not in the data; columns: {list(frame.columns)}")
    rows = []
    arms = frame[arm_col].astype(str)
    sub = frame[arms.isin([arm, control])]
    for level, part in sub.groupby(segment_col, sort=True, observed=True):
        part_arms = part[arm_col].astype(str)
        est = welch_test(
            MeanStats.from_values(part.loc[part_arms == arm, metric]),
            MeanStats.from_values(part.loc[part_arms == control, metric]),
            metric=metric,
            arm_name=arm,
            control_name=control,
            alpha=alpha,
        )
        rows.append(
            {
                "segment": str(level),
                "n_arm": est.n_arm,
                "n_control": est.n_control,
                "raw_estimate": est.estimate,
                "raw_std_error": est.std_error,
                "raw_ci_low": est.ci_low,
                "raw_ci_high": est.ci_high,
                "raw_p_value": est.p_value,
            }
        )
    table = pd.DataFrame(rows)
    usable = (table["n_arm"] >= 2) & (table["n_control"] >= 2) & (table["raw_std_error"] > 0)
    if usable.sum() < 2:
        raise LtvlabError(
            f"segment column {segment_col!r} needs at least two segments with both arms present and "
            "non-zero variance for a heterogeneity analysis"
        )
    table = table[usable].reset_index(drop=True)
    theta, mu, tau = partial_pooling(
        table["raw_estimate"].to_numpy(),
        table["raw_std_error"].to_numpy(),
        tau_scale=tau_scale,
        draws=draws,
        seed=seed,
    )
    q_low, q_high = alpha / 2, 1 - alpha / 2
    table["shrunk_mean"] = theta.mean(axis=0)
    table["shrunk_ci_low"] = np.quantile(theta, q_low, axis=0)
    table["shrunk_ci_high"] = np.quantile(theta, q_high, axis=0)
    table["prob_positive"] = (theta > 0).mean(axis=0)
    w = 1 / table["raw_std_error"].to_numpy() ** 2
    y = table["raw_estimate"].to_numpy()
    q_stat = float((w * (y - (w * y).sum() / w.sum()) ** 2).sum())
    return HeterogeneityResult(
        metric=metric,
        arm=arm,
        control=control,
        segment_col=segment_col,
        table=table,
        mu_mean=float(mu.mean()),
        mu_ci_low=float(np.quantile(mu, q_low)),
        mu_ci_high=float(np.quantile(mu, q_high)),
        tau_mean=float(tau.mean()),
        tau_ci_low=float(np.quantile(tau, q_low)),
        tau_ci_high=float(np.quantile(tau, q_high)),
        heterogeneity_p_value=float(stats.chi2.sf(q_stat, len(table) - 1)),
        alpha=alpha,
        draws=draws,
        seed=seed,
    )
