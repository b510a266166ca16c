"""Compose the domain modules into the results each command reports.

Each ``*_report`` function takes a validated :class:`~capacity.scenarios.Scenario` and returns a
:class:`~capacity.results.Report`; the CLI renders it and the Python API returns it.
"""

from __future__ import annotations

import pandas as pd

from capacity.calibrate import Calibration, calibrate
from capacity.results import Report
from capacity.scenarios import Scenario


def purchasable_table(scenario: Scenario, periods: pd.PeriodIndex) -> pd.DataFrame | None:
    """Whether each chip could be bought in each quarter under the scenario's export controls.

    Returns ``None`` when the scenario names no rules (everything launched is purchasable).
    """
    if not scenario.inputs.controls.rules:
        return None
    from capacity.controls import availability

    av = availability(scenario, periods)
    return av["status"].ne("banned").unstack("chip")


_CALIBRATION_CACHE: dict[tuple, Calibration] = {}


def run_calibration(scenario: Scenario, solver: str = "highs") -> Calibration:
    """Calibrate the chip mix, honouring export controls between disclosure dates.

    Cached on everything calibration reads (calibration inputs, base period, rule timeline,
    input-file hashes), since plan, value, compare and stress all start from it.
    """
    inp = scenario.inputs
    key = (inp.calibration.model_dump_json(), inp.horizon.base_period,
           inp.controls.model_dump_json(), tuple(sorted(scenario.files.items())), solver)
    hit = _CALIBRATION_CACHE.get(key)
    if hit is not None:
        return hit
    first = scenario.disclosures["period"].min()
    periods = pd.period_range(first, inp.horizon.base + 1,
                              freq="Q", name="period")
    cal = calibrate(scenario, purchasable_table(scenario, periods), solver=solver)
    if len(_CALIBRATION_CACHE) > 64:
        _CALIBRATION_CACHE.clear()
    _CALIBRATION_CACHE[key] = cal
    return cal


def calibration_report(scenario: Scenario, solver: str = "highs") -> Report:
    """``capacity calibrate``: fitted totals per date, mix ranges per chip, orders in units."""
    cal = run_calibration(scenario, solver)
    return Report(
        "calibrate",
        scalars={"scenario": scenario.name,
                 "base_period": scenario.inputs.horizon.base_period,
                 "tolerance": scenario.inputs.calibration.tolerance},
        tables={"dates": cal.dates, "mix": cal.mix, "orders": cal.orders},
        primary="mix",
        titles={"dates": "Disclosed vs fitted totals",
                "mix": "Chip mix per disclosure date (central, min, max)",
                "orders": "The disclosed EFLOPS on placed orders, in units of each chip"},
    )


def existing_cohorts(scenario: Scenario, calibration: Calibration | None = None,
                     solver: str = "highs") -> pd.DataFrame:
    """Cohorts of the fleet at the base period plus the orders already placed.

    The initial fleet is the calibrated central mix at the base period unless the scenario
    gives ``fleet.initial`` explicitly.
    """
    from capacity.fleet import build_cohorts

    fleet = scenario.inputs.fleet
    initial_units = None
    if fleet.initial == "calibrated":
        cal = calibration or run_calibration(scenario, solver)
        initial_units = cal.central_at(scenario.inputs.horizon.base)
    return build_cohorts(fleet, scenario.catalog, initial_units)


def existing_fleet_eflops(scenario: Scenario, calibration: Calibration | None = None,
                          solver: str = "highs") -> pd.DataFrame:
    """Peak and effective EFLOPS of the existing fleet (no new purchases), history included.

    Quarters from the first disclosure date through the horizon end. Up to the base period the
    figures come from the calibrated central mixes (the disclosure dates; quarters between them
    carry the earlier date forward); after it, from the initial cohorts and placed orders, with
    retirements.

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``gpus_units``, ``peak_eflops``, ``effective_eflops``.
    """
    from capacity.fleet import efficiency_vector, fleet_summary

    cal = calibration or run_calibration(scenario, solver)
    hz = scenario.inputs.horizon
    base = hz.base
    future = fleet_summary(existing_cohorts(scenario, cal), hz.periods, scenario.catalog,
                           scenario.inputs.fleet)
    mix = cal.mix.copy()
    eff = efficiency_vector(scenario.inputs.fleet, list(mix["chip"].unique()))
    mix["effective_eflops"] = mix["eflops_central"] * mix["chip"].map(eff)
    hist = mix.groupby("period").agg(gpus_units=("units_central", "sum"),
                                     peak_eflops=("eflops_central", "sum"),
                                     effective_eflops=("effective_eflops", "sum"))
    first = hist.index.min()
    hist = hist.reindex(pd.period_range(first, base, freq="Q", name="period")).ffill()
    out = pd.concat([hist, future])
    out.index.name = "period"
    return out


