"""The ``capacity`` command line: parse, call one library function, render, set the exit code.

The only module that talks to the terminal. User errors (``CapacityError`` and pydantic's
``ValidationError``) become one line ``capacity: field: problem`` on stderr and exit code 2. The
options the commands share are in :mod:`capacity.cli_options`; tables are laid out for the
terminal by :mod:`capacity.report.layout`.

Start-up stays light: this module imports only typer at load time; pandas, pydantic, the
solvers and rich are imported inside the commands that use them, so ``capacity --version`` and
``--help`` load none of them (``tests/test_startup.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capacity.cli_options import (
    AS_OF,
    NOTED,
    VALUE_TABLES,
    BacktestSamplesOpt,
    ColumnsOpt,
    Format,
    FormatOpt,
    OutOpt,
    OverwriteOpt,
    RunOptions,
    ScenarioOpt,
    SetOpt,
    SolverOpt,
    TimeLimitOpt,
    apply_time_limit,
    busy,
    claim_out,
    hoist_as_of,
    load,
    parse_sets,
    plan_problem,
    split_columns,
    table_option,
    with_run_options,
    write_outputs,
)
from capacity.cli_subjects import register as register_more_commands
from capacity.errors import CapacityError, InputError

if TYPE_CHECKING:
    from capacity.results import Report


app = typer.Typer(
    name="capacity",
    help="AI compute capacity planner: GPU fleet, export controls, purchase LP, valuation link.\n\n"
         "The subject (a company's disclosures, baseline and scenarios) is a data folder: "
         "--subject NAME or DIR (default: the shipped default; 'capacity subjects' lists them).",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


def terminal_width(terminal: bool) -> int | None:
    """Width tables must fit: ``COLUMNS`` when set, else the terminal's width; None (no limit)
    when stdout is piped and ``COLUMNS`` is unset, so files and pipes keep every column."""
    import os
    import shutil

    from capacity.report.layout import MIN_WIDTH

    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(int(env), MIN_WIDTH)
    if terminal:
        return max(shutil.get_terminal_size().columns, MIN_WIDTH)
    return None


def render(report: Report, fmt: Format, table: str | None = None,
           columns: list[str] | None = None, shown: list[str] | None = None) -> None:
    """Print a report in the chosen format to stdout.

    ``table`` is drawn with rich boxes when stdout is a terminal and as plain aligned columns
    otherwise (pipes, files, captured output), fitted to :func:`terminal_width` by
    :mod:`capacity.report.layout`: columns in order while they fit (``columns`` picks and
    orders them), headers shortened by :func:`capacity.results.short_header` and wrapped
    between words, long text wrapped, and a line naming the columns left out. ``json`` and
    ``csv`` are the same bytes either way; ``columns`` picks the CSV's columns too. ``shown``
    names the tables a table print without ``table`` shows (default: all); a last line names
    the others.
    """
    if table is not None and table not in report.tables:
        raise InputError("--table", f"unknown table {table!r} (choose from "
                         f"{', '.join(report.tables)})")
    if fmt is Format.json:
        if columns:
            raise InputError("--columns", "goes with --format table or csv")
        from capacity.results import json_text

        sys.stdout.write(json_text(report))
        return
    from capacity.report.layout import check_columns, more_tables_line, pick_columns
    from capacity.results import plain_frame

    if fmt is Format.csv:
        from capacity.results import csv_text

        name = table or report.primary or next(iter(report.tables))
        frame = report.tables[name]
        if columns:
            check_columns(columns, {name: plain_frame(frame)})
            frame = plain_frame(frame)[pick_columns(plain_frame(frame), columns, name)]
        sys.stdout.write(csv_text(frame))
        return
    names = [table] if table else [n for n in report.tables if shown is None or n in shown]
    rest = [] if table else [n for n in report.tables if n not in names]
    if columns:
        frames = {n: plain_frame(report.tables[n]) for n in names}
        check_columns(columns, frames)
        names = [n for n in names if any(c in frames[n].columns for c in columns)]
    terminal = _stdout_is_terminal()
    width = terminal_width(terminal)
    if not terminal:
        from capacity.report.layout import plain_text

        sys.stdout.write(plain_text(report, names, columns, width))
        sys.stdout.write("".join(f"\n{line}\n" for line in more_tables_line(rest, width)))
        return
    from rich.console import Console

    from capacity.report.layout import rich_tables

    console = Console(highlight=False, soft_wrap=False, width=width)
    for part in rich_tables(report, names, columns, width):
        console.print(part)
    for line in more_tables_line(rest, width):
        console.print(line, style="dim")


def _version_line() -> str:
    from capacity import __version__

    return f"capacity {__version__}"


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(_version_line())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Print the version and exit.")]
    = False,
    subject: Annotated[str | None, typer.Option(
        "--subject", metavar="NAME|DIR", help="The company to plan: a shipped subject's name "
        "('capacity subjects' lists them) or a subject folder (subject.toml, baseline.toml, "
        "disclosures.csv; the rest optional, docs/subjects.md). Default: $CAPACITY_SUBJECT, "
        "else the shipped default subject.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="YYYY-MM-DD",
        help="Vintage: the inputs, disclosures and export-control rules as they could be known "
        "on this date (data/vintages/; default: the latest vintage, or the date a scenario "
        "pins; docs/vintages.md lists the shipped vintages).")] = None,
) -> None:
    """AI compute capacity planner."""
    AS_OF["value"] = as_of
    NOTED.clear()  # the notes on missing optional parts: once per run
    # every run sets it (or resets it), so an in-process run never inherits the last one; the
    # data modules are imported only when needed, so 'capacity plan --help' stays light
    loaded = sys.modules.get("capacity.scenarios")
    if subject is not None:
        from capacity.scenarios import set_subject

        set_subject(subject)
    elif loaded is not None:
        loaded.set_subject(None)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


@app.command()
def calibrate(
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: table_option("mix", "dates", "orders") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
) -> None:
    """Chip mixes consistent with the disclosed GPU counts and EFLOPS (central, min, max)."""
    apply_time_limit(time_limit)
    from capacity.commands import calibration_report

    with busy("calibrate"):
        report = calibration_report(load(scenario, sets), solver=solver)
    render(report, fmt, table, split_columns(columns))


CHIP_COLUMNS = ["chip", "vendor", "country", "fp16_tflops", "int8_tops", "interconnect_gbs",
                "tdp_w", "die_mm2", "launch", "tpp", "tpp_source", "performance_density",
                "price_usd"]
"""The chip catalog's columns a terminal table shows by default (json and csv hold all)."""


