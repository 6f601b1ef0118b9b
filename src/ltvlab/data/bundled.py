"""Public datasets shipped in ``data/external`` with their provenance, verified by sha256 on load."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from ltvlab.errors import DataValidationError
from ltvlab.features import columns as col
from ltvlab.paths import external_data_dir


@dataclass(frozen=True, slots=True)
class BundledDataset:
    name: str
    relative_path: str
    sha256: str
    kind: str  # "transactions" or "experiment"
    description: str

    @property
    def path(self) -> Path:
        return external_data_dir() / self.relative_path


DATASETS: dict[str, BundledDataset] = {
    d.name: d
    for d in (
        BundledDataset(
            "cdnow-sample",
            "cdnow/CDNOW_sample.txt",
            "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a",
            "transactions",
            "CDNOW 1/10 systematic sample: 2,357 customers first buying in Q1 1997, purchases to June 1998",
        ),
        BundledDataset(
            "cdnow-master",
            "cdnow/CDNOW_master.txt",
            "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
            "transactions",
            "CDNOW full cohort: 23,570 customers first buying in Q1 1997, purchases to June 1998",
        ),
        BundledDataset(
            "hillstrom",
            "hillstrom/hillstrom.csv",
            "ff9e59285e9dc3f5fa3e0975419e6631ea5bdccd65d818991473d2367e02979c",
            "experiment",
            "MineThatData e-mail experiment (2008): 64,000 customers randomised to Mens/Womens/No e-mail",
        ),
    )
}


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def dataset_info(name: str) -> BundledDataset:
    """The registry entry of a bundled dataset; raises with the list of names when unknown."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise DataValidationError(f"unknown dataset {name!r}; bundled datasets are: {known}") from None


def verified_path(name: str) -> Path:
    """Path of a bundled dataset after checking that it exists and its sha256 matches the registry."""
    info = dataset_info(name)
    path = info.path
    if not path.is_file():
        raise DataValidationError(
            f"bundled dataset {name!r} not found at {info.relative_path} under data/external; "
            "run from the project folder or set LTVLAB_ROOT to it"
        )
    digest = _cached_sha256(str(path), path.stat().st_mtime_ns, path.stat().st_size)
    if digest != info.sha256:
        raise DataValidationError(
            f"{path.name}: sha256 {digest} does not match the bundled {info.sha256}; "
            "the file was modified — restore it with `git checkout -- data/external`"
        )
    return path


@cache
def _cached_sha256(path: str, mtime_ns: int, size: int) -> str:
    return file_sha256(Path(path))


def _read_cdnow_master(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        sep=r"\s+",
        skiprows=1,
        header=None,
        names=[col.CUSTOMER_ID, "date_raw", col.QUANTITY, col.AMOUNT],
        dtype={col.CUSTOMER_ID: str, "date_raw": str},
        engine="c",
    )
    return _finish_cdnow(frame)


def _read_cdnow_sample(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=[col.CUSTOMER_ID, "sample_id", "date_raw", col.QUANTITY, col.AMOUNT],
        dtype={col.CUSTOMER_ID: str, "sample_id": str, "date_raw": str},
        engine="c",
    )
    return _finish_cdnow(frame.drop(columns="sample_id"))


def _finish_cdnow(frame: pd.DataFrame) -> pd.DataFrame:
    frame[col.DATE] = pd.to_datetime(frame.pop("date_raw"), format="%Y%m%d")
    frame[col.AMOUNT] = frame[col.AMOUNT].astype("float64")
    frame[col.QUANTITY] = frame[col.QUANTITY].astype("int64")
    return frame[[col.CUSTOMER_ID, col.DATE, col.AMOUNT, col.QUANTITY]]


def _read_hillstrom(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.insert(0, col.UNIT_ID, [f"h{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "cdnow-sample": _read_cdnow_sample,
    "cdnow-master": _read_cdnow_master,
    "hillstrom": _read_hillstrom,
}


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset after verifying its checksum.

    CDNOW datasets come as transactions (``customer_id``, ``date``, ``amount``, ``quantity``), one row per
    purchase line as in the source file. Hillstrom comes as its original columns with a ``unit_id`` added
    (``h00001`` ... in file order); ``segment`` is the randomised arm.
    """
    path = verified_path(name)
    return _READERS[name](path)
