"""Report view of :func:`ltvlab.causal.targeting_balance`: were the contacts sent at random?"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ltvlab.reports import format as fmt

__all__ = ["balance_sentence", "balance_view"]


def balance_view(balance: pd.DataFrame) -> Any:
    """The balance table: per strategy and covariate, correlation, p-value, SMD and the verdict."""
    from ltvlab.reports.tables import format_table

    shown = pd.DataFrame(
        {
            "strategy": balance["strategy"],
            "covariate": balance["covariate"],
            "correlation with contacts per period": [
                fmt.number(v, decimals=2, sign=True) for v in balance["correlation"]
            ],
            "p-value": [fmt.p_value(v) for v in balance["p_value"]],
            "SMD, high vs low contact rate": [fmt.number(v, decimals=2, sign=True) for v in balance["smd"]],
            "contacts follow the covariate": ["yes" if t else "no" for t in balance["targeted"]],
        }
    )
    return format_table(shown, kinds=dict.fromkeys(shown.columns, "text"), transpose=False)


def balance_sentence(balance: pd.DataFrame, *, declared_randomised: bool) -> str:
    """One plain sentence: does the contact log look randomised, and does that match what was declared?"""
    flagged = balance[balance["targeted"]]
    if flagged.empty:
        found = "no strategy's contact rate depends on " + ", ".join(sorted(set(balance["covariate"])))
        if declared_randomised:
            return f"Contacts were declared randomised and the data agree: {found}."
        return (
            f"Contacts were not declared randomised, but {found}; unmeasured targeting can still confound the "
            "effects."
        )
    parts = [
        f"{r.strategy} contacts rise with {r.covariate} (correlation {fmt.number(r.correlation, decimals=2, sign=True)}, "
        f"{fmt.p_value(r.p_value)})"
        if r.correlation > 0
        else f"{r.strategy} contacts fall with {r.covariate} (correlation {fmt.number(r.correlation, decimals=2, sign=True)}, "
        f"{fmt.p_value(r.p_value)})"
        for r in flagged.itertuples()
    ]
    lead = (
        "Contacts were declared randomised, but the data say otherwise: "
        if declared_randomised
        else "Contacts were targeted: "
    )
    return (
        lead
        + "; ".join(parts)
        + ". The effects are causal only after adjusting for these covariates, and only if "
        "they capture all of the targeting."
    )
