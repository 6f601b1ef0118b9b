"""Scoring every customer, streamed to Parquet/CSV in blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import formulas
from ltvlab.ltv.clv import customer_lifetime_value
from ltvlab.ltv.scoring import score_customers, write_scores
from tests.ltv.fixed_fit import cdnow_bgnbd, cdnow_gamma_gamma, cdnow_pnbd, jittered
from tests.reference import cdnow


@pytest.fixture(scope="module")
def fits():
    return jittered(cdnow_bgnbd(), 40, scale=0.1, seed=7), jittered(
        cdnow_gamma_gamma(), 40, scale=0.1, seed=8
    )


def test_scores_columns_and_ranges(cdnow_sample_summary, fits):
    scores = score_customers(*fits, cdnow_sample_summary)
    assert len(scores) == cdnow.CUSTOMERS
    for name in ("p_alive", "expected_purchases", "clv"):
        q = scores[[f"{name}_q05", f"{name}_q50", f"{name}_q95"]].to_numpy()
        assert np.isfinite(q).all() and (np.diff(q, axis=1) >= 0).all()
    assert scores["p_alive_mean"].between(0, 1).all()
    # BG/NBD: x == 0 customers are alive for sure (drop-out only happens after a purchase)
    assert (scores.loc[cdnow_sample_summary[col.X].to_numpy() == 0, "p_alive_q05"] == 1.0).all()
    # the CLV columns are the ones customer_lifetime_value computes
    clv = customer_lifetime_value(*fits, cdnow_sample_summary)
    np.testing.assert_array_equal(scores["clv_q95"], clv["clv_q95"])
    assert scores.attrs["n_draws"] == 40


def test_expected_purchases_over_the_horizon(cdnow_sample_summary):
    s = cdnow_sample_summary
    scores = score_customers(cdnow_pnbd(), None, s, horizon_weeks=26, period_weeks=26)
    direct = formulas.pnbd_expected_purchases(26.0, s[col.X], s[col.T_X], s[col.T], **cdnow.PARETO_NBD)
    np.testing.assert_allclose(scores["expected_purchases_mean"], direct, rtol=1e-12)
    assert not any(c.startswith("clv") for c in scores.columns)  # no spend model -> no CLV columns


def test_streamed_parquet_equals_in_memory(tmp_path, cdnow_sample_summary, fits):
    in_memory = score_customers(*fits, cdnow_sample_summary)
    run = write_scores(
        *fits, cdnow_sample_summary, tmp_path / "scores.parquet", write_rows=500, chunk_rows=300
    )
    assert run.n_customers == cdnow.CUSTOMERS and run.n_unique_summaries < cdnow.CUSTOMERS
    parquet = pq.ParquetFile(run.path)
    assert parquet.metadata.num_row_groups == 5  # 2,357 rows in blocks of 500
    assert b"ltvlab" in parquet.schema_arrow.metadata
    pd.testing.assert_frame_equal(pd.read_parquet(run.path), in_memory, check_exact=True)


def test_streamed_csv_and_hashed_ids(tmp_path, cdnow_sample_summary, fits):
    run = write_scores(
        *fits,
        cdnow_sample_summary,
        tmp_path / "scores.csv",
        write_rows=1000,
        hash_customer_ids=True,
        salt="x",
    )
    back = pd.read_csv(run.path)
    assert len(back) == cdnow.CUSTOMERS and back.columns[0] == "customer_hash"
    text = run.path.read_text()
    assert cdnow_sample_summary[col.CUSTOMER_ID].iloc[0] + "," not in text


def test_bad_output_suffix(tmp_path, cdnow_sample_summary, fits):
    with pytest.raises(LtvlabError, match=r"parquet or \.csv"):
        write_scores(*fits, cdnow_sample_summary, tmp_path / "scores.xlsx")


def test_same_day_repeat_purchases_score(tmp_path):
    """Summaries built without merging same-day purchases have repeat buyers with t_x == 0: they are scored."""
    from ltvlab.ltv import score_customers
    from tests.ltv.fixed_fit import cdnow_bgnbd

    summary = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "x": [1, 2, 0], "t_x": [0.0, 0.0, 0.0], "T": [10.0] * 3}
    )
    summary.attrs["unit"] = "W"
    scores = score_customers(cdnow_bgnbd(), None, summary)
    assert np.isfinite(scores[["p_alive_mean", "expected_purchases_mean"]].to_numpy()).all()
    # a repeat purchase on day one and nothing since is worse news than no repeat purchase at all
    p = scores.set_index("customer_id")["p_alive_mean"]
    assert p["b"] < p["a"] < p["c"]
