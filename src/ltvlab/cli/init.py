"""``ltvlab init``: look at a user's files, show what was found, and write a batch config for ``ltvlab run``.

The config has a data-quality and an LTV run on the transactions file and, with ``--experiment``, an
experiment run, each with the columns, date format and calibration dates found here. Calibration ends two
thirds of the way through the purchase dates and the holdout runs to the last purchase; edit the file to
choose otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import yaml

from ltvlab.cli._options import echo_load
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.paths import project_root

NOTEBOOKS = {
    "data_quality": "notebooks/00_data_quality.ipynb",
    "ltv": "notebooks/10_ltv.ipynb",
    "experiment": "notebooks/20_experiment.ipynb",
}
READING_PARAMETERS = ("encoding", "decimal", "thousands")


def _declared(notebook: str) -> set[str]:
    """Parameters the notebook's sidecar schema declares (``notebooks/NAME.params.yml``)."""
    sidecar = project_root() / notebook.replace(".ipynb", ".params.yml")
    schema = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
    return set(schema.get("parameters") or {})


def _reading(notebook: str, reading: dict[str, Any]) -> dict[str, Any]:
    """The reading options the user gave, for notebooks that declare them (others cannot take them yet)."""
    given = {k: v for k, v in reading.items() if k in READING_PARAMETERS and v is not None}
    declared = _declared(notebook)
    missing = sorted(set(given) - declared)
    if missing:
        raise LtvlabError(
            f"{notebook} has no parameter(s) {missing} yet, so the reports cannot read this file that way; "
            "save the file as UTF-8 with '.' decimals, or add the parameters to the notebook"
        )
    return given


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to the config's folder when it lies inside it, else absolute."""
    resolved = path.resolve()
    return os.path.relpath(resolved, base) if resolved.is_relative_to(base) else str(resolved)


def _run_stem(path: str, fallback: str) -> str:
    """A run-name part from the file name: ASCII letters, digits, '-' and '_' (run names allow no more)."""
    stem = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in Path(path).name.split(".")[0]
    )
    stem = "-".join(part for part in stem.split("-") if part)
    return stem or fallback


def _split_dates(dates) -> tuple[str, str]:
    first, last = dates.min().normalize(), dates.max().normalize()
    if last <= first:
        raise LtvlabError("all purchases fall on one day: no calibration period can be made from this file")
    calibration_end = first + (last - first) * 2 / 3
    return calibration_end.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")


def _echo(found: dict[str, Any], title: str) -> None:
    click.echo(title)
    for key, value in found.items():
        click.echo(f"  {key:<16}: {value}")


def _describe_contacts(
    path: str,
    transactions: Any,
    *,
    columns: dict[str, str],
    reading: dict[str, Any],
    quarantine_dir: str | None,
) -> None:
    """Load the contact log against the transactions and print what it holds and what was set aside."""
    from ltvlab.data import load_contacts

    checked = load_contacts(
        path,
        columns=columns,
        customers=transactions,
        quarantine_dir=quarantine_dir,
        **{k: v for k, v in reading.items() if v is not None},
    )
    echo_load(checked)
    frame = checked.frame
    counts = frame["strategy"].value_counts()
    _echo(
        {
            "file": path,
            "read as": "; ".join(checked.interpretation),
            "rows": f"{checked.n_rows:,} ({checked.n_quarantined:,} quarantined)",
            "strategies": ", ".join(f"{name} ({n:,})" for name, n in counts.items()) or "none",
            "customers": f"{frame[col.CUSTOMER_ID].nunique():,} contacted",
            "dates": (
                f"{frame['timestamp'].min():%Y-%m-%d} to {frame['timestamp'].max():%Y-%m-%d}"
                if len(frame)
                else "—"
            ),
            "next": f"ltvlab ltv fit --data TRANSACTIONS --contacts {path} --carry-over window:4",
        },
        "contacts:",
    )


@click.command()
@click.option("--transactions", "transactions_path", type=click.Path(dir_okay=False), required=True,
              help="Your transactions file (one row per purchase), CSV or Parquet.")  # fmt: skip
