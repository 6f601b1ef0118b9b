"""RFM scores (recency, frequency, monetary) and RFM segment labels, computed in DuckDB SQL.

Per customer, from the transactions up to ``as_of`` (inclusive), several purchases on one day merged into one:

- ``recency_days``: days from the last purchase to ``as_of`` (smaller is better),
- ``frequency``: number of purchase days,
- ``monetary``: total spend (``monetary="total"``) or mean spend per purchase day (``"mean"``).

Scores run from 1 (worst) to ``bins`` (best); recency is scored in reverse, so recent buyers score high.

- ``method="rank"`` (default): ``score = 1 + floor(bins * percent_rank)``, capped at ``bins``. Equal values get
  equal scores (the score of their lowest rank), so a heavily tied value (e.g. the many one-time buyers) shares one
  score and some bins may stay empty.
- ``method="ntile"``: DuckDB ``NTILE(bins)``: bins of equal size (differing by at most one), ties broken by
  ``customer_id`` so the result is deterministic; equal values may land in different bins.

Segment labels use the scores rescaled to 1-5 (``1 + floor((score - 1) * 5 / bins)``) and the first matching rule:

==================== ==========================================
label                rule (R, F, M on the 1-5 scale)
==================== ==========================================
champions            R >= 4 and F >= 4 and M >= 4
loyal                R >= 3 and F >= 4
cant lose            R == 1 and F >= 4
at risk              R <= 2 and F >= 3
new                  R == 5 and F == 1
potential loyalist   R >= 4 and F >= 2
promising            R >= 4 (and F == 1)
need attention       R == 3
about to sleep       R == 2
lost                 otherwise (R == 1 and F <= 2)
==================== ==========================================
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import duckdb
import pandas as pd

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col

RFM_LABELS = (
    "champions",
    "loyal",
    "cant lose",
    "at risk",
    "new",
    "potential loyalist",
    "promising",
    "need attention",
    "about to sleep",
    "lost",
)
RFM_RULES = {
    "champions": "R >= 4, F >= 4, M >= 4",
    "loyal": "R >= 3, F >= 4",
    "cant lose": "R = 1, F >= 4",
    "at risk": "R <= 2, F >= 3",
    "new": "R = 5, F = 1",
    "potential loyalist": "R >= 4, F >= 2",
    "promising": "R >= 4, F = 1",
    "need attention": "R = 3",
    "about to sleep": "R = 2",
    "lost": "R = 1, F <= 2",
}
RFM_COLUMNS = (
    col.CUSTOMER_ID,
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "rfm_segment",
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _score(expr: str, bins: int, method: str, descending: bool) -> str:
    order = f"{expr} {'DESC' if descending else 'ASC'}"
    if method == "ntile":
        return f"ntile({bins}) OVER (ORDER BY {order}, cid)"
    return f"least({bins}, 1 + CAST(floor({bins} * percent_rank() OVER (ORDER BY {order})) AS INTEGER))"


def rfm_sql(
    source: str,
    *,
    as_of: date,
    bins: int,
    method: Literal["rank", "ntile"],
    monetary: Literal["total", "mean"],
) -> str:
    """The SQL of :func:`rfm_scores` over a table or view ``source`` with ``customer_id``, ``date``, ``amount``."""
    cid, dt, amt = _quote(col.CUSTOMER_ID), _quote(col.DATE), _quote(col.AMOUNT)
    money = "sum(amount)" if monetary == "total" else "avg(amount)"
    as_of_sql = f"DATE '{as_of.isoformat()}'"

    def scale(score: str) -> str:
        return f"(1 + ({score} - 1) * 5 // {bins})"

    r, f, m = scale("r_score"), scale("f_score"), scale("m_score")
    return f"""
WITH days AS (
    SELECT {cid} AS cid, CAST({dt} AS DATE) AS day, sum({amt}) AS amount
    FROM {source} WHERE CAST({dt} AS DATE) <= {as_of_sql} GROUP BY 1, 2
),
base AS (
    SELECT cid, date_diff('day', max(day), {as_of_sql}) AS recency_days, count(*) AS frequency,
           {money} AS monetary
    FROM days GROUP BY cid
),
scored AS (
    SELECT *,
        {_score("recency_days", bins, method, descending=True)} AS r_score,
        {_score("frequency", bins, method, descending=False)} AS f_score,
        {_score("monetary", bins, method, descending=False)} AS m_score
    FROM base
)
SELECT cid AS {col.CUSTOMER_ID}, recency_days, frequency, monetary, r_score, f_score, m_score,
    CAST(r_score AS VARCHAR) || '-' || CAST(f_score AS VARCHAR) || '-' || CAST(m_score AS VARCHAR) AS rfm_score,
    CASE
        WHEN {r} >= 4 AND {f} >= 4 AND {m} >= 4 THEN 'champions'
        WHEN {r} >= 3 AND {f} >= 4 THEN 'loyal'
        WHEN {r} = 1 AND {f} >= 4 THEN 'cant lose'
        WHEN {r} <= 2 AND {f} >= 3 THEN 'at risk'
        WHEN {r} = 5 AND {f} = 1 THEN 'new'
        WHEN {r} >= 4 AND {f} >= 2 THEN 'potential loyalist'
        WHEN {r} >= 4 THEN 'promising'
        WHEN {r} = 3 THEN 'need attention'
        WHEN {r} = 2 THEN 'about to sleep'
        ELSE 'lost'
    END AS rfm_segment
