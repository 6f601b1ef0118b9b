"""Open the index and a report in headless Chromium: renders, no console errors, no network, not blank.

Uses Debian's chromium (``apt-get install chromium``) through Playwright's Python API with
``executable_path``; Playwright's own browser downloads are never used. Skipped with the reason when either
is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.reports.conftest import run_cli, write_config, write_label_notebook

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]  # tests/reports/test_report_pages.py covers every page by default
SCRIPT = "<script>alert(1)</script>"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no chromium on PATH: install Debian's chromium (apt-get install -y chromium) to run this test"
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    nbs = root / "notebooks"
    nbs.mkdir()
    write_label_notebook(nbs)
    config = write_config(
        root, [{"name": "labels", "notebook": "notebooks/labels.ipynb", "parameters": {"label": SCRIPT}}]
    )
    result = run_cli(["run", "--config", str(config), "--jobs", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    return root / "out"


def _visit(page, url: str, shot: Path) -> dict:
    console_errors: list[str] = []
    page_errors: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)
    page.screenshot(path=str(shot), full_page=True)
    return {"console": console_errors, "errors": page_errors, "requests": requests, "dialogs": dialogs}


def _pixel_std(path: Path) -> float:
    import matplotlib.image as mpimg

    pixels = mpimg.imread(str(path))[..., :3]
    return float(np.std(pixels))


def test_index_and_report_render_offline_without_errors(reports: Path, tmp_path: Path) -> None:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright (dev extra) missing")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            index = _visit(page, (reports / "index.html").as_uri(), tmp_path / "index.png")
            # a notebook without checks: its status word is "not applicable"
            assert page.locator('tr[data-run="labels"] .ltv-status').inner_text() == "not applicable"
            page.click('tr[data-run="labels"] a:has-text("report")')
            page.wait_for_load_state("load")
            assert page.url.endswith("runs/labels/report.html")

            page = browser.new_page(viewport={"width": 1200, "height": 900})
            report = _visit(
                page, (reports / "runs" / "labels" / "report.html").as_uri(), tmp_path / "report.png"
            )
            # code is hidden by default and shown by the control
            code = page.locator(".jp-Cell-inputWrapper").first
            assert not code.is_visible()
            page.click("#ltv-toggle-code")
            assert code.is_visible()
            # the script label is on the page as text, and no alert ever fired
            assert SCRIPT in page.inner_text("body")
            assert page.locator("img").count() >= 1
            assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        finally:
            browser.close()
    for visit in (index, report):
        assert visit["console"] == [] and visit["errors"] == []
        assert visit["dialogs"] == []
        assert visit["requests"] and all(u.startswith(("file://", "data:")) for u in visit["requests"])
    # A blank page has zero pixel variance; a rendered page with text, a table and a bar chart has plenty.
    for shot in ("index.png", "report.png"):
        assert _pixel_std(tmp_path / shot) > 0.05, shot
