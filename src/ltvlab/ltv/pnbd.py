"""Pareto/NBD purchase-and-dropout model (Schmittlein, Morrison & Colombo 1987): spec, registry entry,
predictions and simulator.

Purchase rate ``lambda ~ Gamma(r, rate alpha)``, exponential lifetime with rate ``mu ~ Gamma(s, rate beta)``.
Alive at ``T``: ``lambda ~ Gamma(r + x, rate alpha + T)`` and ``mu ~ Gamma(s, rate beta + T)`` (the alive
likelihood is ``lambda^x e^(-lambda T) e^(-mu T)``), and the remaining lifetime is ``Exp(mu)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytensor.tensor as pt

from ltvlab.data.synthetic_btyd import pareto_nbd_counts
from ltvlab.data.synthetic_processes import PARETO_NBD_DATED
from ltvlab.features import columns as col
from ltvlab.ltv import _score_kernels, formulas
from ltvlab.ltv import distributions as dist
from ltvlab.ltv._data import Compressed
from ltvlab.ltv._fused import NUMPY_FUNCS, data_variable, pnbd_row_terms, pnbd_rows_total, x_groups
from ltvlab.ltv._model import BTYDSpec
from ltvlab.ltv._sim import check_finite, nb_log_coefficient, nb_pmf, repeat_draws
from ltvlab.ltv.registry import ModelDef, register

__all__ = ["ParetoNBD", "pnbd_holdout_pmf"]

_QUADRATURE_NODES = 48


@dataclass(frozen=True)
class ParetoNBD(BTYDSpec):
    """Pareto/NBD: ``lambda ~ Gamma(r, alpha)``, exponential lifetime with rate ``mu ~ Gamma(s, beta)``.

    ``fit`` returns a :class:`ltvlab.ltv.fitted.PurchaseFit` with ``param_names == ("r", "alpha", "s", "beta")``.
    """

    kind_name: ClassVar[str] = "paretonbd"


def pnbd_holdout_pmf(k, t, x, t_x, T, r, alpha, s, beta, p_alive) -> np.ndarray:
    """P(X(T, T+t] = k | x, t_x, T) under Pareto/NBD, given the parameters and P(alive at T).

    P(k) = E[e^(-mu t)] NB(k; t) + int_0^t E[mu e^(-mu u)] NB(k; u) du, with the integral by Gauss-Legendre
    quadrature on [0, t].
    """
    shape, rate, b_post = r + x, alpha + T, beta + T
    t = np.asarray(t, dtype=float)
    coefficient = nb_log_coefficient(k, shape)  # the same at every quadrature node
    alive_through = (b_post / (b_post + t)) ** s * nb_pmf(k, shape, rate, t, coefficient)
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    integral = 0.0
    for node, weight in zip(nodes, weights, strict=True):
        u = 0.5 * t * (node + 1.0)
        density = s / b_post * (b_post / (b_post + u)) ** (s + 1.0)  # E[mu e^(-mu u)]
        integral = integral + 0.5 * t * weight * density * nb_pmf(k, shape, rate, u, coefficient)
    return (1.0 - p_alive) * (k == 0) + p_alive * (alive_through + integral)


def _simulate_counts(rng, draw_params, sims, x, t_x, T, horizon) -> np.ndarray:
    """Purchases per period ``(n_periods, samples, customers)``: Poisson(lambda x the part of the period lived)."""
    p_alive = repeat_draws(formulas.pnbd_p_alive(x, t_x, T, *draw_params), sims)
    check_finite(p_alive, "P(alive)", x, t_x, T)
    r, alpha, s, beta = (repeat_draws(v, sims) for v in draw_params)
    alive = rng.random(p_alive.shape) < p_alive
    lam = rng.gamma(r + x, 1.0 / (alpha + T))
    mu = np.maximum(rng.gamma(s, 1.0 / (beta + T)), 1e-300)  # an underflow to 0 would divide by zero
    remaining = np.where(alive, rng.standard_exponential(p_alive.shape) / mu, 0.0)
    counts = np.empty((horizon.n_periods, *p_alive.shape), dtype=np.int64)
    length = horizon.period_length
    for k in range(horizon.n_periods):
        lived = np.clip(remaining - k * length, 0.0, length)
        counts[k] = rng.poisson(lam * lived)
    return counts


def _simulate_calibration(rng: np.random.Generator, params: list[np.ndarray], T: np.ndarray) -> np.ndarray:
    r, alpha, s, beta = params
    lam = rng.gamma(r, 1.0 / alpha)
    x, _, _ = pareto_nbd_counts(lam, rng.gamma(s, 1.0 / beta), T, None, rng)
    return x


def _strategy_purchases(x, t_x, T, params: Mapping[str, np.ndarray], rate_multiplier, dropout_multiplier):
    """Alive now, ``lambda ~ Gamma(r + x, alpha + T)`` and ``mu ~ Gamma(s, beta + T)``; multiplied rates are
    ``Gamma(shape, rate / m)``, so the expectation is P(alive) times a new customer's (eq. 17) at those rates."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    alive = formulas.pnbd_p_alive(x, t_x, T, r, alpha, s, beta)
    shape, scale = r + x, (alpha + T) / rate_multiplier
    drop_scale = (beta + T) / dropout_multiplier

    def cumulative(t: float) -> np.ndarray:
        return alive * formulas.pnbd_expected_purchases_new(t, shape, scale, s, drop_scale)

    return cumulative


