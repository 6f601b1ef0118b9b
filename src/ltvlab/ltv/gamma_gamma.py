"""Gamma-Gamma model of mean transaction value (Fader, Hardie & Lee 2005b): spec and registry entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ltvlab.features import columns as col
from ltvlab.ltv import distributions as dist
from ltvlab.ltv import formulas
from ltvlab.ltv._model import BTYDSpec
from ltvlab.ltv.registry import ModelDef, register

__all__ = ["GammaGamma"]


@dataclass(frozen=True)
class GammaGamma(BTYDSpec):
    """Gamma-Gamma: transaction values ``~ Gamma(p, nu)``, ``nu ~ Gamma(q, gamma)``, fitted on repeaters' mean.

    Only customers with ``x > 0`` enter the likelihood (``x``, ``monetary``); ``fit`` returns a
    :class:`ltvlab.ltv.fitted.SpendFit` with ``param_names == ("p", "q", "gamma")``.
    """

    kind_name: ClassVar[str] = "gamma_gamma"


def _simulate_calibration(rng: np.random.Generator, params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Mean spend over ``x`` repeat transactions: ``nu ~ Gamma(q, gamma)``, mean ``~ Gamma(p x, nu x)``."""
    p, q, gamma = params
    nu = rng.gamma(q, 1.0 / gamma)
    return rng.gamma(p * x, 1.0 / (nu * x))


MODEL = register(
    ModelDef(
        name=GammaGamma.kind_name,
        label="Gamma-Gamma",
        role="spend",
        param_names=("p", "q", "gamma"),
        data_columns=(col.X, col.MONETARY),
        loglik=dist.gamma_gamma_loglik,
        loglik_pt=dist.gamma_gamma_loglik_pt,
        offsets=(0.0, 1.0, 0.0),  # q = 1 + exp(eta): the mean spend p gamma / (q - 1) exists for every draw
        scale=(None, None, "money"),
        spec=GammaGamma,
        reference="Fader, Hardie & Lee (2005b); Fader & Hardie (2013)",
        simulate_calibration=_simulate_calibration,
        expected_spend=formulas.gg_expected_spend,
    )
)
