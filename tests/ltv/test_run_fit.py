"""Chains side by side (nutpie, PyMC with 2 cores) sample with one BLAS thread each; the MAP optimiser restarts
once after a stalled line search."""

from __future__ import annotations

import numpy as np
import pymc as pm
from threadpoolctl import threadpool_info, threadpool_limits

from ltvlab.ltv import _build


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def record_blas_threads(monkeypatch, module, name: str = "sample") -> list:
    """Replace ``module.name`` by a wrapper that records the BLAS threads it is called with."""
    seen: list = []
    real = getattr(module, name)

    def recording(*args, **kwargs):
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return seen


def _child_blas_threads(queue) -> None:
    queue.put(blas_threads())


def test_nutpie_samples_with_one_blas_thread_and_restores_the_setting(monkeypatch):
    import nutpie

    seen = record_blas_threads(monkeypatch, nutpie)
    # two BLAS threads outside the sampler, as on any machine with two cores or more
    with threadpool_limits(limits=2, user_api="blas"):
        check_one_thread_while_sampling(seen)


def test_pymc_chains_side_by_side_sample_with_one_blas_thread(monkeypatch):
    # PyMC forks one process per chain (Linux), and a forked process keeps the parent's BLAS limit
    import multiprocessing

    context = multiprocessing.get_context()
    assert context.get_start_method() == "fork"
    with threadpool_limits(limits=1, user_api="blas"):
        queue = context.Queue()
        child = context.Process(target=_child_blas_threads, args=(queue,))
        child.start()
        inherited = queue.get(timeout=60)
        child.join()
    assert inherited and set(inherited) == {1}
    seen = record_blas_threads(monkeypatch, pm)
    with threadpool_limits(limits=2, user_api="blas"):
        check_one_thread_while_sampling(seen, sampler="pymc")
        # one chain at a time keeps the machine's threads
        seen.clear()
        check_one_thread_while_sampling(seen, sampler="pymc", cores=1, expected=blas_threads())


def check_one_thread_while_sampling(
    seen: list, sampler: str = "nutpie", cores: int = 2, expected: list | None = None
) -> None:
    before = blas_threads()
    assert before and min(before) == 2, "no BLAS library with threads is loaded: the test would prove nothing"
    rng = np.random.default_rng(3)
    with pm.Model() as model:
        beta = pm.Normal("beta", 0.0, 1.0, shape=3)
        pm.Normal("y", pm.math.dot(rng.standard_normal((50, 3)), beta), 1.0, observed=rng.standard_normal(50))
    idata = _build.run_nuts(
        model, draws=20, tune=20, chains=2, seed=1, sampler=sampler, progressbar=False, target_accept=0.8,
        cores=cores, max_treedepth=10,
    )  # fmt: skip
    assert idata.posterior["beta"].shape == (2, 20, 3)
    assert seen == [[1] * len(before) if expected is None else expected]
    assert blas_threads() == before


def test_map_restarts_once_after_a_stalled_line_search(monkeypatch):
    # L-BFGS-B may stop with "ABNORMAL" (no decrease along its direction) at a point it can still leave once its
    # curvature memory is cleared: run_map restarts there once, and reports the restart's outcome
    calls = []
    real_find_map = pm.find_MAP

    def stalling_find_map(*args, **kwargs):
        point, result = real_find_map(*args, **kwargs)
        calls.append(kwargs.get("start"))
        if len(calls) == 1:  # the first search reports a stall, as it did on one machine's rounding
            result.success, result.message = False, "ABNORMAL: "
        return point, result

    monkeypatch.setattr(pm, "find_MAP", stalling_find_map)
    rng = np.random.default_rng(4)
    y = rng.normal(2.0, 1.5, size=200)
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 5.0)
        pm.Normal("y", mu, sigma, observed=y)
    values, converged, message = _build.run_map(model, seed=1)
    assert len(calls) == 2 and calls[0] is None
    assert set(calls[1]) == {"mu", "sigma_log__"}
    assert converged, message
    np.testing.assert_allclose(values["mu"], y.mean(), rtol=1e-3)  # the broad prior moves it by ~1e-4

    calls.clear()
    monkeypatch.setattr(pm, "find_MAP", lambda *a, **k: (calls.append(1), real_find_map(*a, **k))[1])
    once, ok, _ = _build.run_map(model, seed=1)
    assert ok and len(calls) == 1  # a search that converged is not repeated
    for name in ("mu", "sigma"):  # and the restart ends where an unstalled search ends
        np.testing.assert_allclose(values[name], once[name], rtol=1e-6)
