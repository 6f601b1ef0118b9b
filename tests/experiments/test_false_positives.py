"""A/A simulations on Hillstrom's control arm: fixed-horizon and sequential false-positive rates."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.experiments import (
    always_valid_p_values,
    confidence_sequence_radius,
    default_mixing_sd,
    msprt_log_lr,
    sequential_monitor,
    welch_from_moments,
)
from tests.reference import hillstrom as ref

ALPHA = 0.05
N_SIMS = 1000
# Monte Carlo standard error of a rejection rate near alpha over N_SIMS independent simulations.
MC_SE = float(np.sqrt(ALPHA * (1 - ALPHA) / N_SIMS))


def _control_outcome(hillstrom, metric: str) -> np.ndarray:
    return hillstrom.loc[hillstrom["segment"] == ref.CONTROL, metric].to_numpy(float)


@pytest.mark.parametrize("metric", ["visit", "spend"])
def test_aa_fixed_horizon_false_positive_rate(hillstrom, metric: str) -> None:
    """1,000 random 50/50 splits of the control arm: Welch rejects about alpha of the time."""
    y = _control_outcome(hillstrom, metric)
    rng = np.random.default_rng(20240501)
    p_values = []
    for _ in range(N_SIMS // 250):
        assign = (rng.random((250, y.size)) < 0.5).astype(float)
        n1 = assign.sum(axis=1)
        s1, q1 = assign @ y, assign @ (y * y)
        n0, s0, q0 = y.size - n1, y.sum() - s1, (y * y).sum() - q1
        m1, m0 = s1 / n1, s0 / n0
        v1, v0 = (q1 - n1 * m1**2) / (n1 - 1), (q0 - n0 * m0**2) / (n0 - 1)
        p_values.append(welch_from_moments(n1, m1, v1, n0, m0, v0, alpha=ALPHA).p_value)
    rate = float(np.mean(np.concatenate(p_values) < ALPHA))
    print(f"A/A fixed-horizon false-positive rate ({metric}): {rate:.3f}")
    # The band 0.035-0.065 is alpha +- 2.2 Monte Carlo SE (MC_SE = 0.0069).
    assert 0.035 <= rate <= 0.065


def _sequential_study(y: np.ndarray, *, looks: int, seed: int) -> tuple[float, float, float]:
    """Replays N_SIMS A/A tests in random arrival order; returns (naive, msprt, final-look) rejection rates."""
    rng = np.random.default_rng(seed)
    n = (y.size // looks) * looks
    mixing = default_mixing_sd(float(y.std()), n_arm=n // 2, n_control=n // 2)
    naive, msprt, final = [], [], []
    for _ in range(N_SIMS // 200):
        order = rng.permuted(np.tile(np.arange(y.size), (200, 1)), axis=1)[:, :n]
        values = y[order]
        treated = rng.random(values.shape) < 0.5
        blocks = lambda a: a.reshape(200, looks, n // looks).sum(axis=2).cumsum(axis=1)  # noqa: E731
        n1, s1, q1 = blocks(treated.astype(float)), blocks(values * treated), blocks(values**2 * treated)
        n0, s0, q0 = blocks(~treated * 1.0), blocks(values * ~treated), blocks(values**2 * ~treated)
        m1, m0 = s1 / n1, s0 / n0
        v1, v0 = (q1 - n1 * m1**2) / (n1 - 1), (q0 - n0 * m0**2) / (n0 - 1)
        welch = welch_from_moments(n1, m1, v1, n0, m0, v0, alpha=ALPHA)
        naive.append((welch.p_value < ALPHA).any(axis=1))
        final.append(welch.p_value[:, -1] < ALPHA)
        p_seq = always_valid_p_values(m1 - m0, v1 / n1 + v0 / n0, mixing_sd=mixing)
        msprt.append(p_seq[:, -1] <= ALPHA)
    return tuple(float(np.mean(np.concatenate(x))) for x in (naive, msprt, final))  # type: ignore[return-value]


@pytest.mark.parametrize("metric", ["visit", "spend"])
def test_sequential_looks_hold_alpha_while_naive_peeking_does_not(hillstrom, metric: str) -> None:
    naive, msprt, final = _sequential_study(_control_outcome(hillstrom, metric), looks=10, seed=7)
    print(f"10 looks ({metric}): naive {naive:.3f}, mSPRT {msprt:.3f}, final look only {final:.3f}")
    # mSPRT: at most alpha plus 2 Monte Carlo SE. Naive peeking (10 looks, theory ~0.19): more than 3 SE above.
    assert msprt <= ALPHA + 2 * MC_SE
    assert naive > ALPHA + 3 * MC_SE
    # Secondary sanity check on the same simulations: the single final look is an ordinary fixed-horizon
    # test, so its rate is alpha within 3 Monte Carlo SE.
    assert abs(final - ALPHA) <= 3 * MC_SE


def test_confidence_sequence_is_the_inverted_msprt() -> None:
    rng = np.random.default_rng(3)
    estimates, variances = rng.normal(0, 1, 500), rng.uniform(0.1, 2, 500)
    radius = confidence_sequence_radius(variances, mixing_sd=1.3, alpha=ALPHA)
    rejects = msprt_log_lr(estimates, variances, mixing_sd=1.3) >= np.log(1 / ALPHA)
    assert np.array_equal(rejects, np.abs(estimates) >= radius)


def test_sequential_monitor_detects_a_real_effect(hillstrom) -> None:
    arm = hillstrom.loc[hillstrom["segment"] == "Mens E-Mail", "visit"].to_numpy(float)
    result = sequential_monitor(arm, _control_outcome(hillstrom, "visit"), looks=10, alpha=ALPHA)
    assert result.rejected and result.first_rejection_look is not None
    path = result.to_frame()
    assert (path["cs_low"] <= path["estimate"]).all() and (path["estimate"] <= path["cs_high"]).all()
    # The always-valid interval is wider than the fixed-horizon one at the last look (it pays for peeking).
    last = path.iloc[-1]
    assert last["cs_high"] - last["cs_low"] > 2 * 1.96 * np.sqrt(last["variance"])
    assert (np.diff(path["p_value_always_valid"]) <= 0).all()
