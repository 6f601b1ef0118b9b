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
    echo_load,
    echo_notes,
    load_transactions_from_options,
    transaction_source_options,
)
from ltvlab.data.contacts import CarryOver
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
        "remedies": list(getattr(getattr(fit, "diagnostics", None), "remedies", ()) or ()),
    }


def _contact_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--contacts FILE --carry-over window:4|geometric:0.5 [--covariates FILE]`` and their column flags."""
    options = [
        click.option(
            "--contacts",
            "contacts_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="Contact log (customer, timestamp, strategy, optional cost): its contacts per strategy and "
            "period become time-varying covariates of the purchase (and, Pareto/NBD, dropout) rate.",
        ),
        click.option(
            "--carry-over",
            default=None,
            help="How long a contact counts: window:K (K periods) or geometric:THETA (weight THETA^d after d "
            "periods). Required with --contacts.",
        ),
        click.option(
            "--covariates",
            "covariates_path",
            type=click.Path(dir_okay=False),
            default=None,
            help="Long-format time-varying covariate table (customer_id, period_start, numeric columns).",
        ),
        click.option(
            "--period-length",
            default="7D",
            show_default=True,
            help="Length of a covariate period (a pandas duration: 7D, 14D, 1D).",
        ),
        click.option(
            "--origin",
            default=None,
            help="Start of the period grid (default: the earliest transaction day).",
        ),
        click.option(
            "--assignment",
            type=click.Choice(["observational", "randomised"]),
            default="observational",
            show_default=True,
            help="Were the contacts randomised? Only then are the effects causal without adjustment.",
        ),
        click.option("--contact-customer-col", default="customer_id", show_default=True),
        click.option("--contact-time-col", default="timestamp", show_default=True),
        click.option("--strategy-col", default="strategy", show_default=True),
        click.option("--cost-col", default=None, help="Contact cost column (default: 'cost' when present)."),
        click.option("--covariate-customer-col", default="customer_id", show_default=True),
        click.option("--period-col", default="period_start", show_default=True),
    ]
    for option in reversed(options):
        func = option(func)
    return func


CONTACT_KEYS = (
    "contacts_path",
    "carry_over",
    "covariates_path",
    "period_length",
    "origin",
    "assignment",
    "contact_customer_col",
    "contact_time_col",
    "strategy_col",
    "cost_col",
    "covariate_customer_col",
    "period_col",
)


def check_contact_options(options: dict[str, Any]) -> CarryOver | None:
    """The parsed carry-over, after checking the contact flags go together (before any file is read)."""
    contacts, carry_over = options.get("contacts_path"), options.get("carry_over")
    if carry_over is not None and contacts is None:
        raise LtvlabError("--carry-over says how long a contact counts: give it with --contacts FILE")
    if contacts is not None and carry_over is None:
        raise LtvlabError(
            "--contacts needs --carry-over: window:K (a contact counts for K periods) or geometric:THETA "
            "(its weight falls by THETA each period), e.g. --carry-over window:4"
        )
    try:
        length = pd.Timedelta(options.get("period_length") or "7D")
    except (ValueError, TypeError):
        raise LtvlabError(
            f"--period-length {options.get('period_length')!r} is not a duration; write e.g. 7D or 14D"
        ) from None
    if length <= pd.Timedelta(0):
        raise LtvlabError(f"--period-length {options.get('period_length')!r} must be positive, e.g. 7D")
    return CarryOver.parse(carry_over) if carry_over is not None else None


def contact_inputs(
    transactions: pd.DataFrame,
    options: dict[str, Any],
    reading: dict[str, Any],
    *,
    used_contacts: list[pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The long covariate table of a fit with contacts (and/or a covariate table), and what was done.

    The grid runs from ``--origin`` (default: the earliest transaction day) in ``--period-length`` steps to
    the calibration end (the midnight ``T`` is measured to); contacts after it (a holdout's) are counted, not
    used. Returns the table and a JSON-ready description (carry-over, strategies, counts, assignment); the
    contacts used are appended to ``used_contacts`` when it is given (for the targeting-balance check).
    """
    from ltvlab.data import contact_covariates, load_contacts, load_covariate_table
    from ltvlab.data.contacts import combine_covariates, period_grid

    carry_over = check_contact_options(options)
    length = pd.Timedelta(options["period_length"])
    origin = (
        pd.Timestamp(options["origin"])
        if options.get("origin")
        else pd.Timestamp(transactions[col.DATE].min()).normalize()
    )
    end = pd.Timestamp(options["calibration_end"]).normalize()
    origin, length, end, n_periods = period_grid(origin, length, end)
    info: dict[str, Any] = {
        "origin": origin.date().isoformat(),
        "period_length_days": length / pd.Timedelta(days=1),
        "periods": n_periods,
        "assignment": options["assignment"],
        "contacts_randomised": options["assignment"] == "randomised",
    }
    tables = []
    if options.get("contacts_path"):
        columns = {
            col.CUSTOMER_ID: options["contact_customer_col"],
            "timestamp": options["contact_time_col"],
            "strategy": options["strategy_col"],
            **({"cost": options["cost_col"]} if options.get("cost_col") else {}),
        }
        loaded = load_contacts(options["contacts_path"], columns=columns, customers=transactions, **reading)
        echo_load(loaded)
        frame = loaded.frame
        before = frame["timestamp"] < origin
        after = frame["timestamp"] >= end
        used = frame[~before & ~after]
        if used.empty:
            raise LtvlabError(
                f"{loaded.source.name}: no contact falls in the calibration window {origin:%Y-%m-%d} to "
                f"{end:%Y-%m-%d}; check --calibration-end and --origin"
            )
        table = contact_covariates(used, origin=origin, period_length=length, end=end, carry_over=carry_over)
        if used_contacts is not None:
            used_contacts.append(used)
        costs = used.groupby("strategy")["cost"].agg(["size", "mean"])
        info.update(
            {
                "carry_over": str(carry_over),
                "strategies": list(table.attrs["strategies"]),
                "contacts_used": len(used),
                "contacts_after_calibration": int(after.sum()),
                "contacts_before_origin": int(before.sum()),
                "contacts_quarantined": int(loaded.n_quarantined),
                "contacts_per_strategy": {str(k): int(v) for k, v in costs["size"].items()},
                "mean_cost_per_contact": {str(k): float(v) for k, v in costs["mean"].items()},
            }
        )
        tables.append(table)
    if options.get("covariates_path"):
        loaded = load_covariate_table(
            options["covariates_path"],
            columns={
                col.CUSTOMER_ID: options["covariate_customer_col"],
                "period_start": options["period_col"],
            },
            period_length=length,
            origin=origin,
            customers=transactions,
            **{k: v for k, v in reading.items() if k != "strip_currency"},
        )
        echo_load(loaded)
        user = loaded.frame[loaded.frame["period_start"] < end]
        info["covariate_columns"] = [c for c in user.columns if c not in (col.CUSTOMER_ID, "period_start")]
        info["covariate_rows_after_calibration"] = int(len(loaded.frame) - len(user))
        tables.append(user)
    combined = combine_covariates(*tables)
    combined.attrs.update({"origin": origin, "period_length": length, "end": end, "n_periods": n_periods})
    return combined, info


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
@_contact_options
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def fit_command(as_json: bool, save_path: str | None, **options: Any) -> None:
    """Fit a purchase model (BG/NBD, MBG/NBD, Pareto/NBD; see --model) and report parameters,
    log-likelihood, diagnostics and holdout metrics. With --contacts (and/or --covariates) the contacts of
    each strategy per period enter the purchase and dropout rates, and each effect's posterior is reported."""
    from ltvlab.ltv.holdout import holdout_validation
    from ltvlab.ltv.saved import save_fits

    contact_options = {key: options.pop(key) for key in CONTACT_KEYS}
    if any(contact_options[k] for k in ("contacts_path", "covariates_path", "carry_over")):
        _fit_with_contacts(as_json, save_path, options, contact_options)
        return
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


