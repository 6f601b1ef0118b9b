"""Allocation figures draw what they say: one row per cell, the truth red where it is outside its interval."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ltvlab.strategy import plot_cell_values


def test_cell_values_one_row_per_cell_and_red_misses() -> None:
    cells = pd.DataFrame(
        {
            "segment": ["a", "b", "a", "b"],
            "strategy": ["sms", "sms", "email", "email"],
            "value_mean": [5.0, 8.0, 2.0, 3.0],
            "value_low": [4.0, 7.0, 1.0, 2.0],
            "value_high": [6.0, 9.0, 3.0, 4.0],
            "true_value": [5.5, 12.0, 2.5, 0.5],  # b·sms above, b·email below its interval
        }
    )
    fig, ax = plt.subplots()
    assert plot_cell_values(cells, ax=ax, level=0.9) is ax
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == ["a · email", "a · sms", "b · email", "b · sms"]
    (crosses,) = ax.collections[-1:]
    red = matplotlib.colors.to_rgba("tab:red")
    colours = {
        tuple(xy): tuple(c) for xy, c in zip(crosses.get_offsets(), crosses.get_facecolors(), strict=True)
    }
    assert {xy[0] for xy, c in colours.items() if np.allclose(c, red)} == {12.0, 0.5}
    assert any("90% credible interval" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig)


def test_policy_returns_readable_labels_thousands_and_the_oracle() -> None:
    from types import SimpleNamespace

    from ltvlab.strategy import plot_policy_returns

    comparison = pd.DataFrame(
        {"policy": ["optimal", "uniform", "highest_ltv"], "expected_return": [171558.0, 36568.0, 171558.0],
         "ci_low": [130901.0, 29329.0, 130901.0], "ci_high": [215863.0, 43868.0, 215863.0]}
    )  # fmt: skip
    result = SimpleNamespace(comparison=comparison, credible_mass=0.9, objective="net")
    realised = {"optimal": 129919.0, "uniform": 30681.0, "highest_ltv": 129919.0, "oracle": 130058.0}
    fig, ax = plt.subplots()
    plot_policy_returns(result, ax=ax, realised=realised)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "optimal plan", "uniform split", "highest-LTV-first policy"
    ]  # fmt: skip
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any("," in t for t in ticks) and not any(len(t) >= 5 and "," not in t for t in ticks)
    assert any(np.allclose(line.get_xdata(), 130058.0) for line in ax.get_lines())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("oracle") for t in legend)
    plt.close(fig)
