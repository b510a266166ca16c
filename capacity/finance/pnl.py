"""P&L, cash and DCF from the fleet: served revenue and fleet costs -> quarterly and yearly P&L,
the net cash path and runway, and the target price by EV/Sales, EV/EBITDA, DCF and their blend.

Pure functions; no files, no printing. Array level first (numpy, indexed like ``qn``: the
modelled quarters, base + 1 onward), so the stress draws and the DataFrame path
(:func:`pnl_result`) run the same equations. k = qn - base is the quarter count after the base
period (2023Q3 -> 1). Units in brackets.

Revenue
    genai[t]        = served[t] + other_genai                                      [RMB m]
    revenue[t]      = genai[t] + traditional[t]                                    [RMB m]
Cost of sales, one model per segment (b the base half-year of the reported accounts,
:mod:`capacity.finance.accounts`)
    dep[t]          = existing_book / L0 for k <= L0                               [RMB m]
                      + sum over cohorts c with d_c <= t < d_c + L_c of capex_c / L_c
    serving[t]      = dep[t] + power[t] + maintenance[t] + rental[t]   (the plan's fleet)
    trad_cos[t]     = (1 - m_trad) * traditional[t]                                [RMB m]
    s_o             = max(0, (COS_b - (1 - m_trad) * T_b - 2 * serving[t0]) / G_b)  [1]
                      (what the GenAI segment books in cost of sales beyond the fleet:
                      hardware sold, subcontracting, data-centre operations; COS_b, T_b,
                      G_b the base half-year's cost of sales, traditional and GenAI revenue,
                      2 * serving[t0] the fleet's cost over a half-year at the base; 0
                      without base accounts)
    genai_other[t]  = s_o * genai[t];  other_cos[t] = trad_cos[t] + genai_other[t]
    cos[t]          = serving[t] + other_cos[t]
    gross_profit[t] = revenue[t] - cos[t];  gross_margin = gross_profit / revenue  [RMB m], [1]
Operating expenses (each line; B its run-rate: the latest reported half-year, else the
finance input; g its yearly growth)
    line[t]         = B * (1 + g) ** ((k + 0.5) / 4) / ((1 + g) ** -1/8 + (1 + g) ** 1/8)
    opex[t]         = rd[t] + sm[t] + ga[t]
    operating_profit[t] = gross_profit[t] - opex[t]
    ebitda[t]       = operating_profit[t] + dep[t]
    interest[t]     = r / 4 * debt[t],  debt[t] = D0 + s * capex paid before t  (the dated
                      debt and rate of the disclosures, :mod:`capacity.finance.interest`;
                      0 without them)
    net_loss[t]     = -(operating_profit[t] - other_items - interest[t])  (a loss is
                      positive; other_items the latest reported half-year's / 2, else the
                      finance input)
    adjusted_net_loss[t] = net_loss[t] - adjustments   (the company's bridge: the latest
                      reported half-year's net loss - adjusted net loss, / 2; else 0)
Cash (working capital held at its base level, dWC = 0; no cash tax on losses; the
non-operating line is non-cash; the FCF is unlevered: interest is in the net loss, the
debt in the net cash)
    fcf[t]          = ebitda[t] - capex_paid[t]                                    [RMB m]
    net_cash[t]     = net_cash[t - 1] + fcf[t],  net_cash[base] = last reported    [RMB m]
DCF (valuation date = the base period's end; end-of-quarter discounting; :func:`capacity.
finance.valuation.dcf_ev`)
    df[t]           = (1 + wacc) ** (-k / 4)                                       [1]
    ebit_T          = sum of operating_profit over the last four modelled quarters [RMB m]
    nopat_T         = ebit_T * (1 - tax) if ebit_T > 0 else ebit_T
    TV              = nopat_T * (1 + g) / (wacc - g)    (steady state: capex = dep, dWC = 0)
    EV_dcf          = sum_t fcf[t] * df[t] + TV * df[T]                            [RMB m]
Every method: equity = EV + net_cash[base]; TP = equity / shares / fx_listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capacity.batch import number, per_draw
from capacity.compute_demand import quarter_number, quarter_numbers
from capacity.errors import InputError
from capacity.finance.accounts import AccountDrivers
from capacity.finance.anchors import Anchors
from capacity.finance.interest import interest_array
from capacity.finance.revenue import genai_array, require_columns
from capacity.finance.valuation import (
    Valuation,
    blend_target_price,
    dcf_ev,
    dcf_sensitivity_grid,
    equity_and_target_price,
)
from capacity.finance.years import year_total
from capacity.metrics.costs import straight_line_m
from capacity.schemas import FinanceInputs

PLAN_COLUMNS = ("served_revenue_m", "capex_m", "power_cost_m", "maintenance_m",
                "rental_cost_m")
"""Per-quarter columns of the plan the P&L reads (see ``capacity.run.finance_capacity``)."""
PURCHASE_COLUMNS = ("period", "order_period", "chip", "units", "capex_m", "life_quarters")
"""Columns of the purchases (one row per delivery quarter and chip) the P&L reads."""


def opex_line_array(qn: np.ndarray, base_qno: int, half_m: float, growth_annual: float
                    ) -> np.ndarray:
    """One operating-expense line per quarter: line[t] = B * (1 + g) ** ((k + 0.5) / 4) / c.

    k = qn - base_qno, c = (1 + g) ** (-1/8) + (1 + g) ** (1/8). The exponent counts years
    from the middle of the base half-year, so each calendar year's total is (1 + g) times the
    year before's (the yearly-total convention); c makes the base half-year's two quarters
    (k = -1, 0) sum to B exactly. With g = 0 every quarter is B / 2.

    Parameters
    ----------
    qn
        Quarter numbers (:func:`capacity.compute_demand.quarter_number`). [1]
    base_qno
        Quarter number of the base period. [1]
    half_m
        The line in the base half-year. [RMB m/half-year]
    growth_annual
        Yearly growth. [1/year]

    Returns
    -------
    numpy.ndarray
        The line per quarter. [RMB m]
    """
    k = (np.asarray(qn) - base_qno).astype(float)
    f = 1.0 + per_draw(growth_annual)
    return per_draw(half_m) * f ** ((k + 0.5) / 4.0) / (f ** -0.125 + f ** 0.125)


def existing_depreciation_array(n: int, book_value_m: float, life_quarters: int
                                ) -> np.ndarray:
    """dep0[t] = book / L0 in the first L0 modelled quarters, 0 after. [RMB m]"""
    return np.where(np.arange(n) < per_draw(life_quarters),
                    per_draw(book_value_m) / per_draw(life_quarters), 0.0)


def _or(value: float | None, fallback: float) -> float:
    return fallback if value is None else value


def genai_other_cost_share(drivers: AccountDrivers, fin: FinanceInputs,
                           serving_first_m: np.ndarray | float) -> np.ndarray | float:
    """GenAI cost of sales beyond the fleet, per unit of GenAI revenue (module docstring).

    s_o = max(0, (COS_b - (1 - m_trad) * T_b - 2 * serving[t0]) / G_b)

    Parameters
    ----------
    drivers
        The base half-year's cost of sales, traditional and GenAI revenue [RMB m]
        (:class:`~capacity.finance.accounts.AccountDrivers`); 0 when they are missing.
    fin
        ``traditional_gross_margin`` m_trad [1].
    serving_first_m
        The fleet's serving cost in the first modelled quarter (per draw for a batch). [RMB m]

    Returns
    -------
    float or numpy.ndarray
        s_o [1].
    """
    d = drivers
    if (d.base_cost_of_sales_half_m is None or not d.base_genai_half_m
            or d.base_traditional_half_m is None):
        return 0.0 * np.asarray(serving_first_m, float)
    genai_cos = (d.base_cost_of_sales_half_m
                 - (1.0 - per_draw(fin.traditional_gross_margin))
                 * d.base_traditional_half_m)
    return np.maximum(0.0, (genai_cos - 2.0 * np.asarray(serving_first_m, float))
                      / d.base_genai_half_m)


def pnl_arrays(qn: np.ndarray, base_qno: int, served_m: np.ndarray,
               traditional_revenue_m: np.ndarray, depreciation_m: np.ndarray,
               power_m: np.ndarray, maintenance_m: np.ndarray,
               rental_m: np.ndarray, fin: FinanceInputs,
               drivers: AccountDrivers | None = None,
               interest_m: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The quarterly P&L from served revenue and fleet costs (module docstring). [RMB m]

    ``drivers`` are the run-rates of the reported accounts
    (:func:`~capacity.finance.accounts.account_drivers`); a line they do not give takes the
    finance input (``rd_half_m``, ..., ``non_operating_loss_m_per_quarter``).
    ``interest_m`` is the interest expense per quarter
    (:func:`~capacity.finance.interest.interest_array`) [RMB m]; None: 0.

    Returns
    -------
    dict
        ``genai_revenue_m``, ``traditional_revenue_m``, ``revenue_m``,
        ``depreciation_m``, ``power_cost_m``, ``maintenance_m``,
        ``rental_cost_m``, ``serving_cost_m``, ``traditional_cost_of_sales_m``,
        ``genai_other_cost_of_sales_m``, ``other_cost_of_sales_m``,
        ``cost_of_sales_m``, ``gross_profit_m``, ``rd_opex_m``, ``sm_opex_m``,
        ``ga_opex_m``, ``opex_m``, ``operating_profit_m``, ``ebitda_m``,
        ``non_operating_loss_m``, ``interest_expense_m``, ``net_loss_m``,
        ``adjustments_m``,
        ``adjusted_net_loss_m`` [RMB m] and ``gross_margin`` [1].
    """
    d = drivers if drivers is not None else AccountDrivers()
    genai = genai_array(served_m, fin)
    trad = np.asarray(traditional_revenue_m, float)
    revenue = genai + trad
    serving = (np.asarray(depreciation_m, float) + power_m + maintenance_m
               + rental_m)
    trad_cos = (1.0 - per_draw(fin.traditional_gross_margin)) * trad
    share = genai_other_cost_share(d, fin, serving[..., 0])
    genai_other = np.asarray(share, float)[..., None] * genai
    other = trad_cos + genai_other
    cos = serving + other
    gp = revenue - cos
    rd = opex_line_array(qn, base_qno, _or(d.rd_half_m, fin.rd_half_m),
                         fin.rd_growth_annual)
    sm = opex_line_array(qn, base_qno, _or(d.sm_half_m, fin.sm_half_m),
                         fin.sm_growth_annual)
    ga = opex_line_array(qn, base_qno, _or(d.ga_half_m, fin.ga_half_m),
                         fin.ga_growth_annual)
    opex = rd + sm + ga
    op = gp - opex
    nonop = np.zeros(np.shape(gp)) + per_draw(_or(d.non_operating_loss_m_per_quarter,
                                                  fin.non_operating_loss_m_per_quarter))
    interest = np.zeros(np.shape(gp)) + (0.0 if interest_m is None
                                         else np.asarray(interest_m, float))
    loss = nonop + interest - op
    adjustments = np.zeros(np.shape(gp)) + _or(d.adjustments_m_per_quarter, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gm = np.where(revenue > 0, gp / np.where(revenue > 0, revenue, 1.0), 0.0)
    return {"genai_revenue_m": genai, "traditional_revenue_m": trad,
            "revenue_m": revenue,
            "depreciation_m": np.asarray(depreciation_m, float),
            "power_cost_m": np.asarray(power_m, float),
            "maintenance_m": np.asarray(maintenance_m, float),
            "rental_cost_m": np.asarray(rental_m, float),
            "serving_cost_m": serving, "traditional_cost_of_sales_m": trad_cos,
            "genai_other_cost_of_sales_m": genai_other,
            "other_cost_of_sales_m": other, "cost_of_sales_m": cos,
            "gross_profit_m": gp, "gross_margin": gm, "rd_opex_m": rd, "sm_opex_m": sm,
            "ga_opex_m": ga, "opex_m": opex, "operating_profit_m": op,
            "ebitda_m": op + depreciation_m, "non_operating_loss_m": nonop,
            "interest_expense_m": interest, "net_loss_m": loss,
            "adjustments_m": adjustments, "adjusted_net_loss_m": loss - adjustments}


def cash_arrays(ebitda_m: np.ndarray, capex_paid_m: np.ndarray,
                net_cash0_m: float, floor_m: float) -> dict[str, Any]:
    """Free cash flow, the net cash path and the runway. [RMB m]

    fcf[t] = ebitda[t] - capex_paid[t];  net_cash[t] = net_cash[t-1] + fcf[t]
    runway = quarters before net cash first falls below the floor (all of them if never).

    Returns
    -------
    dict
        ``fcf_m``, ``net_cash_m`` [RMB m] arrays, ``below_floor`` (bool array),
        ``runway_quarters`` [quarters] and ``funding_need_index`` (first quarter below the
        floor, or -1).
    """
    fcf = np.asarray(ebitda_m, float) - np.asarray(capex_paid_m, float)
    net_cash = per_draw(net_cash0_m) + np.cumsum(fcf, axis=-1)
    below = net_cash < per_draw(floor_m)
    first = np.where(below.any(axis=-1), np.argmax(below, axis=-1), -1)
    runway = np.where(first >= 0, first, fcf.shape[-1])
    if first.ndim == 0:
        first, runway = int(first), int(runway)
    return {"fcf_m": fcf, "net_cash_m": net_cash, "below_floor": below,
            "runway_quarters": runway, "funding_need_index": first}


def value_arrays(qn: np.ndarray, base_qno: int, served_m: np.ndarray,
                 traditional_revenue_m: np.ndarray, cohort_delivery_index: np.ndarray,
                 cohort_capex_m: np.ndarray, cohort_life_quarters: np.ndarray,
                 capex_paid_m: np.ndarray, power_m: np.ndarray,
                 maintenance_m: np.ndarray, rental_m: np.ndarray,
                 fin: FinanceInputs, target_price_ev_sales: float,
                 drivers: AccountDrivers | None = None) -> dict[str, Any]:
    """P&L, cash, DCF and the target price per method and blended, from fleet arrays.

    The one implementation: :func:`pnl_result` and the stress draws call it.

    Parameters
    ----------
    qn
        Quarter numbers of the modelled quarters, consecutive from base + 1. [1]
    base_qno
        Quarter number of the base period (valuation date, last reported balance). [1]
    served_m
        Revenue the fleet served per quarter. [RMB m]
    traditional_revenue_m
        Non-GenAI revenue per quarter. [RMB m]
    cohort_delivery_index, cohort_capex_m, cohort_life_quarters
        Purchases: delivery position among ``qn`` [index], all-in cost [RMB m], life
        [quarters].
    capex_paid_m
        Capex paid per quarter (at order). [RMB m]
    power_m, maintenance_m, rental_m
        Fleet running costs per quarter. [RMB m]
    fin
        Finance inputs.
    target_price_ev_sales
        The EV/Sales target price
        (:func:`~capacity.finance.valuation.value_from_sales`). [HKD/share]
    drivers
        Run-rates of the reported accounts (:func:`pnl_arrays`).

    For a batch of draws the quarterly arrays are (B, T), the cohort capex (B, n) (zero for
    cohorts a draw did not buy), the numbers of ``fin`` that vary (B,); every result then
    carries the batch as its first axis, with NaN where a method does not apply to a draw.

    Returns
    -------
    dict
        ``pnl`` (:func:`pnl_arrays`), ``cash`` (:func:`cash_arrays`), ``dcf``
        (:func:`~capacity.finance.valuation.dcf_ev`), ``ebitda_year_m`` (valuation year,
        or None),
        ``ev_ebitda_m`` (or None), ``tp`` per method [HKD/share] (None where it does not
        apply), ``equity_m`` per method, ``weights`` used and ``target_price``.
    """
    qn = np.asarray(qn, np.int64)
    n = len(qn)
    if n < 4:
        raise InputError("horizon.end", "the DCF needs at least four modelled quarters")
    dep = (existing_depreciation_array(n, fin.existing_fleet_book_value_m,
                                       fin.existing_fleet_remaining_life_quarters)
           + straight_line_m(n, cohort_delivery_index, cohort_capex_m,
                                       cohort_life_quarters))
    d = drivers if drivers is not None else AccountDrivers()
    interest = interest_array(d.debt_principal_m, d.interest_rate_annual,
                              fin.debt_financed_capex_share, capex_paid_m)
    pnl = pnl_arrays(qn, base_qno, served_m, traditional_revenue_m, dep, power_m,
                     maintenance_m, rental_m, fin, drivers, interest)
    cash = cash_arrays(pnl["ebitda_m"], capex_paid_m, fin.net_cash_m,
                       fin.cash_floor_m)
    k = (qn - base_qno).astype(float)
    ebit_t = number(pnl["operating_profit_m"][..., -4:].sum(axis=-1))
    dcf = dcf_ev(cash["fcf_m"], k, ebit_t, fin.wacc_annual, fin.terminal_growth_annual,
                 fin.tax_rate)
    args = (fin.net_cash_m, fin.shares_m, fin.fx_listing)
    eq_dcf, tp_dcf = equity_and_target_price(dcf["ev_m"], *args)
    ebitda_y = year_total(qn, pnl["ebitda_m"], fin.valuation_year)
    ev_ebitda = tp_ebitda = eq_ebitda = None
    positive = np.asarray(ebitda_y if ebitda_y is not None else np.nan) > 0
    if positive.any():  # a batch: NaN for the draws whose EBITDA is not positive
        ev_ebitda = np.where(positive, per_draw(fin.ev_ebitda_multiple, 0) * ebitda_y, np.nan)
        eq_ebitda, tp_ebitda = equity_and_target_price(ev_ebitda, *args)
        if positive.ndim == 0:
            ev_ebitda, eq_ebitda, tp_ebitda = float(ev_ebitda), float(eq_ebitda), \
                float(tp_ebitda)
    tps = {"ev_sales": number(target_price_ev_sales), "ev_ebitda": tp_ebitda, "dcf": tp_dcf}
    blended, weights = blend_target_price(tps, fin.blend_weights)
    chosen = blended if fin.valuation_method == "blend" else tps[fin.valuation_method]
    if chosen is None or np.isnan(chosen).any():
        raise InputError("finance.valuation_method",
                         f"{fin.valuation_method} does not apply (EBITDA of "
                         f"{fin.valuation_year} is not positive)")
    return {"pnl": pnl, "cash": cash, "dcf": dcf, "ebit_terminal_m": ebit_t,
            "ebitda_year_m": ebitda_y, "ev_ebitda_m": ev_ebitda, "tp": tps,
            "equity_m": {"dcf": eq_dcf, "ev_ebitda": eq_ebitda},
            "target_price_blend": blended, "weights": weights,
            "target_price": number(chosen)}


@dataclass(frozen=True)
class PnlResult:
    """P&L, cash, DCF and the valuation by method for one scenario.

    Attributes
    ----------
    quarters
        Quarterly P&L and cash, index ``period`` (columns of :func:`pnl_arrays`, plus
        ``capex_paid_m``, ``fcf_m``, ``net_cash_m``, ``below_floor``,
        ``discount_factor``, ``pv_fcf_m``).
    pnl
        Calendar years whose four quarters are all modelled, index ``year``.
    cash
        ``period``, ``capex_paid_m``, ``ebitda_m``, ``fcf_m``, ``net_cash_m``
        [RMB m], ``below_floor``.
    cohorts
        One row per purchase: its depreciation per quarter and the part inside the horizon.
    valuation
        One row per method: ``method``, ``applies``, ``weight``, ``ev_m``,
        ``equity_m``, ``target_price``.
    dcf_sensitivity
        DCF target price over WACC x terminal growth.
    values
        The :func:`value_arrays` result.
    """

    quarters: pd.DataFrame
    pnl: pd.DataFrame
    cash: pd.DataFrame
    cohorts: pd.DataFrame
    valuation: pd.DataFrame
    dcf_sensitivity: pd.DataFrame
    values: dict[str, Any]


def _purchase_arrays(purchases: pd.DataFrame, first: pd.Period
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    require_columns(purchases, list(PURCHASE_COLUMNS), "plan purchases")
    d = np.array([quarter_number(p) - quarter_number(first) for p in purchases["period"]],
                 np.int64)
    return (d, purchases["capex_m"].to_numpy(float),
            purchases["life_quarters"].to_numpy(np.int64))


YEAR_SUMS = ("revenue_m", "genai_revenue_m", "traditional_revenue_m",
             "cost_of_sales_m", "depreciation_m", "power_cost_m",
             "maintenance_m", "rental_cost_m", "serving_cost_m",
             "traditional_cost_of_sales_m", "genai_other_cost_of_sales_m",
             "other_cost_of_sales_m", "gross_profit_m", "rd_opex_m", "sm_opex_m",
             "ga_opex_m", "opex_m", "operating_profit_m", "ebitda_m",
             "non_operating_loss_m", "interest_expense_m", "net_loss_m",
             "adjustments_m", "adjusted_net_loss_m", "capex_paid_m", "fcf_m")
"""Quarterly P&L lines a calendar year sums (:func:`pnl_years`)."""


def pnl_years(quarters: pd.DataFrame) -> pd.DataFrame:
    """Calendar years of the quarterly P&L whose four quarters are known (reported or
    modelled): total[y] = sum of its quarters; gross_margin[y] = gross_profit / revenue.

    A line a reported quarter does not carry (the fleet's cost split, cash) is 0 there, so a
    year with reported quarters sums it over its modelled quarters; ``actual_quarters``
    counts the reported ones.

    Returns
    -------
    pandas.DataFrame
        Index ``year``; ``actual_quarters`` [quarters], :data:`YEAR_SUMS` [RMB m],
        ``gross_margin`` [1], ``net_cash_end_m`` [RMB m].
    """
    years = np.asarray(quarter_numbers(quarters.index)) // 4
    keep = [y for y in np.unique(years) if int((years == y).sum()) == 4]
    grouped = quarters[list(YEAR_SUMS)].groupby(years)
    yearly = grouped.sum().loc[keep]
    yearly.index = pd.Index([int(y) for y in keep], name="year")
    yearly.insert(0, "actual_quarters",
                  quarters["actual"].astype(int).groupby(years).sum().loc[keep].to_numpy())
    yearly.insert(yearly.columns.get_loc("gross_profit_m") + 1, "gross_margin",
                  yearly["gross_profit_m"] / yearly["revenue_m"])
    yearly["net_cash_end_m"] = quarters["net_cash_m"].groupby(years).last().loc[
        keep].to_numpy(float)
    return yearly


def pnl_result(quarters: pd.DataFrame, purchases: pd.DataFrame,
               traditional_revenue_m: pd.Series,
               fin: FinanceInputs, anchors: Anchors, ev_sales: Valuation) -> PnlResult:
    """Quarterly and yearly P&L, cash path, DCF and target price by method (DataFrames).

    Checks the plan's columns (:data:`PLAN_COLUMNS`, :data:`PURCHASE_COLUMNS`) and calls
    :func:`value_arrays`; the equations are in the module docstring.

    Parameters
    ----------
    quarters
        Plan quarters indexed by ``period`` (consecutive, from the base period + 1) with
        :data:`PLAN_COLUMNS`. [RMB m]
    purchases
        Plan purchases with :data:`PURCHASE_COLUMNS`.
    traditional_revenue_m
        Non-GenAI revenue per quarter
        (:func:`~capacity.finance.revenue.traditional_revenue`). [RMB m]
    fin
        Finance inputs.
    anchors
        Disclosures (base period).
    ev_sales
        The EV/Sales valuation (:func:`~capacity.finance.valuation.value_from_sales`).

    Returns
    -------
    PnlResult
    """
    if len(quarters) == 0:
        raise InputError("capacity quarters", "no quarters to value")
    cols = list(PLAN_COLUMNS)
    require_columns(quarters, cols, "plan quarters")
    periods = pd.PeriodIndex(quarters.index, freq="Q", name="period")
    qn = quarter_numbers(periods)
    base_qno = quarter_number(anchors.base_period)
    if qn[0] != base_qno + 1 or (np.diff(qn) != 1).any():
        raise InputError("plan quarters", "must run consecutively from the quarter after the "
                                          f"base period {anchors.base_period}")
    q = {c: quarters[c].to_numpy(float) for c in cols}
    for c, v in q.items():
        if not np.isfinite(v).all():
            raise InputError("plan quarters", f"column {c} is not finite")
    trad = traditional_revenue_m.reindex(periods).to_numpy(float)
    d, capex, life = _purchase_arrays(purchases, periods[0])
    v = value_arrays(qn, base_qno, q["served_revenue_m"], trad, d, capex, life,
                     q["capex_m"], q["power_cost_m"], q["maintenance_m"],
                     q["rental_cost_m"], fin, ev_sales.target_price, anchors.drivers)
    pnl, cash, dcf = v["pnl"], v["cash"], v["dcf"]
    qt = pd.DataFrame(pnl, index=periods)
    qt["capex_paid_m"] = q["capex_m"]
    for c in ("fcf_m", "net_cash_m", "below_floor"):
        qt[c] = cash[c]
    qt["discount_factor"] = dcf["discount_factor"]
    qt["pv_fcf_m"] = dcf["pv_fcf_m"]
    cash_t = qt[["capex_paid_m", "ebitda_m", "fcf_m", "net_cash_m",
                 "below_floor"]].copy()
    qt.insert(0, "actual", False)
    history = anchors.history
    if history is not None:
        history = history.loc[history.index.difference(periods)]
        # a line the accounts do not report (the fleet's cost split, cash) is 0 in a
        # reported quarter: its cost of sales is all in other_cost_of_sales_m
        hist = history.reindex(columns=qt.columns).fillna(0.0)
        hist["ebitda_m"] = hist["operating_profit_m"]
        hist["below_floor"] = False
        qt = pd.concat([hist.assign(actual=True), qt])
        qt["below_floor"] = qt["below_floor"].astype(bool)
        qt.index.name = "period"
    yearly = pnl_years(qt)

    n = len(periods)
    per_q = capex / np.maximum(life, 1) if len(life) else capex
    inside = [float(per_q[i] * max(0, min(n, d[i] + life[i]) - max(0, d[i])))
              for i in range(len(d))]
    cohorts = pd.DataFrame({
        "period": purchases["period"].to_numpy(), "order_period":
        purchases["order_period"].to_numpy(), "chip": purchases["chip"].to_numpy(),
        "capex_m": capex, "life_quarters": life,
        "depreciation_per_quarter_m": per_q,
        "depreciation_in_horizon_m": np.array(inside, float)})

    weights = v["weights"]
    rows = []
    rows.append({"method": "ev_sales", "applies": True, "weight": weights.get("ev_sales", 0.0),
                 "ev_m": ev_sales.ev_m, "equity_m": ev_sales.equity_m,
                 "target_price": v["tp"]["ev_sales"]})
    ok = v["tp"]["ev_ebitda"] is not None
    rows.append({"method": "ev_ebitda", "applies": ok, "weight": weights.get("ev_ebitda", 0.0),
                 "ev_m": v["ev_ebitda_m"] if ok else 0.0,
                 "equity_m": v["equity_m"]["ev_ebitda"] if ok else 0.0,
                 "target_price": v["tp"]["ev_ebitda"] if ok else 0.0})
    rows.append({"method": "dcf", "applies": True, "weight": weights.get("dcf", 0.0),
                 "ev_m": dcf["ev_m"], "equity_m": v["equity_m"]["dcf"],
                 "target_price": v["tp"]["dcf"]})
    valuation = pd.DataFrame(rows)
    sens = dcf_sensitivity_grid(cash["fcf_m"], (qn - base_qno).astype(float),
                                v["ebit_terminal_m"], fin)
    return PnlResult(quarters=qt, pnl=yearly, cash=cash_t, cohorts=cohorts,
                     valuation=valuation, dcf_sensitivity=sens, values=v)
