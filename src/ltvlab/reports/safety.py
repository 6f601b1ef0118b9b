"""Safety of what reports show: HTML escaping of user text and salted hashing of customer identifiers.

Reports never show raw customer ids. :func:`hash_ids` replaces them with a short salted digest, so the same
customer gets the same label across the reports of one project while the id itself cannot be read back. The
salt is per project: ``LTVLAB_ID_SALT`` when set, otherwise a random salt created once and kept in
``data/processed/id_salt`` (git-ignored, so it never leaves the machine with the code).
"""

from __future__ import annotations

import hashlib
import html
import os
import secrets
from pathlib import Path

import pandas as pd

from ltvlab.paths import processed_data_dir

SALT_ENV = "LTVLAB_ID_SALT"
SALT_FILE = "id_salt"


def escape_html(value: object) -> str:
    """``value`` as text safe to place in HTML element content or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def project_salt() -> str:
    """The project's salt for hashing identifiers (created on first use, then reused)."""
    env = os.environ.get(SALT_ENV)
    if env:
        return env
    path = processed_data_dir() / SALT_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(16)
    _write_new(path, salt)
    return path.read_text(encoding="utf-8").strip()


def _write_new(path: Path, text: str) -> None:
    # O_EXCL: when two report runs create the salt at once, the first one wins and both read it back.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def hash_id(value: object, *, salt: str | None = None, length: int = 12) -> str:
    """A short salted sha256 label for one identifier (``id-`` + ``length`` hex digits)."""
    key = project_salt() if salt is None else salt
    digest = hashlib.sha256(f"{key}\x00{value}".encode()).hexdigest()
    return f"id-{digest[:length]}"


def hash_ids(values: pd.Series, *, salt: str | None = None, length: int = 12) -> pd.Series:
    """:func:`hash_id` applied to a column of identifiers (index and name kept)."""
    key = project_salt() if salt is None else salt
    return values.map(lambda v: hash_id(v, salt=key, length=length))


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
