"""Incremental discounted CLV of a strategy from its effect on the purchase rate and on dropout.

A strategy that multiplies each customer's future purchase rate by ``m_rate`` and (Pareto/NBD) dropout rate by
``m_dropout`` from now on changes the customer's expected future purchases. Given the history ``(x, t_x, T)``,
a customer alive now has purchase rate ``lambda ~ Gamma(r + x, alpha + T)`` and dropout rate
``mu ~ Gamma(s, beta + T)`` (Pareto/NBD) or dropout probability ``p ~ Beta(a, b + x)`` (BG/NBD), so

    E[purchases in (T, T + t] | history, strategy]
        = P(alive | history) * E_new(t; r + x, (alpha + T) / m_rate, s, (beta + T) / m_dropout)

with ``E_new`` the model's expected purchases of a just-acquired customer (``Gamma(shape, scale)`` rates
scaled by ``m`` are ``Gamma(shape, rate / m)``). With both multipliers 1 this is exactly the model's
conditional expectation. Each registered purchase model declares this expectation
(``ModelDef.strategy_purchases``); BG/NBD and MBG/NBD dropout is a per-purchase probability, not a rate, so
dropout effects need the Pareto/NBD model.

Discounting reuses :func:`ltvlab.ltv.clv.discounted_purchases` and :func:`ltvlab.ltv.clv.clv_horizon`.
Parameters, spend and multipliers may be arrays of posterior draws (shape ``(draws,)``), giving draws of
the incremental CLV per customer, so the effect's uncertainty reaches the budget allocation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ltvlab.errors import DataValidationError, LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import clv_horizon, discounted_purchases, get_model

PurchaseModel = str  # a registered purchase model: ltvlab.ltv.registered_models()


def _column(value: float | np.ndarray) -> np.ndarray:
    """Scalars and draw vectors as a (draws, 1) column that broadcasts against (customers,)."""
    return np.atleast_1d(np.asarray(value, dtype=float)).reshape(-1, 1)


def _segment_labels(summary: pd.DataFrame, segment: str) -> pd.Series:
    """The ``segment`` column of ``summary`` as text labels; raises when the column is absent."""
    if segment not in summary.columns:
        raise DataValidationError(f"summary lacks the segment column '{segment}'")
    return summary[segment].astype(str)


def _spend(rows: pd.DataFrame, spend_per_purchase: str | float) -> float | np.ndarray:
    """A spend column of ``rows`` (by name) as floats, or the given number as it is."""
    return (
        rows[spend_per_purchase].to_numpy(float)
        if isinstance(spend_per_purchase, str)
        else spend_per_purchase
    )


def discounted_expected_purchases(
    summary: pd.DataFrame,
    *,
    model: PurchaseModel,
    params: Mapping[str, float | np.ndarray],
    rate_multiplier: float | np.ndarray = 1.0,
    dropout_multiplier: float | np.ndarray = 1.0,
    unit: str = "W",
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
) -> np.ndarray:
    """Discounted expected purchases (draws x customers) over the horizon, under the given multipliers."""
    spec = get_model(model, "purchase")
    missing = [name for name in spec.param_names if name not in params]
    if missing:
        raise LtvlabError(f"params lack {missing} for the {model} model")
    absent = [c for c in (col.X, col.T_X, col.T) if c not in summary.columns]
    if absent:
        raise DataValidationError(f"summary lacks column(s) {absent}; build it with customer_summary()")
    m_rate, m_drop = _column(rate_multiplier), _column(dropout_multiplier)
    if (m_rate <= 0).any() or (m_drop <= 0).any():
        raise LtvlabError("rate and dropout multipliers must be positive (1 = no effect)")
    x, t_x, big_t = (summary[c].to_numpy(float)[None, :] for c in (col.X, col.T_X, col.T))
    p = {name: _column(params[name]) for name in spec.param_names}
    horizon = clv_horizon(
        unit=unit,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
    )
    cumulative = spec.strategy_purchases(x, t_x, big_t, p, m_rate, m_drop)
    return discounted_purchases(
        cumulative,
        period_length=horizon.period_length,
        n_periods=horizon.n_periods,
        period_rate=horizon.period_rate,
    )


def incremental_clv(
    summary: pd.DataFrame,
    *,
    model: PurchaseModel,
    params: Mapping[str, float | np.ndarray],
    spend_per_purchase: float | np.ndarray,
    rate_multiplier: float | np.ndarray = 1.0,
    dropout_multiplier: float | np.ndarray = 1.0,
    unit: str = "W",
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
) -> np.ndarray:
    """Draws x customers of ``CLV(strategy) - CLV(no strategy)`` (discounted, in money).

    ``spend_per_purchase`` is the expected value of a purchase: a scalar, a per-customer array, or draws
    (shape ``(draws, 1)`` or ``(draws, customers)``).
    """
    common = {
        "model": model,
        "params": params,
        "unit": unit,
        "horizon_weeks": horizon_weeks,
        "period_weeks": period_weeks,
        "annual_discount_rate": annual_discount_rate,
    }
    treated = discounted_expected_purchases(
        summary, rate_multiplier=rate_multiplier, dropout_multiplier=dropout_multiplier, **common
    )
    base = discounted_expected_purchases(summary, **common)
    return (treated - base) * np.asarray(spend_per_purchase, dtype=float)


def strategy_value_draws(
    summary: pd.DataFrame,
    *,
    segment: str,
    strategies: Mapping[str, tuple[float | np.ndarray, float | np.ndarray]],
    model: PurchaseModel,
    params: Mapping[str, float | np.ndarray],
    spend_per_purchase: float | np.ndarray,
    unit: str = "W",
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
) -> pd.DataFrame:
    """Per segment x strategy draws of the mean incremental CLV per contacted customer.

    ``strategies`` maps a name to ``(rate_multiplier, dropout_multiplier)`` (scalars or draws). Returns the
    long frame ``segment, strategy, draw, incremental_value`` that :func:`allocate_budget` takes.
    """
    labels = _segment_labels(summary, segment).to_numpy()
    frames = []
    for name, (m_rate, m_drop) in strategies.items():
        draws = incremental_clv(
            summary,
            model=model,
            params=params,
            spend_per_purchase=spend_per_purchase,
            rate_multiplier=m_rate,
            dropout_multiplier=m_drop,
            unit=unit,
            horizon_weeks=horizon_weeks,
            period_weeks=period_weeks,
            annual_discount_rate=annual_discount_rate,
        )
        for level in sorted(set(labels)):
            mean = draws[:, labels == level].mean(axis=1)
            frames.append(
                pd.DataFrame(
                    {
                        "segment": level,
                        "strategy": name,
                        "draw": np.arange(len(mean)),
                        "incremental_value": mean,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def segment_strategy_value_draws(
    summary: pd.DataFrame,
    *,
    segment: str,
    multipliers: pd.DataFrame,
    segment_params: pd.DataFrame,
    spend_per_purchase: str | float,
    model: PurchaseModel,
    unit: str = "W",
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
) -> pd.DataFrame:
    """Draws of the mean incremental CLV per contacted customer, segment by segment.

    Parameters
    ----------
    summary : per-customer ``x, t_x, T``, the ``segment`` column and (optionally) a spend column.
    multipliers : ``segment, strategy, draw, rate_multiplier, dropout_multiplier`` (posterior draws of each
        strategy's effect in each segment; the same draws count in every cell).
    segment_params : one row per segment (index = segment label) with the purchase model's parameters.
    spend_per_purchase : a column of ``summary`` (expected value of a purchase per customer) or a number.

    Returns the long frame ``segment, strategy, draw, incremental_value`` for :func:`allocate_budget`.
    """
    need = {"segment", "strategy", "draw", "rate_multiplier", "dropout_multiplier"}
    if not need <= set(multipliers.columns):
        raise DataValidationError(f"multipliers lack column(s) {sorted(need - set(multipliers.columns))}")
    labels = _segment_labels(summary, segment)
    index = segment_params.index.astype(str)
    frames = []
    for (level, strategy), cell in multipliers.groupby(["segment", "strategy"], sort=True, observed=True):
        level = str(level)
        if level not in index:
            raise LtvlabError(f"segment_params has no row for segment '{level}'")
        rows = summary[(labels == level).to_numpy()]
        if rows.empty:
            raise LtvlabError(f"no customers in segment '{level}'")
        cell = cell.sort_values("draw")
        params = segment_params.loc[segment_params.index[list(index).index(level)]].to_dict()
        spend = _spend(rows, spend_per_purchase)
        draws = incremental_clv(
            rows,
            model=model,
            params=params,
            spend_per_purchase=spend,
            rate_multiplier=cell["rate_multiplier"].to_numpy(float),
            dropout_multiplier=cell["dropout_multiplier"].to_numpy(float),
            unit=unit,
            horizon_weeks=horizon_weeks,
            period_weeks=period_weeks,
            annual_discount_rate=annual_discount_rate,
        )
        frames.append(
            pd.DataFrame(
                {
                    "segment": level,
                    "strategy": str(strategy),
                    "draw": cell["draw"].to_numpy(),
                    "incremental_value": draws.mean(axis=1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def baseline_clv_by_segment(
    summary: pd.DataFrame,
    *,
    segment: str,
    segment_params: pd.DataFrame,
    spend_per_purchase: str | float,
    model: PurchaseModel,
    unit: str = "W",
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
) -> dict[str, float]:
    """Mean discounted CLV without any strategy, per segment (each segment with its own parameters)."""
    labels = _segment_labels(summary, segment)
    out = {}
    for label, params in segment_params.iterrows():
        rows = summary[(labels == str(label)).to_numpy()]
        if rows.empty:
            continue
        spend = _spend(rows, spend_per_purchase)
        purchases = discounted_expected_purchases(
            rows,
            model=model,
            params=params.to_dict(),
            unit=unit,
            horizon_weeks=horizon_weeks,
            period_weeks=period_weeks,
            annual_discount_rate=annual_discount_rate,
        )
        out[str(label)] = float((purchases[0] * spend).mean())
    return out
