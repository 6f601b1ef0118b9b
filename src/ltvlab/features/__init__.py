"""Customer-level features: calibration/holdout summaries, RFM, segments."""

from ltvlab.features import columns
from ltvlab.features.summary import customer_summary, summary_sql

__all__ = ["columns", "customer_summary", "summary_sql"]
