"""Compiled per-row scoring kernels: P(alive), expected purchases and discounted CLV summarised over draws.

The scoring engine (:mod:`ltvlab.ltv.engine`) hands :func:`score_block` a block of distinct summary rows and the
posterior draws; one compiled pass (Numba, parallel over rows on the machine's cores) returns, per row, the mean
and the 5/50/95% quantiles over draws of each quantity, without forming a draws x rows array. Quantiles are
NumPy's default ("linear") rule, taken by a partial sort (selection) of the row's draws in the kernel.

Work is shared wherever the formulas allow. Alive at ``T`` the future of a customer depends on ``(x, T)`` only
(memorylessness), so expected purchases are ``P(alive) x R(t; x, T)``; ``R`` and the discounted sum of its
increments are computed once per distinct ``(parameter cell, x, T)``, the parts that do not involve ``x`` once
per ``(cell, T)``, and the ``t_x`` terms of P(alive) once per ``(cell, x, t_x)``. Customer summaries made from
dated transactions have few distinct ``T`` and ``t_x`` (whole days), so this removes most of the special-function
evaluations.

The formulas are those of :mod:`ltvlab.ltv.formulas` term by term (same expressions, same special functions:
the Gauss hypergeometric function is SciPy's own, called through its Cython C interface), so scores equal the
NumPy expressions to rounding. The one rewrite: for BG/NBD-type models the series ``2F1(A, B; C; z)`` is summed
here for all horizons of a customer at once (shared coefficients) where it converges fast, and SciPy's function is
called otherwise.

Model kinds are declared by the model modules (``ModelDef.score_kernel``): :data:`BGNBD_KERNEL`,
:data:`MBGNBD_KERNEL`, :data:`PNBD_KERNEL`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import binding as _llvm
from numba import types as _types
from numba.extending import get_cython_function_address

__all__ = ["BGNBD_KERNEL", "MBGNBD_KERNEL", "PNBD_KERNEL", "QUANTITY_BITS", "score_block"]

BGNBD_KERNEL = 0
MBGNBD_KERNEL = 1
PNBD_KERNEL = 2
QUANTITY_BITS = {"p_alive": 1, "expected_purchases": 2, "clv": 4}

# SciPy's hyp2f1 (real arguments) through scipy.special.cython_special's C interface; the trailing int is Cython's
# skip-dispatch flag. Bound by symbol name, so compiled kernels cached on disk resolve it again in each process.
_SYMBOL = "ltvlab_scipy_hyp2f1"
_llvm.add_symbol(_SYMBOL, get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_1hyp2f1"))
_hyp2f1_c = _types.ExternalFunction(
    _SYMBOL, _types.float64(_types.float64, _types.float64, _types.float64, _types.float64, _types.intc)
)

_QUAD_NODES, _QUAD_WEIGHTS = np.polynomial.legendre.leggauss(16)
_QUAD_PANELS = np.array([0.0, 0.6, 0.9, 1.0])
_SERIES_MAX_Z = 0.92  # beyond this the shared power series needs too many terms: SciPy's hyp2f1 is called
_SERIES_MAX_TERMS = 3000
_TABLE_ELEMENTS = 4_000_000  # numbers in each per-block table (32 MB)


@nb.njit(cache=True)
def hyp2f1(a, b, c, z):  # pragma: no cover - compiled
    """SciPy's ``hyp2f1(a, b, c, z)`` for real arguments (the same C function)."""
    return _hyp2f1_c(a, b, c, z, 0)


