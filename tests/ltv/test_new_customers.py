"""Customers whose first purchase is on the last calibration day (``T = 0``, ``x = t_x = 0``).

Closed form: with ``x = t_x = T = 0`` every purchase model's likelihood is exactly 1 --
BG/NBD ``Gamma(r) alpha^r / Gamma(r) * (alpha + 0)^-r = 1``; MBG/NBD ``b/(a+b) + a/(a+b) = 1``;
Pareto/NBD ``alpha^r beta^s (alpha)^-r (beta)^-s = 1`` (the dead-before-T integral is over an empty interval).
So such customers fit (they add nothing to the likelihood) and are scored as new customers: P(alive) is 1
(BG/NBD, Pareto/NBD) or ``b / (a + b)`` (MBG/NBD, which may lose a customer right after the first purchase),
and the expected purchases are those of a customer just acquired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest

from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD, MBGNBD, get_model, registered_models, score_customers
from tests.ltv.model_references import MBGNBD as MBG_REF
from tests.reference import cdnow

REFERENCES = {"bgnbd": cdnow.BGNBD, "paretonbd": cdnow.PARETO_NBD, "mbgnbd": MBG_REF}


@pytest.mark.parametrize("name", registered_models("purchase"))
def test_likelihood_of_a_customer_acquired_on_the_last_day_is_one(name):
    model = get_model(name)
    rng = np.random.default_rng(3)
    params = [rng.uniform(0.2, 5.0, 50) for _ in model.param_names]
    zeros = np.zeros(50)
    np.testing.assert_allclose(model.loglik(zeros, zeros, zeros, *params), 0.0, atol=1e-12)
    args = [pt.dvector(n) for n in ("x", "t_x", "T", *model.param_names)]
    fn = pytensor.function(args, model.loglik_pt(*args))
    np.testing.assert_allclose(fn(zeros, zeros, zeros, *params), 0.0, atol=1e-12)


def _with_new_customers(summary: pd.DataFrame, n: int) -> pd.DataFrame:
    new = pd.DataFrame(
        {
            col.CUSTOMER_ID: [f"new{i}" for i in range(n)],
            col.X: 0,
            col.T_X: 0.0,
            col.T: 0.0,
            col.MONETARY: 0.0,
        }
    )
    out = pd.concat([summary[[col.CUSTOMER_ID, col.X, col.T_X, col.T, col.MONETARY]], new], ignore_index=True)
    out.attrs = {"unit": summary.attrs["unit"]}
    return out


@pytest.mark.parametrize(
    "spec", [BGNBD(priors="flat"), MBGNBD(priors="flat"), BGNBD(priors="flat", time_step=1.0)]
)
def test_new_customers_fit_without_changing_the_estimates(spec, cdnow_sample_summary):
    # Their likelihood is 1, so the flat-prior MAP and the log-likelihood are those without them (the BG/NBD
    # spec goes through the fused kernel, the MBG/NBD one through the plain PyTensor graph; time_step must
    # keep T = 0 rather than round it up to one step).
    with_new = _with_new_customers(cdnow_sample_summary, 40)
    base = spec.fit(with_new.iloc[:-40], method="map")
    fit = spec.fit(with_new, method="map")
    assert fit.n_customers == base.n_customers + 40
    assert fit.log_likelihood == pytest.approx(base.log_likelihood, abs=1e-6)
    a, b = (f.summary().set_index("param")["mean"] for f in (fit, base))
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-4)


@pytest.mark.parametrize("name", registered_models("purchase"))
def test_new_customers_are_scored_as_just_acquired(name):
    from tests.ltv.fixed_fit import point_fit

    model = get_model(name)
    ref = REFERENCES[name]
    params = [ref[k] for k in model.param_names]
    summary = pd.DataFrame(
        {col.CUSTOMER_ID: ["n1", "n2"], col.X: [0, 0], col.T_X: [0.0, 0.0], col.T: [0.0, 0.0]}
    )
    summary.attrs["unit"] = "W"
    scores = score_customers(point_fit(name, ref), None, summary, horizon_weeks=52)
    alive = ref["b"] / (ref["a"] + ref["b"]) if name == "mbgnbd" else 1.0  # MBG/NBD: survived the first toss
    np.testing.assert_allclose(scores["p_alive_mean"], alive, rtol=1e-12)
    np.testing.assert_allclose(
        scores["expected_purchases_mean"], model.expected_purchases_new(52.0, *params), rtol=1e-9
    )
