"""Seeded fuzzing of the commands that read users' files: never a traceback, only results or one clear line.

Random bytes, random delimited text and random YAML are thrown at ``summary``, ``validate``, ``ingest``, ``ab``
and ``run``. Each invocation must end with exit code 0 (the input happened to be valid) or 2 with a single
``error: ...`` line, and never with a Python exception. ``derandomize=True`` makes the examples the same on
every run (hypothesis seeds them from the test's name), so a failure reproduces.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltvlab.cli import cli

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=500,  # about 10 s per test on the CI machine: most inputs fail fast, as they should
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEADERS = ["customer_id", "date", "amount", "unit_id", "arm", "m", "金额", "x;y", '"q"', ""]
CELLS = st.one_of(
    st.sampled_from(
        ["2024-01-05", "05/01/2024", "12,50", "1.234,5", "1,234", "True", "no", "$3", "nan", "", "a"]
    ),
    st.text(max_size=12),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@st.composite
def delimited(draw) -> bytes:
    sep = draw(st.sampled_from([",", ";", "\t", "|", " ", ":"]))
    width = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width + 1), max_size=8))
    text = "\n".join(sep.join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030", "cp1252", "latin-1"]))
    return text.encode(encoding, errors="replace")


YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.sampled_from(["2024-13-45"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
CONFIGS = st.one_of(
    YAML_VALUES.map(lambda v: yaml.safe_dump(v)),
    st.fixed_dictionaries(
        {
            "runs": st.lists(
                st.fixed_dictionaries(
                    {
                        "name": st.text(max_size=6),
                        "notebook": st.sampled_from(["notebooks/10_ltv.ipynb", "x"]),
                        "parameters": YAML_VALUES,
                    }
                ),
                max_size=2,
            )
        },
        optional={"output_dir": st.text(max_size=5), "timeout_seconds": YAML_VALUES},
    ).map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.text(max_size=60),
)


def _check(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
        assert errors or "Usage:" in result.output, result.output


def _commands(path: Path, work: Path) -> list[list[str]]:
    q = ["--quarantine-dir", str(work / "q")]
    return [
        ["validate", "--data", str(path), *q],
        ["summary", "--data", str(path), "--calibration-end", "2024-01-31", *q],
        ["ingest", "--data", str(path), "--store", str(work / "s.duckdb"), *q],
        ["ab", "--data", str(path), "--arm-col", "arm", "--control", "a", "--metric", "m", *q],
    ]


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), delimited()))
def test_files_never_give_a_traceback(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = work / "input.csv"
        path.write_bytes(data)
        for args in _commands(path, work):
            _check(args)


@SETTINGS
@given(text=CONFIGS)
def test_batch_configs_never_give_a_traceback(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.yml"
        path.write_text(text, encoding="utf-8")
        _check(["run", "--config", str(path), "--no-progress"])
