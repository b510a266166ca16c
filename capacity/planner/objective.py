"""Objectives of the purchase LP."""

from __future__ import annotations

import pulp

from capacity import lp
from capacity.planner.constraints import effective_capacity, power_mw
from capacity.planner.data import PlanData
from capacity.planner.variables import Variables

OBJECTIVES = ("min-cost", "max-compute")


def capex_terms(data: PlanData, v: Variables) -> pulp.LpAffineExpression:
    """Discounted capex: sum_{c,t} buy[c, t] * price[c, t] * df(order quarter). [RMB m]"""
    terms = []
    for (c, t), expr in v.buy.items():
        k = float(data.price_rmb_m.at[t, c]) * data.discount(data.order_period(c, t))
        terms += [(var, k * coef) for var, coef in expr.items()]
    return lp.affine(terms)


def set_min_cost(prob: pulp.LpProblem, data: PlanData, v: Variables) -> None:
    """Minimise discounted capex + discounted power opex + penalty x shortfall. [RMB m]

        min sum_{c,t} df(t - L_c) * price[c, t] * buy[c, t]
            + sum_t df(t) * opex_per_mw * power_mw[t]
            + penalty * sum_t (w * shortfall[training, t] + shortfall[inference, t])
    """
    per_mw = data.opex_rmb_m_per_mw
    obj = capex_terms(data, v)
    for t in data.periods:
        obj.addInPlace(power_mw(data, v, t) * (data.discount(t) * per_mw))
    weight = {"training": data.training_shortfall_weight, "inference": 1.0}
    obj.addInPlace(lp.affine([(s, data.penalty_rmb_m_per_eflops * weight[k])
                              for (k, _t), s in v.shortfall.items()]))
    prob.sense = pulp.LpMinimize
    prob.setObjective(obj)


def set_max_compute(prob: pulp.LpProblem, data: PlanData, v: Variables) -> None:
    """Maximise delivered effective compute summed over quarters, tie-broken by cost.

        max sum_t cap[t] - 1e-6 * discounted capex       [EFLOPS-quarters]
    """
    obj = capex_terms(data, v) * -1e-6
    for t in data.periods:
        obj.addInPlace(effective_capacity(data, v, t))
    prob.sense = pulp.LpMaximize
    prob.setObjective(obj)
