"""``ltvlab validate`` and ``ltvlab ingest``: check a user's file, and store it in the DuckDB store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ltvlab.cli._options import echo_json, reading_kwargs, reading_options
from ltvlab.data import LoadResult, Store, load_experiment, load_transactions, reasons_by_count
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col


def _file_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The file, its kind and the column mapping of a transactions or an experiment table."""
    options = [
        click.option(
            "--data",
            "data_path",
            type=click.Path(dir_okay=False),
            required=True,
            help="Your file: CSV (delimiter and encoding detected) or Parquet.",
        ),
        click.option(
            "--kind",
            type=click.Choice(["transactions", "experiment"]),
            default="transactions",
            show_default=True,
            help="What the file holds.",
        ),
        click.option(
            "--customer-col", default=col.CUSTOMER_ID, show_default=True, help="Customer id column."
        ),
        click.option(
            "--date-col", default=col.DATE, show_default=True, help="Purchase date/timestamp column."
        ),
        click.option("--amount-col", default=col.AMOUNT, show_default=True, help="Purchase value column."),
        click.option("--extra-col", multiple=True, help="Extra transaction column to keep (repeatable)."),
        click.option(
            "--date-format",
            default=None,
            help="strftime format of the dates, e.g. %Y%m%d; detected when omitted (ambiguous -> error).",
        ),
        click.option("--allow-returns", is_flag=True, help="Keep negative amounts (returns)."),
        click.option(
            "--unit-col", default=col.UNIT_ID, show_default=True, help="Experiment: unit id column."
        ),
        click.option("--arm-col", default=col.ARM, show_default=True, help="Experiment: arm column."),
        click.option("--outcome", multiple=True, help="Experiment: outcome column (repeatable)."),
        click.option(
            "--binary-outcome", multiple=True, help="Experiment: outcome that must be 0/1 (repeatable)."
        ),
        click.option("--covariate", multiple=True, help="Experiment: pre-treatment covariate (repeatable)."),
        click.option("--arm", "arms", multiple=True, help="Experiment: allowed arm label (repeatable)."),
        click.option(
            "--max-bad-share",
            type=float,
            default=0.01,
            show_default=True,
            help="Stop when more than this share of rows fails validation.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return reading_options(func)


def _load_options(options: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``load_transactions`` / ``load_experiment`` from the command-line options."""
    common = {"max_bad_share": options["max_bad_share"], **reading_kwargs(options)}
    if options["kind"] == "transactions":
        return common | {
            "columns": {
                col.CUSTOMER_ID: options["customer_col"],
                col.DATE: options["date_col"],
                col.AMOUNT: options["amount_col"],
            },
            "extra_columns": tuple(options["extra_col"]),
            "date_format": options["date_format"],
            "allow_returns": options["allow_returns"],
        }
    outcomes = tuple(dict.fromkeys((*options["outcome"], *options["binary_outcome"])))
    return common | {
        "columns": {col.UNIT_ID: options["unit_col"], col.ARM: options["arm_col"]},
        "outcomes": outcomes,
        "binary_outcomes": tuple(options["binary_outcome"]),
        "covariates": tuple(options["covariate"]),
        "arms": tuple(options["arms"]) or None,
    }


def _report(load: LoadResult) -> dict[str, Any]:
    reasons = reasons_by_count(load.quarantine)
    return {
        "file": str(load.source),
        "kind": load.kind,
        "rows_in": load.n_rows,
        "loaded": load.n_loaded,
        "quarantined": load.n_quarantined,
        "quarantine_path": str(load.quarantine_path) if load.quarantine_path else None,
        "reasons": [
            {"column": str(r.column), "reason": str(r.reason), "rows": int(r.rows)}
            for r in reasons.itertuples(index=False)
        ],
        "format": load.file_format,
        "encoding": load.encoding,
        "delimiter": load.delimiter,
        "date_format": load.date_format,
        "sha256": load.sha256,
        "interpretation": list(load.interpretation),
        "warnings": list(load.warnings),
    }


def _echo_report(report: dict[str, Any]) -> None:
    click.echo(f"{report['file']} ({report['kind']}, {report['format']})")
    click.echo(f"  rows in     : {report['rows_in']:,}")
    click.echo(f"  loaded      : {report['loaded']:,}")
    click.echo(f"  quarantined : {report['quarantined']:,}")
    for reason in report["reasons"]:
        click.echo(f"    {reason['rows']:>8,}  column '{reason['column']}': {reason['reason']}")
    if report["quarantine_path"]:
        click.echo(f"  quarantine  : {report['quarantine_path']}")
    for line in report["interpretation"]:
        click.echo(f"  read        : {line}")
    for warning in report["warnings"]:
        click.secho(f"warning: {warning}", fg="yellow", err=True)


def _check_kind_flags(options: dict[str, Any]) -> None:
    if options["kind"] == "transactions" and (
        options["outcome"] or options["binary_outcome"] or options["covariate"] or options["arms"]
    ):
        raise LtvlabError(
            "--outcome/--binary-outcome/--covariate/--arm describe an experiment; add --kind experiment"
        )


@click.command()
@_file_options
def validate(**options: Any) -> None:
    """Check a transactions or experiment file: rows in, loaded, quarantined (with reasons)."""
    _check_kind_flags(options)
    loader = load_transactions if options["kind"] == "transactions" else load_experiment
    load = loader(options["data_path"], **_load_options(options))
    report = _report(load)
    if options["as_json"]:
        echo_json(report)
    else:
        _echo_report(report)


@click.command()
@_file_options
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="DuckDB store file (default data/processed/ltvlab.duckdb).",
)
@click.option("--table", default="experiment", show_default=True, help="Experiment: table to write.")
@click.option("--source-name", default=None, help="Name the source is stored under (default: file name).")
@click.option(
    "--key",
    default=None,
    help="Transactions: transaction-id column (order/invoice number); rows whose id is already stored "
    "(overlapping exports) are not stored again.",
)
def ingest(
    store_path: str | None, table: str, source_name: str | None, key: str | None, **options: Any
) -> None:
    """Validate a file and store it in the DuckDB store (idempotent, atomic)."""
    _check_kind_flags(options)
    store = Store(store_path)
    kwargs = _load_options(options)
    if options["kind"] == "transactions":
        result = store.ingest_transactions(options["data_path"], source_name=source_name, key=key, **kwargs)
    else:
        if key is not None:
            raise LtvlabError("--key names a transaction id; it applies to --kind transactions")
        result = store.ingest_experiment(options["data_path"], table=table, source_name=source_name, **kwargs)
    report = _report(result.load) | {
        "store": str(result.store_path),
        "table": result.table,
        "source_name": result.source_name,
        "status": result.status,
        "rows_written": result.n_written,
    }
    report["warnings"] = [*report["warnings"], *result.warnings]
    if options["as_json"]:
        echo_json(report)
    else:
        _echo_report(report)
        click.echo(
            f"  store       : {report['store']} table '{report['table']}' "
            f"({report['status']}, {report['rows_written']:,} rows written)"
        )
