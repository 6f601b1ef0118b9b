"""The one house style for report figures: seaborn/matplotlib settings shared by every notebook."""

from __future__ import annotations

import matplotlib as mpl

PALETTE: tuple[str, ...] = ("#1f5f8b", "#d9822b", "#3a8f5c", "#b03a48", "#6d5a9c", "#7a7a7a")
FIGSIZE_INCHES: tuple[float, float] = (8.0, 4.0)


def use_style() -> None:
    """Apply the house style: white grid, colour-blind-friendly palette, readable sizes, tight layout.

    Figures still need their own axis labels with units (``"weeks since first purchase"``), which the style
    cannot know.
    """
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=list(PALETTE))
    mpl.rcParams.update(
        {
            "figure.figsize": FIGSIZE_INCHES,
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.autolayout": True,
            "axes.titlesize": 13,
            "axes.titleweight": "bold",
            "axes.labelsize": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )
