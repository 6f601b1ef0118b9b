"""The DuckDB store: idempotent re-ingest, replacement of a changed source, atomicity under errors and kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from ltvlab.data import Store, load_transactions
from ltvlab.data import store as store_module
from ltvlab.features import customer_summary
from tests.conftest import CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END
from tests.reference import cdnow

MAPPING = {"customer_id": "cust", "date": "order_date", "amount": "value"}
TX = ["customer_id", "date", "amount"]


def _write_user_csv(transactions: pd.DataFrame, path: Path) -> Path:
    user = transactions.rename(columns={"customer_id": "cust", "date": "order_date", "amount": "value"})
    user["order_date"] = user["order_date"].dt.strftime("%Y-%m-%d")
    user.to_csv(path, index=False)
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[TX].sort_values(TX, kind="stable").reset_index(drop=True)


@pytest.fixture
def cdnow_csv(cdnow_sample_transactions: pd.DataFrame, tmp_path: Path) -> Path:
    return _write_user_csv(cdnow_sample_transactions, tmp_path / "cdnow.csv")


def test_ingest_is_idempotent_and_summary_matches_the_frame_version(
    cdnow_csv: Path, cdnow_sample_transactions: pd.DataFrame, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    first = store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    again = store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    assert (first.status, first.n_written) == ("inserted", 6919)
    assert (again.status, again.n_written) == ("unchanged", 0)
    stored = store.transactions()
    assert len(stored) == 6919
    pd.testing.assert_frame_equal(_sorted(stored), _sorted(cdnow_sample_transactions))
    sources = store.sources()
    assert sources[["source_name", "n_rows", "n_loaded", "n_quarantined"]].values.tolist() == [
        ["cdnow.csv", 6919, 6919, 0]
    ]
    assert set(stored["source_sha256"]) == {first.load.sha256}

    in_sql = store.summary(calibration_end=CDNOW_CALIBRATION_END, holdout_end=CDNOW_HOLDOUT_END, unit="W")
    on_frame = customer_summary(
        cdnow_sample_transactions,
        calibration_end=CDNOW_CALIBRATION_END,
        holdout_end=CDNOW_HOLDOUT_END,
        unit="W",
    )
    pd.testing.assert_frame_equal(in_sql, on_frame)
    assert (len(in_sql), int(in_sql["x"].sum()), int((in_sql["x"] > 0).sum())) == (
        cdnow.CUSTOMERS,
        cdnow.REPEAT_TRANSACTIONS,
        cdnow.REPEATERS,
    )


def test_changed_file_with_the_same_name_replaces_its_rows(
    cdnow_csv: Path, cdnow_sample_transactions: pd.DataFrame, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    other = _write_user_csv(cdnow_sample_transactions.head(100), tmp_path / "other.csv")
    store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    store.ingest_transactions(other, columns=MAPPING, quarantine_dir=tmp_path)
    smaller = cdnow_sample_transactions.iloc[:5000]
    _write_user_csv(smaller, cdnow_csv)
    replaced = store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    assert (replaced.status, replaced.n_written) == ("replaced", 5000)
    stored = store.transactions()
    assert stored.groupby("source_name").size().to_dict() == {"cdnow.csv": 5000, "other.csv": 100}
    assert len(store.sources()) == 2
    # a different load option (returns kept) is a different ingest of the same bytes
    again = store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path, allow_returns=True)
    assert again.status == "replaced" and len(store.transactions()) == 5100
    # a copy of a stored file under another name is not stored twice
    copy = tmp_path / "copy_of_other.csv"
    copy.write_bytes(other.read_bytes())
    twin = store.ingest_transactions(copy, columns=MAPPING, quarantine_dir=tmp_path)
    assert (twin.status, twin.source_name, twin.n_written) == ("unchanged", "other.csv", 0)
    assert "already stored as source 'other.csv'" in twin.warnings[0]
    assert len(store.transactions()) == 5100


def test_new_extra_columns_extend_the_table(cdnow_csv: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    with_channel = tmp_path / "channel.csv"
    pd.DataFrame(
        {
            "customer_id": ["z1", "z2"],
            "date": ["1997-02-01", "1997-02-02"],
            "amount": [1.0, 2.0],
            "channel": ["web", "shop"],
        }
    ).to_csv(with_channel, index=False)
    store.ingest_transactions(with_channel, extra_columns=("channel",), quarantine_dir=tmp_path)
    stored = store.transactions()
    assert len(stored) == 6921
    assert stored["channel"].isna().sum() == 6919
    assert stored.loc[stored["customer_id"] == "z2", "channel"].tolist() == ["shop"]


def test_an_error_mid_write_leaves_the_previous_state(
    cdnow_csv: Path, cdnow_sample_transactions: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    before_sources = store.sources()
    _write_user_csv(cdnow_sample_transactions.iloc[:3000], cdnow_csv)  # changed file: delete + insert

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full (simulated) after the old rows were deleted and new ones inserted")

    monkeypatch.setattr(store_module, "_record_source", fail)
    with pytest.raises(RuntimeError, match="simulated"):
        store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    pd.testing.assert_frame_equal(_sorted(store.transactions()), _sorted(cdnow_sample_transactions))
    pd.testing.assert_frame_equal(store.sources(), before_sources)


KILLED_INGEST = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ltvlab.data import Store
    from ltvlab.data import store as store_module

    store_path, data_path, marker = sys.argv[1:4]
    original = store_module._insert_rows

    def insert_then_hang(con, table, frame):
        original(con, table, frame)          # rows written inside the open transaction
        Path(marker).write_text(str(len(frame)))
        time.sleep(120)                      # killed here, before COMMIT

    store_module._insert_rows = insert_then_hang
    Store(store_path).ingest_transactions(
        data_path, columns={"customer_id": "cust", "date": "order_date", "amount": "value"}, quarantine_dir=marker + ".q"
    )
    """
)


