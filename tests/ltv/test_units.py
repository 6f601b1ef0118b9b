"""The time unit travels with the fit: scoring a summary in another unit, or one that lost its unit, is refused.

Before: a BG/NBD fit in weeks scored a summary in days without a word (P(alive) of a CDNOW customer 0.81
instead of 0.79, because t_x and T were read as 7x longer). Now the fit records its unit and every scorer,
prediction, CLV, holdout and predictive function checks the summary's (``attrs["unit"]`` or ``unit=``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.features import customer_summary
from ltvlab.ltv import (
    customer_lifetime_value,
    holdout_validation,
    sample_future_value,
    score_customers,
    write_scores,
)
from ltvlab.ltv.holdout import cumulative_tracking
from tests.conftest import CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END


@pytest.fixture(scope="module")
def days_summary(cdnow_sample_transactions):
    return customer_summary(
        cdnow_sample_transactions,
        calibration_end=CDNOW_CALIBRATION_END,
        holdout_end=CDNOW_HOLDOUT_END,
        unit="D",
    )


def _scorers(purchase, spend, tmp_path):
    """Every public function that scores a summary with a purchase fit, as (name, call(summary, **unit))."""
    return {
        "p_alive": lambda s, **u: purchase.p_alive(s, **u),
        "expected_purchases": lambda s, **u: purchase.expected_purchases(s, 10.0, **u),
        "score_customers": lambda s, **u: score_customers(purchase, spend, s, max_draws=None, **u),
        "write_scores": lambda s, **u: write_scores(purchase, spend, s, tmp_path / "s.parquet", **u),
        "customer_lifetime_value": lambda s, **u: customer_lifetime_value(purchase, spend, s, **u),
        "holdout_validation": lambda s, **u: holdout_validation(purchase, s, **u),
        "sample_future_value": lambda s, **u: sample_future_value(purchase, None, s.head(50), **u),
    }


def test_a_fit_in_weeks_refuses_a_summary_in_days(bgnbd_mle, gg_mle, days_summary, tmp_path):
    assert bgnbd_mle.unit == "W"
    assert days_summary.attrs["unit"] == "D"
    for name, call in _scorers(bgnbd_mle, gg_mle, tmp_path).items():
        with pytest.raises(LtvlabError, match=r"fit was made on a summary in weeks.*this summary is in days"):
            call(days_summary)
        # an explicit unit cannot override the mismatch either
        with pytest.raises(LtvlabError, match="weeks"):
            call(days_summary, unit="D")
        assert name


def test_a_summary_that_lost_its_unit_needs_an_explicit_one(
    bgnbd_mle, gg_mle, cdnow_sample_summary, tmp_path
):
    # pandas drops attrs on merge: the merged summary no longer knows it is in weeks
    extra = pd.DataFrame({col.CUSTOMER_ID: cdnow_sample_summary[col.CUSTOMER_ID], "channel": "web"})
    merged = cdnow_sample_summary.merge(extra, on=col.CUSTOMER_ID)
    assert "unit" not in merged.attrs
    for name, call in _scorers(bgnbd_mle, gg_mle, tmp_path).items():
        with pytest.raises(LtvlabError, match=r"does not record its time unit.*pass unit='W'"):
            call(merged)
        explicit = call(merged, unit="W")
        reference = call(cdnow_sample_summary)
        if isinstance(explicit, pd.DataFrame):
            pd.testing.assert_frame_equal(explicit, reference)
        assert name


def test_tracking_checks_the_unit(bgnbd_mle, days_summary, cdnow_sample_transactions):
    with pytest.raises(LtvlabError, match="weeks"):
        cumulative_tracking(bgnbd_mle, days_summary, cdnow_sample_transactions)


def test_the_days_fit_gives_the_days_answer(days_summary, cdnow_sample_summary, bgnbd_mle):
    # The same customers in days, with the model refitted in days, give the same P(alive) as in weeks (the
    # MLE's alpha scales by 7): the check protects a real difference, not a formality.
    from ltvlab.ltv import BGNBD

    fit_days = BGNBD(priors="flat").fit(days_summary, method="map")
    assert fit_days.unit == "D"
    alpha_w = bgnbd_mle.summary().set_index("param").loc["alpha", "mean"]
    alpha_d = fit_days.summary().set_index("param").loc["alpha", "mean"]
    assert alpha_d == pytest.approx(7.0 * alpha_w, rel=0.01)
    days = fit_days.p_alive(days_summary)["mean"].to_numpy()
    weeks = bgnbd_mle.p_alive(cdnow_sample_summary)["mean"].to_numpy()
    np.testing.assert_allclose(days, weeks, atol=0.01)


def test_fit_records_an_explicit_unit_and_rejects_an_unknown_one(cdnow_sample_summary):
    from ltvlab.ltv import BGNBD

    bare = cdnow_sample_summary.copy()
    bare.attrs = {}
    with pytest.raises(LtvlabError, match="'W' \\(weeks\\) or 'D' \\(days\\)"):
        BGNBD().fit(bare, method="map", unit="M")
    assert BGNBD().fit(bare, method="map", unit="W").unit == "W"
