"""PyTensor links SciPy's OpenBLAS through ltvlab's configuration (ltvlab._config): no BLAS warning on a
Pareto/NBD MAP fit, and the linked BLAS computes what NumPy computes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ltvlab import _config

CHILD = textwrap.dedent(
    """
    import warnings
    warnings.simplefilter("always")
    import numpy as np
    import ltvlab
    import pytensor
    import pytensor.tensor as pt
    from ltvlab.data import load_dataset
    from ltvlab.features import customer_summary
    from ltvlab.ltv import ParetoNBD

    summary = customer_summary(load_dataset("cdnow-sample"), calibration_end="1997-09-30", unit="W")
    fit = ParetoNBD().fit(summary, method="map")
    assert fit.diagnostics.ok
    # a matrix-vector product through PyTensor's C BLAS op equals NumPy's
    A, v = pt.dmatrix("A"), pt.dvector("v")
    f = pytensor.function([A, v], 2.0 * pt.dot(A, v) + 1.0, mode="FAST_RUN")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 30)), rng.normal(size=30)
    np.testing.assert_allclose(f(a, b), 2.0 * a @ b + 1.0, rtol=1e-12, atol=1e-12)
    print("OPS", [type(n.op).__name__ for n in f.maker.fgraph.toposort()])
    print("LDFLAGS", pytensor.config.blas__ldflags)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(_config.blas_ldflags() is None, reason="no SciPy-bundled OpenBLAS on this platform")
def test_pareto_nbd_map_emits_no_blas_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTENSOR_FLAGS"}
    env["LTVLAB_CACHE_DIR"] = str(tmp_path / "cache")  # fresh: PyTensor compiles and links its C code anew
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=1800
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "BLAS" not in proc.stderr, proc.stderr[-3000:]
    assert "blas" not in proc.stderr.lower(), proc.stderr[-3000:]
    assert "LDFLAGS -L" in proc.stdout and "scipy_openblas" in proc.stdout
    assert "CGemv" in proc.stdout or "Gemv" in proc.stdout, proc.stdout


def test_user_ldflags_win(monkeypatch):
    """A user's own blas__ldflags is never overridden."""
    monkeypatch.setenv("PYTENSOR_FLAGS", "blas__ldflags=-lmyblas")
    monkeypatch.delenv("LTVLAB_CACHE_DIR", raising=False)
    monkeypatch.delitem(sys.modules, "pytensor", raising=False)  # restored after the test
    _config.configure()
    assert os.environ["PYTENSOR_FLAGS"] == "blas__ldflags=-lmyblas"
