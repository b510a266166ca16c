"""The finance link of one scenario: capacity -> revenue -> calendar years -> EV/Sales
valuation, with the bridge to the note's target prices (:func:`finance_result`), and the one
P&L whose gross profit every table reports (:func:`value_link`).

It only composes :mod:`~capacity.finance.revenue`, :mod:`~capacity.finance.years`,
:mod:`~capacity.finance.pnl` and :mod:`~capacity.finance.valuation`; the equations live there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from capacity.finance.anchors import Anchors
from capacity.finance.pnl import PnlResult, pnl_result
from capacity.finance.revenue import genai_margin, revenue_table
from capacity.finance.valuation import (
    Valuation,
    bridge_table,
    note_implied_sales,
    sensitivity_grid,
    valuation_sales,
    value_from_sales,
)
from capacity.finance.years import annual_table, target_check
from capacity.schemas import FinanceInputs


@dataclass(frozen=True)
class FinanceResult:
    """Everything the finance link computes for one scenario.

    Attributes
    ----------
    revenue
        Quarterly table (:func:`~capacity.finance.revenue.revenue_table`).
    annual
        Calendar-year table (:func:`~capacity.finance.years.annual_table`).
    valuation
        The tool's capacity-linked valuation.
    implied_sales_m
        Valuation-year sales the note's new TP implies at the scenario's inputs. [RMB m]
    implied_sales_old_m
        Same for the note's old TP. [RMB m]
    bridge
        Side-by-side bridge: the tool, the note's new TP and old TP.
    sensitivity
        TP grid (:func:`~capacity.finance.valuation.sensitivity_grid`).
    genai_share_target_year
        GenAI share in the target year, or None. [1]
    genai_target_met
        Whether it reaches the target, or None.
    genai_gross_margin
        Solved GenAI margin. [1]
    """

    revenue: pd.DataFrame
    annual: pd.DataFrame
    valuation: Valuation
    implied_sales_m: float
    implied_sales_old_m: float
    bridge: pd.DataFrame
    sensitivity: pd.DataFrame
    genai_share_target_year: float | None
    genai_target_met: bool | None
    genai_gross_margin: float


def finance_result(quarters: pd.DataFrame, genai_demand: pd.Series, fin: FinanceInputs,
                   anchors: Anchors) -> FinanceResult:
    """Capacity -> revenue -> valuation for one scenario.

    Parameters
    ----------
    quarters
        Per-quarter capacity (see :func:`~capacity.finance.revenue.revenue_table`).
    genai_demand
        Demand-side GenAI revenue per quarter. [RMB m]
    fin
        Finance inputs.
    anchors
        Disclosures (:func:`~capacity.finance.anchors.anchors_from_disclosures`).

    Returns
    -------
    FinanceResult
    """
    revenue = revenue_table(quarters, genai_demand, fin, anchors)
    annual = annual_table(revenue, anchors)
    sales = valuation_sales(annual, fin.valuation_year)
    val = value_from_sales(sales, fin.ev_sales_multiple, fin.net_cash_m, fin.shares_m,
                           fin.fx_listing)
    share, met = target_check(annual, anchors)
    implied_new_m, implied_old_m = note_implied_sales(anchors, fin)
    return FinanceResult(
        revenue=revenue, annual=annual, valuation=val,
        implied_sales_m=implied_new_m, implied_sales_old_m=implied_old_m,
        bridge=bridge_table(val, anchors, fin),
        sensitivity=sensitivity_grid(sales, fin),
        genai_share_target_year=share, genai_target_met=met,
        genai_gross_margin=genai_margin(fin, anchors),
    )


def one_pnl(res: FinanceResult, pl: PnlResult, year: int) -> FinanceResult:
    """The finance result with the P&L's gross profit in its revenue and annual tables.

    gross_profit[t] and gross_margin[t] of ``revenue`` are the P&L's modelled quarters';
    those of ``annual`` the P&L's calendar years (:func:`~capacity.finance.pnl.pnl_years`),
    so one gross margin per year feeds every table. ``genai_gross_margin`` becomes the GenAI
    segment's margin in ``year`` [1]:
    1 - (serving + genai_other) / genai over its modelled quarters.
    """
    q = pl.quarters[~pl.quarters["actual"].astype(bool)]
    revenue = res.revenue.copy()
    revenue["gross_profit_m"] = q["gross_profit_m"].reindex(revenue.index).to_numpy()
    revenue["gross_margin"] = revenue["gross_profit_m"] / revenue["revenue_m"]
    annual = res.annual.copy()
    years = pl.pnl.reindex(annual.index)
    annual["gross_profit_m"] = years["gross_profit_m"].to_numpy()
    annual["gross_margin"] = years["gross_margin"].to_numpy()
    sel = q[np.asarray(q.index.year) == year]
    genai = float(sel["genai_revenue_m"].sum())
    cost = float((sel["serving_cost_m"] + sel["genai_other_cost_of_sales_m"]).sum())
    margin = 1.0 - cost / genai if genai > 0 else res.genai_gross_margin
    return replace(res, revenue=revenue, annual=annual, genai_gross_margin=margin)


def value_link(quarters: pd.DataFrame, purchases: pd.DataFrame, genai_demand: pd.Series,
               fin: FinanceInputs, anchors: Anchors, as_of: dt.date | None = None
               ) -> tuple[FinanceResult, PnlResult]:
    """Capacity -> revenue -> EV/Sales valuation -> the one P&L, cash and DCF of a scenario.

    :func:`finance_result`, then :func:`~capacity.finance.pnl.pnl_result`, then
    :func:`one_pnl` (the P&L's gross profit in every table). With ``as_of`` (the valuation
    date) the EV/Sales equity adds the net cash at that date: the input net cash plus the
    modelled free cash flow of the quarters after the balance sheet that end by then
    (:func:`~capacity.finance.dated.burn_m`); the DCF's cash flows hold that burn already.

    Returns
    -------
    tuple
        (:class:`FinanceResult`, :class:`~capacity.finance.pnl.PnlResult`)
    """
    from capacity.finance.dated import burn_m

    res = finance_result(quarters, genai_demand, fin, anchors)
    pl = pnl_result(quarters, purchases, res.revenue["traditional_revenue_m"], fin,
                    anchors, res.valuation)
    burn = burn_m(pl.quarters, as_of) if as_of is not None else 0.0
    if burn != 0.0:
        at_date = fin.model_copy(update={"net_cash_m": fin.net_cash_m + burn})
        res = finance_result(quarters, genai_demand, at_date, anchors)
        pl = pnl_result(quarters, purchases, res.revenue["traditional_revenue_m"], fin,
                        anchors, res.valuation)
    return one_pnl(res, pl, fin.valuation_year), pl