@app.command()
def chips(
    fmt: FormatOpt = Format.table,
    scenario: ScenarioOpt = None,
    columns: ColumnsOpt = None,
) -> None:
    """The chip catalog with TPP and performance density."""
    from capacity.chips import catalog_table
    from capacity.results import Report

    sc = load(scenario)
    df = catalog_table(sc.catalog)
    picked = split_columns(columns)
    shown = df[CHIP_COLUMNS] if fmt is Format.table and not picked else df
    render(Report("chips", tables={"chips": shown}, primary="chips"), fmt, None, picked)


@app.command()
def scenarios(fmt: FormatOpt = Format.table, columns: ColumnsOpt = None) -> None:
    """List the shipped scenarios with a one-line description."""
    from capacity.results import Report
    from capacity.scenarios import describe_shipped

    render(Report("scenarios", tables={"scenarios": describe_shipped()}, primary="scenarios"),
           fmt, None, split_columns(columns))


@app.command()
def demand(
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
    fmt: FormatOpt = Format.table,
    table: table_option("quarters", "runs") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
) -> None:
    """Token stock and effective EFLOPS demand per quarter: training, inference, leasing."""
    apply_time_limit(time_limit)
    from capacity.commands import demand_report

    with busy("demand"):
        report = demand_report(load(scenario, sets))
    render(report, fmt, table, split_columns(columns))


