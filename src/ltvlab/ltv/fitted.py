"""Fitted BTYD models: posterior (or MAP) draws per segment, tidy summaries and chunked predictions.

Predictions are computed on the distinct ``(segment, x, t_x, T)`` rows of the summary given, ``chunk`` rows
at a time so that at most ``chunk_elements`` (draws x rows) numbers are in memory, then joined back to the
customers. No (draws x customers) array is ever formed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv._data import (
    compress,
    encode_segments,
    segment_labels,
    validate_purchase_columns,
    validate_spend_columns,
)
from ltvlab.ltv.covariates import (
    Covariates,
    as_columns,
    coefficient_names,
    covariate_matrix,
    from_columns,
    row_params,
)
from ltvlab.ltv.diagnostics import Diagnostics
from ltvlab.ltv.engine import resolve_unit
from ltvlab.ltv.registry import ModelDef, get_model

__all__ = ["BTYDFit", "PurchaseFit", "SpendFit"]

QUANTILES = (0.05, 0.5, 0.95)
DEFAULT_CHUNK_ELEMENTS = 2_000_000


def hdi_columns(level: float) -> tuple[str, str]:
    """Names of the lower and upper HDI columns of :meth:`BTYDFit.summary` at ``level`` (ArviZ's naming)."""
    tail = 100.0 * (1.0 - level) / 2.0
    return f"hdi_{tail:g}%", f"hdi_{100.0 - tail:g}%"


@dataclass(frozen=True, eq=False)
class BTYDFit:
    """A fitted registered model (see the spec classes, e.g. :class:`ltvlab.ltv.BGNBD`, for how to make one).

    ``param_draws[name]`` has shape ``(n_draws, n_segments)`` (one row for MAP); ``population_draws`` holds the
    partial-pooling hyperparameters ``mu_log_*``/``sigma_log_*`` (empty otherwise). With ``covariates``,
    ``param_draws`` also holds each coefficient vector (``gamma_purchase`` etc., ``(n_draws, k)``) and the
    segment parameters are those of a customer with average covariates (:mod:`ltvlab.ltv.covariates`).
    """

    model_name: str
    param_names: tuple[str, ...]
    pooling: str
    segment: str | None
    segments: tuple[str, ...]
    method: str
    param_draws: dict[str, np.ndarray] = field(repr=False)
    population_draws: dict[str, np.ndarray] = field(repr=False)
    log_likelihood: float
    diagnostics: Diagnostics = field(repr=False)
    idata: Any = field(repr=False)
    config: dict[str, Any] = field(repr=False)
    seed: int
    data_hash: str
    ltvlab_version: str
    unit: str | None
    n_customers: int
    n_rows: int
    warnings: tuple[str, ...] = ()
    covariates: Covariates | None = None  # purchase models fitted with customer covariates

    @property
    def model(self) -> ModelDef:
        """The registry entry of this fit's model."""
        return get_model(self.model_name)

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.param_draws.values())).shape[0])

    def draws(self, max_draws: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """Parameter draws, each ``(n_draws, n_segments)``; at most ``max_draws`` sampled without replacement."""
        n = self.n_draws
        if max_draws is None or max_draws >= n:
            return {k: v.copy() for k, v in self.param_draws.items()}
        if max_draws < 1:
            raise LtvlabError(f"max_draws must be >= 1, got {max_draws}")
        keep = np.sort(np.random.default_rng(seed).choice(n, size=max_draws, replace=False))
        return {k: v[keep] for k, v in self.param_draws.items()}

    def segment_index(self, summary: pd.DataFrame) -> np.ndarray:
        """Position in :attr:`segments` of each customer's segment; unknown segments raise LtvlabError."""
        if self.segment is None:
            return np.zeros(len(summary), dtype=np.int64)
        return encode_segments(segment_labels(summary, self.segment), self.segments)

    def summary(self, level: float = 0.94) -> pd.DataFrame:
        """Tidy frame: segment, param, mean, sd, hdi_3%, hdi_97%, r_hat, ess_bulk, ess_tail.

        ``level`` is the mass of the highest-density interval; its columns are named as ArviZ names them
        (``hdi_3%`` / ``hdi_97%`` at the default 0.94, ``hdi_5%`` / ``hdi_95%`` at 0.9).

        MAP fits give the MAP value as ``mean`` and NaN elsewhere. Under complete pooling the one parameter set
        is reported as segment ``"all"``; partial pooling adds ``"population"`` rows for ``mu_*``/``sigma_*``;
        covariate coefficients appear with segment ``"covariate:<column>"``.
        """
        if not 0.0 < level < 1.0:
            raise LtvlabError(f"level={level!r}: the interval's mass must be between 0 and 1, e.g. 0.9")
        low_name, high_name = hdi_columns(level)
        diag = self.diagnostics.table.set_index("param") if len(self.diagnostics.table) else None
        rows = []
        columns = list(self.segments) if self.pooling != "complete" else ["all"]
        entries = [
            (seg, name, self.param_draws[name][:, j])
            for name in self.param_names
            for j, seg in enumerate(columns)
        ]
        entries += [("population", name, v) for name, v in self.population_draws.items()]
        if self.covariates is not None:
            for name in coefficient_names(self.model_name, self.covariates):
                which = self.model.coefficients[name][2]
                names = self.covariates.purchase if which == "purchase" else self.covariates.dropout
                entries += [
                    (f"covariate:{column}", name, self.param_draws[name][:, j])
                    for j, column in enumerate(names)
                ]
        for seg, name, values in entries:
            if seg.startswith("covariate:"):
                label = f"{name}[{seg.removeprefix('covariate:')}]"
            else:
                label = name if seg in ("all", "population") else f"{name}[{seg}]"
            row = {"segment": seg, "param": name, "mean": float(np.mean(values))}
            if values.size > 1:
                low, high = az.hdi(values, hdi_prob=level)
                row.update(
                    {"sd": float(np.std(values, ddof=1)), low_name: float(low), high_name: float(high)}
                )
            else:
                row.update({"sd": np.nan, low_name: np.nan, high_name: np.nan})
            for stat in ("r_hat", "ess_bulk", "ess_tail"):
                row[stat] = (
                    float(diag.loc[label, stat]) if diag is not None and label in diag.index else np.nan
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def provenance(self) -> dict[str, Any]:
        """How this fit was made: model, pooling, method, config, seed, data hash, version, unit."""
        return {
            "model": self.model_name,
            "pooling": self.pooling,
            "segment": self.segment,
            "method": self.method,
            "config": self.config,
            "seed": self.seed,
            "data_hash": self.data_hash,
            "ltvlab_version": self.ltvlab_version,
            "unit": self.unit,
        }

    # --- chunked predictions -----------------------------------------------------------------------------

    def _predict(
        self,
        summary: pd.DataFrame,
        columns: dict[str, np.ndarray],
        fn: Callable[..., np.ndarray],
        *,
        max_draws: int | None,
        seed: int,
        chunk_elements: int,
    ) -> pd.DataFrame:
        codes = self.segment_index(summary)
        z = as_columns(covariate_matrix(self.covariates, summary))
        rows = compress(codes, {**columns, **z}, len(self.segments))
        z_rows = from_columns(rows.values, rows.n_rows)
        draws = self.draws(max_draws=max_draws, seed=seed)
        n_draws = next(iter(draws.values())).shape[0]
        chunk = max(1, chunk_elements // max(n_draws, 1))
        stats = np.empty((rows.n_rows, 1 + len(QUANTILES)))
        for start in range(0, rows.n_rows, chunk):
            sl = slice(start, start + chunk)
            params = row_params(
                self.model_name, self.param_names, draws, rows.segment_code[sl], z_rows[sl], self.covariates
            )
            values = fn(*(rows.values[c][sl] for c in columns), *params)
            if not np.all(np.isfinite(values)):
                raise LtvlabError(
                    f"{self.model_name}: non-finite prediction for some customers (check the inputs)"
                )
            stats[sl, 0] = values.mean(axis=0)
            stats[sl, 1:] = np.quantile(values, QUANTILES, axis=0).T
        per_customer = stats[rows.inverse]
        ids = (
            summary[col.CUSTOMER_ID].to_numpy()
            if col.CUSTOMER_ID in summary.columns
            else np.arange(len(summary))
        )
        return pd.DataFrame(
            {
                col.CUSTOMER_ID: ids,
                "mean": per_customer[:, 0],
                "q05": per_customer[:, 1],
                "q50": per_customer[:, 2],
                "q95": per_customer[:, 3],
            }
        )


@dataclass(frozen=True, eq=False)
class PurchaseFit(BTYDFit):
    """Fitted purchase model (BG/NBD, MBG/NBD, Pareto/NBD, ...).

    Predictions check that the summary's time unit (``summary.attrs["unit"]`` or ``unit=``) is the fit's
    (:func:`ltvlab.ltv.engine.resolve_unit`).
    """

    def p_alive(
        self,
        summary: pd.DataFrame,
        *,
        max_draws: int | None = None,
        seed: int = 0,
        chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
        unit: str | None = None,
    ) -> pd.DataFrame:
        """P(alive at the end of calibration) per customer: customer_id, mean, q05, q50, q95 over draws."""
        resolve_unit(self, summary, unit)
        x, t_x, T = validate_purchase_columns(summary)
        return self._predict(
            summary,
            {col.X: x, col.T_X: t_x, col.T: T},
            self.model.p_alive,
            max_draws=max_draws,
            seed=seed,
            chunk_elements=chunk_elements,
        )

    def expected_purchases(
        self,
        summary: pd.DataFrame,
        horizon: float,
        *,
        max_draws: int | None = None,
        seed: int = 0,
        chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
        unit: str | None = None,
    ) -> pd.DataFrame:
        """Expected purchases in ``(T, T + horizon]`` (horizon in the summary's unit), per customer."""
        if not np.isfinite(horizon) or horizon < 0:
            raise LtvlabError(f"horizon must be a finite number >= 0, got {horizon}")
        resolve_unit(self, summary, unit)
        x, t_x, T = validate_purchase_columns(summary)
        base = self.model.expected_purchases

        def fn(x_, t_x_, T_, *params):
            return base(float(horizon), x_, t_x_, T_, *params)

        return self._predict(
            summary,
            {col.X: x, col.T_X: t_x, col.T: T},
            fn,
            max_draws=max_draws,
            seed=seed,
            chunk_elements=chunk_elements,
        )


@dataclass(frozen=True, eq=False)
class SpendFit(BTYDFit):
    """Fitted spend model (Gamma-Gamma)."""

    def expected_spend(
        self,
        summary: pd.DataFrame,
        *,
        max_draws: int | None = None,
        seed: int = 0,
        chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    ) -> pd.DataFrame:
        """E[mean transaction value | x, monetary] per customer (population mean for ``x == 0``)."""
        x, m = validate_spend_columns(summary)
        return self._predict(
            summary,
            {col.X: x, col.MONETARY: np.where(x > 0, m, 0.0)},
            self.model.expected_spend,
            max_draws=max_draws,
            seed=seed,
            chunk_elements=chunk_elements,
        )
