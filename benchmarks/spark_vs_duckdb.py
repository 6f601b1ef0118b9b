"""Customer summary of N synthetic transactions: DuckDB vs Spark local mode vs a standalone Spark cluster.

``.venv/bin/python benchmarks/spark_vs_duckdb.py [--rows 50000000] [--also 5000000] [--master local[2]]
[--standalone] [--engines duckdb,spark,standalone]``
(``--report-only`` rewrites the RESULTS.md section from the saved figures without measuring again.)

1. Transactions are generated in chunks of customers (a BG/NBD-like process: gamma purchase rates, geometric
   dropout, first purchases over 2022, 20 segments) and written chunk by chunk as Parquet parts into
   ``benchmarks/out/spark/tx_<rows>/``, so no more than one chunk is ever in pandas. Reused when present.
2. Each engine runs in its own child process and computes the same summary (weeks, calibration through
   2022-12-31, holdout through 2023-12-31, segment column), written to Parquet:
   DuckDB: :func:`ltvlab.features.customer_summary` on a view over the Parquet parts (pandas result -> Parquet);
   Spark: :func:`ltvlab.spark.summary_dataframe` in local mode, written by Spark; then the compressed statistics.
   Standalone (``--standalone``): the same Spark code on a standalone cluster that the child starts on
   127.0.0.1 (:func:`ltvlab.spark.cluster.local_cluster`: a master and two workers of one core each, one executor
   per worker) and stops at the end; the cluster start is timed apart and its daemons count in the peak memory.
3. Peak memory is that of the whole process tree (the Spark child starts a JVM, which starts Python workers),
   sampled every 0.2 s with psutil as the sum of resident set sizes (shared pages counted in each process, so an
   upper bound). Column totals of both summaries are compared.

Results go to ``benchmarks/out/spark/results.json`` and the "Spark standalone cluster and local mode vs DuckDB" section of
``benchmarks/RESULTS.md`` (written by ``results_report.spark_section``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from measure import SYNTH_CALIBRATION_END as CALIBRATION_END  # benchmarks/measure.py, beside this script
from measure import SYNTH_HOLDOUT_END as HOLDOUT_END

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "spark"
START = np.datetime64("2022-01-01")
DAYS = 730  # two years of purchases: calibration 2022, holdout 2023
CHUNK_CUSTOMERS = 500_000


# ------------------------------------------------------------------------------------------------ data


def _chunk(rng: np.random.Generator, first_id: int, n: int) -> dict[str, np.ndarray]:
    """Transactions of ``n`` customers: first purchase in 2022, repeat purchases until dropout or the end."""
    first = rng.integers(0, 365, size=n)
    rate = rng.gamma(0.9, 1 / 30.0, size=n)  # purchases per day while alive (mean ~ one a month)
    p_drop = rng.beta(1.2, 6.0, size=n)
    repeats = np.minimum(rng.geometric(p_drop), 80)  # the repeat purchase after which the customer drops out
    owner = np.repeat(np.arange(n), repeats)
    gaps = rng.exponential(1.0, size=owner.size) / rate[owner]
    ends = np.cumsum(repeats)
    totals = np.cumsum(gaps)
    offsets = np.concatenate([[0.0], totals[ends[:-1] - 1]])
    times = first[owner] + (totals - offsets[owner])
    keep = times < DAYS
    owner, day = owner[keep], np.floor(times[keep]).astype(np.int64)
    cust = np.concatenate([np.arange(n), owner])
    days = np.concatenate([first, day])
    order = np.lexsort((days, cust))
    cust, days = cust[order], days[order]
    spend = rng.gamma(3.0, 1 / rng.gamma(4.0, 1 / 60.0, size=n))  # per-customer mean spend level
    amount = np.round(rng.gamma(3.0, 1.0, size=cust.size) * spend[cust] / 3.0 + 1.0, 2)
    segment = rng.integers(0, 20, size=n)
    return {
        "cust": cust,
        "customer_id": np.char.add("C", np.char.zfill((first_id + cust).astype("U10"), 10)),
        "date": START + days.astype("timedelta64[D]"),
        "amount": amount,
        "segment": np.char.add("s", segment[cust].astype("U2")),
    }


def generate(rows: int, folder: Path, seed: int = 2024) -> dict[str, Any]:
    """Write about ``rows`` transactions as Parquet parts, one chunk of customers at a time.

    The last chunk is cut at a customer boundary, so the count can fall short of ``rows`` by one customer's rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = folder / "_done.json"
    if done.exists():
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("part-*.parquet"):
        stale.unlink()
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    written, customers, part = 0, 0, 0
    while written < rows:
        data = _chunk(rng, customers, CHUNK_CUSTOMERS)
        take = min(len(data["amount"]), rows - written)
        if take < len(data["amount"]):  # cut at a customer boundary so no customer is half in
            take = int(np.searchsorted(data["cust"], data["cust"][take - 1], side="left")) or take
        table = pa.table(
            {
                "customer_id": pa.array(data["customer_id"][:take], pa.string()),
                "date": pa.array(data["date"][:take].astype("datetime64[us]")),
                "amount": pa.array(data["amount"][:take]),
                "segment": pa.array(data["segment"][:take], pa.string()),
            }
        )
        pq.write_table(table, folder / f"part-{part:04d}.parquet", row_group_size=1_000_000)
        written += take
        customers += CHUNK_CUSTOMERS
        part += 1
        del data, table
    info = {
        "rows": written,
        "parts": part,
        "generate_s": time.perf_counter() - start,
        "bytes": sum(p.stat().st_size for p in folder.glob("part-*.parquet")),
    }
    done.write_text(json.dumps(info))
    return info


