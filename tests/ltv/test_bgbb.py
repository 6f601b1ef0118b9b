"""BG/BB (Fader, Hardie & Shang 2010): likelihood, closed forms, generator, published fit, summaries, pooling.

Tolerances: the published MLE to 1% per parameter and 0.5 in log-likelihood; Monte Carlo comparisons within
4 standard errors computed from the simulated data; closed forms against each other to float rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.special import comb

from ltvlab.data import load_dataset
from ltvlab.data.synthetic_btyd import simulate_bgbb
from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import BGBB, BGNBD, holdout_validation
from ltvlab.ltv.bgbb import (
    bgbb_discounted_residual_transactions,
    bgbb_expected_transactions,
    bgbb_expected_transactions_new,
    bgbb_holdout_pmf,
    bgbb_loglik,
    bgbb_loglik_pt,
    bgbb_p_alive,
)
from ltvlab.ltv.model_plots import plot_period_tracking
from ltvlab.ltv.periods import discrete_summary, period_tracking
from tests.ltv.model_references import BGBB as REF
from tests.ltv.model_references import BGBB_LL

K_SE = 4.0
PARAMS = tuple(REF[k] for k in ("alpha", "beta", "gamma", "delta"))


@pytest.fixture(scope="module")
def donations():
    data = load_dataset("donations")
    data.attrs["unit"] = "period"
    return data


def test_flat_prior_map_reproduces_the_published_fit(donations):
    fit = BGBB(priors="flat").fit(donations, method="map", weights="count")
    table = fit.summary().set_index("param")["mean"]
    for name, value in REF.items():
        assert table[name] == pytest.approx(value, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(BGBB_LL, abs=0.5)
    assert fit.n_customers == 11_104 and fit.unit == "period"


def test_likelihood_is_a_distribution_over_every_purchase_history():
    # Over the 2^n purchase histories of n opportunities, L depends on (x, t_x) only and there are
    # C(t_x - 1, x - 1) histories with x transactions, the last at t_x (one with x = 0): the total is 1.
    for n in (1, 4, 7):
        total = 1.0 * np.exp(bgbb_loglik(0, 0, n, *PARAMS))
        for t_x in range(1, n + 1):
            for x in range(1, t_x + 1):
                total += comb(t_x - 1, x - 1) * np.exp(bgbb_loglik(x, t_x, n, *PARAMS))
        assert total == pytest.approx(1.0, abs=1e-12), n


def test_pytensor_likelihood_equals_numpy(donations):
    x, t_x, n = (donations[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    params = [pt.dscalar(k) for k in REF]
    fn = pytensor.function(params, bgbb_loglik_pt(x, t_x, n, *params))
    np.testing.assert_allclose(fn(*PARAMS), bgbb_loglik(x, t_x, n, *PARAMS), rtol=1e-10)


def test_closed_forms_agree_with_each_other():
    x, t_x, n = np.array([0.0, 1, 3, 6]), np.array([0.0, 1, 5, 6]), 6.0
    alive = bgbb_p_alive(x, t_x, n, *PARAMS)
    k = np.arange(60)[:, None]
    pmf = bgbb_holdout_pmf(k, 5, x, t_x, n, *PARAMS, alive)
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose((k * pmf).sum(axis=0), bgbb_expected_transactions(5, x, t_x, n, *PARAMS))
    # DERT (eq. 14) = the discounted increments of eq. 13 summed over a long horizon
    m = np.arange(1, 4000)
    cumulative = np.array([bgbb_expected_transactions(t, x, t_x, n, *PARAMS) for t in m])
    increments = np.diff(np.vstack([np.zeros(4), cumulative]), axis=0)
    np.testing.assert_allclose(
        bgbb_discounted_residual_transactions(x, t_x, n, *PARAMS, discount_rate=0.1),
        (increments / 1.1 ** m[:, None]).sum(axis=0),
        rtol=1e-8,
    )
    # a just-acquired customer (n = 0) is the unconditional expectation
    np.testing.assert_allclose(
        bgbb_expected_transactions(5, 0, 0, 0, *PARAMS), bgbb_expected_transactions_new(5, *PARAMS)
    )


def test_closed_forms_match_a_simulation_from_the_generator():
    # 300,000 customers from the BG/BB process at the published parameters, 6 calibration and 5 holdout
    # opportunities. Law of total expectation: within each observed (x, t_x) the mean holdout count equals
    # the mean conditional expectation, and the holdout frequencies equal the mean conditional pmf.
    n_customers, n, hold = 300_000, 6, 5
    sim = simulate_bgbb(n_customers, *PARAMS, n_periods=n, holdout=hold, seed=9)
    x, t_x = sim[col.X].to_numpy(float), sim[col.T_X].to_numpy(float)
    xh = sim[col.X_HOLDOUT].to_numpy(float)
    assert abs(x.mean() - bgbb_expected_transactions_new(n, *PARAMS)) <= K_SE * x.std(ddof=1) / np.sqrt(
        n_customers
    )
    predicted = bgbb_expected_transactions(hold, x, t_x, n, *PARAMS)
    for key in [(0, 0), (1, 1), (2, 6), (6, 6)]:
        sel = (x == key[0]) & (t_x == key[1])
        diff = xh[sel] - predicted[sel]
        assert abs(diff.mean()) <= K_SE * diff.std(ddof=1) / np.sqrt(sel.sum()), key
    alive = bgbb_p_alive(x, t_x, n, *PARAMS)
    for k in range(hold + 1):
        diff = (xh == k) - bgbb_holdout_pmf(np.full(n_customers, k), hold, x, t_x, n, *PARAMS, alive)
        assert abs(diff.mean()) <= K_SE * diff.std(ddof=1) / np.sqrt(n_customers), k


def test_summary_from_dated_transactions():
    tx = pd.DataFrame(
        {
            col.CUSTOMER_ID: ["a", "a", "a", "a", "b", "c", "c", "d"],
            col.DATE: pd.to_datetime(
                ["1995-03-01", "1996-05-01", "1996-07-01", "1998-02-01", "1995-12-31", "1996-01-10",
                 "2001-06-01", "2001-03-01"]
            ),
        }
    )  # fmt: skip
    out = discrete_summary(tx, period="Y", calibration_end="1998-12-31", holdout_end="2001-12-31")
    got = out.set_index(col.CUSTOMER_ID)[[col.X, col.T_X, col.T, col.X_HOLDOUT]]
    # a: acquired 1995; 1996 (two purchases, one opportunity) and 1998 -> x 2, t_x 3, n 3; b: nothing more;
    # c: acquired 1996, n 2, buys again in 2001 (holdout); d: first purchase after calibration, left out.
    assert got.to_dict("index") == {
        "a": {col.X: 2, col.T_X: 3.0, col.T: 3.0, col.X_HOLDOUT: 0},
        "b": {col.X: 0, col.T_X: 0.0, col.T: 3.0, col.X_HOLDOUT: 0},
        "c": {col.X: 0, col.T_X: 0.0, col.T: 2.0, col.X_HOLDOUT: 1},
    }
    assert out.attrs["unit"] == "period" and out.attrs["customers_after_calibration"] == 1
    assert (out[col.DURATION_HOLDOUT] == 3.0).all()
    with pytest.raises(LtvlabError, match="not the last day of its year"):
        discrete_summary(tx, period="Y", calibration_end="1998-06-30")


def test_pooling_holdout_and_unit_checks():
    # Two segments simulated with different parameters: pooling="none" with flat priors gives each its own
    # maximum likelihood (compared with a fit on that segment alone), partial pooling runs, holdout validation
    # uses the model's own pmf, and a continuous-time model refuses the period summary.
    rng = np.random.default_rng(4)
    frames = []
    for label, params in (("A", PARAMS), ("B", (2.0, 1.0, 0.4, 3.0))):
        sim = simulate_bgbb(3000, *params, n_periods=rng.integers(3, 8, 3000), holdout=3, seed=rng)
        frames.append(sim.assign(segment=label))
    data = pd.concat(frames, ignore_index=True)
    data[col.CUSTOMER_ID] = np.arange(len(data)).astype(str)
    data.attrs["unit"] = "period"
    none = BGBB(pooling="none", segment="segment", priors="flat").fit(data, method="map")
    alone = BGBB(priors="flat").fit(data[data.segment == "B"], method="map", unit="period")
    seg_b = none.summary().query("segment == 'B'").set_index("param")["mean"]
    b = data[data.segment == "B"]
    ll_b = bgbb_loglik(b[col.X], b[col.T_X], b[col.T], *(seg_b[k] for k in REF)).sum()
    assert ll_b == pytest.approx(alone.log_likelihood, abs=0.01)
    partial = BGBB(pooling="partial", segment="segment").fit(data, method="map")
    result = holdout_validation(partial, data)
    diff = result.per_customer[col.X_HOLDOUT] - result.per_customer["predicted"]
    assert abs(diff.mean()) <= K_SE * diff.std(ddof=1) / np.sqrt(len(diff))
    assert result.unit == "period" and np.isfinite(result.log_predictive_density)
    with pytest.raises(LtvlabError, match="needs the BGBB model"):
        BGNBD().fit(data, method="map")
    with pytest.raises(LtvlabError, match="whole numbers"):
        BGBB().fit(data.assign(**{col.T: data[col.T] + 0.5}), method="map")


def test_period_tracking_counts_and_expectations(tmp_path):
    # Three customers acquired in 1995 and one in 1996, tracked yearly to 1999 (calibration to 1997): actual =
    # customers with a transaction in the year after their first; expected = sum over customers of the
    # just-acquired expectation increments at the MLE (one draw), by each customer's own years since acquisition.
    from tests.ltv.fixed_fit import point_fit

    tx = pd.DataFrame(
        {
            col.CUSTOMER_ID: ["a", "a", "a", "b", "b", "c", "d", "d"],
            col.DATE: pd.to_datetime(
                ["1995-02-01", "1996-03-01", "1996-09-01", "1995-05-01", "1998-01-01", "1995-07-01",
                 "1996-04-01", "1997-04-01"]
            ),
        }
    )  # fmt: skip
    summary = discrete_summary(tx, period="Y", calibration_end="1997-12-31", holdout_end="1999-12-31")
    fit = point_fit("bgbb", REF)
    fit.unit = "period"
    table = period_tracking(fit, summary, tx)
    assert list(table["period"]) == ["1996", "1997", "1998", "1999"]
    assert list(table["actual"]) == [1.0, 1.0, 1.0, 0.0]
    assert list(table["phase"]) == ["calibration", "calibration", "holdout", "holdout"]
    new = lambda t: bgbb_expected_transactions_new(t, *PARAMS) if t > 0 else 0.0  # noqa: E731
    expected = [3 * (new(t) - new(t - 1)) + (new(t - 1) - new(t - 2)) for t in (1, 2, 3, 4)]
    np.testing.assert_allclose(table["expected"], expected, rtol=1e-10)
    ax = plot_period_tracking(table)
    ax.figure.savefig(tmp_path / "tracking.png")


def test_fit_level_predictions_on_the_donations(donations):
    # P(alive), expected transactions and DERT of the fitted model equal the closed forms at its MAP point.
    from ltvlab.ltv.bgbb import expected_residual_transactions

    fit = BGBB(priors="flat").fit(donations, method="map", weights="count")
    point = [float(fit.summary().set_index("param").loc[k, "mean"]) for k in REF]
    x, t_x, n = (donations[c].to_numpy(float) for c in (col.X, col.T_X, col.T))
    np.testing.assert_allclose(fit.p_alive(donations)["mean"], bgbb_p_alive(x, t_x, n, *point), rtol=1e-10)
    np.testing.assert_allclose(
        fit.expected_purchases(donations, 5)["mean"],
        bgbb_expected_transactions(5, x, t_x, n, *point),
        rtol=1e-10,
    )
    dert = expected_residual_transactions(fit, donations, discount_rate=0.1)["mean"]
    np.testing.assert_allclose(
        dert, bgbb_discounted_residual_transactions(x, t_x, n, *point, discount_rate=0.1)
    )
