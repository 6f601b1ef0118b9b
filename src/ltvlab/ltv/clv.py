"""Discounted customer lifetime value from posterior draws, with its uncertainty kept whole.

CLV of a customer over ``K`` future periods of length ``P`` (in the summary's time unit)::

    CLV = sum_{k=1..K} (E[N(k P)] - E[N((k-1) P)]) * E[spend] / (1 + d_P)^k

where ``E[N(t)]`` is the purchase model's conditional expected number of purchases in ``(T, T + t]`` given the
customer's ``(x, t_x, T)``, ``E[spend]`` the spend model's conditional expected transaction value given
``(x, monetary)`` and ``d_P = (1 + annual_discount_rate)^(P days / 365.25) - 1`` the discount rate of one period.

Every quantity is computed per posterior draw: draw ``j`` of the purchase model is paired with draw ``j`` of the
spend model (the two models are fitted independently, so the pair is a draw of their joint posterior), and the
per-customer mean and quantiles are taken over the resulting CLV draws. Spend is never averaged over draws first.

Work is done on the distinct ``(segment, x, t_x, T, monetary)`` rows, ``chunk_rows`` at a time, so memory is
``O(draws x chunk_rows)`` whatever the number of customers; results are joined back to customers at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.covariates import Covariates, covariate_matrix, row_params

UNIT_DAYS: dict[str, int] = {"D": 1, "W": 7}
DAYS_PER_YEAR = 365.25
QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)
PURCHASE_PARAMS: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "paretonbd": ("r", "alpha", "s", "beta"),
}
SPEND_PARAMS: tuple[str, ...] = ("p", "q", "gamma")
QUANTITIES: tuple[str, ...] = ("p_alive", "expected_purchases", "clv")


# --------------------------------------------------------------------------------------------- discounting


def period_discount_rate(annual_discount_rate: float, period_days: float) -> float:
    """Discount rate of one period of ``period_days`` days, compounding ``annual_discount_rate`` yearly."""
    if not np.isfinite(annual_discount_rate) or annual_discount_rate <= -1:
        raise LtvlabError(
            f"annual_discount_rate={annual_discount_rate!r} must be a finite number > -1 (0.10 = 10%)"
        )
    if period_days <= 0:
        raise LtvlabError(f"the period length must be positive, got {period_days} days")
    return float((1.0 + annual_discount_rate) ** (period_days / DAYS_PER_YEAR) - 1.0)


@dataclass(frozen=True, slots=True)
class ClvHorizon:
    """Horizon, period and discounting of a CLV computation, in the summary's time unit.

    Built by :func:`clv_horizon` from week-denominated inputs; ``period_length`` and ``horizon`` are in ``unit``.
    """

    unit: str
    horizon_weeks: float
    period_weeks: float
    annual_discount_rate: float
    n_periods: int
    period_length: float
    period_rate: float

    @property
    def horizon(self) -> float:
        return self.n_periods * self.period_length


def clv_horizon(
    *, unit: str, horizon_weeks: float = 52.0, period_weeks: float = 4.0, annual_discount_rate: float = 0.10
) -> ClvHorizon:
    """Validate a horizon/period/discount choice and express it in the summary's unit (``"W"`` or ``"D"``)."""
    if unit not in UNIT_DAYS:
        raise LtvlabError(
            f"summary unit {unit!r} is not supported; summaries are in 'W' (weeks) or 'D' (days)"
        )
    if not (horizon_weeks > 0 and period_weeks > 0):
        raise LtvlabError(
            f"horizon_weeks={horizon_weeks} and period_weeks={period_weeks} must both be positive"
        )
    ratio = horizon_weeks / period_weeks
    n_periods = round(ratio)
    if n_periods < 1 or abs(ratio - n_periods) > 1e-9:
        raise LtvlabError(
            f"horizon_weeks={horizon_weeks} is not a whole number of periods of period_weeks={period_weeks}; "
            "choose a period that divides the horizon"
        )
    period_days = 7.0 * period_weeks
    return ClvHorizon(
        unit=unit,
        horizon_weeks=float(horizon_weeks),
        period_weeks=float(period_weeks),
        annual_discount_rate=float(annual_discount_rate),
        n_periods=n_periods,
        period_length=period_days / UNIT_DAYS[unit],
        period_rate=period_discount_rate(annual_discount_rate, period_days),
    )


