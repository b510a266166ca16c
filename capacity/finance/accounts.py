"""Reported accounts: the half-years a vintage can see, as history rows of the P&L, and the
run-rate drivers its forecast starts from.

Pure functions of the disclosures table (rows of :data:`ACCOUNT_METRICS` over two quarters,
``period`` the half-year's last quarter, each with its source and publication date; a vintage
sees the rows published by its date). No files, no printing. Per half-year h (units in
brackets; GM the reported gross margin)::

    genai[h]            = the reported GenAI revenue, else genai_share[h] * revenue[h] [RMB m]
    traditional[h]      = revenue[h] - genai[h]                                       [RMB m]
    gross_profit[h]     = GM[h] * revenue[h];  cost_of_sales[h] = revenue - gross_profit
    opex[h]             = rd[h] + sm[h] + ga[h]                                       [RMB m]
    operating_profit[h] = gross_profit[h] - opex[h]                                   [RMB m]
    other_items[h]      = net_loss[h] + operating_profit[h]                           [RMB m]
                          (everything between the three opex lines and the reported loss:
                          other income and gains, impairments, finance items, associates,
                          tax; a loss is positive)
    adjustments[h]      = net_loss[h] - adjusted_net_loss[h]                          [RMB m]
    interest[q]         = the quarter's reported interest expense, out of other_items
                          (:mod:`capacity.finance.interest`; NaN where not reported)
                          (the company's own bridge to its non-IFRS adjusted net loss:
                          share-based pay and its other listed items, as one line)

Quarter rule: a half-year's two quarters each carry half of every flow line; ratios are
recomputed from the halves (so the two quarters sum back to the reported half exactly).

Drivers (:class:`AccountDrivers`): each line's run-rate is its latest reported half-year that
the vintage can see (``rd``, ``sm``, ``ga`` [RMB m/half-year]; ``other_items`` and
``adjustments`` per quarter = half / 2 [RMB m/quarter]); the base half-year's cost of sales,
traditional and GenAI revenue calibrate the GenAI segment's non-fleet cost of sales
(:func:`capacity.finance.pnl.genai_other_cost_share`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capacity.finance.interest import debt_and_rate

ACCOUNT_METRICS = ("revenue_m", "genai_revenue_m", "genai_share", "gross_margin",
                   "rd_opex_m", "sm_opex_m", "ga_opex_m", "net_loss_m",
                   "adjusted_net_loss_m")
"""disclosures.csv metrics the accounts read (half-year rows, ``span_quarters`` = 2)."""

HISTORY_COLUMNS = ("genai_revenue_m", "traditional_revenue_m", "revenue_m",
                   "cost_of_sales_m", "other_cost_of_sales_m", "gross_profit_m",
                   "gross_margin", "rd_opex_m",
                   "sm_opex_m", "ga_opex_m", "opex_m", "operating_profit_m",
                   "non_operating_loss_m", "interest_expense_m", "net_loss_m",
                   "adjustments_m", "adjusted_net_loss_m")
"""P&L columns a reported quarter carries (the rest of the P&L is not reported: NaN). The
reported cost of sales is not split into the fleet's lines: all of it is ``other``."""

_HALF_FLOWS = ("genai_revenue_m", "revenue_m", "rd_opex_m", "sm_opex_m", "ga_opex_m",
               "net_loss_m", "adjusted_net_loss_m", "traditional_revenue_m", "cost_of_sales_m",
               "gross_profit_m", "opex_m", "operating_profit_m", "non_operating_loss_m",
               "adjustments_m")


