"""Customer-level features: calibration/holdout summaries, RFM, segments."""

from ltvlab.features import columns
from ltvlab.features.engagement import ENGAGEMENT_INDEX, channels_used, engagement_index, interaction_counts
from ltvlab.features.kpi import KPI_NAMES, NpsResult, kpi_status, kpi_table, kpi_trends, nps, nps_table
from ltvlab.features.rfm import RFM_COLUMNS, RFM_LABELS, rfm_scores, rfm_sql
from ltvlab.features.segments import first_purchase_segments
from ltvlab.features.summary import customer_summary, summary_notes, summary_sql

__all__ = [
    "ENGAGEMENT_INDEX",
    "KPI_NAMES",
    "RFM_COLUMNS",
    "RFM_LABELS",
    "NpsResult",
    "channels_used",
    "columns",
    "customer_summary",
    "engagement_index",
    "first_purchase_segments",
    "interaction_counts",
    "kpi_status",
    "kpi_table",
    "kpi_trends",
    "nps",
    "nps_table",
    "rfm_scores",
    "rfm_sql",
    "summary_notes",
    "summary_sql",
]
