"""Run a batch of notebooks in parallel processes, each with a time limit, then write the index.

Each run executes in its own process (``python -m ltvlab.reports._worker``) started in a new session, so a run
past its ``timeout_seconds`` is stopped together with its Jupyter kernel. One failing run never stops the
others. Unchanged runs (same cache key as their last good run, outputs present) are skipped unless
``force=True``. A tqdm bar shows runs done, running and failed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ltvlab.reports.atomic import atomic_write_text
from ltvlab.reports.cache import input_hashes, run_key
from ltvlab.reports.config import BatchConfig, RunSpec
from ltvlab.reports.index import write_index
from ltvlab.reports.outcome import HTML_FILE, IPYNB_FILE, LOG_FILE, RunOutcome

POLL_SECONDS = 0.2
LOG_TAIL_LINES = 15


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Outcomes of every configured run (in config order) and where the index was written."""

    outcomes: tuple[RunOutcome, ...]
    index_path: Path
    executed: tuple[str, ...]
    skipped: tuple[str, ...]
    interrupted: bool = False

    @property
    def failed(self) -> tuple[RunOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status in ("failed", "diagnostics_failed"))

    @property
    def ok(self) -> bool:
        return not self.failed


def default_jobs() -> int:
    """Number of CPU cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def kernel_name() -> str:
    """The project kernel ("ltvlab", registered by ``make setup``) or the running Python's own ("python3")."""
    from jupyter_client.kernelspec import KernelSpecManager

    return "ltvlab" if "ltvlab" in KernelSpecManager().find_kernel_specs() else "python3"


def run_dir_for(config: BatchConfig, run: RunSpec) -> Path:
    return config.output_dir / "runs" / run.name


def _notebook_label(config: BatchConfig, run: RunSpec) -> str:
    base = config.path.resolve().parent if config.path else Path.cwd()
    try:
        return str(run.notebook.relative_to(base))
    except ValueError:
        return str(run.notebook)


