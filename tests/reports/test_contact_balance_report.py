"""Report view and sentence of the contact-balance check."""

from __future__ import annotations

import pandas as pd

from ltvlab.reports.contact_balance import balance_sentence, balance_view

BALANCE = pd.DataFrame(
    {
        "strategy": ["email", "sms"],
        "covariate": ["score", "score"],
        "correlation": [0.88, -0.01],
        "p_value": [1e-200, 0.62],
        "smd": [2.08, -0.01],
        "targeted": [True, False],
    }
)


def test_sentence_names_the_targeted_strategy_and_the_mismatch_with_the_declaration():
    text = balance_sentence(BALANCE, declared_randomised=True)
    assert text.startswith("Contacts were declared randomised, but the data say otherwise")
    assert "email contacts rise with score (correlation +0.88, p < 0.001)" in text and "sms" not in text
    calm = balance_sentence(BALANCE.assign(targeted=False), declared_randomised=True)
    assert (
        calm
        == "Contacts were declared randomised and the data agree: no strategy's contact rate depends on score."
    )
    assert "unmeasured targeting" in balance_sentence(
        BALANCE.assign(targeted=False), declared_randomised=False
    )


def test_view_formats_every_number():
    frame = balance_view(BALANCE).to_frame()
    assert frame.shape == (2, 6)
    assert list(frame.iloc[:, 3]) == ["p < 0.001", "p = 0.62"]
    assert list(frame.iloc[:, 5]) == ["yes", "no"]
    assert list(frame.iloc[:, 2]) == ["+0.88", "-0.01"]
