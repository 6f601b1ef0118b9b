"""Segments known at acquisition: first-purchase cohort and first-purchase spend tier (DuckDB SQL).

Both are fixed when the customer is acquired, so they are safe segment columns for BTYD models (no look-ahead).
The first purchase is the customer's first purchase day, its value the day's total.

- ``cohort``: the period of the first purchase, ``"YYYY-MM"`` (``cohort="month"``), ``"YYYY-Qn"`` (``"quarter"``)
  or the ISO week's Monday ``"YYYY-MM-DD"`` (``"week"``).
- ``spend_tier``: quantile tier of the first-purchase value among all customers, ``1 + floor(k * percent_rank)``
  for ``k = len(tier_labels)`` tiers (equal values share a tier), labelled low to high.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import duckdb
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

_COHORT_SQL = {
    "month": "strftime(first_day, '%Y-%m')",
    "quarter": "CAST(year(first_day) AS VARCHAR) || '-Q' || CAST(quarter(first_day) AS VARCHAR)",
    "week": "strftime(date_trunc('week', first_day), '%Y-%m-%d')",
}


def first_purchase_segments(
    transactions: pd.DataFrame,
    *,
    cohort: Literal["month", "quarter", "week"] = "month",
    tier_labels: Sequence[str] = ("low", "mid", "high"),
) -> pd.DataFrame:
    """Per customer: ``first_purchase``, ``first_amount``, ``cohort`` and ``spend_tier`` (categoricals).

    ``transactions`` needs ``customer_id``, ``date``, ``amount``. Rows are sorted by ``customer_id``.
    """
    if cohort not in _COHORT_SQL:
        raise LtvlabError(f"cohort={cohort!r}; use one of {sorted(_COHORT_SQL)}")
    labels = list(tier_labels)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise LtvlabError(f"tier_labels must hold at least two distinct labels, got {labels}")
    missing = [c for c in (col.CUSTOMER_ID, col.DATE, col.AMOUNT) if c not in transactions.columns]
    if missing:
        raise LtvlabError(f"transactions lack column(s) {missing}; have {list(transactions.columns)}")
    k = len(labels)
    sql = f"""
WITH days AS (
    SELECT {col.CUSTOMER_ID} AS cid, CAST({col.DATE} AS DATE) AS day, sum({col.AMOUNT}) AS amount
    FROM tx GROUP BY 1, 2
),
firsts AS (
    SELECT cid, min(day) AS first_day, arg_min(amount, day) AS first_amount FROM days GROUP BY cid
)
SELECT cid AS {col.CUSTOMER_ID}, first_day AS {col.FIRST_PURCHASE}, first_amount AS {col.FIRST_AMOUNT},
    {_COHORT_SQL[cohort]} AS cohort,
    least({k}, 1 + CAST(floor({k} * percent_rank() OVER (ORDER BY first_amount)) AS INTEGER)) AS tier
FROM firsts ORDER BY cid
"""
    with duckdb.connect() as con:
        con.register("tx", transactions[[col.CUSTOMER_ID, col.DATE, col.AMOUNT]])
        out = con.sql(sql).df()
    out[col.CUSTOMER_ID] = out[col.CUSTOMER_ID].astype(str)
    out[col.FIRST_PURCHASE] = pd.to_datetime(out[col.FIRST_PURCHASE])
    out["cohort"] = pd.Categorical(
        out["cohort"].astype(str), categories=sorted(out["cohort"].astype(str).unique())
    )
    out["spend_tier"] = pd.Categorical.from_codes(out.pop("tier").to_numpy() - 1, categories=labels)
    out.attrs.update({"cohort": cohort, "tier_labels": tuple(labels)})
    return out