@nb.njit(cache=True)
def _hyp2f1_many(a, b, c, z, n, out):  # pragma: no cover - compiled
    """``out[k] = 2F1(a, b; c; z[k])`` for ``k < n``: one power series for all ``z`` (shared coefficients).

    Used where the series converges quickly and has no cancellation (``c > 0.5``, ``a > -1``, ``b > -1``, ``z``
    in ``[0, 0.92]``): every term after the first has one sign, and summation stops once the largest-``z`` term is
    below 1e-17 of its sum times ``1 - z``, a bound on the rest. Elsewhere SciPy's function is called per ``z``.
    """
    k_max = 0
    for k in range(n):
        if z[k] > z[k_max]:
            k_max = k
    z_max = z[k_max]
    if not (c > 0.5 and a > -1.0 and b > -1.0 and 0.0 <= z_max <= _SERIES_MAX_Z):
        for k in range(n):
            out[k] = hyp2f1(a, b, c, z[k])
        return
    power = np.ones(n)
    for k in range(n):
        out[k] = 1.0
    coef = 1.0
    tol = 1e-17 * (1.0 - z_max)
    for i in range(_SERIES_MAX_TERMS):
        fi = float(i)
        coef *= (a + fi) * (b + fi) / ((c + fi) * (fi + 1.0))
        for k in range(n):
            power[k] *= z[k]
            out[k] += coef * power[k]
        if abs(coef * power[k_max]) <= tol * abs(out[k_max]):
            return
    for k in range(n):  # did not converge: SciPy's transformations
        out[k] = hyp2f1(a, b, c, z[k])


@nb.njit(cache=True)
def _expit(v):  # pragma: no cover - compiled
    return 1.0 / (1.0 + np.exp(-v))


# --------------------------------------------------------------------------------------------- Pareto/NBD


@nb.njit(cache=True)
def _pnbd_log_term(tau, x, r, alpha, s, beta):  # pragma: no cover - compiled
    """:func:`ltvlab.ltv.formulas._pnbd_log_term` for one draw."""
    rx = r + x
    c = r + s + x + 1.0
    if alpha >= beta:
        z = abs(alpha - beta) / (alpha + tau)
        log_f = np.log(hyp2f1(1.0, rx, c, z))
        return -rx * np.log(alpha + tau) - s * np.log(beta + tau) + log_f
    z = abs(alpha - beta) / (beta + tau)
    log_f = np.log(hyp2f1(1.0, s + 1.0, c, z))
    return (1.0 - rx) * np.log(alpha + tau) - (s + 1.0) * np.log(beta + tau) + log_f


@nb.njit(cache=True)
def _pnbd_log_integral_quadrature(x, t_x, T, r, alpha, s, beta):  # pragma: no cover - compiled
    """:func:`ltvlab.ltv.formulas._pnbd_log_integral_quadrature` for one draw."""
    alpha_ge = alpha >= beta
    big = alpha if alpha_ge else beta
    n = s + 1.0 if alpha_ge else r + x
    k = r + s + x
    z = abs(alpha - beta) / (big + t_x)
    y0 = np.exp(k * (np.log(big + t_x) - np.log(big + T)))
    log_h_max = -n * np.log1p(-z)
    total = 0.0
    for p in range(3):
        lo, hi = _QUAD_PANELS[p], _QUAD_PANELS[p + 1]
        for i in range(_QUAD_NODES.size):
            y = y0 + (1.0 - y0) * (lo + (hi - lo) * (_QUAD_NODES[i] + 1.0) / 2.0)
            w = np.exp(np.log(y) / k)
            total += _QUAD_WEIGHTS[i] * (hi - lo) / 2.0 * np.exp(-n * np.log1p(-z * w) - log_h_max)
    return -k * np.log(big + t_x) - np.log(k) + log_h_max + np.log((1.0 - y0) * total)


@nb.njit(cache=True)
def _ratio_power_over(s_minus_1, log_ratio):  # pragma: no cover - compiled
    """:func:`ltvlab.ltv.formulas._one_minus_ratio_power_over` for one draw."""
    if abs(s_minus_1) < 1e-8:
        return log_ratio
    return -np.expm1(-s_minus_1 * log_ratio) / s_minus_1


# ---------------------------------------------------------------------------------------- table stages


