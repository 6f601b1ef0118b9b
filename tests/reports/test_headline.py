"""Status words, headline blocks and the page layout, on hand-made result objects (no sampling)."""

from __future__ import annotations

from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from ltvlab.reports.headline import (
    Headline,
    allocation_headline,
    prediction_miss,
    render_headline,
    render_misses,
    unreliable_mark,
)
from ltvlab.reports.render import render_html, status_word
from ltvlab.reports.status import FAILED, NOT_APPLICABLE, PASSED, Check, diagnostics_check, overall


def _fit(method: str, ok: bool, messages: tuple[str, ...] = ()) -> SimpleNamespace:
    d = SimpleNamespace(ok=ok, max_r_hat=1.004, min_ess_bulk=812.4, min_ess_tail=650.0, divergences=0 if ok else 2,
                        messages=messages)  # fmt: skip
    return SimpleNamespace(method=method, diagnostics=d)


def test_diagnostics_check_words() -> None:
    assert diagnostics_check(_fit("map", True)).status == NOT_APPLICABLE
    assert diagnostics_check(_fit("map", True)).tone == "grey"
    passed = diagnostics_check(_fit("nuts", True))
    assert passed.status == PASSED and "max R-hat 1.004, min bulk ESS 812" in passed.detail
    failed = diagnostics_check(_fit("nuts", False, ("2 divergent transition(s) > 0",)))
    assert failed.status == FAILED and failed.tone == "red" and "2 divergent" in failed.detail


def test_overall_status() -> None:
    green, grey, red = Check("a", PASSED, ""), Check("b", NOT_APPLICABLE, ""), Check("c", FAILED, "")
    assert overall([green, grey]) == PASSED
    assert overall([green, red, grey]) == FAILED
    assert overall([grey]) == NOT_APPLICABLE and overall([]) == NOT_APPLICABLE


def test_a_failed_check_makes_the_headline_red_and_says_not_reliable() -> None:
    headline = Headline("data", "worth $72,502", (Check("gate", FAILED, "2 divergent transitions"),))
    html = render_headline(headline)
    assert "ltv-tone-red" in html and "Not reliable" in html and "passed" not in html.split("</style>")[1]
    assert headline.to_record()["status"] == "failed"
    assert headline.text().startswith("Not reliable")
    assert "Not reliable" in unreliable_mark(headline.checks).html
    assert unreliable_mark([Check("gate", PASSED, "")]).html == ""


def test_prediction_miss_states_its_size() -> None:
    # CDNOW sample, MAP BG/NBD: 1,661 expected against 1,882 observed -> 1661/1882 - 1 = -11.7%
    assert prediction_miss(1661, 1882, "purchases") == (
        "the model under-predicts holdout purchases by 12% (expected 1,661, observed 1,882)"
    )
    assert prediction_miss(60221, 70976, "spend", currency="$").endswith(
        "(expected $60,221, observed $70,976)"
    )
    assert prediction_miss(1900, 1882, "purchases").startswith("holdout purchases: predicted within 5%")


def test_allocation_headline_lists_realised_values_outside_their_interval() -> None:
    comparison = pd.DataFrame(
        {"policy": ["optimal", "uniform"], "expected_return": [190018.0, 38000.0],
         "ci_low": [147282.0, 31569.0], "ci_high": [232255.0, 46171.0]}
    )  # fmt: skip
    result = SimpleNamespace(comparison=comparison, credible_mass=0.9, budget=1500.0, spent=1500.0, n_draws=200,
                             expected_return=190018.0, ci_low=147282.0, ci_high=232255.0, prob_positive=1.0)  # fmt: skip
    headline = allocation_headline(result, {"optimal": 125316.0, "uniform": 40000.0}, source="synthetic")
    assert headline.status == FAILED
    assert headline.misses == (
        "the optimal plan: realised net value $125,316 lies below its own 90% credible interval "
        "($147,282 to $232,255)",
    )
    assert "$190,018 (90% credible interval $147,282 to $232,255)" in headline.answer


