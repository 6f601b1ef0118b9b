"""Model comparison on one customer summary: holdout log predictive density, per-customer MAE, PSIS-LOO.

Each purchase model (BG/NBD, MBG/NBD, Pareto/NBD, ...; any registered model, found by name) is fitted on the same
calibration summary and judged three ways:

- **holdout log predictive density** of the customers' holdout counts, from each model's own conditional
  distribution (:func:`ltvlab.ltv.holdout_validation`): the out-of-sample test;
- **per-customer MAE** of the expected holdout purchases against what customers did;
- **PSIS-LOO** (Vehtari, Gelman & Gabry 2017, ArviZ's ``loo``) of the calibration data, from the pointwise
  log-likelihood of every customer at every posterior draw (NUTS fits only), with its standard error, effective
  number of parameters and Pareto-k diagnostics (``k > 0.7``: the estimate is unreliable for those customers).

Higher log densities / ELPD are better; ``elpd_diff`` is each model's ELPD minus the best, with the standard error
of the difference. With transactions, :func:`model_tracking` gives one weekly tracking table with every model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from scipy import special

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.covariates import covariate_matrix, row_params
from ltvlab.ltv.holdout import cumulative_tracking, holdout_validation
from ltvlab.ltv.registry import get_model, model_spec, registered_models

__all__ = [
    "COMPARISON_COLUMNS",
    "ModelComparison",
    "compare_fits",
    "compare_models",
    "model_tracking",
    "pointwise_loglik",
]

PARETO_K_BAD = 0.7

# The columns of ModelComparison.table a report shows, with their labels (for ltvlab.reports.format_table).
COMPARISON_COLUMNS: dict[str, str] = {
    "label": "model",
    "holdout_log_density": "holdout log predictive density",
    "holdout_mae": "per-customer MAE (purchases)",
    "holdout_predicted": "holdout purchases, predicted",
    "holdout_actual": "holdout purchases, actual",
    "log_likelihood": "calibration log-likelihood",
    "elpd_loo": "PSIS-LOO ELPD",
    "elpd_loo_se": "ELPD SE",
    "elpd_diff": "ELPD minus best",
    "elpd_diff_se": "SE of difference",
    "pareto_k_bad": "customers with Pareto k > 0.7",
    "diagnostics": "diagnostics gate",
}


def pointwise_loglik(fit: Any, summary: pd.DataFrame) -> np.ndarray:
    """Log-likelihood of each customer at each draw, ``(n_draws, n_customers)`` (covariates and segments applied)."""
    ll, inverse = _distinct_loglik(fit, summary)
    return ll[:, inverse]


def _distinct_loglik(fit: Any, summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(ll, inverse)``: the log-likelihood ``(n_draws, n_rows)`` of each distinct customer row, and each
    customer's row. Customers with the same segment, data and covariates have the same log-likelihood at every
    draw (CDNOW sample: 1,016 rows for 2,357 customers)."""
    model = get_model(fit.model_name)
    seg = np.asarray(fit.segment_index(summary))
    z = covariate_matrix(fit.covariates, summary)
    data = np.column_stack([summary[c].to_numpy(float) for c in model.data_columns])
    _, first, inverse = np.unique(
        np.column_stack([seg.astype(float), data, z]), axis=0, return_index=True, return_inverse=True
    )
    params = row_params(
        fit.model_name, model.param_names, fit.param_draws, seg[first], z[first], fit.covariates
    )
    ll = model.loglik(*(data[first, j][None, :] for j in range(data.shape[1])), *params)
    return np.asarray(ll, dtype=float), inverse.ravel()