# ------------------------------------------------------------------------------------------- engines


def _totals(path: str) -> dict[str, float]:
    import duckdb

    row = duckdb.sql(
        f"SELECT count(*), sum(x), sum(t_x), sum(\"T\"), sum(monetary), sum(x_holdout) FROM read_parquet('{path}')"
    ).fetchall()[0]
    names = ("customers", "sum_x", "sum_t_x", "sum_T", "sum_monetary", "sum_x_holdout")
    return {n: float(v) for n, v in zip(names, row, strict=True)}


def run_duckdb(source: str, target: str) -> dict[str, Any]:
    from measure import duckdb_parquet_summary

    start = time.perf_counter()
    summary, _ = duckdb_parquet_summary(f"{source}/part-*.parquet")
    summary_s = time.perf_counter() - start
    summary.to_parquet(target, index=False)
    return {"wall_s": time.perf_counter() - start, "summary_s": summary_s, **_totals(target)}


def run_spark(source: str, target: str, master: str, memory: str, standalone: bool = False) -> dict[str, Any]:
    start = time.perf_counter()
    from ltvlab.spark import compressed_statistics, read_transactions, spark_session, summary_dataframe

    cluster = None
    config: dict[str, str] = {"spark.driver.memory": memory, "spark.sql.shuffle.partitions": "32"}
    cluster_s = 0.0
    if standalone:
        from ltvlab.spark.cluster import local_cluster

        # two workers of one core each on this 2-core machine; the executors share the memory local mode gets
        executor = f"{max(1, int(memory.rstrip('g')) // 2)}g" if memory.endswith("g") else memory
        cluster = local_cluster(workers=2, worker_cores=1, worker_memory=executor).start()
        cluster_s = time.perf_counter() - start
        master = cluster.master_url
        os.environ["PYSPARK_PYTHON"] = sys.executable  # the executors' Python (read by the classic driver)
        config.update(
            {
                "spark.driver.memory": "1g",
                "spark.executor.memory": executor,
                "spark.executor.cores": "1",
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.ui.enabled": "false",
            }
        )
    try:
        spark = spark_session(master, app_name="ltvlab-bench", config=config)
        spark.sparkContext.setLogLevel("ERROR")
        if standalone:  # time the work, not the executors' start (counted in session start)
            status = spark.sparkContext._jsc.sc()
            while status.getExecutorMemoryStatus().size() < 3:  # the driver and two executors
                time.sleep(0.5)
        started_s = time.perf_counter() - start
        frame = read_transactions(spark, source, extra_columns=("segment",))
        summary = summary_dataframe(
            frame,
            calibration_end=CALIBRATION_END,
            holdout_end=HOLDOUT_END,
            unit="W",
            segment_cols=("segment",),
        )
        summary.write.mode("overwrite").parquet(target)
        summary_s = time.perf_counter() - start
        written = spark.read.parquet(target)
        statistics = compressed_statistics(written, segment="segment", unit="W")
        stats_s = time.perf_counter() - start - summary_s
        spark.stop()
    finally:
        if cluster is not None:
            cluster.stop()
    return {
        "wall_s": summary_s - cluster_s,
        "cluster_start_s": cluster_s,
        "session_start_s": started_s - cluster_s,
        "statistics_s": stats_s,
        "distinct_rows": len(statistics),
        **_totals(f"{target}/*.parquet"),
    }


