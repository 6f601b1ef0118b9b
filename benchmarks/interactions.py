"""Benchmark of the time-varying-covariate fit (issue 17): 100,000 customers, 3 contact strategies, 52 weekly
periods, partial pooling over 10 segments, NUTS 2 x 1,000 draws (after 1,000 tuning steps).

Data: ``simulate_contact_crm`` (randomised contacts, window:4 carry-over, the score as a static covariate).
Reports the time to prepare the sufficient statistics, the NUTS time, the peak resident memory of the process,
the diagnostics gate, and how the effects' 90% intervals cover the simulator's truth (with the max |z|).

    .venv/bin/python benchmarks/interactions.py [--model bgnbd|paretonbd] [--customers 100000] [--draws 1000]

``--gradient`` times one evaluation of the log-density and its gradient instead (median of ``--repeats``), with the
fused BG/NBD kernel (``ltvlab.ltv.interactions._fused``) and with the plain PyTensor graph, at the posterior's
starting point; this is the cost per leapfrog step of NUTS.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from ltvlab.data.synthetic_contacts import simulate_contact_crm
from ltvlab.ltv.interactions import prepare_tvc_data
from ltvlab.ltv.interactions.fit import TVCSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bgnbd", choices=["bgnbd", "paretonbd"])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--segments", type=int, default=10)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--gradient", action="store_true", help="time the log-density gradient only")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--no-remedy",
        action="store_true",
        help="report the first fit (no automatic refits after a failed gate)",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    crm = simulate_contact_crm(
        args.customers, n_segments=args.segments, model=args.model, periods=52, seed=args.seed
    )
    t1 = time.perf_counter()
    data = prepare_tvc_data(
        crm.transactions,
        crm.covariates,
        calibration_end=crm.calibration_end,
        origin=crm.origin,
        period_length=crm.period_length,
        segment=crm.customers[["customer_id", "segment"]],
        static=crm.customers,
        static_columns=["score"],
    )
    t2 = time.perf_counter()
    print(f"rows {data.n_rows:,}, exposure entries {data.exposure_row.size:,}, simulate {t1 - t0:.1f} s, "
          f"prepare {t2 - t1:.1f} s")  # fmt: skip
    if args.gradient:
        time_gradient(data, args)
        return
    spec = TVCSpec(
        model=args.model,
        pooling="partial",
        effect_pooling="partial",
        carry_over=str(crm.carry_over),
        randomised=True,
    )
    fit = spec.fit(
        data,
        method="nuts",
        draws=args.draws,
        tune=args.draws,
        chains=args.chains,
        cores=args.cores,
        seed=args.seed,
        remedy=False if args.no_remedy else None,
    )
    t3 = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    effects = fit.effects().merge(crm.truth, on=["segment", "strategy", "parameter"])
    covered = ((effects["lower"] <= effects["value"]) & (effects["value"] <= effects["upper"])).mean()
    z = np.abs((effects["mean"] - effects["value"]) / effects["sd"]).max()
    d = fit.diagnostics
    print(
        f"model {args.model}, {args.customers:,} customers, {args.segments} segments, 3 strategies, 52 weeks"
    )
    print(
        f"rows {data.n_rows:,}, distinct covariate values {data.values.shape[0]}, post pieces {data.post.row.size:,}"
    )
    print(
        f"simulate {t1 - t0:.1f} s, prepare {t2 - t1:.1f} s, NUTS {args.chains} x {args.draws} {t3 - t2:.1f} s"
    )
    print(f"peak RSS {peak_gb:.2f} GB")
    print(
        f"diagnostics ok={d.ok} max R-hat {d.max_r_hat:.3f} min bulk ESS {d.min_ess_bulk:.0f} "
        f"min tail ESS {d.min_ess_tail:.0f} divergences {d.divergences} {list(d.messages)}"
    )
    print(f"effects: {len(effects)} intervals, 90% coverage {covered:.2f}, max |z| {z:.2f}")
    print(
        f"centring of the base parameters {fit.config['base_centering']}; centred {fit.config['centered_blocks']}"
    )
    for line in fit.config["remedies"]:
        print("remedy:", line)
    import arviz as az

    worst = az.summary(fit.idata, var_names=spec.gate_names(data)).sort_values("ess_bulk").head(6)
    print(worst[["mean", "sd", "ess_bulk", "ess_tail", "r_hat"]].to_string())


def time_gradient(data, args) -> None:
    """Median wall and CPU time of one log-density + gradient evaluation, fused kernel vs plain graph."""
    import pymc as pm

    from ltvlab.ltv.interactions import fit as fit_module
    from ltvlab.ltv.interactions import likelihood

    spec = TVCSpec(model=args.model, pooling="partial", effect_pooling="partial")
    for fused in (True, False):
        original = (
            likelihood.tvc_loglik_pt
        )  # the spec builds with the fused kernel; swap it for the comparison

        def patched(*a, fused=fused, original=original, **kw):
            return original(*a, **{**kw, "fused": fused})

        fit_module.tvc_loglik_pt = patched
        try:
            model = spec.build(data)
        finally:
            fit_module.tvc_loglik_pt = original
        point = model.initial_point()
        t0 = time.perf_counter()
        fn = model.compile_fn([model.logp(), pm.gradient(model.logp(), model.value_vars)], point_fn=True)
        compile_s = time.perf_counter() - t0
        walls, cpus = [], []
        for _ in range(args.repeats):
            w, c = time.perf_counter(), time.process_time()
            out = fn(point)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        print(
            f"{'fused' if fused else 'plain'}: log-density + gradient median {np.median(walls) * 1e3:.1f} ms wall, "
            f"{np.median(cpus) * 1e3:.1f} ms CPU over {args.repeats} (compile {compile_s:.1f} s); logp {float(out[0]):.6f}"
        )


if __name__ == "__main__":
    main()
