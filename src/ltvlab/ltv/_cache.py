"""Compiled NUTS log-density + gradient, cached on disk and reused by every process that fits the same structure.

nutpie compiles a PyMC model in two steps: PyTensor turns the log-density and its gradient into Numba
functions (which PyTensor caches on disk, keyed by the graph's structure, when the graph embeds no large
constants), and nutpie wraps them in a C callback with ``numba.cfunc``, which Numba cannot cache: nutpie's
wrapper is a closure over the model's data. Compiling that callback was ~85% of a CDNOW-master BG/NBD fit, and
every process paid it again (``benchmarks/compile_cache.py`` measures it).

Here the callback is generated as source text from what it needs to know (number of parameters, rank and dtype
of each data array) and registered with PyTensor's Numba cache locator under a key made of that text and the
key PyTensor gives the log-density graph, so Numba stores the compiled callback next to PyTensor's and any
later process building a model of the same structure loads it instead of compiling. The data are never
compiled in: :func:`ltvlab.ltv._build.share_data` turns them into shared variables and the callback reads
them through nutpie's ``user_data`` pointer, so refitting on other customers of the same model, pooling and
segment count hits the cache too.

Configuration (environment variables, read when ltvlab is imported, before PyTensor; see :mod:`ltvlab._config`):

- ``LTVLAB_CACHE_DIR``: directory of the compile cache (PyTensor's ``base_compiledir``; Numba's entries in its
  ``numba`` folder). Default: PyTensor's (``~/.pytensor``) unless ``PYTENSOR_FLAGS`` sets ``base_compiledir``.
- ``LTVLAB_COMPILE_CACHE=0``: compile with nutpie's own (uncached) path instead.

Two processes filling the cache at once are safe: Numba writes each entry to a temporary file and renames it
into place, so a reader sees a complete entry or none (then compiles itself); ``tests/ltv/test_compile_cache.py``
runs two fits at once on an empty cache. Fits through the cache give the same draws as nutpie's own compilation
for the same seed (same test).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["cache_enabled", "compile_nutpie"]

DISABLE_ENV = "LTVLAB_COMPILE_CACHE"
# Bumped whenever the generated callback source changes meaning without changing its text.
_WRAPPER_VERSION = 2


def cache_enabled() -> bool:
    """Whether NUTS fits use the on-disk compile cache (``LTVLAB_COMPILE_CACHE`` not ``0``/``false``/``no``)."""
    return os.environ.get(DISABLE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _register_cacheable_psi() -> None:
    """Let PyTensor cache graphs that contain digamma (the gradient of every ``gammaln``).

    PyTensor's Numba backend calls SciPy's compiled ``psi`` through a function pointer, which Numba refuses to
    cache, so any graph with a gradient of ``gammaln`` was recompiled in every process. This implementation
    calls the same SciPy function (so values are bit-identical) through PyTensor's pointer-caching intrinsic,
    which looks the pointer up at run time, and gives the Op a cache key. Double precision only; other dtypes
    keep PyTensor's own implementation.
    """
    import numba
    from numba.core.extending import get_cython_function_address
    from pytensor.link.numba.cache import _call_cached_ptr
    from pytensor.link.numba.dispatch import basic as numba_basic
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key
    from pytensor.link.numba.dispatch.scalar import numba_funcify_ScalarOp, scalar_op_cache_key
    from pytensor.scalar.math import Psi

    psi_type = types.FunctionType(types.float64(types.float64, types.intc))

    @numba_basic.numba_njit
    def psi_pointer():
        with numba.objmode(ptr=types.intp):
            ptr = get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_1psi")
        return ptr

    @numba_basic.numba_njit
    def psi(x):
        fn = _call_cached_ptr(
            get_ptr_func=psi_pointer, func_type_ref=psi_type, unique_func_name_lit="scipy.special.psi_d"
        )
        return fn(x, np.intc(1))

    @numba_funcify_and_cache_key.register(Psi)
    def _psi(op, node, **kwargs):
        dtypes = {str(v.type.dtype) for v in (*node.inputs, *node.outputs)}
        if dtypes != {"float64"}:
            return numba_funcify_ScalarOp(op, node, **kwargs)
        return psi, scalar_op_cache_key(op, ltvlab_psi=1)


_register_cacheable_psi()


@intrinsic
def _as_void_pointer(typingctx, address):
    """An integer address as a ``void*`` (to view nutpie's data buffers with ``numba.carray``)."""
    sig = types.voidptr(address)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


def _unpack_lines(arrays: list[np.ndarray], indent: str = "        ") -> tuple[list[str], int]:
    """Source lines viewing each shared array from ``meta`` (``[address, *shape]`` per array)."""
    lines, offset = [], 0
    for j, value in enumerate(arrays):
        shape = ", ".join(f"meta[{offset + 1 + k}]" for k in range(value.ndim))
        shape = f"({shape},)" if value.ndim == 1 else f"({shape})"
        lines.append(f"{indent}d{j} = numba.carray(_as_void_pointer(meta[{offset}]), {shape}, _dtype{j})")
        offset += 1 + value.ndim
    return lines, offset


def _logp_source(n_dim: int, arrays: list[np.ndarray]) -> str:
    unpack, n_meta = _unpack_lines(arrays)
    args = "".join(f", d{j}" for j in range(len(arrays)))
    return "\n".join(
        [
            "def ltvlab_logp_callback(dim, x_, out_, logp_, user_data_):",
            f"    if dim != {n_dim}:",
            "        return -1",
            "    try:",
            f"        meta = numba.carray(user_data_, ({max(n_meta, 1)},), np.int64)",
            *unpack,
            f"        x = numba.carray(x_, ({n_dim},))",
            f"        out = numba.carray(out_, ({n_dim},))",
            "        logp = numba.carray(logp_, ())",
            f"        value, grad = inner(x{args})",
            "        logp[()] = value",
            "        finite = True",
            f"        for i in range({n_dim}):",
            "            out[i] = grad[i]",
            "            finite = finite and np.isfinite(grad[i])",
            "        if not finite:",
            "            return 3",
            "        if not np.isfinite(value):",
            "            return 4",
            "    except Exception:",
            "        return 1",
            "    return 0",
        ]
    )


def _expand_source(n_dim: int, n_expanded: int, arrays: list[np.ndarray]) -> str:
    unpack, n_meta = _unpack_lines(arrays)
    args = "".join(f", d{j}" for j in range(len(arrays)))
    return "\n".join(
        [
            "def ltvlab_expand_callback(dim, expanded, x_, out_, user_data_):",
            f"    if dim != {n_dim} or expanded != {n_expanded}:",
            "        return -1",
            "    try:",
            f"        meta = numba.carray(user_data_, ({max(n_meta, 1)},), np.int64)",
            *unpack,
            f"        x = numba.carray(x_, ({n_dim},))",
            f"        out = numba.carray(out_, ({n_expanded},))",
            f"        (values,) = inner(x{args})",
            f"        for i in range({n_expanded}):",
            "            out[i] = values[i]",
            "    except Exception:",
            "        return -2",
            "    return 0",
        ]
    )


def _meta(arrays: list[np.ndarray]) -> np.ndarray:
    """``[address, *shape]`` of each array, as the callbacks read it."""
    values: list[int] = []
    for value in arrays:
        values += [value.ctypes.data, *value.shape]
    return np.array(values or [0], dtype=np.int64)


def _callback(source: str, name: str, graph_key: str, inner: Any, arrays: list[np.ndarray], signature):
    """``numba.cfunc`` of generated ``source``, cached by PyTensor's locator under a key of source and graph."""
    import numba
    import nutpie
    from pytensor.link.numba.cache import compile_numba_function_src

    key = hashlib.sha256(f"{_WRAPPER_VERSION}|{nutpie.__version__}|{graph_key}|{source}".encode()).hexdigest()
    # __name__: Numba rebuilds a cached function's environment by importing the module named here
    env = {
        "__name__": __name__,
        "numba": numba,
        "np": np,
        "inner": inner,
        "_as_void_pointer": _as_void_pointer,
    }
    env.update({f"_dtype{j}": value.dtype for j, value in enumerate(arrays)})
    function = compile_numba_function_src(source, name, global_env=env, cache_key=f"ltvlab_{key}")
    return numba.cfunc(signature, cache=True)(function)


def _shared_arrays(function: Any) -> tuple[list[str], list[np.ndarray]]:
    names, arrays = [], []
    for var in function.get_shared():
        value = np.ascontiguousarray(var.get_value())
        value.flags.writeable = False
        names.append(var.name)
        arrays.append(value)
    return names, arrays


def compile_nutpie(model: Any) -> Any:
    """A nutpie compiled model of ``model`` (what ``pm.sample(nuts_sampler="nutpie")`` would compile), its
    callbacks loaded from the on-disk cache when a model of the same structure was compiled before.

    Falls back to ``nutpie.compile_pymc_model`` when the cache is disabled or PyTensor cannot key the graph.
    """
    import numba
    import nutpie
    from nutpie.compile_pymc import (
        CompiledPyMCModel,
        _make_functions,
        _prepare_dims_and_coords,
        _wrap_with_lock,
    )
    from pymc.initial_point import make_initial_point_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    if not cache_enabled():
        return nutpie.compile_pymc_model(model)
    # the same initial points as nutpie.compile_pymc_model (support point, jittered), so the draws are the same
    initial = _wrap_with_lock(
        make_initial_point_fn(
            model=model,
            overrides=None,
            default_strategy="support_point",
            jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )
    n_dim, n_expanded, logp_pt, expand_pt, initial_point_fn, shape_info = _make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial,
        var_names=None,
    )
    logp_inner, expand_inner = logp_pt.vm.jit_fn, expand_pt.vm.jit_fn
    logp_key = CACHED_SRC_FUNCTIONS.get(logp_inner.py_func)
    expand_key = CACHED_SRC_FUNCTIONS.get(expand_inner.py_func)
    if logp_key is None or expand_key is None:  # an Op PyTensor cannot cache: nutpie's own compilation
        return nutpie.compile_pymc_model(model)
    logp_names, logp_arrays = _shared_arrays(logp_pt)
    expand_names, _ = _shared_arrays(expand_pt)
    # nutpie hands both callbacks the same user_data pointer: one buffer describing the data of both
    if expand_names and expand_names != logp_names:
        return nutpie.compile_pymc_model(model)
    pointer = numba.types.CPointer(numba.types.double)
    logp_sig = numba.types.int64(numba.types.uint64, pointer, pointer, pointer, numba.types.voidptr)
    expand_sig = numba.types.int64(
        numba.types.uint64, numba.types.uint64, pointer, pointer, numba.types.voidptr
    )
    logp_cb = _callback(
        _logp_source(n_dim, logp_arrays),
        "ltvlab_logp_callback",
        logp_key,
        logp_inner,
        logp_arrays,
        logp_sig,
    )
    expand_cb = _callback(
        _expand_source(n_dim, n_expanded, logp_arrays if expand_names else []),
        "ltvlab_expand_callback",
        expand_key,
        expand_inner,
        logp_arrays if expand_names else [],
        expand_sig,
    )
    dims, coords = _prepare_dims_and_coords(model, shape_info)
    meta = _meta(logp_arrays)
    return CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_cb,
        compiled_expand_func=expand_cb,
        initial_point_func=initial_point_fn,
        shared_data=dict(zip(logp_names, logp_arrays, strict=True)) | {"__ltvlab_meta": meta},
        user_data=meta,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
    )
