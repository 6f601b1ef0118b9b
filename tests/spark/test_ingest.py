"""The bad-input corpus through both backends: the same rows quarantined for the same reasons, the same quarantine
file, the same warnings, and the same one-line error for files that cannot be loaded.

``duckdb`` is the embedded path (:func:`ltvlab.data.load_transactions` / ``load_experiment``, whose rows
:class:`ltvlab.data.Store` ingests into DuckDB); ``spark`` is :func:`ltvlab.spark.ingest_files`. The expected
outcomes are those of ``tests/data/test_bad_inputs.py`` (counts follow from how many rows the generator broke).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ltvlab.data import load_experiment, load_transactions
from ltvlab.errors import DataValidationError, LtvlabError

CORPUS = Path(__file__).parents[1] / "data" / "bad_inputs"
EXPERIMENT = {
    "kind": "experiment",
    "arms": ("control", "email", "sms"),
    "binary_outcomes": ("visit",),
    "outcomes": ("spend", "visit"),
    "covariates": ("history",),
}


@dataclass(frozen=True)
class Case:
    file: str
    options: dict[str, Any] = field(default_factory=dict)
    quarantined: int = 0
    reasons: tuple[str, ...] = ()
    message: tuple[str, ...] = ()  # a file that cannot be loaded: what the error names

    @property
    def label(self) -> str:
        return self.file + "".join(f"+{k}" for k in self.options if k not in EXPERIMENT)


CASES = [
    Case("empty.csv", message=("is empty",)),
    Case("header_only.csv", message=("no data rows", "customer_id, date, amount")),
    Case("unknown_delimiter.csv", message=("'customer_id:date:amount'", "delimiter")),
    Case("missing_column.csv", message=("column 'amount'", "--amount-col", "Columns found")),
    Case("duplicate_header.csv", message=("['date']", "more than once")),
    Case("utf16_tabs.csv"),
    Case("latin1_region.csv", {"extra_columns": ("region",)}),
    Case("bad_date.csv", quarantined=1, reasons=("is not a YYYYMMDD date",)),
    Case("future_date.csv", quarantined=1, reasons=("is in the future",)),
    Case(
        "bad_amounts.csv",
        {"max_bad_share": 0.05},
        quarantined=4,
        reasons=("is not a number", "is NaN", "is infinite", "is empty (missing amount)"),
    ),
    Case("negative_amount.csv", quarantined=1, reasons=("is negative (a return?)",)),
    Case("negative_amount.csv", {"allow_returns": True}),
    Case("missing_customer_id.csv", quarantined=1, reasons=("is empty (missing customer id)",)),
    Case(
        "too_many_bad.csv",
        message=("row 2, column 'date'", "30 of 150 rows", "--max-bad-share", "quarantine.csv"),
    ),
    Case("ambiguous_dates.csv", message=("column 'date'", "ambiguous", "--date-format")),
    Case("ambiguous_dates.csv", {"date_format": "%d/%m/%Y"}),
    Case("unrecognised_dates.csv", message=("column 'date'", "'1 Jan 1997'", "--date-format")),
    Case("ragged_rows.csv", {"max_bad_share": 0.02}, quarantined=2),
    Case("unclosed_quote.csv", message=("row 61", "never closed")),
    Case("excel_workbook.csv", message=("zip archive",)),
    Case("binary_garbage.csv", message=("binary data",)),
    Case("corrupt.parquet", message=("not a readable Parquet file",)),
    Case("semicolon_decimal_comma.csv"),
    Case("experiment_unknown_arm.csv", EXPERIMENT, quarantined=1, reasons=("is an unknown arm",)),
    Case(
        "experiment_duplicate_ids.csv",
        {**EXPERIMENT, "max_bad_share": 0.02},
        quarantined=2,
        reasons=("is a duplicate unit id",),
    ),
    Case("experiment_binary_not_01.csv", EXPERIMENT, quarantined=1, reasons=("is not 0 or 1",)),
]


@dataclass(frozen=True)
class Outcome:
    """What a backend did with one file, in backend-neutral terms."""

    error: tuple[type, str] | None = None
    n_rows: int = 0
    n_loaded: int = 0
    quarantine: pd.DataFrame | None = None
    quarantine_file: bytes | None = None
    warnings: tuple[str, ...] = ()
    details: tuple[Any, ...] = ()  # sha256, format, encoding, delimiter, date format
    rows: pd.DataFrame | None = None


def _details(load: Any) -> tuple[Any, ...]:
    return (load.sha256, load.kind, load.file_format, load.encoding, load.delimiter, load.date_format)


def run(backend: str, case: Case, quarantine_dir: Path, spark: Any = None) -> Outcome:
    options = dict(case.options)
    kind = options.pop("kind", "transactions")
    path = CORPUS / case.file
    try:
        if backend == "duckdb":
            loader = load_transactions if kind == "transactions" else load_experiment
            if kind == "transactions":
                options["now"] = NOW
            load = loader(path, quarantine_dir=quarantine_dir, **options)
            rows = load.frame
        else:
            from ltvlab.spark import ingest_files

            now = {"now": NOW} if kind == "transactions" else {}
            ingest = ingest_files(
                path,
                spark=spark,
                kind=kind,
                output=quarantine_dir / "validated",
                quarantine_dir=quarantine_dir,
                **now,
                **options,
            )
            (load,) = ingest.files
            rows = pd.read_parquet(ingest.output) if ingest.n_loaded else None  # the parts Spark reads
    except LtvlabError as exc:
        written = sorted(quarantine_dir.glob("*.quarantine.csv"))
        return Outcome(
            error=(type(exc), str(exc)), quarantine_file=written[0].read_bytes() if written else None
        )
    written = load.quarantine_path.read_bytes() if load.quarantine_path is not None else None
    return Outcome(
        n_rows=load.n_rows,
        n_loaded=load.n_loaded,
        quarantine=load.quarantine,
        quarantine_file=written,
        warnings=load.warnings,
        details=_details(load),
        rows=rows,
    )


NOW = pd.Timestamp("2026-01-01 00:00:00")


@pytest.fixture(scope="module")
def outcomes(spark, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Outcome]:
    """Every case through both backends (one Spark job per case), computed once."""
    results = {}
    for i, case in enumerate(CASES):
        for backend in ("duckdb", "spark"):
            folder = tmp_path_factory.mktemp(f"{backend}-{i}")
            results[(backend, case.label)] = run(backend, case, folder, spark)
    return results


def test_cases_cover_the_whole_corpus() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".parquet")}
    assert files == {c.file for c in CASES}


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_expected_outcome(outcomes, backend: str, case: Case) -> None:
    got = outcomes[(backend, case.label)]
    if case.message:
        assert got.error is not None, f"{case.file} loaded on {backend}"
        kind, message = got.error
        assert issubclass(kind, DataValidationError)
        assert message.startswith(case.file) or message.startswith(str(CORPUS / case.file)), message
        for text in case.message:
            assert text in message
        return
    assert got.error is None, got.error
    assert got.n_rows == 150 and got.n_rows == got.n_loaded + len(got.quarantine)
    assert len(got.quarantine) == case.quarantined
    assert set(case.reasons) <= set(got.quarantine["reason"])
    assert (got.quarantine_file is not None) == bool(case.quarantined)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_backends_agree(outcomes, case: Case) -> None:
    duck, spark = outcomes[("duckdb", case.label)], outcomes[("spark", case.label)]
    if duck.error is not None:
        assert spark.error is not None
        assert spark.error[0] is duck.error[0]
        # the same words; the quarantine file each names sits in its own test folder
        assert _without_folders(spark.error[1]) == _without_folders(duck.error[1])
        assert spark.quarantine_file == duck.quarantine_file
        return
    assert spark.error is None
    assert (spark.n_rows, spark.n_loaded, spark.warnings, spark.details) == (
        duck.n_rows,
        duck.n_loaded,
        duck.warnings,
        duck.details,
    )
    pd.testing.assert_frame_equal(spark.quarantine, duck.quarantine)
    assert spark.quarantine_file == duck.quarantine_file
    pd.testing.assert_frame_equal(spark.rows, duck.rows)


def _without_folders(message: str) -> str:
    import re

    return re.sub(r"/\S*/(\S+\.quarantine\.csv)", r"\1", message)


def test_a_folder_of_files_is_validated_file_by_file(spark, tmp_path: Path) -> None:
    """Two files, one with a bad row: rows of both, one quarantine file naming the bad file's own row number."""
    from ltvlab.spark import ingest_files

    folder = tmp_path / "lake"
    folder.mkdir()
    for name in ("utf16_tabs.csv", "negative_amount.csv"):
        (folder / name).write_bytes((CORPUS / name).read_bytes())
    (folder / "_SUCCESS").write_bytes(b"")  # writers' markers are not data
    ingest = ingest_files(
        folder, spark=spark, output=tmp_path / "out", quarantine_dir=tmp_path / "q", now=NOW
    )
    assert [f.source.name for f in ingest.files] == ["negative_amount.csv", "utf16_tabs.csv"]
    assert (ingest.n_rows, ingest.n_loaded, ingest.n_quarantined) == (300, 299, 1)
    alone = load_transactions(CORPUS / "negative_amount.csv", quarantine_dir=tmp_path / "alone", now=NOW)
    pd.testing.assert_frame_equal(ingest.files[0].quarantine, alone.quarantine)
    assert ingest.frame.count() == 299
    with pytest.raises(LtvlabError, match="holds other files"):
        ingest_files(folder, spark=spark, output=folder)
