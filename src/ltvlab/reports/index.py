"""``reports/index.html``: one self-contained page summarising every configured run, grouped by notebook
(in notebook order: 00, 10, 15, ...; runs in config order within a notebook).

Per run: its headline (what the notebook recorded with :func:`ltvlab.reports.publish_headline`), its status
word (passed / failed / not applicable, or not run — the same word as in the report), links, and on demand
the parameters that differ from the notebook's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ltvlab import __version__
from ltvlab.reports import format as fmt
from ltvlab.reports.atomic import atomic_write_text
from ltvlab.reports.outcome import RunOutcome
from ltvlab.reports.render import error_html, status_badge, status_tone, status_word
from ltvlab.reports.safety import escape_html

INDEX_FILE = "index.html"

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1300px; }
h2 { margin: 24px 0 6px 0; font-size: 1.2em; }
h2 code { font-weight: normal; color: #555; font-size: 0.8em; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
col.run { width: 17em; } col.status { width: 8em; } col.links { width: 11em; } col.time { width: 6em; }
code { font-size: 0.85em; white-space: pre-wrap; word-break: break-word; }
pre.ltv-error { background: #fdecea; color: #7a1010; padding: 6px; margin: 4px 0 0 0; white-space: pre-wrap;
  word-break: break-word; }
.ltv-status { display: inline-block; padding: 2px 8px; border-radius: 4px; color: #fff; font-weight: bold; }
.ltv-status-passed { background: #2e7d32; }
.ltv-status-failed { background: #c62828; }
.ltv-status-not-applicable, .ltv-status-not-run { background: #6b6b6b; }
.ltv-status.ltv-tone-amber { background: #b86a12; }
.ltv-headline-text { margin: 0 0 4px 0; }
.ltv-misses { color: #8a1c1c; margin: 2px 0 0 1.2em; padding: 0; }
details summary { cursor: pointer; color: #444; }
.ltv-summary { margin: 8px 0 16px 0; }
"""


def changed_parameters(parameters: Mapping[str, Any], defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters whose value differs from the notebook's default (all of them when defaults are unknown)."""
    if defaults is None:
        return dict(parameters)
    return {k: v for k, v in parameters.items() if k not in defaults or defaults[k] != v}


def _params(changed: Mapping[str, Any]) -> str:
    if not changed:
        return '<p class="ltv-params">notebook defaults</p>'
    items = "<br>".join(f"<code>{escape_html(k)} = {escape_html(v)!s}</code>" for k, v in changed.items())
    return (
        f"<details><summary>{len(changed)} parameter(s) differ from the defaults</summary>{items}</details>"
    )


def _row(o: RunOutcome, defaults: Mapping[str, Any] | None) -> str:
    base = f"runs/{o.name}/"
    links = []
    if o.html:
        links.append(f'<a href="{escape_html(base + o.html)}">report</a>')
    if o.ipynb:
        links.append(f'<a href="{escape_html(base + o.ipynb)}">notebook</a>')
    note = " (cached)" if o.cached and o.status != "failed" else ""
    error = error_html(o.error) if o.status == "failed" and o.error else ""
    headline = o.recorded.get("headline") if o.status != "not_run" else None
    if o.status == "not_run":
        text = o.error or "not run yet: run ltvlab run to produce this report"
    elif o.status == "failed":
        text = "The run failed; no result."
    else:
        text = headline or "No headline recorded by this notebook."
    misses = o.recorded.get("misses") or []
    miss_list = (
        '<ul class="ltv-misses">' + "".join(f"<li>{escape_html(m)}</li>" for m in misses) + "</ul>"
        if misses and o.status not in ("failed", "not_run")
        else ""
    )
    duration = fmt.MISSING if o.duration_seconds is None else f"{o.duration_seconds:.0f} s"
    return (
        f'<tr class="ltv-row-{escape_html(o.status)}" data-run="{escape_html(o.name)}">'
        f"<td><strong>{escape_html(o.name)}</strong>{_params(changed_parameters(o.parameters, defaults))}</td>"
        f"<td>{status_badge(o.status, o.recorded)}{escape_html(note)}</td>"
        f'<td><p class="ltv-headline-text">{escape_html(text)}</p>{miss_list}{error}</td>'
        f"<td>{' · '.join(links) or fmt.MISSING}</td>"
        f"<td>{escape_html(duration)}</td>"
        "</tr>"
    )


def index_html(
    outcomes: Sequence[RunOutcome], *, defaults: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """The index page as a string; ``defaults`` maps a notebook label to its parameter defaults."""
    words = [status_word(o.status, o.recorded) for o in outcomes]
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    groups: dict[str, list[RunOutcome]] = {}
    for o in outcomes:
        groups.setdefault(o.notebook, []).append(o)
    sections = []
    for notebook, runs in sorted(groups.items()):  # numbered notebooks: pipeline order, whatever the config's
        title = runs[0].title.split(" — ")[0]
        rows = "".join(_row(o, (defaults or {}).get(notebook)) for o in runs)
        sections.append(
            f"<h2>{escape_html(title)} <code>{escape_html(notebook)}</code></h2>"
            '<table><colgroup><col class="run"><col class="status"><col><col class="links"><col class="time">'
            "</colgroup><thead><tr><th>run</th><th>status</th><th>headline</th><th>output</th><th>time</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    counts = ", ".join(
        f"{words.count(w)} {w}" for w in ("passed", "failed", "not applicable", "not run") if w in words
    )
    cautions = sum(status_tone(o.status, o.recorded) == "amber" for o in outcomes)
    if cautions:
        counts = counts.replace(
            f"{words.count('passed')} passed",
            f"{words.count('passed')} passed ({cautions} with a caution)",
            1,
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        f"<title>ltvlab reports</title><style>{_CSS}</style></head><body>"
        "<h1>ltvlab reports</h1>"
        f'<p class="ltv-summary">{len(outcomes)} runs: {escape_html(counts)} · '
        f"ltvlab {escape_html(__version__)} · written {escape_html(stamp)}</p>"
        f"{''.join(sections)}</body></html>"
    )


def write_index(
    outcomes: Sequence[RunOutcome],
    output_dir: Path,
    *,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write ``output_dir/index.html`` atomically and return its path."""
    path = Path(output_dir) / INDEX_FILE
    atomic_write_text(path, index_html(outcomes, defaults=defaults))
    return path
