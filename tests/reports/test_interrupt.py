"""Ctrl-C during ``ltvlab run`` writes the index of what finished (the rest "not run"); a rerun completes it.
An impossible unquoted date in a batch YAML is a clear error (exit code 2), not a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reports.conftest import run_cli, write_config, write_notebook

LTVLAB = [sys.executable, "-c", "from ltvlab.cli import main; main()"]
WAIT_BODY = [
    "import time\nfrom pathlib import Path\n"
    "deadline = time.monotonic() + 120\n"
    "while not Path(gate).exists() and time.monotonic() < deadline:\n    time.sleep(0.2)"
]


def _wait_for(path: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_ctrl_c_writes_the_index_of_what_finished_and_a_rerun_completes_it(
    tmp_path: Path, inherited: str
) -> None:
    """``ignored``: the batch starts with SIGINT ignored (as under some launchers or after a library changed the
    handler); the batch restores Python's handler, so Ctrl-C still stops it."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "quick", {"n": ("int", 1)}, ["from ltvlab.reports import record\nrecord(n=n)"])
    write_notebook(nbs, "waits", {"gate": ("str", "")}, WAIT_BODY)
    gate = tmp_path / "gate"
    config = write_config(
        tmp_path,
        [
            {"name": "quick", "notebook": "notebooks/quick.ipynb"},
            {"name": "waits", "notebook": "notebooks/waits.ipynb", "parameters": {"gate": str(gate)}},
            {"name": "queued", "notebook": "notebooks/quick.ipynb", "parameters": {"n": 2}},
        ],
    )
    out = tmp_path / "out"
    command = [*LTVLAB, "run", "--config", str(config), "--jobs", "2", "--no-progress"]
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if inherited == "ignored" else None
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=ignore
    )
    try:
        _wait_for(out / "runs" / "quick" / "run.json")  # quick finished; waits is still running
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert "interrupted" in output and "run the same command again" in output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'data-run="quick"' in index and 'class="ltv-row-ok" data-run="quick"' in index
    for name in ("waits", "queued"):
        assert f'class="ltv-row-not_run" data-run="{name}"' in index
    assert index.count(">not run<") == 2
    assert not list((out / "runs" / "waits").glob(".*.tmp*"))

    gate.write_text("open", encoding="utf-8")
    result = run_cli(["run", "--config", str(config), "--jobs", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "2 executed, 1 skipped" in result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "not_run" not in index
    for name in ("quick", "waits", "queued"):
        assert json.loads((out / "runs" / name / "run.json").read_text())["status"] == "ok"


def test_an_impossible_unquoted_date_in_the_batch_file_is_a_clear_error(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "dated", {"calibration_end": ("date", "1997-09-30")}, ["print(calibration_end)"])
    config = tmp_path / "batch.yml"
    config.write_text(
        "output_dir: out\nruns:\n  - name: d\n    notebook: notebooks/dated.ipynb\n"
        "    parameters:\n      calibration_end: 1997-02-30\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [*LTVLAB, "run", "--config", str(config), "--no-progress"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text
    assert "batch.yml, line 6" in text and "'1997-02-30' is not a real date" in text
    assert "YYYY-MM-DD" in text
    assert not (tmp_path / "out").exists()
