"""The one house style for report figures: seaborn/matplotlib settings shared by every notebook."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib as mpl

PALETTE: tuple[str, ...] = ("#1f5f8b", "#d9822b", "#3a8f5c", "#b03a48", "#6d5a9c", "#7a7a7a")
FIGSIZE_INCHES: tuple[float, float] = (8.0, 4.0)
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"  # shipped by the pinned mplfonts package (no download)
CJK_FONT_FAMILY = "Noto Sans CJK SC"


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
    use_cjk_fallback()


def cjk_font_path() -> Path | None:
    """The Noto Sans CJK font file of the installed ``mplfonts`` package (``None`` when it is absent)."""
    spec = importlib.util.find_spec("mplfonts")  # located, not imported: no side effects
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / CJK_FONT_FILE
    return path if path.is_file() else None


def use_cjk_fallback() -> bool:
    """Register Noto Sans CJK with matplotlib as the fallback for glyphs the main font lacks.

    Chinese, Japanese and Korean labels (segment names, arms) then render instead of tofu boxes; Latin text
    keeps the house font. Returns whether the font was found.
    """
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        return False
    if CJK_FONT_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    family = [f for f in mpl.rcParams["font.family"] if f != CJK_FONT_FAMILY]
    mpl.rcParams["font.family"] = [*family, CJK_FONT_FAMILY]
    return True
