"""One scenario end to end: the purchase plan, then the finance link that values what it serves.

``plan_report`` and ``value_report`` are what ``capacity plan`` and ``capacity value`` report;
``compare`` and ``backtest`` call them for each scenario.
"""

from __future__ import annotations

import pandas as pd

from capacity.inputs import existing_fleet_eflops
from capacity.results import Report
from capacity.scenarios import Scenario


def plan_report(scenario: Scenario, solver: str = "highs", integer: bool = False,
                objective: str = "min-cost", save_lp: str | None = None,
                save_mps: str | None = None):
    """``capacity plan``: solve the purchase LP; returns (Plan, Report)."""
    from capacity.planner import plan

    result = plan(scenario, solver=solver, integer=integer, objective=objective)
    if save_lp or save_mps:
        from capacity.planner.export import to_pulp

        prob = to_pulp(result.extra["model"]).problem
        if save_lp:
            prob.writeLP(save_lp)
        if save_mps:
            prob.writeMPS(save_mps)
    unit = "RMB m (present value)" if objective == "min-cost" else "EFLOPS-quarters"
    scalars = {
        "scenario": scenario.name, "as_of": scenario.as_of.isoformat(),
        "status": result.status,
        "objective": objective,
        "solver": result.solver,
        "integer": integer,
        ("objective_rmb_m" if objective == "min-cost" else "objective_eflops_quarters"):
            result.objective,
        "objective_unit": unit,
        "objective_constant_rmb_m" if objective == "min-cost" else
        "objective_constant_eflops_quarters": result.extra.get("objective_constant", 0.0),
        "total_capex_rmb_m": float(result.quarters["capex_rmb_m"].sum()),
        "total_shortfall_eflops_quarters": float(result.quarters["shortfall_eflops"].sum()),
        "n_variables": result.extra.get("n_variables"),
        "n_constraints": result.extra.get("n_constraints"),
        "notes": list(result.notes),
        "changes": [c.as_record() for c in scenario.changes],
    }
    binding = result.binding.drop(columns=["name"])
    report = Report(
        "plan", scalars=scalars,
        tables={"quarters": result.quarters, "purchases": result.purchases,
                "binding": binding, "fleet": result.fleet,
                "purchase_value": result.purchase_value},
        primary="quarters",
        titles={"quarters": "Fleet, compute, demand and cost per quarter",
                "purchases": "Purchases by delivery quarter",
                "binding": "Binding limits and their shadow prices, verified on both sides "
                           "(price of the side quoted, per unit of the limit)",
                "fleet": "Installed units by chip",
                "purchase_value": "Net value of one more unit of each chip and delivery "
                                  "quarter, and its parts (per unit bought; 0 for a chip "
                                  "bought, below 0 for one not)"})
    return result, report


def finance_capacity(scenario: Scenario, solver: str = "highs", plan_result=None
                     ) -> tuple[pd.DataFrame, str]:
    """Per-quarter capacity the finance link values: the purchase plan's quarters.

    The single call site between the planner and the finance link.

    Returns
    -------
    tuple
        (``Plan.quarters`` over the planned quarters, a label of where they came from)
    """
    if plan_result is None:
        from capacity.planner import plan

        plan_result = plan(scenario, solver=solver)
    return plan_result.quarters, "plan (min-cost purchases)"


def value_report(scenario: Scenario, solver: str = "highs", plan_result=None) -> Report:
    """``capacity value``: capacity -> GenAI revenue -> total revenue -> EV/Sales target price.

    GenAI revenue is the demand-side forecast capped by what the planned fleet can serve
    (:mod:`capacity.finance`); the 2024E sales feed the note's EV/Sales bridge, shown beside the
    sales the note's HK$1.75 (and old HK$2.85) imply at the same multiple, net cash, shares, FX.
    """
    from capacity import finance
    from capacity.demand import genai_revenue_forecast, inference_yield_rmb_m_per_eflops_quarter

    fin = scenario.inputs.finance
    anchors = finance.anchors_from_disclosures(scenario.disclosures)
    periods = scenario.inputs.horizon.periods
    if plan_result is None:
        from capacity.planner import plan

        plan_result = plan(scenario, solver=solver)
    quarters, source = finance_capacity(scenario, solver, plan_result)
    quarters = quarters.reindex(periods)
    fleet = plan_result.inputs.fleet_history if plan_result.inputs is not None else \
        existing_fleet_eflops(scenario, solver=solver)
    yield0 = inference_yield_rmb_m_per_eflops_quarter(scenario, fleet["effective_eflops"])
    yields = finance.yield_path(yield0, scenario.inputs.demand.inference.yield_change_annual,
                                periods, scenario.inputs.horizon.base)
    demand = genai_revenue_forecast(scenario, periods)
    res = finance.finance_result(quarters, demand, yields, fin, anchors)
    y, ty = fin.valuation_year, anchors.target_year
    val = res.valuation
    annual = res.annual
    scalars = {
        "scenario": scenario.name, "as_of": scenario.as_of.isoformat(),
        "capacity_source": source,
        "valuation_year": y,
        "target_price_hkd": val.target_price_hkd,
        "ev_rmb_m": val.ev_rmb_m,
        "equity_rmb_m": val.equity_rmb_m,
        f"sales_{y}e_rmb_m": val.sales_rmb_m,
        f"genai_sales_{y}e_rmb_m": float(annual.at[y, "genai_rmb_m"]),
        f"implied_sales_{y}e_rmb_m": res.implied_sales_rmb_m,
        f"implied_sales_{y}e_old_rmb_m": res.implied_sales_old_rmb_m,
        "note_target_price_hkd": anchors.target_price_hkd,
        "note_target_price_old_hkd": anchors.target_price_old_hkd,
        "multiple": val.multiple,
        "net_cash_rmb_m": val.net_cash_rmb_m,
        "shares_m": val.shares_m,
        "rmb_per_hkd": val.rmb_per_hkd,
        f"genai_share_{ty}": res.genai_share_target_year,
        "genai_share_target": anchors.genai_share_target,
        "genai_target_met": res.genai_target_met,
        f"gross_margin_{y}e": float(annual.at[y, "gross_margin"]),
        "genai_gross_margin": res.genai_gross_margin,
        "traditional_gross_margin": fin.traditional_gross_margin,
        "genai_yield_rmb_m_per_eflops_quarter": yield0,
        "capacity_bound_quarters": int(res.revenue["capacity_bound"].sum()),
    }
    return Report(
        "value",
        scalars=scalars,
        tables={"revenue": res.revenue, "annual": annual, "bridge": res.bridge,
                "sensitivity": res.sensitivity},
        primary="revenue",
        titles={"revenue": "Revenue per quarter: GenAI = min(demand, capacity ceiling)",
                "annual": "Calendar years (2023 includes the 1H23 actuals)",
                "bridge": f"EV/Sales bridge on {y}E sales: the tool vs the note's target prices",
                "sensitivity": f"Target price over EV/Sales multiple x {y}E sales change"},
    )
