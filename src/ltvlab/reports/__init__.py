"""Report suite: Papermill batch runs, self-contained HTML reports, the index page, provenance, safety, and the
presentation layer (number formatting, tables, status words, headline blocks).

Names are imported on first use, so a notebook's ``from ltvlab.reports import record, use_style`` stays light
(the runner's modules pull in nbconvert and nbformat, which take seconds to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ltvlab._lazy import lazy_names

_HOME: dict[str, str] = {
    "Headline": "headline",
    "headline_slot": "headline",
    "publish_headline": "headline",
    "render_headline": "headline",
    "render_checks": "headline",
    "render_misses": "headline",
    "render_notes": "headline",
    "prose": "headline",
    "unreliable_mark": "headline",
    "allocation_headline": "headline",
    "data_quality_headline": "headline",
    "evidence_headline": "headline",
    "experiment_headline": "headline",
    "ltv_headline": "headline",
    "prediction_miss": "headline",
    "Check": "status",
    "overall": "status",
    "format_table": "tables",
    "Table": "tables",
    "BatchResult": "batch",
    "default_jobs": "batch",
    "run_batch": "batch",
    "BatchConfig": "config",
    "RunSpec": "config",
    "config_from_mapping": "config",
    "load_config": "config",
    "index_html": "index",
    "write_index": "index",
    "RunOutcome": "outcome",
    "NotebookSchema": "params",
    "ParamSpec": "params",
    "load_schema": "params",
    "validate_params": "params",
    "render_html": "render",
    "escape_html": "safety",
    "hash_id": "safety",
    "hash_ids": "safety",
    "project_salt": "safety",
    "use_style": "style",
}

__all__ = [
    "BatchConfig",
    "BatchResult",
    "Check",
    "Headline",
    "NotebookSchema",
    "ParamSpec",
    "RunOutcome",
    "RunSpec",
    "Table",
    "allocation_headline",
    "config_from_mapping",
    "data_quality_headline",
    "default_jobs",
    "escape_html",
    "evidence_headline",
    "experiment_headline",
    "format_table",
    "hash_id",
    "hash_ids",
    "headline_slot",
    "index_html",
    "interactive",
    "load_config",
    "load_schema",
    "ltv_headline",
    "overall",
    "prediction_miss",
    "project_salt",
    "prose",
    "publish_headline",
    "read_record",
    "record",
    "render_checks",
    "render_headline",
    "render_html",
    "render_misses",
    "render_notes",
    "run_batch",
    "unreliable_mark",
    "use_style",
    "validate_params",
    "write_index",
]


# ``record`` is also the name of its module: bound eagerly, so ``from ltvlab.reports import record`` is always the
# function, whatever was imported before (importing ltvlab.reports.record would bind the module name otherwise).
from ltvlab.reports.record import interactive, read_record, record  # noqa: E402

__getattr__, __dir__ = lazy_names(__name__, _HOME, globals(), __all__)


if TYPE_CHECKING:  # for type checkers and IDEs: the eager imports
    from ltvlab.reports.batch import BatchResult, default_jobs, run_batch
    from ltvlab.reports.config import BatchConfig, RunSpec, config_from_mapping, load_config
    from ltvlab.reports.headline import (
        Headline,
        allocation_headline,
        data_quality_headline,
        evidence_headline,
        experiment_headline,
        headline_slot,
        ltv_headline,
        prediction_miss,
        prose,
        publish_headline,
        render_checks,
        render_headline,
        render_misses,
        render_notes,
        unreliable_mark,
    )
    from ltvlab.reports.index import index_html, write_index
    from ltvlab.reports.outcome import RunOutcome
    from ltvlab.reports.params import NotebookSchema, ParamSpec, load_schema, validate_params
    from ltvlab.reports.render import render_html
    from ltvlab.reports.safety import escape_html, hash_id, hash_ids, project_salt
    from ltvlab.reports.status import Check, overall
    from ltvlab.reports.style import use_style
    from ltvlab.reports.tables import Table, format_table
