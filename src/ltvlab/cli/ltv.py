"""``ltvlab ltv fit`` and ``ltvlab ltv score``: BTYD fits, holdout metrics and per-customer scores.

Defaults follow the CDNOW protocol of Fader, Hardie & Lee (2005): calibration ends 1997-09-30 (39 weeks after
1997-01-01), the holdout ends 1998-06-30 (the next 39 weeks), time in weeks. Pass your own dates for other data;
``--holdout-end none`` skips the holdout metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import numpy as np
import pandas as pd

from ltvlab.cli._options import (
    TRANSACTION_SOURCE_KEYS,
    echo_json,
    echo_notes,
    load_transactions_from_options,
    transaction_source_options,
)
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.features import customer_summary, summary_notes
from ltvlab.ltv.registry import (
    DEFAULT_PURCHASE_MODEL,
    DEFAULT_SPEND_MODEL,
    get_model,
    model_spec,
    registered_models,
)

CDNOW_CALIBRATION_END = "1997-09-30"
CDNOW_HOLDOUT_END = "1998-06-30"
DERIVED_SEGMENTS = {"cohort": "cohort", "spend-tier": "spend_tier"}


def add_derived_segment(transactions: pd.DataFrame, derive: str) -> tuple[pd.DataFrame, str]:
    """Add a segment known at acquisition to every transaction: first-purchase month or spend tier.

    ``derive="cohort"`` gives ``cohort`` (``"1997-01"``, ``"1997-02"``, ...); ``"spend-tier"`` gives
    ``spend_tier`` (low/mid/high tercile of the first-purchase value). Returns the frame and the column name.
    """
    from ltvlab.features.segments import first_purchase_segments

    if derive not in DERIVED_SEGMENTS:
        raise LtvlabError(f"--derive-segment {derive!r}; use one of {sorted(DERIVED_SEGMENTS)}")
    name = DERIVED_SEGMENTS[derive]
    segments = (
        first_purchase_segments(transactions, cohort="month").set_index(col.CUSTOMER_ID)[name].astype(str)
    )
    out = transactions.copy()
    out[name] = out[col.CUSTOMER_ID].astype(str).map(segments).to_numpy()
    return out, name


def _model_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--model",
        type=click.Choice(registered_models("purchase")),
        default=DEFAULT_PURCHASE_MODEL,
        show_default=True,
        help="Purchase/dropout model (any registered model).",
    )(func)
    return _fit_options(func)


def _fit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--pooling",
            type=click.Choice(["none", "complete", "partial"]),
            default="complete",
            show_default=True,
        ),
        click.option(
            "--segment-col", default=None, help="Segment column of the transactions (e.g. channel)."
        ),
        click.option(
            "--derive-segment",
            type=click.Choice(sorted(DERIVED_SEGMENTS)),
            default=None,
            help="Derive the segment: first-purchase month (cohort) or first-purchase spend tercile.",
        ),
        click.option(
            "--purchase-covariate",
            "purchase_covariates",
            multiple=True,
            help="Customer covariate on the purchase rate (repeatable): 'first_amount' or a numeric column of "
            "the transactions, taken at the first purchase.",
        ),
        click.option(
            "--dropout-covariate",
            "dropout_covariates",
            multiple=True,
            help="Customer covariate on the dropout rate (repeatable), as --purchase-covariate.",
        ),
        click.option("--method", type=click.Choice(["map", "nuts"]), default="map", show_default=True),
        click.option(
            "--priors",
            type=click.Choice(["default", "flat"]),
            default="default",
            show_default=True,
            help="Weakly informative priors, or flat (MAP = maximum likelihood).",
        ),
        click.option("--draws", type=int, default=1000, show_default=True, help="NUTS draws per chain."),
        click.option("--chains", type=int, default=2, show_default=True, help="NUTS chains."),
        click.option("--seed", type=int, default=2024, show_default=True),
        click.option(
            "--calibration-end",
            default=CDNOW_CALIBRATION_END,
            show_default=True,
            help="Last calibration day (CDNOW default: 39 weeks after 1997-01-01).",
        ),
        click.option(
            "--holdout-end",
            default=CDNOW_HOLDOUT_END,
            show_default=True,
            help="Last holdout day (CDNOW default: 39 weeks later); 'none' for no holdout.",
        ),
        click.option(
            "--unit", type=click.Choice(["W", "D"]), default="W", show_default=True, help="Time unit."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _prepare(options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    segment_col = options.pop("segment_col")
    derive = options.pop("derive_segment")
    if segment_col and derive:
        raise LtvlabError("give --segment-col or --derive-segment, not both")
    source = {k: options.pop(k) for k in list(options) if k in _SOURCE_KEYS}
    covariates = [
        c
        for c in dict.fromkeys((*options["purchase_covariates"], *options["dropout_covariates"]))
        if c != col.FIRST_AMOUNT
    ]
    wanted = [c for c in dict.fromkeys([*([segment_col] if segment_col else []), *covariates])]
    extra = tuple(wanted) if source.get("data_path") else ()
    transactions = load_transactions_from_options(**source, extra_columns=extra)
    if derive:
        transactions, segment_col = add_derived_segment(transactions, derive)
    for name, flag in [
        (segment_col, "--segment-col"),
        *((c, "--purchase/dropout-covariate") for c in covariates),
    ]:
        if name and name not in transactions.columns:
            raise LtvlabError(f"{flag} {name!r} is not a column; have {list(transactions.columns)}")
    holdout_end = options["holdout_end"]
    summary = customer_summary(
        transactions,
        calibration_end=options["calibration_end"],
        holdout_end=None if str(holdout_end).lower() == "none" else holdout_end,
        unit=options["unit"],
        segment_cols=tuple(dict.fromkeys([*([segment_col] if segment_col else []), *covariates])),
    )
    echo_notes(summary_notes(summary))
    if segment_col is None and options["pooling"] != "complete":
        raise LtvlabError(f"--pooling {options['pooling']} needs --segment-col or --derive-segment")
    return transactions, summary, segment_col


_SOURCE_KEYS = TRANSACTION_SOURCE_KEYS


def _fit(kind: str, summary: pd.DataFrame, segment: str | None, options: dict[str, Any]) -> Any:
    """Fit the registered model ``kind`` (a purchase model, or the spend model on repeat buyers)."""
    model = get_model(kind)
    pooling = options["pooling"] if segment else "complete"
    covariates = {}
    if model.accepts_covariates:
        covariates = {
            "purchase_covariates": tuple(options["purchase_covariates"]),
            "dropout_covariates": tuple(options["dropout_covariates"]),
        }
    spec = model_spec(kind, pooling=pooling, segment=segment, priors=options["priors"], **covariates)
    data = summary[summary[col.X] > 0] if model.role == "spend" else summary
    return spec.fit(
        data, method=options["method"], draws=options["draws"], chains=options["chains"], seed=options["seed"]
    )


def parameter_table(fit: Any) -> list[dict[str, Any]]:
    """Per parameter and segment: posterior mean, sd and 94% HDI (MAP: the value, interval None)."""
    table = fit.summary()
    keep = [
        c
        for c in ("segment", "param", "mean", "sd", "hdi_3%", "hdi_97%", "r_hat", "ess_bulk", "ess_tail")
        if c in table
    ]
    return [_clean(row) for row in table[keep].to_dict(orient="records")]


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, NumPy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _diagnostics_status(fit: Any) -> str:
    diagnostics = getattr(fit, "diagnostics", None)
    if diagnostics is None:
        return "not applicable"
    status = "passed" if bool(getattr(diagnostics, "ok", False)) else "FAILED"
    messages = tuple(getattr(diagnostics, "messages", ()) or ())
    return f"{status} ({'; '.join(messages)})" if messages else status


def _fit_report(fit: Any) -> dict[str, Any]:
    ll = getattr(fit, "log_likelihood", None)
    return {
        "model": fit.model_name,
        "segment": getattr(fit, "segment", None),
        "parameters": parameter_table(fit),
        "log_likelihood": float(ll) if ll is not None else None,
        "diagnostics": _diagnostics_status(fit),
    }


@click.group()
def ltv() -> None:
    """Customer lifetime value: BTYD fits, holdout validation, scoring."""


@ltv.command("fit")
@transaction_source_options
@_model_options
@click.option(
    "--save",
    "save_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also fit the Gamma-Gamma spend model and save both fits to this .nc file (score later with "
    "`ltv score --fit FILE`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def fit_command(as_json: bool, save_path: str | None, **options: Any) -> None:
    """Fit a purchase model (BG/NBD, MBG/NBD, Pareto/NBD; see --model) and report parameters,
    log-likelihood, diagnostics and holdout metrics."""
    from ltvlab.ltv.holdout import holdout_validation
    from ltvlab.ltv.saved import save_fits

    _, summary, segment = _prepare(options)
    fit = _fit(options["model"], summary, segment, options)
    saved = None
    if save_path is not None:
        saved = str(save_fits(save_path, fit, _fit(DEFAULT_SPEND_MODEL, summary, segment, options)))
    report: dict[str, Any] = {
        "customers": len(summary),
        "unit": options["unit"],
        "calibration_end": options["calibration_end"],
        "pooling": options["pooling"] if segment else "complete",
        "method": options["method"],
        "priors": options["priors"],
        "purchase_covariates": list(options["purchase_covariates"]),
        "dropout_covariates": list(options["dropout_covariates"]),
        "seed": options["seed"],
        **_fit_report(fit),
    }
    if saved is not None:
        report["saved"] = saved
    if col.X_HOLDOUT in summary.columns:
        result = holdout_validation(fit, summary, seed=options["seed"])
        report["holdout"] = _clean(result.to_dict())
    if as_json:
        echo_json(_clean(report))
        return
    click.echo(
        f"{report['model']} ({report['method']}, pooling={report['pooling']}) on {len(summary):,} customers"
    )
    for row in report["parameters"]:
        interval = (
            f"  94% HDI [{row['hdi_3%']:.4g}, {row['hdi_97%']:.4g}]" if row.get("hdi_3%") is not None else ""
        )
        click.echo(f"  {row['param']:>12} [{row['segment']}]: {row['mean']:.4g}{interval}")
    click.echo(f"  log-likelihood: {report['log_likelihood']}")
    status = report["diagnostics"]
    click.secho(f"  diagnostics: {status}", fg="red" if status.startswith("FAILED") else None)
    if "holdout" in report:
        h = report["holdout"]
        click.echo(
            f"  holdout: actual {h['actual_total']:.0f}, model {h['predicted_total']:.1f}, naive {h['naive_total']:.1f}; "
            f"MAE model {h['mae']:.3f} vs naive {h['naive_mae']:.3f}; log predictive density {h['log_predictive_density']:.1f}"
        )


@ltv.command("score")
@transaction_source_options
@_model_options
@click.option(
    "--horizon-weeks", type=float, default=52.0, show_default=True, help="CLV and purchase horizon."
)
@click.option("--period-weeks", type=float, default=4.0, show_default=True, help="Discounting period.")
@click.option(
    "--annual-discount-rate", type=float, default=0.10, show_default=True, help="0.10 = 10% a year."
)
@click.option(
    "--max-draws", type=int, default=1000, show_default=True, help="Posterior draws used for scoring."
)
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="scores.parquet or scores.csv")
@click.option("--hash-ids", is_flag=True, help="Write salted sha256 hashes instead of raw customer ids.")
@click.option(
    "--fit",
    "fit_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Score with the fits saved by `ltv fit --save FILE` instead of refitting (the summary must be in the "
    "fit's --unit).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
def score_command(
    horizon_weeks: float,
    period_weeks: float,
    annual_discount_rate: float,
    max_draws: int,
    output: str,
    hash_ids: bool,
    fit_path: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Score every customer: P(alive), expected purchases and discounted CLV (mean, q05, q50, q95)."""
    from ltvlab.ltv.saved import load_fits
    from ltvlab.ltv.scoring import write_scores

    _, summary, segment = _prepare(options)
    if fit_path is not None:
        source = click.get_current_context().get_parameter_source("model")
        chosen = options["model"] if source is not None and source.name != "DEFAULT" else None
        purchase, spend = load_fits(fit_path, model=chosen)
        if spend is None:
            raise LtvlabError(
                f"{fit_path} holds no spend fit; save it with `ltvlab ltv fit --save {fit_path}`"
            )
    else:
        purchase = _fit(options["model"], summary, segment, options)
        spend = _fit(DEFAULT_SPEND_MODEL, summary, segment, options)
    run = write_scores(
        purchase,
        spend,
        summary,
        output,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=options["seed"],
        hash_customer_ids=hash_ids,
    )
    report = {
        "output": str(run.path),
        "customers": run.n_customers,
        "unique_summaries": run.n_unique_summaries,
        "draws": run.n_draws,
        "columns": list(run.columns),
        "model": purchase.model_name,
        "fit": fit_path or "refitted",
        "purchase_log_likelihood": purchase.log_likelihood,
        "purchase_diagnostics": _diagnostics_status(purchase),
        "spend_diagnostics": _diagnostics_status(spend),
        **{
            k: v
            for k, v in run.attrs.items()
            if k in ("unit", "horizon_weeks", "period_weeks", "annual_discount_rate")
        },
    }
    if as_json:
        echo_json(_clean(report))
    else:
        for key, value in report.items():
            click.echo(f"{key:>22}: {value}")


