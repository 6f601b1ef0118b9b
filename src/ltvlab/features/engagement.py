"""A configurable engagement index: standardised components, weighted.

``index = sum_k w_k * z_k / sum_k |w_k|`` with ``z_k`` the component standardised to mean 0 and SD 1 over
the reference rows (all rows, or within each group of ``standardise_within``). Typical components:
visits or logins per week, browse minutes, interactions, channels used.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ltvlab.errors import DataValidationError, LtvlabError

ENGAGEMENT_INDEX = "engagement_index"


def engagement_index(
    frame: pd.DataFrame,
    weights: Mapping[str, float],
    *,
    standardise_within: str | None = None,
) -> pd.DataFrame:
    """Return ``frame`` with the ``z_<component>`` columns and ``engagement_index`` added (input unchanged)."""
    if not weights:
        raise LtvlabError("engagement_index: give at least one component weight")
    missing = [c for c in weights if c not in frame.columns]
    if missing:
        raise DataValidationError(f"engagement_index: column(s) {missing} not found")
    total = sum(abs(w) for w in weights.values())
    if total == 0:
        raise LtvlabError("engagement_index: all weights are zero")
    out = frame.copy()
    index = np.zeros(len(frame))
    for column, weight in weights.items():
        values = out[column].astype(float)
        if values.isna().any():
            raise DataValidationError(f"engagement_index: column '{column}' has missing values")
        if standardise_within is None:
            mean, sd = values.mean(), values.std(ddof=0)
        else:
            grouped = values.groupby(out[standardise_within])
            mean, sd = grouped.transform("mean"), grouped.transform(lambda s: s.std(ddof=0))
        z = (values - mean) / sd
        if np.isinf(z).any() or z.isna().any():
            raise LtvlabError(
                f"engagement_index: component '{column}' is constant, so it cannot be standardised"
            )
        out[f"z_{column}"] = z
        index += weight * z.to_numpy()
    out[ENGAGEMENT_INDEX] = index / total
    return out


def channels_used(
    transactions: pd.DataFrame, *, end: str | None = None, channel: str = "channel"
) -> pd.DataFrame:
    """Per customer: number of distinct purchase channels up to ``end`` (inclusive) and ``multi_channel``."""
    if channel not in transactions.columns:
        raise DataValidationError(f"channels_used: column '{channel}' not found in transactions")
    tx = transactions
    if end is not None:
        tx = tx[pd.to_datetime(tx["date"]) <= pd.Timestamp(end)]
    counts = tx.groupby("customer_id", observed=True)[channel].nunique().rename("channels_used")
    return counts.reset_index().assign(multi_channel=lambda f: (f["channels_used"] > 1).astype(int))


def interaction_counts(
    interactions: pd.DataFrame, *, start: str | None = None, end: str | None = None, by: str | None = None
) -> pd.DataFrame:
    """Per customer: interactions between ``start`` and ``end`` (inclusive), in total and per value of ``by``
    (e.g. ``"channel"`` -> ``interactions_online``, ``interactions_offline``)."""
    frame = interactions
    dates = pd.to_datetime(frame["date"])
    mask = np.ones(len(frame), dtype=bool)
    if start is not None:
        mask &= (dates >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        mask &= (dates <= pd.Timestamp(end)).to_numpy()
    frame = frame[mask]
    out = frame.groupby("customer_id", observed=True).size().rename("interactions").to_frame()
    if by is not None:
        wide = frame.groupby(["customer_id", by], observed=True).size().unstack(fill_value=0)
        wide.columns = [f"interactions_{c}" for c in wide.columns]
        out = out.join(wide)
    return out.reset_index()
