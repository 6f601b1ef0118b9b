"""The one way customer ids are hashed, for exports and reports alike (so their outputs join).

``hash_ids(ids)`` is ``sha256(salt + NUL + str(id))`` as 64 hex digits. The salt is the project's secret:
``LTVLAB_ID_SALT`` when set, otherwise ``data/processed/id_salt`` (git-ignored), created once with a random
16-byte hex value. The file is written completely under a temporary name and then linked into place, so a
concurrent reader sees either no salt file or the whole salt, never an empty one; an empty or unreadable salt
file is refused with a message instead of giving unsalted (reversible) hashes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.paths import processed_data_dir

SALT_ENV = "LTVLAB_ID_SALT"
SALT_FILE = "id_salt"


def _create_salt(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".id_salt.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(16))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        try:
            os.link(temporary, path)  # atomic, and never replaces a salt created meanwhile
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)


def project_salt(path: Path | None = None) -> str:
    """The project's hashing salt: ``LTVLAB_ID_SALT``, else ``path`` (default ``data/processed/id_salt``).

    Raises
    ------
    LtvlabError
        The salt file is empty or cannot be read or created.
    """
    env = os.environ.get(SALT_ENV)
    if env and path is None:
        return env
    salt_path = path if path is not None else processed_data_dir() / SALT_FILE
    try:
        if not salt_path.is_file():
            _create_salt(salt_path)
        salt = salt_path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LtvlabError(
            f"the salt file {salt_path} cannot be read or created ({reason}); make its folder writable, "
            f"or set {SALT_ENV} to a secret"
        ) from None
    if not salt:
        raise LtvlabError(
            f"the salt file {salt_path} is empty (hashes would be unsalted); delete it to create a new salt, "
            f"or set {SALT_ENV}"
        )
    return salt


def hash_ids(ids: pd.Series | Sequence[object], *, salt: str | None = None) -> pd.Series:
    """``sha256(salt + NUL + str(id))`` as 64 hex digits, one per id (a Series keeps its index and name)."""
    key = project_salt() if salt is None else salt
    if not key:
        raise LtvlabError("an empty salt would make hashed ids reversible by lookup; pass a secret salt")
    prefix = (key + "\x00").encode()
    hashed = [hashlib.sha256(prefix + str(i).encode()).hexdigest() for i in ids]
    if isinstance(ids, pd.Series):
        return pd.Series(hashed, index=ids.index, name=ids.name, dtype="str")
    return pd.Series(hashed, dtype="str")


def hash_id(value: object, *, salt: str | None = None) -> str:
    """:func:`hash_ids` of one id."""
    return str(hash_ids([value], salt=salt).iloc[0])
