"""Were the contacts randomised? Balance of each strategy's contact intensity on the targeting covariates.

A randomised contact log sends each strategy with a chance that does not depend on the customer; a targeted
one sends more to the customers a score says will buy more, so the time-varying-covariate fit without the
score credits the contacts with the score's effect. :func:`targeting_balance` asks the data: per strategy and
covariate, the correlation of each customer's contacts per eligible period (periods from the first purchase to
the end) with the covariate, its p-value (t-test of a Pearson correlation), and the standardised mean
difference of the covariate between the customers above and below the median contact rate (the
``balance()`` statistic of :class:`ltvlab.causal.weighting.WeightingDesign`, before weighting). A strategy is
``targeted`` when the correlation is significant at ``alpha`` and the SMD exceeds ``smd_threshold``.

The adjustment is the fit with the targeting covariates as static covariates
(``prepare_tvc_data(static=..., static_columns=...)``): when the assignment depends only on them (no unmeasured
targeting), the contact effects are identified (:func:`ltvlab.reports.interactions.naive_vs_adjusted` lines the naive and adjusted fits up
against a simulation's truth).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ltvlab.data.contacts import STRATEGY, TIMESTAMP
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

__all__ = ["targeting_balance"]


def targeting_balance(
    contacts: pd.DataFrame,
    customers: pd.DataFrame,
    covariates: Sequence[str],
    *,
    end,
    period_length,
    alpha: float = 0.01,
    smd_threshold: float = 0.1,
) -> pd.DataFrame:
    """Per strategy and covariate: ``strategy, covariate, correlation, p_value, smd, targeted``.

    ``customers``: ``customer_id``, ``first_purchase`` and the ``covariates`` (one row per customer, every
    customer who could be contacted); ``contacts``: the canonical contact log.
    """
    need = [col.CUSTOMER_ID, col.FIRST_PURCHASE, *covariates]
    missing = [c for c in need if c not in customers.columns]
    if missing:
        raise LtvlabError(f"the customer table lacks column(s) {missing}; it has {list(customers.columns)}")
    length = pd.Timedelta(period_length)
    first = pd.to_datetime(customers[col.FIRST_PURCHASE])
    eligible = np.ceil((pd.Timestamp(end) - first) / length).to_numpy(float)
    keep = eligible > 0
    if keep.sum() < 10:
        raise LtvlabError("fewer than 10 customers were acquired before the end: no balance to check")
    ids = customers[col.CUSTOMER_ID].astype(str).to_numpy()[keep]
    eligible = eligible[keep]
    strategies = (
        list(contacts[STRATEGY].cat.categories)
        if isinstance(contacts[STRATEGY].dtype, pd.CategoricalDtype)
        else sorted(contacts[STRATEGY].astype(str).unique())
    )
    log = contacts[pd.to_datetime(contacts[TIMESTAMP]) < pd.Timestamp(end)]
    counts = (
        log.groupby([log[col.CUSTOMER_ID].astype(str), log[STRATEGY].astype(str)], observed=True)
        .size()
        .unstack(fill_value=0)
        .reindex(index=ids, columns=[str(s) for s in strategies], fill_value=0)
    )
    rows = []
    for covariate in covariates:
        x = pd.to_numeric(customers[covariate], errors="coerce").to_numpy(float)[keep]
        if not np.all(np.isfinite(x)):
            raise LtvlabError(f"covariate {covariate!r} has missing or non-numeric values; fill them first")
        if np.ptp(x) == 0:
            raise LtvlabError(f"covariate {covariate!r} is constant: it cannot explain the targeting")
        for strategy in counts.columns:
            rate = counts[strategy].to_numpy(float) / eligible
            if np.ptp(rate) == 0:
                rows.append((strategy, covariate, np.nan, np.nan, np.nan, False))
                continue
            corr, p_value = stats.pearsonr(rate, x)
            high = rate > np.median(rate)
            if high.all() or not high.any():
                high = rate >= np.median(rate)
            pooled = np.sqrt((x[high].var(ddof=1) + x[~high].var(ddof=1)) / 2)
            smd = (x[high].mean() - x[~high].mean()) / pooled if pooled > 0 else np.nan
            targeted = bool(p_value < alpha and abs(smd) > smd_threshold)
            rows.append((strategy, covariate, float(corr), float(p_value), float(smd), targeted))
    return pd.DataFrame(rows, columns=["strategy", "covariate", "correlation", "p_value", "smd", "targeted"])