def scenario_availability(scenario: Scenario) -> pd.DataFrame | None:
    """Export-control availability over the planned quarters (None when no rules are set)."""
    if not scenario.inputs.controls.rules:
        return None
    from capacity.controls import availability

    return availability(scenario, scenario.inputs.horizon.periods)


def scenario_demand(scenario: Scenario, fleet_effective_eflops: pd.Series) -> pd.DataFrame:
    """Effective EFLOPS demand per planned quarter (training, inference, leasing)."""
    from capacity.demand import demand_table

    return demand_table(scenario, scenario.inputs.horizon.periods, fleet_effective_eflops)


def demand_report(scenario: Scenario, solver: str = "highs") -> Report:
    """``capacity demand``: token stock and effective EFLOPS demand per quarter, and the runs.

    The existing fleet (calibrated base mix plus placed orders) calibrates the 1H23 inference
    yield and carries the leasing share.
    """
    from capacity import demand as dm
    from capacity.scenarios import disclosed

    fleet = existing_fleet_eflops(scenario, solver=solver)["effective_eflops"]
    periods = scenario.inputs.horizon.periods
    table = dm.demand_table(scenario, periods, fleet)
    runs = dm.runs_table(scenario, fleet)
    target_tn, due = dm.token_target(scenario)
    stock = dm.token_table(scenario, periods.max())["token_stock_tn"]
    reached = dm.first_quarter_reaching(stock, target_tn)
    gpt4 = disclosed(scenario.disclosures, "gpt4_training_tokens_tn")
    gpt4_tn = float(gpt4.iloc[-1]) if len(gpt4) else None
    gpt4_reached = dm.first_quarter_reaching(stock, gpt4_tn) if gpt4_tn is not None else None
    revenue, window = dm.calibration_revenue(scenario)
    inf = scenario.inputs.demand.inference
    share = inf.calibration_fleet_share
    return Report(
        "demand",
        scalars={
            "scenario": scenario.name,
            "base_period": scenario.inputs.horizon.base_period,
            "inference_method": inf.method,
            "tokens_per_month_tn": dm.tokens_per_month_tn(scenario),
            "token_target_tn": target_tn,
            "token_target_due": str(due) if due is not None else None,
            "token_target_reached": str(reached) if reached is not None else None,
            "token_target_met_on_time": (reached is not None and due is not None
                                         and reached <= due),
            "gpt4_training_tokens_tn": gpt4_tn,
            "gpt4_tokens_reached": str(gpt4_reached) if gpt4_reached is not None else None,
            "calibration_quarters": f"{window[0]}..{window[-1]}",
            "calibration_genai_revenue_rmb_m": revenue,
            "calibration_fleet_share": share,
            "calibration_fleet_in_use_eflops": float(share * fleet.reindex(window).mean()),
            "inference_yield_rmb_m_per_eflops_quarter":
                dm.inference_yield_rmb_m_per_eflops_quarter(scenario, fleet),
            "quarter_days": dm.QUARTER_DAYS,
        },
        tables={"quarters": table, "runs": runs},
        primary="quarters",
        titles={"quarters": "Token stock and effective EFLOPS demand per quarter",
                "runs": "Training runs (6 N D FLOP over the window at the run MFU)"},
    )


