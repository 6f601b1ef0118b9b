"""Compiled per-row scoring kernels: P(alive), expected purchases and discounted CLV summarised over draws.

The scoring engine (:mod:`ltvlab.ltv.engine`) hands :func:`score_block` a block of distinct summary rows and the
posterior draws; compiled passes (Numba, parallel on the machine's cores) return, per row, the mean and the
5/50/95% quantiles over draws of each quantity, without forming a draws x rows array. Quantiles are NumPy's
default ("linear") rule, exactly: the needed order statistics of a row's draws are bracketed by adjacent values
of a sorted sample of the draws (counting passes narrow the brackets by bisection), then one pass copies the draws
inside the brackets and a selection there finds them.

Work is shared wherever the formulas allow. Alive at ``T`` the future of a customer depends on ``(x, T)`` only
(memorylessness), so expected purchases are ``P(alive) x R(t; x, T)``. Rows are ordered by (cell, x, T, t_x)
and cut into blocks; per block and draw (parallel over draws) the logarithms of ``alpha + tau`` (and ``beta +
tau``) are taken once per distinct (cell, tau) over the block's T, t_x and T + horizon values, the horizon terms
once per (cell, T), and then, per (cell, x), one power series of the Gauss hypergeometric function with shared
coefficients is summed at all of that group's points -- every (T, horizon) for the BG/NBD-type ``R`` and every
T and t_x for the Pareto/NBD P(alive) term -- each point summed at least until its own terms are negligible. The
tables hold, per (cell, x, T) and draw, ``R``, its discounted increments and the T part of the death odds, and
per (cell, x, t_x) the t_x part, both in linear space scaled so that P(alive) per row and draw is one division;
where those scaled numbers would underflow (hundreds of purchases) the draw takes the log-space formula, and
where SciPy's hyp2f1 is not finite the Pareto/NBD quadrature, as :mod:`ltvlab.ltv.formulas` does.

The formulas are those of :mod:`ltvlab.ltv.formulas` term by term; where the shared series does not apply
(``z > 0.92``, or parameters for which its terms change sign) SciPy's own hyp2f1 is called through its Cython C
interface, so scores equal the NumPy expressions to rounding (tested to 1e-10 in
``tests/ltv/test_scoring_kernels.py``).

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
_TABLE_ELEMENTS = 6_000_000  # numbers in the tables of one block (48 MB)
_DRAW_CHUNK = 8  # draws per parallel task when filling the tables
_TINY = (
    1e-280  # below this a linear-space ratio may have lost precision: the draw takes the log-space formula
)


@nb.njit(cache=True)
def hyp2f1(a, b, c, z):  # pragma: no cover - compiled
    """SciPy's ``hyp2f1(a, b, c, z)`` for real arguments (the same C function)."""
    return _hyp2f1_c(a, b, c, z, 0)


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


# ------------------------------------------------------------------------------- shared power series


@nb.njit(cache=True)
def _series(a, b, c, z, lists, out, pw, acc):  # pragma: no cover - compiled
    """``out[k] = 2F1(a, b; c; z[k])``: one power series for all ``z`` (shared coefficients).

    ``z`` is cut into lists ``lists[l]:lists[l + 1]``, each ordered by ``z`` descending (the caller's layout:
    one list per horizon, the T's ascending). Used where the series converges quickly and has no cancellation
    (``c > 0.5``, ``a > -1``, ``b > -1``, ``z`` in ``[0, 0.92]``): every term after the first has one sign, and
    the sum for ``z[k]`` is final once its term is below 1e-17 of the sum times ``1 - z[k]``, a bound on the
    rest. Each list sums over a contiguous prefix (the loop vectorises); every 8 terms the prefix drops its last
    points while they are final, so a point is summed at least as far as its own bound asks (further only
    where a larger ``z`` before it in its list is still summing). Elsewhere (and after 3,000 terms) SciPy's
    function is called per ``z``. ``pw, acc`` are scratch arrays of at least ``z``'s size.
    """
    n_lists = lists.size - 1
    if not (c > 0.5 and a > -1.0 and b > -1.0):
        for k in range(lists[n_lists]):
            out[k] = hyp2f1(a, b, c, z[k])
        return
    first = np.empty(n_lists, dtype=np.int64)  # each list sums z[first[l]:stop[l]]
    stop = np.empty(n_lists, dtype=np.int64)
    active = 0
    for q in range(n_lists):
        k = lists[q]
        while k < lists[q + 1] and not (0.0 <= z[k] <= _SERIES_MAX_Z):
            out[k] = hyp2f1(a, b, c, z[k])  # the large z lead their list
            k += 1
        first[q] = k
        stop[q] = lists[q + 1]
        for m in range(k, lists[q + 1]):
            if not (0.0 <= z[m] <= _SERIES_MAX_Z):  # out of order: SciPy, and a zero term from here on
                out[m] = hyp2f1(a, b, c, z[m])
                pw[m] = 0.0
                acc[m] = 1.0
            else:
                pw[m] = 1.0
                acc[m] = 1.0
        if stop[q] > k:
            active += 1
    coef = 1.0
    coefs = np.empty(8)
    i = 0
    while active > 0 and i < _SERIES_MAX_TERMS:
        for step in range(8):
            fi = float(i + step)
            coef *= (a + fi) * (b + fi) / ((c + fi) * (fi + 1.0))
            coefs[step] = coef
        for q in range(n_lists):
            zq, pq, aq = z[first[q] : stop[q]], pw[first[q] : stop[q]], acc[first[q] : stop[q]]
            for m in range(zq.size):  # eight terms per point on views and locals: the loop vectorises
                zm = zq[m]
                t = pq[m]
                total = aq[m]
                for step in range(8):
                    t *= zm
                    total += coefs[step] * t
                pq[m] = t
                aq[m] = total
        i += 8
        active = 0
        for q in range(n_lists):  # retire the final sums at the end of each list
            m = stop[q] - 1
            while m >= first[q] and abs(coef * pw[m]) <= 1e-17 * (1.0 - z[m]) * abs(acc[m]):
                if 0.0 <= z[m] <= _SERIES_MAX_Z:
                    out[m] = acc[m]
                m -= 1
            stop[q] = m + 1
            if stop[q] > first[q]:
                active += 1
    for q in range(n_lists):  # did not converge: SciPy's transformations
        for m in range(first[q], stop[q]):
            if 0.0 <= z[m] <= _SERIES_MAX_Z:
                out[m] = hyp2f1(a, b, c, z[m])


