"""A throwaway Spark cluster on this machine: a standalone master, workers and a Spark Connect server.

Started from the pyspark distribution itself (``bin/spark-class`` for the master and workers, ``bin/spark-submit``
of the Connect server class, whose jar pyspark ships), bound to 127.0.0.1 on free ports, with work, log and
scratch folders under one temporary folder, and stopped by :meth:`LocalCluster.stop` (also at interpreter exit,
and each daemon gets SIGTERM if the process that started it dies). Tests and benchmarks use it to run the Spark
backend through a real cluster and through Spark Connect, the way it runs at a user's site; nothing is downloaded.

>>> with local_cluster(workers=2, connect=True) as cluster:       # doctest: +SKIP
...     spark = spark_session(cluster.master_url)                  # or spark_session(cluster.connect_url)
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ltvlab.errors import LtvlabError
from ltvlab.spark.session import require_pyspark

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
HOST = "127.0.0.1"
_RUNNING: list[LocalCluster] = []


def spark_home() -> Path:
    """The Spark distribution inside the installed pyspark package (``bin/``, ``jars/``)."""
    require_pyspark()
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-class").exists():
        raise LtvlabError(
            f"{home}: this pyspark has no bin/spark-class; reinstall it with pip install 'ltvlab[spark]'"
        )
    return home


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to send SIGTERM to the daemon when the process that started it dies (no orphaned JVMs)."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class LocalCluster:
    """Daemons of a cluster started by :func:`local_cluster`; ``stop()`` ends them all."""

    master_url: str
    master_ui: str
    workdir: Path
    workers: int
    connect_url: str | None = None
    _processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list, repr=False)
    _owns_workdir: bool = field(default=False, repr=False)

    def log_tail(self, characters: int = 3000) -> str:
        """The end of every daemon's log (for error messages)."""
        parts = []
        for log in sorted((self.workdir / "logs").glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-characters:]}")
        return "\n".join(parts)

    def alive_workers(self) -> int:
        """Workers the master sees as ALIVE (from its status page's JSON)."""
        try:
            with urllib.request.urlopen(f"{self.master_ui}/json/", timeout=5) as response:
                state = json.loads(response.read())
        except (OSError, ValueError):
            return 0
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM each daemon's process group (Connect server first, master last), SIGKILL what is left."""
        for _, proc in reversed(self._processes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, proc in reversed(self._processes):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # executors and their Python workers run in the workers' process groups; make sure none is left
        for _, proc in self._processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self._processes.clear()
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _stop_all() -> None:
    for cluster in list(_RUNNING):
        cluster.stop(timeout=10.0)


atexit.register(_stop_all)


def _environment(workdir: Path, python: str, daemon_memory: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE", "MASTER"):
        env.pop(name, None)
    conf = workdir / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "log4j2.properties").write_text(
        "rootLogger.level = warn\nrootLogger.appenderRef.stdout.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
    )
    home = spark_home()
    core = sorted((home / "jars").glob("spark-core_*.jar"))  # spark-core_2.13-4.3.0.jar
    env.update(
        SPARK_HOME=str(home),
        # what bin/load-spark-env.sh sets: Spark's launcher (also used by workers to start executors) needs it
        SPARK_SCALA_VERSION=core[0].name.split("_")[1].split("-")[0] if core else "2.13",
        SPARK_CONF_DIR=str(conf),
        SPARK_LOG_DIR=str(workdir / "logs"),
        SPARK_LOCAL_DIRS=str(workdir / "scratch"),
        SPARK_LOCAL_IP=HOST,
        SPARK_DAEMON_MEMORY=daemon_memory,
        SPARK_CONNECT_MODE="0",
        PYSPARK_PYTHON=python,
        PYSPARK_DRIVER_PYTHON=python,
    )
    return env


def local_cluster(
    *,
    workers: int = 2,
    worker_cores: int = 2,
    worker_memory: str = "2g",
    daemon_memory: str = "256m",
    connect: bool = False,
    connect_conf: Mapping[str, str] | None = None,
    workdir: str | Path | None = None,
    python: str | None = None,
    timeout: float = 180.0,
) -> _ClusterContext:
    """Start a standalone master with ``workers`` workers (and with ``connect`` a Spark Connect server on it).

    Use it as a context manager (stopped on exit, also on an error or Ctrl-C) or call ``.start()`` and later
    ``stop()``. ``worker_cores`` and ``worker_memory`` are what each worker offers to applications;
    ``daemon_memory`` is the heap of the master and worker daemons themselves. Executors run ``python`` (default:
    this interpreter, which must have ltvlab installed). ``connect_conf`` adds settings of the Connect server's
    application (default: 1 core and 512 MiB per executor, 2 cores in all). Work, log and scratch folders go
    under ``workdir`` (default: a new temporary folder, removed on stop).
    """
    return _ClusterContext(
        workers=workers,
        worker_cores=worker_cores,
        worker_memory=worker_memory,
        daemon_memory=daemon_memory,
        connect=connect,
        connect_conf=dict(connect_conf or {}),
        workdir=workdir,
        python=python or sys.executable,
        timeout=timeout,
    )


@dataclass
class _ClusterContext:
    workers: int
    worker_cores: int
    worker_memory: str
    daemon_memory: str
    connect: bool
    connect_conf: dict[str, str]
    workdir: str | Path | None
    python: str
    timeout: float
    cluster: LocalCluster | None = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.cluster is not None:
            self.cluster.stop()

    def start(self) -> LocalCluster:
        owns = self.workdir is None
        root = Path(tempfile.mkdtemp(prefix="ltvlab-spark-")) if owns else Path(self.workdir)
        for sub in ("logs", "work", "scratch"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        env = _environment(root, self.python, self.daemon_memory)
        home = Path(env["SPARK_HOME"])
        port, ui = _free_port(), _free_port()
        cluster = LocalCluster(
            master_url=f"spark://{HOST}:{port}",
            master_ui=f"http://{HOST}:{ui}",
            workdir=root,
            workers=self.workers,
            _owns_workdir=owns,
        )
        self.cluster = cluster
        _RUNNING.append(cluster)
        try:
            java = _daemon_java_command(env, home)  # one launcher run for the master and every worker
            self._spawn(cluster, env, "master", [
                *java, "org.apache.spark.deploy.master.Master",
                "--host", HOST, "--port", str(port), "--webui-port", str(ui),
            ])  # fmt: skip
            self._wait(cluster, lambda: _listening(port), "the master to listen")
            for i in range(self.workers):
                self._spawn(cluster, env, f"worker-{i + 1}", [
                    *java, "org.apache.spark.deploy.worker.Worker",
                    "--host", HOST, "--port", str(_free_port()), "--webui-port", str(_free_port()),
                    "--cores", str(self.worker_cores), "--memory", self.worker_memory,
                    "--work-dir", str(root / "work"), cluster.master_url,
                ])  # fmt: skip
            connect_port = self._spawn_connect(cluster, env, home) if self.connect else None
            self._wait(
                cluster,
                lambda: cluster.alive_workers() >= self.workers,
                f"{self.workers} workers to register",
            )
            if connect_port is not None:
                self._wait(cluster, lambda: _listening(connect_port), "the Spark Connect server to listen")
                cluster.connect_url = f"sc://{HOST}:{connect_port}"
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _spawn_connect(self, cluster: LocalCluster, env: dict[str, str], home: Path) -> int:
        port = _free_port()
        conf = {
            "spark.connect.grpc.binding.address": HOST,
            "spark.connect.grpc.binding.port": str(port),
            "spark.driver.host": HOST,
            "spark.driver.bindAddress": HOST,
            "spark.driver.memory": "1g",
            "spark.executor.memory": "512m",
            "spark.executor.cores": "1",
            "spark.cores.max": "2",
            "spark.ui.enabled": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.pyspark.python": self.python,
            "spark.local.dir": str(cluster.workdir / "scratch"),
            **self.connect_conf,
        }
        argv = [
            str(home / "bin" / "spark-submit"),
            "--class",
            CONNECT_SERVER_CLASS,
            "--name",
            "ltvlab-connect",
        ]
        argv += ["--master", cluster.master_url]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        # the launcher sizes this server's heap from SPARK_DAEMON_MEMORY, as for the other daemons
        self._spawn(cluster, {**env, "SPARK_DAEMON_MEMORY": conf["spark.driver.memory"]}, "connect", argv)
        return port

    def _spawn(self, cluster: LocalCluster, env: dict[str, str], name: str, argv: list[str]) -> None:
        log = open(cluster.workdir / "logs" / f"{name}.log", "wb")
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cluster.workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        log.close()
        cluster._processes.append((name, proc))

    def _wait(self, cluster: LocalCluster, ready: object, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if ready():  # type: ignore[operator]
                return
            for name, proc in cluster._processes:
                if proc.poll() is not None:
                    raise LtvlabError(
                        f"the Spark {name} exited with code {proc.returncode} while waiting for {what} "
                        f"(is Java 17+ installed?):\n{cluster.log_tail()}"
                    )
            time.sleep(0.5)
        raise LtvlabError(f"timed out after {self.timeout:.0f} s waiting for {what}:\n{cluster.log_tail()}")


def _daemon_java_command(env: Mapping[str, str], home: Path) -> list[str]:
    """The java command line (class path, heap, module options) that ``bin/spark-class`` would run, without
    the class: Spark's own launcher builds it once instead of once per daemon."""
    java = str(Path(env["JAVA_HOME"]) / "bin" / "java") if env.get("JAVA_HOME") else shutil.which("java")
    if not java:
        raise LtvlabError("no Java runtime (java not on PATH and JAVA_HOME unset): Spark needs Java 17+")
    done = subprocess.run(
        [java, "-Xmx128m", "-cp", str(home / "jars" / "*"), "org.apache.spark.launcher.Main",
         "org.apache.spark.deploy.master.Master"],
        env=dict(env),
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    argv = [a.strip() for a in done.stdout.decode().split("\0") if a.strip()]
    if done.returncode != 0 or not argv or argv[-1] != "org.apache.spark.deploy.master.Master":
        raise LtvlabError(f"Spark's launcher failed (exit {done.returncode}): {done.stderr.decode()[-2000:]}")
    return argv[:-1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0
