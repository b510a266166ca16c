"""Valuation: from sales, EBITDA or free cash flow to an enterprise value, then to equity and a
target price; the EV/Sales bridge, the DCF and the blend of methods.

Pure functions; no files, no printing. The equations (units in brackets; k the quarters after
the valuation date, the base period's end)::

    EV/Sales   EV     = multiple * sales[valuation_year]                                 [RMB m]
               implied sales for a given TP = (TP * shares * fx_listing - net_cash) / multiple
    DCF        df[t]  = (1 + wacc) ** (-k / 4)                                           [1]
               nopat_T = ebit_T * (1 - tax) if ebit_T > 0 else ebit_T                   [RMB m]
               TV     = nopat_T * (1 + g) / (wacc - g)                                   [RMB m]
               EV     = sum_t fcf[t] * df[t] + TV * df[T]                                [RMB m]
    every method       equity = EV + net_cash;  TP = equity / shares / fx_listing    [HKD/share]
    blend      TP     = sum_m w_m TP_m / sum_m w_m over the methods that apply       [HKD/share]

For a batch of stress draws the same functions take and return arrays of one value per draw
(:mod:`capacity.batch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capacity.batch import number, per_draw
from capacity.errors import InputError
from capacity.finance.anchors import Anchors
from capacity.finance.years import year_sales
from capacity.results import money_text
from capacity.schemas import FinanceInputs

METHODS = ("ev_sales", "ev_ebitda", "dcf")
"""Valuation methods, in report order."""


# --------------------------------------------------------------------------------------------
# EV/Sales and the bridge to the note
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Valuation:
    """One EV/Sales valuation, every step kept so the bridge can be checked.

    Attributes
    ----------
    sales_m
        Valuation-year sales. [RMB m]
    multiple
        EV/Sales. [1]
    ev_m
        Enterprise value = multiple * sales. [RMB m]
    net_cash_m
        Net cash. [RMB m]
    equity_m
        Equity value = EV + net cash. [RMB m]
    shares_m
        Shares. [m shares]
    fx_listing
        FX. [RMB/HKD]
    target_price
        equity / shares / fx_listing. [HKD/share]
    """

    sales_m: float
    multiple: float
    ev_m: float
    net_cash_m: float
    equity_m: float
    shares_m: float
    fx_listing: float
    target_price: float


def equity_and_target_price(ev_m: float, net_cash_m: float, shares_m: float,
                            fx_listing: float) -> tuple[float, float]:
    """Equity value and target price from an enterprise value (every method ends here).

    equity = EV + net_cash;  TP = equity / shares / fx_listing

    Parameters
    ----------
    ev_m
        Enterprise value. [RMB m]
    net_cash_m
        Net cash (negative = net debt). [RMB m]
    shares_m
        Shares outstanding. [m shares]
    fx_listing
        Exchange rate. [RMB/HKD]

    Returns
    -------
    tuple
        (equity [RMB m], target price [HKD/share]; RMB m / m shares = RMB/share).
    """
    if np.any(np.asarray(shares_m) <= 0) or np.any(np.asarray(fx_listing) <= 0):
        raise InputError("finance", "shares_m and fx_listing must be positive")
    equity = number(ev_m) + number(net_cash_m)
    return equity, equity / shares_m / fx_listing


def value_from_sales(sales_m: float, multiple: float, net_cash_m: float,
                     shares_m: float, fx_listing: float) -> Valuation:
    """EV/Sales target price.

    EV = multiple * sales; equity = EV + net_cash; TP = equity / shares / fx_listing.

    Parameters
    ----------
    sales_m, multiple
        Valuation-year sales [RMB m] and the EV/Sales multiple [1].
    net_cash_m, shares_m, fx_listing
        As in :func:`equity_and_target_price`.

    Returns
    -------
    Valuation
        With ``target_price`` in [HKD/share] (RMB m / m shares = RMB/share); for a batch
        of draws (arguments of shape (B,)) every field is an array of shape (B,).
    """
    ev = multiple * sales_m
    equity, tp = equity_and_target_price(ev, net_cash_m, shares_m, fx_listing)
    return Valuation(number(sales_m), number(multiple), number(ev), number(net_cash_m),
                     number(equity), number(shares_m), number(fx_listing), number(tp))


def implied_sales(target_price: float, multiple: float, net_cash_m: float,
                  shares_m: float, fx_listing: float) -> float:
    """Valuation-year sales that a target price implies at a multiple (the inverse bridge).

    sales = (TP * shares * fx_listing - net_cash) / multiple

    Parameters
    ----------
    target_price
        Target price. [HKD/share]
    multiple, net_cash_m, shares_m, fx_listing
        As in :func:`value_from_sales`.

    Returns
    -------
    float
        Sales. [RMB m]
    """
    if multiple <= 0:
        raise InputError("finance.ev_sales_multiple", "must be positive")
    return float((target_price * shares_m * fx_listing - net_cash_m) / multiple)


def valuation_sales(annual: pd.DataFrame, year: int) -> float:
    """Total sales of the valuation year from the annual table [RMB m]; an :class:`InputError`
    when it is not a complete year (:func:`~capacity.finance.years.year_sales`)."""
    return year_sales(annual.index, annual["revenue_m"].to_numpy(float), year)


def sensitivity_grid(sales_m: float, fin: FinanceInputs) -> pd.DataFrame:
    """Target price over EV/Sales multiples and changes to the valuation-year sales.

    TP[m, d] = (m * sales * (1 + d) + net_cash) / shares / fx_listing

    Returns
    -------
    pandas.DataFrame
        One row per (multiple, change): ``multiple`` [1], ``sales_change`` [1],
        ``sales_m`` [RMB m], ``ev_m`` [RMB m], ``target_price`` [HKD/share].
    """
    rows = []
    for m in fin.sensitivity_multiples:
        for d in fin.sensitivity_sales_changes:
            v = value_from_sales(sales_m * (1.0 + d), m, fin.net_cash_m, fin.shares_m,
                                 fin.fx_listing)
            rows.append({"multiple": float(m), "sales_change": float(d),
                         "sales_m": v.sales_m, "ev_m": v.ev_m,
                         "target_price": v.target_price})
    return pd.DataFrame(rows)


def note_implied_sales(anchors: Anchors, fin: FinanceInputs
                       ) -> tuple[float | None, float | None]:
    """Valuation-year sales the note's new and old target prices imply (:func:`implied_sales`
    at the scenario's multiple, net cash, shares and FX).

    Returns
    -------
    tuple
        (sales for the new TP, sales for the old TP); None for a TP not disclosed. [RMB m]
    """
    args = (fin.ev_sales_multiple, fin.net_cash_m, fin.shares_m, fin.fx_listing)
    return tuple(None if tp is None else implied_sales(tp, *args)  # type: ignore[return-value]
                 for tp in (anchors.target_price, anchors.target_price_old))


def bridge_table(valuation: Valuation, anchors: Anchors, fin: FinanceInputs) -> pd.DataFrame:
    """The tool's valuation beside the sales the note's new and old TPs imply.

    Each row runs the same bridge (sales -> EV -> equity -> TP) with the scenario's multiple,
    net cash, shares and FX; the note rows start from the implied sales
    (:func:`note_implied_sales`), so their TP comes back to the note's figure. A TP not
    disclosed (an optional part) has no row.
    """
    new_m, old_m = note_implied_sales(anchors, fin)
    rows = []
    for label, sales in [
        ("tool (capacity-linked)", valuation.sales_m),
        (f"note TP {money_text('HKD')} {anchors.target_price or 0:g} (implied)", new_m),
        (f"note old TP {money_text('HKD')} {anchors.target_price_old or 0:g} (implied)",
         old_m),
    ]:
        if sales is None:
            continue
        v = value_from_sales(sales, fin.ev_sales_multiple, fin.net_cash_m, fin.shares_m,
                             fin.fx_listing)
        rows.append({"case": label, "sales_m": v.sales_m, "multiple": v.multiple,
                     "ev_m": v.ev_m, "net_cash_m": v.net_cash_m,
                     "equity_m": v.equity_m, "target_price": v.target_price})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# DCF and the blend of methods
# --------------------------------------------------------------------------------------------


def dcf_ev(fcf_m: np.ndarray, k: np.ndarray, ebit_terminal_m: float,
           wacc_annual: float, terminal_growth_annual: float, tax_rate: float
           ) -> dict[str, Any]:
    """Enterprise value by discounted free cash flow plus a Gordon terminal value.

    df[t] = (1 + wacc) ** (-k / 4);  nopat_T = ebit_T (1 - tax) if ebit_T > 0 else ebit_T;
    TV = nopat_T (1 + g) / (wacc - g);  EV = sum fcf df + TV df[last]

    Parameters
    ----------
    fcf_m
        Free cash flow per modelled quarter. [RMB m]
    k
        Quarters after the valuation date of each (1, 2, ...). [quarters]
    ebit_terminal_m
        Operating profit of the last four modelled quarters. [RMB m/year]
    wacc_annual, terminal_growth_annual
        Discount rate and terminal growth, g < wacc. [1/year]
    tax_rate
        Tax on a positive terminal operating profit. [1]

    Returns
    -------
    dict
        ``discount_factor`` [1] and ``pv_fcf_m`` [RMB m] arrays, ``terminal_value_m``,
        ``pv_terminal_m``, ``ev_m`` [RMB m].
    """
    if np.any(np.asarray(terminal_growth_annual) >= wacc_annual):
        raise InputError("finance.terminal_growth_annual",
                         f"{terminal_growth_annual} must be below the WACC {wacc_annual}")
    df = (1.0 + per_draw(wacc_annual)) ** (-np.asarray(k, float) / 4.0)
    pv = np.asarray(fcf_m, float) * df
    ebit = np.asarray(ebit_terminal_m, float)
    nopat = np.where(ebit > 0, ebit * (1.0 - tax_rate), ebit)
    tv = nopat * (1.0 + terminal_growth_annual) / (wacc_annual - terminal_growth_annual)
    pv_tv = tv * df[..., -1]
    return {"discount_factor": df, "pv_fcf_m": pv, "terminal_value_m": number(tv),
            "pv_terminal_m": number(pv_tv), "ev_m": number(pv.sum(axis=-1) + pv_tv)}


def blend_target_price(tps: dict[str, float | None], weights: dict[str, float]
                       ) -> tuple[float, dict[str, float]]:
    """Weighted target price over the methods that apply.

    TP_blend = sum_m w_m TP_m / sum_m w_m over methods m with a TP (w renormalised).

    Parameters
    ----------
    tps
        Target price per method, None where it does not apply. [HKD/share]
    weights
        Weight per method (``finance.blend_weights``). [1]

    Returns
    -------
    tuple
        (blended TP [HKD/share], the weights used, summing to 1 [1])

    Raises
    ------
    InputError
        When every weighted method does not apply.

    Notes
    -----
    For a batch of draws each TP is an array (B,), NaN where the method does not apply to that
    draw; the blended TP is then (B,) and the weights are arrays (0 where not applied).
    """
    applies = {m: (tps.get(m) is not None) & ~np.isnan(np.asarray(tps[m], float))
               for m in METHODS if tps.get(m) is not None}
    total: Any = 0
    for m, ok in applies.items():
        total = total + np.where(ok, float(weights.get(m, 0.0)), 0.0)
    if np.any(np.asarray(total) <= 0.0):
        raise InputError("finance.blend_weights", "every method with a weight above 0 is "
                         "inapplicable (EV/EBITDA needs a positive EBITDA in the valuation "
                         "year)")
    w = {m: np.where(ok, float(weights.get(m, 0.0)) / total, 0.0) for m, ok in applies.items()}
    blended: Any = 0
    for m, ok in applies.items():
        blended = blended + np.where(ok, w[m] * np.asarray(tps[m], float), 0.0)
    if np.ndim(blended) == 0:
        return float(blended), {m: float(v) for m, v in w.items()}
    return blended, w


def dcf_sensitivity_grid(fcf_m: np.ndarray, k: np.ndarray, ebit_terminal_m: float,
                         fin: FinanceInputs) -> pd.DataFrame:
    """DCF target price over WACC x terminal growth (the two inputs the DCF turns on).

    TP[w, g] = (EV_dcf(w, g) + net_cash) / shares / fx_listing  (:func:`dcf_ev`)

    Returns
    -------
    pandas.DataFrame
        ``wacc_annual``, ``terminal_growth_annual`` [1/year], ``ev_m`` [RMB m],
        ``target_price`` [HKD/share].
    """
    rows = []
    for w in fin.sensitivity_wacc_annual:
        for g in fin.sensitivity_terminal_growth_annual:
            ev = dcf_ev(fcf_m, k, ebit_terminal_m, w, g, fin.tax_rate)["ev_m"]
            _, tp = equity_and_target_price(ev, fin.net_cash_m, fin.shares_m,
                                            fin.fx_listing)
            rows.append({"wacc_annual": float(w), "terminal_growth_annual": float(g),
                         "ev_m": ev, "target_price": tp})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The headline: the fleet's value is the plan's NPV (one account of the fleet)
# --------------------------------------------------------------------------------------------

PLAN_FLOWS = (("served_revenue_m", "served_revenue", 1.0, "served revenue (tokens + leasing)"),
              ("training_value_m", "training_value", 1.0, "training value (own training at "
               "the price of renting it: in the plan, not revenue)"),
              ("power_cost_m", "power_cost", -1.0, "power"),
              ("maintenance_m", "maintenance", -1.0, "maintenance"),
              ("rental_cost_m", "rental_cost", -1.0, "rented compute"),
              ("capex_m", "capex", -1.0, "capex paid at order"))
"""Plan quarter columns whose discounted sum, with the residual, is the plan's NPV: (column,
bridge item, sign, label). The item is named here, not cut from the column name (the
currency-free rename had left ``served_revenue_m`` as an item)."""


def plan_discount_factor(n: int, rate_annual: float) -> np.ndarray:
    """The plan's discounting of its planned quarters t = 0..n-1 (and the horizon end t = n).

    df[t] = (1 + r) ** (-t / 4)  [1], shape (n + 1,) (or (B, n + 1) for a rate per draw,
    ``per_draw(rate)``)
    """
    return (1.0 + rate_annual) ** (-np.arange(n + 1, dtype=float) / 4.0)


def non_fleet_array(fcf_m: np.ndarray, served_m: np.ndarray, power_m: np.ndarray,
                    maintenance_m: np.ndarray, rental_m: np.ndarray,
                    capex_m: np.ndarray) -> np.ndarray:
    """Cash flow per planned quarter that the plan does not hold: the P&L's free cash flow
    less the fleet's (other revenue's gross profit less operating expenses). [RMB m]

        non_fleet[t] = fcf[t] - (served[t] - power[t] - maintenance[t] - rental[t] - capex[t])
    """
    fleet = (np.asarray(served_m, float) - power_m - maintenance_m - rental_m
             - capex_m)
    return np.asarray(fcf_m, float) - fleet


def fleet_account(npv_m, fcf_m: np.ndarray, served_m: np.ndarray,
                  power_m: np.ndarray, maintenance_m: np.ndarray,
                  rental_m: np.ndarray, capex_m: np.ndarray,
                  genai_other_cost_m: np.ndarray, genai_revenue_m: np.ndarray,
                  rate_annual) -> dict[str, Any]:
    """The fleet's value net of the other cost of the revenue it serves, and the flows left.

    The P&L books, beside the fleet's serving cost, a cost of sales proportional to GenAI
    revenue (hardware sold, subcontracting, data-centre operations: ``genai_other``, share
    s_o of GenAI revenue, :func:`~capacity.finance.pnl.genai_other_cost_share`). The part of
    it that goes with the revenue the plan serves is a cost of the fleet's work, not of what
    the plan does not hold::

        c[t]     = genai_other[t] * served[t] / genai[t]  (= s_o * served[t])      [RMB m]
        V        = NPV - sum_{t<n} c[t] df[t]                                      [RMB m]
        flows[t] = non_fleet[t] + c[t]     (:func:`non_fleet_array`)              [RMB m]

    so that V + PV(flows) = NPV + PV(non_fleet), and what remains in ``flows`` does not move
    with the plan's served revenue.

    Returns
    -------
    dict
        ``value_m`` (V), ``pv_served_other_cost_m`` (PV of c) [RMB m] and
        ``flows_m`` (per planned quarter) [RMB m]; (B,) and (B, n) for a batch.
    """
    served = np.asarray(served_m, float)
    genai = np.asarray(genai_revenue_m, float)
    other = np.asarray(genai_other_cost_m, float)
    cost = np.divide(other * served, genai, out=np.zeros(np.broadcast(other, served).shape),
                     where=genai > 0)
    n = cost.shape[-1]
    df = plan_discount_factor(n, per_draw(rate_annual))[..., :n]
    pv_cost = (cost * df).sum(axis=-1)
    flows = non_fleet_array(fcf_m, served, power_m, maintenance_m, rental_m,
                            capex_m) + cost
    return {"value_m": np.asarray(npv_m, float) - pv_cost,
            "pv_served_other_cost_m": pv_cost, "flows_m": flows}


def fleet_dcf(npv_m: float, non_fleet_m: np.ndarray, rate_annual: float,
              growth_annual: float, tax_rate: float) -> dict[str, float]:
    """Headline EV: the plan's NPV, what the plan does not hold, and the steady state after it.

    The fleet's cash flows are the plan's own (one account: discounted revenue and training
    value - power, maintenance and rental - capex at order + residual at the horizon, at the
    plan's discounting), so their value is the plan's NPV. The explicit period is the plan's
    horizon (n quarters); its steady state is the plan's unit economics per year, the
    equivalent annual value of its NPV (the level flow with the same present value)::

        df[t]   = (1 + r) ** (-t / 4),  A = sum_{t<n} df[t]                 [1], [quarters]
        eav     = 4 * NPV / A                                        [RMB m/year]
        m_T     = NPV / PV(served revenue + training value)          [1] terminal fleet margin
        S       = eav + sum of the last four quarters of non_fleet   [RMB m/year]
        S_tax   = S (1 - tax) if S > 0 else S
        TV      = S_tax (1 + g) / (r - g),  PV_TV = TV df[n]         [RMB m]
        EV      = NPV + sum_{t<n} non_fleet[t] df[t] + PV_TV         [RMB m]

    EV rises with NPV at a slope of at least 1 (1 + (1 - tax) 4 (1 + g) df[n] / (A (r - g))
    where S > 0), and nothing else in it depends on the plan, so a scenario with a lower NPV
    has a lower EV by construction.

    Parameters
    ----------
    npv_m
        The fleet's value at the first planned quarter: the plan's NPV (its objective) less
        the other cost of the revenue it serves (:func:`fleet_account`). [RMB m]
    non_fleet_m
        Cash flow per planned quarter that the plan does not hold (the other segment's and
        other GenAI gross profit, operating expenses: the P&L's free cash flow less the
        fleet's). [RMB m]
    rate_annual
        The plan's discount rate. [1/year]
    growth_annual
        Terminal growth, below the rate. [1/year]
    tax_rate
        Tax on a positive steady-state flow. [1]

    For a batch of draws ``npv_m`` is (B,), ``non_fleet_m`` (B, n) and the rates
    floats or (B,); every result is then (B,).

    Returns
    -------
    dict
        ``ev_m``, ``pv_non_fleet_m``, ``equivalent_annual_value_m`` [RMB m/year],
        ``steady_state_flow_m`` [RMB m/year], ``terminal_value_m``,
        ``pv_terminal_m``, ``pv_terminal_fleet_m``, ``pv_terminal_non_fleet_m``
        [RMB m], ``terminal_share`` (PV_TV / EV) [1] and ``annuity_quarters`` (A) [quarters].
    """
    if np.any(np.asarray(growth_annual) >= rate_annual):
        raise InputError("finance.terminal_growth_annual",
                         f"{growth_annual} must be below the plan's discount rate {rate_annual}")
    flows = np.asarray(non_fleet_m, float)
    n = flows.shape[-1]
    if n < 4:
        raise InputError("horizon.end", "the headline DCF needs at least four planned quarters")
    df = plan_discount_factor(n, per_draw(rate_annual))
    annuity = df[..., :n].sum(axis=-1)
    eav = 4.0 * np.asarray(npv_m, float) / annuity
    other = flows[..., -4:].sum(axis=-1)
    steady = eav + other
    after_tax = np.where(steady > 0, 1.0 - np.asarray(tax_rate, float), 1.0)
    factor = (after_tax * (1.0 + np.asarray(growth_annual, float))
              / (np.asarray(rate_annual, float) - growth_annual) * df[..., n])
    pv_other = (flows * df[..., :n]).sum(axis=-1)
    pv_tv = steady * factor
    ev = np.asarray(npv_m, float) + pv_other + pv_tv
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(ev != 0, pv_tv / np.where(ev != 0, ev, 1.0), np.nan)
    return {"ev_m": number(ev), "pv_non_fleet_m": number(pv_other),
            "equivalent_annual_value_m": number(eav), "steady_state_flow_m":
            number(steady), "terminal_value_m": number(pv_tv / df[..., n]),
            "pv_terminal_m": number(pv_tv), "pv_terminal_fleet_m": number(eav * factor),
            "pv_terminal_non_fleet_m": number(other * factor),
            "terminal_share": number(share), "annuity_quarters": number(annuity)}


def npv_bridge_table(plan_quarters: pd.DataFrame, npv_m: float, rate_annual: float,
                     headline: dict[str, float], ev_pnl_dcf_m: float) -> pd.DataFrame:
    """The bridge from the plan's NPV to the headline EV (one account of the fleet).

    plan rows: PV of each plan flow (:data:`PLAN_FLOWS`, at :func:`plan_discount_factor`) and
    the residual at the horizon as the balance to the plan's NPV (with the integer plan's
    rounding); valuation rows: what the plan does not hold (:func:`fleet_dcf`); memo rows:
    the P&L DCF (``target_price_dcf``: end-of-quarter discounting at the WACC, no training
    value, no residual, a terminal on the last year's operating profit) and its gap.

    Returns
    -------
    pandas.DataFrame
        ``item``, ``value_m`` [RMB m], ``role`` (``plan`` rows sum to the ``total`` plan
        NPV; ``plan`` and ``valuation`` rows sum to the headline EV; ``memo`` outside both),
        ``note``.
    """
    df = plan_discount_factor(len(plan_quarters), rate_annual)[:len(plan_quarters)]
    rows = []
    for col, item, sign, label in PLAN_FLOWS:
        pv = sign * float((plan_quarters[col].to_numpy(float) * df).sum())
        rows.append((item, pv, "plan", label))
    residual = float(npv_m) - sum(r[1] for r in rows)
    rows.append(("residual_value", residual, "plan", "residual value of the fleet at the "
                 "horizon (the balance to the plan's NPV, with the integer plan's rounding)"))
    rows.append(("plan_npv", float(npv_m), "total", "the plan's NPV (its objective)"))
    rows.append(("served_other_cost", -float(headline.get("pv_served_other_cost_m", 0.0)),
                 "valuation", "the other cost of sales (hardware, subcontracting, data-centre "
                 "operations) of the revenue the plan serves, at its share of GenAI revenue"))
    rows.append(("non_fleet", headline["pv_non_fleet_m"], "valuation",
                 "not in the plan: other segment and other GenAI gross profit less operating "
                 "expenses, per planned quarter"))
    rows.append(("terminal_fleet", headline["pv_terminal_fleet_m"], "valuation",
                 "after the horizon: the plan's equivalent annual value, after tax, growing"))
    rows.append(("terminal_non_fleet", headline["pv_terminal_non_fleet_m"], "valuation",
                 "after the horizon: the last year's non-fleet flow, after tax, growing"))
    rows.append(("headline_ev", headline["ev_m"], "total", "the headline EV"))
    rows.append(("pnl_dcf_ev", float(ev_pnl_dcf_m), "memo",
                 "the P&L DCF's EV (WACC, end of quarter, no training value or residual)"))
    rows.append(("headline_minus_pnl_dcf", headline["ev_m"] - float(ev_pnl_dcf_m),
                 "memo", "training value, residual, discount rate, timing and terminal"))
    return pd.DataFrame(rows, columns=["item", "value_m", "role", "note"])
