"""Escaping, id hashing and output sanitising: user text never becomes markup, ids never appear."""

from __future__ import annotations

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_notebook, new_output

from ltvlab.reports import escape_html, hash_id, hash_ids
from ltvlab.reports.safety import sanitize_html_fragment, sanitize_outputs

SCRIPT = "<script>alert(1)</script>"


def test_escape_html() -> None:
    assert escape_html(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape_html('a" onmouseover="x') == "a&quot; onmouseover=&quot;x"
    assert escape_html(None) == ""


def test_hash_id_is_salted_stable_and_hides_the_id() -> None:
    a = hash_id("customer-42", salt="s1")
    assert a == hash_id("customer-42", salt="s1")
    assert a != hash_id("customer-42", salt="s2")
    assert a != hash_id("customer-43", salt="s1")
    assert "customer" not in a and len(a) == 64  # the full sha256: the same value as in scored exports
    hashed = hash_ids(pd.Series(["x", "y", "x"], name="customer_id"), salt="s1")
    assert hashed.iloc[0] == hashed.iloc[2] != hashed.iloc[1]
    assert hashed.name == "customer_id"


def test_project_salt_is_created_once_and_reused(tmp_path, monkeypatch) -> None:
    from ltvlab.reports.safety import SALT_ENV, project_salt

    monkeypatch.delenv(SALT_ENV, raising=False)
    monkeypatch.setenv("LTVLAB_ROOT", str(tmp_path))
    first = project_salt()
    assert len(first) == 32 and project_salt() == first
    assert (tmp_path / "data" / "processed" / "id_salt").read_text() == first


def test_sanitiser_drops_script_and_handlers_but_keeps_tables() -> None:
    styled = pd.DataFrame({"segment": [SCRIPT]}).style.to_html()  # Styler does not escape cell text
    assert SCRIPT in styled
    clean = sanitize_html_fragment(styled + '<img src="data:image/png;base64,AAAA" onerror="alert(2)">')
    assert "<script" not in clean and "onerror" not in clean
    assert "<table" in clean and 'src="data:image/png;base64,AAAA"' in clean

    nb = new_notebook(cells=[new_code_cell("x")])
    nb.cells[0].outputs = [
        new_output("display_data", data={"text/html": styled, "application/javascript": "alert(3)"}),
        new_output("display_data", data={"text/markdown": f"**segment** {SCRIPT}"}),
    ]
    sanitize_outputs(nb)
    text = nbformat.writes(nb)
    assert "<script" not in text and "alert(3)" not in text
