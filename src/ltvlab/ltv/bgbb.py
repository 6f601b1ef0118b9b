"""BG/BB model of discrete transaction opportunities (Fader, Hardie & Shang 2010): spec, likelihood, predictions.

For businesses whose transactions happen at discrete occasions (an annual donation drive, a yearly event, a
season): at each opportunity ``t = 1, 2, ...`` after the first transaction a customer alive at ``t`` transacts
with probability ``p ~ Beta(alpha, beta)``; at the start of each opportunity an alive customer dies with
probability ``theta ~ Beta(gamma, delta)``. A customer is summarised by ``x`` (repeat transactions in the ``n``
calibration opportunities), ``t_x`` (the opportunity of the last one, 0 when ``x == 0``) and ``n``, stored in the
summary columns ``x``, ``t_x`` and ``T`` (``T = n``) with ``attrs["unit"] = "period"``; build it with
:func:`ltvlab.ltv.periods.discrete_summary` from dated transactions, or use a ready ``(x, t_x, n)`` table with
customer counts (``fit(summary, weights="count")``, as the bundled ``donations`` data).

Likelihood (FHS 2010, eq. 5)::

    L = B(alpha+x, beta+n-x)/B(alpha, beta) * B(gamma, delta+n)/B(gamma, delta)
        + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta) * B(gamma+1, delta+t_x+i)/B(gamma, delta)

Predictions: P(alive at opportunity n+1) (eq. 11), expected transactions in the next ``n*`` opportunities
(eq. 13), of a just-acquired customer (eq. 7), discounted expected residual transactions (DERT, eq. 14), and the
distribution of the holdout count (by summing over the remaining lifetime, below).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytensor.tensor as pt
from numpy.typing import ArrayLike
from scipy.special import betaln, gammaln, hyp2f1, logsumexp

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._data import Compressed
from ltvlab.ltv._model import BTYDSpec
from ltvlab.ltv.distributions import betaln_pt
from ltvlab.ltv.registry import ModelDef, register

__all__ = [
    "BGBB",
    "bgbb_discounted_residual_transactions",
    "bgbb_expected_transactions",
    "bgbb_expected_transactions_new",
    "bgbb_holdout_pmf",
    "bgbb_loglik",
    "bgbb_p_alive",
    "expected_residual_transactions",
]

PERIOD = "period"  # the time unit of discrete summaries: one transaction opportunity


@dataclass(frozen=True)
class BGBB(BTYDSpec):
    """BG/BB: transaction probability ``p ~ Beta(alpha, beta)``, dropout probability ``theta ~ Beta(gamma, delta)``.

    ``fit`` takes a discrete-time summary (``x``, ``t_x``, ``T`` = opportunities ``n``, whole numbers) and returns
    a :class:`ltvlab.ltv.fitted.PurchaseFit` with ``param_names == ("alpha", "beta", "gamma", "delta")``.
    """

    kind_name: ClassVar[str] = "bgbb"


def _f(value: ArrayLike) -> np.ndarray:
    return np.asarray(value, dtype=float)


def _log_terms(x, t_x, n, alpha, beta, gamma, delta) -> tuple[np.ndarray, np.ndarray]:
    """log of the alive-through-n term and of P(alive at n+1) times L, broadcast over the inputs."""
    base = betaln(alpha + x, beta + n - x) - betaln(alpha, beta) - betaln(gamma, delta)
    return base + betaln(gamma, delta + n), base + betaln(gamma, delta + n + 1.0)


def bgbb_loglik(x: ArrayLike, t_x: ArrayLike, n: ArrayLike, alpha, beta, gamma, delta) -> np.ndarray:
    """Per-customer BG/BB log-likelihood (FHS 2010, eq. 5)."""
    x, t_x, n = _f(x), _f(t_x), _f(n)
    alpha, beta, gamma, delta = _f(alpha), _f(beta), _f(gamma), _f(delta)
    shape = np.broadcast_shapes(
        x.shape, t_x.shape, n.shape, alpha.shape, beta.shape, gamma.shape, delta.shape
    )
    x, t_x, n, alpha, beta, gamma, delta = (
        np.broadcast_to(v, shape)[..., None] for v in (x, t_x, n, alpha, beta, gamma, delta)
    )
    gaps = int(np.max(n - t_x)) if n.size else 0
    i = np.arange(max(gaps, 1), dtype=float)
    log_alive, _ = _log_terms(x, t_x, n, alpha, beta, gamma, delta)
    log_dead = (
        betaln(alpha + x, beta + t_x - x + i)
        - betaln(alpha, beta)
        + betaln(gamma + 1.0, delta + t_x + i)
        - betaln(gamma, delta)
    )
    log_dead = np.where(i < n - t_x, log_dead, -np.inf)
    return logsumexp(np.concatenate([log_alive, log_dead], axis=-1), axis=-1)


def bgbb_loglik_pt(x, t_x, n, alpha, beta, gamma, delta):
    """PyTensor version of :func:`bgbb_loglik`; the data ``x, t_x, n`` must be NumPy arrays (the sum over the
    unobserved dropout opportunity has ``max(n - t_x)`` terms, fixed when the graph is built)."""
    x, t_x, n = (np.asarray(v, dtype=float) for v in (x, t_x, n))
    gaps = max(int(np.max(n - t_x)) if n.size else 0, 1)
    i = np.arange(gaps, dtype=float)[None, :]
    valid = i < (n - t_x)[:, None]
    head = -betaln_pt(alpha, beta) - betaln_pt(gamma, delta)
    log_alive = head + betaln_pt(alpha + x, beta + n - x) + betaln_pt(gamma, delta + n)
    col_ = [pt.shape_padright(pt.as_tensor_variable(v)) for v in (alpha, beta, gamma, delta, head)]
    a_c, b_c, g_c, d_c, h_c = col_
    log_dead = (
        h_c
        + betaln_pt(a_c + x[:, None], b_c + (t_x - x)[:, None] + i)
        + betaln_pt(g_c + 1.0, d_c + t_x[:, None] + i)
    )
    log_dead = pt.switch(valid, log_dead, -np.inf)
    stacked = pt.concatenate([pt.shape_padright(log_alive), log_dead], axis=1)
    return pt.logsumexp(stacked, axis=1)


def _total_loglik_pt(data: Compressed, thetas: list, codes: np.ndarray) -> pt.TensorVariable:
    columns = [data.values[c] for c in (col.X, col.T_X, col.T)]
    per_row = [theta[codes] for theta in thetas]
    return pt.sum(pt.as_tensor_variable(data.weight) * bgbb_loglik_pt(*columns, *per_row))


# --- predictions --------------------------------------------------------------------------------------


def bgbb_p_alive(x: ArrayLike, t_x: ArrayLike, n: ArrayLike, alpha, beta, gamma, delta) -> np.ndarray:
    """P(alive at opportunity n + 1 | x, t_x, n) (FHS 2010, eq. 11)."""
    x, t_x, n = _f(x), _f(t_x), _f(n)
    _, log_next = _log_terms(x, t_x, n, _f(alpha), _f(beta), _f(gamma), _f(delta))
    return np.exp(log_next - bgbb_loglik(x, t_x, n, alpha, beta, gamma, delta))


def _ratio_gammas(delta, gamma, m):
    """``Gamma(1 + delta + m) / Gamma(gamma + delta + m)`` in log space."""
    return np.exp(gammaln(1.0 + delta + m) - gammaln(gamma + delta + m))


def bgbb_expected_transactions_new(t: ArrayLike, alpha, beta, gamma, delta) -> np.ndarray:
    """E[X(t)]: expected transactions in the first ``t`` opportunities of a just-acquired customer (eq. 7)."""
    t = _f(t)
    alpha, beta, gamma, delta = _f(alpha), _f(beta), _f(gamma), _f(delta)
    lead = alpha / (alpha + beta) * delta / (gamma - 1.0)
    scale = np.exp(gammaln(gamma + delta) - gammaln(1.0 + delta))
    return lead * (1.0 - scale * _ratio_gammas(delta, gamma, t))


def bgbb_expected_transactions(
    t: ArrayLike, x: ArrayLike, t_x: ArrayLike, n: ArrayLike, alpha, beta, gamma, delta
) -> np.ndarray:
    """E[X(n, n + t) | x, t_x, n]: expected transactions in the next ``t`` opportunities (eq. 13)."""
    t, x, t_x, n = _f(t), _f(x), _f(t_x), _f(n)
    alpha, beta, gamma, delta = _f(alpha), _f(beta), _f(gamma), _f(delta)
    log_l = bgbb_loglik(x, t_x, n, alpha, beta, gamma, delta)
    log_lead = (
        betaln(alpha + x + 1.0, beta + n - x)
        - betaln(alpha, beta)
        + gammaln(gamma + delta)
        - gammaln(1.0 + delta)
        - log_l
    )
    bracket = _ratio_gammas(delta, gamma, n) - _ratio_gammas(delta, gamma, n + t)
    return np.exp(log_lead) * delta / (gamma - 1.0) * bracket


def bgbb_discounted_residual_transactions(
    x: ArrayLike, t_x: ArrayLike, n: ArrayLike, alpha, beta, gamma, delta, *, discount_rate: float
) -> np.ndarray:
    """DERT: expected transactions from opportunity n + 1 on, each discounted by ``(1 + d)^-(k)`` (eq. 14).

    ``discount_rate`` is per opportunity (0.10 = 10% a period); multiply by the value of a transaction for the
    discounted expected residual value.
    """
    if not (np.isfinite(discount_rate) and discount_rate > 0):
        raise LtvlabError(
            f"discount_rate={discount_rate!r} must be a positive number per period (0.10 = 10%)"
        )
    x, t_x, n = _f(x), _f(t_x), _f(n)
    alpha, beta, gamma, delta = _f(alpha), _f(beta), _f(gamma), _f(delta)
    d = float(discount_rate)
    log_l = bgbb_loglik(x, t_x, n, alpha, beta, gamma, delta)
    log_value = (
        betaln(alpha + x + 1.0, beta + n - x)
        - betaln(alpha, beta)
        + betaln(gamma, delta + n + 1.0)
        - betaln(gamma, delta)
        - np.log1p(d)
        - log_l
    )
    return np.exp(log_value) * hyp2f1(1.0, delta + n + 1.0, gamma + delta + n + 1.0, 1.0 / (1.0 + d))


def bgbb_holdout_pmf(k, t, x, t_x, n, alpha, beta, gamma, delta, p_alive) -> np.ndarray:
    """P(k transactions in opportunities n+1 .. n+t | x, t_x, n), given P(alive at n+1).

    Alive at ``n + 1`` the posterior is ``p ~ Beta(alpha + x, beta + n - x)``, ``theta ~ Beta(gamma, delta + n + 1)``;
    the customer is alive for ``m = 1..t`` of the ``t`` opportunities with probability ``(1-theta)^(m-1) theta``
    (``m < t``) or ``(1-theta)^(t-1)`` (``m = t``), and makes ``Binomial(m, p)`` transactions; both integrals are
    Beta-function ratios.
    """
    k = _f(k)
    t = np.broadcast_to(_f(t), np.broadcast_shapes(np.shape(k), np.shape(x))).astype(int)
    a_post, b_post = _f(alpha) + _f(x), _f(beta) + _f(n) - _f(x)
    g, d_post = _f(gamma), _f(delta) + _f(n) + 1.0
    total = 0.0
    for m in range(1, int(np.max(t)) + 1):
        last = m == t
        log_life = np.where(
            last,
            betaln(g, d_post + m - 1.0) - betaln(g, d_post),
            betaln(g + 1.0, d_post + m - 1.0) - betaln(g, d_post),
        )
        with np.errstate(invalid="ignore"):
            log_binom = (
                gammaln(m + 1.0)
                - gammaln(k + 1.0)
                - gammaln(np.maximum(m - k, 0.0) + 1.0)
                + betaln(a_post + k, b_post + np.maximum(m - k, 0.0))
                - betaln(a_post, b_post)
            )
        term = np.where((k <= m) & (m <= t), np.exp(log_life + log_binom), 0.0)
        total = total + term
    return (1.0 - p_alive) * (k == 0) + p_alive * total


def _simulate_calibration(rng: np.random.Generator, params: list[np.ndarray], n: np.ndarray) -> np.ndarray:
    from ltvlab.data.synthetic_btyd import bgbb_counts

    alpha, beta, gamma, delta = params
    x, _, _ = bgbb_counts(rng.beta(alpha, beta), rng.beta(gamma, delta), n.astype(int), None, rng)
    return x


MODEL = register(
    ModelDef(
        name=BGBB.kind_name,
        label="BG/BB",
        role="discrete",
        param_names=("alpha", "beta", "gamma", "delta"),
        data_columns=(col.X, col.T_X, col.T),
        loglik=bgbb_loglik,
        loglik_pt=bgbb_loglik_pt,
        offsets=(0.0, 0.0, 0.0, 0.0),
        scale=(None, None, None, None),
        spec=BGBB,
        reference="Fader, Hardie & Shang (2010), Customer-base analysis in a discrete-time noncontractual setting",
        total_loglik_pt=_total_loglik_pt,
        p_alive=bgbb_p_alive,
        expected_purchases=bgbb_expected_transactions,
        expected_purchases_new=bgbb_expected_transactions_new,
        holdout_pmf=bgbb_holdout_pmf,
        simulate_calibration=_simulate_calibration,
    )
)


def expected_residual_transactions(
    fit: Any, summary: pd.DataFrame, *, discount_rate: float, max_draws: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Discounted expected residual transactions (DERT) per customer of a BG/BB fit, over its draws:
    ``customer_id, mean, q05, q50, q95``; times the value of a transaction it is the discounted expected residual
    value. ``discount_rate`` is per opportunity."""
    if fit.model_name != BGBB.kind_name:
        raise LtvlabError(f"DERT is a BG/BB quantity; this is a {fit.model_name} fit")
    from ltvlab.ltv._data import validate_purchase_columns
    from ltvlab.ltv.engine import resolve_unit

    resolve_unit(fit, summary)
    x, t_x, n = validate_purchase_columns(summary)

    def dert(x_, t_x_, n_, *params):
        return bgbb_discounted_residual_transactions(x_, t_x_, n_, *params, discount_rate=discount_rate)

    return fit._predict(
        summary,
        {col.X: x, col.T_X: t_x, col.T: n},
        dert,
        max_draws=max_draws,
        seed=seed,
        chunk_elements=2_000_000,
    )
