"""Loading contact logs and covariate tables: column mapping, validation, quarantine and the store."""

from __future__ import annotations

import pandas as pd
import pytest

from ltvlab.data import Store, load_contacts, load_covariate_table
from ltvlab.errors import DataValidationError, LtvlabError

TRANSACTIONS = pd.DataFrame(
    {
        "customer_id": ["A", "A", "B", "C"],
        "date": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-10", "2024-01-20"]),
        "amount": [10.0, 12.0, 5.0, 7.5],
    }
)  # data end: 2024-02-10


def _write(tmp_path, text: str, name: str = "contacts.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


CONTACTS = """client;sent_at;channel;price;campaign
A;2024-01-05 09:00;email;0,10;c1
A;2024-01-02 09:00;email;0,10;c1
B;2024-01-12 10:30;sms;0,25;c2
Z;2024-01-12 10:30;sms;0,25;c2
C;2024-02-11 08:00;email;0,10;c3
C;2024-01-25 08:00;call;4,00;c4
B;2024-01-11 08:00;email;0,10;c1
"""
MAPPING = {"customer_id": "client", "timestamp": "sent_at", "strategy": "channel", "cost": "price"}


def test_contacts_are_read_through_the_column_mapping(tmp_path):
    path = _write(tmp_path, CONTACTS)
    result = load_contacts(path, columns={**MAPPING, "campaign_id": "campaign"}, quarantine_dir=tmp_path)
    frame = result.frame
    assert list(frame.columns) == ["customer_id", "timestamp", "strategy", "cost", "campaign_id"]
    assert frame["timestamp"].dtype == "datetime64[ns]" and frame["cost"].dtype == "float64"
    assert result.kind == "contacts" and result.n_loaded == 7 and result.n_quarantined == 0
    # sorted by customer, then time
    assert frame["customer_id"].tolist() == ["A", "A", "B", "B", "C", "C", "Z"]
    assert frame.loc[0, "timestamp"] == pd.Timestamp("2024-01-02 09:00")
    assert frame["cost"].tolist()[:2] == [0.1, 0.1] and frame.loc[4, "cost"] == 4.0
    assert any("decimal ','" in line for line in result.interpretation)


def test_unknown_customers_early_and_late_contacts_are_quarantined_and_counted(tmp_path):
    path = _write(tmp_path, CONTACTS)
    result = load_contacts(
        path, columns=MAPPING, customers=TRANSACTIONS, max_bad_share=0.5, quarantine_dir=tmp_path
    )
    assert result.n_rows == 7 and result.n_loaded == 4 and result.n_quarantined == 3
    q = result.quarantine.set_index("row")
    # file lines: header is line 1, so the contact of Z is line 5
    assert (
        q.loc[5, "reason"] == "is an unknown customer (not in the transactions)"
        and q.loc[5, "column"] == "client"
    )
    assert q.loc[3, "reason"] == "is before the customer's first purchase"  # A's first purchase is Jan 3
    assert q.loc[6, "reason"] == "is after the end of the data (2024-02-10)"
    assert result.quarantine_path is not None and result.quarantine_path.exists()
    text = " ".join(result.warnings)
    assert "1 contact(s) of customers not in the transactions" in text
    assert "1 contact(s) before the customer's first purchase" in text
    assert "1 contact(s) after the end of the data (2024-02-10)" in text
    assert set(result.frame["customer_id"]) == {"A", "B", "C"}


def test_too_many_bad_contacts_stop_with_file_row_column_and_fix(tmp_path):
    path = _write(tmp_path, CONTACTS)
    with pytest.raises(
        DataValidationError, match=r"contacts\.csv row \d, column '(client|sent_at)'.*max_bad_share"
    ):
        load_contacts(path, columns=MAPPING, customers=TRANSACTIONS, quarantine_dir=tmp_path)


def test_an_explicit_data_end_and_summary_customers(tmp_path):
    path = _write(tmp_path, CONTACTS)
    summary = pd.DataFrame(
        {"customer_id": ["A", "B", "C", "Z"], "first_purchase": pd.to_datetime(["2024-01-01"] * 4)}
    )
    result = load_contacts(
        path,
        columns=MAPPING,
        customers=summary,
        data_end="2024-01-24",
        max_bad_share=0.5,
        quarantine_dir=tmp_path,
    )
    # C's two contacts (Jan 25 and Feb 11) are after the end; nothing is early or unknown
    assert result.quarantine["reason"].tolist() == ["is after the end of the data (2024-01-24)"] * 2


def test_without_a_cost_column_cost_is_zero_and_said(tmp_path):
    path = _write(tmp_path, "customer_id,timestamp,strategy\nA,2024-01-05,email\nB,2024-01-06,sms\n")
    result = load_contacts(path, quarantine_dir=tmp_path)
    assert result.frame["cost"].tolist() == [0.0, 0.0]
    assert "campaign_id" not in result.frame
    assert any("no cost column" in line for line in result.interpretation)


def test_strategies_restrict_the_labels_and_a_listed_one_must_be_used(tmp_path):
    path = _write(tmp_path, CONTACTS)
    result = load_contacts(
        path, columns=MAPPING, strategies=["email", "sms"], max_bad_share=0.5, quarantine_dir=tmp_path
    )
    assert result.quarantine["reason"].tolist() == ["is an unknown strategy"]  # the call
    with pytest.raises(
        LtvlabError, match=r"contacts\.csv, column 'channel': strategy\(ies\) \['push'\].*--strategy-col"
    ):
        load_contacts(
            path, columns=MAPPING, strategies=["email", "push"], max_bad_share=0.5, quarantine_dir=tmp_path
        )


def test_bad_values_and_missing_columns(tmp_path):
    text = "customer_id,timestamp,strategy,cost\n" + "".join(
        f"A,2024-01-{d:02d},email,1\n" for d in range(1, 29)
    )
    text += "A,not a date,email,1\nA,2024-01-29,,1\nA,2024-01-30,email,-2\n"
    path = _write(tmp_path, text)
    result = load_contacts(path, max_bad_share=0.2, quarantine_dir=tmp_path)
    assert result.quarantine[["row", "column"]].values.tolist() == [
        [30, "timestamp"],
        [31, "strategy"],
        [32, "cost"],
    ]
    assert result.quarantine["reason"].tolist()[1:] == [
        "is empty (missing strategy)",
        "is negative (a return?)",
    ]
    with pytest.raises(DataValidationError, match=r"column 'channel' for strategy not found.*--strategy-col"):
        load_contacts(path, columns={"strategy": "channel"})


def test_a_legacy_encoding_is_detected(tmp_path):
    text = "customer_id,timestamp,strategy\n" + "A,2024-01-05,会员日短信\nB,2024-01-06,生日券\n" * 20
    path = _write(tmp_path, text, encoding="gb18030")
    result = load_contacts(path, quarantine_dir=tmp_path)
    assert set(result.frame["strategy"]) == {"会员日短信", "生日券"}


COVARIATES = """cust,week,promo,price_index
A,2024-01-01,1,0.5
A,2024-01-08,1,0.25
B,2024-01-08,1,1.5
B,2024-01-10,1,1.0
C,2024-01-15,1,2.0
C,2024-01-15,1,2.5
Z,2024-01-15,1,2.5
A,2024-02-12,1,1.0
B,2024-01-01,1,0.1
"""


def test_the_covariate_table_is_checked_against_the_grid_and_the_customers(tmp_path):
    path = _write(tmp_path, COVARIATES, "covariates.csv")
    result = load_covariate_table(
        path,
        columns={"customer_id": "cust", "period_start": "week"},
        customers=TRANSACTIONS,
        max_bad_share=1.0,
        quarantine_dir=tmp_path,
    )
    q = result.quarantine.set_index("row")["reason"]
    # the grid starts at the first transaction day, 2024-01-03, by default: of the rows only B's Jan 10 is on it
    assert q[3].startswith("is not the start of a period (periods of 7 days")
    assert q[10] == "is before the origin 2024-01-03"
    assert result.frame["period_start"].tolist() == [pd.Timestamp("2024-01-10")]
    assert result.frame.attrs["origin"] == pd.Timestamp("2024-01-03")
    assert result.frame.attrs["period_length"] == pd.Timedelta(days=7)


def test_covariate_rows_by_rule(tmp_path):
    path = _write(tmp_path, COVARIATES, "covariates.csv")
    result = load_covariate_table(
        path,
        columns={"customer_id": "cust", "period_start": "week"},
        customers=TRANSACTIONS,
        origin="2024-01-01",
        max_bad_share=0.7,
        quarantine_dir=tmp_path,
    )
    q = result.quarantine.set_index("row")["reason"]
    assert 2 not in q.index  # the week of Jan 1 contains A's first purchase (Jan 3): kept
    assert q[5].startswith("is not the start of a period")
    assert q[6] == q[7] == "repeats a (customer, period) of another row"
    assert q[8] == "is an unknown customer (not in the transactions)"
    assert q[9] == "is after the end of the data (2024-02-10)"
    assert q[10] == "ends before the customer's first purchase"  # B first bought on Jan 10
    assert len(q) == 6
    frame = result.frame
    assert list(frame.columns) == ["customer_id", "period_start", "promo", "price_index"]
    assert frame["period_start"].dtype == "datetime64[ns]" and frame["promo"].dtype == "float64"
    # promo is 1 on every given row but absent elsewhere: an indicator, kept with a warning
    assert any("'promo': takes only the value 1" in w for w in result.warnings)


def test_a_constant_covariate_is_an_error(tmp_path):
    path = _write(tmp_path, "customer_id,period_start,x\nA,2024-01-01,0\nB,2024-01-08,0\n", "zero.csv")
    with pytest.raises(LtvlabError, match=r"zero\.csv, column 'x': the covariate is 0 on every row"):
        load_covariate_table(path, quarantine_dir=tmp_path)
    # one value on every (customer, period) of the grid: two customers, acquired Jan 1 and Jan 8, data to Jan 14
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-14"]),
            "amount": [1.0, 1.0],
        }
    )
    tx.loc[1, "date"] = pd.Timestamp("2024-01-08")
    tx = pd.concat(
        [tx, pd.DataFrame({"customer_id": ["A"], "date": [pd.Timestamp("2024-01-14")], "amount": [1.0]})]
    )
    full = "customer_id,period_start,x\nA,2024-01-01,2\nA,2024-01-08,2\nB,2024-01-08,2\n"
    path = _write(tmp_path, full, "full.csv")
    with pytest.raises(LtvlabError, match="is 2 on every customer and period, constant over the window"):
        load_covariate_table(path, customers=tx, quarantine_dir=tmp_path)


