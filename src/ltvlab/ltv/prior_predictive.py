"""Prior-predictive check: what data do a spec's priors imply, next to the data observed?

For each prior draw of the parameters, every customer (or a seeded subsample) is re-simulated with its own
``T`` (and ``x`` for spend) and segment, and a few statistics are computed: for purchase models the mean
``x``, ``P(x = 0)`` and the 90th percentile of ``x``; for Gamma-Gamma the mean and median of ``monetary``.
A prior is reasonable when the observed statistics sit well inside the prior-predictive range.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pymc as pm

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._data import encode_segments, segment_labels
from ltvlab.ltv._model import BTYDSpec

__all__ = ["PriorPredictive", "prior_predictive_summary"]


@dataclass(frozen=True)
class PriorPredictive:
    """``table``: statistic, observed, q05, q50, q95, p_below (share of prior draws below the observed value)."""

    model_name: str
    n_draws: int
    n_customers: int
    seed: int
    table: pd.DataFrame
    draws: pd.DataFrame = field(repr=False)  # one row per prior draw, one column per statistic


def _purchase_stats(x: np.ndarray) -> dict[str, float]:
    return {
        "mean_x": float(x.mean()),
        "p_x_zero": float((x == 0).mean()),
        "x_q90": float(np.quantile(x, 0.9)),
    }


def _spend_stats(m: np.ndarray) -> dict[str, float]:
    return {"mean_monetary": float(m.mean()), "median_monetary": float(np.median(m))}


def prior_predictive_summary(
    spec: BTYDSpec,
    summary: pd.DataFrame,
    *,
    draws: int = 200,
    seed: int = 0,
    max_customers: int = 5000,
) -> PriorPredictive:
    """Simulate data from ``spec``'s priors for the customers in ``summary`` and compare with what was observed."""
    if isinstance(spec.priors, str) and spec.priors == "flat":
        raise LtvlabError("priors='flat' are improper: there is no prior-predictive distribution to simulate")
    if draws < 1:
        raise LtvlabError(f"draws must be >= 1, got {draws}")
    rng = np.random.default_rng(seed)
    model = spec.build_model(summary)
    with model, warnings.catch_warnings():
        # Only the parameters' priors are sampled; the likelihood Potential is meant to be ignored here.
        warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        prior = pm.sample_prior_predictive(
            draws=draws, var_names=list(spec.kind.param_names), random_seed=seed
        )
    prior = prior.prior
    labels = segment_labels(summary, spec.segment)
    segments = tuple(sorted(set(labels.tolist())))
    codes = (
        encode_segments(labels, segments)
        if spec.pooling != "complete"
        else np.zeros(len(summary), dtype=np.int64)
    )
    kind = spec.kind
    spend = kind.role == "spend"
    keep = np.arange(len(summary))
    if spend:
        keep = keep[summary[col.X].to_numpy() > 0]
    if keep.size > max_customers:
        keep = np.sort(rng.choice(keep, size=max_customers, replace=False))
    seg = codes[keep]
    params = {}
    for name in spec.kind.param_names:
        arr = prior[name].values.reshape(draws, -1)
        params[name] = arr[:, seg] if arr.shape[1] > 1 else np.broadcast_to(arr, (draws, seg.size))
    rows = []
    simulate = kind.simulate_calibration
    if spend:
        x = summary[col.X].to_numpy(dtype=float)[keep]
        observed = _spend_stats(summary[col.MONETARY].to_numpy(dtype=float)[keep])
        for d in range(draws):
            rows.append(_spend_stats(simulate(rng, [params[k][d] for k in kind.param_names], x)))
    else:
        T = summary[col.T].to_numpy(dtype=float)[keep]
        observed = _purchase_stats(summary[col.X].to_numpy(dtype=float)[keep])
        for d in range(draws):
            x = simulate(rng, [params[k][d] for k in kind.param_names], T)
            rows.append(_purchase_stats(np.asarray(x, dtype=float)))
    sims = pd.DataFrame(rows)
    table = pd.DataFrame(
        {
            "statistic": list(observed),
            "observed": list(observed.values()),
            "q05": [float(sims[k].quantile(0.05)) for k in observed],
            "q50": [float(sims[k].quantile(0.5)) for k in observed],
            "q95": [float(sims[k].quantile(0.95)) for k in observed],
            "p_below": [float((sims[k] < v).mean()) for k, v in observed.items()],
        }
    )
    return PriorPredictive(spec.kind_name, draws, int(keep.size), seed, table, sims)
