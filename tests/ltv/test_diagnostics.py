"""The convergence gate on posteriors whose health is known by construction."""

from __future__ import annotations

import arviz as az
import numpy as np

from ltvlab.ltv import compare_diagnostics
from ltvlab.ltv.diagnostics import diagnose, map_diagnostics


def _idata(chain_means: tuple[float, ...], draws: int = 2000, seed: int = 0) -> az.InferenceData:
    rng = np.random.default_rng(seed)
    theta = np.stack([rng.normal(m, 1.0, draws) for m in chain_means])
    return az.from_dict(posterior={"theta": theta})


def test_independent_chains_pass_and_separated_chains_fail() -> None:
    good = diagnose(_idata((0.0, 0.0)), ["theta"])
    # iid draws: ESS is close to the 4,000 draws, R-hat close to 1
    assert good.ok, good.messages
    assert good.min_ess_bulk > 3000
    bad = diagnose(_idata((0.0, 3.0)), ["theta"])
    assert not bad.ok
    assert bad.max_r_hat > 1.5
    assert any("R-hat" in m for m in bad.messages)


def test_compare_diagnostics_handles_map_fits_without_chains() -> None:
    table = compare_diagnostics(
        {
            "nuts-good": diagnose(_idata((0.0, 0.0)), ["theta"]),
            "nuts-bad": diagnose(_idata((0.0, 3.0)), ["theta"]),
            "map": map_diagnostics(True, "", ["theta"]),
        }
    )
    assert list(table.index) == ["nuts-good", "nuts-bad", "map"]
    assert table["diagnostics ok"].tolist() == [True, False, True]
    assert np.isnan(table.loc["map", "max R-hat"])
    assert "R-hat" in table.loc["nuts-bad", "reasons"]
    assert table.loc["map", "reasons"] == ""
    # rounding a table with NaN (MAP) must not raise, as it is displayed rounded in the LTV notebook
    table.round(4)


def test_two_dimensional_parameters_get_one_row_per_element() -> None:
    """Segment x strategy effects (ltvlab.ltv.interactions) are 2-D: every element is judged and labelled."""
    rng = np.random.default_rng(0)
    posterior = {"g": rng.normal(size=(2, 500, 2, 3)), "r": rng.normal(size=(2, 500))}
    idata = az.from_dict(
        posterior=posterior, coords={"seg": ["a", "b"], "k": ["x", "y", "z"]}, dims={"g": ["seg", "k"]}
    )
    table = diagnose(idata, ["g", "r"]).table
    assert table["param"].tolist() == ["g[a,x]", "g[a,y]", "g[a,z]", "g[b,x]", "g[b,y]", "g[b,z]", "r"]
    expected = az.rhat(idata, var_names=["g"])["g"].values.ravel()
    np.testing.assert_allclose(table["r_hat"].to_numpy()[:6], expected)