# ---------------------------------------------------------------------------------------- table stages
#
# A block of distinct rows is described by
#   tau entries  (cell, tau): every distinct (cell, T) and (cell, t_x) of the block; ``tau_is_T`` marks the T's
#   xt entries   (cell, x, T), sorted; ``e_T`` its T, ``e_tau`` its tau entry
#   tx entries   (cell, x, t_x), sorted; ``f_tx`` its t_x, ``f_tau`` its tau entry
#   groups       (cell, x): xt entries ``g_e0[g]:g_e1[g]`` and tx entries ``g_f0[g]:g_f1[g]``
# The tables are filled draw by draw (parallel over chunks of draws): per draw the (cell, tau) logarithms and the
# (cell, T) horizon terms once, then per group one shared power series over all of its (T, horizon) or tau points.


@nb.njit(cache=True)
def _bg_draw(
    kind,
    P,
    j,
    tau_cell,
    tau_val,
    tau_is_T,
    shift,
    g_cell,
    g_x,
    g_e0,
    g_e1,
    g_f0,
    g_f1,
    e_T,
    e_tau,
    f_tau,
    horizons,
    discount,
    xt,
    tx,
    la,
    tails,
    z,
    F,
    pw,
    acc,
    lists,
):  # pragma: no cover - compiled
    """BG/NBD-type tables of draw ``j``: xt = [U, R(horizon), D], tx = V, with P(alive) = U / (U + V).

    ``U = exp(-c0 - (r+x) log((alpha+T)/alpha))`` and ``V = ((alpha+t_x)/alpha)^-(r+x)``, so ``V / U`` is the
    death odds ``exp(c0 + (r+x) (log(alpha+T) - log(alpha+t_x)))`` of :func:`ltvlab.ltv.formulas`.
    """
    nk = horizons.size
    for u in range(tau_cell.size):
        la[u] = np.log(P[tau_cell[u], 1, j] + tau_val[u])
    for u in range(tau_cell.size):  # ((alpha + T) / (alpha + T + horizon))^(a - 1)
        if tau_is_T[u]:
            a_minus_1 = P[tau_cell[u], 2, j] - 1.0
            for k in range(nk):
                tails[u, k] = np.exp(a_minus_1 * (la[u] - la[shift[u, k]]))
    for g in range(g_cell.size):
        c, x = g_cell[g], g_x[g]
        r, alpha, a, b = P[c, 0, j], P[c, 1, j], P[c, 2, j], P[c, 3, j]
        if kind == BGNBD_KERNEL:
            c0 = np.log(a) - np.log(b + max(x, 1.0) - 1.0)
            hyp_a, hyp_c = a + b - 1.0 - r, a + b + x - 1.0
        else:  # MBG/NBD: BG/NBD expectation of a new customer with r + x, alpha + T, b + x + 1
            c0 = np.log(a) - np.log(b + x)
            b_post, r_post = b + x + 1.0, r + x
            hyp_a, hyp_c = a + b_post - 1.0 - r_post, a + b_post - 1.0
        rx = r + x
        log_alpha = np.log(alpha)
        e0, ne = g_e0[g], g_e1[g] - g_e0[g]
        for k in range(nk):  # one list per horizon, T ascending: z descending
            lists[k] = k * ne
            h = horizons[k]
            for q in range(ne):
                z[k * ne + q] = h / (alpha + e_T[e0 + q] + h)
        lists[nk] = nk * ne
        _series(hyp_a, a - 1.0, hyp_c, z, lists[: nk + 1], F, pw, acc)
        a_minus_1 = 1e-10 if abs(a - 1.0) < 1e-10 else a - 1.0
        scale = hyp_c / a_minus_1
        for q in range(ne):
            e = e0 + q
            u = e_tau[e]
            xt[0, e, j] = np.exp(-c0 - rx * (la[u] - log_alpha))
            total = 0.0
            previous = 0.0
            for k in range(nk):
                rate = scale * (1.0 - tails[u, k] * F[k * ne + q])
                total += (rate - previous) / discount[k]
                previous = rate
            xt[1, e, j] = previous
            xt[2, e, j] = total
        for f in range(g_f0[g], g_f1[g]):
            tx[f, j] = np.exp(-rx * (la[f_tau[f]] - log_alpha))