def test_render_puts_the_headline_first_and_warnings_in_the_run_log() -> None:
    headline = Headline("data", "the answer", (Check("gate", PASSED, "fine"),))
    cells = [
        new_markdown_cell("# Title\n\nThe question."),
        new_code_cell(
            "x", outputs=[new_output("display_data", data={"text/html": render_headline(headline)})]
        ),
        new_code_cell("y", outputs=[new_output("stream", name="stderr", text="FutureWarning: old\n")]),
        new_code_cell("z", outputs=[new_output("stream", name="stdout", text="kept\n")]),
    ]
    page = render_html(
        new_notebook(cells=cells), title="T", status="ok", parameters={"a": 1}, provenance={"seed": 1},
        recorded={"status": "passed"},
    )  # fmt: skip
    body = page[page.index("<body") :]
    assert body.index('class="ltv-headline') < body.index("<main>")  # moved into the header
    assert body.index("FutureWarning: old") > body.index('class="ltv-run-log"')  # only in the run log
    assert "kept" in body and "The question." in body and "<h1>Title</h1>" not in body
    assert "[cell 3]" in body and "[cell 4]" not in body and "[cell 4]" not in body


def test_status_word_of_runs() -> None:
    assert status_word("failed", {}) == FAILED
    assert status_word("diagnostics_failed", {"status": "passed"}) == FAILED
    assert status_word("not_run", {}) == "not run"
    assert status_word("ok", {"status": "not applicable"}) == NOT_APPLICABLE
    assert status_word("ok", {}) == NOT_APPLICABLE
    assert nbformat  # the module renders nbformat notebooks


def test_prose_escapes_dollars_so_amounts_are_not_read_as_a_formula() -> None:
    from ltvlab.reports import prose

    assert (
        prose("**optimal** $125,316, **uniform** $30,681").data
        == r"**optimal** \$125,316, **uniform** \$30,681"
    )
    assert prose(r"already \$5").data == r"already \$5"


def test_a_failed_comparison_fit_is_named_in_the_ltv_headline() -> None:
    from ltvlab.reports.headline import ltv_headline

    fit = SimpleNamespace(**vars(_fit("nuts", True)), model_name="bgnbd", pooling="complete")
    partial = _fit("nuts", False, ("2 divergent transition(s) > 0",))
    holdout = SimpleNamespace(predicted_total=1661.0, actual_total=1882.0, predicted_spend_total=None,
                              actual_spend_total=None, mae=0.7, naive_mae=1.0)  # fmt: skip
    scores = pd.DataFrame({"clv_mean": [10.0, 20.0], "clv_q05": [5.0, 8.0], "clv_q95": [15.0, 40.0]})
    headline = ltv_headline(
        fit, fit, holdout, scores, source="s", calibration_end="c", holdout_end="h", unit="W", horizon_weeks=52,
        annual_discount_rate=0.1, other_fits={"partial": partial, "complete": fit},
    )  # fmt: skip
    assert headline.status == PASSED  # the fit behind the results passed
    assert any("partial-pooling fit" in n and "2 divergent" in n for n in headline.notes)
    assert "$30 in total ($15 per customer)" in headline.answer and "$13 to $55" in headline.answer


def _policies(realised: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"policy": list(realised), "realised": list(realised.values())})


def test_identical_plans_are_a_tie_not_a_loss() -> None:
    from ltvlab.reports.headline import allocation_comparison, policy_verdicts

    plans = pd.DataFrame(
        {"policy": ["optimal", "optimal", "uniform", "highest_ltv", "highest_ltv"],
         "segment": ["a", "b", "a", "a", "b"], "strategy": ["sms", "sms", "email", "sms", "sms"],
         "contacts": [300, 200, 100, 300, 200]}
    )  # fmt: skip
    # identical plans, realised values a rounding error apart
    policies = _policies({"optimal": 5000.0, "uniform": 1200.0, "highest_ltv": 4999.9999, "oracle": 6000.0})
    assert policy_verdicts(policies, plans) == {"uniform": "beats", "highest_ltv": "tie"}
    text = allocation_comparison(policies, plans)
    assert "ties with the highest-LTV-first policy (the two plans are identical)" in text
    assert "beats the uniform split by $3,800" in text and "83% of the oracle's value" in text
    near = allocation_comparison(_policies({"optimal": 129919.0, "uniform": 30681.0, "oracle": 130058.0}))
    assert "99.9% of the oracle's value" in near  # never a rounded "100%" below the oracle
    assert "not beat" not in text.lower()
    # different plans with the same realised value are a tie too; a lower value loses and says by how much
    assert policy_verdicts(_policies({"optimal": 10.0, "uniform": 10.2}))["uniform"] == "tie"
    lost = allocation_comparison(_policies({"optimal": 4000.0, "highest_ltv": 4500.0, "oracle": 5000.0}))
    assert "earns $500 less than the highest-LTV-first policy" in lost


