"""Project paths, derived on request (never at import time)."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The project's root folder.

    ``LTVLAB_ROOT`` wins when set; otherwise the nearest folder above the current directory that holds
    ``pyproject.toml`` and a ``data/`` folder; otherwise the source checkout this package was imported from;
    otherwise the current directory.
    """
    env = os.environ.get("LTVLAB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "data").is_dir():
            return folder
    source_root = Path(__file__).resolve().parents[2]
    if (source_root / "pyproject.toml").is_file():
        return source_root
    return here


def external_data_dir() -> Path:
    """Bundled public datasets (read only)."""
    return project_root() / "data" / "external"


def processed_data_dir() -> Path:
    """Derived data: the DuckDB store, quarantine files (git-ignored)."""
    return project_root() / "data" / "processed"


def reports_dir() -> Path:
    """Generated reports and the index page (git-ignored)."""
    return project_root() / "reports"
