"""capacity: AI compute capacity planner.

Models a GPU fleet by chip and quarter, US export controls as dated rules, compute demand from
training runs and inference, a purchase LP under access, budget and power limits, and the link
from capacity to revenue and valuation. First subject: SenseTime's SenseCore.

Every name below loads on first use (PEP 562 ``__getattr__``): ``import capacity`` costs no
pandas, pydantic or solver, so ``capacity --version`` and ``--help`` start fast.
"""

from __future__ import annotations

import sys as _sys
import types as _types
import typing as _typing

if _typing.TYPE_CHECKING:  # names for annotations only (never loaded at run time)
    from typing import Any

    from capacity.compare import CompareResult
    from capacity.planner import Plan
    from capacity.results import Report
    from capacity.scenarios import Scenario

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

_ERRORS = frozenset({"CapacityError", "InputError", "SolverError", "UnknownNameError"})
_SCENARIOS = frozenset({"Scenario", "load_scenario"})


def __getattr__(name: str):
    """Load a public name on first use and keep it (PEP 562)."""
    if name in _ERRORS:
        from capacity import errors

        value = getattr(errors, name)
    elif name in _SCENARIOS:
        from capacity import scenarios

        value = getattr(scenarios, name)
    elif name == "__version__":
        from capacity._version import __version__ as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)


# --------------------------------------------------------------------------------------------
# Python API for notebooks: names or Scenario objects in, result objects of DataFrames out
# --------------------------------------------------------------------------------------------


def _scenario(scenario: Scenario | str | None, set_values: dict[str, Any] | None) -> Scenario:
    from capacity.errors import InputError
    from capacity.scenarios import Scenario, load_scenario

    if isinstance(scenario, Scenario):
        if set_values:
            raise InputError("set_values", "pass set_values to load_scenario, not with a "
                             "loaded Scenario")
        return scenario
    return load_scenario(scenario, set_values=set_values)


def plan(scenario: Scenario | str | None = None, *, set_values: dict[str, Any] | None = None,
         solver: str = "highs", integer: bool = False, objective: str = "min-cost") -> Plan:
    """Solve the purchase LP for a scenario (name, file or :class:`Scenario`).

    Parameters
    ----------
    scenario
        A loaded scenario, a shipped name or a TOML file; None for ``history``.
    set_values
        Overrides by dotted key (``{"planner.pue": 1.4}``), with a name or file only.
    solver
        ``highs`` (default) or ``cbc``.
    integer
        Buy whole servers (``planner.lot_units`` GPUs).
    objective
        ``min-cost`` or ``max-compute``.

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

    Parameters
    ----------
    scenario, set_values, solver
        As for :func:`plan`.

    Returns
    -------
    capacity.results.Report
        ``.scalars["target_price_hkd"]`` and ``.tables`` (``revenue``, ``annual``, ``bridge``,
        ``sensitivity``).
    """
    from capacity.run import value_report

    return value_report(_scenario(scenario, set_values), solver=solver)


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


class _Package(_types.ModuleType):
    """This package's module type: ``capacity.compare`` stays the function above.

    Loading the submodule :mod:`capacity.compare` sets the package attribute of the same name to
    the module (the import system's ``setattr``). The function was kept before by importing the
    submodule eagerly, which would cost pandas at start-up; this refuses that one assignment.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "compare" and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
