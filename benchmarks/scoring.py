"""Scoring 1M customers x 1,000 posterior draws: the compiled engine against the NumPy path it replaced.

``python benchmarks/scoring.py`` (options: ``--customers``, ``--draws``, ``--models``, ``--reference-rows``).

Data: ``--customers`` synthetic BG/NBD (or Pareto/NBD) customers in 20 segments, calibration lengths and
last-purchase times in whole days expressed in weeks (what a summary of dated transactions gives), and a
stand-in posterior of ``--draws`` draws per segment (each parameter times ``exp(N(0, 0.05))`` around the
segment's value) plus a Gamma-Gamma spend posterior. Each measurement runs in a fresh child process; the parent
reads the child's peak RSS from ``os.wait4``:

- ``warm-up``: compiles the kernels once (Numba's on-disk cache), on 1,000 customers; its wall time is the
  first-ever compile;
- ``new``: ``write_scores`` to Parquet of P(alive) and 52-week expected purchases (what RESULTS.md's scoring row
  measured), then the same with discounted CLV (13 four-week periods) -- the wall time covers dedup, scoring,
  the join to customers and the Parquet write, not the data generation;
- ``reference``: the NumPy path the engine replaced (draws x rows arrays of the registry's NumPy closed forms,
  ``discounted_purchases`` times the expected spend, ``np.mean``/``np.quantile``), on the first
  ``--reference-rows`` distinct rows: its time per row extrapolated to all distinct rows, and the largest
  difference to the compiled scores of the same rows (relative to ``max(1, |value|)``).

Prints one JSON line per measurement and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SEGMENTS = 20


@dataclass
class DrawsFit:
    """A fit reduced to what scoring reads: draws per segment, the segment column, the unit."""

    model_name: str
    params: dict[str, np.ndarray]
    segments: tuple[str, ...]
    segment: str = "segment"
    unit: str = "W"
    covariates: Any = None

    def draws(self, max_draws: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        return {k: v[:max_draws] if max_draws else v for k, v in self.params.items()}

    def segment_index(self, summary: pd.DataFrame) -> np.ndarray:
        return summary[self.segment].str.slice(1).astype(np.int64).to_numpy()


def synthetic(n: int, draws: int, model: str, seed: int = 2024) -> tuple[pd.DataFrame, DrawsFit, DrawsFit]:
    from ltvlab.data.synthetic_btyd import simulate_bgnbd, simulate_pareto_nbd

    rng = np.random.default_rng(seed)
    names = ("r", "alpha", "a", "b") if model != "paretonbd" else ("r", "alpha", "s", "beta")
    parts, truth = [], {k: [] for k in names}
    per = n // SEGMENTS
    for g in range(SEGMENTS):
        days = rng.integers(1, 366, size=per).astype(float)
        r, alpha = rng.uniform(0.5, 1.5), rng.uniform(3.0, 12.0)
        if model == "paretonbd":
            s, beta = rng.uniform(0.4, 1.2), rng.uniform(8.0, 30.0)
            frame = simulate_pareto_nbd(per, r=r, alpha=alpha, s=s, beta=beta, T=days / 7.0, seed=seed + g)
            values = (r, alpha, s, beta)
        else:
            a, b = rng.uniform(0.5, 1.2), rng.uniform(2.0, 5.0)
            frame = simulate_bgnbd(per, r=r, alpha=alpha, a=a, b=b, T=days / 7.0, seed=seed + g)
            values = (r, alpha, a, b)
        for k, v in zip(names, values, strict=True):
            truth[k].append(v)
        frame["t_x"] = np.floor(frame["t_x"] * 7.0) / 7.0
        frame["segment"] = f"s{g}"
        parts.append(frame)
    summary = pd.concat(parts, ignore_index=True)
    summary["customer_id"] = [f"c{i}" for i in range(len(summary))]
    summary["monetary"] = np.where(summary["x"] > 0, rng.gamma(3.0, 15.0, size=len(summary)), 0.0)
    summary = summary[["customer_id", "x", "t_x", "T", "monetary", "segment"]]
    summary.attrs["unit"] = "W"
    segs = tuple(f"s{g}" for g in range(SEGMENTS))

    def jitter(values: dict[str, list[float]]) -> dict[str, np.ndarray]:
        return {
            k: np.asarray(v)[None, :] * np.exp(rng.normal(0.0, 0.05, size=(draws, SEGMENTS)))
            for k, v in values.items()
        }

    purchase = DrawsFit(model, jitter(truth), segs)
    spend = DrawsFit(
        "gamma_gamma",
        jitter({"p": [4.0] * SEGMENTS, "q": [4.0] * SEGMENTS, "gamma": [20.0] * SEGMENTS}),
        segs,
    )
    return summary, purchase, spend


def _phase_timers() -> dict[str, list[float]]:
    """Wrap the engine's phases (dedup, tables, per-row pass) to add up their wall and CPU seconds."""
    import ltvlab.ltv.scoring as scoring_module
    from ltvlab.ltv import _score_kernels

    totals: dict[str, list[float]] = {"dedup": [0.0, 0.0], "tables": [0.0, 0.0], "rows": [0.0, 0.0]}

    def timed(module: Any, attr: str, phase: str) -> None:
        inner = getattr(module, attr)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                totals[phase][0] += time.perf_counter() - start
                totals[phase][1] += time.process_time() - cpu

        setattr(module, attr, wrapper)

    timed(scoring_module, "unique_rows", "dedup")
    timed(_score_kernels, "_tables", "tables")
    timed(_score_kernels, "_rows", "rows")
    return totals


