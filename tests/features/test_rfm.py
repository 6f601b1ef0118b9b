"""RFM scores and labels, and acquisition segments: hand-computed cases, CDNOW reference counts, pandas cross-check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import RFM_COLUMNS, RFM_LABELS, first_purchase_segments, rfm_scores
from tests.conftest import CDNOW_CALIBRATION_END
from tests.reference import cdnow as ref


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


# Five customers with distinct recency, frequency and total spend, so that with 5 bins each score is its rank.
# as_of 2024-01-31. Hand computation:
#   A: days 01-30, 01-30 (same day, merged), 01-20 -> recency 1, frequency 2, total 10+5+20 = 35
#   B: 01-29 x1, 01-10, 01-05, 01-01 -> recency 2, frequency 4, total 4 * 50 = 200
#   C: 01-21, 01-15, 01-02 -> recency 10, frequency 3, total 1 + 1 + 1 = 3
#   D: 01-01 -> recency 30, frequency 1, total 100
#   E: 01-11 .. 5 days -> recency 20, frequency 5, total 5 * 2 = 10
HAND = _tx(
    [
        ("A", "2024-01-30", 10.0),
        ("A", "2024-01-30", 5.0),
        ("A", "2024-01-20", 20.0),
        ("B", "2024-01-29", 50.0),
        ("B", "2024-01-10", 50.0),
        ("B", "2024-01-05", 50.0),
        ("B", "2024-01-01", 50.0),
        ("C", "2024-01-21", 1.0),
        ("C", "2024-01-15", 1.0),
        ("C", "2024-01-02", 1.0),
        ("D", "2024-01-01", 100.0),
        ("E", "2024-01-11", 2.0),
        ("E", "2024-01-09", 2.0),
        ("E", "2024-01-07", 2.0),
        ("E", "2024-01-05", 2.0),
        ("E", "2024-01-03", 2.0),
        ("E", "2024-02-15", 999.0),  # after as_of: ignored
        ("F", "2024-02-01", 999.0),  # only after as_of: no row
    ]
)


def test_hand_computed_scores_and_labels():
    r = rfm_scores(HAND, as_of="2024-01-31").set_index("customer_id")
    assert list(r.reset_index().columns) == list(RFM_COLUMNS)
    assert list(r.index) == ["A", "B", "C", "D", "E"]
    assert r["recency_days"].tolist() == [1, 2, 10, 30, 20]
    assert r["frequency"].tolist() == [2, 4, 3, 1, 5]
    assert r["monetary"].tolist() == pytest.approx([35.0, 200.0, 3.0, 100.0, 10.0])
    # recency reversed: most recent scores 5
    assert r["r_score"].tolist() == [5, 4, 3, 1, 2]
    assert r["f_score"].tolist() == [2, 4, 3, 1, 5]
    assert r["m_score"].tolist() == [3, 5, 1, 4, 2]
    assert r.loc["B", "rfm_score"] == "4-4-5"
    # A: R5 F2 M3 -> potential loyalist; B: R4 F4 M5 -> champions; C: R3 F3 -> need attention;
    # D: R1 F1 -> lost; E: R2 F5 -> at risk
    assert r["rfm_segment"].astype(str).tolist() == [
        "potential loyalist",
        "champions",
        "need attention",
        "lost",
        "at risk",
    ]
    mean = rfm_scores(HAND, as_of="2024-01-31", monetary="mean").set_index("customer_id")
    assert mean.loc["A", "monetary"] == pytest.approx(17.5)  # 35 over 2 purchase days


def test_default_as_of_is_last_transaction_and_bins_configurable():
    r = rfm_scores(HAND)
    assert r.attrs["as_of"] == "2024-02-15"
    assert len(r) == 6
    two = rfm_scores(HAND, as_of="2024-01-31", bins=2).set_index("customer_id")
    # percent_rank of frequency (1, 2, 3, 4, 5 for D, A, C, B, E) is 0, .25, .5, .75, 1 -> 1 + floor(2 * pr)
    assert two.loc[["D", "A", "C", "B", "E"], "f_score"].tolist() == [1, 1, 2, 2, 2]


def test_ties_rank_vs_ntile():
    tied = _tx([(f"c{i}", "2024-01-01", 10.0 if i < 6 else 10.0 + i) for i in range(10)])
    by_rank = rfm_scores(tied, as_of="2024-01-02", bins=5)
    # six equal spends share the lowest score; the other four take ranks 7..10 of 10
    assert (by_rank.loc[by_rank["monetary"] == 10.0, "m_score"] == 1).all()
    # percent ranks 6/9, 7/9, 8/9, 1 -> 1 + floor(5 pr) = 4, 4, 5, 6 capped at 5
    assert by_rank.loc[by_rank["monetary"] > 10.0, "m_score"].tolist() == [4, 4, 5, 5]
    by_ntile = rfm_scores(tied, as_of="2024-01-02", bins=5, method="ntile")
    assert by_ntile["m_score"].value_counts().tolist() == [2] * 5
    # deterministic tie-break by customer id
    assert by_ntile.loc[by_ntile["customer_id"].isin(["c0", "c1"]), "m_score"].tolist() == [1, 1]


@pytest.mark.parametrize("bins", [4, 5, 7])
def test_scores_agree_with_pandas_on_cdnow(cdnow_sample_transactions, bins):
    r = rfm_scores(cdnow_sample_transactions, as_of=CDNOW_CALIBRATION_END, bins=bins)
    # CDNOW reference counts (calibration to 1997-09-30, same-day purchases merged)
    assert len(r) == ref.CUSTOMERS
    assert (r["frequency"] > 1).sum() == ref.REPEATERS
    assert r["frequency"].sum() - len(r) == ref.REPEAT_TRANSACTIONS
    # independent pandas computation of the "rank" scores: min-rank percent rank
    n = len(r)
    for name, values in (("r", -r["recency_days"]), ("f", r["frequency"]), ("m", r["monetary"])):
        pr = (values.rank(method="min") - 1) / (n - 1)
        expected = np.minimum(bins, 1 + np.floor(bins * pr)).astype(int)
        assert (r[f"{name}_score"] == expected).all(), name
    # NTILE: bins of equal size to within one customer
    counts = rfm_scores(cdnow_sample_transactions, as_of=CDNOW_CALIBRATION_END, bins=bins, method="ntile")[
        "m_score"
    ].value_counts()
    assert len(counts) == bins and counts.max() - counts.min() <= 1


def _label(r5, f5, m5):
    if r5 >= 4 and f5 >= 4 and m5 >= 4:
        return "champions"
    if r5 >= 3 and f5 >= 4:
        return "loyal"
    if r5 == 1 and f5 >= 4:
        return "cant lose"
    if r5 <= 2 and f5 >= 3:
        return "at risk"
    if r5 == 5 and f5 == 1:
        return "new"
    if r5 >= 4 and f5 >= 2:
        return "potential loyalist"
    if r5 >= 4:
        return "promising"
    return {3: "need attention", 2: "about to sleep"}.get(r5, "lost")


@pytest.mark.parametrize("bins", [3, 5, 10])
def test_labels_follow_documented_rules(cdnow_sample_transactions, bins):
    r = rfm_scores(cdnow_sample_transactions, as_of="1998-06-30", bins=bins, method="ntile")
    scale = lambda s: 1 + (s - 1) * 5 // bins  # noqa: E731
    expected = [
        _label(scale(a), scale(b), scale(c))
        for a, b, c in zip(r["r_score"], r["f_score"], r["m_score"], strict=True)
    ]
    assert r["rfm_segment"].astype(str).tolist() == expected
    assert set(r["rfm_segment"].cat.categories) == set(RFM_LABELS)


def test_rfm_errors():
    with pytest.raises(LtvlabError, match="bins"):
        rfm_scores(HAND, bins=1)
    with pytest.raises(LtvlabError, match="method"):
        rfm_scores(HAND, method="kmeans")
    with pytest.raises(LtvlabError, match="amount"):
        rfm_scores(HAND.drop(columns="amount"))
    with pytest.raises(LtvlabError, match="as_of"):
        rfm_scores(HAND, as_of="not a date")


def test_first_purchase_segments_on_cdnow(cdnow_sample_transactions, cdnow_sample_summary):
    seg = first_purchase_segments(cdnow_sample_transactions)
    assert len(seg) == ref.CUSTOMERS
    # CDNOW's cohort first bought in January to March 1997
    assert list(seg["cohort"].cat.categories) == ["1997-01", "1997-02", "1997-03"]
    merged = seg.merge(cdnow_sample_summary, on="customer_id", suffixes=("", "_summary"))
    assert np.allclose(merged["first_amount"], merged["first_amount_summary"])
    assert (merged["first_purchase"] == merged["first_purchase_summary"]).all()
    counts = seg["spend_tier"].value_counts()
    assert list(seg["spend_tier"].cat.categories) == ["low", "mid", "high"]
    assert counts.max() - counts.min() < 0.05 * len(seg)  # tiers are tertiles up to ties
    quarter = first_purchase_segments(cdnow_sample_transactions, cohort="quarter", tier_labels=("a", "b"))
    assert list(quarter["cohort"].cat.categories) == ["1997-Q1"]
    with pytest.raises(LtvlabError, match="cohort"):
        first_purchase_segments(cdnow_sample_transactions, cohort="year")