def _total_loglik_pt(data: Compressed, thetas: list, codes: np.ndarray) -> pt.TensorVariable:
    """Weighted Pareto/NBD log-likelihood, regrouped: ``gammaln(r + x) - gammaln(r) + r log alpha + s log beta``
    once per distinct ``(cell, x)`` with summed weights; the per-row log-sum-exp of the alive and dropped-out terms
    as one compiled value-and-gradient pass (:class:`ltvlab.ltv._fused.PNBDRowTerms`: the dropout integral by its
    series, exact to rounding, or by the quadrature of :func:`ltvlab.ltv.distributions.pnbd_loglik_pt` where the
    series converges slowly)."""
    x = data.values[col.X]
    codes = np.asarray(codes, dtype=np.int64)
    groups = x_groups(x, codes, data.weight)
    g_cell, g_x = data_variable(groups.cell, "group_cell"), data_variable(groups.x, "group_x")
    by_x = _by_x(pt, *(theta[g_cell] for theta in thetas), g_x)
    per_row = pnbd_row_terms(*thetas, codes, *_row_columns(data))
    return pt.sum(data_variable(groups.weight, "group_weight") * by_x) + per_row


def _row_columns(data: Compressed) -> tuple:
    return (data.values[col.X], data.values[col.T_X], data.values[col.T], data.weight,
            dist.QUAD_POSITIONS, dist.QUAD_WEIGHTS)  # fmt: skip


def _by_x(lib, r, alpha, s, beta, x):
    """The terms of each (cell, x) pair, in PyTensor (``lib=pt``) or NumPy/SciPy (``lib=NUMPY_FUNCS``)."""
    return lib.gammaln(r + x) - lib.gammaln(r) + r * lib.log(alpha) + s * lib.log(beta)


def _total_loglik_draws(data: Compressed, thetas: list[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """The weighted total log-likelihood at each draw (``thetas``: ``(draws, cells)`` each), by the fused
    kernel of :func:`_total_loglik_pt` (the same value; no PyTensor graph to build)."""
    codes = np.asarray(codes, dtype=np.int64)
    groups = x_groups(data.values[col.X], codes, data.weight)
    by_x = _by_x(NUMPY_FUNCS, *(np.asarray(theta, dtype=float)[:, groups.cell] for theta in thetas), groups.x)
    return by_x @ groups.weight + pnbd_rows_total(thetas, codes, *_row_columns(data))


MODEL = register(
    ModelDef(
        name=ParetoNBD.kind_name,
        label="Pareto/NBD",
        role="purchase",
        param_names=("r", "alpha", "s", "beta"),
        data_columns=(col.X, col.T_X, col.T),
        loglik=dist.pnbd_loglik,
        loglik_pt=dist.pnbd_loglik_pt,
        total_loglik_pt=_total_loglik_pt,
        total_loglik_draws=_total_loglik_draws,
        offsets=(0.0, 0.0, 0.0, 0.0),
        scale=(None, "time", None, "time"),
        spec=ParetoNBD,
        reference="Schmittlein, Morrison & Colombo (1987); Fader & Hardie (2005) note",
        p_alive=formulas.pnbd_p_alive,
        expected_purchases=formulas.pnbd_expected_purchases,
        expected_purchases_new=formulas.pnbd_expected_purchases_new,
        holdout_pmf=pnbd_holdout_pmf,
        simulate_counts=_simulate_counts,
        simulate_calibration=_simulate_calibration,
        strategy_purchases=_strategy_purchases,
        score_kernel=_score_kernels.PNBD_KERNEL,
        # Covariates (Fader & Hardie 2007): alpha_i = alpha exp(-g . z), beta_i = beta exp(-g_d . z).
        coefficients={
            "gamma_purchase": ("alpha", -1.0, "purchase"),
            "gamma_dropout": ("beta", -1.0, "dropout"),
        },
        dated_process=PARETO_NBD_DATED,
    )
)
