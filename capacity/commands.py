"""What each command reports, beyond one scenario's plan and value (:mod:`capacity.run`).

Each ``*_report`` function takes a validated :class:`~capacity.scenarios.Scenario` and returns a
:class:`~capacity.results.Report`; the CLI renders it and the Python API returns it.
"""

from __future__ import annotations

import pandas as pd

from capacity.inputs import existing_fleet_eflops, run_calibration
from capacity.results import Report, money_text
from capacity.run import value_report
from capacity.scenarios import Scenario


def calibration_report(scenario: Scenario, solver: str = "highs") -> Report:
    """``capacity calibrate``: fitted totals per date, mix ranges per chip, orders in units."""
    cal = run_calibration(scenario, solver)
    return Report(
        "calibrate",
        scalars={"scenario": scenario.name, "as_of": scenario.as_of.isoformat(),
                 "base_period": scenario.inputs.horizon.base_period,
                 "tolerance": scenario.inputs.calibration.tolerance},
        tables={"dates": cal.dates, "mix": cal.mix, "orders": cal.orders},
        primary="mix",
        titles={"dates": "Disclosed vs fitted totals",
                "mix": "Chip mix per disclosure date (central, min, max)",
                "orders": "The disclosed EFLOPS on placed orders, in units of each chip"},
    )


def demand_report(scenario: Scenario, solver: str = "highs") -> Report:
    """``capacity demand``: token stock and effective EFLOPS demand per quarter, and the runs.

    The existing fleet (calibrated base mix plus placed orders) calibrates the 1H23 inference
    yield and carries the leasing share.
    """
    from capacity import compute_demand as dm
    from capacity.scenarios import disclosed

    fleet = existing_fleet_eflops(scenario, solver=solver)["effective_eflops"]
    periods = scenario.inputs.horizon.periods
    table = dm.demand_table(scenario, periods, fleet)
    runs = dm.runs_table(scenario, fleet)
    target_tn, due = dm.token_target(scenario)
    stock = dm.token_table(scenario, periods.max())["token_stock_tn_tokens"]
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
            "scenario": scenario.name, "as_of": scenario.as_of.isoformat(),
            "base_period": scenario.inputs.horizon.base_period,
            "inference_method": inf.method,
            "token_production_tn_tokens_per_month": dm.tokens_per_month_tn(scenario),
            "token_target_tn_tokens": target_tn,
            "token_target_due": str(due) if due is not None else None,
            "token_target_reached": str(reached) if reached is not None else None,
            "token_target_met_on_time": (reached is not None and due is not None
                                         and reached <= due),
            "gpt4_training_tokens_tn_tokens": gpt4_tn,
            "gpt4_tokens_reached": str(gpt4_reached) if gpt4_reached is not None else None,
            "calibration_quarters": f"{window[0]}..{window[-1]}",
            "calibration_genai_revenue_m": revenue,
            "calibration_fleet_share": share,
            "calibration_fleet_in_use_eflops": float(share * fleet.reindex(window).mean()),
            "inference_yield_m_per_eflops_quarter":
                dm.inference_yield_m_per_eflops_quarter(scenario, fleet),
            "quarter_days": dm.QUARTER_DAYS,
        },
        tables={"quarters": table, "runs": runs},
        primary="quarters",
        titles={"quarters": "Token stock and effective EFLOPS demand per quarter",
                "runs": "Training runs (6 N D FLOP over the window at the run MFU)"},
    )


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
    from capacity import export_controls as ctl
    from capacity.errors import InputError
    from capacity.schemas import quarter_arg, quarter_range, to_period

    hz = scenario.inputs.horizon

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
        first = quarter_arg(start, "--start") if start is not None else hz.base + 1
        last = quarter_arg(end, "--end") if end is not None else to_period(hz.end)
        if last < first:
            raise InputError("--end", f"{last} is before the start {first}")
        periods = quarter_range(first, last)
        long = ctl.availability(scenario, periods).reset_index()
        long["period"] = long["period"].astype(str)
        return Report(
            "controls",
            scalars={"scenario": scenario.name, "as_of": scenario.as_of.isoformat(),
                     "start": str(first), "end": str(last)},
            tables={"timeline": ctl.timeline(scenario, periods), "availability": long,
                    "rules": rule_table},
            primary="timeline",
            titles={"timeline": "Export-control status per chip and quarter",
                    "availability": "Status, deciding rule, cap and price factor per quarter",
                    "rules": "Rules in this scenario"},
        )
    if start is not None or end is not None:
        raise InputError("--start", "--start and --end go with --timeline")
    q = quarter_arg(at, "--at") if at is not None else hz.base + 1
    chips = ctl.status_at(scenario, q).reset_index()
    return Report(
        "controls",
        scalars={"scenario": scenario.name, "as_of": scenario.as_of.isoformat(), "at": str(q)},
        tables={"chips": chips, "rules": rule_table},
        primary="chips",
        titles={"chips": f"Export-control status in {q}",
                "rules": "Rules in this scenario"},
    )


