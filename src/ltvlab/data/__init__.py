"""Data access: bundled datasets, loading users' files with validation and quarantine, the DuckDB store."""

from ltvlab.data.bundled import DATASETS, dataset_info, file_sha256, load_dataset, verified_path

__all__ = ["DATASETS", "dataset_info", "file_sha256", "load_dataset", "verified_path"]
