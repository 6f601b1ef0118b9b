"""Every report of the default batch, and the index, read as a person would: headless Chromium at 1,400 px.

The batch is the session's ``suite`` (tests/reports/conftest.py: reports.yml with each notebook's smallest
parameters, so the LTV run is a MAP fit, plus an LTV run whose short NUTS fit fails its gate). On every page:
the headline block is the first content under the title; the visible text holds no warning, traceback, NaN or
None and no 6-decimal float (the folded provenance may); nothing is wider than the page; prose is visible while
code is hidden. The failed fit shows its failure in the headline and no "passed" anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.reports.conftest import GATE_FAILS, USER_FILE

pytestmark = pytest.mark.browser
WIDTH = 1400
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FORBIDDEN = re.compile(r"Warning|Traceback|\bnan\b|\bNaN\b|\bNone\b")
SIX_DECIMALS = re.compile(r"\d\.\d{6,}")
ZERO_WIDTH = re.compile(r"(\$?-?[\d,]+(?:\.\d+)?) to \1(?![\d.])")

# JavaScript run in the page: layout facts the assertions need
LAYOUT = """() => {
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
    && getComputedStyle(e).visibility !== 'hidden'; };
  const headline = document.querySelector('.ltv-headline');
  const cells = [...document.querySelectorAll('main .jp-Cell')].filter(visible);
  const wide = [...document.querySelectorAll('body *')].filter(visible)
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => e.tagName + '.' + e.className);
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('style, script').forEach(e => e.remove());
  return {
    headline: headline && visible(headline) ? headline.getBoundingClientRect().bottom : null,
    title: document.querySelector('h1') ? document.querySelector('h1').getBoundingClientRect().bottom : null,
    firstCell: cells.length ? Math.min(...cells.map(c => c.getBoundingClientRect().top)) : null,
    scrollWidth: document.documentElement.scrollWidth,
    wide: wide.slice(0, 5),
    code: [...document.querySelectorAll('.jp-CodeCell .jp-Cell-inputWrapper')].filter(visible).length,
    prose: [...document.querySelectorAll('.jp-MarkdownCell h2')].filter(visible).length,
    allText: clone.textContent,
  };
}"""


def _chromium() -> str:
    path = Path("/usr/bin/chromium")
    if not path.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium to run the browser tests")
    return str(path)


@pytest.fixture(scope="module")
def pages(suite, tmp_path_factory):
    """Visit the index and every report once; keep the facts and a full-page screenshot of each."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright (dev extra) missing")
    out = suite.index_path.parent
    shots = tmp_path_factory.mktemp("shots")
    targets = {"index": suite.index_path}
    for outcome in suite.outcomes:
        if outcome.html and outcome.name != USER_FILE:
            targets[outcome.name] = out / "runs" / outcome.name / outcome.html
    facts = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            for name, path in targets.items():
                page.goto(path.as_uri(), wait_until="load")
                facts[name] = {**page.evaluate(LAYOUT), "visible": page.inner_text("body")}
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        finally:
            browser.close()
    return facts


def _reports(pages) -> dict:
    return {k: v for k, v in pages.items() if k != "index"}


def test_every_default_report_was_rendered(pages, suite) -> None:
    names = {o.name for o in suite.outcomes} - {USER_FILE}
    assert names <= set(pages), names - set(pages)


def test_the_headline_is_the_first_content(pages) -> None:
    for name, page in _reports(pages).items():
        assert page["headline"] is not None, f"{name}: no visible headline block"
        assert page["title"] < page["headline"], name
        assert page["firstCell"] is None or page["headline"] <= page["firstCell"], name


def test_visible_text_is_for_people(pages) -> None:
    for name, page in pages.items():
        text = page["visible"]
        assert not FORBIDDEN.findall(text), (name, FORBIDDEN.findall(text)[:5])
        assert not SIX_DECIMALS.findall(text), (name, SIX_DECIMALS.findall(text)[:5])


def test_nothing_is_wider_than_the_page(pages) -> None:
    for name, page in pages.items():
        assert page["scrollWidth"] <= WIDTH, (name, page["scrollWidth"])
        assert page["wide"] == [], (name, page["wide"])


def test_prose_is_visible_while_code_is_hidden(pages) -> None:
    for name, page in _reports(pages).items():
        assert page["code"] == 0, name
        assert page["prose"] >= 2, name


def test_a_map_fit_shows_no_zero_width_interval(pages, suite) -> None:
    ltv = next(o for o in suite.outcomes if o.name == "ltv-cdnow-sample")
    assert ltv.parameters["method"] == "map"
    page = pages["ltv-cdnow-sample"]
    assert "Trust: not applicable" in page["visible"] and "no sampler diagnostics" in page["visible"]
    assert not ZERO_WIDTH.findall(page["visible"]), ZERO_WIDTH.findall(page["visible"])[:5]


def test_a_failed_gate_is_in_the_headline_and_nothing_says_passed(pages, suite) -> None:
    page = pages[GATE_FAILS]
    headline = page["visible"][: page["visible"].index("Show code")]
    assert "Not reliable" in headline and "failed" in headline
    assert "diagnostics gate, purchase model (BG/NBD)" in headline
    assert "passed" not in page["allText"].lower()
    index = suite.index_path.read_text(encoding="utf-8")
    row = re.search(rf'data-run="{GATE_FAILS}">.*?</tr>', index, flags=re.S).group(0)
    assert 'ltv-status-failed">failed<' in row and "passed" not in row
