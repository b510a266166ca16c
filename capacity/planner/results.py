"""Read a solved purchase LP back into tidy, labelled tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pulp

from capacity import lp
from capacity.chips import TFLOPS_PER_EFLOPS
from capacity.planner.data import PlanData
from capacity.planner.variables import Variables, tag

#: Constraint families and the unit of one unit of their right-hand side.
FAMILIES: dict[str, str] = {
    "fleet_balance": "unit",
    "training_demand": "EFLOPS",
    "total_demand": "EFLOPS",
    "access": "unit",
    "budget": "RMB m",
    "power": "MW",
}

UNIT_TOL = 1e-6
"""Purchases below this many units are treated as zero. [units]"""


@dataclass
class Plan:
    """A solved purchase plan.

    Attributes
    ----------
    status
        ``optimal``.
    objective
        Objective value: RMB m (min-cost, present value) or EFLOPS-quarters (max-compute).
    objective_name
        ``min-cost`` or ``max-compute``.
    quarters
        Per planned quarter: fleet, compute, demand, shortfall, capex, opex, power.
    purchases
        One row per (delivery quarter, chip) with units > 0.
    fleet
        Installed units per quarter and chip (existing, new, total).
    binding
        Every binding limit with a non-zero shadow price.
    notes
        Things the analyst should know (chips not planned, power already exceeded, ...).
    """

    status: str
    objective: float
    objective_name: str
    solver: str
    quarters: pd.DataFrame
    purchases: pd.DataFrame
    fleet: pd.DataFrame
    binding: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    inputs: Any = None
    """What :func:`capacity.planner.plan` gathered (``PlanInputs``: existing fleet history,
    demand, availability), so later steps reuse it instead of recomputing; None from
    ``solve_data`` alone."""


def _parse_name(name: str, data: PlanData) -> tuple[str, str, str]:
    """``access_H20_2025Q2`` -> (``access``, ``2025Q2``, ``H20``)."""
    chips_by_tag = {tag(c): c for c in data.chips}
    for fam in sorted(FAMILIES, key=len, reverse=True):
        if name.startswith(fam + "_"):
            rest = name[len(fam) + 1:]
            if fam in ("access", "fleet_balance"):
                chip_tag, period = rest.rsplit("_", 1)
                return fam, period, chips_by_tag.get(chip_tag, chip_tag)
            return fam, rest, ""
    return name, "", ""


def binding_table(prob: pulp.LpProblem, data: PlanData, objective: str) -> pd.DataFrame:
    """Binding limits and their shadow prices.

    ``shadow_price`` is the objective gain from relaxing the limit by one unit of its right-hand
    side (one more unit of access, MW, RMB m of budget, or one less EFLOPS of demand), so it is
    >= 0 for a binding limit. Min-cost: in RMB (present value) per unit, except access, reported
    per unit in RMB (not RMB m). Max-compute: in effective EFLOPS-quarters per unit.
    """
    rows = []
    maximize = objective == "max-compute"
    for con in lp.constraint_list(prob):
        pi = con.pi
        if pi is None or abs(pi) < 1e-9:
            continue
        slack = con.slack if con.slack is not None else 0.0
        if abs(slack) > 1e-6 * max(1.0, abs(con.constant or 0.0)):
            continue
        fam, period, chip = _parse_name(con.name, data)
        if fam == "fleet_balance":  # bookkeeping identity, not a limit
            continue
        sense = con.sense  # -1: <=, 1: >=, 0: ==
        value = pi if (sense <= 0) == maximize else -pi
        if sense == 0:
            value = abs(pi)
        unit_rhs = FAMILIES.get(fam, "unit")
        if maximize:
            unit = f"EFLOPS-quarters per {unit_rhs}"
        elif fam == "access":
            value *= 1e6
            unit = "RMB per unit"
        elif fam == "budget":
            unit = "RMB per RMB"
        else:
            unit = f"RMB m per {unit_rhs}"
        rows.append({"constraint": fam, "period": period, "chip": chip,
                     "shadow_price": lp.clean(value), "unit": unit, "name": con.name})
    out = pd.DataFrame(rows, columns=["constraint", "period", "chip", "shadow_price", "unit",
                                      "name"])
    return out.sort_values(["constraint", "period", "chip"], kind="stable").reset_index(drop=True)


def extract(prob: pulp.LpProblem, data: PlanData, v: Variables, objective: str,
            outcome: lp.SolveOutcome, ref_price_rmb_m: pd.Series | None = None,
            binding: pd.DataFrame | None = None) -> Plan:
    """Tables of a solved plan; every figure recomputed from the variable values."""
    periods = data.periods
    chips = data.chips
    new = pd.DataFrame(0.0, index=periods, columns=chips)
    dep = pd.Series(0.0, index=periods)
    rows = []
    for (c, t), expr in v.buy.items():
        units = lp.clean(pulp.value(expr), UNIT_TOL)
        if units <= 0:
            continue
        price = float(data.price_rmb_m.at[t, c])
        rows.append({
            "period": t, "order_period": data.order_period(c, t), "chip": c, "units": units,
            "price_rmb_m_per_unit": price, "capex_rmb_m": units * price,
            "status": "" if data.status is None else str(data.status.at[t, c]),
            "rule": "" if data.rule is None else str(data.rule.at[t, c]),
        })
        life = int(data.life_quarters[c])
        alive = (periods >= t) & (periods < t + life)
        new.loc[alive, c] += units
        dep[alive] += units * price / life  # straight-line over the service life
    purchases = pd.DataFrame(rows, columns=["period", "order_period", "chip", "units",
                                            "price_rmb_m_per_unit", "capex_rmb_m", "status",
                                            "rule"])
    existing = data.existing_units
    total = existing + new
    fleet = pd.DataFrame({
        "existing_units": existing.stack(),
        "new_units": new.stack(),
        "units": total.stack(),
    })
    fleet.index.names = ["period", "chip"]
    fleet = fleet[fleet["units"] > UNIT_TOL].reset_index()

    k_eff = data.effective_per_unit
    fit = data.training_fit.astype(float)
    q = pd.DataFrame(index=periods)
    q["gpus_units"] = total.sum(axis=1)
    q["new_units"] = new.sum(axis=1)
    q["peak_eflops"] = (total * data.peak_tflops).sum(axis=1) / TFLOPS_PER_EFLOPS
    q["effective_eflops"] = (total * k_eff).sum(axis=1)
    q["training_fit_eflops"] = (total * k_eff * fit).sum(axis=1)
    q["training_demand_eflops"] = data.demand_eflops["training"]
    q["inference_demand_eflops"] = data.demand_eflops["inference"]
    q["demand_eflops"] = q["training_demand_eflops"] + q["inference_demand_eflops"]
    if v.shortfall:
        q["training_shortfall_eflops"] = [lp.clean(v.shortfall["training", t].value())
                                          for t in periods]
        q["inference_shortfall_eflops"] = [lp.clean(v.shortfall["inference", t].value())
                                           for t in periods]
    else:  # max-compute: shortfall is what the plan leaves unmet
        ts = (q["training_demand_eflops"] - q["training_fit_eflops"]).clip(lower=0)
        q["training_shortfall_eflops"] = ts
        q["inference_shortfall_eflops"] = (q["demand_eflops"] - ts - q["effective_eflops"]
                                           ).clip(lower=0)
    q["shortfall_eflops"] = q["training_shortfall_eflops"] + q["inference_shortfall_eflops"]
    capex = pd.Series(0.0, index=periods)
    if len(purchases):
        by_order = purchases.groupby("order_period")["capex_rmb_m"].sum()
        capex = by_order.reindex(periods, fill_value=0.0)
    q["capex_rmb_m"] = capex
    q["power_mw"] = (total * data.power_kw).sum(axis=1) / 1000.0
    q["power_limit_mw"] = data.power_mw.reindex(periods) if data.power_mw is not None \
        else np.nan
    q["opex_rmb_m"] = q["power_mw"] * data.opex_rmb_m_per_mw
    if ref_price_rmb_m is not None:
        per_q = (ref_price_rmb_m.reindex(chips).fillna(0.0)
                 / data.life_quarters.reindex(chips))
        dep = dep + (existing * per_q).sum(axis=1)
    q["depreciation_rmb_m"] = dep
    q.index.name = "period"

    notes = list(data.notes)
    if data.power_mw is not None:
        for t in periods:
            mw = data.power_mw.get(t, np.nan)
            if not pd.isna(mw) and data.existing_power[t] > mw + 1e-9:
                notes.append(f"{t}: existing fleet draws {data.existing_power[t]:.1f} MW, "
                             f"above the {mw:.1f} MW limit; no new units fit")
    return Plan(status=outcome.status, objective=outcome.objective, objective_name=objective,
                solver=outcome.solver, quarters=q, purchases=purchases, fleet=fleet,
                binding=binding if binding is not None else binding_table(prob, data, objective),
                notes=notes)
