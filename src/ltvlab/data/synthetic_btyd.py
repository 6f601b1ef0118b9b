"""Exact simulators of the BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma generative processes (summary level).

Time is continuous and measured from each customer's first purchase, in whatever unit the rates use (weeks for
the CDNOW parameters). Everything is vectorised NumPy; no per-customer Python loop.

BG/NBD (Fader, Hardie & Lee 2005): ``lambda ~ Gamma(r, rate=alpha)``, ``p ~ Beta(a, b)``; while alive,
repeat purchases follow a Poisson process with rate ``lambda``; right after each repeat purchase the customer
drops out with probability ``p``. Hence, with ``N(t) ~ Poisson(lambda t)`` the purchases of an immortal customer
and ``J ~ Geometric(p)`` on ``{1, 2, ...}`` the repeat purchase after which the customer drops out,
``X(t) = min(N(t), J)``. Given ``N(T) = n`` the event times are ``n`` sorted uniforms on ``[0, T]``, so the
time of the ``x``-th one is ``T * Beta(x, n - x + 1)``.

MBG/NBD (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but the customer may also drop out right after the
first purchase, at time 0, with the same probability ``p``; so with probability ``p`` nothing more is seen
(``x = 0``), otherwise the BG/NBD process runs.

BG/BB (Fader, Hardie & Shang 2010), discrete time: ``p ~ Beta(alpha, beta)``, ``theta ~ Beta(gamma, delta)``; at
the start of each transaction opportunity ``t = 1, 2, ...`` an alive customer dies with probability ``theta``,
and an alive customer transacts at ``t`` with probability ``p``.

Pareto/NBD (Schmittlein, Morrison & Colombo 1987): ``lambda ~ Gamma(r, rate=alpha)``, ``mu ~ Gamma(s,
rate=beta)``, lifetime ``tau ~ Exponential(mu)``; purchases are Poisson(``lambda``) on ``[0, tau)``.

Gamma-Gamma (Fader, Hardie & Lee 2005b): ``nu ~ Gamma(q, rate=gamma)`` per customer, each transaction value
``z ~ Gamma(p, rate=nu)``; so ``E[z | nu] = p / nu`` and ``E[mean spend] = p * gamma / (q - 1)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

ArrayLike = float | npt.ArrayLike


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise LtvlabError(f"{name}={value!r} must be a positive finite number")
    return value


def _durations(name: str, value: ArrayLike, n: int) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise LtvlabError(f"{name} must be positive and finite for every customer")
    return arr


def _count(n: int) -> int:
    if int(n) != n or n < 0:
        raise LtvlabError(f"n={n!r} must be a non-negative integer")
    return int(n)


def _customers(
    n: int,
    params: dict[str, float],
    T: ArrayLike,
    holdout: ArrayLike | None,
    seed: int | np.random.Generator,
) -> tuple[int, np.random.Generator, np.ndarray, np.ndarray | None, np.ndarray]:
    """Checked inputs of a BG/NBD or Pareto/NBD simulator and the customers' purchase rates.

    ``params`` maps each model parameter's name to its value (all must be positive; ``r`` and ``alpha`` are
    the gamma of ``lambda``). Returns ``(n, rng, T, holdout, lam)`` with ``T`` and ``holdout`` per customer.
    """
    n = _count(n)
    for name, value in params.items():
        _positive(name, value)
    rng = np.random.default_rng(seed)
    T_arr = _durations("T", T, n)
    hold = None if holdout is None else _durations("holdout", holdout, n)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size=n)
    return n, rng, T_arr, hold, lam


def bgnbd_counts(
    lam: np.ndarray, p: np.ndarray, T: np.ndarray, holdout: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, t_x, x_holdout)`` for customers with known ``lambda`` and ``p`` (BG/NBD, exact)."""
    n_cal = rng.poisson(lam * T)
    dropout_after = rng.geometric(
        np.clip(p, 1e-12, 1.0)
    )  # repeat purchase after which the customer drops out (1, 2, ...)
    x = np.minimum(n_cal, dropout_after)
    t_x = np.zeros_like(T)
    has = x > 0
    t_x[has] = T[has] * rng.beta(x[has], n_cal[has] - x[has] + 1)
    x_holdout = None
    if holdout is not None:
        n_hold = rng.poisson(lam * holdout)
        x_holdout = np.minimum(n_cal + n_hold, dropout_after) - x
    return x, t_x, x_holdout


