"""Targeted contacts: the naive time-varying-covariate fit is biased, the fit adjusted for the targeting score
recovers the simulated truth."""

from __future__ import annotations

import warnings

import pytest

from ltvlab.data.synthetic_contacts import simulate_contact_crm
from ltvlab.ltv.interactions import TVCSpec, prepare_tvc_data
from ltvlab.reports.interactions import bias_summary, naive_vs_adjusted

Z90 = 1.6449  # the 90% central interval is mean +- 1.645 sd for the Gaussian (Laplace) posterior


@pytest.mark.study
def test_naive_fit_is_biased_on_targeted_contacts_and_the_adjusted_fit_recovers_the_truth():
    # Targeted contacts (chance rises with the score, log-odds slope 1 per sd; the score raises the purchase rate
    # by exp(0.5) per sd): without the score the purchase effects absorb the score's effect; with it as a static
    # covariate they are identified. Laplace posteriors, 4,000 customers, 1 segment, 3 strategies, 52 weeks.
    crm = simulate_contact_crm(4_000, n_segments=1, assignment="targeted", seed=31)
    segment = crm.customers[["customer_id", "segment"]]  # the truth's segment label
    kw = dict(calibration_end=crm.calibration_end, merge_same_day=False, segment=segment)
    naive = prepare_tvc_data(crm.transactions, crm.covariates, **kw)
    adjusted = prepare_tvc_data(
        crm.transactions,
        crm.covariates,
        static=crm.customers[["customer_id", "score"]],
        static_columns=("score",),
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {
            name: TVCSpec(randomised=False).fit(d, method="laplace", draws=400, seed=1)
            for name, d in (("naive", naive), ("adjusted", adjusted))
        }
    for parameter in ("purchase", "dropout"):
        comp = naive_vs_adjusted(
            fits["naive"].effects(level=0.9),
            fits["adjusted"].effects(level=0.9),
            crm.truth,
            parameter=parameter,
        )
        assert len(comp) == 3 and comp["truth"].notna().all()
        print(comp.round(3).to_string())
        sd = {n: (comp[f"{n}_upper"] - comp[f"{n}_lower"]) / (2 * Z90) for n in ("naive", "adjusted")}
        z_adjusted = comp["adjusted_bias"] / sd["adjusted"]
        # adjusted: within 3.5 posterior sd of the truth for each strategy (6 checks, ~0.3% false alarms)
        assert (z_adjusted.abs() < 3.5).all(), comp
        if parameter == "purchase":
            # naive: every purchase effect overstated by more than 3 posterior sd, and further off than adjusted
            assert (comp["naive_bias"] / sd["naive"] > 3).all(), comp
            assert (comp["naive_bias"].abs() > comp["adjusted_bias"].abs()).all(), comp
            summary = bias_summary(comp)
            assert summary["naive_mean_bias"] > 3 * abs(summary["adjusted_mean_bias"])