def _study(n_customers: int = 20_000):
    from ltvlab.strategy import CoverageStudy

    return CoverageStudy(
        n_repeats=60, n_customers=n_customers, credible_mass=0.9,
        covered={"optimal": 58, "uniform": 55, "highest_ltv": 53, "cells": 1600},
        n={"optimal": 60, "uniform": 60, "highest_ltv": 60, "cells": 1800}, settings="test settings",
    )  # fmt: skip


def test_coverage_context_states_the_study() -> None:
    from ltvlab.reports.headline import coverage_context

    text = coverage_context(_study())
    for part in ("60 simulated data sets of 20,000 customers (test settings)", "the optimal plan 96.7% (58 of 60)",
                 "the uniform split 91.7% (55 of 60)", "the highest-LTV-first policy 88.3% (53 of 60)",
                 "cells' intervals 88.9% (1,600 of 1,800)", "about one data set in 10"):  # fmt: skip
        assert part in text, part


def test_a_miss_within_a_calibrated_studys_rate_is_amber_not_red() -> None:
    comparison = pd.DataFrame(
        {"policy": ["optimal", "uniform"], "expected_return": [190018.0, 38000.0],
         "ci_low": [147282.0, 31569.0], "ci_high": [232255.0, 46171.0]}
    )  # fmt: skip
    result = SimpleNamespace(comparison=comparison, credible_mass=0.9, budget=1500.0, spent=1500.0, n_draws=200,
                             expected_return=190018.0, ci_low=147282.0, ci_high=232255.0, prob_positive=1.0)  # fmt: skip
    realised = {"optimal": 125316.0, "uniform": 40000.0}
    amber = allocation_headline(result, realised, source="s", coverage=_study(), n_customers=20_000)
    (check,) = amber.checks
    assert check.status == PASSED and check.tone == "amber"
    assert amber.notes and "96.7% (58 of 60)" in amber.notes[0]
    assert "96.7%" in render_misses(amber, notes=True).html
    # a study made at another size does not vouch for this run; a study far below nominal never does
    assert (
        allocation_headline(result, realised, source="s", coverage=_study(), n_customers=5000).status
        == FAILED
    )
    poor = _study()
    poor = type(poor)(
        **{**{f: getattr(poor, f) for f in poor.__slots__}, "covered": {**poor.covered, "optimal": 40}}
    )
    assert (
        allocation_headline(result, realised, source="s", coverage=poor, n_customers=20_000).status == FAILED
    )
    inside = allocation_headline(
        result, {"optimal": 190000.0}, source="s", coverage=_study(), n_customers=20_000
    )
    assert inside.status == PASSED and inside.checks[0].tone == "green" and inside.notes == ()


def test_one_home_for_headlines_every_public_name_importable() -> None:
    import ltvlab.reports as reports
    import ltvlab.reports.headline as home

    for name in home.__all__:
        assert getattr(home, name) is not None
    for name in ("Headline", "headline_slot", "publish_headline", "render_headline", "render_misses",
                 "render_notes", "allocation_headline", "data_quality_headline", "evidence_headline",
                 "experiment_headline", "ltv_headline", "prediction_miss", "prose", "unreliable_mark"):  # fmt: skip
        assert getattr(reports, name) is getattr(home, name), name


@pytest.mark.parametrize(
    ("name", "published"), [("bgnbd", "BG/NBD"), ("mbgnbd", "MBG/NBD"), ("paretonbd", "Pareto/NBD")]
)
def test_the_ltv_headline_names_the_model_by_its_label_not_its_registry_name(name, published) -> None:
    from ltvlab.reports.headline import ltv_headline

    fit = SimpleNamespace(**vars(_fit("nuts", True)), model_name=name, pooling="complete")
    holdout = SimpleNamespace(predicted_total=100.0, actual_total=101.0, predicted_spend_total=None,
                              actual_spend_total=None, mae=0.7, naive_mae=1.0)  # fmt: skip
    scores = pd.DataFrame({"clv_mean": [10.0, 20.0], "clv_q05": [5.0, 8.0], "clv_q95": [15.0, 40.0]})
    headline = ltv_headline(
        fit, fit, holdout, scores, source="s", calibration_end="c", holdout_end="h", unit="W", horizon_weeks=52,
        annual_discount_rate=0.1,
    )  # fmt: skip
    everything = " ".join([headline.text(), headline.analysed, *(c.name for c in headline.checks)])
    assert f"; {published} with complete pooling" in headline.analysed
    assert f"purchase model ({published})" in headline.checks[0].name
    assert name not in everything


