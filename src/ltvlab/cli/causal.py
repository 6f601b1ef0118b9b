"""``ltvlab causal ipw|aipw|did``, ``ltvlab kpi`` and ``ltvlab allocate``: observational effects, loyalty
KPIs and budget allocation from the command line (``--json`` for machine-readable output)."""

from __future__ import annotations

import math
from dataclasses import asdict

import click
import pandas as pd

from ltvlab.cli._options import (
    echo_json,
    load_transactions_from_options,
    reading_kwargs,
    reading_options,
    transaction_source_options,
)
from ltvlab.errors import LtvlabError


def _read_frame(path: str, reading: dict[str, object], *, quiet: bool = False) -> pd.DataFrame:
    """A user's table read like every other file (encoding, separators, booleans), the reading printed
    (unless ``quiet``: with ``--json`` the sentences are in the payload's ``read``)."""
    from ltvlab.data import read_analysis_table

    kwargs = reading_kwargs(reading)
    kwargs.pop("quarantine_dir")
    frame, notes = read_analysis_table(path, **kwargs)
    frame.attrs["read"] = list(notes)
    if not quiet:
        for note in notes:
            click.echo(f"read: {note}", err=True)
    return frame


def _pairs(values: tuple[str, ...], option: str, cast=float) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LtvlabError(f"{option} expects NAME=VALUE, got '{item}'")
        try:
            out[key] = cast(value)
        except ValueError as exc:
            raise LtvlabError(f"{option} {item}: '{value}' is not a number") from exc
    return out


def _clean(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.astype(object).to_dict(orient="records")]


@click.group()
def causal() -> None:
    """Observational designs: propensity weighting (IPW, doubly robust AIPW) and difference-in-differences."""


def _weighting_command(method: str):
    @click.command(name=method)
    @click.option(
        "--data",
        "data_path",
        required=True,
        type=click.Path(dir_okay=False),
        help="One row per unit (CSV/Parquet).",
    )
    @click.option("--treatment", required=True, help="0/1 treatment column.")
    @click.option("--outcome", required=True, help="Outcome column.")
    @click.option("--covariates", required=True, help="Comma-separated pre-treatment covariates.")
    @click.option(
        "--trim", type=(float, float), default=(0.01, 0.99), show_default=True, help="Propensity bounds."
    )
    @click.option("--no-trim", is_flag=True, help="Keep every unit, however extreme its propensity.")
    @click.option("--alpha", type=float, default=0.05, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @reading_options
    def command(data_path, treatment, outcome, covariates, trim, no_trim, alpha, as_json, **reading) -> None:
        from ltvlab.causal import WeightingDesign, e_value_of_estimate

        frame = _read_frame(data_path, reading, quiet=as_json)
        design = WeightingDesign(
            frame,
            treatment=treatment,
            outcome=outcome,
            covariates=[c.strip() for c in covariates.split(",") if c.strip()],
            trim=None if no_trim else tuple(trim),
            alpha=alpha,
        )
        result = getattr(design, method)()
        balance = design.balance()
        overlap = design.overlap()
        try:
            evalue = e_value_of_estimate(result)
        except LtvlabError as exc:  # a zero control rate or zero outcome sd: the E-value is undefined
            evalue = None
            click.secho(f"warning: no E-value: {exc}", fg="yellow", err=True)
        payload = {k: _clean(v) for k, v in asdict(result).items()}
        payload["warnings"] = list(result.warnings)
        payload["naive_bias"] = _clean(result.naive_bias)
        payload["e_value"] = evalue.e_value if evalue else None
        payload["e_value_ci"] = evalue.e_value_ci if evalue else None
        payload["overlap"] = _records(overlap.table)
        payload["balance"] = _records(balance)
        if as_json:
            echo_json(payload)
            return
        click.echo(
            f"{method.upper()} effect of {treatment} on {outcome}: {result.estimate:.4g} "
            f"[{result.ci_low:.4g}, {result.ci_high:.4g}] (naive difference {result.naive_estimate:.4g}); "
            f"n={result.n}, {result.trimming}; E-value "
            + (f"{evalue.e_value:.2f}" if evalue else "undefined")
        )
        for warning in result.warnings:
            click.secho(f"warning: {warning}", fg="yellow", err=True)

    command.__doc__ = f"{'Inverse-propensity weighting' if method == 'ipw' else 'Doubly robust AIPW'} estimate of an average effect."
    return command


@click.command(name="did")
@click.option(
    "--data", "data_path", required=True, type=click.Path(dir_okay=False), help="Panel: unit x period rows."
)
@click.option("--unit", required=True, help="Unit id column (errors are clustered by it).")
@click.option("--time", "time_col", required=True, help="Period column.")
@click.option("--outcome", required=True, help="Outcome column.")
@click.option("--treated", required=True, help="0/1: unit treated in this period (switches on once).")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@reading_options
def did(data_path, unit, time_col, outcome, treated, alpha, as_json, **reading) -> None:
    """Two-way fixed-effects difference-in-differences with an event study and pre-trend test."""
    from ltvlab.causal import difference_in_differences

    result = difference_in_differences(
        _read_frame(data_path, reading, quiet=as_json),
        unit=unit,
        time=time_col,
        outcome=outcome,
        treated=treated,
        alpha=alpha,
    )
    payload = _records(result.to_frame())[0]
    payload["warnings"] = list(result.warnings)
    payload["event_study"] = _records(result.event_study)
    if as_json:
        echo_json(payload)
        return
    click.echo(
        f"DiD effect of {treated} on {outcome}: {result.estimate:.4g} [{result.ci_low:.4g}, {result.ci_high:.4g}] "
        f"(naive before/after {result.naive_estimate:.4g}); pre-trend p = {result.pretrend_p_value:.3g}"
    )
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)


