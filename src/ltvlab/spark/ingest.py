"""Ingest validation on Spark: every file checked by the one-machine loader, in parallel on the executors.

One source of truth for the rules: each executor task runs :func:`ltvlab.data.load_transactions` (or
:func:`ltvlab.data.load_experiment`) on one file, exactly as the DuckDB path does, so format/encoding/delimiter
detection, row numbers, quarantine reasons and error messages are the same by construction. The executor writes
the file's valid rows as one Parquet part into ``output`` and sends back only the file's report and its
quarantine records; the driver writes the quarantine CSV (same name and content as the DuckDB path), applies the
``max_bad_share`` stop rule per file, and returns the valid rows as a Spark DataFrame read from ``output``.

Scale comes from files: a folder (or glob) of CSV/Parquet files is validated one task per file, as a data lake
stores them. A single file is one task and must fit in one executor's memory. ``output`` must be a folder every
executor can write to (local disk in local mode, a shared mount on a cluster). A catalog table is not validated
here: it is read as stored (see :func:`ltvlab.spark.read_transactions`).
"""

from __future__ import annotations

import glob
import pickle
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ltvlab.data.load import load_experiment, load_transactions
from ltvlab.data.quarantine import default_quarantine_dir
from ltvlab.errors import DataValidationError, LtvlabError
from ltvlab.paths import processed_data_dir
from ltvlab.spark.session import to_pandas

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Kind = Literal["transactions", "experiment"]
_ERRORS: dict[str, type[LtvlabError]] = {
    "DataValidationError": DataValidationError,
    "LtvlabError": LtvlabError,
}


@dataclass(frozen=True, slots=True)
class FileReport:
    """What validation did with one file: the fields of :class:`ltvlab.data.LoadResult` except the frame."""

    source: Path
    quarantine: pd.DataFrame
    n_rows: int
    n_loaded: int
    n_quarantined: int
    quarantine_path: Path | None
    sha256: str
    kind: str
    file_format: str
    encoding: str | None
    delimiter: str | None
    date_format: str | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class SparkIngest:
    """Validated rows of every file (``frame``, read from the Parquet folder ``output``) and one report per file."""

    frame: DataFrame
    files: tuple[FileReport, ...]
    output: Path

    @property
    def n_rows(self) -> int:
        return sum(f.n_rows for f in self.files)

    @property
    def n_loaded(self) -> int:
        return sum(f.n_loaded for f in self.files)

    @property
    def n_quarantined(self) -> int:
        return sum(f.n_quarantined for f in self.files)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(w for f in self.files for w in f.warnings)


