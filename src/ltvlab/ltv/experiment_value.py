"""The long-run value of a randomised test, split into a frequency, a retention and a spend part.

Model
-----
The arm is a covariate of the latent processes: from the assignment date on, a treated customer's Pareto/NBD
purchase rate is multiplied by ``exp(gamma_g)``, the dropout rate by ``exp(delta_g)`` (the time-varying
covariate ``arm`` of :mod:`ltvlab.ltv.interactions`, fitted on everything up to the end of the test) and the
mean transaction value by ``exp(kappa_g)`` (:mod:`ltvlab.ltv.arm_spend`), per segment ``g``, pooled over
segments as the specs say.

Estimand
--------
For each test customer ``i``, ``V_i(S)`` is the expected discounted spend over ``horizon_periods`` periods from
the assignment, given the customer's history *at the assignment* (P(alive), and the posterior of the purchase,
dropout and spend rates from the pre-assignment transactions only), when the treatment acts through the
channels in ``S`` (a subset of frequency, retention, spend). A purchase in the ``k``-th period after the
assignment is discounted by ``(1 + d)^-k`` as in :mod:`ltvlab.ltv.clv`. The incremental CLV of segment ``g``
is ``v_g(S) = mean_{i in g} V_i(S)`` at ``S = all`` minus at ``S = none``: the expected gain per customer of
treating the test's customers rather than not, a function of the model parameters, reported with its posterior
interval (customer-weighted over segments for ``"all"``).

Decomposition
-------------
Purchases depend on the frequency and retention channels jointly and spend multiplies them, so the channel
effects interact and a one-at-a-time split does not add up. Each draw's increment is split by the Shapley
value over the three channels: a channel's part is its marginal contribution ``v(S + c) - v(S)`` averaged over
the ``3! = 6`` orders in which the channels can be switched on. The parts add up to the total exactly, do not
depend on an arbitrary order, are zero for a channel with no effect, and, being linear in ``v``, the segment
parts average to the pooled part. The same split is applied to the value accrued inside the test window (the
first ``window_periods`` periods, which the data cover) and after it; the after-window share of the
incremental CLV is the part that is extrapolation from the fitted model.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import factorial
from typing import Any, Literal

import numpy as np
import pandas as pd

from ltvlab.data.synthetic_experiment import ARM
from ltvlab.errors import LtvlabError
from ltvlab.ltv.arm_spend import ArmSpendFit, ArmSpendSpec
from ltvlab.ltv.discounting import period_discount_rate
from ltvlab.ltv.experiment_data import ExperimentData, arm_covariates, experiment_data
from ltvlab.ltv.formulas import pnbd_p_alive
from ltvlab.ltv.interactions import TVCFit, TVCSpec
from ltvlab.ltv.interactions.data import UNIT_DAYS
from ltvlab.ltv.pnbd import ParetoNBD

__all__ = [
    "PARTS",
    "ExperimentData",
    "ExperimentFit",
    "ExperimentValue",
    "arm_covariates",
    "experiment_data",
    "experiment_value",
    "fit_experiment",
    "parameters_from_truth",
    "value_draws",
]

CHANNEL_PARTS = ("frequency", "retention", "spend")
PARTS = (*CHANNEL_PARTS, "total")
ALL = "all"


@dataclass(frozen=True)
class ExperimentFit:
    """The purchase/dropout fit (:class:`~ltvlab.ltv.interactions.TVCFit`) and the spend fit."""

    purchase: TVCFit
    spend: ArmSpendFit

    @property
    def diagnostics_ok(self) -> bool:
        return bool(self.purchase.diagnostics.ok and self.spend.diagnostics.ok)

    def parameters(self, n_draws: int = 500) -> dict[str, np.ndarray]:
        """Paired draws ``(n, n_segments)`` of ``r, alpha, s, beta, gamma, delta, p, q, gamma_spend, kappa``:
        the two fits are independent, so pairing their draws in order samples their joint posterior."""
        n = min(self.purchase.n_draws, self.spend.n_draws, n_draws)
        a = np.unique(np.linspace(0, self.purchase.n_draws - 1, n).astype(int))
        b = np.unique(np.linspace(0, self.spend.n_draws - 1, n).astype(int))
        n = min(a.size, b.size)
        a, b = a[:n], b[:n]
        d = self.purchase.draws
        out = {k: d[k][a] for k in ("r", "alpha", "s", "beta")}
        out["gamma"], out["delta"] = d["gamma"][a, :, 0], d["delta"][a, :, 0]
        s = self.spend.draws
        out.update({"p": s["p"][b], "q": s["q"][b], "gamma_spend": s["gamma"][b], "kappa": s["kappa"][b]})
        return out


def fit_experiment(
    data: ExperimentData,
    *,
    pooling: Literal["none", "complete", "partial"] = "none",
    effect_pooling: Literal["none", "complete", "partial"] = "none",
    spend_pooling: Literal["none", "complete"] = "none",
    method: Literal["nuts", "laplace", "map"] = "nuts",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 2024,
) -> ExperimentFit:
    """Fit the arm's effects on purchase and dropout (Pareto/NBD with the ``arm`` covariate) and on spend.

    ``effect_pooling="partial"`` pools the arm effects over segments (non-centred); with 2 segments the spend
    effect's NUTS fit failed the diagnostics gate (7 divergences, bulk ESS 52 at 2 x 500 draws, 3,000 customers),
    so the default keeps each segment's effect on its own ("none") and the pooled ``"all"`` value averages them.
    ``method="laplace"`` fits both by the Laplace approximation at the posterior mode (approximate intervals,
    fast): for simulation studies; NUTS for reports. ``method="map"`` fits both at their posterior mode
    (one 'draw', no interval): for checks of the mechanics only.
    """
    if len(data.segments) < 2 and "partial" in (pooling, effect_pooling):
        pooling = "complete" if pooling == "partial" else pooling
        effect_pooling = "complete" if effect_pooling == "partial" else effect_pooling
    spec = TVCSpec(
        model=ParetoNBD.kind_name,
        pooling=pooling,
        effect_pooling=effect_pooling,
        purchase_covariates=(ARM,),
        dropout_covariates=(ARM,),
        randomised=True,
    )
    purchase = spec.fit(data.tvc, method=method, draws=draws, tune=tune, chains=chains, seed=seed)
    spend = ArmSpendSpec(pooling=spend_pooling, effect_pooling=effect_pooling).fit(
        data.spend,
        method=method,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed + 1,
    )
    return ExperimentFit(purchase, spend)


def parameters_from_truth(segments: pd.DataFrame, effects: pd.DataFrame, labels) -> dict[str, np.ndarray]:
    """One 'draw' of the true parameters (simulator layout) in the shape of :meth:`ExperimentFit.parameters`."""
    seg = segments.set_index(segments["segment"].astype(str)).loc[list(labels)]
    eff = effects.pivot(index="segment", columns="channel", values="value").reindex(list(labels))
    out = {k: seg[k].to_numpy(float)[None, :] for k in ("r", "alpha", "s", "beta")}
    out["p"], out["q"] = seg["spend_p"].to_numpy(float)[None, :], seg["spend_q"].to_numpy(float)[None, :]
    out["gamma_spend"] = seg["spend_gamma"].to_numpy(float)[None, :]
    out["gamma"], out["delta"] = (
        eff["purchase"].to_numpy(float)[None, :],
        eff["dropout"].to_numpy(float)[None, :],
    )
    out["kappa"] = eff["spend"].to_numpy(float)[None, :]
    return out


def _period_integrals(B: np.ndarray, c: np.ndarray, s: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``int_{e_k}^{e_k+1} (B / (B + c u))^s du`` for each customer (rows) and period (columns)."""
    B, c, s = B[:, None], c[:, None], s[:, None]
    y = np.log1p(c * edges[None, :] / B)  # log(1 + c u / B) at the period edges
    one = np.abs(s - 1.0) < 1e-8
    safe = np.where(one, 2.0, 1.0 - s)
    prim = np.where(one, y, np.expm1(safe * y) / safe)  # int_0^u (1 + c v / B)^-s dv * c / B
    return np.diff(prim, axis=1) * (B / c)


