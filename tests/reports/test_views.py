"""Report views of the allocation check, on hand-made frames shaped like ``AllocationCheck``'s (no fitting)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ltvlab.reports.views import cells_view, policies_view


def _policies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "policy": ["optimal", "uniform", "highest_ltv", "oracle"],
            "contacts": [1200, 900, 1000, 1300],
            "spent": [1500.0, 1499.5, 1500.0, 1500.0],
            "expected_return": [190018.4, 38000.0, 150000.0, 160000.0],
            "ci_low": [147282.0, 31569.0, 120000.0, np.nan],
            "ci_high": [232255.0, 46171.0, 180000.0, np.nan],
            "realised": [125316.0, 40000.0, 125316.0, 160000.0],
            "covered": [False, True, True, None],
            "share_of_oracle": [125316 / 160000, 0.25, 125316 / 160000, 1.0],
        }
    )


def test_policies_view_shows_every_policy_with_its_interval_and_the_truth() -> None:
    table = policies_view(_policies(), level=0.9)
    (part,) = table.parts
    assert list(part["Policy"]) == [
        "optimal plan",
        "uniform split",
        "highest-LTV-first policy",
        "oracle",
    ]
    row = part.iloc[0]
    assert row["90% credible interval"] == "$147,282 to $232,255"
    assert row["Expected net value"] == "$190,018" and row["Realised (truth)"] == "$125,316"
    assert row["Interval covers realised"] == "no" and row["Share of oracle"] == "78%"
    assert row["Customers contacted"] == "1,200" and row["Spent"] == "$1,500"
    oracle = part.iloc[3]
    assert oracle["90% credible interval"] == "—" and oracle["Interval covers realised"] == "—"
    html = table.to_html()
    for text in ("nan", "NaN", "None", "147282"):
        assert text not in html


def _cells(n_segments: int = 5, n_strategies: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for s in range(n_segments):
        for k in range(n_strategies):
            mean = float(rng.uniform(0, 20))
            rows.append({"segment": f"s{s}", "strategy": f"k{k}", "value_mean": mean, "value_low": mean - 2,
                         "value_high": mean + 2, "true_value": mean + (5 if (s, k) in ((1, 2), (3, 4)) else 0.5),
                         "rate_multiplier_mean": 1.1, "true_rate_multiplier": 1.05, "true_dropout_multiplier": 0.9})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["covered"] = (frame["value_low"] <= frame["true_value"]) & (
        frame["true_value"] <= frame["value_high"]
    )
    return frame


def test_cells_view_lists_the_misses_first_and_says_how_many_more() -> None:
    cells = _cells()
    table = cells_view(cells, level=0.9, rows=10)
    shown = table.to_frame()
    assert len(shown) == 10
    assert list(shown["Interval covers truth"][:2]) == ["no", "no"]
    assert set(zip(shown["Segment"][:2], shown["Strategy"][:2], strict=True)) == {("s1", "k2"), ("s3", "k4")}
    # after the misses, the highest expected values in order
    covered = cells[cells["covered"]].sort_values("value_mean", ascending=False)
    # interval width $4: two significant figures of the width -> one decimal for the estimate and its bounds
    expected = [f"${v:.1f} (${v - 2:.1f} to ${v + 2:.1f})" for v in covered["value_mean"][:8]]
    assert list(shown["Value per contact (90% credible interval)"][2:]) == expected
    assert "2 of 30 intervals miss the truth" in table.caption
    assert table.caption.endswith("First 10 of 30 rows shown (20 more not shown).")
    assert shown["Rate multiplier: estimated / true"].iloc[0] == "1.10 / 1.05"


def test_clv_table_shows_each_figure_beside_its_value() -> None:
    """The CLV table of the LTV report once rendered values without their row labels (both headers were empty)."""
    from types import SimpleNamespace

    from ltvlab.reports import format as fmt
    from ltvlab.reports.views import clv_table

    scores = pd.DataFrame({"clv_mean": [10.0, 30.0], "clv_q05": [5.0, 20.0], "clv_q95": [15.0, 45.0]})
    baseline = SimpleNamespace(label="naive baseline", value_per_customer=12.5)
    html = clv_table(scores, baseline)._repr_html_()
    rows = [
        ("model: mean CLV per customer", fmt.money(20.0)),
        ("model: total CLV of the base", fmt.money(40.0)),
        ("intervals, summed", f"{fmt.money(25.0)} to {fmt.money(60.0)}"),
        ("naive baseline", f"{fmt.money(12.5)} per customer"),
    ]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    pairs = list(zip(cells[::2], cells[1::2], strict=True))
    assert len(pairs) == len(rows)
    for (label, value), (want_label, want_value) in zip(pairs, rows, strict=True):
        assert want_label in label and value == want_value, (label, value)


def test_comparison_sampling_note_states_draws_and_ess_of_every_model() -> None:
    from ltvlab.reports.views import comparison_sampling_note

    table = pd.DataFrame(
        {
            "model": ["mbgnbd", "bgnbd", "paretonbd"],
            "label": ["MBG/NBD", "BG/NBD", "Pareto/NBD"],
            "chains": [2, 2, None],
            "draws": [500, 1000, None],
            "tune": [500, 1000, None],
            "min_ess_bulk": [612.4, 1480.0, None],
            "min_ess_tail": [701.0, 1210.6, None],
        }
    )
    note = comparison_sampling_note(table, reused="bgnbd")
    assert note == (
        "Sampling: MBG/NBD: NUTS, 2 chains x 500 draws after 500 tuning steps, min bulk ESS 612, min tail ESS 701; "
        "BG/NBD (this report's fit, reused): NUTS, 2 chains x 1,000 draws after 1,000 tuning steps, min bulk ESS "
        "1,480, min tail ESS 1,211; Pareto/NBD: point estimate: no uncertainty, no sampler diagnostics."
    )
    point = table.assign(chains=None, draws=None, tune=None, min_ess_bulk=None, min_ess_tail=None)
    assert comparison_sampling_note(point) == (
        "Every model is a MAP fit: point estimate: no uncertainty, no sampler diagnostics."
    )


def test_posterior_table_states_the_reports_90_percent_level(cdnow_sample_summary) -> None:
    import arviz as az

    from ltvlab.ltv import BGNBD
    from ltvlab.reports.views import posterior_table

    fit = BGNBD().fit(cdnow_sample_summary, draws=200, tune=300, seed=5)
    frame = posterior_table(fit).to_frame()
    assert {"90% HDI low", "90% HDI high"} <= set(frame.columns) and not any(
        "94%" in c for c in frame.columns
    )
    low, high = az.hdi(fit.param_draws["r"][:, 0], hdi_prob=0.9)
    row = frame[frame["Parameter"] == "r"].iloc[0]  # 3 significant figures: within 5e-3
    assert float(row["90% HDI low"].replace(",", "")) == __import__("pytest").approx(low, rel=5e-3)
    assert float(row["90% HDI high"].replace(",", "")) == __import__("pytest").approx(high, rel=5e-3)
    assert list(fit.summary().columns[4:6]) == ["hdi_3%", "hdi_97%"]  # the library default stays ArviZ's 94%
