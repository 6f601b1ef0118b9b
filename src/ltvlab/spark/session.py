"""Getting a SparkSession: local mode by default, a cluster through ``master``, ``SPARK_REMOTE`` or spark-submit.

``pyspark`` is an optional extra (``pip install 'ltvlab[spark]'``); :func:`require_pyspark` turns its absence into
an :class:`~ltvlab.errors.LtvlabError` that says how to install it.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ltvlab.errors import LtvlabError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
# SQL settings of every session ltvlab starts itself (local, cluster or Spark Connect); a session given by the
# caller, or already active, is used as it is.
SESSION_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",  # stored dates are naive UTC, as in the DuckDB path
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# Further settings of a local-mode session (its driver JVM is started by this process).
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "2g",
    "spark.log.level": "ERROR",
}
# pyspark 4.3 warns on every pandas conversion that pandas 3 is "not yet fully supported"; the conversions ltvlab
# makes are checked against the DuckDB path by tests/spark, so the notice is silenced around them only.
_PANDAS_NOTICE = "PySpark does not yet fully support pandas"


@contextmanager
def pandas_conversion() -> Iterator[None]:
    """Silence pyspark's pandas-3 notice (and its deprecated ``copy=`` use) during one pandas <-> Spark conversion."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS_NOTICE, category=FutureWarning)
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
        yield


def to_pandas(frame: Any) -> Any:
    """``frame.toPandas()`` without pyspark's conversion notices and with empty ``attrs`` (a Spark Connect client
    puts the query's metrics there; ltvlab sets its own)."""
    with pandas_conversion():
        result = frame.toPandas()
    result.attrs.clear()
    return result


def require_pyspark() -> None:
    """Raise :class:`LtvlabError` with the install command when pyspark cannot be imported."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise LtvlabError(
            "backend 'spark' needs pyspark, an optional extra: pip install 'ltvlab[spark]' "
            "(and Java 17 or newer on the PATH or in JAVA_HOME)"
        ) from exc


def is_connect_url(master: str | None) -> bool:
    """Whether a master URL names a Spark Connect server (``sc://host:port``)."""
    return bool(master) and str(master).startswith("sc://")


def spark_session(
    master: str | None = None,
    *,
    app_name: str = "ltvlab",
    config: Mapping[str, Any] | None = None,
) -> SparkSession:
    """The active SparkSession, or a new one.

    Order of precedence: a session already active in this process (e.g. under ``spark-submit`` or in a
    notebook attached to a cluster) is returned unchanged; else ``master`` when given; else the ``SPARK_REMOTE``
    environment variable (Spark Connect); else ``SPARK_MASTER``; else ``local[2]``. A master URL
    ``sc://host:15002`` opens a Spark Connect session; any other (``spark://host:7077``, ``yarn``, ``local[4]``)
    a classic session on that master. New sessions get :data:`SESSION_DEFAULTS`; local ones also
    :data:`LOCAL_DEFAULTS` and run the Python workers with this interpreter. ``config`` adds or overrides settings
    of a new session (on Spark Connect only SQL settings, ``spark.sql.*``, can be set by the client).
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    chosen = master or os.environ.get("SPARK_REMOTE") or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER
    builder = SparkSession.builder.appName(app_name)
    settings = dict(SESSION_DEFAULTS)
    if is_connect_url(chosen) or (master is None and chosen == os.environ.get("SPARK_REMOTE")):
        builder = builder.remote(chosen)
    else:
        builder = builder.master(chosen)
        if chosen.startswith("local"):
            # executors are threads of a local JVM that start Python workers: use this interpreter
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            settings.update(LOCAL_DEFAULTS)
    settings.update({key: str(value) for key, value in (config or {}).items()})
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