def test_contacts_and_covariates_are_stored_next_to_the_transactions(tmp_path):
    tx_path = tmp_path / "tx.csv"
    TRANSACTIONS.to_csv(tx_path, index=False)
    store = Store(tmp_path / "store.duckdb")
    store.ingest_transactions(tx_path, quarantine_dir=tmp_path)
    path = _write(tmp_path, CONTACTS)
    result = store.ingest_contacts(path, columns=MAPPING, max_bad_share=0.5, quarantine_dir=tmp_path)
    assert result.status == "inserted" and result.n_written == 4 and result.load.n_quarantined == 3
    stored = store.contacts()
    assert stored["customer_id"].tolist() == ["A", "B", "B", "C"]
    assert stored["timestamp"].dtype == "datetime64[ns]" and stored["source_name"].unique().tolist() == [
        "contacts.csv"
    ]
    again = store.ingest_contacts(path, columns=MAPPING, max_bad_share=0.5, quarantine_dir=tmp_path)
    assert again.status == "unchanged"
    cov = _write(tmp_path, "customer_id,period_start,x\nA,2024-01-03,1\nB,2024-01-10,2\n", "cov.csv")
    assert store.ingest_covariates(cov, quarantine_dir=tmp_path).n_written == 2
    assert sorted(store.table("covariates")["x"]) == [1.0, 2.0]
    assert set(store.sources()["table_name"]) == {"transactions", "contacts", "covariates"}
    with pytest.raises(LtvlabError, match="not allowed"):
        store.ingest_covariates(cov, table="contacts")
