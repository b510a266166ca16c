"""The ``capacity`` command line: parse, call one library function, render, set the exit code.

The only module that talks to the terminal. User errors (``CapacityError`` and pydantic's
``ValidationError``) become one line ``capacity: field: problem`` on stderr and exit code 2.

Start-up stays light: this module imports only typer at load time; pandas, pydantic, the
solvers and rich are imported inside the commands that use them, so ``capacity --version`` and
``--help`` load none of them (``tests/test_startup.py``).
"""

from __future__ import annotations

import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capacity.errors import CapacityError, InputError

if TYPE_CHECKING:
    import pulp

    from capacity.results import Report

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
    "--format", "-f", help="table (units in headers; boxed on a terminal, plain columns when "
    "piped), json (one object) or csv (the main table; pick another with --table).",
    case_sensitive=False)]
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
TimeLimitOpt = Annotated[float | None, typer.Option(
    "--time-limit", help="Stop any one LP solve after this many seconds and fail in one line "
    "(default: no limit).")]

def _fmt_cell(v: Any) -> str:
    from capacity.results import format_number

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format_number(v)
    return str(v)


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


def _plain_table(headers: list[str], rows: list[list[str]], right: list[bool]) -> str:
    """Columns padded to their widest cell, two spaces apart; numbers right-aligned."""
    widths = [max([len(h), *(len(r[j]) for r in rows)]) for j, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w)
                         for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)]) + "\n"


