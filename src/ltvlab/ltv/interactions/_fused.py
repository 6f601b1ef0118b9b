"""BG/NBD with time-varying covariates: the exposure sums and the per-row likelihood terms with their gradient
in one compiled pass (a PyTensor Op, as :mod:`ltvlab.ltv._fused` does for the static models).

Per row ``i`` (segment ``g``, static log multiplier ``s_i``) the operational times are
``A_T = exp(s_i) sum_e E[g, v_e] time_T[e]`` and ``A_tx = exp(s_i) sum_e E[g, v_e] time_tx[e]`` over the row's
exposure entries ``e`` (``E[g, v] = exp(gamma_g . z_v)``, a small ``(G, V)`` table built in PyTensor), and the
terms of :func:`ltvlab.ltv.interactions.likelihood._bgnbd_loglik_pt` that depend on them are

``ell_i = logaddexp(-(r + x) log(alpha + A_T), c_i - (r + x) log(alpha + A_tx))`` (``x > 0``; ``c_i = log a -
log(b + x - 1)``, one value per ``(segment, x)`` group), ``ell_i = -r log(alpha + A_T)`` (``x == 0``).

As a PyTensor graph this is a gather and a scatter-add over every exposure entry for the value, and as many
again for the gradient; :class:`TVCRowTerms` does value and gradient with respect to ``r``, ``alpha`` (per
segment), ``E`` (per segment and value), ``s`` (per row) and ``c`` (per group) in one loop compiled by Numba.
Value and gradient are tested against the exact NumPy likelihood and finite differences
(``tests/ltv/test_tvc_fused.py``).
"""

from __future__ import annotations

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from ltvlab.ltv._fused import RowTermsOp, data_variable, logaddexp_share
from ltvlab.ltv.interactions.data import TVCData

__all__ = ["TVCRowTerms", "tvc_row_terms"]

_KERNEL_VERSION = 4


@numba.njit(nogil=True, cache=True)
def _row_terms(r, alpha, table, stat, log_ratio, seg, group, x, weight, bounds, value, time_T, time_tx):
    """Weighted sum of ``ell`` (module docstring) and its gradient with respect to every input."""
    n_seg, n_val = table.shape
    d_r = np.zeros(n_seg)
    d_alpha = np.zeros(n_seg)
    d_table = np.zeros((n_seg, n_val))
    d_stat = np.zeros(x.shape[0])
    d_ratio = np.zeros(log_ratio.shape[0])
    total = 0.0
    for i in range(x.shape[0]):
        g = seg[i]
        row = table[g]
        d_row = d_table[g]
        sum_T = 0.0
        sum_tx = 0.0
        for e in range(bounds[i], bounds[i + 1]):
            t = row[value[e]]
            sum_T += t * time_T[e]
            sum_tx += t * time_tx[e]
        scale = np.exp(stat[i])
        a_T = scale * sum_T
        a_tx = scale * sum_tx
        w = weight[i]
        rx = r[g] + x[i]
        log_T = np.log(alpha[g] + a_T)
        inv_T = 1.0 / (alpha[g] + a_T)
        alive = -rx * log_T
        if x[i] == 0.0:
            total += w * alive
            d_r[g] -= w * log_T
            d_alpha[g] -= w * rx * inv_T
            dA_T = -w * rx * inv_T
            dA_tx = 0.0
        else:
            log_t = np.log(alpha[g] + a_tx)
            inv_t = 1.0 / (alpha[g] + a_tx)
            val, p = logaddexp_share(alive, log_ratio[group[i]] - rx * log_t)
            total += w * val
            d_r[g] -= w * ((1.0 - p) * log_T + p * log_t)
            d_alpha[g] -= w * rx * ((1.0 - p) * inv_T + p * inv_t)
            d_ratio[group[i]] += w * p
            dA_T = -w * (1.0 - p) * rx * inv_T
            dA_tx = -w * p * rx * inv_t
        d_stat[i] = dA_T * a_T + dA_tx * a_tx
        c_T = scale * dA_T
        c_t = scale * dA_tx
        for e in range(bounds[i], bounds[i + 1]):
            d_row[value[e]] += c_T * time_T[e] + c_t * time_tx[e]
    out = np.empty(1)
    out[0] = total
    return out, d_r, d_alpha, d_table, d_stat, d_ratio


class TVCRowTerms(RowTermsOp):
    """``(r[G], alpha[G], table[G, V], stat[n], log_ratio[groups], *data) -> (total[1], d_r, d_alpha, d_table,
    d_stat, d_log_ratio)``; the gradient outputs are reused by :meth:`L_op` (value and gradient in one pass)."""

    n_params = 5
    kernel = staticmethod(_row_terms)


@register_funcify_default_op_cache_key(TVCRowTerms)
def _numba_row_terms(op, node, **kwargs):
    @numba.njit
    def row_terms(r, alpha, table, stat, log_ratio, seg, group, x, weight, bounds, value, time_T, time_tx):
        return _row_terms(
            r, alpha, table, stat, log_ratio, seg, group, x, weight, bounds, value, time_T, time_tx
        )

    return row_terms, _KERNEL_VERSION


def tvc_row_terms(r, alpha, table, stat, log_ratio, group: np.ndarray, data: TVCData) -> pt.TensorVariable:
    """Scalar weighted sum of the BG/NBD per-row terms; ``r``, ``alpha`` per segment, ``table`` ``(G, V)``,
    ``stat`` per row, ``log_ratio`` per ``(segment, x)`` group and ``group`` the group of each row."""
    bounds = np.searchsorted(data.exposure_row, np.arange(data.n_rows + 1)).astype(np.int64)
    arrays = {
        "segment": (data.segment_code, np.int64),
        "group": (group, np.int64),
        "x": (data.x, np.float64),
        "weight": (data.weight, np.float64),
        "bounds": (bounds, np.int64),
        "value": (data.exposure_value, np.int32),
        "time_T": (data.time_T, np.float64),
        "time_tx": (data.time_tx, np.float64),
    }
    # shared variables, not constants: the compiled log-density is then cached on disk (no large globals)
    consts = [data_variable(np.asarray(v, dtype=t), f"tvc_{k}") for k, (v, t) in arrays.items()]
    return TVCRowTerms()(r, alpha, table, stat, log_ratio, *consts)[0][0]
