"""Compressed sufficient statistics: distinct summary rows with customer counts, aggregated by Spark.

Every BTYD likelihood depends on a customer only through ``(segment, x, t_x, T)`` (Gamma-Gamma: ``(segment, x,
monetary)``), so the models fit on distinct rows weighted by how many customers share them
(:func:`ltvlab.ltv._data.compress` does this on the driver). Here Spark does the grouping on the executors and
the driver receives only the distinct rows, whose number grows far slower than the customer base (with times in
whole days or weeks it is bounded by the calibration length). :func:`fit_compressed` fits a model spec on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.spark.session import to_pandas

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

COUNT = "count"
Kind = Literal["purchase", "spend"]


def statistics_columns(kind: Kind, segment: str | None = None) -> list[str]:
    """The grouping columns of :func:`compressed_statistics` (without ``count``)."""
    if kind not in ("purchase", "spend"):
        raise LtvlabError(f"kind={kind!r}: use 'purchase' (x, t_x, T) or 'spend' (x, monetary)")
    data = [col.X, col.T_X, col.T] if kind == "purchase" else [col.X, col.MONETARY]
    return ([segment] if segment else []) + data


def compressed_statistics(
    summary: DataFrame,
    *,
    kind: Kind = "purchase",
    segment: str | None = None,
    unit: str | None = None,
) -> pd.DataFrame:
    """Distinct ``([segment,] x, t_x, T)`` rows (``kind="purchase"``) or ``([segment,] x, monetary)`` rows of
    repeat buyers (``kind="spend"``) of a Spark customer summary, with ``count`` customers each.

    Returns a pandas frame sorted by its key columns; ``attrs["unit"]`` is set from ``unit`` (the summary's
    time unit, needed later for CLV) and ``attrs["n_customers"]`` is the total count.
    """
    from pyspark.sql import functions as F

    keys = statistics_columns(kind, segment)
    missing = [c for c in keys if c not in summary.columns]
    if missing:
        raise LtvlabError(
            f"the summary lacks column(s) {missing}; build it with ltvlab.spark.summary_dataframe"
            + (f" and segment_cols=('{segment}',)" if segment in missing else "")
        )
    source = summary.where(F.col(col.X) > 0) if kind == "spend" else summary
    grouped = source.groupBy(*keys).agg(F.count(F.lit(1)).alias(COUNT)).orderBy(*keys)
    result = to_pandas(grouped)
    result[col.X] = result[col.X].astype("int64")
    result[COUNT] = result[COUNT].astype("int64")
    if segment:
        result[segment] = result[segment].astype(str)
    result.attrs.update({"unit": unit, "n_customers": int(result[COUNT].sum()), "kind": kind})
    return result


def fit_compressed(spec: Any, statistics: pd.DataFrame, **fit_options: Any) -> Any:
    """Fit a BG/NBD, Pareto/NBD or Gamma-Gamma spec on :func:`compressed_statistics` (rows weighted by ``count``).

    The result is the fit on the customers themselves: same distinct rows, weights, priors and posterior.
    ``fit_options`` go to ``spec.fit`` (``method``, ``draws``, ``seed``, ...).
    """
    if COUNT not in statistics.columns:
        raise LtvlabError(f"the statistics lack the '{COUNT}' column; build them with compressed_statistics")
    return spec.fit(statistics, weights=COUNT, **fit_options)
