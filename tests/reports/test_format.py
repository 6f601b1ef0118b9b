"""The formatting layer against hand-worked expectations (the house style's examples among them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.reports import format as fmt
from ltvlab.reports.tables import column_kind, format_table


@pytest.mark.parametrize(
    ("value", "expected"),
    [(23570.0, "23,570"), (23570, "23,570"), (0.07647, "0.0765"), (12.345, "12.3"), (1234.56, "1,235"),
     (-0.5, "-0.5"), (0.0, "0"), (3.0, "3"), (float("nan"), "—"), (None, "—"), (1.23e-7, "1.23e-07"), (0.00761, "0.0076"),
     (True, "yes"), (np.int64(7), "7"), (np.float64(146.21), "146")],
)  # fmt: skip
def test_number(value, expected) -> None:
    assert fmt.number(value) == expected


def test_integers_counts_and_missing() -> None:
    assert fmt.integer(23570.0) == "23,570"
    assert fmt.integer(np.nan) == "—"
    assert fmt.integer(pd.NA) == "—"
    assert fmt.number(float("inf")) == "—"


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0.0, "p < 0.001"), (0.00000, "p < 0.001"), (0.0009, "p < 0.001"), (0.001, "p = 0.001"),
     (0.0342, "p = 0.034"), (0.5, "p = 0.50"), (0.1234, "p = 0.12"), (1.0, "p = 1.00"), (np.nan, "—")],
)  # fmt: skip
def test_p_value(p, expected) -> None:
    assert fmt.p_value(p) == expected


def test_p_value_cell_drops_the_p() -> None:
    assert fmt.p_value_cell(0.0) == "< 0.001"
    assert fmt.p_value_cell(0.0342) == "0.034"


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (0.712, "71%"),
        (0.71, "71%"),
        (1.0, "100%"),
        (0.0452, "4.5%"),
        (0.00123, "0.12%"),
        (0.0, "0%"),
        (0.05, "5%"),
        (0.9996, "> 99.9%"),
        (0.997, "99.7%"),
        (0.994, "99%"),
    ],
)
def test_percent(share, expected) -> None:
    assert fmt.percent(share) == expected


def test_points_and_money() -> None:
    assert fmt.points(0.0452) == "+4.5 pp"
    assert fmt.points(-0.012) == "-1.2 pp"
    assert fmt.money(1234.4) == "$1,234"
    assert fmt.money(-12.5) == "-$12.50"
    assert fmt.money(1234.4, "EUR") == "EUR 1,234"
    assert fmt.money(0.77, "€") == "€0.77"
    assert fmt.money(np.nan) == "—"


def test_lift_examples_from_the_style_guide() -> None:
    # width 0.0127 = 1.27 pp -> two significant figures of the width = one decimal
    assert fmt.lift(0.0452, 0.0389, 0.0516, kind="rate", level=0.95) == "+4.5 pp (95% CI 3.9 to 5.2)"
    assert fmt.lift(0.77, 0.48, 1.06, kind="money") == "+$0.77 (95% CI $0.48 to $1.06)"
    # a CLV total: width 9,000 -> whole numbers, thousands separators, a 90% credible interval
    assert (
        fmt.lift(72502.3, 68011.2, 77020.9, kind="money", level=0.9, label="credible interval", sign=False)
        == "$72,502 (90% credible interval $68,011 to $77,021)"
    )
    assert fmt.lift(-0.3, -0.9, 0.31, level=0.95) == "-0.30 (95% CI -0.90 to 0.31)"


def test_a_point_estimate_is_never_a_zero_width_interval() -> None:
    text = fmt.lift(72502.0, 72502.0, 72502.0, kind="money", level=0.9, sign=False)
    assert text == "$72,502 (point estimate, no interval)"
    assert "to" not in text
    assert fmt.lift(0.05, np.nan, np.nan, kind="rate") == "+5.00 pp (point estimate, no interval)"


def test_interval_and_spans_zero() -> None:
    assert fmt.interval(0.0389, 0.0516, kind="rate", level=0.95) == "95% CI 3.9 to 5.2"
    assert fmt.level_text(0.9) == "90%" and fmt.level_text(0.975) == "97.5%"
    assert fmt.spans_zero(-0.1, 0.2) and not fmt.spans_zero(0.1, 0.2) and fmt.spans_zero(np.nan, 1)


@pytest.mark.parametrize(
    ("name", "label"),
    [("ess_bulk", "ESS bulk"), ("r_hat", "R-hat"), ("p_value_adjusted", "p-value adjusted"),
     ("srm_p_value", "SRM p-value"), ("prob_profitable", "P(profitable)"), ("roi_ci_low", "ROI CI low"),
     ("clv_q05", "CLV 5% quantile"), ("n_arm", "n arm"), ("customers", "Customers")],
)  # fmt: skip
def test_column_labels(name, label) -> None:
    assert fmt.column_label(name) == label


def test_table_infers_kinds_drops_range_index_and_escapes() -> None:
    frame = pd.DataFrame(
        {
            "segment": ["<b>north</b>", "south"],
            "customers": [23570.0, 12.0],
            "ess_bulk": [812.123456, 146.2],
            "p_value": [0.0, 0.0342],
            "share": [0.71, 0.29],
            "note": [None, np.nan],
        }
    )
    assert column_kind("p_value", frame["p_value"]) == "p"
    assert column_kind("customers", frame["customers"]) == "int"
    assert column_kind("share", frame["share"]) == "percent"
    html = format_table(frame).to_html()
    for text in ("23,570", "812", "&lt; 0.001", "0.034", "71%", "—", "&lt;b&gt;north&lt;/b&gt;", "ESS bulk"):
        assert text in html, text
    for text in ("23570.0", "812.123456", "NaN", "nan", "None", "<b>", ">0<"):
        assert text not in html, text


def test_wide_tables_split_and_repeat_their_keys() -> None:
    frame = pd.DataFrame({"arm": ["a", "b"], **{f"m{i}": [1.5, 2.5] for i in range(10)}})
    table = format_table(frame, max_columns=5)
    assert len(table.parts) == 3  # 10 numeric columns, 4 per part beside the key
    assert all(part.columns[0] == "Arm" for part in table.parts)
    assert sum(part.shape[1] - 1 for part in table.parts) == 10


def test_one_row_tables_are_transposed() -> None:
    frame = pd.DataFrame({"qini": [0.0123], "auuc": [1.5], "n_test": [5000], "treatment": ["email"]})
    table = format_table(frame)
    (part,) = table.parts
    assert list(part.iloc[:, 0]) == ["Qini", "AUUC", "n test", "Treatment"]
    assert list(part["Value"]) == ["0.0123", "1.5", "5,000", "email"]


def test_tiny_non_zero_values_never_print_as_zero() -> None:
    # An expected loss of 0.00003 (0.003 pp) at two decimals would read "0.00 pp": it is below 0.01 pp.
    assert fmt.points(0.00003, sign=False) == "< 0.01 pp"
    assert fmt.points(-0.00003) == "> -0.01 pp"
    assert fmt.points(0.0012, sign=False) == "0.12 pp"
    assert fmt.points(0.0, sign=False) == "0 pp"
    assert fmt.percent(0.00001) == "< 0.01%"
    assert fmt.money(0.001) == "< $0.01"
    assert fmt.money(-0.001, "EUR") == "> -EUR 0.01"
    assert fmt.money(0.0) == "$0.00"
    # fixed decimals (an estimate beside its interval) keep the plain rounding
    assert fmt.points(0.00003, decimals=0, sign=False) == "0 pp"


def test_interval_bounds_alone() -> None:
    assert fmt.bounds(147282.0, 232255.0, kind="money") == "$147,282 to $232,255"
    assert fmt.bounds(0.0389, 0.0516, kind="rate") == "3.9 to 5.2"
    assert fmt.bounds(np.nan, 1.0) == "—"


def test_hashed_ids_are_shortened_for_display_only() -> None:
    from ltvlab.data.ids import hash_ids

    digest = hash_ids(["C-0001"], salt="test-salt").iloc[0]
    assert len(digest) == 64 and fmt.is_hashed_id(digest)
    assert fmt.short_id(digest) == digest[:12] + "…"
    assert fmt.short_id(None) == "—" and fmt.short_id("abc") == "abc"
    assert not fmt.is_hashed_id("C-0001") and not fmt.is_hashed_id(digest.upper())
    frame = pd.DataFrame({"customer": [digest], "note": ["x"], "clv": [12.5]})
    html = format_table(frame, transpose=False).to_html()
    assert digest[:12] + "…" in html and digest not in html
    assert frame["customer"].iloc[0] == digest  # the data keep the full digest


def test_a_cut_table_says_how_many_rows_it_leaves_out() -> None:
    frame = pd.DataFrame({"cell": [f"c{i}" for i in range(30)], "value": np.arange(30.0) + 0.5})
    table = format_table(frame, max_rows=10, caption="Values.")
    assert len(table.parts[0]) == 10
    assert table.caption == "Values. First 10 of 30 rows shown (20 more not shown)."
    assert format_table(frame, max_rows=40).caption == ""


@pytest.mark.parametrize(
    ("label", "expected"),
    [("posterior mean", "Posterior mean"), ("sd", "SD"), ("median", "Median"), ("c, mean", "c, mean"),
     ("t_x", "t_x"), ("x", "x"), ("90% HDI low", "90% HDI low"), ("P(alive)", "P(alive)"),
     ("p-value", "p-value"), ("eBay share", "eBay share"), ("hdi low", "HDI low"), ("alpha", "alpha"),
     ("gamma", "gamma")],
)  # fmt: skip
def test_every_label_is_in_sentence_case_but_symbols_keep_theirs(label, expected) -> None:
    assert fmt.sentence_case(label) == expected


def test_explicit_table_labels_are_put_in_sentence_case() -> None:
    frame = pd.DataFrame({"std": [1.5], "q50": [2.0], "x": [3]})
    table = format_table(frame, labels={"std": "sd"}, transpose=False)
    assert list(table.parts[0].columns) == ["SD", "Median", "x"]


def test_a_probability_from_draws_is_never_a_certainty() -> None:
    # all 200 draws above zero only bound the probability by the resolution of 200 draws
    assert fmt.probability(1.0, 200) == "> 99.5% (all 200 draws)"
    assert fmt.probability(0.0, 200) == "< 0.5% (none of 200 draws)"
    assert fmt.probability(1.0, 1_000) == "> 99.9% (all 1,000 draws)"
    assert fmt.probability(0.97, 200, equals=True) == "= 97%"
    assert fmt.probability(1.0, 200, equals=True) == "> 99.5% (all 200 draws)"
    assert fmt.probability(1.0) == "100%"  # an exact probability (no draws) may be a certainty
