"""The batch configuration (``reports.yml``): which notebooks run with which parameters.

::

    output_dir: reports            # relative to this file; index.html and runs/NAME/ go here
    timeout_seconds: 1800          # per run; a run past it is stopped and marked failed
    runs:
      - name: data-quality-cdnow-sample
        notebook: notebooks/00_data_quality.ipynb
        parameters: {dataset: cdnow-sample}
        timeout_seconds: 600       # optional, per run

Every run's parameters are validated against its notebook's schema when the file is loaded, so a typo stops
the batch before any notebook starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltvlab.errors import LtvlabError
from ltvlab.reports.params import NotebookSchema, load_schema, validate_params
from ltvlab.reports.yamlfile import load_yaml

DEFAULT_TIMEOUT_SECONDS = 1800.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One notebook run: a unique name, the notebook, its full validated parameters and a time limit."""

    name: str
    notebook: Path
    parameters: Mapping[str, Any]
    timeout_seconds: float
    schema: NotebookSchema


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """A parsed batch file."""

    path: Path | None
    output_dir: Path
    runs: tuple[RunSpec, ...]

    def select(self, only: tuple[str, ...] | list[str] = ()) -> tuple[RunSpec, ...]:
        """The runs named in ``only`` (exact run name or notebook stem), all runs when empty."""
        if not only:
            return self.runs
        picked = tuple(r for r in self.runs if r.name in only or r.notebook.stem in only)
        missing = [o for o in only if not any(o in (r.name, r.notebook.stem) for r in self.runs)]
        if missing:
            names = ", ".join(r.name for r in self.runs)
            raise LtvlabError(f"--only {', '.join(missing)}: no such run; runs are: {names}")
        return picked


def load_config(path: str | Path) -> BatchConfig:
    """Read a batch YAML file; relative paths are resolved against the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise LtvlabError(f"batch config {path} not found; pass --config FILE (default: reports.yml)")
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise LtvlabError(f"{path}: expected a mapping with 'runs'")
    return config_from_mapping(raw, base_dir=path.resolve().parent, source=path)


def config_from_mapping(raw: Mapping[str, Any], *, base_dir: Path, source: Path | None = None) -> BatchConfig:
    """Build a :class:`BatchConfig` from an already-parsed mapping (see the module docstring)."""
    where = str(source) if source else "batch config"
    unknown = set(raw) - {"output_dir", "timeout_seconds", "runs"}
    if unknown:
        raise LtvlabError(
            f"{where}: unknown keys {sorted(unknown)}; expected output_dir, timeout_seconds, runs"
        )
    default_timeout = _timeout(raw.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS), where)
    entries = raw.get("runs") or []
    if not isinstance(entries, list) or not entries:
        raise LtvlabError(f"{where}: 'runs' must be a non-empty list")
    runs: list[RunSpec] = []
    schemas: dict[Path, NotebookSchema] = {}
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise LtvlabError(f"{where}: run {i} must be a mapping with name, notebook, parameters")
        extra = set(entry) - {"name", "notebook", "parameters", "timeout_seconds"}
        if extra:
            raise LtvlabError(f"{where}: run {i} has unknown keys {sorted(extra)}")
        name = str(entry.get("name", ""))
        if not _NAME.match(name):
            raise LtvlabError(
                f"{where}: run {i} needs a 'name' of letters, digits, '.', '_' or '-' (got {name!r})"
            )
        if any(r.name == name for r in runs):
            raise LtvlabError(f"{where}: run name {name!r} is used twice; names must be unique")
        if "notebook" not in entry:
            raise LtvlabError(f"{where}: run {name!r} needs a 'notebook'")
        notebook = (base_dir / str(entry["notebook"])).resolve()
        if not notebook.is_file():
            raise LtvlabError(f"{where}: run {name!r}: notebook {entry['notebook']} not found")
        schema = schemas.get(notebook) or load_schema(notebook)
        schemas[notebook] = schema
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise LtvlabError(f"{where}: run {name!r}: 'parameters' must be a mapping")
        try:
            full = validate_params(schema, params)
        except LtvlabError as exc:
            raise LtvlabError(f"{where}: run {name!r}: {exc}") from None
        timeout = _timeout(entry.get("timeout_seconds", default_timeout), where)
        runs.append(RunSpec(name, notebook, full, timeout, schema))
    output_dir = (base_dir / str(raw.get("output_dir", "reports"))).resolve()
    return BatchConfig(path=source, output_dir=output_dir, runs=tuple(runs))


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise LtvlabError(f"{where}: timeout_seconds must be a positive number (got {value!r})")
    return float(value)
