"""BG/NBD and Pareto/NBD with time-varying covariates (e.g. contacts of each strategy per period).

:mod:`~ltvlab.ltv.interactions.data` turns transactions and a long covariate table into sufficient
statistics, :mod:`~ltvlab.ltv.interactions.likelihood` holds the exact log-likelihood.
"""

from ltvlab.ltv.interactions.data import PERIOD_START, Pieces, TVCData, prepare_tvc_data
from ltvlab.ltv.interactions.likelihood import tvc_loglik, tvc_loglik_pt

__all__ = ["PERIOD_START", "Pieces", "TVCData", "prepare_tvc_data", "tvc_loglik", "tvc_loglik_pt"]
