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
# Settings of a session that ltvlab starts itself; a session given by the caller is used as it is.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",  # stored dates are naive UTC, as in the DuckDB path
    "spark.sql.execution.arrow.pyspark.enabled": "true",
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


def require_pyspark() -> None:
    """Raise :class:`LtvlabError` with the install command when pyspark cannot be imported."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise LtvlabError(
            "backend 'spark' needs pyspark, an optional extra: pip install 'ltvlab[spark]' "
            "(and Java 17 or newer on the PATH or in JAVA_HOME)"
        ) from exc


def spark_session(
    master: str | None = None,
    *,
    app_name: str = "ltvlab",
    config: Mapping[str, Any] | None = None,
) -> SparkSession:
    """The active SparkSession, or a new one.

    Order of precedence: a session already active in this process (e.g. under ``spark-submit`` or in a
    notebook attached to a cluster) is returned unchanged; else ``SPARK_REMOTE`` (Spark Connect) when set and
    ``master`` is not given; else a classic session on ``master`` (default: the ``SPARK_MASTER`` environment variable,
    else ``local[2]``). ``config`` adds or overrides settings of a new session; local sessions get
    :data:`LOCAL_DEFAULTS` and run the Python workers with this interpreter.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    remote = os.environ.get("SPARK_REMOTE")
    builder = SparkSession.builder.appName(app_name)
    if remote and master is None:
        builder = builder.remote(remote)
    else:
        chosen = master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER
        builder = builder.master(chosen)
        if chosen.startswith("local"):
            # executors are threads of a local JVM that start Python workers: use this interpreter
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            for key, value in LOCAL_DEFAULTS.items():
                builder = builder.config(key, value)
    for key, value in (config or {}).items():
        builder = builder.config(key, str(value))
    return builder.getOrCreate()
