"""Fitting the time-varying-covariate models on the contact-CRM simulator (known, segment-specific effects).

Tolerances are z-scores against the posterior (or Laplace) standard deviation: a calibrated posterior puts
|z| > 4 on one of 18 effects with probability ~1e-3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ltvlab.data.synthetic_contacts import simulate_contact_crm
from ltvlab.errors import ConvergenceWarning, LtvlabError
from ltvlab.ltv.interactions import prepare_tvc_data
from ltvlab.ltv.interactions.fit import TVCSpec


def crm_data(n, model, seed, assignment="randomised", n_segments=3, static=True):
    crm = simulate_contact_crm(n, n_segments=n_segments, model=model, assignment=assignment, seed=seed)
    data = prepare_tvc_data(
        crm.transactions,
        crm.covariates,
        calibration_end=crm.calibration_end,
        origin=crm.origin,
        period_length=crm.period_length,
        segment=crm.customers[["customer_id", "segment"]],
        static=crm.customers if static else None,
        static_columns=["score"] if static else (),
    )
    return crm, data


def z_scores(fit, crm) -> pd.DataFrame:
    merged = fit.effects().merge(crm.truth, on=["segment", "strategy", "parameter"], validate="one_to_one")
    return merged.assign(z=(merged["mean"] - merged["value"]) / merged["sd"])


@pytest.mark.slow  # ~150 s on the loaded 2-core machine (Laplace: MAP plus a finite-difference Hessian)
def test_fit_records_how_it_was_made_and_recovers_effects():
    crm, data = crm_data(3000, "paretonbd", seed=11)
    spec = TVCSpec(
        model="paretonbd", pooling="none", effect_pooling="none", carry_over="window:4", randomised=True
    )
    fit = spec.fit(data, method="laplace", draws=400, seed=1)
    info = fit.to_dict()
    assert info["unit"] == "W" and info["period_length"] == "7 days 00:00:00"
    assert info["carry_over"] == "window:4" and info["randomised"] is True
    z = z_scores(fit, crm)
    assert len(z) == 18
    assert np.abs(z["z"]).max() < 4, z
    score = fit.draws["beta_static"][:, 0] / fit.static_scale[0]  # per unit of score
    assert abs(score.mean() - crm.static_effects["score"]) < 4 * score.std()


def test_bgnbd_rejects_dropout_covariates():
    with pytest.raises(LtvlabError, match="purchase rate only"):
        TVCSpec(model="bgnbd", dropout_covariates=("contacts_email",))


# Known defect (issue 17): partial pooling of base parameters and effects under NUTS does not pass the
# diagnostics gate on these data. The effects were already non-centred (gamma = mu + tau * u). Runs on seed 12:
# - all non-centred, 2 x 300 draws: 7 divergences, max R-hat 1.025, min bulk ESS 138 (worst: tau_gamma, the
#   sigma_log_* and u_gamma; the effects' posterior sd is 0.012-0.03 against a segment spread tau ~0.17-0.27, and
#   BG/NBD's a is the same in every segment, sigma_log_a reaching 0.001); the effects' z-scores within 1.5;
# - r, alpha and the effects centred (centered_params), 2 x 400 draws: 13 divergences, max R-hat 1.035, min bulk
#   ESS 82: worse, so centring the well-identified blocks is not the fix.
# - with the segments' mean split from the zero-sum deviations (_build.noncentred), 2 x 300 draws: no divergences,
#   effects' z-scores within 1.4, but max R-hat 1.033, min bulk ESS 82, tail ESS 52: the gate still fails.
# - base parameters in the static models' per-segment form (r, alpha centred, a non-centred, b at weights 0.51-0.68),
#   effects non-centred (the "auto" default here), 2 x 1,000 draws: R-hat 1.007, bulk ESS 386 (sigma_log_b), tail
#   ESS 288, 9 divergences; the remedies (target_accept 0.95 then 0.99, 2,000 then 4,000 tuning steps) leave 2
#   divergences and bulk ESS 317 on tau_gamma, and stop at the budget (417 s). With the effects centred instead:
#   22 divergences. With 3 segments tau is loosely identified (0.17 +- 0.1) and both forms meet a funnel near 0.
# Kept in the study set as a strict expected failure, now with the default settings, until a form passes.
@pytest.mark.study
@pytest.mark.xfail(
    strict=True, reason="divergences and ESS of the effects' segment spread under NUTS (issue 17)"
)
def test_nuts_partial_pooling_recovers_effects():
    crm, data = crm_data(4000, "bgnbd", seed=12)
    spec = TVCSpec(model="bgnbd", pooling="partial", effect_pooling="partial")
    fit = spec.fit(data, method="nuts", seed=2)
    z = z_scores(fit, crm)
    print(z[["segment", "strategy", "value", "mean", "sd", "z"]], fit.diagnostics.messages)
    assert np.abs(z["z"]).max() < 4, z
    assert fit.diagnostics.divergences == 0
    assert fit.diagnostics.ok, fit.diagnostics.messages


# Run in session 13 (code of cf57b43, a shared machine, 6,518 s): coverage 0.911 over 900 intervals (purchase
# 0.891, dropout 0.931), z mean 0.054, sd 0.966; passed.
@pytest.mark.study
def test_interval_coverage_over_simulated_datasets():
    """90% intervals of the segment effects over 50 simulated CRMs (Laplace at the mode, no pooling)."""
    rows = []
    for seed in range(50):
        crm, data = crm_data(3000, "paretonbd", seed=1000 + seed)
        fit = TVCSpec(model="paretonbd", pooling="none", effect_pooling="none").fit(
            data, method="laplace", draws=1000, seed=seed
        )
        z = z_scores(fit, crm)
        rows.append(z.assign(seed=seed, covered=(z["lower"] <= z["value"]) & (z["value"] <= z["upper"])))
    table = pd.concat(rows, ignore_index=True)
    coverage = table["covered"].mean()
    print(
        f"coverage {coverage:.3f} over {len(table)} intervals; z mean {table['z'].mean():.3f} sd {table['z'].std():.3f}"
    )
    print(table.groupby("parameter")[["covered", "z"]].agg(["mean", "std"]))
    assert 0.84 <= coverage <= 0.96


def test_parametrization_of_each_pooled_block():
    _, data = crm_data(200, "bgnbd", seed=3, static=False)
    spec = TVCSpec(model="bgnbd", pooling="partial", effect_pooling="partial", centered_params=("r", "gamma"))
    free = {v.name for v in spec.build(data).free_RVs}
    assert {"log_r", "z_log_alpha", "z_log_a", "z_log_b", "gamma"} <= free
    assert not {"z_log_r", "log_alpha", "u_gamma"} & free
    every = {v.name for v in TVCSpec(model="bgnbd", pooling="partial", effect_pooling="partial",
                                     parametrization="centered").build(data).free_RVs}  # fmt: skip
    assert {"log_r", "log_alpha", "log_a", "log_b", "gamma"} <= every
    assert (
        TVCSpec(model="bgnbd", pooling="partial").centered_blocks(data) == frozenset()
    )  # 200 < 2,000 per segment: effects non-centred
    with pytest.raises(LtvlabError, match="not pooled blocks"):
        TVCSpec(model="bgnbd", centered_params=("s",))


def test_auto_form_of_the_base_parameters_follows_the_data():
    # the simulator gives every segment the same BG/NBD a, and segments of 1,300 customers pin r and alpha down:
    # "auto" writes r and alpha centred and a non-centred (the static models' rule on the same customers), and
    # the model has the matching free variables; fixed forms still give 1 or 0 per block
    _, data = crm_data(4000, "bgnbd", seed=12, static=False)
    spec = TVCSpec(model="bgnbd", pooling="partial", effect_pooling="partial")
    weights = spec.base_centering(data)
    assert np.all(weights["r"] == 1.0) and np.all(weights["alpha"] == 1.0) and np.all(weights["a"] == 0.0)
    free = {v.name for v in spec.build(data).free_RVs}
    assert {"log_r", "log_alpha", "z_log_a"} <= free and not {"z_log_r", "log_a"} & free
    fixed = TVCSpec(model="bgnbd", pooling="partial", centered_params=("a",)).base_centering(data)
    assert np.all(fixed["a"] == 1.0) and np.all(fixed["r"] == 0.0)


@pytest.mark.slow  # one small NUTS fit (the contact model's Numba compile is most of it)
def test_nuts_fit_that_fails_its_gate_is_remedied_and_says_so(monkeypatch):
    # 60 draws cannot reach the ESS gate; with a remedy budget below one refit the fit stops at once, and the
    # warnings, the config and the JSON diagnostics say why, in gradient evaluations
    from ltvlab.ltv import _model

    monkeypatch.setattr(_model, "REMEDY_BUDGET_FACTOR", 0.5)
    _, data = crm_data(600, "bgnbd", seed=4, n_segments=2, static=False)
    spec = TVCSpec(model="bgnbd", pooling="partial", effect_pooling="complete")
    with pytest.warns(ConvergenceWarning):
        fit = spec.fit(data, method="nuts", draws=60, tune=60, seed=1, remedy=True)
    assert not fit.diagnostics.ok
    (message,) = fit.config["remedies"]
    assert "gradient evaluations (0.5x the first fit)" in message and "stopped" in message
    assert message in fit.warnings and fit.to_dict()["diagnostics"]["remedies"] == [message]
    assert fit.config["draws"] == 60 and set(fit.config["base_centering"]) == {"r", "alpha", "a", "b"}
