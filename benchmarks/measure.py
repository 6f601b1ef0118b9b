"""One benchmark measurement of ltvlab, run in a fresh process by ``benchmarks/run_all.py``.

``python benchmarks/measure.py NAME '{"json": "kwargs"}' OUT.json`` runs the measurement ``NAME`` and writes its
figures to ``OUT.json``; the parent reads the child's peak RSS from ``os.wait4``. Measurements:

- ``prepare_synth``: synthetic CRM transactions (``generate_crm``, 20 segments) -> Parquet, plus the DuckDB summary.
- ``prepare_cdnow``: the CDNOW sample/master summary (weeks, calibration through 1997-09-30) -> Parquet.
- ``fit``: an ltvlab BG/NBD NUTS fit on a prepared summary; the fit is pickled for ``score``.
- ``score``: ``write_scores`` (P(alive), expected purchases) for every customer from a pickled fit.
- ``summary_duckdb`` / ``summary_pandas``: the customer summary of a transactions Parquet file.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

OUT_DIR = Path(__file__).resolve().parent / "out"
SYNTH_CALIBRATION_END = "2022-12-31"
SYNTH_HOLDOUT_END = "2023-12-31"
CDNOW_CALIBRATION_END = "1997-09-30"
PARAMS = ("r", "alpha", "a", "b")


def _posterior_table(idata: Any, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Posterior mean, sd, MCSE of the mean and bulk ESS of scalar parameters."""
    import arviz as az

    table = az.summary(idata, var_names=list(names), kind="all", round_to="none")
    return {
        name: {
            "mean": float(table.loc[name, "mean"]),
            "sd": float(table.loc[name, "sd"]),
            "mcse_mean": float(table.loc[name, "mcse_mean"]),
            "ess_bulk": float(table.loc[name, "ess_bulk"]),
            "r_hat": float(table.loc[name, "r_hat"]),
        }
        for name in names
    }


def sampling_seconds(idata: Any) -> float | None:
    """Sampling time (tuning + draws) recorded by the sampler in ``sampling_time``, if any."""
    for group in ("posterior", "sample_stats"):
        attrs = getattr(idata, group).attrs if hasattr(idata, group) else {}
        if "sampling_time" in attrs:
            return float(attrs["sampling_time"])
    return None


def prepare_cdnow(*, dataset: str) -> dict[str, Any]:
    from ltvlab.data import load_dataset
    from ltvlab.features import customer_summary

    summary = customer_summary(load_dataset(dataset), calibration_end=CDNOW_CALIBRATION_END, unit="W")
    path = OUT_DIR / f"{dataset}_summary.parquet"
    summary.to_parquet(path)
    return {"path": str(path), "n_customers": len(summary), "repeaters": int((summary["x"] > 0).sum())}


def prepare_synth(*, n_customers: int, seed: int = 2024) -> dict[str, Any]:
    """Transactions (with each customer's latent segment) and their DuckDB summary, both to Parquet."""
    from ltvlab.data.synthetic import generate_crm
    from ltvlab.features import customer_summary

    start = time.perf_counter()
    crm = generate_crm(n_customers, n_segments=20, seed=seed, experiment_strategy=None, strategies=())
    truth_path = OUT_DIR / f"synth_{n_customers}_truth.parquet"
    crm.segments[["segment", *PARAMS]].to_parquet(truth_path)
    tx = crm.transactions[["customer_id", "date", "amount"]]
    segment = crm.customers.set_index("customer_id")["segment"].astype(str)
    tx = tx.assign(segment=segment.reindex(tx["customer_id"]).to_numpy())
    del crm
    tx_path = OUT_DIR / f"synth_{n_customers}_transactions.parquet"
    tx.to_parquet(tx_path)
    generated_s = time.perf_counter() - start
    # The generator's purchases are a continuous-time BG/NBD process dated to the day: a repeat purchase on the
    # day of the first is a real repeat purchase, so same-day purchases are not merged here (merging them, the
    # CDNOW convention, shifts the 1M-customer MLE of alpha by ~3.6 standard errors: summary_conventions.py).
    summary = customer_summary(
        tx,
        calibration_end=SYNTH_CALIBRATION_END,
        holdout_end=SYNTH_HOLDOUT_END,
        unit="W",
        segment_cols=("segment",),
        merge_same_day=False,
    )
    summary_path = OUT_DIR / f"synth_{n_customers}_summary.parquet"
    summary.to_parquet(summary_path)
    keys = ["segment", "x", "t_x", "T"]
    return {
        "n_customers": len(summary),
        "n_transactions": len(tx),
        "generate_s": generated_s,
        "distinct_rows": int(summary[keys].drop_duplicates().shape[0]),
        "distinct_rows_pooled": int(summary[keys[1:]].drop_duplicates().shape[0]),
        "transactions": str(tx_path),
        "summary": str(summary_path),
        "truth": str(truth_path),
    }


