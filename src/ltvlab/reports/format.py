"""The one number-formatting layer of the reports: every number a reader sees passes through here.

Rules (house style): thousands separators (``23,570``), integers without ``.0``, three significant figures for
plain numbers, ``p < 0.001`` for small p-values, percentages for shares and percentage points for differences of
rates (``+4.5 pp``), currency from a report parameter (``$1,234``, ``EUR 1,234``), ``—`` for anything missing,
and intervals that state their level (``+4.5 pp (95% CI 3.9 to 5.2)``). An interval's width sets the decimals
of the estimate and its bounds, so the digits shown are the digits that are known.

>>> lift(0.0452, 0.0389, 0.0516, kind="rate", level=0.95)
'+4.5 pp (95% CI 3.9 to 5.2)'
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

MISSING = "—"
MAX_DECIMALS = 4
Kind = Literal["number", "rate", "percent", "money", "count"]


def is_missing(value: Any) -> bool:
    """None, NaN, NaT, pandas NA or an infinite number."""
    if value is None:
        return True
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        try:
            return not math.isfinite(float(value))
        except (TypeError, ValueError, OverflowError):
            return False
    return False


def _decimals_for_sig(value: float, sig: int) -> int:
    if value == 0:
        return 0
    return max(0, sig - 1 - math.floor(math.log10(abs(value))))


def _fixed(value: float, decimals: int, *, sign: bool = False) -> str:
    text = f"{value:{'+' if sign else ''},.{decimals}f}"
    if text.lstrip("+-").strip("0.,") == "":  # -0.0 -> 0.0, "+0.0" keeps no sign
        text = text.lstrip("+-")
    return text


def integer(value: Any) -> str:
    """A count with thousands separators: ``23,570`` (never ``23570.0``)."""
    if is_missing(value):
        return MISSING
    return f"{round(float(value)):,d}"


def number(value: Any, *, sig: int = 3, decimals: int | None = None, sign: bool = False) -> str:
    """A plain number: ``decimals`` fixed, else ``sig`` significant figures (whole part never rounded away).

    Integers (and floats that are whole numbers) print without decimals; at most :data:`MAX_DECIMALS`
    decimals (``0.00761`` -> ``0.0076``); non-zero values that would round to zero print in scientific notation
    (``1.2e-05``).
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    x = float(value)
    if decimals is None:
        if x == round(x) and abs(x) < 1e15:
            return _fixed(x, 0, sign=sign)
        decimals = _decimals_for_sig(x, sig)
        if abs(x) < 0.5 * 10**-MAX_DECIMALS:  # would round to zero: scientific notation
            return f"{x:{'+' if sign else ''}.{max(sig - 1, 0)}e}"
        decimals = min(decimals, MAX_DECIMALS)
        text = _fixed(x, decimals, sign=sign)
        return text.rstrip("0").rstrip(".") if "." in text else text
    return _fixed(x, decimals, sign=sign)


def p_value(value: Any, *, floor: float = 0.001) -> str:
    """``p < 0.001`` below ``floor``, else ``p = 0.034`` (two significant figures, at most three decimals)."""
    if is_missing(value):
        return MISSING
    p = float(value)
    if p < floor:
        return f"p < {floor:g}"
    decimals = min(3, max(2, _decimals_for_sig(p, 2)))
    return f"p = {p:.{decimals}f}"


def p_value_cell(value: Any, *, floor: float = 0.001) -> str:
    """A p-value for a table cell: ``< 0.001`` or ``0.034`` (the column label says it is a p-value)."""
    text = p_value(value, floor=floor)
    return text if text == MISSING else text.removeprefix("p ").removeprefix("= ")


def _rounds_away(x: float, decimals: int) -> bool:
    """A non-zero value that would print as zero at ``decimals``."""
    return x != 0 and abs(x) < 0.5 * 10**-decimals


def _below(x: float, decimals: int, unit: str) -> str:
    """``< 0.01 pp`` (``> -0.01 pp`` below zero): what a value too small for ``decimals`` is known to be."""
    step = f"{10**-decimals:.{decimals}f}"
    return f"< {step}{unit}" if x > 0 else f"> -{step}{unit}"