def plan_report(scenario: Scenario, solver: str = "highs", integer: bool = False,
                objective: str = "min-cost", save_lp: str | None = None,
                save_mps: str | None = None):
    """``capacity plan``: solve the purchase LP; returns (Plan, Report)."""
    from capacity.planner import plan

    result = plan(scenario, solver=solver, integer=integer, objective=objective)
    if save_lp or save_mps:
        from capacity.planner.export import to_pulp

        prob = to_pulp(result.extra["model"]).problem
        if save_lp:
            prob.writeLP(save_lp)
        if save_mps:
            prob.writeMPS(save_mps)
    unit = "RMB m (present value)" if objective == "min-cost" else "EFLOPS-quarters"
    scalars = {
        "scenario": scenario.name,
        "status": result.status,
        "objective": objective,
        "solver": result.solver,
        "integer": integer,
        ("objective_rmb_m" if objective == "min-cost" else "objective_eflops_quarters"):
            result.objective,
        "objective_unit": unit,
        "objective_constant_rmb_m" if objective == "min-cost" else
        "objective_constant_eflops_quarters": result.extra.get("objective_constant", 0.0),
        "total_capex_rmb_m": float(result.quarters["capex_rmb_m"].sum()),
        "total_shortfall_eflops_quarters": float(result.quarters["shortfall_eflops"].sum()),
        "n_variables": result.extra.get("n_variables"),
        "n_constraints": result.extra.get("n_constraints"),
        "notes": list(result.notes),
        "changes": [c.as_record() for c in scenario.changes],
    }
    binding = result.binding.drop(columns=["name"])
    report = Report(
        "plan", scalars=scalars,
        tables={"quarters": result.quarters, "purchases": result.purchases,
                "binding": binding, "fleet": result.fleet},
        primary="quarters",
        titles={"quarters": "Fleet, compute, demand and cost per quarter",
                "purchases": "Purchases by delivery quarter",
                "binding": "Binding limits and their shadow prices",
                "fleet": "Installed units by chip"})
    return result, report


def controls_report(scenario: Scenario, at: str | None = None, timeline: bool = False,
                    start: str | None = None, end: str | None = None) -> Report:
    """``capacity controls``: each chip's export-control status in one quarter, or a timeline.

    Parameters
    ----------
    scenario
        Validated scenario.
    at
        Quarter to report (default: the quarter after the base period).
    timeline
        Report a chip x quarter status matrix over ``start``..``end`` instead.
    start, end
        Timeline window (default: the planned quarters, base period + 1 to the horizon end).
    """
    from capacity import controls as ctl
    from capacity.errors import InputError
    from capacity.schemas import quarter_range, to_period

    hz = scenario.inputs.horizon

    def quarter(value: str, option: str) -> pd.Period:
        try:
            return to_period(value)
        except InputError as exc:
            raise InputError(option, exc.problem) from None

    rules = ctl.scenario_rules(scenario)
    rule_table = pd.DataFrame([{
        "rule": r.id, "kind": r.kind, "title": r.title,
        "announced": r.announced.isoformat(), "effective": r.effective.isoformat(),
        "effective_datacenter": (r.effective_datacenter.isoformat()
                                 if r.effective_datacenter else ""),
        "first_quarter": str(ctl.rule_window(r, True).start),
        "until": r.until.isoformat() if r.until else "",
        "superseded_by": r.superseded_by or "",
        "hypothetical": r.hypothetical, "source": r.source} for r in rules],
        columns=["rule", "kind", "title", "announced", "effective", "effective_datacenter",
                 "first_quarter", "until", "superseded_by", "hypothetical", "source"])
    if timeline:
        if at is not None:
            raise InputError("--at", "give either --at or --timeline, not both")
        first = quarter(start, "--start") if start else hz.base + 1
        last = quarter(end, "--end") if end else to_period(hz.end)
        if last < first:
            raise InputError("--end", f"{last} is before the start {first}")
        periods = quarter_range(first, last)
        long = ctl.availability(scenario, periods).reset_index()
        long["period"] = long["period"].astype(str)
        return Report(
            "controls",
            scalars={"scenario": scenario.name, "start": str(first), "end": str(last)},
            tables={"timeline": ctl.timeline(scenario, periods), "availability": long,
                    "rules": rule_table},
            primary="timeline",
            titles={"timeline": "Export-control status per chip and quarter",
                    "availability": "Status, deciding rule, cap and price factor per quarter",
                    "rules": "Rules in this scenario"},
        )
    if start is not None or end is not None:
        raise InputError("--start", "--start and --end go with --timeline")
    q = quarter(at, "--at") if at else hz.base + 1
    chips = ctl.status_at(scenario, q).reset_index()
    return Report(
        "controls",
        scalars={"scenario": scenario.name, "at": str(q)},
        tables={"chips": chips, "rules": rule_table},
        primary="chips",
        titles={"chips": f"Export-control status in {q}",
                "rules": "Rules in this scenario"},
    )