@dataclass(frozen=True)
class AccountDrivers:
    """Run-rates from the latest reported half-years (None where no half-year reports a line).

    Attributes
    ----------
    rd_half_m, sm_half_m, ga_half_m
        R&D, selling and marketing, general and administrative expenses of the latest
        half-year reporting each. [RMB m/half-year]
    non_operating_loss_m_per_quarter
        Other items (net loss + operating profit) of the latest half-year with all lines, / 2.
        [RMB m/quarter]
    adjustments_m_per_quarter
        Net loss less adjusted net loss of the latest half-year reporting both, / 2.
        [RMB m/quarter]
    base_cost_of_sales_half_m, base_traditional_half_m, base_genai_half_m
        Cost of sales, traditional and GenAI revenue of the base half-year. [RMB m]
    debt_principal_m, interest_rate_annual
        The latest debt balance up to the base period [RMB m] and the rate implied by the
        latest reported quarter's interest expense [1/year]
        (:func:`capacity.finance.interest.debt_and_rate`); None where not disclosed.
    dated
        One row per driver: ``name``, ``value``, ``unit``, ``period`` (half-year end),
        ``published``, ``source``.
    """

    rd_half_m: float | None = None
    sm_half_m: float | None = None
    ga_half_m: float | None = None
    non_operating_loss_m_per_quarter: float | None = None
    adjustments_m_per_quarter: float | None = None
    base_cost_of_sales_half_m: float | None = None
    base_traditional_half_m: float | None = None
    base_genai_half_m: float | None = None
    debt_principal_m: float | None = None
    interest_rate_annual: float | None = None
    dated: tuple[dict, ...] = field(default=(), compare=False)


def reported_rows(disclosures: pd.DataFrame) -> pd.DataFrame:
    """The half-year rows of :data:`ACCOUNT_METRICS` (the latest published where a line is
    given twice), sorted by period: ``period``, ``metric``, ``value``, ``unit``,
    ``published``, ``source``."""
    d = disclosures[disclosures["metric"].isin(ACCOUNT_METRICS)
                    & (disclosures["span_quarters"] == 2)]
    d = d.sort_values(["period", "metric", "published"], kind="stable")
    d = d.drop_duplicates(["period", "metric"], keep="last")
    return d[["period", "metric", "value", "unit", "published", "source"]].reset_index(
        drop=True)


def reported_halves(disclosures: pd.DataFrame) -> pd.DataFrame:
    """Every reported half-year with the derived lines of the module docstring.

    Returns
    -------
    pandas.DataFrame
        Index ``period`` (the half-year's last quarter); columns :data:`ACCOUNT_METRICS` and
        ``traditional_revenue_m``, ``gross_profit_m``, ``cost_of_sales_m``,
        ``opex_m``, ``operating_profit_m``, ``non_operating_loss_m``,
        ``adjustments_m`` [RMB m]; NaN where a line is not reported.
    """
    rows = reported_rows(disclosures)
    h = rows.pivot(index="period", columns="metric", values="value")
    h = h.reindex(columns=list(ACCOUNT_METRICS)).astype(float)
    h.index = pd.PeriodIndex(h.index, freq="Q", name="period")
    h["genai_revenue_m"] = h["genai_revenue_m"].fillna(h["genai_share"]
                                                               * h["revenue_m"])
    h["traditional_revenue_m"] = h["revenue_m"] - h["genai_revenue_m"]
    h["gross_profit_m"] = h["gross_margin"] * h["revenue_m"]
    h["cost_of_sales_m"] = h["revenue_m"] - h["gross_profit_m"]
    h["opex_m"] = h["rd_opex_m"] + h["sm_opex_m"] + h["ga_opex_m"]
    h["operating_profit_m"] = h["gross_profit_m"] - h["opex_m"]
    h["non_operating_loss_m"] = h["net_loss_m"] + h["operating_profit_m"]
    h["adjustments_m"] = h["net_loss_m"] - h["adjusted_net_loss_m"]
    return h.sort_index()


