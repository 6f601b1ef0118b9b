"""Checks of an experiment frame before any statistic is computed: user mistakes become LtvlabError."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError


def _first_rows(mask: pd.Series, limit: int = 3) -> str:
    return ", ".join(str(i) for i in mask[mask].index[:limit])


def check_arms(
    frame: pd.DataFrame, *, arm_col: str, control: str, arms: Sequence[str] | None
) -> tuple[str, ...]:
    """The arms to analyse (control first); raises on missing column, absent control, one arm, size-1 arms."""
    if len(frame) == 0:
        raise LtvlabError("the experiment data has no rows")
    if arm_col not in frame.columns:
        raise LtvlabError(f"arm column {arm_col!r} not found; columns are: {list(frame.columns)}")
    missing = frame[arm_col].isna()
    if missing.any():
        raise LtvlabError(
            f"arm column {arm_col!r} is empty in {int(missing.sum())} rows (first rows: {_first_rows(missing)}); "
            "every unit must have an arm"
        )
    labels = frame[arm_col].astype(str)
    observed = sorted(labels.unique())
    if control not in observed:
        raise LtvlabError(
            f"control label {control!r} not found in column {arm_col!r}; the arms are: {observed}"
        )
    if arms is not None:
        arms = [str(a) for a in arms]
        unknown = sorted(set(observed) - set(arms))
        if unknown:
            raise LtvlabError(f"arm column {arm_col!r} has labels {unknown} that are not in arms={arms}")
        planned = [a for a in arms if a != control]
    else:
        planned = [a for a in observed if a != control]
    if not planned:
        raise LtvlabError(
            f"only one arm ({control!r}) in column {arm_col!r}: an experiment needs a control and at least one "
            "other arm"
        )
    counts = labels.value_counts()
    singletons = sorted(a for a, c in counts.items() if c == 1)
    if singletons:
        raise LtvlabError(
            f"arm(s) {singletons} have a single unit: no variance can be estimated; "
            "merge or drop them, or collect more data"
        )
    return (control, *planned)


def check_metric(frame: pd.DataFrame, metric: str, *, binary: bool | None) -> bool:
    """Validate one outcome column; returns whether it is treated as binary (0/1)."""
    if metric not in frame.columns:
        raise LtvlabError(f"metric column {metric!r} not found; columns are: {list(frame.columns)}")
    column = frame[metric]
    if pd.api.types.is_bool_dtype(column):
        column = column.astype(float)
    if not pd.api.types.is_numeric_dtype(column):
        raise LtvlabError(
            f"metric column {metric!r} is not numeric (dtype {column.dtype}); convert it to numbers first"
        )
    values = column.astype(float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise LtvlabError(
            f"metric column {metric!r} has {int(bad.sum())} missing or infinite values (first rows: "
            f"{_first_rows(bad)}); fill them (e.g. 0 for no purchase) or drop those units explicitly"
        )
    is_binary = bool(values.isin([0.0, 1.0]).all())
    if binary and not is_binary:
        wrong = ~values.isin([0.0, 1.0])
        example = values[wrong].iloc[0]
        raise LtvlabError(
            f"metric {metric!r} is declared binary but has {int(wrong.sum())} values other than 0/1 "
            f"(e.g. {example!r} in row {wrong[wrong].index[0]}); fix the data or do not declare it binary"
        )
    return is_binary if binary is None else bool(binary)


def check_covariates(frame: pd.DataFrame, covariates: Sequence[str]) -> None:
    """Covariates must exist and be complete (they are pre-treatment, so nothing to impute per arm)."""
    for name in covariates:
        if name not in frame.columns:
            raise LtvlabError(f"covariate column {name!r} not found; columns are: {list(frame.columns)}")
        bad = frame[name].isna()
        if bad.any():
            raise LtvlabError(
                f"covariate column {name!r} has {int(bad.sum())} missing values (first rows: "
                f"{_first_rows(bad)}); impute them before the analysis or drop the covariate"
            )
