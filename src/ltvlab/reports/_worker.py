"""One report run in its own process: ``python -m ltvlab.reports._worker JOB.json``.

Executes the notebook with Papermill, renders the HTML, and writes ``run.json`` last, all atomically. The
batch runner starts it in a new session so a timeout can stop it together with its kernel.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# jsonschema (used by nbformat) optionally imports rfc3987_syntax, which builds a parser grammar at import time
# (seconds per run). nbformat's schema uses no IRI formats, so this worker process does without it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from ltvlab.reports.atomic import atomic_write_text  # noqa: E402
from ltvlab.reports.outcome import HTML_FILE, IPYNB_FILE, RunOutcome  # noqa: E402
from ltvlab.reports.provenance import environment_provenance  # noqa: E402
from ltvlab.reports.record import RECORD_ENV, read_record  # noqa: E402
from ltvlab.reports.render import diagnostics_label, render_html  # noqa: E402

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ERROR_LINES = 15


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def error_text(exc: BaseException) -> str:
    """The error's last lines, without terminal colour codes."""
    tb = getattr(exc, "traceback", None)
    if tb and getattr(exc, "ename", None):  # papermill's PapermillExecutionError
        lines = _ANSI.sub("", "\n".join(tb)).splitlines()
        lines = [ln for ln in lines if ln.strip()][-ERROR_LINES:]
        return f"{exc.ename}: {exc.evalue}\n" + "\n".join(lines)
    lines = "".join(traceback.format_exception(exc)).splitlines()[-ERROR_LINES:]
    return "\n".join(lines)


def provenance_rows(job: dict[str, Any], outcome: RunOutcome) -> dict[str, Any]:
    env = environment_provenance()
    rec = dict(outcome.recorded)
    seed = rec.pop("seed", job["parameters"].get("seed", job["parameters"].get("random_seed")))
    rows: dict[str, Any] = {
        "ltvlab version": env["ltvlab_version"],
        "git commit": env["git_commit"] or "not a git checkout",
        "packages": env["packages"],
        "notebook": job["notebook"],
        "data sha256": rec.pop("data_sha256", None) or (outcome.inputs or None),
        "parameters": job["parameters"],
        "random seed": seed,
        "started": outcome.started_at,
        "finished": outcome.finished_at,
        "duration (s)": outcome.duration_seconds,
        "fit diagnostics": diagnostics_label(outcome.recorded),
    }
    rec.pop("diagnostics_ok", None)
    for key in ("status", "headline", "checks", "misses"):  # shown in the headline block
        rec.pop(key, None)
    for key, value in rec.items():
        rows[f"recorded: {key}"] = value
    return rows


KERNEL_START_ATTEMPTS = 3
_KERNEL_DIED_STARTING = "Kernel died before replying to kernel_info"


def execute(pm: Any, notebook: str, output: str, **kwargs: Any) -> None:
    """``pm.execute_notebook(notebook, output, **kwargs)``, with the kernel started again when it dies while
    starting, up to ``KERNEL_START_ATTEMPTS`` times (no cell has run then). Two kernels that a parallel batch
    starts at the same moment can be handed the same free TCP port, and the second dies with "Address already in
    use" before it replies; seen once in a `make test` run (tests/reports/test_interrupt.py)."""
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            pm.execute_notebook(notebook, output, **kwargs)
            return
        except RuntimeError as exc:
            if _KERNEL_DIED_STARTING not in str(exc) or attempt == KERNEL_START_ATTEMPTS:
                raise
            print(
                f"ltvlab: the kernel died while starting (attempt {attempt} of {KERNEL_START_ATTEMPTS}); "
                "starting it again",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(0.5 * attempt)


def run_job(job: dict[str, Any]) -> RunOutcome:
    import papermill as pm

    run_dir = Path(job["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob(".*.tmp*"):
        stale.unlink(missing_ok=True)
    record_path = run_dir / ".record.json"
    record_path.unlink(missing_ok=True)
    os.environ[RECORD_ENV] = str(record_path)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    tmp_ipynb = run_dir / f".{IPYNB_FILE}.{os.getpid()}.tmp.ipynb"
    started, t0 = now_iso(), time.monotonic()
    error: str | None = None
    try:
        execute(
            pm,
            job["notebook"],
            str(tmp_ipynb),
            parameters=job["parameters"],
            kernel_name=job["kernel_name"],
            cwd=str(Path(job["notebook"]).parent),
            progress_bar=False,
            log_output=False,
            report_mode=False,
        )
    except Exception as exc:  # a notebook error fails this run only
        error = error_text(exc)
    recorded = read_record(record_path)
    if error is not None:
        status = "failed"
    elif recorded.get("diagnostics_ok") is False:
        status = "diagnostics_failed"
    else:
        status = "ok"
    outcome = RunOutcome(
        name=job["name"],
        notebook=job["notebook_label"],
        title=job["title"],
        parameters=job["parameters"],
        status=status,
        key=job["key"],
        attempt=job["attempt"],
        started_at=started,
        finished_at=now_iso(),
        duration_seconds=round(time.monotonic() - t0, 2),
        error=error,
        recorded=recorded,
        inputs=job["inputs"],
    )
    html_name = ipynb_name = None
    if tmp_ipynb.is_file():
        try:
            page = render_html(
                tmp_ipynb,
                title=job["title"],
                status=status,
                parameters=job["parameters"],
                provenance=provenance_rows(job, outcome),
                error=error,
                recorded=recorded,
            )
            atomic_write_text(run_dir / HTML_FILE, page)
            html_name = HTML_FILE
        except Exception as exc:  # rendering trouble fails the run but keeps the executed notebook
            outcome = _replace(
                outcome, status="failed", error=(error or "") + "\nrendering: " + error_text(exc)
            )
        os.replace(tmp_ipynb, run_dir / IPYNB_FILE)
        ipynb_name = IPYNB_FILE
    if html_name is None:
        (run_dir / HTML_FILE).unlink(missing_ok=True)
    outcome = _replace(outcome, html=html_name, ipynb=ipynb_name)
    outcome.write(run_dir)
    return outcome


def _replace(outcome: RunOutcome, **changes: Any) -> RunOutcome:
    from dataclasses import replace

    return replace(outcome, **changes)


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    outcome = run_job(job)
    return 0 if outcome.status != "failed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