FROM scored
ORDER BY cid
"""


def rfm_scores(
    transactions: pd.DataFrame | str,
    *,
    as_of: str | date | None = None,
    bins: int = 5,
    method: Literal["rank", "ntile"] = "rank",
    monetary: Literal["total", "mean"] = "total",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """RFM table per customer: raw R, F, M, their quantile scores and the RFM segment label.

    Parameters
    ----------
    transactions
        Frame with ``customer_id``, ``date``, ``amount``, or the name of a table/view in ``con``.
    as_of
        Reference date (inclusive); later transactions are ignored. Default: the last transaction date.
    bins
        Number of quantile bins per score (2 to 100).
    method
        ``"rank"`` (ties share a score) or ``"ntile"`` (equal-sized bins); see the module docstring.
    monetary
        ``"total"`` spend or ``"mean"`` spend per purchase day.

    Returns
    -------
    DataFrame with :data:`RFM_COLUMNS`, one row per customer with a purchase on or before ``as_of``, sorted by
    ``customer_id``; ``rfm_segment`` is categorical over :data:`RFM_LABELS`. ``attrs`` records the options.
    """
    if not isinstance(bins, int) or not 2 <= bins <= 100:
        raise LtvlabError(f"bins={bins!r} must be an integer from 2 to 100")
    if method not in ("rank", "ntile"):
        raise LtvlabError(f"method={method!r}; use 'rank' or 'ntile'")
    if monetary not in ("total", "mean"):
        raise LtvlabError(f"monetary={monetary!r}; use 'total' or 'mean'")
    connection = con if con is not None else duckdb.connect()
    is_frame = isinstance(transactions, pd.DataFrame)
    try:
        if is_frame:
            required = [col.CUSTOMER_ID, col.DATE, col.AMOUNT]
            missing = [c for c in required if c not in transactions.columns]
            if missing:
                raise LtvlabError(f"transactions lack column(s) {missing}; have {list(transactions.columns)}")
            connection.register("_ltvlab_rfm_tx", transactions[required])
            source = "_ltvlab_rfm_tx"
        else:
            source = _quote(transactions)
        if as_of is None:
            last = connection.execute(
                f"SELECT max(CAST({_quote(col.DATE)} AS DATE)) FROM {source}"
            ).fetchall()[0][0]
            if last is None:
                raise LtvlabError("no transactions: cannot compute RFM scores")
            as_of_date = last
        else:
            try:
                as_of_date = pd.Timestamp(as_of).date()
            except (ValueError, TypeError) as exc:
                raise LtvlabError(f"as_of={as_of!r} is not a date; give it as YYYY-MM-DD") from exc
        sql = rfm_sql(source, as_of=as_of_date, bins=bins, method=method, monetary=monetary)
        result = connection.sql(sql).df()
    finally:
        if is_frame:
            connection.unregister("_ltvlab_rfm_tx")
        if con is None:
            connection.close()
    result[col.CUSTOMER_ID] = result[col.CUSTOMER_ID].astype(str)
    for name in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        result[name] = result[name].astype("int64")
    result["rfm_segment"] = pd.Categorical(result["rfm_segment"], categories=list(RFM_LABELS))
    result.attrs.update(
        {"as_of": as_of_date.isoformat(), "bins": bins, "method": method, "monetary": monetary}
    )
    return result


def rfm_segment_counts(rfm: pd.DataFrame) -> pd.DataFrame:
    """Customers per RFM segment label, in :data:`RFM_LABELS` order, empty labels included (``customers`` 0):
    ``rfm_segment``, ``rule`` (the first-match rule on the 1-5 scale), ``customers``, ``share``."""
    counts = rfm["rfm_segment"].astype(str).value_counts()
    unknown = sorted(set(counts.index) - set(RFM_LABELS))
    if unknown:
        raise LtvlabError(
            f"rfm_segment holds label(s) {unknown} outside RFM_LABELS; pass rfm_scores() output"
        )
    customers = [int(counts.get(label, 0)) for label in RFM_LABELS]
    total = max(sum(customers), 1)
    return pd.DataFrame(
        {
            "rfm_segment": list(RFM_LABELS),
            "rule": [RFM_RULES[label] for label in RFM_LABELS],
            "customers": customers,
            "share": [n / total for n in customers],
        }
    )
