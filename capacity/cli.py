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


def _hide_flag_types() -> None:
    """Show no type for a flag or an argument in the help: typer >= 0.24 prints ``<bool>``
    beside --help and every on/off flag, as if it took a value, and ``<list[str]>`` beside an
    argument whose name already says ``SCENARIOS...``. A no-op where typer has no such hook."""
    core = getattr(typer, "core", None)
    for cls_name, hide in (("TyperOption", lambda p: getattr(p, "is_flag", False)
                            and p.metavar is None),
                           ("TyperArgument", lambda p: True)):
        cls = getattr(core, cls_name, None)
        shown = getattr(cls, "display_type_rich", None)
        if shown is None or getattr(shown, "_capacity", False):
            continue

        def display_type_rich(self, ctx, _shown=shown, _hide=hide):
            return None if _hide(self) else _shown(self, ctx)

        display_type_rich._capacity = True
        cls.display_type_rich = display_type_rich


_hide_flag_types()

app = typer.Typer(
    name="capacity",
    help="AI compute capacity planner: GPU fleet, export controls, purchase LP, valuation link.\n\n"
         "The subject (a company's disclosures, baseline and scenarios) is a data folder: "
         "--subject DIR; the shipped one is SenseTime's SenseCore fleet.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
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
    "--scenario", "-s", metavar="NAME|FILE",
    help="Shipped scenario name (see 'capacity scenarios') or a scenario "
    "TOML file. Default: baseline (the vintage as it stands).")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", help="table (units in headers; boxed on a terminal, plain columns when "
    "piped), json (one object) or csv (the main table; pick another with --table).",
    case_sensitive=False)]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="KEY=VALUE", help="Override one input, KEY=VALUE with a dotted key and a "
    "TOML value, e.g. --set planner.pue=1.4 (repeatable).")]
ColumnsOpt = Annotated[str | None, typer.Option(
    "--columns", metavar="A,B,...", help="Columns to show, in this order, comma-separated "
    "(names as in --format csv, e.g. period,peak_eflops); with csv, the columns written. "
    "Default: every column that fits the terminal, and a line naming the rest.")]


def table_option(*names: str):
    """The ``--table`` option of a command whose report holds the tables ``names`` (listed in
    its help and offered by shell completion)."""
    def complete(incomplete: str) -> list[str]:
        return [n for n in names if n.startswith(incomplete)]

    return Annotated[str | None, typer.Option(
        "--table", metavar="TABLE", autocompletion=complete,
        help=f"The table to print with --format csv or table (default: {names[0]}; "
        f"all with table). Choices: {', '.join(names)}.")]


