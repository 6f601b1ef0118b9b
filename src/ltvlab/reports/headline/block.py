"""The headline block every report opens with: what was analysed, the answer, one trust line, the misses.

A notebook builds a :class:`Headline` with its domain's builder (:mod:`ltvlab.reports.headline.analyses`,
:mod:`ltvlab.reports.headline.allocation`), shows it at the top with :func:`headline_slot` /
:func:`publish_headline` and records its status word, so the banner, the headline, the index and the run's JSON
say the same thing. The HTML comes from :func:`render_headline`
(tested), never from a notebook cell; all text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ltvlab.reports.safety import escape_html
from ltvlab.reports.status import FAILED, Check, Status, overall, overall_tone

HEADLINE_CLASS = "ltv-headline"

HEADLINE_CSS = """
.ltv-headline { font-family: system-ui, sans-serif; border: 1px solid #ccc; border-left: 8px solid #777;
  border-radius: 4px; padding: 10px 16px; margin: 8px 0 16px 0; background: #fafafa; color: #222;
  max-width: 1100px; line-height: 1.45; }
.ltv-headline.ltv-tone-green { border-left-color: #2e7d32; }
.ltv-headline.ltv-tone-amber { border-left-color: #d9822b; }
.ltv-headline.ltv-tone-red { border-left-color: #c62828; background: #fdf3f2; }
.ltv-headline p { margin: 4px 0; }
.ltv-headline .ltv-answer { font-size: 1.15em; }
.ltv-headline .ltv-analysed, .ltv-headline .ltv-notes { color: #444; }
.ltv-headline ul { margin: 4px 0 4px 1.2em; padding: 0; }
.ltv-headline .ltv-trust li { list-style: none; margin-left: -1.2em; }
.ltv-badge { display: inline-block; min-width: 7.5em; text-align: center; padding: 1px 8px; border-radius: 3px;
  color: #fff; font-weight: 600; font-size: 0.85em; margin-right: 6px; }
.ltv-badge.ltv-tone-green { background: #2e7d32; }
.ltv-badge.ltv-tone-amber { background: #b86a12; }
.ltv-badge.ltv-tone-red { background: #c62828; }
.ltv-badge.ltv-tone-grey { background: #6b6b6b; }
.ltv-miss { color: #8a1c1c; }
.ltv-checks { margin: 4px 0 8px 1.2em; padding: 0; font-family: system-ui, sans-serif; }
"""


@dataclass(frozen=True, slots=True)
class Headline:
    """What was analysed (data, period, units, n), the answer in one or two sentences with its interval and
    level, the trust checks, the misses (where model or decision disagrees with what was observed) and notes.

    A failed check makes the whole block red and puts "Not reliable" before the answer.
    """

    analysed: str
    answer: str
    checks: tuple[Check, ...] = ()
    misses: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return overall(self.checks)

    def text(self) -> str:
        """The answer as one plain line (for the index and the run record)."""
        prefix = "Not reliable: a trust check failed. " if self.status == FAILED else ""
        return prefix + self.answer

    def to_record(self) -> dict[str, Any]:
        """What the batch runner keeps in ``run.json``: status word, its colour, headline text, checks, misses.

        ``tone`` is the colour of the trust line (amber: a check passed with a caution), so the index shows the
        same colour as the report's headline."""
        return {
            "status": self.status,
            "tone": overall_tone(self.checks) if self.checks else "grey",
            "headline": self.text(),
            "checks": [c.to_dict() for c in self.checks],
            "misses": list(self.misses),
            **self.facts,
        }

    def _repr_html_(self) -> str:
        return render_headline(self)


def _check_item(check: Check) -> str:
    return (
        f'<li><span class="ltv-badge ltv-tone-{escape_html(check.tone)}">{escape_html(check.status)}</span>'
        f"<strong>{escape_html(check.name)}</strong>"
        + (f" — {escape_html(check.detail)}" if check.detail else "")
        + "</li>"
    )


def render_headline(headline: Headline) -> str:
    """The headline block as an HTML fragment (with its own ``<style>``, so it reads the same in JupyterLab)."""
    tone = overall_tone(headline.checks) if headline.checks else "grey"
    status = headline.status
    warning = (
        '<strong class="ltv-miss">Not reliable: a trust check failed (below). </strong>'
        if status == FAILED
        else ""
    )
    trust = "".join(_check_item(c) for c in headline.checks) or (
        '<li><span class="ltv-badge ltv-tone-grey">not applicable</span>no trust checks for this analysis</li>'
    )
    misses = ""
    if headline.misses:
        items = "".join(f'<li class="ltv-miss">{escape_html(m)}</li>' for m in headline.misses)
        misses = f'<p><strong>Where the model or the decision misses</strong></p><ul class="ltv-misses">{items}</ul>'
    notes = "".join(f'<p class="ltv-notes">{escape_html(n)}</p>' for n in headline.notes)
    return (
        f"<style>{HEADLINE_CSS}</style>"
        f'<div class="{HEADLINE_CLASS} tex2jax_ignore ltv-tone-{escape_html(tone)} ltv-status-{escape_html(status.replace(" ", "-"))}">'
        f'<p class="ltv-analysed"><strong>Analysed:</strong> {escape_html(headline.analysed)}</p>'
        f'<p class="ltv-answer">{warning}{escape_html(headline.answer)}</p>'
        f'<p><strong>Trust: {escape_html(status)}</strong></p><ul class="ltv-trust">{trust}</ul>'
        f"{misses}{notes}</div>"
    )


@dataclass(frozen=True, slots=True)
class Block:
    """An HTML fragment made by a tested function, shown as HTML in Jupyter and in the reports."""

    html: str

    def _repr_html_(self) -> str:
        return self.html


def prose(text: str) -> Any:
    """Markdown for a report sentence built from numbers: ``$`` is escaped, so amounts such as ``$1,234 ... $56``
    are never read as a LaTeX formula (which would swallow the text between them)."""
    from IPython.display import Markdown

    return Markdown(text.replace("\\$", "$").replace("$", "\\$"))


def render_checks(checks: Sequence[Check]) -> Block:
    """The trust checks as a list of coloured status words with their detail (for a section of the report)."""
    items = "".join(_check_item(c) for c in checks)
    return Block(f'<style>{HEADLINE_CSS}</style><ul class="ltv-checks ltv-trust">{items}</ul>')


def render_misses(
    headline: Headline, *, none: str = "No miss found by the checks this report runs.", notes: bool = False
) -> Block:
    """The headline's misses as a list, for the closing section; with ``notes``, the headline's notes (what a
    miss means) follow the list."""
    after = "".join(f'<p class="ltv-notes">{escape_html(n)}</p>' for n in headline.notes) if notes else ""
    if not headline.misses:
        return Block(f"<p>{escape_html(none)}</p>{after}")
    items = "".join(f'<li class="ltv-miss">{escape_html(m)}</li>' for m in headline.misses)
    return Block(f'<style>{HEADLINE_CSS}</style><ul class="ltv-misses tex2jax_ignore">{items}</ul>{after}')


def render_notes(notes: Sequence[str], *, none: str = "") -> Block:
    """Sentences a section must state (e.g. :func:`ltvlab.features.summary_notes`: customers the summary
    treats specially) as a list; ``none`` is shown when there are none."""
    if not notes:
        return Block(f"<p>{escape_html(none)}</p>" if none else "")
    items = "".join(f"<li>{escape_html(n)}</li>" for n in notes)
    return Block(f'<ul class="ltv-notes tex2jax_ignore">{items}</ul>')


def unreliable_mark(checks: Sequence[Check]) -> Block:
    """A red mark for results that rest on a failed check (empty when every check passed or does not apply).

    Shown above every table or figure of a fit that failed its gate, so it is never read as a result."""
    failed = [c for c in checks if c.status == FAILED]
    if not failed:
        return Block("")
    names = "; ".join(c.text() for c in failed)
    return Block(
        f'<style>{HEADLINE_CSS}</style><p class="ltv-miss"><span class="ltv-badge ltv-tone-red">failed</span>'
        f"<strong>Not reliable:</strong> {escape_html(names)}.</p>"
    )


@dataclass(frozen=True, slots=True)
class _Pending:
    def _repr_html_(self) -> str:
        return render_headline(
            Headline(
                analysed="—",
                answer="The analysis has not finished: run the notebook to the end to fill in this headline.",
                checks=(Check("analysis", FAILED, "did not reach the end of the notebook"),),
            )
        )

    def __repr__(self) -> str:
        return "headline: the analysis has not finished"


def headline_slot() -> Any:
    """Show a placeholder headline here (the top of the notebook); :func:`publish_headline` fills it in."""
    from IPython.display import display

    return display(_Pending(), display_id=True)


def publish_headline(headline: Headline, slot: Any = None) -> None:
    """Show ``headline`` in ``slot`` (from :func:`headline_slot`) and record its status and text for the run.

    Returns nothing, so a cell that ends with this call shows no record dump under its output."""
    from ltvlab.reports.record import record

    if slot is not None:
        slot.update(headline)
    record(**headline.to_record())
