"""Convergence gate for Bayesian fits: R-hat, bulk/tail ESS and divergences.

A fit that fails the gate is still returned: ``diagnostics.ok`` is False, the reasons are in
``diagnostics.messages`` and a :class:`ltvlab.errors.ConvergenceWarning` is emitted. Nothing raises.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pandas as pd

from ltvlab.errors import ConvergenceWarning

__all__ = [
    "DiagnosticThresholds",
    "Diagnostics",
    "compare_diagnostics",
    "diagnose",
    "leapfrog_steps",
    "map_diagnostics",
    "warn_if_failed",
]


@dataclass(frozen=True, slots=True)
class DiagnosticThresholds:
    """Pass criteria (defaults follow Vehtari et al. 2021: R-hat <= 1.01, ESS >= 400)."""

    max_r_hat: float = 1.01
    min_ess_bulk: float = 400.0
    min_ess_tail: float = 400.0
    max_divergences: int = 0


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """Health of a fit. ``table`` has one row per scalar parameter: ``param, r_hat, ess_bulk, ess_tail``."""

    ok: bool
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    table: pd.DataFrame = field(repr=False)
    messages: tuple[str, ...] = ()
    thresholds: DiagnosticThresholds = DiagnosticThresholds()
    remedies: tuple[str, ...] = ()  # automatic refits before these figures (``BTYDSpec.fit(remedy=True)``)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly summary (no table)."""
        return {
            "ok": self.ok,
            "max_r_hat": self.max_r_hat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
            "messages": list(self.messages),
            "remedies": list(self.remedies),
        }


@contextmanager
def _numpy_arviz():
    """ArviZ's R-hat and ESS with NumPy's variance instead of its Numba one: on posteriors of a few thousand draws
    per chain NumPy is as fast, and ArviZ's Numba functions are compiled afresh in every process (0.2-0.35 s of
    a warm CDNOW fit of 2-3 s; issue 18 item 1). The flag is ArviZ's global; it is restored afterwards."""
    flag = bool(getattr(az.Numba, "numba_flag", False))
    if flag:
        az.Numba.disable_numba()
    try:
        yield
    finally:
        if flag:
            az.Numba.enable_numba()


def _flat_table(idata: az.InferenceData, var_names: Sequence[str]) -> pd.DataFrame:
    with _numpy_arviz():
        rhat = az.rhat(idata, var_names=list(var_names))
        bulk = az.ess(idata, var_names=list(var_names), method="bulk")
        tail = az.ess(idata, var_names=list(var_names), method="tail")
    rows = []
    for name in var_names:
        r = np.atleast_1d(rhat[name].values).ravel()
        b = np.atleast_1d(bulk[name].values).ravel()
        t = np.atleast_1d(tail[name].values).ravel()
        coords, dims = rhat[name].coords, rhat[name].dims
        # one label per element, in the order of ravel(): "segment" or "segment,strategy" for 2-D parameters
        grids = (
            np.meshgrid(*[[str(v) for v in coords[d].values] for d in dims], indexing="ij") if dims else []
        )
        labels = (
            [",".join(parts) for parts in zip(*(g.ravel() for g in grids), strict=True)] if dims else [""]
        )
        for i in range(r.size):
            label = f"{name}[{labels[i]}]" if labels[i] else name
            rows.append({"param": label, "r_hat": r[i], "ess_bulk": b[i], "ess_tail": t[i]})
    return pd.DataFrame(rows, columns=["param", "r_hat", "ess_bulk", "ess_tail"])