def split_columns(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (``--columns``)."""
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise InputError("--columns", "name at least one column, e.g. --columns period,chip")
    return names


OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", metavar="DIR",
    help="Write CSVs, workbook, charts, report and manifest to this new folder.")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", metavar="",
    help="Allow --out (and --save-lp/--save-mps) to replace what exists.")]
SolverOpt = Annotated[str, typer.Option(
    metavar="highs|cbc",
    help="LP solver: highs (in-process, default) or cbc (where PuLP ships it).")]
TimeLimitOpt = Annotated[float | None, typer.Option(
    "--time-limit", metavar="SECONDS",
    help="Stop any one LP solve after this many seconds and fail in one line "
    "(default: no limit).")]

def _fmt_cell(v: Any) -> str:
    """One value outside a table column (scalars): as :func:`capacity.results.format_number`."""
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


def terminal_width(terminal: bool) -> int | None:
    """Width tables must fit: ``COLUMNS`` when set, else the terminal's width; None (no limit)
    when stdout is piped and ``COLUMNS`` is unset, so files and pipes keep every column."""
    import os
    import shutil

    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(int(env), MIN_WIDTH)
    if terminal:
        return max(shutil.get_terminal_size().columns, MIN_WIDTH)
    return None


MIN_WIDTH = 40
"""Narrowest width tables are laid out for (a narrower terminal gets lines of this width)."""

TEXT_MIN_WIDTH = 16
"""Narrowest a text column is wrapped to before columns after it are left out."""


class _Col:
    """One table column for display: its name, header, formatted cells and alignment."""

    def __init__(self, name: str, header: str, cells: list[str], right: bool) -> None:
        self.name, self.header, self.cells, self.right = name, header, cells, right
        self.tokens = _header_tokens(header)
        longest = max((len(c) for c in cells), default=0)
        word = max((len(t) for t in self.tokens), default=1)
        self.min_width = max(word, longest if right else min(longest, TEXT_MIN_WIDTH))
        self.natural = max(len(header), longest)
        self.width = self.min_width


def _header_tokens(header: str) -> list[str]:
    """A header cut only after ``_`` or at a space: ``training_shortfall [EFLOPS]`` ->
    ``training_``, ``shortfall``, ``[EFLOPS]`` (a line never ends inside a word)."""
    import re

    return [t for t in re.findall(r"[^_\s]*_|[^_\s]+", header) if t]


def _wrap_header(col: _Col, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for tok in col.tokens:
        glue = "" if not line or line.endswith("_") else " "
        if line and len(line) + len(glue) + len(tok) > width:
            lines.append(line)
            line = tok
        else:
            line = f"{line}{glue}{tok}"
    return [*lines, line] if line or not lines else lines


def _wrap_cell(text: str, width: int) -> list[str]:
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _column_cells(frame, name, row_decimals: list[int] | None) -> tuple[list[str], bool]:
    """Display text of one column and whether it is right-aligned (numbers).

    Floats in a column share one number of decimals (:func:`capacity.results.decimals_for`,
    by the column's unit and its largest figure); a table with a ``unit`` column (KPI tables)
    shares them per row instead, by that row's unit."""
    import pandas as pd

    from capacity.results import decimals_for, format_fixed, unit_of

    s = frame[name]
    values = list(s)
    if pd.api.types.is_bool_dtype(s):
        return ["yes" if v else "no" for v in values], False
    if pd.api.types.is_integer_dtype(s):
        sep = bool(unit_of(str(name)))
        return [f"{int(v):,}" if sep else str(int(v)) for v in values], True
    numeric = pd.api.types.is_float_dtype(s) or (s.dtype == object and len(s) > 0 and all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values))
    if numeric:
        if row_decimals is not None:
            places = row_decimals
        else:
            places = [decimals_for(unit_of(str(name)), values)] * len(values)
        return ["-" if v is None or pd.isna(v) else format_fixed(v, d)
                for v, d in zip(values, places, strict=True)], True
    return [_fmt_cell(v) if not (isinstance(v, float) and math.isnan(v)) else "-"
            for v in values], False


def _row_decimals(frame) -> list[int] | None:
    """Decimals per row of a table whose rows carry their own ``unit`` (KPI tables)."""
    import pandas as pd

    from capacity.results import decimals_for

    if "unit" not in frame.columns or pd.api.types.is_numeric_dtype(frame["unit"]):
        return None

    cols = [c for c in frame.columns if c not in ("unit",)]
    out = []
    for i in range(len(frame)):
        row = [frame[c].iloc[i] for c in cols]
        out.append(decimals_for(str(frame["unit"].iloc[i] or ""), row))
    return out


def pick_columns(frame, columns: list[str] | None, table: str):
    """The frame's columns to show: ``--columns`` (in its order, those this table has) or all."""
    if not columns:
        return list(frame.columns)
    return [c for c in columns if c in frame.columns]


def check_columns(columns: list[str] | None, frames: dict) -> None:
    """``--columns`` names must each be a column of at least one printed table."""
    if not columns:
        return
    import difflib

    known = sorted({str(c) for f in frames.values() for c in f.columns})
    for name in columns:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError("--columns", f"unknown column {name!r} ({hint}columns: "
                             f"{', '.join(known)})")


def layout(cols: list[_Col], width: int | None, sep: int, edge: int) -> list[str]:
    """Fit columns into ``width``: each at least its narrowest (numbers whole, text wrapped to
    :data:`TEXT_MIN_WIDTH`, header words whole), left to right while they fit, then widened
    towards their natural width. Returns the names left out. ``sep`` is the space between
    columns and ``edge`` what the frame adds (rich: borders and padding)."""
    if width is None:
        for c in cols:
            c.width = c.natural
        return []
    used = edge
    shown: list[_Col] = []
    for c in cols:
        need = c.min_width + (sep if shown else 0)
        if shown and used + need > width:
            break
        shown.append(c)
        used += need
    if len(shown) == 1 and used > width:  # one column wider than the terminal: wrap it
        shown[0].width = max(1, width - edge)
        used = width
    left = width - used
    for c in shown:
        grow = min(left, c.natural - c.width)
        if grow > 0:
            c.width += grow
            left -= grow
    omitted = [c.name for c in cols[len(shown):]]
    del cols[len(shown):]
    return omitted


def _omitted_line(omitted: list[str], width: int | None) -> list[str]:
    if not omitted:
        return []
    import textwrap

    text = (f"{len(omitted)} more column{'s' if len(omitted) > 1 else ''}: "
            f"{', '.join(omitted)}; use --columns")
    return textwrap.wrap(text, width, break_on_hyphens=False) if width else [text]


def _display_columns(report: Report, name: str, columns: list[str] | None) -> list[_Col]:
    from capacity.results import plain_frame, short_header

    frame = plain_frame(report.tables[name])
    row_decimals = _row_decimals(frame)
    cols = []
    for c in pick_columns(frame, columns, name):
        cells, right = _column_cells(frame, c, row_decimals)
        # a text column whose name ends like a unit (stress: kpi_eflops) shows its name
        cols.append(_Col(str(c), short_header(str(c)) if right else str(c), cells, right))
    return cols


def _plain_rows(cols: list[_Col]) -> list[list[list[str]]]:
    """Per row, per column, the wrapped lines of its cell."""
    n = len(cols[0].cells) if cols else 0
    return [[_wrap_cell(c.cells[i], c.width) for c in cols] for i in range(n)]


def _plain_table(cols: list[_Col]) -> str:
    """Columns padded to their width, two spaces apart; numbers right-aligned; headers and
    text cells wrapped onto more lines where their column is narrower than they are."""
    def lines_of(cells: list[list[str]]) -> list[str]:
        height = max(len(x) for x in cells)
        out = []
        for k in range(height):
            parts = []
            for c, lines in zip(cols, cells, strict=True):
                text = lines[k] if k < len(lines) else ""
                parts.append(text.rjust(c.width) if c.right else text.ljust(c.width))
            out.append("  ".join(parts).rstrip())
        return out

    head = lines_of([_wrap_header(c, c.width) for c in cols])
    rule = "  ".join("-" * c.width for c in cols)
    body = [line for row in _plain_rows(cols) for line in lines_of(row)]
    return "\n".join([*head, rule, *body]) + "\n"


def _scalar_lines(report: Report, width: int | None) -> list[tuple[str, list[str]]]:
    """(header, wrapped value lines) per scalar shown (lists and mappings are in json)."""
    from capacity.results import display_scalar, short_header

    items = [(short_header(k), display_scalar(k, v)) for k, v in report.scalars.items()
             if not isinstance(v, list | dict)]
    if not items:
        return []
    key_w = max(len(k) for k, _ in items)
    room = None if width is None else max(12, width - key_w - 2)
    return [(k, _wrap_cell(v, room) if room else [v]) for k, v in items]


def _wrap_text(text: str, width: int | None) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) if width else [text]


