"""Build the PyMC model of a registered model with a pooling mode, and run MAP or NUTS on it."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from threadpoolctl import threadpool_limits

from ltvlab.errors import LtvlabError
from ltvlab.ltv._data import Compressed, distinct_rows
from ltvlab.ltv._fused import data_variable
from ltvlab.ltv.covariates import Covariates, coefficient_names, from_columns
from ltvlab.ltv.priors import Pooling, Priors
from ltvlab.ltv.registry import ModelDef


def _eta(
    kind: ModelDef,
    name: str,
    pooling: Pooling,
    priors: Priors,
    dims: str,
    centered: bool | np.ndarray = False,
    split_mean: bool = True,
) -> pt.TensorVariable:
    """The unconstrained eta of one parameter: scalar (complete) or one per segment.

    ``split_mean``: see :func:`noncentred`.

    Partial pooling is non-centred (``eta = mu + sigma * z``) unless ``centered``: then ``eta ~ Normal(mu, sigma)``
    directly, which samples far better when every segment's data pin its parameters down (large segments). An
    array of per-segment weights in ``[0, 1]`` gives the partially non-centred form of
    :mod:`ltvlab.ltv._parametrize` (``eta_tilde ~ Normal(w mu, sigma**w)``, ``eta = mu + sigma**(1-w) (eta_tilde
    - w mu)``); all-ones and all-zeros weights are the centred and non-centred forms.
    """
    eta_name = kind.eta_name(name)
    mu0, sd0 = priors.normal[name]
    # the prior centre is set from the data (e.g. alpha's from the time scale): shared, so it does not key the cache
    mu0 = data_variable(np.array([mu0], dtype=float), f"prior_mu_{eta_name}")[0]
    if pooling == "complete":
        return pm.Flat(eta_name) if priors.flat else pm.Normal(eta_name, mu0, sd0)
    if pooling == "none":
        return pm.Flat(eta_name, dims=dims) if priors.flat else pm.Normal(eta_name, mu0, sd0, dims=dims)
    if not isinstance(centered, bool):
        w = np.asarray(centered, dtype=float)
        centered = True if np.all(w == 1.0) else False if np.all(w == 0.0) else w
    if centered is False:
        eta = noncentred(
            eta_name, mu0, None if priors.flat else sd0, dims, priors.pooling_sd, split_mean=split_mean
        )
        return pm.Deterministic(eta_name, eta, dims=dims)
    mu = pm.Flat(f"mu_{eta_name}") if priors.flat else pm.Normal(f"mu_{eta_name}", mu0, sd0)
    sigma = pm.HalfNormal(f"sigma_{eta_name}", priors.pooling_sd)
    if centered is True:
        return pm.Normal(eta_name, mu, sigma, dims=dims)
    w = data_variable(centered, f"centering_{eta_name}")  # chosen from the data: shared, as the prior centre
    tilde = pm.Normal(f"pnc_{eta_name}", w * mu, sigma**w, dims=dims)
    return pm.Deterministic(eta_name, mu + sigma ** (1.0 - w) * (tilde - w * mu), dims=dims)


def noncentred(
    eta_name: str,
    mu0,
    sd0: float | None,
    dims: str | tuple[str, ...],
    sigma_sd: float,
    *,
    sigma_name: str | None = None,
    mu_name: str | None = None,
    split_mean: bool = True,
) -> pt.TensorVariable:
    """Non-centred partial pooling, ``eta_s = mu + sigma z_s`` with ``z_s ~ Normal(0, 1)``, ``mu ~ Normal(mu0,
    sd0)`` (flat when ``sd0`` is None) and ``sigma ~ HalfNormal(sigma_sd)``, sampled with the segments' mean split
    off when ``split_mean`` (for NUTS; MAP and Laplace fits take the plain form, whose mode is the one they report,
    with its variables made in the order ``mu``, ``sigma``, ``z``; one segment has no mean to split).

    ``mu`` and the mean of the ``z_s`` enter the likelihood only through ``m = mu + sigma * mean(z)``, a ridge NUTS
    crosses slowly when segments are few (3 CDNOW cohorts: min bulk ESS 310-360 and 1-5 divergences in 2 x 1,000
    draws). Writing ``z = mean(z) + (z - mean(z))``, the deviations are ``ZeroSumNormal(1)`` independent of the mean,
    so the same joint distribution is ``eta_s = m + sigma zsum_s`` with ``m | sigma ~ Normal(mu0, sqrt(sd0**2 +
    sigma**2 / n))``; ``mu`` given ``(m, sigma)`` is Normal with mean ``mu0 + k (m - mu0)`` and variance ``k
    sigma**2 / n``, ``k = sd0**2 / (sd0**2 + sigma**2 / n)`` (``k = 1`` under a flat prior), drawn by one extra
    standard normal the likelihood never sees. The posterior of ``(mu, sigma, eta)`` is the one of the plain
    form. ``dims``: the segment dimension last; leading dimensions are batch (one ``mu``, ``sigma`` each).
    Returns the expression of ``eta`` (the caller names it); registers ``mu_name`` (default ``mu_<eta_name>``) and
    ``sigma_name`` (default ``sigma_<eta_name>``).
    """
    dims = (dims,) if isinstance(dims, str) else tuple(dims)
    batch = dims[:-1] or None
    model = pm.modelcontext(None)
    n = len(model.coords[dims[-1]])
    mu_name = f"mu_{eta_name}" if mu_name is None else mu_name
    sigma_name = f"sigma_{eta_name}" if sigma_name is None else sigma_name
    if n < 2 or not split_mean:
        mu = pm.Flat(mu_name, dims=batch) if sd0 is None else pm.Normal(mu_name, mu0, sd0, dims=batch)
        sigma = pm.HalfNormal(sigma_name, sigma_sd, dims=batch)
        z = pm.Normal(f"z_{eta_name}", 0.0, 1.0, dims=dims)
        return pt.shape_padright(mu) + pt.shape_padright(sigma) * z
    sigma = pm.HalfNormal(sigma_name, sigma_sd, dims=batch)
    spread2 = sigma**2 / n  # variance of sigma * mean(z)
    if sd0 is None:
        m = pm.Flat(f"mean_{eta_name}", dims=batch)
        k, mu0 = 1.0, 0.0
    else:
        m = pm.Normal(f"mean_{eta_name}", mu0, pt.sqrt(sd0**2 + spread2), dims=batch)
        k = sd0**2 / (sd0**2 + spread2)
    u = pm.Normal(f"u_{eta_name}", 0.0, 1.0, dims=batch)
    pm.Deterministic(mu_name, mu0 + k * (m - mu0) - pt.sqrt(k * spread2) * u, dims=batch)
    zsum = pm.ZeroSumNormal(f"z_{eta_name}", 1.0, dims=dims)
    return pt.shape_padright(m) + pt.shape_padright(sigma) * zsum


def build_model(
    kind: ModelDef,
    data: Compressed,
    pooling: Pooling,
    priors: Priors,
    labels: tuple[str, ...],
    centered: bool | Mapping[str, np.ndarray] = False,
    covariates: Covariates | None = None,
    split_mean: bool = True,
) -> pm.Model:
    """PyMC model whose log-density is ``sum_rows weight * loglik(row | theta[cell of row])`` + priors.

    A cell is a segment, or with ``covariates`` a distinct ``(segment, z)``: its parameters are the segment's
    scaled by ``exp(+-gamma . z)`` (:mod:`ltvlab.ltv.covariates`); ``data.values`` then holds the standardised
    covariates as columns made by :func:`ltvlab.ltv.covariates.as_columns`.
    """
    coords: dict[str, list[str]] = {"segment": list(labels)}
    if covariates is not None:
        coords.update(
            {"purchase_covariate": list(covariates.purchase), "dropout_covariate": list(covariates.dropout)}
        )
    seg = data.segment_code if pooling != "complete" else np.zeros(data.n_rows, dtype=np.int64)
    with pm.Model(coords=coords) as model:
        cell_params = {}
        for name, offset in zip(kind.param_names, kind.offsets, strict=True):
            form = centered if isinstance(centered, bool) else centered[name]
            eta = _eta(kind, name, pooling, priors, "segment", form, split_mean)
            if pooling == "complete":
                theta = pm.Deterministic(name, offset + pt.exp(eta))
            else:
                theta = pm.Deterministic(name, offset + pt.exp(eta), dims="segment")
            cell_params[name] = pt.atleast_1d(theta)
        codes = seg
        if covariates is not None:
            codes, cell_segment, z = covariate_cells(data, seg, covariates)
            cell_params = {name: theta[cell_segment] for name, theta in cell_params.items()}
            for name in coefficient_names(kind.name, covariates):
                target, sign, which = kind.coefficients[name]
                dims = f"{which}_covariate"
                coef = (
                    pm.Flat(name, dims=dims)
                    if priors.flat
                    else pm.Normal(name, 0.0, priors.coefficient_sd, dims=dims)
                )
                cell_params[target] = cell_params[target] * pt.exp(
                    sign * pt.dot(z[:, covariates.positions(which)], coef)
                )
        thetas = [cell_params[name] for name in kind.param_names]
        one_cell = pooling == "complete" and covariates is None
        pm.Potential("loglik", total_loglik(kind, data, thetas, codes, one_cell=one_cell))
    return model


def total_loglik(
    kind: ModelDef, data: Compressed, thetas: list, codes: np.ndarray, *, one_cell: bool = False
) -> pt.TensorVariable:
    """The weighted log-likelihood of the rows ``data`` as a PyTensor scalar: ``thetas`` are the parameter vectors
    per cell and ``codes`` the cell of each row (``one_cell``: a single parameter set, broadcast as scalars)."""
    if kind.total_loglik_pt is not None:  # the model's own (faster) builder, e.g. BG/NBD's fused kernel
        return kind.total_loglik_pt(data, thetas, codes)
    columns = [data_variable(data.values[c], f"row_{c}") for c in kind.data_columns]
    if one_cell:
        per_row = [theta[0] for theta in thetas]  # no gather
    else:
        cell = data_variable(np.asarray(codes, dtype=np.int64), "row_cell")
        per_row = [theta[cell] for theta in thetas]
    loglik = kind.loglik_pt(*columns, *per_row)
    return pt.sum(data_variable(data.weight, "row_weight") * loglik)


def covariate_cells(
    data: Compressed, seg: np.ndarray, covariates: Covariates
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell of each row, segment of each cell and the cells' standardised covariates ``(n_cells, k)``."""
    keys = np.column_stack([seg.astype(float), from_columns(data.values, data.n_rows)])
    uniq, codes = distinct_rows(keys)
    return np.asarray(codes, dtype=np.int64).reshape(-1), uniq[:, 0].astype(np.int64), uniq[:, 1:]


