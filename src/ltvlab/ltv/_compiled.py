"""nutpie's compiled model with its two C callbacks cached on disk, so a model compiled once is not compiled again.

``nutpie.compile_pymc_model`` turns a PyMC model into a log-density + gradient function and an "expand" function
(the draws of the deterministics), both compiled by PyTensor's Numba backend, and then wraps each in a C callback
(``numba.cfunc``) that nuts-rs calls. PyTensor caches its part on disk; nutpie's callbacks are closures over the
data and are compiled again in every process. On CDNOW that recompilation is ~6-8 s CPU per model against 0.6 s
of sampling: the per-process "compile tax" of every CLI call, notebook run and report batch.

:func:`compile_model` builds the same :class:`nutpie.compile_pymc.CompiledPyMCModel` (same functions, same
sampler) but generates the two callbacks as source that reads the shared data through the ``user_data`` pointer
(a flat ``uint64`` array of addresses, sizes and shapes) instead of closing over them. Its only globals are the
PyTensor-compiled functions, so Numba can cache the callbacks in PyTensor's Numba cache directory, keyed by the
PyTensor function's own cache key (model structure and constants), the shared arrays' dtypes and ranks, the
sizes and the versions of Numba and of this generator. A second process with the same model loads both from
disk in milliseconds.

The cache lives where PyTensor keeps its compiled code (``LTVLAB_CACHE_DIR`` moves it, see
:mod:`ltvlab._config`). Numba writes each cache entry to a temporary file and renames it into place, so two
processes that fill the cache at once each end up with a complete entry (``tests/ltv/test_compiled.py``).

One thing stood in the way: PyTensor cannot cache any function that calls a SciPy Cython special function
through a pointer, and the gradient of every log-gamma in our likelihoods is a digamma (``Psi``). The module
registers a Numba digamma of its own for ``Psi`` (recurrence to x >= 10, then the asymptotic series; reflection
for x < 0), equal to SciPy's to 1e-13 relative on (0, 1e8] and 1e-11 on negative non-integers (test), which makes
those graphs cacheable. A model that still contains an uncacheable operation is compiled by nutpie itself, as
before, and :func:`compile_model` says so in ``CompiledModelInfo.cached``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

import numba
import numpy as np
import pymc as pm
from nutpie.compile_pymc import (
    CompiledPyMCModel,
    _make_functions,
    _prepare_dims_and_coords,
    _wrap_with_lock,
    address_as_void_pointer,
)
from pymc.initial_point import make_initial_point_fn
from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src
from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key
from pytensor.link.numba.dispatch.scalar import scalar_op_cache_key
from pytensor.scalar.math import Psi

__all__ = ["CompiledModelInfo", "compile_model", "digamma", "uncacheable_operations"]

_log = logging.getLogger(__name__)

# Bumped whenever the generated callback source changes, so an old cache entry is never loaded for new code.
_GENERATOR_VERSION = 1


# --- a cacheable digamma -----------------------------------------------------------------------------------------


@numba.njit(cache=True)
def digamma(x: float) -> float:
    """psi(x) = d log Gamma(x) / dx in pure Numba (cacheable); NaN at the poles x = -1, -2, ..., -inf at 0."""
    if math.isnan(x):
        return math.nan
    shift = 0.0
    if x <= 0.0:
        if x == 0.0:
            return -math.inf
        if x == math.floor(x):
            return math.nan
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        shift = -math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    acc = 0.0
    while x < 10.0:  # psi(x) = psi(x + 1) - 1 / x
        acc -= 1.0 / x
        x += 1.0
    # psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k), k = 1..7; the next term is below 1e-17 at x >= 10
    f = 1.0 / (x * x)
    series = f * (
        -1.0 / 12.0
        + f
        * (
            1.0 / 120.0
            + f * (-1.0 / 252.0 + f * (1.0 / 240.0 + f * (-1.0 / 132.0 + f * (691.0 / 32760.0 - f / 12.0))))
        )
    )
    return shift + acc + math.log(x) - 0.5 / x + series


@register_funcify_and_cache_key(Psi)
def _numba_funcify_psi(op, node, **kwargs):
    return digamma, scalar_op_cache_key(op, implementation=f"ltvlab-digamma-{_GENERATOR_VERSION}")


# --- the callbacks -----------------------------------------------------------------------------------------------

_LOGP_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
_EXPAND_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


def _user_data(names: list[str], shared: dict[str, np.ndarray]) -> np.ndarray:
    """The ``user_data`` both callbacks receive: per shared array its address, size and shape, in ``names`` order."""
    entries: list[int] = []
    for name in names:
        value = shared[name]
        entries += [value.ctypes.data, value.size, *value.shape]
    return np.asarray(entries or [0], dtype=np.uint64)


def _unpack_source(names: list[str], shared: dict[str, np.ndarray]) -> tuple[list[str], list[str], int]:
    """Source lines that rebuild each shared array from ``user_data``, the array names, and the entry count."""
    lines, arrays, offset = [], [], 0
    for i, name in enumerate(names):
        value = shared[name]
        dtype = value.dtype.type.__name__
        shape = ", ".join(f"meta[{offset + 2 + j}]" for j in range(value.ndim))
        shape += "," if value.ndim == 1 else ""
        lines.append(
            f"    a{i} = numba.carray(address_as_void_pointer(meta[{offset}]), (meta[{offset + 1}],), np.{dtype})"
        )
        lines.append(f"    a{i} = a{i}.reshape(({shape}))")
        arrays.append(f"a{i}")
        offset += 2 + value.ndim
    return lines, arrays, max(offset, 1)


_LOGP_TEMPLATE = """def ltvlab_logp(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    meta = numba.carray(address_as_void_pointer(user_data_), ({n_meta},), np.uint64)
{unpack}
    x = numba.carray(x_, ({n_dim},))
    out = numba.carray(out_, ({n_dim},))
    logp = numba.carray(logp_, ())
    try:
        logp_val, grad = inner({args})
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_EXPAND_TEMPLATE = """def ltvlab_expand(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    meta = numba.carray(address_as_void_pointer(user_data_), ({n_meta},), np.uint64)
{unpack}
    x = numba.carray(x_, ({n_dim},))
    out = numba.carray(out_, ({n_expanded},))
    try:
        (values,) = inner({args})
        out[...] = values
    except Exception:
        return -2
    return 0
"""


def _callback(
    template: str,
    name: str,
    signature,
    inner,
    used: list[str],
    names: list[str],
    shared: dict[str, np.ndarray],
    n_dim: int,
    n_expanded: int,
):
    """Generate, compile (or load from the cache) one callback; returns it and whether it is cached."""
    unpack, arrays, n_meta = _unpack_source(names, shared)
    args = ", ".join(["x", *(arrays[names.index(u)] for u in used)])
    source = template.format(
        n_dim=n_dim, n_expanded=n_expanded, n_meta=n_meta, unpack="\n".join(unpack), args=args
    )
    inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
    key = None
    if inner_key is not None:
        text = "|".join(
            [f"ltvlab-nutpie-{name}-{_GENERATOR_VERSION}", numba.__version__, str(inner_key), source]
            + [f"{shared[n].dtype.str}:{shared[n].ndim}" for n in names]
        )
        key = hashlib.sha256(text.encode()).hexdigest()
    env = {"__name__": __name__, "numba": numba, "np": np, "inner": inner}
    env["address_as_void_pointer"] = address_as_void_pointer
    function = compile_numba_function_src(source, name, env, cache_key=key)
    return numba.cfunc(signature, cache=key is not None)(function), key is not None


@dataclass(frozen=True)
class CompiledModelInfo:
    """How :func:`compile_model` went: whether the callbacks are disk-cached, and the seconds each phase took."""

    cached: bool
    functions_seconds: float  # PyTensor: graph, gradient, rewrites, Numba (from PyTensor's cache when warm)
    callbacks_seconds: float  # the two C callbacks (loaded from disk when cached and warm)


def uncacheable_operations(model: pm.Model) -> list[str]:
    """The operations of ``model``'s log density and gradient that PyTensor's Numba backend cannot cache
    (empty when :func:`compile_model` will cache it); from the rewritten graph, without compiling anything."""
    import pytensor
    from pytensor.graph.fg import FunctionGraph

    logp = model.logp()
    grads = pytensor.gradient.grad(logp, model.value_vars)
    outputs = pytensor.graph.rewrite_graph(
        [logp, *grads], include=("canonicalize", "stabilize", "specialize")
    )
    return _uncacheable_ops(FunctionGraph(outputs=outputs, clone=True))


def _uncacheable_ops(*functions) -> list[str]:
    """Names of the operations (inside fused element-wise ones too) that PyTensor's Numba backend cannot cache,
    in compiled functions or function graphs (empty when every operation has a cache key)."""
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key
    from pytensor.scalar.basic import Composite
    from pytensor.tensor.elemwise import Elemwise

    found: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            op = node.op
            if isinstance(op, Elemwise) and isinstance(op.scalar_op, Composite):
                visit(op.scalar_op.fgraph.toposort())
                continue
            try:
                key = numba_funcify_and_cache_key(op, node=node)[1]
            except Exception:  # an op Numba cannot even convert is as uncacheable
                key = None
            if key is None:
                found.add(type(getattr(op, "scalar_op", op)).__name__)

    for function in functions:
        visit((function.maker.fgraph if hasattr(function, "maker") else function).toposort())
    return sorted(found)


def compile_model(model: pm.Model) -> tuple[CompiledPyMCModel, CompiledModelInfo]:
    """nutpie's compiled model of ``model`` with disk-cached callbacks (same functions as nutpie's own).

    When PyTensor cannot cache the model's log-density (an operation without a cache key), the callbacks are
    compiled in this process only, as nutpie's own are (``info.cached`` False; the log says which operations).
    """
    start = time.perf_counter()
    point_function = _wrap_with_lock(
        make_initial_point_fn(
            model=model,
            overrides=None,
            default_strategy="support_point",
            jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )
    n_dim, n_expanded, logp_fn, expand_fn, initial_point, shape_info = _make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=point_function,
    )
    functions = time.perf_counter() - start
    logp_inner, expand_inner = logp_fn.vm.jit_fn, expand_fn.vm.jit_fn
    if any(CACHED_SRC_FUNCTIONS.get(getattr(f, "py_func", None)) is None for f in (logp_inner, expand_inner)):
        names = _uncacheable_ops(logp_fn, expand_fn) or ["an operation without a cache key"]
        _log.info("nutpie callbacks not cached: PyTensor cannot cache %s", ", ".join(names))
    shared: dict[str, np.ndarray] = {}
    for variable in [*logp_fn.get_shared(), *expand_fn.get_shared()]:
        if variable.name in shared:
            continue
        value = np.array(variable.get_value(), order="C", copy=True)
        value.flags.writeable = False
        shared[variable.name] = value
    names = list(shared)
    logp_used = [v.name for v in logp_fn.get_shared()]
    expand_used = [v.name for v in expand_fn.get_shared()]
    logp_c, logp_cached = _callback(
        _LOGP_TEMPLATE,
        "ltvlab_logp",
        _LOGP_SIGNATURE,
        logp_inner,
        logp_used,
        names,
        shared,
        n_dim,
        n_expanded,
    )
    expand_c, expand_cached = _callback(
        _EXPAND_TEMPLATE,
        "ltvlab_expand",
        _EXPAND_SIGNATURE,
        expand_inner,
        expand_used,
        names,
        shared,
        n_dim,
        n_expanded,
    )
    dims, coords = _prepare_dims_and_coords(model, shape_info)
    compiled = CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_c,
        compiled_expand_func=expand_c,
        initial_point_func=initial_point,
        shared_data=shared,
        user_data=_user_data(names, shared),
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn,
        expand_func=expand_fn,
    )
    callbacks = time.perf_counter() - start - functions
    return compiled, CompiledModelInfo(logp_cached and expand_cached, functions, callbacks)
