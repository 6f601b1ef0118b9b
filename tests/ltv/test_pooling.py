"""Partial pooling pays: 20 segments of 30 to 30,000 customers with known, heterogeneous BG/NBD parameters.

Truth: log theta_s = log theta_pop + 0.4 * z_s (z_s standard normal), fixed seed. Each segment's customers are
split 70/30; models are fitted on the 70% and scored by the log-likelihood of the held-out 30% (holdout log
predictive density, plug-in at the point estimate for MAP, log of the posterior-mean density for NUTS).
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
from ltvlab.ltv.distributions import bgnbd_loglik

POP = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
SIGMA = 0.4
SIZES = np.geomspace(30, 30_000, 20).round().astype(int)
SMALL = SIZES <= 300  # the 7 smallest segments


def _scenario(seed: int = 7):
    rng = np.random.default_rng(seed)
    truth = {k: np.exp(np.log(v) + SIGMA * rng.standard_normal(SIZES.size)) for k, v in POP.items()}
    frames = []
    for s, n in enumerate(SIZES):
        T = rng.integers(10, 53, n).astype(float)  # weeks since first purchase, whole weeks
        sim = simulate_bgnbd(n, *(truth[k][s] for k in POP), T=T, seed=rng)
        # record purchase times to the day, as real summaries are (keeps the compression effective)
        t_x = np.minimum(np.ceil(sim[col.T_X].to_numpy() * 7) / 7, T)
        frames.append(
            pd.DataFrame(
                {col.X: sim[col.X], col.T_X: t_x, col.T: T, "seg": f"s{s:02d}", "test": rng.random(n) < 0.3}
            )
        )
    data = pd.concat(frames, ignore_index=True)
    data[col.CUSTOMER_ID] = np.arange(len(data))
    return truth, data


def _score(fit, truth, test: pd.DataFrame):
    draws = fit.draws()
    seg_pos = [fit.segments.index(f"s{s:02d}") for s in range(SIZES.size)]
    est = {k: draws[k].mean(axis=0)[seg_pos] for k in POP}
    sq_err = np.mean([(np.log(est[k]) - np.log(truth[k])) ** 2 for k in POP], axis=0)  # per segment
    idx = fit.segment_index(test)
    x, t_x, T = (test[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    ll = bgnbd_loglik(x, t_x, T, *(draws[k][:, idx] for k in POP))  # (draws, customers)
    lpd = np.log(np.mean(np.exp(ll - ll.max(axis=0)), axis=0)) + ll.max(axis=0)
    seg = np.array([int(s[1:]) for s in test["seg"]])
    lpd_seg = np.bincount(seg, weights=lpd, minlength=SIZES.size)
    return sq_err, lpd_seg


def _compare(method: str, **kwargs):
    truth, data = _scenario()
    train, test = data[~data["test"]], data[data["test"]]
    scores = {}
    for pooling in ("none", "partial", "complete"):
        spec = BGNBD(pooling=pooling, segment="seg")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = spec.fit(train, method=method, seed=1, **kwargs)
        scores[pooling] = _score(fit, truth, test)
    return scores


def _assert_pooling_pays(scores):
    err_none, lpd_none = scores["none"]
    err_part, lpd_part = scores["partial"]
    _, lpd_comp = scores["complete"]
    # small segments: partial pooling estimates their parameters better and predicts their held-out customers better
    assert err_part[SMALL].mean() < err_none[SMALL].mean()
    assert lpd_part[SMALL].sum() > lpd_none[SMALL].sum()
    # overall: no worse than one parameter set for everybody (truth is heterogeneous, so it should be better)
    assert lpd_part.sum() >= lpd_comp.sum()


def test_partial_pooling_pays_map():
    _assert_pooling_pays(_compare("map"))


@pytest.fixture(scope="module")
def nuts_scores():
    return _compare("nuts", draws=500, tune=500, chains=2)


@pytest.mark.slow
def test_partial_pooling_pays_nuts_parameters(nuts_scores):
    err_none, _ = nuts_scores["none"]
    err_part, lpd_part = nuts_scores["partial"]
    _, lpd_comp = nuts_scores["complete"]
    assert err_part[SMALL].mean() < err_none[SMALL].mean()
    assert lpd_part.sum() >= lpd_comp.sum()


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known: with full posteriors the no-pooling fit predicts the small segments' held-out customers as well "
    "as partial pooling (measured: held-out log density -1521.1 none vs -1522.6 partial over the 7 small "
    "segments); only the MAP comparison shows the gain. Open in issue 4.",
)
def test_partial_pooling_pays_nuts_small_segment_predictions(nuts_scores):
    _, lpd_none = nuts_scores["none"]
    _, lpd_part = nuts_scores["partial"]
    assert lpd_part[SMALL].sum() > lpd_none[SMALL].sum()