causal.add_command(_weighting_command("ipw"))
causal.add_command(_weighting_command("aipw"))
causal.add_command(did)


@click.command()
@transaction_source_options
@click.option("--freq", default="M", show_default=True, help="Period: M, Q, W or Y.")
@click.option("--by", default=None, help="'cohort' or a customer-level column of the transactions.")
@click.option(
    "--lapse-periods", type=int, default=3, show_default=True, help="Periods without orders = lapsed."
)
@click.option("--target", "targets", multiple=True, help="KPI=VALUE, e.g. retention_rate=0.4 (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the KPI table (and trends) as JSON.")
def kpi(freq, by, lapse_periods, targets, as_json, **source) -> None:
    """Loyalty KPIs per period (retention, churn, repeat purchase, win-back, frequency, AOV) vs targets."""
    from ltvlab.features import kpi_status, kpi_table, kpi_trends

    extra = (by,) if by not in (None, "cohort") else ()
    transactions = load_transactions_from_options(**source, extra_columns=extra)
    table = kpi_table(transactions, freq=freq, by=by, lapse_periods=lapse_periods)
    trends = kpi_trends(table)
    goal = _pairs(targets, "--target")
    status = kpi_status(table, goal) if goal else None
    shown = (status if status is not None else table).assign(period=lambda f: f["period"].astype(str))
    if as_json:
        echo_json({"kpis": _records(shown), "trends": _records(trends)})
        return
    click.echo(shown.to_string(index=False))
    undefined = table[table["note"] != ""]
    if len(undefined):
        click.secho(
            f"warning: {len(undefined):,} KPI value(s) undefined (zero denominator), shown as NaN: "
            + ", ".join(f"{r.kpi} {r.period}" for r in undefined.head(5).itertuples())
            + (" ..." if len(undefined) > 5 else ""),
            fg="yellow",
            err=True,
        )


@click.command()
@click.option("--values", "values_path", required=True, type=click.Path(dir_okay=False),
              help="CSV/Parquet: segment, strategy, draw, incremental_value.")  # fmt: skip
@click.option("--budget", type=float, required=True, help="Money available for contacts.")
@click.option("--cost", "costs", multiple=True, required=True, help="STRATEGY=COST per contact (repeatable).")
@click.option("--size", "sizes", multiple=True, required=True, help="SEGMENT=CUSTOMERS (repeatable).")
@click.option("--channel", "channels", multiple=True, help="STRATEGY=CHANNEL (repeatable).")
@click.option("--capacity", "capacities", multiple=True, help="CHANNEL=MAX_CONTACTS (repeatable).")
@click.option("--ltv", "ltvs", multiple=True, help="SEGMENT=BASELINE_LTV, for the highest-LTV comparison.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan and comparison as JSON.")
@reading_options
def allocate(values_path, budget, costs, sizes, channels, capacities, ltvs, as_json, **reading) -> None:
    """Allocate a contact budget over segments x strategies by expected incremental CLV."""
    from ltvlab.strategy import allocate_budget

    result = allocate_budget(
        _read_frame(values_path, reading, quiet=as_json),
        budget=budget,
        costs=_pairs(costs, "--cost"),
        segment_sizes=_pairs(sizes, "--size"),
        channels=_pairs(channels, "--channel", cast=str) or None,
        capacity=_pairs(capacities, "--capacity") or None,
        baseline_ltv=_pairs(ltvs, "--ltv") or None,
    )
    payload = {
        "budget": result.budget,
        "spent": result.spent,
        "expected_return": result.expected_return,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "credible_mass": result.credible_mass,
        "prob_positive": result.prob_positive,
        "objective": result.objective,
        "n_draws": result.n_draws,
        "warnings": list(result.warnings),
        "plan": _records(result.plan),
        "comparison": _records(result.comparison),
    }
    if as_json:
        echo_json(payload)
        return
    click.echo(result.plan.to_string(index=False))
    click.echo(result.comparison.to_string(index=False))