def child(args: argparse.Namespace) -> dict[str, Any]:
    from ltvlab.ltv import score_customers, write_scores
    from ltvlab.ltv.engine import scoring_plan, unique_row_table, unique_rows

    summary, purchase, spend = synthetic(args.customers, args.draws, args.model)
    spend_fit = spend if args.clv else None
    OUT.mkdir(exist_ok=True)
    if args.child in ("compile", "warm-up"):
        start, cpu = time.perf_counter(), time.process_time()
        write_scores(purchase, spend_fit, summary, OUT / f"scores_{args.model}.parquet", max_draws=None)
        return {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    if args.child == "spark":
        return spark_child(summary, purchase, spend_fit, args)
    if args.child == "new":
        phases = _phase_timers()
        start, cpu = time.perf_counter(), time.process_time()
        run = write_scores(purchase, spend_fit, summary, OUT / f"scores_{args.model}.parquet", max_draws=None)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        parquet_phases = {k: [round(v[0], 2), round(v[1], 2)] for k, v in phases.items()}
        memory_wall = memory_cpu = float("nan")
        if not args.skip_memory:
            start, cpu_mem = time.perf_counter(), time.process_time()
            score_customers(purchase, spend_fit, summary, max_draws=None)
            memory_wall, memory_cpu = time.perf_counter() - start, time.process_time() - cpu_mem
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "phases_wall_cpu_s": parquet_phases,
            "memory_wall_s": memory_wall,
            "memory_cpu_s": memory_cpu,
            "n_unique": run.n_unique_summaries,
            "columns": len(run.columns),
        }
    # the NumPy reference on the first distinct rows
    from ltvlab.ltv import formulas
    from ltvlab.ltv.discounting import discounted_purchases
    from ltvlab.ltv.engine import summarise_draws

    plan = scoring_plan(purchase, spend_fit, summary=summary, max_draws=None)
    rows = unique_rows(summary, purchase, spend_fit)
    n_ref = min(args.reference_rows, len(rows))
    sl = slice(0, n_ref)
    sub = type(rows)(
        rows.purchase_segment[sl],
        rows.spend_segment[sl],
        rows.x[sl],
        rows.t_x[sl],
        rows.T[sl],
        rows.monetary[sl],
        rows.inverse,
        rows.z[sl],
        {},
    )
    start = time.perf_counter()
    compiled = unique_row_table(plan.draws, sub, horizon=plan.horizon, quantities=plan.quantities)
    compiled_s = time.perf_counter() - start
    model = plan.draws.model
    horizon = plan.horizon
    parts: dict[str, list[np.ndarray]] = {}
    start = time.perf_counter()
    for lo in range(0, n_ref, 2048):
        c = slice(lo, min(lo + 2048, n_ref))
        seg = sub.purchase_segment[c]
        params = [plan.draws.purchase[k][:, seg] for k in model.param_names]
        x, t_x, t_cal = sub.x[c], sub.t_x[c], sub.T[c]
        values = {
            "p_alive": model.p_alive(x, t_x, t_cal, *params),
            "expected_purchases": model.expected_purchases(horizon.horizon, x, t_x, t_cal, *params),
        }
        if spend_fit is not None:
            discounted = discounted_purchases(
                lambda t, x=x, t_x=t_x, t_cal=t_cal, params=params: model.expected_purchases(
                    t, x, t_x, t_cal, *params
                ),
                period_length=horizon.period_length,
                n_periods=horizon.n_periods,
                period_rate=horizon.period_rate,
            )
            s_seg = sub.spend_segment[c]
            s_params = [plan.draws.spend[k][:, s_seg] for k in ("p", "q", "gamma")]
            values["clv"] = discounted * formulas.gg_expected_spend(x, sub.monetary[c], *s_params)
        for name, v in values.items():
            for column, stat in summarise_draws(v, name).items():
                parts.setdefault(column, []).append(stat)
    numpy_s = time.perf_counter() - start
    reference = pd.DataFrame({k: np.concatenate(v) for k, v in parts.items()})
    a, b = compiled[reference.columns].to_numpy(), reference.to_numpy()
    return {
        "reference_rows": n_ref,
        "n_unique": len(rows),
        "numpy_s": numpy_s,
        "compiled_s_same_rows": compiled_s,
        "numpy_s_extrapolated": numpy_s * len(rows) / n_ref,
        "max_abs_diff": float(np.max(np.abs(a - b))),
        "max_rel_diff": float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))),
    }


