"""Posterior predictive simulation of future purchases and discounted value, customer by customer.

:func:`ltvlab.ltv.customer_lifetime_value` gives the posterior of the *expected* discounted value: its
quantiles describe parameter uncertainty only and cannot cover what a customer will actually spend, which also
carries purchase (Poisson, dropout) and spend noise. This module draws that realised value: for each posterior
draw of the purchase model (and of the Gamma-Gamma spend model, paired as in :mod:`ltvlab.ltv.clv`) and for each
customer, it simulates the customer's future over ``K`` periods of length ``P`` and discounts period ``k`` by
``(1 + d_P)^-k``, with the horizon and discount helpers of :mod:`ltvlab.ltv.clv`.

Conditional posterior of a customer's latent state (BG/NBD). Prior ``lambda ~ Gamma(r, rate alpha)``,
``p ~ Beta(a, b)``. Given ``(x, t_x, T)`` the likelihood splits by whether the customer is still alive at ``T``::

    alive: (1 - p)^x lambda^x e^(-lambda T)
    dead:  p (1 - p)^(x - 1) lambda^x e^(-lambda t_x)          (only if x > 0: drop-out right after purchase x)

Multiplying by the prior, each branch is a product of a gamma and a beta kernel, so::

    alive: lambda ~ Gamma(r + x, rate alpha + T),    p ~ Beta(a, b + x),          independent
    dead:  lambda ~ Gamma(r + x, rate alpha + t_x),  p ~ Beta(a + 1, b + x - 1)

with branch weights ``B(a, b + x) / (alpha + T)^(r + x)`` and ``B(a + 1, b + x - 1) / (alpha + t_x)^(r + x)``.
Their ratio is FHL (2005) eq. 10's death odds, so ``P(alive)`` is :func:`ltvlab.ltv.formulas.bgnbd_p_alive`. A
dead customer buys nothing more. An alive one, by the memorylessness of the Poisson process and of the
per-purchase coin, restarts at ``T``: purchases arrive at rate ``lambda`` and the customer drops out right after
the ``J``-th future purchase, ``J ~ Geometric(p)`` on ``{1, 2, ...}``. With ``N_k`` the purchases of an immortal
customer by the end of period ``k`` (independent Poisson(``lambda P``) increments), the purchases in period ``k``
are ``min(N_k, J) - min(N_(k-1), J)``.

Pareto/NBD. Alive at ``T``: ``lambda ~ Gamma(r + x, rate alpha + T)`` and ``mu ~ Gamma(s, rate beta + T)``
(the alive likelihood is ``lambda^x e^(-lambda T) e^(-mu T)``), the remaining lifetime is ``Exp(mu)``, and the
purchases in period ``k`` are Poisson(``lambda`` x the part of period ``k`` lived).

Spend (Gamma-Gamma). Transaction values are ``Gamma(p, rate nu)``, ``nu ~ Gamma(q, rate gamma)``; the ``x``
repeat values of mean ``mbar`` have likelihood ``nu^(p x) e^(-nu x mbar)``, so ``nu | x, mbar ~ Gamma(q + p x,
rate gamma + x mbar)`` (the prior when ``x == 0``). Given ``nu``, the ``n`` purchases of a period sum to
``Gamma(n p, rate nu)``. The predictive mean of the discounted value is therefore the expected CLV of
:mod:`ltvlab.ltv.clv` (``E[p / nu] = p (gamma + x mbar) / (q + p x - 1)``, FH 2013 eq. 5).

Work is done ``chunk_elements // samples`` customers at a time (samples = draws x ``sims_per_draw``), so memory
is ``O(chunk_elements)`` plus the per-sample aggregates, whatever the number of customers: about
``(n_periods + 12) x 8`` bytes per element at the peak (the per-period counts are kept until the spend is drawn),
i.e. some 400 MB for the default 2,000,000 elements and 13 periods; lower ``chunk_elements`` to use less. Every customer gets its own simulation (identical
summaries are not merged: aggregates need independent futures). One seeded :class:`numpy.random.Generator`
drives everything; results are reproducible for a given seed and chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._sim import check_finite, repeat_draws
from ltvlab.ltv.clv import clv_attrs
from ltvlab.ltv.discounting import ClvHorizon
from ltvlab.ltv.engine import PairedDraws, scoring_plan, summarise_draws, unique_rows, validate_summary

__all__ = ["ALL_CUSTOMERS", "PredictiveSample", "sample_future_value"]

ALL_CUSTOMERS = "all customers"
DEFAULT_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True, slots=True)
class PredictiveSample:
    """Posterior predictive draws of future purchases and discounted value over a horizon.

    ``per_customer``: ``customer_id`` then ``purchases_{mean,q05,q50,q95}`` and, with a spend fit,
    ``value_{mean,q05,q50,q95}`` (discounted, in the currency of ``monetary``), in the summary's row order.
    ``totals``: one row per predictive sample, ``sample, draw, purchases[, value]`` summed over all customers.
    ``segment_totals``: the same per ``segment`` value (long format, ``sample, draw, segment, ...``), or None.
    """

    per_customer: pd.DataFrame
    totals: pd.DataFrame
    segment_totals: pd.DataFrame | None
    segment: str | None
    purchase_model: str
    has_value: bool
    n_draws: int
    sims_per_draw: int
    seed: int
    horizon: ClvHorizon
    attrs: dict[str, Any]

    @property
    def quantities(self) -> tuple[str, ...]:
        return ("purchases", "value") if self.has_value else ("purchases",)

    def intervals(self, level: float = 0.90) -> pd.DataFrame:
        """Central ``level`` predictive intervals of the aggregates.

        One row per (segment, quantity): ``segment`` (``ALL_CUSTOMERS`` first, then each segment), ``quantity``,
        ``mean``, ``lower``, ``upper``.
        """
        if not 0.0 < level < 1.0:
            raise LtvlabError(f"level={level!r} must lie strictly between 0 and 1 (0.90 = 90%)")
        tails = ((1.0 - level) / 2.0, (1.0 + level) / 2.0)
        groups = [(ALL_CUSTOMERS, self.totals)]
        if self.segment_totals is not None:
            groups += list(self.segment_totals.groupby("segment", sort=False))
        rows = []
        for name, frame in groups:
            for quantity in self.quantities:
                values = frame[quantity].to_numpy(float)
                lower, upper = np.quantile(values, tails)
                rows.append((name, quantity, float(values.mean()), float(lower), float(upper)))
        return pd.DataFrame(rows, columns=["segment", "quantity", "mean", "lower", "upper"])


# ------------------------------------------------------------------------------------------ simulation


def _discounted_value(
    rng: np.random.Generator, params: list[np.ndarray], counts: np.ndarray, x, monetary, horizon: ClvHorizon
) -> np.ndarray:
    """Discounted spend of the simulated purchases: Gamma-Gamma, nu from its conditional posterior."""
    p, q, gamma = params
    nu = rng.gamma(q + p * x, 1.0 / (gamma + x * monetary))
    value = np.zeros(counts.shape[1:])
    for k in range(horizon.n_periods):
        spend = rng.gamma(counts[k] * p, 1.0 / nu)  # shape 0 (no purchase) gives exactly 0
        value += spend / (1.0 + horizon.period_rate) ** (k + 1)
    check_finite(value, "the simulated value", x, None, None)
    return value


def _segment_sums(values: np.ndarray, codes: np.ndarray, n_segments: int) -> np.ndarray:
    """Sum the columns of a ``samples x customers`` array by segment code: ``samples x n_segments``."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    present, starts = np.unique(sorted_codes, return_index=True)
    out = np.zeros((values.shape[0], n_segments))
    out[:, present] = np.add.reduceat(values[:, order], starts, axis=1)
    return out


