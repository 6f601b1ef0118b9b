"""Coverage of the decomposed incremental CLV over repeated simulated randomised tests.

Each dataset comes from :func:`ltvlab.data.synthetic_experiment.simulate_experiment` with known arm effects on
purchase, dropout and spend; the truth is :func:`ltvlab.ltv.experiment_value.experiment_value` at the true
parameters on the same customers' histories (its closed form is checked against the realised spend in
``tests/ltv/test_experiment_value.py``), and the check is whether each part's central interval covers it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ltvlab.data.synthetic_experiment import simulate_experiment
from ltvlab.ltv.experiment_value import (
    experiment_data,
    experiment_value,
    fit_experiment,
    parameters_from_truth,
)

__all__ = ["coverage_summary", "experiment_coverage_rows"]


def experiment_coverage_rows(
    seeds: Iterable[int],
    *,
    n_customers: int = 2_000,
    n_segments: int = 2,
    test_periods: int = 8,
    horizon_periods: int = 52,
    level: float = 0.9,
    method: str = "laplace",
    pooling: str = "none",
    effect_pooling: str = "none",
    draws: int = 400,
    effects: dict | None = None,
) -> pd.DataFrame:
    """One row per dataset, group and part: ``seed, group, part, truth, mean, lower, upper, covered, z,
    share_after_window_true, diagnostics_ok, seconds``."""
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        sim = simulate_experiment(
            n_customers, n_segments=n_segments, test_periods=test_periods, effects=effects, seed=int(seed)
        )
        data = experiment_data(
            sim.transactions,
            sim.assignment,
            assignment_date=sim.assignment_date,
            test_end=sim.test_end,
            period_length=sim.period_length,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_experiment(
                data,
                method=method,
                pooling=pooling,
                effect_pooling=effect_pooling,
                draws=draws,
                tune=draws,
                seed=int(seed),
            )
        value = experiment_value(fit, data, horizon_periods=horizon_periods, level=level, n_draws=draws)
        truth = experiment_value(
            parameters_from_truth(sim.segments, sim.effects, data.segments),
            data,
            horizon_periods=horizon_periods,
        ).table.set_index(["group", "part"])
        sd = value.draws.groupby(["group", "part"])["value"].std(ddof=1)
        seconds = time.perf_counter() - start
        for row in value.table.to_dict(orient="records"):
            key = (row["group"], row["part"])
            t = float(truth.loc[key, "mean"])
            rows.append(
                {
                    "seed": int(seed),
                    "group": row["group"],
                    "part": row["part"],
                    "truth": t,
                    "mean": row["mean"],
                    "lower": row["lower"],
                    "upper": row["upper"],
                    "covered": bool(row["lower"] <= t <= row["upper"]),
                    "z": (row["mean"] - t) / float(sd.loc[key]) if sd.loc[key] > 0 else np.nan,
                    "share_after_window_true": float(
                        truth.loc[(row["group"], "total"), "share_after_window"]
                    ),
                    "diagnostics_ok": fit.diagnostics_ok,
                    "seconds": seconds,
                }
            )
    return pd.DataFrame(rows)


def coverage_summary(rows: pd.DataFrame, level: float = 0.9) -> pd.DataFrame:
    """Per group and part: datasets, coverage, its binomial standard error at the nominal rate, mean and sd of
    the z-scores."""
    out = rows.groupby(["group", "part"], sort=False).agg(
        datasets=("covered", "size"), coverage=("covered", "mean"), z_mean=("z", "mean"), z_sd=("z", "std")
    )
    out["binomial_se"] = np.sqrt(level * (1 - level) / out["datasets"])
    return out.reset_index()
