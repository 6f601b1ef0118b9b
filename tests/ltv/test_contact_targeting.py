"""Contact targeting: balance diagnostics and the naive versus adjusted effects on simulated targeted contacts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ltvlab.data.synthetic_contacts import simulate_contact_crm
from ltvlab.errors import LtvlabError
from ltvlab.ltv.contact_targeting import effect_errors, targeting_balance
from ltvlab.ltv.interactions import TVCSpec, prepare_tvc_data


def _balance(crm):
    return targeting_balance(
        crm.contacts, crm.customers, ["score"], end=crm.calibration_end, period_length=crm.period_length
    )


def test_balance_flags_targeted_contacts_and_not_randomised_ones():
    randomised = _balance(simulate_contact_crm(3_000, n_segments=1, assignment="randomised", seed=21))
    targeted = _balance(simulate_contact_crm(3_000, n_segments=1, assignment="targeted", seed=21))
    assert list(randomised["strategy"]) == ["email", "sms", "call"]
    # randomised: the correlation's sampling sd is 1 / sqrt(3000) = 0.018; 4 sd bound
    assert not randomised["targeted"].any()
    assert (randomised["correlation"].abs() < 4 / np.sqrt(3_000)).all()
    # targeted (log-odds slope 1 per sd of score): strongly associated
    assert targeted["targeted"].all()
    assert (targeted["correlation"] > 0.3).all() and (targeted["smd"] > 0.5).all()


def test_balance_bad_input():
    crm = simulate_contact_crm(200, n_segments=1, seed=2)
    with pytest.raises(LtvlabError, match="lacks column"):
        targeting_balance(
            crm.contacts, crm.customers, ["tenure"], end=crm.calibration_end, period_length=crm.period_length
        )
    with pytest.raises(LtvlabError, match="constant"):
        targeting_balance(
            crm.contacts,
            crm.customers.assign(score=1.0),
            ["score"],
            end=crm.calibration_end,
            period_length=crm.period_length,
        )


@pytest.mark.study
def test_naive_fit_is_biased_on_targeted_contacts_and_the_adjusted_fit_recovers_the_truth():
    # targeted contacts (chance rises with the score, which also raises the purchase rate by exp(0.5) per sd):
    # without the score the purchase effects absorb the score's effect; with it as a static covariate they are
    # identified. Laplace posteriors on 4,000 customers, 1 segment, 3 strategies, 52 weeks.
    crm = simulate_contact_crm(4_000, n_segments=1, assignment="targeted", seed=31)
    kw = dict(calibration_end=crm.calibration_end, merge_same_day=False)
    naive = prepare_tvc_data(crm.transactions, crm.covariates, **kw)
    adjusted = prepare_tvc_data(
        crm.transactions,
        crm.covariates,
        static=crm.customers[["customer_id", "score"]],
        static_columns=("score",),
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {
            "naive": TVCSpec(randomised=False).fit(naive, method="laplace", draws=400, seed=1),
            "adjusted": TVCSpec(randomised=False).fit(adjusted, method="laplace", draws=400, seed=1),
        }
    errors = effect_errors(fits, crm.truth).set_index(["fit", "parameter", "strategy"])
    purchase_naive = errors.loc[("naive", "purchase")]
    purchase_adj = errors.loc[("adjusted", "purchase")]
    # naive: every purchase effect overstated by more than 3 posterior sd
    assert (purchase_naive["z"] > 3).all(), purchase_naive
    # adjusted: within 3.5 posterior sd of the truth (3 strategies x 2 parameters, Bonferroni-ish at ~0.1%)
    assert (errors.loc["adjusted", "z"].abs() < 3.5).all(), errors.loc["adjusted"]
    assert (purchase_adj["error"].abs() < purchase_naive["error"].abs()).all()
