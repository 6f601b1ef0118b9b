"""Hillstrom (MineThatData 2008) published figures, and cross-checks against scipy / statsmodels."""

from __future__ import annotations

import pytest
from scipy import stats
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from ltvlab.experiments import MeanStats, analyse_experiment, group_mean_stats, srm_test, welch_test
from tests.reference import hillstrom as ref


def _decimals(text: float) -> int:
    digits = repr(text).split(".")[1]
    return len(digits)


def _assert_rounds_to(value: float, published: float) -> None:
    # "to the stated decimals": the value must lie within half a unit of the listing's last digit.
    step = 10.0 ** -_decimals(published)
    assert abs(value - published) <= step / 2 + 1e-12, (value, published)


@pytest.fixture(scope="module")
def report(hillstrom):
    return analyse_experiment(
        hillstrom, arm_col="segment", control=ref.CONTROL, metrics=["visit", "conversion", "spend"]
    )


def test_group_sizes_and_means(hillstrom) -> None:
    for metric in ("visit", "conversion", "spend"):
        groups = group_mean_stats(hillstrom, "segment", metric)
        for arm, figures in ref.ARMS.items():
            assert groups[arm].n == figures["n"]
            _assert_rounds_to(groups[arm].mean, figures[metric])


@pytest.mark.parametrize("metric", sorted(ref.LIFTS))
@pytest.mark.parametrize("arm", ["Mens E-Mail", "Womens E-Mail"])
def test_welch_lifts_match_published(report, metric: str, arm: str) -> None:
    effect = next(e for e in report.effects if e.arm == arm and e.metric == metric)
    lift, low, high = ref.LIFTS[metric][arm]
    assert effect.method == "welch"
    _assert_rounds_to(effect.estimate, lift)
    _assert_rounds_to(effect.ci_low, low)
    _assert_rounds_to(effect.ci_high, high)


def test_srm_matches_published(hillstrom) -> None:
    counts = hillstrom["segment"].value_counts().to_dict()
    result = srm_test(counts)
    assert round(result.p_value, 2) == ref.SRM_P
    assert not result.flagged
    # Independent implementation: scipy's chi-square goodness of fit.
    assert result.p_value == pytest.approx(stats.chisquare(list(counts.values())).pvalue, rel=1e-12)


@pytest.mark.parametrize("metric", ["visit", "conversion", "spend"])
@pytest.mark.parametrize("arm", ["Mens E-Mail", "Womens E-Mail"])
def test_welch_agrees_with_scipy_and_statsmodels(hillstrom, metric: str, arm: str) -> None:
    a = hillstrom.loc[hillstrom["segment"] == arm, metric].to_numpy(float)
    c = hillstrom.loc[hillstrom["segment"] == ref.CONTROL, metric].to_numpy(float)
    ours = welch_test(MeanStats.from_values(a), MeanStats.from_values(c))
    scipy_result = stats.ttest_ind(a, c, equal_var=False)
    assert ours.p_value == pytest.approx(scipy_result.pvalue, rel=1e-8)
    compare = CompareMeans(DescrStatsW(a), DescrStatsW(c))
    low, high = compare.tconfint_diff(alpha=0.05, usevar="unequal")
    # Closed forms on the same data: only floating-point rounding of sums of squares separates them.
    assert ours.ci_low == pytest.approx(low, rel=1e-9)
    assert ours.ci_high == pytest.approx(high, rel=1e-9)


@pytest.mark.parametrize("metric", ["visit", "conversion"])
def test_proportion_difference_agrees_with_statsmodels_wald(hillstrom, metric: str) -> None:
    arm = "Womens E-Mail"
    a = hillstrom.loc[hillstrom["segment"] == arm, metric]
    c = hillstrom.loc[hillstrom["segment"] == ref.CONTROL, metric]
    ours = welch_test(MeanStats.from_values(a), MeanStats.from_values(c))
    low, high = sm_proportion.confint_proportions_2indep(
        a.sum(), len(a), c.sum(), len(c), method="wald", compare="diff"
    )
    wald = sm_proportion.test_proportions_2indep(
        a.sum(), len(a), c.sum(), len(c), method="wald", compare="diff"
    )
    # Welch uses n - 1 variances and t quantiles, Wald n and z: both differ by O(1/n) ~ 5e-5 relative at
    # n ~ 21,000, so the interval ends agree to well under 1e-3 relative and p-values to 1e-2 relative.
    assert ours.ci_low == pytest.approx(low, rel=1e-3)
    assert ours.ci_high == pytest.approx(high, rel=1e-3)
    assert ours.p_value == pytest.approx(wald.pvalue, rel=1e-2)


def test_mean_stats_add_like_pooling(hillstrom) -> None:
    groups = group_mean_stats(hillstrom, "segment", "spend")
    pooled = sum(groups.values(), MeanStats(0, 0.0, 0.0))
    values = hillstrom["spend"].to_numpy(float)
    assert pooled.n == len(values)
    assert pooled.mean == pytest.approx(values.mean(), rel=1e-12)
    assert pooled.variance == pytest.approx(values.var(ddof=1), rel=1e-9)


@pytest.mark.parametrize("arm", ["Mens E-Mail", "Womens E-Mail"])
def test_relative_lift_interval_agrees_with_log_ratio_interval(hillstrom, arm: str) -> None:
    a = hillstrom.loc[hillstrom["segment"] == arm, "visit"]
    c = hillstrom.loc[hillstrom["segment"] == ref.CONTROL, "visit"]
    ours = welch_test(MeanStats.from_values(a), MeanStats.from_values(c))
    assert ours.relative_lift == pytest.approx(a.mean() / c.mean() - 1, rel=1e-12)
    low, high = sm_proportion.confint_proportions_2indep(
        a.sum(), len(a), c.sum(), len(c), method="log", compare="ratio"
    )
    # Delta method on the ratio vs the Katz log interval: asymptotically equivalent; they differ by the
    # skewness of the ratio, O(se^2 / ratio) ~ 0.003 here, so ends agree to 0.005 absolute.
    assert ours.relative_ci_low == pytest.approx(low - 1, abs=0.005)
    assert ours.relative_ci_high == pytest.approx(high - 1, abs=0.005)
