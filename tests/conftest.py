"""Shared fixtures: bundled datasets and their summaries, loaded once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from ltvlab.data import load_dataset
from ltvlab.features import customer_summary

# Reference protocol of Fader, Hardie & Lee (2005) on CDNOW: 39 calibration weeks, 39 holdout weeks.
CDNOW_CALIBRATION_END = "1997-09-30"
CDNOW_HOLDOUT_END = "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_sample_transactions() -> pd.DataFrame:
    return load_dataset("cdnow-sample")


@pytest.fixture(scope="session")
def cdnow_sample_summary(cdnow_sample_transactions: pd.DataFrame) -> pd.DataFrame:
    return customer_summary(
        cdnow_sample_transactions,
        calibration_end=CDNOW_CALIBRATION_END,
        holdout_end=CDNOW_HOLDOUT_END,
        unit="W",
    )


@pytest.fixture(scope="session")
def hillstrom() -> pd.DataFrame:
    return load_dataset("hillstrom")
