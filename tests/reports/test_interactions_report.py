"""Presentation of contact-strategy effects: tables, forest plots, naive vs adjusted, headline and answer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from ltvlab.reports.interactions import (
    average_effects,
    bias_summary,
    coverage,
    effect_table,
    interactions_headline,
    naive_vs_adjusted,
    plain_answer,
    plot_effect_forest,
    plot_naive_vs_adjusted,
)

TRUTH = pd.DataFrame(
    {
        "segment": ["s1", "s2", "s1", "s2", "s1", "s2"],
        "strategy": ["email", "email", "call", "call", "call", "call"],
        "parameter": ["purchase", "purchase", "purchase", "purchase", "dropout", "dropout"],
        "value": [0.1, 0.3, 0.4, 0.2, -0.5, -0.3],
    }
)


def _effects(shift: float = 0.0, width: float = 0.1) -> pd.DataFrame:
    mean = TRUTH["value"].to_numpy() + shift
    return TRUTH[["segment", "strategy", "parameter"]].assign(
        mean=mean, lower=mean - width, upper=mean + width
    )


def test_effect_table_reads_log_multipliers_as_rate_changes():
    table = effect_table(_effects(), TRUTH)
    row = table[
        (table["strategy"] == "call") & (table["parameter"] == "dropout") & (table["segment"] == "s1")
    ].iloc[0]
    assert row["change"] == pytest.approx(np.exp(-0.5) - 1)
    assert row["change_lower"] == pytest.approx(np.exp(-0.6) - 1)
    assert row["covered"] and row["excludes_zero"]
    assert coverage(_effects(), TRUTH) == 1.0
    assert coverage(_effects(shift=0.15), TRUTH) == 0.0  # every interval misses by 0.05


def test_average_effects_weight_the_segments():
    avg = average_effects(_effects(), weights=pd.Series({"s1": 3.0, "s2": 1.0}))
    email = avg[(avg["strategy"] == "email")].iloc[0]
    assert email["mean"] == pytest.approx(0.75 * 0.1 + 0.25 * 0.3)
    assert set(avg["segment"]) == {"all"} and len(avg) == 3


def test_naive_vs_adjusted_measures_bias_against_the_truth():
    comparison = naive_vs_adjusted(_effects(shift=0.2), _effects(), TRUTH)
    assert list(comparison["strategy"]) == ["call", "call", "email", "email"]
    np.testing.assert_allclose(comparison["naive_bias"], 0.2)
    np.testing.assert_allclose(comparison["adjusted_bias"], 0.0, atol=1e-12)
    summary = bias_summary(comparison)
    assert summary["naive_coverage"] == 0.0 and summary["adjusted_coverage"] == 1.0
    assert summary["naive_mean_bias"] == pytest.approx(0.2)


def test_plots_draw_one_row_per_effect_with_the_truth():
    ax = plot_effect_forest(_effects(), parameter="purchase", truth=TRUTH)
    assert len(ax.get_yticks()) == 4
    assert next(t.get_text() for t in ax.get_yticklabels()) == "call · s1"
    assert "purchase rate" in ax.get_xlabel()
    ax2 = plot_naive_vs_adjusted(naive_vs_adjusted(_effects(shift=0.2), _effects(), TRUTH))
    assert {t.get_text() for t in ax2.get_legend().get_texts()} == {
        "naive (90% interval)",
        "adjusted (90% interval)",
        "truth",
    }


def test_headline_states_the_largest_effect_with_its_interval_and_the_assignment():
    headline = interactions_headline(_effects(), analysed="synthetic CRM", randomised=True)
    # call has the largest average purchase effect: exp(0.3) - 1 = 35.0% with interval exp(0.2)-1 .. exp(0.4)-1
    assert headline.answer.startswith("Averaged over segments, call changes the purchase rate by +35")
    assert "(90% interval 22 to 49)" in headline.answer
    assert "dropout rate by -33" in headline.answer
    assert headline.status == "passed" and headline.facts["contacts_randomised"] is True
    targeted = interactions_headline(_effects(), analysed="x", randomised=False, adjusted_for=["score"])
    assert targeted.checks[-1].tone == "amber" and "adjusted for score" in targeted.checks[-1].detail
    naive = interactions_headline(_effects(), analysed="x", randomised=False)
    assert naive.status == "not applicable"


def test_plain_answer_speaks_of_each_strategy_and_the_design():
    value = pd.DataFrame(
        {
            "strategy": ["call"],
            "segment": ["all"],
            "mean": [12.0],
            "lower": [8.0],
            "upper": [16.0],
            "cost": [4.0],
        }
    )
    text = plain_answer(_effects(), randomised=False, value=value)
    assert "call changes the purchase rate by +35" in text and "keeps customers longer" in text
    assert "strongest in s1" in text and "email" in text
    assert "per contact against a cost of $4.00" in text
    assert text.endswith("unless the targeting is adjusted for.")
    point = _effects().assign(lower=np.nan, upper=np.nan)
    assert "point estimate" in plain_answer(point, randomised=True)


def test_report_tables_show_formatted_text_only():
    from ltvlab.reports.interactions import comparison_view, effects_view

    frame = effects_view(_effects(), TRUTH).to_frame()
    assert list(frame.columns) == [
        "Strategy", "Segment", "Rate", "Change per contact", "True change", "Interval covers truth"
    ]  # fmt: skip
    row = frame.iloc[0]  # call, dropout, s1 (sorted by parameter, strategy, segment)
    assert row["Rate"] == "dropout rate" and row["Change per contact"].startswith("-39")
    assert row["True change"] == "-39%" and row["Interval covers truth"] == "yes"
    comp = comparison_view(naive_vs_adjusted(_effects(shift=0.2), _effects(), TRUTH)).to_frame()
    assert comp.iloc[0]["Naive covers truth"] == "no" and comp.iloc[0]["Truth"] == "+0.4"


def test_point_estimates_have_no_interval_and_no_coverage():
    from ltvlab.reports.interactions import effects_view

    point = _effects(width=0.0)
    assert np.isnan(coverage(point, TRUTH))
    frame = effects_view(point, TRUTH).to_frame()
    assert frame["Interval covers truth"].eq("—").all()
    assert frame["Change per contact"].str.endswith("(point estimate, no interval)").all()
    ax = plot_effect_forest(point, parameter="dropout", truth=TRUTH)
    assert "estimate (point estimate)" in {t.get_text() for t in ax.get_legend().get_texts()}


def test_value_tables_average_draws_and_format_money():
    from ltvlab.reports.interactions import overall_value, value_view

    values = pd.DataFrame(
        {
            "segment": ["s1", "s2"] * 4,
            "strategy": ["call"] * 8,
            "draw": [0, 0, 1, 1, 2, 2, 3, 3],
            "incremental_value": [1.0, 3.0, 2.0, 4.0, 3.0, 5.0, 4.0, 6.0],
        }
    )
    overall = overall_value(values, {"call": 4.0}, level=0.5)
    assert overall.iloc[0]["mean"] == pytest.approx(3.5)  # draws average 2, 3, 4, 5
    assert overall.iloc[0]["lower"] == pytest.approx(np.quantile([2, 3, 4, 5], 0.25))
    value = pd.DataFrame(
        {"segment": ["s1"], "strategy": ["call"], "value_per_contact": [12.0], "lower": [8.0], "upper": [16.0],
         "prob_positive": [0.99], "cost": [4.0], "value_per_cost": [3.0], "per_cost_lower": [2.0], "per_cost_upper": [4.0]}
    )  # fmt: skip
    row = value_view(value).to_frame().iloc[0]
    assert row["Value per contact"] == "+$12.0 (90% interval $8.0 to $16.0)"
    assert row["Value per unit of cost"] == "+3.0 (90% interval 2.0 to 4.0)"
    assert row["Cost per contact"] == "$4.00" and row["P(value > 0)"] == "99%"


def test_plan_answer_states_the_plan_and_its_interval():
    from ltvlab.reports import format as fmt
    from ltvlab.reports.interactions import plan_answer
    from ltvlab.strategy.allocation import allocate_budget

    # Known draws: e-mail in s1 is worth 2 +- 0.5 per contact (cost 1); every other cell 0.2 or 0.3 (a loss).
    rng = np.random.default_rng(0)
    draws = np.arange(400)
    cells = {("s1", "email"): 2.0 + 0.5 * rng.standard_normal(400), ("s1", "sms"): np.full(400, 0.2),
             ("s2", "email"): np.full(400, 0.3), ("s2", "sms"): np.full(400, 0.2)}  # fmt: skip
    values = pd.concat(
        pd.DataFrame({"segment": s, "strategy": k, "draw": draws, "incremental_value": v})
        for (s, k), v in cells.items()
    )
    result = allocate_budget(values, budget=500.0, costs={"email": 1.0, "sms": 1.0},
                             segment_sizes={"s1": 300, "s2": 300})  # fmt: skip
    text = plan_answer(result)
    assert text.startswith("The allocation sends 300 email contacts to s1 (each worth $2.")
    assert "90% interval" in text and "sms" not in text
    assert "spends $300 of the $500 budget" in text
    # P(return > 0) = P(v > 1) = Phi(2) = 0.977 for v ~ N(2, 0.5); Monte Carlo SE over 400 draws 0.0075
    assert 0.977 - 4 * 0.0075 < result.prob_positive < 0.977 + 4 * 0.0075
    assert f"P(return > 0) {fmt.probability(result.prob_positive, result.n_draws, equals=True)}." in text
    point = allocate_budget(values[values["draw"] == 0], budget=500.0, costs={"email": 1.0, "sms": 1.0},
                            segment_sizes={"s1": 300, "s2": 300})  # fmt: skip
    assert "point estimate, no interval" in plan_answer(point) and "P(" not in plan_answer(point)
    losses = values[values["strategy"] == "sms"]
    nothing = allocate_budget(losses, budget=500.0, costs={"sms": 1.0}, segment_sizes={"s1": 300, "s2": 300})
    assert plan_answer(nothing).startswith("No contact is expected to pay for itself")


def test_headline_lists_the_intervals_that_miss_the_truth_with_the_chance_rate():
    assert interactions_headline(_effects(), analysed="x", randomised=True, truth=TRUTH).misses == ()
    effects = _effects()
    effects.loc[0, ["mean", "lower", "upper"]] = [
        0.5,
        0.45,
        0.55,
    ]  # email in s1: true +10.5%, interval 57-73%
    misses = interactions_headline(effects, analysed="x", randomised=True, truth=TRUTH).misses
    # 1 of 6 at 90%: chance alone about 0.6; P(at least one miss) = 1 - 0.9**6 = 0.47
    assert misses[0].startswith(
        "1 of 6 90% intervals miss the generator's true effect (chance alone: about 0.6"
    )
    assert "= 0.47" in misses[0]
    assert misses[1].startswith("email in s1: purchase rate +65% (90% interval 57 to 73) vs true +11%")
