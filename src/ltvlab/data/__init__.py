"""Data access: bundled datasets, loading users' files with validation and quarantine, the DuckDB store."""

from ltvlab.data.bundled import DATASETS, dataset_info, file_sha256, load_dataset, verified_path
from ltvlab.data.contact_load import load_contacts, load_covariate_table
from ltvlab.data.contacts import CarryOver, contact_covariates
from ltvlab.data.io import RawTable, read_table
from ltvlab.data.load import LoadResult, load_experiment, load_transactions, read_analysis_table
from ltvlab.data.quarantine import reasons_by_count
from ltvlab.data.store import IngestResult, Store

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
