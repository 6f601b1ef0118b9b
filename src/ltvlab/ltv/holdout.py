"""Holdout validation of a fitted purchase model: predicted vs actual, next to a naive baseline.

* per customer: expected holdout purchases (posterior mean over draws) vs the actual ``x_holdout``, and spend
  when a Gamma-Gamma fit is given; MAE and RMSE;
* log predictive density of the holdout counts, from the model's conditional distribution of the number of
  holdout purchases (each model's ``holdout_pmf``: closed form for BG/NBD and MBG/NBD, one-dimensional
  quadrature for Pareto/NBD), averaged over draws;
* conditional expectations: mean actual vs predicted holdout purchases by calibration frequency ``x = 0..7+``;
* weekly cumulative tracking of the cohort's repeat purchases over calibration and holdout.

Naive baseline: each customer keeps buying at the calibration rate, ``x / T x holdout length`` (0 when x = 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.covariates import as_columns, covariate_matrix
from ltvlab.ltv.discounting import UNIT_DAYS
from ltvlab.ltv.engine import PairedDraws, UniqueRows, pair_draws, resolve_unit, unique_rows, validate_summary
from ltvlab.ltv.registry import get_model

# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class HoldoutResult:
    """Predicted vs actual holdout purchases (and spend), with the naive baseline beside each figure.

    ``per_customer`` has ``customer_id, x, x_holdout, predicted, naive, log_density`` (and ``spend_holdout,
    predicted_spend, naive_spend`` with a spend fit). ``log_predictive_density`` is the sum over customers of
    ``log mean_draws P(x_holdout | data, draw)``.
    """

    model: str
    n_customers: int
    n_draws: int
    holdout_length: float
    unit: str
    actual_total: float
    predicted_total: float
    naive_total: float
    mae: float
    rmse: float
    naive_mae: float
    naive_rmse: float
    log_predictive_density: float
    actual_spend_total: float | None
    predicted_spend_total: float | None
    spend_mae: float | None
    naive_spend_mae: float | None
    per_customer: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row per (metric, method): model vs naive baseline."""
        rows = [
            ("holdout purchases (total)", self.predicted_total, self.naive_total, self.actual_total),
            ("per-customer MAE (purchases)", self.mae, self.naive_mae, None),
            ("per-customer RMSE (purchases)", self.rmse, self.naive_rmse, None),
            ("log predictive density", self.log_predictive_density, None, None),
        ]
        if self.predicted_spend_total is not None:
            rows += [
                ("holdout spend (total)", self.predicted_spend_total, None, self.actual_spend_total),
                ("per-customer MAE (spend)", self.spend_mae, self.naive_spend_mae, None),
            ]
        return pd.DataFrame(rows, columns=["metric", "model", "naive_baseline", "actual"])

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if k != "per_customer"}


def _holdout_columns(summary: pd.DataFrame) -> None:
    missing = [c for c in (col.X_HOLDOUT, col.DURATION_HOLDOUT) if c not in summary.columns]
    if missing:
        raise LtvlabError(
            f"the summary has no holdout column(s) {missing}; build it with customer_summary(..., holdout_end=...)"
        )


