"""Flat priors + MAP = maximum likelihood: the published CDNOW estimates, and the fitted-object API."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import ConvergenceWarning, LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD, GammaGamma, ParetoNBD, formulas
from tests.reference import cdnow


def _map_values(fit) -> dict[str, float]:
    return {name: float(fit.draws()[name][0, 0]) for name in fit.param_names}


@pytest.mark.parametrize(
    ("fixture", "reference", "reference_ll"),
    [
        ("bgnbd_mle", cdnow.BGNBD, cdnow.BGNBD_LL),
        ("pnbd_mle", cdnow.PARETO_NBD, cdnow.PARETO_NBD_LL),
        ("gg_mle", cdnow.GAMMA_GAMMA, cdnow.GAMMA_GAMMA_LL),
    ],
)
def test_published_cdnow_mle(request, fixture, reference, reference_ll):
    # Published to 3-4 significant digits: each parameter within 1%, the log-likelihood within 0.5.
    fit = request.getfixturevalue(fixture)
    assert fit.diagnostics.ok
    for name, value in reference.items():
        assert _map_values(fit)[name] == pytest.approx(value, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(reference_ll, abs=0.5)


def test_fit_object_api(bgnbd_mle, cdnow_sample_summary):
    fit = bgnbd_mle
    assert fit.model_name == "bgnbd" and fit.param_names == ("r", "alpha", "a", "b")
    assert fit.segment is None and fit.segments == ("all",) and fit.method == "map" and fit.idata is None
    draws = fit.draws()
    assert set(draws) == set(fit.param_names) and all(v.shape == (1, 1) for v in draws.values())
    assert fit.unit == "W" and len(fit.data_hash) == 16 and fit.n_customers == len(cdnow_sample_summary)
    assert fit.n_rows < fit.n_customers  # compressed
    table = fit.summary()
    assert list(table.columns) == [
        "segment",
        "param",
        "mean",
        "sd",
        "hdi_3%",
        "hdi_97%",
        "r_hat",
        "ess_bulk",
        "ess_tail",
    ]
    np.testing.assert_array_equal(fit.segment_index(cdnow_sample_summary), 0)
    # p_alive and expected purchases equal the closed forms at the MAP, customer by customer
    p = _map_values(fit)
    pa = fit.p_alive(cdnow_sample_summary)
    x, t_x, T = (cdnow_sample_summary[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    np.testing.assert_allclose(pa["mean"], formulas.bgnbd_p_alive(x, t_x, T, *p.values()), rtol=1e-12)
    assert list(pa.columns) == [col.CUSTOMER_ID, "mean", "q05", "q50", "q95"]
    assert (pa[col.CUSTOMER_ID].to_numpy() == cdnow_sample_summary[col.CUSTOMER_ID].to_numpy()).all()
    ep = fit.expected_purchases(cdnow_sample_summary, 39.0)
    np.testing.assert_allclose(
        ep["mean"], formulas.bgnbd_expected_purchases(39.0, x, t_x, T, *p.values()), rtol=1e-12
    )
    # the inputs are not mutated
    assert "mean" not in cdnow_sample_summary.columns


def test_predictions_do_not_depend_on_chunking(cdnow_sample_summary):
    # A small NUTS-like posterior: fake 50 draws around the MLE through a partial fit is slow, so use the MAP fit
    # of two segments and compare a tiny chunk size with the default.
    summary = cdnow_sample_summary.assign(
        half=np.where(np.arange(len(cdnow_sample_summary)) % 2, "odd", "even")
    )
    fit = BGNBD(pooling="none", segment="half", priors="flat").fit(summary, method="map")
    a = fit.expected_purchases(summary, 52.0)
    b = fit.expected_purchases(summary, 52.0, chunk_elements=7)
    pd.testing.assert_frame_equal(a, b)
    assert fit.segments == ("even", "odd")
    assert fit.draws()["r"].shape == (1, 2)
    with pytest.raises(LtvlabError, match="not in the data"):
        fit.segment_index(summary.assign(half="third"))


def test_gamma_gamma_expected_spend(gg_mle, cdnow_sample_summary):
    p = _map_values(gg_mle)
    out = gg_mle.expected_spend(cdnow_sample_summary)
    x = cdnow_sample_summary[col.X].to_numpy(float)
    m = cdnow_sample_summary[col.MONETARY].to_numpy(float)
    np.testing.assert_allclose(out["mean"], formulas.gg_expected_spend(x, m, *p.values()), rtol=1e-12)
    assert out.loc[x == 0, "mean"].nunique() == 1  # population mean for non-repeaters


def _tiny(**overrides) -> pd.DataFrame:
    base = {
        col.CUSTOMER_ID: ["a", "b", "c", "d"],
        col.X: [0, 2, 1, 0],
        col.T_X: [0.0, 5.0, 3.0, 0.0],
        col.T: [10.0, 10.0, 8.0, 6.0],
        col.MONETARY: [0.0, 10.0, 20.0, 0.0],
        "seg": ["u", "u", "v", "v"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("frame", "spec", "match"),
    [
        (_tiny(**{col.T: [10.0, 10.0, 8.0, -1.0]}), BGNBD(), "T < 0"),
        (_tiny(**{col.T_X: [0.0, 12.0, 3.0, 0.0]}), BGNBD(), "t_x > T"),
        (_tiny(**{col.X: [0, 2, np.nan, 0]}), BGNBD(), "missing"),
        (_tiny(**{col.X: [0, 0, 0, 0], col.T_X: [0.0, 0.0, 0.0, 0.0]}), BGNBD(), "all x == 0"),
        (_tiny(**{col.X: [0, 0, 0, 0], col.T_X: [0.0, 0.0, 0.0, 0.0]}), GammaGamma(), "no repeat buyers"),
        (
            _tiny(**{col.X: [0, 0, 1, 0], col.T_X: [0.0, 0.0, 3.0, 0.0]}),
            ParetoNBD(pooling="none", segment="seg"),
            r"\['u'\] have no repeat",
        ),
        (_tiny(seg=["u"] * 4), BGNBD(pooling="partial", segment="seg"), "at least 2 segments"),
        (_tiny(), BGNBD(pooling="partial", segment="nope"), "segment column 'nope'"),
        (_tiny(**{col.MONETARY: [0.0, -1.0, 20.0, 0.0]}), GammaGamma(), "mean spend <= 0"),
    ],
)
def test_bad_input_raises_clear_error(frame, spec, match):
    with pytest.raises(LtvlabError, match=match):
        spec.fit(frame, method="map")


def test_bad_spec_arguments():
    with pytest.raises(LtvlabError, match="needs a segment column"):
        BGNBD(pooling="partial")
    with pytest.raises(LtvlabError, match="pooling="):
        BGNBD(pooling="some")
    with pytest.raises(LtvlabError, match="unknown prior key"):
        BGNBD(priors={"zeta": (0, 1)}).fit(_tiny(), method="map")


def test_segment_without_repeaters_is_documented_under_partial_pooling(cdnow_sample_summary):
    # A segment with no repeat buyers borrows from the population under partial pooling: the fit works, its
    # predictions are finite and the fit records a warning naming the segment.
    silent = (cdnow_sample_summary[col.X] == 0).to_numpy() & (np.arange(len(cdnow_sample_summary)) % 5 == 0)
    summary = cdnow_sample_summary.assign(seg=np.where(silent, "silent", "buyers"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = BGNBD(pooling="partial", segment="seg").fit(summary, method="map")
    assert any("silent" in w for w in fit.warnings)
    out = fit.expected_purchases(summary, 39.0)
    assert np.isfinite(out[["mean", "q05", "q50", "q95"]].to_numpy()).all()
