"""capacity: AI compute capacity planner.

Models a GPU fleet by chip and quarter, US export controls as dated rules, compute demand from
training runs and inference, a purchase LP under access, budget and power limits, and the link
from capacity to revenue and valuation. First subject: SenseTime's SenseCore.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capacity")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"

from typing import TYPE_CHECKING, Any

from capacity.errors import CapacityError, InputError, SolverError, UnknownNameError
from capacity.scenarios import Scenario, load_scenario

if TYPE_CHECKING:
    from capacity.compare import CompareResult
    from capacity.planner import Plan
    from capacity.results import Report

__all__ = [
    "CapacityError",
    "InputError",
    "Scenario",
    "SolverError",
    "UnknownNameError",
    "__version__",
    "compare",
    "load_scenario",
    "plan",
    "value",
]


# --------------------------------------------------------------------------------------------
# Python API for notebooks: names or Scenario objects in, result objects of DataFrames out
# --------------------------------------------------------------------------------------------


def _scenario(scenario: Scenario | str | None, set_values: dict[str, Any] | None) -> Scenario:
    if isinstance(scenario, Scenario):
        if set_values:
            raise InputError("set_values", "pass set_values to load_scenario, not with a "
                             "loaded Scenario")
        return scenario
    return load_scenario(scenario, set_values=set_values)


def plan(scenario: Scenario | str | None = None, *, set_values: dict[str, Any] | None = None,
         solver: str = "highs", integer: bool = False, objective: str = "min-cost") -> Plan:
    """Solve the purchase LP for a scenario (name, file or :class:`Scenario`).

    Returns
    -------
    capacity.planner.Plan
        ``.quarters``, ``.purchases``, ``.fleet``, ``.binding``: DataFrames with units in their
        column names (``peak_eflops``, ``capex_rmb_m``, ...).
    """
    from capacity.planner import plan as _plan

    return _plan(_scenario(scenario, set_values), solver=solver, integer=integer,
                 objective=objective)


def value(scenario: Scenario | str | None = None, *, set_values: dict[str, Any] | None = None,
          solver: str = "highs") -> Report:
    """Capacity -> GenAI revenue -> EV/Sales target price for a scenario.

    Returns
    -------
    capacity.results.Report
        ``.scalars["target_price_hkd"]`` and ``.tables`` (``revenue``, ``annual``, ``bridge``,
        ``sensitivity``).
    """
    from capacity.run import value_report

    return value_report(_scenario(scenario, set_values), solver=solver)


# Load the submodule now: importing a submodule sets it as an attribute of the package, which
# would otherwise replace the ``compare`` function below on first ``import capacity.compare``.
import capacity.compare  # noqa: E402, F401


def compare(*scenarios: Scenario | str, solver: str = "highs") -> CompareResult:
    """Plan and value several scenarios side by side; the first is the reference.

    Accepts names, files or :class:`Scenario` objects (or one list of them).

    Returns
    -------
    capacity.compare.CompareResult
        ``.kpis`` (one row per KPI, one column per scenario, ``<s>_vs_<first>`` differences),
        ``.plans``, ``.values``, ``.reports``.
    """
    from capacity.compare import compare as _compare

    items: list[Any] = list(scenarios)
    if len(items) == 1 and isinstance(items[0], list | tuple):
        items = list(items[0])
    return _compare([_scenario(s, None) for s in items], solver=solver)

