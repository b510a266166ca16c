"""Objectives of the purchase LP: a cost per column of each variable family, and a constant.

Each objective is one function of the plan's numbers and the variable families that returns
``({family: cost per column}, constant)``; :mod:`.model` places the costs in column order.
"""

from __future__ import annotations

import numpy as np

from capacity.planner.data import WORKLOADS, PlanArrays, discount_factor
from capacity.planner.variables import VarFamily

OBJECTIVES = ("min-cost", "max-compute")

MAX_COMPUTE_COST_WEIGHT = 1e-6
"""Tie-break weight of discounted capex in ``max-compute``. [EFLOPS-quarters per RMB m]"""


def discounted_unit_price(a: PlanArrays, buy: VarFamily) -> np.ndarray:
    """Price of one buy column at order, discounted to the first planned period. [RMB m]

        price[c, t] x df(t - L_c) x scale
    """
    df = discount_factor(buy.t - a.lead_quarters[buy.c], a.discount_rate_annual,
                         a.periods_per_year)
    return a.price_rmb_m[buy.t, buy.c] * df * buy.scale


def power_cost(a: PlanArrays, fleet: VarFamily) -> tuple[np.ndarray, float]:
    """Discounted power opex of one new unit in service in t, and of the existing fleet.

        df(t) x opex_per_mw x kw[c] / 1000 [RMB m/unit];  sum_t df(t) x opex_per_mw x
        existing_mw[t] [RMB m]
    """
    df = discount_factor(np.arange(len(a.periods)), a.discount_rate_annual, a.periods_per_year)
    per_mw = a.opex_rmb_m_per_mw
    unit = a.power_kw[fleet.c] / 1000.0 * (df[fleet.t] * per_mw)
    return unit, float(np.sum(a.existing_power_mw * (df * per_mw)))


def min_cost(a: PlanArrays, fams: dict[str, VarFamily]) -> tuple[dict[str, np.ndarray], float]:
    """Minimise discounted capex + discounted power opex + penalty x shortfall. [RMB m]

        min sum_{c,t} df(t - L_c) price[c, t] buy[c, t]
            + sum_t df(t) opex_per_mw power_mw[t]
            + penalty sum_t (w shortfall[training, t] + shortfall[inference, t])
    """
    fleet_cost, const = power_cost(a, fams["fleet"])
    weight = np.array([a.training_shortfall_weight if k == "training" else 1.0
                       for k in WORKLOADS])
    short = fams["shortfall"]
    return ({"buy": discounted_unit_price(a, fams["buy"]), "fleet": fleet_cost,
             "shortfall": a.penalty_rmb_m_per_eflops * weight[short.c]}, const)


def max_compute(a: PlanArrays, fams: dict[str, VarFamily]
                ) -> tuple[dict[str, np.ndarray], float]:
    """Maximise delivered effective compute summed over quarters, tie-broken by cost.

        max sum_t cap[t] - 1e-6 x discounted capex       [EFLOPS-quarters]

    with cap[t] = sum_c k[c] (existing[c, t] + fleet[c, t]).
    """
    fleet = fams["fleet"]
    const = float(a.existing_effective.sum())
    return ({"buy": -MAX_COMPUTE_COST_WEIGHT * discounted_unit_price(a, fams["buy"]),
             "fleet": a.effective_per_unit[fleet.c]}, const)


OBJECTIVE_FUNCTIONS = {"min-cost": min_cost, "max-compute": max_compute}
"""Objective name -> its function; ``max-compute`` is a maximisation."""
