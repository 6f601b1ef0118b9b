"""The budget allocation on a synthetic CRM, checked against the generator's truth.

:func:`synthetic_allocation_check` runs the whole decision on one synthetic data set — AIPW effects per segment x
strategy, draws of the incremental discounted CLV per contact, the allocation and its two reference policies —
and values every plan with the true per-contact values (the generator's rate *and* dropout multipliers through the
same CLV model, segment parameters, spend, horizon, discounting and contact costs as the estimate). It reports,
for each policy and each segment x strategy cell, whether the credible interval covers that realised value.
:func:`allocation_coverage` repeats this over independently simulated data sets and gives the coverage rates
with their binomial Monte Carlo standard errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ltvlab.data.synthetic import SyntheticCRM, generate_crm
from ltvlab.errors import LtvlabError
from ltvlab.features import customer_summary
from ltvlab.ltv.formulas import gg_expected_spend
from ltvlab.ltv.pnbd import ParetoNBD
from ltvlab.strategy.allocation import AllocationResult, allocate_budget, realised_return
from ltvlab.strategy.effect_draws import Pooling, rate_multiplier_draws
from ltvlab.strategy.incremental_clv import baseline_clv_by_segment, segment_strategy_value_draws

# Dropout effects need the Pareto/NBD process (the generator and the incremental CLV both).
_MODEL = ParetoNBD.kind_name

EFFECT_COVARIATES = ("log_x", "x", "t_x", "T", "acquisition_channel", "region")
PURCHASE_PARAMS = ("r", "alpha", "s", "beta")


@dataclass(frozen=True, slots=True)
class AllocationCheck:
    """One synthetic run of the allocation and its truth.

    ``policies``: one row per policy (optimal, uniform, highest_ltv, then oracle) with ``expected_return``,
    ``ci_low``, ``ci_high``, ``realised`` (value under the true effects), ``covered`` (realised inside the
    interval; missing for the oracle, which has no interval) and ``share_of_oracle``.
    ``cells``: one row per segment x strategy with the draws' ``value_mean``, ``value_low``, ``value_high``, the
    ``true_value`` per contact and ``covered``, plus the estimated and true rate multipliers.
    """

    result: AllocationResult
    oracle: AllocationResult
    policies: pd.DataFrame
    cells: pd.DataFrame
    units: pd.DataFrame
    multipliers: pd.DataFrame
    values: pd.DataFrame
    true_values: pd.DataFrame
    costs: dict[str, float]
    baseline_ltv: dict[str, float]
    credible_mass: float


@dataclass(frozen=True, slots=True)
class CoverageStudy:
    """How often the allocation's credible intervals covered the realised value over simulated data sets.

    ``covered[what]`` and ``n[what]`` count the intervals (``what``: a policy, or ``"cells"`` for all segment x
    strategy cells together) that covered their realised value, out of how many; ``settings`` says how the data
    sets were made. Built from :func:`allocation_coverage`'s table by :meth:`from_table`.
    """

    n_repeats: int
    n_customers: int
    credible_mass: float
    covered: Mapping[str, int]
    n: Mapping[str, int]
    settings: str = ""

    def coverage(self, what: str) -> float:
        return self.covered[what] / self.n[what]

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame,
        *,
        n_repeats: int,
        n_customers: int,
        credible_mass: float,
        settings: str = "",
    ) -> CoverageStudy:
        rows = table.set_index("what")
        return cls(
            n_repeats=n_repeats,
            n_customers=n_customers,
            credible_mass=credible_mass,
            covered={str(k): int(v) for k, v in rows["covered"].items()},
            n={str(k): int(v) for k, v in rows["n"].items()},
            settings=settings,
        )


# The coverage study at the budget-allocation report's defaults, run once with ``make test-slow``
# (tests/strategy/test_synthetic_check.py::test_intervals_cover_the_realised_value_at_the_nominal_rate):
# allocation_coverage(60, n_customers=20_000, strategies=(email, sms, coupon, loyalty_programme,
# personalised_reco, call_back), first_seed=1000, budget=1500.0, call_capacity=1500, n_draws=200), default
# 52-week horizon, 10% discounting, pooling="segments". The slow test recomputes these counts and compares.
REPORT_COVERAGE = CoverageStudy(
    n_repeats=60,
    n_customers=20_000,
    credible_mass=0.90,
    covered={"optimal": 58, "uniform": 55, "highest_ltv": 53, "cells": 1600},
    n={"optimal": 60, "uniform": 60, "highest_ltv": 60, "cells": 1800},
    settings="randomised campaigns, budget 1,500, call capacity 1,500, 200 draws, seeds 1000 to 1059",
)


def campaign_units(crm: SyntheticCRM, strategies: Sequence[str]) -> pd.DataFrame:
    """Per-customer calibration summary, covariates, 0/1 treatment columns and Gamma-Gamma expected spend
    (``attrs``: the summary's, so :func:`ltvlab.features.summary_notes` reads them)."""
    summary = customer_summary(
        crm.transactions,
        calibration_end=crm.calibration_end,
        holdout_end=crm.holdout_end,
        unit="W",
        merge_same_day=False,
    )
    units = summary.merge(
        crm.customers.filter(regex="^(customer_id|segment|acquisition_channel|region|treated_.*)$"),
        on="customer_id",
    )
    per_customer = crm.segments.set_index("segment").loc[units["segment"].astype(str)]
    units = units.assign(
        log_x=np.log1p(units["x"]),
        expected_spend=gg_expected_spend(
            units["x"],
            units["monetary"],
            per_customer["p"].to_numpy(),
            per_customer["q"].to_numpy(),
            per_customer["gamma"].to_numpy(),
        ),
        **{s: units[f"treated_{s}"].astype(int) for s in strategies},
    )
    units.attrs = dict(summary.attrs)  # the summary contract's counts (features.summary_notes) travel along
    return units


def synthetic_allocation_check(
    crm: SyntheticCRM,
    *,
    budget: float,
    call_capacity: float,
    horizon_weeks: float = 52.0,
    annual_discount_rate: float = 0.10,
    n_draws: int = 200,
    credible_mass: float = 0.90,
    pooling: Pooling = "segments",
    seed: int,
) -> AllocationCheck:
    """Allocate ``budget`` on ``crm`` (a Pareto/NBD synthetic CRM) and value every plan with the truth.

    The strategies are those of ``crm``; ``call_back`` goes through the phone channel (capacity
    ``call_capacity``), the others through the digital one. A contacted customer costs the strategy's
    ``cost_per_contact x contacts_mean``.
    """
    if crm.model != _MODEL:
        raise LtvlabError(f"the allocation check needs model={_MODEL!r} (dropout effects); got {crm.model!r}")
    strategies = list(crm.truth["strategies"])
    units = campaign_units(crm, strategies)
    segment_params = crm.segments.set_index("segment")[list(PURCHASE_PARAMS)]
    multipliers = rate_multiplier_draws(
        units,
        segment="segment",
        treatments=strategies,
        outcome="x_holdout",
        covariates=EFFECT_COVARIATES,
        n_draws=n_draws,
        pooling=pooling,
        seed=seed,
    )
    clv = {
        "segment": "segment",
        "segment_params": segment_params,
        "spend_per_purchase": "expected_spend",
        "model": _MODEL,
        "unit": "W",
        "horizon_weeks": horizon_weeks,
        "annual_discount_rate": annual_discount_rate,
    }
    values = segment_strategy_value_draws(units, multipliers=multipliers, **clv)
    truth = crm.strategy_effects.query("segment != 'all'")
    true_multipliers = truth.assign(draw=0)[
        ["segment", "strategy", "draw", "rate_multiplier", "dropout_multiplier"]
    ]
    true_values = segment_strategy_value_draws(units, multipliers=true_multipliers, **clv)
    spec = crm.truth["strategies"]
    costs = {k: float(spec[k].cost_per_contact * spec[k].contacts_mean) for k in strategies}
    constraints = {
        "budget": budget,
        "costs": costs,
        "segment_sizes": units["segment"].astype(str).value_counts().to_dict(),
        "channels": {k: ("phone" if k == "call_back" else "digital") for k in strategies},
        "capacity": {"phone": call_capacity},
    }
    baseline_ltv = baseline_clv_by_segment(units, **clv)
    result = allocate_budget(values, baseline_ltv=baseline_ltv, credible_mass=credible_mass, **constraints)
    oracle = allocate_budget(true_values, **constraints)
    truth_map = {(r.segment, r.strategy): float(r.incremental_value) for r in true_values.itertuples()}
    policies = result.comparison[
        ["policy", "contacts", "spent", "expected_return", "ci_low", "ci_high"]
    ].copy()
    policies["realised"] = [
        realised_return(result.policy_plans[result.policy_plans["policy"] == p], truth_map, costs)
        for p in policies["policy"]
    ]
    policies["covered"] = (policies["realised"] >= policies["ci_low"]) & (
        policies["realised"] <= policies["ci_high"]
    )
    oracle_value = realised_return(oracle.plan, truth_map, costs)
    policies = pd.concat(
        [
            policies.astype({"covered": object}),
            pd.DataFrame(
                [
                    {
                        "policy": "oracle",
                        "contacts": int(oracle.plan["contacts"].sum()),
                        "spent": oracle.spent,
                        "expected_return": oracle_value,
                        "ci_low": np.nan,
                        "ci_high": np.nan,
                        "realised": oracle_value,
                        "covered": None,
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    policies["share_of_oracle"] = policies["realised"] / oracle_value if oracle_value > 0 else np.nan
    tail = (1 - credible_mass) / 2
    grouped = values.groupby(["segment", "strategy"])["incremental_value"]
    cells = pd.DataFrame(
        {
            "value_mean": grouped.mean(),
            "value_low": grouped.quantile(tail),
            "value_high": grouped.quantile(1 - tail),
        }
    ).reset_index()
    cells["true_value"] = [
        truth_map[(s, k)] for s, k in zip(cells["segment"], cells["strategy"], strict=True)
    ]
    cells["covered"] = (cells["true_value"] >= cells["value_low"]) & (
        cells["true_value"] <= cells["value_high"]
    )
    estimated = (
        multipliers.groupby(["segment", "strategy"])["rate_multiplier"].mean().rename("rate_multiplier_mean")
    )
    cells = cells.merge(estimated.reset_index(), on=["segment", "strategy"]).merge(
        truth[["segment", "strategy", "rate_multiplier", "dropout_multiplier"]].rename(
            columns={
                "rate_multiplier": "true_rate_multiplier",
                "dropout_multiplier": "true_dropout_multiplier",
            }
        ),
        on=["segment", "strategy"],
    )
    return AllocationCheck(
        result=result,
        oracle=oracle,
        policies=policies,
        cells=cells,
        units=units,
        multipliers=multipliers,
        values=values,
        true_values=true_values,
        costs=costs,
        baseline_ltv=baseline_ltv,
        credible_mass=credible_mass,
    )


def allocation_coverage(
    n_repeats: int,
    *,
    n_customers: int,
    strategies: Sequence[str],
    first_seed: int = 1,
    assignment: str = "randomised",
    **options,
) -> pd.DataFrame:
    """Coverage of the credible intervals over ``n_repeats`` independently simulated CRMs (seeds
    ``first_seed, first_seed + 1, ...``).

    One row per policy and one ``cells`` row (all segment x strategy cells together): ``n`` intervals,
    ``covered``, ``below`` and ``above`` counts, ``coverage`` and its Monte Carlo standard error ``se``. For a
    policy (one interval per data set) that is the binomial ``sqrt(c (1 - c) / n)`` at the nominal rate ``c``;
    cells of one data set share their data and pooled draws, so theirs is the spread of the per-data-set coverage
    over the repeats, ``sd / sqrt(n_repeats)``. ``options`` go to :func:`synthetic_allocation_check`.
    """
    if n_repeats < 1:
        raise LtvlabError("n_repeats must be at least 1")
    records = []
    mass = float(options.get("credible_mass", 0.90))
    for seed in range(first_seed, first_seed + n_repeats):
        crm = generate_crm(
            n_customers,
            model=_MODEL,
            assignment=assignment,
            strategies=tuple(strategies),
            experiment_strategy=None,
            seed=seed,
        )
        check = synthetic_allocation_check(crm, seed=seed, **options)
        for row in check.policies.dropna(subset=["ci_low"]).itertuples():
            records.append(
                {
                    "what": row.policy,
                    "seed": seed,
                    "realised": row.realised,
                    "low": row.ci_low,
                    "high": row.ci_high,
                }
            )
        for row in check.cells.itertuples():
            records.append(
                {
                    "what": "cells",
                    "seed": seed,
                    "realised": row.true_value,
                    "low": row.value_low,
                    "high": row.value_high,
                }
            )
    frame = pd.DataFrame(records)
    frame["below"] = frame["realised"] < frame["low"]
    frame["above"] = frame["realised"] > frame["high"]
    out = frame.groupby("what", sort=False).agg(
        n=("realised", "size"), below=("below", "sum"), above=("above", "sum")
    )
    out["covered"] = out["n"] - out["below"] - out["above"]
    out["coverage"] = out["covered"] / out["n"]
    out["se"] = np.sqrt(mass * (1 - mass) / out["n"])
    per_repeat = (~frame["below"] & ~frame["above"])[frame["what"] == "cells"].groupby(frame["seed"]).mean()
    if "cells" in out.index:
        out.loc["cells", "se"] = (
            float(per_repeat.std(ddof=1) / np.sqrt(n_repeats)) if n_repeats > 1 else np.nan
        )
    return out.reset_index()