def _tables(report: Report, names: list[str]):
    """(title, headers with units, rows of display text, right-aligned per column) per table."""
    import pandas as pd

    from capacity.results import header_with_unit, plain_frame

    for name in names:
        frame = plain_frame(report.tables[name])
        headers = [header_with_unit(str(c)) for c in frame.columns]
        right = [bool(pd.api.types.is_numeric_dtype(frame[c])) for c in frame.columns]
        rows = [[_fmt_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        yield report.titles.get(name, name), headers, rows, right


def render(report: Report, fmt: Format, table: str | None = None) -> None:
    """Print a report in the chosen format to stdout.

    ``table`` is drawn with rich boxes when stdout is a terminal and as plain aligned columns
    otherwise (pipes, files, captured output); ``json`` and ``csv`` are the same bytes either
    way.
    """
    if table is not None and table not in report.tables:
        raise InputError("--table", f"unknown table {table!r} (choose from "
                         f"{', '.join(report.tables)})")
    if fmt is Format.json:
        from capacity.results import json_text

        sys.stdout.write(json_text(report))
        return
    if fmt is Format.csv:
        from capacity.results import csv_text

        name = table or report.primary or next(iter(report.tables))
        sys.stdout.write(csv_text(report.tables[name]))
        return
    from capacity.results import header_with_unit

    scalars = [(header_with_unit(k), _fmt_cell(v)) for k, v in report.scalars.items()
               if not isinstance(v, list | dict)]
    names = [table] if table else list(report.tables)
    if not _stdout_is_terminal():
        parts = []
        if scalars:
            width = max(len(k) for k, _ in scalars)
            parts.append("".join(f"{k.ljust(width)}  {v}\n" for k, v in scalars))
        for title, headers, rows, right in _tables(report, names):
            parts.append(f"{title}\n{_plain_table(headers, rows, right)}")
        sys.stdout.write("\n".join(parts))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=False)
    if scalars:
        grid = Table(show_header=False, box=None, pad_edge=False)
        for k, v in scalars:
            grid.add_row(k, v)
        console.print(grid)
    for title, headers, rows, right in _tables(report, names):
        t = Table(title=title, title_justify="left")
        for h, r in zip(headers, right, strict=True):
            t.add_column(h, justify="right" if r else "left")
        for row in rows:
            t.add_row(*row)
        console.print(t)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=[1,2]"]`` -> ``{"a.b": 1, "c": [1, 2]}`` (values parsed as TOML, depth
    guarded: :func:`capacity.scenarios.parse_set_value`)."""
    from capacity.scenarios import parse_set_value

    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError("--set", f"expected KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        out[key.strip()] = parse_set_value(raw, key)
    return out


def load(scenario: str | None, sets: list[str] | None = None):
    """Load a scenario with command-line overrides."""
    from capacity.scenarios import load_scenario

    return load_scenario(scenario, set_values=parse_sets(sets))


def _apply_time_limit(seconds: float | None) -> None:
    """``--time-limit``: the limit of every solve of this run, workers included."""
    from capacity.lp import set_time_limit

    set_time_limit(seconds)


def plan_problem(result: Any) -> pulp.LpProblem:
    """The LP of a solved plan as a PuLP problem, for ``--save-lp`` / ``--save-mps``: the export
    of the same arrays HiGHS solved (:func:`capacity.planner.export.to_pulp`)."""
    from capacity.planner.export import to_pulp

    return to_pulp(result.extra["model"]).problem


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
    time_limit: TimeLimitOpt = None,
) -> None:
    """Chip mixes consistent with the disclosed GPU counts and EFLOPS (central, min, max)."""
    _apply_time_limit(time_limit)
    from capacity.commands import calibration_report

    render(calibration_report(load(scenario, sets), solver=solver), fmt, table)


@app.command()
def chips(
    fmt: FormatOpt = Format.table,
    scenario: ScenarioOpt = None,
) -> None:
    """The chip catalog with TPP and performance density."""
    from capacity.chips import catalog_table
    from capacity.results import Report

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
    from capacity.results import Report
    from capacity.scenarios import describe_shipped

    render(Report("scenarios", tables={"scenarios": describe_shipped()}, primary="scenarios"),
           fmt)


@app.command()
def demand(
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
) -> None:
    """Token stock and effective EFLOPS demand per quarter: training, inference, leasing."""
    _apply_time_limit(time_limit)
    from capacity.commands import demand_report

    render(demand_report(load(scenario, sets)), fmt, table)


@app.command()
def plan(
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
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
    _apply_time_limit(time_limit)
    from capacity.report.write import check_new_file

    for path in (save_lp, save_mps):  # refuse early, before any solving
        if path is not None:
            check_new_file(path, overwrite)
    with claim_out(out, overwrite):
        from capacity.run import plan_report

        sc = load(scenario, sets)
        result, report = plan_report(sc, solver=solver, integer=integer, objective=objective)
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
    time_limit: TimeLimitOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Capacity -> GenAI revenue -> total revenue -> EV/Sales target price (HKD)."""
    _apply_time_limit(time_limit)
    extra = [f"finance.ev_sales_multiple={multiple!r}"] if multiple is not None else []
    with claim_out(out, overwrite):
        from capacity.run import value_report

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
    from capacity.commands import controls_report

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
    time_limit: TimeLimitOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Forecast vs actuals: GPUs, computing power and revenue against later disclosures."""
    _apply_time_limit(time_limit)
    with claim_out(out, overwrite):
        from capacity.commands import backtest_report

        sc = load(scenario, sets)
        report = backtest_report(sc, actuals, solver=solver)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite)
    if fmt is Format.table and table is None:
        from capacity.results import Report
  # the long source texts stay in json/csv/--out
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
def compare(
    scenarios: Annotated[list[str], typer.Argument(
        help="Scenario names or TOML files; the first is the reference for the differences.")],
    fmt: FormatOpt = Format.table,
    table: TableOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Plan and value several scenarios; one KPI table with scenarios as columns and the
    differences against the first (EFLOPS, GPUs, capex, shortfall, binding limits, GenAI
    revenue and share, target price)."""
    _apply_time_limit(time_limit)
    import time

    with claim_out(out, overwrite):  # refuse early, before any solving
        from capacity.compare import compare as run_compare

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
    time_limit: TimeLimitOpt = None,
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
    _apply_time_limit(time_limit)
    import os
    import time

    if scheduler is not None and executor != "dask":
        raise InputError("--scheduler", "goes with --executor dask")
    with claim_out(out, overwrite):  # refuse early, before any solving
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from capacity.commands import stress_report
        from capacity.schemas import MAX_STRESS_WORKERS, check_stress_request

        n_workers = workers if workers is not None else \
            min(MAX_STRESS_WORKERS, max(1, os.cpu_count() or 1))
        check_stress_request(samples, seed, n_workers)  # ranges, before loading anything
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


def _is_validation_error(exc: BaseException) -> bool:
    """Whether ``exc`` is pydantic's ``ValidationError`` (without importing pydantic: if it is
    not loaded, nothing raised one)."""
    core = sys.modules.get("pydantic_core")
    return core is not None and isinstance(exc, core.ValidationError)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:
        typer.echo(_version_line())  # answered before typer builds every command's parameters
        return 0
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


if __name__ == "__main__":  # python -m capacity.cli
    raise SystemExit(main())
