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
    kind: str  # "transactions", "experiment", "discrete-summary" or "retention"
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
        BundledDataset(
            "donations",
            "donations/donations.csv",
            "82c25f26a201ff047e1cd5fe3d7967a45db92a025ecedee72ff8940e50104544",
            "discrete-summary",
            "1995 cohort of 11,104 first-time supporters of a non-profit, repeat donations in each of the next 6 "
            "years (Fader, Hardie & Shang 2010), as distinct (x, t_x, n) rows with customer counts",
        ),
        BundledDataset(
            "retention",
            "retention/fader_hardie_2007.csv",
            "d064fe677fe348f852a72955d435e782416269feb3cbd32c8796e340e3f3870a",
            "retention",
            "Percent of a subscription cohort still active after years 0-7, regular and high end customers "
            "(Fader & Hardie 2007)",
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


def _read_donations(path: Path) -> pd.DataFrame:
    # frequency = repeat transactions x, recency = last transaction opportunity t_x, periods = opportunities n
    frame = pd.read_csv(path, dtype="int64")
    return frame.rename(
        columns={"frequency": col.X, "recency": col.T_X, "periods": col.T, "weights": "count"}
    )


_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "cdnow-sample": _read_cdnow_sample,
    "cdnow-master": _read_cdnow_master,
    "hillstrom": _read_hillstrom,
    "donations": _read_donations,
    "retention": pd.read_csv,
}


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset after verifying its checksum.

    CDNOW datasets come as transactions (``customer_id``, ``date``, ``amount``, ``quantity``), one row per
    purchase line as in the source file. Hillstrom comes as its original columns with a ``unit_id`` added
    (``h00001`` ... in file order); ``segment`` is the randomised arm. Donations comes as distinct discrete-time
    summaries ``x, t_x, T`` (``T`` = number of transaction opportunities ``n``) with ``count`` customers each;
    retention as ``segment, year, percent_alive``.
    """
    path = verified_path(name)
    return _READERS[name](path)