def mbgnbd_counts(
    lam: np.ndarray, p: np.ndarray, T: np.ndarray, holdout: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, t_x, x_holdout)`` for customers with known ``lambda`` and ``p`` (MBG/NBD, exact)."""
    gone_at_start = rng.random(np.shape(p)) < p  # dropout right after the first purchase
    x, t_x, x_holdout = bgnbd_counts(lam, p, T, holdout, rng)
    x = np.where(gone_at_start, 0, x)
    t_x = np.where(gone_at_start, 0.0, t_x)
    if x_holdout is not None:
        x_holdout = np.where(gone_at_start, 0, x_holdout)
    return x, t_x, x_holdout


def bgbb_counts(
    p: np.ndarray, theta: np.ndarray, n: np.ndarray, holdout: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, t_x, x_holdout)`` of BG/BB customers with known ``p``, ``theta`` over ``n`` opportunities (exact)."""
    p, theta = np.asarray(p, dtype=float), np.asarray(theta, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=np.int64), p.shape)
    # opportunity at whose start the customer dies: Geometric(theta) on 1, 2, ...; alive at t for t < death
    death = rng.geometric(np.clip(theta, 1e-12, 1.0))
    extra = int(holdout or 0)
    horizon = int(n.max()) + extra if n.size else 0
    x = np.zeros(p.shape, dtype=np.int64)
    t_x = np.zeros(p.shape, dtype=np.int64)
    x_holdout = np.zeros(p.shape, dtype=np.int64)
    for t in range(1, horizon + 1):
        buys = (t < death) & (rng.random(p.shape) < p)
        in_cal = t <= n
        x += buys & in_cal
        t_x = np.where(buys & in_cal, t, t_x)
        x_holdout += buys & ~in_cal & (t <= n + extra)
    return x, t_x, (x_holdout if holdout is not None else None)


def simulate_bgbb(
    n: int,
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    n_periods: npt.ArrayLike,
    *,
    holdout: int | None = None,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """Simulate ``n`` BG/BB customers observed for ``n_periods`` opportunities (scalar or per customer).

    Returns ``x``, ``t_x``, ``T`` (= opportunities) and, with ``holdout`` opportunities, ``x_holdout`` and
    ``duration_holdout``; plus the truth ``p``, ``theta``.
    """
    n = _count(n)
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("delta", delta)):
        _positive(name, value)
    rng = np.random.default_rng(seed)
    periods = np.broadcast_to(np.asarray(n_periods, dtype=np.int64), (n,)).copy()
    if np.any(periods < 0):
        raise LtvlabError("n_periods must be whole numbers >= 0")
    p = rng.beta(alpha, beta, size=n)
    theta = rng.beta(gamma, delta, size=n)
    x, t_x, x_h = bgbb_counts(p, theta, periods, holdout, rng)
    hold = None if holdout is None else np.full(n, float(holdout))
    return _frame(x, t_x.astype(float), periods.astype(float), x_h, hold, {"p": p, "theta": theta})


