"""The two performance paths of the BTYD fits: the regrouped BG/NBD likelihood and ``time_step`` rounding.

Truth: the plain per-row NumPy/SciPy likelihood :func:`ltvlab.ltv.distributions.bgnbd_loglik` (tested against
published CDNOW estimates in ``test_distributions``), evaluated on every customer without compression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.ltv import BGNBD
from ltvlab.ltv.distributions import bgnbd_loglik


def _potential_and_params(spec: BGNBD, summary: pd.DataFrame, seed: int):
    """The model's likelihood potential and (r, alpha, a, b) at a random point near the initial point."""
    model = spec.build_model(summary)
    rng = np.random.default_rng(seed)
    point = {k: v + rng.normal(0.0, 0.3, size=np.shape(v)) for k, v in model.initial_point().items()}
    outputs = [model.potentials[0], *(model[name] for name in ("r", "alpha", "a", "b"))]
    fn = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")
    potential, *params = fn(point)
    return float(potential), [np.atleast_1d(p) for p in params]


@pytest.fixture(scope="module")
def segmented(cdnow_sample_summary: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return cdnow_sample_summary.assign(channel=rng.choice(["a", "b", "c"], size=len(cdnow_sample_summary)))


@pytest.mark.parametrize("pooling", ["complete", "partial"])
def test_regrouped_bgnbd_likelihood_equals_the_per_customer_sum(
    segmented: pd.DataFrame, pooling: str
) -> None:
    spec = BGNBD(pooling=pooling, segment=None if pooling == "complete" else "channel")
    potential, (r, alpha, a, b) = _potential_and_params(spec, segmented, seed=1)
    codes = np.zeros(len(segmented), dtype=int)
    if pooling == "partial":
        codes = np.searchsorted(np.array(sorted(segmented["channel"].unique())), segmented["channel"])
    x, t_x, T = (segmented[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    expected = np.sum(bgnbd_loglik(x, t_x, T, r[codes], alpha[codes], a[codes], b[codes]))
    # Same expression regrouped: only floating-point summation order differs (~1e-12 relative).
    assert potential == pytest.approx(expected, rel=1e-10)


def test_time_step_rounds_times_before_compressing(cdnow_sample_summary: pd.DataFrame) -> None:
    exact = BGNBD().prepare(cdnow_sample_summary)
    weekly = BGNBD(time_step=1.0).prepare(cdnow_sample_summary)
    t_x, T = weekly.values["t_x"], weekly.values["T"]
    assert np.all(T == np.round(T)) and np.all(t_x == np.round(t_x))
    assert np.all(T >= 1.0) and np.all(t_x <= T)
    # each time moves by at most half a step (plus the clamp T >= 1, which does not bind on CDNOW: T >= 26 weeks)
    assert np.max(np.abs(T - exact.values["T"])) <= 0.5 + 1e-12
    assert np.max(np.abs(t_x - exact.values["t_x"])) <= 0.5 + 1e-12
    assert weekly.rows.n_rows < exact.rows.n_rows
    assert weekly.rows.weight.sum() == exact.rows.weight.sum() == len(cdnow_sample_summary)
    potential, params = _potential_and_params(BGNBD(time_step=1.0), cdnow_sample_summary, seed=2)
    x = cdnow_sample_summary["x"].to_numpy(dtype=float)
    assert potential == pytest.approx(np.sum(bgnbd_loglik(x, t_x, T, *params)), rel=1e-10)


@pytest.mark.parametrize("step", [0.0, -1.0, float("nan")])
def test_time_step_must_be_positive(step: float) -> None:
    with pytest.raises(LtvlabError, match="time_step"):
        BGNBD(time_step=step)
