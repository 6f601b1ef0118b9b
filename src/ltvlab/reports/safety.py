"""Safety of what reports show: HTML escaping of user text and salted hashing of customer identifiers.

Reports never show raw customer ids. :func:`hash_ids` (the one hashing function, from
:mod:`ltvlab.data.ids`, also used by score and CSV exports) replaces them with a salted digest, so the same
customer gets the same hash in every report and export of one project (a churn list joins to a scored file)
while the id itself cannot be read back.
"""

from __future__ import annotations

import html

from ltvlab.data.ids import SALT_ENV, SALT_FILE, hash_id, hash_ids, project_salt

__all__ = [
    "SALT_ENV",
    "SALT_FILE",
    "escape_html",
    "hash_id",
    "hash_ids",
    "project_salt",
    "sanitize_html_fragment",
    "sanitize_outputs",
]


def escape_html(value: object) -> str:
    """``value`` as text safe to place in HTML element content or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


_ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "div", "em", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "small", "span", "strong", "style",
        "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": ["class", "id", "style", "colspan", "rowspan", "border", "align", "scope", "title"],
    "img": ["src", "alt", "width", "height"],
    "a": ["href", "title"],
}
_ACTIVE_MIME_TYPES = (
    "application/javascript",
    "text/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)


def sanitize_html_fragment(fragment: str) -> str:
    """Remove every tag and attribute outside a small allowlist (tables, text, images): no script, no handlers.

    A safety net for cell outputs whose producer did not escape user text (pandas' Styler, for one, does
    not): ``<script>alert(1)</script>`` loses its tags and stays visible only as text.
    """
    import warnings

    import bleach

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bleach warns that <style> is allowed without a CSS sanitiser
        return bleach.clean(
            fragment,
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            protocols=["http", "https", "data", "mailto"],
            strip=True,
            strip_comments=True,
        )


def sanitize_outputs(nb) -> None:
    """Sanitise the HTML and Markdown outputs of every cell of an nbformat notebook in place."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            for mime in _ACTIVE_MIME_TYPES:
                data.pop(mime, None)
            for mime in ("text/html", "text/markdown"):
                if mime in data:
                    text = data[mime]
                    data[mime] = sanitize_html_fragment("".join(text) if isinstance(text, list) else text)
