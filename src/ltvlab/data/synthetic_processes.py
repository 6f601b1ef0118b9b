"""Dated purchase-and-dropout processes of the synthetic CRM, one per model that declares one.

A :class:`DatedProcess` says how :func:`ltvlab.data.synthetic_crm.generate_crm` draws a customer's dropout
quantity, runs the process over a window of weeks, and computes the closed-form expected outcomes behind the
strategy-effect truth. The model modules of :mod:`ltvlab.ltv` attach their process to their registry entry
(``ModelDef.dated_process``), which is how ``generate_crm(model=...)`` finds it by name: the data layer never
names a model.

Both processes restart from the start of a window by memorylessness (the Poisson purchases, the per-purchase
dropout coin of BG/NBD, the exponential lifetime of Pareto/NBD), so one :meth:`DatedProcess.run` serves the
calibration window (everyone alive at its start) and the campaign window (alive as the calibration left them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["BGNBD_DATED", "PARETO_NBD_DATED", "DatedProcess", "kept_times"]

Run = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def kept_times(kept, total, start, length, rng) -> tuple[np.ndarray, np.ndarray]:
    """Times of the first ``kept`` of ``total`` uniform events on ``[start, start + length)``.

    The last kept event is the ``kept``-th order statistic (``Beta(kept, total - kept + 1)``); the others are
    uniform below it (their order does not matter). Returns (owner index, times).
    """
    has = kept > 0
    idx = np.flatnonzero(has)
    last = start[idx] + length[idx] * rng.beta(kept[idx], total[idx] - kept[idx] + 1)
    others = kept[idx] - 1
    owner_o = np.repeat(idx, others)
    rel = np.repeat(np.arange(idx.size), others)
    times_o = start[owner_o] + rng.random(owner_o.size) * (last[rel] - start[owner_o])
    return np.concatenate([idx, owner_o]), np.concatenate([last, times_o])


@dataclass(frozen=True)
class DatedProcess:
    """One purchase/dropout process in continuous time (weeks), as the synthetic CRM simulates it.

    - ``param_names``: segment parameters of the process (the registry model's, in its order);
    - ``dropout_column``: name of the customer's latent dropout quantity in the ``customers`` table;
    - ``centre``: the hyper-parameters' centre of the segment parameters;
    - ``draw_dropout(rng, segment_params, segment)``: each customer's dropout quantity;
    - ``cap_dropout``: applied after strategy multipliers (a probability stays at most 1);
    - ``run(lam, drop, start, length, alive, rng)``: purchases in ``[start, start + length)`` of customers
      alive at ``start`` -> ``(count, alive at the end, owner of each purchase, its time)``;
    - ``expected_outcomes(lam, drop, alive, h)``: expected purchases and P(any purchase) over ``h`` weeks of
      customers alive at the start.
    """

    label: str
    param_names: tuple[str, ...]
    dropout_column: str
    centre: Callable[[object], Mapping[str, float]]
    draw_dropout: Callable[[np.random.Generator, Mapping[str, np.ndarray], np.ndarray], np.ndarray]
    cap_dropout: Callable[[np.ndarray], np.ndarray]
    run: Callable[..., Run]
    expected_outcomes: Callable[..., tuple[np.ndarray, np.ndarray]]


def _bgnbd_run(lam, p, start, length, alive, rng) -> Run:
    """Immortal purchases ``N ~ Poisson(lam length)``; dropout right after the ``J ~ Geometric(p)``-th."""
    n = rng.poisson(lam * length) * alive
    dropout_after = rng.geometric(p)
    kept = np.minimum(n, dropout_after)
    owner, times = kept_times(kept, n, start, length, rng)
    return kept, alive & (dropout_after > n), owner, times


def _bgnbd_outcomes(lam, p, alive, h) -> tuple[np.ndarray, np.ndarray]:
    """``E = (1 - exp(-lam p h)) / p``, ``P(any) = 1 - exp(-lam h)`` (zero if not alive)."""
    return -np.expm1(-lam * p * h) / p * alive, -np.expm1(-lam * h) * alive


def _pareto_run(lam, mu, start, length, alive, rng) -> Run:
    """Exponential lifetime with rate ``mu``; Poisson(``lam``) purchases while alive."""
    life = rng.exponential(1.0 / mu)
    span = np.minimum(life, length) * alive
    kept = rng.poisson(lam * span)
    owner, times = kept_times(kept, kept, start, span, rng)
    return kept, alive & (life > length), owner, times


def _pareto_outcomes(lam, mu, alive, h) -> tuple[np.ndarray, np.ndarray]:
    """``E = lam / mu (1 - exp(-mu h))``, ``P(any) = lam / (lam + mu) (1 - exp(-(lam + mu) h))``."""
    purchases = lam / mu * -np.expm1(-mu * h)
    retained = lam / (lam + mu) * -np.expm1(-(lam + mu) * h)
    return purchases * alive, retained * alive


BGNBD_DATED = DatedProcess(
    label="BG/NBD",
    param_names=("r", "alpha", "a", "b"),
    dropout_column="p",
    centre=lambda hyper: hyper.bgnbd,
    draw_dropout=lambda rng, sp, seg: np.clip(rng.beta(sp["a"][seg], sp["b"][seg]), 1e-12, 1.0),
    cap_dropout=lambda p: np.minimum(p, 1.0),
    run=_bgnbd_run,
    expected_outcomes=_bgnbd_outcomes,
)

PARETO_NBD_DATED = DatedProcess(
    label="Pareto/NBD",
    param_names=("r", "alpha", "s", "beta"),
    dropout_column="mu",
    centre=lambda hyper: hyper.pareto_nbd,
    # no exact zeros: an underflow to 0 would make the lifetime infinite
    draw_dropout=lambda rng, sp, seg: np.maximum(rng.gamma(sp["s"][seg], 1.0 / sp["beta"][seg]), 1e-300),
    cap_dropout=lambda mu: mu,
    run=_pareto_run,
    expected_outcomes=_pareto_outcomes,
)
