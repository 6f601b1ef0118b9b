"""A randomised experiment on a Pareto/NBD customer base with known arm effects on purchase, dropout and spend.

The process (exact simulation; the one :mod:`ltvlab.ltv.experiment_value` assumes)
---------------------------------------------------------------------------------
Time is continuous, in weeks. Customer ``i`` of segment ``g`` makes a first purchase at midnight of a day drawn
uniformly from the first ``acquisition_periods`` periods (that purchase starts the clock and is not counted).
Latent rates: purchase ``lam_i ~ Gamma(r_g, rate=alpha_g)``, dropout ``mu_i ~ Gamma(s_g, rate=beta_g)``, spend
scale ``nu_i ~ Gamma(q_g, rate=gamma_g)``. At the assignment date (the start of period ``pre_periods``) every
acquired customer, alive or not (the firm cannot see who has left), is randomised to the treatment arm with
probability ``treat_share`` (complete randomisation: exactly ``round(n * treat_share)`` treated). From the
assignment on, a treated customer's purchase rate is ``lam_i exp(purchase_g)``, dropout rate
``mu_i exp(dropout_g)`` and every transaction value ``~ Gamma(p_g, rate=nu_i exp(-spend_g))`` (mean multiplied by
``exp(spend_g)``); before it, and in the control arm throughout, the plain Pareto/NBD / Gamma-Gamma process runs.
The exponential lifetime is memoryless, so the post-assignment lifetime of a customer alive at the assignment
is a fresh exponential at the arm's dropout rate.

The data a user would have end at ``test_end`` (``test_periods`` periods after the assignment); the simulation
runs on to ``assignment + follow_periods`` periods, and :func:`realised_value` discounts what each customer
actually spent after the assignment: the Monte Carlo ground truth of the long-run value of each arm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.data.synthetic_contacts import segment_parameters
from ltvlab.data.synthetic_frames import customer_ids
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.discounting import period_discount_rate
from ltvlab.ltv.pnbd import ParetoNBD

__all__ = ["ARM", "CHANNELS", "ExperimentSim", "realised_value", "simulate_experiment"]

ARM = "arm"  # the assignment column (1 = treatment, 0 = control) and the covariate of the fit
CHANNELS = ("purchase", "dropout", "spend")
WEEK = pd.Timedelta(days=7)
DEFAULT_EFFECTS = {"purchase": 0.25, "dropout": -0.4, "spend": 0.1}


@dataclass(frozen=True, slots=True)
class ExperimentSim:
    """What :func:`simulate_experiment` returns.

    ``transactions`` (``customer_id``, ``date``, ``amount``; everything before ``test_end``), ``assignment``
    (``customer_id``, ``segment``, ``arm``), ``customers`` (truth: ``segment``, ``arm``, ``first_purchase``,
    ``lam``, ``mu``, ``nu``, ``alive_at_assignment``), ``future_transactions`` (from ``test_end`` to the end of
    the follow-up, what the test did not see), ``effects`` (``segment``, ``channel``, ``value``: true log
    multipliers of the treatment), ``segments`` (population parameters per segment, weeks).
    """

    transactions: pd.DataFrame
    future_transactions: pd.DataFrame
    assignment: pd.DataFrame
    customers: pd.DataFrame
    effects: pd.DataFrame
    segments: pd.DataFrame
    origin: pd.Timestamp
    assignment_date: pd.Timestamp
    test_end: pd.Timestamp
    follow_end: pd.Timestamp
    period_length: pd.Timedelta
    seed: int


def _effect_matrix(effects: Mapping | pd.DataFrame | None, labels: list[str]) -> pd.DataFrame:
    if effects is None:
        effects = DEFAULT_EFFECTS
    if isinstance(effects, pd.DataFrame):
        frame = effects[["segment", "channel", "value"]].copy()
    else:
        unknown = sorted(set(effects) - set(CHANNELS))
        if unknown:
            raise LtvlabError(f"effects channel(s) {unknown} unknown; use {list(CHANNELS)}")
        rows = []
        for channel, value in effects.items():
            values = np.broadcast_to(np.asarray(value, dtype=float), (len(labels),))
            rows += [(seg, channel, float(v)) for seg, v in zip(labels, values, strict=True)]
        frame = pd.DataFrame(rows, columns=["segment", "channel", "value"])
    full = pd.MultiIndex.from_product([labels, CHANNELS], names=["segment", "channel"])
    value = frame.set_index(["segment", "channel"])["value"].astype(float)
    if value.index.duplicated().any():
        raise LtvlabError("effects give one (segment, channel) twice")
    if not np.all(np.isfinite(value)):
        raise LtvlabError("effects must be finite log multipliers")
    return value.reindex(full, fill_value=0.0).reset_index()


def simulate_experiment(
    n_customers: int,
    *,
    n_segments: int = 2,
    pre_periods: int = 26,
    test_periods: int = 8,
    follow_periods: int = 52,
    period_length: str | pd.Timedelta = WEEK,
    effects: Mapping | pd.DataFrame | None = None,
    segment_params: pd.DataFrame | None = None,
    treat_share: float = 0.5,
    acquisition_periods: int | None = None,
    start: str = "2024-01-01",
    seed: int,
) -> ExperimentSim:
    """Simulate a randomised test with known arm effects on purchase rate, dropout rate and spend.

    ``effects``: ``{"purchase": value or one per segment, "dropout": ..., "spend": ...}`` (log multipliers of
    the treatment; missing channels 0) or a frame ``segment, channel, value``; default :data:`DEFAULT_EFFECTS`.
    ``segment_params``: columns ``segment, r, alpha, s, beta, spend_p, spend_q, spend_gamma`` (default
    :func:`ltvlab.data.synthetic_contacts.segment_parameters` for Pareto/NBD).
    """
    if int(n_customers) != n_customers or n_customers < 2:
        raise LtvlabError(f"n_customers={n_customers!r} must be a whole number >= 2")
    if not 1 <= n_segments <= n_customers:
        raise LtvlabError(f"n_segments={n_segments!r} must be between 1 and n_customers")
    if not (pre_periods >= 2 and test_periods >= 1 and follow_periods >= test_periods):
        raise LtvlabError(
            f"need pre_periods >= 2, test_periods >= 1 and follow_periods >= test_periods; got {pre_periods}, "
            f"{test_periods}, {follow_periods}"
        )
    if not 0.0 < treat_share < 1.0:
        raise LtvlabError(f"treat_share={treat_share} must be in (0, 1)")
    length_td = pd.Timedelta(period_length)
    if length_td <= pd.Timedelta(0) or length_td % pd.Timedelta(days=1) != pd.Timedelta(0):
        raise LtvlabError(f"period_length={period_length!r} must be a positive whole number of days")
    n = int(n_customers)
    length = length_td / WEEK
    acq_periods = pre_periods // 2 if acquisition_periods is None else int(acquisition_periods)
    if not 1 <= acq_periods <= pre_periods:
        raise LtvlabError(f"acquisition_periods={acquisition_periods!r} must be between 1 and pre_periods")
    seg = (
        segment_parameters(int(n_segments), ParetoNBD.kind_name)
        if segment_params is None
        else segment_params.reset_index(drop=True)
    )
    if len(seg) != n_segments:
        raise LtvlabError(f"segment_params has {len(seg)} rows for n_segments={n_segments}")
    labels = [str(s) for s in seg["segment"]]
    truth = _effect_matrix(effects, labels)
    eff = truth.pivot(index="segment", columns="channel", values="value").reindex(labels)
    rng = np.random.default_rng(seed)

    g = np.arange(n) % n_segments
    par = {
        k: seg[k].to_numpy(float)[g] for k in ("r", "alpha", "s", "beta", "spend_p", "spend_q", "spend_gamma")
    }
    lam = rng.gamma(par["r"], 1.0 / par["alpha"])
    mu = rng.gamma(par["s"], 1.0 / par["beta"])
    nu = rng.gamma(par["spend_q"], 1.0 / par["spend_gamma"])
    acq_day = rng.integers(0, acq_periods * length_td.days, size=n)
    acq_day[0] = 0
    acq = acq_day / 7.0
    t0 = pre_periods * length
    t_end = t0 + follow_periods * length
    arm = np.zeros(n, dtype=np.int64)
    arm[rng.permutation(n)[: round(n * treat_share)]] = 1
    gain = {c: eff[c].to_numpy(float)[g] * arm for c in CHANNELS}

    death = acq + rng.exponential(1.0 / mu)
    alive0 = death > t0
    # post-assignment lifetime: memoryless, at the arm's dropout rate
    death = np.where(alive0, t0 + rng.exponential(1.0 / (mu * np.exp(gain["dropout"]))), death)
    pre_exposure = np.minimum(death, t0) - acq
    post_exposure = np.clip(np.minimum(death, t_end) - t0, 0.0, None)
    k_pre = rng.poisson(lam * pre_exposure)
    k_post = rng.poisson(lam * np.exp(gain["purchase"]) * post_exposure)
    who_pre = np.repeat(np.arange(n), k_pre)
    who_post = np.repeat(np.arange(n), k_post)
    t_pre = acq[who_pre] + pre_exposure[who_pre] * rng.random(who_pre.size)
    t_post = t0 + post_exposure[who_post] * rng.random(who_post.size)
    owner = np.concatenate([np.arange(n), who_pre, who_post])
    when = np.concatenate([acq, t_pre, t_post])
    treated_tx = np.concatenate([np.zeros(n + who_pre.size), np.ones(who_post.size)]) * arm[owner]
    scale = np.exp(eff["spend"].to_numpy(float)[g][owner] * treated_tx) / nu[owner]
    amount = np.round(rng.gamma(par["spend_p"][owner], scale), 2)

    origin = pd.Timestamp(start).normalize()
    ids = customer_ids(n)
    ns = np.floor(when * WEEK.value).astype(np.int64)
    ns[:n] = acq_day * pd.Timedelta(days=1).value
    frame = pd.DataFrame(
        {col.CUSTOMER_ID: ids[owner], col.DATE: origin + pd.to_timedelta(ns, unit="ns"), col.AMOUNT: amount}
    ).sort_values([col.CUSTOMER_ID, col.DATE], kind="stable", ignore_index=True)
    test_end = origin + (pre_periods + test_periods) * length_td
    seen = frame[col.DATE] < test_end
    segment = pd.Categorical.from_codes(g, categories=labels)
    customers = pd.DataFrame(
        {
            col.CUSTOMER_ID: ids,
            "segment": segment,
            ARM: arm,
            col.FIRST_PURCHASE: origin + pd.to_timedelta(acq_day, unit="D"),
            "lam": lam,
            "mu": mu,
            "nu": nu,
            "alive_at_assignment": alive0,
        }
    )
    return ExperimentSim(
        transactions=frame[seen].reset_index(drop=True),
        future_transactions=frame[~seen].reset_index(drop=True),
        assignment=customers[[col.CUSTOMER_ID, "segment", ARM]].copy(),
        customers=customers,
        effects=truth,
        segments=seg,
        origin=origin,
        assignment_date=origin + pre_periods * length_td,
        test_end=test_end,
        follow_end=origin + (pre_periods + follow_periods) * length_td,
        period_length=length_td,
        seed=int(seed),
    )


def realised_value(
    sim: ExperimentSim, *, horizon_periods: int, annual_discount_rate: float = 0.10
) -> pd.DataFrame:
    """What each customer actually spent after the assignment, discounted like :mod:`ltvlab.ltv.clv`: a
    transaction in the ``k``-th period after the assignment counts ``(1 + d)^-k`` (``d`` the period rate).

    Returns ``customer_id, segment, arm, value`` for every customer acquired before the assignment.
    """
    if not 1 <= horizon_periods <= (sim.follow_end - sim.assignment_date) / sim.period_length:
        raise LtvlabError("horizon_periods must be between 1 and the simulated follow-up")
    rate = period_discount_rate(annual_discount_rate, sim.period_length / pd.Timedelta(days=1))
    tx = pd.concat([sim.transactions, sim.future_transactions], ignore_index=True)
    tx = tx[tx[col.DATE] >= sim.assignment_date]
    k = np.floor((tx[col.DATE] - sim.assignment_date) / sim.period_length).to_numpy().astype(int) + 1
    keep = k <= horizon_periods
    disc = tx[col.AMOUNT].to_numpy(float)[keep] * (1.0 + rate) ** -k[keep].astype(float)
    per = pd.Series(disc).groupby(tx[col.CUSTOMER_ID].to_numpy()[keep]).sum()
    out = sim.assignment.copy()
    out["value"] = per.reindex(out[col.CUSTOMER_ID]).fillna(0.0).to_numpy()
    return out