@nb.njit(cache=True)
def _pnbd_draw(
    P,
    j,
    tau_cell,
    tau_val,
    tau_is_T,
    shift,
    g_cell,
    g_x,
    g_e0,
    g_e1,
    g_f0,
    g_f1,
    e_T,
    e_tau,
    f_tau,
    horizons,
    discount,
    xt,
    tx,
    la,
    tails,
    z,
    F,
    pw,
    acc,
    lists,
):  # pragma: no cover - compiled
    """Pareto/NBD tables of draw ``j``: xt = [C, G(T), R(horizon), D], tx = G(t_x).

    ``G(tau) = g(tau) / g0`` is the hypergeometric term of :func:`_pnbd_log_term` scaled by its tau-free part
    ``g0`` (the same for T and t_x of a (cell, x)), and ``C = s / (r+s+x) * g0 / alive-likelihood(T)``, so the
    death odds are ``C * (G(t_x) - G(T))`` (``G`` NaN where SciPy's hyp2f1 is not finite: the row takes the
    reference path with its quadrature).
    """
    nk = horizons.size
    lb = tails[:, nk]
    for u in range(tau_cell.size):
        c = tau_cell[u]
        la[u] = np.log(P[c, 1, j] + tau_val[u])
        lb[u] = np.log(P[c, 3, j] + tau_val[u])
    for u in range(tau_cell.size):
        if tau_is_T[u]:
            s_minus_1 = P[tau_cell[u], 2, j] - 1.0
            for k in range(nk):
                tails[u, k] = _ratio_power_over(s_minus_1, lb[shift[u, k]] - lb[u])
    for g in range(g_cell.size):
        c, x = g_cell[g], g_x[g]
        r, alpha, s, beta = P[c, 0, j], P[c, 1, j], P[c, 2, j], P[c, 3, j]
        rx = r + x
        kk = r + s + x
        alpha_ge = alpha >= beta
        big = alpha if alpha_ge else beta
        d = abs(alpha - beta)
        second = rx if alpha_ge else s + 1.0
        if alpha_ge:
            e_a, e_b = -rx, -s
        else:
            e_a, e_b = 1.0 - rx, -(s + 1.0)
        log_g0 = e_a * np.log(alpha) + e_b * np.log(beta)
        n = 0
        for e in range(g_e0[g], g_e1[g]):
            z[n] = d / (big + e_T[e])
            n += 1
        for f in range(g_f0[g], g_f1[g]):
            z[n] = d / (big + tau_val[f_tau[f]])
            n += 1
        lists[0], lists[1], lists[2] = 0, g_e1[g] - g_e0[g], n  # T's ascending, then t_x's ascending
        _series(1.0, second, kk + 1.0, z, lists[:3], F, pw, acc)
        n = 0
        for e in range(g_e0[g], g_e1[g]):
            u = e_tau[e]
            log_f = np.log(F[n])
            n += 1
            log_alive = -rx * la[u] - s * lb[u]
            xt[0, e, j] = s / kk * np.exp(log_g0 - log_alive)
            xt[1, e, j] = np.exp(e_a * la[u] + e_b * lb[u] + log_f - log_g0) if np.isfinite(log_f) else np.nan
            factor = rx * (beta + e_T[e]) / (alpha + e_T[e])
            total = 0.0
            previous = 0.0
            for k in range(nk):
                rate = factor * tails[u, k]
                total += (rate - previous) / discount[k]
                previous = rate
            xt[2, e, j] = previous
            xt[3, e, j] = total
        for f in range(g_f0[g], g_f1[g]):
            u = f_tau[f]
            log_f = np.log(F[n])
            n += 1
            tx[f, j] = np.exp(e_a * la[u] + e_b * lb[u] + log_f - log_g0) if np.isfinite(log_f) else np.nan


