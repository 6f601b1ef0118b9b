"""Executed notebook -> one self-contained HTML report, findings first.

nbconvert's ``lab`` template with every block that would fetch something from the network (require.js,
MathJax, Mermaid, widgets) emptied: CSS is inlined, images are embedded as data URIs, and the page works
offline. The page reads, top to bottom:

1. the title and the notebook's **headline block** (the output of :func:`ltvlab.reports.publish_headline`,
   moved to the top), or a status badge when the notebook has none, and a banner when the run failed;
2. the sections: markdown prose always visible, code cells folded behind "Show code" (the "Parameters — edit
   here" heading, tagged ``parameters-heading``, folds with them);
3. folded details: the parameters, the provenance, and the **run log** — every stderr stream of the
   notebook (library warnings, progress bars) is taken out of the body and listed there, by cell.

All text we add is HTML-escaped, and cell outputs pass through an allowlist sanitiser
(:func:`ltvlab.reports.safety.sanitize_outputs`), so user text can never run as script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from ltvlab.reports import format as fmt
from ltvlab.reports.headline import HEADLINE_CLASS, HEADLINE_CSS
from ltvlab.reports.safety import escape_html, sanitize_outputs
from ltvlab.reports.status import FAILED, NOT_APPLICABLE, PASSED

_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.ltvlab_css }}</style>{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook ltv-report" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.ltvlab_header }}
<main>
{%- endblock body_header -%}
{%- block body_footer -%}
</main>
{{ resources.ltvlab_footer }}
<script>
(function () {
  var button = document.getElementById('ltv-toggle-code');
  if (!button) { return; }
  button.addEventListener('click', function () {
    var shown = document.body.classList.toggle('ltv-show-code');
    button.textContent = shown ? 'Hide code' : 'Show code';
    button.setAttribute('aria-pressed', shown ? 'true' : 'false');
  });
}());
</script>
</body>
{%- endblock body_footer -%}
"""

_CSS = (
    """
body.ltv-report { max-width: 1400px; overflow-x: hidden; }
body.ltv-report:not(.ltv-show-code) .jp-CodeCell .jp-Cell-inputWrapper,
body.ltv-report:not(.ltv-show-code) .jp-OutputPrompt,
body.ltv-report:not(.ltv-show-code) .jp-InputPrompt { display: none; }
body.ltv-report:not(.ltv-show-code) .jp-CodeCell:not(:has(.jp-OutputArea-child)) { display: none; }
body.ltv-report:not(.ltv-show-code) .jp-MarkdownCell:has(.celltag_parameters-heading) { display: none; }
body.ltv-report:not(.ltv-show-code) .jp-MarkdownCell .jp-InputPrompt { display: none; }
body.ltv-report .jp-Cell { max-width: 1320px; }
body.ltv-report .jp-OutputArea-output img { max-width: 100%; height: auto; }
body.ltv-report .jp-RenderedHTMLCommon { max-width: 1200px; }
.ltv-header, .ltv-footer { font-family: system-ui, sans-serif; margin: 16px 24px; max-width: 1300px; }
.ltv-header h1 { font-size: 1.6em; margin: 0 0 8px 0; }
.ltv-footer { border-top: 1px solid #ccc; padding-top: 8px; font-size: 0.85em; color: #333; }
.ltv-footer details { margin: 6px 0; }
.ltv-footer summary { cursor: pointer; font-weight: 600; }
.ltv-kv { border-collapse: collapse; margin: 6px 0; table-layout: fixed; max-width: 1250px; }
.ltv-kv th, .ltv-kv td { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }
.ltv-kv td code { white-space: pre-wrap; word-break: break-all; }
.ltv-log { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: 6px; max-width: 1250px; }
.ltv-status { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: bold; }
.ltv-status-passed { background: #2e7d32; }
.ltv-status-failed { background: #c62828; }
.ltv-status-not-applicable, .ltv-status-not-run { background: #6b6b6b; }
.ltv-status.ltv-tone-amber { background: #b86a12; }
.ltv-banner { background: #fdecea; border-left: 6px solid #c62828; padding: 8px 12px; margin: 8px 0; }
.ltv-banner pre { white-space: pre-wrap; word-break: break-word; }
#ltv-toggle-code { margin: 6px 0; padding: 4px 12px; cursor: pointer; }
.ltv-table-wrap { max-width: 100%; overflow-x: auto; margin: 4px 0 10px 0; }
table.ltv-table { border-collapse: collapse; font-size: 0.9em; }
.jp-RenderedHTMLCommon table.ltv-table th, table.ltv-table th { text-align: left; border-bottom: 1px solid #999; padding: 3px 10px; vertical-align: bottom; }
table.ltv-table td { border-bottom: 1px solid #e3e3e3; padding: 3px 10px; vertical-align: top; }
.jp-RenderedHTMLCommon table.ltv-table td.ltv-num, table.ltv-table td.ltv-num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.jp-RenderedHTMLCommon table.ltv-table td.ltv-text, table.ltv-table td.ltv-text { max-width: 32em; text-align: left; }
.ltv-table-caption { color: #444; font-size: 0.9em; margin: 6px 0 2px 0; }
"""
    + HEADLINE_CSS
)

