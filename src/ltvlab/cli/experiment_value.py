"""``ltvlab ltv experiment-value``: the long-run value of a randomised test, split into frequency, retention
and spend parts (:mod:`ltvlab.ltv.experiment_value`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from ltvlab.cli._options import (
    TRANSACTION_SOURCE_KEYS,
    echo_json,
    load_transactions_from_options,
    transaction_source_options,
)
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col


def _read_assignment(path: str, arm_col: str, treatment: str | None, segment_col: str | None) -> pd.DataFrame:
    file = Path(path)
    frame = pd.read_parquet(file) if file.suffix.lower() == ".parquet" else pd.read_csv(file, dtype=str)
    for name, flag in (
        (col.CUSTOMER_ID, "customer_id"),
        (arm_col, "--arm-col"),
        (segment_col, "--segment-col"),
    ):
        if name and name not in frame.columns:
            raise LtvlabError(f"{file.name}: no column {name!r} ({flag}); it has {list(frame.columns)}")
    arm = frame[arm_col].astype(str).str.strip()
    if treatment is not None:
        arm = (arm == treatment).astype(int)
    out = pd.DataFrame({col.CUSTOMER_ID: frame[col.CUSTOMER_ID].astype(str), "arm": arm})
    bad = ~out["arm"].astype(str).isin(["0", "1"])
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise LtvlabError(
            f"{file.name} row {row + 1}, column {arm_col!r}: {frame[arm_col].iloc[row]!r} is not 0/1; pass "
            "--treatment LABEL to name the treated arm"
        )
    out["arm"] = out["arm"].astype(int)
    if segment_col:
        out["segment"] = frame[segment_col].astype(str).to_numpy()
    return out


@click.command("experiment-value")
@transaction_source_options
@click.option("--assignment", "assignment_path", type=click.Path(dir_okay=False, exists=True), required=True,
              help="One row per test customer: customer_id, the arm column, optionally a segment column.")  # fmt: skip
@click.option("--arm-col", default="arm", show_default=True, help="Arm column (1 treated / 0 control).")
@click.option("--treatment", default=None, help="Label of the treated arm, when the arm column holds labels.")
@click.option("--segment-col", default=None, help="Segment column of the assignment file.")
@click.option("--assignment-date", required=True, help="Day the arms started (YYYY-MM-DD, midnight).")
@click.option("--test-end", required=True, help="First day after the test's data (YYYY-MM-DD).")
@click.option("--period-days", type=int, default=7, show_default=True, help="Period length in days.")
@click.option(
    "--horizon-periods", type=int, default=52, show_default=True, help="Value horizon from the assignment."
)
@click.option("--annual-discount-rate", type=float, default=0.10, show_default=True)
@click.option("--method", type=click.Choice(["nuts", "laplace", "map"]), default="nuts", show_default=True)
@click.option("--effect-pooling", type=click.Choice(["none", "complete", "partial"]), default="none",
              show_default=True, help="Pooling of the arm effects over segments.")  # fmt: skip
@click.option("--draws", type=int, default=1000, show_default=True)
@click.option("--chains", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=2024, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def experiment_value(**options: Any) -> None:
    """Incremental CLV of a randomised test with its frequency, retention and spend parts (Shapley split),
    intervals by segment, and the share of the value that accrues after the test window (extrapolation)."""
    from ltvlab.cli.ltv import _clean
    from ltvlab.ltv.experiment_value import experiment_data, experiment_value, fit_experiment

    source = {k: options.pop(k) for k in list(options) if k in TRANSACTION_SOURCE_KEYS}
    transactions = load_transactions_from_options(**source)
    assignment = _read_assignment(
        options["assignment_path"], options["arm_col"], options["treatment"], options["segment_col"]
    )
    data = experiment_data(
        transactions,
        assignment,
        assignment_date=options["assignment_date"],
        test_end=options["test_end"],
        period_length=pd.Timedelta(days=options["period_days"]),
        segment_column="segment" if options["segment_col"] else None,
    )
    fit = fit_experiment(
        data,
        method=options["method"],
        pooling="none" if options["segment_col"] else "complete",
        effect_pooling=options["effect_pooling"],
        spend_pooling="none" if options["segment_col"] else "complete",
        draws=options["draws"],
        tune=options["draws"],
        chains=options["chains"],
        seed=options["seed"],
    )
    value = experiment_value(
        fit,
        data,
        horizon_periods=options["horizon_periods"],
        annual_discount_rate=options["annual_discount_rate"],
    )
    report = {
        "customers": int(data.customer_id.size),
        "method": options["method"],
        "seed": options["seed"],
        "effects": fit.purchase.effects().to_dict(orient="records")
        + [
            {
                "segment": s,
                "parameter": "spend",
                "mean": float(k.mean()),
                "lower": float(np.quantile(k, 0.05)),
                "upper": float(np.quantile(k, 0.95)),
            }
            for s, k in zip(fit.spend.segments, fit.spend.draws["kappa"].T, strict=True)
        ],
        **value.to_dict(),
    }
    if options["as_json"]:
        echo_json(_clean(report))
        return
    from ltvlab.reports import format as fmt

    click.echo(
        f"Randomised test on {fmt.integer(report['customers'])} customers, {value.window_periods} periods "
        f"observed, value over {value.horizon_periods} periods"
    )
    for row in value.table.to_dict(orient="records"):
        band = (
            "posterior mode, no interval"
            if value.n_draws == 1
            else fmt.interval(row["lower"], row["upper"], kind="money", level=value.level, label="interval")
        )
        click.echo(
            f"  {row['group']:>12} {row['part']:>9}: {fmt.money(row['mean'], sign=True)} per customer ({band})"
        )
    total = value.table.query("group == 'all' and part == 'total'").iloc[0]
    click.echo(
        f"  {fmt.percent(total['share_after_window'])} of the total accrues after the {value.window_periods}-period "
        "test window: model extrapolation, not observed"
    )
    for warning in value.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
