"""Uplift models for targeting (T- and X-learners on scikit-learn) judged by Qini curves on held-out data.

The Qini curve at targeting depth k (units sorted by predicted uplift, highest first) is
Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k), the incremental outcomes gained by treating the top k, divided
by the test-set size here so the curve reads "incremental outcomes per customer in the population".
AUUC is the area under it over depth 0..1; random targeting gives the straight line to Q(N), of area
Q(N) / 2; the Qini coefficient is AUUC minus that. Bootstrap CIs resample the test set (Poisson weights)
with the fitted model's scores held fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from ltvlab.errors import LtvlabError
from ltvlab.experiments.balance import covariate_matrix


@dataclass(frozen=True, slots=True)
class UpliftResult:
    """Held-out evaluation of an uplift model; ``curve`` has depth, qini, random columns."""

    learner: str
    treatment: str
    control: str
    outcome: str
    n_train: int
    n_test: int
    auuc: float
    random_auuc: float
    qini_coefficient: float
    qini_ci_low: float
    qini_ci_high: float
    auuc_ci_low: float
    auuc_ci_high: float
    alpha: float
    n_bootstrap: int
    seed: int
    curve: pd.DataFrame
    scores: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        fields_ = (
            "learner treatment control outcome n_train n_test auuc random_auuc qini_coefficient "
            "qini_ci_low qini_ci_high auuc_ci_low auuc_ci_high alpha n_bootstrap seed"
        ).split()
        return pd.DataFrame([{name: getattr(self, name) for name in fields_}])


def _model(seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=80, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=200, random_state=seed
    )


def _fit_predict(
    x_train: np.ndarray, t_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, learner: str, seed: int
) -> np.ndarray:
    treated, control = t_train == 1, t_train == 0
    mu1 = _model(seed).fit(x_train[treated], y_train[treated])
    mu0 = _model(seed).fit(x_train[control], y_train[control])
    if learner == "t":
        return mu1.predict(x_test) - mu0.predict(x_test)
    # X-learner (Künzel et al. 2019): impute individual effects, regress them, blend by propensity.
    d1 = y_train[treated] - mu0.predict(x_train[treated])
    d0 = mu1.predict(x_train[control]) - y_train[control]
    tau1 = _model(seed).fit(x_train[treated], d1)
    tau0 = _model(seed).fit(x_train[control], d0)
    propensity = treated.mean()  # randomised: constant assignment probability
    return propensity * tau0.predict(x_test) + (1 - propensity) * tau1.predict(x_test)


def qini_curve_weighted(
    scores: np.ndarray, treated: np.ndarray, outcome: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Qini values per customer at each depth 1..n (columns); ``weights`` of shape (B, n) gives B curves."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    t = np.asarray(treated, dtype=float)[order]
    y = np.asarray(outcome, dtype=float)[order]
    w = np.ones((1, len(t))) if weights is None else np.asarray(weights, dtype=float)[:, order]
    n_t = np.cumsum(w * t, axis=1)
    n_c = np.cumsum(w * (1 - t), axis=1)
    y_t = np.cumsum(w * t * y, axis=1)
    y_c = np.cumsum(w * (1 - t) * y, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = np.where(n_c > 0, y_t - y_c * n_t / n_c, y_t)
    return qini / w.sum(axis=1, keepdims=True)


def _areas(qini: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUUC (trapezoid over depth 0..1, curve starting at 0) and the random-targeting area."""
    n = qini.shape[1]
    padded = np.concatenate([np.zeros((qini.shape[0], 1)), qini], axis=1)
    auuc = (padded[:, 1:] + padded[:, :-1]).sum(axis=1) / (2 * n)
    return auuc, qini[:, -1] / 2


def fit_uplift(
    frame: pd.DataFrame,
    *,
    arm_col: str,
    treatment: str,
    control: str,
    outcome: str,
    features: Sequence[str],
    learner: Literal["t", "x"] = "t",
    test_share: float = 0.5,
    n_bootstrap: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> UpliftResult:
    """Fit a T- or X-learner on a training split and evaluate its Qini curve on the held-out split."""
    if learner not in ("t", "x"):
        raise LtvlabError(f"learner must be 't' or 'x', got {learner!r}")
    if not features:
        raise LtvlabError("an uplift model needs at least one pre-treatment feature")
    arms = frame[arm_col].astype(str)
    sub = frame[arms.isin([treatment, control])]
    if (arms == treatment).sum() < 50 or (arms == control).sum() < 50:
        raise LtvlabError("uplift modelling needs at least 50 units in both the treatment and control arm")
    x = covariate_matrix(sub, list(features)).to_numpy()
    t = (sub[arm_col].astype(str) == treatment).to_numpy().astype(int)
    y = sub[outcome].astype(float).to_numpy()
    idx_train, idx_test = train_test_split(
        np.arange(len(sub)), test_size=test_share, random_state=seed, stratify=t
    )
    # One OpenMP thread: on a shared machine the boosting's thread pool contends badly (5x slower measured).
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = _fit_predict(x[idx_train], t[idx_train], y[idx_train], x[idx_test], learner, seed)
    t_test, y_test = t[idx_test], y[idx_test]
    qini = qini_curve_weighted(scores, t_test, y_test)
    auuc, random_auuc = _areas(qini)
    rng = np.random.default_rng(seed)
    boot_auuc, boot_random = [], []
    for start in range(0, n_bootstrap, 50):
        size = min(50, n_bootstrap - start)
        weights = rng.poisson(1.0, size=(size, len(idx_test)))
        a, r = _areas(qini_curve_weighted(scores, t_test, y_test, weights))
        boot_auuc.append(a)
        boot_random.append(r)
    boot_a, boot_r = np.concatenate(boot_auuc), np.concatenate(boot_random)
    q_low, q_high = alpha / 2, 1 - alpha / 2
    depth_points = np.linspace(0, 1, 101)
    positions = np.clip((depth_points * len(idx_test)).astype(int) - 1, 0, len(idx_test) - 1)
    curve_values = np.where(depth_points == 0, 0.0, qini[0, positions])
    curve = pd.DataFrame({"depth": depth_points, "qini": curve_values, "random": depth_points * qini[0, -1]})
    scored = pd.DataFrame({"row": sub.index[idx_test], "score": scores, "treated": t_test, "outcome": y_test})
    return UpliftResult(
        learner=learner,
        treatment=treatment,
        control=control,
        outcome=outcome,
        n_train=len(idx_train),
        n_test=len(idx_test),
        auuc=float(auuc[0]),
        random_auuc=float(random_auuc[0]),
        qini_coefficient=float(auuc[0] - random_auuc[0]),
        qini_ci_low=float(np.quantile(boot_a - boot_r, q_low)),
        qini_ci_high=float(np.quantile(boot_a - boot_r, q_high)),
        auuc_ci_low=float(np.quantile(boot_a, q_low)),
        auuc_ci_high=float(np.quantile(boot_a, q_high)),
        alpha=alpha,
        n_bootstrap=n_bootstrap,
        seed=seed,
        curve=curve,
        scores=scored,
    )
