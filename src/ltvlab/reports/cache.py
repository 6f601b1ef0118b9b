"""Skipping unchanged runs, and atomic writes so a killed run never leaves a half-written report.

A run's cache key is the sha256 of: the notebook file, its parameter schema, the full parameters, the ltvlab
version plus a digest of ltvlab's source, and the sha256 of every input data file the parameters name
(``role: dataset`` or ``role: data_file`` in the schema). A run whose key matches its last successful run and
whose outputs still exist is skipped unless ``--force``.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from ltvlab import __version__
from ltvlab.data import dataset_info, file_sha256
from ltvlab.errors import LtvlabError
from ltvlab.paths import project_root
from ltvlab.reports.atomic import atomic_write_bytes, atomic_write_text
from ltvlab.reports.config import RunSpec
from ltvlab.reports.params import schema_path


@cache
def source_digest() -> str:
    """sha256 over ltvlab's own source files, so a code change invalidates cached reports."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if (
            path.is_file()
            and path.suffix in {".py", ".sql", ".yml", ".j2"}
            and "__pycache__" not in path.parts
        ):
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def resolve_data_file(value: str) -> Path:
    """A ``data_file`` parameter as a path: absolute, or relative to the project root."""
    path = Path(value)
    return path if path.is_absolute() else project_root() / path


def input_hashes(run: RunSpec) -> dict[str, str]:
    """sha256 of each input the run's parameters name, keyed by parameter name."""
    out: dict[str, str] = {}
    for spec in run.schema.params:
        value = run.parameters.get(spec.name)
        if value is None or value == "" or spec.role is None:
            continue
        if spec.role == "dataset":
            try:
                out[spec.name] = dataset_info(str(value)).sha256
            except LtvlabError:
                out[spec.name] = f"unknown dataset {value}"
        else:
            path = resolve_data_file(str(value))
            out[spec.name] = file_sha256(path) if path.is_file() else f"missing {path}"
    return out


def run_key(run: RunSpec) -> str:
    """The cache key of ``run`` (see the module docstring)."""
    sidecar = schema_path(run.notebook)
    payload: dict[str, Any] = {
        "notebook": file_sha256(run.notebook),
        "schema": file_sha256(sidecar) if sidecar.is_file() else None,
        "parameters": dict(sorted(run.parameters.items())),
        "ltvlab": __version__,
        "source": source_digest(),
        "inputs": input_hashes(run),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "input_hashes",
    "resolve_data_file",
    "run_key",
    "source_digest",
]
