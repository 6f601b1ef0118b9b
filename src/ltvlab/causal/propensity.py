"""Propensity-score models: our own logistic regression (Newton-Raphson, so the M-estimation variance
correction is available) or any scikit-learn classifier with ``predict_proba``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ltvlab.errors import LtvlabError


@dataclass(frozen=True, slots=True)
class PropensityFit:
    """Fitted propensities ``e(x) = P(T=1 | x)``; ``coef``/``design`` only for the logistic model."""

    propensity: np.ndarray
    model: str
    converged: bool
    coef: np.ndarray | None = None
    design: np.ndarray | None = None


def fit_logistic(
    design: np.ndarray, treated: np.ndarray, *, max_iter: int = 50, tol: float = 1e-9
) -> PropensityFit:
    """Maximum-likelihood logistic regression of ``treated`` on ``design`` (which includes the intercept)."""
    t = treated.astype(float)
    beta = np.zeros(design.shape[1])
    mean_t = t.mean()
    beta[0] = np.log(mean_t / (1 - mean_t))
    converged = False
    for _ in range(max_iter):
        eta = np.clip(design @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        weights = p * (1 - p)
        hessian = design.T @ (design * weights[:, None])
        score = design.T @ (t - p)
        try:
            step = np.linalg.solve(hessian + 1e-12 * np.eye(len(beta)), score)
        except np.linalg.LinAlgError as exc:
            raise LtvlabError(
                "the propensity model could not be fitted: the covariates are collinear; drop redundant ones"
            ) from exc
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            converged = True
            break
    eta = np.clip(design @ beta, -35, 35)
    return PropensityFit(
        propensity=1.0 / (1.0 + np.exp(-eta)),
        model="logistic",
        converged=converged,
        coef=beta,
        design=design,
    )


def fit_propensity(
    design: np.ndarray, treated: np.ndarray, model: Any, *, seed: int | None = None
) -> PropensityFit:
    """Fit ``model`` ("logistic" or an unfitted scikit-learn classifier) and return the propensities.

    ``design`` carries an intercept in column 0 (dropped for scikit-learn models, which fit their own).
    """
    if isinstance(model, str):
        if model != "logistic":
            raise LtvlabError(
                f"propensity_model must be 'logistic' or a scikit-learn classifier; got '{model}'"
            )
        fit = fit_logistic(design, treated)
        if not fit.converged:
            warnings.warn(
                "logistic propensity model did not converge (near-perfect separation?); check overlap",
                stacklevel=3,
            )
        return fit
    if not hasattr(model, "fit") or not hasattr(model, "predict_proba"):
        raise LtvlabError("propensity_model must be 'logistic' or an object with fit() and predict_proba()")
    from sklearn.base import clone

    estimator = clone(model)
    if seed is not None and "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)
    features = design[:, 1:] if design.shape[1] > 1 else design
    estimator.fit(features, treated.astype(int))
    propensity = estimator.predict_proba(features)[:, 1]
    return PropensityFit(propensity=np.asarray(propensity, float), model=type(model).__name__, converged=True)
