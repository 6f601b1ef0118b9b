"""Sample-ratio mismatch is caught; an intact split is not flagged."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.experiments import analyse_experiment, srm_test


def _split_counts(n_units: int, lost_share: float, seed: int) -> dict[str, int]:
    """A 50/50 randomisation of ``n_units`` after losing ``lost_share`` of the treated units at random."""
    rng = np.random.default_rng(seed)
    treated = rng.random(n_units) < 0.5
    kept = ~treated | (rng.random(n_units) >= lost_share)
    return {"control": int((~treated).sum()), "treatment": int((treated & kept).sum())}


def test_two_percent_of_treatment_lost_is_flagged() -> None:
    # Losing 2% of treatment shifts the treated share from 0.5 to 0.49495; the chi-square noncentrality is
    # about n * 1e-4, so at 500,000 units the expected statistic is ~50 and the flag (chi2 > 10.83) fires
    # with probability > 0.9999. (At 200,000 units the power is only ~0.9.)
    result = srm_test(_split_counts(500_000, 0.02, seed=1))
    print(f"SRM p with 2% of treatment lost (500,000 units): {result.p_value:.2g}")
    assert result.flagged
    # The expected counts themselves (100,000 planned per arm, 98,000 arrive) are flagged too.
    assert srm_test({"control": 100_000, "treatment": 98_000}).flagged


def test_intact_split_is_not_flagged() -> None:
    result = srm_test(_split_counts(200_000, 0.0, seed=1))
    assert not result.flagged


def test_planned_unequal_shares() -> None:
    assert not srm_test({"a": 7000, "b": 3000}, planned_shares={"a": 0.7, "b": 0.3}).flagged
    assert srm_test({"a": 7000, "b": 3000}).flagged
    with pytest.raises(ValueError, match="no share"):
        srm_test({"a": 1, "b": 2}, planned_shares={"a": 1.0})


def test_engine_reports_srm_as_untrustworthy() -> None:
    rng = np.random.default_rng(2)
    counts = _split_counts(500_000, 0.02, seed=3)
    arms = np.repeat(list(counts), list(counts.values()))
    frame = __import__("pandas").DataFrame({"arm": arms, "y": rng.normal(size=arms.size)})
    report = analyse_experiment(frame, arm_col="arm", control="control", metrics=["y"])
    assert report.srm.flagged and not report.trustworthy
    assert any("sample-ratio mismatch" in w for w in report.warnings)
    assert "WARNING" in report.summary_text()
