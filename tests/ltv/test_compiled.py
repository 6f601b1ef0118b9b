"""The disk-cached nutpie callbacks of ltvlab.ltv._compiled: same log density and gradient as PyMC's own
compilation, loaded (not recompiled) by a second process, safe when two processes fill an empty cache at once."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
import scipy.special

from ltvlab.ltv._compiled import compile_model, digamma


def test_digamma_equals_scipy():
    positive = np.geomspace(1e-8, 1e8, 3001)
    negative = -np.linspace(0.013, 20.3, 997)  # no integers
    for grid, tol in ((positive, 2e-13), (negative, 1e-10)):
        ours = np.array([digamma(v) for v in grid])
        ref = scipy.special.psi(grid)
        assert np.all(np.abs(ours - ref) <= tol * np.maximum(1.0, np.abs(ref))), grid[
            np.argmax(np.abs(ours - ref))
        ]
    assert digamma(0.0) == -np.inf == scipy.special.psi(0.0)
    assert np.isnan(digamma(-3.0)) and np.isnan(scipy.special.psi(-3.0))
    assert np.isnan(digamma(np.nan))


def _model(values: np.ndarray) -> pm.Model:
    with pm.Model() as model:
        a = pm.LogNormal("a", 0.0, 1.0)
        b = pm.HalfNormal("b", 2.0, shape=2)
        pm.Deterministic("ratio", a / b)
        # log-gammas of parameters: the gradient holds the digamma that used to make graphs uncacheable
        pm.Potential("lik", (pt.gammaln(a + values) - pt.gammaln(a) - values * pt.log1p(b.sum())).sum())
    return model


def _call_logp(compiled, point: np.ndarray) -> tuple[float, np.ndarray]:
    """Call the compiled C callback exactly as nuts-rs does: dimension, point, gradient out, logp out, user data."""
    n = compiled.n_dim
    x = np.ascontiguousarray(point, dtype=np.float64)
    grad = np.zeros(n)
    logp = np.zeros(())
    code = compiled.compiled_logp_func.ctypes(
        ctypes.c_uint64(n),
        x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        grad.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        logp.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )
    assert code == 0
    return float(logp), grad


def test_callback_equals_pymc_log_density_and_gradient():
    rng = np.random.default_rng(4)
    model = _model(rng.poisson(3.0, size=50).astype(float))
    compiled, info = compile_model(model)
    assert info.cached
    logp_ref = model.compile_logp(jacobian=True)
    dlogp_ref = model.compile_dlogp(jacobian=True)
    names = [v.name for v in model.value_vars]  # a_log__, b_log__: the order of nutpie's flat point
    for _ in range(5):
        point = rng.normal(size=compiled.n_dim)
        values = {names[0]: point[0], names[1]: point[1:3]}
        logp, grad = _call_logp(compiled, point)
        assert logp == pytest.approx(float(logp_ref(values)), rel=1e-12)
        np.testing.assert_allclose(grad, dlogp_ref(values), rtol=1e-10)


_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from test_compiled import _call_logp, _model
    from ltvlab.ltv._compiled import compile_model
    compiled, info = compile_model(_model(np.arange(40.0) % 7))
    logp, grad = _call_logp(compiled, np.array([0.3, -0.2, 0.5]))
    hits = compiled.compiled_logp_func.cache_hits + compiled.compiled_expand_func.cache_hits
    print(json.dumps({"cached": info.cached, "hits": hits, "logp": logp, "grad": grad.tolist()}))
    """
)


