"""A/B engine for interaction strategies: estimators, variance reduction, Bayesian summaries, trust checks,
sequential monitoring, power, heterogeneity, uplift targeting and value."""

from ltvlab.experiments.balance import balance_table, covariate_matrix
from ltvlab.experiments.bayesian import beta_binomial_effect, student_t_effect
from ltvlab.experiments.corrections import adjust_p_values, benjamini_hochberg, holm
from ltvlab.experiments.cuped import cuped_adjust, regression_adjusted_effect
from ltvlab.experiments.engine import analyse_experiment
from ltvlab.experiments.heterogeneity import HeterogeneityResult, partial_pooling, segment_effects
from ltvlab.experiments.plots import plot_cuped, plot_effects, plot_forest, plot_posteriors, plot_qini
from ltvlab.experiments.power import minimum_detectable_effect, power, proportion_sd, sample_size
from ltvlab.experiments.ratio import ratio_test
from ltvlab.experiments.report import ExperimentReport
from ltvlab.experiments.results import BayesianEffect, EffectEstimate, results_frame
from ltvlab.experiments.sequential import (
    SequentialResult,
    always_valid_p_values,
    confidence_sequence_radius,
    default_mixing_sd,
    msprt_log_lr,
    sequential_monitor,
)
from ltvlab.experiments.srm import SRMResult, srm_test
from ltvlab.experiments.stats import MeanStats, RatioStats, group_mean_stats
from ltvlab.experiments.uplift import UpliftResult, fit_uplift, qini_curve_weighted
from ltvlab.experiments.value import ValueEstimate, incremental_value
from ltvlab.experiments.welch import WelchArrays, relative_lift_interval, welch_from_moments, welch_test
from ltvlab.experiments.winsorize import Winsorized, winsorize

__all__ = [
    "BayesianEffect",
    "EffectEstimate",
    "ExperimentReport",
    "HeterogeneityResult",
    "MeanStats",
    "RatioStats",
    "SRMResult",
    "SequentialResult",
    "UpliftResult",
    "ValueEstimate",
    "WelchArrays",
    "Winsorized",
    "adjust_p_values",
    "always_valid_p_values",
    "analyse_experiment",
    "balance_table",
    "benjamini_hochberg",
    "beta_binomial_effect",
    "confidence_sequence_radius",
    "covariate_matrix",
    "cuped_adjust",
    "default_mixing_sd",
    "fit_uplift",
    "group_mean_stats",
    "holm",
    "incremental_value",
    "minimum_detectable_effect",
    "msprt_log_lr",
    "partial_pooling",
    "plot_cuped",
    "plot_effects",
    "plot_forest",
    "plot_posteriors",
    "plot_qini",
    "power",
    "proportion_sd",
    "qini_curve_weighted",
    "ratio_test",
    "regression_adjusted_effect",
    "relative_lift_interval",
    "results_frame",
    "sample_size",
    "segment_effects",
    "sequential_monitor",
    "srm_test",
    "student_t_effect",
    "welch_from_moments",
    "welch_test",
    "winsorize",
]