@nb.njit(cache=True, parallel=True)
def _cell_t_table(kind, params, ct_cell, ct_T, horizons):  # pragma: no cover - compiled
    """Per (cell, T, draw): ``[log(alpha + T), h_1 .. h_K]`` with ``h_k`` the tail ``(1 - z_k)^(a - 1)`` (BG/NBD
    types) or ``(1 - ((beta+T)/(beta+T+t_k))^(s-1)) / (s-1)`` (Pareto/NBD)."""
    n_draws = params.shape[1]
    nk = horizons.size
    out = np.empty((ct_cell.size, n_draws, nk + 1))
    for q in nb.prange(ct_cell.size):
        c = ct_cell[q]
        T = ct_T[q]
        for j in range(n_draws):
            alpha = params[1, j, c]
            log_at = np.log(alpha + T)
            out[q, j, 0] = log_at
            if kind == PNBD_KERNEL:
                s, beta = params[2, j, c], params[3, j, c]
                log_bt = np.log(beta + T)
                for k in range(nk):
                    out[q, j, k + 1] = _ratio_power_over(s - 1.0, np.log(beta + T + horizons[k]) - log_bt)
            else:
                a = params[2, j, c]
                for k in range(nk):
                    out[q, j, k + 1] = np.exp((a - 1.0) * (log_at - np.log(alpha + T + horizons[k])))
    return out


@nb.njit(cache=True, parallel=True)
def _cell_x_t_table(
    kind, params, xt_cell, xt_x, xt_T, xt_ct, ct_table, horizons, discount
):  # pragma: no cover
    """Per (cell, x, T, draw): ``[c0, R(horizon), sum_k (R_k - R_(k-1)) / (1+d)^k]`` with ``R`` the expected
    purchases given alive at ``T``; ``c0`` is the ``(x, T)`` part of the log death odds (Pareto/NBD: the
    hypergeometric term at ``T``, and the log alive likelihood in slot 3)."""
    n_draws = params.shape[1]
    nk = horizons.size
    out = np.empty((xt_cell.size, n_draws, 4))
    for q in nb.prange(xt_cell.size):
        c, x, T, ct = xt_cell[q], xt_x[q], xt_T[q], xt_ct[q]
        z = np.empty(nk)
        f = np.empty(nk)
        for j in range(n_draws):
            r, alpha = params[0, j, c], params[1, j, c]
            rate = np.empty(nk)
            if kind == PNBD_KERNEL:
                s, beta = params[2, j, c], params[3, j, c]
                out[q, j, 0] = _pnbd_log_term(T, x, r, alpha, s, beta)
                out[q, j, 3] = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
                for k in range(nk):
                    rate[k] = (r + x) * (beta + T) / (alpha + T) * ct_table[ct, j, k + 1]
            else:
                a, b = params[2, j, c], params[3, j, c]
                if kind == BGNBD_KERNEL:
                    out[q, j, 0] = np.log(a) - np.log(b + max(x, 1.0) - 1.0)
                    hyp_a, hyp_c = a + b - 1.0 - r, a + b + x - 1.0
                else:  # MBG/NBD: BG/NBD expectation of a new customer with r + x, alpha + T, b + x + 1
                    out[q, j, 0] = np.log(a) - np.log(b + x)
                    b_post, r_post = b + x + 1.0, r + x
                    hyp_a, hyp_c = a + b_post - 1.0 - r_post, a + b_post - 1.0
                alpha_t = alpha + T
                for k in range(nk):
                    z[k] = horizons[k] / (alpha_t + horizons[k])
                _hyp2f1_many(hyp_a, a - 1.0, hyp_c, z, nk, f)
                a_minus_1 = 1e-10 if abs(a - 1.0) < 1e-10 else a - 1.0
                for k in range(nk):
                    rate[k] = hyp_c / a_minus_1 * (1.0 - ct_table[ct, j, k + 1] * f[k])
                out[q, j, 3] = 0.0
            out[q, j, 1] = rate[nk - 1]
            total = 0.0
            previous = 0.0
            for k in range(nk):
                total += (rate[k] - previous) / discount[k]
                previous = rate[k]
            out[q, j, 2] = total
    return out


