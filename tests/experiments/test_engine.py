"""analyse_experiment: user mistakes raise LtvlabError; degenerate data gives warnings; the report frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.experiments import analyse_experiment
from tests.reference import hillstrom as ref


def _frame(seed: int = 0, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "arm": np.repeat(["control", "a", "b"], n),
            "visit": (rng.random(3 * n) < 0.2).astype(int),
            "spend": rng.gamma(1.0, 10.0, 3 * n),
            "pre": rng.normal(size=3 * n),
        }
    )


@pytest.mark.parametrize(
    ("mutate", "kwargs", "message"),
    [
        (lambda f: f[f["arm"] == "control"], {}, "only one arm"),
        (lambda f: f, {"control": "Control"}, "control label 'Control' not found"),
        (lambda f: f.assign(spend=f["spend"].where(f.index != 5)), {}, "'spend' has 1 missing"),
        (lambda f: f.assign(visit=f["visit"].where(f.index != 7, 2)), {"binary_metrics": ["visit"]}, "declared binary"),
        (lambda f: pd.concat([f, pd.DataFrame({"arm": ["c"], "visit": [1], "spend": [1.0], "pre": [0.0]})]), {}, "single unit"),
        (lambda f: f, {"metrics": ["revenue"]}, "metric column 'revenue' not found"),
        (lambda f: f, {"arm_col": "group"}, "arm column 'group' not found"),
        (lambda f: f.head(0), {}, "no rows"),
        (lambda f: f, {"correction": "bonferroni"}, "unknown correction"),
        (lambda f: f.assign(pre=f["pre"].where(f.index != 3)), {"covariates": ["pre"]}, "covariate column 'pre'"),
        (lambda f: f.assign(arm=f["arm"].where(f.index != 2)), {}, "arm column 'arm' is empty"),
    ],
    ids=["one-arm", "control-absent", "nan-outcome", "non-binary", "arm-of-size-1", "missing-metric",
         "missing-arm-col", "empty-frame", "bad-correction", "nan-covariate", "nan-arm"],
)  # fmt: skip
def test_user_mistakes_raise_clear_errors(mutate, kwargs: dict, message: str) -> None:
    arguments = {"arm_col": "arm", "control": "control", "metrics": ["visit", "spend"], **kwargs}
    with pytest.raises(LtvlabError, match=message):
        analyse_experiment(mutate(_frame()), **arguments)


def test_empty_planned_arm_gives_warnings_not_a_crash() -> None:
    report = analyse_experiment(
        _frame(), arm_col="arm", control="control", metrics=["visit"], arms=["control", "a", "b", "c"]
    )
    empty = next(e for e in report.effects if e.arm == "c")
    assert "empty_arm" in empty.warnings and np.isnan(empty.estimate)
    assert any("'c' has no units" in w for w in report.warnings)
    # Planned 4-way split with one arm at zero is a sample-ratio mismatch.
    assert report.srm.flagged
    assert "no estimate" in report.summary_text()


def test_all_constant_outcome_gives_warnings() -> None:
    frame = _frame().assign(visit=0, spend=5.0)
    report = analyse_experiment(frame, arm_col="arm", control="control", metrics=["visit", "spend"])
    for effect in report.effects:
        assert effect.estimate == 0 and "constant_outcome" in effect.warnings
        assert np.isnan(effect.p_value)
    assert any("constant" in w for w in report.warnings)
    summary = report.summary_frame()
    assert summary["warnings"].str.contains("zero_variance").all()


def test_zero_variance_in_one_arm_is_flagged() -> None:
    frame = _frame()
    frame.loc[frame["arm"] == "a", "visit"] = 0
    report = analyse_experiment(frame, arm_col="arm", control="control", metrics=["visit"])
    effect = next(e for e in report.effects if e.arm == "a")
    assert "zero_variance_arm" in effect.warnings and np.isfinite(effect.p_value)


def test_full_report_on_hillstrom(hillstrom) -> None:
    report = analyse_experiment(
        hillstrom,
        arm_col="segment",
        control=ref.CONTROL,
        metrics=["visit", "conversion", "spend"],
        covariates=["history", "recency", "channel"],
        ratio_metrics={"spend_per_visit": ("spend", "visit")},
        guardrails=["conversion"],
        winsorize_metrics=["spend"],
        correction="bh",
        segment_col="womens",
        seed=3,
    )
    assert set(report.binary_metrics) == {"visit", "conversion"}
    summary = report.summary_frame()
    assert len(summary) == 2 * 4
    assert (summary.loc[summary["metric"] != "spend_per_visit", "method"] == "cuped").all()
    assert summary["srm_p_value"].nunique() == 1 and not summary["guardrail_breached"].any()
    # BH-adjusted p-values are never below the raw ones and keep their order.
    assert (summary["p_value_adjusted"] >= summary["p_value"] - 1e-15).all()
    spend = next(e for e in report.effects if e.metric == "spend" and e.method == "welch")
    assert "winsorised" in spend.note
    assert report.balance["smd"].abs().max() < 0.1 and report.trustworthy
    het = report.heterogeneity_frame()
    assert set(het["segment_col"]) == {"womens"} and len(het) == 2 * 3 * 2
    text = report.summary_text()
    assert "Womens E-Mail" in text and "womens" in text
    assert len(report.effects_frame()) == 8 + 6 and len(report.bayes_frame()) == 6


def test_winsorize_caps_zero_inflated_revenue_at_the_nonzero_quantile() -> None:
    from ltvlab.experiments import winsorize

    values = np.r_[np.zeros(9000), np.arange(1.0, 1001.0)]
    capped = winsorize(values, upper_quantile=0.99)
    # 99% quantile of 1..1000 (numpy linear interpolation) = 990.01; the 10 values above it are capped.
    assert capped.cap == pytest.approx(990.01)
    assert capped.n_capped == 10
    assert capped.values.max() == pytest.approx(990.01) and (capped.values == 0).sum() == 9000
    with pytest.raises(LtvlabError):
        winsorize(values, upper_quantile=1.5)