@nb.njit(cache=True, parallel=True)
def _tables(
    kind,
    P,
    tau_cell,
    tau_val,
    tau_is_T,
    shift,
    g_cell,
    g_x,
    g_e0,
    g_e1,
    g_f0,
    g_f1,
    e_T,
    e_tau,
    f_tau,
    horizons,
    discount,
    xt,
    tx,
):  # pragma: no cover - compiled
    """Fill ``xt`` (fields x xt entries x draws) and ``tx`` (tx entries x draws), parallel over chunks of draws."""
    n_draws = P.shape[2]
    nk = horizons.size
    width = 1
    for g in range(g_cell.size):
        width = max(width, (g_e1[g] - g_e0[g]) * nk + (g_f1[g] - g_f0[g]))
    n_chunks = (n_draws + _DRAW_CHUNK - 1) // _DRAW_CHUNK
    for chunk in nb.prange(n_chunks):
        la = np.empty(tau_cell.size)
        tails = np.empty((tau_cell.size, nk + 1))
        z, F = np.empty(width), np.empty(width)
        pw, acc = np.empty(width), np.empty(width)
        lists = np.empty(nk + 3, dtype=np.int64)
        for j in range(chunk * _DRAW_CHUNK, min(n_draws, (chunk + 1) * _DRAW_CHUNK)):
            if kind == PNBD_KERNEL:
                _pnbd_draw(
                    P,
                    j,
                    tau_cell,
                    tau_val,
                    tau_is_T,
                    shift,
                    g_cell,
                    g_x,
                    g_e0,
                    g_e1,
                    g_f0,
                    g_f1,
                    e_T,
                    e_tau,
                    f_tau,
                    horizons,
                    discount,
                    xt,
                    tx,
                    la,
                    tails,
                    z,
                    F,
                    pw,
                    acc,
                    lists,
                )
            else:
                _bg_draw(
                    kind,
                    P,
                    j,
                    tau_cell,
                    tau_val,
                    tau_is_T,
                    shift,
                    g_cell,
                    g_x,
                    g_e0,
                    g_e1,
                    g_f0,
                    g_f1,
                    e_T,
                    e_tau,
                    f_tau,
                    horizons,
                    discount,
                    xt,
                    tx,
                    la,
                    tails,
                    z,
                    F,
                    pw,
                    acc,
                    lists,
                )


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
def _select_many(v, ks):  # pragma: no cover - compiled
    """Place every order statistic ``ks`` (ascending) of ``v`` at its index, by nested selection."""
    n = v.size
    m = ks.size
    stack = np.empty((2 * m + 2, 4), dtype=np.int64)
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


@nb.njit(cache=True)
def _bracketed(v, buf, k_lo, k_hi, lo_val, hi_val):  # pragma: no cover - compiled
    """Order statistics ``k_lo <= k_hi`` (at most one apart) of ``v`` if they lie in ``[lo_val, hi_val]``.

    One branch-free pass counts the values below ``lo_val`` and copies those inside the bracket to ``buf``;
    the two order statistics are then selected in ``buf``. Returns ``(found, value_lo, value_hi)``.
    """
    below = 0
    inside = 0
    for i in range(v.size):
        value = v[i]
        below += value < lo_val
        buf[inside] = value
        inside += (value >= lo_val) & (value <= hi_val)
    a, b = k_lo - below, k_hi - below
    if a < 0 or b >= inside:
        return False, 0.0, 0.0
    _select(buf, 0, inside, a)
    first = buf[a]
    if b == a:
        return True, first, first
    _select(buf, a + 1, inside, b)
    return True, first, buf[b]


@nb.njit(cache=True)
def _below3(v, s0, s1, s2):  # pragma: no cover - compiled
    """How many values of ``v`` are below each of three values (one vectorised pass)."""
    b0 = b1 = b2 = 0
    for i in range(v.size):
        value = v[i]
        b0 += value < s0
        b1 += value < s1
        b2 += value < s2
    return b0, b1, b2


