"""Unchanged runs are skipped, changed inputs rerun, --force reruns, and a killed rerun never looks good."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from tests.reports.conftest import run_cli, write_config, write_notebook


def _run(config: Path, *extra: str):
    start = time.monotonic()
    result = run_cli(["run", "--config", str(config), "--jobs", "2", "--no-progress", *extra])
    return result, time.monotonic() - start


def test_second_run_skips_everything_force_reruns_and_inputs_are_hashed(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    data_a, data_b = tmp_path / "a.csv", tmp_path / "b.csv"
    data_a.write_text("x\n1\n")
    data_b.write_text("x\n2\n")
    schema = {
        "title": "Reads a file",
        "parameters": {"data_file": {"type": "str", "default": str(data_a), "role": "data_file"}},
    }
    write_notebook(
        nbs,
        "reads",
        {"data_file": ("str", str(data_a))},
        ["from pathlib import Path\nprint(len(Path(data_file).read_text()))"],
        schema=schema,
    )
    config = write_config(
        tmp_path,
        [
            {"name": "a", "notebook": "notebooks/reads.ipynb", "parameters": {"data_file": str(data_a)}},
            {"name": "b", "notebook": "notebooks/reads.ipynb", "parameters": {"data_file": str(data_b)}},
        ],
    )
    first, _ = _run(config)
    assert first.exit_code == 0, first.output
    assert "2 executed, 0 skipped" in first.output

    second, seconds = _run(config)
    assert second.exit_code == 0, second.output
    assert "0 executed, 2 skipped (unchanged)" in second.output
    # "finishes in seconds": hashing two tiny files and rewriting the index; generous bound for a loaded machine
    assert seconds < 10
    index = (tmp_path / "out" / "index.html").read_text()
    assert index.count("(cached)") == 2 and 'href="runs/a/report.html"' in index

    forced, _ = _run(config, "--force")
    assert "2 executed, 0 skipped" in forced.output

    data_b.write_text("x\n3\n")  # same size, new content: only the run that reads it reruns
    changed, _ = _run(config)
    assert "1 executed, 1 skipped" in changed.output
    record = json.loads((tmp_path / "out" / "runs" / "b" / "run.json").read_text())
    assert record["cached"] is False and record["status"] == "ok"


def test_a_killed_rerun_replaces_the_good_report_with_a_failure(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "sleeps", {"seconds": ("float", 0.0)}, ["import time\ntime.sleep(seconds)"])
    run = {
        "name": "s",
        "notebook": "notebooks/sleeps.ipynb",
        "parameters": {"seconds": 0.0},
        "timeout_seconds": 120,  # generous for the good run: kernel start on a loaded machine
    }
    config = write_config(tmp_path, [run])
    first, _ = _run(config)
    assert first.exit_code == 0, first.output
    folder = tmp_path / "out" / "runs" / "s"
    assert (folder / "report.html").is_file()

    run["parameters"]["seconds"] = 600.0
    run["timeout_seconds"] = 8
    config.write_text(yaml.safe_dump({"output_dir": "out", "runs": [run]}))
    second, _ = _run(config)
    assert second.exit_code == 1
    outcome = json.loads((folder / "run.json").read_text())
    assert outcome["status"] == "failed" and "timed out" in outcome["error"]
    assert not (folder / "report.html").exists()  # the old good report is not left looking current
    assert not list(folder.glob(".*.tmp*"))
    index = (tmp_path / "out" / "index.html").read_text()
    assert 'href="runs/s/report.html"' not in index and "ltv-row-failed" in index
