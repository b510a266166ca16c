"""Solve a :class:`~capacity.planner.model.Model` in HiGHS, in process, and re-solve it in place.

:func:`solve` passes the arrays to ``highspy`` (``passModel``), solves, and returns a
:class:`Solution` in model order. :class:`Resolver` keeps one live HiGHS model: each
:meth:`Resolver.solve` takes a model built by the same family functions from new numbers,
refuses one whose structure differs, pushes only the costs, bounds and coefficients that
changed, resets the basis to the template's optimal basis (so a result does not depend on what
was solved before it) and solves.

A maximisation is passed to HiGHS as the minimisation of the negated costs, so duals read the
same way for both objectives (and as PuLP's HiGHS interface reports them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capacity.errors import SolverError
from capacity.planner.model import Model

HIGHS_INF = 1e30
"""What HiGHS reads as infinite."""


@dataclass(frozen=True)
class Solution:
    """Primal and dual values of one solve, in model order.

    Attributes
    ----------
    x
        Column values.
    row_activity
        Row values ``A x`` (without the constants moved to the bounds).
    row_dual
        HiGHS row duals of the minimisation passed to it. [objective unit per row unit]
    objective
        Objective value including the model's constant, in the model's own sense.
    solver
        ``highs`` or ``cbc``.
    """

    x: np.ndarray
    row_activity: np.ndarray
    row_dual: np.ndarray
    objective: float
    solver: str = "highs"


def highs(time_limit_s: float | None = None):
    """A silent, single-thread, seeded ``Highs`` (banner kept off stdout), with the time limit
    given or the run's (``--time-limit``, :func:`capacity.lp.effective_time_limit_s`)."""
    import highspy

    from capacity.lp import _silence_highs_banner, effective_time_limit_s

    _silence_highs_banner()
    time_limit_s = effective_time_limit_s(time_limit_s)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    return h


def _clip(a: np.ndarray) -> np.ndarray:
    return np.clip(a, -HIGHS_INF, HIGHS_INF)


def _csc(model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise matrix without explicit zeros (start, index, value)."""
    nz = model.a_val != 0.0
    col, row, val = model.a_col[nz], model.a_row[nz], model.a_val[nz]
    order = np.lexsort((row, col))
    col, row, val = col[order], row[order], val[order]
    start = np.zeros(model.num_col + 1, np.int32)
    np.add.at(start, col + 1, 1)
    return np.cumsum(start).astype(np.int32), row.astype(np.int32), val.astype(float)


def pass_model(h, model: Model) -> None:
    """Load ``model`` into ``h``."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.num_col, model.num_row
    sign = -1.0 if model.maximize else 1.0
    lp.col_cost_ = sign * model.col_cost
    lp.col_lower_, lp.col_upper_ = _clip(model.col_lower), _clip(model.col_upper)
    lp.row_lower_, lp.row_upper_ = _clip(model.row_lower), _clip(model.row_upper)
    lp.offset_ = sign * model.offset
    start, index, value = _csc(model)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = model.num_col, model.num_row
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = start, index, value
    if model.integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else
                           highspy.HighsVarType.kContinuous for i in model.integer]
    h.passModel(lp)


def _run(h, model: Model, what: str, solver: str = "highs") -> Solution:
    import highspy

    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        hint = " (raise --time-limit)" if status == highspy.HighsModelStatus.kTimeLimit else ""
        raise SolverError("solver", f"{what}: solver {solver} returned "
                          f"{h.modelStatusToString(status).lower()}, not optimal{hint}")
    sol = h.getSolution()
    obj = float(h.getInfo().objective_function_value)
    return Solution(x=np.asarray(sol.col_value, float),
                    row_activity=np.asarray(sol.row_value, float),
                    row_dual=np.asarray(sol.row_dual, float) if sol.dual_valid else
                    np.zeros(model.num_row),
                    objective=-obj if model.maximize else obj)


def solve(model: Model, what: str = "purchase plan", time_limit_s: float | None = None
          ) -> Solution:
    """Solve ``model`` in a fresh HiGHS.

    Raises
    ------
    SolverError
        One line with what was solved and the status, when it is not optimal.
    """
    h = highs(time_limit_s)
    pass_model(h, model)
    return _run(h, model, what)


class Resolver:
    """A live HiGHS model re-solved in place with new numbers of the same structure.

    Parameters
    ----------
    template
        The model to load; its optimal basis is the start of every later solve.
    """

    def __init__(self, template: Model, time_limit_s: float | None = None) -> None:
        self.template = template
        self._structure = template.structure()
        self.h = highs(time_limit_s)
        pass_model(self.h, template)
        self._last = template
        self.template_solution = _run(self.h, template, "purchase plan (template)")
        self.basis = self.h.getBasis()

    def push(self, model: Model) -> None:
        """Push ``model``'s numbers where they differ from the last model pushed.

        Raises
        ------
        ValueError
            When ``model`` has another structure than the template.
        """
        if model.structure() != self._structure:
            raise ValueError("the model's structure (families, labels, coefficient pattern) "
                             "differs from the template; build a new Resolver")
        last, h = self._last, self.h
        sign = -1.0 if model.maximize else 1.0
        j = np.flatnonzero(model.col_cost != last.col_cost)
        if len(j):
            h.changeColsCost(len(j), j.astype(np.int32), sign * model.col_cost[j])
        j = np.flatnonzero((model.col_lower != last.col_lower)
                           | (model.col_upper != last.col_upper))
        if len(j):
            h.changeColsBounds(len(j), j.astype(np.int32), _clip(model.col_lower[j]),
                               _clip(model.col_upper[j]))
        i = np.flatnonzero((model.row_lower != last.row_lower)
                           | (model.row_upper != last.row_upper))
        if len(i):
            h.changeRowsBounds(len(i), i.astype(np.int32), _clip(model.row_lower[i]),
                               _clip(model.row_upper[i]))
        for k in np.flatnonzero(model.a_val != last.a_val).tolist():
            h.changeCoeff(int(model.a_row[k]), int(model.a_col[k]), float(model.a_val[k]))
        if model.offset != last.offset:
            h.changeObjectiveOffset(sign * model.offset)
        self._last = model

    def solve(self, model: Model, what: str = "purchase plan") -> Solution:
        """Push ``model`` (same structure) and solve from the template's basis."""
        self.push(model)
        self.h.setBasis(self.basis)
        return _run(self.h, model, what)