def _forecast_paths(scenario: Scenario, solver: str = "highs"
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stock path (calibrated history, then the min-cost plan) and the flow path (the base
    half-year's actuals, then the finance link's forecast) of one scenario."""
    from capacity import backtesting as bt
    from capacity import finance
    from capacity.planner import plan

    base = scenario.inputs.horizon.base
    plan_result = plan(scenario, solver=solver)
    stocks = bt.stock_path(plan_result.inputs.fleet_history, plan_result.quarters, base)
    pnl = value_report(scenario, solver=solver, plan_result=plan_result).tables[
        "pnl_by_quarter"]
    actual = pnl["actual"].astype(bool)  # the one P&L: reported quarters, then modelled
    if actual.any():
        flows = bt.flow_path(pnl[actual], pnl[~actual])
    else:
        anchors = finance.anchors_from_disclosures(scenario.disclosures)
        flows = bt.flow_path(finance.actual_quarters(anchors), pnl)
    return stocks, flows


def rolling_backtest_report(scenario_name: str | None = None, solver: str = "highs",
                            sets: dict | None = None, samples: int | None = None,
                            seed: int = 0, progress=None) -> Report:
    """``capacity backtest --rolling``: every vintage's forecast against every later disclosure.

    For each vintage date v (:func:`capacity.scenarios.vintage_dates`), the scenario at v
    (default ``baseline``: the vintage's own inputs and rules) is planned and valued; its
    stock and flow paths are scored (:func:`capacity.backtesting.compare`) against every row of
    disclosures.csv published after v whose period ends after v's base period
    (:func:`capacity.backtesting.later_disclosures`). The note's own stated forecast (2024E sales
    implied by its HK$1.75 target at 7.5x) is a reference row (``vintage`` = ``note``).
    Each compared row's P10..P90 comes from ``samples`` draws of the vintage's uncertain inputs
    (:func:`capacity.montecarlo.fan.vintage_fan`; ``progress(done, total, text)`` is called as
    draws finish).
    """
    from capacity import backtest_intervals as bi
    from capacity import backtesting as bt
    from capacity import finance
    from capacity.montecarlo.fan import DEFAULT_SAMPLES, UNCERTAIN_FILE, vintage_fan, vintage_specs
    from capacity.scenarios import load_scenario, read_disclosures, vintage_dates
    from capacity.scenarios.market import read_market

    samples = DEFAULT_SAMPLES if samples is None else samples
    every = read_disclosures()
    misses = read_market()["street_misses"]
    parts = []
    first = None
    fan_notes: list[str] = []
    drawn = False  # whether any vintage had an uncertain input to draw
    dates = vintage_dates()
    for k, when in enumerate(dates):
        sc = load_scenario(scenario_name, as_of=when, set_values=sets)
        first = first or sc
        base = sc.inputs.horizon.base
        stocks, flows = _forecast_paths(sc, solver)
        later = bt.later_disclosures(every, base, when.isoformat())
        tick = (lambda d, n, k=k, when=when: progress(
            k * samples + d, len(dates) * samples, f"vintage {when}")) if progress else None
        specs, spec_notes = vintage_specs(sc)
        drawn = drawn or bool(specs)
        fan = vintage_fan(sc, samples, seed, specs, progress=tick, solver=solver) \
            if specs else None
        fan_notes += [f"{when}: {n}" for n in spec_notes + (fan.notes if fan else [])]
        known = bi.known_errors(pd.concat(parts) if parts else None, when.isoformat())
        prior = bi.street_errors(misses, when.isoformat())
        parts.append(bt.rolling_rows(when.isoformat(), base, later, stocks, flows, fan, known,
                                     prior))
    rows = pd.concat(parts, ignore_index=True)
    summary = bt.rolling_summary(rows)
    pooled = bt.coverage_by_metric(rows)
    fin = first.inputs.finance
    anchors = finance.anchors_from_disclosures(first.disclosures)
    note_sales = None if anchors.target_price is None else finance.implied_sales(
        anchors.target_price, fin.ev_sales_multiple, fin.net_cash_m, fin.shares_m,
        fin.fx_listing)  # None: no broker target (an optional part), no reference row
    fy = every[(every["metric"] == "revenue_m") & (every["span_quarters"] == 4)
               & (every["period"] == pd.Period(f"{fin.valuation_year}Q4", freq="Q"))]
    ref = []
    if len(fy) and note_sales is not None:
        actual = float(fy["value"].iloc[0])
        ref.append({"vintage": "note", "base_period": str(first.inputs.horizon.base),
                    "period": f"FY{fin.valuation_year}", "metric": "revenue_m",
                    "unit": money_text("RMB m"),
                    "horizon_halves": bt.horizon_halves(first.inputs.horizon.base,
                                                        pd.Period(f"{fin.valuation_year}Q4",
                                                                  freq="Q")),
                    "actual": actual, "forecast": note_sales, "error": note_sales - actual,
                    "error_pct": bt.percent_error(note_sales - actual, actual),
                    "status": bt.STATUS_COMPARED,
                    "basis": f"the note's {fin.valuation_year}E sales implied by TP "
                             f"{money_text('HKD')} {anchors.target_price:g} at "
                             f"{fin.ev_sales_multiple:g}x",
                    "published": str(fy["published"].iloc[0]),
                    "source": str(fy["source"].iloc[0])})
    reference = pd.DataFrame(ref, columns=bt.ROLLING_COLUMNS)
    counts = rows["status"].value_counts()
    from capacity.scenarios import DEFAULT_SCENARIO, shipped_scenarios, vintage_files

    missing = []  # optional parts of a subject folder: the run goes on, and says so
    if scenario_name is None and DEFAULT_SCENARIO not in shipped_scenarios():
        missing.append(f"no scenarios/{DEFAULT_SCENARIO}.toml: each vintage forecasts from the "
                       "subject's baseline")
    if not vintage_files():
        missing.append("no vintages/: the baseline's vintage is the only one")
    if not drawn:
        missing.append(f"no uncertain input ({UNCERTAIN_FILE}) applies: rows carry no interval")
    notes = {"note": "; ".join(missing)} if missing else {}
    everything = pooled[pooled["metric"] == "all"].iloc[0]
    return Report(
        "backtest",
        scalars={
            "scenario": first.name,
            "as_of": "rolling",
            **notes,
            "vintages": ", ".join(d.isoformat() for d in vintage_dates()),
            "n_rows": len(rows),
            "n_compared": int(counts.get(bt.STATUS_COMPARED, 0)),
            "error_definition": "error = forecast - actual; error_pct = 100 * error / actual",
            "horizon_definition": "horizon_halves = ceil((last quarter - base period) / 2)",
            "mape_unit": "%",
            "samples": samples,
            "seed": seed,
            "interval_definition": "p10..p90 of the row's statistic over the draws of the "
                                   "vintage's uncertain inputs (data/backtest_uncertain.toml), "
                                   "each draw times every log error ln(actual / forecast) "
                                   "of earlier vintages' rows whose actual was published by "
                                   "the vintage date (error_pool, n_known_errors; "
                                   "docs/backtest.md); a vintage with no such error: every "
                                   "miss of other forecasters published by its date "
                                   "(street_misses.csv; error_pool street), else the "
                                   "draws alone; a share or margin at most 1",
            "coverage_80": float(everything["coverage_80"]),
            "coverage_80_low": float(everything["coverage_80_low"]),
            "coverage_80_high": float(everything["coverage_80_high"]),
            "fan_notes": fan_notes,
        },
        tables={"rows": rows, "summary": summary, "coverage": pooled, "reference": reference},
        primary="rows",
        titles={"rows": "Every vintage's forecast vs every later disclosure",
                "summary": "MAPE, bias and 80% coverage by metric and horizon (half-years "
                           "ahead), vintages pooled",
                "coverage": "80% coverage by metric, horizons and vintages pooled",
                "reference": "The note's own stated forecast"},
    )


def backtest_report(scenario: Scenario, actuals_path, solver: str = "highs") -> Report:
    """``capacity backtest``: the tool's fleet and revenue paths against disclosed actuals.

    Stocks (GPUs, peak EFLOPS) come from the calibrated history up to the base period and from
    the min-cost plan after it; revenue, GenAI revenue and gross margin from the finance link
    (the base half-year's actuals, then the forecast quarters of ``capacity value``). See
    :mod:`capacity.backtesting` for the comparison rules.

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

    from capacity import backtesting as bt
    from capacity.scenarios import read_actuals_csv

    path = Path(actuals_path)
    actuals = bt.parse_actuals(read_actuals_csv(path), path.name)
    base = scenario.inputs.horizon.base
    stocks, flows = _forecast_paths(scenario, solver)
    rows = bt.compare(actuals, stocks, flows)
    summary = bt.summary(rows)
    counts = rows["status"].value_counts()
    return Report(
        "backtest",
        scalars={
            "scenario": scenario.name, "as_of": scenario.as_of.isoformat(),
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

    The scenario's own ``[uncertain]`` table is used; when it has none, the table of the
    fallback scenario the subject names (:func:`capacity.montecarlo.fallback_uncertain`) is
    applied to the chosen scenario's values. See :mod:`capacity.montecarlo`.
    """
    from capacity import montecarlo as stress
    from capacity.scenarios import load_scenario

    if scenario.uncertain:
        table, source = scenario.uncertain, scenario.name
    else:
        source = stress.fallback_uncertain()
        table = load_scenario(source).uncertain
    specs = stress.parse_uncertain(table)
    result = stress.run_stress(scenario, specs, samples, seed, thresholds, executor, workers,
                               scheduler, progress, solver)
    return stress.to_report(result, scenario, source)