EFFECT_LEVEL = 0.9


def _causal_reading(randomised: bool, static: list[str]) -> str:
    if randomised:
        return "contacts were randomised: the effects are causal (under the model)"
    adjusted = f", adjusted for {', '.join(static)}" if static else ""
    return (
        f"contacts were not randomised{adjusted}: the effects are associations, causal only if the static "
        "covariates capture how contacts were targeted"
    )


def _fit_with_contacts(
    as_json: bool, save_path: str | None, options: dict[str, Any], contact_options: dict[str, Any]
) -> None:
    """``ltv fit --contacts/--covariates``: the time-varying-covariate BG/NBD or Pareto/NBD fit."""
    check_contact_options(contact_options)
    from ltvlab.cli._options import READING_KEYS, reading_kwargs
    from ltvlab.ltv.interactions.data import prepare_tvc_data
    from ltvlab.ltv.interactions.fit import TVCSpec

    if save_path is not None:
        raise LtvlabError("--save does not store fits with contacts yet; drop --save (or --contacts)")
    if options["dropout_covariates"]:
        raise LtvlabError(
            "--dropout-covariate takes static covariates, which the contact fit puts on the purchase rate only; "
            "use --purchase-covariate (e.g. the score used for targeting)"
        )
    reading = {k: v for k, v in reading_kwargs({k: options.get(k) for k in READING_KEYS}).items()}
    transactions, summary, segment = _prepare(options)
    used: list[pd.DataFrame] = []
    covariates, info = contact_inputs(
        transactions,
        {**contact_options, "calibration_end": options["calibration_end"]},
        reading,
        used_contacts=used,
    )
    static = list(options["purchase_covariates"])
    balance = None
    if static and used:
        from ltvlab.causal import targeting_balance

        balance = targeting_balance(
            used[0],
            summary[[col.CUSTOMER_ID, col.FIRST_PURCHASE, *static]],
            static,
            end=covariates.attrs["end"],
            period_length=covariates.attrs["period_length"],
        )
    data = prepare_tvc_data(
        transactions,
        covariates,
        calibration_end=options["calibration_end"],
        origin=covariates.attrs["origin"],
        period_length=covariates.attrs["period_length"],
        unit=options["unit"],
        segment=summary[[col.CUSTOMER_ID, segment]] if segment else None,
        static=summary[[col.CUSTOMER_ID, *static]] if static else None,
        static_columns=tuple(static),
    )
    spec = TVCSpec(
        model=options["model"],
        pooling=options["pooling"] if segment else "complete",
        priors=options["priors"],
        carry_over=info.get("carry_over"),
        randomised=info["contacts_randomised"],
    )
    fit = spec.fit(
        data, method=options["method"], draws=options["draws"], chains=options["chains"], seed=options["seed"]
    )
    interval = fit.n_draws > 1
    effects = []
    for row in fit.effects(level=EFFECT_LEVEL).to_dict(orient="records"):
        effects.append(
            {
                **row,
                "lower": row["lower"] if interval else None,
                "upper": row["upper"] if interval else None,
                "level": EFFECT_LEVEL if interval else None,
                "multiplier": float(np.exp(row["mean"])),
            }
        )
    report: dict[str, Any] = {
        **fit.to_dict(),
        "customers": int(fit.n_customers),
        "calibration_end": options["calibration_end"],
        "seed": options["seed"],
        "static_covariates": static,
        **info,
        "effects": effects,
        "causal_reading": _causal_reading(info["contacts_randomised"], static),
    }
    if balance is not None:
        report["assignment_balance"] = balance.to_dict(orient="records")
        report["contacts_look_targeted"] = bool(balance["targeted"].any())
        if info["contacts_randomised"] and report["contacts_look_targeted"]:
            report["causal_reading"] += (
                "; but the contact log does not look randomised: contacts rise or fall with "
                + ", ".join(sorted(set(balance.loc[balance["targeted"], "covariate"])))
            )
    if as_json:
        echo_json(_clean(report))
        return
    click.echo(
        f"{fit.model} with contacts ({options['method']}, pooling={report['pooling']}) on "
        f"{report['customers']:,} customers; carry-over {info.get('carry_over', '—')}"
    )
    click.echo(f"  {report['causal_reading']}")
    for row in effects:
        band = (
            f"  {EFFECT_LEVEL:.0%} interval [{row['lower']:+.3f}, {row['upper']:+.3f}]"
            if row["level"]
            else ""
        )
        click.echo(
            f"  {row['strategy']:>12} on {row['parameter']:<8} [{row['segment']}]: {row['mean']:+.3f} per contact "
            f"(x{row['multiplier']:.2f}){band}"
        )
    status = _diagnostics_status(fit)
    click.secho(f"  diagnostics: {status}", fg="red" if status.startswith("FAILED") else None)


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
