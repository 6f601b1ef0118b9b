"""IPW / AIPW on confounded data with a known effect, overlap diagnostics, balance, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.causal import WeightingDesign
from ltvlab.errors import LtvlabError
from tests.causal.dgp import TRUE_EFFECT, confounded_frame


@pytest.fixture(scope="module")
def design() -> WeightingDesign:
    frame = confounded_frame(4000, seed=7)
    return WeightingDesign(frame, treatment="treated", outcome="y", covariates=["x1", "x2", "region"])


@pytest.mark.parametrize("method", ["ipw", "aipw"])
def test_recovers_known_effect_where_naive_is_biased(design: WeightingDesign, method: str) -> None:
    result = getattr(design, method)()
    # The naive difference carries the confounding bias 1.5 * dE[x1] + 1.0 * dE[x2] (about 1.1 here):
    # its whole 95% interval lies above the truth.
    assert result.naive_ci_low > TRUE_EFFECT + 0.5
    # The design's interval covers the truth (a 95% interval, fixed seed) and is well away from the naive one.
    assert result.ci_low <= TRUE_EFFECT <= result.ci_high
    assert result.ci_high < result.naive_ci_low
    assert result.naive_bias > 0.5
    assert result.method == method and result.n == 4000 and result.n_trimmed == 0
    assert result.mean_treated - result.mean_control == pytest.approx(result.estimate)


def test_ipw_matches_hajek_formula_and_standard_error_matches_bootstrap() -> None:
    """Point estimate = weighted means by hand; SE (M-estimation) agrees with a nonparametric bootstrap."""
    frame = confounded_frame(1500, seed=3)
    result = WeightingDesign(frame, treatment="treated", outcome="y", covariates=["x1", "x2"]).ipw()
    from sklearn.linear_model import LogisticRegression

    x = frame[["x1", "x2"]].to_numpy()
    t = frame["treated"].to_numpy()
    e = LogisticRegression(C=1e10, max_iter=1000).fit(x, t).predict_proba(x)[:, 1]
    y = frame["y"].to_numpy()
    hajek = np.average(y[t == 1], weights=1 / e[t == 1]) - np.average(y[t == 0], weights=1 / (1 - e[t == 0]))
    assert result.estimate == pytest.approx(hajek, abs=1e-5)

    rng = np.random.default_rng(11)
    boots = []
    for _ in range(200):
        sample = frame.iloc[rng.integers(0, len(frame), len(frame))].reset_index(drop=True)
        boots.append(
            WeightingDesign(sample, treatment="treated", outcome="y", covariates=["x1", "x2"]).ipw().estimate
        )
    # The bootstrap SD from B = 200 resamples has relative MC error ~ 1/sqrt(2B) = 5%; allow 4 of those.
    assert result.std_error == pytest.approx(np.std(boots, ddof=1), rel=0.20)


def test_balance_improves_after_weighting(design: WeightingDesign) -> None:
    table = design.balance()
    x1 = table.set_index("covariate").loc["x1"]
    assert abs(x1["smd_unweighted"]) > 0.5  # strong confounding by construction (logit slope 0.8)
    assert table["balanced"].all()
    assert (table["smd_weighted"].abs() < 0.1).all()


def test_overlap_reports_rule_and_quantiles(design: WeightingDesign) -> None:
    summary = design.overlap()
    assert set(summary.table["group"]) == {"treated", "control"}
    assert "drop units with propensity outside [0.01, 0.99]" in summary.rule
    assert summary.n_outside == 0
    treated_mean = summary.table.set_index("group").loc["treated", "mean"]
    control_mean = summary.table.set_index("group").loc["control", "mean"]
    assert treated_mean > control_mean  # treated units have higher propensities on average
    assert len(summary.propensity) == 4000


def test_no_overlap_raises_clear_error() -> None:
    frame = confounded_frame(2000, seed=5, strength=12.0)  # propensities pile up at 0 and 1
    design = WeightingDesign(frame, treatment="treated", outcome="y", covariates=["x1", "x2"])
    assert "propensities_near_0_or_1" in design.overlap().warnings
    with pytest.raises(LtvlabError, match="no overlap"):
        design.ipw()


def test_partial_overlap_trims_and_says_so() -> None:
    frame = confounded_frame(3000, seed=9, strength=3.0)
    result = WeightingDesign(frame, treatment="treated", outcome="y", covariates=["x1", "x2"]).aipw()
    assert result.n_trimmed > 0
    assert result.estimand == "ate_overlap_population"
    assert any(w.startswith("trimmed_") for w in result.warnings)
    assert result.n + result.n_trimmed == 3000


def test_treatment_that_never_varies_raises() -> None:
    frame = confounded_frame(200, seed=1).assign(treated=1)
    with pytest.raises(LtvlabError, match="never varies"):
        WeightingDesign(frame, treatment="treated", outcome="y", covariates=["x1"])


def test_non_binary_treatment_and_missing_column_raise() -> None:
    frame = confounded_frame(200, seed=1)
    with pytest.raises(LtvlabError, match="0/1"):
        WeightingDesign(
            frame.assign(treated=frame["treated"] * 2), treatment="treated", outcome="y", covariates=["x1"]
        )
    with pytest.raises(LtvlabError, match="not found"):
        WeightingDesign(frame, treatment="treated", outcome="y", covariates=["tenure"])


def test_sklearn_models_accepted() -> None:
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    frame = confounded_frame(3000, seed=21)
    design = WeightingDesign(
        frame,
        treatment="treated",
        outcome="y",
        covariates=["x1", "x2"],
        propensity_model=LogisticRegression(),
        outcome_model=GradientBoostingRegressor(max_depth=2, n_estimators=50),
        seed=1,
    )
    ipw, aipw = design.ipw(), design.aipw()
    assert ipw.propensity_model == "LogisticRegression" and "known" in ipw.variance_method
    assert aipw.outcome_model == "GradientBoostingRegressor"
    for result in (ipw, aipw):
        assert result.ci_low <= TRUE_EFFECT <= result.ci_high


def test_to_frame_has_naive_next_to_estimate(design: WeightingDesign) -> None:
    frame = design.aipw().to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert {"estimate", "naive_estimate", "naive_bias", "trimming", "warnings"} <= set(frame.columns)
