"""MBG/NBD purchase-and-dropout model (Batislam, Denizel & Filiztekin 2007): spec, registry entry, predictions.

As BG/NBD (:mod:`ltvlab.ltv.bgnbd`), but the dropout coin ``p ~ Beta(a, b)`` is tossed right after *every*
purchase including the first, so a customer can leave straight after joining and customers without a repeat
purchase are not certainly alive. Conditional on ``(x, t_x, T)`` and alive at ``T`` the customer has survived
``x + 1`` tosses: ``lambda ~ Gamma(r + x, alpha + T)``, ``p ~ Beta(a, b + x + 1)``; from ``T`` on the process is
BG/NBD's, so the holdout distribution, simulator and strategy expectations are BG/NBD's with that ``b``.
Likelihood and closed forms in :mod:`ltvlab.ltv.distributions` and :mod:`ltvlab.ltv.formulas`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ltvlab.data.synthetic_btyd import mbgnbd_counts
from ltvlab.features import columns as col
from ltvlab.ltv import _score_kernels, formulas
from ltvlab.ltv import distributions as dist
from ltvlab.ltv._model import BTYDSpec
from ltvlab.ltv.bgnbd import BGNBD_COEFFICIENTS, BetaDropoutSimulators, alive_holdout_pmf, strategy_purchases
from ltvlab.ltv.registry import ModelDef, register

__all__ = ["MBGNBD", "mbgnbd_holdout_pmf"]


@dataclass(frozen=True)
class MBGNBD(BTYDSpec):
    """MBG/NBD: ``lambda ~ Gamma(r, alpha)``; dropout with ``p ~ Beta(a, b)`` right after every purchase,
    the first included.

    ``fit`` returns a :class:`ltvlab.ltv.fitted.PurchaseFit` with ``param_names == ("r", "alpha", "a", "b")``.
    """

    kind_name: ClassVar[str] = "mbgnbd"


def mbgnbd_holdout_pmf(k, t, x, t_x, T, r, alpha, a, b, p_alive) -> np.ndarray:
    """P(X(T, T+t] = k | x, t_x, T) under MBG/NBD, given the parameters and P(alive at T)."""
    return alive_holdout_pmf(k, t, x, T, r, alpha, a, b + x + 1.0, p_alive)


_SIMULATORS = BetaDropoutSimulators(formulas.mbgnbd_p_alive, 1.0, mbgnbd_counts)


MODEL = register(
    ModelDef(
        name=MBGNBD.kind_name,
        label="MBG/NBD",
        role="purchase",
        param_names=("r", "alpha", "a", "b"),
        data_columns=(col.X, col.T_X, col.T),
        loglik=dist.mbgnbd_loglik,
        loglik_pt=dist.mbgnbd_loglik_pt,
        offsets=(0.0, 0.0, 0.0, 0.0),
        scale=(None, "time", None, None),
        spec=MBGNBD,
        reference="Batislam, Denizel & Filiztekin (2007), Empirical validation and comparison of models",
        p_alive=formulas.mbgnbd_p_alive,
        expected_purchases=formulas.mbgnbd_expected_purchases,
        expected_purchases_new=formulas.mbgnbd_expected_purchases_new,
        holdout_pmf=mbgnbd_holdout_pmf,
        simulate_counts=_SIMULATORS.simulate_counts,
        simulate_calibration=_SIMULATORS.simulate_calibration,
        strategy_purchases=strategy_purchases(formulas.mbgnbd_p_alive, 1.0),
        score_kernel=_score_kernels.MBGNBD_KERNEL,
        coefficients=BGNBD_COEFFICIENTS,
    )
)
