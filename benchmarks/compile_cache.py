"""The compile tax, cold and warm, beside pymc-marketing + nutpie, on CDNOW master (issue 18 item 1).

    .venv/bin/python benchmarks/compile_cache.py [--peer-python .venv-bench/bin/python] [--repeats 2]

Same customer summary and NUTS settings as the CDNOW section of RESULTS.md (BG/NBD, complete pooling, 2 chains x
1,000 draws after 1,000 tuning steps, default priors). Every fit runs in a fresh process (``measure.py fit``):

- *ltvlab cold*: an empty compile cache (``LTVLAB_CACHE_DIR`` pointing at a new temporary folder), the first fit a
  machine ever makes of this model: PyTensor's Numba compilation and nutpie's two callbacks from scratch;
- *ltvlab warm*: the next processes on the same cache (the model was compiled before, by another process);
- *pymc-marketing + nutpie*: ``BetaGeoModel`` with ltvlab's priors sampled by nutpie, on its own warm PyTensor cache
  (its first fit is a warm-up, not reported), so the ratio is against the peer at its best.

*fit wall* covers validation, compression, compilation, sampling and diagnostics; *sampling s* is nutpie's own
sampling time (tuning + draws); ESS/s = min bulk ESS over r, alpha, a, b / fit wall. Prints a Markdown table and
the ratios; writes ``benchmarks/out/compile_cache.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DRAWS = {"draws": 1000, "tune": 1000, "chains": 2}


def _child(python: str, script: str, args: list[str], env: dict[str, str] | None = None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        subprocess.run([python, str(HERE / script), *args, str(out)], check=True, env=env)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def _ltvlab_fit(summary: str, cache: str) -> dict:
    env = {**os.environ, "LTVLAB_CACHE_DIR": cache}
    env.pop("PYTENSOR_FLAGS", None)
    kwargs = {"summary": summary, "pooling": "complete", **DRAWS}
    return _child(sys.executable, "measure.py", ["fit", json.dumps(kwargs)], env)


def _peer_fit(python: str, summary: str, priors: dict) -> dict:
    kwargs = {"summary": summary, "sampler": "nutpie", "priors": priors, **DRAWS}
    return _child(python, "measure_peer.py", [json.dumps(kwargs)])


def _row(label: str, r: dict) -> str:
    ess = r["min_ess_bulk"]
    return (
        f"| {label} | {r['wall_s']:.2f} | {r['sampling_s']:.2f} | {r['wall_s'] / r['sampling_s']:.2f} | "
        f"{ess:,.0f} | {ess / r['wall_s']:,.1f} | {r['max_r_hat']:.3f} | {r['divergences']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_peer = HERE.parent / ".venv-bench" / "bin" / "python"
    parser.add_argument("--peer-python", default=str(default_peer) if default_peer.exists() else None)
    parser.add_argument("--repeats", type=int, default=2, help="warm ltvlab fits after the cold one")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    summary = _child(sys.executable, "measure.py", ["prepare_cdnow", json.dumps({"dataset": "cdnow-master"})])
    path = summary["path"]
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="ltvlab-cache-") as cache:
        cold = _ltvlab_fit(path, cache)
        warm = [_ltvlab_fit(path, cache) for _ in range(args.repeats)]
    (OUT / "compile_cache.json").write_text(json.dumps({"cold": cold, "warm": warm}, indent=1))
    peer = None
    if args.peer_python:
        priors = cold["priors"]["normal"]  # ltvlab's resolved {param: [mu0, sd0]} on log(param)
        _peer_fit(args.peer_python, path, priors)  # warm-up: fills the peer's PyTensor cache
        peer = _peer_fit(args.peer_python, path, priors)
    load.append(os.getloadavg()[0])
    results = {"cold": cold, "warm": warm, "peer": peer, "load_average_1min": load}
    (OUT / "compile_cache.json").write_text(json.dumps(results, indent=1))
    print(
        f"CDNOW master, {summary['n_customers']:,} customers; 1-min load average {load[0]:.2f} -> {load[1]:.2f}\n"
    )
    print(
        "| fit | fit wall s | sampling s | wall / sampling | min bulk ESS | ESS/s (wall) | max R-hat | divergences |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(_row("ltvlab, cold cache (first fit ever)", cold))
    for i, r in enumerate(warm, 1):
        print(_row(f"ltvlab, warm cache (process {i + 1})", r))
    if peer:
        print(_row(f"pymc-marketing {peer['pymc_marketing']} + nutpie (warm PyTensor cache)", peer))
    best = min(warm, key=lambda r: r["wall_s"])
    print(f"\nwarm fit wall / sampling: {best['wall_s'] / best['sampling_s']:.2f}x (target <= 1.5x)")
    print(f"cold fit wall / warm fit wall: {cold['wall_s'] / best['wall_s']:.1f}x")
    if peer:
        ours, theirs = best["min_ess_bulk"] / best["wall_s"], peer["min_ess_bulk"] / peer["wall_s"]
        print(f"ESS per wall second, ltvlab warm / peer: {ours / theirs:.1f}x (target >= 35x)")
        ours_cold = cold["min_ess_bulk"] / cold["wall_s"]
        print(f"ESS per wall second, ltvlab cold / peer: {ours_cold / theirs:.1f}x")
        for name in ("r", "alpha", "a", "b"):
            a, b = best["posterior"][name], peer["posterior"][name]
            z = (a["mean"] - b["mean"]) / (a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2) ** 0.5
            print(f"  {name}: ltvlab {a['mean']:.4f} vs peer {b['mean']:.4f} (difference {z:+.1f} MCSE)")


if __name__ == "__main__":
    main()
