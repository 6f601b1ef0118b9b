"""Spark tests run on one session per mode for the whole run: local mode for all of them, and for the tests marked
``spark_modes(...)`` also a standalone cluster (a master and two workers started from the pyspark distribution on
127.0.0.1) and a Spark Connect server on that cluster. Skipped with the reason when pyspark or Java is missing
(CI has both: ``make test`` installs the ``spark`` extra)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pyspark 4.3 warns that pandas 3 is not yet fully supported (and uses a keyword pandas 3 deprecates); these
# tests are what checks the parts we use.
SPARK_WARNINGS = (
    "ignore:PySpark does not yet fully support pandas:FutureWarning",
    "ignore:The copy keyword is deprecated",
)


def java_problem() -> str | None:
    """Why no Java runtime can start, or None when ``java -version`` works."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return "no Java runtime (java not on PATH and JAVA_HOME unset): Spark needs Java 17+"
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`java -version` failed ({exc}): Spark needs Java 17+"
    if done.returncode != 0:
        return f"`java -version` exited {done.returncode}: Spark needs Java 17+"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            for rule in SPARK_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(rule))


MODES = ("local", "standalone", "connect")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spark_modes(*modes): run this Spark test on each of these sessions: 'local' (local[2], the default), "
        "'standalone' (a master and two workers on 127.0.0.1), 'connect' (a Spark Connect server on that cluster)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``spark`` runs on a local session, and on the cluster modes its marker names.

    The parameter is session-scoped, so pytest groups the tests by mode and ends one mode's session before it
    starts the next: pyspark allows one classic SparkContext per process, and no classic one after Connect.
    """
    if "spark" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("spark_modes")
        modes = marker.args if marker else ("local",)
        unknown = set(modes) - set(MODES)
        if unknown:
            raise pytest.UsageError(f"spark_modes: unknown mode(s) {sorted(unknown)}; use {MODES}")
        metafunc.parametrize("spark", modes, indirect=True, scope="session")


def _require_spark() -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'ltvlab[spark]')")
    problem = java_problem()
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A standalone master, two workers and a Spark Connect server on 127.0.0.1 for the whole run, stopped at
    the end of the session whatever happens (the daemons also get SIGTERM should this process die)."""
    _require_spark()
    from ltvlab.spark.cluster import local_cluster

    context = local_cluster(
        workers=2,
        worker_cores=2,
        worker_memory="1g",
        connect=True,
        workdir=tmp_path_factory.mktemp("spark-cluster"),
        connect_conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.connect.execute.reattachable.enabled": "true",
        },
    )
    try:
        yield context.start()
    finally:
        if context.cluster is not None:
            context.cluster.stop()


@pytest.fixture(scope="session")
def spark(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The session of the test's mode (``request.param``, see :func:`pytest_generate_tests`).

    Cluster sessions are opened the way a user points ltvlab at a cluster: ``SPARK_MASTER`` set to the
    cluster's ``spark://`` or ``sc://`` URL and :func:`ltvlab.spark.spark_session` called without a master.
    """
    _require_spark()
    from ltvlab.spark import spark_session

    mode = getattr(request, "param", "local")
    config = {
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse")),
    }
    saved = {name: os.environ.get(name) for name in ("SPARK_MASTER", "SPARK_REMOTE", "PYSPARK_PYTHON")}
    os.environ.pop("SPARK_REMOTE", None)
    if mode == "local":
        master: str | None = "local[2]"
        config.update({"spark.default.parallelism": "2", "spark.driver.memory": "1g"})
    else:
        cluster = request.getfixturevalue("spark_cluster")
        master = None
        if mode == "standalone":
            os.environ["SPARK_MASTER"] = cluster.master_url
            # a classic driver tells executors which Python to run from PYSPARK_PYTHON (spark.pyspark.python is
            # read by spark-submit only)
            os.environ["PYSPARK_PYTHON"] = sys.executable
            config.update(
                {
                    "spark.executor.memory": "512m",
                    "spark.executor.cores": "1",
                    "spark.cores.max": "2",  # one executor on each worker (the master spreads them out)
                    "spark.driver.host": "127.0.0.1",
                    "spark.driver.bindAddress": "127.0.0.1",
                    "spark.ui.enabled": "false",
                    "spark.local.dir": str(tmp_path_factory.mktemp("spark-local")),
                }
            )
        else:
            os.environ["SPARK_MASTER"] = cluster.connect_url
            config = {"spark.sql.shuffle.partitions": "2"}  # a Connect client sets SQL settings only
    try:
        session = spark_session(master, app_name=f"ltvlab-tests-{mode}", config=config)
        if mode != "connect":
            session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()
    finally:
        # pyspark marks the process as a Spark Connect client and keeps the mark after stop(); lift it, so a
        # classic session can follow (only this fixture opened one)
        if mode == "connect":
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