@nb.njit(cache=True)
def _three_quantiles(v, buf, sample, scratch, q_lo, q_hi, q_gamma, out, col):  # pragma: no cover - compiled
    """Three linear-interpolation quantiles of ``v`` (finite values) into ``out[col + 1 : col + 4]``.

    ``sample`` is a sorted sample of ``v`` (so each of its values occurs in ``v``). For each quantile a window
    of sample values around its expected position (2.5 binomial standard deviations of the sample rank either
    side) is narrowed by bisection: each pass counts, for the three quantiles at once, the values below one
    sample value ``s``. ``below(s) <= q_lo`` puts ``v_(q_lo) >= s``; ``below(s) >= q_hi`` puts ``v_(q_hi) <= s``
    (``s`` itself is in ``v``), and one of the two always holds, so the window shrinks until the pair of order
    statistics lies between two adjacent sample values (a window end that turns out wrong is replaced by the
    next sample value out, or by -inf / +inf). For the three quantiles at once, one pass then counts the values
    equal to each lower end and another copies those strictly inside a bracket (about ``n / len(sample)`` per
    bracket) to a staging area of ``buf``, from which they are dealt to each bracket's region, where the order
    statistics are selected; point masses at an end (ties) are never copied. ``buf`` holds
    ``_buffer_size(v.size)`` numbers (the sample at ``3 * v.size``), ``scratch`` ``_INT_SCRATCH`` integers.
    """
    n = v.size
    size = sample.size
    a = scratch[0:3]  # sample index with below(sample[a]) <= q_lo (-1: -inf)
    b = scratch[3:6]  # sample index with below(sample[b]) >= q_hi (size: +inf)
    below_a = scratch[6:9]
    state = scratch[9:12]  # 0: check a, 1: check b, 2: bisect, 3: done
    probe = scratch[12:15]
    for i in range(3):
        share = (q_lo[i] + 0.5) / n
        half = _BRACKET_SD * np.sqrt(size * share * (1.0 - share)) + 1.0
        a[i] = max(-1, int(np.floor(size * q_lo[i] / n - half)))
        b[i] = min(size, int(np.ceil(size * (q_hi[i] + 1) / n + half)))
        below_a[i] = 0
        state[i] = 0
        probe[i] = 0
    while True:
        busy = 0
        for i in range(3):
            if state[i] == 0 and a[i] < 0:
                state[i] = 1
            if state[i] == 1 and b[i] >= size:
                state[i] = 2
            if state[i] == 2 and b[i] - a[i] <= 1:
                state[i] = 3
            if state[i] == 0:
                probe[i] = a[i]
            elif state[i] == 1:
                probe[i] = b[i]
            elif state[i] == 2:
                probe[i] = (a[i] + b[i]) // 2
            else:
                probe[i] = max(a[i], 0)
            busy += state[i] < 3
        if busy == 0:
            break
        counts = _below3(v, sample[probe[0]], sample[probe[1]], sample[probe[2]])
        for i in range(3):
            below = counts[i]
            if state[i] == 0:  # check a; if v_(q_lo) is below it, it is a valid b
                if below <= q_lo[i]:
                    below_a[i] = below
                    state[i] = 1
                else:
                    b[i], a[i], below_a[i], state[i] = a[i], -1, 0, 2
            elif state[i] == 1:  # check b; if v_(q_hi) is above it, it is a valid a
                if below >= q_hi[i]:
                    state[i] = 2
                else:
                    a[i], below_a[i], b[i], state[i] = b[i], below, size, 2
            elif state[i] == 2:
                if below <= q_lo[i]:
                    a[i], below_a[i] = probe[i], below
                if below >= q_hi[i]:
                    b[i] = probe[i]
    lo0 = sample[a[0]] if a[0] >= 0 else -np.inf
    lo1 = sample[a[1]] if a[1] >= 0 else -np.inf
    lo2 = sample[a[2]] if a[2] >= 0 else -np.inf
    hi0 = sample[b[0]] if b[0] < size else np.inf
    hi1 = sample[b[1]] if b[1] < size else np.inf
    hi2 = sample[b[2]] if b[2] < size else np.inf
    # the values equal to each lower end are counted (one vectorised pass); those strictly inside any bracket
    # are copied in one stream (branch-free: every value is stored, the end advances when it is inside), then
    # dealt to the three brackets' regions of buf
    at0 = at1 = at2 = 0
    for j in range(n):
        value = v[j]
        at0 += value == lo0
        at1 += value == lo1
        at2 += value == lo2
    stage = 3 * n + _SAMPLE
    copied = stage
    for j in range(n):
        value = v[j]
        buf[copied] = value
        copied += (
            ((value > lo0) & (value < hi0))
            | ((value > lo1) & (value < hi1))
            | ((value > lo2) & (value < hi2))
        )
    in0, in1, in2 = 0, n, 2 * n
    # brackets may overlap (nearby quantiles): a value goes to each bracket it is inside
    for j in range(stage, copied):
        value = buf[j]
        if value > lo0 and value < hi0:
            buf[in0] = value
            in0 += 1
        if value > lo1 and value < hi1:
            buf[in1] = value
            in1 += 1
        if value > lo2 and value < hi2:
            buf[in2] = value
            in2 += 1
    for i in range(3):
        if i == 0:
            lo_val, hi_val, inside, at_lo = lo0, hi0, in0, at0
        elif i == 1:
            lo_val, hi_val, inside, at_lo = lo1, hi1, in1, at1
        else:
            lo_val, hi_val, inside, at_lo = lo2, hi2, in2, at2
        start = i * n
        if lo_val == hi_val:  # both order statistics equal this value
            out[col + 1 + i] = lo_val
            continue
        # ranks among the copied values (below them: at lo_val; past them: at hi_val)
        m = inside - start
        r0 = q_lo[i] - below_a[i] - at_lo
        r1 = q_hi[i] - below_a[i] - at_lo
        if r0 < 0:
            first = lo_val
        elif r0 < m:
            _select(buf, start, inside, start + r0)
            first = buf[start + r0]
        else:
            first = hi_val
        if r1 == r0:
            second = first
        elif r1 < 0:
            second = lo_val
        elif r1 < m:  # after selecting r0 the values past it are the larger ones
            _select(buf, start + r0 + 1 if 0 <= r0 else start, inside, start + r1)
            second = buf[start + r1]
        else:
            second = hi_val
        t = q_gamma[i]
        diff = second - first
        out[col + 1 + i] = second - diff * (1.0 - t) if t >= 0.5 else first + diff * t


_SAMPLE = 32  # sample of the draws whose order statistics bracket each quantile
_INT_SCRATCH = 15  # integers of scratch a summary takes: five per-quantile state arrays of three


@nb.njit(cache=True)
def _buffer_size(n):  # pragma: no cover - compiled
    """Numbers of float scratch a summary of ``n`` values takes: three brackets, the sample, a staging copy."""
    return 4 * n + _SAMPLE


@nb.njit(cache=True)
def _sum(v):  # pragma: no cover - compiled
    """Sum of ``v`` in eight interleaved partial sums (independent additions, so the loop pipelines; no scratch
    array), added pairwise at the end."""
    n = v.size
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    full = n - n % 8
    for i in range(0, full, 8):
        s0 += v[i]
        s1 += v[i + 1]
        s2 += v[i + 2]
        s3 += v[i + 3]
        s4 += v[i + 4]
        s5 += v[i + 5]
        s6 += v[i + 6]
        s7 += v[i + 7]
    total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for i in range(full, n):
        total += v[i]
    return total


_BRACKET_SD = 2.5  # half-width of a bracket in binomial standard deviations of the sample rank


