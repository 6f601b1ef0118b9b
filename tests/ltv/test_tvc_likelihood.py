"""Time-varying-covariate BG/NBD and Pareto/NBD: sufficient statistics and the exact log-likelihood.

Independent truths: the customer summary of :mod:`ltvlab.features` (x, t_x, T), the static-covariate models of
:mod:`ltvlab.ltv.covariates` (constant covariates), the plain models (zero effects), and a per-customer numerical
integration over the latent purchase rate and the death time, on rates recomputed here from the raw
covariate table period by period.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate
from scipy.special import betaln, gammaln

from ltvlab.errors import LtvlabError
from ltvlab.features import customer_summary
from ltvlab.ltv import distributions as dist
from ltvlab.ltv.covariates import Covariates, row_params
from ltvlab.ltv.interactions import prepare_tvc_data, tvc_loglik, tvc_loglik_pt
from ltvlab.ltv.interactions.likelihood import (
    _log_piece_integral_numpy_rule,
    log_piece_integral,
)

ORIGIN = pd.Timestamp("2024-01-01")
CAL_END = "2024-04-30"
NAMES = ("contacts_email", "contacts_sms")


def random_case(seed: int, n: int = 6, constant: bool = False):
    """Transactions and a long covariate table of ``n`` customers (weekly grid from ORIGIN)."""
    rng = np.random.default_rng(seed)
    rows, cov = [], []
    for i in range(n):
        cid = f"c{i}"
        first = ORIGIN + pd.Timedelta(hours=float(rng.uniform(0, 24 * 7 * 8)))
        rows.append((cid, first))
        for _ in range(int(rng.integers(0, 6))):
            rows.append((cid, first + pd.Timedelta(hours=float(rng.uniform(0, 24 * 7 * 16)))))
        level = rng.choice([0.0, 1.0, 2.0], size=2) if constant else None
        for p in range(18):
            if constant:
                z = level
            elif rng.random() < 0.45:
                z = rng.choice([0.0, 1.0, 2.0, 0.5], size=2)
            else:
                continue
            cov.append((cid, ORIGIN + pd.Timedelta(weeks=p), *z))
    tx = pd.DataFrame(rows, columns=["customer_id", "date"]).sort_values(["customer_id", "date"])
    tx["amount"] = 1.0
    table = pd.DataFrame(cov, columns=["customer_id", "period_start", *NAMES])
    return tx.reset_index(drop=True), table


def prepared(tx, table, **kw):
    return prepare_tvc_data(
        tx, table, calibration_end=CAL_END, origin=ORIGIN, period_length="7D", compress=False, **kw
    )


BG = {"r": np.array([0.8]), "alpha": np.array([3.0]), "a": np.array([0.7]), "b": np.array([2.5])}
PN = {"r": np.array([0.8]), "alpha": np.array([3.0]), "s": np.array([0.6]), "beta": np.array([9.0])}


def effects(gamma, delta=None):
    out = {"gamma": np.array([gamma], float)}
    if delta is not None:
        out["delta"] = np.array([delta], float)
    return out


# --- sufficient statistics -----------------------------------------------------------------------------


@pytest.mark.parametrize("merge", [False, True])
def test_summary_matches_customer_summary(merge):
    tx, table = random_case(1, n=12)
    data = prepared(tx, table, merge_same_day=merge)
    ref = customer_summary(tx, calibration_end=CAL_END, merge_same_day=merge)
    np.testing.assert_array_equal(data.customer_id, ref["customer_id"].to_numpy())
    np.testing.assert_allclose(data.x, ref["x"], atol=0)
    np.testing.assert_allclose(data.t_x, ref["t_x"], atol=1e-12)
    np.testing.assert_allclose(data.T, ref["T"], atol=1e-12)
    exposed = np.bincount(data.exposure_row, weights=data.time_T, minlength=data.n_rows)
    np.testing.assert_allclose(exposed, data.T, atol=1e-12)
    np.testing.assert_allclose(
        np.bincount(data.exposure_row, weights=data.time_tx, minlength=data.n_rows), data.t_x, atol=1e-12
    )
    np.testing.assert_allclose(
        np.bincount(data.post.row, weights=data.post.length, minlength=data.n_rows),
        data.T - data.t_x,
        atol=1e-12,
    )


def test_compression_keeps_the_likelihood():
    tx, table = random_case(2, n=30)
    table = table[table["customer_id"] < "c15"]  # half the customers never contacted
    tx = pd.concat([tx, tx.assign(customer_id=tx["customer_id"] + "_copy")], ignore_index=True)
    full = prepared(tx, table)
    small = prepare_tvc_data(tx, table, calibration_end=CAL_END, origin=ORIGIN, period_length="7D")
    assert small.n_rows < full.n_rows
    params = {**PN, **effects([0.3, -0.2], [0.2, 0.4])}
    ll_full = tvc_loglik(full, "paretonbd", params, [0, 1], [0, 1])
    ll_small = tvc_loglik(small, "paretonbd", params, [0, 1], [0, 1])
    np.testing.assert_allclose(ll_small[small.inverse], ll_full, rtol=1e-12)
    assert np.isclose(small.weight.sum(), full.n_rows)


def test_bad_covariate_tables():
    tx, table = random_case(3)
    with pytest.raises(LtvlabError, match="not on the period grid"):
        prepared(tx, table.assign(period_start=table["period_start"] + pd.Timedelta(days=1)))
    with pytest.raises(LtvlabError, match="two rows for period"):
        prepared(tx, pd.concat([table, table.iloc[:1]]))
    with pytest.raises(LtvlabError, match="single value"):
        prepared(tx, table.assign(contacts_sms=0.0))
    with pytest.raises(LtvlabError, match="lacks column"):
        prepared(tx, table.drop(columns="period_start"))
    extra = pd.concat([table, table.iloc[:1].assign(customer_id="stranger")])
    assert "do not enter the fit" in prepared(tx, extra).notes[0]


# --- (c) zero effects: the plain models ------------------------------------------------------------------


def test_zero_effects_equal_plain_models():
    tx, table = random_case(4, n=20)
    data = prepared(tx, table)
    bg = tvc_loglik(data, "bgnbd", {**BG, **effects([0.0, 0.0])}, [0, 1])
    np.testing.assert_allclose(
        bg, dist.bgnbd_loglik(data.x, data.t_x, data.T, 0.8, 3.0, 0.7, 2.5), rtol=1e-12
    )
    pn = tvc_loglik(data, "paretonbd", {**PN, **effects([0.0, 0.0], [0.0, 0.0])}, [0, 1], [0, 1])
    np.testing.assert_allclose(pn, dist.pnbd_loglik(data.x, data.t_x, data.T, 0.8, 3.0, 0.6, 9.0), rtol=1e-10)


# --- (a) constant covariates: the static-covariate models -------------------------------------------------


def test_constant_covariates_equal_static_covariate_models():
    tx, table = random_case(5, n=20, constant=True)
    data = prepared(tx, table)
    z = table.groupby("customer_id")[list(NAMES)].first().reindex(data.customer_id).to_numpy()
    gamma, delta = np.array([0.4, -0.3]), np.array([0.25, 0.5])
    for model, base, drop in (("bgnbd", BG, ()), ("paretonbd", PN, NAMES)):
        cov = Covariates(NAMES, drop, dict.fromkeys(NAMES, 0.0), dict.fromkeys(NAMES, 1.0))
        names = tuple(base)
        draws = {k: v[None, :] for k, v in base.items()}
        draws["gamma_purchase"] = gamma[None, :]
        if drop:
            draws["gamma_dropout"] = delta[None, :]
        seg = np.zeros(data.n_rows, dtype=np.int64)
        per_row = [p[0] for p in row_params(model, names, draws, seg, z, cov)]
        loglik = dist.bgnbd_loglik if model == "bgnbd" else dist.pnbd_loglik
        static = loglik(data.x, data.t_x, data.T, *per_row)
        params = {**base, **effects(gamma, delta if drop else None)}
        ours = tvc_loglik(data, model, params, [0, 1], [0, 1] if drop else None)
        np.testing.assert_allclose(ours, static, rtol=1e-8, atol=1e-10)


# --- (b) numerical integration of the process ---------------------------------------------------------


class RawPath:
    """Covariates and rates of one customer recomputed from the raw table, period by period."""

    def __init__(self, cid, tx, table, calibration_end, merge=False):
        stamps = tx.loc[tx["customer_id"] == cid, "date"].sort_values()
        self.first = stamps.iloc[0]
        end = pd.Timestamp(calibration_end)
        repeats = stamps.iloc[1:]
        self.repeats = [(t - self.first) / pd.Timedelta(weeks=1) for t in repeats if t.normalize() <= end]
        self.t_x = max(self.repeats, default=0.0)
        self.T = max((end - self.first) / pd.Timedelta(weeks=1), self.t_x)
        mine = table[table["customer_id"] == cid]
        self.z = {
            int((row.period_start - ORIGIN) / pd.Timedelta(weeks=1)): np.array(
                [getattr(row, n) for n in NAMES]
            )
            for row in mine.itertuples()
        }
        offset = (self.first - ORIGIN) / pd.Timedelta(weeks=1)
        self.offset = offset
        k0, k1 = int(np.floor(offset)), int(np.ceil(offset + self.T))
        self.breaks = sorted(
            {0.0, self.T, *[k - offset for k in range(k0, k1 + 1) if 0 < k - offset < self.T]}
        )

    def cov(self, t):
        return self.z.get(int(np.floor(self.offset + t + 1e-12)), np.zeros(len(NAMES)))

    def cumulative(self, coef, t):
        """``int_0^t exp(coef . z(u)) du`` summed over the periods."""
        total, points = 0.0, [b for b in self.breaks if b < t] + [t]
        for lo, hi in itertools.pairwise(points):
            total += np.exp(coef @ self.cov(0.5 * (lo + hi))) * (hi - lo)
        return total


def integrated_loglik(path: RawPath, model, base, gamma, delta=None):
    """log L by quad over lambda (and over the death time for Pareto/NBD)."""
    x = len(path.repeats)
    lin = sum(gamma @ path.cov(t) for t in path.repeats)
    r, alpha = base["r"][0], base["alpha"][0]
    A_T, A_tx = path.cumulative(gamma, path.T), path.cumulative(gamma, path.t_x)
    log_gamma_norm = r * np.log(alpha) - gammaln(r)
    rate = r + x - 1.0

    def over_lambda(factor, scale):
        cut = 20 * max(rate, 0.5) / (alpha + scale) + 50 / (alpha + scale)

        def f(lam):
            return factor * np.exp(log_gamma_norm + rate * np.log(lam) - (alpha + scale) * lam)

        parts = ((0.0, cut), (cut, np.inf))
        return sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=400)[0] for lo, hi in parts)

    if model == "bgnbd":
        a, b = base["a"][0], base["b"][0]
        alive = over_lambda(np.exp(betaln(a, b + x) - betaln(a, b)), A_T)
        total = alive
        if x > 0:
            total += over_lambda(np.exp(betaln(a + 1, b + x - 1) - betaln(a, b)), A_tx)
        return lin + np.log(total)
    s, beta = base["s"][0], base["beta"][0]
    B_T = path.cumulative(delta, path.T)
    alive = over_lambda((beta / (beta + B_T)) ** s, A_T)

    def death_density(tau):  # lambda and mu integrated analytically, tau numerically
        a_tau, b_tau = path.cumulative(gamma, tau), path.cumulative(delta, tau)
        log = (
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            - (r + x) * np.log(alpha + a_tau)
            + np.log(s)
            + s * np.log(beta)
            - (s + 1) * np.log(beta + b_tau)
            + delta @ path.cov(tau)
        )
        return np.exp(log)

    points = [p for p in path.breaks if path.t_x < p < path.T]
    dead = 0.0
    grid = [path.t_x, *points, path.T]
    for lo, hi in itertools.pairwise(grid):
        dead += integrate.quad(death_density, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
    return lin + np.log(alive + dead)


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_likelihood_equals_numerical_integration(seed):
    tx, table = random_case(seed, n=5)
    data = prepared(tx, table)
    rng = np.random.default_rng(seed)
    gamma, delta = rng.normal(0, 0.5, 2), rng.normal(0, 0.5, 2)
    bg = tvc_loglik(data, "bgnbd", {**BG, **effects(gamma)}, [0, 1])
    pn = tvc_loglik(data, "paretonbd", {**PN, **effects(gamma, delta)}, [0, 1], [0, 1])
    for i, cid in enumerate(data.customer_id):
        path = RawPath(cid, tx, table, CAL_END)
        assert len(path.repeats) == data.x[i]
        assert abs(integrated_loglik(path, "bgnbd", BG, gamma) - bg[i]) < 1e-8
        assert abs(integrated_loglik(path, "paretonbd", PN, gamma, delta) - pn[i]) < 1e-8


# --- the PyTensor version -----------------------------------------------------------------------------


def test_piece_rule_matches_closed_form():
    rng = np.random.default_rng(9)
    n = 400
    P = np.exp(rng.uniform(np.log(0.3), np.log(60), n))
    Q = np.exp(rng.uniform(np.log(0.3), np.log(300), n))
    H = np.where(rng.random(n) < 0.7, rng.uniform(0.01, 1.5, n), rng.uniform(1.5, 60, n))
    m = rng.uniform(0.1, 3, n) + rng.integers(0, 40, n)
    k = rng.uniform(1.1, 4, n)
    exact = log_piece_integral(P, Q, H, m, k)
    quad = np.array(
        [
            np.log(
                integrate.quad(
                    lambda v, i=i: ((1 + v / P[i]) ** -m[i]) * (1 + v / Q[i]) ** -k[i],
                    0,
                    H[i],
                    epsabs=0,
                    epsrel=1e-13,
                    limit=200,
                )[0]
            )
            - m[i] * np.log(P[i])
            - k[i] * np.log(Q[i])
            for i in range(n)
        ]
    )
    np.testing.assert_allclose(exact, quad, atol=1e-9)
    rule = _log_piece_integral_numpy_rule(P, Q, H, m, k)
    assert np.max(np.abs(rule - exact)) < 1e-7  # measured max 1.5e-8 on these cases


def _pt_loglik(data, model, params, purchase, dropout=None):
    tensors = {k: pt.as_tensor_variable(np.asarray(v, float)) for k, v in params.items()}
    return pytensor.function([], tvc_loglik_pt(data, model, tensors, purchase, dropout))()


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_pytensor_matches_numpy(model):
    tx, table = random_case(10, n=40)
    data = prepare_tvc_data(
        tx, table, calibration_end=CAL_END, origin=ORIGIN, period_length="7D", segment=None
    )
    base = BG if model == "bgnbd" else PN
    params = {**base, **effects([0.3, -0.4], None if model == "bgnbd" else [0.5, -0.2])}
    dropout = None if model == "bgnbd" else [0, 1]
    exact = np.sum(data.weight * tvc_loglik(data, model, params, [0, 1], dropout))
    assert abs(_pt_loglik(data, model, params, [0, 1], dropout) - exact) < 1e-8 * data.n_rows


def test_pytensor_gradient_matches_finite_differences():
    tx, table = random_case(11, n=15)
    data = prepared(tx, table)
    theta = pt.dvector("theta")
    params = {
        "r": theta[0:1],
        "alpha": theta[1:2],
        "s": theta[2:3],
        "beta": theta[3:4],
        "gamma": theta[4:6].reshape((1, 2)),
        "delta": theta[6:8].reshape((1, 2)),
    }
    total = tvc_loglik_pt(data, "paretonbd", params, [0, 1], [0, 1])
    grad = pytensor.function([theta], pt.grad(total, theta))
    point = np.array([0.8, 3.0, 0.6, 9.0, 0.3, -0.2, 0.4, 0.1])

    def value(v):
        p = {
            "r": v[0:1],
            "alpha": v[1:2],
            "s": v[2:3],
            "beta": v[3:4],
            "gamma": v[None, 4:6],
            "delta": v[None, 6:8],
        }
        return np.sum(tvc_loglik(data, "paretonbd", p, [0, 1], [0, 1]))

    h = 1e-6
    numeric = np.array([(value(point + h * e) - value(point - h * e)) / (2 * h) for e in np.eye(point.size)])
    np.testing.assert_allclose(grad(point), numeric, rtol=1e-5, atol=1e-6)
