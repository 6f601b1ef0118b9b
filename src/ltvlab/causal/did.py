"""Difference-in-differences for before/after campaign claims: two-way fixed effects with cluster-robust
errors, an event study with its joint pre-trend test inside the result, and the naive before/after change.

Input is a panel with one row per unit and period and a 0/1 column saying whether the unit is treated in
that period (it switches on once and stays on). Units that are never treated form the control group.

Staggered roll-out (treated units starting in different periods) is refused: with effects that change
over time or differ by start date, the two-way fixed-effects coefficient averages comparisons that use
already-treated units as controls and can even take the wrong sign (Goodman-Bacon 2021; de Chaisemartin &
D'Haultfoeuille 2020). Analyse one start cohort at a time against never-treated units instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ltvlab.causal._design import numeric_outcome, require_columns
from ltvlab.errors import LtvlabError


@dataclass(frozen=True, slots=True)
class DidResult:
    """A DiD effect (ATT, treated units after the start) with its event study and pre-trend test.

    ``naive_estimate`` is the treated units' before/after change in mean outcome, the figure a dashboard
    would show. ``event_study`` has one row per period relative to the start (``relative_period``; -1 is the
    reference, fixed at 0). ``pretrend_p_value`` is the joint test that all lead coefficients (relative
    period <= -2) are zero; ``pretrend_ok`` is False when it rejects at ``alpha`` — then the parallel-trends
    assumption the estimate rests on is doubtful, and ``warnings`` says so.
    """

    outcome: str
    treatment: str
    method: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    naive_estimate: float
    n_obs: int
    n_units: int
    n_treated_units: int
    n_periods: int
    treatment_start: object
    event_study: pd.DataFrame
    pretrend_statistic: float
    pretrend_df: int
    pretrend_p_value: float
    pretrend_ok: bool
    cluster: str
    warnings: tuple[str, ...] = ()

    @property
    def naive_bias(self) -> float:
        return self.naive_estimate - self.estimate

    def to_frame(self) -> pd.DataFrame:
        fields = [
            "outcome", "treatment", "method", "estimate", "std_error", "ci_low", "ci_high", "p_value", "alpha",
            "naive_estimate", "n_obs", "n_units", "n_treated_units", "n_periods", "pretrend_statistic",
            "pretrend_df", "pretrend_p_value", "pretrend_ok", "cluster",
        ]  # fmt: skip
        row = {name: getattr(self, name) for name in fields}
        row["treatment_start"] = str(self.treatment_start)
        row["naive_bias"] = self.naive_bias
        row["warnings"] = ";".join(self.warnings)
        return pd.DataFrame([row])


def _within(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Subtract each unit's mean (absorbs the unit fixed effects; exact for unbalanced panels via FWL)."""
    values = values.reshape(len(codes), -1)
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    out = np.empty_like(values)
    for j in range(values.shape[1]):
        means = np.bincount(codes, weights=values[:, j], minlength=n_groups) / counts
        out[:, j] = values[:, j] - means[codes]
    return out


def _cluster_ols(y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_units: int):
    yd = _within(y, codes, n_units)[:, 0]
    xd = _within(x, codes, n_units)
    return sm.OLS(yd, xd).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)


