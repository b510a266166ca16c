"""The ``capacity`` command line: parse, call one library function, render, set the exit code.

The only module that talks to the terminal. User errors (``CapacityError`` and pydantic's
``ValidationError``) become one line ``capacity: field: problem`` on stderr and exit code 2.
"""

from __future__ import annotations

import sys
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from capacity import __version__
from capacity.errors import CapacityError, InputError
from capacity.results import (
    Report,
    csv_text,
    format_number,
    header_with_unit,
    json_text,
    plain_frame,
)

if TYPE_CHECKING:
    import pulp

app = typer.Typer(
    name="capacity",
    help="AI compute capacity planner: GPU fleet, export controls, purchase LP, valuation link.\n\n"
         "First subject: SenseTime's SenseCore fleet (BOCI note on 1H23 results).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(StrEnum):
    """Output formats."""

    table = "table"
    json = "json"
    csv = "csv"


# ---------------------------------------------------------------------------------------------
# Shared options
# ---------------------------------------------------------------------------------------------

ScenarioOpt = Annotated[str | None, typer.Option(
    "--scenario", "-s", help="Shipped scenario name (see 'capacity scenarios') or a scenario "
    "TOML file. Default: history.")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", help="table (rich, units in headers), json (one object) or csv (the main "
    "table; pick another with --table).", case_sensitive=False)]
TableOpt = Annotated[str | None, typer.Option(
    "--table", help="With --format csv or table: the table to print (default: the main one).")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override one input, KEY=VALUE with a dotted key and a TOML value, e.g. "
    "--set planner.pue=1.4 (repeatable).")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Write CSVs, workbook, charts, report and manifest to this new folder.")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="Allow --out (and --save-lp/--save-mps) to replace what exists.")]
SolverOpt = Annotated[str, typer.Option(
    help="LP solver: highs (in-process, default) or cbc (where PuLP ships it).")]

pretty_header = header_with_unit
"""``peak_eflops`` -> ``peak_eflops [EFLOPS]`` (one unit table for terminal, workbook, report)."""


def _fmt_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format_number(v)
    return str(v)


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:  # piped or captured: do not squeeze tables to 80 columns
        console.width = 240
    return console


def render(report: Report, fmt: Format, table: str | None = None) -> None:
    """Print a report in the chosen format to stdout."""
    if table is not None and table not in report.tables:
        raise InputError("--table", f"unknown table {table!r} (choose from "
                         f"{', '.join(report.tables)})")
    if fmt is Format.json:
        sys.stdout.write(json_text(report))
        return
    if fmt is Format.csv:
        name = table or report.primary or next(iter(report.tables))
        sys.stdout.write(csv_text(report.tables[name]))
        return
    console = _console()
    if report.scalars:
        grid = Table(show_header=False, box=None, pad_edge=False)
        for k, v in report.scalars.items():
            if isinstance(v, list | dict):
                continue
            grid.add_row(pretty_header(k), _fmt_cell(v))
        console.print(grid)
    names = [table] if table else list(report.tables)
    for name in names:
        df = report.tables[name]
        frame = plain_frame(df)
        t = Table(title=report.titles.get(name, name), title_justify="left")
        for col in frame.columns:
            t.add_column(pretty_header(str(col)), justify="right" if
                         pd.api.types.is_numeric_dtype(frame[col]) else "left")
        for row in frame.itertuples(index=False, name=None):
            t.add_row(*(_fmt_cell(v) for v in row))
        console.print(t)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=[1,2]"]`` -> ``{"a.b": 1, "c": [1, 2]}`` (values parsed as TOML)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError("--set", f"expected KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[key] = value
    return out


def load(scenario: str | None, sets: list[str] | None = None):
    """Load a scenario with command-line overrides."""
    from capacity.scenarios import load_scenario

    return load_scenario(scenario, set_values=parse_sets(sets))


def plan_problem(result: Any, objective: str, integer: bool) -> pulp.LpProblem:
    """The LP of a solved plan as a PuLP problem, for ``--save-lp`` / ``--save-mps``.

    The new planner exports its model with ``capacity.planner.export.to_pulp``; this uses it
    when present.
    """
    try:
        from capacity.planner.export import to_pulp
    except ImportError:
        to_pulp = None
    if to_pulp is not None:
        exported = to_pulp(result.extra["model"])
        return getattr(exported, "problem", exported)  # a PulpModel holds its LpProblem
    # TODO(planner-merge): delete this fallback once capacity.planner.export has landed. It
    # rebuilds the LP with the same function and arguments capacity.planner.plan used
    # (build_problem(data, objective, integer)), i.e. the model the planner's save_lp/save_mps
    # arguments wrote, without the planner writing a file itself.
    from capacity.planner import build_problem

    problem, _ = build_problem(result.inputs.data, objective, integer)
    return problem


def write_outputs(out: Path, reports: list[Report], scenarios: list, overwrite: bool,
                  run: dict[str, Any] | None = None) -> None:
    """Write --out files (CSV per table, workbook, charts, report, manifest) atomically.

    ``run`` (solver, timings) is recorded in the manifest.
    """
    from capacity.report.write import write_output_dir

    write_output_dir(out, reports, scenarios, overwrite=overwrite, run=run)


def claim_out(out: Path | None, overwrite: bool):
    """Hold ``--out`` for the whole command: a second run into it fails at once (exit 2), a
    non-empty folder without ``--overwrite`` is refused before solving, and what killed runs
    left beside it is removed (:func:`capacity.report.write.claim_destination`)."""
    from capacity.report.write import claim_destination

    return claim_destination(Path(out) if out is not None else None, overwrite)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"capacity {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Print the version and exit.")]
    = False,
) -> None:
    """AI compute capacity planner."""


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