def free_and_theta_names(
    kind: ModelDef, pooling: Pooling, covariates: Covariates | None = None
) -> tuple[str, ...]:
    """Variables checked by the diagnostics gate: the parameters, under partial pooling the hyperparameters,
    and any covariate coefficients."""
    names = list(kind.param_names)
    if pooling == "partial":
        for name in kind.param_names:
            names += [f"mu_{kind.eta_name(name)}", f"sigma_{kind.eta_name(name)}"]
    return (*names, *coefficient_names(kind.name, covariates))


def run_map(model: pm.Model, seed: int, maxeval: int = 50_000) -> tuple[dict[str, np.ndarray], bool, str]:
    """MAP point (including deterministics), whether the optimiser converged, and its message."""
    options = {"seed": seed, "progressbar": False, "maxeval": maxeval, "return_raw": True}
    with model:
        point, result = pm.find_MAP(**options)
        if str(getattr(result, "message", "")).startswith("ABNORMAL"):
            # L-BFGS-B's line search found no decrease along the direction its curvature memory gave; one restart
            # from that point with the memory cleared tells a stalled search (it then converges) from a real failure
            point, result = pm.find_MAP(start={v.name: point[v.name] for v in model.value_vars}, **options)
    converged = bool(getattr(result, "success", True))
    message = str(getattr(result, "message", ""))
    values = {k: np.asarray(v, dtype=float) for k, v in point.items()}
    if not all(np.all(np.isfinite(v)) for v in values.values()):
        raise LtvlabError(
            "MAP optimisation produced non-finite parameters; the data may not identify the model"
        )
    return values, converged, message