def _start(cache_dir) -> subprocess.Popen:
    env = {**os.environ, "LTVLAB_CACHE_DIR": str(cache_dir)}
    env.pop("PYTENSOR_FLAGS", None)
    code = "import ltvlab\n" + _CHILD  # ltvlab first: it points PyTensor's cache at LTVLAB_CACHE_DIR
    return subprocess.Popen(
        [sys.executable, "-c", code, os.path.dirname(__file__)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_second_process_loads_the_callbacks_and_concurrent_fills_are_safe(tmp_path):
    cache = tmp_path / "cache"
    first, second = _start(cache), _start(cache)  # both compile into the same empty cache at once
    results = [_result(first), _result(second)]
    third = _result(_start(cache))
    for r in [*results, third]:
        assert r["cached"]
        assert r["logp"] == results[0]["logp"] and r["grad"] == results[0]["grad"]
    assert third["hits"] == 2  # both callbacks loaded from disk, none compiled
    assert any(path.name.startswith("string.ltvlab_logp-") for path in (cache / "numba").iterdir())


def _registered_model_cases():
    from ltvlab.data import load_dataset
    from ltvlab.features import customer_summary
    from ltvlab.ltv import BGBB, SBG, BdW, model_spec, registered_models
    from ltvlab.ltv.sbg import retention_rows

    summary = customer_summary(
        load_dataset("cdnow-sample"), calibration_end="1997-09-30", holdout_end="1998-06-30", unit="W"
    )
    summary = summary.assign(segment=np.arange(len(summary)) % 3)
    donations = load_dataset("donations").assign(segment=lambda d: np.arange(len(d)) % 2)
    donations.attrs["unit"] = "period"
    rows = retention_rows(load_dataset("retention"), cohort_size=1000)
    for pooling in ("complete", "partial"):
        for name in (*registered_models(), *registered_models("spend")):
            yield f"{name}-{pooling}", model_spec(name, pooling=pooling, segment="segment"), summary, None
        yield f"bgbb-{pooling}", BGBB(pooling=pooling, segment="segment"), donations, "count"
        for spec in (SBG, BdW):
            yield f"{spec.__name__}-{pooling}", spec(pooling=pooling, segment="cohort"), rows, "count"


def test_every_registered_model_compiles_to_a_cacheable_log_density():
    from ltvlab.ltv._compiled import uncacheable_operations

    found = {}
    for label, spec, data, weights in _registered_model_cases():
        found[label] = uncacheable_operations(spec.build_model(data, weights=weights))
    assert len(found) == 14
    assert not any(found.values()), {k: v for k, v in found.items() if v}
    with pm.Model() as model:  # the check is not vacuous: an incomplete gamma has no cacheable Numba form
        a = pm.LogNormal("a")
        pm.Potential("p", pt.log(pt.gammaincc(a, np.arange(1.0, 5.0))).sum())
    assert "GammaIncC" in uncacheable_operations(model)


def test_an_uncacheable_model_still_gets_working_callbacks():
    with pm.Model() as model:
        a = pm.LogNormal("a")
        pm.Potential("p", pt.log(pt.gammaincc(a, np.arange(1.0, 5.0))).sum())
    compiled, info = compile_model(model)
    assert not info.cached
    logp_ref = model.compile_logp(jacobian=True)
    for value in (-0.5, 0.2, 1.1):
        point = np.array([value])
        logp, grad = _call_logp(compiled, point)
        assert logp == pytest.approx(float(logp_ref({"a_log__": value})), rel=1e-12)
        # the gradient is PyTensor's series approximation of d/da Q(a, x), whose C and Numba forms differ by ~1e-9:
        # the callback must return exactly what the compiled Numba function it wraps returns
        inner_logp, inner_grad = compiled.logp_func(point)
        assert logp == float(inner_logp)
        np.testing.assert_array_equal(grad, inner_grad)


_DATASET_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import pandas as pd
    from ltvlab.ltv import model_spec
    from ltvlab.ltv._compiled import compile_model
    n, seed = int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(seed)
    T = rng.uniform(10.0, 40.0, n)
    x = rng.poisson(1.5, n).astype(float)
    summary = pd.DataFrame({"customer_id": np.arange(n), "x": x, "t_x": np.where(x > 0, T * rng.uniform(size=n), 0.0),
                            "T": T})
    summary.attrs["unit"] = "W"
    model = model_spec("bgnbd").build_model(summary)
    compiled, info = compile_model(model)
    point = model.initial_point()
    hits = compiled.compiled_logp_func.cache_hits + compiled.compiled_expand_func.cache_hits
    print(json.dumps({"hits": hits, "logp": float(model.compile_logp()(point))}))
    """
)


@pytest.mark.slow
def test_a_new_dataset_of_the_same_model_loads_the_compiled_callbacks(tmp_path):
    """Data (rows, group arrays, the data-driven prior centre) are shared variables, not constants, so the cache
    key is the model's structure: a second dataset of another size and other values compiles nothing."""
    env = {**os.environ, "LTVLAB_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PYTENSOR_FLAGS", None)

    def run(n: int, seed: int) -> dict:
        out = subprocess.run(
            [sys.executable, "-c", "import ltvlab\n" + _DATASET_CHILD, os.path.dirname(__file__), str(n), str(seed)],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first, second = run(500, 1), run(2_000, 2)
    assert first["logp"] != second["logp"]
    assert second["hits"] == 2
