"""Sample-ratio mismatch: are the arm sizes consistent with the planned split?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ltvlab.errors import LtvlabError


@dataclass(frozen=True, slots=True)
class SRMResult:
    """Pearson chi-square test of observed arm counts against the planned shares; ``flagged`` when p < threshold."""

    chi2: float
    dof: int
    p_value: float
    threshold: float
    flagged: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    arms: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        total = sum(self.observed)
        return pd.DataFrame(
            {
                "arm": list(self.arms),
                "observed": list(self.observed),
                "expected": list(self.expected),
                "observed_share": [o / total if total else float("nan") for o in self.observed],
                "expected_share": [e / total if total else float("nan") for e in self.expected],
            }
        )


def srm_test(
    counts: Mapping[str, int],
    *,
    planned_shares: Mapping[str, float] | None = None,
    threshold: float = 0.001,
) -> SRMResult:
    """Chi-square goodness of fit of ``counts`` to ``planned_shares`` (equal split when None).

    The conventional flag is p < 0.001: with large experiments smaller deviations are still visible, and
    a mismatch means the randomisation or the logging is broken, so effects should not be trusted.
    """
    arms = tuple(str(a) for a in counts)
    if len(arms) < 2:
        raise LtvlabError("sample-ratio check needs at least two arms")
    observed = np.array([int(counts[a]) for a in counts], dtype=float)
    if planned_shares is None:
        shares = np.full(len(arms), 1 / len(arms))
    else:
        missing = [a for a in counts if a not in planned_shares]
        if missing:
            raise LtvlabError(f"planned_shares has no share for arm(s) {missing}")
        shares = np.array([float(planned_shares[a]) for a in counts])
        if np.any(shares <= 0):
            raise LtvlabError("planned shares must be positive")
        shares = shares / shares.sum()
    total = observed.sum()
    if total == 0:
        raise LtvlabError("sample-ratio check: no units in any arm")
    expected = shares * total
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    dof = len(arms) - 1
    p_value = float(stats.chi2.sf(chi2, dof))
    return SRMResult(
        chi2=chi2,
        dof=dof,
        p_value=p_value,
        threshold=threshold,
        flagged=p_value < threshold,
        observed=tuple(int(o) for o in observed),
        expected=tuple(float(e) for e in expected),
        arms=arms,
    )
