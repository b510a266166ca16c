"""One scenario end to end: the purchase plan, then the finance link that values what it serves.

``plan_report`` and ``value_report`` are what ``capacity plan`` and ``capacity value`` report;
``compare`` and ``backtest`` call them for each scenario.
"""

from __future__ import annotations

import pandas as pd

from capacity.results import Report, money_text
from capacity.scenarios import Scenario
from capacity.subjects import report_fields


def plan_report(scenario: Scenario, solver: str = "highs", integer: bool = True,
                objective: str = "npv"):
    """``capacity plan``: solve the purchase plan; returns (Plan, Report). (``--save-lp`` and
    ``--save-mps`` files are written by :mod:`capacity.report.write`.)"""
    from capacity.planner import plan
    from capacity.planner.results import horizon_totals

    result = plan(scenario, solver=solver, integer=integer, objective=objective)
    npv = objective == "npv"
    unit = money_text("RMB m (NPV at the first planned quarter)") if npv else "EFLOPS-quarters"
    scalars = {
        "scenario": scenario.name, "as_of": scenario.as_of.isoformat(), **report_fields(),
        "status": result.status,
        "objective": objective,
        "solver": result.solver,
        "integer": integer,
        "lot_units": result.extra.get("lot_units"),
        ("relaxed_objective_m" if npv else "relaxed_objective_eflops_quarters"):
            result.extra.get("relaxed_objective", result.objective),
        "integrality_gap": result.extra.get("integrality_gap", 0.0),
        ("objective_m" if npv else "objective_eflops_quarters"): result.objective,
        "objective_unit": unit,
        "objective_constant_m" if npv else
        "objective_constant_eflops_quarters": result.extra.get("objective_constant", 0.0),
        **horizon_totals(result.quarters),
        **result.kpis,
        "n_variables": result.extra.get("n_variables"),
        "n_constraints": result.extra.get("n_constraints"),
        "notes": list(result.notes),
        "changes": [c.as_record() for c in scenario.changes],
    }
    binding = result.binding.drop(columns=["name"])
    report = Report(
        "plan", scalars=scalars,
        tables={"quarters": with_power_source(result.quarters, scenario),
                "purchases": result.purchases,
                "binding": binding, "fleet": result.fleet,
                "purchase_value": result.purchase_value, "economics": result.economics},
        primary="quarters",
        titles={"quarters": "Fleet, compute, demand and cost per quarter",
                "purchases": "Purchases by delivery quarter",
                "binding": "Binding limits and their shadow prices, verified on both sides "
                           "(price of the side quoted, per unit of the limit)",
                "fleet": "Installed units by chip",
                "purchase_value": "Net value of one more unit of each chip and delivery "
                                  "quarter, and its parts (per unit bought; 0 for a chip "
                                  "bought, below 0 for one not)",
                "economics": "Why the plan buys what it buys: all-in and levelised cost per "
                             "unit, per EFLOPS-quarter of training and per m tokens served, "
                             "tokens per MW, beside the token price and the training value"})
    return result, report