@app.command()
def calibrate(
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
) -> None:
    """Chip mixes consistent with the disclosed GPU counts and EFLOPS (central, min, max)."""
    from capacity.pipeline import calibration_report

    render(calibration_report(load(scenario, sets), solver=solver), fmt, table)


@app.command()
def chips(
    fmt: FormatOpt = Format.table,
    scenario: ScenarioOpt = None,
) -> None:
    """The chip catalog with TPP and performance density."""
    from capacity.chips import catalog_table

    sc = load(scenario)
    cols = ["chip", "vendor", "country", "fp16_tflops", "int8_tops", "interconnect_gbs", "tdp_w",
            "die_mm2", "launch", "tpp", "tpp_source", "performance_density", "price_usd"]
    df = catalog_table(sc.catalog)
    report = Report("chips", tables={"chips": df[cols] if fmt is Format.table else df},
                    primary="chips")
    render(report, fmt)


@app.command()
def scenarios(fmt: FormatOpt = Format.table) -> None:
    """List the shipped scenarios with a one-line description."""
    from capacity.scenarios import describe_shipped

    render(Report("scenarios", tables={"scenarios": describe_shipped()}, primary="scenarios"),
           fmt)


@app.command()
def demand(
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
) -> None:
    """Token stock and effective EFLOPS demand per quarter: training, inference, leasing."""
    from capacity.pipeline import demand_report

    render(demand_report(load(scenario, sets)), fmt, table)


