"""nutpie's chains run on the cores; the BLAS inside the log-density must not start threads of its own."""

from __future__ import annotations

import numpy as np
import pymc as pm
from threadpoolctl import threadpool_info, threadpool_limits

from ltvlab.ltv import _build


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_nutpie_samples_with_one_blas_thread_and_restores_the_setting(monkeypatch):
    import nutpie

    seen = []
    real_sample = nutpie.sample

    def recording_sample(*args, **kwargs):
        seen.append(blas_threads())
        return real_sample(*args, **kwargs)

    monkeypatch.setattr(nutpie, "sample", recording_sample)
    # two BLAS threads outside the sampler, as on any machine with two cores or more
    with threadpool_limits(limits=2, user_api="blas"):
        check_one_thread_while_sampling(seen)


def check_one_thread_while_sampling(seen: list) -> None:
    before = blas_threads()
    assert before and min(before) == 2, "no BLAS library with threads is loaded: the test would prove nothing"
    rng = np.random.default_rng(3)
    with pm.Model() as model:
        beta = pm.Normal("beta", 0.0, 1.0, shape=3)
        pm.Normal("y", pm.math.dot(rng.standard_normal((50, 3)), beta), 1.0, observed=rng.standard_normal(50))
    idata = _build.run_nuts(
        model, draws=20, tune=20, chains=2, seed=1, sampler="nutpie", progressbar=False, target_accept=0.8,
        cores=2, max_treedepth=10,
    )  # fmt: skip
    assert idata.posterior["beta"].shape == (2, 20, 3)
    assert seen == [[1] * len(before)]
    assert blas_threads() == before