def with_power_source(quarters: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The plan's quarters with ``power_limit_source``: the source of the
    ``planner.datacenter_mw`` step in force in each quarter ('' without a power limit)."""
    from capacity.planner.periods import quarter_step_index

    keys = [str(q) for q in scenario.inputs.planner.datacenter_mw]
    out = quarters.copy()
    if not keys:
        out["power_limit_source"] = ""
        return out
    at = quarter_step_index(pd.PeriodIndex(out.index, freq="Q"), keys)
    out["power_limit_source"] = [
        scenario.source_of(f"planner.datacenter_mw.{keys[k]}") if k >= 0 else ""
        for k in at]
    return out


def finance_capacity(scenario: Scenario, solver: str = "highs", plan_result=None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """What the finance link values from the plan: the single call site between the two.

    Returns
    -------
    tuple
        (``quarters``: the plan's quarters over the horizon, indexed by ``period``, with
        ``served_revenue_m`` (inference tokens served x token price + leasing revenue),
        ``capex_m`` (paid at order, by order quarter), ``power_cost_m``,
        ``maintenance_m``, ``rental_cost_m`` [RMB m], and the capacity columns the
        revenue table reads; ``purchases``: one row per (delivery ``period``, ``chip``) with
        ``order_period``, ``units``, ``capex_m`` (all-in) [RMB m] and ``life_quarters``;
        ``revenue``: the revenue table (:func:`capacity.finance.revenue_table`); a label of
        where the capacity came from)
    """
    from capacity import finance
    from capacity.compute_demand import genai_revenue_forecast

    if plan_result is None:
        from capacity.planner import plan

        plan_result = plan(scenario, solver=solver)
    periods = scenario.inputs.horizon.periods
    quarters = plan_result.quarters.reindex(periods)
    demand = genai_revenue_forecast(scenario, periods)
    revenue = finance.revenue_table(quarters, demand, scenario.inputs.finance,
                                    finance.anchors_from_disclosures(scenario.disclosures))
    purchases = plan_result.purchases.copy()
    lives = (plan_result.inputs.data.life_quarters if plan_result.inputs is not None else
             pd.Series(dtype=float))
    purchases["life_quarters"] = [
        int(lives.get(c, scenario.inputs.fleet.default_life_quarters))
        for c in purchases["chip"]]
    return quarters, purchases, revenue, "plan (NPV purchases)"


def _market_tables() -> dict[str, pd.DataFrame]:
    """The subject's comps, share prices and street estimates (read once a process)."""
    from capacity.scenarios.market import read_market

    return read_market()


def value_report(scenario: Scenario, solver: str = "highs", plan_result=None) -> Report:
    """``capacity value``: capacity -> revenue -> P&L and cash -> target price by method.

    GenAI revenue is what the planned fleet served (tokens x price + leasing, the plan's
    ``served_revenue_m``), at most the demand-side forecast (:mod:`capacity.finance`); the
    valuation-year sales feed the note's EV/Sales bridge, shown beside the sales the note's
    HK$1.75 (and old HK$2.85) imply at the same multiple, net cash, shares, FX.
    """
    from capacity import finance
    from capacity.finance import comps as fcomps
    from capacity.finance import headline as hl

    if plan_result is None:
        from capacity.planner import plan

        plan_result = plan(scenario, solver=solver)
    market = _market_tables()
    note_fin = scenario.inputs.finance
    explicit = any(c.key == "finance.ev_sales_multiple" and not c.origin.startswith("vintages/")
                   for c in scenario.changes)
    mkt = hl.market_report(market, scenario.as_of, note_fin,
                           scenario.source_of("finance.ev_sales_multiple"), explicit)
    fin = note_fin.model_copy(update={"ev_sales_multiple": mkt["multiple"].value})
    anchors = finance.anchors_from_disclosures(scenario.disclosures)
    quarters, purchases, revenue, source = finance_capacity(scenario, solver, plan_result)
    res, pl = finance.value_link(quarters, purchases, revenue["genai_demand_m"], fin,
                                 anchors, scenario.as_of)
    from capacity.finance import dated
    from capacity.finance.backlog import backlog_table

    burn = dated.burn_m(pl.quarters, scenario.as_of)
    dated_tables = {
        "inputs": dated.inputs_table(fin, anchors, scenario.disclosures, scenario.sources,
                                     scenario.as_of),
        "equity_bridge": dated.equity_bridge(fin, anchors, scenario.disclosures, burn,
                                             scenario.as_of),
        "backlog": backlog_table(scenario.disclosures, pl.quarters)}
    head = hl.headline_valuation(quarters, float(plan_result.objective),
                                 scenario.inputs.planner.discount_rate_annual, pl.quarters, fin,
                                 pl.values["dcf"]["ev_m"])
    tp_head = head["scalars"]["target_price_fleet_dcf"]
    street = hl.street_report(market["street"], scenario.as_of, res.annual, pl.pnl, tp_head)
    y, ty = fin.valuation_year, anchors.target_year
    val = res.valuation
    pv = pl.values
    funding = int(pv["cash"]["funding_need_index"])
    note_check = None
    if anchors.target_price is not None:  # None: no broker target (an optional part)
        note_sales = finance.implied_sales(anchors.target_price, note_fin.ev_sales_multiple,
                                           res.valuation.net_cash_m, fin.shares_m,
                                           fin.fx_listing)  # the net cash the TP used
        note_check = finance.value_from_sales(note_sales, note_fin.ev_sales_multiple,
                                              res.valuation.net_cash_m, fin.shares_m,
                                              fin.fx_listing)
    annual = res.annual
    scalars = {
        "scenario": scenario.name, "as_of": scenario.as_of.isoformat(), **report_fields(),
        "capacity_source": source,
        "valuation_year": y,
        "valuation_method": hl.HEADLINE_METHOD,
        "target_price": tp_head,
        **head["scalars"],
        "multiples_method": fin.valuation_method,
        "target_price_multiples": pv["target_price"],
        "target_price_blend": pv["target_price_blend"],
        "target_price_ev_sales": val.target_price,
        "target_price_dcf": pv["tp"]["dcf"],
        "ev_ebitda_applies": pv["tp"]["ev_ebitda"] is not None,
        "target_price_ev_ebitda": pv["tp"]["ev_ebitda"],  # null where it does not apply
        **{f"blend_weight_{m}": pv["weights"].get(m, 0.0) for m in finance.METHODS},
        "ev_m": val.ev_m,
        "equity_m": val.equity_m,
        "valuation_sales_m": val.sales_m,
        "valuation_genai_revenue_m": float(annual.at[y, "genai_revenue_m"]),
        "implied_valuation_sales_m": res.implied_sales_m,
        "implied_valuation_sales_old_m": res.implied_sales_old_m,
        "note_target_price": anchors.target_price,
        "note_target_price_old": anchors.target_price_old,
        "note_check_target_price": note_check and note_check.target_price,
        "note_check_reproduced": None if note_check is None else bool(abs(
            note_check.target_price - anchors.target_price) < 0.005),
        "multiple": val.multiple,
        "multiple_source": mkt["multiple"].source,
        "multiple_source_date": mkt["multiple"].source_date,
        "multiple_rule": fcomps.MULTIPLE_RULE,
        "note_multiple": note_fin.ev_sales_multiple,
        **fcomps.market_value(mkt["price"], fin.shares_m, tp_head),
        "net_cash_m": val.net_cash_m,
        "shares_m": val.shares_m,
        "fx_listing": val.fx_listing,
        "genai_target_year": ty if ty is not None else y,
        "genai_share_target_year": res.genai_share_target_year,
        "genai_share_target": anchors.genai_share_target,
        "genai_target_met": res.genai_target_met,
        "valuation_gross_margin": float(annual.at[y, "gross_margin"]),
        "genai_gross_margin": res.genai_gross_margin,
        "traditional_gross_margin": fin.traditional_gross_margin,
        "capacity_bound_quarters": int(res.revenue["capacity_bound"].sum()),
        "ev_dcf_m": pv["dcf"]["ev_m"],
        "pv_terminal_m": pv["dcf"]["pv_terminal_m"],
        "ebit_terminal_m": pv["ebit_terminal_m"],
        "wacc_annual": fin.wacc_annual,
        "terminal_growth_annual": fin.terminal_growth_annual,
        "net_cash_end_m": float(pv["cash"]["net_cash_m"][-1]),
        "cash_floor_m": fin.cash_floor_m,
        "runway_quarters": int(pv["cash"]["runway_quarters"]),
        "funding_need": funding >= 0,
        "funding_need_period": str(pl.cash.index[funding]) if funding >= 0 else "",
    }
    return Report(
        "value",
        scalars=scalars,
        tables={"revenue": res.revenue, "annual": annual, "bridge": res.bridge,
                "sensitivity": res.sensitivity, "pnl": pl.pnl, "pnl_by_quarter": pl.quarters,
                "cash": pl.cash, "cohorts": pl.cohorts, "methods": pl.valuation,
                "dcf_sensitivity": pl.dcf_sensitivity, **dated_tables,
                "npv_bridge": head["npv_bridge"], "comps": mkt["comps"], **street},
        primary="revenue",
        titles={"revenue": "Revenue per quarter: GenAI = min(demand, capacity ceiling)",
                "annual": "Calendar years (the first includes the base half-year's actuals)",
                "bridge": f"EV/Sales bridge on {y}E sales: the tool vs the note's target prices",
                "sensitivity": f"Target price over EV/Sales multiple x {y}E sales change",
                "pnl": "P&L per calendar year (years whose four quarters are modelled)",
                "pnl_by_quarter": "P&L, cash and DCF per quarter",
                "cash": "Cash: FCF = EBITDA - capex paid at order; net cash from the end of "
                        f"{scenario.inputs.horizon.base}",
                "cohorts": "Depreciation of each purchase cohort (straight-line over its life)",
                "methods": "Target price by method and the blend weights",
                "dcf_sensitivity": "DCF target price over WACC x terminal growth",
                "inputs": "Dated inputs of the valuation (balances at the last balance sheet)",
                "equity_bridge": "Net cash from the last balance sheet to the valuation "
                                 "date",
                "backlog": "Revenue backlog disclosed by the vintage beside the model's "
                           "revenue after it (empty without backlog data)",
                "npv_bridge": "From the plan's NPV to the headline EV: plan rows sum to the "
                              "NPV, plan and valuation rows to the headline EV",
                "comps": "Comps known at the vintage: broker targets and their bases, "
                         "market multiples; chosen marks the multiple's source",
                "street": "Broker and consensus figures known at the vintage beside the "
                          "model's",
                "street_bridge": "The model's profit gap to each street source: revenue "
                                 "(volume x price), margin, opex and other"},
    )