@nb.njit(cache=True)
def _summarise_into(v, buf, scratch, ks, q_lo, q_hi, q_gamma, out, col):  # pragma: no cover - compiled
    """Mean and linear-interpolation quantiles of ``v`` into ``out[col], out[col + 1 ..]``.

    ``buf`` is scratch of ``_buffer_size(v.size)`` numbers and ``scratch`` of ``_INT_SCRATCH`` integers; ``v`` may
    be reordered. Returns False (quantiles NaN) when the sum is not finite. Quantile ``i`` is ``v``'s order
    statistics ``q_lo[i]``, ``q_hi[i]`` interpolated (NumPy's default rule). With more than 256 values the order
    statistics are bracketed by a sorted strided sample of 32 values: for three quantiles (the engine's) the
    brackets are narrowed to adjacent sample values by counting passes (:func:`_three_quantiles`); otherwise each
    pair is found in a bracket of 2.5 binomial standard deviations of the sample rank either side, by one pass over
    ``v`` and a selection in the bracket, and a bracket that misses falls back to selection in ``v``.
    """
    n = v.size
    total = _sum(v)
    out[col] = total / n
    nq = q_lo.size
    if not np.isfinite(total):
        for i in range(nq):
            out[col + 1 + i] = np.nan
        return False
    if n <= 256:
        _select_many(v, ks)
        for i in range(nq):
            a, b, t = v[q_lo[i]], v[q_hi[i]], q_gamma[i]
            diff = b - a
            out[col + 1 + i] = b - diff * (1.0 - t) if t >= 0.5 else a + diff * t
        return True
    sample = buf[3 * n : 3 * n + _SAMPLE]
    stride = n // _SAMPLE
    for i in range(_SAMPLE):
        sample[i] = v[i * stride + stride // 2]
    for i in range(1, _SAMPLE):  # insertion sort of the sample
        key = sample[i]
        m = i - 1
        while m >= 0 and sample[m] > key:
            sample[m + 1] = sample[m]
            m -= 1
        sample[m + 1] = key
    if nq == 3:  # the engine's 5/50/95%
        _three_quantiles(v, buf, sample, scratch, q_lo, q_hi, q_gamma, out, col)
        return True
    fallback = False
    for i in range(nq):
        share = (q_lo[i] + 0.5) / n
        half = _BRACKET_SD * np.sqrt(_SAMPLE * share * (1.0 - share)) + 1.0
        j_lo = int(np.floor(_SAMPLE * q_lo[i] / n - half))
        j_hi = int(np.ceil(_SAMPLE * (q_hi[i] + 1) / n + half))
        lo_val = sample[j_lo] if j_lo >= 0 else -np.inf
        hi_val = sample[j_hi] if j_hi < _SAMPLE else np.inf
        found, a, b = _bracketed(v, buf, q_lo[i], q_hi[i], lo_val, hi_val)
        if not found:
            fallback = True
            break
        t = q_gamma[i]
        diff = b - a
        out[col + 1 + i] = b - diff * (1.0 - t) if t >= 0.5 else a + diff * t
    if fallback:
        _select_many(v, ks)
        for i in range(nq):
            a, b, t = v[q_lo[i]], v[q_hi[i]], q_gamma[i]
            diff = b - a
            out[col + 1 + i] = b - diff * (1.0 - t) if t >= 0.5 else a + diff * t
    return True


@nb.njit(cache=True)
def _summarise(v, ks, q_lo, q_hi, q_gamma, out, col):  # pragma: no cover - compiled
    """:func:`_summarise_into` with its own scratch (``v`` is reordered)."""
    scratch = np.empty(_INT_SCRATCH, dtype=np.int64)
    return _summarise_into(v, np.empty(_buffer_size(v.size)), scratch, ks, q_lo, q_hi, q_gamma, out, col)


# ------------------------------------------------------------------------------------------------ rows


@nb.njit(cache=True)
def _reference_alive(kind, x, t_x, T, r, alpha, p3, p4):  # pragma: no cover - compiled
    """P(alive) of one draw by the formulas of :mod:`ltvlab.ltv.formulas` in log space (for the few draws where
    the tables' linear-space ratio would underflow)."""
    if kind == PNBD_KERNEL:
        s, beta = p3, p4
        log_g_tx = _pnbd_log_term(t_x, x, r, alpha, s, beta)
        log_g_T = _pnbd_log_term(T, x, r, alpha, s, beta)
        if np.isfinite(log_g_tx) and np.isfinite(log_g_T):
            log_j = log_g_tx + np.log(-np.expm1(min(log_g_T - log_g_tx, 0.0))) - np.log(r + s + x)
        else:
            log_j = _pnbd_log_integral_quadrature(x, t_x, T, r, alpha, s, beta)
        log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        return _expit(-(np.log(s) + log_j - log_alive))
    a, b = p3, p4
    if kind == BGNBD_KERNEL:
        c0 = np.log(a) - np.log(b + max(x, 1.0) - 1.0)
    else:
        c0 = np.log(a) - np.log(b + x)
    return _expit(-(c0 + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))))


_ROW_CHUNK = 16


