"""The headline target price and what ``capacity value`` reports beside it: the fleet DCF on
the plan's NPV (:func:`~capacity.finance.valuation.fleet_dcf`), its bridge to the plan, the
multiple and share price from the dated market tables, and the street table.

Pure: the market tables come in as DataFrames (:func:`capacity.scenarios.market.read_market`).
The fleet's account (:func:`~capacity.finance.valuation.fleet_account`): its value is the
plan's NPV less the other cost of sales of the revenue it serves; the non-fleet flow per planned
quarter is the P&L's free cash flow less the fleet's, plus that cost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from capacity.finance import comps as comps_mod
from capacity.finance.street import (
    STREET_MODEL_COLUMNS,
    street_bridge,
    street_table,
    year_or_none,
)
from capacity.finance.valuation import (
    equity_and_target_price,
    fleet_account,
    fleet_dcf,
    npv_bridge_table,
    plan_discount_factor,
)
from capacity.schemas import FinanceInputs

HEADLINE_METHOD = "fleet_dcf"
"""Name of the headline method in the output (``valuation_method``)."""


def fleet_account_of(plan_quarters: pd.DataFrame, pnl_quarters: pd.DataFrame,
                     npv_m: float, rate_annual: float) -> dict:
    """:func:`~capacity.finance.valuation.fleet_account` of the plan's and the P&L's columns,
    the P&L's rows taken by the plan's periods (its reported quarters aside)."""
    pnl = pnl_quarters.loc[plan_quarters.index]
    q = [plan_quarters[c].to_numpy(float) for c in
         ("served_revenue_m", "power_cost_m", "maintenance_m", "rental_cost_m",
          "capex_m")]
    return fleet_account(npv_m, pnl["fcf_m"].to_numpy(float), *q,
                         pnl["genai_other_cost_of_sales_m"].to_numpy(float),
                         pnl["genai_revenue_m"].to_numpy(float), rate_annual)


def model_year_table(annual: pd.DataFrame, pnl_years: pd.DataFrame) -> pd.DataFrame:
    """The model's figures per calendar year for the street (:data:`STREET_MODEL_COLUMNS`):
    the P&L's years, and the ``annual`` table's revenue and gross profit for the years the
    P&L does not cover (the first includes reported quarters). [RMB m]"""
    cols = [c for c in STREET_MODEL_COLUMNS if c in pnl_years.columns]
    out = pnl_years[cols].copy()
    extra = [y for y in annual.index if y not in out.index]
    if extra:
        first = annual.loc[extra, [c for c in ("revenue_m", "gross_profit_m")
                                   if c in annual.columns]]
        out = pd.concat([first, out]).sort_index()
    return out


def headline_valuation(plan_quarters: pd.DataFrame, npv_m: float, rate_annual: float,
                       pnl_quarters: pd.DataFrame, fin: FinanceInputs,
                       ev_pnl_dcf_m: float) -> dict[str, Any]:
    """The headline: fleet DCF on the plan's NPV -> equity -> target price, and its bridge.

    Parameters
    ----------
    plan_quarters
        The plan's planned quarters (``served_revenue_m``, ``training_value_m``,
        ``power_cost_m``, ``maintenance_m``, ``rental_cost_m``,
        ``capex_m`` [RMB m]), in order from the first planned quarter.
    npv_m
        The plan's NPV (objective). [RMB m]
    rate_annual
        The plan's discount rate. [1/year]
    pnl_quarters
        The P&L per quarter for the same quarters (``fcf_m`` [RMB m]).
    fin
        Finance inputs (terminal growth, tax, net cash, shares, FX).
    ev_pnl_dcf_m
        EV of the P&L DCF, for the bridge's memo rows. [RMB m]

    Returns
    -------
    dict
        ``scalars`` (``target_price_fleet_dcf`` [HKD/share], ``ev_fleet_dcf_m``,
        ``plan_npv_m``, ... [RMB m], ``terminal_share_of_ev`` [1]) and ``npv_bridge``.
    """
    acct = fleet_account_of(plan_quarters, pnl_quarters, npv_m, rate_annual)
    dcf = fleet_dcf(float(acct["value_m"]), acct["flows_m"], rate_annual,
                    fin.terminal_growth_annual, fin.tax_rate)
    dcf["pv_served_other_cost_m"] = float(acct["pv_served_other_cost_m"])
    equity, tp = equity_and_target_price(dcf["ev_m"], fin.net_cash_m, fin.shares_m,
                                         fin.fx_listing)
    work = (plan_quarters["served_revenue_m"].to_numpy(float)
            + plan_quarters["training_value_m"].to_numpy(float))
    df = plan_discount_factor(len(work), rate_annual)[:len(work)]
    pv_work = float((work * df).sum())
    scalars = {
        "target_price_fleet_dcf": float(tp),
        "ev_fleet_dcf_m": dcf["ev_m"],
        "equity_fleet_dcf_m": float(equity),
        "plan_npv_m": float(npv_m),
        "fleet_value_m": float(acct["value_m"]),
        "pv_served_other_cost_m": float(acct["pv_served_other_cost_m"]),
        "plan_discount_rate_annual": float(rate_annual),
        "pv_non_fleet_m": dcf["pv_non_fleet_m"],
        "equivalent_annual_value_m": dcf["equivalent_annual_value_m"],
        "terminal_fleet_margin": float(npv_m) / pv_work if pv_work else float("nan"),
        "steady_state_flow_m": dcf["steady_state_flow_m"],
        "pv_terminal_fleet_dcf_m": dcf["pv_terminal_m"],
        "terminal_share_of_ev": dcf["terminal_share"],
    }
    bridge = npv_bridge_table(plan_quarters, npv_m, rate_annual, dcf, ev_pnl_dcf_m)
    return {"scalars": scalars, "npv_bridge": bridge}


def market_report(market: dict[str, pd.DataFrame], as_of: dt.date, fin: FinanceInputs,
                  multiple_source: str, explicit_multiple: bool = False) -> dict[str, Any]:
    """The vintage's EV/Sales multiple (:data:`~capacity.finance.comps.MULTIPLE_RULE`), share
    price and the ``inputs`` rows they give (:func:`~capacity.finance.comps.market_input_rows`).

    ``explicit_multiple``: the scenario file, ``--set`` or ``--multiple`` set
    ``finance.ev_sales_multiple``, which then wins over the comps.

    Returns
    -------
    dict
        ``multiple`` and ``price`` (:class:`~capacity.finance.comps.Quote`, price None when
        none is dated by the vintage), ``input_rows``.
    """
    fallback = comps_mod.Quote(float(fin.ev_sales_multiple), "", multiple_source)
    multiple, price = comps_mod.market_quotes(market, as_of, fallback)
    if explicit_multiple:
        multiple = fallback
    return {"multiple": multiple, "price": price,
            "input_rows": comps_mod.market_input_rows(multiple, price),
            "comps": comps_table(market["comps"], as_of, multiple)}


def comps_table(comps: pd.DataFrame, as_of: dt.date, multiple: comps_mod.Quote
                ) -> pd.DataFrame:
    """The comps rows dated on or before the vintage, with ``chosen`` marking the row(s) the
    multiple comes from (none when the scenario's own multiple is used)."""
    cols = ["published", "source", "kind", "company", "metric", "basis_year", "multiple",
            "target_price"]
    rows = comps_mod.on_or_before(comps, as_of, "published")
    out = (rows[cols].sort_values("published", kind="stable").reset_index(drop=True)
           if len(rows) else pd.DataFrame(columns=cols))
    chosen = ((out["published"] == multiple.source_date) & (out["kind"] == "broker_target")
              & (out["metric"] == "ev_sales")) if len(out) else pd.Series(dtype=bool)
    out["chosen"] = chosen.astype(bool)
    out["basis_year"] = pd.array([year_or_none(y) for y in out["basis_year"]], dtype="Int64")
    return out


def street_report(street: pd.DataFrame, as_of: dt.date, annual: pd.DataFrame,
                  pnl_years: pd.DataFrame, target_price: float) -> dict[str, pd.DataFrame]:
    """The ``street`` table (figures dated on or before the vintage beside the model's) and
    the ``street_bridge`` (:mod:`capacity.finance.street`)."""
    known = comps_mod.on_or_before(street, as_of, "published")
    years = model_year_table(annual, pnl_years)
    return {"street": street_table(known, years, target_price),
            "street_bridge": street_bridge(known, years)}
