"""The customer summary of :func:`ltvlab.features.customer_summary` written with pandas, for the DuckDB benchmark.

Same definitions (same-day purchases merged, ``x``/``t_x``/``T``/``monetary`` over calibration, holdout counts and
spend, the segment of the first day); ``benchmarks/measure.py`` checks column totals agree with DuckDB's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def pandas_customer_summary(
    transactions: pd.DataFrame, *, calibration_end: str, holdout_end: str, unit_days: int
) -> pd.DataFrame:
    """Per-customer summary of ``customer_id, date, amount, segment`` transactions."""
    cal, hold = pd.Timestamp(calibration_end), pd.Timestamp(holdout_end)
    tx = transactions.assign(day=transactions["date"].dt.floor("D"))
    days = (
        tx.groupby(["customer_id", "day"], sort=True, observed=True)
        .agg(amount=("amount", "sum"), segment=("segment", "min"))
        .reset_index()
    )
    first = days.groupby("customer_id", sort=False).head(1).set_index("customer_id")
    days = days.join(first["day"].rename("first_day"), on="customer_id")
    days = days[days["first_day"] <= cal]
    repeat_cal = days[(days["day"] > days["first_day"]) & (days["day"] <= cal)]
    holdout = days[(days["day"] > cal) & (days["day"] <= hold)]
    unit = pd.Timedelta(days=unit_days)
    grouped = repeat_cal.groupby("customer_id", sort=False)
    out = first.loc[first["day"] <= cal, ["day", "amount", "segment"]].rename(
        columns={"day": "first_purchase", "amount": "first_amount"}
    )
    out["x"] = grouped.size().reindex(out.index, fill_value=0)
    last = grouped["day"].max().reindex(out.index)
    out["t_x"] = ((last - out["first_purchase"]) / unit).fillna(0.0)
    out["T"] = (cal - out["first_purchase"]) / unit
    out["monetary"] = grouped["amount"].mean().reindex(out.index).fillna(0.0)
    hold_grouped = holdout.groupby("customer_id", sort=False)
    out["x_holdout"] = hold_grouped.size().reindex(out.index, fill_value=0)
    out["spend_holdout"] = hold_grouped["amount"].sum().reindex(out.index, fill_value=0.0)
    out["duration_holdout"] = float((hold - cal) / unit)
    out = out.reset_index().sort_values("customer_id", ignore_index=True)
    out["x"] = out["x"].astype(np.int64)
    return out
