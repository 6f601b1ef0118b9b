"""Balance of contact intensity on the targeting covariates: randomised versus targeted contact logs."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.causal.contact_balance import targeting_balance
from ltvlab.data.synthetic_contacts import simulate_contact_crm
from ltvlab.errors import LtvlabError


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
