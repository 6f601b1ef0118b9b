"""The registry of lifetime-value models: one :class:`ModelDef` per model, declared in the model's own module.

A model module (:mod:`ltvlab.ltv.bgnbd`, :mod:`ltvlab.ltv.mbgnbd`, :mod:`ltvlab.ltv.pnbd`,
:mod:`ltvlab.ltv.gamma_gamma`) declares its parameters, how their default priors are centred, its likelihood
(NumPy for reported log-likelihoods, PyTensor for fitting, optionally a faster custom PyTensor builder), its
predictions and its simulator, and registers them with :func:`register`. Everything else -- fitting in every
pooling mode, covariates, scoring in memory / Parquet / Spark, holdout validation, predictive draws,
incremental CLV, the command line and the notebooks -- looks a model up by name with :func:`get_model` and
calls what it declares; nothing outside the model modules branches on a model's name.

>>> from ltvlab.ltv import registered_models, model_spec      # doctest: +SKIP
>>> registered_models()                                        # doctest: +SKIP
('bgnbd', 'mbgnbd', 'paretonbd')
>>> spec = model_spec("mbgnbd", pooling="complete")           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ltvlab.errors import LtvlabError

__all__ = [
    "DEFAULT_PURCHASE_MODEL",
    "DEFAULT_SPEND_MODEL",
    "ModelDef",
    "get_model",
    "model_spec",
    "register",
    "registered_models",
]

# "purchase": continuous-time purchase/dropout models on (x, t_x, T); "discrete": discrete transaction
# opportunities (T = number of opportunities, whole numbers); "contractual": retention of subscriptions (x =
# cancelled, T = periods); "spend": transaction value models.
Role = Literal["purchase", "discrete", "contractual", "spend"]
DEFAULT_PURCHASE_MODEL = "bgnbd"  # the command line's and notebooks' default
DEFAULT_SPEND_MODEL = "gamma_gamma"


@dataclass(frozen=True)
class ModelDef:
    """What the shared machinery needs to know about one model.

    Parameters are positive, modelled as ``theta = offset + exp(eta)``; ``scale`` says which data scale centres
    each default prior (``"time"``: mean ``T``; ``"money"``: mean repeat spend; ``None``: a unit-free default).

    Purchase models (``role="purchase"``) take ``(x, t_x, T)`` and declare, with ``*params`` in
    ``param_names`` order, each broadcasting ``(draws, 1)`` parameters against ``(n,)`` customers:

    - ``p_alive(x, t_x, T, *params)``: P(alive at ``T``);
    - ``expected_purchases(t, x, t_x, T, *params)``: E[purchases in ``(T, T + t]``];
    - ``expected_purchases_new(t, *params)``: E[purchases in ``(0, t]``] of a customer just acquired;
    - ``holdout_pmf(k, t, x, t_x, T, *params, p_alive)``: P(``k`` purchases in ``(T, T + t]``);
    - ``simulate_counts(rng, params, sims, x, t_x, T, horizon)``: purchases per future period,
      ``(n_periods, draws * sims, n)``, from the model's own generative process;
    - ``simulate_calibration(rng, params, T)``: ``x`` of customers observed for ``T`` (prior predictive);
    - ``strategy_purchases(x, t_x, T, params, rate_multiplier, dropout_multiplier)``: ``t -> E[purchases in
      (T, T + t]]`` when a strategy multiplies the purchase (and dropout) rate from ``T`` on;
    - ``coefficients``: covariate coefficient name -> (parameter it scales, sign, ``"purchase"``/``"dropout"``).

    ``score_kernel`` names the compiled kernel that computes the same ``p_alive`` and ``expected_purchases``
    for the scoring engine (:mod:`ltvlab.ltv.engine`).

    The spend model (``role="spend"``) takes ``(x, monetary)`` and declares ``expected_spend(x, monetary,
    *params)``.

    Contractual models (``role="contractual"``) take ``(x, T)`` (x = 1: cancelled at the end of period ``T``)
    and declare, broadcasting like the purchase models, ``survival(t, *params)`` (share of a cohort still active
    after ``t`` periods) and ``retention_rate(t, *params)`` (``S(t) / S(t - 1)``, ``t >= 1``); optionally
    ``residual_lifetime(n, *params, discount_rate=d)``, the discounted expected number of further periods of a
    customer active in period ``n`` in closed form (without it, the projections sum the survival curve).
    """

    name: str
    label: str
    role: Role
    param_names: tuple[str, ...]
    data_columns: tuple[str, ...]
    loglik: Callable[..., Any]
    loglik_pt: Callable[..., Any]
    offsets: tuple[float, ...]
    scale: tuple[str | None, ...]
    spec: type | None = None
    reference: str = ""
    # Custom PyTensor builder of the weighted total log-likelihood, (Compressed rows, [theta per cell], cell of
    # each row) -> scalar; None uses ``sum(weight * loglik_pt(...))``.
    total_loglik_pt: Callable[..., Any] | None = None
    # The same total at many parameter sets in NumPy, (Compressed rows, [theta (draws, cells)], cell of each row)
    # -> (draws,); None evaluates ``loglik`` per row and draw (the posterior-mean log-likelihood of a fit).
    total_loglik_draws: Callable[..., Any] | None = None
    p_alive: Callable[..., Any] | None = None
    expected_purchases: Callable[..., Any] | None = None
    expected_purchases_new: Callable[..., Any] | None = None
    holdout_pmf: Callable[..., Any] | None = None
    simulate_counts: Callable[..., Any] | None = None
    simulate_calibration: Callable[..., Any] | None = None
    strategy_purchases: Callable[..., Any] | None = None
    expected_spend: Callable[..., Any] | None = None
    survival: Callable[..., Any] | None = None
    retention_rate: Callable[..., Any] | None = None
    residual_lifetime: Callable[..., Any] | None = None
    # The compiled scoring kernel of :mod:`ltvlab.ltv._score_kernels` (``*_KERNEL``) that evaluates p_alive and
    # expected_purchases row by row; None: the model is not scored by the engine.
    score_kernel: int | None = None
    # How the dated synthetic CRM simulates this model (a ltvlab.data.synthetic_processes.DatedProcess); None:
    # ``generate_crm`` does not offer it.
    dated_process: Any | None = None
    coefficients: Mapping[str, tuple[str, float, str]] = field(default_factory=dict)

    def eta_name(self, param: str) -> str:
        offset = self.offsets[self.param_names.index(param)]
        return f"log_{param}" if offset == 0 else f"log_{param}_minus_{offset:g}"

    @property
    def accepts_covariates(self) -> bool:
        return bool(self.coefficients)


_MODELS: dict[str, ModelDef] = {}


def register(model: ModelDef) -> ModelDef:
    """Add a model to the registry (called by each model module at import); a name is registered once."""
    existing = _MODELS.get(model.name)
    if existing is not None and existing is not model:
        raise LtvlabError(f"a model named {model.name!r} is already registered")
    _MODELS[model.name] = model
    return model


def _load() -> None:
    # The model modules register themselves on import; importing the package imports them all.
    import ltvlab.ltv  # noqa: F401


def registered_models(role: Role | None = "purchase") -> tuple[str, ...]:
    """Names of the registered models of a role (``"purchase"``, ``"spend"`` or None for all), sorted."""
    _load()
    return tuple(sorted(name for name, m in _MODELS.items() if role is None or m.role == role))


def get_model(name: str, role: Role | None = None) -> ModelDef:
    """The :class:`ModelDef` named ``name``; an unknown name (or one of another role) raises LtvlabError."""
    _load()
    model = _MODELS.get(str(name))
    if model is None:
        raise LtvlabError(
            f"model {name!r} is not supported: no such model is registered; use one of "
            f"{list(registered_models(role))}"
        )
    if role is not None and model.role != role:
        raise LtvlabError(
            f"model {name!r} is not supported here: it is a {model.role} model, this needs a {role} model "
            f"({', '.join(registered_models(role))})"
        )
    return model


def model_spec(name: str, **options: Any) -> Any:
    """The spec of model ``name`` with ``options`` (pooling, segment, priors, covariates, ...), ready to fit."""
    return get_model(name).spec(**options)