# ------------------------------------------------------------------------------------------- measuring


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(argv: list[str], log: Path) -> dict[str, Any]:
    """Run a child, sampling the resident memory of its whole process tree; its JSON result plus peak MiB."""
    import psutil

    result = log.with_suffix(".json")
    result.unlink(missing_ok=True)
    peak = 0
    start = time.perf_counter()
    with open(log, "w") as handle:
        child = subprocess.Popen(
            [*argv, str(result)], stdout=handle, stderr=subprocess.STDOUT, cwd=HERE.parent
        )
        proc = psutil.Process(child.pid)
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                try:
                    peak = max(peak, _tree_rss(proc))
                except psutil.Error:
                    pass
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = child.wait()
        stop.set()
        sampler.join()
    entry: dict[str, Any] = {
        "child_wall_s": time.perf_counter() - start,
        "peak_tree_rss_mb": peak / 2**20,
        "load_avg": os.getloadavg(),
    }
    if code == 0 and result.exists():
        entry.update(status="ok", **json.loads(result.read_text()))
    else:
        entry.update(status="error", returncode=code, log_tail=log.read_text()[-1500:])
    return entry


def _platform() -> dict[str, Any]:
    import platform
    from importlib.metadata import version

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "java": java[0] if java else "unknown",
        "pyspark": version("pyspark"),
        "duckdb": version("duckdb"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--also", type=int, action="append", default=[], help="further (smaller) sizes")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--spark-memory", default="8g", help="spark.driver.memory (local mode: all executors)"
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="also run Spark on a standalone cluster started on 127.0.0.1",
    )
    parser.add_argument("--engines", default=None, help="comma-separated subset of duckdb,spark,standalone")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the RESULTS.md section from the saved results"
    )
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "SOURCE", "TARGET"), help=argparse.SUPPRESS)
    parser.add_argument("result", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        engine, source, target = args.child
        if engine == "duckdb":
            out = run_duckdb(source, target)
        else:
            out = run_spark(source, target, args.master, args.spark_memory, standalone=engine == "standalone")
        Path(args.result).write_text(json.dumps(out, indent=1))
        return

    sys.path.insert(0, str(HERE))
    from results_report import update_spark_section

    OUT.mkdir(parents=True, exist_ok=True)
    store = OUT / "results.json"
    results: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {}
    if args.report_only:
        update_spark_section(HERE / "RESULTS.md", results)
        return
    results["platform"] = _platform()
    results["master"] = args.master
    results["spark_memory"] = args.spark_memory
    engines = ["duckdb", "spark"] + (["standalone"] if args.standalone else [])
    if args.engines:
        engines = [e for e in args.engines.split(",") if e in ("duckdb", "spark", "standalone")]
    for rows in sorted({args.rows, *args.also}):
        folder = OUT / f"tx_{rows}"
        print(f"[{time.strftime('%H:%M:%S')}] generating {rows:,} transactions ...", flush=True)
        data = generate(rows, folder)
        entry: dict[str, Any] = {**results.get(str(rows), {}), "data": data}
        for engine in engines:
            print(f"[{time.strftime('%H:%M:%S')}] {engine} summary of {rows:,} ...", flush=True)
            target = OUT / f"summary_{engine}_{rows}.parquet"
            argv_child = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--master",
                args.master,
                "--spark-memory",
                args.spark_memory,
                "--child",
                engine,
                str(folder),
                str(target),
            ]
            entry[engine] = measure(argv_child, OUT / f"{engine}_{rows}.log")
            print(json.dumps(entry[engine], default=str)[:400], flush=True)
        results[str(rows)] = entry
        store.write_text(json.dumps(results, indent=1, default=str))
        update_spark_section(HERE / "RESULTS.md", results)
    print(f"wrote {store} and the Spark section of {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
