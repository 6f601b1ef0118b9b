"""Bayesian lifetime value: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma models with segment pooling, and CLV.

Each model is one module that registers itself (:mod:`ltvlab.ltv.registry`): :func:`registered_models` lists
them, :func:`get_model` returns what a model declares and :func:`model_spec` builds its spec
(:class:`BGNBD`, :class:`MBGNBD`, :class:`ParetoNBD`, :class:`GammaGamma`), whose ``fit`` returns a
:class:`PurchaseFit` or :class:`SpendFit`. Every scorer runs on the one engine of :mod:`ltvlab.ltv.engine`;
closed-form expectations are in :mod:`ltvlab.ltv.formulas` and the likelihoods in
:mod:`ltvlab.ltv.distributions`.
"""

from ltvlab.ltv import formulas
from ltvlab.ltv.bdw import BdW
from ltvlab.ltv.bgbb import BGBB
from ltvlab.ltv.bgnbd import BGNBD
from ltvlab.ltv.clv import (
    NaiveClvBaseline,
    clv_attrs,
    customer_lifetime_value,
    naive_clv_baseline,
)
from ltvlab.ltv.compare import ModelComparison, compare_fits, compare_models
from ltvlab.ltv.decisions import assign_tiers, churn_risk, export_csv, hash_ids, pseudonymise, tier_table
from ltvlab.ltv.diagnostics import Diagnostics, DiagnosticThresholds, compare_diagnostics
from ltvlab.ltv.discounting import ClvHorizon, clv_horizon, discounted_purchases, period_discount_rate
from ltvlab.ltv.engine import (
    QUANTILES,
    PairedDraws,
    ScoringPlan,
    SegmentIndex,
    UniqueRows,
    pair_draws,
    resolve_unit,
    scoring_plan,
    segment_index_of,
    unique_row_table,
    unique_rows,
    validate_summary,
)
from ltvlab.ltv.fitted import BTYDFit, PurchaseFit, SpendFit
from ltvlab.ltv.gamma_gamma import GammaGamma
from ltvlab.ltv.holdout import (
    HoldoutResult,
    conditional_expectations,
    cumulative_tracking,
    holdout_validation,
)
from ltvlab.ltv.mbgnbd import MBGNBD
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
from ltvlab.ltv.registry import ModelDef, get_model, model_spec, registered_models
from ltvlab.ltv.saved import load_fits, save_fits
from ltvlab.ltv.sbg import SBG
from ltvlab.ltv.scoring import ScoringRun, score_customers, write_scores

__all__ = [
    "ALL_CUSTOMERS",
    "BGBB",
    "BGNBD",
    "MBGNBD",
    "QUANTILES",
    "SBG",
    "BTYDFit",
    "BdW",
    "ClvHorizon",
    "DiagnosticThresholds",
    "Diagnostics",
    "GammaGamma",
    "HoldoutResult",
    "ModelComparison",
    "ModelDef",
    "NaiveClvBaseline",
    "PairedDraws",
    "ParetoNBD",
    "PredictiveSample",
    "PriorPredictive",
    "PurchaseFit",
    "ScoringPlan",
    "ScoringRun",
    "SegmentIndex",
    "SpendFit",
    "UniqueRows",
    "assign_tiers",
    "churn_risk",
    "clv_attrs",
    "clv_horizon",
    "compare_diagnostics",
    "compare_fits",
    "compare_models",
    "conditional_expectations",
    "cumulative_tracking",
    "customer_lifetime_value",
    "discounted_purchases",
    "export_csv",
    "formulas",
    "get_model",
    "hash_ids",
    "holdout_validation",
    "load_fits",
    "model_spec",
    "naive_clv_baseline",
    "p_alive_grid",
    "pair_draws",
    "period_discount_rate",
    "plot_clv_distribution",
    "plot_conditional_expectations",
    "plot_diagnostics",
    "plot_p_alive_heatmap",
    "plot_shrinkage",
    "plot_tracking",
    "prior_predictive_summary",
    "pseudonymise",
    "registered_models",
    "resolve_unit",
    "sample_future_value",
    "save_fits",
    "score_customers",
    "scoring_plan",
    "segment_estimates",
    "segment_index_of",
    "tier_table",
    "unique_row_table",
    "unique_rows",
    "validate_summary",
    "write_scores",
]