def _cached(config: BatchConfig, run: RunSpec, key: str) -> RunOutcome | None:
    folder = run_dir_for(config, run)
    last = RunOutcome.read(folder)
    if last is None or last.key != key or last.status not in ("ok", "diagnostics_failed"):
        return None
    if not (folder / HTML_FILE).is_file() or not (folder / IPYNB_FILE).is_file():
        return None
    return last


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _Active:
    def __init__(self, run: RunSpec, process: subprocess.Popen, log, attempt: str, job: dict) -> None:
        self.run, self.process, self.log, self.attempt, self.job = run, process, log, attempt, job
        self.start = time.monotonic()


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _launch(config: BatchConfig, run: RunSpec, key: str, kernel: str) -> _Active:
    folder = run_dir_for(config, run)
    folder.mkdir(parents=True, exist_ok=True)
    attempt = uuid.uuid4().hex
    job = {
        "name": run.name,
        "notebook": str(run.notebook),
        "notebook_label": _notebook_label(config, run),
        "title": f"{run.schema.title} — {run.name}",
        "parameters": dict(run.parameters),
        "run_dir": str(folder),
        "key": key,
        "attempt": attempt,
        "kernel_name": kernel,
        "inputs": input_hashes(run),
    }
    job_path = folder / ".job.json"
    atomic_write_text(job_path, json.dumps(job, indent=2, default=str))
    log = open(folder / LOG_FILE, "w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "ltvlab.reports._worker", str(job_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return _Active(run, process, log, attempt, job)


def _finish(config: BatchConfig, active: _Active, *, timed_out: bool) -> RunOutcome:
    active.log.close()
    folder = run_dir_for(config, active.run)
    outcome = RunOutcome.read(folder)
    if outcome is not None and outcome.attempt == active.attempt and not timed_out:
        return outcome
    job = active.job
    # The worker was stopped or crashed: keep its partial notebook (Papermill saves after every cell) so the
    # reader sees where it stopped, drop the previous run's outputs, and remove temporary files.
    partial = sorted(folder.glob(f".{IPYNB_FILE}.*.tmp.ipynb"), key=lambda p: p.stat().st_mtime)
    (folder / IPYNB_FILE).unlink(missing_ok=True)
    if partial:
        os.replace(partial[-1], folder / IPYNB_FILE)
    for stale in folder.glob(".*.tmp*"):
        stale.unlink(missing_ok=True)
    if timed_out:
        error = f"timed out after {active.run.timeout_seconds:g} s (timeout_seconds in the batch config)"
    else:
        error = f"worker exited with code {active.process.returncode}\n{_tail(folder / LOG_FILE)}"
    failed = RunOutcome(
        name=job["name"],
        notebook=job["notebook_label"],
        title=job["title"],
        parameters=job["parameters"],
        status="failed",
        key=job["key"],
        attempt=active.attempt,
        duration_seconds=round(time.monotonic() - active.start, 2),
        error=error,
        html=None,
        ipynb=IPYNB_FILE if (folder / IPYNB_FILE).is_file() else None,
        inputs=job["inputs"],
    )
    (folder / HTML_FILE).unlink(missing_ok=True)
    failed.write(folder)
    return failed


def longest_first(config: BatchConfig, runs: list[tuple[RunSpec, str]]) -> list[tuple[RunSpec, str]]:
    """Start order of the runs: those never timed first (config order), then the rest by the duration of their
    last run in ``config.output_dir``, longest first, so parallel workers finish close together (the
    longest-processing-time rule) instead of one long run starting last."""

    def last_seconds(run: RunSpec) -> float | None:
        previous = RunOutcome.read(run_dir_for(config, run))
        return None if previous is None else previous.duration_seconds

    timed = [(last_seconds(run), i) for i, (run, _) in enumerate(runs)]
    order = sorted(range(len(runs)), key=lambda i: (timed[i][0] is not None, -(timed[i][0] or 0.0), i))
    return [runs[i] for i in order]


def run_batch(
    config: BatchConfig,
    *,
    jobs: int | None = None,
    only: tuple[str, ...] | list[str] = (),
    force: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Execute the selected runs of ``config`` and write ``index.html`` listing every configured run."""
    selected = config.select(only)
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    outcomes: dict[str, RunOutcome] = {}
    pending: deque[tuple[RunSpec, str]] = deque()
    skipped: list[str] = []
    for run in selected:
        key = run_key(run)
        cached = None if force else _cached(config, run, key)
        if cached is not None:
            outcomes[run.name] = RunOutcome(**{**_as_dict(cached), "cached": True})
            skipped.append(run.name)
        else:
            pending.append((run, key))
    executed = tuple(run.name for run, _ in pending)
    pending = deque(longest_first(config, list(pending)))
    kernel = kernel_name() if pending else "python3"
    active: list[_Active] = []
    bar = tqdm(total=len(selected), desc="reports", unit="run", disable=not progress, file=sys.stderr)
    bar.update(len(skipped))
    n_failed = 0
    shown: dict[str, int] = {}
    interrupted = False
    # Ctrl-C must reach the loop below as KeyboardInterrupt even if an imported library replaced Python's handler
    # (or the batch was started with SIGINT ignored): restore the default for the batch, put the old one back after
    restore_sigint = threading.current_thread() is threading.main_thread()
    if restore_sigint:
        previous_sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while pending or active:
            while pending and len(active) < jobs:
                run, key = pending.popleft()
                active.append(_launch(config, run, key, kernel))
            state = {"running": len(active), "failed": n_failed, "skipped": len(skipped)}
            if state != shown:
                bar.set_postfix(state, refresh=True)
                shown = state
            time.sleep(POLL_SECONDS)
            for item in list(active):
                timed_out = (
                    item.process.poll() is None and time.monotonic() - item.start > item.run.timeout_seconds
                )
                if timed_out:
                    _kill_group(item.process)
                if item.process.poll() is None:
                    continue
                # stored before the run leaves ``active``: a Ctrl-C in between still finds it (finally below)
                outcome = _finish(config, item, timed_out=timed_out)
                outcomes[item.run.name] = outcome
                active.remove(item)
                n_failed += outcome.status != "ok"
                bar.update(1)
    except KeyboardInterrupt:  # Ctrl-C: keep what finished, list the rest as not run, write the index
        interrupted = True
    finally:
        for item in active:  # interrupted: stop what is still running
            _kill_group(item.process)
            item.log.close()
            for stale in run_dir_for(config, item.run).glob(".*.tmp*"):
                stale.unlink(missing_ok=True)
            # a run whose worker wrote its run.json (the last step) before the interrupt was noticed is done
            done = RunOutcome.read(run_dir_for(config, item.run))
            if item.run.name not in outcomes and done is not None and done.attempt == item.attempt:
                outcomes[item.run.name] = done
        bar.set_postfix(running=0, failed=n_failed, skipped=len(skipped), refresh=True)
        bar.close()
        if restore_sigint:
            signal.signal(signal.SIGINT, previous_sigint)
    selected_names = {run.name for run in selected}
    listing: list[RunOutcome] = []
    for run in config.runs:
        if run.name in outcomes:
            listing.append(outcomes[run.name])
            continue
        previous = None if run.name in selected_names else RunOutcome.read(run_dir_for(config, run))
        listing.append(
            previous
            or RunOutcome(
                name=run.name,
                notebook=_notebook_label(config, run),
                title=run.schema.title,
                parameters=dict(run.parameters),
                status="not_run",
                error="interrupted (Ctrl-C) before this run finished; run ltvlab run again to complete the batch"
                if interrupted
                else None,
            )
        )
    defaults = {_notebook_label(config, run): run.schema.defaults() for run in config.runs}
    index_path = write_index(listing, config.output_dir, defaults=defaults)
    return BatchResult(tuple(listing), index_path, executed, tuple(skipped), interrupted)


def _as_dict(outcome: RunOutcome) -> dict:
    from dataclasses import asdict

    return asdict(outcome)
