"""Summary-level simulators against closed forms and against a naive event-by-event simulator.

Tolerances are ``K`` Monte Carlo standard errors (sample sd / sqrt(n)); with K = 4 a correct simulator fails a
given check with probability about 6e-5, and the seeds are fixed so results do not flicker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import hyp2f1

from ltvlab.data.synthetic import (
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_gamma_gamma_transactions,
    simulate_pareto_nbd,
)
from ltvlab.errors import LtvlabError

K = 4.0
# CDNOW maximum-likelihood estimates (Fader, Hardie & Lee 2005), weeks
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PNBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def bgnbd_expected_x(t, r, alpha, a, b):
    """E[X(t)], Fader, Hardie & Lee (2005), eq. (9)."""
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def pareto_expected_x(t, r, alpha, s, beta):
    """E[X(t)], Schmittlein, Morrison & Colombo (1987)."""
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def _assert_mean(values, expected, label):
    se = np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(np.mean(values) - expected) < K * se, f"{label}: mean {np.mean(values):.4f} vs {expected:.4f}"


def test_bgnbd_moments_match_closed_forms():
    n = 200_000
    rng = np.random.default_rng(11)
    T = rng.uniform(27.0, 39.0, size=n)  # staggered entry, as in CDNOW
    sim = simulate_bgnbd(n, **BG, T=T, holdout=39.0, seed=1)
    _assert_mean(sim["x"], bgnbd_expected_x(T, **BG).mean(), "E[X(T)]")
    # P(X(t) = 0) = (alpha / (alpha + t))^r: nobody drops out before the first repeat purchase
    _assert_mean(sim["x"] == 0, ((BG["alpha"] / (BG["alpha"] + T)) ** BG["r"]).mean(), "P(X=0)")
    hold = bgnbd_expected_x(T + 39.0, **BG) - bgnbd_expected_x(T, **BG)
    _assert_mean(sim["x_holdout"], hold.mean(), "E[X(T, T+39)]")
    assert ((sim["t_x"] >= 0) & (sim["t_x"] <= sim["T"])).all()
    assert ((sim["t_x"] > 0) == (sim["x"] > 0)).all()
    assert sim["lam"].mean() == pytest.approx(BG["r"] / BG["alpha"], rel=0.05)


def test_pareto_nbd_moments_match_closed_forms():
    n = 200_000
    T = np.random.default_rng(12).uniform(27.0, 39.0, size=n)
    sim = simulate_pareto_nbd(n, **PNBD, T=T, holdout=39.0, seed=2)
    _assert_mean(sim["x"], pareto_expected_x(T, **PNBD).mean(), "E[X(T)]")
    hold = pareto_expected_x(T + 39.0, **PNBD) - pareto_expected_x(T, **PNBD)
    _assert_mean(sim["x_holdout"], hold.mean(), "E[X(T, T+39)]")
    assert ((sim["t_x"] >= 0) & (sim["t_x"] <= sim["T"])).all()


def _naive_bgnbd(lam, p, T, rng):
    """Event-by-event reference: exponential gaps, a coin flip for dropout after each repeat purchase."""
    x = np.zeros(lam.size, dtype=int)
    t_x = np.zeros(lam.size)
    for i in range(lam.size):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x


def _naive_pareto(lam, mu, T, rng):
    x = np.zeros(lam.size, dtype=int)
    t_x = np.zeros(lam.size)
    for i in range(lam.size):
        end = min(rng.exponential(1.0 / mu[i]), T)
        t = rng.exponential(1.0 / lam[i])
        while t < end:
            x[i] += 1
            t_x[i] = t
            t += rng.exponential(1.0 / lam[i])
    return x, t_x


@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_joint_x_t_x_matches_event_by_event_simulation(model):
    # Larger rates than CDNOW so that x and t_x vary a lot; compares the order-statistic shortcut with the
    # plain process. Two-sample tests at level 1e-3 (fixed seeds).
    n, T = 4000, 20.0
    if model == "bgnbd":
        fast = simulate_bgnbd(n, r=2.0, alpha=4.0, a=2.0, b=6.0, T=T, seed=3)
        ref_x, ref_tx = _naive_bgnbd(
            fast["lam"].to_numpy(), fast["p"].to_numpy(), T, np.random.default_rng(4)
        )
    else:
        fast = simulate_pareto_nbd(n, r=2.0, alpha=4.0, s=2.0, beta=20.0, T=T, seed=3)
        ref_x, ref_tx = _naive_pareto(
            fast["lam"].to_numpy(), fast["mu"].to_numpy(), T, np.random.default_rng(4)
        )
    # same latent draws, so the comparison isolates the purchase process
    table = np.array(
        [np.bincount(np.minimum(v, 12), minlength=13) for v in (fast["x"].to_numpy(), ref_x)], dtype=float
    )
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > 1e-3
    fast_tx = fast["t_x"].to_numpy()[fast["x"].to_numpy() > 0]
    assert stats.ks_2samp(fast_tx, ref_tx[ref_x > 0]).pvalue > 1e-3


def test_gamma_gamma_mean_spend():
    n = 100_000
    x = np.random.default_rng(5).integers(0, 6, size=n)
    sim = simulate_gamma_gamma(x, **GG, seed=6)
    expected = GG["p"] * GG["gamma"] / (GG["q"] - 1)  # E[p / nu] with nu ~ Gamma(q, gamma)
    _assert_mean(sim.loc[sim["x"] > 0, "monetary"], expected, "E[mean spend]")
    _assert_mean(sim["expected_spend"], expected, "E[p/nu]")
    assert (sim.loc[sim["x"] == 0, "monetary"] == 0).all()
    tx = simulate_gamma_gamma_transactions(x, **GG, seed=7)
    assert len(tx) == x.sum()
    _assert_mean(tx["amount"], expected, "E[transaction value]")


def test_seeded_and_validated():
    a = simulate_bgnbd(500, **BG, T=30.0, seed=9)
    b = simulate_bgnbd(500, **BG, T=30.0, seed=9)
    c = simulate_bgnbd(500, **BG, T=30.0, seed=10)
    assert a.equals(b)
    assert not a.equals(c)
    with pytest.raises(LtvlabError, match="alpha"):
        simulate_bgnbd(10, r=1.0, alpha=-1.0, a=1.0, b=1.0, T=5.0, seed=0)
    with pytest.raises(LtvlabError, match="T must be positive"):
        simulate_pareto_nbd(3, r=1.0, alpha=1.0, s=1.0, beta=1.0, T=[1.0, 0.0, 2.0], seed=0)


# ---------------------------------------------------------------------------------------------------------------
# Dated CRM generator
# ---------------------------------------------------------------------------------------------------------------

from ltvlab.data.synthetic import StrategySpec, generate_crm  # noqa: E402
from ltvlab.features import customer_summary  # noqa: E402

ONE_DAY_WEEKS = 1.0 / 7.0  # calibration exposure runs through the end of calibration_end: T + 1 day


def _summary(crm):
    s = customer_summary(
        crm.transactions,
        calibration_end=crm.calibration_end,
        holdout_end=crm.holdout_end,
        unit="W",
        merge_same_day=False,  # the model counts every purchase, also two on one day
    )
    return s.merge(crm.customers, on="customer_id", validate="one_to_one")


@pytest.fixture(scope="module")
def crm_bgnbd():
    return generate_crm(24_000, n_segments=3, model="bgnbd", strategies=(), experiment_strategy=None, seed=21)


@pytest.fixture(scope="module")
def crm_randomised():
    big = StrategySpec("big_push", 2.0, 0.5, 0.3, 2.0, 1.0, 0.1)
    return generate_crm(
        30_000, n_segments=4, strategies=(big, "email", "coupon"), experiment_strategy="big_push", seed=22
    )


def test_crm_segment_moments_match_truth_table(crm_bgnbd):
    summary = _summary(crm_bgnbd)
    assert len(summary) == 24_000
    for seg in crm_bgnbd.segments.itertuples():
        s = summary[summary["segment"] == seg.segment]
        assert len(s) == seg.n_customers
        bg = {"r": seg.r, "alpha": seg.alpha, "a": seg.a, "b": seg.b}
        T = s["T"].to_numpy() + ONE_DAY_WEEKS
        h = s["duration_holdout"].to_numpy()
        _assert_mean(s["x"], bgnbd_expected_x(T, **bg).mean(), f"{seg.segment} E[x]")
        p0 = (seg.alpha / (seg.alpha + T)) ** seg.r
        _assert_mean(s["x"] == 0, p0.mean(), f"{seg.segment} P(x=0)")
        hold = bgnbd_expected_x(T + h, **bg) - bgnbd_expected_x(T, **bg)
        _assert_mean(s["x_holdout"], hold.mean(), f"{seg.segment} E[x_holdout]")
        # Gamma-Gamma: mean repeat value of repeaters has expectation p * gamma / (q - 1) whatever x is
        _assert_mean(s.loc[s["x"] > 0, "monetary"], seg.p * seg.gamma / (seg.q - 1), f"{seg.segment} spend")
    assert (summary["t_x"] <= summary["T"]).all()


def test_crm_pareto_nbd_segment_means():
    crm = generate_crm(
        16_000, n_segments=2, model="paretonbd", strategies=(), experiment_strategy=None, seed=23
    )
    summary = _summary(crm)
    assert "mu" in crm.customers.columns
    for seg in crm.segments.itertuples():
        s = summary[summary["segment"] == seg.segment]
        pn = {"r": seg.r, "alpha": seg.alpha, "s": seg.s, "beta": seg.beta}
        T = s["T"].to_numpy() + ONE_DAY_WEEKS
        _assert_mean(s["x"], pareto_expected_x(T, **pn).mean(), f"{seg.segment} E[x]")
        hold = pareto_expected_x(T + s["duration_holdout"].to_numpy(), **pn) - pareto_expected_x(T, **pn)
        _assert_mean(s["x_holdout"], hold.mean(), f"{seg.segment} E[x_holdout]")
    # per-customer truth: lam / mu (1 - exp(-mu h)) for customers alive at the start of the holdout
    diff = summary["x_holdout"] - summary["expected_holdout_purchases"].astype(float)
    _assert_mean(diff, 0.0, "x_holdout - E[x_holdout | latent]")


def test_crm_latent_truth_and_segment_hyper_distribution(crm_bgnbd):
    cust = crm_bgnbd.customers
    seg = crm_bgnbd.segments.set_index("segment")
    for name, group in cust.groupby("segment", observed=True):
        # lam ~ Gamma(r, alpha): mean r / alpha; p ~ Beta(a, b): mean a / (a + b)
        _assert_mean(group["lam"].astype(float), seg.loc[name, "r"] / seg.loc[name, "alpha"], f"{name} lam")
        _assert_mean(
            group["p"].astype(float), seg.loc[name, "a"] / (seg.loc[name, "a"] + seg.loc[name, "b"]), "p"
        )
    # first purchases inside the acquisition window
    assert cust["first_purchase"].min() >= pd.Timestamp(crm_bgnbd.start)
    assert cust["first_purchase"].max() <= pd.Timestamp(crm_bgnbd.acquisition_end)
    # hyper-distribution: 60 segments, log r_g ~ Normal(log r0, 0.3) -> z-test of mean and a chi-square on sd
    many = generate_crm(600, n_segments=60, strategies=(), experiment_strategy=None, seed=24)
    log_r = np.log(many.segments["r"].to_numpy() / many.truth["hyper"]["bgnbd"]["r"])
    sd = many.truth["hyper"]["segment_log_sd"]
    assert abs(log_r.mean()) < K * sd / np.sqrt(log_r.size)
    chi2 = (log_r.size - 1) * log_r.var(ddof=1) / sd**2
    assert stats.chi2(log_r.size - 1).sf(chi2) > 1e-4 and stats.chi2(log_r.size - 1).cdf(chi2) > 1e-4


def test_crm_holdout_purchases_match_per_customer_expectation(crm_randomised):
    summary = _summary(crm_randomised)
    diff = summary["x_holdout"] - summary["expected_holdout_purchases"].astype(float)
    _assert_mean(diff, 0.0, "x_holdout - E[x_holdout | latent, treatments]")


def test_crm_randomised_experiment_recovers_true_effect(crm_randomised):
    exp = crm_randomised.experiment
    treat, ctrl = exp[exp["arm"] == "treatment"], exp[exp["arm"] == "control"]
    # 50/50 randomisation: binomial check
    assert abs(len(treat) - len(exp) / 2) < K * np.sqrt(len(exp) / 4)
    # balance on pre-period covariates: Welch z under 4
    for cov in ("pre_purchases", "pre_spend", "tenure_weeks"):
        z = stats.ttest_ind(treat[cov], ctrl[cov], equal_var=False).statistic
        assert abs(z) < K, cov
    truth = crm_randomised.strategy_effects.set_index(["strategy", "segment"])
    ate = truth.loc[("big_push", "all"), "ate_purchases"]
    diff = treat["purchases"].mean() - ctrl["purchases"].mean()
    se = np.sqrt(treat["purchases"].var() / len(treat) + ctrl["purchases"].var() / len(ctrl))
    assert abs(diff - ate) < K * se
    assert ate > K * se  # the effect is large enough that the check above is not vacuous
    # segment-specific multipliers differ from the strategy mean by the stated log-normal noise
    seg_rows = crm_randomised.strategy_effects.query("segment != 'all'")
    assert seg_rows["rate_multiplier"].nunique() == len(seg_rows)


def test_crm_assignment_randomised_vs_confounded(crm_randomised):
    cust = crm_randomised.customers
    # randomised: share as specified and independent of customer value
    share = cust["treated_coupon"].mean()
    assert abs(share - 0.25) < K * np.sqrt(0.25 * 0.75 / len(cust))
    z = stats.ttest_ind(
        cust.loc[cust["treated_coupon"], "lam"], cust.loc[~cust["treated_coupon"], "lam"], equal_var=False
    ).statistic
    assert abs(z) < K
    conf = generate_crm(
        30_000, n_segments=4, strategies=("email", "coupon"), assignment="confounded", seed=22
    )
    cc = conf.customers
    # the stated rule: logit P = logit(share) + slope * (log1p(pre_purchases) - centre); recover it by logit fit
    import statsmodels.api as sm

    X = sm.add_constant(np.log1p(cc["pre_purchases"].to_numpy()))
    fit = sm.Logit(cc["treated_coupon"].to_numpy().astype(float), X).fit(disp=0)
    hyper = conf.truth["hyper"]
    intercept = np.log(0.25 / 0.75) - hyper["confounding_slope"] * hyper["confounding_center"]
    assert abs(fit.params[1] - hyper["confounding_slope"]) < K * fit.bse[1]
    assert abs(fit.params[0] - intercept) < K * fit.bse[0]
    # value-confounded: treated customers have higher latent purchase rates, and the naive difference is biased up
    assert cc.loc[cc["treated_coupon"], "lam"].mean() > cc.loc[~cc["treated_coupon"], "lam"].mean()
    row = conf.strategy_effects.set_index(["strategy", "segment"]).loc[("coupon", "all")]
    assert row["naive_bias_purchases"] > 2 * abs(row["ate_purchases"])
    # the experiment strategy stays randomised in confounded mode
    e = conf.experiment
    z = stats.ttest_ind(
        e.loc[e["arm"] == "treatment", "pre_purchases"], e.loc[e["arm"] == "control", "pre_purchases"]
    ).statistic
    assert abs(z) < K


def test_crm_interactions_follow_treatment(crm_randomised):
    ix = crm_randomised.interactions
    cust = crm_randomised.customers.set_index("customer_id")
    assert (ix["date"] > pd.Timestamp(crm_randomised.calibration_end)).all()
    assert (ix["date"] <= pd.Timestamp(crm_randomised.holdout_end)).all()
    contacted = ix.loc[ix["strategy"] == "coupon", "customer_id"].unique()
    assert set(contacted) == set(cust.index[cust["treated_coupon"]])
    assert set(ix["channel"].unique()) <= {"online", "offline"}


def test_crm_seeded_and_validated():
    kw = {"n_segments": 2, "strategies": ("email", "sms"), "seed": 5}
    a, b = generate_crm(1500, **kw), generate_crm(1500, **kw)
    c = generate_crm(1500, **{**kw, "seed": 6})
    for name in ("customers", "segments", "transactions", "interactions", "experiment", "strategy_effects"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.transactions.equals(c.transactions)
    assert not a.segments.equals(c.segments)
    sizes = generate_crm(3030, segment_sizes=[30, 3000], strategies=(), experiment_strategy=None, seed=1)
    assert sizes.customers["segment"].value_counts().sort_index().tolist() == [30, 3000]
    with pytest.raises(LtvlabError, match="segment_sizes"):
        generate_crm(100, segment_sizes=[50, 40], seed=1)
    with pytest.raises(LtvlabError, match="unknown strategy"):
        generate_crm(100, strategies=("fax",), seed=1)
    with pytest.raises(LtvlabError, match="model"):
        generate_crm(100, model="bgbb", seed=1)
    with pytest.raises(LtvlabError, match="dates"):
        generate_crm(100, calibration_end="2021-01-01", seed=1)


def test_written_transactions_equal_the_generated_ones(tmp_path):
    """The streamed Parquet file holds exactly the in-memory generator's transactions, chunk after chunk."""
    from ltvlab.data.synthetic import write_transactions

    kw = {"n_segments": 3, "chunk_size": 700, "seed": 11}
    crm = generate_crm(2000, strategies=(), experiment_strategy=None, **kw)
    written = write_transactions(tmp_path / "tx.parquet", 2000, **kw)
    got = pd.read_parquet(written.path)
    segment = crm.customers.set_index("customer_id")["segment"]
    expected = crm.transactions.assign(segment=segment.reindex(crm.transactions["customer_id"]).values)
    assert written.n_transactions == len(expected) == len(got)
    assert written.n_customers == 2000
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(written.segments, crm.segments)
    assert pq_row_groups(written.path) == 3  # one per chunk: 700 + 700 + 600 customers
    with pytest.raises(LtvlabError, match="chunk_size"):
        write_transactions(tmp_path / "bad.parquet", 10, chunk_size=0, seed=1)


def pq_row_groups(path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_row_groups
