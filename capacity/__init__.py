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

    from capacity.api import Result
    from capacity.scenarios import Scenario

__all__ = [
    "CapacityError",
    "InputError",
    "Result",
    "Scenario",
    "SolverError",
    "UnknownNameError",
    "__version__",
    "backtest",
    "calibrate",
    "compare",
    "controls",
    "demand",
    "load_scenario",
    "plan",
    "stress",
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
    elif name == "Result":
        from capacity.api import Result as value
    elif name == "__version__":
        from capacity._version import __version__ as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


# --------------------------------------------------------------------------------------------
# Python API for notebooks: names or Scenario objects in, one Result type out
#
# Every function returns a capacity.Result: .tables (DataFrames, units in column names and in
# df.attrs["unit"], numeric columns with numeric dtypes, periods as pandas Periods: select by
# text with result.select("mix", period="2023Q2")), .scalars, .to_json(), .to_excel(path) and
# a notebook display. Tables are also attributes (result.quarters).
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


def _result(report, scenarios, parts=None, detail=None) -> Result:
    from capacity.api import Result

    return Result.of(report, scenarios, parts, detail)


def calibrate(scenario: Scenario | str | None = None, *,
              set_values: dict[str, Any] | None = None, solver: str = "highs") -> Result:
    """The chip mix consistent with every disclosed GPU count and EFLOPS figure.

    Parameters
    ----------
    scenario
        A loaded scenario, a shipped name or a TOML file; None for ``history``.
    set_values
        Overrides by dotted key (``{"planner.pue": 1.4}``), with a name or file only.
    solver
        ``highs`` (default) or ``cbc``.

    Returns
    -------
    Result
        Tables ``dates`` (disclosed vs fitted), ``mix`` (units per chip and date: central, min,
        max), ``orders``; as ``capacity calibrate``.
    """
    from capacity.commands import calibration_report

    sc = _scenario(scenario, set_values)
    return _result(calibration_report(sc, solver=solver), [sc])


def demand(scenario: Scenario | str | None = None, *,
           set_values: dict[str, Any] | None = None, solver: str = "highs") -> Result:
    """Token stock and effective EFLOPS demand per quarter (tables ``quarters``, ``runs``);
    arguments as for :func:`calibrate`."""
    from capacity.commands import demand_report

    sc = _scenario(scenario, set_values)
    return _result(demand_report(sc, solver=solver), [sc])


def controls(scenario: Scenario | str | None = None, *,
             set_values: dict[str, Any] | None = None, at: str | None = None,
             timeline: bool = False, start: str | None = None, end: str | None = None
             ) -> Result:
    """Export-control status of every chip in quarter ``at`` (tables ``chips``, ``rules``), or
    with ``timeline=True`` a chip x quarter matrix over ``start``..``end`` (``timeline``,
    ``availability``, ``rules``); as ``capacity controls``."""
    from capacity.commands import controls_report

    sc = _scenario(scenario, set_values)
    return _result(controls_report(sc, at=at, timeline=timeline, start=start, end=end), [sc])


def plan(scenario: Scenario | str | None = None, *, set_values: dict[str, Any] | None = None,
         solver: str = "highs", integer: bool = True, objective: str = "npv") -> Result:
    """Solve the purchase LP for a scenario (name, file or :class:`Scenario`).

    Parameters
    ----------
    scenario, set_values, solver
        As for :func:`calibrate`.
    integer
        Buy whole servers (``planner.lot_units`` GPUs), the default; False for fractional
        GPUs (the continuous relaxation, whose shadow prices the plan reports either way).
    objective
        ``npv`` or ``max-compute``.

    Returns
    -------
    Result
        Tables ``quarters``, ``purchases``, ``binding``, ``fleet`` (also as attributes:
        ``result.quarters``), scalars as ``capacity plan --format json``; ``result.detail`` is
        the :class:`capacity.planner.Plan`.
    """
    from capacity.run import plan_report

    sc = _scenario(scenario, set_values)
    result, report = plan_report(sc, solver=solver, integer=integer, objective=objective)
    return _result(report, [sc], detail=result)


def value(scenario: Scenario | str | None = None, *, set_values: dict[str, Any] | None = None,
          solver: str = "highs") -> Result:
    """Capacity -> GenAI revenue -> EV/Sales target price for a scenario.

    Returns
    -------
    Result
        ``.scalars["target_price_hkd"]`` and tables ``revenue``, ``annual``, ``bridge``,
        ``sensitivity``.
    """
    from capacity.run import value_report

    sc = _scenario(scenario, set_values)
    return _result(value_report(sc, solver=solver), [sc])


def compare(*scenarios: Scenario | str, solver: str = "highs") -> Result:
    """Plan and value several scenarios side by side; the first is the reference.

    Accepts names, files or :class:`Scenario` objects (or one list of them).

    Returns
    -------
    Result
        Tables ``kpis`` (one row per numeric KPI, one float column per scenario and
        ``<s>_vs_<first>`` differences), ``kpis_text``, ``scenarios``, ``binding``,
        ``changes``; ``.plans``, ``.values`` and ``.names`` from the
        :class:`capacity.compare.CompareResult` in ``.detail``; ``.reports`` every report.
    """
    from capacity.compare import compare as _compare

    items: list[Any] = list(scenarios)
    if len(items) == 1 and isinstance(items[0], list | tuple):
        items = list(items[0])
    loaded = [_scenario(s, None) for s in items]
    res = _compare(loaded, solver=solver)
    return _result(res.report, loaded, parts=res.reports[1:], detail=res)


def stress(scenario: Scenario | str | None = None, *, samples: int = 200, seed: int = 0,
           thresholds: list[str] | None = None, executor: str = "inline", workers: int = 1,
           set_values: dict[str, Any] | None = None, solver: str = "highs") -> Result:
    """Monte Carlo stress test over the scenario's uncertain inputs (tables ``percentiles``,
    ``thresholds``, ``binding_frequency``, ``tornado``, ``inputs``, ``fan``); as ``capacity
    stress`` (same seed, same result for any executor)."""
    from capacity.commands import stress_report
    from capacity.schemas import check_stress_request

    check_stress_request(samples, seed, workers)
    sc = _scenario(scenario, set_values)
    return _result(stress_report(sc, samples, seed, thresholds, executor, workers,
                                 solver=solver), [sc])


def backtest(actuals: str, scenario: Scenario | str | None = None, *,
             set_values: dict[str, Any] | None = None, solver: str = "highs") -> Result:
    """Forecast against later disclosures in the CSV ``actuals`` (tables ``rows``,
    ``summary``, ``paths``); as ``capacity backtest --actuals``. ``actuals="rolling"``: every
    vintage against every later disclosure (tables ``rows``, ``summary``, ``reference``), as
    ``capacity backtest --rolling``."""
    from capacity.commands import backtest_report, rolling_backtest_report

    if actuals == "rolling":
        from capacity.errors import InputError

        if scenario is not None and not isinstance(scenario, str):
            raise InputError("scenario", "a rolling backtest loads the scenario at each "
                             "vintage: pass its name, not a loaded Scenario")
        return _result(rolling_backtest_report(scenario, solver=solver, sets=set_values), [])
    sc = _scenario(scenario, set_values)
    return _result(backtest_report(sc, actuals, solver=solver), [sc])


_SUBMODULE_CALLS = ("backtest", "calibrate", "compare", "controls", "demand", "stress")
"""API functions named like a submodule (``capacity.demand`` is also a module)."""

_CALLS = {name: globals().pop(name) for name in _SUBMODULE_CALLS}


class _CallableModule(_types.ModuleType):
    """A submodule that is also its API function: ``capacity.demand("history")`` runs
    :func:`demand` above, while ``from capacity import demand as dm; dm.demand_table`` is the
    module as before (so internal imports, monkeypatching and ``isinstance(dm, ModuleType)`` are
    unchanged)."""

    def __call__(self, *args, **kwargs):
        return _CALLS[self.__name__.rsplit(".", 1)[1]](*args, **kwargs)


def _callable_submodule(name: str, module: _types.ModuleType) -> _types.ModuleType:
    if type(module) is _types.ModuleType:
        module.__class__ = _CallableModule
    elif not isinstance(module, _CallableModule):  # a package module with its own type
        raise TypeError(f"capacity.{name} cannot be made callable")
    return module


class _Package(_types.ModuleType):
    """This package's module type: when the import system binds a submodule named like an API
    function (``capacity.compare``, ``capacity.demand``, ...) to this package, the module becomes
    callable as that function (:class:`_CallableModule`). Binding it lazily here, rather than
    importing the submodules eagerly, keeps pandas out of start-up."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _CALLS and isinstance(value, _types.ModuleType):
            value = _callable_submodule(name, value)
        super().__setattr__(name, value)

    def __getattr__(self, name: str):
        if name in _CALLS:
            import importlib

            importlib.import_module(f"{__name__}.{name}")  # binds it through __setattr__
            return self.__dict__[name]
        return __getattr__(name)


_sys.modules[__name__].__class__ = _Package
