"""Thin layer over PuLP that works the same on PuLP 3.3 (Python 3.11) and PuLP 4.x.

Only the 4.0-style API that both support is used (``add_variable``, ``addConstraint``,
``get_constraint_by_name``, ``setObjective``). This module also owns solver choice, status checks
and reading duals, so that :mod:`capacity.calibration` and :mod:`capacity.planner` share one path.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

from capacity.errors import SolverError
from capacity.stops import deferred_stops

# PuLP imports highspy under a bare ``except:``, which would swallow a Ctrl-C arriving then and
# leave HiGHS marked unavailable: the stop waits until the import is done
with deferred_stops():
    import pulp

SOLVERS = ("highs", "cbc")

#: Numerical tolerance for "binding" (|slack| below it) and for zeroing solver noise.
BINDING_TOL = 1e-7


TIME_LIMIT_ENV = "CAPACITY_TIME_LIMIT_S"
"""Environment variable holding the solver time limit of this run (``--time-limit``), so that
spawned stress workers and Dask workers inherit it. [s]"""

MAX_TIME_LIMIT_S = 86_400.0
"""Largest solver time limit accepted. [s]"""


def set_time_limit(seconds: float | None) -> None:
    """Set (or clear, with None) the time limit of every solve in this process and its workers.

    Raises
    ------
    SolverError
        ``--time-limit: ...`` unless 0 < seconds <= :data:`MAX_TIME_LIMIT_S`.
    """
    if seconds is None:
        os.environ.pop(TIME_LIMIT_ENV, None)
        return
    if isinstance(seconds, bool) or not (0.0 < float(seconds) <= MAX_TIME_LIMIT_S):
        raise SolverError("--time-limit", f"must be a number of seconds in (0, "
                          f"{MAX_TIME_LIMIT_S:,.0f}], got {seconds!r}")
    os.environ[TIME_LIMIT_ENV] = repr(float(seconds))


def effective_time_limit_s(explicit: float | None = None) -> float | None:
    """The time limit for one solve: ``explicit`` if given, else the run's (``--time-limit``),
    else None (no limit). [s]"""
    if explicit is not None:
        return explicit
    raw = os.environ.get(TIME_LIMIT_ENV)
    return float(raw) if raw else None


@cache
def _silence_highs_banner() -> None:
    """HiGHS prints a banner to the C-level stdout on the first ``Highs()`` of a process.

    Create that first instance with fd 1 pointed at /dev/null so machine-readable output
    (``--format json``) stays clean.
    """
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a core dependency
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@cache
def _pulp_solvers() -> frozenset[str]:
    """PuLP's available solvers; looked up once per process (it searches PATH each call)."""
    return frozenset(pulp.listSolvers(onlyAvailable=True))


def available_solvers() -> list[str]:
    """Solvers usable here, by our names (``highs``, ``cbc``)."""
    names = _pulp_solvers()
    out = []
    if "HiGHS" in names:
        out.append("highs")
    if names & {"PULP_CBC_CMD", "COIN_CMD"}:
        out.append("cbc")
    return out


def make_solver(name: str = "highs", *, mip_gap: float | None = None,
                time_limit_s: float | None = None) -> Any:
    """A configured PuLP solver.

    Parameters
    ----------
    name
        ``highs`` (in-process, one thread) or ``cbc`` (where PuLP ships it).
    mip_gap
        Relative MIP gap for integer plans. [1]
    time_limit_s
        Time limit. [s]

    Raises
    ------
    SolverError
        When the solver is unknown or not available here.
    """
    time_limit_s = effective_time_limit_s(time_limit_s)
    if name not in SOLVERS:
        raise SolverError("solver", f"unknown solver {name!r} (choose from {', '.join(SOLVERS)})")
    if name not in available_solvers():
        raise SolverError("solver", f"solver {name!r} is not available with this PuLP "
                          f"{pulp.__version__} (available: {', '.join(available_solvers())})")
    if name == "highs":
        _silence_highs_banner()
        kwargs: dict[str, Any] = {"msg": False, "threads": 1, "output_flag": False,
                                  "log_to_console": False}
        if mip_gap is not None:
            kwargs["gapRel"] = mip_gap
        if time_limit_s is not None:
            kwargs["timeLimit"] = time_limit_s
        return pulp.HiGHS(**kwargs)
    kwargs = {"msg": False, "threads": 1}
    if mip_gap is not None:
        kwargs["gapRel"] = mip_gap
    if time_limit_s is not None:
        kwargs["timeLimit"] = time_limit_s
    if "COIN_CMD" in _pulp_solvers():
        return pulp.COIN_CMD(**kwargs)
    # PuLP 3.x bundles a CBC binary behind PULP_CBC_CMD and warns that 4.0 drops it; using it
    # here is deliberate ("CBC where PuLP provides it"), so that one warning is silenced.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PULP_CBC_CMD is deprecated",
                                category=DeprecationWarning)
        return pulp.PULP_CBC_CMD(**kwargs)


