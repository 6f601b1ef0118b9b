"""Numbers and booleans read from the evidence of the whole column (defects of issue 15, each failed before)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ltvlab.data import load_experiment, load_transactions
from ltvlab.data.numbers import parse_number_column
from ltvlab.errors import DataValidationError


def _parse(values: list[str], **kwargs) -> list[float]:
    parsed = parse_number_column(pd.Series(values, dtype="str"), file_name="f.csv", column="amount", **kwargs)
    return parsed.numbers.tolist()


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_us_thousands_in_a_semicolon_file_are_not_read_as_decimal_commas(tmp_path: Path) -> None:
    # before: 1,234 was read as 1.234 (1,000x too small) without a word
    rows = "\n".join(f"c{i};2024-01-{i + 1:02d};{a}" for i, a in enumerate(["1,234.50", "2,000", "999.99"]))
    load = load_transactions(_write(tmp_path, "customer_id;date;amount\n" + rows + "\n"))
    assert load.frame["amount"].tolist() == [1234.5, 2000.0, 999.99]
    assert any("decimal '.', ',' thousands" in line for line in load.interpretation)


def test_mostly_whole_decimal_comma_amounts_are_read(tmp_path: Path) -> None:
    # before: refused (only one value in three had a decimal comma)
    amounts = ["10", "25", "12,50"]
    rows = "\n".join(f"c{i};2024-01-{i + 1:02d};{a}" for i, a in enumerate(amounts))
    load = load_transactions(_write(tmp_path, "customer_id;date;amount\n" + rows + "\n"))
    assert load.frame["amount"].tolist() == [10.0, 25.0, 12.5]
    assert any("decimal ','" in line for line in load.interpretation)


def test_evidence_late_in_the_column_decides() -> None:
    values = ["1,234"] * 5000 + ["7.50"]  # only the last value says the comma is a thousands separator
    assert _parse(values)[:2] == [1234.0, 1234.0]
    values = ["1.234"] * 5000 + ["7,50"]
    assert _parse(values)[0] == 1234.0


def test_only_ambiguous_values_stop_with_the_options() -> None:
    with pytest.raises(DataValidationError, match=r"--thousands , or --thousands \.") as info:
        _parse(["1,234", "2,500", "10"])
    assert "column 'amount'" in str(info.value) and "decimal=" in str(info.value)
    assert _parse(["1,234", "2,500"], thousands=",") == [1234.0, 2500.0]
    assert _parse(["1,234", "2,500"], decimal=",") == [1.234, 2.5]


def test_two_conventions_in_one_column_stop() -> None:
    with pytest.raises(DataValidationError, match=r"decimal point .* decimal comma"):
        _parse(["12.50", "7,25"])


def test_values_that_do_not_fit_the_columns_convention_are_not_numbers() -> None:
    out = _parse(["1.234,50", "12,5", "1,2,3"], decimal=",")
    assert out[:2] == [1234.5, 12.5] and pd.isna(out[2])


def test_scientific_and_signed_numbers_still_read() -> None:
    assert _parse(["1e3", "-2.5", "+4"]) == [1000.0, -2.5, 4.0]


def test_currency_symbols_are_quarantined_with_their_reason_unless_stripped(tmp_path: Path) -> None:
    text = "customer_id,date,amount\n" + "\n".join(
        [f"c{i},2024-01-{i + 1:02d},{a}" for i, a in enumerate(["$12.50", "7.25", "9.00"])]
    )
    path = _write(tmp_path, text + "\n")
    load = load_transactions(path, max_bad_share=0.5, quarantine_dir=tmp_path / "q")
    assert load.n_quarantined == 1 and load.quarantine["reason"].tolist() == ["has a currency symbol"]
    stripped = load_transactions(path, strip_currency=True)
    assert stripped.frame["amount"].tolist() == [12.5, 7.25, 9.0]
    assert _parse(["12,50 €", "EUR 3,10", "7"], strip_currency=True) == [12.5, 3.1, 7.0]
    assert _parse(["EUR 3,10", "USD 7,25"], strip_currency=True) == [3.1, 7.25]


@pytest.mark.parametrize(
    ("true", "false"),
    [("True", "False"), ("true", "false"), ("TRUE", "FALSE"), ("yes", "no"), ("Y", "N"), ("t", "f"),
     ("1.0", "0.0")],
)  # fmt: skip
def test_boolean_outcomes_and_covariates(tmp_path: Path, true: str, false: str) -> None:
    # before: 'False' is not a number -> 100% of the rows quarantined
    rows = [f"u{i},{'a' if i % 2 else 'b'},{true if i % 3 else false},{false if i % 2 else true},{i}.5"
            for i in range(12)]  # fmt: skip
    path = _write(tmp_path, "unit_id,arm,converted,loyal,spend\n" + "\n".join(rows) + "\n")
    load = load_experiment(
        path, outcomes=("converted", "spend"), binary_outcomes=("converted",), covariates=("loyal",)
    )
    assert load.n_quarantined == 0
    assert load.frame["converted"].tolist() == [0 if i % 3 == 0 else 1 for i in range(12)]
    assert load.frame["loyal"].tolist() == [0.0 if i % 2 else 1.0 for i in range(12)]
    if not true[0].isdigit():
        assert any(f"read as {true.lower()} = 1" in line for line in load.interpretation)
