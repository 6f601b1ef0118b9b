"""The on-disk compile cache of NUTS fits (ltvlab.ltv._cache): same results as nutpie's own compilation, reused
by later processes, safe when two processes fill it at once.

Each case runs fits in fresh processes with their own empty cache directory (``LTVLAB_CACHE_DIR``), because the
cache location is fixed when PyTensor is imported. Slow: every fresh cache compiles from scratch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import ctypes, json, sys, warnings
    import numpy as np
    from ltvlab.data import load_dataset
    from ltvlab.features import customer_summary
    from ltvlab.ltv import BGNBD, _cache

    summary = customer_summary(load_dataset("cdnow-sample"), calibration_end="1997-09-30", unit="W")
    spec = BGNBD()
    compiled = _cache.compile_nutpie(spec.build_model(summary))
    # log-density and gradient of the compiled callback at fixed points of the unconstrained space
    callback, user_data = compiled.compiled_logp_func, compiled.user_data
    points = np.random.default_rng(0).normal(0.0, 0.5, size=(5, compiled.n_dim))
    values, grads = [], []
    for point in points:
        x = np.ascontiguousarray(point)
        out = np.zeros(compiled.n_dim)
        logp = np.zeros(1)
        code = callback.ctypes(
            compiled.n_dim,
            x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            logp.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            ctypes.c_void_p(user_data.ctypes.data),
        )
        assert code == 0, code
        values.append(float(logp[0]))
        grads.append(out.tolist())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = spec.fit(summary, draws=150, tune=150, chains=2, seed=11)
    json.dump(
        {
            "cache_hits": int(callback.cache_hits),
            "cached_type": type(compiled).__module__,
            "values": values,
            "grads": grads,
            "r": fit.param_draws["r"][:, 0].tolist(),
        },
        open(sys.argv[1], "w"),
    )
    """
)


def _env(cache_dir, enabled: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTENSOR_FLAGS"}
    env["LTVLAB_CACHE_DIR"] = str(cache_dir)
    env["LTVLAB_COMPILE_CACHE"] = "1" if enabled else "0"
    return env


def _start(tmp_path, name: str, cache_dir, enabled: bool = True) -> tuple[subprocess.Popen, object]:
    out = tmp_path / f"{name}.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out)],
        env=_env(cache_dir, enabled),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, out


def _finish(proc: subprocess.Popen, out) -> dict:
    log, _ = proc.communicate(timeout=3600)
    assert proc.returncode == 0, log[-3000:]
    return json.loads(out.read_text())


def _run(tmp_path, name: str, cache_dir, enabled: bool = True) -> dict:
    return _finish(*_start(tmp_path, name, cache_dir, enabled))


def test_cached_fit_equals_uncached_and_is_reused(tmp_path):
    cache = tmp_path / "cache"
    uncached = _run(tmp_path, "uncached", tmp_path / "other")  # nutpie's own compilation
    uncached_off = _run(tmp_path, "off", tmp_path / "other", enabled=False)
    first = _run(tmp_path, "first", cache)
    warm = _run(tmp_path, "warm", cache)
    # with the cache disabled nutpie compiles itself (its callbacks are never cached)
    assert uncached_off["cache_hits"] == 0
    # the first process compiles and stores, a later one loads the stored callback
    assert first["cache_hits"] == 0
    assert warm["cache_hits"] == 1
    for run in (uncached, first, warm):
        np.testing.assert_allclose(run["values"], uncached_off["values"], rtol=1e-12, atol=0)
        np.testing.assert_allclose(run["grads"], uncached_off["grads"], rtol=1e-12, atol=1e-12)
        # same seed, same log-density: the same draws
        np.testing.assert_array_equal(run["r"], uncached_off["r"])


def test_two_processes_fill_an_empty_cache_at_once(tmp_path):
    cache = tmp_path / "cache"
    a = _start(tmp_path, "a", cache)
    b = _start(tmp_path, "b", cache)
    result_a, result_b = _finish(*a), _finish(*b)
    np.testing.assert_array_equal(result_a["r"], result_b["r"])
    np.testing.assert_allclose(result_a["values"], result_b["values"], rtol=1e-12, atol=0)
    later = _run(tmp_path, "later", cache)
    assert later["cache_hits"] == 1
    np.testing.assert_array_equal(later["r"], result_a["r"])