# ------------------------------------------------------------------------------------------ validation


def _segment_codes(summary: pd.DataFrame, segment: str | None) -> tuple[np.ndarray, list[str]]:
    if segment is None:
        return np.zeros(len(summary), dtype=np.int64), []
    if segment not in summary.columns:
        raise LtvlabError(
            f"segment column {segment!r} is not in the summary (columns: {list(summary.columns)})"
        )
    labels = summary[segment]
    if labels.isna().any():
        row = summary.index[np.flatnonzero(labels.isna().to_numpy())[0]]
        raise LtvlabError(
            f"segment column {segment!r} has a missing value in row {row}; fill it or drop the row"
        )
    codes, names = pd.factorize(labels.astype(str), sort=True)
    return codes.astype(np.int64), [str(n) for n in names]


def _validate_options(sims_per_draw: int, chunk_elements: int) -> None:
    if isinstance(sims_per_draw, bool) or int(sims_per_draw) != sims_per_draw or sims_per_draw < 1:
        raise LtvlabError(f"sims_per_draw={sims_per_draw!r} must be a whole number >= 1")
    if isinstance(chunk_elements, bool) or int(chunk_elements) != chunk_elements or chunk_elements < 1:
        raise LtvlabError(f"chunk_elements={chunk_elements!r} must be a whole number >= 1")


# ------------------------------------------------------------------------------------------------ public


