"""Time and peak memory of ``ltvlab summary --data FILE`` on a 2-million-row transactions CSV.

``python benchmarks/loading.py [--rows N] [--src PATH]`` writes the CSV once (``benchmarks/out/loading_N.csv``:
200,000 customers, ids like ``C0012345``, ISO dates, amounts with two decimals, a region column) and runs the
command three times in fresh processes, reporting the median wall time and the largest peak RSS (``os.wait4``).
``--src`` points ``PYTHONPATH`` at another ltvlab source tree (e.g. an export of an earlier commit made with
``git archive COMMIT src | tar -x -C DIR``), to compare before and after a change on the same machine and file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "out"


def write_csv(rows: int, seed: int = 7) -> Path:
    path = OUT / f"loading_{rows}.csv"
    if path.is_file():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, rows // 10, rows)
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 540, rows), unit="D")
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(customers).map("C{:07d}".format),
            "date": days.strftime("%Y-%m-%d"),
            "amount": (rng.integers(100, 50_000, rows) / 100).round(2),
            "region": rng.choice(["north", "south", "east", "west"], rows),
        }
    )
    frame.to_csv(path, index=False, float_format="%.2f")
    return path


def run_once(path: Path, src: str | None) -> tuple[float, float]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    args = [
        sys.executable,
        "-c",
        "from ltvlab.cli import main; main()",
        "summary",
        "--data",
        str(path),
        "--calibration-end",
        "2023-12-31",
        "--json",
    ]  # fmt: skip (no bad rows: no quarantine file)
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"summary failed: {stderr.decode()[-2000:]}")
    json.loads(stdout)
    return seconds, usage.ru_maxrss / 1024  # Linux: KiB -> MiB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--src", default=None, help="ltvlab source tree to put first on PYTHONPATH")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    path = write_csv(options.rows)
    runs = [run_once(path, options.src) for _ in range(options.repeat)]
    result = {
        "rows": options.rows,
        "src": options.src or "installed",
        "median_seconds": round(statistics.median(r[0] for r in runs), 2),
        "max_peak_rss_mib": round(max(r[1] for r in runs)),
        "runs": [[round(s, 2), round(m)] for s, m in runs],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