def _read_summary(path: str, unit: str = "W") -> pd.DataFrame:
    summary = pd.read_parquet(path)
    summary.attrs["unit"] = unit  # Parquet round trip keeps attrs only through pandas metadata; be explicit
    return summary


def fit(
    *,
    summary: str,
    pooling: str,
    draws: int,
    tune: int,
    chains: int,
    seed: int = 2024,
    sampler: str | None = None,
    save_as: str | None = None,
    time_step: float | None = None,
    cores: int = 1,
    truth: str | None = None,
) -> dict[str, Any]:
    """An ltvlab BG/NBD NUTS fit; wall time covers validation, compression, compilation, sampling, diagnostics."""
    from ltvlab.ltv import BGNBD

    data = _read_summary(summary)
    spec = BGNBD(pooling=pooling, segment="segment" if pooling != "complete" else None, time_step=time_step)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = spec.fit(
            data, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler, cores=cores
        )
    wall_s = time.perf_counter() - start
    names = PARAMS if pooling == "complete" else tuple(f"mu_log_{p}" for p in PARAMS)
    names = tuple(n for n in names if n in result.idata.posterior)
    if pooling != "complete":
        names = tuple(result.idata.posterior.data_vars) if not names else names
    diag = result.diagnostics
    out = {
        "wall_s": wall_s,
        "sampling_s": sampling_seconds(result.idata),
        "n_customers": result.n_customers,
        "n_rows": result.n_rows,
        "sampler": result.config.get("sampler"),
        "time_step": time_step,
        "parametrization": result.config.get("parametrization"),
        "priors": result.config.get("priors"),
        "cores": cores,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "diagnostics_ok": bool(diag.ok),
        "max_r_hat": float(diag.max_r_hat),
        "min_ess_bulk": float(diag.min_ess_bulk),
        "min_ess_tail": float(diag.min_ess_tail),
        "divergences": int(diag.divergences),
        "max_treedepth": result.config.get("max_treedepth"),
        "grad_evals_per_draw": float(result.idata.sample_stats["n_steps"].mean()),
        "messages": list(diag.messages),
        "remedies": list(diag.remedies),
        "warnings": sorted({str(w.message)[:200] for w in caught}),
        "posterior": _posterior_table(result.idata, names),
    }
    if truth:
        out["truth_recovery"] = _truth_recovery(result, truth)
    if save_as:
        with open(save_as, "wb") as handle:
            pickle.dump(result, handle)
    return out


def _truth_recovery(result: Any, truth_path: str) -> dict[str, float]:
    """:func:`truth_recovery` against the truth file the generator wrote."""
    return truth_recovery(result, pd.read_parquet(truth_path), PARAMS)


def truth_recovery(fit: Any, truth: pd.DataFrame, names: tuple[str, ...]) -> dict[str, float]:
    """How well the segment posteriors recover the simulated truth (``truth``: one row per segment).

    Coverage of the central 90% intervals over segments x ``names``, and the mean, signed mean and largest
    |posterior mean - truth| / posterior sd: a biased approximation (e.g. ``time_step``) shows here.
    """
    truth = truth.set_index("segment")
    draws = fit.draws()
    z, hits = [], []
    for name in names:
        for s, seg in enumerate(fit.segments):
            values = draws[name][:, s]
            true = float(truth.loc[seg, name])
            lo, hi = np.quantile(values, [0.05, 0.95])
            hits.append(bool(lo <= true <= hi))
            z.append(float((values.mean() - true) / values.std(ddof=1)))
    return {
        "coverage_90": float(np.mean(hits)),
        "n_checks": len(hits),
        "mean_z": float(np.mean(z)),
        "mean_abs_z": float(np.mean(np.abs(z))),
        "max_abs_z": float(np.max(np.abs(z))),
    }


