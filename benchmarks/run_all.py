"""Performance and scale benchmarks of ltvlab against pymc-marketing's BetaGeoModel (``make bench``).

Every measurement runs in a fresh child process (``measure.py`` for ltvlab in this interpreter,
``measure_peer.py`` in the benchmark environment that has pymc-marketing), so the peak RSS read from
``os.wait4`` is that measurement's alone. Figures are appended to ``benchmarks/out/results.json`` as each one
finishes and ``benchmarks/RESULTS.md`` (+ ``benchmarks/scaling.png``) is rewritten from all results so far, so
an interrupted run loses nothing and sections can be rerun one at a time::

    .venv/bin/python benchmarks/run_all.py [--only cdnow,synth,duckdb,curve] [--quick]
        [--peer-python .venv-bench/bin/python] [--peer-cap-min 15]

Sections, in order of importance: ``cdnow`` (CDNOW master then sample, complete pooling, both tools),
``synth`` (1M then 100k customers in 20 segments: our partial-pooling fit + scoring, the peer's fit under a time
cap), ``duckdb`` (summary of ~10M transactions, DuckDB vs pandas), ``curve`` (fit time and memory at 10k, 100k,
1M customers). ``--quick`` shrinks every size and the draws for a smoke test (results go to ``out/quick``).
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from results_report import write_report  # noqa: E402

SECTIONS = ("cdnow", "synth", "duckdb", "curve")


class Runner:
    """Runs measurements in children and keeps ``results.json`` + RESULTS.md up to date."""

    def __init__(self, out_dir: Path, peer_python: str | None, peer_cap_s: float, report: Path | None):
        self.out_dir = out_dir
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.peer_python = peer_python
        self.peer_cap_s = peer_cap_s
        self.report = report
        self.path = out_dir / "results.json"
        self.results: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def run(self, key: str, argv: list[str], cap_s: float | None = None) -> dict[str, Any]:
        out = self.out_dir / f"{key}.json"
        log = self.out_dir / f"{key}.log"
        out.unlink(missing_ok=True)
        print(f"[{time.strftime('%H:%M:%S')}] {key} ...", flush=True)
        start = time.perf_counter()
        with open(log, "w") as handle:
            proc = subprocess.Popen(
                [*argv, str(out)], stdout=handle, stderr=subprocess.STDOUT, cwd=HERE.parent
            )
            timer = threading.Timer(cap_s, proc.kill) if cap_s else None
            if timer:
                timer.start()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if timer:
                timer.cancel()
        elapsed = time.perf_counter() - start
        entry: dict[str, Any] = {
            "child_wall_s": elapsed,
            "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "load_avg": os.getloadavg(),
        }
        if proc.returncode == 0 and out.exists():
            entry.update(status="ok", **json.loads(out.read_text()))
        elif cap_s and elapsed >= cap_s * 0.99:
            entry.update(status="timeout", cap_s=cap_s)
        else:
            entry.update(status="error", returncode=proc.returncode, log_tail=log.read_text()[-1500:])
        print(
            f"    -> {entry['status']} in {elapsed:.0f} s, peak RSS {entry['peak_rss_mb']:.0f} MiB",
            flush=True,
        )
        self.results[key] = entry
        self.path.write_text(json.dumps(self.results, indent=1, default=str))
        if self.report is not None:
            write_report(self.results, self.report, HERE / "scaling.png")
        return entry

    def ours(self, key: str, name: str, cap_s: float | None = None, **kwargs: Any) -> dict[str, Any]:
        argv = [sys.executable, str(HERE / "measure.py"), name, json.dumps(kwargs)]
        return self.run(key, argv, cap_s)

    def peer(self, key: str, **kwargs: Any) -> dict[str, Any] | None:
        if not self.peer_python:
            print(f"    skip {key}: no --peer-python", flush=True)
            return None
        argv = [self.peer_python, str(HERE / "measure_peer.py"), json.dumps(kwargs)]
        return self.run(key, argv, self.peer_cap_s)

    def prepared(self, key: str, name: str, **kwargs: Any) -> dict[str, Any]:
        """A data-preparation step, reused when its output files still exist."""
        done = self.results.get(key, {})
        files = [done.get(k) for k in ("path", "summary", "transactions") if done.get(k)]
        if done.get("status") == "ok" and files and all(Path(f).exists() for f in files):
            return done
        entry = self.ours(key, name, **kwargs)
        if entry["status"] != "ok":
            raise SystemExit(f"{key} failed:\n{entry.get('log_tail', '')}")
        return entry


def run_sections(
    runner: Runner, sections: list[str], quick: bool, time_step: float | None, keep_peer: bool
) -> None:
    draws, tune = (200, 200) if quick else (1000, 1000)
    sizes = (1_000, 5_000) if quick else (1_000_000, 100_000)
    curve = (1_000, 5_000) if quick else (10_000, 100_000, 1_000_000)
    score_draws = 200 if quick else 1000
    nuts = {"draws": draws, "tune": tune, "chains": 2}

    if "cdnow" in sections:
        for dataset in ("cdnow-sample",) if quick else ("cdnow-master", "cdnow-sample"):
            prep = runner.prepared(f"prep_{dataset}", "prepare_cdnow", dataset=dataset)
            runner.ours(f"cdnow_ours_{dataset}", "fit", summary=prep["path"], pooling="complete", **nuts)
            if f"cdnow_peer_{dataset}" not in runner.results or not keep_peer:
                runner.peer(f"cdnow_peer_{dataset}", summary=prep["path"], **nuts)
            ours = runner.results.get(f"cdnow_ours_{dataset}", {})
            same = f"cdnow_peer_sameprior_{dataset}"
            if ours.get("priors") and (same not in runner.results or not keep_peer):
                # the same LogNormal priors as ltvlab: the two posteriors are then the same distribution
                runner.peer(same, summary=prep["path"], priors=ours["priors"]["normal"], **nuts)
            runner.ours(
                f"cdnow_ours_step1_{dataset}",
                "fit",
                summary=prep["path"],
                pooling="complete",
                time_step=1.0,
                **nuts,
            )

    def synth_fit(n: int, score: bool) -> None:
        prep = runner.prepared(f"prep_synth_{n}", "prepare_synth", n_customers=n)
        fit_path = str(runner.out_dir / f"fit_synth_{n}.pkl")
        # both chains in parallel on the 2 cores; the 10-minute target is wall time
        common = {
            "summary": prep["summary"],
            "pooling": "partial",
            "cores": 2,
            "truth": prep.get("truth"),
            **nuts,
        }
        fit = runner.ours(f"synth_ours_{n}", "fit", save_as=fit_path, time_step=time_step, **common)
        if score and time_step is None and not quick:
            # the same fit with times rounded to whole weeks: what the approximation saves and costs
            runner.ours(f"synth_ours_step1_{n}", "fit", time_step=1.0, **common)
        if score and fit["status"] == "ok":
            runner.ours(
                f"score_ours_{n}", "score", fit_path=fit_path, summary=prep["summary"], draws=score_draws
            )
        if f"synth_peer_{n}" not in runner.results or not keep_peer:
            runner.peer(f"synth_peer_{n}", summary=prep["summary"], **nuts)

    if "synth" in sections:
        for n in sizes:
            synth_fit(n, score=True)

    if "duckdb" in sections:
        n = 50_000 if quick else 3_000_000  # ~3.4 transactions per customer: ~10M transactions
        prep = runner.prepared(f"prep_synth_{n}", "prepare_synth", n_customers=n)
        runner.ours("summary_duckdb", "summary_duckdb", transactions=prep["transactions"])
        runner.ours("summary_pandas", "summary_pandas", transactions=prep["transactions"])

    if "curve" in sections:
        for n in curve:
            if f"synth_ours_{n}" not in runner.results:
                synth_fit(n, score=False)
            elif f"synth_peer_{n}" not in runner.results:
                prep = runner.results[f"prep_synth_{n}"]
                runner.peer(f"synth_peer_{n}", summary=prep["summary"], **nuts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--quick", action="store_true", help="small sizes and draws (smoke test)")
    default_peer = HERE.parent / ".venv-bench" / "bin" / "python"
    parser.add_argument("--peer-python", default=str(default_peer) if default_peer.exists() else None)
    parser.add_argument("--peer-cap-min", type=float, default=15.0, help="time cap of each peer fit")
    parser.add_argument(
        "--synth-time-step",
        type=float,
        default=0.0,
        help="round t_x, T to this many weeks in the synthetic fits (BTYDSpec.time_step; 0 = exact, the "
        "default, which also runs a time_step=1 fit next to each exact one that is scored)",
    )
    parser.add_argument(
        "--keep-peer", action="store_true", help="reuse pymc-marketing results already in results.json"
    )
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {SECTIONS}")
    out_dir = HERE / "out" / ("quick" if args.quick else "full")
    report = None if args.quick else HERE / "RESULTS.md"
    runner = Runner(out_dir, args.peer_python, args.peer_cap_min * 60, report)
    run_sections(runner, sections, args.quick, args.synth_time_step or None, args.keep_peer)
    if args.quick:
        write_report(runner.results, out_dir / "RESULTS.md", out_dir / "scaling.png")
        print(f"quick results: {out_dir / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
