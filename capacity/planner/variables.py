"""Decision variables of the purchase LP, labelled by (chip, quarter) and (workload, quarter)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pulp

from capacity import lp
from capacity.planner.data import WORKLOADS, PlanData


def tag(*parts: object) -> str:
    """Stable snake_case name part: ``tag("MLU370-X8", 2024Q1)`` -> ``MLU370_X8_2024Q1``."""
    return "_".join(str(p).replace("-", "_").replace(".", "_").replace(" ", "_") for p in parts)


@dataclass
class Variables:
    """The LP's variables.

    Attributes
    ----------
    buy
        Units of chip c delivered in quarter t: the variable, or lot x an integer variable with
        ``--integer`` (an expression either way). [units]
    raw
        The underlying PuLP variables, same keys as ``buy``.
    fleet
        New units of chip c in service in quarter t (bought in the plan, not yet retired), for
        every chip that can be bought, from its first delivery quarter on. [units]
    shortfall
        Unmet effective compute per workload and quarter. [EFLOPS]
    """

    buy: dict[tuple[str, pd.Period], pulp.LpAffineExpression]
    raw: dict[tuple[str, pd.Period], pulp.LpVariable]
    fleet: dict[tuple[str, pd.Period], pulp.LpVariable]
    shortfall: dict[tuple[str, pd.Period], pulp.LpVariable]
    fleet_by_period: dict[pd.Period, list[tuple[str, pulp.LpVariable]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        for (c, t), var in self.fleet.items():
            self.fleet_by_period.setdefault(t, []).append((c, var))


def add_variables(prob: pulp.LpProblem, data: PlanData, integer: bool = False,
                  with_shortfall: bool = True) -> Variables:
    """Create ``buy[c, t] >= 0`` for every buyable pair, ``fleet[c, t] >= 0`` for the new units
    in service, and ``shortfall[k, t] >= 0``.

    With ``integer``, ``buy[c, t] = lot_units * n[c, t]`` with ``n`` integer.
    """
    buy: dict[tuple[str, pd.Period], pulp.LpAffineExpression] = {}
    raw: dict[tuple[str, pd.Period], pulp.LpVariable] = {}
    first: dict[str, pd.Period] = {}
    for c, t in data.buyable():
        if integer:
            v = lp.add_var(prob, f"lots_{tag(c, t)}", integer=True)
            buy[c, t] = lp.affine([(v, float(data.lot_units))])
        else:
            v = lp.add_var(prob, f"buy_{tag(c, t)}")
            buy[c, t] = lp.affine([(v, 1.0)])
        raw[c, t] = v
        first.setdefault(c, t)
        first[c] = min(first[c], t)
    fleet: dict[tuple[str, pd.Period], pulp.LpVariable] = {}
    for c in data.chips:
        if c not in first:
            continue
        for t in data.periods:
            if t >= first[c]:
                fleet[c, t] = lp.add_var(prob, f"fleet_{tag(c, t)}")
    short: dict[tuple[str, pd.Period], pulp.LpVariable] = {}
    if with_shortfall:
        for k in WORKLOADS:
            for t in data.periods:
                short[k, t] = lp.add_var(prob, f"shortfall_{tag(k, t)}")
    return Variables(buy, raw, fleet, short)