def test_a_killed_ingest_leaves_the_previous_state(
    cdnow_csv: Path, cdnow_sample_transactions: pd.DataFrame, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    before_sources = store.sources()
    # a larger new version of the same source: 6 copies of the sample (41,514 rows)
    big = pd.concat(
        [
            cdnow_sample_transactions.assign(customer_id=lambda d, k=k: d["customer_id"] + f"-{k}")
            for k in range(6)
        ],
        ignore_index=True,
    )
    _write_user_csv(big, cdnow_csv)
    marker = tmp_path / "writing"
    script = tmp_path / "killed_ingest.py"
    script.write_text(KILLED_INGEST)
    env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    process = subprocess.Popen(
        [sys.executable, str(script), str(store.path), str(cdnow_csv), str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            if process.poll() is not None:
                pytest.fail(f"ingest process ended early: {process.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("ingest process never reached the write")
            time.sleep(0.05)
        assert int(marker.read_text()) == len(big)  # it had inserted every new row, uncommitted
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(_sorted(store.transactions()), _sorted(cdnow_sample_transactions))
    pd.testing.assert_frame_equal(store.sources(), before_sources)
    # and the store still works: the big file now ingests completely
    done = store.ingest_transactions(cdnow_csv, columns=MAPPING, quarantine_dir=tmp_path)
    assert (done.status, len(store.transactions())) == ("replaced", len(big))


def test_experiment_tables_are_named_by_the_user(hillstrom: pd.DataFrame, tmp_path: Path) -> None:
    part = hillstrom.iloc[:6000]
    path = tmp_path / "hillstrom.csv"
    part.to_csv(path, index=False)
    store = Store(tmp_path / "s.duckdb")
    kwargs = {"columns": {"arm": "segment"}, "outcomes": ("visit", "spend"), "quarantine_dir": tmp_path}
    result = store.ingest_experiment(path, table="email_2008", **kwargs)
    assert (result.status, result.n_written) == ("inserted", 6000)
    assert store.ingest_experiment(path, table="email_2008", **kwargs).status == "unchanged"
    table = store.table("email_2008")
    assert len(table) == 6000
    assert table.groupby("arm")["spend"].sum().to_dict() == pytest.approx(
        part.groupby("segment")["spend"].sum().to_dict(), rel=1e-12
    )
    with pytest.raises(ValueError, match="not allowed"):
        store.ingest_experiment(path, table="sources", **kwargs)


def test_nothing_is_written_when_validation_stops(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date,amount\na,1997-01-01,x\nb,1997-01-02,2\n")
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(ValueError, match=r"bad\.csv row 2, column 'amount'"):
        store.ingest_transactions(bad, quarantine_dir=tmp_path)
    assert store.transactions().empty and store.sources().empty
    assert load_transactions(bad, quarantine_dir=tmp_path, max_bad_share=0.5).n_loaded == 1
