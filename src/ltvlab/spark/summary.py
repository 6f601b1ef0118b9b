"""The customer summary of :func:`ltvlab.features.customer_summary`, computed by Spark.

Same definitions, step for step, as the DuckDB statement of :func:`ltvlab.features.summary_sql`:

1. events: one row per transaction, or (``merge_same_day``) per customer and day with the day's total amount
   and, for segment columns, the smallest value of the day; ``ts`` is the time in seconds since 1970-01-01
   (the day's midnight when merged);
2. events are numbered per customer by ``(ts, day)``; event 1 is the first purchase;
3. per customer with a first purchase on or before ``calibration_end``: ``x`` counts the later events up to
   ``calibration_end``, ``t_x`` is the time of the last of them since the first purchase (0 without one),
   ``T`` the time from the first purchase to ``calibration_end`` midnight, ``monetary`` their mean amount (0
   without one); the holdout counts events in ``(calibration_end, holdout_end]``; segment columns are taken
   from event 1.

Times are computed from wall-clock timestamps without a time zone, so the session's time zone does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.features.summary import UNIT_DAYS, TimeUnit, _check_dates, _finish_summary
from ltvlab.spark.session import to_pandas
from ltvlab.spark.source import read_transactions

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

_EPOCH = "TIMESTAMP_NTZ'1970-01-01 00:00:00'"


def _seconds(ts: Column) -> Column:
    """Seconds since 1970-01-01 of a timestamp without time zone, as a double (microsecond resolution)."""
    from pyspark.sql import functions as F

    return F.timestamp_diff("MICROSECOND", F.expr(_EPOCH), ts).cast("double") / 1e6


def summary_dataframe(
    transactions: DataFrame,
    *,
    calibration_end: str | date,
    holdout_end: str | date | None = None,
    unit: TimeUnit = "W",
    merge_same_day: bool = True,
    segment_cols: Sequence[str] = (),
) -> DataFrame:
    """The customer summary as a (lazy) Spark DataFrame, one row per customer, not sorted.

    ``transactions`` has the canonical columns (see :func:`ltvlab.spark.read_transactions`) and ``segment_cols``.
    Columns and definitions are those of :func:`ltvlab.features.customer_summary`.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    cal, hold = _check_dates(calibration_end, holdout_end, unit)
    missing = [
        c for c in (col.CUSTOMER_ID, col.DATE, col.AMOUNT, *segment_cols) if c not in transactions.columns
    ]
    if missing:
        raise LtvlabError(
            f"transactions lack column(s) {missing}; have {transactions.columns} "
            "(read them with ltvlab.spark.read_transactions)"
        )
    stamp = F.col(col.DATE).cast(T.TimestampNTZType())
    day = F.to_date(stamp)
    if merge_same_day:
        events = (
            transactions.groupBy(F.col(col.CUSTOMER_ID).alias("cid"), day.alias("day"))
            .agg(F.sum(col.AMOUNT).alias("amount"), *[F.min(c).alias(c) for c in segment_cols])
            .withColumn("ts", _seconds(F.col("day").cast(T.TimestampNTZType())))
        )
    else:
        events = transactions.select(
            F.col(col.CUSTOMER_ID).alias("cid"),
            day.alias("day"),
            _seconds(stamp).alias("ts"),
            F.col(col.AMOUNT).alias("amount"),
            *segment_cols,
        )
    # ties in time ordered as the DuckDB statement orders them (amount, then the segment columns, nulls last)
    ties = [F.col("amount").asc_nulls_last(), *[F.col(c).asc_nulls_last() for c in segment_cols]]
    order = Window.partitionBy("cid").orderBy("ts", "day", *ties)
    ordered = events.withColumn("ord", F.row_number().over(order))
    cal_lit = F.lit(cal)
    repeat = (F.col("ord") > 1) & (F.col("day") <= cal_lit)
    unit_seconds = 86400.0 * UNIT_DAYS[unit]
    cal_seconds = (pd.Timestamp(cal) - pd.Timestamp("1970-01-01")).total_seconds()
    aggregates = [
        F.min("day").alias("first_day"),
        F.min("ts").alias("first_ts"),
        F.sum(F.when(F.col("ord") == 1, F.col("amount"))).alias(col.FIRST_AMOUNT),
        F.count(F.when(repeat, 1)).alias(col.X),
        F.max(F.when(repeat, F.col("ts"))).alias("_last_ts"),
        F.avg(F.when(repeat, F.col("amount"))).alias("_mean_repeat"),
    ]
    holdout: list[Column] = []
    if hold is not None:
        in_holdout = (F.col("day") > cal_lit) & (F.col("day") <= F.lit(hold))
        aggregates += [
            F.count(F.when(in_holdout, 1)).alias(col.X_HOLDOUT),
            F.sum(F.when(in_holdout, F.col("amount"))).alias("_spend_holdout"),
        ]
        holdout = [
            F.col(col.X_HOLDOUT),
            F.coalesce(F.col("_spend_holdout"), F.lit(0.0)).alias(col.SPEND_HOLDOUT),
            F.lit((hold - cal).days / float(UNIT_DAYS[unit])).alias(col.DURATION_HOLDOUT),
        ]
    aggregates += [F.min_by(c, "ord").alias(c) for c in segment_cols]
    per_customer = ordered.groupBy("cid").agg(*aggregates).where(F.col("first_day") <= cal_lit)
    return per_customer.select(
        F.col("cid").alias(col.CUSTOMER_ID),
        F.col("first_day").alias(col.FIRST_PURCHASE),
        F.col(col.FIRST_AMOUNT),
        F.col(col.X),
        (F.coalesce(F.col("_last_ts") - F.col("first_ts"), F.lit(0.0)) / unit_seconds).alias(col.T_X),
        # the summary contract of ltvlab.features.summary: T is never negative nor shorter than t_x
        (
            F.greatest(
                F.lit(cal_seconds) - F.col("first_ts"),
                F.coalesce(F.col("_last_ts") - F.col("first_ts"), F.lit(0.0)),
            )
            / unit_seconds
        ).alias(col.T),
        F.coalesce(F.col("_mean_repeat"), F.lit(0.0)).alias(col.MONETARY),
        *holdout,
        *[F.col(c) for c in segment_cols],
    )


