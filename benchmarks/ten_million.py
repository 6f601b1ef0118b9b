"""Ten million customers end to end (issue 18, item 3): transactions, summary, fits, scores, in one process.

``python benchmarks/ten_million.py`` (options: ``--customers``, ``--segments``, ``--draws``, ``--tune``,
``--seed``, ``--out``). Stages, each timed, in one process so that the peak RSS is that of the whole job:

1. ``generate``: :func:`ltvlab.data.synthetic.write_transactions`, BG/NBD truth in ``--segments`` segments,
   streamed to Parquet in chunks of 200,000 customers;
2. ``summary``: :func:`ltvlab.features.customer_summary` by DuckDB straight from the Parquet file (weeks,
   calibration through 2022-12-31, holdout through 2023-12-31, same-day purchases not merged: the generator's
   purchases are a continuous-time process);
3. ``bgnbd``: hierarchical BG/NBD, partial pooling over the segments, NUTS 2 chains x ``--draws`` after
   ``--tune`` on 2 cores, exact times, the package defaults (parametrisation, tree depth, remedies);
4. ``gamma-gamma``: Gamma-Gamma on the repeaters' mean spend, partial pooling over the same segments, the same
   sampler settings;
5. ``score``: :func:`ltvlab.ltv.write_scores` of P(alive), 52-week expected purchases and discounted CLV with
   their quantiles for every customer from 1,000 draws, to Parquet.

Then the truth: the share of the segment parameters (4 BG/NBD and 3 Gamma-Gamma per segment) whose central 90%
interval covers the generator's value, and the largest ``|posterior mean - truth| / sd``. Prints the stages and
a Markdown table for ``benchmarks/RESULTS.md``, and writes ``ten_million.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # measure.py: the benchmarks' summary and the sampler's own time


def peak_rss_mib() -> float:
    """Peak resident memory of this process and of any waited-for child, MiB (``ru_maxrss`` is KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def diagnostics(fit) -> dict:
    from measure import sampling_seconds

    diag = fit.diagnostics
    stats = fit.idata.sample_stats
    return {
        "sampling_s": sampling_seconds(fit.idata),
        "grads_per_draw": float(stats["n_steps"].mean()) if "n_steps" in stats else None,
        "rows": int(fit.n_rows),
        "parametrization": fit.config.get("parametrization"),
        "max_treedepth": fit.config.get("max_treedepth"),
        "passed": bool(diag.ok),
        "min_ess_bulk": float(diag.min_ess_bulk),
        "min_ess_tail": float(diag.min_ess_tail),
        "max_r_hat": float(diag.max_r_hat),
        "divergences": int(diag.divergences),
        "messages": list(diag.messages),
        "remedies": list(diag.remedies),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "ten_million")
    parser.add_argument(
        "--duckdb-memory", default="2GB", help="DuckDB memory_limit of the summary (default 2GB)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from measure import duckdb_parquet_summary, truth_recovery

    from ltvlab.data.synthetic import write_transactions
    from ltvlab.ltv import BGNBD, GammaGamma, write_scores

    stages: list[dict] = []
    job_start = time.perf_counter()

    def stage(name: str, began: float, **figures) -> None:
        now = time.perf_counter()
        row = {
            "stage": name,
            "wall_s": now - began,
            "elapsed_s": now - job_start,
            "peak_rss_mib": peak_rss_mib(),
        }
        stages.append({**row, **figures})
        extra = "  ".join(f"{k}={v}" for k, v in figures.items() if not isinstance(v, dict | list))
        print(
            f"{name:12s} {row['wall_s']:8.1f} s  total {row['elapsed_s']:8.1f} s  "
            f"peak {row['peak_rss_mib']:7.0f} MiB  {extra}",
            flush=True,
        )

    began = time.perf_counter()
    tx_path = args.out / "transactions.parquet"
    written = write_transactions(
        tx_path, args.customers, n_segments=args.segments, seed=args.seed, progress=False
    )
    stage("generate", began, customers=written.n_customers, transactions=written.n_transactions)

    began = time.perf_counter()
    # DuckDB's default memory limit is 80% of RAM, which its aggregation of 35M rows uses freely (7.5 GB peak
    # for this summary); with 2 GB it spills, and the summary step peaked at 3.7 GB (RESULTS.md, session 17)
    summary, con = duckdb_parquet_summary(str(tx_path), merge_same_day=False, memory_limit=args.duckdb_memory)
    con.close()
    stage("summary", began, customers=len(summary), repeaters=int((summary["x"] > 0).sum()))

    sampler = {"draws": args.draws, "tune": args.tune, "chains": 2, "cores": 2, "seed": args.seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fits' own warnings are in fit.warnings, reported below
        began = time.perf_counter()
        purchase = BGNBD(pooling="partial", segment="segment").fit(summary, **sampler)
        stage("bgnbd", began, **diagnostics(purchase))

        began = time.perf_counter()
        spend = GammaGamma(pooling="partial", segment="segment").fit(summary, **sampler)
        stage("gamma-gamma", began, **diagnostics(spend))

    began = time.perf_counter()
    run = write_scores(purchase, spend, summary, args.out / "scores.parquet", max_draws=1000)
    stage("score", began, customers=run.n_customers, distinct_rows=run.n_unique_summaries, draws=run.n_draws)

    total_s = time.perf_counter() - job_start
    truth = written.segments
    result = {
        "customers": written.n_customers,
        "transactions": written.n_transactions,
        "segments": args.segments,
        "total_s": total_s,
        "peak_rss_mib": peak_rss_mib(),
        "stages": stages,
        "truth": {
            "bgnbd": truth_recovery(purchase, truth, ("r", "alpha", "a", "b")),
            "gamma_gamma": truth_recovery(spend, truth, ("p", "q", "gamma")),
        },
        "fit_warnings": {"bgnbd": list(purchase.warnings), "gamma_gamma": list(spend.warnings)},
    }
    (args.out / "ten_million.json").write_text(json.dumps(result, indent=2, default=str))

    print(
        f"\nend to end {total_s:.1f} s ({total_s / 60:.1f} min), peak RSS {result['peak_rss_mib']:,.0f} MiB"
    )
    for model, figures in result["truth"].items():
        print(
            f"truth {model}: {figures['coverage_90']:.3f} of {figures['n_checks']} 90% intervals cover, "
            f"mean z {figures['mean_z']:+.2f}, max |z| {figures['max_abs_z']:.2f}"
        )
    print("\n| stage | wall s | elapsed s | peak RSS MiB | figures |\n|---|---|---|---|---|")
    for row in stages:
        figures = ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in row.items()
            if k not in ("stage", "wall_s", "elapsed_s", "peak_rss_mib") and v not in ([], None)
        )
        print(
            f"| {row['stage']} | {row['wall_s']:.1f} | {row['elapsed_s']:.1f} | "
            f"{row['peak_rss_mib']:,.0f} | {figures} |"
        )


if __name__ == "__main__":
    main()
