"""Purchase planner: a linear program that buys GPUs under export controls, budget and power.

``plan(scenario)`` gathers the numbers (:mod:`.data`), builds the LP (:mod:`.build`: variables,
one function per constraint family, objective), solves it with HiGHS or CBC and reads the
solution back into labelled tables with the shadow price of every binding limit
(:mod:`.results`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import pulp

from capacity import lp
from capacity.planner.build import build_problem
from capacity.planner.data import PlanData, plan_data_from_scenario
from capacity.planner.objective import OBJECTIVES
from capacity.planner.results import Plan, binding_table, extract

__all__ = ["OBJECTIVES", "Plan", "PlanData", "PlanInputs", "build_problem", "gather", "plan",
           "plan_data", "solve_data"]


@dataclass(frozen=True)
class PlanInputs:
    """Everything gathered from a scenario before the LP: its numbers and where they came from.

    Attributes
    ----------
    data
        The LP's numbers.
    existing_units
        Existing fleet (initial + placed orders) per planned quarter and chip. [units]
    fleet_history
        Existing fleet's GPUs and peak/effective EFLOPS from the first disclosure date on.
    demand
        Demand per planned quarter (:func:`capacity.demand.demand_table`).
    availability
        Export-control availability per quarter and chip (None without rules).
    """

    data: PlanData
    existing_units: pd.DataFrame
    fleet_history: pd.DataFrame
    demand: pd.DataFrame
    availability: pd.DataFrame | None


def gather(scenario, solver: str = "highs") -> PlanInputs:
    """Gather the LP's inputs from a scenario: existing fleet, demand, access, prices.

    Calibration runs once (and is cached across calls on the same inputs).
    """
    from capacity.fleet import installed_units
    from capacity.pipeline import (
        existing_cohorts,
        existing_fleet_eflops,
        run_calibration,
        scenario_availability,
        scenario_demand,
    )

    cal = run_calibration(scenario, solver) if scenario.inputs.fleet.initial == "calibrated" \
        else None
    periods = scenario.inputs.horizon.periods
    existing = installed_units(existing_cohorts(scenario, cal, solver), periods,
                               list(scenario.catalog.index))
    fleet_hist = existing_fleet_eflops(scenario, cal, solver)
    demand = scenario_demand(scenario, fleet_hist["effective_eflops"])
    availability = scenario_availability(scenario)
    data = plan_data_from_scenario(scenario, existing, demand, availability)
    return PlanInputs(data, existing, fleet_hist, demand, availability)


def plan_data(scenario, solver: str = "highs") -> PlanData:
    """The LP's numbers for a scenario (see :func:`gather`)."""
    return gather(scenario, solver).data


def solve_data(data: PlanData, solver: str = "highs", integer: bool = False,
               objective: str = "min-cost", ref_price_rmb_m: pd.Series | None = None,
               save_lp: str | None = None, save_mps: str | None = None) -> Plan:
    """Build, solve and read back one LP from prepared numbers.

    With ``integer``, the MIP is solved, then the lot counts are fixed and the LP re-solved to
    read shadow prices.
    """
    t0 = time.perf_counter()
    prob, v = build_problem(data, objective, integer)
    t1 = time.perf_counter()
    if save_lp:
        prob.writeLP(save_lp)
    if save_mps:
        prob.writeMPS(save_mps)
    outcome = lp.solve(prob, solver, what="purchase plan", mip_gap=1e-6 if integer else None)
    t2 = time.perf_counter()
    binding = None
    if integer:
        for var in v.raw.values():
            val = round(var.value() or 0.0)
            var.lowBound = val
            var.upBound = val
            var.cat = pulp.LpContinuous
        lp.solve(prob, solver, what="purchase plan (fixed lots, for duals)")
        binding = binding_table(prob, data, objective)
    result = extract(prob, data, v, objective, outcome, ref_price_rmb_m, binding)
    result.timings = {"build_s": t1 - t0, "solve_s": t2 - t1}
    result.extra["n_variables"] = len(prob.variables())
    result.extra["n_constraints"] = len(lp.constraint_list(prob))
    # Constant part of the objective (power opex of the existing fleet); LP/MPS files omit it.
    result.extra["objective_constant"] = float(prob.objective.constant)
    return result


def plan(scenario, solver: str = "highs", integer: bool = False, objective: str = "min-cost",
         save_lp: str | None = None, save_mps: str | None = None) -> Plan:
    """Plan GPU purchases for a scenario.

    Parameters
    ----------
    scenario
        Validated scenario.
    solver
        ``highs`` (default, in-process, one thread) or ``cbc``.
    integer
        Buy whole lots (``planner.lot_units`` GPUs).
    objective
        ``min-cost`` or ``max-compute``.
    save_lp, save_mps
        Paths to write the model to (written by PuLP; the CLI passes temporary names).

    Returns
    -------
    Plan
    """
    from capacity.chips import price_rmb

    t0 = time.perf_counter()
    gathered = gather(scenario, solver)
    t1 = time.perf_counter()
    ref = price_rmb(scenario.catalog, scenario.inputs.planner.usd_rmb,
                    scenario.inputs.planner.price_usd) / 1e6
    result = solve_data(gathered.data, solver, integer, objective, ref, save_lp, save_mps)
    result.timings = {"inputs_s": t1 - t0, **result.timings}
    result.inputs = gathered
    return result
