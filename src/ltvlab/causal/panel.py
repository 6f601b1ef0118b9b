"""Customer x period panels from transactions, for difference-in-differences."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ltvlab.errors import DataValidationError, LtvlabError
from ltvlab.features.columns import AMOUNT, CUSTOMER_ID, DATE


def purchase_panel(
    transactions: pd.DataFrame,
    *,
    customers: Iterable[object],
    treated_customers: Iterable[object],
    treatment_start: str,
    periods_before: int,
    periods_after: int,
    period_days: int = 7,
) -> pd.DataFrame:
    """Balanced panel ``customer_id, period, purchases, spend, treated`` of the given customers.

    Periods are ``period_days`` long and numbered from ``-periods_before`` to ``periods_after - 1``, period 0
    starting on ``treatment_start``; ``treated`` is 1 for treated customers from period 0 on. Customers with
    no purchase in a period get zeros (they are in the panel, not dropped).
    """
    missing = [c for c in (CUSTOMER_ID, DATE, AMOUNT) if c not in transactions.columns]
    if missing:
        raise DataValidationError(f"purchase_panel: transactions lack column(s) {missing}")
    if periods_before < 1 or periods_after < 1:
        raise LtvlabError("purchase_panel needs at least one period before and one after the start")
    ids = pd.Index(pd.unique(pd.Series(list(customers), dtype="object").astype(str)))
    treated_ids = set(pd.Series(list(treated_customers), dtype="object").astype(str))
    start = pd.Timestamp(treatment_start)
    days = (pd.to_datetime(transactions[DATE]) - start).dt.days.to_numpy()
    period = np.floor_divide(days, period_days)
    keep = (period >= -periods_before) & (period < periods_after)
    tx = transactions.loc[keep]
    rows = ids.get_indexer(tx[CUSTOMER_ID].astype(str))
    inside = rows >= 0
    cols = period[keep][inside] + periods_before
    n_periods = periods_before + periods_after
    purchases = np.zeros((len(ids), n_periods))
    spend = np.zeros((len(ids), n_periods))
    np.add.at(purchases, (rows[inside], cols), 1.0)
    np.add.at(spend, (rows[inside], cols), tx[AMOUNT].to_numpy(float)[inside])
    labels = np.arange(-periods_before, periods_after)
    is_treated = np.array([i in treated_ids for i in ids])
    return pd.DataFrame(
        {
            CUSTOMER_ID: np.repeat(ids.to_numpy(), n_periods),
            "period": np.tile(labels, len(ids)),
            "purchases": purchases.ravel(),
            "spend": spend.ravel(),
            "treated": (np.repeat(is_treated, n_periods) & (np.tile(labels, len(ids)) >= 0)).astype(int),
        }
    )
