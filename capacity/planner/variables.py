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
    """The LP's variables and the expressions derived from them.

    Attributes
    ----------
    buy
        Units of chip c delivered in quarter t (an expression: the variable, or lot x an integer
        variable with ``--integer``). [units]
    raw
        The underlying PuLP variables, same keys as ``buy``.
    shortfall
        Unmet effective compute per workload and quarter. [EFLOPS]
    """

    buy: dict[tuple[str, pd.Period], pulp.LpAffineExpression]
    raw: dict[tuple[str, pd.Period], pulp.LpVariable]
    shortfall: dict[tuple[str, pd.Period], pulp.LpVariable]
    by_chip: dict[str, list[tuple[pd.Period, pulp.LpAffineExpression]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        for (c, t), expr in self.buy.items():
            self.by_chip.setdefault(c, []).append((t, expr))

    def installed(self, data: PlanData, chip: str, t: pd.Period) -> pulp.LpAffineExpression:
        """New units of ``chip`` in service in ``t``: bought in (t - life, t]. [units]"""
        life = int(data.life_quarters[chip])
        return pulp.lpSum(expr for tau, expr in self.by_chip.get(chip, ())
                          if t - life < tau <= t)


def add_variables(prob: pulp.LpProblem, data: PlanData, integer: bool = False,
                  with_shortfall: bool = True) -> Variables:
    """Create ``buy[c, t] >= 0`` for every buyable pair and ``shortfall[k, t] >= 0``.

    With ``integer``, ``buy[c, t] = lot_units * n[c, t]`` with ``n`` integer.
    """
    buy: dict[tuple[str, pd.Period], pulp.LpAffineExpression] = {}
    raw: dict[tuple[str, pd.Period], pulp.LpVariable] = {}
    for c, t in data.buyable():
        if integer:
            v = lp.add_var(prob, f"lots_{tag(c, t)}", integer=True)
            buy[c, t] = data.lot_units * v
        else:
            v = lp.add_var(prob, f"buy_{tag(c, t)}")
            buy[c, t] = 1 * v
        raw[c, t] = v
    short: dict[tuple[str, pd.Period], pulp.LpVariable] = {}
    if with_shortfall:
        for k in WORKLOADS:
            for t in data.periods:
                short[k, t] = lp.add_var(prob, f"shortfall_{tag(k, t)}")
    return Variables(buy, raw, short)