def holdout_validation(
    purchase_fit: Any,
    summary: pd.DataFrame,
    *,
    spend_fit: Any | None = None,
    max_draws: int | None = 500,
    seed: int = 0,
    chunk_rows: int = 2048,
    unit: str | None = None,
) -> HoldoutResult:
    """Compare the fit's holdout predictions with what customers actually did (see the module docstring).

    ``unit`` is the summary's time unit (default ``summary.attrs["unit"]``); it must be the fit's.
    """
    validate_summary(summary, need_monetary=spend_fit is not None)
    _holdout_columns(summary)
    resolved = resolve_unit(purchase_fit, summary, unit)
    draws = pair_draws(purchase_fit, spend_fit, max_draws=max_draws, seed=seed)
    n = len(summary)
    rows = unique_rows(summary, purchase_fit, spend_fit, extra=(col.DURATION_HOLDOUT, col.X_HOLDOUT))
    predicted, log_density, spend = (np.empty(len(rows)) for _ in range(3))
    for start in range(0, len(rows), chunk_rows):
        sl = slice(start, min(start + chunk_rows, len(rows)))
        predicted[sl], log_density[sl], spend[sl] = _chunk(draws, rows, sl)
    inverse = rows.inverse
    x = summary[col.X].to_numpy(float)
    t_cal = summary[col.T].to_numpy(float)
    length = summary[col.DURATION_HOLDOUT].to_numpy(float)
    monetary = summary[col.MONETARY].to_numpy(float) if spend_fit is not None else np.zeros(n)
    naive = np.where(t_cal > 0, x / np.where(t_cal > 0, t_cal, 1.0), 0.0) * length
    actual = summary[col.X_HOLDOUT].to_numpy(float)
    per = pd.DataFrame(
        {
            col.CUSTOMER_ID: summary[col.CUSTOMER_ID].to_numpy(),
            col.X: summary[col.X].to_numpy(),
            col.X_HOLDOUT: actual,
            "predicted": predicted[inverse],
            "naive": naive,
            "log_density": log_density[inverse],
        }
    )
    spend_fields: dict[str, float | None] = dict.fromkeys(
        ("actual_spend_total", "predicted_spend_total", "spend_mae", "naive_spend_mae")
    )
    if spend_fit is not None and col.SPEND_HOLDOUT in summary.columns:
        per[col.SPEND_HOLDOUT] = summary[col.SPEND_HOLDOUT].to_numpy(float)
        per["predicted_spend"] = spend[inverse]
        per["naive_spend"] = naive * monetary
        spend_fields = {
            "actual_spend_total": float(per[col.SPEND_HOLDOUT].sum()),
            "predicted_spend_total": float(per["predicted_spend"].sum()),
            "spend_mae": float(np.mean(np.abs(per["predicted_spend"] - per[col.SPEND_HOLDOUT]))),
            "naive_spend_mae": float(np.mean(np.abs(per["naive_spend"] - per[col.SPEND_HOLDOUT]))),
        }
    lengths = np.unique(length)
    return HoldoutResult(
        model=draws.purchase_model,
        n_customers=n,
        n_draws=draws.n_draws,
        holdout_length=float(lengths[0]) if len(lengths) == 1 else float("nan"),
        unit=resolved or "",
        actual_total=float(actual.sum()),
        predicted_total=float(per["predicted"].sum()),
        naive_total=float(naive.sum()),
        mae=float(np.mean(np.abs(per["predicted"] - actual))),
        rmse=float(np.sqrt(np.mean((per["predicted"] - actual) ** 2))),
        naive_mae=float(np.mean(np.abs(naive - actual))),
        naive_rmse=float(np.sqrt(np.mean((naive - actual) ** 2))),
        log_predictive_density=float(per["log_density"].sum()),
        per_customer=per,
        **spend_fields,
    )