def history_quarters(halves: pd.DataFrame, base_period: pd.Period,
                     interest: pd.Series | None = None) -> pd.DataFrame | None:
    """The base half-year as two reported quarters (each half of every flow), or None when
    the accounts do not report the base half-year's revenue and gross margin.

    ``interest`` (reported interest expense by quarter [RMB m],
    :func:`capacity.finance.interest.reported_interest`) fills ``interest_expense_m``
    where a quarter reports it (NaN otherwise), and comes out of the other items:
    non_operating_loss = net_loss + operating_profit - interest.

    Returns
    -------
    pandas.DataFrame or None
        Index ``period`` (base - 1, base); columns :data:`HISTORY_COLUMNS` [RMB m; gross
        margin 1] and ``actual`` (True).
    """
    if base_period not in halves.index:
        return None
    h = halves.loc[base_period]
    if not (np.isfinite(h["revenue_m"]) and np.isfinite(h["gross_margin"])):
        return None
    row = {c: float(h[c]) / 2.0 for c in _HALF_FLOWS}
    row["gross_margin"] = float(h["gross_margin"])
    row["other_cost_of_sales_m"] = row["cost_of_sales_m"]  # reported unsplit
    periods = pd.period_range(base_period - 1, base_period, freq="Q", name="period")
    row["interest_expense_m"] = np.nan
    out = pd.DataFrame([row, row], index=periods)[list(HISTORY_COLUMNS)]
    if interest is not None:
        paid = interest.reindex(periods).astype(float)
        out["interest_expense_m"] = paid.to_numpy()
        out["non_operating_loss_m"] = (out["non_operating_loss_m"]
                                           - paid.fillna(0.0).to_numpy())
    out["actual"] = True
    return out


def _latest(halves: pd.DataFrame, rows: pd.DataFrame, column: str, needs: tuple[str, ...],
            base_period: pd.Period) -> tuple[float, pd.Period, list[dict]] | None:
    ok = halves[[c for c in needs]].notna().all(axis=1) & (halves.index <= base_period)
    if not ok.any():
        return None
    at = halves.index[ok][-1]
    used = rows[(rows["period"] == at) & rows["metric"].isin(needs)]
    return float(halves.at[at, column]), at, used.to_dict("records")


def account_drivers(disclosures: pd.DataFrame, base_period: pd.Period) -> AccountDrivers:
    """Run-rate drivers from the latest half-year reporting each line, up to the base period
    (module docstring). Lines no half-year reports stay None (the finance inputs then apply).
    """
    debt0, rate, debt_dated = debt_and_rate(disclosures, base_period)
    rows = reported_rows(disclosures)
    if rows.empty:
        return AccountDrivers(debt_principal_m=debt0, interest_rate_annual=rate,
                              dated=debt_dated)
    halves = reported_halves(disclosures)
    opex_needs = ("gross_margin", "revenue_m", "rd_opex_m", "sm_opex_m",
                  "ga_opex_m", "net_loss_m")
    specs = {  # name: (column, lines it needs, scale, unit)
        "rd_opex": ("rd_opex_m", ("rd_opex_m",), 1.0, "RMB m/half-year"),
        "sm_opex": ("sm_opex_m", ("sm_opex_m",), 1.0, "RMB m/half-year"),
        "ga_opex": ("ga_opex_m", ("ga_opex_m",), 1.0, "RMB m/half-year"),
        "other_items": ("non_operating_loss_m", opex_needs, 0.5, "RMB m/quarter"),
        "adjustments": ("adjustments_m", ("net_loss_m", "adjusted_net_loss_m"),
                        0.5, "RMB m/quarter"),
    }
    values: dict[str, float | None] = {}
    dated = []
    for name, (col, needs, scale, unit) in specs.items():
        hit = _latest(halves, rows, col, needs, base_period)
        if hit is None:
            values[name] = None
            continue
        v, at, used = hit
        values[name] = v * scale
        dated.append({"name": name, "value": v * scale, "unit": unit, "period": str(at),
                      "published": max(str(u["published"]) for u in used),
                      "source": "; ".join(dict.fromkeys(str(u["source"]) for u in used))})
    base = halves.loc[base_period] if base_period in halves.index else None
    has_base = base is not None and bool(np.isfinite(base[["revenue_m", "gross_margin",
                                                           "genai_revenue_m"]]).all())
    return AccountDrivers(
        rd_half_m=values["rd_opex"], sm_half_m=values["sm_opex"],
        ga_half_m=values["ga_opex"],
        non_operating_loss_m_per_quarter=values["other_items"],
        adjustments_m_per_quarter=values["adjustments"],
        base_cost_of_sales_half_m=float(base["cost_of_sales_m"]) if has_base else None,
        base_traditional_half_m=(float(base["traditional_revenue_m"]) if has_base
                                     else None),
        base_genai_half_m=float(base["genai_revenue_m"]) if has_base else None,
        debt_principal_m=debt0, interest_rate_annual=rate,
        dated=tuple(dated) + debt_dated)