def finance_capacity(scenario: Scenario, solver: str = "highs", plan_result=None
                     ) -> tuple[pd.DataFrame, str]:
    """Per-quarter capacity the finance link values: the purchase plan's quarters.

    The single call site between the planner and the finance link.

    Returns
    -------
    tuple
        (``Plan.quarters`` over the planned quarters, a label of where they came from)
    """
    if plan_result is None:
        from capacity.planner import plan

        plan_result = plan(scenario, solver=solver)
    return plan_result.quarters, "plan (min-cost purchases)"


def value_report(scenario: Scenario, solver: str = "highs", plan_result=None) -> Report:
    """``capacity value``: capacity -> GenAI revenue -> total revenue -> EV/Sales target price.

    GenAI revenue is the demand-side forecast capped by what the planned fleet can serve
    (:mod:`capacity.finance`); the 2024E sales feed the note's EV/Sales bridge, shown beside the
    sales the note's HK$1.75 (and old HK$2.85) imply at the same multiple, net cash, shares, FX.
    """
    from capacity import finance
    from capacity.demand import genai_revenue_forecast, inference_yield_rmb_m_per_eflops_quarter

    fin = scenario.inputs.finance
    anchors = finance.anchors_from_disclosures(scenario.disclosures)
    periods = scenario.inputs.horizon.periods
    if plan_result is None:
        from capacity.planner import plan

        plan_result = plan(scenario, solver=solver)
    quarters, source = finance_capacity(scenario, solver, plan_result)
    quarters = quarters.reindex(periods)
    fleet = plan_result.inputs.fleet_history if plan_result.inputs is not None else \
        existing_fleet_eflops(scenario, solver=solver)
    yield0 = inference_yield_rmb_m_per_eflops_quarter(scenario, fleet["effective_eflops"])
    yields = finance.yield_path(yield0, scenario.inputs.demand.inference.yield_change_annual,
                                periods, scenario.inputs.horizon.base)
    demand = genai_revenue_forecast(scenario, periods)
    res = finance.finance_result(quarters, demand, yields, fin, anchors)
    y, ty = fin.valuation_year, anchors.target_year
    val = res.valuation
    annual = res.annual
    scalars = {
        "scenario": scenario.name,
        "capacity_source": source,
        "valuation_year": y,
        "target_price_hkd": val.target_price_hkd,
        "ev_rmb_m": val.ev_rmb_m,
        "equity_rmb_m": val.equity_rmb_m,
        f"sales_{y}e_rmb_m": val.sales_rmb_m,
        f"genai_sales_{y}e_rmb_m": float(annual.at[y, "genai_rmb_m"]),
        f"implied_sales_{y}e_rmb_m": res.implied_sales_rmb_m,
        f"implied_sales_{y}e_old_rmb_m": res.implied_sales_old_rmb_m,
        "note_target_price_hkd": anchors.target_price_hkd,
        "note_target_price_old_hkd": anchors.target_price_old_hkd,
        "multiple": val.multiple,
        "net_cash_rmb_m": val.net_cash_rmb_m,
        "shares_m": val.shares_m,
        "rmb_per_hkd": val.rmb_per_hkd,
        f"genai_share_{ty}": res.genai_share_target_year,
        "genai_share_target": anchors.genai_share_target,
        "genai_target_met": res.genai_target_met,
        f"gross_margin_{y}e": float(annual.at[y, "gross_margin"]),
        "genai_gross_margin": res.genai_gross_margin,
        "traditional_gross_margin": fin.traditional_gross_margin,
        "genai_yield_rmb_m_per_eflops_quarter": yield0,
        "capacity_bound_quarters": int(res.revenue["capacity_bound"].sum()),
    }
    return Report(
        "value",
        scalars=scalars,
        tables={"revenue": res.revenue, "annual": annual, "bridge": res.bridge,
                "sensitivity": res.sensitivity},
        primary="revenue",
        titles={"revenue": "Revenue per quarter: GenAI = min(demand, capacity ceiling)",
                "annual": "Calendar years (2023 includes the 1H23 actuals)",
                "bridge": f"EV/Sales bridge on {y}E sales: the tool vs the note's target prices",
                "sensitivity": f"Target price over EV/Sales multiple x {y}E sales change"},
    )


