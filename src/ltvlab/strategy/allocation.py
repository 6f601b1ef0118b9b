"""Budget allocation across segments x strategies by incremental CLV per contacted customer.

Decision: ``n[s, k]`` customers of segment ``s`` contacted with strategy ``k`` (each customer gets at most one
strategy). The plan maximises the expected net incremental value ``sum (E[v_sk] - c_k) n_sk`` (or the gross
value ``sum E[v_sk] n_sk`` with ``objective="gross"``) subject to

- the budget: ``sum c_k n_sk <= budget``;
- segment sizes: ``sum_k n_sk <= size_s``;
- channel capacity: ``sum_{k in channel} n_sk <= capacity_channel`` (contacts per channel).

This is a linear programme on posterior means (``scipy.optimize.linprog``, HiGHS); contacts are then
rounded down to whole customers. The uncertainty is carried by evaluating the plan on every posterior
draw: the expected return comes with a credible interval, and the same is done for two reference
policies, "uniform" (the budget split evenly over all cells) and "highest LTV" (one strategy sent to the
segments with the highest baseline LTV first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from ltvlab.errors import DataValidationError, LtvlabError

VALUE_COLUMNS = ("segment", "strategy", "draw", "incremental_value")
# What reports and figures call each policy.
POLICY_LABELS = {
    "optimal": "optimal plan",
    "uniform": "uniform split",
    "highest_ltv": "highest-LTV-first policy",
    "oracle": "oracle",
}


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """A contact plan and its return (net of contact costs unless ``objective="gross"``) over the draws.

    ``plan`` has one row per segment x strategy with ``contacts > 0``; ``comparison`` one row per policy
    (optimal, uniform, highest_ltv) with expected return, credible interval, spend and contacts;
    ``policy_plans`` the contacts of every policy (``policy, segment, strategy, contacts``).
    """

    plan: pd.DataFrame
    comparison: pd.DataFrame
    policy_plans: pd.DataFrame
    budget: float
    spent: float
    expected_return: float
    ci_low: float
    ci_high: float
    prob_positive: float
    credible_mass: float
    objective: str
    n_draws: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Problem:
    segments: list[str]
    strategies: list[str]
    draws: np.ndarray  # draws x segments x strategies
    cost: np.ndarray  # strategies
    size: np.ndarray  # segments
    channel: list[str]  # per strategy
    capacity: dict[str, float]


def _problem(
    values: pd.DataFrame,
    costs: Mapping[str, float],
    segment_sizes: Mapping[str, float],
    channels: Mapping[str, str] | None,
    capacity: Mapping[str, float] | None,
) -> _Problem:
    missing = [c for c in VALUE_COLUMNS if c not in values.columns]
    if missing:
        raise DataValidationError(f"values: missing column(s) {missing}; expected {list(VALUE_COLUMNS)}")
    frame = values.assign(segment=values["segment"].astype(str), strategy=values["strategy"].astype(str))
    cube = frame.pivot_table(
        index="draw", columns=["segment", "strategy"], values="incremental_value", aggfunc="first"
    )
    if cube.isna().any().any():
        raise DataValidationError("values: every segment x strategy cell needs the same set of draws")
    segments = sorted(frame["segment"].unique())
    strategies = sorted(frame["strategy"].unique())
    cube = cube.reindex(columns=pd.MultiIndex.from_product([segments, strategies]))
    if cube.isna().any().any():
        raise DataValidationError("values: some segment x strategy combinations have no draws")
    draws = cube.to_numpy(float).reshape(len(cube), len(segments), len(strategies))
    for name, mapping, keys in (("costs", costs, strategies), ("segment_sizes", segment_sizes, segments)):
        absent = [k for k in keys if k not in mapping]
        if absent:
            raise LtvlabError(f"{name} has no entry for {absent}")
    cost = np.array([float(costs[k]) for k in strategies])
    if (cost <= 0).any():
        raise LtvlabError("every contact cost must be positive")
    size = np.array([float(segment_sizes[s]) for s in segments])
    channel = [str((channels or {}).get(k, k)) for k in strategies]
    cap = {str(c): float(v) for c, v in (capacity or {}).items()}
    return _Problem(segments, strategies, draws, cost, size, channel, cap)


def _solve(problem: _Problem, mean: np.ndarray, budget: float, objective: str) -> np.ndarray:
    n_s, n_k = mean.shape
    gain = mean - problem.cost[None, :] if objective == "net" else mean
    c = -gain.ravel()
    rows, bounds_ub = [np.tile(problem.cost, n_s)], [budget]
    for i in range(n_s):
        row = np.zeros(n_s * n_k)
        row[i * n_k : (i + 1) * n_k] = 1.0
        rows.append(row)
        bounds_ub.append(problem.size[i])
    for ch, cap in problem.capacity.items():
        mask = np.array([channel == ch for channel in problem.channel], dtype=float)
        rows.append(np.tile(mask, n_s))
        bounds_ub.append(cap)
    # Cells with no expected gain are fixed at zero so ties never spend money for nothing.
    bounds = [(0.0, 0.0) if g <= 0 else (0.0, None) for g in gain.ravel()]
    solution = linprog(c, A_ub=np.array(rows), b_ub=np.array(bounds_ub), bounds=bounds, method="highs")
    if not solution.success:  # pragma: no cover - the feasible region always contains 0
        raise LtvlabError(f"the allocation linear programme failed: {solution.message}")
    return np.floor(solution.x.reshape(n_s, n_k) + 1e-9)


def _fit_constraints(problem: _Problem, contacts: np.ndarray, budget: float) -> np.ndarray:
    """Scale a heuristic plan down until it respects budget, segment sizes and channel capacity."""
    contacts = contacts.copy()
    row_tot = contacts.sum(axis=1)
    scale = np.where(row_tot > problem.size, problem.size / np.where(row_tot > 0, row_tot, 1), 1.0)
    contacts *= scale[:, None]
    for ch, cap in problem.capacity.items():
        mask = np.array([channel == ch for channel in problem.channel])
        used = contacts[:, mask].sum()
        if used > cap:
            contacts[:, mask] *= cap / used
    spend = (contacts * problem.cost[None, :]).sum()
    if spend > budget:
        contacts *= budget / spend
    return np.floor(contacts + 1e-9)


def _uniform(problem: _Problem, budget: float) -> np.ndarray:
    n_s, n_k = len(problem.segments), len(problem.strategies)
    per_cell = budget / (n_s * n_k)
    return _fit_constraints(problem, np.tile(per_cell / problem.cost, (n_s, 1)), budget)


def _highest_ltv(
    problem: _Problem, budget: float, ltv: Mapping[str, float], strategy: str | None
) -> np.ndarray:
    mean = problem.draws.mean(axis=0)
    k = problem.strategies.index(strategy) if strategy is not None else int(np.argmax(mean.mean(axis=0)))
    contacts = np.zeros_like(mean)
    remaining = budget
    cap = problem.capacity.get(problem.channel[k], np.inf)
    for s in sorted(range(len(problem.segments)), key=lambda i: -float(ltv[problem.segments[i]])):
        n = min(problem.size[s], remaining / problem.cost[k], cap)
        contacts[s, k] = np.floor(n + 1e-9)
        remaining -= contacts[s, k] * problem.cost[k]
        cap -= contacts[s, k]
    return contacts


def _returns(problem: _Problem, contacts: np.ndarray, objective: str) -> np.ndarray:
    gross = np.einsum("dsk,sk->d", problem.draws, contacts)
    return gross - (contacts * problem.cost[None, :]).sum() if objective == "net" else gross


def allocate_budget(
    values: pd.DataFrame,
    *,
    budget: float,
    costs: Mapping[str, float],
    segment_sizes: Mapping[str, float],
    channels: Mapping[str, str] | None = None,
    capacity: Mapping[str, float] | None = None,
    baseline_ltv: Mapping[str, float] | None = None,
    ltv_policy_strategy: str | None = None,
    objective: Literal["net", "gross"] = "net",
    credible_mass: float = 0.9,
) -> AllocationResult:
    """Allocate ``budget`` over segment x strategy cells to maximise expected incremental value.

    Parameters
    ----------
    values : long frame ``segment, strategy, draw, incremental_value``: posterior draws of the incremental
        (discounted) CLV per contacted customer; a single draw per cell means "known values".
    budget : money available for contacts; costs are per contact, in the same currency.
    costs : strategy -> cost per contact.
    segment_sizes : segment -> customers that can be contacted.
    channels, capacity : strategy -> channel and channel -> maximum contacts (optional).
    baseline_ltv : segment -> baseline LTV, for the "highest LTV" reference policy (skipped when None).
    ltv_policy_strategy : the strategy that policy sends (default: the highest mean value overall).
    objective : "net" (value minus contact cost, default) or "gross".
    """
    if objective not in ("net", "gross"):
        raise LtvlabError(f"objective must be 'net' or 'gross'; got {objective!r}")
    problem = _problem(values, costs, segment_sizes, channels, capacity)
    if not np.isfinite(budget) or budget < problem.cost.min():
        raise LtvlabError(
            f"budget {budget:g} is below the cost of one contact (cheapest strategy costs {problem.cost.min():g}); "
            "nothing can be allocated"
        )
    mean = problem.draws.mean(axis=0)
    policies = {"optimal": _solve(problem, mean, budget, objective), "uniform": _uniform(problem, budget)}
    if baseline_ltv is not None:
        absent = [s for s in problem.segments if s not in baseline_ltv]
        if absent:
            raise LtvlabError(f"baseline_ltv has no entry for segment(s) {absent}")
        policies["highest_ltv"] = _highest_ltv(problem, budget, baseline_ltv, ltv_policy_strategy)
    tail = (1 - credible_mass) / 2
    rows = []
    for name, contacts in policies.items():
        ret = _returns(problem, contacts, objective)
        rows.append(
            {
                "policy": name,
                "contacts": int(contacts.sum()),
                "spent": float((contacts * problem.cost[None, :]).sum()),
                "expected_return": float(ret.mean()),
                "ci_low": float(np.quantile(ret, tail)),
                "ci_high": float(np.quantile(ret, 1 - tail)),
                "prob_positive": float((ret > 0).mean()),
            }
        )
    comparison = pd.DataFrame(rows)
    policy_rows = [
        {"policy": name, "segment": segment, "strategy": strategy, "contacts": int(contacts[i, k])}
        for name, contacts in policies.items()
        for i, segment in enumerate(problem.segments)
        for k, strategy in enumerate(problem.strategies)
        if contacts[i, k] > 0
    ]
    best = policies["optimal"]
    best_ret = _returns(problem, best, objective)
    per_cell = problem.draws
    plan_rows = []
    for i, segment in enumerate(problem.segments):
        for k, strategy in enumerate(problem.strategies):
            if best[i, k] > 0:
                plan_rows.append(
                    {
                        "segment": segment,
                        "strategy": strategy,
                        "channel": problem.channel[k],
                        "contacts": int(best[i, k]),
                        "cost": float(best[i, k] * problem.cost[k]),
                        "value_per_contact_mean": float(mean[i, k]),
                        "value_per_contact_low": float(np.quantile(per_cell[:, i, k], tail)),
                        "value_per_contact_high": float(np.quantile(per_cell[:, i, k], 1 - tail)),
                        "prob_value_above_cost": float((per_cell[:, i, k] > problem.cost[k]).mean()),
                        "expected_net": float(best[i, k] * (mean[i, k] - problem.cost[k])),
                    }
                )
    notes = []
    if not plan_rows:
        notes.append("no_contact_expected_to_pay_off")
    spent = float((best * problem.cost[None, :]).sum())
    if spent < 0.5 * budget and plan_rows:
        notes.append("budget_not_used_no_further_profitable_contacts")
    return AllocationResult(
        plan=pd.DataFrame(
            plan_rows,
            columns=[
                "segment",
                "strategy",
                "channel",
                "contacts",
                "cost",
                "value_per_contact_mean",
                "value_per_contact_low",
                "value_per_contact_high",
                "prob_value_above_cost",
                "expected_net",
            ],
        ),
        comparison=comparison,
        policy_plans=pd.DataFrame(policy_rows, columns=["policy", "segment", "strategy", "contacts"]),
        budget=float(budget),
        spent=spent,
        expected_return=float(best_ret.mean()),
        ci_low=float(np.quantile(best_ret, tail)),
        ci_high=float(np.quantile(best_ret, 1 - tail)),
        prob_positive=float((best_ret > 0).mean()),
        credible_mass=credible_mass,
        objective=objective,
        n_draws=problem.draws.shape[0],
        warnings=tuple(notes),
    )


def realised_return(
    plan: pd.DataFrame,
    true_values: Mapping[tuple[str, str], float],
    costs: Mapping[str, float],
    *,
    net: bool = True,
) -> float:
    """Value a plan would realise if the per-contact values were ``true_values[(segment, strategy)]``."""
    total = 0.0
    for row in plan.itertuples(index=False):
        total += row.contacts * (
            true_values[(row.segment, row.strategy)] - (costs[row.strategy] if net else 0.0)
        )
    return float(total)