def sample_future_value(
    purchase_fit: Any,
    spend_fit: Any | None,
    summary: pd.DataFrame,
    *,
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
    segment: str | None = None,
    max_draws: int | None = 1000,
    sims_per_draw: int = 1,
    seed: int = 0,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    progress: bool = False,
    unit: str | None = None,
) -> PredictiveSample:
    """Posterior predictive draws of each customer's future purchases and discounted value.

    Parameters
    ----------
    purchase_fit, spend_fit
        Fitted BG/NBD or Pareto/NBD model, and fitted Gamma-Gamma model or None (then purchases only).
    summary
        Customer summary (``customer_id, x, t_x, T`` and ``monetary`` with a spend fit); its time unit is read
        from ``summary.attrs["unit"]``.
    horizon_weeks, period_weeks, annual_discount_rate
        As in :func:`ltvlab.ltv.customer_lifetime_value`: value in period ``k`` is discounted by
        ``(1 + d)^-k``; purchases are counted undiscounted over the whole horizon.
    segment
        Optional column of ``summary`` whose values get their own aggregate draws (any grouping, not
        necessarily the fit's segment).
    max_draws, seed
        Posterior draws used (thinned at random with ``seed``; ``None`` = all), and the seed of the simulation.
    sims_per_draw
        Futures simulated per posterior draw (samples = draws x ``sims_per_draw``); more than one helps when a
        fit has few draws (a MAP fit has one).
    chunk_elements
        Samples x customers simulated at once; bounds memory.
    progress
        Show a progress bar over customers (tqdm).
    unit
        Time unit of the summary (default ``summary.attrs["unit"]``); must be the purchase fit's.
    """
    validate_summary(summary, need_monetary=spend_fit is not None)
    _validate_options(sims_per_draw, chunk_elements)
    plan = scoring_plan(
        purchase_fit,
        spend_fit,
        summary=summary,
        unit=unit,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
        max_draws=max_draws,
        seed=seed,
    )
    horizon, draws = plan.horizon, plan.draws
    codes, segment_names = _segment_codes(summary, segment)
    n = len(summary)
    rows = unique_rows(summary, purchase_fit, spend_fit, distinct=False)  # every customer its own future
    fit_seg, spend_seg, z = rows.purchase_segment, rows.spend_segment, rows.z
    x, t_x, t_cal = rows.x, rows.t_x, rows.T
    monetary = np.where(x > 0, rows.monetary, 0.0)

    sims = int(sims_per_draw)
    n_samples = draws.n_draws * sims
    has_value = draws.spend is not None
    quantities = ("purchases", "value") if has_value else ("purchases",)
    per_customer = {f"{q}_{s}": np.empty(n) for q in quantities for s in ("mean", "q05", "q50", "q95")}
    totals = {q: np.zeros(n_samples) for q in quantities}
    by_segment = {q: np.zeros((n_samples, len(segment_names))) for q in quantities}
    rng = np.random.default_rng(seed)
    simulate = draws.model.simulate_counts
    step = max(1, int(chunk_elements) // n_samples)
    with tqdm(total=n, disable=not progress, unit="customer", desc="posterior predictive") as bar:
        for start in range(0, n, step):
            sl = slice(start, min(start + step, n))
            values = _simulate_chunk(
                rng,
                draws,
                simulate,
                sims,
                fit_seg[sl],
                z[sl],
                spend_seg[sl],
                x[sl],
                t_x[sl],
                t_cal[sl],
                monetary[sl],
                horizon,
            )
            for q, v in values.items():
                for name, summary_values in summarise_draws(v, q).items():
                    per_customer[name][sl] = summary_values
                totals[q] += v.sum(axis=1)
                if segment_names:
                    by_segment[q] += _segment_sums(v, codes[sl], len(segment_names))
            bar.update(sl.stop - sl.start)

    table = pd.DataFrame({col.CUSTOMER_ID: summary[col.CUSTOMER_ID].to_numpy(), **per_customer})
    sample_index = np.arange(n_samples)
    draw_index = sample_index // sims
    totals_frame = pd.DataFrame({"sample": sample_index, "draw": draw_index, **totals})
    segment_frame = None
    if segment_names:
        segment_frame = pd.DataFrame(
            {
                "sample": np.repeat(sample_index, len(segment_names)),
                "draw": np.repeat(draw_index, len(segment_names)),
                "segment": np.tile(np.asarray(segment_names, dtype=object), n_samples),
                **{q: by_segment[q].reshape(-1) for q in quantities},
            }
        )
    attrs = clv_attrs(horizon, draws, seed=seed, n_unique=n)
    del attrs["n_unique_summaries"]
    attrs.update({"n_customers": n, "sims_per_draw": sims, "n_samples": n_samples, "segment": segment})
    table.attrs.update(attrs)
    return PredictiveSample(
        per_customer=table,
        totals=totals_frame,
        segment_totals=segment_frame,
        segment=segment,
        purchase_model=draws.purchase_model,
        has_value=has_value,
        n_draws=draws.n_draws,
        sims_per_draw=sims,
        seed=seed,
        horizon=horizon,
        attrs=attrs,
    )


def _simulate_chunk(
    rng: np.random.Generator,
    draws: PairedDraws,
    simulate: Any,
    sims: int,
    fit_seg: np.ndarray,
    z: np.ndarray,
    spend_seg: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    t_cal: np.ndarray,
    monetary: np.ndarray,
    horizon: ClvHorizon,
) -> dict[str, np.ndarray]:
    """``{"purchases": samples x customers[, "value": ...]}`` for one chunk of customers."""
    params = draws.purchase_params(fit_seg, z)
    counts = simulate(rng, params, sims, x, t_x, t_cal, horizon)
    out = {"purchases": counts.sum(axis=0).astype(float)}
    if draws.spend is not None:
        spend_params = [repeat_draws(v, sims) for v in draws.spend_params(spend_seg)]
        out["value"] = _discounted_value(rng, spend_params, counts, x, monetary, horizon)
    return out
