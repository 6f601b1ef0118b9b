"""The fused BG/NBD time-varying-covariate kernel against the exact NumPy likelihood and finite differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest

from ltvlab.ltv.interactions import prepare_tvc_data, tvc_loglik, tvc_loglik_pt
from tests.ltv.test_tvc_likelihood import CAL_END, ORIGIN, random_case


def case(n=40, seed=21):
    tx, table = random_case(seed, n=n)
    ids = sorted(tx["customer_id"].unique())
    rng = np.random.default_rng(seed)
    segment = pd.Series(rng.choice(["s1", "s2"], size=len(ids)), index=ids)
    static = pd.DataFrame({"customer_id": ids, "score": rng.standard_normal(len(ids))})
    return prepare_tvc_data(
        tx, table, calibration_end=CAL_END, origin=ORIGIN, period_length="7D", segment=segment,
        static=static, static_columns=["score"],
    )  # fmt: skip


def unpack(v):
    return {
        "r": v[0:2],
        "alpha": v[2:4],
        "a": v[4:6],
        "b": v[6:8],
        "gamma": v[8:12].reshape((2, 2)),
        "beta_static": v[12:13],
    }


POINT = np.array([0.8, 1.1, 3.0, 4.5, 0.7, 1.3, 2.5, 4.0, 0.3, -0.4, 0.2, 0.5, 0.25])


@pytest.mark.parametrize(
    "mode",
    ["FAST_RUN", pytest.param("NUMBA", marks=pytest.mark.slow)],  # NUMBA: the mode nutpie compiles; ~2 min
)
def test_fused_value_and_gradient_match_numpy(mode):
    from dataclasses import replace

    data = case()
    # weights as merged rows carry them (the static score makes every row distinct here)
    data = replace(data, weight=np.random.default_rng(21).integers(1, 4, size=data.n_rows).astype(float))
    assert (data.x == 0).any() and (data.x > 0).any() and data.weight.max() > 1
    theta = pt.dvector("theta")
    fused = tvc_loglik_pt(data, "bgnbd", unpack(theta), [0, 1], fused=True)
    plain = tvc_loglik_pt(data, "bgnbd", unpack(theta), [0, 1], fused=False)
    f = pytensor.function([theta], [fused, pt.grad(fused, theta), plain], mode=mode)
    value, grad, plain_value = f(POINT)
    exact = np.sum(data.weight * tvc_loglik(data, "bgnbd", unpack(POINT), [0, 1]))
    assert abs(value - exact) < 1e-9 * abs(exact)
    assert abs(plain_value - exact) < 1e-9 * abs(exact)

    def total(v):
        return np.sum(data.weight * tvc_loglik(data, "bgnbd", unpack(v), [0, 1]))

    h = 1e-6  # central differences: truncation ~h^2, rounding ~1e-16 |LL| / h ~ 1e-8
    numeric = np.array([(total(POINT + h * e) - total(POINT - h * e)) / (2 * h) for e in np.eye(POINT.size)])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)


def test_pareto_nbd_graph_with_segments_static_covariates_and_weights_matches_numpy():
    # the terms without operational times are summed per (segment, x) and the linear ones beforehand: with two
    # segments, a static covariate and merged rows this must still be the row-by-row NumPy likelihood, and its
    # gradient the finite differences of it
    from dataclasses import replace

    data = case(n=60, seed=5)
    # the static score makes every row distinct; weights as merged rows would carry them
    data = replace(data, weight=np.random.default_rng(5).integers(1, 4, size=data.n_rows).astype(float))
    assert len(data.segments) == 2 and data.static.shape[1] == 1 and data.weight.max() > 1

    def unpack_pnbd(v):
        return {
            "r": v[0:2],
            "alpha": v[2:4],
            "s": v[4:6],
            "beta": v[6:8],
            "gamma": v[8:12].reshape((2, 2)),
            "delta": v[12:16].reshape((2, 2)),
            "beta_static": v[16:17],
        }

    point = np.array([0.8, 1.1, 3.0, 4.5, 0.7, 1.3, 9.0, 6.0, 0.3, -0.4, 0.2, 0.5, 0.4, 0.1, -0.3, 0.2, 0.25])
    theta = pt.dvector("theta")
    total = tvc_loglik_pt(data, "paretonbd", unpack_pnbd(theta), [0, 1], [0, 1])
    f = pytensor.function([theta], [total, pt.grad(total, theta)])
    value, grad = f(point)

    def exact(v):
        return np.sum(data.weight * tvc_loglik(data, "paretonbd", unpack_pnbd(v), [0, 1], [0, 1]))

    # the graph integrates the pieces by the panelled rule, within 1e-8 of the closed form per piece
    assert abs(value - exact(point)) < 1e-8 * data.n_rows
    h = 1e-6
    numeric = np.array([(exact(point + h * e) - exact(point - h * e)) / (2 * h) for e in np.eye(point.size)])
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_log_density_holds_no_row_array_as_a_constant(model):
    # Numba will not cache a compiled function with large global arrays ("Cannot cache compiled function ... as it
    # uses dynamic globals"), so a contact model's NUTS fit would compile anew in every process: the per-row,
    # per-entry and per-piece arrays must reach the graph as shared variables
    from pytensor.graph.basic import Constant, ancestors

    from ltvlab.ltv.interactions.fit import TVCSpec

    data = case(n=60, seed=5)
    assert data.post.row.size and data.n_rows >= 40
    built = TVCSpec(model=model, pooling="partial", effect_pooling="partial").build(data)
    logp = built.logp()
    graph = [logp, *pytensor.grad(logp, built.value_vars)]
    sizes = [c.data.size for c in ancestors(graph) if isinstance(c, Constant)]
    assert max(sizes) < data.n_rows, sorted(sizes)[-5:]