def new_problem(name: str, maximize: bool = False) -> pulp.LpProblem:
    """An empty problem."""
    return pulp.LpProblem(name, pulp.LpMaximize if maximize else pulp.LpMinimize)


def add_var(prob: pulp.LpProblem, name: str, low: float | None = 0.0, up: float | None = None,
            integer: bool = False) -> pulp.LpVariable:
    """Add one variable to ``prob``."""
    return prob.add_variable(name, lowBound=low, upBound=up,
                             cat=pulp.LpInteger if integer else pulp.LpContinuous)


def affine(pairs, constant: float = 0.0) -> pulp.LpAffineExpression:
    """Linear expression sum(coef * var) + constant from ``(var, coef)`` pairs.

    Duplicated variables are summed. Uses the fastest constructor each PuLP generation offers
    (3.x: ``LpAffineExpression(pairs)``; 4.x: ``lpSum_vars_coefs``).
    """
    acc: dict[Any, float] = {}
    order: list[Any] = []
    for var, coef in pairs:
        if coef == 0.0:
            continue
        if var.name in acc:
            acc[var.name] += coef
        else:
            acc[var.name] = coef
            order.append(var)
    clean = [(v, acc[v.name]) for v in order]
    if hasattr(pulp, "lpSum_vars_coefs"):
        expr = pulp.lpSum_vars_coefs(clean)
    else:
        expr = pulp.LpAffineExpression(clean)
    if constant:
        expr.addInPlace(float(constant))
    return expr


def add_constraint(prob: pulp.LpProblem, constraint: pulp.LpConstraint, name: str) -> None:
    """Add a named constraint."""
    prob.addConstraint(constraint, name)


def constraint_list(prob: pulp.LpProblem) -> list[pulp.LpConstraint]:
    """Every constraint of ``prob`` (PuLP 3.3 mapping or 4.x list)."""
    cons = prob.constraints
    return list(cons()) if callable(cons) else list(cons.values())


@dataclass(frozen=True)
class SolveOutcome:
    """Status and objective of one solve."""

    status: str
    """The solver's status, lower case: ``optimal`` (anything else raises)."""
    objective: float
    solver: str
    seconds: float


def _status_text(ret: Any) -> str:
    if isinstance(ret, int):
        return pulp.LpStatus.get(ret, "Undefined")
    status = getattr(ret, "status", None)
    text = getattr(status, "name", None) or (str(status) if status is not None else str(ret))
    text = "Not Solved" if text == "NotSolved" else text
    for word in ("Optimal", "Infeasible", "Unbounded", "Not Solved", "Undefined"):
        if word.lower() in text.lower():
            return word
    return text


def solve(prob: pulp.LpProblem, solver_name: str = "highs", *, what: str = "problem",
          mip_gap: float | None = None, time_limit_s: float | None = None) -> SolveOutcome:
    """Solve and insist on an optimal solution.

    Raises
    ------
    SolverError
        With one line saying what was solved and the status, when it is not optimal.
    """
    import time

    solver = make_solver(solver_name, mip_gap=mip_gap, time_limit_s=time_limit_s)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr) if solver_name == "cbc" else \
            contextlib.nullcontext():
        try:
            ret = prob.solve(solver)
        except pulp.PulpSolverError as exc:
            raise SolverError("solver", f"{solver_name} failed on {what}: {exc}") from None
    seconds = time.perf_counter() - t0
    status = _status_text(ret)
    optimal_solution = getattr(pulp, "LpSolutionOptimal", None)  # PuLP 3.x only
    if status == "Optimal" and optimal_solution is not None and getattr(
            prob, "sol_status", optimal_solution) not in (optimal_solution, None):
        # PuLP 3 reports a solve stopped by its time limit as 'Optimal' with a merely feasible
        # solution (PuLP 4 says TimeLimit); that is not an optimum
        status = "TimeLimit"
    if status != "Optimal":
        stopped = status.replace(" ", "").lower() == "timelimit"
        text = "time limit reached" if stopped else status.lower()
        hint = " (raise --time-limit)" if stopped else ""
        raise SolverError("solver", f"{what}: solver {solver_name} returned {text}, "
                          f"not optimal{hint}")
    obj = pulp.value(prob.objective)
    return SolveOutcome(status.lower(), float(obj or 0.0), solver_name, seconds)


def clean(x: float | None, tol: float = 1e-9) -> float:
    """Solver value with noise below ``tol`` (and -0.0) set to 0.0."""
    if x is None:
        return 0.0
    return 0.0 if abs(x) < tol else float(x)
