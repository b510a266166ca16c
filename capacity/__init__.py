"""capacity: AI compute capacity planner.

Models a GPU fleet by chip and quarter, US export controls as dated rules, compute demand from
training runs and inference, a purchase LP under access, budget and power limits, and the link
from capacity to revenue and valuation. First subject: SenseTime's SenseCore.

Every name below loads on first use (PEP 562 ``__getattr__``): ``import capacity`` costs no
pandas, pydantic or solver, so ``capacity --version`` and ``--help`` start fast.
"""

from __future__ import annotations

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
        A loaded scenario, a shipped name or a TOML file; None for the subject's default
        scenario.
    set_values
        Overrides by dotted key (``{"planner.pue": 1.4}``), with a name or file only.
    solver
        ``highs`` (default) or ``cbc``.

    Returns
    -------
    Result
        Tables ``dates`` (disclosed vs fitted), ``mix`` (units per chip and date: central, min,
        max), ``orders``; as ``capacity calibrate``.

    Examples
    --------
    >>> cal = capacity.calibrate("history")                      # doctest: +SKIP
    >>> cal.select("mix", period="2023Q2")                        # doctest: +SKIP
    """
    from capacity.commands import calibration_report

    sc = _scenario(scenario, set_values)
    return _result(calibration_report(sc, solver=solver), [sc])


def demand(scenario: Scenario | str | None = None, *,
           set_values: dict[str, Any] | None = None, solver: str = "highs") -> Result:
    """Token stock and effective-EFLOPS demand per quarter.

    Parameters
    ----------
    scenario, set_values, solver
        As for :func:`calibrate`.

    Returns
    -------
    Result
        Tables ``quarters`` (training, inference and leasing demand [EFLOPS], tokens [tn]) and
        ``runs`` (each training run's FLOP and EFLOPS); as ``capacity demand``.

    Examples
    --------
    >>> capacity.demand("baseline").quarters                      # doctest: +SKIP
    """
    from capacity.commands import demand_report

    sc = _scenario(scenario, set_values)
    return _result(demand_report(sc, solver=solver), [sc])


def controls(scenario: Scenario | str | None = None, *,
             set_values: dict[str, Any] | None = None, at: str | None = None,
             timeline: bool = False, start: str | None = None, end: str | None = None
             ) -> Result:
    """Export-control status of every chip in a quarter, or over a span of quarters.

    Parameters
    ----------
    scenario, set_values
        As for :func:`calibrate`.
    at
        The quarter (``"2026Q3"``); None for the quarter after the base period.
    timeline
        True for a chip x quarter matrix over ``start`` .. ``end`` instead of one quarter.
    start, end
        The span of the timeline (quarters); None for the planned quarters (the base
        period + 1 to the horizon's end).

    Returns
    -------
    Result
        Tables ``chips`` (status, licence price factor, cap per chip) and ``rules``; with
        ``timeline=True``, ``timeline``, ``availability`` and ``rules``; as ``capacity
        controls``.

    Examples
    --------
    >>> capacity.controls("h200-class-rule-2026", at="2026Q3").chips   # doctest: +SKIP
    """
    from capacity.commands import controls_report

    sc = _scenario(scenario, set_values)
    return _result(controls_report(sc, at=at, timeline=timeline, start=start, end=end), [sc])


def plan(scenario: Scenario | str | None = None, *, set_values: dict[str, Any] | None = None,
         solver: str = "highs", integer: bool = True, objective: str = "npv") -> Result:
    """Solve the purchase LP for a scenario.

    Maximises NPV [m of the subject's currency] = discounted revenue of served work − running
    costs − capex + residual, under access, budget, power, lead-time and rental limits (see
    ``docs/model.md``).

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

    Examples
    --------
    >>> p = capacity.plan("baseline")                             # doctest: +SKIP
    >>> p.scalars["npv_m"], p.binding.head()                  # doctest: +SKIP
    """
    from capacity.run import plan_report

    sc = _scenario(scenario, set_values)
    result, report = plan_report(sc, solver=solver, integer=integer, objective=objective)
    return _result(report, [sc], detail=result)


def value(scenario: Scenario | str | None = None, *, set_values: dict[str, Any] | None = None,
          solver: str = "highs") -> Result:
    """Capacity -> GenAI revenue -> P&L -> target price for a scenario.

    Parameters
    ----------
    scenario, set_values, solver
        As for :func:`calibrate`.

    Returns
    -------
    Result
        The target price in ``.scalars`` (as ``capacity value --format json``) and tables
        ``revenue``, ``annual``, ``pnl``, ``bridge`` and ``sensitivity``.

    Examples
    --------
    >>> v = capacity.value("baseline")                            # doctest: +SKIP
    >>> v.annual                                                  # doctest: +SKIP
    """
    from capacity.run import value_report

    sc = _scenario(scenario, set_values)
    return _result(value_report(sc, solver=solver), [sc])


def compare(*scenarios: Scenario | str, solver: str = "highs") -> Result:
    """Plan and value several scenarios side by side; the first is the reference.

    Parameters
    ----------
    *scenarios
        Names, files or :class:`Scenario` objects (or one list of them); the first is the
        reference of every ``_vs_`` difference.
    solver
        ``highs`` (default) or ``cbc``.

    Returns
    -------
    Result
        Tables ``kpis`` (one row per numeric KPI, one float column per scenario and
        ``<s>_vs_<first>`` differences), ``kpis_text``, ``scenarios``, ``binding``,
        ``changes``; ``.plans``, ``.values`` and ``.names`` from the
        :class:`capacity.comparison.CompareResult` in ``.detail``; ``.reports`` every report.

    Examples
    --------
    >>> c = capacity.compare("baseline", "entity-list-buyer")     # doctest: +SKIP
    >>> c.kpis                                                    # doctest: +SKIP
    """
    from capacity.comparison import compare as _compare

    items: list[Any] = list(scenarios)
    if len(items) == 1 and isinstance(items[0], list | tuple):
        items = list(items[0])
    loaded = [_scenario(s, None) for s in items]
    res = _compare(loaded, solver=solver)
    return _result(res.report, loaded, parts=res.reports[1:], detail=res)


def stress(scenario: Scenario | str | None = None, *, samples: int = 200, seed: int = 0,
           thresholds: list[str] | None = None, executor: str = "inline", workers: int = 1,
           set_values: dict[str, Any] | None = None, solver: str = "highs") -> Result:
    """Monte Carlo stress test over the scenario's uncertain inputs.

    Parameters
    ----------
    scenario, set_values, solver
        As for :func:`calibrate`.
    samples
        Number of draws. [draws]
    seed
        Seed of the draws: the same seed gives the same result for any executor and worker
        count.
    thresholds
        Conditions ``KPI>=VALUE`` or ``KPI<=VALUE`` whose probability is reported
        (``"npv_m>=15000"``); None for the defaults.
    executor
        ``inline`` (default: in this process), ``processes`` or ``dask``.
    workers
        Worker processes for ``processes`` and ``dask``.

    Returns
    -------
    Result
        Tables ``percentiles``, ``thresholds``, ``binding_frequency``, ``tornado``, ``inputs``
        and ``fan``; as ``capacity stress``.

    Examples
    --------
    >>> s = capacity.stress("history-uncertain", samples=200, seed=7)   # doctest: +SKIP
    >>> s.percentiles                                                  # doctest: +SKIP
    """
    from capacity.commands import stress_report
    from capacity.schemas import check_stress_request

    check_stress_request(samples, seed, workers)
    sc = _scenario(scenario, set_values)
    return _result(stress_report(sc, samples, seed, thresholds, executor, workers,
                                 solver=solver), [sc])


def backtest(actuals: str, scenario: Scenario | str | None = None, *,
             set_values: dict[str, Any] | None = None, solver: str = "highs") -> Result:
    """Forecasts against later disclosures.

    Parameters
    ----------
    actuals
        A CSV of later disclosures (as ``capacity backtest --actuals``), or ``"rolling"``:
        every vintage against every later disclosure (as ``capacity backtest --rolling``).
    scenario, set_values, solver
        As for :func:`calibrate`; with ``"rolling"`` the scenario must be a name (it is loaded
        at each vintage).

    Returns
    -------
    Result
        Tables ``rows`` (forecast, actual, error per metric and date), ``summary`` (MAPE and
        bias per metric and horizon) and ``paths``; with ``"rolling"``, ``rows``, ``summary``
        and ``reference``.

    Examples
    --------
    >>> capacity.backtest("rolling").summary                      # doctest: +SKIP
    """
    from capacity.commands import backtest_report, rolling_backtest_report

    if actuals == "rolling":
        from capacity.errors import InputError

        if scenario is not None and not isinstance(scenario, str):
            raise InputError("scenario", "a rolling backtest loads the scenario at each "
                             "vintage: pass its name, not a loaded Scenario")
        return _result(rolling_backtest_report(scenario, solver=solver, sets=set_values), [])
    sc = _scenario(scenario, set_values)
    return _result(backtest_report(sc, actuals, solver=solver), [sc])
