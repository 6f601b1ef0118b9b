"""Decisions from CLV: high / middle / low value tiers, churn-risk lists, and a CSV export with hashed ids.

Raw customer ids never leave this module: exports carry ``customer_hash`` = sha256(salt + NUL + id), with a
salt that is a parameter or, by default, the per-project secret shared with the reports: ``LTVLAB_ID_SALT`` when
set, otherwise ``data/processed/id_salt`` (created once, git-ignored). The hashing is the one function of
:mod:`ltvlab.data.ids` (re-exported here and by ``ltvlab.reports``), so reports and exports give the same hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ltvlab.data.ids import SALT_ENV, SALT_FILE, hash_ids, project_salt
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

__all__ = [
    "CUSTOMER_HASH",
    "SALT_ENV",
    "SALT_FILE",
    "TIERS",
    "assign_tiers",
    "churn_risk",
    "export_csv",
    "hash_ids",
    "project_salt",
    "pseudonymise",
    "tier_table",
]

TIERS: tuple[str, str, str] = ("low", "middle", "high")
CUSTOMER_HASH = "customer_hash"


def assign_tiers(
    values: pd.Series | np.ndarray | Sequence[float],
    *,
    method: Literal["quantile", "value"] = "quantile",
    cuts: tuple[float, float] = (0.5, 0.8),
) -> pd.Series:
    """High / middle / low tier of each value.

    ``method="quantile"``: ``cuts`` are shares (default: bottom 50% low, next 30% middle, top 20% high);
    ``method="value"``: ``cuts`` are value thresholds (``low < cuts[0] <= middle < cuts[1] <= high``).
    Returns an ordered categorical with categories ``low < middle < high``.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0:
        raise LtvlabError("assign_tiers needs a non-empty 1-d array of values")
    if not np.isfinite(v).all():
        raise LtvlabError("assign_tiers got a missing or infinite value; score every customer first")
    lo, hi = float(cuts[0]), float(cuts[1])
    if not lo <= hi:
        raise LtvlabError(f"tier cuts {cuts} must be increasing")
    if method == "quantile":
        if not 0.0 <= lo <= hi <= 1.0:
            raise LtvlabError(f"quantile cuts {cuts} must lie in [0, 1]")
        lo, hi = (float(c) for c in np.quantile(v, [lo, hi]))
    elif method != "value":
        raise LtvlabError(f"method={method!r}; use 'quantile' or 'value'")
    codes = np.where(v >= hi, 2, np.where(v >= lo, 1, 0))
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=list(TIERS), ordered=True), index=index, name="tier"
    )


def tier_table(
    scores: pd.DataFrame,
    *,
    value_col: str = "clv_mean",
    method: Literal["quantile", "value"] = "quantile",
    cuts: tuple[float, float] = (0.5, 0.8),
) -> pd.DataFrame:
    """Customers per tier with their share of total value: ``tier, customers, value_total, value_share, value_mean``."""
    tiers = assign_tiers(scores[value_col], method=method, cuts=cuts)
    frame = pd.DataFrame({"tier": tiers.array, "value": scores[value_col].to_numpy(float)})
    out = frame.groupby("tier", observed=False)["value"].agg(
        customers="count", value_total="sum", value_mean="mean"
    )
    total = out["value_total"].sum()
    out["value_share"] = out["value_total"] / total if total else np.nan
    return out.reset_index().iloc[::-1].reset_index(drop=True)


def churn_risk(
    scores: pd.DataFrame,
    *,
    value_col: str = "clv_mean",
    p_alive_col: str = "p_alive_mean",
    value_quantile: float = 0.8,
    max_p_alive: float = 0.5,
) -> pd.DataFrame:
    """High-value customers who are probably slipping away.

    Keeps customers whose ``value_col`` is at or above its ``value_quantile`` quantile and whose P(alive) is
    below ``max_p_alive``, sorted by value at risk ``value x (1 - P(alive))``, largest first.
    """
    for name in (value_col, p_alive_col):
        if name not in scores.columns:
            raise LtvlabError(f"churn_risk needs column {name!r}; have {list(scores.columns)}")
    if not 0.0 <= value_quantile <= 1.0 or not 0.0 <= max_p_alive <= 1.0:
        raise LtvlabError("value_quantile and max_p_alive must lie in [0, 1]")
    value = scores[value_col].to_numpy(float)
    threshold = float(np.quantile(value, value_quantile))
    keep = (value >= threshold) & (scores[p_alive_col].to_numpy(float) < max_p_alive)
    out = scores.loc[keep].copy()
    out["value_at_risk"] = out[value_col] * (1.0 - out[p_alive_col])
    out = out.sort_values("value_at_risk", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs.update(
        {"value_threshold": threshold, "max_p_alive": max_p_alive, "value_quantile": value_quantile}
    )
    return out


def pseudonymise(frame: pd.DataFrame, *, salt: str | None = None) -> pd.DataFrame:
    """A copy with ``customer_id`` replaced by ``customer_hash`` (first column); other columns unchanged."""
    if col.CUSTOMER_ID not in frame.columns:
        raise LtvlabError(f"the table has no {col.CUSTOMER_ID!r} column to hash")
    key = salt if salt is not None else project_salt()
    out = frame.drop(columns=[col.CUSTOMER_ID])
    out.insert(0, CUSTOMER_HASH, hash_ids(frame[col.CUSTOMER_ID], salt=key).to_numpy())
    return out


def export_csv(frame: pd.DataFrame, path: str | Path, *, salt: str | None = None) -> Path:
    """Write ``frame`` to CSV with hashed customer ids (never the raw ids). Returns the path written."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pseudonymise(frame, salt=salt).to_csv(out, index=False)
    return out
