"""Options shared by several commands: where the data comes from and how its columns are named."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError


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
    return func


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
) -> pd.DataFrame:
    """Resolve ``--dataset`` / ``--data`` into a validated transactions frame with canonical column names."""
    if (dataset is None) == (data_path is None):
        raise LtvlabError("give exactly one of --dataset NAME or --data FILE")
    if dataset is not None:
        from ltvlab.data import load_dataset

        return load_dataset(dataset)
    from ltvlab.data import load_transactions

    result = load_transactions(
        data_path,
        columns={"customer_id": customer_col, "date": date_col, "amount": amount_col},
        extra_columns=extra_columns,
        date_format=date_format,
        allow_returns=allow_returns,
        max_bad_share=max_bad_share,
    )
    if result.n_quarantined:
        click.secho(
            f"warning: {result.n_quarantined} of {result.n_rows} rows quarantined to {result.quarantine_path}",
            fg="yellow",
            err=True,
        )
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
