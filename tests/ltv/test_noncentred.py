"""The non-centred partial pooling with the segments' mean split off (``_build.noncentred``) has the joint prior of
the plain hierarchy ``eta_s = mu + sigma z_s``: checked by exact distributional identities of that hierarchy."""

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from ltvlab.ltv import _build

N = 40_000
MU0, SD0, POOL_SD = -0.7, 1.5, 0.5


def _draws(n_seg: int, batch: int | None = None, seed: int = 11):
    coords = {"segment": [f"s{i}" for i in range(n_seg)]}
    dims: tuple[str, ...] = ("segment",)
    if batch:
        coords["cov"] = [f"c{i}" for i in range(batch)]
        dims = ("cov", "segment")
    with pm.Model(coords=coords):
        eta = pm.Deterministic("eta", _build.noncentred("eta", MU0, SD0, dims, POOL_SD), dims=dims)
        mu, sigma = pm.modelcontext(None)["mu_eta"], pm.modelcontext(None)["sigma_eta"]
        m, s, e = pm.draw([mu, sigma, eta], draws=N, random_seed=seed)
    return np.asarray(m), np.asarray(s), np.asarray(e)


@pytest.mark.parametrize("n_seg", [2, 3, 7])
def test_joint_prior_is_the_plain_hierarchy(n_seg):
    mu, sigma, eta = _draws(n_seg)
    # mu ~ Normal(MU0, SD0) and sigma ~ HalfNormal(POOL_SD) marginally
    assert stats.kstest((mu - MU0) / SD0, "norm").pvalue > 1e-3
    assert stats.kstest(sigma / POOL_SD, stats.halfnorm.cdf).pvalue > 1e-3
    # given sigma: mean(eta) - mu ~ Normal(0, sigma / sqrt(n)), eta_s - mean(eta) ~ Normal(0, sigma sqrt((n-1)/n)),
    # both independent of sigma, so their standardised values are standard normal whatever sigma is
    mean_gap = (eta.mean(axis=1) - mu) / (sigma / np.sqrt(n_seg))
    assert stats.kstest(mean_gap, "norm").pvalue > 1e-3
    deviation = (eta[:, 0] - eta.mean(axis=1)) / (sigma * np.sqrt((n_seg - 1) / n_seg))
    assert stats.kstest(deviation, "norm").pvalue > 1e-3
    # second moments: Var eta_s = SD0^2 + POOL_SD^2, Cov(eta_s, eta_t) = Cov(mu, eta_s) = SD0^2
    cov = np.cov(np.column_stack([mu, eta]).T)
    var_eta = SD0**2 + POOL_SD**2
    # standard error of a sample covariance of (near-)normal variables: sqrt((s_xx s_yy + s_xy^2) / N)
    for i, j, truth in [(1, 1, var_eta), (1, 2, SD0**2), (0, 1, SD0**2), (0, 0, SD0**2)]:
        si, sj = (SD0**2 if i == 0 else var_eta), (SD0**2 if j == 0 else var_eta)
        se = np.sqrt((si * sj + truth**2) / N)
        assert abs(cov[i, j] - truth) < 4 * se, (i, j, cov[i, j], truth)


def test_batch_dimension_pools_along_the_segment_axis():
    mu, sigma, eta = _draws(4, batch=2)
    assert eta.shape == (N, 2, 4) and mu.shape == (N, 2)
    for c in range(2):
        gap = (eta[:, c].mean(axis=1) - mu[:, c]) / (sigma[:, c] / 2.0)
        assert stats.kstest(gap, "norm").pvalue > 1e-3
    # the two batch entries are independent
    assert abs(np.corrcoef(mu[:, 0], mu[:, 1])[0, 1]) < 4 / np.sqrt(N)
