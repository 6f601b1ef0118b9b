"""Provenance of a report: code version, package versions, input hashes, timings."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ltvlab import __version__
from ltvlab.paths import project_root

KEY_PACKAGES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scipy",
    "duckdb",
    "pymc",
    "arviz",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
)


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` ("not installed" when missing)."""
    out: dict[str, str] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@cache
def git_commit(root: Path | None = None) -> str | None:
    """``HEAD`` of the project checkout, with ``+dirty`` when tracked files changed; None outside git."""
    where = root or project_root()
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def environment_provenance() -> dict[str, object]:
    """ltvlab version, git commit and key package versions, as one JSON-friendly mapping."""
    return {
        "ltvlab_version": __version__,
        "git_commit": git_commit(),
        "packages": package_versions(),
    }