def backtest_report(scenario: Scenario, actuals_path, solver: str = "highs") -> Report:
    """``capacity backtest``: the tool's fleet and revenue paths against disclosed actuals.

    Stocks (GPUs, peak EFLOPS) come from the calibrated history up to the base period and from
    the min-cost plan after it; revenue, GenAI revenue and gross margin from the finance link
    (the base half-year's actuals, then the forecast quarters of ``capacity value``). See
    :mod:`capacity.backtest` for the comparison rules.

    Parameters
    ----------
    scenario
        Validated scenario.
    actuals_path
        CSV of disclosures by period (format in docs/backtest.md).
    solver
        LP solver.
    """
    from pathlib import Path

    from capacity import backtest as bt
    from capacity import finance
    from capacity.scenarios import read_actuals_csv

    path = Path(actuals_path)
    actuals = bt.parse_actuals(read_actuals_csv(path), path.name)
    base = scenario.inputs.horizon.base
    from capacity.planner import plan

    plan_result = plan(scenario, solver=solver)
    stocks = bt.stock_path(plan_result.inputs.fleet_history, plan_result.quarters, base)
    revenue = value_report(scenario, solver=solver, plan_result=plan_result).tables["revenue"]
    anchors = finance.anchors_from_disclosures(scenario.disclosures)
    flows = bt.flow_path(finance.actual_quarters(anchors), revenue)
    rows = bt.compare(actuals, stocks, flows)
    summary = bt.summary(rows)
    counts = rows["status"].value_counts()
    return Report(
        "backtest",
        scalars={
            "scenario": scenario.name,
            "actuals": path.name,
            "base_period": str(base),
            "fleet_path": f"{stocks.index.min()}..{stocks.index.max()}",
            "revenue_path": f"{flows.index.min()}..{flows.index.max()}",
            "calibration_tolerance": scenario.inputs.calibration.tolerance,
            "n_rows": len(rows),
            "n_compared": int(counts.get(bt.STATUS_COMPARED, 0)),
            "n_not_forecast": int(counts.get(bt.STATUS_NOT_FORECAST, 0)),
            "n_not_comparable": int(counts.get(bt.STATUS_NOT_COMPARABLE, 0)),
            "error_definition": "error = forecast - actual; error_pct = 100 * error / actual",
            "mape_unit": "%",
        },
        tables={"rows": rows, "summary": summary,
                "paths": bt.forecast_paths(stocks, flows)},
        primary="rows",
        titles={"rows": "Actual vs forecast per period and metric (error = forecast - actual)",
                "summary": "Error per metric (MAPE, bias and largest miss in %)",
                "paths": "Forecast paths per quarter (history from calibration, then plan)"},
    )


def stress_report(scenario: Scenario, samples: int, seed: int,
                  thresholds: list[str] | None = None, executor: str = "processes",
                  workers: int = 1, scheduler: str | None = None, progress=None,
                  solver: str = "highs") -> Report:
    """``capacity stress``: Monte Carlo over the scenario's uncertain inputs (issue 8).

    The scenario's own ``[uncertain]`` table is used; when it has none, the table of the shipped
    ``history-uncertain`` scenario (:data:`capacity.stress.FALLBACK_UNCERTAIN`) is applied to
    the chosen scenario's values. See :mod:`capacity.stress`.
    """
    from capacity import stress
    from capacity.scenarios import load_scenario

    if scenario.uncertain:
        table, source = scenario.uncertain, scenario.name
    else:
        table, source = load_scenario(stress.FALLBACK_UNCERTAIN).uncertain, \
            stress.FALLBACK_UNCERTAIN
    specs = stress.parse_uncertain(table)
    result = stress.run_stress(scenario, specs, samples, seed, thresholds, executor, workers,
                               scheduler, progress, solver)
    return stress.to_report(result, scenario, source)
