"""Write ``benchmarks/RESULTS.md`` and ``benchmarks/scaling.png`` from the figures collected by ``run_all.py``."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("ltvlab", "pymc", "pytensor", "nutpie", "arviz", "numpy", "pandas", "duckdb", "pyarrow")
PARAMS = ("r", "alpha", "a", "b")
TARGET_RSS_MB = 4096


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> list[str]:
    """Cores, RAM, CPU model, OS, Python and package versions of this machine."""
    cpu = "unknown"
    ram_gb = float("nan")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = int(line.split()[1]) / 2**20
                break
    except OSError:
        pass
    packages = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores (shared with other jobs during the run)",
        f"- RAM: {ram_gb:.1f} GiB",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; {packages}",
    ]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ess_per_s(entry: dict[str, Any], key: str) -> float | None:
    seconds = entry.get(key)
    if entry.get("status") != "ok" or not seconds:
        return None
    return entry["min_ess_bulk"] / seconds


def _status(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "not run"
    if entry["status"] == "timeout":
        return f"did not finish in {entry['cap_s'] / 60:.0f} min"
    if entry["status"] == "error":
        return "error (see out/*.log)"
    return "ok"


def _ratio(ours: float | None, peer: float | None) -> str:
    if not ours or not peer:
        return "-"
    return f"{ours / peer:.1f}x"


def _fit_rows(label: str, entry: dict[str, Any] | None) -> str:
    if entry is None or entry["status"] != "ok":
        return f"| {label} | {_status(entry)} | - | - | - | - | - | - | - | {_fmt((entry or {}).get('peak_rss_mb'), 0)} |"
    return (
        f"| {label} | ok | {_fmt(entry['wall_s'])} | {_fmt(entry.get('sampling_s'))} | "
        f"{_fmt(entry['min_ess_bulk'], 0)} | {_fmt(_ess_per_s(entry, 'sampling_s'))} | "
        f"{_fmt(_ess_per_s(entry, 'wall_s'))} | {entry['max_r_hat']:.3f} | {entry['divergences']} | "
        f"{_fmt(entry['peak_rss_mb'], 0)} |"
    )


FIT_HEADER = (
    "| tool | status | fit wall s | sampling s | min bulk ESS | ESS/s (sampling) | ESS/s (wall) | max R-hat "
    "| divergences | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|"
)


def _cdnow(results: dict[str, Any]) -> list[str]:
    lines = ["", "## CDNOW: complete-pooling BG/NBD, ltvlab vs pymc-marketing BetaGeoModel", ""]
    lines.append(
        "Same customer summary (weeks, calibration through 1997-09-30, same-day purchases merged), NUTS with "
        "the same chains/draws/tuning, one core each. ltvlab: default priors, nutpie with its low-rank modified mass matrix, likelihood on distinct "
        "`(x, t_x, T)` rows with weights. pymc-marketing: `BetaGeoModel` with its default priors and PyMC's "
        "default sampler. *fit wall* covers model build, compilation, sampling and diagnostics; *sampling s* is "
        "the sampler's own `sampling_time` (tuning + draws, without compilation). ESS/s = min bulk ESS over "
        "r, alpha, a, b divided by the time."
    )
    for dataset in ("cdnow-master", "cdnow-sample"):
        ours, peer = results.get(f"cdnow_ours_{dataset}"), results.get(f"cdnow_peer_{dataset}")
        if ours is None and peer is None:
            continue
        n = (ours or peer or {}).get("n_customers")
        lines += ["", f"### {dataset} ({_fmt(n)} customers)", "", FIT_HEADER]
        step1 = results.get(f"cdnow_ours_step1_{dataset}")
        lines += [_fit_rows("ltvlab (exact, default)", ours), _fit_rows("pymc-marketing", peer)]
        if step1 is not None:
            lines.append(_fit_rows("ltvlab, `time_step=1` (t_x, T rounded to weeks)", step1))
        if ours and peer and ours["status"] == peer["status"] == "ok":
            lines += [
                "",
                f"Ratios ltvlab / pymc-marketing: ESS per second of wall time "
                f"**{_ratio(_ess_per_s(ours, 'wall_s'), _ess_per_s(peer, 'wall_s'))}**; "
                f"ESS per second of sampling "
                f"**{_ratio(_ess_per_s(ours, 'sampling_s'), _ess_per_s(peer, 'sampling_s'))}**; "
                f"fit wall time {_ratio(peer['wall_s'], ours['wall_s'])} faster; "
                f"peak RSS {ours['peak_rss_mb'] / peer['peak_rss_mb']:.2f}x. "
                f"ltvlab evaluated {_fmt(ours.get('n_rows'))} distinct rows for {_fmt(ours['n_customers'])} "
                "customers.",
                "",
                "| param | ltvlab mean (MCSE) | pymc-marketing mean (MCSE) | pymc-marketing priors "
                "| difference / combined MCSE | difference / posterior sd |",
                "|---|---|---|---|---|---|",
            ]
            same = results.get(f"cdnow_peer_sameprior_{dataset}")
            peers = [("its defaults", peer)]
            if same and same.get("status") == "ok":
                peers.append(("ltvlab's (LogNormal)", same))
            for p in PARAMS:
                for label, other in peers:
                    a, b = ours["posterior"][p], other["posterior"][p]
                    mcse = (a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2) ** 0.5
                    diff = a["mean"] - b["mean"]
                    lines.append(
                        f"| {p} | {a['mean']:.4f} ({a['mcse_mean']:.4f}) | {b['mean']:.4f} ({b['mcse_mean']:.4f}) "
                        f"| {label} | {diff / mcse:+.2f} | {diff / max(a['sd'], 1e-300):+.3f} |"
                    )
            if len(peers) > 1:
                lines += [
                    "",
                    "With the same priors the two tools sample the same posterior, so differences should be within "
                    "a few combined MCSE; with pymc-marketing's own priors part of the difference is the prior.",
                ]
        if step1 and peer and step1["status"] == peer["status"] == "ok":
            lines += [
                "",
                f"With `time_step=1` ({_fmt(step1.get('n_rows'))} distinct rows): ESS per second of wall time "
                f"**{_ratio(_ess_per_s(step1, 'wall_s'), _ess_per_s(peer, 'wall_s'))}**, of sampling "
                f"**{_ratio(_ess_per_s(step1, 'sampling_s'), _ess_per_s(peer, 'sampling_s'))}** pymc-marketing's.",
            ]
        if step1 and ours and step1["status"] == ours["status"] == "ok":
            lines += [
                "",
                "Cost of the `time_step=1` approximation (rounded minus exact posterior mean):",
                "",
                "| param | exact mean | rounded mean | difference / combined MCSE | difference / posterior sd |",
                "|---|---|---|---|---|",
            ]
            for p in PARAMS:
                a, b = ours["posterior"][p], step1["posterior"][p]
                mcse = (a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2) ** 0.5
                diff = b["mean"] - a["mean"]
                lines.append(
                    f"| {p} | {a['mean']:.4f} | {b['mean']:.4f} | {diff / mcse:+.2f} | {diff / a['sd']:+.3f} |"
                )
    return lines


def _synth(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Synthetic customers in 20 segments: hierarchical fit and scoring",
        "",
        "Data: `generate_crm(n, n_segments=20, seed=2024)` (BG/NBD truth, dated transactions), summarised with "
        "DuckDB in weeks (calibration 2022-01-01..2022-12-31) without merging same-day purchases: the generator's "
        "purchases are a continuous-time process, and merging a repeat purchase made on the day of the first "
        "(the CDNOW convention) biases a 1M-customer fit by several standard errors "
        "(`benchmarks/summary_conventions.py`: per-segment MLE z-scores for alpha average +3.6 with merging, "
        "-0.5 without). ltvlab: partial pooling over the 20 segments "
        "(parametrisation chosen from each segment's information, shown in the table; a fit that fails the gate "
        "is refitted with the remedy its failure calls for, `fit.diagnostics.remedies`), "
        "2 chains x 1,000 draws after 1,000 tuning "
        "steps, the two chains in parallel on the 2 cores, nutpie with its low-rank mass matrix and ltvlab's "
        "default tree depth (*depth* column: 3, i.e. at most 7 gradient evaluations per draw, for mostly centred pooling "
        "over 10 or more segments, where full-length NUTS trajectories leave the tail ESS and folded R-hat poor; "
        "a capped fit that fails the gate is redone with depth 10, which the column would then show; "
        "`benchmarks/treedepth.py`). pymc-marketing: "
        "non-hierarchical `BetaGeoModel` on the same customers (it has no segment pooling), same draws, one core, "
        "under a time cap. *truth: 90% coverage* is the share of the 80 segment parameters whose central 90% "
        "interval covers the value the generator used; *max |z|* the largest |posterior mean - truth| / posterior "
        "sd (a biased approximation, such as rounding times, shows as coverage well below 0.9 and large |z|). "
        "Scoring: `write_scores` of P(alive) and 52-week expected purchases with quantiles for every customer "
        "from 1,000 draws, streamed to Parquet (exact t_x, T: scoring never rounds). Fits use exact times (time "
        "step -) unless the time-step column shows 1: `BGNBD(time_step=1.0)`, t_x and T rounded to whole weeks, "
        "fewer distinct rows at the cost of a bias that the truth columns show.",
        "",
        "| customers | transactions | distinct (segment, x, t_x, T) rows | time step | tool | parametrisation "
        "| depth | status | fit wall s | min bulk ESS | min tail ESS | max R-hat | divergences | diagnostics pass "
        "| truth: 90% coverage | max \\|z\\| | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sizes = sorted({int(k.rsplit("_", 1)[1]) for k in results if k.startswith("synth_")})
    for n in sizes:
        prep = results.get(f"prep_synth_{n}", {})
        for tool, key in (
            ("ltvlab (partial pooling)", "synth_ours_"),
            ("ltvlab (partial pooling)", "synth_ours_step1_"),
            ("pymc-marketing", "synth_peer_"),
        ):
            entry = results.get(f"{key}{n}")
            if entry is None:
                continue
            ok = entry["status"] == "ok"
            rows = entry.get("n_rows") if tool.startswith("ltvlab") else None
            recovery = entry.get("truth_recovery") or {}
            lines.append(
                f"| {n:,} | {_fmt(prep.get('n_transactions'))} | {_fmt(rows)} | "
                f"{_fmt(entry.get('time_step')) if tool.startswith('ltvlab') else 'exact'} | {tool} | "
                f"{_fmt(entry.get('parametrization'))} | {_fmt(entry.get('max_treedepth'))} | {_status(entry)} | "
                f"{_fmt(entry.get('wall_s') if ok else entry.get('child_wall_s'))} | "
                f"{_fmt(entry.get('min_ess_bulk'), 0)} | {_fmt(entry.get('min_ess_tail'), 0)} | "
                f"{_fmt(entry.get('max_r_hat'), 3)} | "
                f"{_fmt(entry.get('divergences'))} | {_fmt(entry.get('diagnostics_ok'))} | "
                f"{_fmt(recovery.get('coverage_90'), 2)} | {_fmt(recovery.get('max_abs_z'), 1)} | "
                f"{_fmt(entry.get('peak_rss_mb'), 0)} |"
            )
    scores = [(n, results[f"score_ours_{n}"]) for n in sizes if f"score_ours_{n}" in results]
    if scores:
        lines += [
            "",
            "| customers | distinct rows scored | draws | status | scoring wall s | peak RSS MiB |",
            "|---|---|---|---|---|---|",
        ]
        for n, entry in scores:
            lines.append(
                f"| {n:,} | {_fmt(entry.get('n_unique_summaries'))} | {_fmt(entry.get('n_draws'))} | "
                f"{_status(entry)} | {_fmt(entry.get('wall_s'))} | {_fmt(entry['peak_rss_mb'], 0)} |"
            )
    for key in sorted(results):
        if key.startswith(("synth_", "score_")) and results[key].get("note"):
            lines += ["", f"Note on `{key}`: {results[key]['note']}"]
    for n in sizes:
        ours = results.get(f"synth_ours_{n}")
        if ours and ours["status"] == "ok" and ours.get("messages"):
            lines += ["", f"Diagnostics messages at {n:,}: " + "; ".join(ours["messages"])]
    return lines


def _duckdb(results: dict[str, Any]) -> list[str]:
    duck, pandas = results.get("summary_duckdb"), results.get("summary_pandas")
    if duck is None and pandas is None:
        return []
    lines = [
        "",
        "## Customer summary of synthetic transactions: DuckDB vs pandas",
        "",
        "`ltvlab.features.customer_summary` (DuckDB, scanning the Parquet file) vs the same summary in pandas "
        "(`benchmarks/pandas_summary.py`, reading the Parquet file into memory first). Both include reading the "
        "file. Column totals of x, t_x, T, monetary and x_holdout are compared to check the two agree.",
        "",
        "| engine | status | transactions | customers | wall s | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in (("DuckDB (ltvlab)", duck), ("pandas", pandas)):
        if entry is None:
            continue
        lines.append(
            f"| {name} | {_status(entry)} | {_fmt(entry.get('n_transactions'))} | "
            f"{_fmt(entry.get('n_customers'))} | {_fmt(entry.get('wall_s'))} | {_fmt(entry['peak_rss_mb'], 0)} |"
        )
    if duck and pandas and duck["status"] == pandas["status"] == "ok":
        agree = all(
            abs(duck[k] - pandas[k]) <= 1e-6 * max(1.0, abs(pandas[k])) for k in duck if k.startswith("sum_")
        )
        lines += [
            "",
            f"DuckDB is **{pandas['wall_s'] / duck['wall_s']:.1f}x** faster and uses "
            f"**{duck['peak_rss_mb'] / pandas['peak_rss_mb']:.2f}x** the peak memory of pandas; "
            f"column totals {'agree' if agree else 'DIFFER'}.",
        ]
    return lines


def _curve(results: dict[str, Any], png: Path) -> list[str]:
    sizes = sorted(
        {
            int(k.rsplit("_", 1)[1])
            for k in results
            if k.startswith("synth_ours_") or k.startswith("synth_peer_")
        }
    )
    if not sizes:
        return []
    lines = [
        "",
        "## Scaling curve",
        "",
        f"![fit time and peak memory against customers]({png.name})",
        "",
        "| customers | ltvlab distinct rows | ltvlab fit s | ltvlab peak RSS MiB | pymc-marketing fit s "
        "| pymc-marketing peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for n in sizes:
        ours, peer = results.get(f"synth_ours_{n}"), results.get(f"synth_peer_{n}")

        def cell(e: dict[str, Any] | None) -> str:
            if e is None:
                return "not run"
            return _fmt(e["wall_s"]) if e["status"] == "ok" else _status(e)

        lines.append(
            f"| {n:,} | {_fmt((ours or {}).get('n_rows'))} | {cell(ours)} | "
            f"{_fmt((ours or {}).get('peak_rss_mb'), 0)} | {cell(peer)} | {_fmt((peer or {}).get('peak_rss_mb'), 0)} |"
        )
    _plot(results, sizes, png)
    return lines


def _plot(results: dict[str, Any], sizes: list[int], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for tool, key, marker in (
        ("ltvlab (partial pooling)", "synth_ours_", "o"),
        ("pymc-marketing", "synth_peer_", "s"),
    ):
        done = [(n, results[f"{key}{n}"]) for n in sizes if f"{key}{n}" in results]
        ok = [(n, e) for n, e in done if e["status"] == "ok"]
        capped = [(n, e) for n, e in done if e["status"] == "timeout"]
        if ok:
            line = ax_t.plot([n for n, _ in ok], [e["wall_s"] for _, e in ok], marker=marker, label=tool)[0]
            ax_m.plot([n for n, _ in ok], [e["peak_rss_mb"] for _, e in ok], marker=marker, label=tool)
            color = line.get_color()
        else:
            color = None
        if capped:
            ax_t.scatter(
                [n for n, _ in capped],
                [e["cap_s"] for _, e in capped],
                marker="^",
                color=color,
                label=f"{tool}: did not finish (cap)",
            )
    for ax, ylabel in ((ax_t, "fit wall time (s)"), (ax_m, "peak RSS (MiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("customers")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_m.axhline(TARGET_RSS_MB, color="grey", ls="--", lw=1, label="4 GiB")
    ax_t.legend(fontsize=8)
    ax_m.legend(fontsize=8)
    fig.suptitle("BG/NBD NUTS fit, 2 chains x 1,000 draws, synthetic customers in 20 segments")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _targets(results: dict[str, Any]) -> list[str]:
    """Each target of issue 8 with the measured figure and whether it is met."""

    def ok(key: str) -> dict[str, Any] | None:
        entry = results.get(key)
        return entry if entry and entry.get("status") == "ok" else None

    lines = ["", "## Targets of issue 8", "", "| target | measured | met |", "|---|---|---|"]
    ours, peer = ok("cdnow_ours_cdnow-master"), ok("cdnow_peer_cdnow-master")
    if ours and peer:
        wall = _ess_per_s(ours, "wall_s") / _ess_per_s(peer, "wall_s")
        samp = _ess_per_s(ours, "sampling_s") / _ess_per_s(peer, "sampling_s")
        lines.append(
            f"| ESS/s >= 10x pymc-marketing at 23,570 customers (exact likelihood) | {wall:.1f}x (wall), "
            f"{samp:.1f}x (sampling) | {'yes' if min(wall, samp) >= 10 else 'no'} |"
        )
        same = ok("cdnow_peer_sameprior_cdnow-master")
        other, label = (same, "same priors") if same else (peer, "different default priors")
        worst = max(
            abs(ours["posterior"][p]["mean"] - other["posterior"][p]["mean"])
            / (ours["posterior"][p]["mcse_mean"] ** 2 + other["posterior"][p]["mcse_mean"] ** 2) ** 0.5
            for p in PARAMS
        )
        # 4 parameters: |z| < 2.5 for all four has probability ~0.95 if both chains target the same posterior
        lines.append(
            f"| posterior means agree within Monte Carlo error | largest difference {worst:.1f} combined MCSE "
            f"({label}) | {'yes' if worst <= 2.5 else 'borderline' if worst <= 3.5 else 'no'} |"
        )
    step1 = ok("cdnow_ours_step1_cdnow-master")
    if step1 and peer:
        wall = _ess_per_s(step1, "wall_s") / _ess_per_s(peer, "wall_s")
        samp = _ess_per_s(step1, "sampling_s") / _ess_per_s(peer, "sampling_s")
        lines.append(
            f"| same with `time_step=1` (approximation, biased by ~0.2 sd) | {wall:.1f}x (wall), {samp:.1f}x "
            f"(sampling) | {'yes' if min(wall, samp) >= 10 else 'sampling only' if samp >= 10 else 'no'} |"
        )
    big = results.get("synth_ours_1000000")
    if big:
        if big["status"] == "ok":
            met = big["wall_s"] < 600 and big["peak_rss_mb"] < TARGET_RSS_MB and big["diagnostics_ok"]
            measured = (
                f"{big['wall_s']:.0f} s, {big['peak_rss_mb']:.0f} MiB, diagnostics "
                f"{'pass' if big['diagnostics_ok'] else 'fail: ' + '; '.join(big.get('messages', []))} (min bulk "
                f"ESS {big['min_ess_bulk']:.0f}, {big['divergences']} divergences)"
            )
            recovery = big.get("truth_recovery")
            if recovery:
                measured += (
                    f"; truth inside 90% intervals for {recovery['coverage_90']:.0%} of segment parameters "
                    f"(max |z| {recovery['max_abs_z']:.1f})"
                )
        else:
            met, measured = False, _status(big)
        lines.append(
            f"| 1M customers, 20 segments, hierarchical NUTS 2x1,000 < 10 min, < 4 GB, diagnostics pass | "
            f"{measured} | {'yes' if met else 'no'} |"
        )
    step = ok("synth_ours_step1_1000000")
    if step:
        recovery = step.get("truth_recovery") or {}
        lines.append(
            f"| same with `time_step=1` (approximation; {_fmt(step.get('n_rows'))} rows) | {step['wall_s']:.0f} s, "
            f"{step['peak_rss_mb']:.0f} MiB, diagnostics "
            f"{'pass' if step['diagnostics_ok'] else 'fail: ' + '; '.join(step.get('messages', []))}; truth "
            f"coverage {_fmt(recovery.get('coverage_90'), 2)} (max |z| {_fmt(recovery.get('max_abs_z'), 1)}) | "
            f"{'yes' if step['wall_s'] < 600 and step['diagnostics_ok'] else 'no'} |"
        )
    curve = {n: ok(f"synth_ours_{n}") for n in (10_000, 1_000_000)}
    if all(curve.values()):
        growth = curve[1_000_000]["wall_s"] / curve[10_000]["wall_s"]
        peer_curve = {n: results.get(f"synth_peer_{n}") for n in (10_000, 100_000, 1_000_000)}
        peer_text = ", ".join(
            f"{n:,}: {_status(e) if e.get('status') != 'ok' else format(e['wall_s'], '.0f') + ' s'}"
            for n, e in peer_curve.items()
            if e
        )
        lines.append(
            f"| scaling 10k -> 1M customers flat or sub-linear | fit time x{growth:.1f} for 100x the customers"
            f"{'; pymc-marketing ' + peer_text if peer_text else ''} | {'yes' if growth < 100 else 'no'} |"
        )
    score = ok("score_ours_1000000")
    if score:
        lines.append(
            f"| scoring 1M customers with 1,000 draws < 4 GB | {score['peak_rss_mb']:.0f} MiB, "
            f"{score['wall_s']:.0f} s | {'yes' if score['peak_rss_mb'] < TARGET_RSS_MB else 'no'} |"
        )
    duck, pandas = ok("summary_duckdb"), ok("summary_pandas")
    if duck and pandas:
        met = duck["peak_rss_mb"] < TARGET_RSS_MB and duck["wall_s"] < pandas["wall_s"]
        lines.append(
            f"| {duck['n_transactions'] / 1e6:.1f}M transactions summarised in DuckDB < 4 GB and faster than "
            f"pandas | {duck['wall_s']:.1f} s / {duck['peak_rss_mb']:.0f} MiB vs pandas {pandas['wall_s']:.1f} s / "
            f"{pandas['peak_rss_mb']:.0f} MiB | {'yes' if met else 'no'} |"
        )
    return lines


def write_report(results: dict[str, Any], path: Path, png: Path) -> None:
    """Rewrite the Markdown report from every result collected so far."""
    peer_versions = {e.get("pymc_marketing") for e in results.values() if e.get("pymc_marketing")}
    lines = [
        "# ltvlab performance benchmarks",
        "",
        "Written by `benchmarks/run_all.py` (`make bench`); each figure is from its own child process "
        "(peak RSS = that process's `ru_maxrss`). The machine is shared, so times carry roughly +-30% noise; "
        "the load average when each measurement finished is in `benchmarks/out/full/results.json`.",
        "",
        "## Machine",
        "",
        *machine(),
        f"- pymc-marketing (benchmark environment only): {', '.join(sorted(peer_versions)) or 'not run'}",
    ]
    lines += _targets(results) + _cdnow(results) + _synth(results) + _duckdb(results) + _curve(results, png)
    lines += spark_section(spark_results(path))
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------ Spark local mode vs DuckDB (issue 9)

SPARK_TITLE = "## Spark standalone cluster and local mode vs DuckDB"


def _spark_rows(rows: int, entry: dict[str, Any]) -> list[str]:
    out = []
    data = entry.get("data", {})
    for name, key in (("DuckDB", "duckdb"), ("Spark local", "spark"), ("Spark standalone", "standalone")):
        e = entry.get(key)
        if e is None:
            continue
        load = e.get("load_avg")
        notes = [f"1-min load average at the end {load[0]:.1f}"] if load else []
        if key == "standalone" and e["status"] == "ok":
            notes.append(f"cluster start (master + 2 workers) {_fmt(e.get('cluster_start_s'))} s")
        if key in ("spark", "standalone") and e["status"] == "ok":
            notes.append(
                f"session start {_fmt(e.get('session_start_s'))} s; compressed statistics "
                f"{_fmt(e.get('statistics_s'))} s -> {_fmt(e.get('distinct_rows'))} distinct (segment, x, t_x, T) rows"
            )
        extra = "; ".join(notes)
        out.append(
            f"| {_fmt(data.get('rows', rows))} | {name} | {e['status']} | {_fmt(e.get('customers'), 0)} | "
            f"{_fmt(e.get('wall_s'))} | {_fmt(e.get('child_wall_s'))} | {_fmt(e.get('peak_tree_rss_mb'), 0)} | {extra} |"
        )
    return out


def spark_section(results: dict[str, Any]) -> list[str]:
    """The Spark section (DuckDB vs Spark local mode vs a standalone cluster) from ``benchmarks/out/spark/results.json``."""
    sizes = sorted(int(k) for k in results if k.isdigit())
    if not sizes:
        return []
    info = results.get("platform", {})
    lines = [
        "",
        SPARK_TITLE,
        "",
        "Written by `benchmarks/spark_vs_duckdb.py`. Synthetic transactions (gamma purchase rates, geometric "
        "dropout, 20 segments, first purchases over 2022) generated in chunks into Parquet parts; each engine in "
        "its own child process computes the customer summary (weeks, calibration through 2022-12-31, holdout "
        "through 2023-12-31, segment column) from the Parquet parts and writes it to Parquet. DuckDB: "
        "`customer_summary` on a view over the files (2 threads; its peak includes the summary it returns as a "
        "pandas frame, written with pyarrow). Spark: "
        f"`summary_dataframe` in local mode (`{results.get('master', 'local[2]')}`, driver memory "
        f"{results.get('spark_memory', '?')}), written by Spark. Spark standalone (when run, `--standalone`): the "
        "same code on a standalone cluster the child starts on 127.0.0.1 from the pyspark distribution "
        "(`ltvlab.spark.cluster.local_cluster`: a master and two workers of one core each, one executor per "
        "worker, each with half the local-mode memory), whose start is timed apart and whose daemons count in "
        "the peak. *engine s* is the work itself (Spark: session "
        "start, summary and write; not the compressed statistics), *process s* the child's whole life "
        "(interpreter and imports too). Peak memory is the resident memory of the whole process tree (Spark: "
        "Python driver + JVM + Python workers) sampled every 0.2 s with psutil; shared pages are counted in each "
        f"process, so it is an upper bound. Java: {info.get('java', '?')}; pyspark {info.get('pyspark', '?')}, "
        f"duckdb {info.get('duckdb', '?')}, {info.get('cores', '?')} cores shared with other jobs.",
        "",
        "| transactions | engine | status | customers | engine s | process s | peak tree RSS MiB | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rows in sizes:
        lines += _spark_rows(rows, results[str(rows)])
    for rows in sizes:
        duck, spark = results[str(rows)].get("duckdb"), results[str(rows)].get("spark")
        if not (duck and spark and duck["status"] == spark["status"] == "ok"):
            for name, e in (("DuckDB", duck), ("Spark", spark)):
                if e and e["status"] != "ok":
                    lines += ["", f"{name} at {rows:,} rows failed: `{e.get('log_tail', '')[-300:]}`"]
            continue
        agree = all(
            abs(duck[k] - spark[k]) <= 1e-9 * max(1.0, abs(duck[k]))
            for k in ("customers", "sum_x", "sum_t_x", "sum_T", "sum_monetary", "sum_x_holdout")
        )
        lines += [
            "",
            f"At {rows:,} transactions DuckDB took **{duck['wall_s']:.1f} s** and at most "
            f"**{duck['peak_tree_rss_mb']:,.0f} MiB**; Spark local mode **{spark['wall_s']:.1f} s** and "
            f"**{spark['peak_tree_rss_mb']:,.0f} MiB** (Spark/DuckDB: time {spark['wall_s'] / duck['wall_s']:.1f}x, "
            f"memory {spark['peak_tree_rss_mb'] / duck['peak_tree_rss_mb']:.1f}x). Customer count and column "
            f"totals of x, t_x, T, monetary, x_holdout {'agree' if agree else 'DIFFER'}.",
        ]
        alone = results[str(rows)].get("standalone")
        if alone and alone["status"] == "ok":
            same = all(
                abs(duck[k] - alone[k]) <= 1e-9 * max(1.0, abs(duck[k]))
                for k in ("customers", "sum_x", "sum_t_x", "sum_T", "sum_monetary", "sum_x_holdout")
            )
            lines[-1] += (
                f" On the standalone cluster Spark took **{alone['wall_s']:.1f} s** (after a cluster start of "
                f"{alone.get('cluster_start_s', 0):.1f} s) and at most **{alone['peak_tree_rss_mb']:,.0f} MiB** "
                f"(standalone/local: time {alone['wall_s'] / spark['wall_s']:.1f}x); its totals "
                f"{'agree' if same else 'DIFFER'} with DuckDB's."
            )
    lines += [
        "",
        "**Where each wins.** On one machine DuckDB wins: it runs in-process with no JVM to start, scans Parquet "
        "with vectorised columnar operators on all cores, and spills what does not fit in memory; local-mode "
        "Spark pays for the JVM start, a shuffle (the summary needs all of a customer's rows together, so the "
        "data are exchanged through local disk), row-to-columnar conversions and a heap sized up front, with "
        "the same two cores doing the work. Spark wins when the data do not live on, or fit on, one machine: "
        "it reads the lake where the data already are, spreads the scan and the shuffle over as many executors "
        "as the cluster has, and the same code runs on a laptop and on hundreds of cores. The model side is "
        "the same either way: the fit needs only the distinct (segment, x, t_x, T) rows with counts (their "
        "number is in the notes column; `time_step=1` rounds times to whole weeks and shrinks it further), and "
        "scoring runs on the executors from broadcast draws. So: while the "
        "transactions fit on one machine's disk, use DuckDB (`backend: duckdb`, the default); when they outgrow "
        "it, or already sit in a Spark cluster's lake, use `backend: spark` on that cluster.",
    ]
    faster = [
        (rows, results[str(rows)]["duckdb"]["wall_s"] < results[str(rows)]["spark"]["wall_s"])
        for rows in sizes
        if all(results[str(rows)].get(k, {}).get("status") == "ok" for k in ("duckdb", "spark"))
    ]
    loads = [
        e["load_avg"][0]
        for rows in sizes
        for e in results[str(rows)].values()
        if isinstance(e, dict) and e.get("load_avg")
    ]
    if loads and max(loads) > (info.get("cores") or 2):
        lines += [
            "",
            f"**Loaded machine.** The 1-minute load average was {min(loads):.1f} to {max(loads):.1f} on "
            f"{info.get('cores', '?')} cores while these ran (other jobs shared the machine), so every time is "
            "inflated, JVM starts most of all, and ratios between engines that ran minutes apart are rough.",
        ]
    if faster:
        lines += [
            "",
            "Measured here: "
            + "; ".join(f"{rows:,} rows: {'DuckDB' if duck else 'Spark'} faster" for rows, duck in faster)
            + ".",
        ]
    return lines


def spark_results(report_path: Path) -> dict[str, Any]:
    """The Spark benchmark figures saved beside the report (empty when it has not been run)."""
    import json

    store = report_path.parent / "out" / "spark" / "results.json"
    return json.loads(store.read_text()) if store.exists() else {}


def update_spark_section(report_path: Path, results: dict[str, Any]) -> None:
    """Replace (or append) the Spark section of an existing RESULTS.md, leaving every other section as it is."""
    text = report_path.read_text() if report_path.exists() else "# ltvlab performance benchmarks\n"
    lines = text.rstrip("\n").split("\n")
    if SPARK_TITLE in lines:
        start = lines.index(SPARK_TITLE)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        while start > 0 and not lines[start - 1].strip():
            start -= 1
        lines = lines[:start] + lines[end:]
    report_path.write_text("\n".join(lines + spark_section(results)) + "\n")