def difference_in_differences(
    panel: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    alpha: float = 0.05,
    max_leads: int | None = None,
    max_lags: int | None = None,
) -> DidResult:
    """Two-way fixed-effects DiD of ``outcome`` on ``treated`` with errors clustered by ``unit``.

    Parameters
    ----------
    panel : one row per unit and period.
    unit, time : the unit id and the period (any sortable values: integers, dates, "2024-05").
    outcome : numeric outcome.
    treated : 0/1, 1 when the unit is treated in that period; switches on once and stays on.
    max_leads, max_lags : event-study window; periods beyond it are binned into the end points.
    """
    require_columns(panel, [unit, time, outcome, treated], what="difference_in_differences")
    if len({unit, time, outcome, treated}) < 4:
        raise LtvlabError(
            f"unit, time, outcome and treated must be four different columns; got {[unit, time, outcome, treated]}"
        )
    if not 0 < alpha < 1:
        raise LtvlabError(f"alpha must be in (0, 1); got {alpha}")
    frame = panel[[unit, time, outcome, treated]].copy()
    if frame[[unit, time]].duplicated().any():
        raise LtvlabError(f"the panel has more than one row for some ({unit}, {time}) pairs; aggregate first")
    periods = np.sort(frame[time].unique())
    if len(periods) < 2:
        raise LtvlabError(
            f"DiD needs at least two time periods (before and after); column '{time}' has only {periods.tolist()}"
        )
    y = numeric_outcome(frame, outcome)
    d_raw = frame[treated].astype(float)
    if not set(d_raw.unique()) <= {0.0, 1.0}:
        raise LtvlabError(f"treatment column '{treated}' must be 0/1")
    if d_raw.nunique() < 2:
        raise LtvlabError(
            f"treatment '{treated}' never varies: no unit is {'un' if d_raw.iloc[0] else ''}treated"
        )
    d = d_raw.to_numpy()
    period_index = np.searchsorted(periods, frame[time].to_numpy())
    unit_codes, unit_labels = pd.factorize(frame[unit])
    n_units = len(unit_labels)

    order = np.lexsort((period_index, unit_codes))
    switched_off = (np.diff(d[order]) < 0) & (np.diff(unit_codes[order]) == 0)
    if switched_off.any():
        raise LtvlabError(
            f"treatment '{treated}' switches off for some units; this DiD needs treatment that stays on once started"
        )
    treated_rows = d == 1
    start = np.full(n_units, len(periods))
    np.minimum.at(start, unit_codes[treated_rows], period_index[treated_rows])
    is_treated_unit = start < len(periods)
    starts = np.unique(start[is_treated_unit])
    if len(starts) > 1:
        raise LtvlabError(
            f"staggered roll-out: treated units start in {len(starts)} different periods "
            f"({[str(periods[s]) for s in starts[:5]]}...). Two-way fixed effects are biased under staggered "
            "timing with changing effects (already-treated units act as controls); analyse each start cohort "
            "against never-treated units separately."
        )
    if is_treated_unit.all():
        raise LtvlabError(
            "every unit is treated at some point: DiD needs never-treated units as the control group"
        )
    start_idx = int(starts[0])
    if start_idx == 0:
        raise LtvlabError(
            "treatment starts in the first period: there is no pre-treatment period to compare with"
        )

    # Two-way fixed effects: unit effects absorbed by within-demeaning, period dummies (first dropped).
    time_dummies = (period_index[:, None] == np.arange(1, len(periods))[None, :]).astype(float)
    twfe = _cluster_ols(y, np.column_stack([d, time_dummies]), unit_codes, n_units)
    estimate, se = float(twfe.params[0]), float(twfe.bse[0])
    df_inference = n_units - 1
    t_crit = stats.t.ppf(1 - alpha / 2, df_inference)

    # Event study: relative period of treated units, reference -1, optional end-point binning.
    relative = period_index - start_idx
    low = -start_idx if max_leads is None else -max_leads
    high = len(periods) - 1 - start_idx if max_lags is None else max_lags
    relative = np.clip(relative, low, high)
    unit_treated_row = is_treated_unit[unit_codes]
    levels = [k for k in range(low, high + 1) if k != -1]
    event_cols = np.column_stack([((relative == k) & unit_treated_row).astype(float) for k in levels])
    event = _cluster_ols(y, np.column_stack([event_cols, time_dummies]), unit_codes, n_units)
    coef = np.asarray(event.params[: len(levels)])
    cov = np.asarray(event.cov_params())[: len(levels), : len(levels)]
    ses = np.sqrt(np.diag(cov))
    table = pd.DataFrame(
        {
            "relative_period": levels,
            "coef": coef,
            "std_error": ses,
            "ci_low": coef - t_crit * ses,
            "ci_high": coef + t_crit * ses,
        }
    )
    reference = pd.DataFrame(
        [{"relative_period": -1, "coef": 0.0, "std_error": 0.0, "ci_low": 0.0, "ci_high": 0.0}]
    )
    table = pd.concat([table, reference]).sort_values("relative_period").reset_index(drop=True)

    warnings_: list[str] = []
    leads = [i for i, k in enumerate(levels) if k <= -2]
    if leads:
        b = coef[leads]
        v = cov[np.ix_(leads, leads)]
        wald = float(b @ np.linalg.pinv(v) @ b)
        q = len(leads)
        f_stat = wald / q
        pre_p = float(stats.f.sf(f_stat, q, df_inference))
        pre_ok = pre_p >= alpha
        if not pre_ok:
            warnings_.append("pre_trends_differ")
    else:
        f_stat, q, pre_p, pre_ok = float("nan"), 0, float("nan"), True
        warnings_.append("no_pretrend_test_single_pre_period")
    if n_units < 30:
        warnings_.append("few_clusters")

    treated_unit_rows = unit_treated_row
    naive = float(
        y[treated_unit_rows & (period_index >= start_idx)].mean()
        - y[treated_unit_rows & (period_index < start_idx)].mean()
    )
    return DidResult(
        outcome=outcome,
        treatment=treated,
        method="did_twfe",
        estimate=estimate,
        std_error=se,
        ci_low=estimate - t_crit * se,
        ci_high=estimate + t_crit * se,
        p_value=float(2 * stats.t.sf(abs(estimate / se), df_inference)) if se > 0 else float("nan"),
        alpha=alpha,
        naive_estimate=naive,
        n_obs=len(y),
        n_units=n_units,
        n_treated_units=int(is_treated_unit.sum()),
        n_periods=len(periods),
        treatment_start=periods[start_idx].item()
        if hasattr(periods[start_idx], "item")
        else periods[start_idx],
        event_study=table,
        pretrend_statistic=f_stat,
        pretrend_df=q,
        pretrend_p_value=pre_p,
        pretrend_ok=bool(pre_ok),
        cluster=unit,
        warnings=tuple(warnings_),
    )
