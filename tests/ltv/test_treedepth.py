"""NUTS tree depth: the automatic cap for data-rich hierarchical fits, its fallback to full-length trees, and that
capped NUTS samples the same posterior as full-length NUTS.

Capping the tree changes only how far each NUTS transition travels, not its stationary distribution, so a capped
and an uncapped fit of the same data must agree up to Monte Carlo error: every posterior mean within a few
combined MCSEs (with 88 parameters, max |z| < 4 fails by chance with probability ~0.6%).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic import generate_crm, simulate_bgnbd
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.features import customer_summary
from ltvlab.ltv import BGNBD
from ltvlab.ltv._model import (
    CENTERED_SNAP,
    DEFAULT_TREEDEPTH,
    SHORT_TREEDEPTH,
    SHORT_TREES_MIN_SEGMENTS,
)


def _summary(n_segments: int, n_per_segment: int, seed: int = 5) -> pd.DataFrame:
    """Day-resolution summaries (in weeks) of BG/NBD customers in segments with different true parameters."""
    rng = np.random.default_rng(seed)
    frames = []
    for s in range(n_segments):
        params = (rng.uniform(0.3, 0.7), rng.uniform(3.0, 8.0), rng.uniform(0.5, 1.0), rng.uniform(2.0, 4.0))
        T = rng.integers(20 * 7, 53 * 7, n_per_segment) / 7.0
        sim = simulate_bgnbd(n_per_segment, *params, T=T, seed=rng)
        t_x = np.minimum(np.ceil(sim[col.T_X].to_numpy() * 7) / 7, T)
        frames.append(pd.DataFrame({col.X: sim[col.X], col.T_X: t_x, col.T: T, "seg": f"s{s:02d}"}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def many_large_segments() -> pd.DataFrame:
    return _summary(SHORT_TREES_MIN_SEGMENTS + 2, 2_000)


def test_short_trees_only_for_centred_pooling_over_many_segments(many_large_segments) -> None:
    data = many_large_segments
    partial = BGNBD(pooling="partial", segment="seg", parametrization="centered")
    assert partial.treedepth(partial.prepare(data)) == SHORT_TREEDEPTH
    # centred, but three segments barely identify the hyperparameters: full-length trees
    few = data[data["seg"].isin(["s00", "s01", "s02"])]
    assert partial.centered(partial.prepare(few))
    assert partial.treedepth(partial.prepare(few)) == DEFAULT_TREEDEPTH
    # auto: short trees when the data make the parameters mostly centred (mean weight >= CENTERED_SNAP)
    auto = BGNBD(pooling="partial", segment="seg")
    prepared = auto.prepare(data)
    centering = auto.centering(prepared)
    mean_weight = float(np.mean([w for ws in centering.values() for w in ws]))
    expected = SHORT_TREEDEPTH if mean_weight >= CENTERED_SNAP else DEFAULT_TREEDEPTH
    assert auto.treedepth(prepared) == expected
    # small segments, a forced non-centred form, and complete pooling: full-length trees
    small = data.groupby("seg").head(200)
    assert auto.treedepth(auto.prepare(small)) == DEFAULT_TREEDEPTH
    noncentred = BGNBD(pooling="partial", segment="seg", parametrization="non-centered")
    assert noncentred.treedepth(noncentred.prepare(data)) == DEFAULT_TREEDEPTH
    assert BGNBD().treedepth(BGNBD().prepare(data)) == DEFAULT_TREEDEPTH


@pytest.mark.parametrize("depth", [0, 16, 2.5, "3"])
def test_bad_treedepth_is_refused(depth) -> None:
    data = _summary(2, 200)
    with pytest.raises(LtvlabError, match="max_treedepth"):
        BGNBD().fit(data, max_treedepth=depth)


@pytest.mark.slow
def test_failed_short_trees_are_refitted_with_full_length_trees(many_large_segments) -> None:
    # On these data capped trees mix badly (min bulk ESS 146 of 2,000 draws, measured with seed 1): the
    # automatic choice must notice and refit with full-length trees.
    spec = BGNBD(pooling="partial", segment="seg", parametrization="centered")
    fit = spec.fit(many_large_segments, draws=1000, tune=1000, chains=2, cores=2, seed=1)
    assert fit.config["max_treedepth"] == DEFAULT_TREEDEPTH
    assert any(f"refitted with depth {DEFAULT_TREEDEPTH}" in w for w in fit.warnings)
    assert int(fit.idata.sample_stats["depth"].max()) > SHORT_TREEDEPTH


def _crm_summary(n_customers: int) -> pd.DataFrame:
    """The benchmark's simulated CRM (benchmarks/measure.py: 20 segments, seed 2024)."""
    crm = generate_crm(n_customers, n_segments=20, seed=2024, experiment_strategy=None, strategies=())
    segment = crm.customers.set_index(col.CUSTOMER_ID)["segment"].astype(str)
    tx = crm.transactions.assign(segment=segment.reindex(crm.transactions[col.CUSTOMER_ID]).to_numpy())
    return customer_summary(
        tx, calibration_end="2022-12-31", unit="W", segment_cols=("segment",), merge_same_day=False
    )


@pytest.mark.slow
def test_capped_nuts_samples_the_same_posterior() -> None:
    # The benchmark's 100,000 customers: 5,000 per segment pin the parameters down and capped trees mix well
    # there (benchmarks/treedepth.py). Not every data-rich posterior is like that: see the test above.
    data = _crm_summary(100_000)
    spec = BGNBD(pooling="partial", segment="segment", parametrization="centered")
    kwargs = {"draws": 1000, "tune": 1000, "chains": 2, "cores": 2}
    capped = spec.fit(data, seed=1, **kwargs)
    full = spec.fit(data, seed=2, max_treedepth=DEFAULT_TREEDEPTH, **kwargs)
    assert capped.config["max_treedepth"] == SHORT_TREEDEPTH and capped.diagnostics.ok
    assert int(capped.idata.sample_stats["depth"].max()) <= SHORT_TREEDEPTH
    assert int(full.idata.sample_stats["depth"].max()) > SHORT_TREEDEPTH  # the cap binds on these data
    names = list(capped.diagnostics.table["param"].str.split("[").str[0].unique())
    a = az.summary(capped.idata, var_names=names, kind="all", round_to="none")
    b = az.summary(full.idata, var_names=names, kind="all", round_to="none")
    z = (a["mean"] - b["mean"]) / np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    assert len(z) >= 50
    assert float(np.abs(z).max()) < 4.0, z.abs().sort_values().tail()
