"""NUTS on the published data sets: posterior means of the new models within one posterior sd of the MLE.

With flat priors the posterior is the normalised likelihood; its mean and mode (the MLE) differ by much less than
one posterior sd for these data sizes (the posteriors are close to Gaussian), so a one-sd band is the test.
Slow: three NUTS fits of 2 x 1,000 draws.
"""

from __future__ import annotations

import pytest

from ltvlab.data import load_dataset
from ltvlab.ltv import BGBB, MBGNBD, SBG
from ltvlab.ltv.sbg import retention_rows
from tests.ltv import model_references as ref

pytestmark = pytest.mark.slow


def _check(fit, expected: dict[str, float], segment: str = "all") -> None:
    assert fit.diagnostics.ok, fit.diagnostics.messages
    table = fit.summary().query("segment == @segment").set_index("param")
    for name, value in expected.items():
        assert abs(table.loc[name, "mean"] - value) <= table.loc[name, "sd"], (segment, name, table.loc[name])


def test_mbgnbd_nuts_on_cdnow(cdnow_sample_summary):
    fit = MBGNBD(priors="flat").fit(cdnow_sample_summary, draws=1000, chains=2, seed=11)
    _check(fit, ref.MBGNBD)


def test_bgbb_nuts_on_donations():
    data = load_dataset("donations")
    fit = BGBB(priors="flat").fit(data, draws=1000, chains=2, seed=12, weights="count", unit="period")
    _check(fit, ref.BGBB)


def test_sbg_nuts_on_retention():
    rows = retention_rows(load_dataset("retention"), cohort_size=1000)
    fit = SBG(pooling="none", segment="cohort", priors="flat").fit(
        rows, draws=1000, chains=2, seed=13, weights="count"
    )
    for cohort, params in ref.SBG.items():
        _check(fit, params, segment=cohort)