def _chunk(draws: PairedDraws, rows: UniqueRows, sl: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = draws.model
    x, t_x, t_cal = rows.x[sl], rows.t_x[sl], rows.T[sl]
    length, k = rows.extra[col.DURATION_HOLDOUT][sl], rows.extra[col.X_HOLDOUT][sl]
    params = draws.purchase_params(rows.purchase_segment[sl], rows.z[sl])
    p_alive = model.p_alive(x, t_x, t_cal, *params)
    expected = model.expected_purchases(length, x, t_x, t_cal, *params)
    pmf = model.holdout_pmf(k, length, x, t_x, t_cal, *params, p_alive)
    if draws.spend is not None and draws.spend_model is not None:
        spend_params = draws.spend_params(rows.spend_segment[sl])
        value = get_model(draws.spend_model).expected_spend(x, rows.monetary[sl], *spend_params)
        spend = (expected * value).mean(axis=0)
    else:
        spend = np.full(len(x), np.nan)
    with np.errstate(divide="ignore"):
        log_density = np.log(np.mean(pmf, axis=0))
    return np.mean(expected, axis=0), log_density, spend


def conditional_expectations(result: HoldoutResult, *, max_x: int = 7) -> pd.DataFrame:
    """Mean actual, model and naive holdout purchases by calibration frequency ``0, 1, ..., max_x+``."""
    per = result.per_customer
    bins = np.minimum(per[col.X].to_numpy(), max_x)
    labels = [str(i) for i in range(max_x)] + [f"{max_x}+"]
    frame = per.assign(x_bin=pd.Categorical.from_codes(bins, categories=labels, ordered=True))
    out = frame.groupby("x_bin", observed=False).agg(
        customers=(col.X_HOLDOUT, "size"),
        actual=(col.X_HOLDOUT, "mean"),
        predicted=("predicted", "mean"),
        naive=("naive", "mean"),
    )
    return out.reset_index()


# --------------------------------------------------------------------------------------------- tracking


def _unconditional_expected(model: str, t: np.ndarray, params: list[np.ndarray]) -> np.ndarray:
    """E[X(t)] for a customer acquired ``t`` time units ago (0 for t <= 0)."""
    fn = get_model(model, "purchase").expected_purchases_new
    return np.where(t > 0, fn(np.maximum(t, 0.0), *params), 0.0)


def cumulative_tracking(
    purchase_fit: Any,
    summary: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    max_draws: int | None = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the cohort, actual vs expected, over calibration and holdout.

    Week ``w`` covers the days ``[start + 7(w-1), start + 7w)`` from the first purchase day of the cohort.
    Expected = sum over customers and mean over draws of ``E[X(t)]``, ``t`` = time since the customer's first
    purchase. Actual = repeat transactions (same-day purchases merged when the summary merged them) of the
    summary's customers. Returns ``week, week_start, actual_weekly, actual_cumulative, expected_weekly,
    expected_cumulative, period`` (``calibration``/``holdout``).
    """
    validate_summary(summary, need_monetary=False)
    if not summary.attrs.get("calibration_end") or summary.attrs.get("unit") not in UNIT_DAYS:
        raise LtvlabError(
            "tracking needs summary.attrs['calibration_end'] and ['unit']; build it with customer_summary"
        )
    unit = str(resolve_unit(purchase_fit, summary))
    cal_end = pd.Timestamp(summary.attrs["calibration_end"])
    end = pd.Timestamp(summary.attrs.get("holdout_end") or cal_end)
    for name in (col.CUSTOMER_ID, col.DATE):
        if name not in transactions.columns:
            raise LtvlabError(f"tracking needs the transactions' {name!r} column")
    draws = pair_draws(purchase_fit, None, max_draws=max_draws, seed=seed)
    first = pd.to_datetime(summary[col.FIRST_PURCHASE]).dt.normalize()
    start = first.min()
    n_weeks = int(np.ceil(((end - start).days + 1) / 7.0))
    week_ends = start + pd.to_timedelta(7 * np.arange(1, n_weeks + 1), unit="D")

    tx = transactions[[col.CUSTOMER_ID, col.DATE]].copy()
    tx[col.CUSTOMER_ID] = tx[col.CUSTOMER_ID].astype(str)
    tx["day"] = pd.to_datetime(tx[col.DATE]).dt.normalize()
    firsts = pd.DataFrame(
        {col.CUSTOMER_ID: summary[col.CUSTOMER_ID].astype(str).to_numpy(), "first": first.to_numpy()}
    )
    tx = tx.merge(firsts, on=col.CUSTOMER_ID, how="inner")
    if summary.attrs.get("merge_same_day", True):
        tx = tx.drop_duplicates([col.CUSTOMER_ID, "day"])
    repeat_days = tx.loc[(tx["day"] > tx["first"]) & (tx["day"] <= end), "day"].to_numpy()
    actual_cum = np.searchsorted(np.sort(repeat_days), week_ends.to_numpy(), side="left").astype(float)

    seg = np.asarray(purchase_fit.segment_index(summary), dtype=np.int64).reshape(len(summary))
    z = as_columns(covariate_matrix(draws.covariates, summary))
    z_names = list(z)
    frame = pd.DataFrame({"seg": seg, "first": first.to_numpy(), **z})
    groups = frame.value_counts().reset_index(name="n")
    expected_cum = np.zeros(n_weeks)
    for g_seg, g_first, g_z, g_n in zip(
        groups["seg"], groups["first"], groups[z_names].to_numpy(float), groups["n"], strict=True
    ):
        params = draws.purchase_params(np.array([g_seg]), g_z[None, :])
        t = (week_ends - g_first).days.to_numpy(float) / UNIT_DAYS[unit]
        expected_cum += g_n * _unconditional_expected(draws.purchase_model, t, params).mean(axis=0)
    return pd.DataFrame(
        {
            "week": np.arange(1, n_weeks + 1),
            "week_start": week_ends - pd.Timedelta(days=7),
            "actual_weekly": np.diff(actual_cum, prepend=0.0),
            "actual_cumulative": actual_cum,
            "expected_weekly": np.diff(expected_cum, prepend=0.0),
            "expected_cumulative": expected_cum,
            "period": np.where(week_ends - pd.Timedelta(days=1) <= cal_end, "calibration", "holdout"),
        }
    )