def run_nuts(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    sampler: str,
    progressbar: bool,
    target_accept: float,
    cores: int,
    max_treedepth: int,
):
    """NUTS with PyMC's sampler or nutpie; returns arviz InferenceData. Chains that run side by side sample
    with one BLAS thread each."""
    if sampler not in ("nutpie", "pymc"):
        raise LtvlabError(f"sampler={sampler!r}: use 'nutpie' or 'pymc'")
    # nutpie's low-rank modified mass matrix learns the strong posterior correlations of BTYD parameters
    # (r with alpha, a with b); on CDNOW master it cut gradient evaluations per draw ~3x and raised the
    # min bulk ESS ~5x (benchmarks/RESULTS.md).
    # nutpie takes its options through nuts_sampler_kwargs, PyMC's own NUTS through its step-method kwargs.
    if sampler == "nutpie":
        return _run_nutpie(
            model,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            progressbar=progressbar,
            target_accept=target_accept,
            max_treedepth=max_treedepth,
        )
    extra = {"nuts": {"max_treedepth": max_treedepth}}
    # PyMC runs parallel chains in forked processes, which inherit the parent's BLAS thread limit (see nutpie's
    # below); one chain at a time may keep the machine's BLAS threads
    limit = 1 if cores > 1 and chains > 1 else None
    with model, threadpool_limits(limits=limit, user_api="blas"):
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=seed,
            nuts_sampler=sampler,
            progressbar=progressbar,
            target_accept=target_accept,
            compute_convergence_checks=False,
            **extra,
        )


