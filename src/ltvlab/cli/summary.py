"""``ltvlab summary``: per-customer calibration/holdout summary and its headline figures."""

from __future__ import annotations

import click

from ltvlab.cli._options import (
    echo_json,
    echo_notes,
    load_transactions_from_options,
    transaction_source_options,
)
from ltvlab.features import columns as col
from ltvlab.features import customer_summary, summary_notes


@click.command()
@transaction_source_options
@click.option("--calibration-end", required=True, help="Last day of calibration, YYYY-MM-DD (inclusive).")
@click.option("--holdout-end", default=None, help="Last day of the holdout period, YYYY-MM-DD (inclusive).")
@click.option("--unit", type=click.Choice(["D", "W"]), default="W", show_default=True, help="Time unit.")
@click.option(
    "--keep-same-day", is_flag=True, help="Count several purchases on one day separately (default: merge)."
)
@click.option(
    "--output", type=click.Path(dir_okay=False), default=None, help="Write the summary (CSV/Parquet)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the headline figures as JSON.")
def summary(
    calibration_end: str,
    holdout_end: str | None,
    unit: str,
    keep_same_day: bool,
    output: str | None,
    as_json: bool,
    **source: object,
) -> None:
    """Summarise transactions per customer: x, t_x, T, monetary (and holdout counts)."""
    transactions = load_transactions_from_options(**source)
    table = customer_summary(
        transactions,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit=unit,
        merge_same_day=not keep_same_day,
    )
    figures = {
        "customers": len(table),
        "repeat_transactions": int(table[col.X].sum()),
        "repeaters": int((table[col.X] > 0).sum()),
        "mean_T": float(table[col.T].mean()) if len(table) else None,
        "unit": unit,
        "calibration_end": str(calibration_end),
        "first_on_calibration_end": table.attrs["n_first_on_calibration_end"],
        "new_after_calibration_end": table.attrs["n_first_after_calibration_end"],
        "notes": list(summary_notes(table)),
    }
    if holdout_end is not None:
        figures["holdout_end"] = str(holdout_end)
        figures["holdout_transactions"] = int(table[col.X_HOLDOUT].sum())
    if output:
        if output.endswith(".parquet"):
            table.to_parquet(output, index=False)
        else:
            table.to_csv(output, index=False)
        figures["output"] = output
    if as_json:
        echo_json(figures)
    else:
        for key, value in figures.items():
            if key != "notes":
                click.echo(f"{key:>26}: {value}")
        echo_notes(figures["notes"])
