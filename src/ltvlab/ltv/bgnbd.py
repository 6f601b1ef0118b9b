"""BG/NBD purchase-and-dropout model (Fader, Hardie & Lee 2005): spec, registry entry, predictions, simulator.

Purchase rate ``lambda ~ Gamma(r, rate alpha)``; right after each repeat purchase the customer drops out with
probability ``p ~ Beta(a, b)``. Likelihood in :mod:`ltvlab.ltv.distributions` (fitted through the fused
value-and-gradient kernel of :mod:`ltvlab.ltv._fused`), closed forms in :mod:`ltvlab.ltv.formulas`.

Conditional on ``(x, t_x, T)`` and alive at ``T``: ``lambda ~ Gamma(r + x, alpha + T)``, ``p ~ Beta(a, b + x)``,
independent; from ``T`` on the customer restarts (memorylessness of the Poisson process and of the per-purchase
coin): purchases arrive at rate ``lambda`` and the customer drops out right after the ``J``-th future purchase,
``J ~ Geometric(p)``. The holdout distribution, the simulator and the strategy expectations below all use this;
:mod:`ltvlab.ltv.mbgnbd` reuses them with its own posterior ``b``.

Example
-------
>>> spec = BGNBD(pooling="partial", segment="channel")          # doctest: +SKIP
>>> fit = spec.fit(summary, method="nuts", draws=1000, seed=2024)  # doctest: +SKIP
>>> fit.p_alive(summary)                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytensor.tensor as pt
from scipy import special

from ltvlab.data.synthetic_btyd import bgnbd_counts
from ltvlab.data.synthetic_processes import BGNBD_DATED
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import _score_kernels, formulas
from ltvlab.ltv import distributions as dist
from ltvlab.ltv._data import Compressed
from ltvlab.ltv._fused import (
    NUMPY_FUNCS,
    bgnbd_row_terms,
    bgnbd_rows_total,
    data_variable,
    row_data,
    x_groups,
)
from ltvlab.ltv._model import BTYDSpec
from ltvlab.ltv._sim import MIN_PROBABILITY, check_finite, nb_pmf, nb_sf, repeat_draws
from ltvlab.ltv.registry import ModelDef, register

__all__ = ["BGNBD", "bgnbd_holdout_pmf"]


@dataclass(frozen=True)
class BGNBD(BTYDSpec):
    """BG/NBD: purchase rate ``lambda ~ Gamma(r, alpha)``, dropout after each purchase with ``p ~ Beta(a, b)``.

    ``fit`` returns a :class:`ltvlab.ltv.fitted.PurchaseFit` with ``param_names == ("r", "alpha", "a", "b")``.
    """

    kind_name: ClassVar[str] = "bgnbd"


# --- holdout distribution and simulation of an alive customer (shared with MBG/NBD) ---------------------


def alive_holdout_pmf(k, t, x, T, r, alpha, a, b_post, p_alive) -> np.ndarray:
    """P(k purchases in ``(T, T+t]``) when alive at ``T`` has probability ``p_alive`` and, alive,
    ``lambda ~ Gamma(r + x, alpha + T)``, ``p ~ Beta(a, b_post)``.

    Given ``(lambda, p)``: ``P(k) = (1-p)^k Pois(k; lambda t) + [k > 0] p (1-p)^(k-1) P(Pois(lambda t) >= k)``;
    both terms integrate in closed form (Beta-function ratios and negative binomial probabilities).
    """
    shape, rate = r + x, alpha + T
    log_norm = special.betaln(a, b_post)
    stay = np.exp(special.betaln(a, b_post + k) - log_norm) * nb_pmf(k, shape, rate, t)
    km1 = np.maximum(k - 1, 0)
    drop_weight = np.exp(special.betaln(a + 1.0, b_post + km1) - log_norm)
    drop = np.where(k > 0, drop_weight * nb_sf(km1, shape, rate, t), 0.0)  # P(N >= k) = P(N > k - 1)
    return (1.0 - p_alive) * (k == 0) + p_alive * (stay + drop)


def bgnbd_holdout_pmf(k, t, x, t_x, T, r, alpha, a, b, p_alive) -> np.ndarray:
    """P(X(T, T+t] = k | x, t_x, T) under BG/NBD, given the parameters and P(alive at T)."""
    return alive_holdout_pmf(k, t, x, T, r, alpha, a, b + x, p_alive)


def alive_counts(rng: np.random.Generator, p_alive, r, alpha, a, b_post, x, T, horizon) -> np.ndarray:
    """Purchases per future period ``(n_periods, samples, customers)`` of customers alive with ``p_alive``
    whose posterior is ``lambda ~ Gamma(r + x, alpha + T)``, ``p ~ Beta(a, b_post)``.

    With ``N_k`` the purchases of an immortal customer by the end of period ``k`` (independent Poisson
    increments) and ``J ~ Geometric(p)`` the future purchase after which the customer drops out, the purchases
    in period ``k`` are ``min(N_k, J) - min(N_(k-1), J)``.
    """
    alive = rng.random(p_alive.shape) < p_alive
    lam = rng.gamma(r + x, 1.0 / (alpha + T))
    p = np.clip(rng.beta(a, b_post), MIN_PROBABILITY, 1.0)
    dropout_after = rng.geometric(p)
    counts = np.empty((horizon.n_periods, *p_alive.shape), dtype=np.int64)
    immortal = np.zeros(p_alive.shape, dtype=np.int64)
    made_before = np.zeros(p_alive.shape, dtype=np.int64)
    for k in range(horizon.n_periods):
        immortal += rng.poisson(lam * horizon.period_length)
        made = np.minimum(immortal, dropout_after)
        counts[k] = np.where(alive, made - made_before, 0)
        made_before = made
    return counts


@dataclass(frozen=True)
class BetaDropoutSimulators:
    """The registry's simulators of a BG/NBD-type model (per-purchase dropout ``p ~ Beta(a, b)``): its P(alive),
    the posterior ``b`` shift of an alive customer (``b + x + b_shift``: BG/NBD 0, MBG/NBD 1) and its exact
    calibration simulator (:mod:`ltvlab.data.synthetic_btyd`)."""

    p_alive: Callable[..., np.ndarray]
    b_shift: float
    counts: Callable[..., tuple]

    def simulate_counts(self, rng, draw_params, sims, x, t_x, T, horizon) -> np.ndarray:
        p_alive = repeat_draws(self.p_alive(x, t_x, T, *draw_params), sims)
        check_finite(p_alive, "P(alive)", x, t_x, T)
        r, alpha, a, b = (repeat_draws(v, sims) for v in draw_params)
        return alive_counts(rng, p_alive, r, alpha, a, b + x + self.b_shift, x, T, horizon)

    def simulate_calibration(
        self, rng: np.random.Generator, params: list[np.ndarray], T: np.ndarray
    ) -> np.ndarray:
        r, alpha, a, b = params
        lam = rng.gamma(r, 1.0 / alpha)
        x, _, _ = self.counts(lam, rng.beta(a, b), T, None, rng)
        return x


_SIMULATORS = BetaDropoutSimulators(formulas.bgnbd_p_alive, 0.0, bgnbd_counts)


def strategy_purchases(
    p_alive_fn: Callable[..., np.ndarray], b_shift: float
) -> Callable[..., Callable[[float], np.ndarray]]:
    """``E[purchases in (T, T+t]]`` under a purchase-rate multiplier, for BG/NBD-type dropout.

    Alive now: ``lambda ~ Gamma(r + x, alpha + T)``, so a rate multiplied by ``m`` is
    ``Gamma(r + x, (alpha + T) / m)``; ``p ~ Beta(a, b + x + b_shift)``. The expectation is ``P(alive)`` times
    the expected purchases of a just-acquired customer with those parameters (FHL 2005, eq. 9).
    """

    def make(x, t_x, T, params: Mapping[str, np.ndarray], rate_multiplier, dropout_multiplier):
        if not np.allclose(dropout_multiplier, 1.0):
            raise LtvlabError(
                "a dropout effect needs model='paretonbd': BG/NBD-type dropout is a per-purchase probability, "
                "not a rate a multiplier can act on"
            )
        r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        alive = p_alive_fn(x, t_x, T, r, alpha, a, b)
        shape, scale, b_post = r + x, (alpha + T) / rate_multiplier, b + x + b_shift

        def cumulative(t: float) -> np.ndarray:
            return alive * formulas.bgnbd_expected_purchases_new(t, shape, scale, a, b_post)

        return cumulative

    return make


# --- likelihood on weighted distinct rows (fused kernel) ---------------------------------------------------


def _total_loglik_pt(data: Compressed, thetas: list, codes: np.ndarray) -> pt.TensorVariable:
    """Weighted BG/NBD log-likelihood with the gamma-function terms evaluated once per distinct (cell, x).

    ``thetas`` are the vectors ``r, alpha, a, b`` per cell and ``codes`` the cell of each row. Same expression
    as :func:`ltvlab.ltv.distributions.bgnbd_loglik_pt`, regrouped: the terms that depend on the data only
    through ``x`` (all the ``gammaln``, ``r log alpha`` and ``log a - log(b + x - 1)``) are computed on the few
    hundred distinct ``(cell, x)`` pairs with summed weights; only ``log(alpha + t_x)``, ``log(alpha + T)`` and a
    log-sum-exp remain per row, evaluated with their gradient in one compiled pass (:mod:`ltvlab.ltv._fused`).
    This cuts the cost of each gradient several-fold.
    """
    x = data.values[col.X]
    codes = np.asarray(codes, dtype=np.int64)
    groups = x_groups(x, codes, data.weight)
    g_cell, g_x = data_variable(groups.cell, "group_cell"), data_variable(groups.x, "group_x")
    r, alpha, a, b = (theta[g_cell] for theta in thetas)
    by_x = _by_x(pt, r, alpha, a, b, g_x)
    g_log_ratio = pt.log(a) - pt.log(b + pt.maximum(g_x, 1.0) - 1.0)  # used by rows with x > 0 only
    rows = row_data(
        codes, groups.group, x, data.values[col.T_X], data.values[col.T], data.weight, int(codes.max()) + 1
    )
    g_weight = data_variable(groups.weight, "group_weight")
    return pt.sum(g_weight * by_x) + bgnbd_row_terms(thetas[0], thetas[1], g_log_ratio, rows)


def _by_x(lib, r, alpha, a, b, x):
    """The terms of each (cell, x) pair, in PyTensor (``lib=pt``) or NumPy/SciPy (``lib=NUMPY_FUNCS``)."""
    return (
        lib.gammaln(r + x)
        - lib.gammaln(r)
        + r * lib.log(alpha)
        + lib.gammaln(a + b)
        + lib.gammaln(b + x)
        - lib.gammaln(b)
        - lib.gammaln(a + b + x)
    )


def _total_loglik_draws(data: Compressed, thetas: list[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """The weighted total log-likelihood at each draw (``thetas``: ``(draws, cells)`` each), by the fused
    kernel of :func:`_total_loglik_pt` (the same value; no PyTensor graph to build)."""
    x = data.values[col.X]
    codes = np.asarray(codes, dtype=np.int64)
    groups = x_groups(x, codes, data.weight)
    r, alpha, a, b = (np.ascontiguousarray(theta, dtype=float) for theta in thetas)
    g = [theta[:, groups.cell] for theta in (r, alpha, a, b)]
    totals = _by_x(NUMPY_FUNCS, *g, groups.x) @ groups.weight
    log_ratio = np.log(g[2]) - np.log(g[3] + np.maximum(groups.x, 1.0) - 1.0)
    rows = row_data(codes, groups.group, x, data.values[col.T_X], data.values[col.T], data.weight, r.shape[1])
    for d in range(totals.size):
        totals[d] += bgnbd_rows_total(r[d], alpha[d], log_ratio[d], rows)
    return totals


# Covariates (Fader & Hardie 2007): alpha_i = alpha exp(-g . z), a_i = a exp(g_a . z), b_i = b exp(g_b . z).
BGNBD_COEFFICIENTS: dict[str, tuple[str, float, str]] = {
    "gamma_purchase": ("alpha", -1.0, "purchase"),
    "gamma_dropout_a": ("a", 1.0, "dropout"),
    "gamma_dropout_b": ("b", 1.0, "dropout"),
}

MODEL = register(
    ModelDef(
        name=BGNBD.kind_name,
        label="BG/NBD",
        role="purchase",
        param_names=("r", "alpha", "a", "b"),
        data_columns=(col.X, col.T_X, col.T),
        loglik=dist.bgnbd_loglik,
        loglik_pt=dist.bgnbd_loglik_pt,
        offsets=(0.0, 0.0, 0.0, 0.0),
        scale=(None, "time", None, None),
        spec=BGNBD,
        reference="Fader, Hardie & Lee (2005), Counting your customers the easy way",
        total_loglik_pt=_total_loglik_pt,
        total_loglik_draws=_total_loglik_draws,
        p_alive=formulas.bgnbd_p_alive,
        expected_purchases=formulas.bgnbd_expected_purchases,
        expected_purchases_new=formulas.bgnbd_expected_purchases_new,
        holdout_pmf=bgnbd_holdout_pmf,
        simulate_counts=_SIMULATORS.simulate_counts,
        simulate_calibration=_SIMULATORS.simulate_calibration,
        strategy_purchases=strategy_purchases(formulas.bgnbd_p_alive, 0.0),
        score_kernel=_score_kernels.BGNBD_KERNEL,
        coefficients=BGNBD_COEFFICIENTS,
        dated_process=BGNBD_DATED,
    )
)
