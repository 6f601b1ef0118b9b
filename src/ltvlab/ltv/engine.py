"""The one scoring engine behind every per-customer computation of a fitted model.

Scoring in memory (:func:`ltvlab.ltv.score_customers`), to Parquet/CSV (:func:`ltvlab.ltv.write_scores`), on
Spark executors (:mod:`ltvlab.spark.scoring`), CLV (:func:`ltvlab.ltv.customer_lifetime_value`), holdout
validation, posterior predictive draws and tracking plots all go through the same steps:

1. :func:`validate_summary` -- the columns exist, are finite, ``0 <= t_x <= T``, ``x >= 0``;
2. :func:`resolve_unit` -- the summary's time unit (``summary.attrs["unit"]`` or an explicit ``unit=``) is
   known and equals the unit of the purchase fit, otherwise :class:`ltvlab.errors.LtvlabError` (a fit in weeks
   scored on a summary in days would silently read every time as 7x longer);
3. :func:`scoring_plan` -- the horizon in the summary's unit and the posterior draws of the purchase and spend
   fits paired draw by draw (:func:`pair_draws`);
4. :func:`unique_rows` -- customers with the same ``(segment, covariates, x, t_x, T, monetary, ...)`` merged
   into one row, with each fit's segment index (:class:`SegmentIndex`);
5. :func:`unique_row_table` -- the model's predictions per draw by its compiled kernel (declared in the registry,
   :mod:`ltvlab.ltv.registry`; :mod:`ltvlab.ltv._score_kernels`), summarised to mean and quantiles row by row
   in the kernel: no draws x rows array is formed, and terms shared by rows with the same ``(segment, x, T)``
   are computed once.

Draw ``j`` of the purchase model is paired with draw ``j`` of the spend model (the two models are fitted
independently, so the pair is a draw of their joint posterior); spend is never averaged over draws first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._data import distinct_rows, encode_segments, segment_labels
from ltvlab.ltv._score_kernels import QUANTITY_BITS, score_block
from ltvlab.ltv.covariates import Covariates, covariate_matrix, row_params
from ltvlab.ltv.discounting import UNIT_DAYS, ClvHorizon, clv_horizon
from ltvlab.ltv.registry import ModelDef, get_model, registered_models

__all__ = [
    "QUANTILES",
    "QUANTITIES",
    "PairedDraws",
    "ScoringPlan",
    "SegmentIndex",
    "UniqueRows",
    "iter_row_summaries",
    "pair_draws",
    "resolve_unit",
    "scoring_plan",
    "segment_index_of",
    "summarise_draws",
    "unique_row_table",
    "unique_rows",
    "validate_summary",
]

QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)
QUANTITIES: tuple[str, ...] = ("p_alive", "expected_purchases", "clv")
KNOWN_UNITS = (*UNIT_DAYS, "period")  # "period": one discrete transaction opportunity (BG/BB summaries)


def summarise_draws(values: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Mean and the 5/50/95% quantiles over axis 0 (draws) of a draws x rows array, as named columns."""
    out = {f"{prefix}_mean": values.mean(axis=0)}
    for q, level in zip(np.quantile(values, QUANTILES, axis=0), QUANTILES, strict=True):
        out[f"{prefix}_q{round(level * 100):02d}"] = q
    return out


# ------------------------------------------------------------------------------------------------- unit


def resolve_unit(fit: Any, summary: pd.DataFrame | None = None, unit: str | None = None) -> str | None:
    """The time unit to score ``summary`` in, checked against the purchase ``fit``'s unit.

    ``unit`` (explicit) wins over ``summary.attrs["unit"]``, which pandas drops on merges and most
    transformations. Raises :class:`LtvlabError` when the fit records a unit and the summary's is unknown, or
    when the two differ. Returns None only when neither the fit nor the summary knows its unit.
    """
    given = unit if unit is not None else (summary.attrs.get("unit") if summary is not None else None)
    fitted = getattr(fit, "unit", None)
    name = getattr(fit, "model_name", "the model")
    if given is not None and str(given) not in KNOWN_UNITS:
        raise LtvlabError(
            f"unit={given!r} is not a time unit of ltvlab summaries; use 'W' (weeks), 'D' (days) or 'period' "
            "(discrete transaction opportunities)"
        )
    if given is None:
        if fitted is None:
            return None
        raise LtvlabError(
            f"the summary does not record its time unit (summary.attrs['unit'] is missing; pandas drops it on "
            f"merge) and the {name} fit is in {_unit_word(fitted)}: pass unit={fitted!r} if t_x and T are in "
            f"{_unit_word(fitted)}, or rebuild the summary with ltvlab.features.customer_summary(..., unit={fitted!r})"
        )
    if fitted is not None and str(given) != str(fitted):
        raise LtvlabError(
            f"the {name} fit was made on a summary in {_unit_word(fitted)} but this summary is in "
            f"{_unit_word(given)}: its rates would be read in the wrong unit. Rebuild the summary with "
            f"customer_summary(..., unit={fitted!r}) or refit on a summary in {_unit_word(given)}"
        )
    return str(given)


