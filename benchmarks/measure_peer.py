"""One pymc-marketing measurement, run in the benchmark environment (``.venv-bench``) by ``run_all.py``.

``python benchmarks/measure_peer.py '{"summary": "...parquet", "draws": 1000, ...}' OUT.json`` fits
``pymc_marketing.clv.BetaGeoModel`` (its default priors; PyMC's default NUTS sampler unless ``sampler`` is given, e.g. ``"nutpie"``; one core) to the same
customer summary ltvlab fits and writes wall time, sampling time, diagnostics and posterior means to ``OUT.json``.
pymc-marketing is never imported by ltvlab itself.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

PARAMS = ("r", "alpha", "a", "b")


def fit_peer(
    *,
    summary: str,
    draws: int,
    tune: int,
    chains: int,
    seed: int = 2024,
    priors: dict | None = None,
    sampler: str | None = None,
) -> dict:
    """``priors``: ltvlab's resolved ``{param: [mu0, sd0]}`` on log(param); given, the peer gets the same
    LogNormal priors, so both tools sample the same posterior and their means must agree within MCSE."""
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel

    frame = pd.read_parquet(summary)
    data = pd.DataFrame(
        {
            "customer_id": np.arange(len(frame), dtype=np.int64),
            "frequency": frame["x"].to_numpy(dtype=float),
            "recency": frame["t_x"].to_numpy(dtype=float),
            "T": frame["T"].to_numpy(dtype=float),
        }
    )
    start = time.perf_counter()
    config = None
    if priors:
        config = {
            name: Prior("LogNormal", mu=float(mu), sigma=float(sd)) for name, (mu, sd) in priors.items()
        }
    model = BetaGeoModel(data=data, model_config=config)
    model.fit(
        fit_method="mcmc",
        draws=draws,
        tune=tune,
        chains=chains,
        cores=1,
        random_seed=seed,
        progressbar=False,
        **({"nuts_sampler": sampler} if sampler else {}),
    )
    wall_s = time.perf_counter() - start
    idata = model.idata
    table = az.summary(idata, var_names=list(PARAMS), kind="all", round_to="none")
    divergences = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else -1
    sampling = idata.posterior.attrs.get("sampling_time", idata.sample_stats.attrs.get("sampling_time"))
    return {
        "wall_s": wall_s,
        "sampling_s": float(sampling) if sampling is not None else None,
        "n_customers": len(data),
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "max_r_hat": float(table["r_hat"].max()),
        "min_ess_bulk": float(table["ess_bulk"].min()),
        "min_ess_tail": float(table["ess_tail"].min()),
        "divergences": divergences,
        "pymc_marketing": version("pymc-marketing"),
        "priors": "ltvlab's (LogNormal)" if priors else "pymc-marketing defaults",
        "sampler": sampler or "pymc",
        "posterior": {
            name: {
                "mean": float(table.loc[name, "mean"]),
                "sd": float(table.loc[name, "sd"]),
                "mcse_mean": float(table.loc[name, "mcse_mean"]),
                "ess_bulk": float(table.loc[name, "ess_bulk"]),
                "r_hat": float(table.loc[name, "r_hat"]),
            }
            for name in PARAMS
        },
    }


def main() -> None:
    kwargs, out = json.loads(sys.argv[1]), Path(sys.argv[2])
    out.write_text(json.dumps(fit_peer(**kwargs), indent=1))


if __name__ == "__main__":
    main()
