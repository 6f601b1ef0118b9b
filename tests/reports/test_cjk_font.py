"""CJK labels render with a real font after use_style(): no 'missing from font' warnings, no tofu."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ltvlab.reports import use_style
from ltvlab.reports.style import cjk_font_path

LABELS = ["华东 (简体)", "台北 (繁體)", "東京 (日本語)", "서울", "Zürich"]


def _render() -> tuple[list[str], np.ndarray]:
    fig, ax = plt.subplots()
    ax.bar(LABELS, [1, 2, 3, 4, 5])
    ax.set_title("客户终身价值 / 顧客生涯価値")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    return [str(w.message) for w in caught], image


def test_cjk_glyphs_render_without_missing_glyph_warnings() -> None:
    assert cjk_font_path() is not None, "the pinned mplfonts package ships the Noto Sans CJK font"
    use_style()
    messages, image = _render()
    assert not [m for m in messages if "missing from" in m.lower() or "glyph" in m.lower()], messages
    assert image.std() > 0
