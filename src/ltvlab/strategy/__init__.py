"""Decisions from effects: incremental CLV of a strategy and budget allocation over segments x strategies."""

from ltvlab.strategy.allocation import AllocationResult, allocate_budget, realised_return
from ltvlab.strategy.effect_draws import rate_multiplier_draws
from ltvlab.strategy.incremental_clv import (
    baseline_clv_by_segment,
    discounted_expected_purchases,
    incremental_clv,
    segment_strategy_value_draws,
    strategy_value_draws,
)
from ltvlab.strategy.plots import plot_cell_values, plot_plan, plot_policy_returns
from ltvlab.strategy.synthetic_check import (
    REPORT_COVERAGE,
    AllocationCheck,
    CoverageStudy,
    allocation_coverage,
    synthetic_allocation_check,
)

__all__ = [
    "REPORT_COVERAGE",
    "AllocationCheck",
    "AllocationResult",
    "CoverageStudy",
    "allocate_budget",
    "allocation_coverage",
    "baseline_clv_by_segment",
    "discounted_expected_purchases",
    "incremental_clv",
    "plot_cell_values",
    "plot_plan",
    "plot_policy_returns",
    "rate_multiplier_draws",
    "realised_return",
    "segment_strategy_value_draws",
    "strategy_value_draws",
    "synthetic_allocation_check",
]
