"""The outcome of one run, as written to ``runs/NAME/run.json`` and read back by the index."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ltvlab.reports.atomic import atomic_write_text

RunStatus = Literal["ok", "failed", "diagnostics_failed", "not_run"]
RUN_FILE = "run.json"
HTML_FILE = "report.html"
IPYNB_FILE = "executed.ipynb"
LOG_FILE = "worker.log"


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What happened to one run. Paths are relative to the run's folder; times are ISO 8601 (UTC)."""

    name: str
    notebook: str
    title: str
    parameters: dict[str, Any]
    status: RunStatus
    key: str = ""
    attempt: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    error: str | None = None
    html: str | None = None
    ipynb: str | None = None
    recorded: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def write(self, run_dir: Path) -> None:
        """Write ``run.json`` atomically (the last step of a run: its presence means the outputs are whole)."""
        atomic_write_text(run_dir / RUN_FILE, json.dumps(asdict(self), indent=2, default=str))

    @classmethod
    def read(cls, run_dir: Path) -> RunOutcome | None:
        """The last outcome written in ``run_dir``, or None (missing or unreadable)."""
        path = run_dir / RUN_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**raw)
        except (OSError, ValueError, TypeError):
            return None
