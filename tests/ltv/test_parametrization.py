"""Centred vs non-centred partial pooling: the automatic choice, and that both forms give the same posterior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic import simulate_bgnbd
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD
from ltvlab.ltv._model import CENTERED_MIN_SEGMENT_SIZE

TRUTH = {
    "s0": (0.4, 4.0, 0.7, 2.5),
    "s1": (0.6, 6.0, 0.9, 3.0),
    "s2": (0.5, 5.0, 0.8, 2.0),
    "s3": (0.45, 4.5, 0.6, 2.2),
    "s4": (0.55, 5.5, 0.75, 2.8),
}


def _summary(n_per_segment: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for seg, params in TRUTH.items():
        T = rng.integers(20, 53, n_per_segment).astype(float)
        sim = simulate_bgnbd(n_per_segment, *params, T=T, seed=rng)
        t_x = np.minimum(np.ceil(sim[col.T_X].to_numpy() * 7) / 7, T)
        frames.append(pd.DataFrame({col.X: sim[col.X], col.T_X: t_x, col.T: T, "seg": seg}))
    return pd.concat(frames, ignore_index=True)


def _free_names(spec: BGNBD, summary: pd.DataFrame) -> set[str]:
    return {v.name for v in spec.build_model(summary).free_RVs}


def test_auto_is_centred_only_when_every_segment_is_large() -> None:
    small = _summary(CENTERED_MIN_SEGMENT_SIZE // 4)
    large = _summary(CENTERED_MIN_SEGMENT_SIZE)
    auto = BGNBD(pooling="partial", segment="seg")
    assert "z_log_r" in _free_names(auto, small)  # non-centred: standard-normal offsets
    assert "log_r" in _free_names(auto, large) and "z_log_r" not in _free_names(auto, large)
    forced = BGNBD(pooling="partial", segment="seg", parametrization="non-centered")
    assert "z_log_r" in _free_names(forced, large)
    # MAP fits record the form that was used
    fit = BGNBD(pooling="partial", segment="seg", parametrization="centered").fit(small, method="map")
    assert fit.config["parametrization"] == "centered"
    assert BGNBD().fit(small, method="map").config["parametrization"] is None


def test_unknown_parametrization_is_refused() -> None:
    with pytest.raises(LtvlabError, match="parametrization"):
        BGNBD(pooling="partial", segment="seg", parametrization="centred")


def test_both_forms_are_the_same_model_up_to_the_jacobian() -> None:
    """Centred density at eta equals non-centred density at z = (eta - mu) / sigma minus n_segments * log(sigma).

    Change of variables eta = mu + sigma z: p_eta(eta) = p_z(z) / sigma per segment, so the two log densities differ
    by exactly sum over parameters of n_segments * log(sigma_param). Checked at random points.
    """
    summary = _summary(300)
    n_seg = len(TRUTH)
    models = {
        form: BGNBD(pooling="partial", segment="seg", parametrization=form).build_model(summary)
        for form in ("centered", "non-centered")
    }
    logp = {form: m.compile_logp() for form, m in models.items()}
    rng = np.random.default_rng(5)
    for _ in range(3):
        c_point, n_point, jacobian = {}, {}, 0.0
        for name, centre in (("r", -0.7), ("alpha", 1.6), ("a", -0.2), ("b", 0.9)):
            mu, log_sigma = centre + 0.1 * rng.standard_normal(), np.log(0.2 + 0.3 * rng.random())
            eta = mu + np.exp(log_sigma) * rng.standard_normal(n_seg)
            for point in (c_point, n_point):
                point[f"mu_log_{name}"] = np.array(mu)
                point[f"sigma_log_{name}_log__"] = np.array(log_sigma)
            c_point[f"log_{name}"] = eta
            n_point[f"z_log_{name}"] = (eta - mu) / np.exp(log_sigma)
            jacobian += n_seg * log_sigma
        assert logp["centered"](c_point) == pytest.approx(logp["non-centered"](n_point) - jacobian, abs=1e-8)
