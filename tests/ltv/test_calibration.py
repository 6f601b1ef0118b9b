"""Calibration study (slow): 90% posterior intervals cover the truth 84-96% of the time.

Simulation-based calibration in its simplest form: the truth of each dataset is drawn from exactly the prior the
model uses (a proper, informative prior passed as a mapping), data are simulated from the BG/NBD with 4 segments,
and the partial-pooling model is fitted with NUTS. If inference is right, each 90% central interval covers its
truth with probability 0.90, whatever the prior. 50 datasets x (4 population means + 16 segment parameters) =
1,000 interval checks, positively correlated within a dataset; the band 84-96% is about +-3 binomial SEs even
allowing a design effect of ~4 (SE of a proportion 0.9 over 1,000/4 effective checks = 0.019).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic import simulate_bgnbd
from ltvlab.errors import ConvergenceWarning
from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD

PRIOR = {
    "r": (np.log(0.5), 0.3),
    "alpha": (np.log(5.0), 0.3),
    "a": (np.log(0.8), 0.3),
    "b": (np.log(2.5), 0.3),
    "pooling_sd": 0.3,
}
SIZES = (150, 300, 600, 1200)
N_DATASETS = 50


def _dataset(rng: np.random.Generator):
    mu = {k: rng.normal(*PRIOR[k]) for k in ("r", "alpha", "a", "b")}
    sigma = {k: abs(rng.normal(0.0, PRIOR["pooling_sd"])) for k in mu}
    theta = {k: np.exp(mu[k] + sigma[k] * rng.standard_normal(len(SIZES))) for k in mu}
    frames = []
    for s, n in enumerate(SIZES):
        T = rng.integers(20, 53, n).astype(float)
        sim = simulate_bgnbd(n, *(theta[k][s] for k in ("r", "alpha", "a", "b")), T=T, seed=rng)
        frames.append(pd.DataFrame({col.X: sim[col.X], col.T_X: sim[col.T_X], col.T: T, "seg": f"s{s}"}))
    return mu, theta, pd.concat(frames, ignore_index=True)


@pytest.mark.slow
@pytest.mark.study
def test_posterior_intervals_are_calibrated():
    rng = np.random.default_rng(20240)
    hits = []
    for i in range(N_DATASETS):
        mu, theta, data = _dataset(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = BGNBD(pooling="partial", segment="seg", priors=PRIOR).fit(
                data, method="nuts", draws=500, tune=500, chains=2, seed=i
            )
        draws = fit.draws()
        for k in mu:
            pop = fit.population_draws[f"mu_log_{k}"]
            lo, hi = np.quantile(pop, [0.05, 0.95])
            hits.append(lo <= mu[k] <= hi)
            for s in range(len(SIZES)):
                j = fit.segments.index(f"s{s}")
                lo, hi = np.quantile(draws[k][:, j], [0.05, 0.95])
                hits.append(lo <= theta[k][s] <= hi)
    coverage = float(np.mean(hits))
    print(f"90% interval coverage over {len(hits)} checks: {coverage:.3f}")
    assert 0.84 <= coverage <= 0.96
