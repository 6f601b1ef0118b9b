"""Gamma-Gamma model of mean transaction value (Fader, Hardie & Lee 2005b) with three pooling modes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ltvlab.ltv._model import BTYDSpec

__all__ = ["GammaGamma"]


@dataclass(frozen=True)
class GammaGamma(BTYDSpec):
    """Gamma-Gamma: transaction values ``~ Gamma(p, nu)``, ``nu ~ Gamma(q, gamma)``, fitted on repeaters' mean.

    Only customers with ``x > 0`` enter the likelihood (``x``, ``monetary``); ``fit`` returns a
    :class:`ltvlab.ltv.fitted.SpendFit` with ``param_names == ("p", "q", "gamma")``.
    """

    kind_name: ClassVar[str] = "gamma_gamma"
