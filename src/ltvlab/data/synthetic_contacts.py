"""A synthetic CRM whose contact strategies change purchase rate and dropout by known amounts (exact simulation).

The process (the one the time-varying-covariate BG/NBD and Pareto/NBD fits assume)
-----------------------------------------------------------------------------------
Time is continuous, in weeks. Customer ``i`` of segment ``g`` makes a first purchase at midnight of a day
drawn uniformly from the first ``acquisition_periods`` periods; that purchase starts the customer's clock and is
not counted in ``x``. The latent purchase rate is ``lam_i ~ Gamma(r_g, rate=alpha_g)``; Pareto/NBD adds a dropout
rate ``mu_i ~ Gamma(s_g, rate=beta_g)``, BG/NBD a dropout chance ``p_i ~ Beta(a_g, b_g)`` after each repeat
purchase. Each customer has an observed score ``score_i ~ N(0, 1)``. While alive, in period ``p`` the purchase
rate is ``lam_i * exp(gamma_g . z_i(p) + score_effect * score_i)`` and (Pareto/NBD) the dropout rate
``mu_i * exp(delta_g . z_i(p))``, with ``z_i(p)`` the carried-over contact counts of
:func:`ltvlab.data.contacts.contact_covariates`. Rates are constant within a period, so each period is simulated
exactly: Pareto/NBD draws an exponential death time at the period's dropout rate and a Poisson number of
uniformly placed purchases over the time alive; BG/NBD draws the period's Poisson purchase opportunities, keeps
them in time order until the customer's geometric number of remaining purchases runs out.

Contacts: in every period that starts on or after the customer's first purchase (dead customers too: the firm
cannot see who has left), the customer receives one contact of strategy ``k`` with probability ``q_k``
(``assignment="randomised"``) or ``expit(logit(q_k) + targeting * score_i)`` (``"targeted"``, sent to the
customers the score says buy more). The contact's timestamp is uniform within the period. Because the score
enters the purchase rate, a fit with the score as a static covariate removes the confounding of targeted
contacts; a fit without it overstates the effects.

The calibration window of every customer runs from the first purchase to ``calibration_end`` (midnight, the end
of the period grid), as in :func:`ltvlab.features.customer_summary`; no event falls on or after it, so
``customer_summary(transactions, calibration_end=..., merge_same_day=False)`` reproduces the simulated
``x``, ``t_x`` and ``T`` exactly (``merge_same_day=True`` merges the rare same-day purchases).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from ltvlab.data.contacts import (
    CAMPAIGN_ID,
    COST,
    STRATEGY,
    TIMESTAMP,
    CarryOver,
    carry,
    contact_covariates,
)
from ltvlab.data.synthetic_frames import customer_ids
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.bgnbd import BGNBD
from ltvlab.ltv.pnbd import ParetoNBD

Model = str  # the registry name of the process: ParetoNBD.kind_name or BGNBD.kind_name
Assignment = Literal["randomised", "targeted"]
PARAMETERS = ("purchase", "dropout")
WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ContactStrategy:
    """A contact strategy of the generator: the chance of one contact per customer and period, and its cost."""

    name: str
    contact_prob: float = 0.2
    cost: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 < self.contact_prob <= 1.0):
            raise LtvlabError(f"strategy {self.name!r}: contact_prob={self.contact_prob} must be in (0, 1]")
        if not (np.isfinite(self.cost) and self.cost >= 0):
            raise LtvlabError(f"strategy {self.name!r}: cost={self.cost} must be >= 0")


DEFAULT_STRATEGIES = (
    ContactStrategy("email", contact_prob=0.35, cost=0.05),
    ContactStrategy("sms", contact_prob=0.2, cost=0.25),
    ContactStrategy("call", contact_prob=0.08, cost=4.0),
)
# per-unit-of-z log multipliers of the default effects, before the segment factor
_BASE_PURCHASE = (0.15, 0.25, 0.4)
_BASE_DROPOUT = (-0.2, -0.1, -0.45)


@dataclass(frozen=True, slots=True)
class ContactCRM:
    """What :func:`simulate_contact_crm` returns: the data a user would have plus the truth behind it.

    ``transactions`` (``customer_id``, ``date``, ``amount``, as :func:`ltvlab.data.load_transactions` gives;
    the first purchase included), ``contacts`` (the canonical contact log), ``customers`` (truth per customer:
    ``segment``, ``first_purchase``, ``score``, ``lam``, ``mu`` or ``p``, ``x``, ``t_x``, ``T`` in weeks),
    ``covariates`` (the long table of :func:`ltvlab.data.contacts.contact_covariates`), ``truth`` (``segment``,
    ``strategy``, ``parameter`` in {"purchase", "dropout"}, ``value`` = true log multiplier per unit of z),
    ``segments`` (the population parameters per segment), ``static_effects`` (``{"score": score_effect}``).
    """

    transactions: pd.DataFrame
    contacts: pd.DataFrame
    customers: pd.DataFrame
    covariates: pd.DataFrame
    calibration_end: pd.Timestamp
    origin: pd.Timestamp
    period_length: pd.Timedelta
    carry_over: CarryOver
    truth: pd.DataFrame
    segments: pd.DataFrame
    strategies: tuple[ContactStrategy, ...]
    static_effects: Mapping[str, float]
    model: Model
    assignment: Assignment
    seed: int


def segment_parameters(n_segments: int, model: Model) -> pd.DataFrame:
    """Default population parameters (weeks) per segment, spread around typical retail values."""
    g = np.arange(n_segments)
    spread = g / max(n_segments - 1, 1) - 0.5  # -0.5 .. 0.5
    frame = pd.DataFrame(
        {
            "segment": [f"segment_{i + 1}" for i in g],
            "r": 1.0 + 0.4 * spread,
            "alpha": 6.0 * (1.0 - 0.5 * spread),
        }
    )
    if model == ParetoNBD.kind_name:
        frame["s"] = 0.8
        frame["beta"] = 18.0 * (1.0 + 0.4 * spread)
    else:
        frame["a"] = 1.2
        frame["b"] = 5.0 * (1.0 + 0.4 * spread)
    frame["spend_p"], frame["spend_q"], frame["spend_gamma"] = 6.0, 4.0, 15.0
    return frame


def default_effects(strategies: Sequence[str], segments: Sequence[str], model: Model) -> pd.DataFrame:
    """Segment-specific default effects: each strategy's base effect scaled from 0.5x to 1.5x across segments."""
    factor = np.linspace(0.5, 1.5, len(segments)) if len(segments) > 1 else np.ones(1)
    rows = []
    for j, name in enumerate(strategies):
        for g, seg in enumerate(segments):
            rows.append((seg, name, "purchase", _BASE_PURCHASE[j % 3] * factor[g]))
            if model == ParetoNBD.kind_name:
                rows.append((seg, name, "dropout", _BASE_DROPOUT[j % 3] * factor[::-1][g]))
    return pd.DataFrame(rows, columns=["segment", "strategy", "parameter", "value"])


