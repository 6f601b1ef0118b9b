"""Spark tests run in local mode on one session for the whole run; skipped with the reason when pyspark or Java
is missing (CI has both: ``make test`` installs the ``spark`` extra)."""

from __future__ import annotations

import os
import shutil
import subprocess
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


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'ltvlab[spark]')")
    problem = java_problem()
    if problem:
        pytest.skip(problem)
    from ltvlab.spark import spark_session

    session = spark_session(
        "local[2]",
        app_name="ltvlab-tests",
        config={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": "1g",
            "spark.sql.warehouse.dir": str(tmp_path_factory.mktemp("spark-warehouse")),
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