STATUS_LABELS: dict[str, str] = {
    "ok": "ok",
    "failed": "failed",
    "diagnostics_failed": "failed",
    "not_run": "not run",
}


def status_word(status: str, recorded: Mapping[str, Any]) -> str:
    """The one word for a run: its headline's status (passed / failed / not applicable), ``failed`` when the
    run failed or a fit failed its gate, ``not run`` when it never ran."""
    if status in ("failed", "diagnostics_failed"):
        return FAILED
    if status == "not_run":
        return "not run"
    word = recorded.get("status")
    if word in (PASSED, FAILED, NOT_APPLICABLE):
        return word
    if recorded.get("diagnostics_ok") is True:
        return PASSED
    return NOT_APPLICABLE


def status_tone(status: str, recorded: Mapping[str, Any]) -> str:
    """The colour of a run's status word, the same as its headline's trust line: ``red`` (failed), ``amber``
    (passed with a caution, e.g. a realised value outside its interval but within what the interval's coverage
    allows), ``green`` (passed) or ``grey`` (not applicable, not run)."""
    word = status_word(status, recorded)
    if word == FAILED:
        return "red"
    if word != PASSED:
        return "grey"
    return "amber" if recorded.get("tone") == "amber" else "green"


def status_badge(status: str, recorded: Mapping[str, Any]) -> str:
    """The status word as a coloured badge (a passed-with-caution run says so in its tooltip)."""
    word, tone = status_word(status, recorded), status_tone(status, recorded)
    tip = ' title="passed with a caution: see the headline"' if tone == "amber" else ""
    return (
        f'<span class="ltv-status ltv-tone-{tone} ltv-status-{escape_html(word.replace(" ", "-"))}"{tip}>'
        f"{escape_html(word)}</span>"
    )


def _kv_table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{escape_html(k)}</th><td><code>{escape_html(_text(v))}</code></td></tr>"
        for k, v in rows.items()
    )
    return f'<table class="ltv-kv">{body}</table>'


def _text(value: Any) -> str:
    if fmt.is_missing(value):
        return fmt.MISSING
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def diagnostics_label(recorded: Mapping[str, Any]) -> str:
    """The fit's diagnostics gate in the status vocabulary, from the notebook's recorded ``diagnostics_ok``
    (``None`` for a MAP fit: not applicable)."""
    if recorded.get("diagnostics_ok") is None:
        return f"{NOT_APPLICABLE} (no sampler diagnostics recorded)"
    return PASSED if recorded["diagnostics_ok"] else FAILED


def error_html(error: str) -> str:
    """A run's error: its first line visible, the rest (the traceback) folded."""
    first, _, rest = error.strip().partition("\n")
    folded = (
        f'<details><summary>details</summary><pre class="ltv-error">{escape_html(rest)}</pre></details>'
        if rest.strip()
        else ""
    )
    return f'<pre class="ltv-error">{escape_html(first)}</pre>{folded}'


