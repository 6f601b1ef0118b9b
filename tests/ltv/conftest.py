"""Fixtures of the LTV model tests: MAP fits at the published CDNOW figures, computed once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from ltvlab.ltv import BGNBD, GammaGamma, ParetoNBD


@pytest.fixture(scope="session")
def bgnbd_mle(cdnow_sample_summary: pd.DataFrame):
    return BGNBD(priors="flat").fit(cdnow_sample_summary, method="map")


@pytest.fixture(scope="session")
def pnbd_mle(cdnow_sample_summary: pd.DataFrame):
    return ParetoNBD(priors="flat").fit(cdnow_sample_summary, method="map")


@pytest.fixture(scope="session")
def gg_mle(cdnow_sample_summary: pd.DataFrame):
    return GammaGamma(priors="flat").fit(cdnow_sample_summary, method="map")
