"""A report run whose kernel dies while starting (a parallel batch's port clash) starts it again; other errors
fail the run at once."""

from __future__ import annotations

import pytest

from ltvlab.reports import _worker

DIED = RuntimeError("Kernel died before replying to kernel_info")


class FakePapermill:
    """Raises the given errors in turn, then succeeds; records each call."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.calls: list[tuple] = []

    def execute_notebook(self, notebook, output, **kwargs) -> None:
        self.calls.append((notebook, output, kwargs))
        if self.errors:
            raise self.errors.pop(0)


@pytest.fixture(autouse=True)
def no_wait(monkeypatch):
    monkeypatch.setattr(_worker.time, "sleep", lambda seconds: None)


def test_a_kernel_that_dies_while_starting_is_started_again(capsys) -> None:
    fake = FakePapermill([DIED, DIED])
    _worker.execute(fake, "in.ipynb", "out.ipynb", kernel_name="python3")
    assert len(fake.calls) == 3 and all(
        c == ("in.ipynb", "out.ipynb", {"kernel_name": "python3"}) for c in fake.calls
    )
    err = capsys.readouterr().err
    assert "attempt 1 of 3" in err and "attempt 2 of 3" in err


def test_the_last_startup_failure_and_any_other_error_are_raised() -> None:
    fake = FakePapermill([DIED] * _worker.KERNEL_START_ATTEMPTS)
    with pytest.raises(RuntimeError, match="kernel_info"):
        _worker.execute(fake, "in.ipynb", "out.ipynb")
    assert len(fake.calls) == _worker.KERNEL_START_ATTEMPTS
    for error in (RuntimeError("Kernel didn't respond in 60 seconds"), ValueError("a cell failed")):
        fake = FakePapermill([error])
        with pytest.raises(type(error)):
            _worker.execute(fake, "in.ipynb", "out.ipynb")
        assert len(fake.calls) == 1  # not retried: cells may have run


def test_the_report_worker_starts_without_the_modelling_stack() -> None:
    # the worker renders a notebook it did not compute: importing PyMC, ArviZ, DuckDB or SciPy there cost 4 s of
    # every report run's start (ltvlab.reports.headline -> ltvlab.ltv, ltvlab.reports.safety -> ltvlab.data)
    import subprocess
    import sys

    heavy = ("pymc", "arviz", "pytensor", "duckdb", "scipy", "ltvlab.ltv")
    code = f"import sys, ltvlab.reports._worker; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []
