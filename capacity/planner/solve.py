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

import threading
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
        Row duals of the minimisation passed to HiGHS (a maximisation's negated costs): the
        change of that minimised objective per unit increase of the row's bound.
        [objective unit per row unit]
    objective
        Objective value including the model's constant, in the model's own sense.
    status
        The solver's model status, lower case (``optimal``; HiGHS's
        ``modelStatusToString``, PuLP's status for CBC).
    solver
        ``highs`` or ``cbc``.
    col_dual
        Reduced costs of the columns in the same convention, ``c - A^T row_dual`` with ``c``
        the minimised costs (zeros where the solver reports none).
        [objective unit per column unit]
    """

    x: np.ndarray
    row_activity: np.ndarray
    row_dual: np.ndarray
    objective: float
    status: str
    solver: str = "highs"
    col_dual: np.ndarray | None = None


@dataclass(frozen=True)
class RowRanging:
    """HiGHS ranging of the row bounds at an optimal basis, per row.

    Attributes
    ----------
    up_value, dn_value
        How far the row's active bound can move up or down with the basis staying optimal.
        [row unit]
    up_objective, dn_objective
        The minimised objective there. [objective unit]
    """

    up_value: np.ndarray
    up_objective: np.ndarray
    dn_value: np.ndarray
    dn_objective: np.ndarray


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
    """Column-wise matrix without explicit zeros (start, index, value), rows ascending within
    each column."""
    nz = model.a_val != 0.0
    col, row, val = model.a_col[nz], model.a_row[nz], model.a_val[nz]
    order = np.argsort(col * max(model.num_row, 1) + row, kind="stable")
    start = np.zeros(model.num_col + 1, np.int32)
    np.cumsum(np.bincount(col, minlength=model.num_col), out=start[1:])
    return start, row[order].astype(np.int32), val[order].astype(float)


def pass_model(h, model: Model) -> None:
    """Load ``model`` into ``h`` (one call with the arrays: no per-element conversion)."""
    import highspy

    sign = -1.0 if model.maximize else 1.0
    start, index, value = _csc(model)
    h.passModel(model.num_col, model.num_row, len(value),
                int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize),
                float(sign * model.offset), sign * model.col_cost,
                _clip(model.col_lower), _clip(model.col_upper),
                _clip(model.row_lower), _clip(model.row_upper), start, index, value,
                model.integer.astype(np.int32))


def _read(h, model: Model) -> Solution:
    """The solution HiGHS holds, in model order."""
    sol = h.getSolution()
    obj = float(h.getInfo().objective_function_value)
    return Solution(x=np.asarray(sol.col_value, float),
                    row_activity=np.asarray(sol.row_value, float),
                    row_dual=np.asarray(sol.row_dual, float) if sol.dual_valid else
                    np.zeros(model.num_row),
                    objective=-obj if model.maximize else obj,
                    status=h.modelStatusToString(h.getModelStatus()).lower(),
                    col_dual=np.asarray(sol.col_dual, float) if sol.dual_valid else
                    np.zeros(model.num_col))


def _optimal(h) -> bool:
    import highspy

    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _run(h, model: Model, what: str, solver: str = "highs") -> Solution:
    import highspy

    h.run()
    if not _optimal(h):
        status = h.getModelStatus()
        hint = " (raise --time-limit)" if status == highspy.HighsModelStatus.kTimeLimit else ""
        raise SolverError("solver", f"{what}: solver {solver} returned "
                          f"{h.modelStatusToString(status).lower()}, not optimal{hint}")
    return _read(h, model)


def solve(model: Model, what: str = "purchase plan", time_limit_s: float | None = None
          ) -> Solution:
    """Solve ``model`` in a fresh HiGHS.

    Raises
    ------
    SolverError
        One line with what was solved and the status, when it is not optimal.
    """
    h = _thread_highs(time_limit_s)
    # whole lots: without presolve HiGHS closes the 1e-4 gap in half the time on the shipped
    # scenarios (1.2 s against 2.5 s over all 16; benchmarks/plan.py), to answers within the
    # same gap
    h.setOptionValue("presolve", "off" if model.integer.any() else "choose")
    pass_model(h, model)
    return _run(h, model, what)


_THREAD = threading.local()


def _thread_highs(time_limit_s: float | None = None):
    """This thread's ``Highs`` for one-off solves (:func:`highs`), made once and reused.

    ``passModel`` clears the previous model, basis and solution, so a solve depends on its
    model alone (tests/test_planner.py checks the bytes); the time limit is set for
    every solve. Reuse saves creating an instance (and its first allocations) per solve."""
    from capacity.lp import effective_time_limit_s

    h = getattr(_THREAD, "highs", None)
    if h is None:
        h = _THREAD.highs = highs()
    limit = effective_time_limit_s(time_limit_s)
    h.setOptionValue("time_limit", float("inf") if limit is None else float(limit))
    return h


class Resolver:
    """A live HiGHS model re-solved in place with new numbers of the same structure.

    Parameters
    ----------
    template
        The model to load; its optimal basis is the start of every later solve.
    time_limit_s
        Solver time limit of every solve. [s]
    what
        What the template is, for the error when it is not optimal.
    """

    def __init__(self, template: Model, time_limit_s: float | None = None,
                 what: str = "purchase plan (template)") -> None:
        self.template = template
        self._structure = template.structure()
        self.h = highs(time_limit_s)
        pass_model(self.h, template)
        self._last = template
        self.template_solution = _run(self.h, template, what)
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
        """Push ``model`` (same structure) and solve from the template's basis.

        The solver's internal state (factorisation, pricing weights, scaling of an earlier
        matrix) is cleared first, so the solution depends on ``model`` alone, not on the
        models solved before it (same bytes for any batch split or worker count)."""
        self.push(model)
        self.h.clearSolver()
        self.h.setBasis(self.basis)
        return _run(self.h, model, what)

    def probe_row_bounds(self, row: int, lower: float, upper: float, from_template: bool = True
                         ) -> tuple[float, float] | None:
        """Solve the last model pushed with one row's bounds replaced, then put them back.

        In place on the live model, from the template's basis, or with ``from_template``
        false from whatever basis the model holds (the last probe's: no refactorisation,
        so a probe of a large model costs a few simplex iterations; its optimal objective is
        the same, its duals may differ at a degenerate vertex).

        Returns
        -------
        (objective in the model's sense, that row's dual) or None
            None when the moved model is not solved to optimality (a bound moved past what
            the other rows and the column bounds allow is infeasible).
        """
        last, h = self._last, self.h
        h.changeRowBounds(int(row), float(_clip(np.float64(lower))),
                          float(_clip(np.float64(upper))))
        try:
            if from_template:
                h.setBasis(self.basis)
            h.run()
            if not _optimal(h):
                return None
            obj = float(h.getInfo().objective_function_value)
            dual = float(h.getSolution().row_dual[int(row)])
            return (-obj if last.maximize else obj), dual
        finally:
            h.changeRowBounds(int(row), float(_clip(last.row_lower[row])),
                              float(_clip(last.row_upper[row])))

    def ranging(self) -> RowRanging:
        """HiGHS's row-bound ranging of the last model pushed, solved from the template's
        basis (see :class:`RowRanging`)."""
        h = self.h
        h.setBasis(self.basis)
        h.run()
        if not _optimal(h):
            raise SolverError("solver", "ranging: the model is not solved to optimality")
        status, rng = h.getRanging()
        if not rng.valid:
            raise SolverError("solver", f"ranging: HiGHS returned {status}")
        up, dn = rng.row_bound_up, rng.row_bound_dn
        return RowRanging(np.asarray(up.value_, float), np.asarray(up.objective_, float),
                          np.asarray(dn.value_, float), np.asarray(dn.objective_, float))
