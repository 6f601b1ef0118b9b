import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.features import customer_summary
from tests.reference import cdnow


def test_cdnow_sample_reference_counts(cdnow_sample_summary: pd.DataFrame) -> None:
    s = cdnow_sample_summary
    assert len(s) == cdnow.CUSTOMERS
    assert s[col.X].sum() == cdnow.REPEAT_TRANSACTIONS
    assert (s[col.X] > 0).sum() == cdnow.REPEATERS


def test_cdnow_summary_invariants(cdnow_sample_summary: pd.DataFrame) -> None:
    s = cdnow_sample_summary
    assert (s[col.T_X] >= 0).all() and (s[col.T_X] <= s[col.T]).all()
    assert (s.loc[s[col.X] == 0, col.T_X] == 0).all()
    assert (s.loc[s[col.X] == 0, col.MONETARY] == 0).all()
    assert (s.loc[s[col.X] > 0, col.MONETARY] > 0).all()
    # the earliest joiners (1997-01-01) have T = 272 days = 38.857 weeks, Hardie's CDNOW convention
    assert s[col.T].max() == pytest.approx(272 / 7)
    assert (s[col.DURATION_HOLDOUT] == 39).all()


def _tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[col.CUSTOMER_ID, col.DATE, col.AMOUNT])
    frame[col.DATE] = pd.to_datetime(frame[col.DATE])
    return frame


def test_hand_computed_summary_in_days() -> None:
    tx = _tx(
        [
            ("a", "2020-01-01", 10.0),
            ("a", "2020-01-01", 5.0),  # same day as the first purchase: merged
            ("a", "2020-01-11", 20.0),
            ("a", "2020-01-21", 40.0),
            ("a", "2020-02-05", 7.0),  # holdout
            ("b", "2020-01-15", 3.0),
            ("c", "2020-02-02", 9.0),  # joins after calibration: excluded
        ]
    )
    s = customer_summary(tx, calibration_end="2020-01-31", holdout_end="2020-02-29", unit="D").set_index(
        col.CUSTOMER_ID
    )
    assert list(s.index) == ["a", "b"]
    a, b = s.loc["a"], s.loc["b"]
    assert a[col.X] == 2 and a[col.T_X] == 20 and a[col.T] == 30
    assert a[col.MONETARY] == pytest.approx(30.0)
    assert a[col.FIRST_AMOUNT] == pytest.approx(15.0)
    assert a[col.X_HOLDOUT] == 1 and a[col.SPEND_HOLDOUT] == pytest.approx(7.0)
    assert b[col.X] == 0 and b[col.T_X] == 0 and b[col.T] == 16 and b[col.MONETARY] == 0


def test_keep_same_day_counts_each_purchase() -> None:
    tx = _tx([("a", "2020-01-01", 10.0), ("a", "2020-01-01", 5.0), ("a", "2020-01-08", 1.0)])
    merged = customer_summary(tx, calibration_end="2020-01-31", unit="W")
    separate = customer_summary(tx, calibration_end="2020-01-31", unit="W", merge_same_day=False)
    assert merged[col.X].item() == 1
    assert separate[col.X].item() == 2
    assert separate[col.T_X].item() == pytest.approx(1.0)
    # the two purchases of 2020-01-01 tie in time: the smaller (5.0) is the first purchase, 10.0 a repeat
    assert separate[col.FIRST_AMOUNT].item() == 5.0
    assert separate[col.MONETARY].item() == pytest.approx(5.5)


def test_purchases_at_the_same_time_are_ordered_by_amount_whatever_the_row_order() -> None:
    # with merge_same_day=False two purchases on the first day tie in time: the smaller is the first purchase
    # (first_amount), the other a repeat (monetary), and the segment is the first purchase's, in every row order
    rows = [
        ("a", "2020-01-01", 10.0, "web"),
        ("a", "2020-01-01", 4.0, "store"),
        ("a", "2020-01-08", 2.0, "app"),
        ("b", "2020-01-02", 7.0, "web"),
        ("b", "2020-01-02", 7.0, "app"),
    ]
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(6):
        order = rng.permutation(len(rows))
        tx = _tx([rows[i][:3] for i in order])
        tx["channel"] = [rows[i][3] for i in order]
        frames.append(
            customer_summary(
                tx, calibration_end="2020-01-31", unit="D", merge_same_day=False, segment_cols=["channel"]
            )
        )
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)
    a, b = frames[0].set_index(col.CUSTOMER_ID).loc["a"], frames[0].set_index(col.CUSTOMER_ID).loc["b"]
    assert a[col.FIRST_AMOUNT] == 4.0 and a[col.X] == 2 and a[col.MONETARY] == pytest.approx(6.0)
    assert a["channel"] == "store"
    assert b[col.FIRST_AMOUNT] == 7.0 and b[col.X] == 1 and b["channel"] == "app"


def test_segment_taken_from_first_transaction() -> None:
    tx = _tx([("a", "2020-01-05", 1.0), ("a", "2020-01-01", 2.0), ("b", "2020-01-02", 1.0)])
    tx["channel"] = ["web", "store", "app"]
    s = customer_summary(tx, calibration_end="2020-01-31", unit="D", segment_cols=["channel"])
    assert dict(zip(s[col.CUSTOMER_ID], s["channel"], strict=True)) == {"a": "store", "b": "app"}


def test_weeks_equal_days_over_seven(cdnow_sample_transactions: pd.DataFrame) -> None:
    w = customer_summary(cdnow_sample_transactions, calibration_end="1997-09-30", unit="W")
    d = customer_summary(cdnow_sample_transactions, calibration_end="1997-09-30", unit="D")
    np.testing.assert_allclose(w[col.T].to_numpy() * 7, d[col.T].to_numpy())
    np.testing.assert_allclose(w[col.T_X].to_numpy() * 7, d[col.T_X].to_numpy())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration_end": "not-a-date"}, "calibration_end"),
        ({"calibration_end": "2020-01-31", "holdout_end": "2020-01-01"}, "must come after"),
        ({"calibration_end": "2020-01-31", "unit": "M"}, "unit"),
    ],
)
def test_bad_parameters_raise_ltvlab_error(kwargs: dict, message: str) -> None:
    tx = _tx([("a", "2020-01-01", 1.0)])
    with pytest.raises(LtvlabError, match=message):
        customer_summary(tx, **kwargs)


def test_missing_column_is_named() -> None:
    tx = _tx([("a", "2020-01-01", 1.0)]).drop(columns=col.AMOUNT)
    with pytest.raises(LtvlabError, match="amount"):
        customer_summary(tx, calibration_end="2020-01-31")


def test_summary_frame_is_what_duckdb_df_gives(cdnow_sample_transactions: pd.DataFrame) -> None:
    """The summary is collected through Arrow (less memory than ``.df()``); it must be the same frame, dtypes
    included, as DuckDB's own ``.df()`` of the same statement, with and without holdout and segment columns."""
    from datetime import date

    import duckdb

    from ltvlab.features.summary import collect, summary_sql

    tx = cdnow_sample_transactions.assign(cohort=lambda d: d["customer_id"].astype(str).str[-1])
    con = duckdb.connect()
    con.register("tx", tx)
    for holdout, segments in ((None, ()), (date(1998, 6, 30), ("cohort",))):
        sql = summary_sql(
            "tx",
            calibration_end=date(1997, 9, 30),
            holdout_end=holdout,
            unit_days=7,
            merge_same_day=True,
            segment_cols=segments,
        )
        expected = con.sql(sql).df()
        got = collect(con.sql(sql))
        assert len(got) == 2357
        pd.testing.assert_frame_equal(got, expected)
