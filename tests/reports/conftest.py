"""Tiny notebooks written into a temporary folder, so runner tests execute in seconds."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write_notebook(
    folder: Path, name: str, params: dict, body: list[str], *, schema: dict | None = None
) -> Path:
    """Write ``folder/name.ipynb`` (tagged parameters cell + ``body`` cells) and its sidecar schema.

    ``params`` maps name -> (type, default) for the schema; the parameters cell holds the defaults.
    """
    param_src = "\n".join(f"{k} = {default!r}" for k, (_, default) in params.items())
    cells = [new_markdown_cell(f"# {name}"), new_code_cell(param_src), *(new_code_cell(src) for src in body)]
    cells[1].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    sidecar = schema or {
        "title": name.replace("_", " ").title(),
        "parameters": {k: {"type": t, "default": d} for k, (t, d) in params.items()},
    }
    path.with_name(f"{name}.params.yml").write_text(
        yaml.safe_dump(sidecar, sort_keys=False), encoding="utf-8"
    )
    return path


def write_config(folder: Path, runs: list[dict], **top: object) -> Path:
    path = folder / "batch.yml"
    path.write_text(
        yaml.safe_dump({"output_dir": "out", **top, "runs": runs}, sort_keys=False), encoding="utf-8"
    )
    return path


@pytest.fixture
def nb_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return folder


LABEL_BODY = [
    "import matplotlib.pyplot as plt\nimport pandas as pd\nfrom IPython.display import Markdown, display\n"
    "from ltvlab.reports import use_style\nuse_style()",
    'frame = pd.DataFrame({"segment": [label, "other"], "customers": [3, 5]})\ndisplay(frame)\ndisplay(frame.style)\n'
    'display(Markdown(f"largest segment: **{label}**"))',
    'fig, ax = plt.subplots()\nax.bar(frame["segment"], frame["customers"])\n'
    'ax.set(xlabel="segment", ylabel="customers (count)", title="customers per segment")\nplt.show()',
]


def write_label_notebook(folder: Path) -> Path:
    """A notebook that shows a user-given segment label in a table, a styled table, Markdown and a plot."""
    return write_notebook(folder, "labels", {"label": ("str", "north")}, LABEL_BODY)


def run_cli(args: list[str]):
    from click.testing import CliRunner

    from ltvlab.cli import cli

    return CliRunner().invoke(cli, args, catch_exceptions=False)
