"""Loyalty KPIs, NPS and the engagement index against small hand-computed examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import engagement_index, kpi_status, kpi_table, kpi_trends, nps, nps_table


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    # Months Jan-May 2024. Active: Jan {A,B,D}, Feb {A,C}, Mar {B,C}, Apr {A}, May {D}.
    rows = [
        ("A", "2024-01-05", 10), ("A", "2024-01-20", 20), ("A", "2024-02-03", 30), ("A", "2024-04-01", 40),
        ("B", "2024-01-10", 50), ("B", "2024-03-15", 60),
        ("C", "2024-02-01", 70), ("C", "2024-02-02", 80), ("C", "2024-03-01", 90),
        ("D", "2024-01-01", 100), ("D", "2024-05-01", 110),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["tier"] = frame["customer_id"].map({"A": "x", "B": "x", "C": "y", "D": "y"})
    return frame


def _values(table: pd.DataFrame, kpi: str, group: str = "all") -> list[float]:
    part = table[(table["kpi"] == kpi) & (table["group"] == group)].sort_values("period")
    return part["value"].tolist()


def test_kpis_match_hand_computation(tx: pd.DataFrame) -> None:
    table = kpi_table(tx, freq="M", lapse_periods=2)
    assert _values(table, "active_customers") == [3, 2, 2, 1, 1]
    # Feb keeps A of {A,B,D}; Mar keeps C of {A,C}; Apr keeps none of {B,C}; May none of {A}.
    assert _values(table, "retention_rate") == pytest.approx([1 / 3, 1 / 2, 0, 0])
    assert _values(table, "churn_rate") == pytest.approx([2 / 3, 1 / 2, 1, 1])
    # Orders 4, 3, 2, 1, 1 and revenue 180, 180, 150, 40, 110.
    assert _values(table, "purchase_frequency") == pytest.approx([4 / 3, 3 / 2, 1, 1, 1])
    assert _values(table, "average_order_value") == pytest.approx([45, 60, 75, 40, 110])
    # Jan: nobody ordered before; Feb: A yes, C no; later periods: all returning.
    assert _values(table, "repeat_purchase_rate") == pytest.approx([0, 0.5, 1, 1, 1])
    # Lapsed = ordered before the last 2 months but not in them. Mar: nobody before Jan (NaN);
    # Apr: D lapsed, does not return (0/1); May: D lapsed and returns (1/1).
    win = table[(table["kpi"] == "win_back_rate")].sort_values("period")
    assert np.isnan(win["value"].iloc[0]) and win["value"].iloc[1:].tolist() == [0.0, 1.0]
    assert win["denominator"].tolist() == [0, 1, 1]


def test_kpis_by_segment_and_cohort(tx: pd.DataFrame) -> None:
    by_tier = kpi_table(tx, by="tier")
    # Tier x = {A, B}: Jan {A,B} -> Feb {A}: retention 1/2; tier y = {C, D}: Jan {D} -> Feb {C}: 0.
    assert _values(by_tier, "retention_rate", "x")[0] == pytest.approx(0.5)
    assert _values(by_tier, "retention_rate", "y")[0] == 0.0
    by_cohort = kpi_table(tx, by="cohort")
    assert set(by_cohort["group"]) == {"2024-01", "2024-02"}
    assert _values(by_cohort, "active_customers", "2024-02") == [0, 1, 1, 0, 0]
    # Segment counts add up to the total.
    total = kpi_table(tx)
    assert (
        sum(_values(by_tier, "active_customers", g)[0] for g in ("x", "y"))
        == _values(total, "active_customers")[0]
    )


def test_targets_red_amber_green(tx: pd.DataFrame) -> None:
    status = kpi_status(kpi_table(tx), {"retention_rate": 0.5, "churn_rate": 0.6, "average_order_value": 62})
    get = status.set_index(["kpi", status["period"].astype(str)])["status"]
    assert get[("retention_rate", "2024-02")] == "red"  # 1/3 vs 0.5
    assert get[("retention_rate", "2024-03")] == "green"  # 1/2 meets 0.5
    assert get[("churn_rate", "2024-03")] == "green"  # 0.5 <= 0.6: lower is better
    assert get[("churn_rate", "2024-02")] == "red"  # 0.667 is 11% above 0.6
    assert get[("average_order_value", "2024-02")] == "amber"  # 60 is 3.2% below 62
    assert get[("average_order_value", "2024-03")] == "green"
    with pytest.raises(LtvlabError, match="unknown KPI"):
        kpi_status(kpi_table(tx), {"nps_score": 1})


def test_trends_recover_known_slopes() -> None:
    periods = pd.period_range("2024-01", periods=8, freq="M")
    noise = np.array([0.01, -0.01, 0.0, 0.01, -0.01, 0.0, 0.01, -0.01])
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "period": periods,
                    "group": "all",
                    "kpi": "churn_rate",
                    "value": 0.5 - 0.02 * np.arange(8) + noise,
                }
            ),
            pd.DataFrame({"period": periods, "group": "all", "kpi": "retention_rate", "value": 0.5 + noise}),
        ]
    )
    trends = kpi_trends(frame).set_index("kpi")
    assert trends.loc["churn_rate", "slope"] == pytest.approx(-0.02, abs=0.003)
    assert trends.loc["churn_rate", "direction"] == "down" and trends.loc["churn_rate", "improving"]
    assert trends.loc["retention_rate", "direction"] == "flat"


def test_nps_hand_examples() -> None:
    # 4 promoters (9-10), 2 passives (7-8), 4 detractors (0-6): NPS 0, Var = (0.4 + 0.4 - 0) / 10.
    result = nps([10, 9, 9, 8, 7, 6, 5, 0, 10, 3])
    assert (result.promoters, result.passives, result.detractors) == (4, 2, 4)
    assert result.nps == 0.0
    assert result.std_error == pytest.approx(100 * np.sqrt(0.08))
    assert result.ci_high == pytest.approx(1.959964 * 100 * np.sqrt(0.08), rel=1e-6)
    # 6 promoters, 2 passives, 2 detractors: NPS 40, Var = (0.6 + 0.2 - 0.16) / 10 = 0.064.
    second = nps([9] * 6 + [7] * 2 + [2] * 2)
    assert second.nps == pytest.approx(40.0)
    assert second.std_error == pytest.approx(100 * np.sqrt(0.064))


def test_nps_variance_matches_multinomial_simulation() -> None:
    """The closed-form SE equals the SD of simulated NPS (20,000 multinomial samples: relative MC error of
    an SD is 1/sqrt(2 * 20000) = 0.5%, so 3% is > 5 MC errors)."""
    rng = np.random.default_rng(4)
    p = np.array([0.45, 0.30, 0.25])  # promoters, passives, detractors
    counts = rng.multinomial(200, p, size=20_000)
    simulated = 100 * (counts[:, 0] - counts[:, 2]) / 200
    closed = 100 * np.sqrt((p[0] + p[2] - (p[0] - p[2]) ** 2) / 200)
    assert simulated.std() == pytest.approx(closed, rel=0.03)
    answers = np.repeat([10, 8, 3], (p * 200).astype(int))
    assert nps(answers).std_error == pytest.approx(closed, rel=1e-9)


def test_nps_bad_input_and_table() -> None:
    with pytest.raises(LtvlabError, match="0-10"):
        nps([5, 11])
    with pytest.raises(LtvlabError, match="0-10"):
        nps([5.5])
    with pytest.raises(LtvlabError, match="no answers"):
        nps([])
    frame = pd.DataFrame({"score": [10, 9, 0, 10, 7, 8], "region": ["n", "n", "n", "s", "s", "s"]})
    table = nps_table(frame, score="score", by=["region"]).set_index("region")
    assert table.loc["n", "nps"] == pytest.approx(100 * (2 - 1) / 3)
    assert table.loc["s", "nps"] == pytest.approx(100 * 1 / 3)
    assert table.loc["n", "warnings"] == "small_sample"


def test_engagement_index_hand_example() -> None:
    frame = pd.DataFrame({"visits": [1.0, 2.0, 3.0], "minutes": [10.0, 10.0, 40.0]})
    out = engagement_index(frame, {"visits": 2.0, "minutes": 1.0})
    # visits z = [-1.2247, 0, 1.2247] (population SD sqrt(2/3)); minutes z = [-0.7071, -0.7071, 1.4142].
    z_v = np.array([-1, 0, 1]) / np.sqrt(2 / 3)
    z_m = (np.array([10, 10, 40]) - 20) / np.sqrt(200)
    assert out["engagement_index"].to_numpy() == pytest.approx((2 * z_v + z_m) / 3)
    assert "engagement_index" not in frame.columns  # input unchanged
    with pytest.raises(LtvlabError, match="constant"):
        engagement_index(frame.assign(minutes=5.0), {"minutes": 1.0})


def test_channels_used_and_interaction_counts() -> None:
    from ltvlab.features import channels_used, interaction_counts

    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05", "2024-03-05", "2024-01-09"]),
            "channel": ["online", "offline", "online", "online", "offline"],
        }
    )
    used = channels_used(tx, end="2024-02-15").set_index("customer_id")
    assert used["channels_used"].to_dict() == {"a": 2, "b": 1, "c": 1}
    assert used["multi_channel"].to_dict() == {"a": 1, "b": 0, "c": 0}
    counts = interaction_counts(tx, start="2024-01-02", by="channel").set_index("customer_id")
    assert counts["interactions"].to_dict() == {"a": 1, "b": 2, "c": 1}
    assert counts.loc["b", "interactions_online"] == 2 and counts.loc["c", "interactions_offline"] == 1


def test_zero_denominators_are_undefined_with_a_note() -> None:
    from ltvlab.features import kpi_table

    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "date": pd.to_datetime(["2024-01-05", "2024-03-05"]),
            "amount": [1.0, 2.0],
        }
    )
    table = kpi_table(tx, freq="M").set_index(["kpi", "period"])
    feb = table.xs("2024-02", level="period")
    # February: nobody ordered, so orders per active customer and order value have no denominator
    assert np.isnan(feb.loc["purchase_frequency", "value"])
    assert feb.loc["purchase_frequency", "note"] == "undefined: zero denominator"
    mar = table.xs("2024-03", level="period")
    assert np.isnan(mar.loc["retention_rate", "value"]) and mar.loc["retention_rate", "note"] != ""
    assert table.loc[("retention_rate", "2024-02"), "note"] == ""  # defined: a was active in January