def _loo(fit: Any, summary: pd.DataFrame) -> dict[str, float | int | str | None]:
    empty = {"elpd_loo": None, "elpd_loo_se": None, "p_loo": None, "pareto_k_bad": None, "loo_warning": None}
    if fit.method != "nuts":
        return {**empty, "loo_warning": "not applicable: PSIS-LOO needs posterior draws (method='nuts')"}
    ll, inverse = _distinct_loglik(fit, summary)
    chains = int(fit.config.get("chains", 1))
    first = fit.param_names[0]
    posterior = {first: fit.param_draws[first][:, 0].reshape(chains, -1)}
    # PSIS-LOO of each distinct row (the same for every customer of that row), then ArviZ's totals over customers:
    # elpd the sum of the pointwise values, its SE sqrt(n var) and p_loo = lppd - elpd
    by_row = ll.reshape(chains, ll.shape[0] // chains, ll.shape[1])
    result = az.loo(az.from_dict(posterior=posterior, log_likelihood={"x": by_row}), pointwise=True)
    loo_i = np.asarray(result.loo_i)[inverse]
    lppd = (special.logsumexp(ll, axis=0) - np.log(ll.shape[0]))[inverse]
    k = np.asarray(result.pareto_k)[inverse]
    bad = int((k > PARETO_K_BAD).sum())
    return {
        "elpd_loo": float(loo_i.sum()),
        "elpd_loo_se": float(np.sqrt(loo_i.size * np.var(loo_i))),
        "p_loo": float(lppd.sum() - loo_i.sum()),
        "pareto_k_bad": bad,
        "loo_warning": (
            f"{bad} customer(s) with Pareto k > {PARETO_K_BAD}: LOO is unreliable for them" if bad else None
        ),
        "_pointwise": loo_i,
    }


def _gate(fit: Any) -> str:
    """The reports' status words: a MAP fit has no sampler diagnostics to pass or fail."""
    if fit.method != "nuts":
        return "not applicable"
    return "passed" if fit.diagnostics.ok else "failed"


def _sampling(fit: Any) -> dict[str, float | int | None]:
    """How a fit was sampled (NUTS chains, draws and tuning steps per chain) and its smallest bulk / tail ESS;
    all None for a MAP fit."""
    if fit.method != "nuts":
        return {"chains": None, "draws": None, "tune": None, "min_ess_bulk": None, "min_ess_tail": None}
    d = fit.diagnostics
    return {
        "chains": int(fit.config["chains"]),
        "draws": int(fit.config["draws"]),
        "tune": int(fit.config["tune"]),
        "min_ess_bulk": float(d.min_ess_bulk),
        "min_ess_tail": float(d.min_ess_tail),
    }


@dataclass(frozen=True, slots=True)
class ModelComparison:
    """``table``: one row per model (``model, label, log_likelihood, holdout_log_density, holdout_mae,
    holdout_predicted, holdout_actual, elpd_loo, elpd_loo_se, elpd_diff, elpd_diff_se, p_loo, pareto_k_bad,
    loo_warning, chains, draws, tune, min_ess_bulk, min_ess_tail, diagnostics``; the sampling columns are
    per chain and None for MAP fits), best holdout log density first. ``fits`` are the compared fits by name."""

    table: pd.DataFrame
    fits: dict[str, Any]
    n_customers: int

    def to_dict(self) -> dict[str, Any]:
        rows = self.table.replace({np.nan: None}).to_dict(orient="records")
        return {"customers": self.n_customers, "models": rows}


def compare_fits(
    fits: Mapping[str, Any], summary: pd.DataFrame, *, max_draws: int | None = 500, seed: int = 0
) -> ModelComparison:
    """Compare already fitted purchase models (name -> fit) on ``summary`` (with holdout columns)."""
    if len(fits) < 2:
        raise LtvlabError("model comparison needs at least two fits")
    rows, pointwise = [], {}
    for name, fit in fits.items():
        holdout = holdout_validation(fit, summary, max_draws=max_draws, seed=seed)
        loo = _loo(fit, summary)
        if "_pointwise" in loo:
            pointwise[name] = loo.pop("_pointwise")
        rows.append(
            {
                "model": name,
                "label": get_model(fit.model_name).label,
                "log_likelihood": fit.log_likelihood,
                "holdout_log_density": holdout.log_predictive_density,
                "holdout_mae": holdout.mae,
                "holdout_predicted": holdout.predicted_total,
                "holdout_actual": holdout.actual_total,
                **loo,
                **_sampling(fit),
                "diagnostics": _gate(fit),
            }
        )
    table = pd.DataFrame(rows)
    table["elpd_diff"] = np.nan
    table["elpd_diff_se"] = np.nan
    if len(pointwise) == len(fits):
        best = max(pointwise, key=lambda n: pointwise[n].sum())
        for i, name in enumerate(table["model"]):
            diff = pointwise[name] - pointwise[best]
            table.loc[i, "elpd_diff"] = float(diff.sum())
            table.loc[i, "elpd_diff_se"] = float(np.sqrt(diff.size * diff.var()))
    table = table.sort_values("holdout_log_density", ascending=False, ignore_index=True)
    return ModelComparison(table, dict(fits), len(summary))


def compare_models(
    summary: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    method: str = "nuts",
    draws: int = 1000,
    chains: int = 2,
    seed: int = 2024,
    priors: str = "default",
    **spec_options: Any,
) -> ModelComparison:
    """Fit every model in ``models`` (default: every registered continuous-time purchase model) with the same
    options on ``summary`` and compare them (module docstring)."""
    models = registered_models("purchase") if models is None else tuple(models)
    fits = {
        name: model_spec(name, priors=priors, **spec_options).fit(
            summary, method=method, draws=draws, chains=chains, seed=seed
        )
        for name in models
    }
    return compare_fits(fits, summary, seed=seed)


def model_tracking(
    comparison: ModelComparison, summary: pd.DataFrame, transactions: pd.DataFrame, *, max_draws: int = 200
) -> pd.DataFrame:
    """Weekly cumulative repeat purchases, actual and expected under every compared model: ``week,
    week_start, period, actual_cumulative`` then one ``expected_<model>`` column per model."""
    out = None
    for name, fit in comparison.fits.items():
        tracking = cumulative_tracking(fit, summary, transactions, max_draws=max_draws)
        if out is None:
            out = tracking[["week", "week_start", "period", "actual_cumulative"]].copy()
        out[f"expected_{name}"] = tracking["expected_cumulative"].to_numpy()
    if out is None or col.X not in summary:
        raise LtvlabError("nothing to track")
    return out
