"""BG/NBD purchase-and-dropout model (Fader, Hardie & Lee 2005) as a spec with three pooling modes.

Example
-------
>>> spec = BGNBD(pooling="partial", segment="channel")          # doctest: +SKIP
>>> fit = spec.fit(summary, method="nuts", draws=1000, seed=2024)  # doctest: +SKIP
>>> fit.p_alive(summary)                                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ltvlab.ltv._model import BTYDSpec

__all__ = ["BGNBD"]


@dataclass(frozen=True)
class BGNBD(BTYDSpec):
    """BG/NBD: purchase rate ``lambda ~ Gamma(r, alpha)``, dropout after each purchase with ``p ~ Beta(a, b)``.

    ``fit`` returns a :class:`ltvlab.ltv.fitted.PurchaseFit` with ``param_names == ("r", "alpha", "a", "b")``.
    """

    kind_name: ClassVar[str] = "bgnbd"