def _run_nutpie(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    progressbar: bool,
    target_accept: float,
    max_treedepth: int,
):
    """nutpie on the disk-cached compiled model of :mod:`ltvlab.ltv._compiled`; the same draws as
    ``pm.sample(nuts_sampler="nutpie")`` with the same seed (the seed is derived as PyMC derives it)."""
    import nutpie
    from pymc.util import _get_seeds_per_chain

    from ltvlab.ltv._compiled import compile_model

    compiled, info = compile_model(model)
    start = time.time()
    # The chains already occupy the cores. A BLAS call inside the log-density (a covariate matrix product) would
    # otherwise wake OpenBLAS's own threads, which spin after each call and take CPU from the other chain: at
    # 100,000 customers with contact covariates a gradient took 19 ms inside the sampler against 12 ms alone.
    with threadpool_limits(limits=1, user_api="blas"):
        idata = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            target_accept=target_accept,
            seed=_get_seeds_per_chain(seed, 1)[0],
            progress_bar=progressbar,
            low_rank_modified_mass_matrix=True,
            maxdepth=max_treedepth,
        )
    idata.posterior.attrs["sampling_time"] = time.time() - start
    idata.posterior.attrs["tuning_steps"] = tune
    idata.posterior.attrs["compile_seconds"] = info.functions_seconds + info.callbacks_seconds
    idata.posterior.attrs["compile_cached"] = int(info.cached)
    return idata
