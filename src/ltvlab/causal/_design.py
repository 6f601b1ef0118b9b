"""Covariate design matrices and input checks shared by the observational designs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ltvlab.errors import DataValidationError, LtvlabError


def require_columns(frame: pd.DataFrame, columns: Sequence[str], *, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{what}: column(s) {missing} not found; available columns: {list(frame.columns)}"
        )


def covariate_design(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric covariates as they are, categorical ones one-hot with the first level dropped
    (columns named ``column=level``); raises when a covariate has missing values."""
    parts = []
    for name in covariates:
        column = frame[name]
        if column.isna().any():
            raise DataValidationError(
                f"covariate '{name}' has {int(column.isna().sum())} missing values; impute or drop those rows"
            )
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            parts.append(column.astype(float).rename(name).to_frame())
        else:
            levels = sorted(column.astype(str).unique())
            for level in levels[1:]:
                parts.append((column.astype(str) == level).astype(float).rename(f"{name}={level}").to_frame())
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)


def binary_treatment(frame: pd.DataFrame, treatment: str) -> np.ndarray:
    """The treatment column as a boolean array; raises unless it holds exactly two values 0/1 (or bool)."""
    column = frame[treatment]
    if column.isna().any():
        raise DataValidationError(f"treatment column '{treatment}' has missing values")
    values = set(pd.unique(column.astype(float)))
    if not values <= {0.0, 1.0}:
        raise DataValidationError(
            f"treatment column '{treatment}' must be 0/1 or boolean; found values {sorted(values)[:5]}"
        )
    if len(values) < 2:
        only = "treated" if values == {1.0} else "untreated"
        raise LtvlabError(
            f"treatment '{treatment}' never varies (every unit is {only}): there is no comparison group, "
            "so no effect can be estimated"
        )
    return column.astype(float).to_numpy() == 1.0


def numeric_outcome(frame: pd.DataFrame, outcome: str) -> np.ndarray:
    column = frame[outcome]
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise DataValidationError(f"outcome column '{outcome}' must be numeric; got dtype {column.dtype}")
    if column.isna().any():
        raise DataValidationError(f"outcome column '{outcome}' has {int(column.isna().sum())} missing values")
    return column.astype(float).to_numpy()