def percent(value: Any, *, decimals: int | None = None, sign: bool = False) -> str:
    """A share as a percentage: ``0.712`` -> ``71%``; two significant figures below 10%; a non-zero share below
    0.005% is ``< 0.01%``, never ``0%``; a share short of 1 is never ``100%``: ``99.7%``, or ``> 99.9%`` from
    99.95% (a probability of 0.9996 is not a certainty)."""
    if is_missing(value):
        return MISSING
    x = 100 * float(value)
    if decimals is None:
        decimals = 0 if abs(x) >= 10 or x == 0 else min(2, _decimals_for_sig(x, 2))
        if _rounds_away(x, decimals):
            return _below(x, decimals, "%")
        if 99.5 <= x < 100:
            return "> 99.9%" if x >= 99.95 else f"{x:.1f}%"
        text = _fixed(x, decimals, sign=sign)
        return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"  # 5.0% -> 5%
    return _fixed(x, decimals, sign=sign) + "%"


def probability(value: Any, n_draws: int | None = None, *, equals: bool = False) -> str:
    """A probability estimated from ``n_draws`` posterior draws: a percentage, but all draws (or none) on one
    side is not a certainty: ``> 99.5% (all 200 draws)``, ``< 0.5% (none of 200 draws)``. ``equals``: for
    running text after ``P(...)``, an exact-looking value gets ``= `` (``= 98%``), a bound does not."""
    if is_missing(value):
        return MISSING
    p = float(value)
    if n_draws and n_draws > 1 and p in (0.0, 1.0):
        bound = percent(1.0 / n_draws)
        if p == 1.0:
            return f"> {100 - float(bound.rstrip('%')):g}% (all {integer(n_draws)} draws)"
        return f"< {bound} (none of {integer(n_draws)} draws)"
    text = percent(p)
    return f"= {text}" if equals and text[0] not in "<>" else text


def points(value: Any, *, decimals: int | None = None, sign: bool = True) -> str:
    """A difference of two rates in percentage points: ``0.0452`` -> ``+4.5 pp``; with automatic decimals a
    non-zero difference too small for them is ``< 0.01 pp``, never ``0.00 pp``."""
    if is_missing(value):
        return MISSING
    x = 100 * float(value)
    if decimals is None:
        decimals = min(2, _decimals_for_sig(x, 2)) if x else 0
        if _rounds_away(x, decimals):
            return _below(x, decimals, " pp")
    return _fixed(x, decimals, sign=sign) + " pp"


def money(value: Any, currency: str = "$", *, decimals: int | None = None, sign: bool = False) -> str:
    """An amount with its currency: ``$1,234``, ``-$12.50``, ``EUR 1,234`` (a code gets a space).

    Amounts of 100 or more print whole; smaller ones with cents; a non-zero amount below half a cent is
    ``< $0.01`` (with automatic decimals).
    """
    if is_missing(value):
        return MISSING
    x = float(value)
    prefix = f"{currency} " if currency[-1:].isalpha() else currency
    if decimals is None:
        decimals = 0 if abs(x) >= 100 or (x == round(x) and abs(x) >= 10) else 2
        if _rounds_away(x, decimals):
            return _below(x, decimals, "").replace("< ", f"< {prefix}").replace("> -", f"> -{prefix}")
    body = _fixed(abs(x), decimals)
    lead = "-" if x < 0 and body.strip("0.,") else ("+" if sign and x > 0 else "")
    return f"{lead}{prefix}{body}"


SHORT_ID_DIGITS = 12
_HASHED_ID = re.compile(r"[0-9a-f]{64}")


def is_hashed_id(value: Any) -> bool:
    """A salted customer-id digest as :func:`ltvlab.data.ids.hash_ids` writes it (64 lower-case hex digits)."""
    return isinstance(value, str) and _HASHED_ID.fullmatch(value) is not None


def short_id(value: Any, *, digits: int = SHORT_ID_DIGITS) -> str:
    """A hashed id shortened for display: its first ``digits`` hex digits and ``…`` (the data keep all 64).

    Twelve digits (48 bits) tell apart the customers of any one report; exports keep the full digest to join on.
    """
    if is_missing(value) or value == "":
        return MISSING
    text = str(value)
    return text[:digits] + "…" if len(text) > digits else text


def _scale(kind: Kind) -> float:
    return 100.0 if kind in ("rate", "percent") else 1.0


