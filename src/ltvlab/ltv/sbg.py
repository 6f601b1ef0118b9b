"""Shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007): spec, data, projections.

For subscriptions: at the end of each period an active customer cancels with probability ``theta``, constant for
the customer but heterogeneous across customers, ``theta ~ Beta(alpha, beta)``. Then (F&H 2007, eqs. 5-7)::

    P(T = t)   = B(alpha + 1, beta + t - 1) / B(alpha, beta)            (cancels at the end of period t)
    S(t)       = B(alpha, beta + t) / B(alpha, beta)                    (still active after t periods)
    r(t)       = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)   (retention rate, rising with t)

A rising aggregate retention rate is what heterogeneity produces (the loyal remain), so a constant retention
rate fitted to the early periods under-projects long-run survival: :func:`constant_retention_baseline` is that
projection, shown only as a labelled baseline.

Data: a cohort table (``cohort``, ``period``, customers still active; :func:`retention_rows`) or per-customer
start / end-or-censored records (:func:`retention_rows_from_records`), both turned into weighted rows ``x`` (1 =
cancelled at the end of period ``T``, 0 = still active after ``T`` periods), ``T`` and ``count``, with the cohort as
the segment, so :class:`SBG` fits in every pooling mode (``pooling="partial", segment="cohort"`` pools cohorts)
with MAP or NUTS like every registered model. Its summaries have ``attrs["unit"] = "period"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytensor.tensor as pt
from numpy.typing import ArrayLike
from scipy.special import betaln, hyp2f1

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._model import BTYDSpec
from ltvlab.ltv.distributions import betaln_pt
from ltvlab.ltv.registry import ModelDef, get_model, register, registered_models

__all__ = [
    "SBG",
    "BaselineProjection",
    "RetentionFindings",
    "constant_retention_baseline",
    "project_retention",
    "residual_lifetime",
    "residual_value",
    "retention_findings",
    "retention_rows",
    "retention_rows_from_records",
    "sbg_loglik",
    "sbg_residual_lifetime",
    "sbg_retention_rate",
    "sbg_survival",
]

COHORT = "cohort"
COUNT = "count"


@dataclass(frozen=True)
class SBG(BTYDSpec):
    """sBG: per-period cancellation probability ``theta ~ Beta(alpha, beta)``.

    ``fit(rows, weights="count")`` on the rows of :func:`retention_rows`; returns a fit with
    ``param_names == ("alpha", "beta")``.
    """

    kind_name: ClassVar[str] = "sbg"


def _f(value: ArrayLike) -> np.ndarray:
    return np.asarray(value, dtype=float)


def sbg_loglik(x: ArrayLike, T: ArrayLike, alpha, beta) -> np.ndarray:
    """log P(cancel at the end of period T) when ``x == 1``, log S(T) when ``x == 0`` (F&H 2007, eq. 5-6)."""
    x, T, alpha, beta = _f(x), _f(T), _f(alpha), _f(beta)
    churn = betaln(alpha + 1.0, beta + np.maximum(T, 1.0) - 1.0)
    stay = betaln(alpha, beta + T)
    return np.where(x > 0, churn, stay) - betaln(alpha, beta)


def sbg_loglik_pt(x, T, alpha, beta):
    """PyTensor version of :func:`sbg_loglik`."""
    churn = betaln_pt(alpha + 1.0, beta + pt.maximum(T, 1.0) - 1.0)
    stay = betaln_pt(alpha, beta + T)
    return pt.switch(pt.gt(x, 0), churn, stay) - betaln_pt(alpha, beta)


def sbg_survival(t: ArrayLike, alpha, beta) -> np.ndarray:
    """S(t): share of a cohort still active after ``t`` periods."""
    return np.exp(betaln(_f(alpha), _f(beta) + _f(t)) - betaln(_f(alpha), _f(beta)))


def sbg_retention_rate(t: ArrayLike, alpha, beta) -> np.ndarray:
    """r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1), for ``t >= 1``."""
    t, alpha, beta = _f(t), _f(alpha), _f(beta)
    return (beta + t - 1.0) / (alpha + beta + t - 1.0)


def sbg_residual_lifetime(
    n: ArrayLike, alpha, beta, *, discount_rate: float = 0.0, horizon: int | None = None
):
    """Expected (discounted) number of further periods of a customer active in period ``n`` (``n - 1`` renewals).

    ``sum_{k >= n} S(k) / S(n - 1) / (1 + d)^(k - n)``: the period ``n`` payment counts in full, later ones are
    discounted (F&H 2010's DERL). With ``discount_rate > 0`` and no ``horizon`` it is the closed form
    ``(beta + n - 1) / (alpha + beta + n - 1) 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))``; undiscounted it
    is infinite for ``alpha <= 1`` (heavy-tailed lifetimes), so give a ``horizon`` (periods) to truncate.
    """
    n, alpha, beta = _f(n), _f(alpha), _f(beta)
    d = float(discount_rate)
    if not (np.isfinite(d) and d >= 0):
        raise LtvlabError(f"discount_rate={discount_rate!r} must be >= 0 per period (0.10 = 10%)")
    if horizon is not None:
        k = np.arange(int(horizon), dtype=float)
        shape = np.broadcast_shapes(n.shape, alpha.shape, beta.shape)
        n_, a_, b_ = (np.broadcast_to(v, shape)[..., None] for v in (n, alpha, beta))
        ratio = np.exp(betaln(a_, b_ + n_ + k) - betaln(a_, b_ + n_ - 1.0))
        return np.sum(ratio / (1.0 + d) ** k, axis=-1)
    if d == 0:
        with np.errstate(divide="ignore"):
            return np.where(alpha > 1, (beta + n - 1.0) / np.maximum(alpha - 1.0, 1e-300), np.inf)
    lead = (beta + n - 1.0) / (alpha + beta + n - 1.0)
    return lead * hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d))


# --- data ----------------------------------------------------------------------------------------------


def retention_rows(
    table: pd.DataFrame,
    *,
    cohort: str = "segment",
    period: str = "year",
    active: str = "percent_alive",
    cohort_size: float | None = None,
) -> pd.DataFrame:
    """Weighted sBG rows from a cohort table: one row per (cohort, period) with the customers still active.

    ``active`` holds counts, or percentages of ``cohort_size`` customers (then counts = percent x size / 100).
    Each cohort needs period 0 (everyone active) and consecutive periods with non-increasing counts. Returns
    ``cohort, x, T, count``: the ``n_{t-1} - n_t`` customers who cancelled at the end of period ``t`` (``x = 1``,
    ``T = t``) and the ``n_last`` still active (``x = 0``, ``T = last period``).
    """
    missing = [c for c in (cohort, period, active) if c not in table.columns]
    if missing:
        raise LtvlabError(f"retention table lacks column(s) {missing}; columns are {list(table.columns)}")
    rows = []
    for name, group in table.groupby(cohort, sort=True):
        group = group.sort_values(period)
        t = group[period].to_numpy()
        counts = group[active].to_numpy(float)
        if cohort_size is not None:
            counts = counts * float(cohort_size) / 100.0
        if t[0] != 0 or not np.array_equal(t, np.arange(t.size)):
            raise LtvlabError(
                f"cohort {name!r}: periods must be 0, 1, 2, ... without gaps (got {t.tolist()}); period 0 is the "
                "cohort at acquisition"
            )
        if np.any(np.diff(counts) > 1e-9) or np.any(counts < 0):
            raise LtvlabError(f"cohort {name!r}: active customers must not increase from period to period")
        lost = -np.diff(counts)
        for k, value in enumerate(lost, start=1):
            if value > 0:
                rows.append((str(name), 1, float(k), value))
        if counts[-1] > 0:
            rows.append((str(name), 0, float(t[-1]), counts[-1]))
    out = pd.DataFrame(rows, columns=[COHORT, col.X, col.T, COUNT])
    out.attrs["unit"] = "period"
    return out


def retention_rows_from_records(
    records: pd.DataFrame,
    *,
    start: str,
    end: str,
    as_of: str | pd.Timestamp,
    period: str = "M",
    cohort: str | None = None,
) -> pd.DataFrame:
    """sBG rows from per-customer records: ``start`` date and ``end`` date (cancellation; empty = still active).

    Tenure is counted in whole calendar ``period``s (``"M"``, ``"Q"``, ``"Y"``) from the start's period: a
    customer ending in the ``t``-th period after the start cancelled at the end of period ``t``; one still active
    on ``as_of`` is censored after the periods completed by then. ``cohort`` defaults to the start period.
    """
    for name in (start, end):
        if name not in records.columns:
            raise LtvlabError(f"records lack column {name!r}; columns are {list(records.columns)}")
    begin = pd.to_datetime(records[start]).dt.to_period(period)
    finish = pd.to_datetime(records[end])
    cutoff = pd.Timestamp(as_of).to_period(period)
    if (begin > cutoff).any():
        raise LtvlabError(f"{int((begin > cutoff).sum())} record(s) start after as_of={as_of}")
    stop = finish.dt.to_period(period)
    if (stop.notna() & (stop < begin)).any():
        row = int(np.flatnonzero((stop.notna() & (stop < begin)).to_numpy())[0])
        raise LtvlabError(f"records row {row}: '{end}' is before '{start}'")
    ended = stop.notna() & (stop <= cutoff)
    tenure_end = np.array(
        [(s - b).n if e else (cutoff - b).n for s, b, e in zip(stop, begin, ended, strict=True)]
    )
    x = ended.to_numpy().astype(int)
    T = np.where(x == 1, np.maximum(tenure_end, 1), tenure_end).astype(float)
    labels = records[cohort].astype(str) if cohort else begin.astype(str)
    frame = pd.DataFrame({COHORT: labels.to_numpy(), col.X: x, col.T: T})
    frame = frame[(frame[col.X] == 1) | (frame[col.T] > 0)]  # started in the as_of period: nothing observed
    out = (
        frame.value_counts()
        .rename(COUNT)
        .reset_index()
        .sort_values([COHORT, col.T, col.X], ignore_index=True)
    )
    out[COUNT] = out[COUNT].astype(float)
    out.attrs["unit"] = "period"
    return out


# --- projections ----------------------------------------------------------------------------------------
# Every contractual model of the registry (sBG here, beta-discrete-Weibull in ltvlab.ltv.bdw) is projected the
# same way: from the survival / retention-rate functions it declares, evaluated at each draw of its fit.

# Discounted residual lifetimes without a closed form are summed until the discount factor is below this.
_DISCOUNT_TAIL = 1e-12


def _contractual(fit: Any) -> ModelDef:
    name = str(getattr(fit, "model_name", None))
    if name not in registered_models("contractual"):
        raise LtvlabError(
            f"retention projections need a contractual model fit ({', '.join(registered_models('contractual'))}); "
            f"this is a {name} fit"
        )
    return get_model(name)


def _draws_by_cohort(
    fit: Any, max_draws: int | None, seed: int
) -> tuple[ModelDef, dict[str, list[np.ndarray]]]:
    model = _contractual(fit)
    draws = fit.draws(max_draws=max_draws, seed=seed)
    names = list(fit.segments) if fit.pooling != "complete" else ["all"]
    return model, {name: [draws[k][:, j] for k in model.param_names] for j, name in enumerate(names)}


def project_retention(
    fit: Any, *, periods: int, level: float = 0.90, max_draws: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Projected survival ``S(t)`` and retention rate ``r(t)`` for ``t = 0..periods``, per cohort, with a central
    ``level`` interval over the fit's draws: ``cohort, period, survival_mean, survival_lower, survival_upper,
    retention_mean, retention_lower, retention_upper, model`` (retention undefined at period 0; ``model`` is
    the model's label, "sBG" or "BdW"). Any contractual model's fit: the sBG's or the beta-discrete-Weibull's
    (duration dependence)."""
    if not 0 < level < 1:
        raise LtvlabError(f"level={level!r} must lie strictly between 0 and 1")
    tails = ((1 - level) / 2, (1 + level) / 2)
    t = np.arange(periods + 1, dtype=float)
    model, by_cohort = _draws_by_cohort(fit, max_draws, seed)
    frames = []
    for name, params in by_cohort.items():
        columns = [p[:, None] for p in params]
        survival = np.broadcast_to(model.survival(t[None, :], *columns), (params[0].size, t.size))
        retention = np.full(survival.shape, np.nan)
        retention[:, 1:] = model.retention_rate(t[None, 1:], *columns)
        frame = pd.DataFrame({"cohort": name, "period": t.astype(int)})
        for label, values in (("survival", survival), ("retention", retention)):
            frame[f"{label}_mean"] = values.mean(axis=0)
            low, high = np.quantile(values, tails, axis=0)
            frame[f"{label}_lower"], frame[f"{label}_upper"] = low, high
        frame["model"] = model.label
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def residual_lifetime(model: ModelDef, n: ArrayLike, *params: ArrayLike, discount_rate: float) -> np.ndarray:
    """Discounted expected further periods of a customer active in period ``n`` under a contractual ``model``:
    its closed form when it declares one, else ``sum_{k >= n} S(k) / S(n - 1) / (1 + d)^(k - n)`` summed until
    the discount factor falls below 1e-12 (the remaining terms add less than that times ``1 / d``)."""
    d = float(discount_rate)
    if not (np.isfinite(d) and d > 0):
        raise LtvlabError(
            "discount_rate must be > 0: undiscounted retention lifetimes can have an infinite mean"
        )
    if model.residual_lifetime is not None:
        return model.residual_lifetime(n, *params, discount_rate=d)
    n = _f(n)
    values = [_f(p) for p in params]
    shape = np.broadcast_shapes(n.shape, *(v.shape for v in values))
    k = np.arange(int(np.ceil(np.log(1 / _DISCOUNT_TAIL) / np.log1p(d))) + 1, dtype=float)
    n_ = np.broadcast_to(n, shape)[..., None]
    cols = [np.broadcast_to(v, shape)[..., None] for v in values]
    ratio = model.survival(n_ + k, *cols) / model.survival(n_ - 1.0, *cols)
    return np.sum(ratio / (1.0 + d) ** k, axis=-1)


