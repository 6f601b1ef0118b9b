"""Pareto/NBD and Gamma-Gamma against their pymc-marketing peers on CDNOW master, side by side in one run.

``python benchmarks/peers.py --peer-python .venv-bench/bin/python`` (``--models paretonbd,gamma_gamma``,
``--peer-timeout SECONDS`` to stop a peer fit that takes too long, ``--peer-sampler nutpie`` to give the peer
nutpie's NUTS instead of PyMC's).

Same customer summary (weeks, calibration through 1997-09-30, as ``benchmarks/measure.py prepare_cdnow``), NUTS
with 2 chains x 1,000 draws after 1,000 tuning steps, the chains in parallel on as many cores (ltvlab: nutpie
threads; the peer: PyMC processes), each fit in a fresh process (peak RSS from ``os.wait4``). ltvlab: ``ParetoNBD`` / ``GammaGamma`` with complete pooling and default priors. pymc-marketing
0.19.2: ``ParetoNBDModel`` / ``GammaGammaModel`` with *the same priors* -- ltvlab's resolved
``eta = log(theta - offset) ~ Normal(mu0, sd0)`` given as ``Prior("Normal", mu0, sd0, transform=...)`` with
``exp`` (``1 + exp`` for the Gamma-Gamma ``q``), so both tools sample the same posterior and the posterior means
must agree within Monte Carlo error. *fit wall* covers model build, compilation, sampling and diagnostics; ESS/s is
the minimum bulk ESS over the model's parameters divided by the fit wall time.

The Gamma-Gamma fits use the repeat buyers with a positive mean spend (one CDNOW master repeat buyer has 0).
Writes ``benchmarks/out/peers.json`` and prints the Markdown tables of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CALIBRATION_END = "1997-09-30"
PARAMS = {"paretonbd": ("r", "alpha", "s", "beta"), "gamma_gamma": ("p", "q", "gamma")}
PEER_NAMES = {"gamma": "v"}  # pymc-marketing's name of the Gamma-Gamma scale


def _table(idata: Any, names: dict[str, str]) -> dict[str, dict[str, float]]:
    import arviz as az

    table = az.summary(idata, var_names=list(names.values()), kind="all", round_to="none")
    return {
        ours: {
            "mean": float(table.loc[theirs, "mean"]),
            "sd": float(table.loc[theirs, "sd"]),
            "mcse_mean": float(table.loc[theirs, "mcse_mean"]),
            "ess_bulk": float(table.loc[theirs, "ess_bulk"]),
            "r_hat": float(table.loc[theirs, "r_hat"]),
        }
        for ours, theirs in names.items()
    }


def _summary():
    import pandas as pd

    path = OUT / "cdnow-master_summary.parquet"
    if not path.exists():
        from ltvlab.data import load_dataset
        from ltvlab.features import customer_summary

        OUT.mkdir(exist_ok=True)
        customer_summary(load_dataset("cdnow-master"), calibration_end=CALIBRATION_END, unit="W").to_parquet(
            path
        )
    frame = pd.read_parquet(path)
    frame.attrs["unit"] = "W"
    return frame


def _spend_rows(frame):
    """Repeat buyers with a positive mean spend (CDNOW master has one repeat buyer whose mean is 0)."""
    keep = frame[(frame["x"] > 0) & (frame["monetary"] > 0)]
    keep.attrs = dict(frame.attrs)
    return keep


def ours(model: str, draws: int, tune: int, chains: int, seed: int) -> dict[str, Any]:
    from ltvlab.ltv import model_spec

    data = _spend_rows(_summary()) if model == "gamma_gamma" else _summary()
    start = time.perf_counter()
    fit = model_spec(model, pooling="complete").fit(data, draws=draws, tune=tune, chains=chains, seed=seed)
    wall = time.perf_counter() - start
    posterior = _table(fit.idata, {p: p for p in PARAMS[model]})
    sampling = fit.idata.posterior.attrs.get(
        "sampling_time", fit.idata.sample_stats.attrs.get("sampling_time")
    )
    return {
        "tool": "ltvlab",
        "wall_s": wall,
        "sampling_s": float(sampling) if sampling is not None else None,
        "min_ess_bulk": min(v["ess_bulk"] for v in posterior.values()),
        "max_r_hat": max(v["r_hat"] for v in posterior.values()),
        "divergences": int(fit.diagnostics.divergences),
        "priors": fit.config["priors"],
        "posterior": posterior,
        "n_rows": fit.n_rows,
    }


def theirs(
    model: str, draws: int, tune: int, chains: int, seed: int, priors: dict, sampler: str = "pymc"
) -> dict[str, Any]:
    from importlib.metadata import version

    import numpy as np
    import pandas as pd
    import pytensor.tensor as pt
    from pymc_extras.prior import Prior, register_tensor_transform
    from pymc_marketing.clv import GammaGammaModel, ParetoNBDModel

    register_tensor_transform("one_plus_exp", lambda v: 1.0 + pt.exp(v))
    frame = pd.read_parquet(OUT / "cdnow-master_summary.parquet")
    config = {}
    for name, (mu, sd) in priors["normal"].items():
        transform = "one_plus_exp" if name == "q" else "exp"
        config[PEER_NAMES.get(name, name)] = Prior(
            "Normal", mu=float(mu), sigma=float(sd), transform=transform
        )
    if model == "paretonbd":
        data = pd.DataFrame(
            {
                "customer_id": np.arange(len(frame)),
                "frequency": frame["x"].to_numpy(float),
                "recency": frame["t_x"].to_numpy(float),
                "T": frame["T"].to_numpy(float),
            }
        )
        peer = ParetoNBDModel(data=data, model_config=config)
    else:
        rep = _spend_rows(frame)
        data = pd.DataFrame(
            {
                "customer_id": np.arange(len(rep)),
                "frequency": rep["x"].to_numpy(float),
                "monetary_value": rep["monetary"].to_numpy(float),
            }
        )
        peer = GammaGammaModel(data=data, model_config=config)
    start = time.perf_counter()
    peer.fit(
        fit_method="mcmc",
        draws=draws,
        tune=tune,
        chains=chains,
        cores=chains,
        random_seed=seed,
        progressbar=False,
        nuts_sampler=sampler,
    )
    wall = time.perf_counter() - start
    idata = peer.idata
    posterior = _table(idata, {p: PEER_NAMES.get(p, p) for p in PARAMS[model]})
    sampling = idata.posterior.attrs.get("sampling_time", idata.sample_stats.attrs.get("sampling_time"))
    return {
        "tool": f"pymc-marketing {version('pymc-marketing')}"
        + ("" if sampler == "pymc" else f" + {sampler}"),
        "wall_s": wall,
        "sampling_s": float(sampling) if sampling is not None else None,
        "min_ess_bulk": min(v["ess_bulk"] for v in posterior.values()),
        "max_r_hat": max(v["r_hat"] for v in posterior.values()),
        "divergences": int(idata.sample_stats["diverging"].sum()),
        "posterior": posterior,
    }


def _child(python: str, argv: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Run one fit in a fresh process; stop it after ``timeout`` seconds of wall time (then its status says so)."""
    out = OUT / f"peers_child_{os.getpid()}.json"
    proc = subprocess.Popen([python, __file__, *argv, "--result", str(out)])
    start = time.perf_counter()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if timeout is not None and time.perf_counter() - start > timeout:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
            cpu = usage.ru_utime + usage.ru_stime
            return {"status": f"stopped after {timeout:.0f} s wall ({cpu:.0f} CPU s) without finishing"}
        time.sleep(0.5)
    if status != 0:
        return {"status": f"failed ({status})"}
    result = json.loads(out.read_text())
    result["peak_rss_mib"] = usage.ru_maxrss / 1024.0
    result["status"] = "ok"
    return result


