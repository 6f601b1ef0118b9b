"""Why hierarchical fits over many large segments cap NUTS trees at depth 3 (``ltvlab.ltv._model.SHORT_TREEDEPTH``).

Fits the same data with full-length NUTS trees (depth 10, the samplers' default) and with the cap, over a few seeds,
and prints per fit: wall time, gradient evaluations per draw, max R-hat, min bulk and tail ESS, and the min and
median *folded* ESS (ESS of |x - median|, what the folded R-hat and tail ESS depend on). Cases:

- ``synth``: 100,000 synthetic customers in 20 segments (``make bench`` data; centred pooling), where ltvlab caps.
- ``cohorts``: CDNOW sample by first-purchase cohort (3 segments, non-centred), where it does not: the cap
  would starve the funnel-shaped posterior of trajectory length.

    python benchmarks/treedepth.py [--case synth|cohorts] [--seeds 1 2 3]

Run on a quiet machine; each synth fit takes 40-90 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time
import warnings

import arviz as az
import numpy as np
import pandas as pd

from ltvlab.ltv import BGNBD

SYNTH_SUMMARY = (
    "benchmarks/out/synth_100000_summary.parquet"  # written by run_all.py / measure.py prepare_synth
)


def _data(case: str) -> tuple[BGNBD, pd.DataFrame]:
    if case == "synth":
        summary = pd.read_parquet(SYNTH_SUMMARY)
        summary.attrs["unit"] = "W"
        return BGNBD(pooling="partial", segment="segment"), summary
    from ltvlab.cli.ltv import add_derived_segment
    from ltvlab.data import load_dataset
    from ltvlab.features import customer_summary

    tx, segment = add_derived_segment(load_dataset("cdnow-sample"), "cohort")
    summary = customer_summary(tx, calibration_end="1997-09-30", unit="W", segment_cols=(segment,))
    return BGNBD(pooling="partial", segment=segment), summary


def _row(spec: BGNBD, data: pd.DataFrame, seed: int, depth: int) -> dict[str, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = spec.fit(data, draws=1000, tune=1000, chains=2, cores=2, seed=seed, max_treedepth=depth)
    wall = time.perf_counter() - start
    names = list(fit.diagnostics.table["param"].str.split("[").str[0].unique())
    folded = az.ess(fit.idata, var_names=names, method="folded")
    values = np.concatenate([np.atleast_1d(folded[v].values).ravel() for v in names])
    d = fit.diagnostics
    return {
        "seed": seed,
        "depth": depth,
        "wall_s": wall,
        "grad_evals_per_draw": float(fit.idata.sample_stats["n_steps"].mean()),
        "max_r_hat": d.max_r_hat,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "min_folded_ess": float(values.min()),
        "median_folded_ess": float(np.median(values)),
        "divergences": d.divergences,
        "gate": d.ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", choices=("synth", "cohorts"), default="synth")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    spec, data = _data(args.case)
    rows = [_row(spec, data, seed, depth) for depth in (10, 3) for seed in args.seeds]
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(4).to_string(index=False))
    print(
        table.groupby("depth")[
            ["wall_s", "grad_evals_per_draw", "min_folded_ess", "median_folded_ess"]
        ].mean()
    )


if __name__ == "__main__":
    main()