def residual_value(
    fit: Any,
    *,
    tenure: int,
    value_per_period: float,
    discount_rate: float,
    level: float = 0.90,
    max_draws: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Discounted expected residual value per active customer in period ``tenure`` (``tenure - 1`` renewals),
    per cohort: ``value_per_period`` x DERL (:func:`residual_lifetime`; the sBG's closed form is
    :func:`sbg_residual_lifetime`), mean and central ``level`` interval over the draws: ``cohort, tenure, mean,
    lower, upper``. Any contractual model's fit."""
    if not (discount_rate > 0):
        raise LtvlabError("discount_rate must be > 0: undiscounted sBG lifetimes can have an infinite mean")
    tails = ((1 - level) / 2, (1 + level) / 2)
    rows = []
    model, by_cohort = _draws_by_cohort(fit, max_draws, seed)
    for name, params in by_cohort.items():
        values = value_per_period * residual_lifetime(model, tenure, *params, discount_rate=discount_rate)
        low, high = np.quantile(values, tails)
        rows.append((name, int(tenure), float(values.mean()), float(low), float(high)))
    return pd.DataFrame(rows, columns=["cohort", "tenure", "mean", "lower", "upper"])


@dataclass(frozen=True, slots=True)
class BaselineProjection:
    """BASELINE ONLY: a constant per-period retention rate fitted to the same periods, ``S(t) = r^t``."""

    label: str
    cohort: str
    retention_rate: float
    survival: pd.DataFrame  # period, survival


def constant_retention_baseline(rows: pd.DataFrame, *, periods: int) -> list[BaselineProjection]:
    """The constant-retention projection per cohort: ``r`` = 1 - cancellations / customer-periods at risk (its
    maximum likelihood), ``S(t) = r^t``. It ignores heterogeneity, so it under-projects long-run survival."""
    out = []
    for name, group in rows.groupby(COHORT, sort=True):
        churned = float(group.loc[group[col.X] == 1, COUNT].sum())
        at_risk = float((group[col.T] * group[COUNT]).sum())
        rate = 1.0 - churned / at_risk
        t = np.arange(periods + 1)
        out.append(
            BaselineProjection(
                label="BASELINE (constant retention rate): not a model of heterogeneous customers",
                cohort=str(name),
                retention_rate=rate,
                survival=pd.DataFrame({"period": t, "survival": rate**t}),
            )
        )
    return out


def _simulate_calibration(rng: np.random.Generator, params: list[np.ndarray], T: np.ndarray) -> np.ndarray:
    alpha, beta = params
    lifetime = rng.geometric(np.clip(rng.beta(alpha, beta), 1e-12, 1.0))  # period at whose end they cancel
    return (lifetime <= T).astype(float)


MODEL = register(
    ModelDef(
        name=SBG.kind_name,
        label="sBG",
        role="contractual",
        param_names=("alpha", "beta"),
        data_columns=(col.X, col.T),
        loglik=sbg_loglik,
        loglik_pt=sbg_loglik_pt,
        offsets=(0.0, 0.0),
        scale=(None, None),
        spec=SBG,
        reference="Fader & Hardie (2007), How to project customer retention",
        simulate_calibration=_simulate_calibration,
        survival=sbg_survival,
        retention_rate=sbg_retention_rate,
        residual_lifetime=sbg_residual_lifetime,
    )
)


@dataclass(frozen=True, slots=True)
class RetentionFindings:
    """What a retention projection says, for the report's headline: one sentence, one status, one table.

    ``table``: per cohort and projected period, the model's survival (mean and interval) next to the
    constant-rate baseline. ``status`` is "passed"/"failed" (the fit's diagnostics gate).
    """

    headline: str
    status: str
    status_line: str
    level: float
    table: pd.DataFrame


def retention_findings(
    fit: Any, rows: pd.DataFrame, *, project_to: int, level: float = 0.90, seed: int = 0
) -> RetentionFindings:
    """Project every cohort from its observed periods to ``project_to`` and compare with the baseline."""
    observed = int(rows[col.T].max())
    if project_to <= observed:
        raise LtvlabError(f"project_to={project_to} must be beyond the last observed period ({observed})")
    projection = project_retention(fit, periods=project_to, level=level, seed=seed)
    baselines = {b.cohort: b for b in constant_retention_baseline(rows, periods=project_to)}
    future = projection[projection["period"] > observed].copy()
    future["baseline_survival"] = [
        float(baselines[c].survival.set_index("period").loc[p, "survival"])
        for c, p in zip(future["cohort"], future["period"], strict=True)
    ]
    last = future[future["period"] == project_to].set_index("cohort")
    pct = round(level * 100)
    parts = [
        f"{cohort}: {row.survival_mean:.0%} still active after {project_to} periods "
        f"({pct}% interval {row.survival_lower:.0%} to {row.survival_upper:.0%}) vs {row.baseline_survival:.0%} "
        "projected by a constant retention rate"
        for cohort, row in last.iterrows()
    ]
    under = bool((last["baseline_survival"] < last["survival_lower"]).all())
    verdict = (
        "the constant-rate baseline under-projects survival for every cohort, below the model's interval"
        if under
        else "the constant-rate baseline is not below the model's interval for every cohort"
    )
    diagnostics = fit.diagnostics
    status = "passed" if diagnostics.ok else "failed"
    messages = "; ".join(diagnostics.messages) if getattr(diagnostics, "messages", ()) else ""
    status_line = (
        f"Diagnostics {status} ({fit.method}, {fit.pooling} pooling, periods 1-{observed} observed)"
        + (f": {messages}" if messages else "")
    )
    headline = f"Projected from periods 1-{observed}: " + "; ".join(parts) + f". So {verdict}."
    return RetentionFindings(headline, status, status_line, level, future.reset_index(drop=True))
