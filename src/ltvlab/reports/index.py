"""``reports/index.html``: one self-contained page listing every configured run and its status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ltvlab import __version__
from ltvlab.reports.atomic import atomic_write_text
from ltvlab.reports.outcome import RunOutcome
from ltvlab.reports.render import STATUS_LABELS
from ltvlab.reports.safety import escape_html

INDEX_FILE = "index.html"

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code { font-size: 0.85em; white-space: pre-wrap; word-break: break-word; }
pre.ltv-error { background: #fdecea; color: #7a1010; padding: 6px; margin: 4px 0 0 0; white-space: pre-wrap; }
.ltv-status { display: inline-block; padding: 2px 8px; border-radius: 4px; color: #fff; font-weight: bold; }
.ltv-status-ok { background: #2e7d32; }
.ltv-status-failed, .ltv-status-diagnostics_failed { background: #c62828; }
.ltv-status-not_run { background: #777; }
tr.ltv-row-failed td, tr.ltv-row-diagnostics_failed td { color: #c62828; }
.ltv-summary { margin: 8px 0 16px 0; }
"""


def _params(parameters: dict) -> str:
    return "<br>".join(f"<code>{escape_html(k)}={escape_html(v)!s}</code>" for k, v in parameters.items())


def _row(o: RunOutcome) -> str:
    base = f"runs/{o.name}/"
    links = []
    if o.html:
        links.append(f'<a href="{escape_html(base + o.html)}">report</a>')
    if o.ipynb:
        links.append(f'<a href="{escape_html(base + o.ipynb)}">notebook</a>')
    label = STATUS_LABELS.get(o.status, o.status.replace("_", " "))
    if o.cached and o.status != "failed":
        label += " (cached)"
    error = f'<pre class="ltv-error">{escape_html(o.error)}</pre>' if o.status == "failed" and o.error else ""
    duration = "—" if o.duration_seconds is None else f"{o.duration_seconds:.1f} s"
    return (
        f'<tr class="ltv-row-{escape_html(o.status)}" data-run="{escape_html(o.name)}">'
        f"<td>{escape_html(o.name)}</td>"
        f"<td><code>{escape_html(o.notebook)}</code></td>"
        f"<td>{_params(o.parameters)}</td>"
        f'<td><span class="ltv-status ltv-status-{escape_html(o.status)}">{escape_html(label)}</span>{error}</td>'
        f"<td>{escape_html(duration)}</td>"
        f"<td>{' · '.join(links) or '—'}</td>"
        "</tr>"
    )


def index_html(outcomes: Sequence[RunOutcome]) -> str:
    """The index page as a string."""
    n_bad = sum(o.status in ("failed", "diagnostics_failed") for o in outcomes)
    n_ok = sum(o.status == "ok" for o in outcomes)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    rows = "".join(_row(o) for o in outcomes)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f"<title>ltvlab reports</title><style>{_CSS}</style></head><body>"
        "<h1>ltvlab reports</h1>"
        f'<p class="ltv-summary">{n_ok} ok, {n_bad} failed, {len(outcomes)} runs · '
        f"ltvlab {escape_html(__version__)} · written {escape_html(stamp)}</p>"
        "<table><thead><tr><th>run</th><th>notebook</th><th>parameters</th><th>status</th>"
        f"<th>duration</th><th>output</th></tr></thead><tbody>{rows}</tbody></table>"
        "</body></html>"
    )


def write_index(outcomes: Sequence[RunOutcome], output_dir: Path) -> Path:
    """Write ``output_dir/index.html`` atomically and return its path."""
    path = Path(output_dir) / INDEX_FILE
    atomic_write_text(path, index_html(outcomes))
    return path