def _unit_word(unit: str) -> str:
    return {"W": "weeks ('W')", "D": "days ('D')", "period": "transaction opportunities ('period')"}.get(
        str(unit), repr(unit)
    )


# ----------------------------------------------------------------------------------------------- summary


def validate_summary(summary: pd.DataFrame, *, need_monetary: bool = True) -> None:
    """Raise :class:`LtvlabError` for a summary that cannot be scored (missing columns, NaN, t_x > T, T < 0)."""
    if not isinstance(summary, pd.DataFrame):
        raise LtvlabError(f"expected a customer summary DataFrame, got {type(summary).__name__}")
    needed = [col.CUSTOMER_ID, col.X, col.T_X, col.T] + ([col.MONETARY] if need_monetary else [])
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise LtvlabError(
            f"the customer summary lacks column(s) {missing}; build it with ltvlab.features.customer_summary"
        )
    if len(summary) == 0:
        raise LtvlabError("the customer summary is empty: no customer to score")
    values = summary[needed[1:]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        bad = summary.index[~np.isfinite(values).all(axis=1)][0]
        raise LtvlabError(f"the customer summary has a missing or infinite value in row {bad}")
    x, t_x, t_cal = values[:, 0], values[:, 1], values[:, 2]
    checks = [
        (x < 0, "x < 0 (negative repeat purchases)"),
        (t_cal < 0, "T < 0 (first purchase after the end of calibration)"),
        (t_x > t_cal + 1e-9, "t_x > T (last purchase after the end of calibration)"),
        (t_x < 0, "t_x < 0"),
    ]
    for mask, what in checks:
        if mask.any():
            row = summary.index[np.flatnonzero(mask)[0]]
            raise LtvlabError(
                f"the customer summary has {int(mask.sum())} row(s) with {what}, first at row {row}"
            )
    if need_monetary and (summary.loc[summary[col.X] > 0, col.MONETARY] <= 0).any():
        raise LtvlabError("repeat buyers need a positive monetary value (mean repeat-transaction value)")


# ------------------------------------------------------------------------------------------------- draws


@dataclass(frozen=True, slots=True)
class SegmentIndex:
    """What scoring needs of a fit to place customers in its segments (picklable; shipped to Spark executors)."""

    segment: str | None
    segments: tuple[str, ...]
    covariates: Covariates | None = None  # customer covariates of a purchase fit

    def segment_index(self, summary: pd.DataFrame) -> np.ndarray:
        """Position in :attr:`segments` of each customer's segment; unknown segments raise LtvlabError."""
        if self.segment is None:
            return np.zeros(len(summary), dtype=np.int64)
        return encode_segments(segment_labels(summary, self.segment), self.segments)

    @property
    def columns(self) -> tuple[str, ...]:
        """Summary columns this index reads (segment and covariates)."""
        return tuple(
            dict.fromkeys(
                [
                    *([self.segment] if self.segment else []),
                    *(self.covariates.columns if self.covariates else ()),
                ]
            )
        )


def segment_index_of(fit: Any) -> SegmentIndex:
    """The :class:`SegmentIndex` of a fit (anything with ``segment``, ``segments`` and optional ``covariates``)."""
    return SegmentIndex(
        getattr(fit, "segment", None),
        tuple(getattr(fit, "segments", ("all",))),
        getattr(fit, "covariates", None),
    )


@dataclass(frozen=True, slots=True)
class PairedDraws:
    """Posterior draws of a purchase model and (optionally) a spend model, paired draw by draw.

    ``purchase[name]`` and ``spend[name]`` are ``(n_draws, n_segments)`` arrays with the same ``n_draws``.
    """

    purchase_model: str
    purchase: dict[str, np.ndarray]
    spend: dict[str, np.ndarray] | None
    n_draws: int
    covariates: Covariates | None = None  # of the purchase fit; coefficient draws are in ``purchase``
    spend_model: str | None = None

    @property
    def model(self) -> ModelDef:
        return get_model(self.purchase_model)

    def purchase_params(self, seg: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
        """Purchase-model parameters ``(n_draws, n_rows)`` for rows of segments ``seg``, covariates ``z``."""
        return row_params(self.purchase_model, self.model.param_names, self.purchase, seg, z, self.covariates)

    def spend_params(self, seg: np.ndarray) -> list[np.ndarray]:
        """Spend-model parameters ``(n_draws, n_rows)`` for rows of spend segments ``seg``."""
        if self.spend is None or self.spend_model is None:
            raise LtvlabError("this needs a fitted spend model (Gamma-Gamma); pass spend_fit=")
        return [self.spend[name][:, seg] for name in get_model(self.spend_model).param_names]


def _fit_draws(fit: Any, max_draws: int | None, seed: int) -> dict[str, np.ndarray]:
    draws = fit.draws(max_draws=max_draws, seed=seed)
    return {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in draws.items()}


def pair_draws(
    purchase_fit: Any, spend_fit: Any | None, *, max_draws: int | None = None, seed: int = 0
) -> PairedDraws:
    """Take draws from both fits and pair them; a point fit (MAP, one draw) is repeated to match the other."""
    name = str(getattr(purchase_fit, "model_name", None))
    purchase_model = get_model(name)
    if purchase_model.role == "spend":
        raise LtvlabError(
            f"model {name!r} is not supported here: it is a spend model, this needs a purchase model "
            f"({', '.join(registered_models('purchase') + registered_models('discrete'))})"
        )
    spend_model = None
    purchase = _fit_draws(purchase_fit, max_draws, seed)
    spend = None
    if spend_fit is not None:
        spend_name = str(getattr(spend_fit, "model_name", None))
        if spend_name not in registered_models("spend"):
            raise LtvlabError(
                f"spend model {spend_name!r} is not a {' or '.join(registered_models('spend'))} fit: pass the "
                "fitted spend model as spend_fit"
            )
        spend_model = get_model(spend_name, "spend")
        spend = _fit_draws(spend_fit, max_draws, seed + 1)
    n_p = next(iter(purchase.values())).shape[0]
    n_s = next(iter(spend.values())).shape[0] if spend is not None else n_p
    n = max(n_p, n_s)
    if n_p not in (1, n) or n_s not in (1, n):
        n = min(n_p, n_s)  # two posteriors of different lengths: keep the first n of each
    purchase = {k: np.repeat(v, n, axis=0) if v.shape[0] == 1 else v[:n] for k, v in purchase.items()}
    if spend is not None:
        spend = {k: np.repeat(v, n, axis=0) if v.shape[0] == 1 else v[:n] for k, v in spend.items()}
    missing = [p for p in purchase_model.param_names if p not in purchase]
    if spend is not None and spend_model is not None:
        missing += [p for p in spend_model.param_names if p not in spend]
    if missing:
        raise LtvlabError(f"the fitted draws lack parameter(s) {missing}")
    return PairedDraws(
        purchase_model=purchase_model.name,
        purchase=purchase,
        spend=spend,
        n_draws=n,
        covariates=getattr(purchase_fit, "covariates", None),
        spend_model=spend_model.name if spend_model is not None else None,
    )


@dataclass(frozen=True, slots=True)
class ScoringPlan:
    """Unit, horizon, paired draws and scored quantities shared by every scorer."""

    unit: str
    horizon: ClvHorizon
    draws: PairedDraws
    quantities: tuple[str, ...]


def scoring_plan(
    purchase_fit: Any,
    spend_fit: Any | None,
    *,
    summary: pd.DataFrame | None = None,
    unit: str | None = None,
    horizon_weeks: float = 52.0,
    period_weeks: float = 4.0,
    annual_discount_rate: float = 0.10,
    max_draws: int | None = 1000,
    seed: int = 0,
) -> ScoringPlan:
    """Check the unit (:func:`resolve_unit`), express the horizon in it and pair the fits' draws."""
    resolved = resolve_unit(purchase_fit, summary, unit)
    if resolved is None:
        raise LtvlabError(
            "the time unit of the summary is unknown (summary.attrs['unit'] is missing and no unit= was given): "
            "pass unit='W' or unit='D', or build the summary with ltvlab.features.customer_summary"
        )
    horizon = clv_horizon(
        unit=resolved,
        horizon_weeks=horizon_weeks,
        period_weeks=period_weeks,
        annual_discount_rate=annual_discount_rate,
    )
    draws = pair_draws(purchase_fit, spend_fit, max_draws=max_draws, seed=seed)
    quantities = QUANTITIES if spend_fit is not None else ("p_alive", "expected_purchases")
    return ScoringPlan(resolved, horizon, draws, quantities)


# ------------------------------------------------------------------------------------------- unique rows


@dataclass(frozen=True, slots=True)
class UniqueRows:
    """Distinct ``(purchase segment, spend segment, x, t_x, T, monetary, extra..., z)`` rows and the customer map."""

    purchase_segment: np.ndarray
    spend_segment: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    monetary: np.ndarray
    inverse: np.ndarray  # customer i -> unique row inverse[i]
    z: np.ndarray  # (n_rows, k) standardised covariates of the purchase fit; k = 0 without covariates
    extra: dict[str, np.ndarray]  # further columns of the key (e.g. holdout length and count)

    def __len__(self) -> int:
        return len(self.x)


def unique_rows(
    summary: pd.DataFrame,
    purchase_fit: Any,
    spend_fit: Any | None,
    *,
    extra: tuple[str, ...] = (),
    distinct: bool = True,
) -> UniqueRows:
    """Collapse customers with identical summaries (segments, covariates, ``extra`` columns) into one row each.

    ``distinct=False`` keeps one row per customer (simulations need independent futures).
    """
    n = len(summary)
    p_seg = np.asarray(purchase_fit.segment_index(summary), dtype=float).reshape(n)
    s_seg = (
        np.asarray(spend_fit.segment_index(summary), dtype=float).reshape(n)
        if spend_fit is not None
        else np.zeros(n)
    )
    monetary = (
        summary[col.MONETARY].to_numpy(dtype=float)
        if spend_fit is not None and col.MONETARY in summary
        else np.zeros(n)
    )
    z = covariate_matrix(getattr(purchase_fit, "covariates", None), summary)
    keys = np.column_stack(
        [
            p_seg,
            s_seg,
            summary[col.X].to_numpy(float),
            summary[col.T_X].to_numpy(float),
            summary[col.T].to_numpy(float),
            monetary,
            *(summary[name].to_numpy(float) for name in extra),
            z,
        ]
    )
    if distinct:
        uniq, inverse = distinct_rows(keys)
    else:
        uniq, inverse = keys, np.arange(n)
    k = 6 + len(extra)
    return UniqueRows(
        purchase_segment=uniq[:, 0].astype(np.int64),
        spend_segment=uniq[:, 1].astype(np.int64),
        x=uniq[:, 2],
        t_x=uniq[:, 3],
        T=uniq[:, 4],
        monetary=uniq[:, 5],
        inverse=np.asarray(inverse).reshape(n),
        z=uniq[:, k:],
        extra={name: uniq[:, 6 + i] for i, name in enumerate(extra)},
    )


# ------------------------------------------------------------------------------------ compiled per-row engine


def _kernel_of(draws: PairedDraws) -> int:
    kernel = draws.model.score_kernel
    if kernel is None:
        raise LtvlabError(
            f"model {draws.purchase_model!r} is not scored per customer by the scoring engine; score one of "
            f"{[m for m in registered_models('purchase') if get_model(m).score_kernel is not None]}"
        )
    return kernel


def _spend_arrays(draws: PairedDraws, quantities: tuple[str, ...]) -> np.ndarray | None:
    if "clv" not in quantities:
        return None
    if draws.spend is None or draws.spend_model is None:
        raise LtvlabError("CLV needs a fitted spend model (Gamma-Gamma); pass spend_fit=")
    return np.stack([draws.spend[name] for name in get_model(draws.spend_model).param_names])


def _block_summaries(
    draws: PairedDraws,
    rows: UniqueRows,
    sl: slice,
    *,
    horizon: ClvHorizon,
    quantities: tuple[str, ...],
    per_row_params: bool,
) -> dict[str, np.ndarray]:
    """Mean and quantiles of each quantity for unique rows ``sl`` from the compiled kernel."""
    kernel = _kernel_of(draws)
    names = draws.model.param_names
    if per_row_params:  # covariates: each row has its own parameters
        params = np.stack(draws.purchase_params(rows.purchase_segment[sl], rows.z[sl]))
        cell = np.arange(params.shape[2], dtype=np.int64)
    else:
        params = np.stack([draws.purchase[name] for name in names])
        cell = rows.purchase_segment[sl]
    if "clv" in quantities:
        steps = np.arange(1, horizon.n_periods + 1)
        horizons = steps * horizon.period_length
        discount = np.array([(1.0 + horizon.period_rate) ** int(k) for k in steps])
    else:
        horizons = np.array([horizon.horizon])
        discount = np.ones(1)
    bits = sum(bit for name, bit in QUANTITY_BITS.items() if name in quantities)
    x, t_x, t_cal = rows.x[sl], rows.t_x[sl], rows.T[sl]
    table, bad = score_block(
        kernel,
        params,
        cell,
        x,
        t_x,
        t_cal,
        horizons=horizons,
        discount=discount,
        bits=bits,
        quantiles=QUANTILES,
        spend_params=_spend_arrays(draws, quantities),
        spend_seg=rows.spend_segment[sl],
        monetary=rows.monetary[sl],
    )
    stats = ["mean", *(f"q{round(level * 100):02d}" for level in QUANTILES)]
    out: dict[str, np.ndarray] = {}
    for position, (name, bit) in enumerate(QUANTITY_BITS.items()):
        if name not in quantities:
            continue
        if (bad & bit).any():
            i = int(np.flatnonzero(bad & bit)[0])
            raise LtvlabError(
                f"{name} is not finite for the summary x={x[i]:g}, t_x={t_x[i]:g}, T={t_cal[i]:g} "
                "(check the fitted parameters and the summary)"
            )
        for offset, stat in enumerate(stats):
            out[f"{name}_{stat}"] = table[:, position * len(stats) + offset]
    return out


def iter_row_summaries(
    draws: PairedDraws,
    rows: UniqueRows,
    *,
    horizon: ClvHorizon,
    quantities: tuple[str, ...] = QUANTITIES,
    chunk_rows: int = 2048,
) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
    """Yield ``(slice of unique rows, {column: values})`` with mean/q05/q50/q95 of each quantity.

    Without covariates all rows go through the compiled kernel in one call (it blocks its own work so that its
    tables stay small, and shares terms between rows with the same ``(segment, x, T)``); with covariates each row
    has its own parameters and ``chunk_rows`` rows are scored at a time (draws x ``chunk_rows`` parameters).
    """
    if chunk_rows < 1:
        raise LtvlabError(f"chunk_rows={chunk_rows} must be at least 1")
    per_row = rows.z.shape[1] > 0 and draws.covariates is not None
    step = chunk_rows if per_row else max(len(rows), 1)
    for start in range(0, len(rows), step):
        sl = slice(start, min(start + step, len(rows)))
        yield (
            sl,
            _block_summaries(draws, rows, sl, horizon=horizon, quantities=quantities, per_row_params=per_row),
        )


def unique_row_table(
    draws: PairedDraws,
    rows: UniqueRows,
    *,
    horizon: ClvHorizon,
    quantities: tuple[str, ...] = QUANTITIES,
    chunk_rows: int = 2048,
) -> pd.DataFrame:
    """Summaries of every unique row (one row per distinct summary): the public entry of the compiled engine.

    Columns ``{quantity}_{mean,q05,q50,q95}`` for ``p_alive``, ``expected_purchases`` (over
    ``horizon.horizon``) and ``clv`` (discounted over ``horizon``'s periods, times the paired spend draw), in that
    order, restricted to ``quantities``. Spark executors call this on each batch's distinct rows.
    """
    parts: dict[str, np.ndarray] = {}
    for sl, values in iter_row_summaries(
        draws, rows, horizon=horizon, quantities=quantities, chunk_rows=chunk_rows
    ):
        for name, v in values.items():
            parts.setdefault(name, np.empty(len(rows)))[sl] = v
    return pd.DataFrame(parts)
