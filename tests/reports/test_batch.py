"""The batch runner end to end on tiny notebooks: injection-safe parameters, escaping, failures, timeouts.

One batch of six runs executes once per module; the tests read its outputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.reports.conftest import run_cli, write_config, write_label_notebook, write_notebook

SCRIPT = "<script>alert(1)</script>"
# The brief's injection string: Papermill writes parameters as Python source, so a value that closes the
# string literal would run code if it were pasted in unescaped.
INJECTION = "x'); import os; os.system('touch /tmp/pwned') #"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    nbs = root / "notebooks"
    nbs.mkdir()
    marker = root / "pwned2"
    injections = [
        INJECTION,
        f'x"); import os; os.system("touch {marker}") #',
        f"x'''\nimport os\nos.system('touch {marker}')\n'''",
        f"\\'); import os; os.system('touch {marker}') #",
    ]
    # one run carries every injection string, each in its own parameter (Papermill writes each as source)
    texts = {f"text{i}": ("str", "hello") for i in range(len(injections))}
    write_notebook(
        nbs,
        "echo",
        texts,
        ["from ltvlab.reports import record\nrecord(echo=[" + ", ".join(texts) + "])"],
    )
    write_label_notebook(nbs)
    write_notebook(
        nbs,
        "checks_share",
        {"share": ("float", 0.1)},
        [
            "from ltvlab.errors import LtvlabError\nif not 0 <= share <= 1:\n"
            '    raise LtvlabError(f"share={share} must be between 0 and 1; pass a share such as 0.05")'
        ],
    )
    write_notebook(nbs, "sleeps", {"seconds": ("float", 0.0)}, ["import time\ntime.sleep(seconds)"])
    write_notebook(
        nbs,
        "fit",
        {"seed": ("int", 7)},
        ["from ltvlab.reports import record\nrecord(diagnostics_ok=False, data_sha256='abc123')"],
    )
    runs = [
        {
            "name": "echo",
            "notebook": "notebooks/echo.ipynb",
            "parameters": {f"text{i}": text for i, text in enumerate(injections)},
        },
        {"name": "labels", "notebook": "notebooks/labels.ipynb", "parameters": {"label": SCRIPT}},
        {"name": "bad-share", "notebook": "notebooks/checks_share.ipynb", "parameters": {"share": 2.0}},
        {"name": "good-share", "notebook": "notebooks/checks_share.ipynb", "parameters": {"share": 0.5}},
        {
            "name": "too-slow",
            "notebook": "notebooks/sleeps.ipynb",
            "parameters": {"seconds": 120.0},
            "timeout_seconds": 8,
        },
        {"name": "fit", "notebook": "notebooks/fit.ipynb"},
    ]
    config = write_config(root, runs)
    Path("/tmp/pwned").unlink(missing_ok=True)
    result = run_cli(["run", "--config", str(config), "--jobs", "2", "--no-progress"])
    out = root / "out"
    return {
        "root": root,
        "result": result,
        "out": out,
        "index": (out / "index.html").read_text(encoding="utf-8"),
        "injections": injections,
        "marker": marker,
        "run": lambda name: json.loads((out / "runs" / name / "run.json").read_text()),
    }


def test_injection_parameters_arrive_as_literal_strings_and_run_nothing(batch) -> None:
    run = batch["run"]("echo")
    assert run["status"] == "ok", run["error"]
    assert run["recorded"]["echo"] == batch["injections"]
    assert not Path("/tmp/pwned").exists()
    assert not batch["marker"].exists()


def test_script_label_renders_as_text_in_report_and_index(batch) -> None:
    run = batch["run"]("labels")
    assert run["status"] == "ok", run["error"]
    page = (batch["out"] / "runs" / "labels" / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in page
    assert "alert(1)" in page  # the label is still there, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # escaped in the parameters header and the table
    # the only script elements are the report's own show-code toggle
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 1 and "ltv-toggle-code" in scripts[0]
    assert "data:image/png;base64," in page  # the plot is embedded, not linked
    assert SCRIPT not in batch["index"] and "&lt;script&gt;" in batch["index"]


def test_failing_run_is_reported_while_the_others_complete(batch) -> None:
    result = batch["result"]
    assert result.exit_code == 1, result.output
    assert "index: " in result.output and str(batch["out"] / "index.html") in result.output
    bad = batch["run"]("bad-share")
    assert bad["status"] == "failed"
    assert "LtvlabError: share=2.0 must be between 0 and 1" in bad["error"]
    assert (
        bad["html"] == "report.html" and bad["ipynb"] == "executed.ipynb"
    )  # the failed notebook is viewable
    assert batch["run"]("good-share")["status"] == "ok"
    index = batch["index"]
    row = re.search(r'<tr class="ltv-row-failed" data-run="bad-share">.*?</tr>', index, flags=re.S).group(0)
    assert "share=2.0 must be between 0 and 1" in row
    assert 'href="runs/bad-share/executed.ipynb"' in row
    ok_row = re.search(r'<tr class="ltv-row-ok" data-run="good-share">.*?</tr>', index, flags=re.S).group(0)
    assert 'href="runs/good-share/report.html"' in ok_row


def test_timeout_stops_the_run_and_its_kernel(batch) -> None:
    run = batch["run"]("too-slow")
    assert run["status"] == "failed"
    assert "timed out after 8 s" in run["error"]
    assert run["html"] is None and not (batch["out"] / "runs" / "too-slow" / "report.html").exists()
    assert run["duration_seconds"] < 30


def test_diagnostics_failure_is_red_with_provenance(batch) -> None:
    run = batch["run"]("fit")
    assert run["status"] == "diagnostics_failed"
    assert 'class="ltv-row-diagnostics_failed" data-run="fit"' in batch["index"]
    page = (batch["out"] / "runs" / "fit" / "report.html").read_text(encoding="utf-8")
    assert "Fit diagnostics failed" in page
    footer = page[page.index('<footer class="ltv-footer">') :]
    text = re.sub(
        r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", page[page.index("<body") :], flags=re.S
    )
    assert "passed" not in text.lower()  # no "passed" anywhere on the page of a fit that failed
    assert 'ltv-status-failed">failed<' in page
    for needle in (
        "ltvlab version",
        "git commit",
        "pandas=",
        "abc123",
        "random seed",
        "<code>7</code>",
        "fit diagnostics</th><td><code>failed</code>",
    ):
        assert needle in footer, needle
    assert re.search(r"started</th><td><code>\d{4}-\d\d-\d\dT", footer)


def test_only_runs_a_subset_and_keeps_the_rest_in_the_index(batch, tmp_path) -> None:
    config = batch["root"] / "batch.yml"
    result = run_cli(["run", "--config", str(config), "--only", "good-share", "--jobs", "1", "--no-progress"])
    assert result.exit_code == 1  # bad-share is still failed in the index
    assert "1 executed" not in result.output and "0 executed, 1 skipped" in result.output
    index = (batch["out"] / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr class=") == 6


def test_unknown_parameter_stops_before_anything_runs(tmp_path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "echo", {"text": ("str", "hello")}, ["print(text)"])
    config = write_config(
        tmp_path, [{"name": "e", "notebook": "notebooks/echo.ipynb", "parameters": {"txt": "a"}}]
    )
    result = run_cli(["run", "--config", str(config), "--no-progress"])
    assert result.exit_code == 2
    assert "unknown parameter(s) 'txt'" in result.output and "declares: text" in result.output
    assert not (tmp_path / "out").exists()


def test_runs_start_longest_first_by_their_last_duration_untimed_runs_first(tmp_path: Path) -> None:
    from ltvlab.reports import load_config
    from ltvlab.reports.batch import longest_first, run_dir_for
    from ltvlab.reports.outcome import RunOutcome

    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    write_notebook(nbs, "echo", {"text": ("str", "hello")}, ["print(text)"])
    names = ["quick", "new-a", "slow", "middle", "new-b"]
    config = load_config(
        write_config(tmp_path, [{"name": n, "notebook": "notebooks/echo.ipynb"} for n in names])
    )
    for name, seconds in {"quick": 3.0, "slow": 120.0, "middle": 40.0}.items():
        folder = run_dir_for(config, config.select([name])[0])
        folder.mkdir(parents=True)
        RunOutcome(name=name, notebook="echo", title="t", parameters={}, status="ok",
                   duration_seconds=seconds).write(folder)  # fmt: skip
    order = longest_first(config, [(run, "key") for run in config.runs])
    assert [run.name for run, _ in order] == ["new-a", "new-b", "slow", "middle", "quick"]