def _effects_frame(
    effects: pd.DataFrame | Mapping | None, names: Sequence[str], segments: Sequence[str], model: Model
) -> pd.DataFrame:
    if effects is None:
        return default_effects(names, segments, model)
    if isinstance(effects, pd.DataFrame):
        frame = effects[["segment", "strategy", "parameter", "value"]].copy()
    else:
        rows = []
        for strategy, by_parameter in effects.items():
            for parameter, value in dict(by_parameter).items():
                values = np.broadcast_to(np.asarray(value, dtype=float), (len(segments),))
                rows += [
                    (seg, strategy, parameter, float(v)) for seg, v in zip(segments, values, strict=True)
                ]
        frame = pd.DataFrame(rows, columns=["segment", "strategy", "parameter", "value"])
    frame["value"] = frame["value"].astype("float64")
    bad = sorted(set(frame["strategy"]) - set(names))
    if bad:
        raise LtvlabError(f"effects name unknown strategy(ies) {bad}; the strategies are {list(names)}")
    bad = sorted(set(frame["parameter"]) - set(PARAMETERS))
    if bad:
        raise LtvlabError(f"effects parameter(s) {bad} are not 'purchase' or 'dropout'")
    bad = sorted(set(frame["segment"].astype(str)) - set(segments))
    if bad:
        raise LtvlabError(f"effects name unknown segment(s) {bad}; the segments are {list(segments)}")
    if model == BGNBD.kind_name and (frame.loc[frame["parameter"] == "dropout", "value"] != 0).any():
        raise LtvlabError("BG/NBD dropout does not depend on covariates: give only 'purchase' effects")
    if not np.all(np.isfinite(frame["value"])):
        raise LtvlabError("effects values must be finite numbers (log multipliers per unit of z)")
    # every (segment, strategy, parameter) of the model, missing entries 0
    params = ("purchase", "dropout") if model == ParetoNBD.kind_name else ("purchase",)
    full = pd.MultiIndex.from_product([segments, names, params], names=["segment", "strategy", "parameter"])
    frame["segment"] = frame["segment"].astype(str)
    value = frame.set_index(["segment", "strategy", "parameter"])["value"]
    if value.index.duplicated().any():
        raise LtvlabError("effects give one (segment, strategy, parameter) twice")
    return value.reindex(full, fill_value=0.0).reset_index()


