"""The carry-over and the contact covariate table against a small example worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.contacts import CarryOver, carry, combine_covariates, contact_covariates
from ltvlab.errors import LtvlabError

ORIGIN = pd.Timestamp("2024-01-01")
WEEK = pd.Timedelta(days=7)
END = pd.Timestamp("2024-02-05")  # five weekly periods: Jan 1, 8, 15, 22, 29


def _log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C1", "C2"],
            "timestamp": pd.to_datetime(
                ["2024-01-02 10:00", "2024-01-07 23:59", "2024-01-16 00:00", "2024-01-29 00:00"]
            ),
            "strategy": ["email", "email", "sms", "email"],
            "cost": [0.1, 0.1, 0.5, 0.1],
        }
    )


def _expected(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "period_start", "contacts_email", "contacts_sms"])
    frame["period_start"] = pd.to_datetime(frame["period_start"]).astype("datetime64[ns]")
    frame[["contacts_email", "contacts_sms"]] = frame[["contacts_email", "contacts_sms"]].astype("float64")
    return frame


def test_window_carry_over_by_hand():
    table = contact_covariates(
        _log(), origin=ORIGIN, period_length=WEEK, end=END, carry_over=CarryOver.window(2)
    )
    # C1: two e-mails in period 0 count in periods 0 and 1; the sms of period 2 counts in 2 and 3
    expected = _expected(
        [
            ("C1", "2024-01-01", 2, 0),
            ("C1", "2024-01-08", 2, 0),
            ("C1", "2024-01-15", 0, 1),
            ("C1", "2024-01-22", 0, 1),
            ("C2", "2024-01-29", 1, 0),
        ]
    )
    pd.testing.assert_frame_equal(table, expected)
    assert table.attrs["origin"] == ORIGIN and table.attrs["period_length"] == WEEK
    assert table.attrs["n_periods"] == 5 and table.attrs["carry_over"] == "window:2"


def test_geometric_carry_over_by_hand():
    table = contact_covariates(
        _log(), origin=ORIGIN, period_length=WEEK, end=END, carry_over=CarryOver.geometric(0.5)
    )
    expected = _expected(
        [
            ("C1", "2024-01-01", 2, 0),
            ("C1", "2024-01-08", 1, 0),
            ("C1", "2024-01-15", 0.5, 1),
            ("C1", "2024-01-22", 0.25, 0.5),
            ("C1", "2024-01-29", 0.125, 0.25),
            ("C2", "2024-01-29", 1, 0),
        ]
    )
    pd.testing.assert_frame_equal(table, expected)


def test_strategies_select_and_order_the_columns():
    table = contact_covariates(
        _log(), origin=ORIGIN, period_length=WEEK, end=END, carry_over=CarryOver.window(1), strategies=["sms"]
    )
    assert list(table.columns) == ["customer_id", "period_start", "contacts_sms"]
    assert table["period_start"].tolist() == [pd.Timestamp("2024-01-15")]


def test_a_strategy_never_used_is_an_error():
    with pytest.raises(LtvlabError, match=r"\['push'\] have no contact"):
        contact_covariates(
            _log(),
            origin=ORIGIN,
            period_length=WEEK,
            end=END,
            carry_over=CarryOver.window(2),
            strategies=["email", "push"],
        )


def test_a_window_longer_than_the_data_is_an_error():
    with pytest.raises(LtvlabError, match="longer than the 5 period"):
        contact_covariates(_log(), origin=ORIGIN, period_length=WEEK, end=END, carry_over=CarryOver.window(6))
    # a window of exactly the data's length is allowed
    table = contact_covariates(
        _log(), origin=ORIGIN, period_length=WEEK, end=END, carry_over=CarryOver.window(5)
    )
    assert table.loc[table["customer_id"] == "C1", "contacts_email"].tolist() == [2, 2, 2, 2, 2]


def test_contacts_outside_the_grid_are_an_error():
    log = _log()
    log.loc[3, "timestamp"] = END
    with pytest.raises(LtvlabError, match=r"row 3 \(customer 'C2'.*outside"):
        contact_covariates(log, origin=ORIGIN, period_length=WEEK, end=END, carry_over=CarryOver.window(2))


def test_carry_over_parsing_and_checks():
    assert CarryOver.parse("window:4") == CarryOver.window(4)
    assert CarryOver.parse(" geometric : 0.5 ") == CarryOver.geometric(0.5)
    assert str(CarryOver.geometric(0.5)) == "geometric:0.5" and str(CarryOver.window(4)) == "window:4"
    for text in ("window", "window:2.5", "window:0", "geometric:1", "geometric:0", "decay:0.5"):
        with pytest.raises(LtvlabError, match="carry-over"):
            CarryOver.parse(text)
    np.testing.assert_allclose(CarryOver.geometric(0.5).weights(4), [1, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(CarryOver.window(2).weights(4), [1, 1, 0, 0])


def test_carry_equals_the_convolution_with_the_weights():
    rng = np.random.default_rng(1)
    counts = rng.poisson(0.7, size=(30, 12, 2)).astype(float)
    for carry_over in (
        CarryOver.window(1),
        CarryOver.window(3),
        CarryOver.window(12),
        CarryOver.geometric(0.3),
    ):
        w = carry_over.weights(12)
        direct = np.zeros_like(counts)
        for p in range(12):
            for d in range(p + 1):
                direct[:, p] += w[d] * counts[:, p - d]
        np.testing.assert_allclose(carry(counts, carry_over), direct, atol=1e-12)


def test_combine_covariates_fills_absent_rows_with_zero():
    contacts = contact_covariates(
        _log(), origin=ORIGIN, period_length=WEEK, end=END, carry_over=CarryOver.window(1)
    )
    user = pd.DataFrame(
        {
            "customer_id": ["C1", "C3"],
            "period_start": pd.to_datetime(["2024-01-01", "2024-01-08"]),
            "price_index": [1.5, -0.5],
        }
    )
    combined = combine_covariates(contacts, user)
    assert combined.attrs["carry_over"] == "window:1"
    rows = combined.set_index(["customer_id", "period_start"])
    assert rows.loc[("C1", pd.Timestamp("2024-01-01"))].tolist() == [2.0, 0.0, 1.5]
    assert rows.loc[("C3", pd.Timestamp("2024-01-08"))].tolist() == [0.0, 0.0, -0.5]
    assert rows.loc[("C2", pd.Timestamp("2024-01-29"))].tolist() == [1.0, 0.0, 0.0]
    assert len(combined) == 4
    with pytest.raises(LtvlabError, match="appear in two tables"):
        combine_covariates(contacts, contacts)
