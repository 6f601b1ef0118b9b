"""LTV tiers, churn-risk lists and the hashed-id CSV export."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.decisions import (
    CUSTOMER_HASH,
    assign_tiers,
    churn_risk,
    export_csv,
    hash_ids,
    project_salt,
    tier_table,
)
from ltvlab.reports import hash_id


def _scores(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            col.CUSTOMER_ID: [f"C{i:05d}" for i in range(n)],
            "clv_mean": rng.lognormal(3.0, 1.0, n),
            "p_alive_mean": rng.random(n),
        }
    )


def test_quantile_tiers_have_the_requested_shares():
    scores = _scores()
    tiers = assign_tiers(scores["clv_mean"], method="quantile", cuts=(0.5, 0.8))
    counts = tiers.value_counts()
    # 1,000 distinct continuous values: quantile cuts split them 500 / 300 / 200 exactly.
    assert (counts["low"], counts["middle"], counts["high"]) == (500, 300, 200)
    assert list(tiers.cat.categories) == ["low", "middle", "high"] and tiers.cat.ordered
    # every high-tier value exceeds every middle-tier value, and so on
    v = scores["clv_mean"]
    assert v[tiers == "high"].min() > v[tiers == "middle"].max() > v[tiers == "low"].max()


def test_value_tiers_use_the_thresholds():
    tiers = assign_tiers(np.array([0.0, 9.99, 10.0, 49.0, 50.0, 1e6]), method="value", cuts=(10.0, 50.0))
    assert list(tiers.astype(str)) == ["low", "low", "middle", "middle", "high", "high"]


def test_tier_table_shares_add_up():
    table = tier_table(_scores())
    assert list(table["tier"].astype(str)) == ["high", "middle", "low"]
    assert table["customers"].sum() == 1000
    assert table["value_share"].sum() == pytest.approx(1.0)
    assert table.loc[0, "value_share"] > 0.2  # the top 20% hold more than 20% of the value


def test_churn_risk_keeps_high_value_low_p_alive_sorted_by_value_at_risk():
    scores = _scores()
    risk = churn_risk(scores, value_quantile=0.8, max_p_alive=0.3)
    threshold = np.quantile(scores["clv_mean"], 0.8)
    expected = scores[(scores["clv_mean"] >= threshold) & (scores["p_alive_mean"] < 0.3)]
    assert set(risk[col.CUSTOMER_ID]) == set(expected[col.CUSTOMER_ID])
    assert risk["value_at_risk"].is_monotonic_decreasing
    with pytest.raises(LtvlabError, match="needs column"):
        churn_risk(scores.drop(columns=["p_alive_mean"]))


def test_hash_is_salted_sha256():
    ids = pd.Series(["C1", "C2"])
    hashed = hash_ids(ids, salt="pepper")
    assert hashed[0] == hashlib.sha256(b"pepper\x00C1").hexdigest()
    # the reports hash with the same function: a churn list joins to a scored file
    assert hash_id("C1", salt="pepper") == hashed[0]
    assert hash_ids(ids, salt="other")[0] != hashed[0]
    with pytest.raises(LtvlabError, match="salt"):
        hash_ids(ids, salt="")


def test_export_never_writes_raw_ids(tmp_path):
    scores = _scores(50)
    path = export_csv(
        churn_risk(scores, value_quantile=0.0, max_p_alive=1.0), tmp_path / "risk.csv", salt="s3cret"
    )
    text = path.read_text()
    assert not any(cid in text for cid in scores[col.CUSTOMER_ID])
    back = pd.read_csv(path)
    assert back.columns[0] == CUSTOMER_HASH and col.CUSTOMER_ID not in back.columns
    assert back[CUSTOMER_HASH].str.fullmatch(r"[0-9a-f]{64}").all()


def test_project_salt_is_created_once(tmp_path):
    path = tmp_path / "processed" / "id_salt"
    first = project_salt(path)
    assert path.is_file() and len(first) == 32
    assert project_salt(path) == first


def test_bad_tier_input():
    with pytest.raises(LtvlabError, match="increasing"):
        assign_tiers([1.0, 2.0], cuts=(0.8, 0.5))
    with pytest.raises(LtvlabError, match="missing or infinite"):
        assign_tiers([1.0, np.nan])
    with pytest.raises(LtvlabError, match="non-empty"):
        assign_tiers([])
