"""Choosing the engine of the customer summary: ``backend="duckdb"`` (embedded, the default) or ``"spark"``.

Both give the same frame (same columns, dtypes, row order and ``attrs``; values equal to floating-point rounding).
The Spark backend needs the optional extra (``pip install 'ltvlab[spark]'``) and is imported only when chosen, so
``import ltvlab`` never imports pyspark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features.summary import TimeUnit, customer_summary

Backend = Literal["duckdb", "spark"]
BACKENDS: tuple[str, ...] = ("duckdb", "spark")


def check_backend(backend: str) -> Backend:
    """``backend`` if it is one of :data:`BACKENDS`, else :class:`LtvlabError` naming the choices."""
    if backend not in BACKENDS:
        raise LtvlabError(f"backend={backend!r} is not supported; use 'duckdb' (default) or 'spark'")
    return backend  # type: ignore[return-value]


def summary_on(
    backend: str,
    transactions: pd.DataFrame | str,
    *,
    calibration_end: str | date,
    holdout_end: str | date | None = None,
    unit: TimeUnit = "W",
    merge_same_day: bool = True,
    segment_cols: Sequence[str] = (),
    spark: Any = None,
) -> pd.DataFrame:
    """:func:`ltvlab.features.customer_summary` on the chosen backend.

    With ``"duckdb"``, ``transactions`` is a frame (or a table of the DuckDB connection the caller manages via
    :func:`customer_summary`). With ``"spark"`` it is a frame, a Parquet/CSV path or a catalog table name, and
    ``spark`` an optional SparkSession (default: :func:`ltvlab.spark.spark_session`, local mode unless configured).
    """
    options: dict[str, Any] = {
        "calibration_end": calibration_end,
        "holdout_end": holdout_end,
        "unit": unit,
        "merge_same_day": merge_same_day,
        "segment_cols": tuple(segment_cols),
    }
    if check_backend(backend) == "duckdb":
        if spark is not None:
            raise LtvlabError("spark= is only used with backend='spark'")
        return customer_summary(transactions, **options)
    from ltvlab.spark.session import require_pyspark

    require_pyspark()
    from ltvlab.spark.summary import customer_summary as spark_customer_summary

    return spark_customer_summary(transactions, spark=spark, **options)
