"""Pareto/NBD purchase-and-dropout model (Schmittlein, Morrison & Colombo 1987) with three pooling modes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ltvlab.ltv._model import BTYDSpec

__all__ = ["ParetoNBD"]


@dataclass(frozen=True)
class ParetoNBD(BTYDSpec):
    """Pareto/NBD: ``lambda ~ Gamma(r, alpha)``, exponential lifetime with rate ``mu ~ Gamma(s, beta)``.

    ``fit`` returns a :class:`ltvlab.ltv.fitted.PurchaseFit` with ``param_names == ("r", "alpha", "s", "beta")``.
    """

    kind_name: ClassVar[str] = "paretonbd"