def to_summary_frame(
    summary: DataFrame,
    *,
    calibration_end: str | date,
    holdout_end: str | date | None,
    unit: TimeUnit,
    merge_same_day: bool,
    transactions: DataFrame | None = None,
) -> pd.DataFrame:
    """Collect a Spark summary to pandas with the dtypes, order and ``attrs`` of the DuckDB path.

    Given the ``transactions`` it was made from, ``attrs["n_first_after_calibration_end"]`` counts the
    customers whose first purchase is after the calibration end (else it is ``None``: not counted).
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    cal, hold = _check_dates(calibration_end, holdout_end, unit)
    result = to_pandas(summary.orderBy(col.CUSTOMER_ID))
    n_after = None
    if transactions is not None:
        firsts = transactions.groupBy(col.CUSTOMER_ID).agg(
            F.min(F.to_date(F.col(col.DATE).cast(T.TimestampNTZType()))).alias("first_day")
        )
        n_after = firsts.where(F.col("first_day") > F.lit(cal)).count()
    result = _finish_summary(
        result, unit=unit, cal=cal, hold=hold, merge_same_day=merge_same_day, n_after=n_after
    )
    result[col.FIRST_PURCHASE] = result[col.FIRST_PURCHASE].astype("datetime64[us]")  # as on the DuckDB path
    return result


def customer_summary(
    transactions: str | pd.DataFrame | DataFrame,
    *,
    calibration_end: str | date,
    holdout_end: str | date | None = None,
    unit: TimeUnit = "W",
    merge_same_day: bool = True,
    segment_cols: Sequence[str] = (),
    spark: SparkSession | None = None,
) -> pd.DataFrame:
    """:func:`ltvlab.features.customer_summary` computed by Spark and collected as the same pandas frame.

    ``transactions`` is a Parquet/CSV path, a catalog table name, or a pandas/Spark DataFrame with the canonical
    columns. ``spark`` defaults to :func:`ltvlab.spark.spark_session`. Collecting needs the summary (one row per
    customer) to fit in the driver's memory; keep it in Spark with :func:`summary_dataframe` otherwise.
    """
    from ltvlab.spark.session import spark_session

    session = spark if spark is not None else spark_session()
    frame = read_transactions(session, transactions, extra_columns=segment_cols)
    summary = summary_dataframe(
        frame,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit=unit,
        merge_same_day=merge_same_day,
        segment_cols=segment_cols,
    )
    return to_summary_frame(
        summary,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit=unit,
        merge_same_day=merge_same_day,
        transactions=frame,
    )