@nb.njit(cache=True, parallel=True)
def _rows(
    kind,
    P,
    row_cell,
    x,
    t_x,
    T,
    row_e,
    row_f,
    xt,
    tx,
    SP,
    spend_seg,
    monetary,
    bits,
    ks,
    q_lo,
    q_hi,
    q_gamma,
    out,
    bad,
):  # pragma: no cover - compiled
    """Per row: the quantities in ``bits`` per draw from the tables, summarised into ``out``; ``bad`` flags
    rows with a non-finite value (bit of the quantity)."""
    n_draws = P.shape[2]
    n_rows = x.size
    n_stats = 1 + q_lo.size
    n_chunks = (n_rows + _ROW_CHUNK - 1) // _ROW_CHUNK
    for chunk in nb.prange(n_chunks):
        alive = np.empty(n_draws)
        purchases = np.empty(n_draws)
        value = np.empty(n_draws)
        buf = np.empty(_buffer_size(n_draws))
        scratch = np.empty(_INT_SCRATCH, dtype=np.int64)
        for i in range(chunk * _ROW_CHUNK, min(n_rows, (chunk + 1) * _ROW_CHUNK)):
            c, e, f = row_cell[i], row_e[i], row_f[i]
            xi = x[i]
            if kind == PNBD_KERNEL:
                C, G_T, rate, disc, G_tx = xt[0, e], xt[1, e], xt[2, e], xt[3, e], tx[f]
                fine = 0
                for j in range(n_draws):
                    alive[j] = 1.0 / (1.0 + C[j] * max(G_tx[j] - G_T[j], 0.0))
                    fine += (G_tx[j] >= _TINY) & (C[j] < np.inf) & (G_T[j] == G_T[j])
                for j in range(n_draws if fine < n_draws else 0):
                    if not (G_tx[j] >= _TINY and C[j] < np.inf and G_T[j] == G_T[j]):
                        alive[j] = _reference_alive(
                            kind, xi, t_x[i], T[i], P[c, 0, j], P[c, 1, j], P[c, 2, j], P[c, 3, j]
                        )
            else:
                U, rate, disc, V = xt[0, e], xt[1, e], xt[2, e], tx[f]
                if kind == BGNBD_KERNEL and xi <= 0.0:
                    for j in range(n_draws):
                        alive[j] = 1.0
                else:
                    fine = 0
                    for j in range(n_draws):
                        total = U[j] + V[j]
                        alive[j] = U[j] / total
                        fine += total >= _TINY
                    for j in range(n_draws if fine < n_draws else 0):  # the rare draws to redo in log space
                        if not (U[j] + V[j] >= _TINY):
                            alive[j] = _reference_alive(
                                kind, xi, t_x[i], T[i], P[c, 0, j], P[c, 1, j], P[c, 2, j], P[c, 3, j]
                            )
            for j in range(n_draws):
                purchases[j] = rate[j] * alive[j]
            if bits & 4:
                g = spend_seg[i]
                sp, sq, sg = SP[g, 0], SP[g, 1], SP[g, 2]
                m = monetary[i] if xi > 0 else 0.0
                for j in range(n_draws):
                    denom = sp[j] * xi + sq[j] - 1.0
                    spend = sp[j] * (sg[j] + xi * m) / denom if denom > 0 else np.inf
                    value[j] = alive[j] * disc[j] * spend
            if bits & 1 and not _summarise_into(alive, buf, scratch, ks, q_lo, q_hi, q_gamma, out[i], 0):
                bad[i] |= 1
            if bits & 2 and not _summarise_into(
                purchases, buf, scratch, ks, q_lo, q_hi, q_gamma, out[i], n_stats
            ):
                bad[i] |= 2
            if bits & 4 and not _summarise_into(
                value, buf, scratch, ks, q_lo, q_hi, q_gamma, out[i], 2 * n_stats
            ):
                bad[i] |= 4


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


def _codes(*columns: np.ndarray) -> np.ndarray:
    """One integer per row, ordered as the rows' ``columns`` are lexicographically (dense ranks combined)."""
    codes = np.zeros(columns[0].size, dtype=np.int64)
    for column in columns:
        uniq, inv = np.unique(column, return_inverse=True)
        codes = codes * uniq.size + inv.reshape(-1)
    return codes