@ltv.command("compare")
@transaction_source_options
@_fit_options
@click.option(
    "--models",
    default=",".join(registered_models("purchase")),
    show_default=True,
    help="Comma-separated purchase models to compare (registered models).",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the tracking plot (PNG).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_command(models: str, plot_path: str | None, as_json: bool, **options: Any) -> None:
    """Compare purchase models on one summary: holdout log predictive density, per-customer MAE, PSIS-LOO."""
    from ltvlab.ltv.compare import compare_fits, model_tracking

    names = [m.strip() for m in models.split(",") if m.strip()]
    for name in names:
        get_model(name, "purchase")
    if len(names) < 2:
        raise LtvlabError(f"--models needs at least two models, got {names}")
    transactions, summary, segment = _prepare(options)
    if col.X_HOLDOUT not in summary.columns:
        raise LtvlabError("model comparison needs a holdout period: give --holdout-end")
    comparison = compare_fits({name: _fit(name, summary, segment, options) for name in names}, summary)
    report = {
        "unit": options["unit"],
        "calibration_end": options["calibration_end"],
        "holdout_end": options["holdout_end"],
        "method": options["method"],
        **comparison.to_dict(),
    }
    if plot_path is not None:
        from ltvlab.ltv.model_plots import plot_model_tracking

        labels = {name: get_model(name).label for name in names}
        ax = plot_model_tracking(model_tracking(comparison, summary, transactions), labels=labels)
        ax.figure.tight_layout()
        ax.figure.savefig(plot_path, dpi=120)
        report["plot"] = plot_path
    if as_json:
        echo_json(_clean(report))
        return
    click.echo(f"{len(names)} models on {len(summary):,} customers ({options['method']}); best holdout first")
    for row in report["models"]:
        loo = (
            f", ELPD-LOO {row['elpd_loo']:.1f} (se {row['elpd_loo_se']:.1f})"
            if row["elpd_loo"] is not None
            else ""
        )
        click.echo(
            f"  {row['label']:>10}: holdout log density {row['holdout_log_density']:.1f}, "
            f"MAE {row['holdout_mae']:.3f}{loo}"
        )
