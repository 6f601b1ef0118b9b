"""Model kinds and their documented priors.

Every parameter ``theta`` is positive and modelled through an unconstrained ``eta``: ``theta = exp(eta)``,
except the Gamma-Gamma ``q``, modelled as ``q = 1 + exp(eta)`` so that the mean spend ``p gamma / (q - 1)``
exists for every draw. Priors are put on ``eta``.

``priors="default"`` (weakly informative, scale-aware)::

    eta ~ Normal(mu0, sd0)
    r, a, b, s, p    : mu0 = 0,                        sd0 = 1.5   (theta within ~[0.05, 20] at 95%)
    q (q - 1)        : mu0 = log 2,                    sd0 = 1.5
    alpha, beta      : mu0 = log(mean T of the data),  sd0 = 2.0   (rates are in the summary's time unit)
    gamma            : mu0 = log(mean repeat spend),   sd0 = 2.0   (in the currency of ``monetary``)

Partial pooling::

    eta_s ~ Normal(mu, sigma),   mu ~ Normal(mu0, sd0),   sigma ~ HalfNormal(pooling_sd = 0.5)

sampled non-centred (``eta_s = mu + sigma * z_s``, ``z_s ~ Normal(0, 1)``, with the segments' mean sampled apart
from their zero-sum deviations: :func:`ltvlab.ltv._build.noncentred`), centred, or partially non-centred per
segment as the data call for (:mod:`ltvlab.ltv._parametrize`): the same prior in every form.

Covariate coefficients (:mod:`ltvlab.ltv.covariates`): ``gamma ~ Normal(0, coefficient_sd = 1)`` per standard
deviation of the covariate.

``priors="flat"`` puts an improper flat prior on ``eta`` (``mu`` under partial pooling, whose ``sigma`` and
``z`` keep their priors), so MAP is the maximum-likelihood estimate. A mapping overrides any of the defaults:
``{"r": (mu0, sd0), ..., "pooling_sd": 0.3, "coefficient_sd": 0.5}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.registry import ModelDef

__all__ = ["DEFAULT_COEFFICIENT_SD", "DEFAULT_POOLING_SD", "Priors", "resolve_priors"]

Pooling = Literal["none", "complete", "partial"]
PriorChoice = Literal["default", "flat"] | Mapping[str, object]
DEFAULT_POOLING_SD = 0.5
DEFAULT_COEFFICIENT_SD = 1.0  # covariate coefficients, per standard deviation of the covariate


@dataclass(frozen=True)
class Priors:
    """Resolved priors: ``normal[param] = (mu0, sd0)`` on eta, or ``flat``; ``pooling_sd`` for partial pooling."""

    flat: bool
    normal: dict[str, tuple[float, float]]
    pooling_sd: float
    coefficient_sd: float = DEFAULT_COEFFICIENT_SD

    def describe(self) -> dict[str, object]:
        return {
            "flat": self.flat,
            "normal": {k: list(v) for k, v in self.normal.items()},
            "pooling_sd": self.pooling_sd,
            "coefficient_sd": self.coefficient_sd,
        }


def _default_centres(
    kind: ModelDef, values: Mapping[str, np.ndarray], weights: np.ndarray | None = None
) -> dict[str, tuple[float, float]]:
    def mean(v: np.ndarray, w: np.ndarray | None) -> float:
        return float(np.mean(v)) if w is None else float(np.average(v, weights=w))

    out = {}
    for name, offset, scale in zip(kind.param_names, kind.offsets, kind.scale, strict=True):
        if scale == "time":
            out[name] = (float(np.log(max(mean(values[col.T], weights), 1e-6))), 2.0)
        elif scale == "money":
            repeat = values[col.X] > 0
            m = values[col.MONETARY][repeat]
            centre = mean(m, None if weights is None else weights[repeat]) if m.size else 1.0
            out[name] = (float(np.log(max(centre, 1e-6))), 2.0)
        else:
            out[name] = (float(np.log(2.0)) if offset else 0.0, 1.5)
    return out


def resolve_priors(
    kind: ModelDef,
    choice: PriorChoice,
    values: Mapping[str, np.ndarray],
    weights: np.ndarray | None = None,
) -> Priors:
    """Turn ``"default"``, ``"flat"`` or a mapping into :class:`Priors` for this model and data.

    ``weights`` (customers per row of ``values``) make the data-scaled default centres customer averages.
    """
    defaults = _default_centres(kind, values, weights)
    if isinstance(choice, str):
        if choice == "default":
            return Priors(False, defaults, DEFAULT_POOLING_SD)
        if choice == "flat":
            return Priors(True, defaults, DEFAULT_POOLING_SD)
        raise LtvlabError(f"priors={choice!r}: use 'default', 'flat' or a mapping like {{'r': (0.0, 1.0)}}")
    if not isinstance(choice, Mapping):
        raise LtvlabError(f"priors must be 'default', 'flat' or a mapping, not {type(choice).__name__}")
    allowed = {*kind.param_names, "pooling_sd", "coefficient_sd"}
    unknown = set(choice) - allowed
    if unknown:
        raise LtvlabError(
            f"unknown prior key(s) {sorted(unknown)} for {kind.name}; allowed: {sorted(allowed)}"
        )
    normal = dict(defaults)
    for name in kind.param_names:
        if name in choice:
            try:
                mu0, sd0 = (float(v) for v in choice[name])  # type: ignore[union-attr]
            except (TypeError, ValueError) as exc:
                raise LtvlabError(f"prior for {name!r} must be a pair (mu, sd) on log {name}") from exc
            if not (np.isfinite(mu0) and sd0 > 0):
                raise LtvlabError(f"prior for {name!r}: need finite mu and sd > 0, got ({mu0}, {sd0})")
            normal[name] = (mu0, sd0)
    pooling_sd = float(choice.get("pooling_sd", DEFAULT_POOLING_SD))  # type: ignore[arg-type]
    coefficient_sd = float(choice.get("coefficient_sd", DEFAULT_COEFFICIENT_SD))  # type: ignore[arg-type]
    for key, value in (("pooling_sd", pooling_sd), ("coefficient_sd", coefficient_sd)):
        if not value > 0:
            raise LtvlabError(f"{key} must be > 0, got {value}")
    return Priors(False, normal, pooling_sd, coefficient_sd)
