"""Validation of customer summaries and compression to unique ``(segment, ...)`` rows with weights.

The likelihood of every BTYD model depends on a customer only through ``(segment, x, t_x, T)`` (or
``(segment, x, monetary)`` for Gamma-Gamma), so the models evaluate each distinct row once with its
multiplicity as a weight. With time in whole days or weeks, a million customers collapse to a few tens of
thousands of rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

ALL_SEGMENTS = "all"


@dataclass(frozen=True)
class Compressed:
    """Distinct rows of a summary: ``values[name]`` per row, ``segment_code`` into ``segments``, ``weight``."""

    segments: tuple[str, ...]
    segment_code: np.ndarray  # (n_rows,) int
    values: dict[str, np.ndarray]  # column -> (n_rows,) float
    weight: np.ndarray  # (n_rows,) float, customers per row
    inverse: np.ndarray  # (n_customers,) row of each customer

    @property
    def n_rows(self) -> int:
        return int(self.weight.size)


def _require_columns(summary: pd.DataFrame, names: tuple[str, ...]) -> None:
    if not isinstance(summary, pd.DataFrame):
        raise LtvlabError(f"expected a customer summary DataFrame, got {type(summary).__name__}")
    missing = [name for name in names if name not in summary.columns]
    if missing:
        raise LtvlabError(
            f"customer summary lacks column(s) {missing}; build it with ltvlab.features.customer_summary"
        )


def _numeric(summary: pd.DataFrame, name: str) -> np.ndarray:
    try:
        values = pd.to_numeric(summary[name], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise LtvlabError(f"column '{name}' must be numeric: {exc}") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LtvlabError(
            f"column '{name}' has {int(bad.sum())} missing or infinite value(s) (first at row {row})"
        )
    return values


def validate_purchase_columns(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)`` as float arrays after checking ``T >= 0``, ``0 <= t_x <= T``, integer ``x >= 0``.

    ``T == 0`` is a customer whose first purchase fell on the last calibration day (then ``x == t_x == 0``):
    every purchase model's likelihood of such a row is exactly 1, so they fit and are scored as new customers.
    """
    _require_columns(summary, (col.X, col.T_X, col.T))
    x, t_x, T = (_numeric(summary, name) for name in (col.X, col.T_X, col.T))
    checks = (
        (x < 0, "x < 0"),
        (x != np.round(x), "x is not a whole number"),
        (
            T < 0,
            "T < 0 (first purchase after the end of calibration; build the summary with a later calibration_end)",
        ),
        (t_x < 0, "t_x < 0"),
        (t_x > T + 1e-9, "t_x > T (last purchase after the end of calibration)"),
        ((x == 0) & (t_x != 0), "t_x != 0 although x == 0"),
    )
    for bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise LtvlabError(f"customer summary: {int(bad.sum())} row(s) with {what} (first at row {row})")
    return x, np.minimum(t_x, T), T


def validate_spend_columns(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(x, monetary)`` after checking ``monetary > 0`` whenever ``x > 0``."""
    _require_columns(summary, (col.X, col.MONETARY))
    x, m = _numeric(summary, col.X), _numeric(summary, col.MONETARY)
    if (x < 0).any():
        raise LtvlabError("customer summary: x < 0")
    bad = (x > 0) & (m <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LtvlabError(
            f"column 'monetary': {int(bad.sum())} repeat buyer(s) with mean spend <= 0 (first at row {row}); "
            "Gamma-Gamma needs positive transaction values"
        )
    return x, m


def segment_labels(summary: pd.DataFrame, segment: str | None) -> np.ndarray:
    """Each customer's segment label as strings (``"all"`` when ``segment`` is None)."""
    if segment is None:
        return np.full(len(summary), ALL_SEGMENTS, dtype=object)
    if segment not in summary.columns:
        raise LtvlabError(
            f"segment column '{segment}' not in the summary; columns are {list(summary.columns)}"
        )
    values = summary[segment]
    if values.isna().any():
        raise LtvlabError(f"segment column '{segment}' has {int(values.isna().sum())} missing value(s)")
    return values.astype(str).to_numpy(dtype=object)


def encode_segments(labels: np.ndarray, segments: tuple[str, ...]) -> np.ndarray:
    """Position of each label in ``segments``; unknown labels raise :class:`LtvlabError`."""
    lookup = {label: i for i, label in enumerate(segments)}
    uniq, inv = np.unique(labels.astype(str), return_inverse=True)
    unknown = [u for u in uniq if u not in lookup]
    if unknown:
        raise LtvlabError(
            f"segment(s) {unknown[:5]} were not in the data the model was fitted on {list(segments)}"
        )
    return np.array([lookup[u] for u in uniq], dtype=np.int64)[inv]


def validate_weights(summary: pd.DataFrame, name: str) -> np.ndarray:
    """Row weights from column ``name``: customers per row of an already aggregated summary (finite, > 0)."""
    _require_columns(summary, (name,))
    weights = _numeric(summary, name)
    bad = weights <= 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise LtvlabError(
            f"column '{name}' (weights) has {int(bad.sum())} value(s) <= 0 (first at row {row}); "
            "each row's weight is the number of customers it stands for"
        )
    return weights


def distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_inverse=True)`` for a 2-D float array, by one lexicographic sort.

    The same distinct rows in the same (lexicographic) order and the same inverse; several times faster than
    NumPy's row-wise unique, which sorts the rows as opaque records (4.2 s against 1.1 s for 1M x 6).
    """
    keys = np.asarray(keys)
    n = keys.shape[0]
    if n == 0:
        return keys[:0].copy(), np.zeros(0, dtype=np.int64)
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def compress(
    codes: np.ndarray, columns: dict[str, np.ndarray], n_segments: int, weights: np.ndarray | None = None
) -> Compressed:
    """Group identical ``(code, *columns)`` rows; ``inverse`` maps input rows to rows.

    Each row's weight is the number of input rows in it, or the sum of their ``weights`` when given (input rows
    that already stand for several customers, e.g. distinct rows with counts aggregated by Spark).
    """
    frame = pd.DataFrame({"_seg": codes, **columns})
    keys = ["_seg", *columns]
    grouped = frame.groupby(keys, sort=True)
    inverse = grouped.ngroup().to_numpy()
    if weights is None:
        sizes = grouped.size()
    else:
        sizes = (
            pd.Series(np.asarray(weights, dtype=float), index=frame.index)
            .groupby([frame[k] for k in keys], sort=True)
            .sum()
        )
    index = sizes.index.to_frame(index=False)
    return Compressed(
        segments=tuple(str(i) for i in range(n_segments)),
        segment_code=index["_seg"].to_numpy(dtype=np.int64),
        values={name: index[name].to_numpy(dtype=float) for name in columns},
        weight=sizes.to_numpy(dtype=float),
        inverse=inverse,
    )


def data_hash(summary: pd.DataFrame, columns: tuple[str, ...]) -> str:
    """SHA-256 (first 16 hex digits) of the columns a model uses, in row order."""
    digest = hashlib.sha256()
    for name in columns:
        digest.update(name.encode())
        digest.update(pd.util.hash_pandas_object(summary[name], index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
