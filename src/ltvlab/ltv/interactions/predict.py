"""Predictions of the time-varying-covariate models under a future contact plan, and what a contact is worth.

Given the calibration data, a customer alive at ``T`` has ``lambda ~ Gamma(r + x, alpha + A(T))`` and
(Pareto/NBD) ``mu ~ Gamma(s, beta + B(T))`` or (BG/NBD) ``p ~ Beta(a, b + x)``; P(alive) comes from the two
parts of the likelihood. From ``T`` on, the plan's covariate path ``z(T + u)`` (piecewise constant on the same
period grid) sets the rates, so with ``U(t) = int_0^t exp(gamma . z(T+u) + beta . w) du``:

- BG/NBD: the future is a fresh BG/NBD process in the operational time ``U``:
  ``E[N(T, T+t)] = P(alive) * E_new(U(t); r + x, alpha + A(T), a, b + x)`` (FHL 2005, eq. 9);
- Pareto/NBD: ``E[N(T, T+t)] = P(alive) (r+x)/(alpha+A(T)) int_0^t e_a(u) ((beta+B(T))/(beta+B(T)+V(u)))^s du``
  with ``V(u) = int_0^u exp(delta . z(T+v)) dv``, in closed form on each period.

Discounted CLV sums each period's expected purchases times the expected spend per purchase, discounted by
``(1 + d)^-(j+1)`` with ``d`` the discount rate of one period (:func:`ltvlab.ltv.discounting.period_discount_rate`).

A plan is a long covariate table (``customer_id``, ``period_start``, covariate columns) covering the future
periods; :func:`plan_covariates` builds it from the contact history and a future contact log (``"none"``: no new
contacts, but past contacts' carry-over still counts; ``"historical"``: each customer's contacts of the last
``horizon`` periods repeated; or a frame of planned contacts), through
:func:`ltvlab.data.contacts.contact_covariates`, so the plan carries over exactly as the history did.

:func:`incremental_value_draws` gives, per segment and strategy, posterior draws of the incremental discounted
CLV of one more contact sent in the first future period (on top of a baseline plan), in the long frame
``segment, strategy, draw, incremental_value`` that :func:`ltvlab.strategy.allocation.allocate_budget` takes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.bgnbd import BGNBD
from ltvlab.ltv.discounting import period_discount_rate
from ltvlab.ltv.formulas import bgnbd_expected_purchases_new
from ltvlab.ltv.interactions.data import PERIOD_START, UNIT_DAYS, TVCData, lookup
from ltvlab.ltv.interactions.fit import TVCFit
from ltvlab.ltv.interactions.likelihood import tvc_components

__all__ = ["PlanPrediction", "incremental_value_draws", "plan_covariates", "predict_plan", "summarise_values"]


def plan_covariates(
    contacts: pd.DataFrame,
    plan: str | pd.DataFrame = "none",
    *,
    origin,
    period_length,
    calibration_end,
    horizon_periods: int,
    carry_over,
    strategies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Long covariate table over history and ``horizon_periods`` future periods for a contact plan.

    ``plan``: ``"none"`` (no new contact), ``"historical"`` (each customer's contacts dated in the last
    ``horizon_periods`` periods before ``calibration_end``, shifted forward by that many periods) or a frame of
    planned contacts (``customer_id``, ``timestamp``, ``strategy``) dated from ``calibration_end`` on.
    """
    from ltvlab.data.contacts import TIMESTAMP, contact_covariates

    length = pd.Timedelta(period_length)
    start = pd.Timestamp(calibration_end).normalize()
    end = start + horizon_periods * length
    history = contacts[pd.to_datetime(contacts[TIMESTAMP]) < start]
    if isinstance(plan, str):
        if plan == "none":
            future = history.iloc[:0]
        elif plan == "historical":
            shift = horizon_periods * length
            recent = history[pd.to_datetime(history[TIMESTAMP]) >= start - shift]
            future = recent.assign(**{TIMESTAMP: pd.to_datetime(recent[TIMESTAMP]) + shift})
        else:
            raise LtvlabError(f"plan={plan!r}: use 'none', 'historical' or a frame of planned contacts")
    else:
        future = plan
        stamps = pd.to_datetime(future[TIMESTAMP])
        bad = (stamps < start) | (stamps >= end)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise LtvlabError(
                f"planned contacts row {row}: {stamps.iloc[row]} is outside the horizon {start.date()} to "
                f"{end.date()}; plan contacts from the calibration end for horizon_periods periods"
            )
    log = pd.concat([history, future], ignore_index=True)
    return contact_covariates(
        log, origin=origin, period_length=length, end=end, carry_over=carry_over, strategies=strategies
    )


