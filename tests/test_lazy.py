"""The packages whose names load on first use export exactly the names they know how to load."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["ltvlab.data", "ltvlab.reports"])
def test_every_exported_name_loads_from_its_module(package: str) -> None:
    module = importlib.import_module(package)
    eager = {"interactive", "read_record", "record"} if package == "ltvlab.reports" else set()
    assert set(module.__all__) == set(module._HOME) | eager
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute"):
        module.not_a_name  # noqa: B018
