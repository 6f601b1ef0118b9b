"""The dated synthetic CRM: customers, transactions, interactions, an experiment, and their truth.

The design is documented in :mod:`ltvlab.data.synthetic`. Customers are simulated in chunks with compact dtypes
so that a million customers fit comfortably in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ltvlab.data.synthetic_frames import (
    ACQUISITION_CHANNELS,
    REGIONS,
    categorical,
    customer_ids,
    customers_frame,
    effects_frame,
    experiment_frame,
    interactions_frame,
    transactions_frame,
)
from ltvlab.data.synthetic_processes import DatedProcess
from ltvlab.data.synthetic_truth import (
    Assignment,
    HyperParameters,
    StrategySpec,
    draw_effects,
    draw_segments,
    resolve_strategies,
    treatment_probability,
)
from ltvlab.errors import LtvlabError

ACQUISITION_PROBS = (0.4, 0.2, 0.3, 0.1)
ONLINE_SHARE_MEAN = (0.8, 0.9, 0.2, 0.5)  # mean share of a customer's purchases made online, per channel
REGION_PROBS = (0.3, 0.3, 0.2, 0.2)


@dataclass(frozen=True, slots=True)
class SyntheticCRM:
    """Frames of one synthetic CRM data set and its ground truth (see :mod:`ltvlab.data.synthetic`)."""

    customers: pd.DataFrame
    segments: pd.DataFrame
    transactions: pd.DataFrame
    interactions: pd.DataFrame
    experiment: pd.DataFrame
    strategy_effects: pd.DataFrame
    truth: dict = field(repr=False)
    model: str
    assignment: Assignment
    start: str
    acquisition_end: str
    calibration_end: str
    holdout_end: str
    seed: int


def _day(value: str | date, name: str) -> date:
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise LtvlabError(f"{name}={value!r} is not a date; give it as YYYY-MM-DD") from exc


def _segment_sizes(n_customers: int, n_segments: int, segment_sizes) -> np.ndarray:
    if segment_sizes is None:
        if n_segments < 1 or n_customers < n_segments:
            raise LtvlabError(f"need 1 <= n_segments <= n_customers, got {n_segments} and {n_customers}")
        sizes = np.full(n_segments, n_customers // n_segments)
        sizes[: n_customers % n_segments] += 1
        return sizes
    sizes = np.asarray(segment_sizes, dtype=np.int64)
    if sizes.ndim != 1 or sizes.size == 0 or np.any(sizes < 1) or sizes.sum() != n_customers:
        raise LtvlabError(
            f"segment_sizes must be positive and add up to n_customers={n_customers}; got {list(sizes)}"
        )
    return sizes


def _dated_process(model: str | None) -> tuple[str, DatedProcess]:
    """The registry's name and dated process of ``model`` (None: the default purchase model).

    The registry lives in :mod:`ltvlab.ltv`, above the data layer, so it is imported here, when a CRM is
    generated, and never at import time.
    """
    from ltvlab.ltv.registry import DEFAULT_PURCHASE_MODEL, get_model, registered_models

    name = DEFAULT_PURCHASE_MODEL if model is None else model
    known = [n for n in registered_models() if get_model(n).dated_process is not None]
    process = get_model(name).dated_process if name in registered_models(None) else None
    if process is None:
        raise LtvlabError(f"model={name!r} has no dated CRM simulator; use one of {known}")
    return name, process


@dataclass(frozen=True)
class _Run:
    """Everything a CRM simulation needs before its chunks are drawn (shared by :func:`generate_crm` and
    :func:`write_transactions`, so both draw the same customers from the same seed)."""

    model: str
    ctx: dict
    segments: pd.DataFrame
    n_customers: int
    days: tuple[date, date, date, date]
    bounds: list[int]
    seqs: list[np.random.SeedSequence]

    @property
    def process(self) -> DatedProcess:
        return self.ctx["process"]

    @property
    def strategies(self) -> tuple[StrategySpec, ...]:
        return self.ctx["strategies"]

    @property
    def hyper(self) -> HyperParameters:
        return self.ctx["hyper"]

    def chunks(self):
        """``(lo, hi, rng)`` of each chunk of customers, in order."""
        for lo, hi, sq in zip(self.bounds[:-1], self.bounds[1:], self.seqs, strict=True):
            yield lo, hi, np.random.default_rng(sq)


def _prepare(
    n_customers,
    *,
    n_segments,
    segment_sizes,
    model,
    dates,
    strategies,
    assignment,
    experiment_strategy,
    hyper,
    chunk_size,
    seed,
) -> _Run:
    model, process = _dated_process(model)
    if assignment not in ("randomised", "confounded"):
        raise LtvlabError(f"assignment={assignment!r}; use 'randomised' or 'confounded'")
    if int(n_customers) != n_customers or n_customers < 1:
        raise LtvlabError(f"n_customers={n_customers!r} must be a positive integer")
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise LtvlabError(f"chunk_size={chunk_size!r} must be a positive integer")
    n_customers = int(n_customers)
    hyper = hyper or HyperParameters()
    strategy_specs = resolve_strategies(tuple(strategies))
    names = [s.name for s in strategy_specs]
    if experiment_strategy is not None and experiment_strategy not in names:
        raise LtvlabError(f"experiment_strategy={experiment_strategy!r} is not among strategies {names}")
    start, acquisition_end, calibration_end, holdout_end = dates
    d_start, d_acq = _day(start, "start"), _day(acquisition_end, "acquisition_end")
    d_cal, d_hold = _day(calibration_end, "calibration_end"), _day(holdout_end, "holdout_end")
    if not d_start <= d_acq < d_cal < d_hold:
        raise LtvlabError("dates must satisfy start <= acquisition_end < calibration_end < holdout_end")
    sizes = _segment_sizes(n_customers, n_segments, segment_sizes)
    n_seg = sizes.size

    root = np.random.SeedSequence(seed)
    truth_seq, assign_seq, chunk_seq = root.spawn(3)
    truth_rng, assign_rng = np.random.default_rng(truth_seq), np.random.default_rng(assign_seq)
    segments = draw_segments(process, sizes, hyper, truth_rng)
    rate_mult, drop_mult = draw_effects(strategy_specs, n_seg, hyper, truth_rng)
    segment_of = assign_rng.permutation(np.repeat(np.arange(n_seg, dtype=np.int16), sizes))
    seg_params = {c: segments[c].to_numpy() for c in (*process.param_names, "p", "q", "gamma")}
    ctx = {
        "process": process,
        "assignment": assignment,
        "hyper": hyper,
        "strategies": strategy_specs,
        "experiment_strategy": experiment_strategy,
        "segment_of": segment_of,
        "seg_params": seg_params,
        "rate_mult": rate_mult,
        "drop_mult": drop_mult,
        "n_segments": n_seg,
        "acq_days": (d_acq - d_start).days + 1,
        "cal_off": (d_cal - d_start).days,
        "hold_off": (d_hold - d_start).days,
        "hold_days": (d_hold - d_cal).days,
        "acc": _Accumulator(len(strategy_specs), n_seg),
    }
    bounds = [*range(0, n_customers, int(chunk_size)), n_customers]
    return _Run(
        model=model,
        ctx=ctx,
        segments=segments,
        n_customers=n_customers,
        days=(d_start, d_acq, d_cal, d_hold),
        bounds=bounds,
        seqs=chunk_seq.spawn(len(bounds) - 1),
    )


class _Accumulator:
    """Sums behind the strategy-effects truth, per (strategy, segment) plus an overall row."""

    names = ("n", "n_treated", "d_pur", "d_pur_t", "d_spend", "d_spend_t", "d_ret", "d_ret_t", "y_t", "y_c")

    def __init__(self, k: int, g: int):
        self.s = {n: np.zeros((k, g + 1)) for n in self.names}


def _simulate_chunk(ctx: dict, lo: int, hi: int, rng: np.random.Generator) -> dict:
    m = hi - lo
    seg = ctx["segment_of"][lo:hi]
    sp = ctx["seg_params"]
    process: DatedProcess = ctx["process"]
    d0 = rng.integers(0, ctx["acq_days"], size=m)  # first purchase, days after start
    w_cal = (ctx["cal_off"] - d0 + 1) / 7.0  # calibration exposure: through the end of calibration_end
    h = ctx["hold_days"] / 7.0
    lam = rng.gamma(sp["r"][seg], 1.0 / sp["alpha"][seg])
    drop = process.draw_dropout(rng, sp, seg)
    k1, alive, own1, t1 = process.run(lam, drop, np.zeros(m), w_cal, np.ones(m, dtype=bool), rng)
    nu = rng.gamma(sp["q"][seg], 1.0 / sp["gamma"][seg])
    chan = rng.choice(len(ACQUISITION_CHANNELS), size=m, p=ACQUISITION_PROBS)
    region = rng.choice(len(REGIONS), size=m, p=REGION_PROBS)
    online_mean = np.asarray(ONLINE_SHARE_MEAN)[chan]
    online_share = rng.beta(4.0 * online_mean, 4.0 * (1 - online_mean))

    # treatment assignment at the start of the holdout (= campaign) period
    strategies: tuple[StrategySpec, ...] = ctx["strategies"]
    k = len(strategies)
    treated = np.zeros((m, k), dtype=bool)
    arm = None
    for j, s in enumerate(strategies):
        if s.name == ctx["experiment_strategy"]:
            arm = rng.random(m) < 0.5
            treated[:, j] = arm
        else:
            prob = treatment_probability(s.share, k1, ctx["assignment"], ctx["hyper"])
            treated[:, j] = rng.random(m) < prob
    log_rate = np.log(ctx["rate_mult"])[:, seg].T  # (m, k)
    log_drop = np.log(ctx["drop_mult"])[:, seg].T
    lam2 = lam * np.exp((treated * log_rate).sum(axis=1))
    drop2_raw = drop * np.exp((treated * log_drop).sum(axis=1))
    drop2 = process.cap_dropout(drop2_raw)

    # holdout-period purchases of customers alive at its start
    t0 = w_cal
    hh = np.full(m, h)
    k2, alive_end, own2, t2 = process.run(lam2, drop2, t0, hh, alive, rng)

    # truth: effects on expected holdout outcomes, per strategy, switching one strategy on and off
    acc = ctx["acc"]
    n_seg = ctx["n_segments"]
    mean_spend = sp["p"][seg] / nu
    y_pur, _ = process.expected_outcomes(lam2, drop2, alive, h)
    for j in range(k):
        on, off = treated[:, j], ~treated[:, j]
        lam_on = lam2 * np.exp(np.where(on, 0.0, log_rate[:, j]))
        lam_off = lam2 * np.exp(np.where(on, -log_rate[:, j], 0.0))
        d_on = drop * np.exp((treated * log_drop).sum(axis=1) + np.where(on, 0.0, log_drop[:, j]))
        d_off = drop * np.exp((treated * log_drop).sum(axis=1) - np.where(on, log_drop[:, j], 0.0))
        d_on, d_off = process.cap_dropout(d_on), process.cap_dropout(d_off)
        p1, r1 = process.expected_outcomes(lam_on, d_on, alive, h)
        p0, r0 = process.expected_outcomes(lam_off, d_off, alive, h)
        dp, dr = p1 - p0, r1 - r0
        for g_idx in (seg, np.full(m, n_seg)):
            for name, val in (
                ("n", np.ones(m)),
                ("n_treated", on.astype(float)),
                ("d_pur", dp),
                ("d_pur_t", dp * on),
                ("d_spend", dp * mean_spend),
                ("d_spend_t", dp * mean_spend * on),
                ("d_ret", dr),
                ("d_ret_t", dr * on),
                ("y_t", y_pur * on),
                ("y_c", y_pur * off),
            ):
                acc.s[name][j] += np.bincount(g_idx, weights=val, minlength=n_seg + 1)

    # transactions: the first purchase at t = 0, then calibration and holdout purchases
    owner = np.concatenate([np.arange(m), own1, own2])
    t_all = np.concatenate([np.zeros(m), t1, t2])
    cal_rows = m + own1.size
    day = d0[owner] + np.floor(t_all * 7.0).astype(np.int64)
    day[:cal_rows] = np.minimum(day[:cal_rows], ctx["cal_off"])  # guard against rounding at the boundary
    day[cal_rows:] = np.clip(day[cal_rows:], ctx["cal_off"] + 1, ctx["hold_off"])
    amount = np.maximum(np.round(rng.gamma(sp["p"][seg][owner], 1.0 / nu[owner]), 2), 0.01)
    online = rng.random(owner.size) < online_share[owner]
    order = np.lexsort((day, owner))
    pre_spend = np.bincount(owner[:cal_rows], weights=amount[:cal_rows], minlength=m)
    post_spend = np.bincount(owner[cal_rows:], weights=amount[cal_rows:], minlength=m)

    # interactions: contacts of treated customers, dated uniformly over the campaign period
    ci, cj = np.nonzero(treated)
    contacts_mean = np.array([s.contacts_mean for s in strategies])
    n_contacts = 1 + rng.poisson(contacts_mean[cj] - 1.0)
    i_owner = np.repeat(ci, n_contacts)
    i_strat = np.repeat(cj, n_contacts)
    i_day = ctx["cal_off"] + 1 + rng.integers(0, ctx["hold_days"], size=i_owner.size)
    online_c = np.array([s.online_share for s in strategies])
    i_online = rng.random(i_owner.size) < online_c[i_strat]
    i_order = np.lexsort((i_day, i_owner))

    return {
        "customers": {
            "segment": seg,
            "channel": chan,
            "region": region,
            "d0": d0,
            "lam": lam,
            "drop": drop,
            "nu": nu,
            "online_share": online_share,
            "pre_purchases": k1,
            "alive": alive,
            "alive_end": alive_end,
            "treated": treated,
            "expected_holdout_purchases": y_pur,
            "pre_spend": pre_spend,
            "post_purchases": k2,
            "post_spend": post_spend,
            "arm": arm,
        },
        "tx": (owner[order] + lo, day[order], amount[order], online[order]),
        "ix": (i_owner[i_order] + lo, i_day[i_order], i_strat[i_order], i_online[i_order]),
    }


def generate_crm(
    n_customers: int,
    *,
    n_segments: int = 5,
    segment_sizes=None,
    model: str | None = None,
    start: str | date = "2022-01-01",
    acquisition_end: str | date = "2022-03-31",
    calibration_end: str | date = "2022-12-31",
    holdout_end: str | date = "2023-12-31",
    strategies: tuple[str | StrategySpec, ...] = (
        "email",
        "sms",
        "push",
        "coupon",
        "loyalty_programme",
        "personalised_reco",
        "birthday",
        "member_day",
        "call_back",
    ),
    assignment: Assignment = "randomised",
    experiment_strategy: str | None = "email",
    hyper: HyperParameters | None = None,
    chunk_size: int = 200_000,
    seed: int,
) -> SyntheticCRM:
    """Generate a synthetic CRM data set with known ground truth (design in :mod:`ltvlab.data.synthetic`).

    Parameters
    ----------
    n_customers
        Number of customers (all acquired between ``start`` and ``acquisition_end``).
    n_segments, segment_sizes
        Number of latent segments of (as equal as possible) size, or explicit sizes adding up to ``n_customers``.
    model
        Name of a registered purchase model with a dated simulator (BG/NBD, Pareto/NBD; see
        :mod:`ltvlab.data.synthetic_processes`); None for the registry's default model.
    start, acquisition_end, calibration_end, holdout_end
        Dates (inclusive). Strategies act from the day after ``calibration_end`` (the campaign period is the
        holdout period); no data after ``holdout_end``.
    strategies
        Names from :data:`ltvlab.data.synthetic_truth.DEFAULT_STRATEGIES` or :class:`StrategySpec` objects.
    assignment
        ``"randomised"``: each strategy reaches a random ``share`` of customers; ``"confounded"``: the chance
        rises with the customer's calibration repeat purchases (rule in :class:`HyperParameters`).
    experiment_strategy
        A strategy randomised 50/50 whatever ``assignment`` says, reported in the ``experiment`` table;
        ``None`` for no experiment.
    hyper
        Hyper-distribution; CDNOW-centred defaults.
    chunk_size
        Customers simulated at a time (memory bound); part of what ``seed`` reproduces.
    seed
        Seed of everything.
    """
    run = _prepare(
        n_customers,
        n_segments=n_segments,
        segment_sizes=segment_sizes,
        model=model,
        dates=(start, acquisition_end, calibration_end, holdout_end),
        strategies=strategies,
        assignment=assignment,
        experiment_strategy=experiment_strategy,
        hyper=hyper,
        chunk_size=chunk_size,
        seed=seed,
    )
    model, process, ctx, segments = run.model, run.process, run.ctx, run.segments
    strategy_specs, names, hyper = run.strategies, [s.name for s in run.strategies], run.hyper
    n_customers, (d_start, d_acq, d_cal, d_hold) = run.n_customers, run.days
    rate_mult, drop_mult = ctx["rate_mult"], ctx["drop_mult"]
    parts = [_simulate_chunk(ctx, lo, hi, rng) for lo, hi, rng in run.chunks()]

    ids = customer_ids(n_customers)
    keys = [key for key in parts[0]["customers"] if key != "arm"]
    cust = {key: np.concatenate([p["customers"][key] for p in parts]) for key in keys}
    customers = customers_frame(ids, cust, process, names, segments, d_start)
    transactions = transactions_frame(ids, parts, d_start)
    interactions = interactions_frame(ids, parts, d_start, names)
    experiment = experiment_frame(ids, parts, cust, customers, ctx["cal_off"])
    del parts, cust
    effects = effects_frame(ctx["acc"].s, strategy_specs, segments, rate_mult, drop_mult)
    truth = {
        "model": model,
        "time_unit": "W",
        "hyper": hyper.as_dict(),
        "assignment": assignment,
        "assignment_rule": (
            "P(treated) = share"
            if assignment == "randomised"
            else "logit P(treated) = logit(share) + confounding_slope * (log1p(pre_purchases) - confounding_center)"
        ),
        "treatment_start": (d_cal + timedelta(days=1)).isoformat(),
        "holdout_weeks": ctx["hold_days"] / 7.0,
        "experiment_strategy": experiment_strategy,
        "strategies": {s.name: s for s in strategy_specs},
    }
    return SyntheticCRM(
        customers=customers,
        segments=segments,
        transactions=transactions,
        interactions=interactions,
        experiment=experiment,
        strategy_effects=effects,
        truth=truth,
        model=model,
        assignment=assignment,
        start=d_start.isoformat(),
        acquisition_end=d_acq.isoformat(),
        calibration_end=d_cal.isoformat(),
        holdout_end=d_hold.isoformat(),
        seed=seed,
    )


@dataclass(frozen=True, slots=True)
class WrittenTransactions:
    """What :func:`write_transactions` wrote: the file, its size and the truth of its segments."""

    path: str
    n_customers: int
    n_transactions: int
    segments: pd.DataFrame
    model: str
    calibration_end: str
    holdout_end: str
    seed: int


def write_transactions(
    path,
    n_customers: int,
    *,
    n_segments: int = 5,
    segment_sizes=None,
    model: str | None = None,
    start: str | date = "2022-01-01",
    acquisition_end: str | date = "2022-03-31",
    calibration_end: str | date = "2022-12-31",
    holdout_end: str | date = "2023-12-31",
    hyper: HyperParameters | None = None,
    chunk_size: int = 200_000,
    progress: bool = False,
    seed: int,
) -> WrittenTransactions:
    """The transactions of :func:`generate_crm` without strategies, streamed chunk by chunk to one Parquet file.

    For data sets too large to hold as data frames (ten million customers and their 35 million transactions):
    memory stays that of one chunk of ``chunk_size`` customers. The file has the columns of
    ``generate_crm(...).transactions`` plus each customer's latent ``segment`` (``S01``, ...), one row group per
    chunk, ordered by customer and date. The same arguments and seed give the same customers and transactions
    as ``generate_crm(..., strategies=(), experiment_strategy=None)``; the customers' latent values are not
    kept (the returned ``segments`` table is the truth a fit is checked against).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    run = _prepare(
        n_customers,
        n_segments=n_segments,
        segment_sizes=segment_sizes,
        model=model,
        dates=(start, acquisition_end, calibration_end, holdout_end),
        strategies=(),
        assignment="randomised",
        experiment_strategy=None,
        hyper=hyper,
        chunk_size=chunk_size,
        seed=seed,
    )
    d_start = run.days[0]
    seg_labels = run.segments["segment"]
    n_tx = 0
    writer = None
    try:
        with tqdm(total=run.n_customers, disable=not progress, unit="customer", desc="transactions") as bar:
            for lo, hi, rng in run.chunks():
                part = _simulate_chunk(run.ctx, lo, hi, rng)
                owner = part["tx"][0]
                frame = transactions_frame(
                    customer_ids(run.n_customers, lo, hi), [part], d_start, offset=lo
                ).assign(segment=categorical(part["customers"]["segment"][owner - lo], seg_labels))
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
                n_tx += len(frame)
                bar.update(hi - lo)
    finally:
        if writer is not None:
            writer.close()
    return WrittenTransactions(
        path=str(path),
        n_customers=run.n_customers,
        n_transactions=n_tx,
        segments=run.segments,
        model=run.model,
        calibration_end=run.days[2].isoformat(),
        holdout_end=run.days[3].isoformat(),
        seed=seed,
    )
