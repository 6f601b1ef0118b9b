"""PyTensor settings ltvlab makes before PyTensor is imported: a linked BLAS and the compile-cache location.

**BLAS.** A pip-installed PyTensor finds no BLAS to link its C code against (``blas__ldflags`` is empty) and
warns "PyTensor could not link to a BLAS installation" on first use, a warning users cannot act on. SciPy's
wheels carry an OpenBLAS (``scipy.libs/libscipy_openblas*.so`` on Linux) whose symbols are prefixed
``scipy_``; :func:`blas_ldflags` links it and maps the BLAS names PyTensor's C code calls (``dgemm_`` ...) to
the prefixed ones with ``-D`` defines. Where no such library is found (other platforms, other SciPy builds)
``blas__ldflags`` is left to PyTensor. A user's own ``blas__ldflags`` (``PYTENSOR_FLAGS`` or ``.pytensorrc``)
always wins. ``tests/ltv/test_blas.py`` checks that a Pareto/NBD MAP fit then emits no BLAS warning and that
a BLAS-backed matrix product gives NumPy's result.

**Compile cache location.** ``LTVLAB_CACHE_DIR`` sets PyTensor's ``base_compiledir``, where PyTensor keeps its
compiled C modules and Numba cache (unless ``PYTENSOR_FLAGS`` already sets ``base_compiledir``). Both settings must be made before PyTensor is imported, i.e. before ``import pymc``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_DIR_ENV = "LTVLAB_CACHE_DIR"

# BLAS routines PyTensor's C code declares (pytensor/tensor/blas_headers.py), mapped to SciPy's prefixed names.
_BLAS_NAMES = tuple(
    f"{t}{name}_"
    for t in "sdcz"
    for name in (
        "gemm",
        "gemv",
        "ger",
        "gerc",
        "geru",
        "dot",
        "axpy",
        "scal",
        "copy",
        "swap",
        "rot",
        "symm",
        "symv",
        "syrk",
        "syr2k",
        "hemm",
        "herk",
        "her2k",
        "trmm",
        "trmv",
        "trsm",
        "trsv",
    )
)


def _scipy_openblas() -> Path | None:
    """SciPy's bundled OpenBLAS, without importing SciPy (Linux wheels: ``site-packages/scipy.libs``)."""
    import importlib.util

    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(next(iter(spec.submodule_search_locations))).parent / "scipy.libs"
    found = sorted(libs.glob("libscipy_openblas*.so")) if libs.is_dir() else []
    return found[0] if found else None


def blas_ldflags() -> str | None:
    """``blas__ldflags`` linking SciPy's OpenBLAS, or None when there is none to link."""
    if not sys.platform.startswith("linux"):
        return None
    lib = _scipy_openblas()
    if lib is None:
        return None
    defines = " ".join(f"-D{name}=scipy_{name}" for name in _BLAS_NAMES)
    # -Xlinker keeps commas out of the value (PYTENSOR_FLAGS is comma-separated)
    name = lib.name.removeprefix("lib").removesuffix(".so")
    return f"-L{lib.parent} -l{name} -Xlinker -rpath -Xlinker {lib.parent} {defines}"


def _flag_set(flags: str, name: str) -> bool:
    return any(part.split("=", 1)[0].strip() in (name, name.replace("__", ".")) for part in flags.split(","))


def configure() -> None:
    """Set ``PYTENSOR_FLAGS`` for BLAS and the cache directory, unless PyTensor is imported or the user set them."""
    if (
        "pytensor" in sys.modules
    ):  # too late to change them consistently; PyTensor's own configuration applies
        return
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    added = []
    cache_dir = os.environ.get(CACHE_DIR_ENV)
    if cache_dir and not _flag_set(flags, "base_compiledir"):
        added.append(f"base_compiledir={Path(cache_dir).expanduser().resolve()}")
    rc_files = os.environ.get("PYTENSORRC", str(Path.home() / ".pytensorrc"))
    user_rc = any("ldflags" in Path(f).read_text() for f in rc_files.split(os.pathsep) if Path(f).is_file())
    if not _flag_set(flags, "blas__ldflags") and not user_rc:
        ldflags = blas_ldflags()
        if ldflags is not None:
            added.append(f"blas__ldflags={ldflags}")
    if added:
        os.environ["PYTENSOR_FLAGS"] = ",".join([f for f in (flags, *added) if f])