def _future_z(
    data: TVCData, table: pd.DataFrame, names, horizon_periods: int
) -> tuple[np.ndarray, np.ndarray]:
    """Covariates ``(n_customers, H, k)`` of the future periods and their lengths ``(n_customers, H)`` in unit.

    The future of every customer starts at ``T`` (the calibration end) and runs to the end of the period grid
    ``horizon_periods`` periods later, split at the period boundaries.
    """
    origin_ns, length_ns = data.origin.value, data.period_length.value
    cal_ns = data.calibration_end.value
    unit_ns = float(UNIT_DAYS[data.unit] * 86_400_000_000_000)
    first_future = -((origin_ns - cal_ns) // length_ns)  # first period starting at or after the end
    offset = (cal_ns - origin_ns) % length_ns
    p0 = first_future - (1 if offset else 0)
    periods = p0 + np.arange(horizon_periods)
    lo = np.maximum(origin_ns + periods * length_ns, cal_ns)
    hi = origin_ns + (periods + 1) * length_ns
    lengths = (hi - lo) / unit_ns
    ids = data.customer_id
    missing = [c for c in (col.CUSTOMER_ID, PERIOD_START, *names) if c not in table.columns]
    if missing:
        raise LtvlabError(f"plan covariate table lacks column(s) {missing}")
    stamps = pd.to_datetime(table[PERIOD_START]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    cust = np.searchsorted(ids, table[col.CUSTOMER_ID].astype(str).to_numpy())
    ok = cust < ids.size
    ok[ok] = ids[cust[ok]] == table[col.CUSTOMER_ID].astype(str).to_numpy()[ok]
    keys = cust[ok].astype(np.int64) * (1 << 32) + ((stamps[ok] - origin_ns) // length_ns + (1 << 31))
    order = np.argsort(keys)
    values = table.loc[ok, list(names)].to_numpy(float)[order]
    who = np.repeat(np.arange(ids.size), horizon_periods)
    when = np.tile(periods, ids.size)
    z = lookup(keys[order], values, who, when, len(names)).reshape(ids.size, horizon_periods, len(names))
    return z, np.broadcast_to(lengths, (ids.size, horizon_periods))


class PlanPrediction:
    """Per-customer draws under a plan: ``p_alive``, ``expected_purchases``, ``clv`` (``n_draws x customers``)."""

    def __init__(self, customer_id, segment, p_alive, expected_purchases, clv):
        self.customer_id = customer_id
        self.segment = segment
        self.p_alive = p_alive
        self.expected_purchases = expected_purchases
        self.clv = clv

    def summary(self, level: float = 0.9) -> pd.DataFrame:
        """``customer_id, segment`` and mean / lower / upper of each quantity over the draws."""
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        out = {col.CUSTOMER_ID: self.customer_id, "segment": self.segment}
        for name in ("p_alive", "expected_purchases", "clv"):
            v = getattr(self, name)
            out[name] = v.mean(axis=0)
            out[f"{name}_lower"] = np.quantile(v, lo, axis=0)
            out[f"{name}_upper"] = np.quantile(v, hi, axis=0)
        return pd.DataFrame(out)


def _pick(fit: TVCFit, n_draws: int) -> np.ndarray:
    return np.unique(np.linspace(0, fit.n_draws - 1, min(fit.n_draws, n_draws)).astype(int))


def _history(fit: TVCFit, data: TVCData, d: int) -> dict[str, np.ndarray]:
    """Calibration parts of draw ``d`` per customer (rows expanded through ``data.inverse``)."""
    params = {k: v[d] for k, v in fit.draws.items()}
    comp = tvc_components(
        data,
        fit.model,
        params,
        data.positions(fit.purchase_covariates),
        data.positions(fit.dropout_covariates),
    )
    seg = data.segment_code
    out = {k: v[data.inverse] for k, v in comp.items()}
    out.update({k: params[k][seg][data.inverse] for k in ("r", "alpha", *fit_base(fit)[2:])})
    out["x"] = data.x[data.inverse]
    return out


def fit_base(fit: TVCFit) -> tuple[str, ...]:
    return ("r", "alpha", "a", "b") if fit.model == BGNBD.kind_name else ("r", "alpha", "s", "beta")


def _cumulative(fit: TVCFit, data: TVCData, d: int, hist, z, lengths) -> tuple[np.ndarray, np.ndarray]:
    """P(alive at T) and expected cumulative purchases at the end of each future period ``(n, H)``."""
    seg = data.segment_code[data.inverse]
    gamma = fit.draws["gamma"][d] if "gamma" in fit.draws else np.zeros((len(fit.segments), 0))
    z_p = z[:, :, data.positions(fit.purchase_covariates)]
    e_a = np.exp(np.einsum("nhk,nk->nh", z_p, gamma[seg]) + hist["static"][:, None])
    x, r, alpha = hist["x"], hist["r"], hist["alpha"]
    if fit.model == BGNBD.kind_name:
        a, b = hist["a"], hist["b"]
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(
                x > 0,
                a
                / (b + x - 1.0)
                * np.exp((r + x) * (np.log(alpha + hist["A_T"]) - np.log(alpha + hist["A_tx"]))),
                0.0,
            )
        p_alive = 1.0 / (1.0 + odds)
        u = np.cumsum(e_a * lengths, axis=1)
        new = bgnbd_expected_purchases_new(
            u, (r + x)[:, None], (alpha + hist["A_T"])[:, None], a[:, None], (b + x)[:, None]
        )
        return p_alive, p_alive[:, None] * new
    delta = fit.draws["delta"][d] if "delta" in fit.draws else np.zeros((len(fit.segments), 0))
    e_b = np.exp(np.einsum("nhk,nk->nh", z[:, :, data.positions(fit.dropout_covariates)], delta[seg]))
    s, beta = hist["s"], hist["beta"]
    p_alive = 1.0 / (1.0 + np.exp(hist["log_dead"] - hist["log_alive"]))
    qb = (beta + hist["B_T"])[:, None]
    v_end = np.cumsum(e_b * lengths, axis=1)
    q0 = qb + v_end - e_b * lengths
    q1 = qb + v_end
    s_ = s[:, None]
    near_one = np.abs(s_ - 1.0) < 1e-8
    safe = np.where(near_one, 2.0, s_)
    log_q = np.log(q1) - np.log(q0)
    part = np.where(
        near_one,
        qb / e_b * log_q,
        qb**s_ / e_b * (q1 ** (1 - safe) - q0 ** (1 - safe)) / (1 - safe),
    )
    per_period = e_a * part * ((r + x) / (alpha + hist["A_T"]))[:, None]
    return p_alive, p_alive[:, None] * np.cumsum(per_period, axis=1)


def predict_plan(
    fit: TVCFit,
    data: TVCData,
    plan: pd.DataFrame,
    *,
    horizon_periods: int = 52,
    spend_per_purchase: float | np.ndarray = 1.0,
    annual_discount_rate: float = 0.10,
    n_draws: int = 200,
) -> PlanPrediction:
    """P(alive), expected purchases and discounted CLV of every customer under ``plan`` (a covariate table
    covering the ``horizon_periods`` periods after the calibration end, e.g. from :func:`plan_covariates`).

    ``spend_per_purchase`` is a number, one value per customer (in ``data.customer_id`` order) or draws
    ``(n_draws, customers)``.
    """
    _check(fit, data)
    z, lengths = _future_z(data, plan, data.names, horizon_periods)
    period_days = data.period_length / pd.Timedelta(days=1)
    disc = (1.0 + period_discount_rate(annual_discount_rate, period_days)) ** -np.arange(
        1, horizon_periods + 1
    )
    pick = _pick(fit, n_draws)
    out = {k: np.empty((pick.size, data.n_customers)) for k in ("p_alive", "expected_purchases", "clv")}
    spend = np.asarray(spend_per_purchase, float)
    for i, d in enumerate(pick):
        hist = _history(fit, data, d)
        p_alive, cumulative = _cumulative(fit, data, d, hist, z, lengths)
        per = np.diff(cumulative, axis=1, prepend=0.0)
        sp = spend[i] if spend.ndim == 2 else spend
        out["p_alive"][i] = p_alive
        out["expected_purchases"][i] = cumulative[:, -1]
        out["clv"][i] = (per @ disc) * sp
    return PlanPrediction(data.customer_id, np.array(data.segments)[data.segment_code[data.inverse]], **out)


def _check(fit: TVCFit, data: TVCData) -> None:
    if fit.unit != data.unit or fit.period_length != data.period_length or fit.origin != data.origin:
        raise LtvlabError(
            f"the data (unit {data.unit}, grid {data.origin} + {data.period_length}) are not on the fit's unit and "
            f"period grid (unit {fit.unit}, {fit.origin} + {fit.period_length}); prepare them with the fit's"
        )
    if tuple(data.segments) != tuple(fit.segments):
        raise LtvlabError(
            f"the data's segments {list(data.segments)} differ from the fit's {list(fit.segments)}"
        )


def incremental_value_draws(
    fit: TVCFit,
    data: TVCData,
    baseline: pd.DataFrame,
    *,
    carry_over,
    horizon_periods: int = 52,
    spend_per_purchase: float | np.ndarray = 1.0,
    annual_discount_rate: float = 0.10,
    n_draws: int = 200,
    strategies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Draws of the incremental discounted CLV of one more contact of each strategy, per segment.

    The contact is sent in the first future period on top of ``baseline`` (a plan covariate table); it adds the
    carry-over weights ``w(0), w(1), ...`` to that strategy's covariate (``contacts_<strategy>``) in the
    following periods. Returns ``segment, strategy, draw, incremental_value`` (the segment's mean over its
    customers), the input of :func:`ltvlab.strategy.allocation.allocate_budget`.
    """
    _check(fit, data)
    names = [n for n in fit.purchase_covariates if n.startswith("contacts_")]
    if strategies is not None:
        names = [f"contacts_{s}" for s in strategies]
    if not names:
        raise LtvlabError("the fit has no contacts_<strategy> covariate: there is no contact to value")
    z0, lengths = _future_z(data, baseline, data.names, horizon_periods)
    weights = carry_over.weights(horizon_periods)
    period_days = data.period_length / pd.Timedelta(days=1)
    disc = (1.0 + period_discount_rate(annual_discount_rate, period_days)) ** -np.arange(
        1, horizon_periods + 1
    )
    seg = data.segment_code[data.inverse]
    n_seg = len(data.segments)
    counts = np.bincount(seg, minlength=n_seg).astype(float)
    spend = np.asarray(spend_per_purchase, float)
    pick = _pick(fit, n_draws)
    rows = []
    for i, d in enumerate(pick):
        hist = _history(fit, data, d)
        sp = spend[i] if spend.ndim == 2 else spend
        _, base = _cumulative(fit, data, d, hist, z0, lengths)
        base_clv = (np.diff(base, axis=1, prepend=0.0) @ disc) * sp
        for name in names:
            j = data.names.index(name)
            z1 = z0.copy()
            z1[:, :, j] += weights
            _, cum = _cumulative(fit, data, d, hist, z1, lengths)
            gain = (np.diff(cum, axis=1, prepend=0.0) @ disc) * sp - base_clv
            means = np.bincount(seg, weights=gain, minlength=n_seg) / np.maximum(counts, 1)
            for g, label in enumerate(data.segments):
                rows.append((label, name.removeprefix("contacts_"), i, means[g]))
    return pd.DataFrame(rows, columns=["segment", "strategy", "draw", "incremental_value"])


def summarise_values(
    values: pd.DataFrame, costs: dict[str, float] | None = None, level: float = 0.9
) -> pd.DataFrame:
    """Per segment and strategy: mean and interval of the incremental value per contact and per unit cost."""
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for (segment, strategy), part in values.groupby(["segment", "strategy"], sort=True):
        v = part["incremental_value"].to_numpy(float)
        row = {
            "segment": segment,
            "strategy": strategy,
            "value_per_contact": v.mean(),
            "lower": np.quantile(v, lo),
            "upper": np.quantile(v, hi),
            "prob_positive": float((v > 0).mean()),
        }
        if costs is not None:
            c = float(costs[strategy])
            row.update(
                {
                    "cost": c,
                    "value_per_cost": v.mean() / c,
                    "per_cost_lower": np.quantile(v, lo) / c,
                    "per_cost_upper": np.quantile(v, hi) / c,
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)
