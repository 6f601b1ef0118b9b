"""Shared spec -> fit machinery of the registered models (each declared in its own module, see
:mod:`ltvlab.ltv.registry`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pymc as pm

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import _build
from ltvlab.ltv._data import (
    Compressed,
    compress,
    data_hash,
    encode_segments,
    segment_labels,
    validate_purchase_columns,
    validate_spend_columns,
    validate_weights,
)
from ltvlab.ltv._parametrize import centering_weights
from ltvlab.ltv.covariates import Covariates, as_columns, coefficient_names, from_columns, row_params
from ltvlab.ltv.diagnostics import (
    Diagnostics,
    DiagnosticThresholds,
    diagnose,
    leapfrog_steps,
    map_diagnostics,
    warn_if_failed,
)
from ltvlab.ltv.engine import KNOWN_UNITS
from ltvlab.ltv.fitted import BTYDFit, PurchaseFit, SpendFit
from ltvlab.ltv.priors import Pooling, PriorChoice, resolve_priors
from ltvlab.ltv.registry import ModelDef, get_model

# Measured by benchmarks/sampler_choice.py on the CDNOW sample (see the module docstring there).
DEFAULT_SAMPLER: Literal["nutpie", "pymc"] = "nutpie"
# The posterior-mean log-likelihood is estimated on at most this many evenly spaced draws: its Monte Carlo error is
# about sd(log-likelihood over the posterior) / sqrt(200), and that sd is ~sqrt(p / 2) for p parameters, so ~0.1
# for BG/NBD (0.2 for 20 parameters). 500 draws cost 0.8 s on CDNOW master, as much as a third of the sampling.
_MAX_LL_DRAWS = 200
# parametrization="auto" (ltvlab.ltv._parametrize): each segment's log-parameter is partially non-centred with the
# weight w = s^2 / (s^2 + d^2) of its own data's information (d: Laplace sd of the segment's likelihood, s: the
# pooling sd), snapped to fully centred above CENTERED_SNAP and to non-centred below 1 - CENTERED_SNAP. The
# earlier rule (centred when every segment has >= 2,000 customers) judged by segment size alone: on 20 segments of
# 500 customers it chose the non-centred form for r and alpha that the data pin down (min bulk ESS 267, issue 18),
# and on 4 MBG/NBD segments of 4,000 customers the centred form for a and b that they leave loose (R-hat 1.155,
# 80 divergences, issue 16).
CENTERED_SNAP = 0.9
# Automatic remedies of a NUTS fit that fails its gate (BTYDSpec.fit(remedy=True)): at most MAX_REMEDIES refits,
# together within REMEDY_BUDGET_FACTOR x the first fit's gradient evaluations (leapfrog steps of warm-up and draws,
# all chains), and within time_budget seconds when one is given. The budget is counted in gradient evaluations, not
# seconds, so that a fit with a given seed makes the same decisions, and returns the same draws, on any machine and
# at any load: with a wall-clock budget the 10k-customer, 20-segment BG/NBD fit stopped after one refit on CI's
# faster machine (budget 58 s) and passed after two here. A refit for too little ESS takes the draws that the
# measured ESS per draw predicts, times REMEDY_ESS_MARGIN: the ESS such a refit reaches is noisy around its
# prediction (achieved / predicted over 8 refits of that fit: mean 0.99, sd 0.30), so a margin of 1.2 misses the
# gate about 30% of the time (seen: 376 of 400) and 1.5 about 14%. The budget of 10x leaves room for the sequence
# that fit needs (counted, default seed): a refit after divergences at target_accept 0.95 with twice the tuning
# (2.1x the first fit's 84,370 gradient evaluations: the higher acceptance lengthens the trees 1.4x), then one with
# 4x the draws and twice that tuning (predicted 5.8x, 5.4x spent): 7.9x in all, over the 6x allowed before.
MAX_REMEDIES = 3
REMEDY_BUDGET_FACTOR = 10.0
REMEDY_ESS_MARGIN = 1.5
REMEDY_TARGET_ACCEPT = (0.95, 0.99)
REMEDY_MIN_DRAWS = 1000  # fit(remedy=None) remedies runs of at least the default draws and tuning steps
# max_treedepth=None: NUTS trees are capped at depth SHORT_TREEDEPTH (2**3 - 1 = 7 leapfrog steps) when partial
# pooling is centred over at least SHORT_TREES_MIN_SEGMENTS segments, else at the samplers' usual depth 10.
# There every segment's data pin its parameters down and the hyperparameters are identified, so the posterior is
# often close to Gaussian once nutpie's mass matrix has whitened it. On such a posterior a full NUTS trajectory
# runs about half an oscillation (the U-turn is detected only one doubling late): each draw lands near the
# mirror image of the last, which makes means antithetic (bulk ESS > draws) but leaves squared deviations from
# the centre almost unchanged, so the folded ESS -- what the tail ESS and folded R-hat see -- is poor. Stopping
# at 7 steps lands about a quarter oscillation away instead. Measured on the benchmark's 100,000 customers in 20
# segments (benchmarks/treedepth.py): median folded ESS ~1,200 vs ~830 per 2 x 1,000 draws with half the
# gradient evaluations, and the 1M-customer fit passes the R-hat gate it failed with full trees. Not every
# data-rich posterior is near-Gaussian: 12 simulated segments of 2,000 or 5,000 customers each (the data of
# tests/ltv/test_treedepth.py) gave min bulk ESS 146 and 13 with capped trees. So a capped fit that fails the gate
# is redone with full-length trees (BTYDSpec.fit). With few segments or the non-centred form the posterior has
# funnels and needs long trajectories (CDNOW cohorts: bulk ESS 34 capped vs 436 full), so trees are never capped.
SHORT_TREEDEPTH = 3
SHORT_TREES_MIN_SEGMENTS = 10
DEFAULT_TREEDEPTH = 10
Parametrization = Literal["auto", "centered", "non-centered"]


def _package_version() -> str:
    try:
        return version("ltvlab")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


@dataclass(frozen=True)
class PreparedData:
    """Validated, compressed data of one fit."""

    rows: Compressed
    values: dict[str, np.ndarray]  # per-customer columns the model uses (after any x > 0 filter)
    segments: tuple[str, ...]
    n_customers: int
    warnings: tuple[str, ...]
    value_weights: np.ndarray | None = None  # customers per entry of ``values`` when the summary is weighted
    covariates: Covariates | None = None


@dataclass(frozen=True)
class BTYDSpec:
    """Base of :class:`BGNBD`, :class:`ParetoNBD` and :class:`GammaGamma` (a spec; ``fit`` returns a new object).

    Parameters
    ----------
    pooling
        ``"complete"`` (one parameter set), ``"none"`` (independent parameters per segment) or ``"partial"``
        (segment log-parameters drawn from population hyperpriors, non-centred). See :mod:`ltvlab.ltv.priors`.
    segment
        Segment column of the summary (required for ``"none"``/``"partial"``).
    priors
        ``"default"``, ``"flat"`` (improper flat; MAP = maximum likelihood) or a mapping of overrides.
    thresholds
        Diagnostics gate of NUTS fits.
    time_step
        Purchase models only: round ``t_x`` and ``T`` to multiples of ``time_step`` (in the summary's unit) before
        compressing, so that e.g. a million customers summarised in weeks with day resolution collapse to far
        fewer distinct rows. An approximation (each time moves by at most ``time_step / 2``; ``T`` is kept
        ``>= time_step`` and ``t_x <= T``), off by default; its effect on the estimates is measured in
        ``benchmarks/RESULTS.md``. Predictions always use the exact summary.
    parametrization
        Partial pooling only: ``"non-centered"`` (``eta_s = mu + sigma * z_s``, the segments' mean sampled apart
        from the zero-sum deviations; best when segments are small and lean on the population), ``"centered"``
        (``eta_s ~ Normal(mu, sigma)``; best when every segment's own data pin its parameters down) or ``"auto"``: per segment and parameter, partially non-centred with the weight
        of the segment's own information against the pooling prior (:mod:`ltvlab.ltv._parametrize`; snapped to
        centred / non-centred near 1 / 0). The form is recorded in ``fit.config["parametrization"]`` and the
        weights in ``fit.config["centering"]``.
    purchase_covariates, dropout_covariates
        Purchase models only: numeric summary columns (time-invariant customer traits, e.g. acquisition channel
        as 0/1 or first-purchase spend) acting on the purchase and dropout rates, standardised; see
        :mod:`ltvlab.ltv.covariates`. Predictions need the same columns in the summary they score.
    """

    pooling: Pooling = "complete"
    segment: str | None = None
    priors: PriorChoice = "default"
    thresholds: DiagnosticThresholds = field(default_factory=DiagnosticThresholds)
    time_step: float | None = None
    parametrization: Parametrization = "auto"
    purchase_covariates: tuple[str, ...] = ()
    dropout_covariates: tuple[str, ...] = ()

    kind_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.pooling not in ("none", "complete", "partial"):
            raise LtvlabError(f"pooling={self.pooling!r}: use 'none', 'complete' or 'partial'")
        if self.pooling != "complete" and self.segment is None:
            raise LtvlabError(f"pooling={self.pooling!r} needs a segment column: pass segment='<column>'")
        if self.parametrization not in ("auto", "centered", "non-centered"):
            raise LtvlabError(
                f"parametrization={self.parametrization!r}: use 'auto', 'centered' or 'non-centered'"
            )
        for name in ("purchase_covariates", "dropout_covariates"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise LtvlabError(f"{name} must be a list of column names, got the string {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not self.kind.accepts_covariates and (self.purchase_covariates or self.dropout_covariates):
            raise LtvlabError(
                f"the {self.kind.label} model takes no covariates: they act on purchase and dropout rates, "
                "use them with a purchase model (BGNBD, MBGNBD or ParetoNBD)"
            )
        if self.time_step is not None and not (np.isfinite(self.time_step) and self.time_step > 0):
            raise LtvlabError(
                f"time_step={self.time_step!r} must be a positive number (or None for exact times)"
            )

    @property
    def kind(self) -> ModelDef:
        return get_model(self.kind_name)

    # --- data ----------------------------------------------------------------------------------------

    def _customer_values(self, summary: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Columns the likelihood uses and the mask of customers that enter it."""
        if self.kind.role == "spend":
            x, m = validate_spend_columns(summary)
            keep = x > 0
            if not keep.any():
                raise LtvlabError("no repeat buyers (x > 0): the Gamma-Gamma spend model has no data")
            return {col.X: x, col.MONETARY: m}, keep
        if self.kind.role == "contractual":
            return self._contractual_values(summary)
        x, t_x, T = validate_purchase_columns(summary)
        if self.kind.role == "discrete":
            stacked = np.stack([x, t_x, T])
            fractional = stacked != np.round(stacked)
            if fractional.any():
                row = int(np.flatnonzero(fractional.any(axis=0))[0])
                raise LtvlabError(
                    f"customer summary row {row}: the {self.kind.label} model counts discrete transaction "
                    "opportunities, so x, t_x and T (= opportunities n) must be whole numbers; build the summary "
                    "with ltvlab.ltv.periods.discrete_summary"
                )
            if (x > t_x).any():
                row = int(np.flatnonzero(x > t_x)[0])
                raise LtvlabError(
                    f"customer summary row {row}: x > t_x (more transactions than opportunities)"
                )
        if not (x > 0).any():
            raise LtvlabError(
                "no customer has a repeat purchase in calibration (all x == 0): purchase and dropout rates are "
                "not identified; extend the calibration period"
            )
        if self.time_step is not None and self.kind.role == "purchase":
            step = float(self.time_step)
            # customers acquired on the last calibration day keep T = 0 (their likelihood is exactly 1)
            T = np.where(T > 0, np.maximum(np.round(T / step), 1.0) * step, 0.0)
            t_x = np.minimum(np.round(t_x / step) * step, T)
        return {col.X: x, col.T_X: t_x, col.T: T}, np.ones(len(x), dtype=bool)

    def _contractual_values(self, summary: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Retention rows: ``x`` 1 (cancelled at the end of period ``T``) or 0 (active after ``T`` periods)."""
        missing = [c for c in (col.X, col.T) if c not in summary.columns]
        if missing:
            raise LtvlabError(
                f"retention rows lack column(s) {missing}; build them with ltvlab.ltv.sbg.retention_rows"
            )
        x = pd.to_numeric(summary[col.X], errors="coerce").to_numpy(dtype=float)
        T = pd.to_numeric(summary[col.T], errors="coerce").to_numpy(dtype=float)
        checks = (
            (~np.isin(x, (0.0, 1.0)), "x must be 1 (cancelled) or 0 (still active)"),
            (~np.isfinite(T) | (T < 0) | (T != np.round(T)), "T must be a whole number of periods >= 0"),
            ((x == 1) & (T < 1), "a cancellation needs T >= 1 (the period at whose end it happened)"),
        )
        for bad, what in checks:
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise LtvlabError(
                    f"retention rows: {int(bad.sum())} row(s) where {what} (first at row {row})"
                )
        if not (x > 0).any():
            raise LtvlabError(
                "no cancellation in the data: the retention model's churn rates are not identified"
            )
        return {col.X: x, col.T: T}, np.ones(len(x), dtype=bool)

    def prepare(self, summary: pd.DataFrame, weights: str | None = None) -> PreparedData:
        """Validate the summary and compress it to weighted distinct rows.

        ``weights`` names a column giving the number of customers each row stands for (a summary already
        aggregated to distinct rows with counts, e.g. by :func:`ltvlab.spark.compressed_statistics`).
        """
        values, keep = self._customer_values(summary)
        row_weights = validate_weights(summary, weights) if weights is not None else None
        labels = segment_labels(summary, self.segment)
        segments = tuple(sorted(set(labels.tolist())))
        if self.pooling == "partial" and len(segments) < 2:
            raise LtvlabError(
                f"partial pooling needs at least 2 segments; column '{self.segment}' has only {list(segments)}: "
                "use pooling='complete'"
            )
        codes = encode_segments(labels, segments)
        notes = []
        repeaters = np.bincount(codes[values[col.X] > 0], minlength=len(segments))  # (cancellations for sBG)
        empty = [s for s, n in zip(segments, repeaters, strict=True) if n == 0]
        if empty and self.pooling == "none":
            raise LtvlabError(
                f"segment(s) {empty} have no repeat buyers, so pooling='none' cannot estimate their parameters; "
                "use pooling='partial' (they borrow from the population) or merge segments"
            )
        if empty and self.pooling == "partial":
            notes.append(
                f"segment(s) {empty} have no repeat buyers: their parameters come from the population"
            )
        if self.pooling == "complete":
            codes = np.zeros_like(codes)
        kept = {k: v[keep] for k, v in values.items()}
        kept_weights = row_weights[keep] if row_weights is not None else None
        covariates = None
        columns = dict(kept)
        if self.purchase_covariates or self.dropout_covariates:
            covariates = Covariates.from_summary(summary, self.purchase_covariates, self.dropout_covariates)
            columns.update(as_columns(covariates.matrix(summary)[keep]))
        rows = compress(codes[keep], columns, len(segments), weights=kept_weights)
        n_customers = len(summary) if row_weights is None else round(float(row_weights.sum()))
        return PreparedData(rows, kept, segments, n_customers, tuple(notes), kept_weights, covariates)

    def centering(self, prepared: PreparedData) -> dict[str, np.ndarray] | None:
        """Per parameter, the centring weight of each segment (1 centred, 0 non-centred); None unless partial.

        ``"auto"``: :func:`ltvlab.ltv._parametrize.centering_weights` on the data, snapped to 1 above
        ``CENTERED_SNAP`` and to 0 below ``1 - CENTERED_SNAP``.
        """
        if self.pooling != "partial":
            return None
        n_seg = len(prepared.segments)
        if self.parametrization != "auto":
            value = 1.0 if self.parametrization == "centered" else 0.0
            return {name: np.full(n_seg, value) for name in self.kind.param_names}
        priors = resolve_priors(self.kind, self.priors, prepared.values, prepared.value_weights)
        return snapped_centering(centering_weights(self.kind, prepared.rows, priors))

    def centered(self, prepared: PreparedData, centering: Mapping[str, np.ndarray] | None = None) -> bool:
        """Whether partial pooling is fully centred on these data (see ``parametrization``)."""
        centering = self.centering(prepared) if centering is None else centering
        return centering is not None and all(bool(np.all(w == 1.0)) for w in centering.values())

    def treedepth(self, prepared: PreparedData, centering: Mapping[str, np.ndarray] | None = None) -> int:
        """NUTS tree depth used when ``fit(max_treedepth=None)`` (see ``SHORT_TREEDEPTH``)."""
        if self.pooling != "partial" or len(prepared.segments) < SHORT_TREES_MIN_SEGMENTS:
            return DEFAULT_TREEDEPTH
        centering = self.centering(prepared) if centering is None else centering
        # mostly centred (average weight as high as a snapped one): the near-Gaussian case the cap was measured on;
        # e.g. 100,000 customers in 20 segments leave a few segments' a, b at weights 0.6-0.9
        weights = np.concatenate([np.asarray(w, dtype=float) for w in centering.values()])
        return SHORT_TREEDEPTH if float(weights.mean()) >= CENTERED_SNAP else DEFAULT_TREEDEPTH

    def build_model(self, summary: pd.DataFrame, weights: str | None = None) -> pm.Model:
        """The PyMC model this spec fits on ``summary`` (for inspection or prior-predictive checks)."""
        prepared = self.prepare(summary, weights)
        priors = resolve_priors(self.kind, self.priors, prepared.values, prepared.value_weights)
        labels = prepared.segments if self.pooling != "complete" else ("all",)
        return _build.build_model(
            self.kind,
            prepared.rows,
            self.pooling,
            priors,
            labels,
            centered=_form(self.centering(prepared)),
            covariates=prepared.covariates,
        )

    # --- fit -----------------------------------------------------------------------------------------

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        method: Literal["nuts", "map"] = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        seed: int = 2024,
        sampler: Literal["nutpie", "pymc"] | None = None,
        progressbar: bool = False,
        target_accept: float = 0.9,
        cores: int = 1,
        weights: str | None = None,
        max_treedepth: int | None = None,
        unit: str | None = None,
        remedy: bool | None = None,
        time_budget: float | None = None,
    ) -> BTYDFit:
        """Fit on a customer summary (unchanged); returns a :class:`PurchaseFit` or :class:`SpendFit`.

        ``weights`` names a column of customer counts when each row of ``summary`` stands for several customers
        with the same values (see :meth:`prepare`); the fit is the same as on the expanded summary.
        ``max_treedepth`` caps the NUTS tree (at most ``2**max_treedepth - 1`` gradient evaluations per draw).
        ``None`` chooses with :meth:`treedepth`: 3 for centred partial pooling over many segments, else 10; when
        depth 3 fails the diagnostics gate the fit is redone with depth 10 and ``fit.warnings`` says so. The
        depth used is recorded in ``fit.config``.

        ``unit`` is the time unit of ``t_x`` and ``T`` (``"W"``/``"D"``), by default ``summary.attrs["unit"]``; the
        fit records it and every prediction checks that the summaries it scores are in the same unit.

        ``remedy``: a NUTS fit that fails its diagnostics gate is refitted where a known remedy exists (``None``, the
        default: when ``draws`` and ``tune`` are at least ``REMEDY_MIN_DRAWS``, i.e. a run meant to pass the gate,
        not a short exploratory one, which is judged as it is), at most
        ``MAX_REMEDIES`` times and within ``REMEDY_BUDGET_FACTOR`` times the first fit's gradient evaluations (a
        budget in work, not seconds, so the same seed gives the same fit on any machine; ``time_budget`` adds a cap in
        seconds): full-length trees after capped ones, a higher
        ``target_accept`` (0.95, then 0.99) and twice the tuning after divergences, twice the tuning after a
        failed R-hat, and more draws (enough for the ESS gate at the measured ESS per draw) when only the ESS
        falls short. What was done and why is in
        ``fit.diagnostics.remedies``, ``fit.config["remedies"]`` and ``fit.warnings``; the diagnostics are those
        of the last fit, and ``fit.config`` holds its draws, tuning steps and ``target_accept``.
        """
        if method not in ("nuts", "map"):
            raise LtvlabError(f"method={method!r}: use 'nuts' or 'map'")
        fit_unit = unit if unit is not None else summary.attrs.get("unit")
        discrete = self.kind.role in ("discrete", "contractual")
        if fit_unit is not None and (str(fit_unit) == "period") != discrete and self.kind.role != "spend":
            raise LtvlabError(
                f"the {self.kind.label} model is a {'discrete' if discrete else 'continuous'}-time model but the "
                f"summary's unit is {fit_unit!r}: "
                + (
                    "build a discrete summary of transaction opportunities (ltvlab.ltv.periods.discrete_summary)"
                    if discrete
                    else "a summary of discrete transaction opportunities needs the BGBB model"
                )
            )
        if fit_unit is not None and str(fit_unit) not in KNOWN_UNITS:
            raise LtvlabError(
                f"unit={fit_unit!r}: summaries are in 'W' (weeks) or 'D' (days), or 'period' (discrete opportunities)"
            )
        sampler = sampler or DEFAULT_SAMPLER
        prepared = self.prepare(summary, weights)
        priors = resolve_priors(self.kind, self.priors, prepared.values, prepared.value_weights)
        if priors.flat and method == "nuts" and self.pooling != "partial":
            notes = ("flat priors are improper: NUTS may drift where the data are weak",)
        else:
            notes = ()
        labels = prepared.segments if self.pooling != "complete" else ("all",)
        centering = self.centering(prepared)
        if max_treedepth is None:
            depth = self.treedepth(prepared, centering)
        elif (
            isinstance(max_treedepth, int)
            and not isinstance(max_treedepth, bool)
            and 1 <= max_treedepth <= 15
        ):
            depth = max_treedepth
        else:
            raise LtvlabError(f"max_treedepth={max_treedepth!r}: use an integer from 1 to 15, or None")
        covariates = prepared.covariates
        model = _build.build_model(
            self.kind,
            prepared.rows,
            self.pooling,
            priors,
            labels,
            centered=_form(centering),
            covariates=covariates,
            split_mean=method == "nuts",
        )
        names = _build.free_and_theta_names(self.kind, self.pooling, covariates)
        coefficients = coefficient_names(self.kind_name, covariates)
        config: dict[str, Any] = {
            "pooling": self.pooling,
            "segment": self.segment,
            "priors": priors.describe(),
            "method": method,
            "thresholds": asdict(self.thresholds),
            "time_step": self.time_step,
            "parametrization": _form_name(centering),
        }
        if centering is not None:
            config["centering"] = {name: [float(v) for v in w] for name, w in centering.items()}
        if weights is not None:
            config["weights"] = weights
        if covariates is not None:
            config["covariates"] = covariates.describe()
        if method == "map":
            point, converged, message = _build.run_map(model, seed)
            samples = {
                name: np.atleast_1d(point[name])[None, :] if point[name].ndim else point[name].reshape(1, 1)
                for name in names
            }
            idata = None
            diagnostics = map_diagnostics(converged, message, [*names])
        else:
            nuts = {
                "draws": draws,
                "tune": tune,
                "chains": chains,
                "seed": seed,
                "sampler": sampler,
                "progressbar": progressbar,
                "target_accept": target_accept,
                "cores": cores,
            }
            started = time.perf_counter()
            idata = _build.run_nuts(model, max_treedepth=depth, **nuts)
            diagnostics = diagnose(idata, names, self.thresholds)
            if remedy is None:
                remedy = draws >= REMEDY_MIN_DRAWS and tune >= REMEDY_MIN_DRAWS
            if remedy and not diagnostics.ok:
                idata, diagnostics, depth, nuts = _remedy(
                    model,
                    names,
                    self.thresholds,
                    (idata, diagnostics),
                    depth,
                    nuts,
                    auto_depth=max_treedepth is None,
                    first_s=time.perf_counter() - started,
                    budget_s=None if time_budget is None else float(time_budget),
                )
                notes += diagnostics.remedies
                config["remedies"] = list(diagnostics.remedies)
            config.update({k: nuts[k] for k in ("draws", "tune", "chains", "sampler", "target_accept")})
            config["max_treedepth"] = depth
            post = idata.posterior
            samples = {}
            for name in names:
                arr = post[name].values
                samples[name] = arr.reshape(arr.shape[0] * arr.shape[1], -1)
        n_seg = len(prepared.segments)
        param_draws = {
            name: np.broadcast_to(samples[name], (samples[name].shape[0], n_seg)).copy()
            for name in self.kind.param_names
        }
        param_draws.update({name: samples[name].copy() for name in coefficients})  # (n_draws, k)
        population = {
            name: samples[name][:, 0]
            for name in names
            if name not in self.kind.param_names and name not in coefficients
        }
        ll = _total_loglik(self.kind, prepared.rows, param_draws, self.pooling, covariates)
        fit_cls = {"spend": SpendFit, "contractual": BTYDFit}.get(self.kind.role, PurchaseFit)
        cols = tuple(
            c
            for c in (
                *self.kind.data_columns,
                self.segment,
                weights,
                *(covariates.columns if covariates else ()),
            )
            if c is not None
        )
        fit = fit_cls(
            model_name=self.kind_name,
            param_names=self.kind.param_names,
            pooling=self.pooling,
            segment=self.segment,
            segments=prepared.segments,
            method=method,
            param_draws=param_draws,
            population_draws=population,
            log_likelihood=ll,
            diagnostics=diagnostics,
            idata=idata,
            config=config,
            seed=seed,
            data_hash=data_hash(summary, cols),
            ltvlab_version=_package_version(),
            unit=None if fit_unit is None else str(fit_unit),
            n_customers=prepared.n_customers,
            n_rows=prepared.rows.n_rows,
            warnings=prepared.warnings + notes,
            covariates=covariates,
        )
        warn_if_failed(diagnostics, f"{self.kind_name} ({self.pooling} pooling, {method})")
        return fit


def snapped_centering(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Centring weights snapped to 1 (centred) at or above ``CENTERED_SNAP``, to 0 (non-centred) at or below
    ``1 - CENTERED_SNAP``, others rounded to 3 decimals."""
    return {
        name: np.where(w >= CENTERED_SNAP, 1.0, np.where(w <= 1.0 - CENTERED_SNAP, 0.0, np.round(w, 3)))
        for name, w in weights.items()
    }


def _form(centering: Mapping[str, np.ndarray] | None) -> bool | Mapping[str, np.ndarray]:
    """What :func:`ltvlab.ltv._build.build_model` takes as ``centered``."""
    return False if centering is None else centering


def _form_name(centering: Mapping[str, np.ndarray] | None) -> str | None:
    if centering is None:
        return None
    values = np.concatenate([np.asarray(w, dtype=float) for w in centering.values()])
    if np.all(values == 1.0):
        return "centered"
    if np.all(values == 0.0):
        return "non-centered"
    return "partially non-centered"


def _gradient_evaluations(idata: Any, nuts: Mapping[str, Any]) -> float:
    """Gradient evaluations of a NUTS run over warm-up and draws, all chains; a warm-up without statistics (PyMC's
    sampler) is counted at the draws' mean tree size."""
    draws, warmup = leapfrog_steps(idata)
    return draws + (draws * nuts["tune"] / nuts["draws"] if warmup is None else warmup)


def _remedy(
    model: pm.Model,
    names: tuple[str, ...],
    thresholds: DiagnosticThresholds,
    first: tuple[Any, Diagnostics],
    depth: int,
    nuts: dict[str, Any],
    *,
    auto_depth: bool,
    first_s: float,
    budget_s: float | None,
) -> tuple[Any, Diagnostics, int, dict[str, Any]]:
    """Refit a NUTS fit that failed its gate with the remedy its failure calls for (see ``BTYDSpec.fit``).

    A refit's cost is predicted from the gradient evaluations per (tuning + draw) step of the run before it; a
    refit predicted to take all refits together past ``REMEDY_BUDGET_FACTOR`` times the first fit's gradient
    evaluations, or past ``budget_s`` seconds at the first fit's wall time per step, is not started.
    """
    idata, diagnostics = first
    first_grads = _gradient_evaluations(idata, nuts)
    budget_grads = REMEDY_BUDGET_FACTOR * first_grads
    grads_per_step = first_grads / (nuts["chains"] * (nuts["tune"] + nuts["draws"]))
    per_step_s = first_s / (nuts["tune"] + nuts["draws"])
    done: list[str] = []
    spent_grads = 0.0
    spent_s = 0.0
    for _ in range(MAX_REMEDIES):
        if diagnostics.ok:
            break
        reason = "; ".join(diagnostics.messages)
        change: dict[str, Any] = {}
        parts: list[str] = []
        new_depth = depth
        diverged = diagnostics.divergences > thresholds.max_divergences
        if auto_depth and depth < DEFAULT_TREEDEPTH:
            # short trees suit near-Gaussian posteriors only; these data were not: full-length trees instead
            new_depth = DEFAULT_TREEDEPTH
            parts.append(f"depth {DEFAULT_TREEDEPTH} (NUTS trees had been capped at depth {depth})")
        else:
            if diverged and nuts["target_accept"] < max(REMEDY_TARGET_ACCEPT):
                # smaller steps through the curved regions where the leapfrog integrator diverged
                accept = next(a for a in REMEDY_TARGET_ACCEPT if a > nuts["target_accept"])
                change["target_accept"] = accept
                parts.append(f"target_accept {nuts['target_accept']:g} -> {accept:g}")
            if diverged or not diagnostics.max_r_hat <= thresholds.max_r_hat:
                # a longer warm-up adapts the step size and mass matrix to the posterior before drawing
                change["tune"] = 2 * nuts["tune"]
                parts.append(f"tuning {nuts['tune']} -> {change['tune']}")
            ratio = max(
                thresholds.min_ess_bulk / max(diagnostics.min_ess_bulk, 1.0),
                thresholds.min_ess_tail / max(diagnostics.min_ess_tail, 1.0),
            )
            # more draws at the measured ESS per draw, REMEDY_ESS_MARGIN to spare (at most 8x); not while the chains
            # diverge, whose ESS says little about a sampler that is then tuned anew
            if (ratio > 1.0 and not diverged) or not parts:
                draws = int(np.ceil(nuts["draws"] * min(REMEDY_ESS_MARGIN * ratio, 8.0) / 100.0) * 100)
                change["draws"] = max(draws, nuts["draws"] + 100)
                parts.append(f"draws per chain {nuts['draws']} -> {change['draws']}")
        what = ", ".join(parts)
        trial = {**nuts, **change, "seed": nuts["seed"] + len(done) + 1}
        steps = trial["tune"] + trial["draws"]
        over = None
        if spent_grads + grads_per_step * trial["chains"] * steps > budget_grads:
            over = f"the remedy budget of {budget_grads:,.0f} gradient evaluations ({REMEDY_BUDGET_FACTOR:g}x the first fit)"
        elif budget_s is not None and spent_s + per_step_s * steps > budget_s:
            over = f"the time budget of {budget_s:.0f} s"
        if over is not None:
            done.append(f"gate failed ({reason}); {what} would exceed {over}: stopped")
            break
        started = time.perf_counter()
        idata_new = _build.run_nuts(model, max_treedepth=new_depth, **trial)
        spent_s += time.perf_counter() - started
        grads = _gradient_evaluations(idata_new, trial)
        spent_grads += grads
        grads_per_step = grads / (trial["chains"] * steps)
        idata, depth, nuts = idata_new, new_depth, trial
        diagnostics = diagnose(idata, names, thresholds)
        done.append(
            f"gate failed ({reason}); refitted with {what}: "
            + ("gate passed" if diagnostics.ok else "; ".join(diagnostics.messages))
        )
    return idata, replace(diagnostics, remedies=tuple(done)), depth, nuts


def _total_loglik(
    kind: ModelDef,
    rows: Compressed,
    param_draws: Mapping[str, np.ndarray],
    pooling: str,
    covariates: Covariates | None = None,
) -> float:
    """Weighted total log-likelihood, averaged over (at most ``_MAX_LL_DRAWS`` evenly spaced) draws."""
    n = next(iter(param_draws.values())).shape[0]
    pick = np.unique(np.linspace(0, n - 1, min(n, _MAX_LL_DRAWS)).astype(int))
    seg = rows.segment_code if pooling != "complete" else np.zeros(rows.n_rows, dtype=np.int64)
    picked = {name: values[pick] for name, values in param_draws.items()}
    if kind.total_loglik_draws is not None and covariates is None:  # the model's fused kernel, per draw
        thetas = [np.asarray(picked[name], dtype=float).reshape(pick.size, -1) for name in kind.param_names]
        return float(np.mean(kind.total_loglik_draws(rows, thetas, seg)))
    z = from_columns(rows.values, rows.n_rows)
    chunk = max(1, 2_000_000 // pick.size)
    total = np.zeros(pick.size)
    for start in range(0, rows.n_rows, chunk):
        sl = slice(start, start + chunk)
        params = row_params(kind.name, kind.param_names, picked, seg[sl], z[sl], covariates)
        ll = kind.loglik(*(rows.values[c][sl] for c in kind.data_columns), *params)
        total += ll @ rows.weight[sl]
    return float(np.mean(total))
