"""Synthetic customer data with known ground truth.

Two levels:

**Summary level** (:mod:`ltvlab.data.synthetic_btyd`): :func:`simulate_bgnbd`, :func:`simulate_pareto_nbd`
return per-customer ``(x, t_x, T[, x_holdout])`` drawn exactly from the BG/NBD / Pareto/NBD processes, with the
latent ``lam`` and ``p`` / ``mu``; :func:`simulate_gamma_gamma` (mean spend) and
:func:`simulate_gamma_gamma_transactions` (individual values) from the Gamma-Gamma model.

**Dated CRM** (:func:`generate_crm` -> :class:`SyntheticCRM`). Design, all rates per week:

1. *Segments.* ``n_segments`` latent segments ``S01, S02, ...`` of given sizes (default equal; e.g. 30 to 30,000
   for pooling studies). Segment ``g`` has purchase/dropout parameters ``(r, alpha, a, b)`` (BG/NBD) or
   ``(r, alpha, s, beta)`` (Pareto/NBD) and Gamma-Gamma ``(p, q, gamma)``, each drawn as
   ``log theta_g ~ Normal(log theta_0, sd)``, centred on the CDNOW estimates, ``sd = 0.3`` for purchase/dropout and
   ``0.15`` for spend (:class:`HyperParameters`; stored in ``truth["hyper"]``). Table: ``segments``.
2. *Customers.* Customer ``i`` in segment ``g``: ``lam_i ~ Gamma(r_g, rate alpha_g)``; ``p_i ~ Beta(a_g, b_g)``
   or ``mu_i ~ Gamma(s_g, rate beta_g)``; spend rate ``nu_i ~ Gamma(q_g, rate gamma_g)`` (expected transaction
   value ``p_g / nu_i``). Acquisition channel (web/app/store/referral) and region are drawn independently of
   the segment; the channel sets the mean share of online purchases. The first purchase is on a uniformly drawn
   day between ``start`` and ``acquisition_end``. Table ``customers`` keeps all latent values (truth).
3. *Purchases.* From the first purchase (time 0, start of that day) repeat purchases follow the exact BG/NBD or
   Pareto/NBD process in continuous time; a purchase at time ``t`` weeks is dated on day ``floor(7 t)`` after the
   first. The calibration period runs through the *end* of ``calibration_end``, so its exposure is ``T + 1 day``
   where ``T`` is what :func:`ltvlab.features.customer_summary` reports (it measures to the start of that day).
   Several purchases can fall on one day; ``customer_summary(..., merge_same_day=False)`` counts them all, as
   the model does. Values are Gamma(``p_g``, rate ``nu_i``), rounded to cents. Table ``transactions``.
4. *Strategies.* From the day after ``calibration_end`` (the campaign = holdout period) each strategy ``k``
   reaches a set of customers. ``assignment="randomised"``: with probability ``share_k``; ``"confounded"``:
   ``logit P = logit(share_k) + 1.0 (log1p(pre_purchases) - 0.5)`` where ``pre_purchases`` are the customer's
   calibration repeat purchases (observable, so propensity methods can adjust for it; the naive difference is
   biased because ``pre_purchases`` tracks ``lam``). Treated customers' rate is multiplied by ``rate_kg`` and
   their dropout ``p`` (capped at 1) or ``mu`` by ``drop_kg`` with ``log rate_kg ~ Normal(log rate_k, 0.05)``,
   likewise for dropout (means in :data:`DEFAULT_STRATEGIES`); several strategies multiply. Spend per
   transaction is unchanged. Contacts (``interactions``: 1 + Poisson(contacts_mean - 1) per treated customer
   and strategy, uniform days over the campaign, online or offline by the strategy's ``online_share``) are sent
   whether or not the customer is still alive, as in a real CRM. ``experiment_strategy`` is instead randomised
   50/50 and reported in ``experiment`` (pre-period covariates and campaign-period outcomes).
5. *Truth of effects* (``strategy_effects``). Per strategy and segment (and ``"all"``): the multipliers and the
   average effects on the *expected* campaign-period purchases, spend and P(any purchase) of this sample's
   customers, switching that strategy on versus off with everything else as drawn (``ate_*``; ``att_*`` over the
   treated); ``naive_purchases`` is the expected treated-minus-untreated difference and ``naive_bias_purchases``
   its bias. Closed forms for a customer alive at the campaign start: BG/NBD ``E = (1 - exp(-lam p h)) / p``,
   ``P(any) = 1 - exp(-lam h)``; Pareto/NBD ``E = lam / mu (1 - exp(-mu h))``,
   ``P(any) = lam / (lam + mu) (1 - exp(-(lam + mu) h))``.

Memory: customers are simulated in chunks (``chunk_size``); ids are strings (``C0000001``), dates
``datetime64``, labels categorical, latent values float32.
"""

from ltvlab.data.synthetic_btyd import (
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_gamma_gamma_transactions,
    simulate_pareto_nbd,
)
from ltvlab.data.synthetic_crm import SyntheticCRM, WrittenTransactions, generate_crm, write_transactions
from ltvlab.data.synthetic_processes import BGNBD_DATED, PARETO_NBD_DATED, DatedProcess
from ltvlab.data.synthetic_truth import DEFAULT_STRATEGIES, HyperParameters, StrategySpec

__all__ = [
    "BGNBD_DATED",
    "DEFAULT_STRATEGIES",
    "PARETO_NBD_DATED",
    "DatedProcess",
    "HyperParameters",
    "StrategySpec",
    "SyntheticCRM",
    "WrittenTransactions",
    "generate_crm",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_gamma_gamma_transactions",
    "simulate_pareto_nbd",
    "write_transactions",
]