def header_html(
    *,
    title: str,
    status: str,
    error: str | None = None,
    headline: str = "",
    recorded: Mapping[str, Any] | None = None,
) -> str:
    """The report's header: title, the headline block (or a status badge), a failure banner, the code toggle."""
    banner = ""
    if status == "failed":
        banner = f'<div class="ltv-banner"><strong>Run failed</strong>{error_html(error or "")}</div>'
    elif status == "diagnostics_failed" and not headline:
        banner = (
            '<div class="ltv-banner"><strong>Fit diagnostics failed</strong> (R-hat, ESS or divergences '
            "outside the thresholds): do not use these estimates.</div>"
        )
    badge = "" if headline else f"<p>{status_badge(status, recorded or {})}</p>"
    return (
        '<header class="ltv-header">'
        f"<h1>{escape_html(title)}</h1>{banner}{headline}{badge}"
        '<button id="ltv-toggle-code" type="button" aria-pressed="false">Show code</button>'
        "</header>"
    )


def footer_html(
    provenance: Mapping[str, Any], *, parameters: Mapping[str, Any] | None = None, run_log: str = ""
) -> str:
    """Folded details at the end: parameters, provenance (every value escaped) and the run log."""
    parts = []
    if parameters is not None:
        parts.append(f"<details><summary>Parameters</summary>{_kv_table(parameters)}</details>")
    parts.append(
        f'<details class="ltv-provenance"><summary>Provenance</summary>{_kv_table(provenance)}</details>'
    )
    count = run_log.count("\n[cell ") + (1 if run_log.startswith("[cell ") else 0)
    log = escape_html(run_log) if run_log else "Nothing was written to stderr."
    parts.append(
        f'<details class="ltv-run-log"><summary>Run log ({count} message block{"" if count == 1 else "s"}: '
        f'library warnings, progress)</summary><pre class="ltv-log">{log}</pre></details>'
    )
    return f'<footer class="ltv-footer">{"".join(parts)}</footer>'


_CR_LINE = re.compile(r"[^\n]*\r(?!\n)")


def _stream_text(output: Mapping[str, Any]) -> str:
    text = output.get("text", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    return _CR_LINE.sub("", text)  # a progress bar redrawn with \r keeps only its last state


def take_run_log(nb: nbformat.NotebookNode) -> str:
    """Remove every stderr stream from the notebook's outputs and return them as one log, by cell."""
    blocks = []
    for number, cell in enumerate(nb.cells, start=1):
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = _stream_text(output).strip()
                if text:
                    blocks.append(f"[cell {number}]\n{text}")
            else:
                kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    return "\n".join(blocks)


def take_headline(nb: nbformat.NotebookNode) -> str:
    """Remove the headline block from the notebook's outputs and return its HTML ("" when there is none)."""
    for cell in nb.cells:
        for i, output in enumerate(cell.get("outputs", [])):
            html = (output.get("data") or {}).get("text/html")
            if html is None:
                continue
            html = "".join(html) if isinstance(html, list) else html
            if f'class="{HEADLINE_CLASS}' in html:
                del cell["outputs"][i]
                return html
    return ""


def _drop_title(nb: nbformat.NotebookNode) -> None:
    """The page header shows the title: drop the first markdown cell's leading ``# Title`` line."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            if lines and lines[0].startswith("# "):
                cell.source = "\n".join(lines[1:]).lstrip("\n")
            return


def render_html(
    notebook: str | Path | nbformat.NotebookNode,
    *,
    title: str,
    status: str,
    parameters: Mapping[str, Any],
    provenance: Mapping[str, Any],
    error: str | None = None,
    recorded: Mapping[str, Any] | None = None,
) -> str:
    """Render an executed notebook as a self-contained HTML page (see the module docstring)."""
    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, str | Path) else notebook
    nb.metadata["title"] = title
    run_log = take_run_log(nb)
    sanitize_outputs(nb)
    headline = take_headline(nb)
    _drop_title(nb)
    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"ltvlab_report.html.j2": _TEMPLATE})],
        template_file="ltvlab_report.html.j2",
        embed_images=True,
        exclude_anchor_links=True,
    )
    resources = {
        "ltvlab_css": _CSS,
        "ltvlab_header": header_html(
            title=title, status=status, error=error, headline=headline, recorded=recorded
        ),
        "ltvlab_footer": footer_html(provenance, parameters=parameters, run_log=run_log),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body
