"""What the commands of :mod:`capacity.cli` share: output formats, options, loading a scenario.

The typer options every command declares the same way (``--scenario``, ``--format``, ``--set``,
``--columns``, ``--out`` ...) and how their help shows them (:func:`_hide_flag_types`),
:func:`with_run_options` for the commands that solve and may write an ``--out`` folder, the
parsing of ``--set`` and ``--columns``, the scenario loaded at the ``--as-of`` vintage, the
progress display and the ``--out`` helpers. Like :mod:`capacity.cli`, it imports only typer at
load time.
"""

from __future__ import annotations

import functools
import inspect
import sys
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

from capacity.errors import InputError

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


class Format(StrEnum):
    """Output formats."""

    table = "table"
    json = "json"
    csv = "csv"


ScenarioOpt = Annotated[str | None, typer.Option(
    "--scenario", "-s", metavar="NAME|FILE",
    help="Shipped scenario name (see 'capacity scenarios') or a scenario "
    "TOML file. Default: baseline (the vintage as it stands).")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", help="table (units in headers; boxed on a terminal, plain columns when "
    "piped), json (one object) or csv (the main table; pick another with --table).",
    case_sensitive=False)]
BacktestSamplesOpt = Annotated[int | None, typer.Option(
    "--samples", "-n", metavar="N", min=1, help="--rolling: draws of each vintage's uncertain "
    "inputs for the P10..P90 intervals (data/backtest_uncertain.toml; default 200).")]
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


VALUE_TABLES = ("revenue", "annual", "bridge", "sensitivity", "pnl", "pnl_by_quarter", "cash",
                "cohorts", "methods", "dcf_sensitivity", "inputs", "equity_bridge", "backlog",
                "npv_bridge", "comps", "street", "street_bridge")
"""Tables of ``capacity value`` (its ``--table`` choices), in report order."""


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

@dataclass(frozen=True)
class RunOptions:
    """The options a command that solves (and may write ``--out``) takes after its own, in the
    order its help lists them; each field's annotation is its typer option."""

    columns: ColumnsOpt = None
    sets: SetOpt = None
    solver: SolverOpt = "highs"
    time_limit: TimeLimitOpt = None
    out: OutOpt = None
    overwrite: OverwriteOpt = False


def with_run_options(command):
    """A command ``command(..., *, opts: RunOptions)`` as typer sees it: its own parameters,
    then the fields of :class:`RunOptions` as options (declared once there); typer's values
    for them reach the command gathered in ``opts``."""
    hints = get_type_hints(RunOptions, include_extras=True)
    shared = [inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                default=f.default, annotation=hints[f.name])
              for f in fields(RunOptions)]
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
           if p.name != "opts"]

    @functools.wraps(command)
    def run(**kwargs: Any) -> Any:
        opts = RunOptions(**{p.name: kwargs.pop(p.name) for p in shared})
        return command(**kwargs, opts=opts)

    run.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    return run


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


AS_OF: dict[str, str | None] = {"value": None}
"""The global ``--as-of DATE`` of this invocation (set by the root callback of
:mod:`capacity.cli`)."""


def load(scenario: str | None, sets: list[str] | None = None):
    """Load a scenario at the ``--as-of`` vintage with command-line overrides; a misspelt
    ``--set`` key names the closest known key (:func:`set_key_hint`)."""
    from capacity.scenarios import load_scenario
    from capacity.subjects import current_subject

    current_subject()  # a bad subject.toml is the one error line, before anything else
    values = parse_sets(sets)
    try:
        loaded = load_scenario(scenario, set_values=values, as_of=AS_OF["value"])
    except InputError as exc:
        hinted = set_key_hint(exc, list(values))
        if hinted is None:
            raise
        raise hinted from None
    tell_missing_parts(loaded)
    return loaded


NOTED: set[str] = set()
"""Lines about missing optional parts already printed in this run (the root callback clears
it), so a command that loads several scenarios says each once."""


def tell_missing_parts(scenario) -> None:
    """One line on stderr per optional part the subject lacks
    (:func:`capacity.subjects.missing_parts`), each once a run."""
    from capacity.subjects import missing_parts

    for line in missing_parts(scenario):
        if line not in NOTED:
            NOTED.add(line)
            sys.stderr.write(f"capacity: note: {line}\n")


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


def apply_time_limit(seconds: float | None) -> None:
    """``--time-limit``: the limit of every solve of this run, workers included."""
    from capacity.lp import set_time_limit

    set_time_limit(seconds)


def plan_problem(result: Any) -> pulp.LpProblem:
    """The LP of a solved plan as a PuLP problem, for ``--save-lp`` / ``--save-mps``: the export
    of the same arrays HiGHS solved (:func:`capacity.planner.export.to_pulp`)."""
    from capacity.planner.export import to_pulp

    return to_pulp(result.extra["model"]).problem


def write_outputs(out: Path, reports: list[Report], scenarios: list, overwrite: bool,
                  run: dict[str, Any] | None = None) -> dict[str, float]:
    """Write --out files (CSV per table, workbook, charts, report, manifest) atomically, with
    a progress display on a terminal's stderr naming each file and counting them (:func:`busy`).

    ``run`` (solver, timings) is recorded in the manifest. Returns the seconds per stage of the
    writing (:func:`capacity.report.write.write_output_dir`).
    """
    from capacity.report.write import write_output_dir

    with busy("writing --out", total=1) as update:
        return write_output_dir(out, reports, scenarios, overwrite=overwrite, run=run,
                                progress=update)


def claim_out(out: Path | None, overwrite: bool):
    """Hold ``--out`` for the whole command: a second run into it fails at once (exit 2), a
    non-empty folder without ``--overwrite`` is refused before solving, and what killed runs
    left beside it is removed (:func:`capacity.report.write.claim_destination`)."""
    from capacity.report.write import claim_destination

    return claim_destination(Path(out) if out is not None else None, overwrite)


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
