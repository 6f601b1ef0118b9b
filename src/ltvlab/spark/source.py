"""Transactions as a Spark DataFrame: from a Parquet/CSV path, a catalog table, or a pandas frame.

Columns come out with the canonical names (``customer_id`` string, ``date`` timestamp without time zone,
``amount`` double) plus any extra columns asked for. Dates are wall-clock times without a time zone, as the
DuckDB path stores them; a time-zone-aware timestamp column is read in the session's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.spark.session import pandas_conversion

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")


def _looks_like_path(source: str) -> bool:
    return (
        "/" in source
        or "\\" in source
        or source.endswith((".parquet", *TEXT_SUFFIXES))
        or Path(source).exists()
    )


def _read_path(spark: SparkSession, path: str) -> DataFrame:
    local = Path(path)
    if "://" not in path and not local.exists() and not any(ch in path for ch in "*?["):
        raise LtvlabError(f"{path}: file or folder not found; check the path (or give a table name)")
    if path.endswith(TEXT_SUFFIXES) or (
        local.is_dir() and any(p.name.endswith(TEXT_SUFFIXES) for p in local.iterdir())
    ):
        sep = "\t" if ".tsv" in path else ","
        return spark.read.csv(path, header=True, sep=sep)
    return spark.read.parquet(path)


def read_transactions(
    spark: SparkSession,
    source: str | pd.DataFrame | DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    extra_columns: Sequence[str] = (),
) -> DataFrame:
    """Transactions with canonical columns from a path, a table name, a pandas or a Spark DataFrame.

    ``columns`` maps canonical names (``customer_id``, ``date``, ``amount``) to the source's names. CSV files are
    read with a header and their dates cast from ISO text; for other date formats, or to quarantine bad rows,
    validate the files first with :func:`ltvlab.spark.ingest_files`, which writes clean Parquet.
    """
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if isinstance(source, pd.DataFrame):
        with pandas_conversion():
            frame = spark.createDataFrame(source)
    elif isinstance(source, SparkDataFrame):
        frame = source
    elif isinstance(source, str | Path):
        text = str(source)
        frame = _read_path(spark, text) if _looks_like_path(text) else _read_table(spark, text)
    else:
        raise LtvlabError(
            f"transactions must be a path, a table name or a DataFrame, not {type(source).__name__}"
        )
    names = {c: (columns or {}).get(c, c) for c in (col.CUSTOMER_ID, col.DATE, col.AMOUNT)}
    missing = [n for n in [*names.values(), *extra_columns] if n not in frame.columns]
    if missing:
        raise LtvlabError(
            f"transactions lack column(s) {missing}; have {frame.columns} "
            "(map your names with columns={'customer_id': ..., 'date': ..., 'amount': ...})"
        )
    dtype = frame.schema[names[col.DATE]].dataType
    date = F.col(names[col.DATE])
    if isinstance(dtype, T.StringType):
        date = F.to_timestamp_ntz(date)
    elif not isinstance(dtype, T.TimestampNTZType):
        date = date.cast(T.TimestampNTZType())  # a date, or a timestamp read in the session's time zone
    return frame.select(
        F.col(names[col.CUSTOMER_ID]).cast("string").alias(col.CUSTOMER_ID),
        date.alias(col.DATE),
        F.col(names[col.AMOUNT]).cast("double").alias(col.AMOUNT),
        *[F.col(c) for c in extra_columns],
    )


def _read_table(spark: SparkSession, name: str) -> DataFrame:
    if not spark.catalog.tableExists(name):
        raise LtvlabError(f"'{name}' is neither an existing path nor a table in the Spark catalog")
    return spark.table(name)
