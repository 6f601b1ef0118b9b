"""Apache Spark backend: ingest validation, customer summary, compressed statistics and distributed scoring.

The same pipeline as the embedded DuckDB path for data that outgrows one machine. Needs the optional extra
(``pip install 'ltvlab[spark]'``) and Java 17+; nothing else in ltvlab imports this package, so pyspark is
loaded only when the Spark backend is chosen (``backend="spark"``, see :mod:`ltvlab.features.backend`).

- :func:`spark_session`: the active session, or local mode (``local[2]``), ``SPARK_REMOTE`` or a master URL;
- :func:`ingest_files`: validate CSV/Parquet files on the executors with the loaders' own rules and quarantine;
- :func:`read_transactions`, :func:`summary_dataframe`, :func:`customer_summary`: the customer summary;
- :func:`compressed_statistics`, :func:`fit_compressed`: distinct rows with counts, fitted on the driver;
- :func:`score_dataframe`, :func:`write_scores`: P(alive), expected purchases and CLV on the executors.
"""

from ltvlab.spark.session import require_pyspark

require_pyspark()

from ltvlab.spark.ingest import FileReport, SparkIngest, ingest_files, list_files  # noqa: E402
from ltvlab.spark.scoring import SparkScoringRun, score_dataframe, write_scores  # noqa: E402
from ltvlab.spark.session import spark_session  # noqa: E402
from ltvlab.spark.source import read_transactions  # noqa: E402
from ltvlab.spark.stats import COUNT, compressed_statistics, fit_compressed, statistics_columns  # noqa: E402
from ltvlab.spark.summary import customer_summary, summary_dataframe, to_summary_frame  # noqa: E402

__all__ = [
    "COUNT",
    "FileReport",
    "SparkIngest",
    "SparkScoringRun",
    "compressed_statistics",
    "customer_summary",
    "fit_compressed",
    "ingest_files",
    "list_files",
    "read_transactions",
    "require_pyspark",
    "score_dataframe",
    "spark_session",
    "statistics_columns",
    "summary_dataframe",
    "to_summary_frame",
    "write_scores",
]
