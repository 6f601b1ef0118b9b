"""Wall time of the default report suite (reports.yml): the whole batch and each run, at one or more --jobs.

Every run is forced (no cache) and written to a temporary folder, so ``reports/`` is left alone::

    .venv/bin/python benchmarks/report_suite.py [--config reports.yml] [--jobs 1 2] [--only NAME ...]
    .venv/bin/python benchmarks/report_suite.py --jobs 2 --original    # the six runs of the first suite

Prints, per --jobs: the batch wall time, the CPU seconds of the batch's process tree (workers and their
kernels), the 1-minute load average before and after, then each run's own wall time (longest first) and, when
the six original runs are part of the batch, their subtotal (sum of their run times).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from ltvlab.paths import project_root
from ltvlab.reports import load_config, run_batch
from ltvlab.reports.outcome import IPYNB_FILE

# The six runs of the suite when its 75 s budget was set (issue 14); later runs are timed but not in the subtotal.
ORIGINAL_RUNS = (
    "data-quality-cdnow-sample",
    "data-quality-cdnow-master",
    "experiment-hillstrom",
    "strategy-evidence-synthetic",
    "budget-allocation-synthetic",
    "ltv-cdnow-sample",
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _slowest_cells(run_dir: Path, n: int) -> list[tuple[float, int, str]]:
    """The ``n`` slowest code cells of an executed notebook (Papermill records each cell's duration)."""
    if n <= 0 or not (run_dir / IPYNB_FILE).is_file():
        return []
    cells = json.loads((run_dir / IPYNB_FILE).read_text(encoding="utf-8"))["cells"]
    timed = []
    for index, cell in enumerate(cells):
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if cell["cell_type"] == "code" and duration is not None:
            source = "".join(cell["source"]).strip().splitlines()
            timed.append((float(duration), index, (source[0] if source else "")[:70]))
    return sorted(timed, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=str(project_root() / "reports.yml"))
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="+", default=(), help="run only these runs (names in the config)")
    parser.add_argument("--original", action="store_true", help="run only the six original runs")
    parser.add_argument("--cells", type=int, default=0, help="also print each run's N slowest cells")
    parser.add_argument("--keep", help="write the batch here (kept) instead of a temporary folder")
    args = parser.parse_args()
    config = load_config(args.config)
    only = tuple(args.only) or (ORIGINAL_RUNS if args.original else ())
    selected = config.select(only)
    print(f"suite: {len(selected)} of {len(config.runs)} runs from {Path(args.config).name}")
    seconds: dict[int, float] = {}
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory(prefix="ltvlab-bench-") as tmp:
            out = Path(args.keep) / f"jobs{jobs}" if args.keep else Path(tmp)
            trial = dataclasses.replace(config, output_dir=Path(out))
            load_before = os.getloadavg()[0]
            cpu0, start = _children_cpu(), time.perf_counter()
            result = run_batch(trial, jobs=jobs, only=only, force=True, progress=False)
            seconds[jobs] = time.perf_counter() - start
            cpu = _children_cpu() - cpu0
            load_after = os.getloadavg()[0]
            status = "all ok" if result.ok else f"{len(result.failed)} failed"
            slow_cells = {o.name: _slowest_cells(out / "runs" / o.name, args.cells) for o in result.outcomes}
        print(
            f"--jobs {jobs}: {seconds[jobs]:7.1f} s wall, {cpu:7.1f} s CPU ({status}); "
            f"load average {load_before:.2f} before, {load_after:.2f} after"
        )
        ran = [o for o in result.outcomes if o.name in result.executed]
        for o in sorted(ran, key=lambda o: -(o.duration_seconds or 0)):
            print(f"    {o.name:32s} {o.duration_seconds or 0:7.1f} s  {o.status}")
            if o.error:
                print("        " + o.error.strip().replace("\n", "\n        ")[-2000:])
            for cell_seconds, index, first_line in slow_cells.get(o.name, []):
                print(f"        cell {index:3d} {cell_seconds:6.1f} s  {first_line}")
        original = [o for o in ran if o.name in ORIGINAL_RUNS]
        if len(original) == len(ORIGINAL_RUNS) and len(ran) > len(original):
            total = sum(o.duration_seconds or 0 for o in original)
            print(f"    six original runs: {total:.1f} s of run time (sum over runs)")
    if 1 in seconds and len(seconds) > 1:
        for jobs, wall in seconds.items():
            if jobs != 1:
                print(f"speed-up --jobs {jobs} vs --jobs 1: {seconds[1] / wall:.2f}x")


if __name__ == "__main__":
    main()
