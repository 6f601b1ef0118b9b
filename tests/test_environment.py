"""pyproject.toml (the pip truth) and environment.yml (conda) describe the same environment."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = project["dependencies"] + project["optional-dependencies"]["dev"]
    pip_pins = {_norm(n): v for n, v in (d.split("==") for d in pip_deps)}

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_pins = {}
    for dep in env["dependencies"]:
        if not isinstance(dep, str) or dep.split("=")[0] in {"python", "pip"}:
            continue
        name, version = dep.split("=", 1)
        conda_pins[_norm(CONDA_TO_PYPI.get(name, name))] = version
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section
    # Packages conda-forge does not carry are pip-installed by the environment, pinned the same way.
    for line in pip_section:
        requirement = line.split("#")[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==")
            if _norm(name) in pip_pins:
                conda_pins[_norm(name)] = version
    assert conda_pins == pip_pins


def test_every_pinned_package_is_in_the_lock_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[_norm(name)] = version.strip()
    for dep in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name, version = dep.split("==")
        name = _norm(name)
        assert lock.get(name) == version, f"{name}: pyproject {version}, lock {lock.get(name)}"


def test_spark_extra_is_pinned_alike_everywhere() -> None:
    """The `spark` extra (pyspark with its Spark Connect client) is pinned the same in pyproject.toml, the lock file
    and environment.yml's pip section, and the client's own dependencies are in the lock file (no run-time
    downloads: the Connect server and the standalone daemons ship inside pyspark)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {}
    for dep in project["optional-dependencies"]["spark"]:
        name, version = dep.split("==")
        extra[_norm(name)] = version
    lock = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[_norm(name)] = version.strip()
    for name, version in extra.items():
        assert lock.get(name.split("[")[0]) == version, f"{name}: pyproject {version}, lock {lock.get(name)}"
    for client in ("grpcio", "grpcio-status", "googleapis-common-protos", "protobuf", "zstandard", "py4j"):
        assert client in lock, f"{client} (needed by pyspark[connect]) is not in requirements-lock.txt"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pip = {}
    for line in pip_section:
        requirement = line.split("#")[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==")
            conda_pip[_norm(name)] = version
    for name, version in extra.items():
        assert conda_pip.get(name) == version, f"environment.yml pip section: {name}=={conda_pip.get(name)}"
