"""Headline of the budget allocation and the sentences around it: the plan's expected value, the realised
values outside their intervals (synthetic truth) with what a coverage study says such a miss means, and how the
plan compares with the simple policies (beats, tie or loses — identical plans are a tie).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ltvlab.reports import format as fmt
from ltvlab.reports.headline.block import Headline
from ltvlab.reports.status import FAILED, NOT_APPLICABLE, PASSED, Check

# Realised values closer than this (in currency units) are a tie.
TIE_TOLERANCE = 0.5


def _name(policy: str) -> str:
    from ltvlab.strategy.allocation import POLICY_LABELS

    return f"the {POLICY_LABELS.get(policy, policy)}"


def _plan_key(plans: pd.DataFrame, policy: str) -> frozenset:
    rows = plans[plans["policy"] == policy]
    return frozenset(
        (str(r.segment), str(r.strategy), int(r.contacts)) for r in rows.itertuples() if r.contacts > 0
    )


def share_text(share: float) -> str:
    """A share of the oracle's value: one decimal from 90% up (``99.9%``, not a rounded ``100%``), else whole."""
    if fmt.is_missing(share):
        return fmt.MISSING
    return fmt.percent(share, decimals=1) if share >= 0.9 and share != 1 else fmt.percent(share)


def policy_verdicts(policies: pd.DataFrame, plans: pd.DataFrame | None = None) -> dict[str, str]:
    """How the optimal plan's realised value compares with each other policy's: ``beats``, ``tie`` or
    ``loses``. Two policies that contact the same customers with the same strategies (``plans``: ``policy,
    segment, strategy, contacts``) are a tie, as are realised values within :data:`TIE_TOLERANCE`."""
    realised = dict(zip(policies["policy"], policies["realised"], strict=True))
    best = realised["optimal"]
    verdicts = {}
    for policy, value in realised.items():
        if policy in ("optimal", "oracle"):
            continue
        same_plan = plans is not None and _plan_key(plans, policy) == _plan_key(plans, "optimal")
        if same_plan or abs(best - value) <= TIE_TOLERANCE:
            verdicts[policy] = "tie"
        else:
            verdicts[policy] = "beats" if best > value else "loses"
    return verdicts


def allocation_comparison(
    policies: pd.DataFrame, plans: pd.DataFrame | None = None, *, currency: str = "$"
) -> str:
    """One paragraph: each policy's realised net value, the plan's share of the oracle, and whether it beats,
    ties with or loses to each simple policy (a tie when the plans are identical, never "does not beat")."""
    realised = dict(zip(policies["policy"], policies["realised"], strict=True))
    same = plans is not None
    parts = []
    for policy, verdict in policy_verdicts(policies, plans).items():
        name = _name(policy)
        gap = fmt.money(abs(realised["optimal"] - realised[policy]), currency)
        if verdict == "tie":
            identical = same and _plan_key(plans, policy) == _plan_key(plans, "optimal")
            parts.append(
                f"ties with {name} ({'the two plans are identical' if identical else 'same realised value'})"
            )
        elif verdict == "beats":
            parts.append(f"beats {name} by {gap}")
        else:
            parts.append(f"earns {gap} less than {name}")
    text = (
        "Realised net value: "
        + ", ".join(f"{_name(p)} {fmt.money(v, currency)}" for p, v in realised.items())
        + "."
    )
    if "oracle" in realised and realised["oracle"] > 0:
        text += (
            f" The plan earns {share_text(realised['optimal'] / realised['oracle'])} of the oracle's value"
        )
        text += ("; it " + " and ".join(parts) + ".") if parts else "."
    elif parts:
        text += " The plan " + " and ".join(parts) + "."
    if "loses" in policy_verdicts(policies, plans).values():
        text += (
            " A simple policy wins when one strategy is best almost everywhere and the plan's estimation error "
            "costs more than the simple policy's blind spot."
        )
    return text


