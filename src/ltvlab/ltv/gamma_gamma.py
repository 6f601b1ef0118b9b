"""Gamma-Gamma model of mean transaction value (Fader, Hardie & Lee 2005b): spec and registry entry.

The likelihood (:func:`ltvlab.ltv.distributions.gamma_gamma_loglik`) is fitted regrouped: the terms that depend on
the data only through ``x`` and the sum of ``log m`` are computed once per distinct ``(cell, x)`` group, and only
``-(p x + q) log(gamma + x m)`` per distinct row, with its gradient in one compiled pass
(:mod:`ltvlab.ltv._fused`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytensor.tensor as pt

from ltvlab.features import columns as col
from ltvlab.ltv import distributions as dist
from ltvlab.ltv import formulas
from ltvlab.ltv._data import Compressed
from ltvlab.ltv._fused import NUMPY_FUNCS, data_variable, gg_row_terms, gg_rows_total, x_groups
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


def _groups(data: Compressed, codes: np.ndarray):
    """The ``(cell, x)`` groups of the rows and each group's weighted sum of ``log m``."""
    x, m = data.values[col.X], data.values[col.MONETARY]
    codes = np.asarray(codes, dtype=np.int64)
    groups = x_groups(x, codes, data.weight)
    log_m = np.bincount(groups.group, weights=data.weight * np.log(m), minlength=groups.cell.size)
    return codes, groups, log_m


def _by_x(lib, p, q, gamma, x, weight, log_m):
    """The terms of each ``(cell, x)`` group: ``weight`` customers whose ``log m`` add up to ``log_m``."""
    px = p * x
    per_customer = (
        lib.gammaln(px + q) - lib.gammaln(px) - lib.gammaln(q) + q * lib.log(gamma) + px * lib.log(x)
    )
    return weight * per_customer + (px - 1.0) * log_m


def _total_loglik_pt(data: Compressed, thetas: list, codes: np.ndarray) -> pt.TensorVariable:
    """Weighted Gamma-Gamma log-likelihood (module docstring): ``thetas`` are ``p, q, gamma`` per cell and
    ``codes`` the cell of each row."""
    codes, groups, log_m = _groups(data, codes)
    g_cell = data_variable(groups.cell, "group_cell")
    p, q, gamma = (theta[g_cell] for theta in thetas)
    g_x, g_weight = data_variable(groups.x, "group_x"), data_variable(groups.weight, "group_weight")
    by_x = _by_x(pt, p, q, gamma, g_x, g_weight, data_variable(log_m, "group_log_spend"))
    x = data.values[col.X]
    rows = gg_row_terms(*thetas, codes, x, x * data.values[col.MONETARY], data.weight)
    return pt.sum(by_x) + rows


def _total_loglik_draws(data: Compressed, thetas: list[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """The weighted total log-likelihood at each draw (``thetas``: ``(draws, cells)`` each), by the same regrouping
    and kernel as :func:`_total_loglik_pt`."""
    codes, groups, log_m = _groups(data, codes)
    p, q, gamma = (np.ascontiguousarray(theta, dtype=float) for theta in thetas)
    g = [theta[:, groups.cell] for theta in (p, q, gamma)]
    totals = _by_x(NUMPY_FUNCS, *g, groups.x, groups.weight, log_m).sum(axis=1)
    x = data.values[col.X]
    return totals + gg_rows_total([p, q, gamma], codes, x, x * data.values[col.MONETARY], data.weight)


MODEL = register(
    ModelDef(
        name=GammaGamma.kind_name,
        label="Gamma-Gamma",
        role="spend",
        param_names=("p", "q", "gamma"),
        data_columns=(col.X, col.MONETARY),
        loglik=dist.gamma_gamma_loglik,
        loglik_pt=dist.gamma_gamma_loglik_pt,
        total_loglik_pt=_total_loglik_pt,
        total_loglik_draws=_total_loglik_draws,
        offsets=(0.0, 1.0, 0.0),  # q = 1 + exp(eta): the mean spend p gamma / (q - 1) exists for every draw
        scale=(None, None, "money"),
        spec=GammaGamma,
        reference="Fader, Hardie & Lee (2005b); Fader & Hardie (2013)",
        simulate_calibration=_simulate_calibration,
        expected_spend=formulas.gg_expected_spend,
    )
)
