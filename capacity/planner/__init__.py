"""Purchase planner: a linear program that buys GPUs under export controls, budget and power.

``plan(scenario)`` gathers the numbers (:mod:`.data`), builds the LP once as labelled arrays
(:mod:`.model`: variable families, one function per constraint family, objective), solves it in
process with HiGHS (:mod:`.solve`) or through its PuLP export with CBC (:mod:`.export`) and reads
the solution back into labelled tables with the shadow price of every binding limit
(:mod:`.results`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from capacity.planner.data import PlanData, plan_data_from_scenario
from capacity.planner.duals import purchase_value, set_keys
from capacity.planner.model import Model, build_model
from capacity.planner.objective import OBJECTIVES
from capacity.planner.results import UNIT_TOL, Plan, binding_table, extract
from capacity.planner.solve import Resolver, Solution, solve

__all__ = ["OBJECTIVES", "Model", "Plan", "PlanData", "PlanInputs", "build_model", "gather",
           "plan", "plan_data", "solve_data", "solve_model"]


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
        Demand per planned quarter (:func:`capacity.compute_demand.demand_table`).
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
    from capacity.inputs import (
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


def solve_model(model: Model, solver: str = "highs", what: str = "purchase plan",
                time_limit_s: float | None = None) -> Solution:
    """Solve ``model`` with HiGHS in process, or its PuLP export with ``cbc``."""
    if solver == "highs":
        return solve(model, what, time_limit_s)
    from capacity.planner.export import solve_pulp

    return solve_pulp(model, solver, what, time_limit_s)


def solve_data(data: PlanData, solver: str = "highs", integer: bool = False,
               objective: str = "npv", ref_price_m: pd.Series | None = None,
               time_limit_s: float | None = None) -> Plan:
    """Build, solve and read back one plan from prepared numbers.

    The continuous LP is always solved first: it carries the economics (shadow prices of the
    binding limits, each verified by re-solving it, and the value of one more unit of each
    chip), which a MIP does not have. With ``integer`` (:func:`plan`'s default) purchases are
    whole lots of ``planner.lot_units`` GPUs: the MIP is solved and every quantity of the plan
    (purchases, fleet, work served, NPV) is the MIP's, while the binding and purchase-value
    tables stay those of the relaxation. The relaxation's objective bounds the MIP's, so
    ``extra["integrality_gap"]`` = (relaxed - whole) / |relaxed| is a proven bound on what
    whole lots cost against fractional GPUs.
    """
    from capacity import lp

    lp.make_solver(solver)  # refuse an unknown or unavailable solver in one line
    t0 = time.perf_counter()
    model = build_model(data, objective, integer)
    relaxed = replace(model, integer=np.zeros_like(model.integer)) if integer else model
    t1 = time.perf_counter()
    # In process, the LP is solved on a live HiGHS model that the shadow-price checks then
    # re-solve in place; the MIP and CBC are solved once.
    resolver = None
    if solver == "highs":
        resolver = Resolver(relaxed, time_limit_s, "purchase plan")
        lp_sol = resolver.template_solution
    else:
        lp_sol = solve_model(relaxed, solver, "purchase plan", time_limit_s)
    sol = solve_model(model, solver, "purchase plan (whole lots)", time_limit_s) if integer \
        else lp_sol
    t2 = time.perf_counter()
    binding = binding_table(relaxed, lp_sol, resolver)
    value = purchase_value(relaxed, lp_sol.x, lp_sol.row_dual, UNIT_TOL)
    result = extract(model, data, sol, ref_price_m, binding, value)
    t3 = time.perf_counter()
    result.timings = {"build_s": t1 - t0, "solve_s": t2 - t1, "read_s": t3 - t2}
    result.extra["n_variables"] = model.num_col
    result.extra["n_constraints"] = model.num_row
    result.extra["integer"] = bool(integer)
    result.extra["lot_units"] = int(data.lot_units) if integer else None
    result.extra["relaxed_objective"] = float(lp_sol.objective)
    result.extra["integrality_gap"] = (float((lp_sol.objective - sol.objective)
                                             / abs(lp_sol.objective))
                                       if integer and lp_sol.objective else 0.0)
    # Constant part of the objective (power opex of the existing fleet); LP/MPS files omit it.
    result.extra["objective_constant"] = float(model.offset)
    result.extra["model"] = model
    result.extra["solution"] = sol
    # the LP the economics were read from (the relaxation of ``model`` with whole lots)
    result.extra["lp_model"] = relaxed
    result.extra["lp_solution"] = lp_sol
    return result


def _explain_unmet_training(result: Plan, scenario, gathered: PlanInputs) -> None:
    """Add one note per planned training run left partly unmet, with the reason
    (:func:`capacity.planner.results.unmet_training`), and the table as
    ``result.extra["unmet_training"]``."""
    from capacity.compute_demand import runs_table
    from capacity.planner.results import unmet_training

    if not scenario.inputs.demand.runs:
        return
    runs = runs_table(scenario, gathered.fleet_history["effective_eflops"])
    table = unmet_training(result.quarters, result.binding, runs, gathered.data)
    result.extra["unmet_training"] = table
    result.kpis["unmet_training_runs"] = len(table)
    for r in table.itertuples(index=False):
        result.notes.append(f"training run {r.run} ({r.start}-{r.end}): "
                            f"{r.unmet_eflops_quarters:.2f} of {r.demand_eflops_quarters:.2f} "
                            f"EFLOPS-quarters unmet ({r.unmet_share:.0%}) {r.reason}")


def plan(scenario, solver: str = "highs", integer: bool = True, objective: str = "npv",
         time_limit_s: float | None = None) -> Plan:
    """Plan GPU purchases for a scenario.

    Parameters
    ----------
    scenario
        Validated scenario.
    solver
        ``highs`` (default, in-process, one thread) or ``cbc``.
    integer
        Buy whole lots (``planner.lot_units`` GPUs), the default; False plans fractional
        GPUs (the continuous relaxation). Shadow prices are the relaxation's either way
        (:func:`solve_data`).
    objective
        ``npv`` or ``max-compute``.
    time_limit_s
        Solver time limit [s]; a solve that stops at it is an error.

    Returns
    -------
    Plan
    """
    from capacity.chips import price_rmb

    t0 = time.perf_counter()
    gathered = gather(scenario, solver)
    t1 = time.perf_counter()
    ref = price_rmb(scenario.catalog, scenario.inputs.planner.fx_usd,
                    scenario.inputs.planner.price_usd) / 1e6
    result = solve_data(gathered.data, solver, integer, objective, ref, time_limit_s)
    result.binding["set_key"] = set_keys(result.binding, scenario, gathered.availability)
    _explain_unmet_training(result, scenario, gathered)
    result.timings = {"inputs_s": t1 - t0, **result.timings}
    result.inputs = gathered
    return result
