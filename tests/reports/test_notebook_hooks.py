"""Saving a report notebook through Jupyter's contents manager stores no outputs; scratch notebooks keep them."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from ltvlab.reports.notebook_hooks import strip_outputs_before_save


def _model_with_outputs() -> dict:
    cell = new_code_cell(
        "print(1)", execution_count=3, outputs=[new_output("stream", name="stdout", text="1\n")]
    )
    return {"type": "notebook", "content": json.loads(nbformat.writes(new_notebook(cells=[cell])))}


def test_jupyter_saves_report_notebooks_without_outputs(tmp_path: Path) -> None:
    from jupyter_server.services.contents.filemanager import FileContentsManager

    (tmp_path / "10_report.params.yml").write_text("title: r\nparameters: {}\n", encoding="utf-8")
    manager = FileContentsManager(root_dir=str(tmp_path), pre_save_hook=strip_outputs_before_save)
    manager.save(_model_with_outputs(), "10_report.ipynb")
    manager.save(_model_with_outputs(), "scratch.ipynb")
    saved = nbformat.read(tmp_path / "10_report.ipynb", as_version=4)
    assert saved.cells[0].outputs == [] and saved.cells[0].execution_count is None
    assert saved.cells[0].source == "print(1)"
    scratch = nbformat.read(tmp_path / "scratch.ipynb", as_version=4)
    assert scratch.cells[0].outputs and scratch.cells[0].execution_count == 3


def test_make_lab_installs_the_hook() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    assert "pre_save_hook=ltvlab.reports.notebook_hooks.strip_outputs_before_save" in makefile
