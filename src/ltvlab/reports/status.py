"""The one status vocabulary of the reports: **passed**, **failed**, **not applicable**.

A :class:`Check` is one trust check (a fit's diagnostics gate, the sample-ratio check, covariate balance,
propensity overlap, pre-trends) with its status word, a colour and one line of detail. The colour adds a
nuance the word cannot carry: ``amber`` is a check that passed with a caution, ``grey`` a check that does not
apply (a MAP fit has no sampler diagnostics). The same word appears in the banner, the headline, the index and
the run's JSON record (:func:`overall`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ltvlab.reports import format as fmt

Status = Literal["passed", "failed", "not applicable"]
Tone = Literal["green", "amber", "red", "grey"]
PASSED: Status = "passed"
FAILED: Status = "failed"
NOT_APPLICABLE: Status = "not applicable"
STATUSES: tuple[Status, ...] = (PASSED, FAILED, NOT_APPLICABLE)
MAP_NOTE = "point estimate: no uncertainty, no sampler diagnostics"
LAPLACE_NOTE = (
    "Laplace approximation: intervals from the curvature at the posterior mode (optimiser converged), "
    "no sampler diagnostics"
)


@dataclass(frozen=True, slots=True)
class Check:
    """One trust check: what was checked, its status word, its colour and one line of detail."""

    name: str
    status: Status
    detail: str
    tone: Tone | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.tone is None:
            object.__setattr__(
                self, "tone", {PASSED: "green", FAILED: "red", NOT_APPLICABLE: "grey"}[self.status]
            )

    def text(self) -> str:
        """``diagnostics gate (purchase model): failed, 2 divergent transitions``."""
        return f"{self.name}: {self.status}" + (f", {self.detail}" if self.detail else "")

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "tone": str(self.tone), "detail": self.detail}


def overall(checks: Iterable[Check]) -> Status:
    """``failed`` if any check failed; ``passed`` if at least one passed; else ``not applicable``."""
    statuses = [c.status for c in checks]
    if FAILED in statuses:
        return FAILED
    if PASSED in statuses:
        return PASSED
    return NOT_APPLICABLE


def overall_tone(checks: Sequence[Check]) -> Tone:
    """The colour of the whole trust line: red, amber (a passed check with a caution), green or grey."""
    tones = [c.tone for c in checks]
    for tone in ("red", "amber", "green"):
        if tone in tones:
            return tone  # type: ignore[return-value]
    return "grey"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def diagnostics_check(fit: Any, *, name: str = "diagnostics gate") -> Check:
    """The diagnostics gate of a fitted model (an object with ``method`` and ``diagnostics``).

    MAP fits get ``not applicable`` with :data:`MAP_NOTE`, Laplace fits (whose mode was found) with
    :data:`LAPLACE_NOTE`; NUTS fits ``passed`` with their worst R-hat, ESS
    and divergences, or ``failed`` with the reasons the gate gives.
    """
    d = fit.diagnostics
    if getattr(fit, "method", "nuts") == "map":
        return Check(name, NOT_APPLICABLE, MAP_NOTE)
    if (
        getattr(fit, "method", "nuts") == "laplace"
    ):  # draws from the curvature at the mode: no sampler to diagnose
        if d.ok:
            return Check(name, NOT_APPLICABLE, LAPLACE_NOTE)
        reasons = "; ".join(d.messages) if d.messages else "the optimiser did not converge"
        return Check(name, FAILED, f"Laplace approximation: {reasons}; do not use these estimates")
    figures = (
        f"max R-hat {fmt.number(d.max_r_hat, decimals=3)}, min bulk ESS {fmt.integer(d.min_ess_bulk)}, "
        f"min tail ESS {fmt.integer(d.min_ess_tail)}, {_plural(int(d.divergences), 'divergent transition')}"
    )
    remedies = tuple(getattr(d, "remedies", ()) or ())
    if remedies:  # automatic refits (BTYDSpec.fit(remedy=True)): say what was done before these figures
        figures += f"; after {_plural(len(remedies), 'automatic refit')}: " + " | ".join(remedies)
    if d.ok:
        return Check(name, PASSED, figures)
    reasons = "; ".join(d.messages) if d.messages else figures
    if remedies:
        reasons += f" (after {_plural(len(remedies), 'automatic refit')}: " + " | ".join(remedies) + ")"
    return Check(name, FAILED, f"{reasons}; do not use these estimates")


def srm_check(srm: Any) -> Check:
    """The sample-ratio check of an experiment (``SRMResult``)."""
    detail = f"arm sizes against the planned split, {fmt.p_value(srm.p_value)} (flag below {srm.threshold:g})"
    return Check("sample-ratio check", FAILED if srm.flagged else PASSED, detail)


def balance_check(balance: pd.DataFrame, *, threshold: float = 0.1, name: str = "covariate balance") -> Check:
    """Covariate balance from a frame with ``covariate`` and ``smd`` columns (|SMD| above ``threshold`` fails)."""
    if balance is None or not len(balance):
        return Check(name, NOT_APPLICABLE, "no pre-treatment covariates given")
    smd = balance["smd"].abs()
    worst = balance.loc[smd.idxmax()]
    bad = balance.loc[smd > threshold, "covariate"].astype(str).tolist()
    detail = f"largest |SMD| {fmt.number(float(smd.max()), decimals=3)} ({worst['covariate']}), limit {threshold:g}"
    if bad:
        return Check(name, FAILED, f"{detail}; imbalanced: {', '.join(bad)}")
    return Check(name, PASSED, detail)


def overlap_check(overlap: Any, *, max_share_outside: float = 0.1) -> Check:
    """Propensity overlap (``OverlapSummary``): amber when units fall outside the trimming bounds, red when more
    than ``max_share_outside`` of them do or the summary carries a warning."""
    detail = (
        f"propensity {fmt.number(overlap.min_propensity, decimals=3)} to "
        f"{fmt.number(overlap.max_propensity, decimals=3)}; {fmt.integer(overlap.n_outside)} units "
        f"({fmt.percent(overlap.share_outside)}) outside {overlap.trim_low:g}-{overlap.trim_high:g}, trimmed"
    )
    if overlap.share_outside > max_share_outside:
        return Check("overlap", FAILED, detail)
    if overlap.n_outside or overlap.warnings:
        return Check("overlap", PASSED, detail, tone="amber")
    return Check("overlap", PASSED, detail)


def pretrend_check(did: Any) -> Check:
    """The joint pre-trend test of a difference-in-differences result (``DidResult``)."""
    detail = f"joint test of the pre-period coefficients, {fmt.p_value(did.pretrend_p_value)}"
    return Check("pre-trends", PASSED if did.pretrend_ok else FAILED, detail)