def score(*, fit_path: str, summary: str, draws: int, chunk_rows: int = 2048) -> dict[str, Any]:
    """P(alive) and expected purchases (52 weeks) for every customer, streamed to Parquet."""
    from ltvlab.ltv import write_scores

    with open(fit_path, "rb") as handle:
        fitted = pickle.load(handle)
    data = _read_summary(summary)
    out_path = OUT_DIR / f"scores_{Path(summary).stem}.parquet"
    start = time.perf_counter()
    run = write_scores(fitted, None, data, out_path, max_draws=draws, chunk_rows=chunk_rows)
    wall_s = time.perf_counter() - start
    return {
        "wall_s": wall_s,
        "n_customers": run.n_customers,
        "n_unique_summaries": run.n_unique_summaries,
        "n_draws": run.n_draws,
    }


def duckdb_parquet_summary(
    parquet: str, *, merge_same_day: bool = True, memory_limit: str | None = None
) -> tuple[pd.DataFrame, Any]:
    """The synthetic benchmark's customer summary of Parquet file(s) ``parquet`` (a path or glob), computed by
    DuckDB on a view ``tx`` of them (``memory_limit``: DuckDB's, e.g. ``"2GB"``; its default is 80% of RAM);
    returns the summary and the DuckDB connection."""
    import duckdb

    from ltvlab.features import customer_summary

    con = duckdb.connect(config={} if memory_limit is None else {"memory_limit": memory_limit})
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE VIEW tx AS SELECT * FROM read_parquet('{parquet}')")
    result = customer_summary(
        "tx",
        calibration_end=SYNTH_CALIBRATION_END,
        holdout_end=SYNTH_HOLDOUT_END,
        unit="W",
        segment_cols=("segment",),
        merge_same_day=merge_same_day,
        con=con,
    )
    return result, con


def summary_duckdb(*, transactions: str) -> dict[str, Any]:
    """The ltvlab DuckDB summary straight from the Parquet file (DuckDB scans it; pandas never holds it)."""
    start = time.perf_counter()
    result, con = duckdb_parquet_summary(transactions)
    wall_s = time.perf_counter() - start
    n_tx = int(con.execute("SELECT count(*) FROM tx").fetchone()[0])
    return {"wall_s": wall_s, "n_customers": len(result), "n_transactions": n_tx, **_checksum(result)}


def summary_pandas(*, transactions: str) -> dict[str, Any]:
    """The same summary with pandas (reads the Parquet file into memory first, as a pandas user would)."""
    from pandas_summary import pandas_customer_summary

    start = time.perf_counter()
    tx = pd.read_parquet(transactions)
    result = pandas_customer_summary(
        tx, calibration_end=SYNTH_CALIBRATION_END, holdout_end=SYNTH_HOLDOUT_END, unit_days=7
    )
    wall_s = time.perf_counter() - start
    return {"wall_s": wall_s, "n_customers": len(result), "n_transactions": len(tx), **_checksum(result)}


def _checksum(summary: pd.DataFrame) -> dict[str, float]:
    """Column totals, so the DuckDB and pandas summaries can be checked to agree."""
    return {
        f"sum_{name}": float(np.sum(summary[name].to_numpy(dtype=float)))
        for name in ("x", "t_x", "T", "monetary", "x_holdout")
    }


MEASUREMENTS = {
    "prepare_cdnow": prepare_cdnow,
    "prepare_synth": prepare_synth,
    "fit": fit,
    "score": score,
    "summary_duckdb": summary_duckdb,
    "summary_pandas": summary_pandas,
}


def main() -> None:
    name, kwargs, out = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    result = MEASUREMENTS[name](**kwargs)
    out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
