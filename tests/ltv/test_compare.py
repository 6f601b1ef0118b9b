"""Model comparison on the CDNOW sample: holdout log density, MAE and PSIS-LOO of BG/NBD vs MBG/NBD.

The two tests on NUTS fits (PSIS-LOO needs posterior draws) are slow (~50 s of sampling); the command-line test
on MAP fits runs in the default suite.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ltvlab.cli import cli
from ltvlab.errors import LtvlabError
from ltvlab.ltv import BGNBD, MBGNBD, get_model, holdout_validation
from ltvlab.ltv._model import _MAX_LL_DRAWS
from ltvlab.ltv.compare import compare_fits, model_tracking, pointwise_loglik
from ltvlab.ltv.model_plots import plot_model_tracking


@pytest.fixture(scope="module")
def comparison(cdnow_sample_summary):
    fits = {
        "bgnbd": BGNBD().fit(cdnow_sample_summary, draws=150, tune=300, chains=2, seed=3),
        "mbgnbd": MBGNBD().fit(cdnow_sample_summary, draws=150, tune=300, chains=2, seed=3),
    }
    return compare_fits(fits, cdnow_sample_summary, max_draws=None)


@pytest.mark.slow
def test_table_agrees_with_its_parts(comparison, cdnow_sample_summary):
    table = comparison.table.set_index("model")
    for name, fit in comparison.fits.items():
        holdout = holdout_validation(fit, cdnow_sample_summary, max_draws=None)
        assert table.loc[name, "holdout_log_density"] == pytest.approx(holdout.log_predictive_density)
        assert table.loc[name, "holdout_mae"] == pytest.approx(holdout.mae)
        ll = pointwise_loglik(fit, cdnow_sample_summary)
        # computed once per distinct row, it equals the per-customer likelihood of every customer
        model = get_model(name)
        data = [cdnow_sample_summary[c].to_numpy(float)[None, :] for c in model.data_columns]
        brute = model.loglik(*data, *(fit.param_draws[p][:, [0]] for p in model.param_names))
        np.testing.assert_allclose(ll, brute, rtol=1e-12)
        # it adds up to the fit's own (weighted, compressed) total, averaged over the same evenly spaced draws
        n = ll.shape[0]
        pick = np.unique(np.linspace(0, n - 1, min(n, _MAX_LL_DRAWS)).astype(int))
        assert ll[pick].sum(axis=1).mean() == pytest.approx(fit.log_likelihood, rel=1e-9)
        # PSIS-LOO: elpd_loo + p_loo is the log pointwise predictive density, which by Jensen's inequality is at
        # least the posterior-mean log-likelihood; p_loo is near the 4 free parameters
        lppd = table.loc[name, "elpd_loo"] + table.loc[name, "p_loo"]
        assert lppd >= ll.sum(axis=1).mean()
        assert 2 < table.loc[name, "p_loo"] < 8
        bad = table.loc[name, "pareto_k_bad"]
        assert pd.isna(table.loc[name, "loo_warning"]) == (bad == 0)
        # how each model was sampled, as the fixture asked, and its own smallest ESS (stated in the report)
        assert (table.loc[name, "chains"], table.loc[name, "draws"], table.loc[name, "tune"]) == (2, 150, 300)
        assert table.loc[name, "min_ess_bulk"] == pytest.approx(fit.diagnostics.min_ess_bulk)
        assert table.loc[name, "min_ess_tail"] == pytest.approx(fit.diagnostics.min_ess_tail)
    assert table["elpd_diff"].max() == 0.0 and (table["elpd_diff_se"] >= 0).all()
    assert json.loads(json.dumps(comparison.to_dict(), default=float))["customers"] == len(
        cdnow_sample_summary
    )


@pytest.mark.slow
def test_one_tracking_plot_with_every_model(
    comparison, cdnow_sample_summary, cdnow_sample_transactions, tmp_path
):
    tracking = model_tracking(comparison, cdnow_sample_summary, cdnow_sample_transactions)
    assert {"expected_bgnbd", "expected_mbgnbd"} <= set(tracking.columns)
    assert np.all(np.diff(tracking["expected_mbgnbd"]) >= 0)
    ax = plot_model_tracking(tracking)
    assert len(ax.get_lines()) == 4  # actual, two models, end of calibration
    ax.figure.savefig(tmp_path / "tracking.png")


def test_cli_compare_json():
    result = CliRunner().invoke(
        cli,
        [
            "ltv",
            "compare",
            "--dataset",
            "cdnow-sample",
            "--method",
            "map",
            "--models",
            "bgnbd,mbgnbd",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {m["model"] for m in report["models"]} == {"bgnbd", "mbgnbd"}
    assert all(m["loo_warning"].startswith("not applicable") for m in report["models"])
    assert all(m["draws"] is None and m["min_ess_bulk"] is None for m in report["models"])  # MAP: no draws
    bad = CliRunner().invoke(cli, ["ltv", "compare", "--dataset", "cdnow-sample", "--models", "bgnbd"])
    assert bad.exit_code != 0 and "at least two models" in bad.output


def test_compare_needs_two_fits(bgnbd_mle, cdnow_sample_summary):
    with pytest.raises(LtvlabError, match="at least two"):
        compare_fits({"bgnbd": bgnbd_mle}, cdnow_sample_summary)


def test_loo_over_distinct_rows_equals_arviz_over_every_customer(cdnow_sample_summary):
    # PSIS-LOO is run once per distinct row (1,016 for 2,357 customers); the totals must be what ArviZ gives on
    # the full customers x draws matrix
    import arviz as az

    from ltvlab.ltv.compare import _loo

    fit = BGNBD().fit(cdnow_sample_summary, draws=100, tune=150, chains=2, seed=5, remedy=False)
    ours = _loo(fit, cdnow_sample_summary)
    ll = pointwise_loglik(fit, cdnow_sample_summary)
    posterior = {"r": fit.param_draws["r"][:, 0].reshape(2, -1)}
    idata = az.from_dict(posterior=posterior, log_likelihood={"x": ll.reshape(2, -1, ll.shape[1])})
    full = az.loo(idata, pointwise=True)
    assert ours["elpd_loo"] == pytest.approx(float(full.elpd_loo), rel=1e-10)
    assert ours["elpd_loo_se"] == pytest.approx(float(full.se), rel=1e-10)
    assert ours["p_loo"] == pytest.approx(float(full.p_loo), rel=1e-8)
    assert ours["pareto_k_bad"] == int((np.asarray(full.pareto_k) > 0.7).sum())
    np.testing.assert_allclose(ours["_pointwise"], np.asarray(full.loo_i), rtol=1e-10)