def _entries(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's distinct code (distinct codes ascending) and the row of each code's first occurrence."""
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), first


def _block_layout(
    cell: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, horizons: np.ndarray
) -> dict[str, np.ndarray]:
    """The tau / xt / tx / group arrays of one block of rows (see the table stages above)."""
    row_e, e_first = _entries(_codes(cell, x, T))
    row_f, f_first = _entries(_codes(cell, x, t_x))
    e_cell, e_x, e_T = cell[e_first], x[e_first], T[e_first]
    f_cell, f_x, f_tx = cell[f_first], x[f_first], t_x[f_first]
    # tau entries: distinct (cell, tau) over the T's of xt entries, the t_x's of tx entries and each T plus each
    # horizon (on a grid of days these coincide, so their logarithms are shared)
    nk = horizons.size
    _, T_first = _entries(_codes(e_cell, e_T))
    ne, nf = e_cell.size, f_cell.size
    tau_cells = np.concatenate([e_cell, f_cell, np.repeat(e_cell[T_first], nk)])
    tau_vals = np.concatenate([e_T, f_tx, (e_T[T_first][:, None] + horizons[None, :]).reshape(-1)])
    tau_index, tau_first = _entries(_codes(tau_cells, tau_vals))
    tau_is_T = np.zeros(tau_first.size, dtype=np.bool_)
    tau_is_T[tau_index[:ne]] = True
    shift = np.zeros((tau_first.size, nk), dtype=np.int64)  # tau entry of (cell, T + horizon k) per T entry
    shift[tau_index[:ne][T_first]] = tau_index[ne + nf :].reshape(-1, nk)
    # groups: distinct (cell, x) over both entry lists; entries are sorted by (cell, x, ...) so each group's
    # entries are contiguous
    group_index, group_first = _entries(_codes(np.concatenate([e_cell, f_cell]), np.concatenate([e_x, f_x])))
    n_groups = group_first.size
    e_group, f_group = group_index[: e_cell.size], group_index[e_cell.size :]
    bounds_e = np.searchsorted(e_group, np.arange(n_groups + 1))
    bounds_f = np.searchsorted(f_group, np.arange(n_groups + 1))
    return {
        "row_e": row_e,
        "row_f": row_f,
        "tau_cell": tau_cells[tau_first].astype(np.int64),
        "tau_val": tau_vals[tau_first],
        "tau_is_T": tau_is_T,
        "shift": shift,
        "g_cell": tau_cells[group_first].astype(np.int64),
        "g_x": np.concatenate([e_x, f_x])[group_first],
        "g_e0": bounds_e[:-1].astype(np.int64),
        "g_e1": bounds_e[1:].astype(np.int64),
        "g_f0": bounds_f[:-1].astype(np.int64),
        "g_f1": bounds_f[1:].astype(np.int64),
        "e_T": e_T,
        "e_tau": tau_index[:ne].astype(np.int64),
        "f_tau": tau_index[ne : ne + nf].astype(np.int64),
    }


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
    P = np.ascontiguousarray(np.asarray(params, dtype=float).transpose(2, 0, 1))  # cells x params x draws
    horizons = np.ascontiguousarray(horizons, dtype=float)
    discount = np.ascontiguousarray(discount, dtype=float)
    n_draws = P.shape[2]
    if spend_params is None or not bits & 4:
        spend_params = np.ones((3, n_draws, 1))
        spend_seg = np.zeros(x.size, dtype=np.int64)
        monetary = np.zeros(x.size)
    SP = np.ascontiguousarray(np.asarray(spend_params, dtype=float).transpose(2, 0, 1))
    spend_seg = np.ascontiguousarray(spend_seg, dtype=np.int64)
    monetary = np.ascontiguousarray(monetary, dtype=float)
    ks, lo, hi, gamma = quantile_plan(n_draws, quantiles)
    n_fields = 4 if kind == PNBD_KERNEL else 3
    # rows ordered by (cell, x, T, t_x) and cut into blocks whose tables hold at most _TABLE_ELEMENTS numbers
    order = np.lexsort((t_x, T, x, cell))
    xt_codes = _codes(cell[order], x[order], T[order])
    tx_codes = _codes(cell[order], x[order], t_x[order])
    new_e = np.ones(x.size, dtype=np.int64)
    new_f = np.ones(x.size, dtype=np.int64)
    new_e[1:] = xt_codes[1:] != xt_codes[:-1]
    new_f[1:] = tx_codes[1:] != tx_codes[:-1]  # an upper bound: a t_x may recur after another T
    cost = np.cumsum((new_e * n_fields + new_f) * n_draws)
    n_stats = 1 + len(quantiles)
    table = np.empty((x.size, 3 * n_stats))
    bad = np.zeros(x.size, dtype=np.int64)
    start = 0
    while start < x.size:
        base = cost[start - 1] if start > 0 else 0
        end = max(start + 1, int(np.searchsorted(cost, base + _TABLE_ELEMENTS, side="right")))
        rows = order[start:end]
        b_cell, b_x, b_tx, b_T = cell[rows], x[rows], t_x[rows], T[rows]
        layout = _block_layout(b_cell, b_x, b_tx, b_T, horizons)
        xt = np.empty((n_fields, layout["e_T"].size, n_draws))
        tx = np.empty((layout["f_tau"].size, n_draws))
        _tables(
            kind,
            P,
            layout["tau_cell"],
            layout["tau_val"],
            layout["tau_is_T"],
            layout["shift"],
            layout["g_cell"],
            layout["g_x"],
            layout["g_e0"],
            layout["g_e1"],
            layout["g_f0"],
            layout["g_f1"],
            layout["e_T"],
            layout["e_tau"],
            layout["f_tau"],
            horizons,
            discount,
            xt,
            tx,
        )
        out = np.empty((rows.size, 3 * n_stats))
        flags = np.zeros(rows.size, dtype=np.int64)
        _rows(
            kind,
            P,
            b_cell,
            b_x,
            b_tx,
            b_T,
            layout["row_e"],
            layout["row_f"],
            xt,
            tx,
            SP,
            spend_seg[rows],
            monetary[rows],
            int(bits),
            ks,
            lo,
            hi,
            gamma,
            out,
            flags,
        )
        del xt, tx
        table[rows] = out
        bad[rows] = flags
        start = end
    return table, bad
