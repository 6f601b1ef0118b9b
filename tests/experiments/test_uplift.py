"""Uplift targeting: Qini curve against a known truth, and a held-out T-learner on Hillstrom."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.experiments import fit_uplift, qini_curve_weighted
from tests.reference import hillstrom as ref

FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]


def test_qini_curve_of_an_oracle_ranking_matches_theory() -> None:
    """Effect +0.2 only for x > 0 (half the population), base rate 0.1, 50/50 assignment.

    Ranking by x, the Qini curve rises linearly to 0.2 * 1/4 = 0.05 incremental visits per customer at depth
    0.5 and stays flat: AUUC = 0.0125 + 0.025 = 0.0375, random-targeting area = 0.025.
    """
    rng = np.random.default_rng(12)
    n = 40_000
    x = rng.uniform(-1, 1, n)
    treated = rng.random(n) < 0.5
    y = rng.random(n) < 0.1 + 0.2 * (x > 0) * treated
    curve = qini_curve_weighted(x, treated, y)[0]
    # MC SE of the curve at depth 0.5: sd of (Y_t - Y_c) ~ sqrt(n/4 * 0.21 + n/4 * 0.09) / n = 0.0014; 4 SE.
    assert curve[n // 2 - 1] == pytest.approx(0.05, abs=4 * 0.0014)
    assert curve[-1] == pytest.approx(0.05, abs=4 * 0.0014)
    auuc = curve.mean()
    assert auuc == pytest.approx(0.0375, abs=4 * 0.0014)
    random_scores = qini_curve_weighted(rng.random(n), treated, y)[0]
    assert random_scores.mean() < auuc - 0.008


@pytest.fixture(scope="module")
def hillstrom_uplift(hillstrom):
    return fit_uplift(
        hillstrom,
        arm_col="segment",
        treatment="Womens E-Mail",
        control=ref.CONTROL,
        outcome="visit",
        features=FEATURES,
        learner="t",
        n_bootstrap=200,
        seed=1,
    )


def test_uplift_beats_random_targeting_on_held_out_hillstrom(hillstrom, hillstrom_uplift) -> None:
    result = hillstrom_uplift
    print(
        f"held-out AUUC {result.auuc:.5f} (95% CI {result.auuc_ci_low:.5f}-{result.auuc_ci_high:.5f}), "
        f"random {result.random_auuc:.5f}, Qini coefficient {result.qini_coefficient:.5f} "
        f"(95% CI {result.qini_ci_low:.5f}-{result.qini_ci_high:.5f})"
    )
    assert result.n_test + result.n_train == 21_387 + 21_306
    assert result.auuc > result.random_auuc
    # The bootstrap interval of AUUC minus the random area excludes zero.
    assert result.qini_ci_low > 0
    assert result.qini_ci_low <= result.qini_coefficient <= result.qini_ci_high
    # Known driver (the womens heterogeneity): customers with womens = 1 get higher predicted uplift.
    womens = hillstrom.loc[result.scores["row"], "womens"].to_numpy()
    scores = result.scores["score"].to_numpy()
    assert scores[womens == 1].mean() > scores[womens == 0].mean()


@pytest.mark.parametrize("learner", ["t", "x"])
def test_learners_find_a_planted_segment(learner: str) -> None:
    """Synthetic truth: the treatment raises the outcome by 0.3 only where feature x > 0.5 (a quarter of units)."""
    import pandas as pd

    rng = np.random.default_rng(21)
    n = 8000
    frame = pd.DataFrame({"x": rng.random(n), "noise": rng.normal(size=n), "arm": rng.choice(["c", "t"], n)})
    lift = 0.3 * (frame["x"] > 0.5) * (frame["arm"] == "t")
    frame["y"] = (rng.random(n) < 0.2 + lift).astype(int)
    result = fit_uplift(
        frame, arm_col="arm", treatment="t", control="c", outcome="y", features=["x", "noise"],
        learner=learner, n_bootstrap=100, seed=0,
    )  # fmt: skip
    assert result.qini_ci_low > 0
    top = result.scores.nlargest(result.n_test // 4, "score")
    # Most of the top-scored quarter truly has x > 0.5 (random ranking would give 0.5).
    assert (frame.loc[top["row"], "x"] > 0.5).mean() > 0.8


def test_uplift_view_states_the_learner_the_split_and_the_intervals(hillstrom_uplift) -> None:
    from ltvlab.reports.views import uplift_view

    u = hillstrom_uplift
    shown = dict(uplift_view(u).parts[0].to_numpy().tolist())
    assert shown["Learner"].startswith("T-learner")
    assert shown["Treatment vs control"] == f"Womens E-Mail vs {ref.CONTROL}"
    assert shown["Customers: training / held-out"] == f"{u.n_train:,} / {u.n_test:,}"
    # the interval's level is 1 - alpha, and the model's AUUC lies inside its own bootstrap interval
    assert f"({round(100 * (1 - u.alpha))}% CI" in shown["AUUC of the model (held-out)"]
    assert u.auuc_ci_low <= u.auuc <= u.auuc_ci_high
    assert shown["Qini coefficient (model minus random)"].startswith("+" if u.qini_coefficient > 0 else "-")
