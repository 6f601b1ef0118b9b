"""Centred vs non-centred partial pooling: the automatic choice, and that both forms give the same posterior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic import simulate_bgnbd
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD
from ltvlab.ltv._build import build_model
from ltvlab.ltv._parametrize import population_sd, segment_laplace
from ltvlab.ltv.priors import resolve_priors

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


def test_population_sd_is_the_between_segment_spread_beyond_noise() -> None:
    d = np.full((4, 1), 0.1)
    # estimates no farther apart than their noise: no spread left, so non-centred
    assert population_sd(np.array([[0.0], [0.05], [-0.05], [0.02]]), d, 0.5)[0] == 0.0
    # var(modes) = 0.09 (ddof 1) minus the noise 0.01: tau = sqrt(0.08)
    modes = np.array([[-0.3], [0.3], [-0.3], [0.3]]) * np.sqrt(0.09 / 0.12)
    assert population_sd(modes, d, 0.5)[0] == pytest.approx(np.sqrt(0.08))
    # far apart: capped at the prior's pooling sd
    assert population_sd(np.array([[-3.0], [3.0], [0.0], [1.0]]), d, 0.5)[0] == 0.5


def test_auto_centres_parameters_the_data_pin_down_and_differ_in() -> None:
    """Segments whose purchase rates differ 10-fold and are each measured on 3,000 customers: r centred."""
    rng = np.random.default_rng(9)
    frames = []
    for s, r in enumerate((0.2, 0.5, 1.0, 2.0)):
        T = rng.integers(20, 53, 3000).astype(float)
        sim = simulate_bgnbd(3000, r, 5.0, 0.8, 2.5, T=T, seed=rng)
        frames.append(pd.DataFrame({col.X: sim[col.X], col.T_X: sim[col.T_X], col.T: T, "seg": f"s{s}"}))
    data = pd.concat(frames, ignore_index=True)
    auto = BGNBD(pooling="partial", segment="seg")
    weights = auto.centering(auto.prepare(data))
    assert all(np.all((w >= 0) & (w <= 1)) for w in weights.values())
    assert np.all(weights["r"] == 1.0)
    assert "log_r" in _free_names(auto, data) and "z_log_r" not in _free_names(auto, data)
    assert auto.fit(data, method="map").config["centering"]["r"] == [1.0] * 4
    # forced forms
    forced = BGNBD(pooling="partial", segment="seg", parametrization="non-centered")
    assert "z_log_r" in _free_names(forced, data)
    small = _summary(200)
    fit = BGNBD(pooling="partial", segment="seg", parametrization="centered").fit(small, method="map")
    assert fit.config["parametrization"] == "centered"
    assert BGNBD().fit(small, method="map").config["parametrization"] is None


def test_laplace_sd_matches_the_spread_of_estimates_over_simulated_datasets() -> None:
    """The data sd ``d`` behind the weights is the sampling sd of a segment's MLE: simulate 40 segments with one
    truth; the sd of their 40 MLEs (log scale) must match the median Laplace sd. The sample sd of 40 estimates has
    a relative SE of about 1 / sqrt(2 * 39) = 11%; the band 0.7-1.4 is about 3 SE."""
    rng = np.random.default_rng(11)
    frames = []
    for s in range(40):
        T = rng.integers(20, 53, 1500).astype(float)
        sim = simulate_bgnbd(1500, *TRUTH["s1"], T=T, seed=rng)
        frames.append(pd.DataFrame({col.X: sim[col.X], col.T_X: sim[col.T_X], col.T: T, "seg": f"s{s:02d}"}))
    spec = BGNBD(pooling="partial", segment="seg")
    prepared = spec.prepare(pd.concat(frames, ignore_index=True))
    priors = resolve_priors(spec.kind, spec.priors, prepared.values)
    modes, sds = segment_laplace(spec.kind, prepared.rows, priors)
    ratio = modes.std(axis=0, ddof=1) / np.median(sds, axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    # and the modes sit on the truth: mean of 40 estimates within 4 SE of the log truth
    z = (modes.mean(axis=0) - np.log(TRUTH["s1"])) / (modes.std(axis=0, ddof=1) / np.sqrt(40))
    assert np.all(np.abs(z) < 4), z


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd", "gamma_gamma"])
def test_laplace_is_each_segments_own_maximum_and_curvature(model) -> None:
    """All segments are maximised in one problem through the model's compiled likelihood; each segment's mode and
    sds must be those of its own plain NumPy likelihood maximised alone (BFGS on function values) with the
    curvature from second differences of that likelihood."""
    from scipy import optimize

    from ltvlab.data.synthetic import simulate_gamma_gamma, simulate_pareto_nbd
    from ltvlab.ltv import GammaGamma, ParetoNBD
    from ltvlab.ltv._parametrize import REGULARISER_SD

    summary = _summary(800)
    if model == "paretonbd":
        sims = [
            simulate_pareto_nbd(800, r=0.5 + 0.1 * k, alpha=6.0, s=0.6, beta=10.0, T=40.0, seed=k)
            for k in range(3)
        ]
        summary = pd.concat([sim.assign(seg=f"s{k}") for k, sim in enumerate(sims)], ignore_index=True)
    if model == "gamma_gamma":
        x = np.random.default_rng(4).poisson(2.0, len(summary)) + 1
        spend = simulate_gamma_gamma(x, p=6.0, q=3.5, gamma=15.0, seed=4)
        summary = summary.assign(x=x, monetary=spend["monetary"].to_numpy())
    spec = {"bgnbd": BGNBD, "paretonbd": ParetoNBD, "gamma_gamma": GammaGamma}[model](
        pooling="partial", segment="seg"
    )
    prepared = spec.prepare(summary)
    priors = resolve_priors(spec.kind, spec.priors, prepared.values)
    modes, sds = segment_laplace(spec.kind, prepared.rows, priors)
    kind, rows = spec.kind, prepared.rows
    centres = np.array([priors.normal[name][0] for name in kind.param_names])
    offsets = np.asarray(kind.offsets)
    for s in range(len(rows.segments)):
        mine = rows.segment_code == s
        columns = [rows.values[c][mine] for c in kind.data_columns]

        def negative(eta, columns=columns, weight=rows.weight[mine]):
            ll = kind.loglik(*columns, *(np.full(weight.size, t) for t in offsets + np.exp(eta)))
            return -float(weight @ ll) + 0.5 * float(np.sum(((eta - centres) / REGULARISER_SD) ** 2))

        alone = optimize.minimize(negative, centres, method="BFGS", options={"gtol": 1e-8}).x
        np.testing.assert_allclose(modes[s], alone, atol=2e-4)
        h, k = 1e-3, alone.size
        hess = np.empty((k, k))
        for i in range(k):
            for j in range(k):
                ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
                hess[i, j] = (
                    negative(alone + ei + ej)
                    - negative(alone + ei - ej)
                    - negative(alone - ei + ej)
                    + negative(alone - ei - ej)
                ) / (4 * h * h)
        np.testing.assert_allclose(sds[s], np.sqrt(np.diag(np.linalg.inv(hess))), rtol=2e-3)


def test_unknown_parametrization_is_refused() -> None:
    with pytest.raises(LtvlabError, match="parametrization"):
        BGNBD(pooling="partial", segment="seg", parametrization="centred")


def test_both_forms_are_the_same_model_up_to_the_jacobian() -> None:
    """The non-centred form's coordinates (per parameter: log sigma, the segments' mean m, the auxiliary u and the
    n - 1 zero-sum coordinates of the z) map to the centred form's (log sigma, mu, eta_1..n): its log density equals
    the centred density at the image plus log |det| of the map's Jacobian (central differences). Checked at random
    points, so the two forms are one model (and one posterior)."""
    import pytensor

    summary = _summary(300)
    models = {
        form: BGNBD(pooling="partial", segment="seg", parametrization=form).build_model(summary)
        for form in ("centered", "non-centered")
    }
    logp = {form: m.compile_logp() for form, m in models.items()}
    nc = models["non-centered"]
    names = ("r", "alpha", "a", "b")
    outs = nc.replace_rvs_by_values([nc[v] for name in names for v in (f"mu_log_{name}", f"log_{name}")])
    by_name = {v.name: v for v in nc.value_vars}
    keys = ("sigma_log_{}_log__", "mean_log_{}", "u_log_{}", "z_log_{}_zerosum__")
    values = [by_name[key.format(name)] for name in names for key in keys]
    image = pytensor.function(values, outs, on_unused_input="ignore")
    order = [v.name for v in values]

    def mapped(pt_: dict) -> list[np.ndarray]:
        return image(*[pt_[k] for k in order])

    rng = np.random.default_rng(5)
    n_seg = len(TRUTH)
    for _ in range(3):
        point = {}
        for name, centre in (("r", -0.7), ("alpha", 1.6), ("a", -0.2), ("b", 0.9)):
            point[f"sigma_log_{name}_log__"] = np.array(np.log(0.2 + 0.3 * rng.random()))
            point[f"mean_log_{name}"] = np.array(centre + 0.1 * rng.standard_normal())
            point[f"u_log_{name}"] = np.array(rng.standard_normal())
            point[f"z_log_{name}_zerosum__"] = rng.standard_normal(n_seg - 1)
        outs_at = mapped(point)
        c_point = {}
        for i, name in enumerate(names):
            c_point[f"mu_log_{name}"] = np.asarray(outs_at[2 * i])
            c_point[f"log_{name}"] = np.asarray(outs_at[2 * i + 1])
            c_point[f"sigma_log_{name}_log__"] = point[f"sigma_log_{name}_log__"]
        log_det, h = 0.0, 1e-5
        for i, name in enumerate(names):  # at fixed sigma the map is (m, u, y) -> (mu, eta) per parameter
            cols = []
            for key, k in [(f"mean_log_{name}", None), (f"u_log_{name}", None)] + [
                (f"z_log_{name}_zerosum__", j) for j in range(n_seg - 1)
            ]:
                up, down = dict(point), dict(point)
                for d, sign in ((up, 1.0), (down, -1.0)):
                    v = np.array(point[key], dtype=float, copy=True)
                    if k is None:
                        v = v + sign * h
                    else:
                        v[k] += sign * h
                    d[key] = v
                a_, b_ = mapped(up), mapped(down)
                cols.append(
                    np.concatenate([np.atleast_1d(a_[2 * i] - b_[2 * i]), a_[2 * i + 1] - b_[2 * i + 1]])
                    / (2 * h)
                )
            log_det += np.linalg.slogdet(np.column_stack(cols))[1]
        assert logp["non-centered"](point) == pytest.approx(logp["centered"](c_point) + log_det, abs=1e-6)


def test_partially_non_centred_form_is_the_same_model_up_to_its_jacobian() -> None:
    """With weights w per segment: eta = mu + sigma**(1-w) (tilde - w mu), so the partially non-centred density at
    tilde equals the centred density at eta plus sum (1 - w_s) log sigma (d eta / d tilde = sigma**(1-w))."""
    summary = _summary(300)
    spec = BGNBD(pooling="partial", segment="seg", parametrization="centered")
    prepared = spec.prepare(summary)
    priors = resolve_priors(spec.kind, spec.priors, prepared.values)
    w = np.array([0.0, 0.25, 0.5, 0.8, 1.0])
    partial = build_model(
        spec.kind,
        prepared.rows,
        "partial",
        priors,
        prepared.segments,
        centered={name: w for name in spec.kind.param_names},
    )
    centred = spec.build_model(summary)
    assert "pnc_log_r" in {v.name for v in partial.free_RVs}
    lp_partial, lp_centred = partial.compile_logp(), centred.compile_logp()
    rng = np.random.default_rng(8)
    for _ in range(3):
        c_point, p_point, jacobian = {}, {}, 0.0
        for name, centre in (("r", -0.7), ("alpha", 1.6), ("a", -0.2), ("b", 0.9)):
            mu, log_sigma = centre + 0.1 * rng.standard_normal(), np.log(0.2 + 0.3 * rng.random())
            sigma = np.exp(log_sigma)
            eta = mu + sigma * rng.standard_normal(len(TRUTH))
            for point in (c_point, p_point):
                point[f"mu_log_{name}"] = np.array(mu)
                point[f"sigma_log_{name}_log__"] = np.array(log_sigma)
            c_point[f"log_{name}"] = eta
            p_point[f"pnc_log_{name}"] = w * mu + (eta - mu) / sigma ** (1 - w)
            jacobian += float(np.sum((1 - w) * log_sigma))
        assert lp_partial(p_point) == pytest.approx(lp_centred(c_point) + jacobian, abs=1e-8)
