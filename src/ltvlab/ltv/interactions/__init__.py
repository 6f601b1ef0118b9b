"""BG/NBD and Pareto/NBD with time-varying covariates (e.g. contacts of each strategy per period).

:mod:`~ltvlab.ltv.interactions.data` turns transactions and a long covariate table into sufficient
statistics, :mod:`~ltvlab.ltv.interactions.likelihood` holds the exact log-likelihood,
:mod:`~ltvlab.ltv.interactions.fit` the spec and fitted model, :mod:`~ltvlab.ltv.interactions.predict`
predictions under a contact plan and the value of a contact (for :mod:`ltvlab.strategy.allocation`).
"""

from ltvlab.ltv.interactions.data import PERIOD_START, Pieces, TVCData, prepare_tvc_data
from ltvlab.ltv.interactions.fit import TVCFit, TVCSpec
from ltvlab.ltv.interactions.likelihood import tvc_components, tvc_loglik, tvc_loglik_pt
from ltvlab.ltv.interactions.predict import (
    PlanPrediction,
    incremental_value_draws,
    plan_covariates,
    predict_plan,
    summarise_values,
)

__all__ = [
    "PERIOD_START",
    "Pieces",
    "PlanPrediction",
    "TVCData",
    "TVCFit",
    "TVCSpec",
    "incremental_value_draws",
    "plan_covariates",
    "predict_plan",
    "prepare_tvc_data",
    "summarise_values",
    "tvc_components",
    "tvc_loglik",
    "tvc_loglik_pt",
]
