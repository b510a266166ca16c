"""The revenue backlog the subject disclosed, beside the model's revenue it covers.

Pure functions of the disclosures a vintage can see and the one P&L by quarter; no files, no
printing. Per disclosed quarter p (money in the subject's reporting currency; units in
brackets)::

    backlog[p]         = disclosures.csv backlog_m at p (span 0)                    [m]
    rpo[p]             = rpo_m at p (remaining performance obligations, within the
                         backlog; NaN where not disclosed)                              [m]
    revenue_next_4q[p] = sum of the P&L's revenue over p + 1 .. p + 4 (NaN unless all
                         four quarters are in the P&L, reported or modelled)            [m]
    revenue_to_horizon[p] = sum of the P&L's revenue over p + 1 .. the horizon end (NaN
                         when the P&L does not hold p + 1)                              [m]
    backlog_cover[p]   = backlog[p] / revenue_to_horizon[p]  (above 1: the backlog alone
                         exceeds the modelled revenue to the horizon)                  [1]

A subject without backlog rows gets the table with no rows (the same columns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BACKLOG_METRICS = ("backlog_m", "rpo_m")
BACKLOG_COLUMNS = ("period", "backlog_m", "rpo_m", "source_date", "source",
                   "revenue_next_4q_m", "revenue_to_horizon_m", "backlog_cover")
"""Columns of ``value.backlog``."""


def _rows(disclosures: pd.DataFrame, metric: str) -> pd.DataFrame:
    d = disclosures[(disclosures["metric"] == metric) & (disclosures["span_quarters"] == 0)]
    d = d.sort_values(["period", "published"], kind="stable")
    return d.drop_duplicates("period", keep="last").set_index("period")


def backlog_table(disclosures: pd.DataFrame, pnl_by_quarter: pd.DataFrame) -> pd.DataFrame:
    """One row per disclosed backlog quarter (module docstring), columns
    :data:`BACKLOG_COLUMNS`; ``source_date`` the backlog's publication date (ISO)."""
    backlog = _rows(disclosures, "backlog_m")
    rpo = _rows(disclosures, "rpo_m")
    revenue = pnl_by_quarter["revenue_m"].astype(float)
    revenue.index = pd.PeriodIndex(revenue.index, freq="Q")
    rows = []
    for p, r in backlog.iterrows():
        nxt = [p + k for k in range(1, 5)]
        after = revenue[revenue.index > p]
        rest = float(after.sum()) if p + 1 in revenue.index else np.nan
        total = float(r["value"])
        sources = [str(r["source"])]
        if p in rpo.index:
            sources.append(str(rpo.at[p, "source"]))
        rows.append({
            "period": str(p), "backlog_m": total,
            "rpo_m": float(rpo.at[p, "value"]) if p in rpo.index else np.nan,
            "source_date": str(r["published"]), "source": "; ".join(dict.fromkeys(sources)),
            "revenue_next_4q_m": (float(revenue.reindex(nxt).sum())
                                      if all(q in revenue.index for q in nxt) else np.nan),
            "revenue_to_horizon_m": rest,
            "backlog_cover": total / rest if rest and np.isfinite(rest) and rest > 0
            else np.nan})
    return pd.DataFrame(rows, columns=list(BACKLOG_COLUMNS))