@nb.njit(cache=True, parallel=True)
def _cell_x_tx_table(kind, params, tx_cell, tx_x, tx_tx):  # pragma: no cover - compiled
    """Per (cell, x, t_x, draw): ``log(alpha + t_x)`` (BG/NBD types) or the hypergeometric term at ``t_x``."""
    n_draws = params.shape[1]
    out = np.empty((tx_cell.size, n_draws))
    for q in nb.prange(tx_cell.size):
        c, x, t_x = tx_cell[q], tx_x[q], tx_tx[q]
        for j in range(n_draws):
            if kind == PNBD_KERNEL:
                out[q, j] = _pnbd_log_term(
                    t_x, x, params[0, j, c], params[1, j, c], params[2, j, c], params[3, j, c]
                )
            else:
                out[q, j] = np.log(params[1, j, c] + t_x)
    return out


# ------------------------------------------------------------------------------------------ quantiles


@nb.njit(cache=True)
def _select(v, lo, hi, k):  # pragma: no cover - compiled
    """Rearrange ``v[lo:hi]`` so that ``v[k]`` is its ``k - lo``-th smallest, smaller ones before, larger after."""
    if k == lo:  # the minimum: one scan
        m = lo
        for i in range(lo + 1, hi):
            if v[i] < v[m]:
                m = i
        v[lo], v[m] = v[m], v[lo]
        return
    while hi - lo > 16:
        mid = (lo + hi - 1) // 2
        a, b, c = v[lo], v[mid], v[hi - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = lo, hi - 1
        while i <= j:
            while v[i] < pivot:
                i += 1
            while v[j] > pivot:
                j -= 1
            if i <= j:
                v[i], v[j] = v[j], v[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return
    for i in range(lo + 1, hi):  # insertion sort of the last few
        key = v[i]
        m = i - 1
        while m >= lo and v[m] > key:
            v[m + 1] = v[m]
            m -= 1
        v[m + 1] = key


@nb.njit(cache=True)
def _summarise(v, ks, q_lo, q_hi, q_gamma, out, col):  # pragma: no cover - compiled
    """Mean and linear-interpolation quantiles of ``v`` into ``out[col], out[col + 1 ..]`` (``v`` is reordered).

    ``ks`` are the distinct order statistics needed, ascending; they are placed by selection, each in the part of
    ``v`` left unsorted by the previous ones (median first, then each side).
    """
    n = v.size
    total = 0.0
    for i in range(n):
        total += v[i]
    out[col] = total / n
    m = ks.size
    # explicit stack of (lo, hi, first k, last k) ranges
    stack = np.empty((2 * m + 2, 4), dtype=np.int64)
    top = 0
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = 0, n, 0, m - 1
    top = 1
    while top > 0:
        top -= 1
        lo, hi, first, last = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
        if first > last:
            continue
        pick = (first + last) // 2
        k = ks[pick]
        _select(v, lo, hi, k)
        stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = lo, k, first, pick - 1
        top += 1
        stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = k + 1, hi, pick + 1, last
        top += 1
    for i in range(q_lo.size):
        a, b, t = v[q_lo[i]], v[q_hi[i]], q_gamma[i]
        diff = b - a
        out[col + 1 + i] = b - diff * (1.0 - t) if t >= 0.5 else a + diff * t
    return np.isfinite(total)


@nb.njit(cache=True, parallel=True)
def _rows(
    kind,
    params,
    row_cell,
    x,
    t_x,
    T,
    row_xt,
    row_tx,
    xt_table,
    tx_table,
    spend_params,
    spend_seg,
    monetary,
    bits,
    ks,
    q_lo,
    q_hi,
    q_gamma,
):  # pragma: no cover - compiled
    """Per row: the quantities in ``bits`` per draw, summarised; returns the table and a per-row bad-value mask."""
    n_draws = params.shape[1]
    n_rows = x.size
    n_stats = 1 + q_lo.size
    out = np.empty((n_rows, 3 * n_stats))
    bad = np.zeros(n_rows, dtype=np.int64)
    for i in nb.prange(n_rows):
        c, q, t = row_cell[i], row_xt[i], row_tx[i]
        xi, txi, Ti = x[i], t_x[i], T[i]
        alive = np.empty(n_draws)
        purchases = np.empty(n_draws)
        value = np.empty(n_draws)
        for j in range(n_draws):
            r = params[0, j, c]
            if kind == PNBD_KERNEL:
                s, alpha, beta = params[2, j, c], params[1, j, c], params[3, j, c]
                log_g_tx, log_g_T = tx_table[t, j], xt_table[q, j, 0]
                if np.isfinite(log_g_tx) and np.isfinite(log_g_T):
                    log_j = log_g_tx + np.log(-np.expm1(min(log_g_T - log_g_tx, 0.0))) - np.log(r + s + xi)
                else:
                    log_j = _pnbd_log_integral_quadrature(xi, txi, Ti, r, alpha, s, beta)
                p = _expit(-(np.log(s) + log_j - xt_table[q, j, 3]))
            elif kind == BGNBD_KERNEL and xi <= 0.0:
                p = 1.0
            else:
                log_odds = xt_table[q, j, 0] + (r + xi) * (np.log(params[1, j, c] + Ti) - tx_table[t, j])
                p = _expit(-log_odds)
            alive[j] = p
            purchases[j] = xt_table[q, j, 1] * p
            if bits & 4:
                sp, sq, sg = (
                    spend_params[0, j, spend_seg[i]],
                    spend_params[1, j, spend_seg[i]],
                    spend_params[2, j, spend_seg[i]],
                )
                m = monetary[i] if xi > 0 else 0.0
                denom = sp * xi + sq - 1.0
                spend = sp * (sg + xi * m) / denom if denom > 0 else np.inf
                value[j] = p * xt_table[q, j, 2] * spend
        if bits & 1 and not _summarise(alive, ks, q_lo, q_hi, q_gamma, out[i], 0):
            bad[i] |= 1
        if bits & 2 and not _summarise(purchases, ks, q_lo, q_hi, q_gamma, out[i], n_stats):
            bad[i] |= 2
        if bits & 4 and not _summarise(value, ks, q_lo, q_hi, q_gamma, out[i], 2 * n_stats):
            bad[i] |= 4
    return out, bad


# ------------------------------------------------------------------------------------------------ driver


def quantile_plan(n_draws: int, quantiles: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Order statistics and weights of NumPy's default (linear) quantile rule for ``n_draws`` values."""
    q = np.asarray(quantiles, dtype=float)
    virtual = (n_draws - 1) * q  # numpy.quantile's method='linear'
    lo = np.floor(virtual)
    gamma = virtual - lo
    lo = np.clip(lo, 0, n_draws - 1).astype(np.int64)
    hi = np.clip(lo + 1, 0, n_draws - 1).astype(np.int64)
    ks = np.unique(np.concatenate([lo, hi]))
    return ks, lo, hi, gamma


def _keys(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's distinct combination of ``columns`` and the row of its first occurrence."""
    codes = np.zeros(columns[0].size, dtype=np.int64)
    for column in columns:
        uniq, inv = np.unique(column, return_inverse=True)
        codes = codes * uniq.size + inv.reshape(-1)
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), first


def score_block(
    kind: int,
    params: np.ndarray,
    cell: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    horizons: np.ndarray,
    discount: np.ndarray,
    bits: int,
    quantiles: tuple[float, ...],
    spend_params: np.ndarray | None = None,
    spend_seg: np.ndarray | None = None,
    monetary: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Summaries of a block of distinct rows: ``(table, bad)``.

    ``params`` is ``(4, n_draws, n_cells)`` (the model's parameters in registry order), ``cell`` each row's
    column of it; ``horizons`` the cumulative horizons ``k * period`` (the last is the expected-purchases
    horizon) and ``discount`` ``(1 + d)^k``. ``table`` is ``(n_rows, 3 * (1 + len(quantiles)))``: mean and
    quantiles of P(alive), expected purchases and CLV in that order (columns of quantities not in ``bits`` are
    undefined); ``bad`` flags rows with a non-finite value (bit of the quantity, :data:`QUANTITY_BITS`).
    """
    cell = np.ascontiguousarray(cell, dtype=np.int64)
    x, t_x, T = (np.ascontiguousarray(v, dtype=float) for v in (x, t_x, T))
    params = np.ascontiguousarray(params, dtype=float)
    horizons = np.ascontiguousarray(horizons, dtype=float)
    discount = np.ascontiguousarray(discount, dtype=float)
    if spend_params is None or not bits & 4:
        spend_params = np.ones((3, params.shape[1], 1))
        spend_seg = np.zeros(x.size, dtype=np.int64)
        monetary = np.zeros(x.size)
    spend_params = np.ascontiguousarray(spend_params, dtype=float)
    spend_seg = np.ascontiguousarray(spend_seg, dtype=np.int64)
    monetary = np.ascontiguousarray(monetary, dtype=float)
    n_draws = params.shape[1]
    ks, lo, hi, gamma = quantile_plan(n_draws, quantiles)
    # rows ordered by (cell, T, x, t_x), cut into blocks whose tables stay within _TABLE_ELEMENTS numbers each
    order = np.lexsort((t_x, x, T, cell))
    ct_sorted = _keys(cell[order], T[order])[0]
    xt_sorted = _keys(cell[order], T[order], x[order])[0]
    max_ct = max(1, _TABLE_ELEMENTS // (n_draws * (horizons.size + 1)))
    max_xt = max(1, _TABLE_ELEMENTS // (n_draws * 4))
    max_rows = max(1, _TABLE_ELEMENTS // n_draws)
    n_stats = 1 + len(quantiles)
    table = np.empty((x.size, 3 * n_stats))
    bad = np.zeros(x.size, dtype=np.int64)
    start = 0
    while start < x.size:
        end = min(
            start + max_rows,
            int(np.searchsorted(ct_sorted, ct_sorted[start] + max_ct)),
            int(np.searchsorted(xt_sorted, xt_sorted[start] + max_xt)),
        )
        rows = order[start:end]
        b_cell, b_x, b_tx, b_T = cell[rows], x[rows], t_x[rows], T[rows]
        row_ct, ct_first = _keys(b_cell, b_T)
        row_xt, xt_first = _keys(b_cell, b_x, b_T)
        row_tx, tx_first = _keys(b_cell, b_x, b_tx)
        ct_table = _cell_t_table(kind, params, b_cell[ct_first], b_T[ct_first], horizons)
        xt_table = _cell_x_t_table(
            kind,
            params,
            b_cell[xt_first],
            b_x[xt_first],
            b_T[xt_first],
            row_ct[xt_first],
            ct_table,
            horizons,
            discount,
        )
        del ct_table
        tx_table = _cell_x_tx_table(kind, params, b_cell[tx_first], b_x[tx_first], b_tx[tx_first])
        out, flags = _rows(
            kind,
            params,
            b_cell,
            b_x,
            b_tx,
            b_T,
            row_xt,
            row_tx,
            xt_table,
            tx_table,
            spend_params,
            spend_seg[rows],
            monetary[rows],
            int(bits),
            ks,
            lo,
            hi,
            gamma,
        )
        table[rows] = out
        bad[rows] = flags
        start = end
    return table, bad
