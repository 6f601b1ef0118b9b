"""Data access: bundled datasets, loading users' files with validation and quarantine, the DuckDB store.

Names are imported on first use, so that importing one module of the package (e.g. ``ltvlab.data.ids`` for the
report renderer's id hashing) does not load DuckDB, SciPy and the loaders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ltvlab._lazy import lazy_names

_HOME = {
    "DATASETS": "bundled",
    "dataset_info": "bundled",
    "file_sha256": "bundled",
    "load_dataset": "bundled",
    "verified_path": "bundled",
    "load_contacts": "contact_load",
    "load_covariate_table": "contact_load",
    "CarryOver": "contacts",
    "contact_covariates": "contacts",
    "RawTable": "io",
    "read_table": "io",
    "LoadResult": "load",
    "load_experiment": "load",
    "load_transactions": "load",
    "read_analysis_table": "load",
    "reasons_by_count": "quarantine",
    "IngestResult": "store",
    "Store": "store",
}

__all__ = [
    "DATASETS",
    "CarryOver",
    "IngestResult",
    "LoadResult",
    "RawTable",
    "Store",
    "contact_covariates",
    "dataset_info",
    "file_sha256",
    "load_contacts",
    "load_covariate_table",
    "load_dataset",
    "load_experiment",
    "load_transactions",
    "read_analysis_table",
    "read_table",
    "reasons_by_count",
    "verified_path",
]


__getattr__, __dir__ = lazy_names(__name__, _HOME, globals(), __all__)


if TYPE_CHECKING:  # for type checkers and IDEs: the eager imports
    from ltvlab.data.bundled import DATASETS, dataset_info, file_sha256, load_dataset, verified_path
    from ltvlab.data.contact_load import load_contacts, load_covariate_table
    from ltvlab.data.contacts import CarryOver, contact_covariates
    from ltvlab.data.io import RawTable, read_table
    from ltvlab.data.load import LoadResult, load_experiment, load_transactions, read_analysis_table
    from ltvlab.data.quarantine import reasons_by_count
    from ltvlab.data.store import IngestResult, Store
