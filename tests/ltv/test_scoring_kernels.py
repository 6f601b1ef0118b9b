"""The compiled scoring kernels equal the NumPy formulas draw by draw, and NumPy's quantiles, to 1e-10.

The reference below is the scoring path the kernels replaced: every draw x row evaluated with the model's NumPy
closed forms (:mod:`ltvlab.ltv.formulas`, looked up in the registry), CLV by
:func:`ltvlab.ltv.discounting.discounted_purchases` times the Gamma-Gamma expected spend, summarised with
``np.mean`` and ``np.quantile``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.features import columns as col
from ltvlab.ltv import formulas
from ltvlab.ltv._score_kernels import _summarise, quantile_plan
from ltvlab.ltv.discounting import clv_horizon, discounted_purchases
from ltvlab.ltv.engine import QUANTILES, summarise_draws
from ltvlab.ltv.registry import get_model
from ltvlab.ltv.scoring import score_customers
from tests.ltv.fixed_fit import FixedFit

PARAMS = {
    "bgnbd": {"r": (0.1, 3.0), "alpha": (0.5, 40.0), "a": (0.2, 3.0), "b": (0.3, 8.0)},
    "mbgnbd": {"r": (0.1, 3.0), "alpha": (0.5, 40.0), "a": (0.2, 3.0), "b": (0.3, 8.0)},
    "paretonbd": {"r": (0.1, 3.0), "alpha": (0.5, 40.0), "s": (0.1, 3.0), "beta": (0.5, 60.0)},
}
SPEND = {"p": (1.0, 10.0), "q": (2.0, 8.0), "gamma": (5.0, 50.0)}


def _random_fit(name: str, bounds: dict, n_draws: int, n_segments: int, seed: int) -> FixedFit:
    rng = np.random.default_rng(seed)
    params = {
        k: np.exp(rng.uniform(np.log(lo), np.log(hi), size=(n_draws, n_segments)))
        for k, (lo, hi) in bounds.items()
    }
    return FixedFit(name, params, "segment", tuple(f"s{i}" for i in range(n_segments)))


def _random_summary(n: int, seed: int, unit: str) -> pd.DataFrame:
    """Day-resolution times as in a summary of dated transactions, with the edge cases x=0, t_x=T, t_x=0."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 400, size=n).astype(float)
    x = rng.poisson(rng.gamma(0.8, 3.0, size=n)).astype(float)
    last = np.floor(rng.uniform(0, 1, size=n) * (days + 1))
    last[: n // 20] = days[: n // 20]  # t_x == T
    t_x_days = np.where(x > 0, np.minimum(last, days), 0.0)
    scale = 7.0 if unit == "W" else 1.0
    summary = pd.DataFrame(
        {
            col.CUSTOMER_ID: [f"c{i}" for i in range(n)],
            col.X: x,
            col.T_X: t_x_days / scale,
            col.T: days / scale,
            col.MONETARY: np.where(x > 0, rng.gamma(2.0, 20.0, size=n), 0.0),
            "segment": [f"s{i}" for i in rng.integers(0, 3, size=n)],
        }
    )
    summary.attrs["unit"] = unit
    return summary


def _numpy_reference(purchase, spend, summary, unit, horizon_weeks=52.0, period_weeks=4.0) -> pd.DataFrame:
    """The scoring the kernels replaced: draws x customers NumPy arrays, then mean and np.quantile."""
    model = get_model(purchase.model_name)
    horizon = clv_horizon(unit=unit, horizon_weeks=horizon_weeks, period_weeks=period_weeks)
    seg = purchase.segment_index(summary)
    params = [purchase.params[name][:, seg] for name in model.param_names]
    x, t_x, t_cal = (summary[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    out: dict[str, np.ndarray] = {}
    out.update(summarise_draws(model.p_alive(x, t_x, t_cal, *params), "p_alive"))
    out.update(
        summarise_draws(
            model.expected_purchases(horizon.horizon, x, t_x, t_cal, *params), "expected_purchases"
        )
    )
    if spend is not None:
        discounted = discounted_purchases(
            lambda t: model.expected_purchases(t, x, t_x, t_cal, *params),
            period_length=horizon.period_length,
            n_periods=horizon.n_periods,
            period_rate=horizon.period_rate,
        )
        s_params = [spend.params[name][:, seg] for name in ("p", "q", "gamma")]
        value = discounted * formulas.gg_expected_spend(x, summary[col.MONETARY].to_numpy(float), *s_params)
        out.update(summarise_draws(value, "clv"))
    return pd.DataFrame(out)


def _max_relative_difference(new: pd.DataFrame, ref: pd.DataFrame) -> float:
    a, b = new[ref.columns].to_numpy(), ref.to_numpy()
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


@pytest.mark.parametrize("model", sorted(PARAMS))
@pytest.mark.parametrize("unit", ["W", "D"])
def test_kernels_equal_numpy_formulas_on_random_fits(model, unit):
    seed = {"bgnbd": 1, "mbgnbd": 2, "paretonbd": 3}[model] + (10 if unit == "D" else 0)
    # 300 draws: more than the 256 above which the kernels' quantiles come from sampled brackets
    purchase = _random_fit(model, PARAMS[model], 300, 3, seed)
    spend = _random_fit("gamma_gamma", SPEND, 300, 3, seed + 100)
    summary = _random_summary(1500, seed + 200, unit)
    scores = score_customers(purchase, spend, summary, max_draws=None)
    reference = _numpy_reference(purchase, spend, summary, unit)
    assert _max_relative_difference(scores, reference) <= 1e-10
    # expected purchases alone (one horizon, no CLV) take the kernel's other branch
    alone = score_customers(purchase, None, summary, max_draws=None, horizon_weeks=26, period_weeks=26)
    ref_alone = _numpy_reference(purchase, None, summary, unit, horizon_weeks=26, period_weeks=26)
    assert _max_relative_difference(alone, ref_alone) <= 1e-10


@pytest.mark.parametrize("model", sorted(PARAMS))
def test_heavy_buyers_take_the_log_space_and_quadrature_paths(model):
    """Customers with hundreds to thousands of purchases: the kernels' linear-space ratios underflow there (and
    SciPy's hyp2f1 fails for Pareto/NBD), so those draws take the log-space formulas / quadrature of the NumPy
    reference; the scores must still equal it."""
    rng = np.random.default_rng(7)
    n = 120
    x = np.repeat([0.0, 1.0, 40.0, 300.0, 900.0, 2500.0], n // 6)
    T = rng.uniform(30.0, 80.0, size=n)
    t_x = np.where(x > 0, T * rng.choice([0.2, 0.6, 0.95, 1.0], size=n), 0.0)
    summary = pd.DataFrame(
        {
            col.CUSTOMER_ID: [f"c{i}" for i in range(n)],
            col.X: x,
            col.T_X: t_x,
            col.T: T,
            col.MONETARY: np.where(x > 0, 25.0, 0.0),
            "segment": [f"s{i}" for i in rng.integers(0, 2, size=n)],
        }
    )
    summary.attrs["unit"] = "W"
    bounds = {k: (lo, hi) for k, (lo, hi) in PARAMS[model].items()}
    bounds["alpha"] = (0.5, 3.0)  # small alpha: (alpha / (alpha + T))^(r + x) underflows for large x
    purchase = _random_fit(model, bounds, 300, 2, 11)
    spend = _random_fit("gamma_gamma", SPEND, 300, 2, 12)
    scores = score_customers(purchase, spend, summary, max_draws=None)
    reference = _numpy_reference(purchase, spend, summary, "W")
    assert np.isfinite(reference.to_numpy()).all()
    assert _max_relative_difference(scores, reference) <= 1e-10


@pytest.mark.parametrize("model", sorted(PARAMS))
def test_one_draw_scores_are_the_closed_forms(model, cdnow_sample_summary):
    """With one draw every quantile is the value itself: P(alive) and E[X(T, T+t)] of the formulas."""
    values = {k: float(np.sqrt(lo * hi)) for k, (lo, hi) in PARAMS[model].items()}
    fit = FixedFit(model, {k: np.array([[v]]) for k, v in values.items()})
    s = cdnow_sample_summary
    scores = score_customers(fit, None, s, horizon_weeks=39, period_weeks=13)
    m = get_model(model)
    x, t_x, t_cal = (s[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    alive = m.p_alive(x, t_x, t_cal, *values.values())
    expected = m.expected_purchases(39.0, x, t_x, t_cal, *values.values())
    for stat in ("mean", "q05", "q50", "q95"):
        np.testing.assert_allclose(scores[f"p_alive_{stat}"], alive, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(scores[f"expected_purchases_{stat}"], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 5, 17, 40, 999, 1000, 1001])
def test_selection_quantiles_equal_numpy(n):
    rng = np.random.default_rng(n)
    for values in (rng.normal(size=n), rng.integers(0, 3, size=n).astype(float), np.ones(n)):
        ks, lo, hi, gamma = quantile_plan(n, QUANTILES)
        out = np.empty(1 + len(QUANTILES))
        _summarise(values.copy(), ks, lo, hi, gamma, out, 0)
        assert out[0] == pytest.approx(values.mean(), rel=1e-14, abs=1e-15)
        np.testing.assert_array_equal(out[1:], np.quantile(values, QUANTILES))


def _shapes(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw sets that stress the bracketing: ties, a point mass, heavy tails, sorted input, a far outlier mass."""
    return {
        "few distinct values": rng.integers(0, 3, size=n).astype(float),
        "70% exactly 1": np.where(rng.random(n) < 0.7, 1.0, rng.random(n)),
        "log-normal sd 5": np.exp(rng.normal(0.0, 5.0, size=n)),
        "sorted": np.sort(rng.gamma(2.0, 1.0, size=n)),
        "reverse sorted": np.sort(rng.gamma(2.0, 1.0, size=n))[::-1].copy(),
        "4% at 1e300": np.where(rng.random(n) < 0.04, 1e300, rng.random(n)),
        "constant": np.full(n, 2.5),
        # period 31 (the sample's stride at 1,000 draws): the 32 sampled values take only two values, so the
        # brackets between them are wide
        "periodic": (np.arange(n) % 31).astype(float) + 0.5 * (np.arange(n) % 2),
    }


@pytest.mark.parametrize("n", [257, 1000, 1001, 4000])
@pytest.mark.parametrize(
    "quantiles",
    [
        QUANTILES,
        (0.95, 0.05, 0.5),
        (0.0, 0.5, 1.0),
        (0.49, 0.5, 0.51),  # brackets that overlap: values shared by two or three of them
        (0.025, 0.975),
        (0.1, 0.25, 0.5, 0.75, 0.9),
    ],
)
def test_quantiles_of_awkward_draws_equal_numpy(n, quantiles):
    # the three-quantile bisection (the engine's path) and the general bracket path, on draws whose sorted sample
    # misleads the initial brackets: the result must still be NumPy's linear rule exactly
    rng = np.random.default_rng(n)
    for _ in range(5):
        for name, values in _shapes(rng, n).items():
            ks, lo, hi, gamma = quantile_plan(n, quantiles)
            out = np.empty(1 + len(quantiles))
            _summarise(values.copy(), ks, lo, hi, gamma, out, 0)
            np.testing.assert_array_equal(out[1:], np.quantile(values, quantiles), err_msg=name)


@pytest.mark.parametrize("order", ["descending", "shuffled"])
def test_shared_series_equals_scipy_hyp2f1(order):
    # the shared power series over lists of points (descending z in each list, as the tables lay them out; and
    # shuffled, where a point past the series' range or a small z before a large one must still come out right)
    from scipy.special import hyp2f1

    from ltvlab.ltv._score_kernels import _series

    rng = np.random.default_rng(7)
    for a, b, c in [(0.8, -0.3, 3.5), (2.2, 0.4, 7.0), (1.0, 1.7, 4.2), (0.3, -0.9, 0.7), (-1.5, 0.5, 2.0)]:
        z = rng.uniform(0.0, 0.99, size=(4, 60))
        if order == "descending":
            z = -np.sort(-z, axis=1)
        flat = np.ascontiguousarray(z.reshape(-1))
        lists = np.arange(0, flat.size + 1, 60, dtype=np.int64)
        out, pw, acc = np.empty(flat.size), np.empty(flat.size), np.empty(flat.size)
        _series(a, b, c, flat, lists, out, pw, acc)
        np.testing.assert_allclose(out, hyp2f1(a, b, c, flat), rtol=1e-13, atol=0, err_msg=str((a, b, c)))


def test_distinct_rows_equal_numpy_unique():
    from ltvlab.ltv._data import distinct_rows

    rng = np.random.default_rng(3)
    keys = np.column_stack(
        [rng.integers(0, 3, 5000), rng.poisson(1.0, 5000), rng.integers(0, 4, 5000) / 7.0, np.zeros(5000)]
    ).astype(float)
    keys[::7, 3] = -0.0  # signed zeros are one value, as in np.unique
    want_rows, want_inverse = np.unique(keys, axis=0, return_inverse=True)
    rows, inverse = distinct_rows(keys)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(inverse, np.asarray(want_inverse).reshape(-1))
    empty_rows, empty_inverse = distinct_rows(np.empty((0, 3)))
    assert empty_rows.shape == (0, 3) and empty_inverse.size == 0
