"""Executed notebook -> one self-contained HTML report.

nbconvert's ``lab`` template with every block that would fetch something from the network (require.js,
MathJax, Mermaid, widgets) emptied: CSS is inlined, images are embedded as data URIs, and the page works
offline. Input code is hidden until the reader presses "Show code". A header shows the title, the status and
the parameters; a footer shows the provenance. All text we add is HTML-escaped, and cell outputs pass
through an allowlist sanitiser (:func:`ltvlab.reports.safety.sanitize_outputs`), so user text (segment names, column names) can never run as script.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from ltvlab.reports.safety import escape_html, sanitize_outputs

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

_CSS = """
body.ltv-report:not(.ltv-show-code) .jp-Cell-inputWrapper,
body.ltv-report:not(.ltv-show-code) .jp-OutputPrompt,
body.ltv-report:not(.ltv-show-code) .jp-InputPrompt { display: none; }
body.ltv-report:not(.ltv-show-code) .jp-CodeCell:not(:has(.jp-OutputArea-child)) { display: none; }
.ltv-header, .ltv-footer { font-family: system-ui, sans-serif; margin: 16px 24px; }
.ltv-header h1 { font-size: 1.6em; margin: 0 0 8px 0; }
.ltv-footer { border-top: 1px solid #ccc; padding-top: 8px; font-size: 0.85em; color: #333; }
.ltv-kv { border-collapse: collapse; margin: 6px 0; }
.ltv-kv th, .ltv-kv td { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }
.ltv-kv td code { white-space: pre-wrap; word-break: break-all; }
.ltv-status { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: bold; }
.ltv-status-ok { background: #2e7d32; }
.ltv-status-failed, .ltv-status-diagnostics_failed { background: #c62828; }
.ltv-banner { background: #fdecea; border-left: 6px solid #c62828; padding: 8px 12px; margin: 8px 0; }
#ltv-toggle-code { margin: 6px 0; padding: 4px 12px; cursor: pointer; }
"""

STATUS_LABELS: dict[str, str] = {
    "ok": "ok",
    "failed": "failed",
    "diagnostics_failed": "diagnostics failed",
    "skipped": "ok (cached)",
}


def _kv_table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{escape_html(k)}</th><td><code>{escape_html(_text(v))}</code></td></tr>"
        for k, v in rows.items()
    )
    return f'<table class="ltv-kv">{body}</table>'


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def diagnostics_label(recorded: Mapping[str, Any]) -> str:
    """ "ok", "FAILED" or "not applicable" from the notebook's recorded ``diagnostics_ok``."""
    if "diagnostics_ok" not in recorded:
        return "not applicable (no model fit recorded)"
    return "ok" if recorded["diagnostics_ok"] else "FAILED"


def header_html(*, title: str, status: str, parameters: Mapping[str, Any], error: str | None = None) -> str:
    """The report's header: title, status, parameters, a show-code control."""
    banner = ""
    if status == "diagnostics_failed":
        banner = (
            '<div class="ltv-banner"><strong>Fit diagnostics failed</strong> (R-hat, ESS or divergences '
            "outside the thresholds): do not use these estimates.</div>"
        )
    elif status == "failed":
        banner = (
            f'<div class="ltv-banner"><strong>Run failed</strong><pre>{escape_html(error or "")}</pre></div>'
        )
    label = STATUS_LABELS.get(status, status)
    return (
        '<header class="ltv-header">'
        f"<h1>{escape_html(title)}</h1>"
        f'<span class="ltv-status ltv-status-{escape_html(status)}">{escape_html(label)}</span>'
        f"{banner}"
        f"<h2>Parameters</h2>{_kv_table(parameters)}"
        '<button id="ltv-toggle-code" type="button" aria-pressed="false">Show code</button>'
        "</header>"
    )


def footer_html(provenance: Mapping[str, Any]) -> str:
    """The provenance footer (every value escaped)."""
    return f'<footer class="ltv-footer"><h2>Provenance</h2>{_kv_table(provenance)}</footer>'


def render_html(
    notebook: str | Path | nbformat.NotebookNode,
    *,
    title: str,
    status: str,
    parameters: Mapping[str, Any],
    provenance: Mapping[str, Any],
    error: str | None = None,
) -> str:
    """Render an executed notebook as a self-contained HTML page (see the module docstring)."""
    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, str | Path) else notebook
    nb.metadata["title"] = title
    sanitize_outputs(nb)
    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"ltvlab_report.html.j2": _TEMPLATE})],
        template_file="ltvlab_report.html.j2",
        embed_images=True,
        exclude_anchor_links=True,
    )
    resources = {
        "ltvlab_css": _CSS,
        "ltvlab_header": header_html(title=title, status=status, parameters=parameters, error=error),
        "ltvlab_footer": footer_html(provenance),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body
