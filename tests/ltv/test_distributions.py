"""Log-likelihoods: published CDNOW values, quadrature accuracy, and weighted (compressed) == unweighted."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD, GammaGamma, ParetoNBD
from ltvlab.ltv import distributions as dist
from ltvlab.ltv._data import compress
from ltvlab.ltv.formulas import _pnbd_log_dead_integral
from tests.reference import cdnow


def _xtT(summary):
    return (summary[c].to_numpy(dtype=float) for c in (col.X, col.T_X, col.T))


def test_published_loglikelihoods_at_published_mle(cdnow_sample_summary):
    # The published log-likelihoods are rounded to 0.1 and the parameters to 3 decimals; moving the parameters by
    # their rounding error changes the LL by far less than 0.5 near the maximum (flat there), hence tolerance 0.5.
    x, t_x, T = _xtT(cdnow_sample_summary)
    assert dist.bgnbd_loglik(x, t_x, T, **cdnow.BGNBD).sum() == pytest.approx(cdnow.BGNBD_LL, abs=0.5)
    assert dist.pnbd_loglik(x, t_x, T, **cdnow.PARETO_NBD).sum() == pytest.approx(
        cdnow.PARETO_NBD_LL, abs=0.5
    )
    rep = cdnow_sample_summary[cdnow_sample_summary[col.X] > 0]
    ll = dist.gamma_gamma_loglik(
        rep[col.X].to_numpy(float), rep[col.MONETARY].to_numpy(float), **cdnow.GAMMA_GAMMA
    )
    assert ll.sum() == pytest.approx(cdnow.GAMMA_GAMMA_LL, abs=0.5)


def test_bgnbd_pytensor_equals_numpy(cdnow_sample_summary):
    x, t_x, T = _xtT(cdnow_sample_summary)
    expected = dist.bgnbd_loglik(x, t_x, T, **cdnow.BGNBD)
    got = dist.bgnbd_loglik_pt(x, t_x, T, *cdnow.BGNBD.values()).eval()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-10)


def test_pnbd_quadrature_matches_exact(cdnow_sample_summary):
    # The PyTensor likelihood integrates the death-time integral with 48 Gauss-Legendre nodes; against the exact
    # hypergeometric form it must agree per customer to 1e-4 (on CDNOW and on a spread of odd parameter values).
    x, t_x, T = _xtT(cdnow_sample_summary)
    got = dist.pnbd_loglik_quadrature(x, t_x, T, *cdnow.PARETO_NBD.values())
    np.testing.assert_allclose(got, dist.pnbd_loglik(x, t_x, T, **cdnow.PARETO_NBD), atol=1e-4)
    rng = np.random.default_rng(5)
    n = 400
    xs = rng.integers(0, 150, n).astype(float)
    Ts = rng.uniform(1, 300, n)
    txs = np.where(xs > 0, Ts * rng.beta(2, 1, n), 0.0)
    for params in [(0.2, 300.0, 0.1, 2.0), (3.0, 0.5, 2.5, 60.0), (0.9, 40.0, 1.0, 40.0)]:
        got = dist.pnbd_loglik_quadrature(xs, txs, Ts, *params)
        np.testing.assert_allclose(got, dist.pnbd_loglik(xs, txs, Ts, *params), atol=1e-4)
    # heavy buyers stay finite
    assert np.isfinite(_pnbd_log_dead_integral(500.0, 1.0, 30.0, 0.5, 10.0, 0.6, 11.0))


@pytest.mark.parametrize("spec_cls", [BGNBD, ParetoNBD, GammaGamma])
def test_weighted_compressed_loglik_equals_unweighted(cdnow_sample_summary, spec_cls):
    # The model's log-density (flat priors => exactly the log-likelihood) evaluates distinct rows with weights;
    # it must equal the plain per-customer sum of the exact NumPy likelihood to 1e-8 (Pareto/NBD's model sums its
    # dropout integral's series, exact to rounding, not the quadrature of its plain PyTensor expression).
    summary = cdnow_sample_summary.assign(month=lambda d: d["first_purchase"].astype(str).str[5:7])
    spec = spec_cls(pooling="none", segment="month", priors="flat")
    model = spec.build_model(summary)
    prepared = spec.prepare(summary)
    assert prepared.rows.n_rows < prepared.rows.inverse.size  # compression actually happened
    point = model.initial_point()
    rng = np.random.default_rng(0)
    point = {k: v + rng.normal(0, 0.1, np.shape(v)) for k, v in point.items()}
    weighted = float(model.compile_logp()(point))
    # unweighted: each customer separately, with its segment's parameters
    seg = prepared.rows.segment_code[prepared.rows.inverse]
    thetas = []
    for name, offset in zip(spec.kind.param_names, spec.kind.offsets, strict=True):
        thetas.append((offset + np.exp(point[spec.kind.eta_name(name)]))[seg])
    columns = [prepared.values[c] for c in spec.kind.data_columns]
    unweighted = float(np.sum(spec.kind.loglik(*columns, *thetas)))
    assert weighted == pytest.approx(unweighted, abs=1e-8)
    # compress() round-trips customers
    again = compress(seg, {c: prepared.values[c] for c in spec.kind.data_columns}, len(prepared.segments))
    np.testing.assert_array_equal(again.values[col.X][again.inverse], prepared.values[col.X])
