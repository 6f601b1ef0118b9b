"""Date parsing: explicit formats, detection, and the ambiguity error."""

from __future__ import annotations

import pandas as pd
import pytest

from ltvlab.data.dates import parse_dates
from ltvlab.errors import DataValidationError


def _parse(values: list, date_format: str | None = None):
    series = pd.Series(values)
    rows = pd.Series(range(2, len(values) + 2))
    return parse_dates(series, date_format=date_format, file_name="t.csv", column="when", rows=rows)


@pytest.mark.parametrize(
    ("values", "expected_format"),
    [
        (["1997-01-18", "1997-03-25"], "ISO8601"),
        (["19970118", "19970325"], "%Y%m%d"),
        (["1997/01/18", "1997/03/25"], "%Y/%m/%d"),
        (["18/01/1997", "25/03/1997"], "%d/%m/%Y"),  # 18 and 25 can only be days
        (["01/18/1997", "03/25/1997"], "%m/%d/%Y"),
        (["18.01.1997", "25.03.1997"], "%d.%m.%Y"),
    ],
)
def test_formats_are_detected(values: list[str], expected_format: str) -> None:
    parsed = _parse(values)
    assert parsed.format == expected_format
    assert parsed.values.tolist() == [pd.Timestamp("1997-01-18"), pd.Timestamp("1997-03-25")]


def test_day_first_wins_when_one_value_proves_it() -> None:
    parsed = _parse(["01/02/1997", "03/04/1997", "13/04/1997"])
    assert parsed.format == "%d/%m/%Y"
    assert parsed.values.iloc[0] == pd.Timestamp("1997-02-01")


def test_ambiguous_day_month_raises_with_both_formats_in_the_fix() -> None:
    with pytest.raises(DataValidationError, match=r"t.csv row 2, column 'when'.*ambiguous") as info:
        _parse(["01/02/1997", "03/04/1997", "12/11/1997"])
    assert "%d/%m/%Y" in str(info.value) and "%m/%d/%Y" in str(info.value)


def test_explicit_format_resolves_the_ambiguity() -> None:
    parsed = _parse(["01/02/1997", "03/04/1997"], date_format="%m/%d/%Y")
    assert parsed.values.tolist() == [pd.Timestamp("1997-01-02"), pd.Timestamp("1997-03-04")]


def test_values_not_in_the_detected_format_become_nat() -> None:
    parsed = _parse(["19970118", "19971301", "", "19970325"])
    assert parsed.format == "%Y%m%d"
    assert parsed.values.isna().tolist() == [False, True, True, False]


def test_timestamps_with_offsets_become_naive_utc() -> None:
    parsed = _parse(["1997-01-18T23:30:00+02:00", "1997-01-19 08:00:00"])
    assert parsed.values.tolist() == [pd.Timestamp("1997-01-18 21:30"), pd.Timestamp("1997-01-19 08:00")]


def test_stored_datetimes_and_integer_dates_are_accepted() -> None:
    stored = _parse(list(pd.to_datetime(["1997-01-18", "1997-03-25"]).tz_localize("Europe/Paris")))
    assert stored.values.tolist() == [pd.Timestamp("1997-01-17 23:00"), pd.Timestamp("1997-03-24 23:00")]
    integers = parse_dates(
        pd.Series([19970118, 19970325]), date_format=None, file_name="t", column="d", rows=pd.Series([1, 2])
    )
    assert integers.format == "%Y%m%d"
    assert integers.values.tolist() == [pd.Timestamp("1997-01-18"), pd.Timestamp("1997-03-25")]


def test_unrecognised_dates_ask_for_a_format() -> None:
    with pytest.raises(DataValidationError, match="pass date_format="):
        _parse(["18 Jan 1997", "25 Mar 1997"])