@app.command()
def plan(
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: table_option("quarters", "purchases", "binding", "fleet", "purchase_value",
                        "economics") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    integer: Annotated[bool, typer.Option("--integer/--continuous", metavar="",
                                          help="Buy whole servers "
                                          "(planner.lot_units GPUs, the default), or fractional "
                                          "GPUs (the continuous relaxation). Shadow prices are "
                                          "the relaxation's either way.")]
    = True,
    objective: Annotated[str, typer.Option(metavar="npv|max-compute",
                                           help="npv: most net present value of the work "
                                           "served [reporting currency m]; max-compute: most "
                                           "effective EFLOPS-quarters within budget, power and "
                                           "access.")]
    = "npv",
    save_lp: Annotated[Path | None, typer.Option("--save-lp", metavar="FILE",
                                                 help="Write the model as an LP "
                                                 "file.")] = None,
    save_mps: Annotated[Path | None, typer.Option("--save-mps", metavar="FILE",
                                                  help="Write the model as an "
                                                  "MPS file.")] = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Plan GPU purchases with a linear program under export controls, budget and power."""
    apply_time_limit(time_limit)
    picked = split_columns(columns)
    from capacity.report.write import check_new_file

    for path in (save_lp, save_mps):  # refuse early, before any solving
        if path is not None:
            check_new_file(path, overwrite)
    with claim_out(out, overwrite):
        from capacity.run import plan_report

        sc = load(scenario, sets)
        with busy("plan"):
            result, report = plan_report(sc, solver=solver, integer=integer,
                                         objective=objective)
        if save_lp is not None or save_mps is not None:
            from capacity.report.write import write_lp, write_mps

            problem = plan_problem(result)
            if save_lp is not None:
                write_lp(problem, save_lp, overwrite=overwrite)
            if save_mps is not None:
                write_mps(problem, save_mps, overwrite=overwrite)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite,
                          run={"solver": solver, "timings_s": dict(result.timings)})
    render(report, fmt, table, picked)


@app.command()
@with_run_options
def value(
    scenario: ScenarioOpt = None,
    multiple: Annotated[float | None, typer.Option(
        "--multiple", metavar="X", help="EV/Sales multiple on the valuation year's sales (default: "
        "the latest broker basis in comps.csv by the vintage, else the note's 7.5x).")] = None,
    fmt: FormatOpt = Format.table,
    table: table_option(*VALUE_TABLES) = None,
    *,
    opts: RunOptions,
) -> None:
    """Capacity -> revenue -> P&L (fleet depreciation), cash runway -> target price (listing
    currency) by EV/Sales, EV/EBITDA and DCF, and their blend."""
    apply_time_limit(opts.time_limit)
    picked = split_columns(opts.columns)
    extra = [f"finance.ev_sales_multiple={multiple!r}"] if multiple is not None else []
    with claim_out(opts.out, opts.overwrite):
        from capacity.run import value_report

        sc = load(scenario, [*(opts.sets or []), *extra])
        with busy("value"):
            report = value_report(sc, solver=opts.solver)
        if opts.out is not None:
            write_outputs(opts.out, [report], [sc], opts.overwrite, run={"solver": opts.solver})
    render(report, fmt, table, picked)


@app.command()
def controls(
    scenario: ScenarioOpt = None,
    at: Annotated[str | None, typer.Option(
        "--at", metavar="QUARTER",
            help="Quarter to report, e.g. 2024Q1 (default: the quarter after the base "
        "period).")] = None,
    timeline: Annotated[bool, typer.Option(
        "--timeline", metavar="",
            help="A chip x quarter status matrix over the horizon instead.")] = False,
    start: Annotated[str | None, typer.Option(
        "--start", metavar="QUARTER",
            help="With --timeline: first quarter (default: after the base period).")]
    = None,
    end: Annotated[str | None, typer.Option(
        "--end", metavar="QUARTER",
            help="With --timeline: last quarter (default: the horizon end).")] = None,
    fmt: FormatOpt = Format.table,
    table: table_option("chips", "rules", "timeline", "availability") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
) -> None:
    """Export-control status of every chip: allowed / notify / licence / banned, the deciding
    rule, purchase cap and price factor. Tables: chips and rules; with --timeline, timeline,
    availability and rules."""
    from capacity.commands import controls_report

    report = controls_report(load(scenario, sets), at=at, timeline=timeline, start=start,
                             end=end)
    # the long 'availability' and 'rules' tables are in json; --table shows them as a table
    render(report, fmt, table or (report.primary if fmt is Format.table else None),
           split_columns(columns))


@app.command()
@with_run_options
def backtest(
    actuals: Annotated[Path | None, typer.Option(
        "--actuals", "-a", metavar="FILE",
            help="CSV of disclosures, one row per period (2024Q2, 1H24, FY2024) "
        "with metric columns such as gpus_units, computing_power_pflops, revenue_m; see "
        "docs/backtest.md.")] = None,
    rolling: Annotated[bool, typer.Option(
        "--rolling", metavar="",
            help="Forecast from every vintage and score every later disclosure in "
        "data/disclosures.csv (tables rows, summary by metric and horizon, reference).")]
    = False,
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: table_option("rows", "summary", "paths", "reference", "coverage") = None,
    samples: BacktestSamplesOpt = None,
    *,
    opts: RunOptions,
) -> None:
    """Forecast vs actuals: GPUs, computing power and revenue against later disclosures."""
    apply_time_limit(opts.time_limit)
    picked = split_columns(opts.columns)
    if rolling == (actuals is not None):
        raise InputError("--actuals", "give either --actuals FILE or --rolling")
    if rolling and AS_OF["value"] is not None:
        raise InputError("--as-of", "--rolling runs every vintage; drop --as-of")
    with claim_out(opts.out, opts.overwrite):
        from capacity.commands import backtest_report, rolling_backtest_report

        if rolling:
            with busy("backtest --rolling") as update:
                report = rolling_backtest_report(scenario, opts.solver, parse_sets(opts.sets)
                                                 or None, samples, progress=update)
            if opts.out is not None:
                write_outputs(opts.out, [report], [], opts.overwrite)
            render(report, fmt, table, picked)
            return
        sc = load(scenario, opts.sets)
        with busy("backtest"):
            report = backtest_report(sc, actuals, solver=opts.solver)
        if opts.out is not None:
            write_outputs(opts.out, [report], [sc], opts.overwrite)
    if fmt is Format.table and table is None:
        from capacity.results import Report

        # the long source texts stay in json/csv/--out (and --columns source)
        rows = report.tables["rows"]
        if not (picked and "source" in picked):
            rows = rows.drop(columns="source")
        shown = Report(report.kind, scalars=report.scalars,
                       tables={"rows": rows, "summary": report.tables["summary"]},
                       primary="rows", titles=report.titles)
        render(shown, fmt, None, picked)
        return
    render(report, fmt, table, picked)


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Scenario TOML file (or shipped name) to check.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Check a scenario file without running it: keys, types, overrides, chips, rules,
    quarters. Prints 'FILE: ok (N changes)' and the changes, or one error line (exit 2)."""
    import pandas as pd

    from capacity.results import Report
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
@with_run_options
def compare(
    scenarios: Annotated[list[str], typer.Argument(
        help="Scenario names or TOML files; the first is the reference for the differences.")],
    fmt: FormatOpt = Format.table,
    table: table_option("kpis", "kpis_text", "scenarios", "binding", "changes") = None,
    changes: Annotated[bool, typer.Option(
        "--changes", help="Also print what each scenario changes relative to the baseline "
        "(the vintage's changes included; the changes table).")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Print on stderr the seconds each stage took (load, plan, "
        "value, each kind of --out file).")] = False,
    *,
    opts: RunOptions,
) -> None:
    """Plan and value several scenarios; the KPIs side by side and the differences against
    the first (EFLOPS, GPUs, capex, shortfall, binding limits, GenAI revenue and share, target
    price) and the most valuable limits; the scenarios, binding and changes tables with
    --table (changes also with --changes). A terminal shows the scenarios as rows, each
    followed by its differences, in blocks of KPIs that fit its width."""
    apply_time_limit(opts.time_limit)
    picked = split_columns(opts.columns)
    import time

    with claim_out(opts.out, opts.overwrite):  # refuse early, before any solving
        from capacity.comparison import compare as run_compare

        t0 = time.perf_counter()
        loaded = [load(name, opts.sets) for name in scenarios]
        t1 = time.perf_counter()
        with busy("compare", total=len(loaded)) as update:
            result = run_compare(loaded, solver=opts.solver, progress=update)
        t2 = time.perf_counter()
        written: dict[str, float] = {}
        if opts.out is not None:
            timings = {"load_s": t1 - t0, "total_s": time.perf_counter() - t0,
                       "scenarios": result.timings}
            written = write_outputs(opts.out, result.reports, loaded, opts.overwrite,
                                    run={"solver": opts.solver, "timings_s": timings})
    render(result.report, fmt, table, picked,
           shown=["kpis", "kpis_text", *(["changes"] if changes else [])])
    if verbose:
        from capacity.report.layout import main_job_stages, stage_times

        sys.stderr.write(stage_times(main_job_stages(t1 - t0, t2 - t1, result.timings, written),
                                     time.perf_counter() - t0))


@app.command()
def stress(
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
    samples: Annotated[int, typer.Option("--samples", "-n", metavar="N",
                                         help="Number of Monte Carlo "
                                         "draws.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", metavar="N",
                                      help="Seed of the draws (same seed, same "
                                      "result, for any --workers or --executor).")] = 0,
    workers: Annotated[int | None, typer.Option("--workers", "-w", metavar="N",
                                                help="Worker processes "
                                                "(default: CPU count).")] = None,
    executor: Annotated[str, typer.Option("--executor", metavar="processes|dask|inline",
                                          help="processes (local, default), "
                                          "dask (a LocalCluster, or --scheduler) or "
                                          "inline.")] = "processes",
    scheduler: Annotated[str | None, typer.Option("--scheduler", metavar="ADDRESS",
                                                  help="With --executor dask: "
                                                  "address of a running scheduler, e.g. "
                                                  "tcp://10.0.0.5:8786.")] = None,
    threshold: Annotated[list[str] | None, typer.Option(
        "--threshold", metavar="KPI>=X", help="Probability to report, "
        "'kpi OP number' with OP in >=, <=, >, < and the KPI named as compare names it "
        "(repeatable; default: the subject's stress.thresholds in subject.toml; the older "
        "kpi@period is read as an alias).")]
    = None,
    fmt: FormatOpt = Format.table,
    table: table_option("percentiles", "thresholds", "binding_frequency", "tornado",
                        "inputs", "fan") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Monte Carlo stress test: uncertain inputs -> percentiles, threshold probabilities, how
    often each limit binds, and a tornado of one-at-a-time swings."""
    apply_time_limit(time_limit)
    picked = split_columns(columns)
    import os
    import time

    if scheduler is not None and executor != "dask":
        raise InputError("--scheduler", "goes with --executor dask")
    with claim_out(out, overwrite):  # refuse early, before any solving
        from capacity.commands import stress_report
        from capacity.schemas import MAX_STRESS_WORKERS, check_stress_request

        n_workers = workers if workers is not None else \
            min(MAX_STRESS_WORKERS, max(1, os.cpu_count() or 1))
        check_stress_request(samples, seed, n_workers)  # ranges, before loading anything
        sc = load(scenario, sets)
        t0 = time.perf_counter()
        with busy("stress", total=samples) as update:
            def progress(done: int, total: int) -> None:
                update(done, total, "draws")

            report = stress_report(sc, samples, seed, threshold, executor, n_workers,
                                   scheduler, progress)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite,
                          run={"executor": executor, "workers": n_workers,
                               "timings_s": {"total_s": time.perf_counter() - t0}})
    render(report, fmt, table, picked)


register_more_commands(app, render)  # subjects, serve (capacity.cli_subjects)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _fail(message: str, code: int = 2) -> int:
    line = " ".join(str(message).split())
    sys.stderr.write(f"capacity: {line}\n")
    return code


def _is_validation_error(exc: BaseException) -> bool:
    """Whether ``exc`` is pydantic's ``ValidationError`` (without importing pydantic: if it is
    not loaded, nothing raised one)."""
    core = sys.modules.get("pydantic_core")
    return core is not None and isinstance(exc, core.ValidationError)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code.

    SIGINT (Ctrl-C) and SIGTERM stop the run (:mod:`capacity.stops`): workers are ended and
    partial output removed on the way out, and the run ends with one line and exit code
    128 + the signal's number (130, 143).
    """
    from capacity.errors import Stopped
    from capacity.stops import stop_on_signals, stop_requested

    try:
        with stop_on_signals():
            code = _run(argv)
    except Stopped as exc:
        return _stopped(exc)
    except BaseException:
        if stop_requested() is None:
            raise
        code = 1
    finally:  # --subject holds for one run: an in-process caller gets the default back
        loaded = sys.modules.get("capacity.scenarios")
        if loaded is not None:
            loaded.set_subject(None)
    signum = stop_requested()  # a stop that code on the way caught and turned into an error
    return _stopped(Stopped(signum)) if signum is not None else code


def _stopped(exc) -> int:
    """The one line and exit code of a run stopped by a signal."""
    return _fail(exc.one_line(), exc.exit_code)


def _run(argv: list[str] | None) -> int:
    """Parse and run one command line; user errors become one line and exit code 2."""
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:
        typer.echo(_version_line())  # answered before typer builds every command's parameters
        return 0
    argv = hoist_as_of(list(sys.argv[1:] if argv is None else argv))
    try:
        rv = app(args=argv, prog_name="capacity", standalone_mode=False)
    except CapacityError as exc:
        return _fail(exc.one_line())
    except ValueError as exc:
        if not _is_validation_error(exc):
            raise
        from capacity.errors import input_error_from_validation

        return _fail(input_error_from_validation(exc).one_line())
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


if __name__ == "__main__":  # python -m capacity.cli (python -m capacity also ends fast on a stop)
    raise SystemExit(main())
