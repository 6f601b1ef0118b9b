"""Tables for people: every report table goes through :func:`format_table`.

Each column gets a formatter from :mod:`ltvlab.reports.format` (chosen from its dtype and name, or given),
a readable label, and user text is HTML-escaped; a column of hashed customer ids is shortened for display. A raw ``RangeIndex`` is dropped; a named index becomes a key
column. A table wider than ``max_columns`` is split into several tables that repeat the key columns, and a
one-row table is shown transposed (label / value), so nothing runs off the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ltvlab.reports import format as fmt
from ltvlab.reports.safety import escape_html

_P_NAMES = ("p_value", "pvalue", "p_val")
_SHARE_WORDS = ("share", "rate", "prob", "pct", "percent", "coverage")
MAX_COLUMNS = 7


def column_kind(name: str, values: pd.Series) -> str:
    """The formatter kind a column gets when none is given (see :func:`ltvlab.reports.format.formatter`)."""
    lowered = str(name).lower()
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if lowered in ("seed", "random_seed", "year") or lowered.endswith("_seed"):
        return "text"  # an identifier, not a quantity: no thousands separator
    if pd.api.types.is_integer_dtype(values):
        return "int"
    if pd.api.types.is_float_dtype(values):
        if lowered.replace("-", "_").replace(" ", "_").endswith("r_hat"):
            return "r_hat"
        if any(p in lowered for p in _P_NAMES):
            return "p"
        finite = values[np.isfinite(values.to_numpy(dtype=float))]
        if any(w in lowered.split("_") for w in _SHARE_WORDS) and (finite.abs() <= 1).all():
            return "percent"
        if len(finite) and (finite == finite.round()).all():
            return "int"
        return "number"
    return "text"


def _text_cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text_cell(v) for v in value)
    if fmt.is_missing(value) or value == "":
        return fmt.MISSING
    if isinstance(value, float | np.floating):
        return fmt.number(value)
    if fmt.is_hashed_id(value):
        return fmt.short_id(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Table:
    """Formatted cells (strings) and labels; displays as HTML in Jupyter and in the reports."""

    parts: tuple[pd.DataFrame, ...]
    caption: str = ""
    numeric: frozenset[str] = frozenset()

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        caption = f'<p class="ltv-table-caption">{escape_html(self.caption)}</p>' if self.caption else ""
        return caption + "".join(_html(part, self.numeric) for part in self.parts)

    def to_frame(self) -> pd.DataFrame:
        """The formatted cells as one frame of strings (all parts side by side)."""
        return pd.concat([p for p in self.parts], axis=1).loc[:, lambda t: ~t.columns.duplicated()]


def _html(part: pd.DataFrame, numeric: frozenset[str]) -> str:
    head = "".join(f'<th scope="col">{escape_html(c)}</th>' for c in part.columns)
    rows = []
    for _, row in part.iterrows():
        cells = "".join(
            f'<td class="{"ltv-num" if c in numeric else "ltv-text"}">{escape_html(v)}</td>'
            for c, v in row.items()
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        '<div class="ltv-table-wrap tex2jax_ignore"><table class="ltv-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def format_table(
    frame: pd.DataFrame | pd.Series,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    keys: Sequence[str] | None = None,
    currency: str = "$",
    max_columns: int = MAX_COLUMNS,
    transpose: bool | None = None,
    max_rows: int | None = None,
    caption: str = "",
) -> Table:
    """Format ``frame`` for a report.

    Parameters
    ----------
    columns
        The columns to show, in order (default: all).
    kinds
        Formatter kind per column (``int``, ``number``, ``percent``, ``pp``, ``p``, ``money``, ``text``,
        ``bool``, ``date``); the rest are inferred by :func:`column_kind`.
    labels
        Column labels (put in sentence case by :func:`ltvlab.reports.format.sentence_case`); the rest come from
        :func:`ltvlab.reports.format.column_label`.
    keys
        Columns repeated in every part when the table is split (default: the leading text columns).
    transpose
        Show as label / value rows; default: when the frame has one row and more than three columns.
    max_rows
        Show only the first rows; the caption then says how many of how many are shown.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    data = frame.copy()
    if not isinstance(data.index, pd.RangeIndex) or data.index.name is not None:
        data = data.reset_index()
    data.columns = [str(c) for c in data.columns]
    if columns is not None:
        data = data[list(columns)]
    if max_rows is not None and len(data) > max_rows:
        more = len(data) - max_rows
        shown_rows = f"First {max_rows:,} of {len(data):,} rows shown ({more:,} more not shown)."
        caption = f"{caption} {shown_rows}" if caption else shown_rows
        data = data.head(max_rows)
    kinds = dict(kinds or {})
    shown = pd.DataFrame(index=data.index)
    numeric: set[str] = set()
    for name in data.columns:
        kind = kinds.get(name) or column_kind(name, data[name])
        label = fmt.sentence_case(labels[name]) if labels and name in labels else fmt.column_label(name)
        if kind in ("text", "id"):
            shown[label] = data[name].map(_text_cell if kind == "text" else fmt.short_id)
        else:
            shown[label] = data[name].map(fmt.formatter(kind, currency=currency))
            numeric.add(label)
    if transpose is None:
        transpose = len(shown) == 1 and shown.shape[1] > 3
    if transpose:
        flipped = pd.DataFrame(
            {"": list(shown.columns), "Value": shown.iloc[0].tolist() if len(shown) else []}
        )
        if len(shown) > 1:
            flipped = shown.T.reset_index().rename(columns={"index": ""})
        return Table((flipped,), caption=caption, numeric=frozenset(set(flipped.columns) - {""}))
    if keys is None:
        key_labels: list[str] = []
        for label in shown.columns:
            if label in numeric:
                break
            key_labels.append(label)
        key_labels = key_labels[:2]
    else:
        key_labels = [
            fmt.sentence_case(labels[k]) if labels and k in labels else fmt.column_label(k) for k in keys
        ]
    rest = [c for c in shown.columns if c not in key_labels]
    width = max(1, max_columns - len(key_labels))
    chunks = [rest[i : i + width] for i in range(0, len(rest), width)] or [[]]
    parts = tuple(shown[key_labels + chunk] for chunk in chunks)
    return Table(parts, caption=caption, numeric=frozenset(numeric))
