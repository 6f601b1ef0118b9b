"""How close each fit is to its physical limit (issue 18, item 8): the cost of one log-density + gradient, the
gradient evaluations NUTS spent per effective sample, and the lower bound on the fit's time they give, beside
the measured time::

    .venv/bin/python benchmarks/physical_limit.py                      # CDNOW cases
    .venv/bin/python benchmarks/physical_limit.py --synth-summary benchmarks/out/synth_1000000_summary.parquet

Per case: one default fit (2 chains x 1,000 draws after 1,000 tuning steps, nutpie, 2 cores), then the compiled
log-density + gradient function the sampler calls (the same Numba callback, called through PyTensor with
``trust_input``, so a few microseconds of Python call overhead are included) timed at the posterior mean.

*grads* are NUTS leapfrog steps (one log-density + gradient each) over tuning and draws of both chains, from
nutpie's ``n_steps``. The lower bound is ``grads x cost / cores``: what the sampler cannot beat without fewer
gradient evaluations (a better mass matrix or parametrisation) or a cheaper gradient. *sampling* is the sampler's
own wall time, *fit* the whole call (validation, compression, model build, cache load, diagnostics).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.ltv.diagnostics import leapfrog_steps

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
CORES = 2


def _cdnow(dataset: str, cohorts: bool = False) -> pd.DataFrame:
    from ltvlab.data import load_dataset
    from ltvlab.features import columns as col
    from ltvlab.features import customer_summary
    from ltvlab.features.segments import first_purchase_segments

    tx = load_dataset(dataset)
    segments: tuple[str, ...] = ()
    if cohorts:
        firsts = first_purchase_segments(tx, cohort="month").set_index(col.CUSTOMER_ID)["cohort"]
        tx = tx.assign(cohort=tx[col.CUSTOMER_ID].astype(str).map(firsts.astype(str)))
        segments = ("cohort",)
    return customer_summary(
        tx, calibration_end="1997-09-30", holdout_end="1998-06-30", unit="W", segment_cols=segments
    )


def _cases(synth_summary: str | None) -> list[tuple[str, Any, pd.DataFrame]]:
    from ltvlab.features import columns as col
    from ltvlab.ltv import GammaGamma, model_spec

    sample, master = _cdnow("cdnow-sample"), _cdnow("cdnow-master")
    cases = [
        ("cdnow-sample, BG/NBD, complete", model_spec("bgnbd", pooling="complete"), sample),
        ("cdnow-master, BG/NBD, complete", model_spec("bgnbd", pooling="complete"), master),
        ("cdnow-master, Pareto/NBD, complete", model_spec("paretonbd", pooling="complete"), master),
        (
            "cdnow-master, Gamma-Gamma, complete",
            GammaGamma(pooling="complete"),
            master[(master[col.X] > 0) & (master[col.MONETARY] > 0)],
        ),
        (
            "cdnow-sample, BG/NBD, partial over 3 cohorts",
            model_spec("bgnbd", pooling="partial", segment="cohort"),
            _cdnow("cdnow-sample", cohorts=True),
        ),
    ]
    if synth_summary:
        summary = pd.read_parquet(synth_summary)
        summary.attrs["unit"] = "W"
        name = f"synthetic {len(summary):,}, BG/NBD, partial over {summary['segment'].nunique()} segments"
        cases.append((name, model_spec("bgnbd", pooling="partial", segment="segment"), summary))
    return cases


def _steps(idata: Any) -> tuple[float, float]:
    """Leapfrog steps of the draws and of the tuning phase, all chains (tuning NaN when not kept)."""
    draws, tuning = leapfrog_steps(idata)
    return draws, np.nan if tuning is None else tuning


def _gradient_cost(spec: Any, summary: pd.DataFrame, fit: Any, evals: int) -> float:
    """Seconds per log-density + gradient of the compiled function the sampler calls, at the posterior mean."""
    from ltvlab.ltv._compiled import compile_model

    model = spec.build_model(summary)
    compiled, _ = compile_model(model)
    fn = compiled.logp_func
    fn.trust_input = True
    # the posterior mean in the sampler's coordinates where they are read off the draws (the cost of a Pareto/NBD
    # gradient depends on the point: series or quadrature); zero-sum coordinates and other transforms at 0
    names, slices, _ = compiled.shape_info
    point = np.zeros(compiled.n_dim)
    posterior = fit.idata.posterior
    for value_name, where in zip(names, slices, strict=False):
        if where.start >= compiled.n_dim:
            break
        base = value_name.removesuffix("_log__")
        if value_name in posterior:
            point[where] = np.ravel(posterior[value_name].mean(("chain", "draw")).to_numpy())
        elif value_name.endswith("_log__") and base in posterior:
            point[where] = np.ravel(np.log(posterior[base]).mean(("chain", "draw")).to_numpy())
    x = np.ascontiguousarray(point, dtype=np.float64)
    fn(x)  # warm
    reps = max(3, evals)
    start = time.perf_counter()
    for _ in range(reps):
        fn(x)
    return (time.perf_counter() - start) / reps


def measure(name: str, spec: Any, summary: pd.DataFrame, seed: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        fit = spec.fit(summary, method="nuts", draws=1000, tune=1000, chains=2, seed=seed, remedy=False)
        fit_s = time.perf_counter() - started
    sampling = float(fit.idata.posterior.attrs["sampling_time"])
    draw_steps, tune_steps = _steps(fit.idata)
    grads = draw_steps + (tune_steps if np.isfinite(tune_steps) else 0.0)
    d = fit.diagnostics
    probe = max(20, int(2.0 / max(sampling / max(grads, 1.0) * CORES, 1e-6)))  # about 2 s of evaluations
    cost = _gradient_cost(spec, summary, fit, min(probe, 20_000))
    bound = grads * cost / CORES
    return {
        "case": name,
        "customers": len(summary),
        "gradient_us": cost * 1e6,
        "grads_tune": tune_steps,
        "grads_draws": draw_steps,
        "grads_per_draw": draw_steps / 2000.0,
        "min_ess_bulk": d.min_ess_bulk,
        "grads_per_ess": draw_steps / max(d.min_ess_bulk, 1.0),
        "bound_s": bound,
        "sampling_s": sampling,
        "fit_s": fit_s,
        "sampling_over_bound": sampling / bound,
        "gate": "passed" if d.ok else "; ".join(d.messages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synth-summary", help="a synthetic summary Parquet (measure.py prepare_synth)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", default=str(OUT / "physical_limit.json"))
    args = parser.parse_args()
    rows = []
    load = os.getloadavg()[0]
    for name, spec, summary in _cases(args.synth_summary):
        row = measure(name, spec, summary, args.seed)
        rows.append(row)
        print(
            f"{row['case']}: {row['gradient_us']:.1f} us per gradient, {row['grads_tune']:.0f} + {row['grads_draws']:.0f}"
            f" grads ({row['grads_per_draw']:.1f} per draw, {row['grads_per_ess']:.1f} per ESS, min ESS"
            f" {row['min_ess_bulk']:.0f}); bound {row['bound_s']:.2f} s, sampling {row['sampling_s']:.2f} s"
            f" ({row['sampling_over_bound']:.2f}x), fit {row['fit_s']:.2f} s; gate {row['gate']}",
            flush=True,
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"load_1min_before": load, "rows": rows}, indent=2))
    print(
        f"load average before {load:.2f}, after {os.getloadavg()[0]:.2f}; written {args.out}", file=sys.stderr
    )


if __name__ == "__main__":
    main()