def value_draws(
    params: dict[str, np.ndarray],
    data: ExperimentData,
    *,
    horizon_periods: int,
    annual_discount_rate: float,
) -> np.ndarray:
    """``v[draw, group, subset, window]``: mean ``V_i(S)`` per group (segments, then ``"all"``) for the 8 channel
    subsets ``S`` (bit 0 frequency, 1 retention, 2 spend) inside (``window = 0``) and after the test window."""
    if horizon_periods < 1:
        raise LtvlabError(f"horizon_periods={horizon_periods} must be >= 1")
    L = data.period_length / pd.Timedelta(days=UNIT_DAYS[data.unit])
    rate = period_discount_rate(annual_discount_rate, data.period_length / pd.Timedelta(days=1))
    disc = (1.0 + rate) ** -np.arange(1, horizon_periods + 1)
    inside = np.arange(1, horizon_periods + 1) <= data.window_periods
    edges = L * np.arange(horizon_periods + 1)
    g = data.segment_code
    n_seg = len(data.segments)
    counts = np.bincount(g, minlength=n_seg).astype(float)
    x, t_x, T = data.pre_x, data.pre_t_x, data.pre_T
    n_draws = params["r"].shape[0]
    out = np.empty((n_draws, n_seg + 1, 8, 2))
    for d in range(n_draws):
        r, alpha, s, beta = (params[k][d][g] for k in ("r", "alpha", "s", "beta"))
        p_alive = pnbd_p_alive(x, t_x, T, r, alpha, s, beta)
        rate_mean = (r + x) / (alpha + T)
        p, q, gs = (params[k][d][g] for k in ("p", "q", "gamma_spend"))
        spend = p * (gs + data.pre_n * data.pre_m) / (p * data.pre_n + q - 1.0)
        base = p_alive * rate_mean * spend
        by_freq_ret = {}
        for ret in (0, 1):
            c = np.exp(params["delta"][d][g] * ret)
            per = _period_integrals(beta + T, c, s, edges) * disc
            split = np.column_stack([per[:, inside].sum(axis=1), per[:, ~inside].sum(axis=1)])
            for freq in (0, 1):
                value = base[:, None] * np.exp(params["gamma"][d][g] * freq)[:, None] * split
                sums = np.stack(
                    [np.bincount(g, weights=value[:, w], minlength=n_seg) for w in (0, 1)], axis=1
                )
                by_freq_ret[freq, ret] = sums
        for subset in range(8):
            freq, ret, sp = subset & 1, (subset >> 1) & 1, (subset >> 2) & 1
            sums = by_freq_ret[freq, ret] * np.exp(params["kappa"][d] * sp)[:, None]
            out[d, :n_seg, subset] = sums / np.maximum(counts, 1.0)[:, None]
            out[d, n_seg, subset] = sums.sum(axis=0) / counts.sum()
    return out