def report(results: dict[str, Any]) -> None:
    for model, pair in results.items():
        a, b = pair["ltvlab"], pair["peer"]
        print(f"\n### {model}\n")
        print(
            "| tool | status | fit wall s | sampling s | min bulk ESS | ESS/s (wall) | max R-hat | divergences | peak RSS MiB |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for e in (a, b):
            if e.get("status") != "ok":
                print(f"| {e.get('tool', '?')} | {e.get('status')} | - | - | - | - | - | - | - |")
                continue
            samp = f"{e['sampling_s']:.1f}" if e.get("sampling_s") else "-"
            print(
                f"| {e['tool']} | ok | {e['wall_s']:.1f} | {samp} | {e['min_ess_bulk']:,.0f} | "
                f"{e['min_ess_bulk'] / e['wall_s']:.1f} | {e['max_r_hat']:.3f} | {e['divergences']} | "
                f"{e['peak_rss_mib']:.0f} |"
            )
        if a.get("status") == b.get("status") == "ok":
            ratio = (a["min_ess_bulk"] / a["wall_s"]) / (b["min_ess_bulk"] / b["wall_s"])
            print(f"\nESS per second of wall time, ltvlab / pymc-marketing: **{ratio:.1f}x**\n")
            print("| param | ltvlab mean (MCSE) | pymc-marketing mean (MCSE) | difference / combined MCSE |")
            print("|---|---|---|---|")
            for p, mine in a["posterior"].items():
                peer = b["posterior"][p]
                z = (mine["mean"] - peer["mean"]) / (mine["mcse_mean"] ** 2 + peer["mcse_mean"] ** 2) ** 0.5
                print(
                    f"| {p} | {mine['mean']:.4g} ({mine['mcse_mean']:.2g}) | {peer['mean']:.4g} "
                    f"({peer['mcse_mean']:.2g}) | {z:+.2f} |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="paretonbd,gamma_gamma")
    parser.add_argument("--peer-python", default=str(HERE.parent / ".venv-bench" / "bin" / "python"))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--peer-timeout", type=float, default=None, help="stop a peer fit after this many seconds"
    )
    parser.add_argument(
        "--peer-sampler",
        choices=("pymc", "nutpie"),
        default="pymc",
        help="the peer's NUTS: PyMC's own (default) or nutpie through pymc-marketing's nuts_sampler",
    )
    parser.add_argument("--child", choices=("ours", "theirs"))
    parser.add_argument("--model")
    parser.add_argument("--priors")
    parser.add_argument("--result")
    args = parser.parse_args()
    sampling = (args.draws, args.tune, args.chains, args.seed)
    if args.child == "ours":
        Path(args.result).write_text(json.dumps(ours(args.model, *sampling)))
        return
    if args.child == "theirs":
        peer = theirs(args.model, *sampling, json.loads(args.priors), sampler=args.peer_sampler)
        Path(args.result).write_text(json.dumps(peer))
        return
    _summary()
    common = [
        "--draws",
        str(args.draws),
        "--tune",
        str(args.tune),
        "--chains",
        str(args.chains),
        "--seed",
        str(args.seed),
    ]
    peer_sampler = ["--peer-sampler", args.peer_sampler]
    results: dict[str, Any] = {}
    for model in args.models.split(","):
        mine = _child(sys.executable, ["--child", "ours", "--model", model, *common])
        print(json.dumps({"model": model, "ltvlab": mine}), flush=True)
        peer = {"status": "not run: ltvlab fit failed"}
        if mine.get("status") == "ok":
            priors = json.dumps(mine["priors"])
            peer = _child(
                args.peer_python,
                ["--child", "theirs", "--model", model, *common, "--priors", priors, *peer_sampler],
                timeout=args.peer_timeout,
            )
        print(json.dumps({"model": model, "peer": peer}), flush=True)
        results[model] = {"ltvlab": mine, "peer": peer}
        (OUT / "peers.json").write_text(json.dumps(results, indent=1))
    report(results)


if __name__ == "__main__":
    main()
