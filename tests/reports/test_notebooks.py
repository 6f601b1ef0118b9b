"""Every notebook in notebooks/ is thin, stored without outputs, declares its parameters, and runs.

The run uses each notebook's ``test`` overrides from its sidecar (the smallest parameters), all in one batch.
The data-quality notebook also runs on a user file whose customer ids must never appear in the report and
whose segment label is a script tag that must render as text.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from ltvlab.paths import project_root
from ltvlab.reports import load_schema
from tests.reports.conftest import GATE_FAILS, USER_FILE

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))
SCRIPT = "<script>alert(1)</script>"


def test_there_are_notebooks() -> None:
    assert any(p.name == "00_data_quality.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_clean_and_declares_its_parameters(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "store notebooks without outputs"
    for cell in code:
        tree = ast.parse(cell.source)
        assert not any(
            isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef) for n in ast.walk(tree)
        )
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    declared = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, "parameters: one assignment per line"
        declared[node.targets[0].id] = ast.literal_eval(node.value)  # raises unless a literal
    schema = load_schema(path)
    assert set(declared) == set(schema.names)
    for name, default in declared.items():
        assert default == schema.spec(name).default, name
    assert nb.metadata["kernelspec"]["name"] == "ltvlab"


def test_every_notebook_runs_with_its_test_parameters(suite) -> None:
    ran = {Path(o.notebook).name for o in suite.outcomes}
    assert {p.name for p in NOTEBOOKS} <= ran
    failed = {
        o.name: o.error for o in suite.outcomes if o.status != "ok" and o.name not in (GATE_FAILS, USER_FILE)
    }
    assert not failed


def test_the_short_nuts_run_fails_its_gate(suite) -> None:
    outcome = next(o for o in suite.outcomes if o.name == GATE_FAILS)
    assert outcome.status == "diagnostics_failed", outcome.error
    assert outcome.recorded["status"] == "failed" and outcome.recorded["diagnostics_ok"] is False


def test_data_quality_runs_on_a_user_file(suite) -> None:
    outcome = next(o for o in suite.outcomes if o.name == USER_FILE)
    assert outcome.status == "ok", outcome.error


def test_data_quality_report_on_a_user_file_hides_ids_and_escapes_labels(suite) -> None:
    outcome = next(o for o in suite.outcomes if o.name == USER_FILE)
    assert outcome.status == "ok", outcome.error
    assert outcome.recorded["rows_in"] == 41 and outcome.recorded["rows_quarantined"] == 1
    folder = suite.index_path.parent / "runs" / outcome.name
    page = (folder / "report.html").read_text(encoding="utf-8")
    executed = (folder / "executed.ipynb").read_text(encoding="utf-8")
    assert "SECRET-CUSTOMER" not in page and "SECRET-CUSTOMER" not in re.sub(r'"source":.*', "", executed)
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "data:image/png;base64," in page


def test_data_quality_on_bundled_sample_records_the_reference_counts(suite) -> None:
    outcome = next(o for o in suite.outcomes if o.name == "data-quality-cdnow-sample")
    # CDNOW sample reference figures (shared/data/README.md): 2,357 customers, 2,457 repeat transactions
    assert outcome.recorded["customers"] == 2357
    assert outcome.recorded["repeat_transactions"] == 2457
    assert (
        outcome.recorded["data_sha256"] == "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a"
    )
    assert json.loads(json.dumps(outcome.parameters))["dataset"] == "cdnow-sample"