def shapley_parts(v: np.ndarray) -> np.ndarray:
    """Shapley split over the 3 channels of ``v[..., subset, window]``: ``[..., part, window]`` with parts
    frequency, retention, spend, total (total = ``v[all] - v[none]`` = the sum of the three)."""
    n = 3
    parts = np.zeros((*v.shape[:-2], n + 1, v.shape[-1]))
    for c in range(n):
        others = [k for k in range(n) if k != c]
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for subset in itertools.combinations(others, size):
                mask = sum(1 << k for k in subset)
                parts[..., c, :] += weight * (v[..., mask | (1 << c), :] - v[..., mask, :])
    parts[..., n, :] = v[..., 7, :] - v[..., 0, :]
    return parts


@dataclass(frozen=True)
class ExperimentValue:
    """Incremental CLV of a test per customer, by group and part, with its window / after-window split.

    ``table``: ``group, part, mean, lower, upper, in_window, after_window, share_after_window`` (+ its
    ``_lower``/``_upper``; for ``part == "total"`` only); ``arms``: CLV per customer with every channel on
    (``treatment``) and off (``control``); ``draws``: ``group, part, draw, value, in_window``.
    """

    table: pd.DataFrame
    arms: pd.DataFrame
    draws: pd.DataFrame
    horizon_periods: int
    window_periods: int
    annual_discount_rate: float
    level: float
    n_draws: int
    decomposition: str = "shapley"
    randomised: bool = True
    diagnostics_ok: bool | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimand": "expected discounted spend per test customer over the horizon from the assignment, "
            "treatment minus control, given each customer's history at the assignment",
            "decomposition": self.decomposition,
            "randomised": self.randomised,
            "horizon_periods": self.horizon_periods,
            "window_periods": self.window_periods,
            "annual_discount_rate": self.annual_discount_rate,
            "level": self.level,
            "n_draws": self.n_draws,
            "diagnostics_ok": self.diagnostics_ok,
            "value": _records(self.table),
            "arms": _records(self.arms),
            "warnings": list(self.warnings),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with missing values as ``None`` (JSON has no NaN)."""
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _quantile(values: np.ndarray, q: float) -> float:
    return float("nan") if np.isnan(q) else float(np.quantile(values, q))


def experiment_value(
    source: ExperimentFit | dict[str, np.ndarray],
    data: ExperimentData,
    *,
    horizon_periods: int = 52,
    annual_discount_rate: float = 0.10,
    level: float = 0.9,
    n_draws: int = 500,
) -> ExperimentValue:
    """Decomposed incremental CLV from a fit (or parameter draws, e.g. :func:`parameters_from_truth`)."""
    params = source.parameters(n_draws) if isinstance(source, ExperimentFit) else source
    v = value_draws(params, data, horizon_periods=horizon_periods, annual_discount_rate=annual_discount_rate)
    parts = shapley_parts(v)  # (draw, group, part, window)
    total = parts.sum(axis=-1)
    groups = [*data.segments, ALL]
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    if v.shape[0] == 1:  # a point estimate (MAP, or the truth): no interval
        lo = hi = np.nan
    rows, long = [], []
    for gi, group in enumerate(groups):
        for pi, part in enumerate(PARTS):
            t = total[:, gi, pi]
            row = {
                "group": group,
                "part": part,
                "mean": float(t.mean()),
                "lower": _quantile(t, lo),
                "upper": _quantile(t, hi),
                "in_window": float(parts[:, gi, pi, 0].mean()),
                "after_window": float(parts[:, gi, pi, 1].mean()),
            }
            if part == "total":
                with np.errstate(divide="ignore", invalid="ignore"):
                    share = parts[:, gi, pi, 1] / t
                row.update(
                    share_after_window=float(np.mean(share)),
                    share_after_window_lower=_quantile(share, lo),
                    share_after_window_upper=_quantile(share, hi),
                )
            rows.append(row)
            long.append(
                pd.DataFrame(
                    {
                        "group": group,
                        "part": part,
                        "draw": np.arange(t.size),
                        "value": t,
                        "in_window": parts[:, gi, pi, 0],
                    }
                )
            )
    arms = []
    for gi, group in enumerate(groups):
        for arm, subset in (("control", 0), ("treatment", 7)):
            a = v[:, gi, subset].sum(axis=-1)
            arms.append(
                {
                    "group": group,
                    "arm": arm,
                    "clv": float(a.mean()),
                    "lower": _quantile(a, lo),
                    "upper": _quantile(a, hi),
                }
            )
    fit = source if isinstance(source, ExperimentFit) else None
    notes = []
    if fit is not None and not fit.diagnostics_ok:
        notes.append("a fit failed its diagnostics gate: do not report these values")
    share = pd.DataFrame(rows).query("part == 'total' and group == 'all'")["share_after_window"].iloc[0]
    if horizon_periods > data.window_periods and share > 0.5:
        notes.append(
            f"{share:.0%} of the incremental CLV accrues after the {data.window_periods}-period test window: it is "
            "the model's extrapolation, not observed"
        )
    return ExperimentValue(
        table=pd.DataFrame(rows),
        arms=pd.DataFrame(arms),
        draws=pd.concat(long, ignore_index=True),
        horizon_periods=horizon_periods,
        window_periods=data.window_periods,
        annual_discount_rate=annual_discount_rate,
        level=level,
        n_draws=int(v.shape[0]),
        diagnostics_ok=None if fit is None else fit.diagnostics_ok,
        warnings=tuple(notes),
    )
