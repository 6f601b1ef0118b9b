"""YAML reading for batch configs and notebook schemas: every parse problem becomes an :class:`LtvlabError`.

PyYAML turns an unquoted ``1997-02-30`` into a date and raises a bare ``ValueError`` (no file, no line) when
the day does not exist; here that becomes a message naming the file, the line and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ltvlab.errors import LtvlabError


class _Loader(yaml.SafeLoader):
    """SafeLoader whose dates say where they are when they are impossible."""

    source = "YAML file"

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise LtvlabError(
                f"{self.source}, line {node.start_mark.line + 1}: {node.value!r} is not a real date ({exc}); "
                "write an existing date as YYYY-MM-DD (for example 1997-02-28)"
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_yaml(path: Path, text: str | None = None) -> Any:
    """Parse the YAML file at ``path`` (or ``text`` read from it); raises LtvlabError naming the file."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    try:
        loader = _Loader(text)  # the reader refuses control characters here, before any parsing
    except yaml.YAMLError as exc:
        raise LtvlabError(f"{path}: not valid YAML ({exc})") from None
    loader.source = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise LtvlabError(f"{path}: not valid YAML ({exc})") from None
    finally:
        loader.dispose()
