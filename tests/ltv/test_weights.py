"""Fitting on a summary already aggregated to distinct rows with customer counts (``weights=``).

A summary of distinct ``(segment, x, t_x, T)`` rows with a count column is what Spark (or any SQL engine)
hands the driver; the fit on it must be the fit on the customers themselves: the same compressed rows and
weights, the same default priors, hence the same MAP point and log-likelihood.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD, GammaGamma

COUNT = "count"


def _weighted(summary: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = summary.groupby(keys, sort=False, observed=True).size().rename(COUNT).reset_index()
    out = out.sample(frac=1.0, random_state=7).reset_index(drop=True)  # row order must not matter
    out.attrs.update(summary.attrs)
    return out


@pytest.fixture(scope="module")
def segmented(cdnow_sample_summary: pd.DataFrame) -> pd.DataFrame:
    cohort = np.where(cdnow_sample_summary[col.FIRST_PURCHASE].dt.month == 1, "jan", "later")
    return cdnow_sample_summary.assign(cohort=cohort)


@pytest.mark.parametrize(
    ("spec", "keys"),
    [
        (BGNBD(), [col.X, col.T_X, col.T]),
        (BGNBD(pooling="partial", segment="cohort"), ["cohort", col.X, col.T_X, col.T]),
        (GammaGamma(), [col.X, col.MONETARY]),
    ],
    ids=["bgnbd-complete", "bgnbd-partial", "gamma-gamma"],
)
def test_weighted_rows_fit_like_the_customers(segmented: pd.DataFrame, spec, keys: list[str]) -> None:
    weighted = _weighted(segmented, keys)
    assert len(weighted) < len(segmented)
    direct = spec.prepare(segmented)
    compact = spec.prepare(weighted, weights=COUNT)
    np.testing.assert_array_equal(direct.rows.segment_code, compact.rows.segment_code)
    np.testing.assert_array_equal(direct.rows.weight, compact.rows.weight)
    for name, values in direct.rows.values.items():
        np.testing.assert_array_equal(values, compact.rows.values[name])
    assert compact.n_customers == direct.n_customers == len(segmented)

    a = spec.fit(segmented, method="map", seed=1)
    b = spec.fit(weighted, method="map", seed=1, weights=COUNT)
    for name in a.param_names:
        np.testing.assert_allclose(b.param_draws[name], a.param_draws[name], rtol=1e-6)
    assert b.log_likelihood == pytest.approx(a.log_likelihood, rel=1e-9)
    assert (b.n_customers, b.n_rows) == (a.n_customers, a.n_rows)
    assert b.config["weights"] == COUNT and "weights" not in a.config


def test_default_priors_are_customer_averages(segmented: pd.DataFrame) -> None:
    """The data-scaled prior centres (mean T, mean spend) weight each row by its customers."""
    from ltvlab.ltv.priors import resolve_priors
    from ltvlab.ltv.registry import get_model

    weighted = _weighted(segmented, [col.X, col.MONETARY])
    spec = GammaGamma()
    direct, compact = spec.prepare(segmented), spec.prepare(weighted, weights=COUNT)
    a = resolve_priors(get_model("gamma_gamma"), "default", direct.values)
    b = resolve_priors(get_model("gamma_gamma"), "default", compact.values, compact.value_weights)
    for name, (centre, scale) in a.normal.items():
        assert b.normal[name][0] == pytest.approx(centre, rel=1e-12)
        assert b.normal[name][1] == scale


@pytest.mark.parametrize(
    ("values", "message"),
    [([1, 0, 2], "<= 0"), ([1, -3, 2], "<= 0"), ([1, np.nan, 2], "missing or infinite")],
)
def test_bad_weights_are_refused(values: list[float], message: str) -> None:
    summary = pd.DataFrame(
        {col.X: [0, 1, 2], col.T_X: [0.0, 3.0, 5.0], col.T: [10.0, 10.0, 10.0], COUNT: values}
    )
    with pytest.raises(LtvlabError, match=message):
        BGNBD().prepare(summary, weights=COUNT)


def test_missing_weight_column_is_named() -> None:
    summary = pd.DataFrame({col.X: [0, 1], col.T_X: [0.0, 3.0], col.T: [10.0, 10.0]})
    with pytest.raises(LtvlabError, match=r"\['count'\]"):
        BGNBD().fit(summary, method="map", weights=COUNT)
