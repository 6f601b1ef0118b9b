"""Beta-discrete-Weibull (BdW) model of contractual retention (Fader, Hardie, Liu, Davin & Steenburgh 2018).

The sBG model (:mod:`ltvlab.ltv.sbg`) lets each customer cancel with a constant per-period probability
``theta``; BdW adds duration dependence. A customer with ``theta ~ Beta(alpha, beta)`` is still active after
``t`` periods with probability ``(1 - theta)^(t^c)`` (a discrete Weibull): ``c < 1``, the individual cancellation
probability falls with tenure; ``c > 1``, it rises; ``c = 1`` is the sBG. Integrating over ``theta``::

    S(t)     = B(alpha, beta + t^c) / B(alpha, beta)              (still active after t periods)
    P(T = t) = S(t - 1) - S(t)                                    (cancels at the end of period t)
    r(t)     = S(t) / S(t - 1)                                    (retention rate of period t)

Data, fitting and projections are the sBG's: retention rows ``x`` (1 = cancelled at the end of period ``T``, 0 = still active
after ``T`` periods) with customer counts (:func:`ltvlab.ltv.sbg.retention_rows`), every pooling mode, MAP or NUTS;
:func:`ltvlab.ltv.sbg.project_retention` and :func:`ltvlab.ltv.sbg.residual_value` project a BdW fit's survival,
retention rates and discounted residual value from the survival function declared here (no closed-form residual
lifetime: it is summed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytensor.tensor as pt
from numpy.typing import ArrayLike
from scipy.special import betaln

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._model import BTYDSpec
from ltvlab.ltv.distributions import betaln_pt
from ltvlab.ltv.registry import ModelDef, register

__all__ = ["BdW", "bdw_loglik", "bdw_retention_rate", "bdw_survival", "duration_dependence"]


@dataclass(frozen=True)
class BdW(BTYDSpec):
    """BdW: ``theta ~ Beta(alpha, beta)``, active after ``t`` periods with probability ``(1 - theta)^(t^c)``.

    ``fit(rows, weights="count")`` on retention rows; returns a fit with ``param_names == ("alpha", "beta", "c")``.
    """

    kind_name: ClassVar[str] = "bdw"


def _f(value: ArrayLike) -> np.ndarray:
    return np.asarray(value, dtype=float)


def _log_survival(t, alpha, beta, c):
    return betaln(alpha, beta + t**c) - betaln(alpha, beta)


def bdw_survival(t: ArrayLike, alpha, beta, c) -> np.ndarray:
    """S(t): share of a cohort still active after ``t`` periods."""
    return np.exp(_log_survival(_f(t), _f(alpha), _f(beta), _f(c)))


def bdw_retention_rate(t: ArrayLike, alpha, beta, c) -> np.ndarray:
    """r(t) = S(t) / S(t - 1), for ``t >= 1``: the share of those active after ``t - 1`` periods who renew."""
    t, alpha, beta, c = _f(t), _f(alpha), _f(beta), _f(c)
    return np.exp(_log_survival(t, alpha, beta, c) - _log_survival(t - 1.0, alpha, beta, c))


def bdw_loglik(x: ArrayLike, T: ArrayLike, alpha, beta, c) -> np.ndarray:
    """log P(cancel at the end of period T) when ``x == 1``, log S(T) when ``x == 0``."""
    x, T, alpha, beta, c = _f(x), _f(T), _f(alpha), _f(beta), _f(c)
    stay = _log_survival(T, alpha, beta, c)
    before = _log_survival(np.maximum(T, 1.0) - 1.0, alpha, beta, c)
    after = _log_survival(np.maximum(T, 1.0), alpha, beta, c)
    with np.errstate(divide="ignore"):
        churn = before + np.log(-np.expm1(after - before))
    return np.where(x > 0, churn, stay)


def _log_survival_pt(t, alpha, beta, c):
    return betaln_pt(alpha, beta + t**c) - betaln_pt(alpha, beta)


def bdw_loglik_pt(x, T, alpha, beta, c):
    """PyTensor version of :func:`bdw_loglik`."""
    stay = _log_survival_pt(T, alpha, beta, c)
    before = _log_survival_pt(pt.maximum(T, 1.0) - 1.0, alpha, beta, c)
    after = _log_survival_pt(pt.maximum(T, 1.0), alpha, beta, c)
    churn = before + pt.log1mexp(after - before)
    return pt.switch(pt.gt(x, 0), churn, stay)


def _simulate_calibration(rng: np.random.Generator, params: list[np.ndarray], T: np.ndarray) -> np.ndarray:
    """1 if the customer has cancelled within ``T`` periods: the lifetime is the first ``t`` with
    ``t^c >= log U / log(1 - theta)`` (``P(lifetime > t) = P(U < (1 - theta)^(t^c))``)."""
    alpha, beta, c = params
    theta = np.clip(rng.beta(alpha, beta), 1e-12, 1.0 - 1e-12)
    scaled = np.log(rng.random(np.shape(theta))) / np.log1p(-theta)
    lifetime = np.maximum(np.ceil(scaled ** (1.0 / c)), 1.0)
    return (lifetime <= T).astype(float)


MODEL = register(
    ModelDef(
        name=BdW.kind_name,
        label="BdW",
        role="contractual",
        param_names=("alpha", "beta", "c"),
        data_columns=(col.X, col.T),
        loglik=bdw_loglik,
        loglik_pt=bdw_loglik_pt,
        offsets=(0.0, 0.0, 0.0),
        scale=(None, None, None),
        spec=BdW,
        reference="Fader, Hardie, Liu, Davin & Steenburgh (2018), How to project customer retention revisited",
        simulate_calibration=_simulate_calibration,
        survival=bdw_survival,
        retention_rate=bdw_retention_rate,
    )
)


def duration_dependence(fit: Any, *, level: float = 0.90) -> pd.DataFrame:
    """Per cohort, the posterior of ``c`` with a central ``level`` interval and what it says: ``cohort, c_mean,
    c_lower, c_upper, reading``. ``c < 1`` throughout the interval: each customer's cancellation probability
    falls with tenure; ``c > 1``: it rises; an interval containing 1 cannot tell the BdW from the sBG."""
    if fit.model_name != BdW.kind_name:
        raise LtvlabError(f"duration dependence needs a {MODEL.label} fit; this is a {fit.model_name} fit")
    if not 0 < level < 1:
        raise LtvlabError(f"level={level!r} must lie strictly between 0 and 1")
    c = fit.draws()["c"]
    names = list(fit.segments) if fit.pooling != "complete" else ["all"]
    rows = []
    for j, name in enumerate(names):
        low, high = np.quantile(c[:, j], [(1 - level) / 2, (1 + level) / 2])
        if high < 1:
            reading = "cancellation probability falls with tenure (c < 1)"
        elif low > 1:
            reading = "cancellation probability rises with tenure (c > 1)"
        else:
            reading = "no duration dependence detectable (interval contains c = 1, the sBG)"
        rows.append((name, float(c[:, j].mean()), float(low), float(high), reading))
    return pd.DataFrame(rows, columns=["cohort", "c_mean", "c_lower", "c_upper", "reading"])