def spark_child(
    summary: pd.DataFrame, purchase: Any, spend_fit: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """The same scores on Spark executors (``ltvlab.spark.write_scores``, local mode on this machine's cores),
    compared with the in-process engine's scores of the same customers."""
    from ltvlab.ltv import score_customers
    from ltvlab.spark import spark_session
    from ltvlab.spark.scoring import write_scores as spark_write_scores

    spark = spark_session(args.master)
    target = OUT / f"scores_spark_{args.model}"
    start, cpu = time.perf_counter(), time.process_time()
    run = spark_write_scores(purchase, spend_fit, summary, target, max_draws=None)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    ours = pd.read_parquet(target).sort_values("customer_id").reset_index(drop=True)
    spark.stop()
    engine = score_customers(purchase, spend_fit, summary, max_draws=None)
    engine = engine.sort_values("customer_id").reset_index(drop=True)
    numeric = [c for c in ours.columns if c != "customer_id"]
    a, b = ours[numeric].to_numpy(float), engine[numeric].to_numpy(float)
    return {
        "wall_s": wall,
        "driver_cpu_s": cpu,
        "master": args.master,
        "n_customers": run.n_customers,
        "same_customers": bool((ours["customer_id"].astype(str) == engine["customer_id"].astype(str)).all()),
        "max_abs_diff": float(np.max(np.abs(a - b))),
        "max_rel_diff": float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))),
    }


def run_child(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    out = OUT / "scoring_child.json"
    OUT.mkdir(exist_ok=True)
    load_before = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, __file__, *argv, "--result", str(out)], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child {argv} failed with status {status}")
    result = json.loads(out.read_text())
    result["peak_rss_mib"] = usage.ru_maxrss / 1024.0
    result["load_1min_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--models", default="bgnbd,mbgnbd,paretonbd")
    parser.add_argument("--reference-rows", type=int, default=5_000)
    parser.add_argument("--child", choices=("compile", "warm-up", "new", "reference", "spark"))
    parser.add_argument("--master", default="local[2]", help="Spark master of --child spark")
    parser.add_argument("--model", default="bgnbd")
    parser.add_argument("--clv", action="store_true")
    parser.add_argument("--skip-memory", action="store_true", help="time only the Parquet path")
    parser.add_argument("--result")
    args = parser.parse_args()
    if args.child:
        Path(args.result).write_text(json.dumps(child(args)))
        return
    common = ["--customers", str(args.customers), "--draws", str(args.draws)]
    small = ["--customers", "1000", "--draws", "50", "--clv"]
    with tempfile.TemporaryDirectory() as empty_cache:  # first-ever compile: an empty Numba cache
        first = run_child(["--child", "compile", *small], env={**os.environ, "NUMBA_CACHE_DIR": empty_cache})
    print(json.dumps({"measurement": "first-ever compile (empty Numba cache)", **first}), flush=True)
    warm = run_child(["--child", "warm-up", *small])
    print(json.dumps({"measurement": "cached kernels (package cache)", **warm}), flush=True)
    rows = []
    for model in args.models.split(","):
        for clv in (False, True):
            flag = ["--clv"] if clv else []
            memory = ["--skip-memory"] if args.skip_memory else []
            new = run_child(["--child", "new", "--model", model, *common, *flag, *memory])
            ref = run_child(
                [
                    "--child",
                    "reference",
                    "--model",
                    model,
                    *common,
                    *flag,
                    "--reference-rows",
                    str(args.reference_rows),
                ]
            )
            entry = {"model": model, "clv": clv, "new": new, "reference": ref}
            print(json.dumps(entry), flush=True)
            rows.append(entry)
    print(
        "\n| model | quantities | distinct rows | Parquet wall s | CPU s | dedup / tables / rows CPU s | "
        "in memory wall s | peak RSS MiB | load 1 min | NumPy path s (extrapolated) | max abs diff | "
        "max rel diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for e in rows:
        n, r = e["new"], e["reference"]
        what = "P(alive), E[purchases], CLV" if e["clv"] else "P(alive), E[purchases]"
        ph = n["phases_wall_cpu_s"]
        load = n["load_1min_before_after"]
        print(
            f"| {e['model']} | {what} | {n['n_unique']:,} | {n['wall_s']:.1f} | {n['cpu_s']:.1f} | "
            f"{ph['dedup'][1]:.1f} / {ph['tables'][1]:.1f} / {ph['rows'][1]:.1f} | {n['memory_wall_s']:.1f} | "
            f"{n['peak_rss_mib']:.0f} | {load[0]:.1f} -> {load[1]:.1f} | "
            f"{r['numpy_s_extrapolated']:.0f} ({r['reference_rows']:,} rows) | {r['max_abs_diff']:.1e} | "
            f"{r['max_rel_diff']:.1e} |"
        )


if __name__ == "__main__":
    main()
