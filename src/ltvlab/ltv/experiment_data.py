"""The data of a randomised test for :mod:`ltvlab.ltv.experiment_value`: the arm as a time-varying covariate,
the spend statistics by arm, and each customer's state at the assignment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.data.synthetic_experiment import ARM
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.arm_spend import ArmSpendData, arm_spend_data
from ltvlab.ltv.interactions import TVCData, prepare_tvc_data
from ltvlab.ltv.interactions.data import UNIT_DAYS

__all__ = ["ExperimentData", "arm_covariates", "experiment_data"]


@dataclass(frozen=True)
class ExperimentData:
    """The test's data: the fit data (``tvc``, ``spend``) and each customer's state at the assignment.

    Per customer (sorted ids): ``segment_code``, ``arm``; Pareto/NBD summary at the assignment ``pre_x``,
    ``pre_t_x``, ``pre_T`` (in ``unit``); repeat transactions before the assignment ``pre_n`` and their mean
    value ``pre_m``.
    """

    tvc: TVCData
    spend: ArmSpendData
    customer_id: np.ndarray
    segments: tuple[str, ...]
    segment_code: np.ndarray
    arm: np.ndarray
    pre_x: np.ndarray
    pre_t_x: np.ndarray
    pre_T: np.ndarray
    pre_n: np.ndarray
    pre_m: np.ndarray
    assignment_date: pd.Timestamp
    test_end: pd.Timestamp
    period_length: pd.Timedelta
    unit: str

    @property
    def window_periods(self) -> int:
        return int((self.test_end - self.assignment_date) / self.period_length)


def arm_covariates(
    assignment: pd.DataFrame,
    *,
    assignment_date,
    test_end,
    period_length,
    origin=None,
) -> pd.DataFrame:
    """Long covariate table of the arm: ``customer_id, period_start, arm`` = 1 for treated customers in every
    period from ``assignment_date`` to ``test_end`` (absent rows are 0), on the grid ``origin + k period_length``
    (default origin: the assignment date). The assignment date must lie on the grid."""
    length = pd.Timedelta(period_length)
    start, end = pd.Timestamp(assignment_date), pd.Timestamp(test_end)
    origin = start if origin is None else pd.Timestamp(origin)
    if (start - origin) % length != pd.Timedelta(0) or (end - start) % length != pd.Timedelta(0):
        raise LtvlabError(
            f"assignment date {start.date()} and test end {end.date()} must lie on the period grid "
            f"{origin.date()} + k x {length}; pick period_length so the test covers whole periods"
        )
    if end <= start:
        raise LtvlabError(f"test_end {end.date()} must be after the assignment date {start.date()}")
    if ARM not in assignment.columns or col.CUSTOMER_ID not in assignment.columns:
        raise LtvlabError(
            f"the assignment table needs columns customer_id and {ARM!r} (1 treated, 0 control)"
        )
    values = pd.to_numeric(assignment[ARM], errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise LtvlabError(
            f"assignment row {row}, column {ARM!r}: {assignment[ARM].iloc[row]!r} is not 0 or 1"
        )
    treated = assignment.loc[values.to_numpy() == 1, col.CUSTOMER_ID].astype(str).to_numpy()
    periods = pd.date_range(start, end - length, freq=length)
    table = pd.DataFrame(
        {
            col.CUSTOMER_ID: np.repeat(treated, periods.size),
            "period_start": np.tile(periods.to_numpy(), treated.size),
            ARM: 1.0,
        }
    )
    table.attrs.update({"origin": origin, "period_length": length, "end": end})
    return table


def experiment_data(
    transactions: pd.DataFrame,
    assignment: pd.DataFrame,
    *,
    assignment_date,
    test_end,
    period_length="7D",
    unit: str = "W",
    segment_column: str | None = "segment",
) -> ExperimentData:
    """Prepare a randomised test: ``transactions`` (``customer_id``, ``date``, ``amount``) and ``assignment``
    (``customer_id``, ``arm`` 1/0, optional segment column), assignment at midnight of ``assignment_date``,
    data up to (not including) ``test_end``. Every transaction is a purchase event (same-day ones not merged).
    """
    start, end = pd.Timestamp(assignment_date), pd.Timestamp(test_end)
    length = pd.Timedelta(period_length)
    for name in (col.CUSTOMER_ID, ARM) + ((segment_column,) if segment_column else ()):
        if name not in assignment.columns:
            raise LtvlabError(
                f"the assignment table lacks column {name!r}; it has {list(assignment.columns)}"
            )
    ids = assignment[col.CUSTOMER_ID].astype(str)
    if ids.duplicated().any():
        row = int(np.flatnonzero(ids.duplicated().to_numpy())[0])
        raise LtvlabError(f"assignment row {row}: customer {ids.iloc[row]!r} is assigned twice")
    tx = transactions.copy()
    tx[col.CUSTOMER_ID] = tx[col.CUSTOMER_ID].astype(str)
    tx[col.DATE] = pd.to_datetime(tx[col.DATE])
    tx = tx[tx[col.CUSTOMER_ID].isin(set(ids)) & (tx[col.DATE] < end)]
    first = tx.groupby(col.CUSTOMER_ID)[col.DATE].min().reindex(ids)
    if first.isna().any():
        missing = ids[first.isna().to_numpy()].iloc[0]
        raise LtvlabError(
            f"assigned customer {missing!r} has no transaction before the test end; the test value needs each "
            "customer's history (drop unknown customers from the assignment table)"
        )
    late = (first >= start).to_numpy()
    if late.any():
        raise LtvlabError(
            f"{int(late.sum()):,} assigned customer(s) (first: {ids[late].iloc[0]!r}) first bought on or after the "
            f"assignment date {start.date()}; the test value is for customers acquired before it"
        )
    covariates = arm_covariates(assignment, assignment_date=start, test_end=end, period_length=length)
    segment = assignment[[col.CUSTOMER_ID, segment_column]] if segment_column else None
    tvc = prepare_tvc_data(
        tx, covariates, calibration_end=end, unit=unit, segment=segment, merge_same_day=False
    )
    spend = arm_spend_data(tx, assignment, assignment_date=start, test_end=end, segment_column=segment_column)
    # state at the assignment: Pareto/NBD summary and spend statistics of the pre-assignment transactions
    unit_td = pd.Timedelta(days=UNIT_DAYS[unit])
    order = np.argsort(ids.to_numpy())
    sorted_ids = ids.to_numpy()[order]
    pre = tx[tx[col.DATE] < start].sort_values([col.CUSTOMER_ID, col.DATE], kind="stable")
    repeat = pre.duplicated(col.CUSTOMER_ID, keep="first").to_numpy()
    pos = np.searchsorted(sorted_ids, pre[col.CUSTOMER_ID].to_numpy())
    first_sorted = first.to_numpy()[order]
    x = np.bincount(pos[repeat], minlength=sorted_ids.size).astype(float)
    age = ((pre[col.DATE].to_numpy() - first_sorted[pos]) / unit_td).astype(float)
    t_x = np.zeros(sorted_ids.size)
    np.maximum.at(t_x, pos[repeat], age[repeat])
    T = ((start.to_datetime64() - first_sorted) / unit_td).astype(float)
    amount = pre[col.AMOUNT].to_numpy(float)
    s = np.bincount(pos[repeat], weights=amount[repeat], minlength=sorted_ids.size)
    m = np.where(x > 0, s / np.maximum(x, 1.0), 0.0)
    if not np.array_equal(tvc.customer_id, sorted_ids) or not np.array_equal(spend.customer_id, sorted_ids):
        raise LtvlabError("internal: customer order of the fit data and the assignment differ")
    arm = pd.to_numeric(assignment[ARM]).to_numpy()[order]
    return ExperimentData(
        tvc=tvc,
        spend=spend,
        customer_id=sorted_ids,
        segments=tvc.segments,
        segment_code=tvc.segment_code[tvc.inverse],
        arm=arm,
        pre_x=x,
        pre_t_x=t_x,
        pre_T=T,
        pre_n=x.copy(),
        pre_m=m,
        assignment_date=start,
        test_end=end,
        period_length=length,
        unit=unit,
    )
