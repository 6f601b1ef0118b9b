"""Assembly of the synthetic CRM's data frames from simulated chunks (compact dtypes)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ltvlab.data.synthetic_processes import DatedProcess
from ltvlab.features import columns as col

ACQUISITION_CHANNELS = ("web", "app", "store", "referral")
REGIONS = ("north", "south", "east", "west")
CHANNELS = ("online", "offline")
ARMS = ("control", "treatment")


def customer_ids(n: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """Ids ``C0000001, ...`` of customers ``lo .. hi - 1`` of ``n`` (all of them by default)."""
    width = max(7, len(str(n)))
    return np.char.add(
        "C", np.char.zfill(np.arange(lo + 1, (n if hi is None else hi) + 1).astype(str), width)
    )


def _str_ids(ids: np.ndarray, idx: np.ndarray) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(idx, categories=pd.Index(ids))).astype("str")


def _dates(start: date, offsets: np.ndarray) -> np.ndarray:
    return (np.datetime64(start, "D") + offsets.astype("timedelta64[D]")).astype("datetime64[us]")


def categorical(codes: np.ndarray, labels) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes).astype(np.int16), categories=list(labels))


def customers_frame(
    ids, cust: dict, process: DatedProcess, strategy_names, segments: pd.DataFrame, start: date
) -> pd.DataFrame:
    seg = cust["segment"]
    data = {
        col.CUSTOMER_ID: pd.Series(ids).astype("str"),
        "segment": categorical(seg, segments["segment"]),
        "acquisition_channel": categorical(cust["channel"], ACQUISITION_CHANNELS),
        "region": categorical(cust["region"], REGIONS),
        col.FIRST_PURCHASE: _dates(start, cust["d0"]),
        "lam": cust["lam"].astype(np.float32),
        process.dropout_column: cust["drop"].astype(np.float32),
        "nu": cust["nu"].astype(np.float32),
        "expected_spend": (segments["p"].to_numpy()[seg] / cust["nu"]).astype(np.float32),
        "online_share": cust["online_share"].astype(np.float32),
        "pre_purchases": cust["pre_purchases"].astype(np.int32),
        "alive_at_treatment_start": cust["alive"],
        "alive_at_end": cust["alive_end"],
        "expected_holdout_purchases": cust["expected_holdout_purchases"].astype(np.float32),
    }
    for j, name in enumerate(strategy_names):
        data[f"treated_{name}"] = cust["treated"][:, j]
    return pd.DataFrame(data)


def transactions_frame(ids, parts: list[dict], start: date, offset: int = 0) -> pd.DataFrame:
    """Transactions of ``parts``; customer ``k`` has id ``ids[k - offset]``."""
    owner, day, amount, online = (np.concatenate([p["tx"][i] for p in parts]) for i in range(4))
    return pd.DataFrame(
        {
            col.CUSTOMER_ID: _str_ids(ids, owner - offset),
            col.DATE: _dates(start, day),
            col.AMOUNT: amount,
            "channel": categorical(np.where(online, 0, 1), CHANNELS),
        }
    )


def interactions_frame(ids, parts: list[dict], start: date, strategy_names) -> pd.DataFrame:
    owner, day, strat, online = (np.concatenate([p["ix"][i] for p in parts]) for i in range(4))
    return pd.DataFrame(
        {
            col.CUSTOMER_ID: _str_ids(ids, owner),
            col.DATE: _dates(start, day),
            "strategy": categorical(strat, strategy_names),
            "channel": categorical(np.where(online, 0, 1), CHANNELS),
        }
    )


def experiment_frame(ids, parts, cust: dict, customers: pd.DataFrame, cal_off: int) -> pd.DataFrame:
    if parts[0]["customers"]["arm"] is None:
        return pd.DataFrame(columns=[col.UNIT_ID, col.ARM, "segment", "purchases", "spend", "retained"])
    arm = np.concatenate([p["customers"]["arm"] for p in parts])
    return pd.DataFrame(
        {
            col.UNIT_ID: customers[col.CUSTOMER_ID],
            col.ARM: categorical(arm.astype(np.int8), ARMS),
            # pre-period covariates (calibration period, before the campaign starts)
            "segment": customers["segment"],
            "acquisition_channel": customers["acquisition_channel"],
            "region": customers["region"],
            "tenure_weeks": ((cal_off - cust["d0"]) / 7.0).astype(np.float32),
            "pre_purchases": cust["pre_purchases"].astype(np.int32),
            "pre_spend": cust["pre_spend"].astype(np.float32),
            # outcomes over the campaign (holdout) period
            "purchases": cust["post_purchases"].astype(np.int32),
            "spend": cust["post_spend"].astype(np.float32),
            "retained": cust["post_purchases"] > 0,
        }
    )


def effects_frame(acc: dict, strategies, segments: pd.DataFrame, rate_mult, drop_mult) -> pd.DataFrame:
    """Per strategy and segment (plus ``segment == "all"``): multipliers and true average effects."""
    rows = []
    labels = [*segments["segment"], "all"]
    for j, s in enumerate(strategies):
        for g, label in enumerate(labels):
            n, n_t = acc["n"][j, g], acc["n_treated"][j, g]
            n_c = n - n_t
            is_all = label == "all"
            ate = acc["d_pur"][j, g] / n
            naive = acc["y_t"][j, g] / max(n_t, 1) - acc["y_c"][j, g] / max(n_c, 1)
            rows.append(
                {
                    "strategy": s.name,
                    "segment": label,
                    "rate_multiplier": s.rate_multiplier if is_all else rate_mult[j, g],
                    "dropout_multiplier": s.dropout_multiplier if is_all else drop_mult[j, g],
                    "share": s.share,
                    "contacts_mean": s.contacts_mean,
                    "online_share": s.online_share,
                    "cost_per_contact": s.cost_per_contact,
                    "n_customers": int(n),
                    "n_treated": int(n_t),
                    "ate_purchases": ate,
                    "att_purchases": acc["d_pur_t"][j, g] / max(n_t, 1),
                    "ate_spend": acc["d_spend"][j, g] / n,
                    "att_spend": acc["d_spend_t"][j, g] / max(n_t, 1),
                    "ate_retained": acc["d_ret"][j, g] / n,
                    "att_retained": acc["d_ret_t"][j, g] / max(n_t, 1),
                    "naive_purchases": naive,
                    "naive_bias_purchases": naive - ate,
                }
            )
    return pd.DataFrame(rows)
