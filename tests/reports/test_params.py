"""Parameter schemas and batch configs are checked before anything runs, with messages that say the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ltvlab.errors import LtvlabError
from ltvlab.reports import load_config, load_schema, validate_params
from tests.reports.conftest import write_config, write_notebook

PARAMS = {"label": ("str", "a"), "draws": ("int", 10), "rate": ("float", 0.1), "flag": ("bool", False)}


@pytest.fixture
def schema(nb_dir: Path):
    write_notebook(nb_dir, "nb", {}, [], schema={
        "title": "Demo",
        "parameters": {
            "label": {"type": "str", "default": "a"},
            "draws": {"type": "int", "default": 10, "min": 1},
            "rate": {"type": "float", "default": 0.1, "max": 1},
            "flag": {"type": "bool", "default": False},
            "unit": {"type": "str", "default": "W", "allowed": ["D", "W"]},
            "end": {"type": "date", "default": "1997-09-30"},
            "extra": {"type": "str", "default": None, "nullable": True},
        },
        "test": {"draws": 2},
    })  # fmt: skip
    return load_schema(nb_dir / "nb.ipynb")


def test_defaults_are_filled_in_and_values_kept(schema) -> None:
    full = validate_params(schema, {"draws": 5, "rate": 1})
    assert full == {
        "label": "a", "draws": 5, "rate": 1.0, "flag": False, "unit": "W", "end": "1997-09-30", "extra": None
    }  # fmt: skip
    assert isinstance(full["rate"], float)
    assert dict(schema.test_overrides) == {"draws": 2}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"drawz": 5}, "unknown parameter.*'drawz'.*declares: label, draws"),
        ({"draws": "5"}, "parameter 'draws'.*'5' \\(str\\) is not a int"),
        ({"draws": True}, "parameter 'draws'.*is not a int"),
        ({"draws": 0}, "below the minimum 1"),
        ({"rate": 2.0}, "above the maximum 1"),
        ({"flag": "yes"}, "'flag'.*is not a bool"),
        ({"unit": "M"}, "'M' is not allowed; choose one of 'D', 'W'"),
        ({"end": "30/09/1997"}, "is not a date; give a date as YYYY-MM-DD"),
        ({"label": None}, "'label' may not be empty"),
        ({"label": ["x"]}, "'label'.*is not a str"),
    ],
)
def test_bad_parameters_are_rejected_with_a_clear_message(schema, params, message) -> None:
    with pytest.raises(LtvlabError, match=message):
        validate_params(schema, params)


def test_missing_schema_and_bad_schema(nb_dir: Path) -> None:
    path = write_notebook(nb_dir, "plain", {}, [])
    path.with_name("plain.params.yml").unlink()
    with pytest.raises(LtvlabError, match=r"no parameter schema: create plain\.params\.yml"):
        load_schema(path)
    path.with_name("plain.params.yml").write_text(
        yaml.safe_dump({"parameters": {"x": {"type": "complex", "default": 1}}})
    )
    with pytest.raises(LtvlabError, match="type 'complex'; use one of"):
        load_schema(path)
    path.with_name("plain.params.yml").write_text(
        yaml.safe_dump({"parameters": {"x": {"type": "int", "default": "1"}}})
    )
    with pytest.raises(LtvlabError, match="default '1'"):
        load_schema(path)


def test_config_rejects_unknown_parameter_before_running(nb_dir: Path) -> None:
    write_notebook(nb_dir, "nb", PARAMS, [])
    cfg = write_config(
        nb_dir.parent, [{"name": "r1", "notebook": "notebooks/nb.ipynb", "parameters": {"lable": "x"}}]
    )
    with pytest.raises(LtvlabError, match=r"run 'r1': nb\.ipynb: unknown parameter\(s\) 'lable'"):
        load_config(cfg)


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([{"name": "a b", "notebook": "notebooks/nb.ipynb"}], "needs a 'name' of letters"),
        (
            [
                {"name": "a", "notebook": "notebooks/nb.ipynb"},
                {"name": "a", "notebook": "notebooks/nb.ipynb"},
            ],
            "used twice",
        ),
        (
            [{"name": "a", "notebook": "notebooks/missing.ipynb"}],
            "notebook notebooks/missing.ipynb not found",
        ),
        ([{"name": "a", "notebook": "notebooks/nb.ipynb", "parameters": {"draws": "many"}}], "is not a int"),
        ([], "'runs' must be a non-empty list"),
    ],
)
def test_config_errors(nb_dir: Path, runs: list, message: str) -> None:
    write_notebook(nb_dir, "nb", PARAMS, [])
    with pytest.raises(LtvlabError, match=message):
        load_config(write_config(nb_dir.parent, runs))


def test_config_paths_relative_to_the_file_and_selection(nb_dir: Path) -> None:
    write_notebook(nb_dir, "nb", PARAMS, [])
    cfg = load_config(write_config(nb_dir.parent, [
        {"name": "one", "notebook": "notebooks/nb.ipynb", "parameters": {"draws": 3}, "timeout_seconds": 5},
        {"name": "two", "notebook": "notebooks/nb.ipynb"},
    ], timeout_seconds=60))  # fmt: skip
    assert cfg.output_dir == (nb_dir.parent / "out").resolve()
    assert [r.timeout_seconds for r in cfg.runs] == [5.0, 60.0]
    assert [r.name for r in cfg.select(["two"])] == ["two"]
    assert len(cfg.select(["nb"])) == 2
    with pytest.raises(LtvlabError, match="--only three: no such run; runs are: one, two"):
        cfg.select(["three"])
