"""Exact log-likelihood of BG/NBD and Pareto/NBD with time-varying covariates (NumPy and PyTensor).

Conditional on ``lambda`` the purchase process is a Poisson process in the operational time
``A(t) = int_0^t exp(gamma . z(u) + beta . w) du``, so with ``e_j = exp(gamma . z(t_j) + beta . w)``

    L(lambda, .) = prod_j (lambda e_j) * [the static likelihood's lambda-terms with t -> A(t)]

and integrating ``lambda ~ Gamma(r, alpha)`` (and ``p ~ Beta(a, b)``) gives, per customer,

- BG/NBD: ``log L = gamma . sum_j z(t_j) + x beta . w + LL_BGNBD(x, A(t_x), A(T); r, alpha, a, b)``;
- Pareto/NBD, with the dropout rate ``mu exp(delta . z(t))``, ``B(t) = int_0^t exp(delta . z(u)) du`` and
  ``mu ~ Gamma(s, beta)``:
  ``L = prod_j e_j * Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+A(T))^-(r+x) (beta+B(T))^-s + s D]``,
  ``D = int_{t_x}^T (alpha+A(u))^-(r+x) (beta+B(u))^-(s+1) dB(u)``
  (the customer died at ``u`` in ``(t_x, T]``; Bachmann, Meierer & Naef 2021 derive the same form).

On a run of constant covariates ``A = P' + a v``, ``B = Q + b v`` for ``v`` in ``[0, h]``, and substituting
``a v`` turns the run's part of ``D`` into ``(b/a)^(-s) J(P', Q a / b, a h)`` with
``J(P, Q, H) = int_0^H (P+v)^-(r+x) (Q+v)^-(s+1) dv``, the static Pareto/NBD integral. The NumPy version takes
``J`` from the hypergeometric closed form (:func:`ltvlab.ltv.formulas._pnbd_log_dead_integral`); the PyTensor
version integrates in ``sigma = log((S+v)/S)``, ``S = min(P, Q)``, which makes the smaller factor's power an
exponential and leaves the larger factor without real singularities, by Gauss-Legendre on four panels placed at
``sigma = 2/c, 8/c, 24/c`` (``c`` the integrand's log-slope at the start), so that the panels follow the decay
whatever the exponents. Measured against the closed form (``tests/ltv/test_tvc_likelihood.py``): below 1e-8
in log ``J`` over the range tested.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytensor.tensor as pt
from scipy.special import gammaln

from ltvlab.ltv import distributions as dist
from ltvlab.ltv._fused import data_variable, x_groups
from ltvlab.ltv.bgnbd import BGNBD
from ltvlab.ltv.bgnbd import _by_x as bgnbd_by_x
from ltvlab.ltv.formulas import _pnbd_log_dead_integral
from ltvlab.ltv.interactions._fused import tvc_row_terms
from ltvlab.ltv.interactions.data import TVCData
from ltvlab.ltv.pnbd import _by_x as pnbd_by_x
from ltvlab.ltv.registry import get_model

__all__ = ["log_piece_integral", "log_piece_integral_pt", "tvc_components", "tvc_loglik", "tvc_loglik_pt"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)
_NODES = (_NODES + 1.0) / 2.0
_WEIGHTS = _WEIGHTS / 2.0
_KAPPA = (2.0, 8.0, 24.0)


def log_piece_integral(P, Q, H, m, n) -> np.ndarray:
    """``log int_0^H (P+v)^-m (Q+v)^-n dv`` by the hypergeometric closed form (``m = r + x``, ``n = s + 1``)."""
    m, n = np.asarray(m, float), np.asarray(n, float)
    # _pnbd_log_dead_integral(x, t_x, T, r, alpha, s, beta) integrates (alpha+u)^-(r+x) (beta+u)^-(s+1) on (t_x, T)
    return _pnbd_log_dead_integral(0.0, 0.0, H, m, P, n - 1.0, Q)


def _log_piece_integral_numpy_rule(P, Q, H, m, n) -> np.ndarray:
    """NumPy twin of :func:`log_piece_integral_pt` (same nodes), used by tests of the rule."""
    P, Q, H, m, n = np.broadcast_arrays(*(np.asarray(v, float) for v in (P, Q, H, m, n)))
    p_small = P <= Q
    S, big = np.minimum(P, Q), np.maximum(P, Q)
    e1, e2 = np.where(p_small, m, n), np.where(p_small, n, m)
    lam = np.log1p(H / S)
    c = np.maximum(e1 - 1.0 + e2 * S / big, 1e-3)
    bounds = [np.zeros_like(lam)] + [np.minimum(lam, k / c) for k in _KAPPA] + [lam]
    g0 = (1.0 - e1) * np.log(S) - e2 * np.log(big)
    total = np.zeros_like(lam)
    for lo, hi in itertools.pairwise(bounds):
        sig = lo[..., None] + (hi - lo)[..., None] * _NODES
        g = (1.0 - e1[..., None]) * (np.log(S)[..., None] + sig) - e2[..., None] * np.log(
            (big - S)[..., None] + S[..., None] * np.exp(sig)
        )
        total = total + (hi - lo) * np.sum(np.exp(g - g0[..., None]) * _WEIGHTS, axis=-1)
    return g0 + np.log(total)


def log_piece_integral_pt(P, Q, H, m, n):
    """PyTensor ``log int_0^H (P+v)^-m (Q+v)^-n dv`` by the panelled Gauss-Legendre rule of the module docstring."""
    p_small = pt.le(P, Q)
    S, big = pt.minimum(P, Q), pt.maximum(P, Q)
    e1, e2 = pt.switch(p_small, m, n), pt.switch(p_small, n, m)
    lam = pt.log1p(H / S)
    c = pt.maximum(e1 - 1.0 + e2 * S / big, 1e-3)
    bounds = [pt.zeros_like(lam)] + [pt.minimum(lam, k / c) for k in _KAPPA] + [lam]
    log_s = pt.log(S)
    g0 = (1.0 - e1) * log_s - e2 * pt.log(big)
    col = pt.shape_padright
    total = 0.0
    for lo, hi in itertools.pairwise(bounds):
        sig = col(lo) + col(hi - lo) * _NODES
        g = (1.0 - col(e1)) * (col(log_s) + sig) - col(e2) * pt.log(col(big - S) + col(S) * pt.exp(sig))
        total = total + (hi - lo) * pt.sum(pt.exp(g - col(g0)) * _WEIGHTS, axis=-1)
    return g0 + pt.log(total)


def _logaddexp_pt(u, v):
    """Stable ``log(exp(u) + exp(v))`` (``pt.logaddexp`` is the naive form, whose gradient is NaN when both
    terms underflow, as they do for customers with long operational times)."""
    top = pt.maximum(u, v)
    return top + pt.log1p(pt.exp(-pt.abs(u - v)))


def _bgnbd_loglik_pt(x, t_x, T, r, alpha, a, b):
    """:func:`ltvlab.ltv.distributions.bgnbd_loglik_pt` with a stable log-sum-exp."""
    a1 = pt.gammaln(r + x) - pt.gammaln(r) + r * pt.log(alpha)
    a2 = pt.gammaln(a + b) + pt.gammaln(b + x) - pt.gammaln(b) - pt.gammaln(a + b + x)
    a3 = -(r + x) * pt.log(alpha + T)
    a4 = pt.log(a) - pt.log(b + pt.maximum(x, 1.0) - 1.0) - (r + x) * pt.log(alpha + t_x)
    return a1 + a2 + pt.switch(pt.gt(x, 0), _logaddexp_pt(a3, a4), a3)


def _grouped_terms_pt(data: TVCData, model: str, params: dict, gamma, purchase: list[int]):
    """The terms of the weighted total that do not involve the operational times, and the row groups.

    The gamma functions (and ``r log alpha``, BG/NBD's Beta terms, Pareto/NBD's ``s log beta``) depend on a row
    only through its ``(segment, x)``, so they are evaluated once per distinct pair and weighted by the pair's
    customers; the linear terms are summed over rows beforehand (``sum_i n_i x_i s_i`` for the static covariates
    ``s_i``, per segment ``sum_i n_i sum_j z(t_j)`` for the strategies; ``n_i`` the row's customers). Same value
    as the per-row sum, with a few hundred special-function calls instead of several per row. Returns the
    PyTensor scalar and ``(segment, x, row -> group)`` of the groups."""
    groups = x_groups(data.x, data.segment_code, data.weight)
    g_seg, g_x = groups.cell, groups.x
    # the static model's terms of each (cell, x), in its registry's parameter order
    by_x = bgnbd_by_x if model == BGNBD.kind_name else pnbd_by_x
    head = by_x(pt, *(params[k][g_seg] for k in get_model(model).param_names), g_x)
    total = pt.sum(groups.weight * head)
    if data.static.shape[1]:
        wx_static = (data.weight * data.x) @ data.static
        total = total + pt.dot(wx_static, params["beta_static"])
    if purchase:
        by_segment = np.zeros((len(data.segments), len(purchase)))
        np.add.at(by_segment, data.segment_code, data.weight[:, None] * data.purchase_sum[:, purchase])
        total = total + pt.sum(by_segment * gamma)
    return total, (g_seg, g_x, groups.group)


def _bgnbd_fused_pt(data: TVCData, params: dict, e_a, stat, gamma, purchase: list[int]):
    """BG/NBD total: the terms without operational times by :func:`_grouped_terms_pt`, the rest in
    :func:`tvc_row_terms`."""
    grouped, (g_seg, g_x, row_group) = _grouped_terms_pt(data, BGNBD.kind_name, params, gamma, purchase)
    a, b = params["a"][g_seg], params["b"][g_seg]
    log_ratio = pt.log(a) - pt.log(b + np.maximum(g_x, 1.0) - 1.0)
    return grouped + tvc_row_terms(params["r"], params["alpha"], e_a, stat, log_ratio, row_group, data)


# --- shared pieces -----------------------------------------------------------------------------------


def _operational(xp, data: TVCData, table, scale, which: str, shared=None):
    """``A`` (or ``B``) at ``T`` or ``t_x`` per row: ``scale * sum_v table[segment, v] * time at v``; ``shared``
    (PyTensor only) makes one shared variable per named array (:func:`_shared_arrays`)."""
    flat = table.reshape((-1,)) if xp is np else table.flatten()

    def index() -> np.ndarray:  # entry -> (segment, value) cell of the table
        return data.segment_code[data.exposure_row] * data.values.shape[0] + data.exposure_value

    times = data.time_T if which == "T" else data.time_tx
    if xp is np:
        out = np.bincount(data.exposure_row, weights=flat[index()] * times, minlength=data.n_rows)
    else:  # shared variables, not constants (see tvc_loglik_pt); the index is built once, by the first call
        e = flat[shared("exposure_index", index)]
        rows = shared("exposure_row", data.exposure_row)
        out = pt.inc_subtensor(pt.zeros(data.n_rows)[rows], e * shared(f"time_{which}", times))
    return out * scale


def _shared_arrays():
    """``shared(name, array)``: the array as one PyTensor shared variable per name (``ltvlab_tvc_<name>``), made
    on first use, so that a graph holds each row array once (the compiled model's data are found by name);
    ``array`` may be a function that builds it, called only on first use."""
    made: dict[str, pt.TensorVariable] = {}

    def shared(name: str, array) -> pt.TensorVariable:
        if name not in made:
            made[name] = data_variable(np.asarray(array() if callable(array) else array), f"tvc_{name}")
        return made[name]

    return shared


def _effect_table(xp, effect, values: np.ndarray, positions: list[int]):
    """``exp(effect[g] . v)`` for every segment ``g`` and distinct value ``v``: ``(G, V)``."""
    if not positions:
        return (
            xp.ones((effect.shape[0], values.shape[0]))
            if xp is np
            else pt.ones((effect.shape[0], values.shape[0]))
        )
    v = values[:, positions]
    return xp.exp(effect @ v.T) if xp is np else pt.exp(pt.dot(effect, v.T))


def _first_of_run(rows: np.ndarray) -> np.ndarray:
    """For each piece, the position of the first piece of the same row (pieces sorted by row)."""
    start = np.r_[True, rows[1:] != rows[:-1]] if rows.size else np.zeros(0, bool)
    return np.flatnonzero(start)[np.cumsum(start) - 1]


def tvc_loglik(
    data: TVCData,
    model: str,
    params: dict[str, np.ndarray],
    purchase: list[int],
    dropout: list[int] | None = None,
) -> np.ndarray:
    """Per-row log-likelihood (NumPy, exact). ``params``: segment arrays ``(G,)`` of ``r, alpha`` and ``a, b``
    (BG/NBD) or ``s, beta`` (Pareto/NBD); ``gamma (G, len(purchase))``, ``delta
    (G, len(dropout))`` and ``beta_static (q,)`` (omitted: no effect)."""
    return tvc_components(data, model, params, purchase, dropout)["loglik"]


def tvc_components(
    data: TVCData,
    model: str,
    params: dict[str, np.ndarray],
    purchase: list[int],
    dropout: list[int] | None = None,
) -> dict[str, np.ndarray]:
    """Per-row parts of the likelihood: ``loglik``, ``A_T``, ``A_tx``, static log multiplier ``static``, and
    for Pareto/NBD ``B_T``, ``log_alive`` and ``log_dead`` (``log s D``; ``-inf`` when ``t_x == T``)."""
    seg = data.segment_code
    n_seg = len(data.segments)
    gamma = np.asarray(params.get("gamma", np.zeros((n_seg, len(purchase)))), float).reshape(
        n_seg, len(purchase)
    )
    stat = (
        data.static @ np.asarray(params["beta_static"], float)
        if data.static.shape[1]
        else np.zeros(data.n_rows)
    )
    e_a = _effect_table(np, gamma, data.values, purchase)
    a_T = _operational(np, data, e_a, np.exp(stat), "T")
    a_tx = _operational(np, data, e_a, np.exp(stat), "tx")
    linear = np.sum(data.purchase_sum[:, purchase] * gamma[seg], axis=1) + data.x * stat
    r, alpha = params["r"][seg], params["alpha"][seg]
    x = data.x
    if model == BGNBD.kind_name:
        ll = linear + dist.bgnbd_loglik(x, a_tx, a_T, r, alpha, params["a"][seg], params["b"][seg])
        return {"loglik": ll, "A_T": a_T, "A_tx": a_tx, "static": stat}
    dropout = dropout or []
    delta = np.asarray(params.get("delta", np.zeros((n_seg, len(dropout)))), float).reshape(
        n_seg, len(dropout)
    )
    e_b = _effect_table(np, delta, data.values, dropout)
    b_T = _operational(np, data, e_b, 1.0, "T")
    b_tx = _operational(np, data, e_b, 1.0, "tx")
    s, beta = params["s"][seg], params["beta"][seg]
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + a_T) - s * np.log(beta + b_T)
    post = data.post
    log_dead = np.full(data.n_rows, -np.inf)
    if post.row.size:
        i = post.row
        flat_a, flat_b = e_a.reshape(-1), e_b.reshape(-1)
        idx = seg[i] * data.values.shape[0] + post.value
        a_k = flat_a[idx] * np.exp(stat[i])
        b_k = flat_b[idx]
        first = _first_of_run(i)
        da, db = a_k * post.length, b_k * post.length
        ca, cb = np.cumsum(da) - da, np.cumsum(db) - db
        P = alpha[i] + a_tx[i] + ca - ca[first]
        Q = beta[i] + b_tx[i] + cb - cb[first]
        n_exp = s[i] + 1.0
        log_piece = -s[i] * np.log(b_k / a_k) + log_piece_integral(
            P, Q * a_k / b_k, a_k * post.length, r[i] + x[i], n_exp
        )
        top = np.full(data.n_rows, -np.inf)
        np.maximum.at(top, i, log_piece)
        summed = np.bincount(i, weights=np.exp(log_piece - top[i]), minlength=data.n_rows)
        with np.errstate(divide="ignore"):
            log_dead = np.where(summed > 0, top + np.log(summed), -np.inf)
    with np.errstate(divide="ignore"):
        dead = np.log(s) + log_dead
    return {
        "loglik": linear + head + np.logaddexp(alive, dead),
        "A_T": a_T,
        "A_tx": a_tx,
        "B_T": b_T,
        "static": stat,
        "log_alive": alive,
        "log_dead": dead,
    }


def tvc_loglik_pt(
    data: TVCData,
    model: str,
    params: dict,
    purchase: list[int],
    dropout: list[int] | None = None,
    fused: bool = True,
):
    """Weighted total log-likelihood as a PyTensor scalar; ``params`` hold tensors shaped as in :func:`tvc_loglik`
    (segment parameters ``(G,)``, ``gamma (G, kp)``, ``delta (G, kd)``, ``beta_static (q,)``).

    ``fused``: BG/NBD's exposure sums and per-row terms come from the one-pass Numba kernel of
    :mod:`ltvlab.ltv.interactions._fused` (same value; the plain graph is kept for tests)."""
    seg = data.segment_code
    x = data.x
    weight = data.weight
    if data.static.shape[1]:
        stat = pt.dot(data_variable(data.static, "tvc_static"), params["beta_static"])
        scale = pt.exp(stat)
    else:
        stat, scale = pt.zeros(data.n_rows), pt.ones(data.n_rows)
    gamma = params.get("gamma")
    n_seg = len(data.segments)
    e_a = _effect_table(pt, gamma if gamma is not None else pt.zeros((n_seg, 0)), data.values, purchase)
    if model == BGNBD.kind_name and fused:
        return _bgnbd_fused_pt(data, params, e_a, stat, gamma, purchase)
    # the row arrays enter the graph as shared variables, not constants: Numba caches a compiled log-density
    # only without large global arrays (see data_variable)
    shared = _shared_arrays()
    seg, x, weight = shared("segment", seg), shared("x", x), shared("weight", weight)
    a_T = _operational(pt, data, e_a, scale, "T", shared)
    a_tx = _operational(pt, data, e_a, scale, "tx", shared)
    r, alpha = params["r"][seg], params["alpha"][seg]
    if model == BGNBD.kind_name:  # the plain graph, kept row by row as the reference of the fused kernel
        linear = x * stat
        if purchase:
            linear = linear + pt.sum(data.purchase_sum[:, purchase] * gamma[seg], axis=1)
        ll = linear + _bgnbd_loglik_pt(x, a_tx, a_T, r, alpha, params["a"][seg], params["b"][seg])
        return pt.sum(weight * ll)
    grouped, _ = _grouped_terms_pt(data, model, params, gamma, purchase)
    dropout = dropout or []
    delta = params.get("delta")
    e_b = _effect_table(pt, delta if delta is not None else pt.zeros((n_seg, 0)), data.values, dropout)
    b_T = _operational(pt, data, e_b, 1.0, "T", shared)
    b_tx = _operational(pt, data, e_b, 1.0, "tx", shared)
    s, beta = params["s"][seg], params["beta"][seg]
    alive = -(r + x) * pt.log(alpha + a_T) - s * pt.log(beta + b_T)
    post = data.post
    if not post.row.size:
        return grouped + pt.sum(weight * alive)
    first_np = _first_of_run(post.row)
    starts = first_np == np.arange(post.row.size)  # each row's first piece
    has_np = np.zeros(data.n_rows, bool)
    has_np[post.row] = True
    i = shared("post_row", post.row)
    idx = shared("post_index", data.segment_code[post.row] * data.values.shape[0] + post.value)
    length = shared("post_length", post.length)
    first = shared("post_first", first_np)
    has = shared("post_has", has_np)
    a_k = e_a.flatten()[idx] * scale[i]
    b_k = e_b.flatten()[idx]
    da, db = a_k * length, b_k * length
    ca, cb = pt.cumsum(da) - da, pt.cumsum(db) - db
    P = alpha[i] + a_tx[i] + ca - ca[first]
    Q = beta[i] + b_tx[i] + cb - cb[first]
    s_i = s[i]
    log_piece = -s_i * pt.log(b_k / a_k) + log_piece_integral_pt(
        P, Q * a_k / b_k, a_k * length, r[i] + x[i], s_i + 1.0
    )
    # log-sum-exp per row: pieces of a row are bounded by the row's first piece's log-value shift
    shift = pt.zeros(data.n_rows)
    shift = pt.set_subtensor(
        shift[shared("post_start_row", post.row[starts])],
        log_piece[shared("post_start", np.flatnonzero(starts))],
    )
    summed = pt.inc_subtensor(pt.zeros(data.n_rows)[i], pt.exp(log_piece - shift[i]))
    log_dead = shift + pt.log(pt.switch(has, summed, 1.0))
    dead = pt.log(s) + log_dead
    return grouped + pt.sum(weight * pt.switch(has, _logaddexp_pt(alive, dead), alive))