def list_files(path: str | Path) -> list[str]:
    """The files behind ``path``: itself, the files of a folder (not recursing; names starting with ``_`` or ``.``
    skipped, as Spark does), or the matches of a glob, sorted by name."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(p for p in glob.glob(text) if Path(p).is_file())
        if not files:
            raise DataValidationError(f"{text}: no file matches this pattern; check the path")
        return files
    folder = Path(text)
    if folder.is_dir():
        files = sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))
        if not files:
            raise DataValidationError(f"{folder}: the folder has no data files; check the path")
        return files
    return [text]  # a file, or a missing path that the loader reports in its own words


def _validate_one(task: tuple[int, str], settings: dict[str, Any]) -> dict[str, Any]:
    """Executor side: validate one file, write its valid rows as a Parquet part, report back."""
    index, path = task
    loader = load_transactions if settings["kind"] == "transactions" else load_experiment
    with tempfile.TemporaryDirectory(prefix="ltvlab-quarantine-") as scratch:
        out: dict[str, Any] = {"index": index, "path": path, "scratch": scratch}
        try:
            load = loader(
                path, max_bad_share=settings["max_bad_share"], quarantine_dir=scratch, **settings["options"]
            )
        except LtvlabError as exc:
            out.update(error=type(exc).__name__, message=str(exc))
        else:
            part = Path(settings["output"]) / f"part-{index:05d}.parquet"
            load.frame.to_parquet(part, index=False)
            out.update(
                error=None,
                quarantine=load.quarantine.to_dict("list"),
                report={
                    "n_rows": load.n_rows,
                    "n_loaded": load.n_loaded,
                    "n_quarantined": load.n_quarantined,
                    "sha256": load.sha256,
                    "kind": load.kind,
                    "file_format": load.file_format,
                    "encoding": load.encoding,
                    "delimiter": load.delimiter,
                    "date_format": load.date_format,
                    "warnings": list(load.warnings),
                },
            )
        written = sorted(Path(scratch).glob("*.quarantine.csv"))
        out["quarantine_file"] = (written[0].name, written[0].read_bytes()) if written else None
    return out


def _run_on_executors(
    session: SparkSession, files: list[str], settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """One executor task per file (``spark.range`` with one partition per file, then ``mapInPandas``), each
    sending back its report pickled: DataFrame APIs only, so classic sessions and Spark Connect run the same code."""
    paths = list(files)

    def validate(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            done = [pickle.dumps(_validate_one((int(i), paths[int(i)]), settings)) for i in batch["id"]]
            yield pd.DataFrame({"id": batch["id"].to_numpy(), "result": pd.Series(done, dtype=object)})

    tasks = session.range(0, len(paths), 1, numPartitions=max(1, len(paths)))
    rows = to_pandas(tasks.mapInPandas(validate, "id long, result binary"))
    return [pickle.loads(bytes(blob)) for blob in rows["result"]]


def _prepare_output(output: Path) -> None:
    if output.exists():
        strays = [
            p.name
            for p in output.iterdir()
            if not (p.name.startswith("part-") and p.name.endswith(".parquet"))
            and not p.name.startswith((".", "_"))
        ]
        if strays:
            raise LtvlabError(
                f"output folder {output} holds other files ({', '.join(strays[:3])}); give an empty or new folder"
            )
        shutil.rmtree(output)
    output.mkdir(parents=True)


def ingest_files(
    path: str | Path,
    *,
    spark: SparkSession | None = None,
    kind: Kind = "transactions",
    output: str | Path | None = None,
    max_bad_share: float = 0.01,
    quarantine_dir: str | Path | None = None,
    now: str | pd.Timestamp | None = None,
    **load_options: Any,
) -> SparkIngest:
    """Validate a CSV/Parquet file, a folder of them or a glob on Spark; quarantine bad rows as the DuckDB path does.

    Parameters
    ----------
    path
        A file, a folder (its files, sorted by name) or a glob pattern.
    kind
        ``"transactions"`` (options of :func:`ltvlab.data.load_transactions`) or ``"experiment"`` (options of
        :func:`ltvlab.data.load_experiment`), passed as ``load_options``.
    output
        Folder for the validated rows as Parquet (one part per file); replaced on each run. Default
        ``data/processed/spark/<name of path>``.
    max_bad_share, quarantine_dir
        As for the loaders, applied to each file: a file with too many bad rows stops the ingest with the
        loader's message, after its quarantine CSV is written.
    now
        Transactions only: dates after it are future dates; default the end of today on the driver, so every
        executor uses the same instant.

    Raises
    ------
    DataValidationError, LtvlabError
        The first failing file's error (files in name order), with the loader's message.
    """
    from ltvlab.spark.session import spark_session

    session = spark if spark is not None else spark_session()
    if kind not in ("transactions", "experiment"):
        raise LtvlabError(f"kind={kind!r}: use 'transactions' or 'experiment'")
    if not 0.0 <= max_bad_share <= 1.0:
        raise LtvlabError(f"max_bad_share={max_bad_share!r} must be a share between 0 and 1, e.g. 0.01")
    files = list_files(path)
    options: dict[str, Any] = dict(load_options)
    if kind == "transactions":
        end_of_today = pd.Timestamp.now().normalize() + pd.Timedelta(days=1, microseconds=-1)
        options["now"] = pd.Timestamp(now) if now is not None else end_of_today
    elif now is not None:
        raise LtvlabError("now= applies to transactions only")
    stem = Path(str(path).rstrip("/")).name.split(".")[0].replace("*", "_") or "data"
    target = Path(output) if output is not None else processed_data_dir() / "spark" / stem
    _prepare_output(target)
    settings = {
        "kind": kind,
        "max_bad_share": max_bad_share,
        "options": options,
        "output": str(target.resolve()),
    }
    results = _run_on_executors(session, files, settings)
    folder = Path(quarantine_dir) if quarantine_dir is not None else default_quarantine_dir()
    reports = [_finish(result, folder) for result in sorted(results, key=lambda r: r["index"])]
    frame = session.read.parquet(str(target.resolve()))
    return SparkIngest(frame=frame, files=tuple(reports), output=target)


def _write_quarantine_bytes(result: Mapping[str, Any], folder: Path) -> Path | None:
    if result["quarantine_file"] is None:
        return None
    name, content = result["quarantine_file"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        target.write_bytes(content)
    except OSError as exc:
        raise DataValidationError(
            f"{Path(result['path']).name}: cannot write the quarantine file in {folder} ({exc.strerror}); "
            "pass a writable quarantine_dir= / --quarantine-dir"
        ) from None
    return target


def _finish(result: Mapping[str, Any], folder: Path) -> FileReport:
    """Driver side: write the quarantine CSV, re-raise a file's error, or build its report."""
    quarantine_path = _write_quarantine_bytes(result, folder)
    if result["error"] is not None:
        message = str(result["message"])
        if quarantine_path is not None:  # the loader named its scratch copy; name the file the user gets
            message = message.replace(
                str(Path(result["scratch"]) / quarantine_path.name), str(quarantine_path)
            )
        raise _ERRORS.get(result["error"], LtvlabError)(message)
    records = result["quarantine"]
    quarantine = pd.DataFrame(
        {
            "row": pd.array(records["row"], dtype="int64"),
            "column": pd.array(records["column"], dtype="str"),
            "value": pd.array(records["value"], dtype="str"),
            "reason": pd.array(records["reason"], dtype="str"),
        }
    )
    report = result["report"]
    return FileReport(
        source=Path(result["path"]),
        quarantine=quarantine,
        quarantine_path=quarantine_path,
        warnings=tuple(report["warnings"]),
        **{k: v for k, v in report.items() if k != "warnings"},
    )
