"""Loading users' transaction and experiment files: mapping, validation, quarantine, the bad-share stop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ltvlab.data import load_experiment, load_transactions
from ltvlab.errors import DataValidationError, LtvlabError
from ltvlab.features import customer_summary
from tests.conftest import CDNOW_CALIBRATION_END
from tests.reference import cdnow
from tests.reference import hillstrom as hillstrom_ref

MAPPING = {"customer_id": "cust", "date": "order_date", "amount": "value"}


def _user_csv(transactions: pd.DataFrame, path: Path, *, sep: str = ",") -> Path:
    """The bundled CDNOW sample as a user would export it: own column names, YYYYMMDD text dates."""
    user = transactions.rename(columns={"customer_id": "cust", "date": "order_date", "amount": "value"})
    user["order_date"] = user["order_date"].dt.strftime("%Y%m%d")
    user.to_csv(path, index=False, sep=sep)
    return path


def _clean(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"c{i % 50:03d}" for i in range(n)],
            "date": [
                (pd.Timestamp("2020-01-01") + pd.Timedelta(days=i % 365)).strftime("%Y-%m-%d")
                for i in range(n)
            ],
            "amount": [f"{5 + (i * 3.7) % 95:.2f}" for i in range(n)],
        }
    )


def test_cdnow_sample_through_a_users_csv_gives_the_published_figures(
    cdnow_sample_transactions: pd.DataFrame, tmp_path: Path
) -> None:
    path = _user_csv(cdnow_sample_transactions, tmp_path / "cdnow.csv", sep=";")
    result = load_transactions(path, columns=MAPPING, extra_columns=("quantity",), quarantine_dir=tmp_path)
    assert (result.n_rows, result.n_loaded, result.n_quarantined) == (6919, 6919, 0)
    assert result.quarantine_path is None and result.date_format == "%Y%m%d" and result.delimiter == ";"
    pd.testing.assert_frame_equal(
        result.frame[["customer_id", "date", "amount"]],
        cdnow_sample_transactions[["customer_id", "date", "amount"]],
    )
    summary = customer_summary(result.frame, calibration_end=CDNOW_CALIBRATION_END, unit="W")
    assert len(summary) == cdnow.CUSTOMERS
    assert summary["x"].sum() == cdnow.REPEAT_TRANSACTIONS
    assert (summary["x"] > 0).sum() == cdnow.REPEATERS
    # the sample holds exact duplicate lines (same customer, day, quantity, value): kept, and said so
    n_duplicates = int(cdnow_sample_transactions.duplicated().sum())
    assert n_duplicates > 0
    assert any(f"{n_duplicates:,} row(s) exactly repeat" in w for w in result.warnings)


def test_parquet_input_with_typed_columns(cdnow_sample_transactions: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "cdnow.parquet"
    typed = cdnow_sample_transactions.assign(customer_id=cdnow_sample_transactions["customer_id"].astype(int))
    typed.to_parquet(path)
    result = load_transactions(path, quarantine_dir=tmp_path)
    assert result.n_loaded == len(typed) and result.file_format == "parquet"
    # integer ids come back as text without a ".0"; stored datetimes are taken as they are
    assert result.frame["customer_id"].iloc[0] == str(typed["customer_id"].iloc[0])
    assert (result.frame["date"] == cdnow_sample_transactions["date"]).all()


def test_seeded_corruption_is_quarantined_exactly_at_the_corrupted_lines(tmp_path: Path) -> None:
    """Independent truth: we break k known rows in known ways; exactly those lines must come back."""
    rng = np.random.default_rng(2024)
    frame = _clean(2000)
    corruptions = [
        ("customer_id", "", "is empty (missing customer id)"),
        ("date", "2020-02-30", "is not an ISO date (YYYY-MM-DD)"),
        ("date", "2999-01-01", "is in the future"),
        ("amount", "twelve", "is not a number"),
        ("amount", "nan", "is NaN"),
        ("amount", "-inf", "is infinite"),
        ("amount", "-3.50", "is negative (a return?)"),
    ]
    positions = rng.choice(len(frame), size=14, replace=False)
    expected = {}
    for k, pos in enumerate(positions):
        column, value, reason = corruptions[k % len(corruptions)]
        frame.loc[pos, column] = value
        expected[int(pos) + 2] = (column, value, reason)  # line number: header is line 1
    path = tmp_path / "tx.csv"
    frame.to_csv(path, index=False)
    result = load_transactions(path, quarantine_dir=tmp_path, now="2025-01-01")
    assert result.n_rows == 2000 == result.n_loaded + result.n_quarantined
    assert result.n_quarantined == len(expected) == len(result.quarantine)
    got = {int(r.row): (r.column, r.value, r.reason) for r in result.quarantine.itertuples()}
    assert got == expected
    written = pd.read_csv(result.quarantine_path, dtype=str, keep_default_na=False)
    assert written["row"].astype(int).tolist() == sorted(expected)
    assert result.quarantine_path.name.startswith("tx.")


def test_too_many_bad_rows_stop_with_the_house_message(tmp_path: Path) -> None:
    frame = _clean(2000)
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y%m%d")
    bad_lines = list(range(1204, 1204 + 21 * 30, 30))  # 21 of 2,000 rows = 1.05% > 1%
    frame.loc[[line - 2 for line in bad_lines], "date"] = "19971301"
    path = tmp_path / "transactions.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as info:
        load_transactions(path, quarantine_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(
        "transactions.csv row 1,204, column 'date': '19971301' is not a YYYYMMDD date; "
        "fix the row or pass date_format="
    )
    assert "21 of 2,000 rows (1.1%)" in message and "max_bad_share=0.01" in message
    # the quarantine file is written before stopping, so the user can see every bad row
    written = pd.read_csv(next(tmp_path.glob("transactions.*.quarantine.csv")))
    assert written["row"].tolist() == bad_lines


def test_bad_share_boundary(tmp_path: Path) -> None:
    frame = _clean(200)
    frame.loc[[10, 20], "amount"] = "x"  # 2 of 200 = 1.0%: allowed at max_bad_share=0.01 (not more than)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ok = load_transactions(path, quarantine_dir=tmp_path, max_bad_share=0.01)
    assert (ok.n_loaded, ok.n_quarantined) == (198, 2)
    with pytest.raises(DataValidationError, match=r"2 of 200 rows \(1.0%\).*more than max_bad_share=0.005"):
        load_transactions(path, quarantine_dir=tmp_path, max_bad_share=0.005)
    with pytest.raises(LtvlabError, match="between 0 and 1"):
        load_transactions(path, max_bad_share=1.5)


def test_returns_are_kept_only_when_allowed(tmp_path: Path) -> None:
    frame = _clean(200)
    frame.loc[5, "amount"] = "-12.5"
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    strict = load_transactions(path, quarantine_dir=tmp_path)
    assert strict.quarantine[["row", "value", "reason"]].values.tolist() == [
        [7, "-12.5", "is negative (a return?)"]
    ]
    kept = load_transactions(path, quarantine_dir=tmp_path, allow_returns=True)
    assert kept.n_quarantined == 0 and kept.frame["amount"].iloc[5] == -12.5


def test_future_is_relative_to_now(tmp_path: Path) -> None:
    frame = _clean(100)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    last = pd.to_datetime(frame["date"]).max()
    assert load_transactions(path, quarantine_dir=tmp_path, now=last).n_quarantined == 0
    earlier = load_transactions(
        path, quarantine_dir=tmp_path, now=last - pd.Timedelta(days=1), max_bad_share=1
    )
    n_after = int((pd.to_datetime(frame["date"]) > last - pd.Timedelta(days=1)).sum())
    assert earlier.n_quarantined == n_after
    assert set(earlier.quarantine["reason"]) == {"is in the future"}


def test_missing_columns_list_what_was_found_and_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _clean(10).rename(columns={"amount": "Amount_EUR"}).to_csv(path, index=False)
    with pytest.raises(DataValidationError) as info:
        load_transactions(path)
    message = str(info.value)
    assert message.startswith("t.csv: column 'amount' for amount not found")
    assert "--amount-col" in message and "Columns found: customer_id, date, Amount_EUR" in message
    result = load_transactions(path, columns={"amount": "Amount_EUR"}, quarantine_dir=tmp_path)
    assert result.n_loaded == 10 and list(result.frame.columns) == ["customer_id", "date", "amount"]


def test_extra_columns_are_carried_and_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _clean(10).assign(channel=["web", "shop"] * 5, region="north").to_csv(path, index=False)
    result = load_transactions(path, extra_columns=("channel",), quarantine_dir=tmp_path)
    assert list(result.frame.columns) == ["customer_id", "date", "amount", "channel"]
    assert result.frame["channel"].tolist() == ["web", "shop"] * 5
    with pytest.raises(DataValidationError, match=r"extra column\(s\) \['segment'\] not found"):
        load_transactions(path, extra_columns=("segment",))
    with pytest.raises(LtvlabError, match="unknown key"):
        load_transactions(path, columns={"customer": "customer_id"})


def test_hillstrom_as_a_users_experiment_file(hillstrom: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "hillstrom.csv"
    hillstrom.rename(columns={"unit_id": "user", "segment": "group"}).to_csv(path, index=False)
    result = load_experiment(
        path,
        columns={"unit_id": "user", "arm": "group"},
        outcomes=("visit", "spend"),
        covariates=("history", "channel"),
        arms=tuple(hillstrom_ref.ARMS),
        binary_outcomes=("visit",),
        quarantine_dir=tmp_path,
    )
    assert (result.n_rows, result.n_loaded, result.n_quarantined) == (64000, 64000, 0)
    assert list(result.frame.columns) == ["unit_id", "arm", "history", "channel", "visit", "spend"]
    means = result.frame.groupby("arm")[["visit", "spend"]].mean()
    for arm, ref in hillstrom_ref.ARMS.items():
        assert (result.frame["arm"] == arm).sum() == ref["n"]
        assert means.loc[arm, "visit"] == pytest.approx(ref["visit"], abs=5e-6)  # listed to 5 decimals
        assert means.loc[arm, "spend"] == pytest.approx(ref["spend"], abs=5e-5)  # listed to 4 decimals
    assert result.frame["history"].dtype == "float64" and result.frame["channel"].dtype == "str"


def test_experiment_rules(tmp_path: Path) -> None:
    n = 300
    frame = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "arm": ["a", "b", "c"] * (n // 3),
            "x": [str(i % 7) for i in range(n)],
            "visit": [str(i % 2) for i in range(n)],
        }
    )
    frame.loc[10, "unit_id"] = frame.loc[11, "unit_id"]  # duplicate: both rows out (assignment ambiguous)
    frame.loc[20, "arm"] = "d"
    frame.loc[30, "visit"] = "0.5"
    frame.loc[40, "x"] = ""
    frame.loc[50, "arm"] = ""
    path = tmp_path / "exp.csv"
    frame.to_csv(path, index=False)
    result = load_experiment(
        path,
        outcomes=("visit",),
        binary_outcomes=("visit",),
        covariates=("x",),
        arms=("a", "b", "c"),
        max_bad_share=0.05,
        quarantine_dir=tmp_path,
    )
    got = dict(zip(result.quarantine["row"], result.quarantine["reason"], strict=True))
    assert got == {
        12: "is a duplicate unit id",
        13: "is a duplicate unit id",
        22: "is an unknown arm",
        32: "is not 0 or 1",
        42: "is empty (missing covariate)",
        52: "is empty (missing arm)",
    }
    assert result.n_rows == result.n_loaded + result.n_quarantined == n
    assert result.frame["visit"].dtype == "int64" and result.frame["x"].dtype == "float64"
    with pytest.raises(LtvlabError, match="must also be listed in outcomes"):
        load_experiment(path, binary_outcomes=("visit",))
