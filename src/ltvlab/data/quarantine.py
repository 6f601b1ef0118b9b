"""Quarantine files for rows that failed validation, and the stop rule when too many rows fail."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ltvlab.errors import DataValidationError
from ltvlab.paths import processed_data_dir

QUARANTINE_COLUMNS = ("row", "column", "value", "reason")


def default_quarantine_dir() -> Path:
    """``data/processed/quarantine`` under the project root."""
    return processed_data_dir() / "quarantine"


def quarantine_file_name(source: Path, sha256: str) -> str:
    """``<file stem>.<first 12 hex of sha256>.quarantine.csv``: one file per source content."""
    stem = source.name.split(".")[0] or "data"
    return f"{stem}.{sha256[:12]}.quarantine.csv"


def write_quarantine(
    quarantine: pd.DataFrame, *, source: Path, sha256: str, quarantine_dir: str | Path | None
) -> Path | None:
    """Write the quarantine records as CSV (``row, column, value, reason``); ``None`` when there are none."""
    if quarantine.empty:
        return None
    folder = Path(quarantine_dir) if quarantine_dir is not None else default_quarantine_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / quarantine_file_name(source, sha256)
        quarantine.loc[:, list(QUARANTINE_COLUMNS)].to_csv(path, index=False)
    except OSError as exc:
        raise DataValidationError(
            f"{source.name}: cannot write the quarantine file in {folder} ({exc.strerror}); "
            "pass a writable quarantine_dir= / --quarantine-dir"
        ) from None
    return path


def reasons_by_count(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantine reasons with their column and row count, most frequent first."""
    if quarantine.empty:
        return pd.DataFrame({"column": [], "reason": [], "rows": []})
    counts = quarantine.groupby(["column", "reason"], sort=False).size().rename("rows").reset_index()
    return counts.sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)


def check_bad_share(
    quarantine: pd.DataFrame,
    *,
    n_rows: int,
    max_bad_share: float,
    file_name: str,
    quarantine_path: Path | None,
    fixes: Mapping[str, str],
) -> None:
    """Raise when more than ``max_bad_share`` of the rows were quarantined, citing the commonest problem."""
    n_bad = len(quarantine)
    if n_rows == 0 or n_bad / n_rows <= max_bad_share:
        return
    top = reasons_by_count(quarantine).iloc[0]
    example = quarantine[(quarantine["column"] == top["column"]) & (quarantine["reason"] == top["reason"])]
    first = example.iloc[0]
    fix = fixes.get(str(top["reason"]), "fix the rows")
    where = f" (all bad rows listed in {quarantine_path})" if quarantine_path is not None else ""
    raise DataValidationError(
        f"{file_name} row {int(first['row']):,}, column '{first['column']}': {first['value']!r} {first['reason']}; "
        f"{fix}. {n_bad:,} of {n_rows:,} rows ({n_bad / n_rows:.1%}) failed validation, more than "
        f"max_bad_share={max_bad_share:g}{where}; fix them or raise max_bad_share= (--max-bad-share)"
    )
