"""Several scenarios side by side: one KPI table, scenarios as columns.

Each scenario is planned (the purchase LP, maximising NPV) and valued (capacity -> GenAI revenue ->
EV/Sales target price); the KPIs below are read from those results. The first scenario is the
reference: for every other scenario ``s`` the table has a column ``<s>_vs_<first>`` with
``KPI(s) - KPI(first)`` (in the KPI's own unit; shares in share points as fractions).

KPIs: :data:`capacity.metrics.kpis.COMPARE_KPIS`, whose names, units and definitions are the
KPI list :data:`capacity.metrics.kpis.KPIS` (the one place they are written), read at the
reference scenario's ``horizon.kpi_quarters()`` (``<name>_<q>``) and ``horizon.kpi_years()``
(``<name>_<y>``); ``most_valuable_limits`` is text, in the ``kpis_text`` table.

The names are the ones ``capacity stress`` gives the same quantities (and ``capacity plan`` its
totals), with the unit as a suffix before any period or year.

Notes
-----
"Most valuable" ranks limit groups (a constraint family, per chip for access limits) by their
largest quoted shadow price (the gain from relaxing, verified by re-solving; see the plan's
``binding`` table) in RMB m per unit of the limit: one GPU a quarter of access, one MW of
power, one RMB m of budget, one EFLOPS of rented compute. The units differ, so the ranking
says which relaxation the LP would pay most for *per natural unit*, not per RMB.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from capacity.errors import InputError
from capacity.metrics import kpis as mk
from capacity.metrics.work import shortfall_quarters
from capacity.planner.registry import LIMIT_FAMILIES
from capacity.results import Report, money_text
from capacity.scenarios import Scenario
from capacity.subjects import report_fields

DIFF_TOL = 1e-9
"""Relative size below which a difference against the reference is reported as 0."""

TOP_LIMITS = 3
"""How many limit groups ``most_valuable_limits`` names."""


@dataclass
class CompareResult:
    """Several scenarios planned, valued and tabulated side by side.

    Attributes
    ----------
    scenarios
        The scenarios, in the order given (the first is the reference).
    kpis
        One row per numeric KPI: ``kpi``, ``unit``, one float column per scenario (named by the
        scenario), then float ``<scenario>_vs_<first>`` differences. Text KPIs are in the
        report's ``kpis_text`` table.
    plans
        The solved purchase plan per scenario name (:class:`capacity.planner.Plan`).
    values
        The ``value`` report per scenario name (revenue, annual, bridge, sensitivity tables).
    reports
        Every report of the run: the compare report first, then each scenario's plan and value
        reports (what ``--out`` writes).
    binding
        Binding limit groups per scenario, most valuable first.
    notes
        Things to know (KPI quarters outside a scenario's horizon, ...).
    timings
        Wall-clock seconds per scenario and step (not part of any result table).
    solver
        LP solver used.
    """

    scenarios: list[Scenario]
    kpis: pd.DataFrame
    plans: dict[str, Any]
    values: dict[str, Report]
    reports: list[Report]
    binding: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    solver: str = "highs"

    @property
    def report(self) -> Report:
        """The compare report (KPI table, scenarios, binding limits)."""
        return self.reports[0]

    @property
    def names(self) -> list[str]:
        """Scenario names in order."""
        return [s.name for s in self.scenarios]


LIMIT_CONSTRAINTS = LIMIT_FAMILIES
"""Rows that are limits an analyst or a rule sets (the family registry's limits); the demand
and capacity-sharing rows (allocation, training, leasing, tokens, demand) are work balances and
are left out of the limit ranking (shortfall has its own KPIs)."""


def binding_groups(binding: pd.DataFrame) -> pd.DataFrame:
    """Binding limits grouped by constraint family and chip, most valuable first.

    Parameters
    ----------
    binding
        A plan's binding table (``constraint``, ``period``, ``chip``,
        ``shadow_price``, ``unit``; :func:`capacity.planner.results.binding_table`).

    Returns
    -------
    pandas.DataFrame
        Columns ``limit`` (``access H100``, ``power``, ...), ``constraint``, ``chip``,
        ``quarters_binding`` [quarters], ``first_period``, ``max_shadow_price`` (the
        largest quoted shadow price over the quarters: the verified gain from relaxing) in
        ``unit`` (RMB m per unit of the limit; the plan's binding table names them alike).
    """
    cols = ["limit", "constraint", "chip", "quarters_binding", "first_period",
            "max_shadow_price", "unit"]
    b = binding[binding["constraint"].isin(LIMIT_CONSTRAINTS)].copy() if not binding.empty \
        else binding
    if b.empty:
        return pd.DataFrame(columns=cols)
    b["chip"] = b["chip"].fillna("").astype(str)
    rows = []
    for (con, chip), g in b.groupby(["constraint", "chip"], sort=True):
        rows.append({
            "limit": f"{con} {chip}".strip(), "constraint": con, "chip": chip,
            "quarters_binding": len(g), "first_period": str(min(g["period"].astype(str))),
            "max_shadow_price": float(g["shadow_price"].astype(float).max()),
            "unit": str(g["unit"].iloc[0]),
        })
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["max_shadow_price", "limit"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def _at(df: pd.DataFrame, period: str, col: str) -> float:
    p = pd.Period(period, freq="Q")
    if p not in df.index:
        return float("nan")
    return float(df.at[p, col])


def scenario_kpis(plan_quarters: pd.DataFrame, groups: pd.DataFrame,
                  value: Report | None, kpi_quarters: tuple[str, ...],
                  kpi_years: tuple[int, ...], npv_m: float = float("nan")
                  ) -> list[tuple[str, str, Any]]:
    """KPIs of one scenario as ``(kpi, unit, value)`` triples (see the module docstring), read
    at ``kpi_quarters`` and ``kpi_years``.

    ``groups`` are the plan's binding limit groups (:func:`binding_groups`).

    A quarter or year outside the horizon gives NaN (reported as a note by :func:`compare`).
    """
    q = plan_quarters
    totals = mk.horizon_totals(q)
    annual = _annual(value) if value is not None else None

    def kpi_value(kpi: mk.Kpi, at: str | int | None) -> Any:
        name = kpi.name
        if kpi.per == "quarter":
            if name == "cumulative_capex_m":
                p = pd.Period(at, freq="Q")
                return float("nan") if p > q.index.max() else float(
                    q.loc[q.index <= p, "capex_m"].sum())
            return _at(q, str(at), name)
        if kpi.per == "year":
            return float(annual.at[at, kpi.column]) if at in annual.index else float("nan")
        if name in totals:
            return totals[name]
        if name == "npv_m":
            return float(npv_m)
        if name == "shortfall_quarters":
            return shortfall_quarters(q["shortfall_eflops"].to_numpy(float))
        if name == "binding_limits":
            return int(groups["quarters_binding"].sum())
        if name == "most_valuable_limits":
            return "; ".join(groups["limit"].head(TOP_LIMITS))
        return float(value.scalars[name])

    value_kpis = {k.name for k in mk.KPIS if k.per == "year"} | {
        "target_price", "target_price_ev_sales", "target_price_dcf"}
    return [(n, u, kpi_value(k, at))
            for n, u, k, at in mk.expand(mk.COMPARE_KPIS, tuple(kpi_quarters),
                                         tuple(kpi_years))
            if value is not None or k.name not in value_kpis]


def _annual(value: Report) -> pd.DataFrame:
    """The value report's calendar-year table indexed by ``year``."""
    annual = value.tables["annual"]
    return annual if annual.index.name == "year" else annual.set_index("year")


TEXT_KPIS = mk.TEXT_KPIS
"""KPIs whose values are text (:data:`capacity.metrics.kpis.KPIS`): in their own table
(``kpis_text``), so that every value column of ``kpis`` is numeric."""


def kpi_table(per_scenario: dict[str, list[tuple[str, str, Any]]]) -> pd.DataFrame:
    """Assemble the numeric KPI triples into the wide table with ``<s>_vs_<first>`` differences.

    Every scenario and difference column is float (counts too); text KPIs (:data:`TEXT_KPIS`)
    are left out, see :func:`text_kpi_table`.
    """
    names = list(per_scenario)
    first = names[0]
    base = [t for t in per_scenario[first] if t[0] not in TEXT_KPIS]
    frame = pd.DataFrame({"kpi": [k for k, _, _ in base],
                          "unit": [money_text(u) for _, u, _ in base]})  # subject's currency
    for name in names:
        frame[name] = pd.Series([float(v) for k, _, v in per_scenario[name]
                                 if k not in TEXT_KPIS], dtype=float)
    for name in names[1:]:
        diffs = []
        for a, b in zip(frame[name], frame[first], strict=True):
            d = a - b
            # solver noise: differences far below the figures themselves are zero
            diffs.append(0.0 if abs(d) <= DIFF_TOL * max(1.0, abs(a), abs(b)) else d)
        frame[f"{name}_vs_{first}"] = pd.Series(diffs, dtype=float)
    frame.attrs.update(scenarios=names, differences={n: f"{n}_vs_{first}" for n in names[1:]})
    return frame


def text_kpi_table(per_scenario: dict[str, list[tuple[str, str, Any]]]) -> pd.DataFrame:
    """The text KPIs (:data:`TEXT_KPIS`): ``kpi``, then one text column per scenario."""
    frame = pd.DataFrame({"kpi": list(TEXT_KPIS)})
    for name, triples in per_scenario.items():
        got = {k: v for k, _, v in triples}
        frame[name] = pd.Series([str(got.get(k, "")) for k in TEXT_KPIS], dtype=object)
    frame.attrs["scenarios"] = list(per_scenario)
    return frame


def compare(scenarios: list[Scenario], solver: str = "highs",
            progress: Callable[[int, int, str], None] | None = None) -> CompareResult:
    """Plan and value each scenario and tabulate KPIs side by side.

    Parameters
    ----------
    scenarios
        Validated scenarios, the reference first. Names must be distinct.
    solver
        LP solver (``highs`` or ``cbc``).
    progress
        Called as ``progress(done, total, name)`` before each scenario and once at the end
        (``name`` empty); the CLI draws a progress bar with it.

    Returns
    -------
    CompareResult

    Raises
    ------
    InputError
        Fewer than one scenario, or two with the same name.
    """
    from capacity.run import plan_report, value_report

    if not scenarios:
        raise InputError("scenarios", "name at least one scenario to compare")
    seen: set[str] = set()
    for sc in scenarios:
        if sc.name in seen:
            raise InputError("scenarios", f"scenario {sc.name!r} named twice (names come from "
                             "file names; rename one file)")
        seen.add(sc.name)
    kpi_quarters = scenarios[0].inputs.horizon.kpi_quarters()
    kpi_years = scenarios[0].inputs.horizon.kpi_years()
    plans: dict[str, Any] = {}
    values: dict[str, Report] = {}
    plan_reports: list[Report] = []
    per: dict[str, list[tuple[str, str, Any]]] = {}
    timings: dict[str, dict[str, float]] = {}
    groups = []
    notes: list[str] = []
    for i, sc in enumerate(scenarios):
        if progress is not None:
            progress(i, len(scenarios), sc.name)
        t0 = time.perf_counter()
        plan, prep = plan_report(sc, solver=solver)
        t1 = time.perf_counter()
        vrep = value_report(sc, solver=solver, plan_result=plan)
        t2 = time.perf_counter()
        plans[sc.name] = plan
        values[sc.name] = vrep
        plan_reports.append(prep)
        g = binding_groups(plan.binding)
        per[sc.name] = scenario_kpis(plan.quarters, g, vrep, kpi_quarters, kpi_years,
                                     plan.objective if plan.objective_name == "npv"
                                     else float("nan"))
        timings[sc.name] = {"plan_s": t1 - t0, "value_s": t2 - t1,
                            **{f"lp_{k}": float(v) for k, v in plan.timings.items()}}
        g = g.copy()
        g.insert(0, "scenario", sc.name)
        groups.append(g)
        missing = [p for p in kpi_quarters if pd.Period(p, freq="Q") not in plan.quarters.index]
        if missing:
            notes.append(f"{sc.name}: {', '.join(missing)} outside the planned quarters "
                         "(KPIs left empty)")
        for y in kpi_years:
            if y not in _annual(vrep).index:
                notes.append(f"{sc.name}: {y} outside the valued years (KPIs left empty)")
    if progress is not None:
        progress(len(scenarios), len(scenarios), "")
    kpis = kpi_table(per)
    binding = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()
    first = scenarios[0].name
    table_sc = pd.DataFrame([{"name": s.name, "description": s.description,
                              "changes": len(_changes(s))} for s in scenarios],
                            columns=["name", "description", "changes"])
    changes = pd.DataFrame([{"scenario": s.name, **c} for s in scenarios
                            for c in _changes(s)],
                           columns=["scenario", "key", "old", "new", "origin"])
    for col in ("old", "new"):
        changes[col] = changes[col].map(_short_text)
    rep = Report(
        "compare",
        scalars={**report_fields(), "reference": first, "solver": solver,
                 "kpi_quarters": list(kpi_quarters), "kpi_years": list(kpi_years),
                 "notes": notes},
        tables={"kpis": kpis, "kpis_text": text_kpi_table(per), "scenarios": table_sc,
                "binding": binding, "changes": changes},
        primary="kpis",
        titles={"kpis": f"KPIs side by side (differences against {first})",
                "kpis_text": "Text KPIs (the limits the LP would pay most to relax)",
                "scenarios": "Scenarios compared",
                "binding": "Binding limit groups, most valuable first (RMB m per unit of "
                           "right-hand side)",
                "changes": "What each scenario changes relative to the baseline"},
    )
    reports = [rep]
    for prep, sc in zip(plan_reports, scenarios, strict=True):
        reports += [prep, values[sc.name]]
    return CompareResult(scenarios=list(scenarios), kpis=kpis, plans=plans, values=values,
                         reports=reports, binding=binding, notes=notes, timings=timings,
                         solver=solver)


def _changes(sc: Scenario) -> list[dict[str, Any]]:
    """The records of the changes that change something (a vintage that sets a key to the value
    it already has is no change)."""
    return [r for r in (c.as_record() for c in sc.changes) if r["old"] != r["new"]]


def _short_text(v: Any) -> str:
    """A change value as compact text for a table cell (lists of rule tables get long)."""
    import json

    if isinstance(v, str):
        return v
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