def _interval_decimals(low: float, high: float, estimate: float, kind: Kind) -> int:
    """Decimals giving the interval's width two significant figures (and the estimate at least two)."""
    scale = _scale(kind)
    width = abs(high - low) * scale
    by_width = _decimals_for_sig(width, 2) if width > 0 else 0
    by_value = _decimals_for_sig(estimate * scale, 2) if estimate else 0
    return min(MAX_DECIMALS, max(by_width, min(by_value, 2)))


def _value(x: float, kind: Kind, decimals: int, *, sign: bool, currency: str) -> str:
    if kind == "rate":
        return points(x, decimals=decimals, sign=sign)
    if kind == "percent":
        return percent(x, decimals=decimals, sign=sign)
    if kind == "money":
        return money(x, currency, decimals=decimals, sign=sign)
    if kind == "count":
        return _fixed(x, decimals, sign=sign)
    return _fixed(x, decimals, sign=sign)


def _bound(x: float, kind: Kind, decimals: int, currency: str) -> str:
    """An interval bound: the unit is said once, after the estimate, so bounds carry no ``pp``/``%``."""
    if kind == "money":
        return money(x, currency, decimals=decimals)
    return _fixed(_scale(kind) * x, decimals)


def bounds(low: Any, high: Any, *, kind: Kind = "number", currency: str = "$") -> str:
    """An interval's two bounds alone, for a table column whose label states the level: ``$147,282 to $232,255``."""
    if is_missing(low) or is_missing(high):
        return MISSING
    decimals = _interval_decimals(float(low), float(high), (float(low) + float(high)) / 2, kind)
    return f"{_bound(low, kind, decimals, currency)} to {_bound(high, kind, decimals, currency)}"


def interval(
    low: Any, high: Any, *, kind: Kind = "number", level: float = 0.95, label: str = "CI", currency: str = "$"
) -> str:
    """``95% CI 3.9 to 5.2`` (bounds of a rate in percentage points, of a share in percent)."""
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"{level_text(level)} {label} {bounds(low, high, kind=kind, currency=currency)}"


def level_text(level: float) -> str:
    """``0.95`` -> ``95%``; ``0.9`` -> ``90%``."""
    return f"{100 * level:.{0 if round(100 * level) == 100 * level else 1}f}%"


def lift(
    estimate: Any,
    low: Any,
    high: Any,
    *,
    kind: Kind = "number",
    level: float = 0.95,
    label: str = "CI",
    currency: str = "$",
    sign: bool = True,
) -> str:
    """An estimate with its interval: ``+4.5 pp (95% CI 3.9 to 5.2)``, ``+$0.77 (95% CI 0.48 to 1.06)``.

    ``kind``: ``"rate"`` (a difference of rates, in percentage points), ``"percent"`` (a share),
    ``"money"`` (in ``currency``), ``"number"`` or ``"count"``. A missing or zero-width interval (a point
    estimate) is not shown as an interval: ``+4.5 pp (point estimate, no interval)``.
    """
    if is_missing(estimate):
        return MISSING
    est = float(estimate)
    if is_missing(low) or is_missing(high) or float(high) - float(low) <= 0:
        decimals = min(MAX_DECIMALS, _decimals_for_sig(est * _scale(kind), 3))
        if kind == "money" and abs(est) >= 100:
            decimals = 0
        return f"{_value(est, kind, decimals, sign=sign, currency=currency)} (point estimate, no interval)"
    lo, hi = float(low), float(high)
    decimals = _interval_decimals(lo, hi, est, kind)
    shown = _value(est, kind, decimals, sign=sign, currency=currency)
    bounds = f"{_bound(lo, kind, decimals, currency)} to {_bound(hi, kind, decimals, currency)}"
    return f"{shown} ({level_text(level)} {label} {bounds})"


def spans_zero(low: Any, high: Any) -> bool:
    """True when an interval includes zero (missing bounds count as "not known to exclude zero")."""
    if is_missing(low) or is_missing(high):
        return True
    return float(low) <= 0 <= float(high)


# --------------------------------------------------------------------------------------------- column labels