def pareto_nbd_counts(
    lam: np.ndarray, mu: np.ndarray, T: np.ndarray, holdout: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(x, t_x, x_holdout)`` for customers with known ``lambda`` and ``mu`` (Pareto/NBD, exact)."""
    lifetime = rng.exponential(1.0 / mu)
    alive_cal = np.minimum(lifetime, T)
    x = rng.poisson(lam * alive_cal)
    t_x = np.zeros_like(T)
    has = x > 0
    # the latest of x uniform purchase times on [0, alive_cal]
    t_x[has] = alive_cal[has] * rng.beta(x[has], 1.0)
    x_holdout = None
    if holdout is not None:
        alive_hold = np.clip(lifetime - T, 0.0, holdout)
        x_holdout = rng.poisson(lam * alive_hold)
    return x, t_x, x_holdout


def _frame(x, t_x, T, x_holdout, holdout, latent: dict[str, np.ndarray]) -> pd.DataFrame:
    data = {col.X: x.astype(np.int64), col.T_X: t_x, col.T: T}
    if x_holdout is not None:
        data[col.X_HOLDOUT] = x_holdout.astype(np.int64)
        data[col.DURATION_HOLDOUT] = holdout
    data.update(latent)
    return pd.DataFrame(data)


def _beta_dropout_customers(counts, n, r, alpha, a, b, T, holdout, seed) -> pd.DataFrame:
    """Customers with ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)`` run through ``counts`` (BG/NBD or
    MBG/NBD): the summary frame with the latent ``lam`` and ``p``."""
    n, rng, T_arr, hold, lam = _customers(n, {"r": r, "alpha": alpha, "a": a, "b": b}, T, holdout, seed)
    p = rng.beta(a, b, size=n)
    x, t_x, x_h = counts(lam, p, T_arr, hold, rng)
    return _frame(x, t_x, T_arr, x_h, hold, {"lam": lam, "p": p})


def simulate_bgnbd(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    *,
    holdout: ArrayLike | None = None,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """Simulate ``n`` customers' summaries ``(x, t_x, T)`` from the BG/NBD model.

    Parameters
    ----------
    n
        Number of customers.
    r, alpha
        Shape and rate of the gamma distribution of the purchase rate ``lambda`` (per unit of ``T``).
    a, b
        Beta distribution of the dropout probability ``p``.
    T
        Calibration length per customer (scalar or array of length ``n``), from the first purchase.
    holdout
        Holdout length (scalar or array); when given, ``x_holdout`` counts purchases in ``(T, T + holdout]``.
    seed
        Seed or generator.

    Returns
    -------
    DataFrame with ``x``, ``t_x``, ``T`` (plus ``x_holdout``, ``duration_holdout``) and the latent truth
    ``lam``, ``p``.
    """
    return _beta_dropout_customers(bgnbd_counts, n, r, alpha, a, b, T, holdout, seed)


def simulate_mbgnbd(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    *,
    holdout: ArrayLike | None = None,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """Simulate ``n`` customers' summaries ``(x, t_x, T)`` from the MBG/NBD model (arguments of
    :func:`simulate_bgnbd`); latent truth ``lam``, ``p``."""
    return _beta_dropout_customers(mbgnbd_counts, n, r, alpha, a, b, T, holdout, seed)


def simulate_pareto_nbd(
    n: int,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: ArrayLike,
    *,
    holdout: ArrayLike | None = None,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """Simulate ``n`` customers' summaries ``(x, t_x, T)`` from the Pareto/NBD model.

    ``lambda ~ Gamma(r, rate=alpha)``, ``mu ~ Gamma(s, rate=beta)``, exponential lifetime with rate ``mu``.
    Returns ``x``, ``t_x``, ``T`` (plus ``x_holdout``, ``duration_holdout`` when ``holdout`` is given) and the
    latent truth ``lam``, ``mu``; see :func:`simulate_bgnbd` for the arguments.
    """
    n, rng, T_arr, hold, lam = _customers(n, {"r": r, "alpha": alpha, "s": s, "beta": beta}, T, holdout, seed)
    mu = np.maximum(rng.gamma(s, 1.0 / beta, size=n), 1e-300)  # guard against an underflow to exactly 0
    x, t_x, x_h = pareto_nbd_counts(lam, mu, T_arr, hold, rng)
    return _frame(x, t_x, T_arr, x_h, hold, {"lam": lam, "mu": mu})


def simulate_gamma_gamma(
    x: npt.ArrayLike,
    p: float,
    q: float,
    gamma: float,
    *,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """Per-customer mean spend over ``x`` transactions from the Gamma-Gamma model.

    ``nu ~ Gamma(q, rate=gamma)``; each of the ``x`` values is ``Gamma(p, rate=nu)``, so their mean is
    ``Gamma(p * x, rate=nu * x)``. Returns ``x``, ``monetary`` (mean of the ``x`` values; 0 when ``x == 0``, as in
    :func:`ltvlab.features.customer_summary`), and the truth ``nu`` and ``expected_spend = p / nu``.
    Use :func:`simulate_gamma_gamma_transactions` for the individual values.
    """
    for name, value in (("p", p), ("q", q), ("gamma", gamma)):
        _positive(name, value)
    counts = np.asarray(x)
    if counts.ndim != 1 or np.any(counts < 0) or not np.all(np.equal(np.mod(counts, 1), 0)):
        raise LtvlabError("x must be a one-dimensional array of non-negative integer counts")
    counts = counts.astype(np.int64)
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, size=counts.size)
    monetary = np.zeros(counts.size)
    has = counts > 0
    monetary[has] = rng.gamma(p * counts[has], 1.0 / (nu[has] * counts[has]))
    return pd.DataFrame({col.X: counts, col.MONETARY: monetary, "nu": nu, "expected_spend": p / nu})


def simulate_gamma_gamma_transactions(
    x: npt.ArrayLike,
    p: float,
    q: float,
    gamma: float,
    *,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """Individual transaction values from the Gamma-Gamma model: one row per transaction.

    Columns: ``customer`` (position in ``x``), ``amount``, and the customer's truth ``nu``. Customers with
    ``x == 0`` have no rows.
    """
    for name, value in (("p", p), ("q", q), ("gamma", gamma)):
        _positive(name, value)
    counts = np.asarray(x).astype(np.int64)
    if counts.ndim != 1 or np.any(counts < 0):
        raise LtvlabError("x must be a one-dimensional array of non-negative integer counts")
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, size=counts.size)
    customer = np.repeat(np.arange(counts.size), counts)
    amount = rng.gamma(p, 1.0 / nu[customer])
    return pd.DataFrame({"customer": customer, col.AMOUNT: amount, "nu": nu[customer]})