def discounted_purchases(
    cumulative_purchases: Callable[[float], np.ndarray],
    *,
    period_length: float,
    n_periods: int,
    period_rate: float,
) -> np.ndarray:
    """``sum_k (E[N(kP)] - E[N((k-1)P)]) / (1 + d)^k`` for any cumulative expected-purchases function.

    ``cumulative_purchases(t)`` returns ``E[N(t)]`` (an array, e.g. draws x customers) with ``E[N(0)] = 0``.
    Multiply by the expected spend to get the discounted CLV.
    """
    total: np.ndarray | float = 0.0
    previous: np.ndarray | float = 0.0
    for k in range(1, n_periods + 1):
        current = cumulative_purchases(k * period_length)
        total = total + (current - previous) / (1.0 + period_rate) ** k
        previous = current
    return np.asarray(total, dtype=float)


def summarise_draws(values: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Mean and the 5/50/95% quantiles over axis 0 (draws) of a draws x rows array, as named columns."""
    out = {f"{prefix}_mean": values.mean(axis=0)}
    for q, level in zip(np.quantile(values, QUANTILES, axis=0), QUANTILES, strict=True):
        out[f"{prefix}_q{round(level * 100):02d}"] = q
    return out


# ------------------------------------------------------------------------------------------------- draws


@dataclass(frozen=True, slots=True)
class PairedDraws:
    """Posterior draws of a purchase model and (optionally) a spend model, paired draw by draw.

    ``purchase[name]`` and ``spend[name]`` are ``(n_draws, n_segments)`` arrays with the same ``n_draws``.
    """

    purchase_model: str
    purchase: dict[str, np.ndarray]
    spend: dict[str, np.ndarray] | None
    n_draws: int
    covariates: Covariates | None = None  # of the purchase fit; coefficient draws are in ``purchase``

    def purchase_params(self, seg: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
        """Purchase-model parameters ``(n_draws, n_rows)`` for rows of segments ``seg``, covariates ``z``."""
        names = PURCHASE_PARAMS[self.purchase_model]
        return row_params(self.purchase_model, names, self.purchase, seg, z, self.covariates)


def _fit_draws(fit: Any, max_draws: int | None, seed: int) -> dict[str, np.ndarray]:
    draws = fit.draws(max_draws=max_draws, seed=seed)
    return {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in draws.items()}


def pair_draws(
    purchase_fit: Any, spend_fit: Any | None, *, max_draws: int | None = None, seed: int = 0
) -> PairedDraws:
    """Take draws from both fits and pair them; a point fit (MAP, one draw) is repeated to match the other."""
    model = getattr(purchase_fit, "model_name", None)
    if model not in PURCHASE_PARAMS:
        raise LtvlabError(
            f"purchase model {model!r} is not supported for CLV; use a 'bgnbd' or 'paretonbd' fit"
        )
    purchase = _fit_draws(purchase_fit, max_draws, seed)
    spend = None
    if spend_fit is not None:
        if getattr(spend_fit, "model_name", None) != "gamma_gamma":
            raise LtvlabError(
                f"spend model {getattr(spend_fit, 'model_name', None)!r} is not a gamma_gamma fit"
            )
        spend = _fit_draws(spend_fit, max_draws, seed + 1)
    n_p = next(iter(purchase.values())).shape[0]
    n_s = next(iter(spend.values())).shape[0] if spend is not None else n_p
    n = max(n_p, n_s)
    if n_p not in (1, n) or n_s not in (1, n):
        n = min(n_p, n_s)  # two posteriors of different lengths: keep the first n of each
    purchase = {k: np.repeat(v, n, axis=0) if v.shape[0] == 1 else v[:n] for k, v in purchase.items()}
    if spend is not None:
        spend = {k: np.repeat(v, n, axis=0) if v.shape[0] == 1 else v[:n] for k, v in spend.items()}
    missing = [p for p in PURCHASE_PARAMS[model] if p not in purchase]
    if spend is not None:
        missing += [p for p in SPEND_PARAMS if p not in spend]
    if missing:
        raise LtvlabError(f"the fitted draws lack parameter(s) {missing}")
    return PairedDraws(
        purchase_model=model,
        purchase=purchase,
        spend=spend,
        n_draws=n,
        covariates=getattr(purchase_fit, "covariates", None),
    )


def scoring_plan(
    purchase_fit: Any,
    spend_fit: Any | None,
    *,
    unit: str,
    horizon_weeks: float,
    period_weeks: float,
    annual_discount_rate: float,
    max_draws: int | None,
    seed: int,
) -> tuple[ClvHorizon, PairedDraws, tuple[str, ...]]:
    """Horizon, paired draws and scored quantities shared by every scorer (in memory, Parquet, Spark)."""
    horizon = clv_horizon(
        unit=str(unit),
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
    )
    draws = pair_draws(purchase_fit, spend_fit, max_draws=max_draws, seed=seed)
    quantities = QUANTITIES if spend_fit is not None else ("p_alive", "expected_purchases")
    return horizon, draws, quantities


# ------------------------------------------------------------------------------------------- unique rows


def validate_summary(summary: pd.DataFrame, *, need_monetary: bool = True) -> None:
    """Raise :class:`LtvlabError` for a summary that cannot be scored (missing columns, NaN, t_x > T, T < 0)."""
    needed = [col.CUSTOMER_ID, col.X, col.T_X, col.T] + ([col.MONETARY] if need_monetary else [])
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise LtvlabError(
            f"the customer summary lacks column(s) {missing}; build it with ltvlab.features.customer_summary"
        )
    if len(summary) == 0:
        raise LtvlabError("the customer summary is empty: no customer to score")
    values = summary[needed[1:]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        bad = summary.index[~np.isfinite(values).all(axis=1)][0]
        raise LtvlabError(f"the customer summary has a missing or infinite value in row {bad}")
    x, t_x, t_cal = values[:, 0], values[:, 1], values[:, 2]
    checks = [
        (x < 0, "x < 0 (negative repeat purchases)"),
        (t_cal < 0, "T < 0 (first purchase after the end of calibration)"),
        (t_x > t_cal + 1e-9, "t_x > T (last purchase after the end of calibration)"),
        (t_x < 0, "t_x < 0"),
    ]
    for mask, what in checks:
        if mask.any():
            row = summary.index[np.flatnonzero(mask)[0]]
            raise LtvlabError(
                f"the customer summary has {int(mask.sum())} row(s) with {what}, first at row {row}"
            )
    if need_monetary and (summary.loc[summary[col.X] > 0, col.MONETARY] <= 0).any():
        raise LtvlabError("repeat buyers need a positive monetary value (mean repeat-transaction value)")


@dataclass(frozen=True, slots=True)
class UniqueRows:
    """Distinct ``(purchase segment, spend segment, x, t_x, T, monetary)`` rows and how customers map onto them."""

    purchase_segment: np.ndarray
    spend_segment: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    monetary: np.ndarray
    inverse: np.ndarray  # customer i -> unique row inverse[i]
    z: np.ndarray  # (n_rows, k) standardised covariates of the purchase fit; k = 0 without covariates

    def __len__(self) -> int:
        return len(self.x)


def unique_rows(summary: pd.DataFrame, purchase_fit: Any, spend_fit: Any | None) -> UniqueRows:
    """Collapse customers with identical summaries (and segments) into one row each."""
    n = len(summary)
    p_seg = np.asarray(purchase_fit.segment_index(summary), dtype=float).reshape(n)
    s_seg = (
        np.asarray(spend_fit.segment_index(summary), dtype=float).reshape(n)
        if spend_fit is not None
        else np.zeros(n)
    )
    monetary = summary[col.MONETARY].to_numpy(dtype=float) if col.MONETARY in summary else np.zeros(n)
    z = covariate_matrix(getattr(purchase_fit, "covariates", None), summary)
    keys = np.column_stack(
        [
            p_seg,
            s_seg,
            summary[col.X].to_numpy(float),
            summary[col.T_X].to_numpy(float),
            summary[col.T].to_numpy(float),
            monetary,
            z,
        ]
    )
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return UniqueRows(
        purchase_segment=uniq[:, 0].astype(np.int64),
        spend_segment=uniq[:, 1].astype(np.int64),
        x=uniq[:, 2],
        t_x=uniq[:, 3],
        T=uniq[:, 4],
        monetary=uniq[:, 5],
        inverse=np.asarray(inverse).reshape(n),
        z=uniq[:, 6:],
    )


# ---------------------------------------------------------------------------------------- per-draw engine


def _purchase_functions(model: str) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
    from ltvlab.ltv import formulas

    if model == "bgnbd":
        return formulas.bgnbd_p_alive, formulas.bgnbd_expected_purchases
    return formulas.pnbd_p_alive, formulas.pnbd_expected_purchases


def expected_spend_draws(draws: PairedDraws, rows: UniqueRows, sl: slice) -> np.ndarray:
    """Conditional expected transaction value per draw for unique rows ``sl``: a draws x rows array."""
    from ltvlab.ltv import formulas

    if draws.spend is None:
        raise LtvlabError("CLV needs a fitted spend model (Gamma-Gamma); pass spend_fit=")
    seg = rows.spend_segment[sl]
    p, q, gamma = (draws.spend[name][:, seg] for name in SPEND_PARAMS)
    return np.asarray(formulas.gg_expected_spend(rows.x[sl], rows.monetary[sl], p, q, gamma), dtype=float)


def row_draws(
    draws: PairedDraws,
    rows: UniqueRows,
    sl: slice,
    *,
    horizon: ClvHorizon,
    quantities: tuple[str, ...] = QUANTITIES,
) -> dict[str, np.ndarray]:
    """Per-draw ``p_alive``, ``expected_purchases`` over the horizon and ``clv`` for unique rows ``sl``."""
    p_alive_fn, expected_fn = _purchase_functions(draws.purchase_model)
    params = draws.purchase_params(rows.purchase_segment[sl], rows.z[sl])
    x, t_x, t_cal = rows.x[sl], rows.t_x[sl], rows.T[sl]
    out: dict[str, np.ndarray] = {}
    if "p_alive" in quantities:
        out["p_alive"] = np.asarray(p_alive_fn(x, t_x, t_cal, *params), dtype=float)
    if "expected_purchases" in quantities:
        out["expected_purchases"] = np.asarray(
            expected_fn(horizon.horizon, x, t_x, t_cal, *params), dtype=float
        )
    if "clv" in quantities:
        discounted = discounted_purchases(
            lambda t: expected_fn(t, x, t_x, t_cal, *params),
            period_length=horizon.period_length,
            n_periods=horizon.n_periods,
            period_rate=horizon.period_rate,
        )
        out["clv"] = discounted * expected_spend_draws(draws, rows, sl)
    for name, values in out.items():
        if not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])
            raise LtvlabError(
                f"{name} is not finite for the summary x={x[bad]:g}, t_x={t_x[bad]:g}, T={t_cal[bad]:g} "
                "(check the fitted parameters and the summary)"
            )
    return out


def iter_row_summaries(
    draws: PairedDraws,
    rows: UniqueRows,
    *,
    horizon: ClvHorizon,
    quantities: tuple[str, ...] = QUANTITIES,
    chunk_rows: int = 2048,
) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
    """Yield ``(slice of unique rows, {column: values})`` with mean/q05/q50/q95 of each quantity, chunk by chunk."""
    if chunk_rows < 1:
        raise LtvlabError(f"chunk_rows={chunk_rows} must be at least 1")
    for start in range(0, len(rows), chunk_rows):
        sl = slice(start, min(start + chunk_rows, len(rows)))
        per_draw = row_draws(draws, rows, sl, horizon=horizon, quantities=quantities)
        summary: dict[str, np.ndarray] = {}
        for name, values in per_draw.items():
            summary.update(summarise_draws(values, name))
        yield sl, summary


def unique_row_table(
    draws: PairedDraws,
    rows: UniqueRows,
    *,
    horizon: ClvHorizon,
    quantities: tuple[str, ...] = QUANTITIES,
    chunk_rows: int = 2048,
) -> pd.DataFrame:
    """Summaries of every unique row (one row per distinct summary), computed chunk by chunk."""
    parts: dict[str, np.ndarray] = {}
    for sl, values in iter_row_summaries(
        draws, rows, horizon=horizon, quantities=quantities, chunk_rows=chunk_rows
    ):
        for name, v in values.items():
            parts.setdefault(name, np.empty(len(rows)))[sl] = v
    return pd.DataFrame(parts)


# ------------------------------------------------------------------------------------------------ public


def customer_lifetime_value(
    purchase_fit: Any,
    spend_fit: Any,
    summary: pd.DataFrame,
    *,
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
    max_draws: int | None = 1000,
    seed: int = 0,
    chunk_rows: int = 2048,
) -> pd.DataFrame:
    """Discounted CLV per customer from the joint posterior of a purchase fit and a Gamma-Gamma spend fit.

    Parameters
    ----------
    purchase_fit, spend_fit
        Fitted BG/NBD or Pareto/NBD model, and fitted Gamma-Gamma model (``fit.draws``, ``fit.segment_index``).
    summary
        Customer summary (``customer_id, x, t_x, T, monetary``); its time unit is read from ``summary.attrs["unit"]``.
    horizon_weeks, period_weeks
        Horizon and discounting period, in weeks whatever the summary's unit; the period must divide the horizon.
    annual_discount_rate
        Yearly discount rate (0.10 = 10%), compounded per period.
    max_draws, seed
        Number of posterior draws used (thinned at random with ``seed``; ``None`` = all).
    chunk_rows
        Distinct summaries processed at once; memory is ``O(draws x chunk_rows)``.

    Returns
    -------
    DataFrame with ``customer_id, clv_mean, clv_q05, clv_q50, clv_q95`` in the summary's row order, in the
    currency of ``monetary``. ``attrs`` record unit, horizon, period, discount rates, draws and seed.
    """
    validate_summary(summary)
    horizon, draws, _ = scoring_plan(
        purchase_fit,
        spend_fit,
        unit=_summary_unit(summary),
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=seed,
    )
    rows = unique_rows(summary, purchase_fit, spend_fit)
    table = unique_row_table(draws, rows, horizon=horizon, quantities=("clv",), chunk_rows=chunk_rows)
    result = table.iloc[rows.inverse].reset_index(drop=True)
    result.insert(0, col.CUSTOMER_ID, summary[col.CUSTOMER_ID].to_numpy())
    result.attrs.update(clv_attrs(horizon, draws, seed=seed, n_unique=len(rows)))
    return result


def clv_attrs(horizon: ClvHorizon, draws: PairedDraws, *, seed: int, n_unique: int) -> dict[str, Any]:
    """How a CLV table was made: recorded in its ``attrs`` and in reports."""
    return {
        "unit": horizon.unit,
        "horizon_weeks": horizon.horizon_weeks,
        "period_weeks": horizon.period_weeks,
        "n_periods": horizon.n_periods,
        "annual_discount_rate": horizon.annual_discount_rate,
        "period_discount_rate": horizon.period_rate,
        "purchase_model": draws.purchase_model,
        "n_draws": draws.n_draws,
        "seed": seed,
        "n_unique_summaries": n_unique,
    }


def _summary_unit(summary: pd.DataFrame) -> str:
    unit = summary.attrs.get("unit")
    if unit is None:
        raise LtvlabError(
            "the summary does not record its time unit (summary.attrs['unit'] is missing); "
            "build it with ltvlab.features.customer_summary or set attrs['unit'] to 'W' or 'D'"
        )
    return str(unit)


# ----------------------------------------------------------------------------------------------- baseline


@dataclass(frozen=True, slots=True)
class NaiveClvBaseline:
    """BASELINE ONLY: the textbook "average revenue x expected lifespan x retention" figure.

    Not a model of any customer: one number for everyone, no discounting beyond the retention factor, no
    uncertainty. Shown next to the model's CLV so readers can see how different the two are.
    """

    label: str
    average_revenue_per_period: float
    retention_per_period: float
    expected_lifespan_periods: float
    value_per_customer: float
    period_weeks: float
    horizon_weeks: float


def naive_clv_baseline(
    summary: pd.DataFrame, *, period_weeks: float = 4.0, horizon_weeks: float = 52.0
) -> NaiveClvBaseline:
    """The naive baseline, from the calibration summary.

    average revenue per period = repeat revenue in calibration (``x * monetary`` summed; first purchases are
    acquisition, not lifetime value) / customer-periods observed; retention per period = share of customers who bought again in calibration, spread over the
    mean observed length in periods (``retention = repeaters_share ** (1 / mean periods)``); expected lifespan =
    ``1 / (1 - retention)`` periods, capped at the horizon. Value = revenue x lifespan x retention.
    """
    validate_summary(summary)
    unit_days = UNIT_DAYS[_summary_unit(summary)]
    period = 7.0 * period_weeks / unit_days
    t_cal = summary[col.T].to_numpy(float)
    x = summary[col.X].to_numpy(float)
    revenue = float(np.sum(x * summary[col.MONETARY].to_numpy(float)))
    periods_observed = float(np.sum(np.maximum(t_cal, period) / period))
    avg_revenue = revenue / periods_observed
    repeat_share = float(np.mean(x > 0))
    mean_periods = float(np.mean(np.maximum(t_cal, period) / period))
    retention = repeat_share ** (1.0 / mean_periods) if repeat_share > 0 else 0.0
    lifespan = min(1.0 / (1.0 - retention) if retention < 1 else np.inf, horizon_weeks / period_weeks)
    return NaiveClvBaseline(
        label="BASELINE (naive): average revenue x expected lifespan x retention, not a model estimate",
        average_revenue_per_period=avg_revenue,
        retention_per_period=retention,
        expected_lifespan_periods=float(lifespan),
        value_per_customer=float(avg_revenue * lifespan * retention),
        period_weeks=float(period_weeks),
        horizon_weeks=float(horizon_weeks),
    )
