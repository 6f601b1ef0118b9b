"""``ltvlab init --contacts``: the contact log is loaded against the transactions and what was set aside is said."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ltvlab.cli import cli

TRANSACTIONS = "customer_id,date,amount\n" + "".join(
    f"C{i},2024-01-{1 + i % 20:02d},{10 + i}\nC{i},2024-03-{1 + i % 20:02d},{5 + i}\n" for i in range(30)
)


def _files(tmp_path: Path, contacts: str) -> tuple[Path, Path]:
    tx = tmp_path / "orders.csv"
    tx.write_text(TRANSACTIONS, encoding="utf-8")
    log = tmp_path / "touches.csv"
    log.write_text(contacts, encoding="utf-8")
    return tx, log


def _init(tmp_path: Path, tx: Path, log: Path, *extra: str):
    return CliRunner().invoke(
        cli,
        [
            "init",
            "--transactions",
            str(tx),
            "--contacts",
            str(log),
            "--output",
            str(tmp_path / "mine.yml"),
            "--quarantine-dir",
            str(tmp_path / "q"),
            *extra,
        ],
    )


def test_init_describes_the_contact_log_and_counts_what_was_set_aside(tmp_path: Path) -> None:
    rows = "".join(
        f"C{i % 30},2024-02-{1 + i % 28:02d} 10:00,{'email' if i % 3 else 'sms'},0.1\n" for i in range(300)
    )
    # one unknown customer and one contact after the last purchase day (2024-03-20) among 302 rows
    log_text = (
        "who,when,channel,cost\n" + rows + "X9,2024-02-02 10:00,email,0.1\nC1,2024-04-30 10:00,sms,0.2\n"
    )
    tx, log = _files(tmp_path, log_text)
    result = _init(
        tmp_path,
        tx,
        log,
        "--contact-customer-col",
        "who",
        "--contact-time-col",
        "when",
        "--strategy-col",
        "channel",
    )
    assert result.exit_code == 0, result.output
    assert "contacts:" in result.output
    assert "302 (2 quarantined)" in result.output
    assert "email (200), sms (100)" in result.output
    assert len(list((tmp_path / "q").glob("touches.*.quarantine.csv"))) == 1
    assert "1 contact(s) of customers not in the transactions quarantined" in result.output
    assert "1 contact(s) after the end of the data (2024-03-20) quarantined" in result.output
    assert "ltvlab ltv fit" in result.output


def test_init_names_the_missing_contact_column_and_the_flag(tmp_path: Path) -> None:
    tx, log = _files(tmp_path, "customer_id,sent,strategy\nC1,2024-02-01,email\n")
    result = _init(tmp_path, tx, log)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert (
        "column 'timestamp' for timestamp not found" in result.output
        and "--contact-time-col" in result.output
    )
