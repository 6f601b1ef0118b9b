"""Incremental CLV: consistency with the LTV formulas and a Monte Carlo check of the strategy effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.ltv.discounting import period_discount_rate
from ltvlab.ltv.formulas import bgnbd_expected_purchases, pnbd_expected_purchases
from ltvlab.strategy import discounted_expected_purchases, incremental_clv, strategy_value_draws

PNBD = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}  # CDNOW-like values (Fader & Hardie 2005 note)
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # CDNOW MLE (FHL 2005)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [0, 1, 4, 10],
            "t_x": [0.0, 10.0, 30.0, 36.0],
            "T": [38.0, 38.0, 38.0, 38.0],
            "tier": ["lo", "lo", "hi", "hi"],
        }
    )


def _by_hand(expected, summary: pd.DataFrame, params: dict) -> np.ndarray:
    """Discounted purchases from the model's own conditional expectation, 13 periods of 4 weeks at 10%/year."""
    d = period_discount_rate(0.10, 28.0)
    x, t_x, big_t = (summary[c].to_numpy(float) for c in ("x", "t_x", "T"))
    cum = [np.zeros(len(x))] + [expected(4.0 * k, x, t_x, big_t, *params.values()) for k in range(1, 14)]
    return sum((cum[k] - cum[k - 1]) / (1 + d) ** k for k in range(1, 14))


def test_no_effect_equals_model_conditional_expectation(summary: pd.DataFrame) -> None:
    for model, params, expected in (
        ("paretonbd", PNBD, pnbd_expected_purchases),
        ("bgnbd", BGNBD, bgnbd_expected_purchases),
    ):
        ours = discounted_expected_purchases(summary, model=model, params=params)[0]
        assert ours == pytest.approx(_by_hand(expected, summary, params), rel=1e-8)
        zero = incremental_clv(summary, model=model, params=params, spend_per_purchase=40.0)
        assert np.abs(zero).max() < 1e-9


def test_rate_and_dropout_effects_match_simulation() -> None:
    """A new customer (x = t_x = T = 0) with lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta): simulate purchases
    under the strategy (rate x1.3, dropout x0.7), discount each by its 4-week period, and compare the mean with
    the closed form. 200,000 customers: the MC SE is computed below and the tolerance is 4 of them."""
    rng = np.random.default_rng(8)
    n = 200_000
    lam = rng.gamma(PNBD["r"], 1 / PNBD["alpha"], n) * 1.3
    mu = rng.gamma(PNBD["s"], 1 / PNBD["beta"], n) * 0.7
    life = np.minimum(rng.exponential(1 / mu), 52.0)
    d = period_discount_rate(0.10, 28.0)
    totals = np.zeros(n)
    for k in range(1, 14):  # purchases in period k: Poisson(lambda * time alive within ((k-1)4, 4k])
        exposure = np.clip(life - 4.0 * (k - 1), 0.0, 4.0)
        totals += rng.poisson(lam * exposure) / (1 + d) ** k
    new = pd.DataFrame({"x": [0.0], "t_x": [0.0], "T": [0.0]})
    closed = discounted_expected_purchases(
        new, model="paretonbd", params=PNBD, rate_multiplier=1.3, dropout_multiplier=0.7
    )
    se = totals.std() / np.sqrt(n)
    assert closed[0, 0] == pytest.approx(totals.mean(), abs=4 * se)


def test_effects_have_the_right_sign_and_draws_broadcast(summary: pd.DataFrame) -> None:
    more = incremental_clv(
        summary, model="paretonbd", params=PNBD, spend_per_purchase=40.0, rate_multiplier=1.2
    )
    assert (more > 0).all()
    fewer_dropouts = incremental_clv(
        summary, model="paretonbd", params=PNBD, spend_per_purchase=40.0, dropout_multiplier=0.5
    )
    assert (fewer_dropouts > 0).all()
    draws = incremental_clv(
        summary,
        model="paretonbd",
        params=PNBD,
        spend_per_purchase=40.0,
        rate_multiplier=np.array([1.0, 1.1, 1.2]),
    )
    assert draws.shape == (3, 4)
    assert np.all(np.diff(draws, axis=0) > 0)


def test_bgnbd_dropout_effect_refused(summary: pd.DataFrame) -> None:
    with pytest.raises(LtvlabError, match="paretonbd"):
        incremental_clv(summary, model="bgnbd", params=BGNBD, spend_per_purchase=1.0, dropout_multiplier=0.8)


def test_strategy_value_draws_feed_allocation(summary: pd.DataFrame) -> None:
    frame = strategy_value_draws(
        summary,
        segment="tier",
        strategies={"email": (np.array([1.05, 1.1]), 1.0), "loyalty": (1.0, np.array([0.8, 0.9]))},
        model="paretonbd",
        params=PNBD,
        spend_per_purchase=40.0,
    )
    assert list(frame.columns) == ["segment", "strategy", "draw", "incremental_value"]
    assert len(frame) == 2 * 2 * 2
    assert (frame["incremental_value"] > 0).all()


def test_segment_values_use_each_segments_parameters(summary: pd.DataFrame) -> None:
    from ltvlab.strategy import baseline_clv_by_segment, segment_strategy_value_draws

    params = pd.DataFrame([PNBD, {**PNBD, "alpha": PNBD["alpha"] / 2}], index=["lo", "hi"])
    multipliers = pd.DataFrame(
        {
            "segment": ["lo", "hi"],
            "strategy": "email",
            "draw": 0,
            "rate_multiplier": 1.2,
            "dropout_multiplier": 1.0,
        }
    )
    values = segment_strategy_value_draws(
        summary, segment="tier", multipliers=multipliers, segment_params=params, spend_per_purchase=40.0,
        model="paretonbd",
    )  # fmt: skip
    for tier in ("lo", "hi"):
        rows = summary[summary["tier"] == tier]
        direct = incremental_clv(
            rows,
            model="paretonbd",
            params=params.loc[tier].to_dict(),
            spend_per_purchase=40.0,
            rate_multiplier=1.2,
        ).mean()
        assert values.set_index("segment").loc[tier, "incremental_value"] == pytest.approx(direct)
        base = baseline_clv_by_segment(
            summary, segment="tier", segment_params=params, spend_per_purchase=40.0, model="paretonbd"
        )[tier]
        assert base == pytest.approx(
            40.0
            * discounted_expected_purchases(rows, model="paretonbd", params=params.loc[tier].to_dict())[
                0
            ].mean()
        )


def test_rate_multiplier_draws_centre_on_the_ratio_of_means() -> None:
    """Randomised data with a known 1.25x purchase rate: the draws centre near 1.25 (4 SE of the log ratio)."""
    from ltvlab.strategy import rate_multiplier_draws

    rng = np.random.default_rng(6)
    n = 8000
    x = rng.gamma(2.0, 1.0, n)
    t = (rng.random(n) < 0.5).astype(int)
    y = rng.poisson(x * np.where(t == 1, 1.25, 1.0))
    frame = pd.DataFrame({"seg": "all", "x": x, "coupon": t, "y": y})
    draws = rate_multiplier_draws(
        frame,
        segment="seg",
        treatments=["coupon"],
        outcome="y",
        covariates=["x"],
        n_draws=400,
        pooling="none",
        seed=1,
    )
    spread = np.log(draws["rate_multiplier"]).std()
    assert np.log(draws["rate_multiplier"]).mean() == pytest.approx(np.log(1.25), abs=4 * spread)
    assert (draws["dropout_multiplier"] == 1.0).all()