def render(report: Report, fmt: Format, table: str | None = None,
           columns: list[str] | None = None) -> None:
    """Print a report in the chosen format to stdout.

    ``table`` is drawn with rich boxes when stdout is a terminal and as plain aligned columns
    otherwise (pipes, files, captured output), fitted to :func:`terminal_width`: columns in
    order while they fit (``columns`` picks and orders them), headers shortened by
    :func:`capacity.results.short_header` and wrapped between words, long text wrapped, and a
    line naming the columns left out. ``json`` and ``csv`` are the same bytes either way;
    ``columns`` picks the CSV's columns too.
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
    if fmt is Format.csv:
        from capacity.results import csv_text, plain_frame

        name = table or report.primary or next(iter(report.tables))
        frame = report.tables[name]
        if columns:
            check_columns(columns, {name: plain_frame(frame)})
            frame = plain_frame(frame)[pick_columns(plain_frame(frame), columns, name)]
        sys.stdout.write(csv_text(frame))
        return
    from capacity.results import plain_frame

    names = [table] if table else list(report.tables)
    if columns:
        frames = {n: plain_frame(report.tables[n]) for n in names}
        check_columns(columns, frames)
        names = [n for n in names if any(c in frames[n].columns for c in columns)]
    terminal = _stdout_is_terminal()
    width = terminal_width(terminal)
    scalars = _scalar_lines(report, width)
    if not terminal:
        parts = []
        if scalars:
            key_w = max(len(k) for k, _ in scalars)
            parts.append("".join(f"{(k if i == 0 else '').ljust(key_w)}  {line}".rstrip() + "\n"
                                 for k, lines in scalars for i, line in enumerate(lines)))
        for name in names:
            cols = _display_columns(report, name, columns)
            omitted = layout(cols, width, sep=2, edge=0)
            title = "\n".join(_wrap_text(report.titles.get(name, name), width))
            foot = "".join(f"{line}\n" for line in _omitted_line(omitted, width))
            parts.append(f"{title}\n{_plain_table(cols)}{foot}")
        sys.stdout.write("\n".join(parts))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=False, width=width)
    if scalars:
        grid = Table(show_header=False, box=None, pad_edge=False)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for k, lines in scalars:
            grid.add_row(Text(k), Text("\n".join(lines)))
        console.print(grid)
    for name in names:
        cols = _display_columns(report, name, columns)
        # rich: a border before each column and after the last, one space padding each side
        omitted = layout(cols, width, sep=3, edge=4)
        t = Table(title=Text(report.titles.get(name, name)), title_justify="left")
        for c in cols:
            t.add_column(Text("\n".join(_wrap_header(c, c.width))),
                         justify="right" if c.right else "left", width=c.width, no_wrap=True)
        for row in _plain_rows(cols):
            t.add_row(*(Text("\n".join(lines)) for lines in row))
        console.print(t)
        for line in _omitted_line(omitted, width):
            console.print(Text(line, style="dim"))


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


_AS_OF: dict[str, str | None] = {"value": None}
"""The global ``--as-of DATE`` of this invocation (set by the root callback)."""


def load(scenario: str | None, sets: list[str] | None = None):
    """Load a scenario at the ``--as-of`` vintage with command-line overrides; a misspelt
    ``--set`` key names the closest known key (:func:`set_key_hint`)."""
    from capacity.scenarios import load_scenario

    values = parse_sets(sets)
    try:
        return load_scenario(scenario, set_values=values, as_of=_AS_OF["value"])
    except InputError as exc:
        hinted = set_key_hint(exc, list(values))
        if hinted is None:
            raise
        raise hinted from None


_CMDLINE = "<command line>: "


def input_keys() -> list[str]:
    """Every dotted key of the inputs a scenario or ``--set`` can change (the fields of
    :class:`capacity.schemas.Inputs`, nested models walked; mappings and lists end a key)."""
    from pydantic import BaseModel

    from capacity.schemas import Inputs

    out: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            key = f"{prefix}{info.alias or name}"
            out.append(key)
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")

    walk(Inputs, "")
    return out


def set_key_hint(exc: InputError, set_keys: list[str]) -> InputError | None:
    """``exc`` with "did you mean 'planner.pue'?" when it is an unknown ``--set`` key and a
    known key is close (:func:`difflib.get_close_matches`); None otherwise."""
    import difflib

    from capacity.errors import UnknownNameError

    if not exc.field.startswith(_CMDLINE) or exc.problem != "unknown key":
        return None
    bad = exc.field[len(_CMDLINE):]
    given = next((k for k in set_keys if k == bad or k.startswith(bad + ".")), bad)
    known = input_keys()
    depth = bad.count(".")
    peers = [k for k in known if k.count(".") == depth]
    close = difflib.get_close_matches(bad, peers, n=1, cutoff=0.6)
    if not close:
        return None
    fixed = close[0] + given[len(bad):]
    return UnknownNameError(exc.field, f"unknown key (did you mean {fixed!r}?)")


def busy(label: str, total: int | None = None):
    """A progress display on stderr while a command works, drawn only when stderr is a terminal
    (never in pipes, files or captured output). Yields ``update(done, total, text)``."""
    import contextlib

    @contextlib.contextmanager
    def run():
        from rich.console import Console

        console = Console(stderr=True)
        if not console.is_terminal:
            yield lambda done, total=None, text="": None
            return
        from rich import progress as rp

        with rp.Progress(rp.SpinnerColumn(), rp.TextColumn(label), rp.BarColumn(),
                         rp.TextColumn("{task.completed}/{task.total}" if total else ""),
                         rp.TextColumn("{task.description}"), rp.TimeElapsedColumn(),
                         console=console, transient=True) as bar:
            task = bar.add_task("", total=total)

            def update(done: int, n: int | None = None, text: str = "") -> None:
                bar.update(task, completed=done, total=n if n is not None else total,
                           description=text)

            yield update

    return run()


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
    subject: Annotated[str | None, typer.Option(
        "--subject", metavar="DIR", help="Subject folder (baseline.toml, disclosures.csv, "
        "scenarios/; chips.csv and export_controls.toml optional): the company to plan. "
        "Default: $CAPACITY_SUBJECT, else the shipped data (docs/data.md).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="YYYY-MM-DD",
        help="Vintage: the inputs, disclosures and export-control rules as they could be known "
        "on this date (data/vintages/; default: the latest vintage, or the date a scenario "
        "pins). E.g. --as-of 2023-08-31 for the blind 1H23 baseline.")] = None,
) -> None:
    """AI compute capacity planner."""
    _AS_OF["value"] = as_of
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
    _apply_time_limit(time_limit)
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
    _apply_time_limit(time_limit)
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
                                           "served [RMB m]; max-compute: most effective "
                                           "EFLOPS-quarters within budget, power and access.")]
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
    _apply_time_limit(time_limit)
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
def value(
    scenario: ScenarioOpt = None,
    multiple: Annotated[float | None, typer.Option(
        "--multiple", metavar="X", help="EV/Sales multiple on the valuation year's sales (default: "
        "finance.ev_sales_multiple, the note's 7.5x).")] = None,
    fmt: FormatOpt = Format.table,
    table: table_option("revenue", "annual", "bridge", "sensitivity", "pnl", "pnl_by_quarter",
                       "cash", "cohorts", "methods", "dcf_sensitivity") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Capacity -> revenue -> P&L (fleet depreciation), cash runway -> target price (HKD) by
    EV/Sales, EV/EBITDA and DCF, and their blend."""
    _apply_time_limit(time_limit)
    picked = split_columns(columns)
    extra = [f"finance.ev_sales_multiple={multiple!r}"] if multiple is not None else []
    with claim_out(out, overwrite):
        from capacity.run import value_report

        sc = load(scenario, [*(sets or []), *extra])
        with busy("value"):
            report = value_report(sc, solver=solver)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite, run={"solver": solver})
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
def backtest(
    actuals: Annotated[Path | None, typer.Option(
        "--actuals", "-a", metavar="FILE",
            help="CSV of disclosures, one row per period (2023Q2, 1H23, FY2023) "
        "with metric columns such as gpus_units, computing_power_pflops, revenue_rmb_m; see "
        "docs/backtest.md.")] = None,
    rolling: Annotated[bool, typer.Option(
        "--rolling", metavar="",
            help="Forecast from every vintage and score every later disclosure in "
        "data/disclosures.csv (tables rows, summary by metric and horizon, reference).")]
    = False,
    scenario: ScenarioOpt = None,
    fmt: FormatOpt = Format.table,
    table: table_option("rows", "summary", "paths", "reference") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Forecast vs actuals: GPUs, computing power and revenue against later disclosures."""
    _apply_time_limit(time_limit)
    picked = split_columns(columns)
    if rolling == (actuals is not None):
        raise InputError("--actuals", "give either --actuals FILE or --rolling")
    if rolling and _AS_OF["value"] is not None:
        raise InputError("--as-of", "--rolling runs every vintage; drop --as-of")
    with claim_out(out, overwrite):
        from capacity.commands import backtest_report, rolling_backtest_report

        if rolling:
            with busy("backtest --rolling"):
                report = rolling_backtest_report(scenario, solver=solver,
                                                 sets=parse_sets(sets) or None)
            if out is not None:
                write_outputs(out, [report], [], overwrite)
            render(report, fmt, table, picked)
            return
        sc = load(scenario, sets)
        with busy("backtest"):
            report = backtest_report(sc, actuals, solver=solver)
        if out is not None:
            write_outputs(out, [report], [sc], overwrite)
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
def compare(
    scenarios: Annotated[list[str], typer.Argument(
        help="Scenario names or TOML files; the first is the reference for the differences.")],
    fmt: FormatOpt = Format.table,
    table: table_option("kpis", "kpis_text", "scenarios", "binding", "changes") = None,
    columns: ColumnsOpt = None,
    sets: SetOpt = None,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Plan and value several scenarios; one KPI table with scenarios as columns and the
    differences against the first (EFLOPS, GPUs, capex, shortfall, binding limits, GenAI
    revenue and share, target price); the most valuable limits in kpis_text."""
    _apply_time_limit(time_limit)
    picked = split_columns(columns)
    import time

    with claim_out(out, overwrite):  # refuse early, before any solving
        from capacity.compare import compare as run_compare

        t0 = time.perf_counter()
        loaded = [load(name, sets) for name in scenarios]
        t1 = time.perf_counter()
        with busy("compare", total=len(loaded)) as update:
            result = run_compare(loaded, solver=solver, progress=update)
        if out is not None:
            timings = {"load_s": t1 - t0, "total_s": time.perf_counter() - t0,
                       "scenarios": result.timings}
            with busy("writing --out"):
                write_outputs(out, result.reports, loaded, overwrite,
                              run={"solver": solver, "timings_s": timings})
    render(result.report, fmt, table, picked)


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
        "(repeatable; default peak_eflops_2025Q4>=20 and genai_share_2025>=0.4; the older "
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
    _apply_time_limit(time_limit)
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


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, metavar="PORT",
                                      help="Port to listen on.")] = 8050,
    host: Annotated[str, typer.Option("--host", metavar="HOST",
                                      help="Address to listen on (default: this "
                                      "machine only).")] = "127.0.0.1",
) -> None:
    """Explore scenarios in the browser: pick a scenario and rules, move inputs, see the plan
    and valuation re-solved (needs pip install 'capacity[app]')."""
    from capacity.app import serve as run_app

    run_app(host=host, port=port)


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


def hoist_as_of(args: list[str]) -> list[str]:
    """``--as-of DATE`` (or ``--as-of=DATE``) anywhere on the line moved to the front, where
    the root callback reads it: ``capacity value --as-of 2023-08-31`` is
    ``capacity --as-of 2023-08-31 value``."""
    out: list[str] = []
    front: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out += args[i:]
            break
        if a == "--as-of" and i + 1 < len(args):
            front += args[i:i + 2]
            i += 2
            continue
        if a.startswith("--as-of="):
            front.append(a)
        else:
            out.append(a)
        i += 1
    return front + out


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
