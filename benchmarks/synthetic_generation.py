"""Time and memory of the synthetic CRM generator at one million customers.

Run: ``.venv/bin/python benchmarks/synthetic_generation.py [--customers 1000000] [--model bgnbd] [--seed 2024]``.
Prints wall time, peak resident memory (``resource.getrusage``, the whole process) and the table sizes, then one
Markdown table row (prefixed ``RESULTS.md:``) that can be copied into ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--model", choices=["bgnbd", "paretonbd"], default="bgnbd")
    parser.add_argument("--assignment", choices=["randomised", "confounded"], default="randomised")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    from ltvlab.data.synthetic import generate_crm

    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    crm = generate_crm(
        args.customers, n_segments=20, model=args.model, assignment=args.assignment, seed=args.seed
    )
    wall_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is in KiB on Linux
    frames_mb = sum(
        getattr(crm, name).memory_usage(deep=True).sum() / 2**20
        for name in ("customers", "transactions", "interactions", "experiment")
    )
    n_tx, n_ix = len(crm.transactions), len(crm.interactions)
    print(
        f"customers          {args.customers:,} ({args.model}, {args.assignment}, 20 segments, seed {args.seed})"
    )
    print(f"transactions       {n_tx:,}")
    print(f"interactions       {n_ix:,}")
    print(f"wall time          {wall_s:.1f} s")
    print(f"peak RSS           {peak_mb:,.0f} MiB (after imports {rss_before_mb:,.0f} MiB)")
    print(f"frames in memory   {frames_mb:,.0f} MiB")
    print(
        f"mean tx/customer   {n_tx / args.customers:.2f}; repeaters {np.mean(crm.customers['pre_purchases'] > 0):.3f}"
    )
    print(
        f"RESULTS.md: | synthetic CRM generation | {args.customers:,} customers ({args.model}) | "
        f"{wall_s:.1f} s | {peak_mb:,.0f} MiB peak RSS | {n_tx:,} transactions, {n_ix:,} interactions | "
        f"Python {platform.python_version()}, {sys.platform} |"
    )


if __name__ == "__main__":
    main()
