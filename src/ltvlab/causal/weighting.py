"""Propensity-score weighting (IPW) and doubly robust estimation (AIPW) of an average treatment effect.

One design object, several estimators side by side (statsmodels' ``TreatmentEffect`` shape)::

    design = WeightingDesign(frame, treatment="multichannel", outcome="clv_12m", covariates=["tenure", "region"])
    design.overlap()   # propensity quantiles per group, trimming rule stated
    design.balance()   # SMD before / after weighting
    design.ipw()       # CausalEstimate, next to the naive difference
    design.aipw()

Variance: influence functions in closed form. For the built-in logistic propensity model the IPW variance
includes the correction for estimating the propensity (stacked M-estimation), so intervals are not
conservative; for a scikit-learn propensity model the propensity is treated as known (stated in
``variance_method``). The AIPW influence function needs no such correction to first order.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ltvlab.causal._design import (
    binary_treatment,
    covariate_design,
    numeric_outcome,
    require_columns,
)
from ltvlab.causal.propensity import PropensityFit, fit_propensity
from ltvlab.causal.results import CausalEstimate, OverlapSummary
from ltvlab.errors import LtvlabError

_MIN_GROUP = 10  # fewer units than this in a group after trimming: no credible estimate


class WeightingDesign:
    """An observational comparison of ``treatment`` (0/1) on ``outcome`` adjusting for ``covariates``.

    Parameters
    ----------
    frame : one row per unit.
    treatment, outcome : column names; ``treatment`` must take the values 0/1 (or bool).
    covariates : pre-treatment confounders (numeric as they are, categorical one-hot).
    propensity_model : ``"logistic"`` or an unfitted scikit-learn classifier.
    outcome_model : ``"linear"`` (OLS per group) or an unfitted scikit-learn regressor (AIPW only).
    trim : units with a propensity outside ``[low, high]`` are dropped and the propensity refitted on the
        rest (the estimand becomes the effect on the overlap population; stated in the result). ``None``
        keeps every unit.
    alpha : 1 - confidence level of the intervals.
    seed : passed to scikit-learn models that take ``random_state``.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        treatment: str,
        outcome: str,
        covariates: Sequence[str],
        propensity_model: Any = "logistic",
        outcome_model: Any = "linear",
        trim: tuple[float, float] | None = (0.01, 0.99),
        alpha: float = 0.05,
        seed: int | None = None,
    ) -> None:
        require_columns(frame, [treatment, outcome, *covariates], what="WeightingDesign")
        overlap_cols = {treatment, outcome} & set(covariates)
        if overlap_cols or treatment == outcome:
            raise LtvlabError(
                f"treatment and outcome must differ and must not be covariates; check {sorted(overlap_cols) or [outcome]}"
            )
        if not covariates:
            raise LtvlabError(
                "give at least one covariate; without them weighting equals the naive difference"
            )
        if trim is not None and not (0.0 <= trim[0] < 0.5 < trim[1] <= 1.0):
            raise LtvlabError(f"trim must be (low, high) with 0 <= low < 0.5 < high <= 1; got {trim}")
        if not 0 < alpha < 1:
            raise LtvlabError(f"alpha must be in (0, 1); got {alpha}")
        self.treatment = treatment
        self.outcome = outcome
        self.covariates = tuple(covariates)
        self.propensity_model = propensity_model
        self.outcome_model = outcome_model
        self.trim = trim
        self.alpha = alpha
        self.seed = seed
        self._treated = binary_treatment(frame, treatment)
        self._y = numeric_outcome(frame, outcome)
        covs = covariate_design(frame, covariates)
        self.covariate_names = tuple(covs.columns)
        self._x = np.column_stack([np.ones(len(frame)), covs.to_numpy(float)])

    # ------------------------------------------------------------------ propensity and trimming
    @cached_property
    def _full_fit(self) -> PropensityFit:
        return fit_propensity(self._x, self._treated, self.propensity_model, seed=self.seed)

    @cached_property
    def _kept(self) -> np.ndarray:
        e = self._full_fit.propensity
        if self.trim is None:
            return np.ones(len(e), dtype=bool)
        return (e >= self.trim[0]) & (e <= self.trim[1])

    @cached_property
    def _fit(self) -> PropensityFit:
        kept = self._kept
        n_t, n_c = int(self._treated[kept].sum()), int((~self._treated[kept]).sum())
        if n_t < _MIN_GROUP or n_c < _MIN_GROUP or kept.mean() < 0.5:
            e = self._full_fit.propensity
            raise LtvlabError(
                f"no overlap between treated and control units: propensities range "
                f"{e.min():.3g}-{e.max():.3g} and the trimming rule {self._rule()} keeps only {int(kept.sum())} of "
                f"{len(e)} units ({n_t} treated, {n_c} control). The groups differ too much on the covariates "
                "for a weighting comparison; restrict to comparable customers or drop the covariate that "
                "separates them."
            )
        if kept.all():
            return self._full_fit
        return fit_propensity(self._x[kept], self._treated[kept], self.propensity_model, seed=self.seed)

    def _rule(self) -> str:
        if self.trim is None:
            return "no trimming"
        return f"drop units with propensity outside [{self.trim[0]:g}, {self.trim[1]:g}], then refit"

    def _common_warnings(self) -> list[str]:
        out = []
        n_trim = int((~self._kept).sum())
        if n_trim:
            out.append(f"trimmed_{n_trim}_units_outside_overlap")
        e = self._fit.propensity
        if e.min() < 0.02 or e.max() > 0.98:
            out.append("extreme_propensities")
        if not self._fit.converged:
            out.append("propensity_not_converged")
        if (self.balance()["smd_weighted"].abs() > 0.1).any():
            out.append("covariates_imbalanced_after_weighting")
        t = self._treated[self._kept]
        for name, w in (("treated", 1 / e[t]), ("control", 1 / (1 - e[~t]))):
            ess = w.sum() ** 2 / (w**2).sum()
            if ess < 0.1 * len(w):
                out.append(f"low_effective_sample_size_{name}")
        return out

    def overlap(self) -> OverlapSummary:
        """Propensity quantiles per group on all units, and how many fall outside the trimming bounds."""
        e = self._full_fit.propensity
        t = self._treated
        rows = []
        for name, mask in (("treated", t), ("control", ~t)):
            q = np.quantile(e[mask], [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0])
            rows.append(
                {"group": name, "n": int(mask.sum()), "mean": float(e[mask].mean())}
                | {
                    f"q{int(p * 100):02d}": float(v)
                    for p, v in zip([0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1], q, strict=True)
                }
            )
        low, high = self.trim if self.trim is not None else (0.0, 1.0)
        outside = int(((e < low) | (e > high)).sum())
        notes = []
        if outside:
            notes.append(f"{outside}_units_outside_trim_bounds")
        if e.min() < 0.01 or e.max() > 0.99:
            notes.append("propensities_near_0_or_1")
        return OverlapSummary(
            table=pd.DataFrame(rows),
            trim_low=low,
            trim_high=high,
            rule=self._rule(),
            n_outside=outside,
            share_outside=outside / len(e),
            min_propensity=float(e.min()),
            max_propensity=float(e.max()),
            warnings=tuple(notes),
            propensity=e.copy(),
            treated=t.copy(),
        )

    def balance(self, threshold: float = 0.1) -> pd.DataFrame:
        """Standardised mean differences of each covariate before and after inverse-propensity weighting.

        SMD = (mean_treated - mean_control) / sqrt((var_treated + var_control) / 2), the denominator from the
        unweighted groups in both columns (Austin & Stuart 2015); ``balanced`` when |SMD after| <= threshold.
        Computed on the units kept after trimming.
        """
        kept = self._kept
        x = self._x[kept, 1:]
        t = self._treated[kept]
        e = self._fit.propensity
        w = np.where(t, 1 / e, 1 / (1 - e))
        sd = np.sqrt((x[t].var(axis=0, ddof=1) + x[~t].var(axis=0, ddof=1)) / 2)
        sd = np.where(sd > 0, sd, np.nan)
        raw = (x[t].mean(axis=0) - x[~t].mean(axis=0)) / sd
        weighted = (np.average(x[t], axis=0, weights=w[t]) - np.average(x[~t], axis=0, weights=w[~t])) / sd
        return pd.DataFrame(
            {
                "covariate": list(self.covariate_names),
                "smd_unweighted": raw,
                "smd_weighted": weighted,
                "balanced": np.abs(np.nan_to_num(weighted)) <= threshold,
            }
        )

    # ------------------------------------------------------------------ estimators
    def _naive(self) -> tuple[float, float, float]:
        y, t = self._y, self._treated
        a, b = y[t], y[~t]
        diff = a.mean() - b.mean()
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        z = stats.norm.ppf(1 - self.alpha / 2)
        return float(diff), float(diff - z * se), float(diff + z * se)

    def _result(
        self,
        method: str,
        estimate: float,
        se: float,
        mu1: float,
        mu0: float,
        variance: str,
        extra: list[str],
        outcome_model: str,
    ) -> CausalEstimate:
        z = stats.norm.ppf(1 - self.alpha / 2)
        kept = self._kept
        y, t = self._y[kept], self._treated[kept]
        naive, naive_low, naive_high = self._naive()
        p = float(2 * stats.norm.sf(abs(estimate) / se)) if se > 0 else float("nan")
        notes = self._common_warnings() + extra
        if not np.isfinite(se) or se == 0:
            notes.append("zero_variance")
        return CausalEstimate(
            outcome=self.outcome,
            treatment=self.treatment,
            method=method,  # type: ignore[arg-type]
            estimand="ate" if kept.all() else "ate_overlap_population",
            estimate=float(estimate),
            std_error=float(se),
            ci_low=float(estimate - z * se),
            ci_high=float(estimate + z * se),
            p_value=p,
            alpha=self.alpha,
            n=int(kept.sum()),
            n_treated=int(t.sum()),
            n_control=int((~t).sum()),
            naive_estimate=naive,
            naive_ci_low=naive_low,
            naive_ci_high=naive_high,
            mean_treated=float(mu1),
            mean_control=float(mu0),
            outcome_sd=float(y.std(ddof=1)),
            outcome_is_binary=bool(set(np.unique(y)) <= {0.0, 1.0}),
            propensity_model=self._fit.model,
            outcome_model=outcome_model,
            variance_method=variance,
            trimming=self._rule(),
            n_trimmed=int((~kept).sum()),
            warnings=tuple(notes),
        )

    def ipw(self) -> CausalEstimate:
        """Normalised (Hajek) inverse-propensity-weighted difference of means."""
        kept = self._kept
        y, t = self._y[kept], self._treated[kept].astype(float)
        fit = self._fit
        e = fit.propensity
        n = len(y)
        w1, w0 = t / e, (1 - t) / (1 - e)
        mu1 = np.sum(w1 * y) / np.sum(w1)
        mu0 = np.sum(w0 * y) / np.sum(w0)
        g1, g0 = w1 * (y - mu1), w0 * (y - mu0)
        if fit.coef is not None and fit.design is not None:
            x = fit.design
            hessian = x.T @ (x * (e * (1 - e))[:, None]) / n
            scores = x * (t - e)[:, None]
            psi_beta = np.linalg.solve(hessian, scores.T).T  # influence of the logistic coefficients
            d1 = np.mean((-t * (1 - e) / e * (y - mu1))[:, None] * x, axis=0)
            d0 = np.mean(((1 - t) * e / (1 - e) * (y - mu0))[:, None] * x, axis=0)
            psi1 = (g1 + psi_beta @ d1) / np.mean(w1)
            psi0 = (g0 + psi_beta @ d0) / np.mean(w0)
            variance = "influence function, logistic propensity estimation accounted for (M-estimation)"
        else:
            psi1, psi0 = g1 / np.mean(w1), g0 / np.mean(w0)
            variance = "influence function, propensity treated as known (conservative)"
        influence = psi1 - psi0
        se = float(np.sqrt(np.sum(influence**2)) / n)
        return self._result("ipw", mu1 - mu0, se, mu1, mu0, variance, [], "none")

    def _outcome_predictions(
        self, x: np.ndarray, y: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, str]:
        preds = []
        for mask in (t, ~t):
            if isinstance(self.outcome_model, str):
                if self.outcome_model != "linear":
                    raise LtvlabError(
                        f"outcome_model must be 'linear' or a scikit-learn regressor; got '{self.outcome_model}'"
                    )
                coef, *_ = np.linalg.lstsq(x[mask], y[mask], rcond=None)
                preds.append(x @ coef)
                name = "linear"
            else:
                from sklearn.base import clone

                model = clone(self.outcome_model)
                if self.seed is not None and "random_state" in model.get_params():
                    model.set_params(random_state=self.seed)
                model.fit(x[mask, 1:], y[mask])
                preds.append(np.asarray(model.predict(x[:, 1:]), float))
                name = type(self.outcome_model).__name__
        return preds[0], preds[1], name

    def aipw(self) -> CausalEstimate:
        """Augmented IPW (doubly robust): consistent if either the propensity or the outcome model is right."""
        kept = self._kept
        x, y, tb = self._x[kept], self._y[kept], self._treated[kept]
        t = tb.astype(float)
        e = self._fit.propensity
        m1, m0, name = self._outcome_predictions(x, y, tb)
        phi1 = m1 + t * (y - m1) / e
        phi0 = m0 + (1 - t) * (y - m0) / (1 - e)
        phi = phi1 - phi0
        n = len(y)
        se = float(phi.std(ddof=1) / np.sqrt(n))
        return self._result(
            "aipw",
            float(phi.mean()),
            se,
            float(phi1.mean()),
            float(phi0.mean()),
            "influence function of the AIPW score",
            [],
            name,
        )

    def propensity(self) -> pd.Series:
        """Fitted propensities of the kept units (index of the input frame is not kept; positional)."""
        return pd.Series(self._fit.propensity, name="propensity")
