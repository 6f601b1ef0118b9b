"""The headline block every report opens with, and the builders that make it from each analysis' results.

- :mod:`~ltvlab.reports.headline.block`: :class:`Headline` (what was analysed, the answer, the trust checks, the
  misses), its HTML (:func:`render_headline`, :func:`render_misses`, :func:`render_checks`, :func:`render_notes`),
  and :func:`headline_slot` / :func:`publish_headline`, which show it at the top of a notebook and record its status;
- :mod:`~ltvlab.reports.headline.analyses`: the builders of data quality, LTV, experiments and observational
  evidence;
- :mod:`~ltvlab.reports.headline.allocation`: the budget allocation's headline and the sentences around it.
"""

from ltvlab.reports.headline.allocation import (
    TIE_TOLERANCE,
    allocation_comparison,
    allocation_headline,
    coverage_context,
    policy_verdicts,
    share_text,
)
from ltvlab.reports.headline.analyses import (
    HOLDOUT_TOLERANCE,
    UNIT_NAMES,
    data_quality_headline,
    evidence_headline,
    experiment_headline,
    ltv_headline,
    prediction_miss,
)
from ltvlab.reports.headline.block import (
    HEADLINE_CLASS,
    HEADLINE_CSS,
    Block,
    Headline,
    headline_slot,
    prose,
    publish_headline,
    render_checks,
    render_headline,
    render_misses,
    render_notes,
    unreliable_mark,
)

__all__ = [
    "HEADLINE_CLASS",
    "HEADLINE_CSS",
    "HOLDOUT_TOLERANCE",
    "TIE_TOLERANCE",
    "UNIT_NAMES",
    "Block",
    "Headline",
    "allocation_comparison",
    "allocation_headline",
    "coverage_context",
    "data_quality_headline",
    "evidence_headline",
    "experiment_headline",
    "headline_slot",
    "ltv_headline",
    "policy_verdicts",
    "prediction_miss",
    "prose",
    "publish_headline",
    "render_checks",
    "render_headline",
    "render_misses",
    "render_notes",
    "share_text",
    "unreliable_mark",
]
