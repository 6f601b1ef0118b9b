"""Fit once, score later: a saved fit loaded in a fresh process scores exactly like the in-memory fit."""

from __future__ import annotations

import json
import subprocess
import sys

import h5netcdf
import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD, GammaGamma, score_customers
from ltvlab.ltv.saved import load_fits, save_fits

SCRIPT = """
import sys
import pandas as pd
from ltvlab.ltv import score_customers
from ltvlab.ltv.saved import load_fits
summary = pd.read_parquet(sys.argv[2])
summary.attrs["unit"] = "W"
purchase, spend = load_fits(sys.argv[1], model="bgnbd")
score_customers(purchase, spend, summary, max_draws=None, seed=3).to_parquet(sys.argv[3])
"""


@pytest.fixture(scope="module")
def fits(cdnow_sample_summary):
    summary = cdnow_sample_summary.assign(
        early=(pd.to_datetime(cdnow_sample_summary[col.FIRST_PURCHASE]).dt.day <= 15).astype(float),
        cohort=pd.to_datetime(cdnow_sample_summary[col.FIRST_PURCHASE]).dt.month.astype(str),
    )
    summary.attrs = dict(cdnow_sample_summary.attrs)
    purchase = BGNBD(pooling="partial", segment="cohort", purchase_covariates=("early",)).fit(
        summary, draws=100, tune=200, chains=2, seed=1
    )
    spend = GammaGamma(pooling="complete").fit(summary[summary[col.X] > 0], method="map")
    return summary, purchase, spend


def test_a_saved_fit_scores_identically_in_a_fresh_process(fits, tmp_path):
    summary, purchase, spend = fits
    path = save_fits(tmp_path / "fit.nc", purchase, spend)
    data = tmp_path / "summary.parquet"
    summary.to_parquet(data)
    out = tmp_path / "scores.parquet"
    subprocess.run([sys.executable, "-c", SCRIPT, str(path), str(data), str(out)], check=True)
    fresh = pd.read_parquet(out)
    in_memory = score_customers(purchase, spend, summary, max_draws=None, seed=3)
    pd.testing.assert_frame_equal(fresh, in_memory.reset_index(drop=True), check_exact=True)
    loaded, loaded_spend = load_fits(path)
    assert loaded.provenance() == json.loads(json.dumps(purchase.provenance(), default=str))
    assert loaded.covariates == purchase.covariates and loaded_spend.model_name == "gamma_gamma"
    pd.testing.assert_frame_equal(loaded.summary(), purchase.summary())


def test_another_model_or_format_is_refused(fits, tmp_path):
    _, purchase, _ = fits
    path = save_fits(tmp_path / "fit.nc", purchase)
    assert load_fits(path)[1] is None
    with pytest.raises(LtvlabError, match="holds a bgnbd fit, not paretonbd"):
        load_fits(path, model="paretonbd")
    with h5netcdf.File(path, "r+") as handle:
        meta = json.loads(handle.groups["purchase"].attrs["ltvlab"])
        meta.update(format=99, ltvlab_version="9.0.0")
        handle.groups["purchase"].attrs["ltvlab"] = json.dumps(meta)
    with pytest.raises(LtvlabError, match=r"saved by ltvlab 9.0.0 in fit format 99.*refit"):
        load_fits(path)
    bad = tmp_path / "other.nc"
    bad.write_bytes(b"not a netcdf file")
    with pytest.raises(LtvlabError, match="not an ltvlab fit file"):
        load_fits(bad)
    with pytest.raises(LtvlabError, match="not found"):
        load_fits(tmp_path / "missing.nc")
    assert np.isfinite(purchase.log_likelihood)
