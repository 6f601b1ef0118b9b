"""Wall time of the default report suite (reports.yml) with --jobs 1 vs --jobs 2.

Every run is forced (no cache) and written to a temporary folder, so ``reports/`` is left alone::

    .venv/bin/python benchmarks/report_suite.py [--config reports.yml] [--jobs 1 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from ltvlab.paths import project_root
from ltvlab.reports import load_config, run_batch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=str(project_root() / "reports.yml"))
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    config = load_config(args.config)
    print(f"suite: {len(config.runs)} runs from {args.config}")
    seconds: dict[int, float] = {}
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory(prefix="ltvlab-bench-") as out:
            trial = dataclasses.replace(config, output_dir=Path(out))
            start = time.perf_counter()
            result = run_batch(trial, jobs=jobs, force=True, progress=False)
            seconds[jobs] = time.perf_counter() - start
            status = "all ok" if result.ok else f"{len(result.failed)} failed"
        print(f"--jobs {jobs}: {seconds[jobs]:7.1f} s wall ({status})")
    if 1 in seconds and len(seconds) > 1:
        for jobs, wall in seconds.items():
            if jobs != 1:
                print(f"speed-up --jobs {jobs} vs --jobs 1: {seconds[1] / wall:.2f}x")


if __name__ == "__main__":
    main()
