"""Gamma-Gamma spend with a treatment arm: the arm multiplies the mean transaction value by ``exp(kappa_g)``.

Transaction values are ``Gamma(p, rate=nu c)`` with ``nu ~ Gamma(q, rate=gamma)`` per customer and ``c = 1``
before the assignment and in the control arm, ``c = exp(-kappa_g)`` for a treated customer's transactions from
the assignment on. As in Fader & Hardie's Gamma-Gamma, the likelihood is that of the mean values: a customer's
repeat transactions fall in two groups, ``n0`` at ``c = 1`` with mean ``m0`` and ``n1`` at ``exp(-kappa)``
with mean ``m1``; given ``nu`` the means are independent ``Gamma(p n_j, rate=nu c_j n_j)``, and integrating
``nu`` out gives, with ``n = n0 + n1`` and ``S_j = n_j m_j``,

    log L = lgamma(p n + q) - lgamma(q) + q log gamma - (p n + q) log(gamma + S0 + exp(-kappa) S1) - p n1 kappa
            + sum_j [p n_j log n_j + (p n_j - 1) log m_j - lgamma(p n_j)]       (groups with n_j > 0)

which for ``n1 = 0`` is the static Gamma-Gamma log-likelihood. The first purchase is left out, as in
:func:`ltvlab.features.customer_summary`'s ``monetary``. Base parameters are shared by all segments
(``pooling="complete"``) or per segment (``"none"``), with the priors of :mod:`ltvlab.ltv.priors`
(``q = 1 + exp(eta)`` so the mean spend exists); ``kappa_g`` is pooled over segments like the contact effects of
:mod:`ltvlab.ltv.interactions.fit` (``"complete"``, ``"none"``, ``"partial"`` non-centred).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy.special import gammaln

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv.diagnostics import (
    Diagnostics,
    DiagnosticThresholds,
    warn_if_failed,
)
from ltvlab.ltv.gamma_gamma import GammaGamma
from ltvlab.ltv.interactions.fit import EFFECT_POOLING_SD, posterior_draws
from ltvlab.ltv.priors import DEFAULT_COEFFICIENT_SD, resolve_priors
from ltvlab.ltv.registry import get_model

__all__ = ["ArmSpendData", "ArmSpendFit", "ArmSpendSpec", "arm_spend_data", "arm_spend_loglik"]

Pooling = Literal["none", "complete", "partial"]


@dataclass(frozen=True)
class ArmSpendData:
    """Per customer: segment code, repeat transactions and mean value at ``c = 1`` (``n0, m0``) and under the
    treatment (``n1, m1``); only customers with a repeat transaction enter the likelihood."""

    customer_id: np.ndarray
    segments: tuple[str, ...]
    segment_code: np.ndarray
    n0: np.ndarray
    m0: np.ndarray
    n1: np.ndarray
    m1: np.ndarray

    @property
    def used(self) -> np.ndarray:
        return (self.n0 + self.n1) > 0


def arm_spend_data(
    transactions: pd.DataFrame,
    assignment: pd.DataFrame,
    *,
    assignment_date,
    test_end,
    arm_column: str = "arm",
    segment_column: str | None = "segment",
) -> ArmSpendData:
    """Spend statistics of the customers in ``assignment`` from their transactions before ``test_end``."""
    start, end = pd.Timestamp(assignment_date), pd.Timestamp(test_end)
    ids = assignment[col.CUSTOMER_ID].astype(str).to_numpy()
    order = np.argsort(ids)
    ids = ids[order]
    arm = pd.to_numeric(assignment[arm_column]).to_numpy()[order]
    if segment_column is None:
        segments, code = ("all",), np.zeros(ids.size, dtype=np.int64)
    else:
        labels = assignment[segment_column].astype(str).to_numpy()[order]
        segments = tuple(sorted(set(labels.tolist())))
        code = np.searchsorted(np.array(segments), labels).astype(np.int64)
    tx = transactions[[col.CUSTOMER_ID, col.DATE, col.AMOUNT]].copy()
    tx[col.CUSTOMER_ID] = tx[col.CUSTOMER_ID].astype(str)
    tx = tx[tx[col.DATE] < end].sort_values([col.CUSTOMER_ID, col.DATE], kind="stable")
    pos = np.searchsorted(ids, tx[col.CUSTOMER_ID].to_numpy())
    pos = np.minimum(pos, ids.size - 1)
    known = ids[pos] == tx[col.CUSTOMER_ID].to_numpy()
    tx, pos = tx[known], pos[known]
    repeat = tx.duplicated(col.CUSTOMER_ID, keep="first").to_numpy()
    amount = tx[col.AMOUNT].to_numpy(float)
    if (amount[repeat] <= 0).any():
        raise LtvlabError("repeat transactions need positive amounts for the Gamma-Gamma spend model")
    treated = repeat & (tx[col.DATE].to_numpy() >= start.to_datetime64()) & (arm[pos] == 1)
    base = repeat & ~treated
    n0 = np.bincount(pos[base], minlength=ids.size).astype(float)
    n1 = np.bincount(pos[treated], minlength=ids.size).astype(float)
    s0 = np.bincount(pos[base], weights=amount[base], minlength=ids.size)
    s1 = np.bincount(pos[treated], weights=amount[treated], minlength=ids.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        m0 = np.where(n0 > 0, s0 / np.maximum(n0, 1), 0.0)
        m1 = np.where(n1 > 0, s1 / np.maximum(n1, 1), 0.0)
    return ArmSpendData(ids, segments, code, n0, m0, n1, m1)


def arm_spend_loglik(n0, m0, n1, m1, p, q, gamma, kappa, xp=np):
    """Per-customer log-likelihood of the module docstring (NumPy, or PyTensor with ``xp=pt``)."""
    lg = gammaln if xp is np else pt.gammaln
    n = n0 + n1
    log = xp.log

    def group(nj, mj):
        safe_n = np.where(nj > 0, nj, 1.0)
        safe_m = np.where(nj > 0, mj, 1.0)
        term = p * nj * np.log(safe_n) + (p * nj - 1.0) * np.log(safe_m) - lg(p * safe_n)
        return xp.switch(nj > 0, term, 0.0) if xp is pt else np.where(nj > 0, term, 0.0)

    return (
        lg(p * n + q)
        - lg(q)
        + q * log(gamma)
        - (p * n + q) * log(gamma + n0 * m0 + xp.exp(-kappa) * n1 * m1)
        - p * n1 * kappa
        + group(n0, m0)
        + group(n1, m1)
    )


@dataclass(frozen=True)
class ArmSpendFit:
    """Draws ``p, q, gamma`` ``(n_draws, n_segments)`` and ``kappa`` ``(n_draws, n_segments)``."""

    segments: tuple[str, ...]
    draws: dict[str, np.ndarray]
    diagnostics: Diagnostics
    method: str
    pooling: str
    effect_pooling: str
    seed: int
    warnings: tuple[str, ...] = ()

    @property
    def n_draws(self) -> int:
        return int(self.draws["p"].shape[0])


@dataclass(frozen=True)
class ArmSpendSpec:
    """Spec of the arm-aware Gamma-Gamma (see the module docstring)."""

    pooling: Literal["none", "complete"] = "complete"
    effect_pooling: Pooling = "none"
    coefficient_sd: float = DEFAULT_COEFFICIENT_SD
    effect_pooling_sd: float = EFFECT_POOLING_SD
    thresholds: DiagnosticThresholds = field(default_factory=DiagnosticThresholds)

    def __post_init__(self) -> None:
        if self.pooling not in ("none", "complete"):
            raise LtvlabError(
                f"pooling={self.pooling!r}: use 'none' or 'complete' for the spend base parameters"
            )
        if self.effect_pooling not in ("none", "complete", "partial"):
            raise LtvlabError(f"effect_pooling={self.effect_pooling!r}: use 'none', 'complete' or 'partial'")

    def _effect_pooling(self, data: ArmSpendData) -> str:
        return "complete" if len(data.segments) < 2 else self.effect_pooling

    def build(self, data: ArmSpendData) -> pm.Model:
        used = data.used
        if used.sum() < 2 or data.n1[used].sum() == 0:
            raise LtvlabError(
                "the spend model needs repeat transactions of treated customers after the assignment; "
                "none were found (check the assignment date, test end and arm column)"
            )
        kind = get_model(GammaGamma.kind_name, "spend")
        n = (data.n0 + data.n1)[used]
        mean = (data.n0 * data.m0 + data.n1 * data.m1)[used] / n
        priors = resolve_priors(kind, "default", {col.X: n, col.MONETARY: mean})
        seg = data.segment_code[used]
        n_seg = len(data.segments)
        effect_pooling = self._effect_pooling(data)
        with pm.Model(coords={"segment": list(data.segments)}) as model:
            base = {}
            for name, offset in zip(kind.param_names, kind.offsets, strict=True):
                mu0, sd0 = priors.normal[name]
                if self.pooling == "none":
                    eta = pm.Normal(f"log_{name}", mu0, sd0, dims="segment")
                else:
                    eta = pt.ones(n_seg) * pm.Normal(f"log_{name}", mu0, sd0)
                base[name] = pm.Deterministic(name, offset + pt.exp(eta), dims="segment")
            if effect_pooling == "partial":
                mu = pm.Normal("mu_kappa", 0.0, self.coefficient_sd)
                tau = pm.HalfNormal("tau_kappa", self.effect_pooling_sd)
                u = pm.Normal("u_kappa", 0.0, 1.0, dims="segment")
                kappa = pm.Deterministic("kappa", mu + tau * u, dims="segment")
            elif effect_pooling == "none":
                kappa = pm.Normal("kappa", 0.0, self.coefficient_sd, dims="segment")
            else:
                kappa = pm.Deterministic(
                    "kappa",
                    pt.ones(n_seg) * pm.Normal("kappa_shared", 0.0, self.coefficient_sd),
                    dims="segment",
                )
            ll = arm_spend_loglik(
                data.n0[used],
                data.m0[used],
                data.n1[used],
                data.m1[used],
                base["p"][seg],
                base["q"][seg],
                base["gamma"][seg],
                kappa[seg],
                xp=pt,
            )
            pm.Potential("loglik", pt.sum(ll))
        return model

    def gate_names(self, data: ArmSpendData) -> list[str]:
        names = ["p", "q", "gamma", "kappa"]
        if self._effect_pooling(data) == "partial":
            names += ["mu_kappa", "tau_kappa"]
        return names

    def fit(
        self,
        data: ArmSpendData,
        *,
        method: Literal["nuts", "map", "laplace"] = "nuts",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        seed: int = 2024,
        target_accept: float = 0.9,
    ) -> ArmSpendFit:
        if method not in ("nuts", "map", "laplace"):
            raise LtvlabError(f"method={method!r}: use 'nuts', 'map' or 'laplace'")
        model = self.build(data)
        names = self.gate_names(data)
        out = ("p", "q", "gamma", "kappa")
        _, samples, diagnostics = posterior_draws(
            model,
            out,
            names,
            method=method,
            thresholds=self.thresholds,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler="nutpie",
            progressbar=False,
            target_accept=target_accept,
            cores=1,
            max_treedepth=10,
        )
        warn_if_failed(diagnostics, "Gamma-Gamma spend with the treatment arm")
        return ArmSpendFit(
            segments=data.segments,
            draws={k: np.asarray(v, float) for k, v in samples.items()},
            diagnostics=diagnostics,
            method=method,
            pooling=self.pooling,
            effect_pooling=self._effect_pooling(data),
            seed=seed,
        )
