"""Fit once, score later: fitted models saved to one netCDF file and loaded back in another process.

The file holds one netCDF group per fit (``purchase``, optionally ``spend``), each an xarray Dataset of the
parameter draws (``draw`` x ``segment``, coefficients ``draw`` x covariate, partial-pooling hyperparameters by
``draw``) -- the layout of an ArviZ posterior -- with everything else the fit knows as attributes: model, pooling,
segments, method, priors and config, seed, data hash, unit, covariate standardisation, diagnostics, ltvlab
version and the file format version. Loading checks the format version and, when asked, the model, and refuses
anything else with a message saying what the file holds.

>>> save_fits("nightly.nc", fit, spend_fit)                        # doctest: +SKIP
>>> fit, spend_fit = load_fits("nightly.nc", model=fit.model_name)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ltvlab.errors import LtvlabError
from ltvlab.ltv.covariates import Covariates
from ltvlab.ltv.diagnostics import Diagnostics, DiagnosticThresholds
from ltvlab.ltv.fitted import BTYDFit, PurchaseFit, SpendFit
from ltvlab.ltv.registry import get_model

__all__ = ["FIT_FORMAT", "load_fits", "save_fits"]

FIT_FORMAT = 1  # bumped whenever the layout changes; files of another format are refused
_GROUPS = ("purchase", "spend")


def _meta(fit: BTYDFit) -> dict[str, Any]:
    diagnostics = fit.diagnostics
    return {
        "format": FIT_FORMAT,
        "model_name": fit.model_name,
        "param_names": list(fit.param_names),
        "pooling": fit.pooling,
        "segment": fit.segment,
        "segments": list(fit.segments),
        "method": fit.method,
        "log_likelihood": fit.log_likelihood,
        "config": fit.config,
        "seed": fit.seed,
        "data_hash": fit.data_hash,
        "ltvlab_version": fit.ltvlab_version,
        "unit": fit.unit,
        "n_customers": fit.n_customers,
        "n_rows": fit.n_rows,
        "warnings": list(fit.warnings),
        "covariates": fit.covariates.describe() if fit.covariates is not None else None,
        "diagnostics": {
            **diagnostics.to_dict(),
            "table": diagnostics.table.to_dict(orient="list"),
            "thresholds": asdict(diagnostics.thresholds),
        },
    }


def _dataset(fit: BTYDFit) -> xr.Dataset:
    variables = {}
    labels = list(fit.segments) if fit.pooling != "complete" else ["all"]
    for name, values in fit.param_draws.items():
        dim = "segment" if name in fit.param_names else f"{name}_dim"  # coefficients: one per covariate
        variables[name] = (("draw", dim), np.asarray(values, dtype=float))
    for name, values in fit.population_draws.items():
        variables[f"population:{name}"] = (("draw",), np.asarray(values, dtype=float))
    ds = xr.Dataset(variables, coords={"segment": labels})
    ds.attrs["ltvlab"] = json.dumps(_meta(fit), default=_json_default)
    return ds


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def save_fits(path: str | Path, purchase_fit: BTYDFit, spend_fit: BTYDFit | None = None) -> Path:
    """Write a purchase (or retention) fit and optionally a spend fit to one netCDF file at ``path``."""
    out = Path(path)
    if out.suffix != ".nc":
        raise LtvlabError(f"save the fit to a .nc (netCDF) file, not {out.name}")
    if not isinstance(purchase_fit, BTYDFit) or (
        spend_fit is not None and not isinstance(spend_fit, BTYDFit)
    ):
        raise LtvlabError("save_fits takes fitted ltvlab models (the result of spec.fit)")
    if get_model(purchase_fit.model_name).role == "spend":
        raise LtvlabError("the first fit must be the purchase model; pass the spend model as spend_fit")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    _dataset(purchase_fit).to_netcdf(tmp, group="purchase", engine="h5netcdf", mode="w")
    if spend_fit is not None:
        _dataset(spend_fit).to_netcdf(tmp, group="spend", engine="h5netcdf", mode="a")
    tmp.replace(out)
    return out


def _read_group(path: Path, group: str) -> xr.Dataset | None:
    try:
        with xr.open_dataset(path, group=group, engine="h5netcdf") as ds:
            return ds.load()
    except OSError as exc:
        if group == "spend":
            return None
        raise LtvlabError(f"{path}: not an ltvlab fit file ({exc})") from exc
    except (KeyError, ValueError) as exc:
        if group == "spend":
            return None
        raise LtvlabError(f"{path}: not an ltvlab fit file (no '{group}' fit: {exc})") from exc


def _fit_from(ds: xr.Dataset, path: Path) -> BTYDFit:
    try:
        meta = json.loads(ds.attrs["ltvlab"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise LtvlabError(f"{path}: not an ltvlab fit file (no ltvlab metadata)") from exc
    if meta.get("format") != FIT_FORMAT:
        raise LtvlabError(
            f"{path} was saved by ltvlab {meta.get('ltvlab_version', '?')} in fit format {meta.get('format')!r}; "
            f"this ltvlab reads format {FIT_FORMAT}: refit and save it again with this version"
        )
    model = get_model(meta["model_name"])
    draws = {}
    population = {}
    for name, variable in ds.data_vars.items():
        if name.startswith("population:"):
            population[name.removeprefix("population:")] = variable.values
        else:
            draws[name] = variable.values
    d = meta["diagnostics"]
    thresholds = DiagnosticThresholds(**d["thresholds"]) if d.get("thresholds") else DiagnosticThresholds()
    diagnostics = Diagnostics(
        ok=d["ok"],
        max_r_hat=d["max_r_hat"],
        min_ess_bulk=d["min_ess_bulk"],
        min_ess_tail=d["min_ess_tail"],
        divergences=d["divergences"],
        table=pd.DataFrame(d["table"]),
        messages=tuple(d["messages"]),
        thresholds=thresholds,
        remedies=tuple(d.get("remedies", ())),
    )
    cov = meta.get("covariates")
    covariates = (
        Covariates(tuple(cov["purchase"]), tuple(cov["dropout"]), dict(cov["mean"]), dict(cov["scale"]))
        if cov
        else None
    )
    cls = {"spend": SpendFit, "contractual": BTYDFit}.get(model.role, PurchaseFit)
    return cls(
        model_name=meta["model_name"],
        param_names=tuple(meta["param_names"]),
        pooling=meta["pooling"],
        segment=meta["segment"],
        segments=tuple(meta["segments"]),
        method=meta["method"],
        param_draws=draws,
        population_draws=population,
        log_likelihood=meta["log_likelihood"],
        diagnostics=diagnostics,
        idata=None,
        config=meta["config"],
        seed=meta["seed"],
        data_hash=meta["data_hash"],
        ltvlab_version=meta["ltvlab_version"],
        unit=meta["unit"],
        n_customers=meta["n_customers"],
        n_rows=meta["n_rows"],
        warnings=tuple(meta["warnings"]),
        covariates=covariates,
    )


def load_fits(path: str | Path, *, model: str | None = None) -> tuple[BTYDFit, BTYDFit | None]:
    """Read the fits saved by :func:`save_fits`: ``(purchase_fit, spend_fit or None)``.

    ``model`` (a registered model name) must be the saved purchase model when given. Files of another fit format, or
    that are not ltvlab fit files, are refused with a message.
    """
    source = Path(path)
    if not source.is_file():
        raise LtvlabError(f"fit file {source} not found; save one with `ltvlab ltv fit --save {source.name}`")
    purchase_ds = _read_group(source, "purchase")
    purchase = _fit_from(purchase_ds, source)
    if model is not None and purchase.model_name != model:
        raise LtvlabError(
            f"{source} holds a {purchase.model_name} fit, not {model}: score with --model {purchase.model_name} "
            f"or refit with --model {model}"
        )
    spend_ds = _read_group(source, "spend")
    spend = _fit_from(spend_ds, source) if spend_ds is not None else None
    return purchase, spend
