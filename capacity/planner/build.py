"""Assemble the purchase LP: variables, then every constraint family in order, then objective."""

from __future__ import annotations

import pulp

from capacity import lp
from capacity.errors import InputError
from capacity.planner.constraints import (
    add_access_constraints,
    add_budget_constraints,
    add_demand_constraints,
    add_fleet_balance,
    add_power_constraints,
)
from capacity.planner.data import PlanData
from capacity.planner.objective import OBJECTIVES, set_max_compute, set_min_cost
from capacity.planner.variables import Variables, add_variables


def build_problem(data: PlanData, objective: str = "min-cost", integer: bool = False
                  ) -> tuple[pulp.LpProblem, Variables]:
    """Build the purchase LP.

    Parameters
    ----------
    data
        Labelled inputs.
    objective
        ``min-cost`` (meet demand at least cost; shortfall penalised) or ``max-compute``
        (most effective EFLOPS-quarters within budget, power and access).
    integer
        Buy in whole lots of ``data.lot_units``.
    """
    if objective not in OBJECTIVES:
        raise InputError("objective", f"unknown objective {objective!r} (choose from "
                         f"{', '.join(OBJECTIVES)})")
    prob = lp.new_problem("capacity_plan", maximize=objective == "max-compute")
    v = add_variables(prob, data, integer=integer, with_shortfall=objective == "min-cost")
    add_fleet_balance(prob, data, v)
    add_demand_constraints(prob, data, v)
    add_access_constraints(prob, data, v)
    add_budget_constraints(prob, data, v)
    add_power_constraints(prob, data, v)
    if objective == "min-cost":
        set_min_cost(prob, data, v)
    else:
        set_max_compute(prob, data, v)
    return prob, v