@app.command()
def plan(
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    integer: Annotated[bool, typer.Option("--integer", help="Buy whole servers "
                                          "(planner.lot_units GPUs) instead of fractions.")]
    = False,
    objective: Annotated[str, typer.Option(help="min-cost: meet demand at least discounted "
                                           "cost; max-compute: most effective EFLOPS within "
                                           "budget, power and access.")] = "min-cost",
    save_lp: Annotated[Path | None, typer.Option("--save-lp", help="Write the model as an LP "
                                                 "file.")] = None,
    save_mps: Annotated[Path | None, typer.Option("--save-mps", help="Write the model as an "
                                                  "MPS file.")] = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Plan GPU purchases with a linear program under export controls, budget and power."""
    from capacity.pipeline import plan_report
    from capacity.report.write import check_new_file, write_lp, write_mps

    for path in (save_lp, save_mps):  # refuse early, before any solving
        if path is not None:
            check_new_file(path, overwrite)
    with claim_out(out, overwrite):
        sc = load(scenario, sets)
        result, report = plan_report(sc, solver=solver, integer=integer, objective=objective)
        if save_lp is not None or save_mps is not None:
            problem = plan_problem(result, objective, integer)
            if save_lp is not None:
                write_lp(problem, save_lp, overwrite=overwrite)
            if save_mps is not None:
                write_mps(problem, save_mps, overwrite=overwrite)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite,
                          run={"solver": solver, "timings_s": dict(result.timings)})
    render(report, fmt, table)


@app.command()
def value(
    scenario: ScenarioOpt = None,
    multiple: Annotated[float | None, typer.Option(
        "--multiple", help="EV/Sales multiple on the valuation year's sales (default: "
        "finance.ev_sales_multiple, the note's 7.5x).")] = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Capacity -> GenAI revenue -> total revenue -> EV/Sales target price (HKD)."""
    from capacity.pipeline import value_report

    extra = [f"finance.ev_sales_multiple={multiple!r}"] if multiple is not None else []
    with claim_out(out, overwrite):
        sc = load(scenario, [*(sets or []), *extra])
        report = value_report(sc, solver=solver)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite, run={"solver": solver})
    render(report, fmt, table)


@app.command()
def controls(
    scenario: ScenarioOpt = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="Quarter to report, e.g. 2024Q1 (default: the quarter after the base "
        "period).")] = None,
    timeline: Annotated[bool, typer.Option(
        "--timeline", help="A chip x quarter status matrix over the horizon instead.")] = False,
    start: Annotated[str | None, typer.Option(
        "--start", help="With --timeline: first quarter (default: after the base period).")]
    = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="With --timeline: last quarter (default: the horizon end).")] = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
) -> None:
    """Export-control status of every chip: allowed / notify / licence / banned, the deciding
    rule, purchase cap and price factor."""
    from capacity.pipeline import controls_report

    report = controls_report(load(scenario, sets), at=at, timeline=timeline, start=start,
                             end=end)
    # the long 'availability' and 'rules' tables are in json; --table shows them as a table
    render(report, fmt, table or (report.primary if fmt is Format.table else None))


