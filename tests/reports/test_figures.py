"""Report figure helpers: RFM segment counts with their empty labels named (CDNOW sample, counted by hand in
pandas from the scores), not drawn as empty rows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import RFM_LABELS, rfm_scores
from ltvlab.features.rfm import rfm_segment_counts
from ltvlab.reports.figures import plot_rfm_segments
from tests.conftest import CDNOW_CALIBRATION_END


def _rescaled(score, bins=5):
    return 1 + (score - 1) * 5 // bins


def test_rfm_counts_and_the_two_segments_cdnow_leaves_empty(cdnow_sample_transactions) -> None:
    rfm = rfm_scores(cdnow_sample_transactions, as_of=CDNOW_CALIBRATION_END, bins=5)
    counts = rfm_segment_counts(rfm)
    assert list(counts["rfm_segment"]) == list(RFM_LABELS)
    assert counts["customers"].sum() == len(rfm) and counts["share"].sum() == pytest.approx(1.0)
    r, f = _rescaled(rfm["r_score"]), _rescaled(rfm["f_score"])
    # "new" (R = 5, F = 1): the whole cohort was acquired in Q1 1997, so nobody's only purchase is recent;
    # "cant lose" (R = 1, F >= 4): the least recent fifth are one-time buyers.
    assert not ((r == 5) & (f == 1)).any() and not ((r == 1) & (f >= 4)).any()
    empty = counts.loc[counts["customers"] == 0, "rfm_segment"].tolist()
    assert empty == ["cant lose", "new"]
    fig, ax = plt.subplots()
    plot_rfm_segments(counts, ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [s for s in RFM_LABELS if s not in empty]
    assert "no customer in: cant lose (R = 1, F >= 4); new (R = 5, F = 1)" in ax.get_title()
    champions = int(counts.set_index("rfm_segment").loc["champions", "customers"])
    assert any(t.get_text().startswith(f" {champions:,} (") for t in ax.texts)
    plt.close(fig)


def test_rfm_counts_refuse_foreign_labels() -> None:
    import pandas as pd

    with pytest.raises(LtvlabError, match="outside RFM_LABELS"):
        rfm_segment_counts(pd.DataFrame({"rfm_segment": ["champions", "VIP"]}))
