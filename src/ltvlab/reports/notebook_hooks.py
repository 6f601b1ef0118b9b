"""Report notebooks are stored without outputs, however they are saved.

``make lab`` starts JupyterLab with :func:`strip_outputs_before_save` as the contents manager's pre-save hook:
a notebook that has a parameter sidecar (``NAME.params.yml`` beside ``NAME.ipynb``, i.e. one of the report
notebooks) is written with its outputs and execution counts removed, so saving in JupyterLab never dirties
``notebooks/`` and ``make test`` keeps passing. The outputs stay on screen until the notebook is reloaded;
scratch notebooks (no sidecar) are saved as they are. ``make setup`` also installs nbstripout as a git filter in
a regular clone, for notebooks saved by other editors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ltvlab.reports.params import schema_path


def strip_outputs(notebook: dict[str, Any]) -> dict[str, Any]:
    """Remove outputs and execution counts from a notebook's JSON model in place; returns it."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    return notebook


def is_report_notebook(os_path: str | Path) -> bool:
    """A notebook with a parameter sidecar (``NAME.params.yml``) is a report notebook."""
    path = Path(os_path)
    return path.suffix == ".ipynb" and schema_path(path).is_file()


def strip_outputs_before_save(model: dict[str, Any], path: str, contents_manager: Any, **_: Any) -> None:
    """Jupyter ``ContentsManager.pre_save_hook``: strip the outputs of report notebooks before they are written."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    os_path = contents_manager._get_os_path(path.strip("/"))
    if is_report_notebook(os_path):
        strip_outputs(model["content"])