@app.command()
def backtest(
    actuals: Annotated[Path, typer.Option(
        "--actuals", "-a", help="CSV of disclosures, one row per period (2023Q2, 1H23, FY2023) "
        "with metric columns such as gpus_units, computing_power_pflops, revenue_rmb_m; see "
        "docs/backtest.md.")],
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Forecast vs actuals: GPUs, computing power and revenue against later disclosures."""
    from capacity.pipeline import backtest_report

    with claim_out(out, overwrite):
        sc = load(scenario, sets)
        report = backtest_report(sc, actuals, solver=solver)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite)
    if fmt is Format.table and table is None:  # the long source texts stay in json/csv/--out
        shown = Report(report.kind, scalars=report.scalars,
                       tables={"rows": report.tables["rows"].drop(columns="source"),
                               "summary": report.tables["summary"]},
                       primary="rows", titles=report.titles)
        render(shown, fmt)
        return
    render(report, fmt, table)


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Scenario TOML file (or shipped name) to check.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Check a scenario file without running it: keys, types, overrides, chips, rules,
    quarters. Prints 'FILE: ok (N changes)' and the changes, or one error line (exit 2)."""
    from capacity.scenarios import load_scenario

    sc = load_scenario(file)
    changes = pd.DataFrame([c.as_record() for c in sc.changes],
                           columns=["key", "old", "new", "origin"])
    if fmt is Format.table:
        typer.echo(f"{file}: ok ({len(sc.changes)} changes)")
        for c in sc.changes:
            rec = c.as_record()
            typer.echo(f"  {rec['key']}: {_short(rec['old'])} -> {_short(rec['new'])}"
                       f"  [{rec['origin']}]")
        return
    render(Report("validate", scalars={"file": file, "scenario": sc.name,
                                       "description": sc.description, "ok": True,
                                       "n_changes": len(sc.changes)},
                  tables={"changes": changes}, primary="changes"), fmt)


def _short(v: Any, width: int = 100) -> str:
    import json

    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[:width - 3] + "..."


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(
        help="Scenario names or TOML files; the first is the reference for the differences.")],
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Plan and value several scenarios; one KPI table with scenarios as columns and the
    differences against the first (EFLOPS, GPUs, capex, shortfall, binding limits, GenAI
    revenue and share, target price)."""
    import time

    from capacity.compare import compare as run_compare

    with claim_out(out, overwrite):  # refuse early, before any solving
        t0 = time.perf_counter()
        loaded = [load(name, sets) for name in scenarios]
        t1 = time.perf_counter()
        result = run_compare(loaded, solver=solver)
        if out is not None:
            timings = {"load_s": t1 - t0, "total_s": time.perf_counter() - t0,
                       "scenarios": result.timings}
            write_outputs(out, result.reports, loaded, overwrite,
                          run={"solver": solver, "timings_s": timings})
    render(result.report, fmt, table)


@app.command()
def stress(
    scenario: ScenarioOpt = None,
    samples: Annotated[int, typer.Option("--samples", "-n", help="Number of Monte Carlo "
                                         "draws.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws (same seed, same "
                                      "result, for any --workers or --executor).")] = 0,
    workers: Annotated[int | None, typer.Option("--workers", "-w", help="Worker processes "
                                                "(default: CPU count).")] = None,
    executor: Annotated[str, typer.Option("--executor", help="processes (local, default), "
                                          "dask (a LocalCluster, or --scheduler) or "
                                          "inline.")] = "processes",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="With --executor dask: "
                                                  "address of a running scheduler, e.g. "
                                                  "tcp://10.0.0.5:8786.")] = None,
    threshold: Annotated[list[str] | None, typer.Option(
        "--threshold", help="Probability to report, 'kpi@period OP number' with OP in >=, <=, "
        ">, < (repeatable; default peak_eflops@2025Q4>=20 and genai_share@2025>=0.4).")]
    = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Monte Carlo stress test: uncertain inputs -> percentiles, threshold probabilities, how
    often each limit binds, and a tornado of one-at-a-time swings."""
    import os
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from capacity.pipeline import stress_report

    if scheduler is not None and executor != "dask":
        raise InputError("--scheduler", "goes with --executor dask")
    with claim_out(out, overwrite):  # refuse early, before any solving
        n_workers = workers if workers is not None else max(1, os.cpu_count() or 1)
        sc = load(scenario, sets)
        console = Console(stderr=True)
        t0 = time.perf_counter()
        with Progress(TextColumn("stress"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                      console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("draws", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = stress_report(sc, samples, seed, threshold, executor, n_workers,
                                   scheduler, progress)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite,
                          run={"executor": executor, "workers": n_workers,
                               "timings_s": {"total_s": time.perf_counter() - t0}})
    render(report, fmt, table)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _fail(message: str, code: int = 2) -> int:
    line = " ".join(str(message).split())
    sys.stderr.write(f"capacity: {line}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    try:
        rv = app(args=argv, prog_name="capacity", standalone_mode=False)
    except CapacityError as exc:
        return _fail(exc.one_line())
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        return _fail(f"{loc}: {err['msg']}")
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return _fail("aborted", 130)
    except typer.TyperException as exc:  # click usage errors (vendored by typer)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
            return 0
        name = getattr(ctx, "info_name", None)
        hint = f" (see 'capacity {name} --help')" if name and name != "capacity" \
            else " (see 'capacity --help')"
        return _fail(exc.format_message() + hint, int(getattr(exc, "exit_code", 2) or 2))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        return 0
    except OSError as exc:
        return _fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")
    if isinstance(rv, int):
        return rv
    return 0