def coverage_context(study: Any) -> str:
    """What a miss means, from a coverage study (:class:`~ltvlab.strategy.CoverageStudy`)."""
    level = fmt.level_text(study.credible_mass)
    shares = [
        f"{_name(what)} {fmt.percent(study.coverage(what), decimals=1)} "
        f"({fmt.integer(study.covered[what])} of {fmt.integer(study.n[what])})"
        for what in study.n
        if what != "cells"
    ]
    cells = (
        f", and the segment x strategy cells' intervals {fmt.percent(study.coverage('cells'), decimals=1)} "
        f"({fmt.integer(study.covered['cells'])} of {fmt.integer(study.n['cells'])})"
        if "cells" in study.n
        else ""
    )
    return (
        f"How often these {level} intervals miss: over {study.n_repeats} simulated data sets of "
        f"{fmt.integer(study.n_customers)} customers ({study.settings}), they covered the realised value for "
        + ", ".join(shares)
        + cells
        + f". A {level} interval misses about one data set in {round(1 / (1 - study.credible_mass))}, so a miss in this "
        "one data set is no sign of a broken interval; misses in most of the repeats would be."
    )


def _calibrated(study: Any, policy: str, *, z: float = 2.6) -> bool:
    """The study's coverage of ``policy`` is within ``z`` binomial SE of the nominal level."""
    if study is None or policy not in study.n:
        return False
    mass = study.credible_mass
    se = (mass * (1 - mass) / study.n[policy]) ** 0.5
    return abs(study.coverage(policy) - mass) <= z * se


def allocation_headline(
    result: Any,
    realised: Mapping[str, float],
    *,
    source: str,
    currency: str = "$",
    coverage: Any = None,
    n_customers: int | None = None,
) -> Headline:
    """The plan's expected net value with its credible interval; realised values (synthetic truth) that fall
    outside their own interval are misses.

    ``coverage`` (a :class:`~ltvlab.strategy.CoverageStudy`) puts the misses in context. A miss fails the
    interval check unless that study, made at this run's ``n_customers``, found the missed policies' intervals
    calibrated (within 2.6 binomial SE of nominal): then the check passes with a caution (amber)."""
    level = result.credible_mass
    analysed = f"{source}: budget {fmt.money(result.budget, currency)}, {result.n_draws} posterior draws of each effect."
    answer = (
        f"The plan spends {fmt.money(result.spent, currency)} for an expected net incremental value of "
        f"{fmt.lift(result.expected_return, result.ci_low, result.ci_high, kind='money', level=level, label='credible interval', currency=currency, sign=False)}; "
        f"P(return > 0) {fmt.probability(result.prob_positive, result.n_draws, equals=True)}."
    )
    misses = []
    missed = []
    compared = 0
    for row in result.comparison.itertuples():
        value = realised.get(row.policy)
        if value is None:
            continue
        compared += 1
        if value < row.ci_low or value > row.ci_high:
            missed.append(row.policy)
            side = "below" if value < row.ci_low else "above"
            misses.append(
                f"{_name(row.policy)}: realised net value {fmt.money(value, currency)} "
                f"lies {side} its own "
                f"{fmt.level_text(level)} credible interval ({fmt.money(row.ci_low, currency)} to "
                f"{fmt.money(row.ci_high, currency)})"
            )
    notes: tuple[str, ...] = (coverage_context(coverage),) if coverage is not None and missed else ()
    name = "intervals vs realised value (synthetic truth)"
    detail = f"{len(missed)} of {compared} policies' realised values outside their {fmt.level_text(level)} interval"
    if not compared:
        check = Check("intervals vs realised value", NOT_APPLICABLE, "no known truth to compare with")
    elif not missed:
        check = Check(name, PASSED, detail)
    elif (
        coverage is not None
        and n_customers == coverage.n_customers
        and all(_calibrated(coverage, p) for p in missed)
    ):
        check = Check(
            name,
            PASSED,
            detail
            + f"; within what a {fmt.level_text(level)} interval allows (coverage study: see the note)",
            tone="amber",
        )
    else:
        check = Check(name, FAILED, detail)
    return Headline(analysed, answer, (check,), tuple(misses), notes)
