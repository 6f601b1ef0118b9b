"""Covariate balance between each arm and control: standardised mean differences (SMD)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def covariate_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric design of the covariates: numbers as they are, categories one-hot (one column per level,
    named ``column=level``; the first level is dropped when ``drop_first``)."""
    parts = []
    for name in covariates:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            parts.append(column.astype(float).rename(name))
        else:
            dummies = pd.get_dummies(column.astype(str), prefix=name, prefix_sep="=", dtype=float)
            parts.append(dummies)
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)


def balance_table(
    frame: pd.DataFrame,
    *,
    arm_col: str,
    control: str,
    covariates: Sequence[str],
    threshold: float = 0.1,
) -> pd.DataFrame:
    """One row per (arm, covariate level): control and arm means and the SMD.

    SMD = (mean_arm - mean_control) / sqrt((var_arm + var_control) / 2) (Austin 2009); rows with
    |SMD| > ``threshold`` are flagged as imbalanced.
    """
    design = covariate_matrix(frame, covariates)
    arms = frame[arm_col].astype(str)
    rows = []
    control_rows = design[arms == control]
    for arm in sorted(set(arms) - {control}):
        arm_rows = design[arms == arm]
        for name in design.columns:
            a, c = arm_rows[name].to_numpy(), control_rows[name].to_numpy()
            pooled = np.sqrt((a.var(ddof=1) + c.var(ddof=1)) / 2) if len(a) > 1 and len(c) > 1 else np.nan
            smd = (a.mean() - c.mean()) / pooled if pooled and np.isfinite(pooled) else 0.0
            rows.append(
                {
                    "arm": arm,
                    "covariate": name,
                    "mean_control": float(c.mean()) if len(c) else np.nan,
                    "mean_arm": float(a.mean()) if len(a) else np.nan,
                    "smd": float(smd),
                    "imbalanced": bool(abs(smd) > threshold),
                }
            )
    return pd.DataFrame(rows, columns=["arm", "covariate", "mean_control", "mean_arm", "smd", "imbalanced"])
