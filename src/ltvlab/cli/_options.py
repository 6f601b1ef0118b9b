"""Options shared by several commands: where the data comes from and how its columns are named."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError

READING_KEYS = ("encoding", "decimal", "thousands", "strip_currency", "quarantine_dir")


def reading_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How to read a user's file: ``--encoding``, ``--decimal``, ``--thousands``, ``--strip-currency``,
    ``--quarantine-dir`` (the keyword arguments of the loaders, same names)."""
    options = [
        click.option(
            "--encoding",
            default=None,
            help="Text encoding of the file, e.g. gb18030, big5, shift_jis, cp1252 (default: detected; "
            "an uncertain detection stops and asks for this).",
        ),
        click.option(
            "--decimal",
            type=click.Choice([".", ","]),
            default=None,
            help="Decimal mark of the numbers (default: decided from each whole column).",
        ),
        click.option(
            "--thousands",
            type=click.Choice([",", ".", " ", "'", "none"]),
            default=None,
            help="Thousands separator of the numbers ('none' for none; default: decided from each column).",
        ),
        click.option(
            "--strip-currency",
            is_flag=True,
            help="Remove currency signs and codes ($, €, EUR) from numbers instead of quarantining the rows.",
        ),
        click.option(
            "--quarantine-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Folder of the quarantine CSV (default data/processed/quarantine).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def reading_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """The loaders' keyword arguments from :func:`reading_options` (``--thousands none`` -> ``""``)."""
    kwargs = {key: options.get(key) for key in READING_KEYS}
    kwargs["strip_currency"] = bool(kwargs["strip_currency"])
    if kwargs["thousands"] == "none":
        kwargs["thousands"] = ""
    return kwargs


def echo_load(result: Any) -> None:
    """Print how a file was read, its quarantine and its warnings (stderr, so ``--json`` output stays clean)."""
    for line in getattr(result, "interpretation", ()):
        click.echo(f"read: {line}", err=True)
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if result.n_quarantined:
        click.secho(
            f"warning: {result.n_quarantined:,} of {result.n_rows:,} rows quarantined to "
            f"{result.quarantine_path}",
            fg="yellow",
            err=True,
        )


def echo_notes(notes: Any) -> None:
    """Print the notes of a customer summary (:func:`ltvlab.features.summary_notes`) on stderr."""
    for note in notes:
        click.echo(f"note: {note}", err=True)


def transaction_source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--dataset`` or ``--data FILE`` plus the column-mapping flags for a transactions table."""
    options = [
        click.option("--dataset", default=None, help="Bundled dataset: cdnow-sample, cdnow-master."),
        click.option(
            "--data",
            "data_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="Your transactions file (CSV or Parquet).",
        ),
        click.option("--customer-col", default="customer_id", show_default=True, help="Customer id column."),
        click.option("--date-col", default="date", show_default=True, help="Purchase date/timestamp column."),
        click.option("--amount-col", default="amount", show_default=True, help="Purchase value column."),
        click.option(
            "--date-format",
            default=None,
            help="strftime format of the dates, e.g. %Y%m%d; detected when omitted (ambiguous -> error).",
        ),
        click.option(
            "--allow-returns",
            is_flag=True,
            help="Keep negative amounts (returns) instead of quarantining them.",
        ),
        click.option(
            "--max-bad-share",
            type=float,
            default=0.01,
            show_default=True,
            help="Stop when more than this share of rows fails validation.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return reading_options(func)


TRANSACTION_SOURCE_KEYS = (
    "dataset",
    "data_path",
    "customer_col",
    "date_col",
    "amount_col",
    "date_format",
    "allow_returns",
    "max_bad_share",
    *READING_KEYS,
)


def load_transactions_from_options(
    *,
    dataset: str | None,
    data_path: str | None,
    customer_col: str,
    date_col: str,
    amount_col: str,
    date_format: str | None,
    allow_returns: bool,
    max_bad_share: float,
    extra_columns: tuple[str, ...] = (),
    **reading: Any,
) -> pd.DataFrame:
    """Resolve ``--dataset`` / ``--data`` into a validated transactions frame with canonical column names."""
    if (dataset is None) == (data_path is None):
        raise LtvlabError("give exactly one of --dataset NAME or --data FILE")
    if dataset is not None:
        from ltvlab.data import load_dataset

        given = [f"--{k.replace('_', '-')}" for k, v in reading.items() if v not in (None, False)]
        if given:
            raise LtvlabError(
                f"{', '.join(given)} describe(s) your own file; use with --data FILE, not --dataset"
            )
        return load_dataset(dataset)
    from ltvlab.data import load_transactions

    result = load_transactions(
        data_path,
        columns={"customer_id": customer_col, "date": date_col, "amount": amount_col},
        extra_columns=extra_columns,
        date_format=date_format,
        allow_returns=allow_returns,
        max_bad_share=max_bad_share,
        **reading_kwargs(reading),
    )
    echo_load(result)
    return result.frame


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON (NumPy scalars and timestamps converted)."""
    click.echo(json.dumps(payload, indent=2, default=_json_default, allow_nan=False))
