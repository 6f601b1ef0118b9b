"""Observational causal designs: propensity weighting (IPW, AIPW), difference-in-differences, sensitivity."""

from ltvlab.causal.contact_balance import targeting_balance
from ltvlab.causal.did import DidResult, difference_in_differences
from ltvlab.causal.panel import purchase_panel
from ltvlab.causal.plots import plot_estimates_vs_naive, plot_event_study, plot_love, plot_propensity
from ltvlab.causal.results import CausalEstimate, OverlapSummary, estimates_frame
from ltvlab.causal.sensitivity import EValue, e_value, e_value_of_estimate, e_value_of_ratio
from ltvlab.causal.verdicts import hypothesis_table, verdict
from ltvlab.causal.weighting import WeightingDesign

__all__ = [
    "CausalEstimate",
    "DidResult",
    "EValue",
    "OverlapSummary",
    "WeightingDesign",
    "difference_in_differences",
    "e_value",
    "e_value_of_estimate",
    "e_value_of_ratio",
    "estimates_frame",
    "hypothesis_table",
    "plot_estimates_vs_naive",
    "plot_event_study",
    "plot_love",
    "plot_propensity",
    "purchase_panel",
    "targeting_balance",
    "verdict",
]
