"""The purchase LP as a PuLP problem, built from the same arrays HiGHS solves.

Used for ``--solver cbc``, ``--save-lp``/``--save-mps`` (written by :mod:`capacity.report`)
and the golden LP test that locks the formulation. Names come from the label tables
(:func:`~capacity.planner.model.column_names`, :func:`~capacity.planner.model.row_names`);
values are read back by position, never by parsing a name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capacity import lp
from capacity.lp import pulp  # PuLP is imported once, where a stop cannot be lost
from capacity.planner.model import Model, column_names, row_names
from capacity.planner.solve import Solution


@dataclass
class PulpModel:
    """A PuLP problem with its variables and constraints in model order."""

    problem: pulp.LpProblem
    variables: list[pulp.LpVariable]
    constraints: list[pulp.LpConstraint]


def to_pulp(model: Model) -> PulpModel:
    """The model as a :class:`pulp.LpProblem` (zeros dropped, constant in the objective)."""
    prob = lp.new_problem("capacity_plan", maximize=model.maximize)
    names = np.empty(model.num_col, dtype=object)
    for f in model.vars:
        names[model.columns_of(f.name)] = column_names(f, model.chips, model.periods)
    variables = [lp.add_var(prob, str(names[j]), low=None if not np.isfinite(lo) else float(lo),
                            up=None if not np.isfinite(up) else float(up),
                            integer=bool(model.integer[j]))
                 for j, (lo, up) in enumerate(zip(model.col_lower, model.col_upper,
                                                  strict=True))]
    nz = model.a_val != 0.0
    rows, cols, vals = model.a_row[nz], model.a_col[nz], model.a_val[nz]
    order = np.argsort(rows, kind="stable")
    rows, cols, vals = rows[order], cols[order], vals[order]
    bounds = np.searchsorted(rows, np.arange(model.num_row + 1))
    constraints = []
    rnames = [n for f in model.rows for n in row_names(f)]
    for i, name in enumerate(rnames):
        sl = slice(bounds[i], bounds[i + 1])
        expr = lp.affine([(variables[j], float(v)) for j, v in zip(cols[sl], vals[sl],
                                                                    strict=True)])
        lo, up = model.row_lower[i], model.row_upper[i]
        if lo == up:
            con = expr == float(lo)
        elif np.isfinite(up):
            con = expr <= float(up)
        else:
            con = expr >= float(lo)
        lp.add_constraint(prob, con, name)
        constraints.append(con)
    obj = lp.affine([(variables[j], float(c)) for j, c in enumerate(model.col_cost) if c != 0],
                    model.offset)
    prob.setObjective(obj)
    return PulpModel(prob, variables, constraints)


def solve_pulp(model: Model, solver: str, what: str = "purchase plan",
               time_limit_s: float | None = None) -> Solution:
    """Solve the PuLP export with ``solver`` (``cbc``) and read it back in model order.

    Row duals and reduced costs are PuLP's ``pi`` and ``dj``, which CBC reports for the
    problem in its own sense; a maximisation's are negated so that they read as those of the
    minimisation HiGHS is given (:class:`~capacity.planner.solve.Solution`).
    """
    pm = to_pulp(model)
    outcome = lp.solve(pm.problem, solver, what=what, time_limit_s=time_limit_s)
    x = np.array([v.value() or 0.0 for v in pm.variables], float)
    act = np.zeros(model.num_row)
    np.add.at(act, model.a_row, model.a_val * x[model.a_col])
    sign = -1.0 if model.maximize else 1.0
    pi = np.array([c.pi if c.pi is not None else 0.0 for c in pm.constraints], float)
    dj = np.array([v.dj if v.dj is not None else 0.0 for v in pm.variables], float)
    return Solution(x=x, row_activity=act, row_dual=sign * pi, objective=outcome.objective,
                    status=outcome.status, solver=solver, col_dual=sign * dj)
