"""Notebook parameters declared in a sidecar schema and validated before a notebook runs.

Each notebook ``notebooks/NAME.ipynb`` has a sidecar ``notebooks/NAME.params.yml``::

    title: Data quality
    parameters:
      dataset:
        type: str                 # str | int | float | bool | date (YYYY-MM-DD)
        default: cdnow-sample
        nullable: true            # None allowed
        allowed: [cdnow-sample, cdnow-master]
        role: dataset             # dataset | data_file: hashed by the cache, shown in provenance
        help: Bundled dataset to check.
      draws: {type: int, default: 1000, min: 10}
    test:                          # the smallest parameters: used by the test that executes every notebook
      draws: 20

Unknown names, wrong types and values outside ``allowed``/``min``/``max`` raise :class:`LtvlabError` naming
the notebook, the parameter and the fix, before any kernel starts. Values are scalars only, so nothing a
user writes can become code in the notebook.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ltvlab.errors import LtvlabError
from ltvlab.reports.yamlfile import load_yaml

ParamType = Literal["str", "int", "float", "bool", "date"]
ParamRole = Literal["dataset", "data_file"]
_TYPES: tuple[str, ...] = ("str", "int", "float", "bool", "date")
_ROLES: tuple[str, ...] = ("dataset", "data_file")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One declared notebook parameter."""

    name: str
    type: ParamType
    default: Any
    nullable: bool = False
    allowed: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    role: ParamRole | None = None
    help: str = ""


@dataclass(frozen=True, slots=True)
class NotebookSchema:
    """The parameters a notebook declares, its title, and its smallest ("test") parameter overrides."""

    notebook: Path
    title: str
    params: tuple[ParamSpec, ...]
    test_overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def spec(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


def schema_path(notebook: Path) -> Path:
    """``notebooks/NAME.ipynb`` -> ``notebooks/NAME.params.yml``."""
    return notebook.with_name(notebook.name.removesuffix(".ipynb") + ".params.yml")


def load_schema(notebook: str | Path) -> NotebookSchema:
    """Read and check the sidecar schema of ``notebook``."""
    notebook = Path(notebook)
    path = schema_path(notebook)
    if not path.is_file():
        raise LtvlabError(
            f"{notebook.name} has no parameter schema: create {path.name} beside it (see ltvlab.reports.params)"
        )
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("parameters", {}), dict):
        raise LtvlabError(f"{path}: expected a mapping with a 'parameters' mapping")
    specs = tuple(_parse_spec(path, name, body) for name, body in (raw.get("parameters") or {}).items())
    schema = NotebookSchema(
        notebook=notebook,
        title=str(raw.get("title") or notebook.stem),
        params=specs,
        test_overrides={},
    )
    for p in specs:
        _check_value(schema, p, p.default, where="default")
    test = raw.get("test") or {}
    if not isinstance(test, dict):
        raise LtvlabError(f"{path}: 'test' must be a mapping of parameter overrides")
    validate_params(schema, test)
    return NotebookSchema(notebook=notebook, title=schema.title, params=specs, test_overrides=dict(test))


def _parse_spec(path: Path, name: object, body: object) -> ParamSpec:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise LtvlabError(f"{path}: parameter name {name!r} is not a Python identifier")
    if not isinstance(body, dict):
        raise LtvlabError(f"{path}: parameter {name!r} must be a mapping with at least 'type' and 'default'")
    unknown = set(body) - {"type", "default", "nullable", "allowed", "min", "max", "role", "help"}
    if unknown:
        raise LtvlabError(f"{path}: parameter {name!r} has unknown keys {sorted(unknown)}")
    kind = body.get("type")
    if kind not in _TYPES:
        raise LtvlabError(f"{path}: parameter {name!r} has type {kind!r}; use one of {', '.join(_TYPES)}")
    if "default" not in body:
        raise LtvlabError(f"{path}: parameter {name!r} needs a 'default'")
    role = body.get("role")
    if role is not None and role not in _ROLES:
        raise LtvlabError(f"{path}: parameter {name!r} has role {role!r}; use one of {', '.join(_ROLES)}")
    allowed = body.get("allowed")
    return ParamSpec(
        name=name,
        type=kind,
        default=body["default"],
        nullable=bool(body.get("nullable", False)),
        allowed=None if allowed is None else tuple(allowed),
        min=body.get("min"),
        max=body.get("max"),
        role=role,
        help=str(body.get("help", "")),
    )


def _check_value(schema: NotebookSchema, spec: ParamSpec, value: Any, *, where: str = "value") -> Any:
    label = f"{schema.notebook.name}: parameter {spec.name!r}"
    if value is None:
        if spec.nullable:
            return None
        raise LtvlabError(f"{label} may not be empty (null); give a {spec.type}")
    if spec.type == "bool":
        ok = isinstance(value, bool)
    elif spec.type == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif spec.type == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif spec.type == "date":
        if isinstance(value, dt.date):  # YAML turns 1997-09-30 into a date
            value = value.isoformat()
        ok = isinstance(value, str) and bool(_DATE.match(value))
    else:
        ok = isinstance(value, str)
    if not ok:
        hint = " as YYYY-MM-DD" if spec.type == "date" else ""
        raise LtvlabError(
            f"{label}: {where} {value!r} ({type(value).__name__}) is not a {spec.type}; give a {spec.type}{hint}"
        )
    if spec.allowed is not None and value not in spec.allowed:
        choices = ", ".join(repr(a) for a in spec.allowed)
        raise LtvlabError(f"{label}: {where} {value!r} is not allowed; choose one of {choices}")
    if spec.min is not None and value < spec.min:
        raise LtvlabError(f"{label}: {where} {value!r} is below the minimum {spec.min}")
    if spec.max is not None and value > spec.max:
        raise LtvlabError(f"{label}: {where} {value!r} is above the maximum {spec.max}")
    return value


def validate_params(schema: NotebookSchema, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``params`` against ``schema``; return the full parameter set (defaults filled in).

    Raises
    ------
    LtvlabError
        On an unknown name, a wrong type, or a value outside the declared choices/range.
    """
    unknown = [name for name in params if name not in schema.names]
    if unknown:
        known = ", ".join(schema.names) or "(none)"
        raise LtvlabError(
            f"{schema.notebook.name}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"the notebook declares: {known}"
        )
    full = schema.defaults()
    for name, value in params.items():
        full[name] = _check_value(schema, schema.spec(name), value)
    return full
