"""Time-invariant customer covariates on the purchase and dropout rates of the purchase models.

Following Fader & Hardie, "Incorporating Time-Invariant Covariates into the Pareto/NBD and BG/NBD Models"
(2007), a covariate vector ``z_i`` scales the gamma and beta mixing distributions of customer ``i``; each model
declares which parameter each coefficient scales (``ModelDef.coefficients``):

- purchase rate, both models: ``lambda_i ~ Gamma(r, alpha_i)`` with ``alpha_i = alpha exp(-gamma_purchase . z_i)``,
  so a positive coefficient raises the expected purchase rate ``r / alpha_i``;
- BG/NBD and MBG/NBD dropout: ``p_i ~ Beta(a_i, b_i)`` with ``a_i = a exp(gamma_dropout_a . z_i)`` and
  ``b_i = b exp(gamma_dropout_b . z_i)``;
- Pareto/NBD dropout: ``mu_i ~ Gamma(s, beta_i)`` with ``beta_i = beta exp(-gamma_dropout . z_i)``, so a positive
  coefficient raises the dropout rate.

Each covariate is standardised with the mean and standard deviation of the data the model is fitted on (stored
in the fit and reused for predictions), so ``alpha``, ``a``, ``b`` and ``beta`` are those of a customer with
average covariates and each coefficient is per standard deviation of its covariate. Default prior:
``gamma ~ Normal(0, 1)`` per coefficient (a one-sd change scales a rate by at most ~e^2 at 95%); ``priors="flat"``
makes the coefficients flat too (MAP = maximum likelihood).

The likelihood then varies by customer through ``(segment, z)``; the fit compresses customers on
``(segment, z, x, t_x, T)``, so categorical or rounded covariates keep compression effective while continuous
ones make each customer a row of its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError

__all__ = [
    "EXTREME_Z",
    "Covariates",
    "apply_covariates",
    "as_columns",
    "coefficient_names",
    "covariate_matrix",
    "from_columns",
    "row_params",
]

EXTREME_Z = 6.0  # a covariate value this many standard deviations from the mean draws a warning


@dataclass(frozen=True)
class Covariates:
    """Which summary columns act on the purchase and dropout rates, and how they are standardised."""

    purchase: tuple[str, ...]
    dropout: tuple[str, ...]
    mean: Mapping[str, float]
    scale: Mapping[str, float]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every covariate column once, purchase ones first."""
        return tuple(dict.fromkeys((*self.purchase, *self.dropout)))

    @classmethod
    def from_summary(
        cls, summary: pd.DataFrame, purchase: Sequence[str], dropout: Sequence[str]
    ) -> Covariates:
        """Validate the columns and take their mean and standard deviation from ``summary``."""
        purchase, dropout = tuple(purchase), tuple(dropout)
        for label, names in (("purchase_covariates", purchase), ("dropout_covariates", dropout)):
            if isinstance(names, str) or len(set(names)) != len(names):
                raise LtvlabError(f"{label} must be a list of distinct column names, got {names!r}")
        names = tuple(dict.fromkeys((*purchase, *dropout)))
        values = _raw_matrix(summary, names)
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        constant = [n for n, s in zip(names, scale, strict=True) if not s > 0]
        if constant:
            raise LtvlabError(
                f"covariate column(s) {constant} are constant in the data: their effect is not identified"
            )
        extreme = [
            f"{n} (max |z| {np.max(np.abs(values[:, j] - mean[j])) / scale[j]:.0f})"
            for j, n in enumerate(names)
            if np.max(np.abs(values[:, j] - mean[j])) > EXTREME_Z * scale[j]
        ]
        if extreme:
            warnings.warn(
                f"covariate(s) {', '.join(extreme)} have values more than {EXTREME_Z:g} standard deviations from "
                "their mean: their customers' rates are extrapolated far from the data (predictions can then "
                "overflow); a log or rank transform of skewed covariates such as spend usually fits better",
                UserWarning,
                stacklevel=3,
            )
        return cls(
            purchase,
            dropout,
            {n: float(m) for n, m in zip(names, mean, strict=True)},
            {n: float(s) for n, s in zip(names, scale, strict=True)},
        )

    def matrix(self, summary: pd.DataFrame) -> np.ndarray:
        """Standardised covariates of each customer, ``(n_customers, len(columns))``."""
        raw = _raw_matrix(summary, self.columns)
        mean = np.array([self.mean[n] for n in self.columns])
        scale = np.array([self.scale[n] for n in self.columns])
        return (raw - mean) / scale

    def positions(self, which: str) -> list[int]:
        """Columns of :meth:`matrix` used by the ``"purchase"`` or ``"dropout"`` rate."""
        names = self.purchase if which == "purchase" else self.dropout
        return [self.columns.index(n) for n in names]

    def describe(self) -> dict[str, object]:
        return {
            "purchase": list(self.purchase),
            "dropout": list(self.dropout),
            "mean": dict(self.mean),
            "scale": dict(self.scale),
        }


