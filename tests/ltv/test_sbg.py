"""sBG contractual retention (Fader & Hardie 2007): likelihood, closed forms, generator, published fit, data.

Tolerances: the published MLE to 1%; Monte Carlo comparisons within 4 binomial / sample standard errors; closed
forms against direct sums to float rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.data import load_dataset
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import SBG
from ltvlab.ltv.sbg import (
    constant_retention_baseline,
    project_retention,
    residual_value,
    retention_rows,
    retention_rows_from_records,
    sbg_loglik,
    sbg_residual_lifetime,
    sbg_survival,
)
from tests.ltv.model_references import SBG as REF
from tests.ltv.model_references import SBG_LL

K_SE = 4.0


@pytest.fixture(scope="module")
def rows():
    return retention_rows(load_dataset("retention"), cohort_size=1000)


@pytest.fixture(scope="module")
def mle(rows):
    return SBG(pooling="none", segment="cohort", priors="flat").fit(rows, method="map", weights="count")


def test_flat_prior_map_reproduces_the_published_fits(rows, mle):
    table = mle.summary().set_index(["segment", "param"])["mean"]
    for cohort, params in REF.items():
        for name, value in params.items():
            assert table[(cohort, name)] == pytest.approx(value, rel=0.01), (cohort, name)
        own = rows[rows.cohort == cohort]
        ll = (
            sbg_loglik(own[col.X], own[col.T], *(table[(cohort, k)] for k in ("alpha", "beta")))
            * own["count"]
        )
        assert ll.sum() == pytest.approx(SBG_LL[cohort], abs=0.5)
    assert mle.log_likelihood == pytest.approx(sum(SBG_LL.values()), abs=1.0)


def test_closed_forms_are_a_distribution_and_match_the_generator():
    alpha, beta = 0.7, 1.2
    t = np.arange(1, 2001)
    churn = np.exp(sbg_loglik(1, t, alpha, beta))
    # P(T = t) + S(t) telescopes: the probabilities of cancelling by t and of surviving t add up to 1
    np.testing.assert_allclose(np.cumsum(churn) + sbg_survival(t, alpha, beta), 1.0, atol=1e-12)
    # 400,000 customers from the generator: theta ~ Beta, lifetime ~ Geometric(theta)
    rng = np.random.default_rng(2)
    n = 400_000
    lifetime = rng.geometric(rng.beta(alpha, beta, n))
    for k in (1, 3, 7, 12):
        share = (lifetime > k).mean()
        expected = sbg_survival(k, alpha, beta)
        assert abs(share - expected) <= K_SE * np.sqrt(expected * (1 - expected) / n), k


def test_residual_lifetime_closed_form_equals_the_direct_sum():
    alpha, beta, d = 0.704, 1.182, 0.10
    for n in (1, 5, 12):
        direct = sbg_residual_lifetime(n, alpha, beta, discount_rate=d, horizon=5000)
        assert sbg_residual_lifetime(n, alpha, beta, discount_rate=d) == pytest.approx(direct, rel=1e-9)
    # alpha > 1 has a finite undiscounted mean (beta + n - 1) / (alpha - 1)
    assert sbg_residual_lifetime(3, 2.5, 1.0) == pytest.approx(3.0 / 1.5)
    assert np.isinf(sbg_residual_lifetime(3, 0.7, 1.0))


def test_projection_and_the_constant_rate_baseline(rows, mle):
    # F&H 2007: retention rates rise with tenure, and a constant rate fitted to years 1-7 under-projects
    # survival in years 8-12 for both cohorts.
    projection = project_retention(mle, periods=12)
    baselines = {b.cohort: b for b in constant_retention_baseline(rows, periods=12)}
    for cohort in REF:
        proj = projection[projection.cohort == cohort].set_index("period")
        assert np.all(np.diff(proj["retention_mean"].to_numpy()[1:]) > 0)
        base = baselines[cohort].survival.set_index("period")["survival"]
        assert (proj.loc[8:12, "survival_mean"] > base.loc[8:12]).all()
        assert "BASELINE" in baselines[cohort].label
    value = residual_value(mle, tenure=8, value_per_period=100.0, discount_rate=0.1).set_index("cohort")
    assert value.loc["high_end", "mean"] > value.loc["regular", "mean"] > 100.0


def test_rows_from_per_customer_records():
    records = pd.DataFrame(
        {
            "start": ["2024-01-15", "2024-01-20", "2024-02-01", "2024-01-02", "2024-06-10"],
            "end": ["2024-03-10", None, "2024-02-20", None, None],
        }
    )
    out = retention_rows_from_records(records, start="start", end="end", as_of="2024-06-30", period="M")
    got = {tuple(r) for r in out[["cohort", col.X, col.T, "count"]].itertuples(index=False)}
    # Jan starters: one cancelled in March (end of period 2), two active after 5 complete months (Feb-Jun);
    # the Feb starter cancelled within February (end of period 1, at least one period); the June starter has
    # no complete period yet and is left out.
    assert got == {("2024-01", 1, 2.0, 1.0), ("2024-01", 0, 5.0, 2.0), ("2024-02", 1, 1.0, 1.0)}
    with pytest.raises(LtvlabError, match="before 'start'"):
        retention_rows_from_records(
            records.assign(end=["2023-12-01", None, None, None, None]),
            start="start",
            end="end",
            as_of="2024-06-30",
        )


def test_partial_pooling_and_bad_input(rows):
    fit = SBG(pooling="partial", segment="cohort").fit(rows, method="map", weights="count")
    assert fit.diagnostics.ok and set(fit.segments) == set(REF)
    with pytest.raises(LtvlabError, match="must not increase"):
        retention_rows(pd.DataFrame({"segment": "a", "year": [0, 1, 2], "percent_alive": [100, 60, 70]}))
    with pytest.raises(LtvlabError, match="x must be 1"):
        SBG().fit(rows.assign(**{col.X: 2}), method="map", weights="count")
