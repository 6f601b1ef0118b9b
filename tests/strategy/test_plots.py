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
