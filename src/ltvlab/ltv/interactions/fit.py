"""Fitting BG/NBD and Pareto/NBD with time-varying covariates: spec -> fit -> :class:`TVCFit`.

Parameters and priors follow :mod:`ltvlab.ltv.priors` (``theta = exp(eta)``, ``eta ~ Normal(mu0, sd0)`` centred
on the data's scale; partial pooling ``eta_g ~ Normal(mu, sigma)``, ``sigma ~ HalfNormal(0.5)``). The effects
of the time-varying covariates on the purchase rate (``gamma``) and, for Pareto/NBD, on the dropout rate
(``delta``) are log multipliers per unit of covariate (per contact counted by the carry-over), one per segment and
covariate, pooled by ``effect_pooling``:

- ``"complete"``: one effect per covariate shared by all segments, ``Normal(0, coefficient_sd)``;
- ``"none"``: each segment's effect on its own, ``Normal(0, coefficient_sd)``;
- ``"partial"``: ``gamma_gk ~ Normal(mu_k, tau_k)``, ``mu_k ~ Normal(0, coefficient_sd)``,
  ``tau_k ~ HalfNormal(effect_pooling_sd)``.

Partial pooling (of the base parameters and of the effects) is written centred (``eta_g ~ Normal(mu, sigma)``)
or non-centred (``eta_g = mu + sigma * u_g``, ``u_g ~ Normal(0, 1)``), chosen by ``parametrization``: the
non-centred form removes the funnel between ``sigma`` and the segment values when the segments' own data say
little, but when every segment's data pin its values down it creates the opposite funnel (``u_g`` then has to
track ``1 / sigma``), where NUTS tends to diverge. ``"auto"`` chooses the base parameters' form per segment and
parameter from the data, by the static models' rule (:mod:`ltvlab.ltv._parametrize` on the same customers'
``(x, t_x, T)``: e.g. ``r`` and ``alpha`` centred, a dropout parameter that is the same in every segment
non-centred), and centres the effects when every segment has at least :data:`CENTERED_MIN_SEGMENT_SIZE`
customers. ``centered_params`` names the blocks to centre one by one (base parameter names, ``"gamma"``,
``"delta"``). A NUTS fit that fails the diagnostics gate is refitted with the static models' remedies
(:func:`posterior_draws`). On the simulator's 4,000 customers in 3 segments (BG/NBD) the gate still fails, on
the effects' segment spread ``tau`` (runs in the comment of
``tests/ltv/test_tvc_fit.py::test_nuts_partial_pooling_recovers_effects``).

Static covariates (e.g. the score a targeted campaign used) act on the purchase rate, standardised,
``Normal(0, coefficient_sd)``. ``method="nuts"`` samples with :func:`ltvlab.ltv._build.run_nuts` (nutpie by
default) behind the diagnostics gate of :mod:`ltvlab.ltv.diagnostics`; ``method="map"`` is the posterior mode,
``method="laplace"`` the mode plus draws from the Gaussian approximation at it (in the unconstrained space), a
fast approximate posterior for large simulation studies.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import _build
from ltvlab.ltv._data import compress
from ltvlab.ltv._model import REMEDY_MIN_DRAWS, Parametrization, _remedy, snapped_centering
from ltvlab.ltv._parametrize import centering_weights
from ltvlab.ltv.bgnbd import BGNBD
from ltvlab.ltv.diagnostics import (
    Diagnostics,
    DiagnosticThresholds,
    diagnose,
    map_diagnostics,
    warn_if_failed,
)
from ltvlab.ltv.interactions.data import TVCData
from ltvlab.ltv.interactions.likelihood import tvc_loglik, tvc_loglik_pt
from ltvlab.ltv.pnbd import ParetoNBD
from ltvlab.ltv.priors import DEFAULT_COEFFICIENT_SD, DEFAULT_POOLING_SD, resolve_priors
from ltvlab.ltv.registry import get_model

__all__ = ["EFFECT_POOLING_SD", "TVCFit", "TVCSpec"]

Pooling = Literal["none", "complete", "partial"]
#: ``parametrization="auto"`` writes partial pooling centred when every segment has at least this many customers.
CENTERED_MIN_SEGMENT_SIZE = 2_000
EFFECT_POOLING_SD = 0.3  # HalfNormal scale of the segment spread of the effects (log multipliers per contact)
BASE_PARAMS = {BGNBD.kind_name: ("r", "alpha", "a", "b"), ParetoNBD.kind_name: ("r", "alpha", "s", "beta")}


@dataclass(frozen=True)
class TVCFit:
    """A fitted time-varying-covariate model: draws of every parameter and how they were made.

    ``draws[name]`` is ``(n_draws, n_segments)`` for the base parameters, ``(n_draws, n_segments, k)`` for
    ``gamma`` / ``delta`` and ``(n_draws, q)`` for ``beta_static``.
    """

    model: str
    segments: tuple[str, ...]
    purchase_covariates: tuple[str, ...]
    dropout_covariates: tuple[str, ...]
    static_covariates: tuple[str, ...]
    static_mean: tuple[float, ...]
    static_scale: tuple[float, ...]
    draws: dict[str, np.ndarray]
    diagnostics: Diagnostics
    method: str
    pooling: str
    effect_pooling: str
    unit: str
    period_length: pd.Timedelta
    origin: pd.Timestamp
    calibration_end: pd.Timestamp
    carry_over: str | None
    randomised: bool | None
    n_customers: int
    n_rows: int
    log_likelihood: float
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    idata: Any = None
    warnings: tuple[str, ...] = ()

    @property
    def n_draws(self) -> int:
        return int(self.draws["r"].shape[0])

    def effects(self, level: float = 0.9) -> pd.DataFrame:
        """Tidy posterior of the effects: ``segment, strategy, covariate, parameter, mean, sd, lower, upper``.

        ``parameter`` is ``"purchase"`` or ``"dropout"``; ``strategy`` is the covariate name without the
        ``contacts_`` prefix (the layout of the simulator's ``truth``); ``lower``/``upper`` the central interval.
        """
        rows = []
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        for parameter, name, covs in (
            ("purchase", "gamma", self.purchase_covariates),
            ("dropout", "delta", self.dropout_covariates),
        ):
            if name not in self.draws:
                continue
            d = self.draws[name]
            for g, seg in enumerate(self.segments):
                for j, cov in enumerate(covs):
                    v = d[:, g, j]
                    rows.append(
                        {
                            "segment": seg,
                            "strategy": cov.removeprefix("contacts_"),
                            "covariate": cov,
                            "parameter": parameter,
                            "mean": float(v.mean()),
                            "sd": float(v.std(ddof=1)) if v.size > 1 else float("nan"),
                            "lower": float(np.quantile(v, lo)),
                            "upper": float(np.quantile(v, hi)),
                        }
                    )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary: how the fit was made, its health and each effect's posterior."""
        return {
            "model": self.model,
            "method": self.method,
            "pooling": self.pooling,
            "effect_pooling": self.effect_pooling,
            "unit": self.unit,
            "period_length": str(self.period_length),
            "origin": self.origin.isoformat(),
            "calibration_end": self.calibration_end.isoformat(),
            "carry_over": self.carry_over,
            "randomised": self.randomised,
            "n_customers": self.n_customers,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "log_likelihood": self.log_likelihood,
            "diagnostics": self.diagnostics.to_dict(),
            "effects": self.effects().to_dict(orient="records"),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class TVCSpec:
    """BG/NBD (``model=BGNBD.kind_name``) or Pareto/NBD (``ParetoNBD.kind_name``, the default) with time-varying
    covariates.

    ``purchase_covariates`` / ``dropout_covariates`` name columns of the covariate table (default: all of them
    on the purchase rate and, for Pareto/NBD, on the dropout rate). ``carry_over`` (its text, e.g.
    ``"window:4"``) and ``randomised`` (whether contacts were randomly assigned) are recorded in the fit; with
    ``randomised=False`` the effects are associations unless the static covariates capture the targeting.
    """

    model: str = ParetoNBD.kind_name
    pooling: Pooling = "complete"
    effect_pooling: Pooling | None = None
    purchase_covariates: tuple[str, ...] | None = None
    dropout_covariates: tuple[str, ...] | None = None
    priors: str = "default"
    coefficient_sd: float = DEFAULT_COEFFICIENT_SD
    effect_pooling_sd: float = EFFECT_POOLING_SD
    pooling_sd: float = DEFAULT_POOLING_SD
    thresholds: DiagnosticThresholds = field(default_factory=DiagnosticThresholds)
    carry_over: str | None = None
    randomised: bool | None = None
    parametrization: Parametrization = "auto"
    centered_params: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.model not in BASE_PARAMS:
            raise LtvlabError(
                f"model={self.model!r}: time-varying covariates need one of {sorted(BASE_PARAMS)}"
            )
        for name in ("pooling", "effect_pooling"):
            value = getattr(self, name)
            if value is not None and value not in ("none", "complete", "partial"):
                raise LtvlabError(f"{name}={value!r}: use 'none', 'complete' or 'partial'")
        if self.parametrization not in ("auto", "centered", "non-centered"):
            raise LtvlabError(
                f"parametrization={self.parametrization!r}: use 'auto', 'centered' or 'non-centered'"
            )
        if self.model == BGNBD.kind_name and self.dropout_covariates:
            raise LtvlabError(
                "BG/NBD's dropout is a chance per purchase, not a rate: covariates act on its purchase rate only; "
                f"use model={ParetoNBD.kind_name!r} for effects on dropout"
            )
        if self.carry_over is not None:
            object.__setattr__(self, "carry_over", str(self.carry_over))
        if self.centered_params is not None:
            unknown = sorted(set(self.centered_params) - {*self.base_params, "gamma", "delta"})
            if unknown:
                raise LtvlabError(
                    f"centered_params {unknown} are not pooled blocks of {self.model}; use names among "
                    f"{[*self.base_params, 'gamma', 'delta']}"
                )
            object.__setattr__(self, "centered_params", tuple(self.centered_params))

    @property
    def base_params(self) -> tuple[str, ...]:
        return BASE_PARAMS[self.model]

    def covariate_sets(self, data: TVCData) -> tuple[tuple[str, ...], tuple[str, ...]]:
        purchase = data.names if self.purchase_covariates is None else tuple(self.purchase_covariates)
        if self.model == BGNBD.kind_name:
            dropout: tuple[str, ...] = ()
        else:
            dropout = data.names if self.dropout_covariates is None else tuple(self.dropout_covariates)
        data.positions(purchase), data.positions(dropout)  # validates the names
        return purchase, dropout

    def centered(self, data: TVCData) -> bool:
        """Whether partial pooling is written centred on these data (see the module docstring): a fixed
        ``parametrization``, or under ``"auto"`` the segment-size rule, which decides the effects' form only."""
        if self.parametrization != "auto":
            return self.parametrization == "centered"
        sizes = np.bincount(data.segment_code, weights=data.weight, minlength=len(data.segments))
        return bool(sizes.min() >= CENTERED_MIN_SEGMENT_SIZE)

    def base_centering(self, data: TVCData) -> dict[str, np.ndarray]:
        """Per base parameter, the centring weight of each segment under partial pooling (1 centred, 0
        non-centred, between: the partially non-centred form of :mod:`ltvlab.ltv._parametrize`).

        ``centered_params`` or a fixed ``parametrization`` give 1 or 0 per block; ``"auto"`` takes the static
        model's rule on the same customers' ``(x, t_x, T)`` (how much each segment's own data say about each
        parameter against the spread between segments), snapped as the static fits snap it."""
        n_seg = len(data.segments)
        if self.centered_params is not None or self.parametrization != "auto":
            blocks = self.centered_blocks(data)
            return {name: np.full(n_seg, float(name in blocks)) for name in self.base_params}
        kind = get_model(self.model)
        columns = {col.X: data.x, col.T_X: data.t_x, col.T: data.T}
        rows = compress(data.segment_code, columns, n_seg, weights=data.weight)
        priors = resolve_priors(kind, self.priors, columns, data.weight)
        return snapped_centering(centering_weights(kind, rows, priors))

    def centered_blocks(self, data: TVCData) -> frozenset[str]:
        """The partially pooled blocks (base parameter names, ``"gamma"``, ``"delta"``) written centred:
        ``centered_params`` when given, else all or none by :meth:`centered` -- under ``"auto"`` the effects only,
        since the base parameters' form is then chosen per segment (:meth:`base_centering`)."""
        if self.centered_params is not None:
            return frozenset(self.centered_params)
        base = self.base_params if self.parametrization != "auto" else ()
        return frozenset((*base, "gamma", "delta")) if self.centered(data) else frozenset()

    # --- model -------------------------------------------------------------------------------------

    def build(
        self, data: TVCData, split_mean: bool = True, base_centering: dict[str, np.ndarray] | None = None
    ) -> pm.Model:
        """The PyMC model (priors + ``Potential`` with the weighted exact log-likelihood); ``base_centering``:
        :meth:`base_centering` when already computed."""
        if not (data.x > 0).any():
            raise LtvlabError(
                "no customer has a repeat purchase in calibration: the rates are not identified"
            )
        pooling = self.pooling
        effect_pooling = self.effect_pooling or pooling
        if "partial" in (pooling, effect_pooling) and len(data.segments) < 2:
            raise LtvlabError("partial pooling needs at least 2 segments; use pooling='complete'")
        purchase, dropout = self.covariate_sets(data)
        kind = get_model(self.model)
        values = {"x": data.x, "t_x": data.t_x, "T": data.T}
        priors = resolve_priors(kind, self.priors, values, data.weight)
        labels = list(data.segments)
        coords = {"segment": labels, "purchase_covariate": list(purchase), "dropout_covariate": list(dropout)}
        coords["static_covariate"] = list(data.static_names)
        n_seg = len(labels)
        centered = self.centered_blocks(data)
        if pooling == "partial" and base_centering is None:
            base_centering = self.base_centering(data)
        pooled_priors = replace(priors, pooling_sd=self.pooling_sd)
        with pm.Model(coords=coords) as model:
            params = {}
            for name in self.base_params:
                mu0, sd0 = priors.normal[name]
                eta = f"log_{name}"
                if pooling == "partial":  # the static models' pooled eta, in the form chosen per segment
                    log_value = _build._eta(
                        kind, name, "partial", pooled_priors, "segment", base_centering[name], split_mean
                    )
                    value = pm.Deterministic(name, pt.exp(log_value), dims="segment")
                elif pooling == "none":
                    value = pm.Deterministic(
                        name, pt.exp(pm.Normal(eta, mu0, sd0, dims="segment")), dims="segment"
                    )
                else:
                    value = pm.Deterministic(name, pt.exp(pm.Normal(eta, mu0, sd0)))
                params[name] = pt.ones(n_seg) * value
            for name, covs, dims in (
                ("gamma", purchase, "purchase_covariate"),
                ("delta", dropout, "dropout_covariate"),
            ):
                if not covs:
                    continue
                sd = self.coefficient_sd
                if effect_pooling == "partial":
                    if name in centered or not split_mean:
                        mu = pm.Normal(f"mu_{name}", 0.0, sd, dims=dims)
                        tau = pm.HalfNormal(f"tau_{name}", self.effect_pooling_sd, dims=dims)
                    if name in centered:
                        effect = pm.Normal(name, mu[None, :], tau[None, :], dims=("segment", dims))
                    elif not split_mean:  # MAP / Laplace: the plain form, laid out (segment, covariate)
                        u = pm.Normal(f"u_{name}", 0.0, 1.0, dims=("segment", dims))
                        effect = pm.Deterministic(
                            name, mu[None, :] + tau[None, :] * u, dims=("segment", dims)
                        )
                    else:  # the segment axis last for the pooling, first in the model
                        pooled = _build.noncentred(
                            name,
                            0.0,
                            sd,
                            (dims, "segment"),
                            self.effect_pooling_sd,
                            sigma_name=f"tau_{name}",
                            mu_name=f"mu_{name}",
                        )
                        effect = pm.Deterministic(name, pooled.T, dims=("segment", dims))
                elif effect_pooling == "none":
                    effect = pm.Normal(name, 0.0, sd, dims=("segment", dims))
                else:
                    shared = pm.Normal(f"{name}_shared", 0.0, sd, dims=dims)
                    effect = pm.Deterministic(
                        name, pt.ones((n_seg, 1)) * shared[None, :], dims=("segment", dims)
                    )
                params[name] = effect
            if data.static_names:
                params["beta_static"] = pm.Normal(
                    "beta_static", 0.0, self.coefficient_sd, dims="static_covariate"
                )
            total = tvc_loglik_pt(data, self.model, params, data.positions(purchase), data.positions(dropout))
            pm.Potential("loglik", total)
        return model

    def gate_names(self, data: TVCData) -> list[str]:
        """Variables the diagnostics gate checks."""
        pooling, effect_pooling = self.pooling, self.effect_pooling or self.pooling
        purchase, dropout = self.covariate_sets(data)
        names = list(self.base_params)
        if pooling == "partial":
            names += [f"{p}_log_{n}" for n in self.base_params for p in ("mu", "sigma")]
        for name, covs in (("gamma", purchase), ("delta", dropout)):
            if covs:
                names.append(name)
                if effect_pooling == "partial":
                    names += [f"mu_{name}", f"tau_{name}"]
        if data.static_names:
            names.append("beta_static")
        return names

    # --- fit ---------------------------------------------------------------------------------------

    def fit(
        self,
        data: TVCData,
        *,
        method: Literal["nuts", "map", "laplace"] = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        seed: int = 2024,
        sampler: Literal["nutpie", "pymc"] = "nutpie",
        target_accept: float = 0.9,
        cores: int = 1,
        max_treedepth: int = 10,
        progressbar: bool = False,
        remedy: bool | None = None,
    ) -> TVCFit:
        """Fit on prepared data (:func:`ltvlab.ltv.interactions.prepare_tvc_data`).

        ``remedy``: refit a NUTS fit that fails its gate (default: when ``draws`` and ``tune`` are at least
        the defaults; see :func:`posterior_draws`); the fit's warnings and ``config["remedies"]`` say what was
        done, and ``config`` holds the draws and tuning steps of the fit kept."""
        if method not in ("nuts", "map", "laplace"):
            raise LtvlabError(f"method={method!r}: use 'nuts', 'map' or 'laplace'")
        base_centering = self.base_centering(data) if self.pooling == "partial" else None
        # MAP / Laplace: the plain form's mode
        model = self.build(data, split_mean=method == "nuts", base_centering=base_centering)
        names = self.gate_names(data)
        out = ["r", "alpha", *self.base_params[2:], "gamma", "delta", "beta_static"]
        out = [n for n in out if n in model.named_vars]
        notes = list(data.notes)
        idata, samples, diagnostics = posterior_draws(
            model,
            out,
            names,
            method=method,
            thresholds=self.thresholds,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,
            progressbar=progressbar,
            target_accept=target_accept,
            cores=cores,
            max_treedepth=max_treedepth,
            remedy=remedy,
        )
        notes += diagnostics.remedies
        if idata is not None:  # the fit kept, after any remedies
            draws = int(idata.posterior.sizes["draw"])
            tune = int(idata.posterior.attrs.get("tuning_steps", tune))
        if method == "laplace":
            notes.append("Laplace approximation at the posterior mode (not MCMC): intervals are approximate")
        n_seg = len(data.segments)
        fixed = {}
        for name in self.base_params:
            fixed[name] = np.broadcast_to(
                samples[name].reshape(samples[name].shape[0], -1), (samples[name].shape[0], n_seg)
            ).copy()
        for name in ("gamma", "delta", "beta_static"):
            if name in samples:
                fixed[name] = np.asarray(samples[name], float)
        purchase, dropout = self.covariate_sets(data)
        ll = total_loglik(data, self.model, fixed, data.positions(purchase), data.positions(dropout))
        fit = TVCFit(
            model=self.model,
            segments=data.segments,
            purchase_covariates=purchase,
            dropout_covariates=dropout,
            static_covariates=data.static_names,
            static_mean=data.static_mean,
            static_scale=data.static_scale,
            draws=fixed,
            diagnostics=diagnostics,
            method=method,
            pooling=self.pooling,
            effect_pooling=self.effect_pooling or self.pooling,
            unit=data.unit,
            period_length=data.period_length,
            origin=data.origin,
            calibration_end=data.calibration_end,
            carry_over=self.carry_over,
            randomised=self.randomised,
            n_customers=data.n_customers,
            n_rows=data.n_rows,
            log_likelihood=ll,
            seed=seed,
            config={
                "priors": self.priors,
                "coefficient_sd": self.coefficient_sd,
                "effect_pooling_sd": self.effect_pooling_sd,
                "draws": draws,
                "tune": tune,
                "chains": chains,
                "sampler": sampler,
                "max_treedepth": max_treedepth,
                "centered_blocks": sorted(
                    {b for b in self.centered_blocks(data) if b in ("gamma", "delta")}
                    | {k for k, w in (base_centering or {}).items() if np.all(w == 1.0)}
                )
                if self.pooling == "partial" or (self.effect_pooling or self.pooling) == "partial"
                else [],
                "base_centering": None
                if base_centering is None
                else {k: [float(v) for v in w] for k, w in base_centering.items()},
                "remedies": list(diagnostics.remedies),
            },
            idata=idata,
            warnings=tuple(notes),
        )
        warn_if_failed(diagnostics, f"{self.model} with time-varying covariates ({method})")
        return fit


def draw_params(fit_draws: dict[str, np.ndarray], d: int) -> dict[str, np.ndarray]:
    """The parameters of draw ``d`` in the shapes :func:`tvc_loglik` takes."""
    return {k: v[d] for k, v in fit_draws.items()}


def total_loglik(
    data: TVCData, model: str, draws: dict[str, np.ndarray], purchase, dropout, max_draws: int = 100
) -> float:
    """Weighted total log-likelihood averaged over (at most ``max_draws`` evenly spaced) draws."""
    n = draws["r"].shape[0]
    pick = np.unique(np.linspace(0, n - 1, min(n, max_draws)).astype(int))
    return float(
        np.mean(
            [
                np.sum(data.weight * tvc_loglik(data, model, draw_params(draws, d), purchase, dropout))
                for d in pick
            ]
        )
    )


def posterior_draws(
    model: pm.Model,
    out: Sequence[str],
    gate_names: Sequence[str],
    *,
    method: str,
    thresholds: DiagnosticThresholds,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    remedy: bool | None = None,
    **nuts: Any,
) -> tuple[Any, dict[str, np.ndarray], Any]:
    """``(idata or None, draws of out, diagnostics)`` of ``model`` by ``method``: NUTS (``nuts`` are
    :func:`ltvlab.ltv._build.run_nuts` options; draws of all chains stacked), MAP (one draw: the mode) or the
    Laplace approximation (:func:`laplace_draws`); the gate judges ``gate_names``.

    A NUTS fit that fails its gate is refitted with the static models' remedies (higher ``target_accept`` and
    longer tuning after divergences, more draws for a low ESS, within a budget of gradient evaluations; see
    :meth:`ltvlab.ltv.BTYDSpec.fit`) when ``remedy`` is True, or when it is None and the run has at least the
    default draws and tuning steps; ``diagnostics.remedies`` says what was done."""
    if method == "nuts":
        started = time.perf_counter()
        idata = _build.run_nuts(model, draws=draws, tune=tune, chains=chains, seed=seed, **nuts)
        diagnostics = diagnose(idata, list(gate_names), thresholds)
        if remedy is None:
            remedy = draws >= REMEDY_MIN_DRAWS and tune >= REMEDY_MIN_DRAWS
        if remedy and not diagnostics.ok:
            settings = {"draws": draws, "tune": tune, "chains": chains, "seed": seed, **nuts}
            depth = settings.pop("max_treedepth")
            idata, diagnostics, _, _ = _remedy(
                model,
                tuple(gate_names),
                thresholds,
                (idata, diagnostics),
                depth,
                settings,
                auto_depth=False,
                first_s=time.perf_counter() - started,
                budget_s=None,
            )
        samples = {}
        for name in out:
            arr = idata.posterior[name].values
            samples[name] = arr.reshape(arr.shape[0] * arr.shape[1], *arr.shape[2:])
        return idata, samples, diagnostics
    if method == "map":
        point, converged, message = _build.run_map(model, seed)
        samples = {name: np.asarray(point[name])[None, ...] for name in out}
    else:
        samples, converged, message = laplace_draws(model, list(out), draws, seed)
    return None, samples, map_diagnostics(converged, message, list(gate_names))


def laplace_draws(
    model: pm.Model, out: list[str], n_draws: int, seed: int
) -> tuple[dict[str, np.ndarray], bool, str]:
    """Draws of ``out`` from the Gaussian approximation of the posterior at its mode (unconstrained space),
    whether the optimiser converged, and its message.

    The mode (L-BFGS-B from the model's initial point, as :func:`ltvlab.ltv._build.run_map`) and the Hessian
    (central differences of the exact gradient; a compiled Hessian is slow to build) use one compiled
    log-density-and-gradient function: compiling the likelihood's graph costs more than all its evaluations at
    notebook sizes.
    """
    from scipy.optimize import minimize

    value_vars = model.value_vars
    start_point = model.initial_point()
    shapes = [np.shape(start_point[v.name]) for v in value_vars]
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = pt.dvector("flat")
    replace, start = {}, 0
    for v, size, shape in zip(value_vars, sizes, shapes, strict=True):
        replace[v] = flat[start : start + size].reshape(shape)
        start += size
    logp = pytensor.graph_replace(model.logp(), replace)
    value_and_grad = pytensor.function([flat], [logp, pt.grad(logp, flat)])

    def objective(v):
        value, grad = value_and_grad(v)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(v)
        return -float(value), -np.asarray(grad)

    x0 = np.concatenate([np.ravel(start_point[v.name]) for v in value_vars]).astype(float)
    result = minimize(
        objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": 50_000, "maxfun": 50_000}
    )
    mode = result.x
    if not np.all(np.isfinite(mode)) or not np.isfinite(result.fun):
        raise LtvlabError(
            "MAP optimisation produced non-finite parameters; the data may not identify the model"
        )
    step = 1e-5 * np.maximum(1.0, np.abs(mode))
    hess = np.empty((mode.size, mode.size))
    for j in range(mode.size):
        e = np.zeros(mode.size)
        e[j] = step[j]
        hess[:, j] = (value_and_grad(mode + e)[1] - value_and_grad(mode - e)[1]) / (2 * step[j])
    hess = (hess + hess.T) / 2
    cov = np.linalg.inv(-hess)
    cov = (cov + cov.T) / 2
    rng = np.random.default_rng(seed)
    flat_draws = rng.multivariate_normal(mode, cov, size=n_draws, method="eigh")
    outs = pytensor.graph_replace(model.replace_rvs_by_values([model.named_vars[n] for n in out]), replace)
    fn = pytensor.function([flat], outs)
    results = [fn(row) for row in flat_draws]
    draws = {name: np.stack([r[j] for r in results]) for j, name in enumerate(out)}
    return draws, bool(result.success), str(result.message)