@click.option("--experiment", "experiment_path", type=click.Path(dir_okay=False), default=None,
              help="Your experiment file (one row per randomised unit).")  # fmt: skip
@click.option("--contacts", "contacts_path", type=click.Path(dir_okay=False), default=None,
              help="Your contact log (customer, timestamp, strategy, optional cost and campaign id): checked "
                   "against the transactions and described.")  # fmt: skip
@click.option("--contact-customer-col", default="customer_id", show_default=True,
              help="Contact log: customer id column.")  # fmt: skip
@click.option("--contact-time-col", default="timestamp", show_default=True,
              help="Contact log: contact date/timestamp column.")  # fmt: skip
@click.option("--strategy-col", default="strategy", show_default=True,
              help="Contact log: strategy (or channel) column.")  # fmt: skip
@click.option("--cost-col", default=None, help="Contact log: cost column (default: 'cost' when present).")
@click.option("--output", "output_path", type=click.Path(dir_okay=False), default="my_reports.yml",
              show_default=True, help="Batch config to write.")  # fmt: skip
@click.option("--reports-dir", default="reports/mine", show_default=True, help="Where ltvlab run writes.")
@click.option("--ltv-method", type=click.Choice(["nuts", "map"]), default="nuts", show_default=True)
@click.option("--draws", type=int, default=1000, show_default=True, help="NUTS draws per chain.")
@click.option("--customer-col", default=None, help="Customer id column (default: detected).")
@click.option("--date-col", default=None, help="Purchase date column (default: detected).")
@click.option("--amount-col", default=None, help="Purchase value column (default: detected).")
@click.option("--arm-col", default=None, help="Experiment: arm column (default: detected).")
@click.option("--control", default=None, help="Experiment: control arm label (default: detected).")
@click.option("--encoding", default=None, help="Text encoding of the files (default: detected).")
@click.option(
    "--decimal", type=click.Choice([".", ","]), default=None, help="Decimal mark (default: detected)."
)
@click.option(
    "--thousands", type=click.Choice([",", ".", " ", "'", "none"]), default=None, help="Thousands separator."
)
@click.option("--quarantine-dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the quarantine CSVs (default data/processed/quarantine).")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init(
    transactions_path: str,
    experiment_path: str | None,
    contacts_path: str | None,
    contact_customer_col: str,
    contact_time_col: str,
    strategy_col: str,
    cost_col: str | None,
    output_path: str,
    reports_dir: str,
    ltv_method: str,
    draws: int,
    customer_col: str | None,
    date_col: str | None,
    amount_col: str | None,
    arm_col: str | None,
    control: str | None,
    encoding: str | None,
    decimal: str | None,
    thousands: str | None,
    quarantine_dir: str | None,
    force: bool,
) -> None:
    """Detect the columns, encoding, separators and date format of your files and write a batch config."""
    from ltvlab.data import load_experiment, load_transactions
    from ltvlab.data.detect import detect_experiment, detect_transactions

    output = Path(output_path)
    if output.exists() and not force:
        raise LtvlabError(f"{output} exists; pass --force to overwrite it or --output ANOTHER.yml")
    base = output.resolve().parent
    thousands = "" if thousands == "none" else thousands
    reading = {"encoding": encoding, "decimal": decimal, "thousands": thousands}
    layout = detect_transactions(
        transactions_path,
        encoding=encoding,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
    )
    load = load_transactions(
        transactions_path,
        columns={
            col.CUSTOMER_ID: layout.customer_col,
            col.DATE: layout.date_col,
            col.AMOUNT: layout.amount_col,
        },
        encoding=encoding,
        quarantine_dir=quarantine_dir,
    )
    echo_load(load)
    calibration_end, holdout_end = _split_dates(load.frame[col.DATE])
    common = {
        "data_file": str(Path(transactions_path).resolve()),
        "dataset": None,
        "customer_col": layout.customer_col,
        "date_col": layout.date_col,
        "amount_col": layout.amount_col,
        "date_format": load.date_format if load.date_format not in (None, "stored", "ISO8601") else None,
        "calibration_end": calibration_end,
        "holdout_end": holdout_end,
    }
    _echo(
        {
            "file": transactions_path,
            "read as": "; ".join(load.interpretation),
            "customer id": layout.customer_col,
            "date": f"{layout.date_col} ({load.date_format})",
            "amount": layout.amount_col,
            "other columns": ", ".join(layout.extra_columns) or "none",
            "rows": f"{load.n_rows:,} ({load.n_quarantined:,} quarantined)",
            "customers": f"{load.frame[col.CUSTOMER_ID].nunique():,}",
            "calibration": f"first purchase to {calibration_end}; holdout to {holdout_end}",
        },
        "transactions:",
    )
    stem = _run_stem(transactions_path, "transactions")
    runs = [
        {
            "name": f"data-quality-{stem}",
            "notebook": _relative(project_root() / NOTEBOOKS["data_quality"], base),
            "parameters": {**common, **_reading(NOTEBOOKS["data_quality"], reading)},
        },
        {
            "name": f"ltv-{stem}",
            "notebook": _relative(project_root() / NOTEBOOKS["ltv"], base),
            "parameters": {
                **common,
                **_reading(NOTEBOOKS["ltv"], reading),
                "method": ltv_method,
                "draws": draws,
            },
        },
    ]
    if experiment_path:
        exp = detect_experiment(experiment_path, encoding=encoding, arm_col=arm_col, control=control)
        checked = load_experiment(
            experiment_path,
            columns={col.UNIT_ID: exp.unit_col, col.ARM: exp.arm_col},
            outcomes=exp.metrics,
            binary_outcomes=exp.binary_metrics,
            **reading,
        )
        echo_load(checked)
        _echo(
            {
                "file": experiment_path,
                "read as": "; ".join(checked.interpretation),
                "unit id": exp.unit_col,
                "arm": f"{exp.arm_col} ({', '.join(exp.arms)}); control {exp.control!r}",
                "outcomes": ", ".join(exp.metrics),
                "binary outcomes": ", ".join(exp.binary_metrics) or "none",
                "rows": f"{checked.n_rows:,} ({checked.n_quarantined:,} quarantined)",
            },
            "experiment:",
        )
        non_binary = [m for m in exp.metrics if m not in exp.binary_metrics]
        runs.append(
            {
                "name": f"experiment-{_run_stem(experiment_path, 'data')}",
                "notebook": _relative(project_root() / NOTEBOOKS["experiment"], base),
                "parameters": {
                    "data_file": str(Path(experiment_path).resolve()),
                    "dataset": None,
                    **_reading(NOTEBOOKS["experiment"], reading),
                    "unit_col": exp.unit_col,
                    "arm_col": exp.arm_col,
                    "control": exp.control,
                    "metrics": ",".join(exp.metrics),
                    "binary_metrics": ",".join(exp.binary_metrics) or None,
                    "covariates": None,
                    "segment_col": None,
                    "focus_arm": None,
                    "focus_metric": (exp.binary_metrics or exp.metrics)[0],
                    "uplift_features": None,
                    "value_metric": non_binary[0] if non_binary else None,
                },
            }
        )
    if contacts_path:
        _describe_contacts(
            contacts_path,
            load.frame,
            columns={
                col.CUSTOMER_ID: contact_customer_col,
                "timestamp": contact_time_col,
                "strategy": strategy_col,
                **({"cost": cost_col} if cost_col else {}),
            },
            reading=reading,
            quarantine_dir=quarantine_dir,
        )
    config = {"output_dir": reports_dir, "timeout_seconds": 3600, "runs": runs}
    header = (
        "# Written by `ltvlab init`: what it found in your files. Check the columns and dates, then run\n"
        f"#   ltvlab run --config {output}\n"
    )
    output.write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    click.echo(f"wrote {output} ({len(runs)} runs); next: ltvlab run --config {output}")
