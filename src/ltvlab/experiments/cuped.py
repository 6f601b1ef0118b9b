"""Variance reduction with pre-treatment covariates.

``regression_adjusted_effect`` is the regression estimator with treatment-covariate interactions of Lin
(2013): regress the outcome on the arm indicator, covariates centred at their pooled mean, and their
products; the arm coefficient is the effect, with an HC2 (heteroskedasticity-robust) standard error.
``cuped_adjust`` is the single-covariate CUPED transform of Deng et al. (2013), kept for plots.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ltvlab.errors import LtvlabError
from ltvlab.experiments.results import EffectEstimate


def cuped_adjust(outcome: np.ndarray, covariate: np.ndarray) -> np.ndarray:
    """``y - theta * (x - mean(x))`` with ``theta = cov(x, y) / var(x)`` over all units (all arms pooled)."""
    y = np.asarray(outcome, dtype=float)
    x = np.asarray(covariate, dtype=float)
    var_x = x.var()
    if var_x == 0:
        return y.copy()
    theta = np.mean((x - x.mean()) * (y - y.mean())) / var_x
    return y - theta * (x - x.mean())


def _as_matrix(values: np.ndarray) -> np.ndarray:
    matrix = np.asarray(values, dtype=float)
    return matrix.reshape(-1, 1) if matrix.ndim == 1 else matrix


def regression_adjusted_effect(
    y_arm: np.ndarray,
    x_arm: np.ndarray,
    y_control: np.ndarray,
    x_control: np.ndarray,
    *,
    metric: str = "metric",
    arm_name: str = "arm",
    control_name: str = "control",
    alpha: float = 0.05,
    covariate_names: tuple[str, ...] = (),
) -> EffectEstimate:
    """Lin's (2013) interacted regression adjustment of ``arm - control`` with an HC2 standard error.

    Parameters
    ----------
    y_arm, y_control
        Outcomes of the two groups.
    x_arm, x_control
        Pre-treatment covariates, shape ``(n, k)`` (or ``(n,)``), numeric, no missing values.
    """
    ya, yc = np.asarray(y_arm, dtype=float), np.asarray(y_control, dtype=float)
    xa, xc = _as_matrix(x_arm), _as_matrix(x_control)
    if xa.shape[1] != xc.shape[1]:
        raise LtvlabError("arm and control covariate matrices have different numbers of columns")
    warnings: list[str] = []
    x_all = np.vstack([xa, xc])
    keep = x_all.std(axis=0) > 0
    if not keep.all():
        warnings.append("constant_covariate_dropped")
    x_all = x_all[:, keep]
    x_centred = x_all - x_all.mean(axis=0)
    n_a, n_c = len(ya), len(yc)
    treat = np.concatenate([np.ones(n_a), np.zeros(n_c)])
    y = np.concatenate([ya, yc])
    design = np.column_stack([np.ones(n_a + n_c), treat, x_centred, treat[:, None] * x_centred])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ beta
    xtx_inv = np.linalg.pinv(design.T @ design)
    leverage = np.einsum("ij,jk,ik->i", design, xtx_inv, design)
    weights = residuals**2 / np.clip(1 - leverage, 1e-12, None)
    meat = design.T @ (design * weights[:, None])
    cov = xtx_inv @ meat @ xtx_inv
    estimate = float(beta[1])
    se = float(np.sqrt(max(cov[1, 1], 0.0)))
    z = float(stats.norm.ppf(1 - alpha / 2))
    if se == 0:
        warnings.append("zero_variance")
    p_value = float(2 * stats.norm.sf(abs(estimate) / se)) if se > 0 else float("nan")
    mean_c = float(yc.mean())
    # Adjusted arm mean: control mean at the pooled covariate mean plus the effect.
    adj_control = float(beta[0])
    # The adjusted control mean is a regression intercept: with an all-zero control it is zero up to
    # rounding (1e-16), which would give a relative lift of 1e14. Zero relative to the outcome's scale
    # (64 ulps of its largest value) is zero: the relative lift is then undefined.
    scale = float(np.max(np.abs(y))) if len(y) else 0.0
    zero_control = mean_c == 0 or abs(adj_control) <= 64 * np.finfo(float).eps * max(scale, 1.0)
    if zero_control:
        warnings.append("zero_control_mean")
    rel = float("nan") if zero_control else estimate / adj_control
    rel_se = float("nan") if zero_control else se / abs(adj_control)
    names = tuple(n for n, k in zip(covariate_names, keep, strict=False) if k) if covariate_names else ()
    return EffectEstimate(
        metric=metric,
        arm=arm_name,
        control=control_name,
        estimate=estimate,
        ci_low=estimate - z * se,
        ci_high=estimate + z * se,
        p_value=p_value,
        method="cuped",
        alpha=alpha,
        n_arm=n_a,
        n_control=n_c,
        mean_arm=float(ya.mean()),
        mean_control=mean_c,
        std_error=se,
        relative_lift=rel,
        relative_ci_low=rel - z * rel_se,
        relative_ci_high=rel + z * rel_se,
        note="covariates: " + ", ".join(names) if names else "",
        warnings=tuple(warnings),
    )
