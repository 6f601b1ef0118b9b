"""``ltvlab ab``: analyse a randomised experiment (per arm and metric effects, SRM, Bayesian P(better))."""

from __future__ import annotations

import math

import click
import pandas as pd

from ltvlab.cli._options import echo_json, echo_load, reading_kwargs, reading_options
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col


def _load(
    dataset: str | None,
    data_path: str | None,
    *,
    unit_col: str,
    arm_col: str,
    metrics: tuple[str, ...],
    binary_metrics: tuple[str, ...],
    covariates: tuple[str, ...],
    max_bad_share: float,
    arms: tuple[str, ...],
    reading: dict[str, object],
) -> tuple[pd.DataFrame, str]:
    """The experiment frame and the name of its arm column."""
    if (dataset is None) == (data_path is None):
        raise LtvlabError("give exactly one of --dataset NAME or --data FILE")
    if dataset is not None:
        from ltvlab.data import dataset_info, load_dataset

        if any(v not in (None, False) for v in reading.values()):
            raise LtvlabError(
                "--encoding/--decimal/--thousands/... describe your own file; use them with --data"
            )
        if dataset_info(dataset).kind != "experiment":
            raise LtvlabError(f"dataset {dataset!r} is not an experiment; try --dataset hillstrom")
        return load_dataset(dataset), arm_col
    from ltvlab.data import load_experiment

    result = load_experiment(
        data_path,
        columns={col.UNIT_ID: unit_col, col.ARM: arm_col},
        outcomes=metrics,
        covariates=covariates,
        binary_outcomes=binary_metrics,
        arms=list(arms) or None,
        max_bad_share=max_bad_share,
        **reading_kwargs(reading),
    )
    echo_load(result)
    return result.frame, col.ARM


def _clean(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


@click.command()
@click.option("--dataset", default=None, help="Bundled experiment dataset, e.g. hillstrom.")
@click.option(
    "--data", "data_path", type=click.Path(dir_okay=False), default=None, help="Your experiment file."
)
@click.option("--unit-col", default="unit_id", show_default=True, help="Unit id column (with --data).")
@click.option("--arm-col", required=True, help="Column with the arm label.")
@click.option("--control", required=True, help="Label of the control arm.")
@click.option(
    "--arm", "arms", multiple=True, help="Planned arm label (repeatable; default: the labels in the data)."
)
@click.option("--metric", "metrics", multiple=True, required=True, help="Outcome column (repeatable).")
@click.option(
    "--binary-metric", "binary_metrics", multiple=True, help="Outcome that must be 0/1 (repeatable)."
)
@click.option("--covariate", "covariates", multiple=True, help="Pre-treatment covariate (repeatable).")
@click.option("--guardrail", "guardrails", multiple=True, help="Metric that must not get worse (repeatable).")
@click.option("--winsorize", "winsorize_metrics", multiple=True, help="Cap this metric at its 99% quantile.")
@click.option("--correction", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True)
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--segment-col", default=None, help="Segment column for heterogeneous effects.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Bayesian draws.")
@click.option(
    "--max-bad-share", type=float, default=0.01, show_default=True, help="With --data: stop above it."
)
@reading_options
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def ab(
    dataset: str | None,
    data_path: str | None,
    unit_col: str,
    arm_col: str,
    control: str,
    arms: tuple[str, ...],
    metrics: tuple[str, ...],
    binary_metrics: tuple[str, ...],
    covariates: tuple[str, ...],
    guardrails: tuple[str, ...],
    winsorize_metrics: tuple[str, ...],
    correction: str,
    alpha: float,
    segment_col: str | None,
    seed: int,
    max_bad_share: float,
    as_json: bool,
    **reading: object,
) -> None:
    """Effects of each arm against the control: lift, CI, p-value, adjusted p-value, P(better), SRM."""
    from ltvlab.experiments import analyse_experiment

    extra = tuple(dict.fromkeys([*covariates, *([segment_col] if segment_col else [])]))
    frame, arm_column = _load(
        dataset,
        data_path,
        unit_col=unit_col,
        arm_col=arm_col,
        metrics=tuple(dict.fromkeys([*metrics, *guardrails])),
        binary_metrics=binary_metrics,
        covariates=extra,
        max_bad_share=max_bad_share,
        arms=arms,
        reading=reading,
    )
    report = analyse_experiment(
        frame,
        arm_col=arm_column,
        control=control,
        metrics=metrics,
        covariates=covariates,
        arms=list(arms) or None,
        binary_metrics=binary_metrics or None,
        guardrails=guardrails,
        alpha=alpha,
        correction=correction,
        winsorize_metrics=winsorize_metrics,
        segment_col=segment_col,
        seed=seed,
    )
    summary = report.summary_frame()
    if as_json:
        payload = {
            "control": control,
            "alpha": alpha,
            "correction": correction,
            "srm": {
                "p_value": report.srm.p_value,
                "flagged": report.srm.flagged,
                "observed": dict(zip(report.srm.arms, report.srm.observed, strict=True)),
            },
            "results": _records(summary),
            "warnings": list(report.warnings),
        }
        if segment_col:
            payload["heterogeneity"] = _records(report.heterogeneity_frame())
        echo_json(payload)
        return
    colour = "red" if report.srm.flagged else "green"
    click.secho(
        f"SRM p-value: {report.srm.p_value:.4f}" + (" (MISMATCH)" if report.srm.flagged else ""), fg=colour
    )
    shown = summary[
        [
            "arm",
            "metric",
            "n_arm",
            "mean_arm",
            "lift",
            "ci_low",
            "ci_high",
            "p_value",
            "p_value_adjusted",
            "prob_better",
        ]
    ]
    click.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for warning in report.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
