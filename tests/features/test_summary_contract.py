"""The summary contract: first purchases on and after the calibration end day, and the notes that say so."""

from __future__ import annotations

import pandas as pd

from ltvlab.features import columns as col
from ltvlab.features import customer_summary, summary_notes


def _tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[col.CUSTOMER_ID, col.DATE, col.AMOUNT])
    frame[col.DATE] = pd.to_datetime(frame[col.DATE], format="ISO8601")
    return frame


TX = _tx(
    [
        ("a", "2024-01-02", 10.0),
        ("a", "2024-01-20", 5.0),
        ("b", "2024-01-31 15:30", 8.0),  # first purchase on the calibration end day, in the afternoon
        ("b", "2024-02-10", 3.0),
        ("c", "2024-02-05", 4.0),  # first purchase after the calibration end
        ("d", "2024-02-06", 4.0),
    ]
)


def test_first_purchase_on_the_end_day_is_kept_with_t_zero_and_after_it_counted() -> None:
    for merge in (True, False):
        s = customer_summary(TX, calibration_end="2024-01-31", unit="D", merge_same_day=merge)
        assert s[col.CUSTOMER_ID].tolist() == ["a", "b"]
        b = s.set_index(col.CUSTOMER_ID).loc["b"]
        # before (merge_same_day=False): T = -15.5 hours, which no model accepts
        assert (b[col.X], b[col.T_X], b[col.T]) == (0, 0.0, 0.0)
        assert (s[col.T] >= s[col.T_X]).all()
        assert s.attrs["n_first_on_calibration_end"] == 1
        assert s.attrs["n_first_after_calibration_end"] == 2
        notes = summary_notes(s)
        assert len(notes) == 2 and "x = t_x = T = 0" in notes[0] and "2 customer(s)" in notes[1]
        assert s.attrs["unit"] == "D"


def test_no_notes_when_nobody_is_affected() -> None:
    s = customer_summary(TX.iloc[:2], calibration_end="2024-01-31", unit="W")
    assert summary_notes(s) == ()
    assert s.attrs["n_first_on_calibration_end"] == 0 and s.attrs["n_first_after_calibration_end"] == 0
