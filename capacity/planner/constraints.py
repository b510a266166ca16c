"""Constraint families of the purchase LP: one function each, its equation in its docstring.

Names are stable snake_case, ``<family>_<chip>_<quarter>`` or ``<family>_<quarter>``, so a dual
can be read back by name. Sets: chips c, planned quarters t. Compute is effective EFLOPS:
units x peak_tflops x efficiency / 1e6. ``existing[c, t]`` (initial fleet and placed orders,
after retirements) enters as a constant.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pulp

from capacity import lp
from capacity.planner.data import PlanData
from capacity.planner.variables import Variables, tag


def existing_effective(data: PlanData, training_only: bool = False) -> pd.Series:
    """Effective EFLOPS of the existing fleet per quarter (training-fit chips only). [EFLOPS]"""
    return data.existing_fit_effective if training_only else data.existing_effective


def effective_capacity(data: PlanData, v: Variables, t: pd.Period, training_only: bool = False
                       ) -> pulp.LpAffineExpression:
    """Effective EFLOPS in service in ``t`` (existing + new), optionally training-fit chips only.

    cap[t] = sum_c (existing[c, t] + fleet[c, t]) * peak_tflops[c] * efficiency[c] / 1e6
    """
    k = data.effective_per_unit
    terms = [(var, float(k[c])) for c, var in v.fleet_by_period.get(t, ())
             if not training_only or bool(data.training_fit[c])]
    return lp.affine(terms, float(existing_effective(data, training_only)[t]))


def add_fleet_balance(prob: pulp.LpProblem, data: PlanData, v: Variables) -> None:
    """Fleet balance of new units (names ``fleet_balance_<chip>_<t>``).

        fleet[c, t] = fleet[c, t-1] + buy[c, t] - buy[c, t - life_c]

    so fleet[c, t] = sum of buy[c, tau] for t - life_c < tau <= t: units bought in the plan and
    not yet retired. (The existing fleet's retirements are in the constant existing[c, t].)
    """
    buy_terms: dict[tuple[str, pd.Period], list[tuple[pulp.LpVariable, float]]] = {}
    for (c, t), expr in v.buy.items():
        buy_terms[c, t] = list(expr.items())
    for (c, t), var in v.fleet.items():
        terms = [(var, 1.0)]
        prev = v.fleet.get((c, t - 1))
        if prev is not None:
            terms.append((prev, -1.0))
        terms += [(bv, -coef) for bv, coef in buy_terms.get((c, t), ())]
        life = int(data.life_quarters[c])
        terms += [(bv, coef) for bv, coef in buy_terms.get((c, t - life), ())]
        lp.add_constraint(prob, lp.affine(terms) == 0.0, f"fleet_balance_{tag(c, t)}")


def add_demand_constraints(prob: pulp.LpProblem, data: PlanData, v: Variables) -> None:
    """Demand, per quarter t (names ``training_demand_<t>``, ``total_demand_<t>``).

    Training runs only on training-fit chips; inference and leasing on any chip:

        cap_fit[t] + shortfall[training, t] >= D_training[t]
        cap[t] + shortfall[training, t] + shortfall[inference, t]
            >= D_training[t] + D_inference[t]

    Together these are exactly the condition for splitting capacity between the two classes.
    """
    if not v.shortfall:
        return
    for t in data.periods:
        d_train = float(data.demand_eflops.at[t, "training"])
        d_inf = float(data.demand_eflops.at[t, "inference"])
        lp.add_constraint(prob, effective_capacity(data, v, t, training_only=True)
                          + v.shortfall["training", t] >= d_train, f"training_demand_{t}")
        lp.add_constraint(prob, effective_capacity(data, v, t) + v.shortfall["training", t]
                          + v.shortfall["inference", t] >= d_train + d_inf, f"total_demand_{t}")


def add_access_constraints(prob: pulp.LpProblem, data: PlanData, v: Variables) -> None:
    """Export-control access and supply caps (names ``access_<chip>_<t>``).

        buy[c, t] <= cap_units[c, t]      for every buyable (c, t) with a finite cap

    A banned chip has cap 0, so the dual of its constraint is the value of lifting the ban by
    one unit in that quarter.
    """
    for (c, t), expr in v.buy.items():
        cap = data.cap_units.at[t, c]
        if pd.isna(cap):
            continue
        lp.add_constraint(prob, expr <= float(cap), f"access_{tag(c, t)}")


def order_spend(data: PlanData, v: Variables) -> dict[int, pulp.LpAffineExpression]:
    """Capex per calendar year of the order quarter. [RMB m]"""
    spend: dict[int, list[tuple[pulp.LpVariable, float]]] = {}
    for (c, t), expr in v.buy.items():
        year = data.order_period(c, t).year
        price = float(data.price_rmb_m.at[t, c])
        spend.setdefault(year, []).extend((var, price * coef) for var, coef in expr.items())
    return {y: lp.affine(terms) for y, terms in spend.items()}


def add_budget_constraints(prob: pulp.LpProblem, data: PlanData, v: Variables) -> None:
    """Capex budget per calendar year Y (names ``budget_<Y>``), paid at order.

        sum_{(c, t): order year = Y} buy[c, t] * price[c, t] <= B_Y
    With carry-over: sum_{Y' <= Y} spend[Y'] <= sum_{Y' <= Y} B_Y' for every budgeted Y.
    """
    if not data.budget_rmb_m:
        return
    spend = order_spend(data, v)
    for y in sorted(data.budget_rmb_m):
        if data.budget_carryover:
            lhs = pulp.lpSum(spend[yy] for yy in spend if yy <= y)
            rhs = sum(b for yy, b in data.budget_rmb_m.items() if yy <= y)
        else:
            lhs = spend.get(y, lp.affine([]))
            rhs = data.budget_rmb_m[y]
        lp.add_constraint(prob, lhs <= float(rhs), f"budget_{y}")


def existing_power_mw(data: PlanData, t: pd.Period) -> float:
    """Facility power of the existing fleet alone in ``t``. [MW]"""
    return float(data.existing_power[t])


def power_mw(data: PlanData, v: Variables, t: pd.Period) -> pulp.LpAffineExpression:
    """Facility power drawn in ``t``. [MW]  sum_c (existing + fleet)[c, t] * kw[c] / 1000"""
    terms = [(var, float(data.power_kw[c]) / 1000.0) for c, var in v.fleet_by_period.get(t, ())]
    return lp.affine(terms, existing_power_mw(data, t))


def add_power_constraints(prob: pulp.LpProblem, data: PlanData, v: Variables) -> None:
    """Data-centre power per quarter (names ``power_<t>``).

        sum_c installed[c, t] * tdp_w[c] * overhead * PUE / 1e6 <= MW[t]

    Where the existing fleet alone already exceeds MW[t], the limit is raised to the existing
    draw (no new units can be added) and a note says so, rather than failing.
    """
    if data.power_mw is None:
        return
    for t in data.periods:
        mw = data.power_mw.get(t, math.nan)
        if pd.isna(mw) or not np.isfinite(mw):
            continue
        rhs = max(float(mw), existing_power_mw(data, t))
        lp.add_constraint(prob, power_mw(data, v, t) <= rhs, f"power_{t}")
