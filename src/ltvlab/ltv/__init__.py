"""Bayesian lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma models with segment pooling, and CLV.

Models are specs (:class:`BGNBD`, :class:`ParetoNBD`, :class:`GammaGamma`) whose ``fit`` returns a
:class:`PurchaseFit` or :class:`SpendFit`; closed-form expectations are in :mod:`ltvlab.ltv.formulas` and the
likelihoods in :mod:`ltvlab.ltv.distributions`.
"""

from ltvlab.ltv import formulas
from ltvlab.ltv.bgnbd import BGNBD
from ltvlab.ltv.clv import (
    ClvHorizon,
    NaiveClvBaseline,
    clv_horizon,
    customer_lifetime_value,
    discounted_purchases,
    naive_clv_baseline,
    period_discount_rate,
)
from ltvlab.ltv.decisions import assign_tiers, churn_risk, export_csv, hash_ids, pseudonymise, tier_table
from ltvlab.ltv.diagnostics import Diagnostics, DiagnosticThresholds, compare_diagnostics
from ltvlab.ltv.fitted import BTYDFit, PurchaseFit, SpendFit
from ltvlab.ltv.gamma_gamma import GammaGamma
from ltvlab.ltv.holdout import (
    HoldoutResult,
    conditional_expectations,
    cumulative_tracking,
    holdout_validation,
)
from ltvlab.ltv.plots import (
    p_alive_grid,
    plot_clv_distribution,
    plot_conditional_expectations,
    plot_diagnostics,
    plot_p_alive_heatmap,
    plot_shrinkage,
    plot_tracking,
    segment_estimates,
)
from ltvlab.ltv.pnbd import ParetoNBD
from ltvlab.ltv.predictive import ALL_CUSTOMERS, PredictiveSample, sample_future_value
from ltvlab.ltv.prior_predictive import PriorPredictive, prior_predictive_summary
from ltvlab.ltv.scoring import ScoringRun, score_customers, write_scores

__all__ = [
    "ALL_CUSTOMERS",
    "BGNBD",
    "BTYDFit",
    "ClvHorizon",
    "DiagnosticThresholds",
    "Diagnostics",
    "GammaGamma",
    "HoldoutResult",
    "NaiveClvBaseline",
    "ParetoNBD",
    "PredictiveSample",
    "PriorPredictive",
    "PurchaseFit",
    "ScoringRun",
    "SpendFit",
    "assign_tiers",
    "churn_risk",
    "clv_horizon",
    "compare_diagnostics",
    "conditional_expectations",
    "cumulative_tracking",
    "customer_lifetime_value",
    "discounted_purchases",
    "export_csv",
    "formulas",
    "hash_ids",
    "holdout_validation",
    "naive_clv_baseline",
    "p_alive_grid",
    "period_discount_rate",
    "plot_clv_distribution",
    "plot_conditional_expectations",
    "plot_diagnostics",
    "plot_p_alive_heatmap",
    "plot_shrinkage",
    "plot_tracking",
    "prior_predictive_summary",
    "pseudonymise",
    "sample_future_value",
    "score_customers",
    "segment_estimates",
    "tier_table",
    "write_scores",
]