def diagnose(
    idata: az.InferenceData,
    var_names: Sequence[str],
    thresholds: DiagnosticThresholds | None = None,
) -> Diagnostics:
    """Apply the gate to the posterior of ``var_names`` in ``idata`` (needs >= 2 chains for R-hat)."""
    thresholds = thresholds or DiagnosticThresholds()
    table = _flat_table(idata, var_names)
    divergences = 0
    if hasattr(idata, "sample_stats") and "diverging" in idata.sample_stats:
        divergences = int(np.asarray(idata.sample_stats["diverging"]).sum())
    max_r_hat = float(np.nanmax(table["r_hat"])) if len(table) else float("nan")
    min_bulk = float(np.nanmin(table["ess_bulk"])) if len(table) else float("nan")
    min_tail = float(np.nanmin(table["ess_tail"])) if len(table) else float("nan")
    messages = []
    n_chains = int(idata.posterior.sizes.get("chain", 1))
    if n_chains < 2:
        messages.append("only one chain: R-hat cannot detect non-convergence; use chains >= 2")
    if not max_r_hat <= thresholds.max_r_hat:
        messages.append(f"max R-hat {max_r_hat:.3f} > {thresholds.max_r_hat}")
    if not min_bulk >= thresholds.min_ess_bulk:
        messages.append(f"min bulk ESS {min_bulk:.0f} < {thresholds.min_ess_bulk:.0f}")
    if not min_tail >= thresholds.min_ess_tail:
        messages.append(f"min tail ESS {min_tail:.0f} < {thresholds.min_ess_tail:.0f}")
    if divergences > thresholds.max_divergences:
        messages.append(f"{divergences} divergent transition(s) > {thresholds.max_divergences}")
    return Diagnostics(
        ok=not messages,
        max_r_hat=max_r_hat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        divergences=divergences,
        table=table,
        messages=tuple(messages),
        thresholds=thresholds,
    )


def leapfrog_steps(idata: az.InferenceData) -> tuple[float, float | None]:
    """Leapfrog steps (one log-density + gradient each) of a NUTS run's draws and of its warm-up, all chains.

    The warm-up count is ``None`` when the run kept no warm-up statistics (PyMC's sampler discards them)."""
    draws = float(idata.sample_stats["n_steps"].sum())
    if "warmup_sample_stats" not in idata.groups():
        return draws, None
    return draws, float(idata.warmup_sample_stats["n_steps"].sum())


def map_diagnostics(converged: bool, message: str, param_labels: Sequence[str]) -> Diagnostics:
    """Diagnostics of a MAP fit: ``ok`` is whether the optimiser reported convergence (no R-hat/ESS)."""
    table = pd.DataFrame(
        {"param": list(param_labels), "r_hat": np.nan, "ess_bulk": np.nan, "ess_tail": np.nan},
        columns=["param", "r_hat", "ess_bulk", "ess_tail"],
    )
    messages = () if converged else (f"MAP optimiser did not converge: {message}",)
    return Diagnostics(
        ok=converged,
        max_r_hat=float("nan"),
        min_ess_bulk=float("nan"),
        min_ess_tail=float("nan"),
        divergences=0,
        table=table,
        messages=messages,
    )


def compare_diagnostics(fits: Mapping[str, object]) -> pd.DataFrame:
    """One row per fit (e.g. per pooling mode): gate status, worst R-hat and bulk ESS, divergences, reasons.

    ``fits`` maps a label to anything with a ``diagnostics`` attribute (a fitted model) or to a
    :class:`Diagnostics`. R-hat and ESS are NaN for MAP fits, which have no chains.
    """
    rows = {}
    for label, fit in fits.items():
        d = fit if isinstance(fit, Diagnostics) else fit.diagnostics
        rows[label] = {
            "diagnostics ok": bool(d.ok),
            "max R-hat": d.max_r_hat,
            "min bulk ESS": d.min_ess_bulk,
            "min tail ESS": d.min_ess_tail,
            "divergences": int(d.divergences),
            "reasons": "; ".join(d.messages),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def warn_if_failed(diagnostics: Diagnostics, what: str) -> None:
    """Emit :class:`ConvergenceWarning` naming the failed checks (never raises)."""
    if not diagnostics.ok:
        warnings.warn(
            f"{what} failed its diagnostics gate: " + "; ".join(diagnostics.messages),
            ConvergenceWarning,
            stacklevel=3,
        )
