"""Cold vs warm compile cache of a CDNOW-master BG/NBD NUTS fit, the physical limit, and the peer (issue 18).

Runs, each in a fresh process: ltvlab with an empty cache directory (cold: first-ever fit), ltvlab again on that
directory (warm: a model of the same structure compiled before), and optionally pymc-marketing + nutpie in the
benchmark environment (``measure_peer.py``). Prints per run: fit wall time, sampler time, min bulk ESS,
ESS per wall second; for ltvlab also the cost of one log-density + gradient evaluation (timed on the compiled
callback), gradient evaluations per effective sample, and the implied lower bound on the fit time
(cost x gradient evaluations of the whole run, tuning included)::

    nice -n 10 .venv/bin/python benchmarks/compile_cache.py [--dataset cdnow-master] [--peer-python .venv-bench/bin/python]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
CALIBRATION_END = "1997-09-30"


def _gradient_cost(compiled, repeats: int = 2000) -> float:
    """Seconds per call of the compiled log-density + gradient callback (median of 5 batches)."""
    import numpy as np

    x = np.zeros(compiled.n_dim)
    out = np.zeros(compiled.n_dim)
    logp = np.zeros(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    args = (
        compiled.n_dim,
        x.ctypes.data_as(ptr),
        out.ctypes.data_as(ptr),
        logp.ctypes.data_as(ptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )
    call = compiled.compiled_logp_func.ctypes
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            call(*args)
        times.append((time.perf_counter() - start) / repeats)
    return float(np.median(times))


def child(dataset: str, out: str) -> None:
    import numpy as np

    from ltvlab.data import load_dataset
    from ltvlab.features import customer_summary
    from ltvlab.ltv import BGNBD, _cache

    summary = customer_summary(load_dataset(dataset), calibration_end=CALIBRATION_END, unit="W")
    start = time.perf_counter()
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = BGNBD().fit(summary, draws=1000, tune=1000, chains=2, seed=2024)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    stats = fit.idata.sample_stats
    evals = float(np.asarray(stats["n_steps"]).sum())  # draws only; warmup steps are not stored
    compiled = _cache.compile_nutpie(BGNBD().build_model(summary))
    cost = _gradient_cost(compiled)
    ess = fit.diagnostics.min_ess_bulk
    result = {
        "wall_s": wall,
        "cpu_s": cpu,
        "sampling_s": float(fit.idata.posterior.attrs["sampling_time"]),
        "min_ess_bulk": ess,
        "grad_cost_us": cost * 1e6,
        "grad_evals_draws": evals,
        "grad_evals_per_ess": 2 * evals / ess,  # tuning takes about as many as the draws (same length)
        "lower_bound_s": 2 * evals * cost,
        "cache_hits": int(compiled.compiled_logp_func.cache_hits),
    }
    Path(out).write_text(json.dumps(result))


def _run(argv: list[str], env: dict[str, str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    start = time.perf_counter()
    subprocess.run([*argv, out], env=env, check=True)
    result = json.loads(Path(out).read_text())
    result["process_s"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="cdnow-master")
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--child", nargs=2, metavar=("DATASET", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="ltvlab-cache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTENSOR_FLAGS"}
        env["LTVLAB_CACHE_DIR"] = cache
        me = [sys.executable, str(Path(__file__).resolve()), "--child", args.dataset]
        results["ltvlab cold"] = _run(me, env)
        results["ltvlab warm"] = _run(me, env)
    if args.peer_python:
        sys.path.insert(0, str(HERE))
        from measure import prepare_cdnow

        prep = prepare_cdnow(dataset=args.dataset)
        peer = [args.peer_python, str(HERE / "measure_peer.py")]
        kwargs = {"summary": prep["path"], "draws": 1000, "tune": 1000, "chains": 2, "sampler": "nutpie"}
        results["pymc-marketing"] = _run([*peer, json.dumps(kwargs)], dict(os.environ))
    print(
        f"{'run':16s} {'wall s':>8s} {'sampling s':>10s} {'wall/sampling':>13s} {'ESS':>6s} {'ESS/wall s':>10s}"
    )
    for name, r in results.items():
        print(
            f"{name:16s} {r['wall_s']:8.1f} {r['sampling_s']:10.2f} {r['wall_s'] / r['sampling_s']:13.2f} "
            f"{r['min_ess_bulk']:6.0f} {r['min_ess_bulk'] / r['wall_s']:10.1f}"
        )
    for name in ("ltvlab cold", "ltvlab warm"):
        r = results[name]
        print(
            f"{name}: one logp+grad {r['grad_cost_us']:.1f} us, {r['grad_evals_per_ess']:.1f} gradient evaluations "
            f"per effective sample, lower bound {r['lower_bound_s']:.2f} s vs sampling {r['sampling_s']:.2f} s, "
            f"fit {r['wall_s']:.2f} s (cache hits {r['cache_hits']})"
        )
    if "pymc-marketing" in results:
        ours = results["ltvlab warm"]["min_ess_bulk"] / results["ltvlab warm"]["wall_s"]
        peer = results["pymc-marketing"]["min_ess_bulk"] / results["pymc-marketing"]["wall_s"]
        print(f"ESS per wall second, ltvlab warm / pymc-marketing: {ours / peer:.1f}x")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