_WORDS = {
    "n": "n",
    "ci": "CI",
    "ess": "ESS",
    "smd": "SMD",
    "srm": "SRM",
    "roi": "ROI",
    "ltv": "LTV",
    "clv": "CLV",
    "aipw": "AIPW",
    "ipw": "IPW",
    "did": "DiD",
    "mae": "MAE",
    "param": "Parameter",
    "auuc": "AUUC",
    "rmse": "RMSE",
    "id": "ID",
    "sd": "SD",
    "std": "SD",
    "q05": "5% quantile",
    "q50": "Median",
    "q95": "95% quantile",
    "r_hat": "R-hat",
    "p_value": "p-value",
    "prob_better": "P(better)",
    "prob_profitable": "P(profitable)",
    "p_alive_mean": "P(alive), mean",
    "t_x": "t_x",
    "x": "x",
    "T": "T",
}


def column_label(name: Any) -> str:
    """A readable column label: ``ess_bulk`` -> ``ESS bulk``, ``p_value_adjusted`` -> ``p-value adjusted``."""
    text = str(name)
    if text in _WORDS:
        return _WORDS[text]
    quantile = re.fullmatch(r"q(\d{2,3})", text)
    if quantile:
        share = int(quantile.group(1))
        return {0: "Min", 50: "Median", 100: "Max"}.get(share, f"{share}% quantile")
    for key in ("p_value", "r_hat", "prob_better", "prob_profitable"):
        if text.startswith(key + "_") or text.endswith("_" + key):
            text = text.replace(key, _WORDS[key].replace(" ", "\x00"))
    words = [_WORDS.get(w.lower(), w) for w in text.split("_") if w]
    return sentence_case(" ".join(words).replace("\x00", " "))


# Symbols of the BTYD summary and of model parameters: they keep their case at the start of a label.
_SYMBOLS = frozenset(
    {"n", "x", "t_x", "T", "r", "a", "b", "c", "s", "alpha", "beta", "gamma", "delta", "theta", "mu", "sigma"}
)
_ACRONYMS = {
    "sd": "SD",
    "std": "SD",
    "id": "ID",
    "ci": "CI",
    "hdi": "HDI",
    "ess": "ESS",
    "clv": "CLV",
    "ltv": "LTV",
}


def sentence_case(label: Any) -> str:
    """A column label in sentence case: ``posterior mean`` -> ``Posterior mean``, ``sd`` -> ``SD``,
    ``median`` -> ``Median``; symbols (``x``, ``t_x``, ``T``, a parameter such as ``c``), codes and labels that
    already start with a capital, a digit or a sign keep their first word as it is (``c, mean``, ``90% HDI low``,
    ``P(alive)``, ``p-value``)."""
    text = str(label)
    first, sep, rest = text.partition(" ")
    bare = first.rstrip(",:;")
    if bare in _SYMBOLS or re.fullmatch(r"[a-z]-[a-z]+", bare):  # a symbol, or p-value, t-statistic
        return text
    if bare.lower() in _ACRONYMS and bare.islower():
        return _ACRONYMS[bare.lower()] + first[len(bare) :] + sep + rest
    if len(bare) > 1 and bare[0].isalpha() and bare[0].islower() and not any(ch.isupper() for ch in bare):
        return text[:1].upper() + text[1:]
    return text


# ------------------------------------------------------------------------------------------ cell formatters

Formatter = Callable[[Any], str]


def formatter(kind: str, *, currency: str = "$") -> Formatter:
    """The cell formatter for a column ``kind``: ``int``, ``number``, ``percent``, ``pp``, ``p``, ``money``,
    ``text``, ``bool``, ``date``, ``r_hat`` (three decimals), ``id`` (a hashed id, shortened)."""
    table: dict[str, Formatter] = {
        "int": integer,
        "r_hat": lambda v: number(v, decimals=3),
        "number": number,
        "percent": percent,
        "pp": points,
        "p": p_value_cell,
        "money": lambda v: money(v, currency),
        "text": lambda v: MISSING if is_missing(v) or v == "" else str(v),
        "bool": lambda v: MISSING if is_missing(v) else ("yes" if bool(v) else "no"),
        "date": lambda v: MISSING if is_missing(v) else str(getattr(v, "date", lambda: v)()),
        "id": short_id,
    }
    if kind not in table:
        raise ValueError(f"unknown column kind {kind!r}; use one of {', '.join(table)}")
    return table[kind]
