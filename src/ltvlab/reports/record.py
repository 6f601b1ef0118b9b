"""What a notebook tells the batch runner: diagnostics status, data hash, seed, and other facts.

A notebook calls ``ltvlab.reports.record(diagnostics_ok=fit.diagnostics.ok, data_sha256=..., seed=...)``.
Under ``ltvlab run`` the runner points ``LTVLAB_RECORD_PATH`` at a JSON file in the run's folder and reads it
back for the report footer and the index; in JupyterLab (no runner) the call only returns what it would record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

RECORD_ENV = "LTVLAB_RECORD_PATH"


def _plain(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def interactive() -> bool:
    """True in JupyterLab or a plain kernel, False under ``ltvlab run``: notebooks show progress bars (NUTS fits)
    only to a person watching, never in a rendered report."""
    return not os.environ.get(RECORD_ENV)


def read_record(path: str | Path) -> dict[str, Any]:
    """The facts recorded so far at ``path`` (empty when nothing was recorded)."""
    path = Path(path)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def record(**facts: Any) -> dict[str, Any]:
    """Record facts about this run (merged with earlier calls); returns everything recorded so far.

    Well-known keys: ``diagnostics_ok`` (bool; False marks the run "diagnostics failed" in red),
    ``data_sha256``, ``seed``; any other JSON-friendly key is kept and shown in the provenance footer.
    """
    facts = {k: _plain(v) for k, v in facts.items()}
    target = os.environ.get(RECORD_ENV)
    if not target:
        return facts
    path = Path(target)
    merged = {**read_record(path), **facts}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return merged