def _strategy_specs(strategies: Sequence[str | ContactStrategy]) -> tuple[ContactStrategy, ...]:
    defaults = {s.name: s for s in DEFAULT_STRATEGIES}
    specs = tuple(
        s if isinstance(s, ContactStrategy) else defaults.get(str(s), ContactStrategy(str(s)))
        for s in strategies
    )
    names = [s.name for s in specs]
    if not specs or len(set(names)) != len(names):
        raise LtvlabError(f"strategies={names} must name at least one strategy, each once")
    return specs


def _matrix(effects: pd.DataFrame, segments, names, parameter: str) -> np.ndarray:
    """``(n_segments, n_strategies)`` effects of one parameter (zeros when absent)."""
    sub = effects[effects["parameter"] == parameter]
    table = sub.pivot(index="segment", columns="strategy", values="value")
    return table.reindex(index=list(segments), columns=list(names)).fillna(0.0).to_numpy()


def _simulate_purchases(
    model: Model,
    rate: np.ndarray,
    drop_rate: np.ndarray,
    p: np.ndarray,
    acq: np.ndarray,
    n_periods: int,
    length: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases ``(owner, time in weeks since origin)`` under per-period rates ``(customers, periods)``."""
    n = acq.size
    alive = np.ones(n, dtype=bool)
    remaining = rng.geometric(np.clip(p, 1e-12, 1.0)) if model == BGNBD.kind_name else None
    owners, times = [], []
    for q in range(n_periods):
        lo = np.maximum(acq, q * length)
        exposure = np.clip((q + 1) * length - lo, 0.0, None) * alive
        if model == ParetoNBD.kind_name:
            death = rng.exponential(1.0 / np.maximum(drop_rate[:, q], 1e-300))
            dies = death < exposure
            exposure = np.where(dies, death, exposure)
            k = rng.poisson(rate[:, q] * exposure)
            who = np.repeat(np.arange(n), k)
            owners.append(who)
            times.append(lo[who] + exposure[who] * rng.random(who.size))
            alive &= ~dies
        else:
            m = rng.poisson(rate[:, q] * exposure)
            who = np.repeat(np.arange(n), m)
            u = rng.random(who.size)
            order = np.lexsort((u, who))
            who, u = who[order], u[order]
            rank = np.arange(who.size) - np.repeat(np.cumsum(m) - m, m)
            kept = rank < remaining[who]
            owners.append(who[kept])
            times.append(lo[who[kept]] + exposure[who[kept]] * u[kept])
            bought = np.minimum(m, remaining)
            remaining = remaining - bought
            alive &= remaining > 0
    return np.concatenate(owners), np.concatenate(times)


def simulate_contact_crm(
    n_customers: int,
    *,
    n_segments: int = 3,
    strategies: Sequence[str | ContactStrategy] = ("email", "sms", "call"),
    periods: int = 52,
    period_length: str | pd.Timedelta = WEEK,
    model: Model = ParetoNBD.kind_name,
    assignment: Assignment = "randomised",
    carry_over: CarryOver | None = None,
    effects: pd.DataFrame | Mapping | None = None,
    segment_params: pd.DataFrame | None = None,
    score_effect: float = 0.5,
    targeting: float = 1.0,
    acquisition_periods: int | None = None,
    start: str = "2024-01-01",
    seed: int,
) -> ContactCRM:
    """Simulate a CRM with contact logs whose strategies change purchase rate and dropout by known amounts.

    Parameters
    ----------
    n_customers, n_segments
        Customers, assigned to segments in turn (``segment_1``, ...).
    strategies
        Strategy names (the defaults ``email``, ``sms``, ``call`` carry their own contact chances and costs) or
        :class:`ContactStrategy` objects.
    periods, period_length
        The calibration window: ``periods`` periods of ``period_length`` from ``start``.
    model
        Pareto/NBD (``ParetoNBD.kind_name``: contacts change purchase and dropout rate) or BG/NBD
        (``BGNBD.kind_name``: purchase rate only).
    assignment
        ``"randomised"`` or ``"targeted"`` (contact chance rises with the score; see the module docstring).
    carry_over
        How long a contact counts (default ``CarryOver.window(4)``).
    effects
        True log multipliers per unit of z: a tidy frame (``segment``, ``strategy``, ``parameter``, ``value``)
        or ``{strategy: {"purchase": value or one per segment, "dropout": ...}}``; missing entries are 0;
        ``None`` uses :func:`default_effects`.
    segment_params
        Population parameters per segment (columns of :func:`segment_parameters`); default from it.
    score_effect, targeting
        Log multiplier of the purchase rate per unit of score; log-odds slope of the targeted contact chance.
    acquisition_periods
        First purchases fall in the first this many periods (default half the window).
    start
        Calendar date of the grid's origin (the earliest first purchase).
    seed
        Random seed (recorded in the result).
    """
    if int(n_customers) != n_customers or n_customers < 1:
        raise LtvlabError(f"n_customers={n_customers!r} must be a whole number >= 1")
    if int(n_segments) != n_segments or not 1 <= n_segments <= n_customers:
        raise LtvlabError(f"n_segments={n_segments!r} must be between 1 and n_customers")
    if model not in (ParetoNBD.kind_name, BGNBD.kind_name):
        raise LtvlabError(f"model={model!r} is not {ParetoNBD.kind_name!r} or {BGNBD.kind_name!r}")
    if assignment not in ("randomised", "targeted"):
        raise LtvlabError(f"assignment={assignment!r} is not 'randomised' or 'targeted'")
    if int(periods) != periods or periods < 2:
        raise LtvlabError(f"periods={periods!r} must be a whole number >= 2")
    n, periods = int(n_customers), int(periods)
    carry_over = CarryOver.window(4) if carry_over is None else carry_over
    carry_over.check_window(periods)
    length_td = pd.Timedelta(period_length)
    if length_td <= pd.Timedelta(0) or length_td % pd.Timedelta(days=1) != pd.Timedelta(0):
        raise LtvlabError(f"period_length={period_length!r} must be a positive whole number of days")
    length = length_td / WEEK  # in weeks
    acq_periods = periods // 2 if acquisition_periods is None else int(acquisition_periods)
    if not 1 <= acq_periods < periods:
        raise LtvlabError(f"acquisition_periods={acquisition_periods!r} must be between 1 and periods - 1")
    specs = _strategy_specs(strategies)
    names = [s.name for s in specs]
    seg = segment_parameters(int(n_segments), model) if segment_params is None else segment_params.copy()
    if len(seg) != n_segments:
        raise LtvlabError(f"segment_params has {len(seg)} rows for n_segments={n_segments}")
    labels = [str(s) for s in seg["segment"]]
    truth = _effects_frame(effects, names, labels, model)
    gamma = _matrix(truth, labels, names, "purchase")
    delta = _matrix(truth, labels, names, "dropout") if model == ParetoNBD.kind_name else np.zeros_like(gamma)
    origin = pd.Timestamp(start).normalize()
    rng = np.random.default_rng(seed)

    g = np.arange(n) % n_segments
    lam = rng.gamma(seg["r"].to_numpy()[g], 1.0 / seg["alpha"].to_numpy()[g])
    if model == ParetoNBD.kind_name:
        drop = np.maximum(rng.gamma(seg["s"].to_numpy()[g], 1.0 / seg["beta"].to_numpy()[g]), 1e-300)
    else:
        drop = rng.beta(seg["a"].to_numpy()[g], seg["b"].to_numpy()[g])
    score = rng.standard_normal(n)
    acq_day = rng.integers(0, acq_periods * length_td.days, size=n)
    acq_day[0] = 0  # the origin is the earliest first purchase
    acq = acq_day / 7.0  # weeks since origin

    # contacts: one per (customer, period, strategy) with the assignment's chance, in periods after acquisition
    base = np.array([s.contact_prob for s in specs])
    if assignment == "randomised":
        chance = np.broadcast_to(base, (n, len(specs)))
    else:
        chance = expit(logit(np.clip(base, 1e-9, 1 - 1e-9)) + float(targeting) * score[:, None])
    eligible = (np.arange(periods) * length_td.days)[None, :] >= acq_day[:, None]
    counts = (rng.random((n, periods, len(specs))) < chance[:, None, :]) & eligible[:, :, None]
    z = carry(counts, carry_over)
    rate = lam[:, None] * np.exp(np.einsum("npk,nk->np", z, gamma[g]) + score_effect * score[:, None])
    drop_rate = drop[:, None] * np.exp(np.einsum("npk,nk->np", z, delta[g]))
    owner, when = _simulate_purchases(model, rate, drop_rate, drop, acq, periods, length, rng)

    ids = customer_ids(n)
    # spend: Gamma-Gamma per segment, first purchase included
    nu = rng.gamma(seg["spend_q"].to_numpy()[g], 1.0 / seg["spend_gamma"].to_numpy()[g])
    tx_owner = np.concatenate([np.arange(n), owner])
    # first purchases at midnight; repeat purchases floored to the nanosecond (so before calibration_end)
    tx_ns = np.concatenate(
        [
            acq_day * pd.Timedelta(days=1).value,
            np.minimum(np.floor(when * WEEK.value), periods * length_td.value - 1).astype(np.int64),
        ]
    )
    amount = rng.gamma(seg["spend_p"].to_numpy()[g][tx_owner], 1.0 / nu[tx_owner])
    transactions = pd.DataFrame(
        {
            col.CUSTOMER_ID: ids[tx_owner],
            col.DATE: origin + pd.to_timedelta(tx_ns, unit="ns"),
            col.AMOUNT: np.round(amount, 2),
        }
    ).sort_values([col.CUSTOMER_ID, col.DATE], kind="stable", ignore_index=True)

    who, q, k = np.nonzero(counts)
    stamp = q * length_td.value + np.floor(rng.random(who.size) * length_td.value).astype(np.int64)
    cost = np.array([s.cost for s in specs])
    contacts = pd.DataFrame(
        {
            col.CUSTOMER_ID: ids[who],
            TIMESTAMP: origin + pd.to_timedelta(stamp, unit="ns"),
            STRATEGY: pd.Categorical.from_codes(k, categories=names),
            COST: cost[k].astype("float64"),
            CAMPAIGN_ID: [f"{names[kk]}-{qq + 1:03d}" for kk, qq in zip(k, q, strict=True)],
        }
    ).sort_values([col.CUSTOMER_ID, TIMESTAMP], kind="stable", ignore_index=True)

    calibration_end = origin + periods * length_td
    x = np.bincount(owner, minlength=n)
    t_last = np.full(n, -np.inf)
    np.maximum.at(t_last, owner, when)
    customers = pd.DataFrame(
        {
            col.CUSTOMER_ID: ids,
            "segment": pd.Categorical.from_codes(g, categories=labels),
            col.FIRST_PURCHASE: origin + pd.to_timedelta(acq_day, unit="D"),
            "score": score,
            "lam": lam,
            ("mu" if model == ParetoNBD.kind_name else "p"): drop,
            "nu": nu,
            col.X: x,
            col.T_X: np.where(x > 0, t_last - acq, 0.0),
            col.T: periods * length - acq,
        }
    )
    used = [name for j, name in enumerate(names) if counts[:, :, j].any()]
    covariates = contact_covariates(
        contacts[contacts[STRATEGY].isin(used)] if used else contacts.iloc[:0],
        origin=origin,
        period_length=length_td,
        end=calibration_end,
        carry_over=carry_over,
        strategies=used or None,
    )
    return ContactCRM(
        transactions=transactions,
        contacts=contacts,
        customers=customers,
        covariates=covariates,
        calibration_end=calibration_end,
        origin=origin,
        period_length=length_td,
        carry_over=carry_over,
        truth=truth,
        segments=seg,
        strategies=specs,
        static_effects={"score": float(score_effect)},
        model=model,
        assignment=assignment,
        seed=int(seed),
    )