def test_the_index_shows_a_passed_with_caution_run_in_amber_as_its_report_does() -> None:
    import re

    from ltvlab.reports.index import index_html
    from ltvlab.reports.outcome import RunOutcome
    from ltvlab.reports.render import header_html, status_tone

    comparison = pd.DataFrame(
        {"policy": ["optimal"], "expected_return": [190018.0], "ci_low": [147282.0], "ci_high": [232255.0]}
    )
    result = SimpleNamespace(comparison=comparison, credible_mass=0.9, budget=1500.0, spent=1500.0, n_draws=200,
                             expected_return=190018.0, ci_low=147282.0, ci_high=232255.0, prob_positive=1.0)  # fmt: skip
    amber = allocation_headline(
        result, {"optimal": 125316.0}, source="s", coverage=_study(), n_customers=20_000
    )
    green = allocation_headline(result, {"optimal": 190000.0}, source="s")
    red = allocation_headline(result, {"optimal": 125316.0}, source="s")
    runs = [
        RunOutcome(
            name=name,
            notebook="nb.ipynb",
            title="Budget",
            parameters={},
            status="ok",
            recorded=h.to_record(),
            html="report.html",
        )
        for name, h in (("amber-run", amber), ("green-run", green), ("red-run", red))
    ]
    assert [r.recorded["tone"] for r in runs] == ["amber", "green", "red"]
    page = index_html(runs)
    badges = dict(re.findall(r'data-run="([\w-]+)"><td>.*?ltv-status ltv-tone-(\w+) ltv-status-', page))
    assert badges == {"amber-run": "amber", "green-run": "green", "red-run": "red"}
    assert "3 runs: 2 passed (1 with a caution), 1 failed" in page
    # the report's own headline is amber too, and its badge (without a headline) uses the same colour
    assert "ltv-tone-amber" in render_headline(amber)
    assert status_tone("ok", runs[0].recorded) == "amber"
    assert "ltv-tone-amber" in header_html(title="t", status="ok", recorded=runs[0].recorded)
    # a failed run is red whatever its headline recorded; a run without a headline is grey
    assert status_tone("diagnostics_failed", runs[0].recorded) == "red"
    assert status_tone("ok", {}) == "grey"


def test_publish_headline_records_the_headline_and_returns_nothing_to_display(tmp_path, monkeypatch) -> None:
    import json

    from ltvlab.reports.headline import publish_headline
    from ltvlab.reports.record import RECORD_ENV

    monkeypatch.setenv(RECORD_ENV, str(tmp_path / "record.json"))
    headline = Headline("data", "the answer", (Check("gate", PASSED, "fine"),))
    # a notebook cell ending with this call must not print the record (a dict dump in the report body)
    assert publish_headline(headline) is None
    recorded = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    assert recorded["status"] == "passed" and recorded["tone"] == "green"
    assert recorded["headline"] == "the answer"


def test_a_laplace_fit_has_no_sampler_diagnostics_to_pass() -> None:
    # a Laplace fit's draws come from the curvature at the mode: its gate is "not applicable" (grey), never a
    # "passed" with empty R-hat / ESS figures; an optimiser that did not converge is a failure
    from ltvlab.reports.status import LAPLACE_NOTE

    converged = SimpleNamespace(method="laplace", diagnostics=SimpleNamespace(ok=True, messages=()))
    check = diagnostics_check(converged)
    assert check.status == NOT_APPLICABLE and check.detail == LAPLACE_NOTE
    stuck = SimpleNamespace(
        method="laplace", diagnostics=SimpleNamespace(ok=False, messages=("optimiser: ABNORMAL_TERMINATION",))
    )
    failed = diagnostics_check(stuck)
    assert failed.status == FAILED and "ABNORMAL_TERMINATION" in failed.detail
