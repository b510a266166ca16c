"""Read a solved purchase LP back into tidy, labelled tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from capacity import lp
from capacity.chips import TFLOPS_PER_EFLOPS
from capacity.planner.data import PlanData
from capacity.planner.model import Model
from capacity.planner.solve import Solution

#: Constraints and the unit of one unit of their right-hand side.
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


def binding_table(model: Model, sol: Solution) -> pd.DataFrame:
    """Binding limits and their shadow prices, by row label.

    ``shadow_price`` is the objective gain from relaxing the limit by one unit of its right-hand
    side (one more unit of access, MW, RMB m of budget, or one less EFLOPS of demand), so it is
    >= 0 for a binding limit. Min-cost: in RMB (present value) per unit, except access, reported
    per unit in RMB (not RMB m). Max-compute: in effective EFLOPS-quarters per unit.

    A row binds when its dual is non-zero and its slack (distance of ``A x`` to the bound it
    sits on) is within 1e-6 of max(1, |bound|). Fleet-balance rows are identities, not limits.
    """
    from capacity.planner.model import row_names

    maximize = model.maximize
    out_rows = []
    for fam in model.rows:
        if fam.name == "fleet_balance":
            continue
        r0 = model.row_start[fam.name]
        idx = np.arange(r0, r0 + len(fam))
        pi = sol.row_dual[idx]
        act = sol.row_activity[idx]
        lo, up = model.row_lower[idx], model.row_upper[idx]
        equality = lo == up
        is_le = ~equality & np.isfinite(up)
        rhs = np.where(is_le | equality, up, lo)
        slack = np.where(is_le, up - act, act - lo)
        tight = (np.abs(pi) >= 1e-9) & (np.abs(slack) <= 1e-6 * np.maximum(1.0, np.abs(rhs)))
        names = row_names(fam)
        for i in np.flatnonzero(tight):
            value = pi[i] if is_le[i] == maximize else -pi[i]
            if equality[i]:
                value = abs(pi[i])
            con = str(fam.labels["constraint"].iat[i])
            if maximize:
                unit = f"EFLOPS-quarters per {FAMILIES.get(con, 'unit')}"
            elif con == "access":
                value *= 1e6
                unit = "RMB per unit"
            elif con == "budget":
                unit = "RMB per RMB"
            else:
                unit = f"RMB m per {FAMILIES.get(con, 'unit')}"
            lab = fam.labels.iloc[i]
            period = str(lab["period"]) if "period" in lab else str(lab["year"])
            out_rows.append({"constraint": con, "period": period,
                             "chip": str(lab["chip"]) if "chip" in lab else "",
                             "shadow_price": lp.clean(value), "unit": unit,
                             "name": names[i]})
    out = pd.DataFrame(out_rows, columns=["constraint", "period", "chip", "shadow_price", "unit",
                                          "name"])
    return out.sort_values(["constraint", "period", "chip"], kind="stable").reset_index(drop=True)


def extract(model: Model, data: PlanData, sol: Solution, ref_price_rmb_m: pd.Series | None = None,
            binding: pd.DataFrame | None = None) -> Plan:
    """Tables of a solved plan; every figure recomputed from the column values."""
    objective = model.objective
    buy_fam = model.family("buy")
    buy_units = sol.x[model.columns_of("buy")] * buy_fam.scale
    periods = data.periods
    chips = data.chips
    new = pd.DataFrame(0.0, index=periods, columns=chips)
    dep = pd.Series(0.0, index=periods)
    rows = []
    for c, t, x in zip(buy_fam.labels["chip"], buy_fam.labels["period"], buy_units,
                       strict=True):
        units = lp.clean(float(x), UNIT_TOL)
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
    if objective == "min-cost":
        short = sol.x[model.cols.shortfall]  # (T, 2): training, inference
        q["training_shortfall_eflops"] = [lp.clean(x) for x in short[:, 0]]
        q["inference_shortfall_eflops"] = [lp.clean(x) for x in short[:, 1]]
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
    return Plan(status="optimal", objective=sol.objective, objective_name=objective,
                solver=sol.solver, quarters=q, purchases=purchases, fleet=fleet,
                binding=binding if binding is not None else binding_table(model, sol),
                notes=notes)