def _raw_matrix(summary: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    missing = [n for n in names if n not in summary.columns]
    if missing:
        raise LtvlabError(
            f"covariate column(s) {missing} not in the summary; columns are {list(summary.columns)}"
        )
    out = np.empty((len(summary), len(names)))
    for j, name in enumerate(names):
        column = summary[name]
        if column.dtype == bool:
            column = column.astype(float)
        try:
            values = pd.to_numeric(column, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise LtvlabError(
                f"covariate column '{name}' must be numeric (encode categories as 0/1 columns): {exc}"
            ) from exc
        bad = ~np.isfinite(values)
        if bad.any():
            raise LtvlabError(
                f"covariate column '{name}' has {int(bad.sum())} missing or infinite value(s) "
                f"(first at row {int(np.flatnonzero(bad)[0])})"
            )
        out[:, j] = values
    return out


def covariate_matrix(covariates: Covariates | None, summary: pd.DataFrame) -> np.ndarray:
    """Standardised covariates of each customer ``(n, k)``; ``(n, 0)`` without covariates."""
    return np.empty((len(summary), 0)) if covariates is None else covariates.matrix(summary)


_COLUMN = "covariate:"


def as_columns(z: np.ndarray) -> dict[str, np.ndarray]:
    """The columns of ``z`` named ``covariate:0``, ``covariate:1``, ... (to compress them with the summary)."""
    return {f"{_COLUMN}{j}": z[:, j] for j in range(z.shape[1])}


def from_columns(values: Mapping[str, np.ndarray], n_rows: int) -> np.ndarray:
    """The ``(n_rows, k)`` covariates back from compressed columns made by :func:`as_columns`."""
    names = [name for name in values if name.startswith(_COLUMN)]
    return np.column_stack([values[name] for name in names]) if names else np.empty((n_rows, 0))


def _coefficients(model: str) -> Mapping[str, tuple[str, float, str]]:
    """Coefficient name -> (parameter it scales, sign of the exponent, covariate set), declared by the model."""
    from ltvlab.ltv.registry import get_model

    return get_model(model).coefficients


def coefficient_names(model: str, covariates: Covariates | None) -> tuple[str, ...]:
    """The coefficient vectors a model with these covariates has (empty sets have none)."""
    if covariates is None:
        return ()
    return tuple(
        name
        for name, (_, _, which) in _coefficients(model).items()
        if (covariates.purchase if which == "purchase" else covariates.dropout)
    )


def apply_covariates(
    model: str,
    params: dict[str, np.ndarray],
    coefficients: Mapping[str, np.ndarray],
    z: np.ndarray,
    covariates: Covariates | None,
) -> dict[str, np.ndarray]:
    """Per-customer parameters ``(n_draws, n_rows)`` from segment parameters indexed to the rows.

    ``params[name]`` is ``(n_draws, n_rows)``, ``coefficients[name]`` is ``(n_draws, k)`` and ``z`` is the rows'
    standardised covariates ``(n_rows, len(covariates.columns))``. Without covariates ``params`` is returned.
    """
    if covariates is None:
        return params
    out = dict(params)
    for name in coefficient_names(model, covariates):
        target, sign, which = _coefficients(model)[name]
        linear = np.asarray(coefficients[name]) @ z[:, covariates.positions(which)].T
        out[target] = out[target] * np.exp(sign * linear)
    return out


def row_params(
    model: str,
    names: Sequence[str],
    draws: Mapping[str, np.ndarray],
    seg: np.ndarray,
    z: np.ndarray,
    covariates: Covariates | None,
) -> list[np.ndarray]:
    """Parameters ``(n_draws, n_rows)`` in ``names`` order for rows of segments ``seg`` and covariates ``z``.

    ``draws`` holds the segment parameters ``(n_draws, n_segments)`` and, with covariates, the coefficients.
    """
    params = {name: draws[name][:, seg] for name in names}
    params = apply_covariates(model, params, draws, z, covariates)
    return [params[name] for name in names]
