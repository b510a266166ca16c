"""Terminal tables laid out to a width: cells formatted, columns fitted, headers wrapped.

The layout engine behind ``--format table`` (:func:`capacity.cli.render` prints what it makes):
each table column becomes a :class:`Column` of display text, :func:`fit` keeps the columns that
fit the width (left to right) and widens them towards their natural width, and
:func:`plain_text` (pipes, files) or :func:`rich_tables` (a terminal: boxes) draws them. Nothing
here reads the terminal or prints; pandas and rich are imported inside the functions that use
them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from capacity.errors import InputError

if TYPE_CHECKING:
    from capacity.results import Report


def format_cell(v: Any) -> str:
    """One value outside a table column (scalars): as :func:`capacity.results.format_number`."""
    from capacity.results import format_number

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format_number(v)
    return str(v)


MIN_WIDTH = 40
"""Narrowest width tables are laid out for (a narrower terminal gets lines of this width)."""

TEXT_MIN_WIDTH = 16
"""Narrowest a text column is wrapped to before columns after it are left out."""


class Column:
    """One table column for display: its name, header, formatted cells and alignment."""

    def __init__(self, name: str, header: str, cells: list[str], right: bool) -> None:
        self.name, self.header, self.cells, self.right = name, header, cells, right
        self.tokens = header_tokens(header)
        longest = max((len(c) for c in cells), default=0)
        word = max((len(t) for t in self.tokens), default=1)
        self.min_width = max(word, longest if right else min(longest, TEXT_MIN_WIDTH))
        self.natural = max(len(header), longest)
        self.width = self.min_width


def header_tokens(header: str) -> list[str]:
    """A header cut only after ``_`` or at a space: ``training_shortfall [EFLOPS]`` ->
    ``training_``, ``shortfall``, ``[EFLOPS]`` (a line never ends inside a word)."""
    import re

    return [t for t in re.findall(r"[^_\s]*_|[^_\s]+", header) if t]


def wrap_header(col: Column, width: int) -> list[str]:
    """The header's lines at ``width``, cut only between its :func:`header_tokens`."""
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


def wrap_cell(text: str, width: int) -> list[str]:
    """A cell's lines at ``width``: whole when it fits, else wrapped at spaces and after
    hyphens (``h20-discouraged-`` / ``2025``), a word longer than ``width`` cut."""
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=True) or [""]


def column_cells(frame, name, row_decimals: list[int] | None = None) -> tuple[list[str], bool]:
    """Display text of one column and whether it is right-aligned (numbers).

    Floats in a column share one number of decimals (:func:`capacity.results.decimals_for`,
    by the column's unit and its largest figure); a column whose rows carry their own unit
    (:func:`row_unit_columns`) takes ``row_decimals`` instead, one per row."""
    import pandas as pd

    from capacity.results import decimals_for, format_fixed, unit_of

    s = frame[name]
    values = list(s)
    if pd.api.types.is_bool_dtype(s):
        return ["yes" if v else "no" for v in values], False
    if pd.api.types.is_integer_dtype(s):
        sep = bool(unit_of(str(name)))
        return ["-" if pd.isna(v) else f"{int(v):,}" if sep else str(int(v))
                for v in values], True
    numeric = pd.api.types.is_float_dtype(s) or (s.dtype == object and len(s) > 0 and all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values))
    if numeric:
        if row_decimals is not None:
            places = row_decimals
        else:
            places = [decimals_for(unit_of(str(name)), values)] * len(values)
        return ["-" if v is None or pd.isna(v) else format_fixed(v, d)
                for v, d in zip(values, places, strict=True)], True
    return [format_cell(v) if not (isinstance(v, float) and math.isnan(v)) else "-"
            for v in values], False


def row_unit_columns(report: Report, name: str) -> list[str]:
    """The figures of table ``name`` whose unit is the row's (documented with unit "see unit"
    in :mod:`capacity.report.columns`: percentiles, a scenario's KPIs, shadow prices), in a
    table with a ``unit`` column. They are formatted per row, by that row's unit; every other
    column has one number format for the whole column (``docs/tables.md``)."""
    import pandas as pd

    from capacity.report.columns import SEE_UNIT
    from capacity.report.names import describe
    from capacity.results import plain_frame

    frame = plain_frame(report.tables[name])
    if "unit" not in frame.columns or pd.api.types.is_numeric_dtype(frame["unit"]):
        return []
    return [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
            and (describe(report.kind, name, str(c)) or ("",))[0] == SEE_UNIT]


def row_decimals(frame, cols: list[str]) -> list[int] | None:
    """Decimals per row of the figures ``cols`` (:func:`row_unit_columns`; None when there
    are none): one number for all the rows of one unit, by that unit and the largest of their
    figures (a shadow price per GPU to 3 places in every access row, per EFLOPS to 1)."""
    from capacity.results import decimals_for

    if not cols:
        return None
    units = [str(u or "") for u in frame["unit"]]
    places = {u: decimals_for(u, [frame[c].iloc[i] for c in cols for i in range(len(frame))
                                  if units[i] == u]) for u in set(units)}
    return [places[u] for u in units]


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


KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "binding": ("scenario", "constraint", "limit", "period", "chip", "shadow_price",
                "max_shadow_price"),
}
"""Per table name, the columns kept at any width (each table has those of its columns that it
has): the binding tables keep what binds, when, and its shadow price (issue 28)."""


def fit(cols: list[Column], width: int | None, sep: int, edge: int,
        keep: tuple[str, ...] = ()) -> list[str]:
    """Fit columns into ``width``: each at least its narrowest (numbers whole, text wrapped to
    :data:`TEXT_MIN_WIDTH`, header words whole). The ``keep`` columns (and the first column)
    are placed first, then the others left to right while they fit; the shown columns keep
    their order and are widened towards their natural width. Returns the names left out.
    ``sep`` is the space between columns and ``edge`` what the frame adds (rich: borders and
    padding)."""
    if width is None:
        for c in cols:
            c.width = c.natural
        return []
    kept = {id(c) for i, c in enumerate(cols) if i == 0 or c.name in keep}
    used = edge + sum(c.min_width for c in cols if id(c) in kept) + sep * (len(kept) - 1)
    for c in cols:
        if id(c) in kept:
            continue
        if used + c.min_width + sep > width:
            break
        kept.add(id(c))
        used += c.min_width + sep
    shown = [c for c in cols if id(c) in kept]
    while len(shown) > 1 and used > width:  # key columns wider than the terminal: drop the last
        gone = shown.pop()
        kept.discard(id(gone))
        used -= gone.min_width + sep
    if len(shown) == 1 and used > width:  # one column wider than the terminal: wrap it
        shown[0].width = max(1, width - edge)
        used = width
    left = width - used
    for c in shown:
        grow = min(left, c.natural - c.width)
        if grow > 0:
            c.width += grow
            left -= grow
    omitted = [c.name for c in cols if id(c) not in kept]
    cols[:] = shown
    return omitted


def blocks(cols: list[Column], width: int | None, sep: int, edge: int) -> list[list[Column]]:
    """Columns cut into blocks that each fit ``width``, every block led by the first column
    (the row labels): a wide table wraps onto more blocks instead of leaving columns out. The
    cuts are those that give the fewest lines in all (each block's header as short as its
    room allows: :func:`level_headers`); a column too wide for any block has one of its own."""
    label, rest = cols[0], cols[1:]
    if width is None or not rest:
        block = [copy_column(c) for c in cols]
        fit(block, width, sep, edge)
        return [block]

    def block_of(i: int, j: int) -> tuple[int, list[Column]] | None:
        """(lines of the header, the block) of rest[i:j], None when it does not fit."""
        block = [copy_column(label), *(copy_column(c) for c in rest[i:j])]
        need = edge + sum(c.min_width for c in block) + sep * (len(block) - 1)
        if need > width and j - i > 1:
            return None
        if need > width:
            fit(block, None, sep, edge)
            return max(len(wrap_header(c, c.width)) for c in block), block
        level_headers(block, width, sep, edge)
        return max(len(wrap_header(c, c.width)) for c in block), block

    n, rows = len(rest), len(label.cells)
    best: list[tuple[float, list[list[Column]]]] = [(0.0, [])] + [(math.inf, [])] * n
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            got = block_of(i, j)
            if got is None:
                break
            lines = best[i][0] + got[0] + rows + 1  # header, rule, rows
            if lines < best[j][0]:
                best[j] = (lines, [*best[i][1], got[1]])
    return best[n][1]


def level_headers(cols: list[Column], width: int, sep: int, edge: int) -> None:
    """Spend the room left in a block on the tallest headers: every column back to its
    narrowest, then, while the room allows, all the columns whose header has the most lines
    widened just enough to take a line off it (fewer header lines, not wider first columns);
    what is left widens text columns towards their natural width."""
    for c in cols:
        c.width = c.min_width
    room = width - edge - sum(c.width for c in cols) - sep * (len(cols) - 1)

    def lines(c: Column, w: int) -> int:
        return len(wrap_header(c, w))

    while True:
        top = max(lines(c, c.width) for c in cols)
        tallest = [c for c in cols if lines(c, c.width) == top]
        need = {}
        for c in tallest:
            w = c.width
            while lines(c, w) == top and w < len(c.header):
                w += 1
            need[id(c)] = w
        cost = sum(need[id(c)] - c.width for c in tallest)
        if top <= 1 or cost > room or any(lines(c, need[id(c)]) == top for c in tallest):
            break
        for c in tallest:
            c.width = need[id(c)]
        room -= cost
    for c in cols:
        grow = min(room, c.natural - c.width) if not c.right else 0
        if grow > 0:
            c.width += grow
            room -= grow


def copy_column(col: Column) -> Column:
    """A fresh copy of a column (its width is set per block)."""
    out = Column(col.name, col.header, col.cells, col.right)
    out.min_width, out.natural, out.width = col.min_width, col.natural, col.min_width
    return out


def kpi_header(kpi: str, unit: str) -> str:
    """Header of a KPI shown as a column: its name without the unit's suffix, then the unit's
    abbreviation in brackets (``peak_eflops_2025Q4``, EFLOPS -> ``peak_2025Q4 [EFLOPS]``;
    ``genai_share_2026`` keeps its name, as :func:`capacity.results.short_header` does)."""
    from capacity.results import UNIT_ABBREVIATIONS, UNIT_SUFFIXES, money_text

    stem = kpi
    for suffix, name in UNIT_SUFFIXES:
        if name != unit or suffix in ("_share", "_margin"):
            continue
        if stem.endswith(suffix) and stem != suffix:
            stem = stem[: -len(suffix)]
            break
        if f"{suffix}_" in stem:
            stem = stem.replace(f"{suffix}_", "_", 1)
            break
    return f"{stem} [{money_text(UNIT_ABBREVIATIONS.get(unit, unit))}]" if unit else stem


def comparison_columns(report: Report, name: str) -> list[Column] | None:
    """A table of KPIs side by side (``attrs["scenarios"]``: its scenario columns) as columns
    for display with the scenarios as rows and the KPIs as columns, each scenario followed by
    its row of differences against the first (``attrs["differences"]``: scenario -> column);
    None for any other table. A KPI column has one number of decimals, by its unit and its
    largest figure (differences signed)."""
    from capacity.results import decimals_for, format_fixed, plain_frame

    frame = plain_frame(report.tables[name])
    scenarios = list(frame.attrs.get("scenarios") or [])
    if not scenarios or "kpi" not in frame.columns:
        return None
    diffs: dict[str, str] = dict(frame.attrs.get("differences") or {})
    rows: list[tuple[str, str, bool]] = []  # (label, column, is a difference)
    for s in scenarios:
        rows.append((s, s, False))
        if s in diffs:
            rows.append((f"  vs {scenarios[0]}", diffs[s], True))
    cols = [Column("scenario", "scenario", [r[0] for r in rows], False)]
    cols[0].min_width = cols[0].natural = max(len(r[0]) for r in rows)  # names whole
    units = list(frame["unit"]) if "unit" in frame.columns else [""] * len(frame)
    for i, kpi in enumerate(frame["kpi"]):
        values = [frame[col].iloc[i] for _, col, _ in rows]
        unit = str(units[i] or "")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            cells = ["-" if v is None else str(v) for v in values]
            cols.append(Column(str(kpi), kpi_header(str(kpi), unit), cells, False))
            continue
        places = decimals_for(unit, values)
        cells = []
        for (_, _, is_diff), v in zip(rows, values, strict=True):
            if v is None or math.isnan(float(v)):
                cells.append("-")
                continue
            text = format_fixed(float(v), places)
            cells.append(f"+{text}" if is_diff and float(text.replace(",", "")) > 0 else text)
        cols.append(Column(str(kpi), kpi_header(str(kpi), unit), cells, True))
    return cols


def omitted_line(omitted: list[str], width: int | None) -> list[str]:
    """The footer naming the columns left out, wrapped to ``width`` (none when none)."""
    if not omitted:
        return []
    import textwrap

    text = (f"{len(omitted)} more column{'s' if len(omitted) > 1 else ''}: "
            f"{', '.join(omitted)}; use --columns")
    return textwrap.wrap(text, width, break_on_hyphens=False) if width else [text]


def display_columns(report: Report, name: str, columns: list[str] | None) -> list[Column]:
    """The columns of table ``name`` to show (``--columns`` or all), formatted for display."""
    from capacity.results import plain_frame, short_header

    frame = plain_frame(report.tables[name])
    per_row = row_unit_columns(report, name)
    decimals = row_decimals(frame, per_row)
    cols = []
    for c in pick_columns(frame, columns, name):
        cells, right = column_cells(frame, c, decimals if str(c) in per_row else None)
        # a text column whose name ends like a unit (stress: effective_kpi) shows its name
        cols.append(Column(str(c), short_header(str(c)) if right else str(c), cells, right))
    return cols


def plain_rows(cols: list[Column]) -> list[list[list[str]]]:
    """Per row, per column, the wrapped lines of its cell."""
    n = len(cols[0].cells) if cols else 0
    return [[wrap_cell(c.cells[i], c.width) for c in cols] for i in range(n)]


def plain_table(cols: list[Column]) -> str:
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

    head = lines_of([wrap_header(c, c.width) for c in cols])
    rule = "  ".join("-" * c.width for c in cols)
    body = [line for row in plain_rows(cols) for line in lines_of(row)]
    return "\n".join([*head, rule, *body]) + "\n"


def scalar_lines(report: Report, width: int | None) -> list[tuple[str, list[str]]]:
    """(header, wrapped value lines) per scalar shown (lists and mappings are in json)."""
    from capacity.results import display_scalar, short_header

    items = [(short_header(k), display_scalar(k, v)) for k, v in report.scalars.items()
             if not isinstance(v, list | dict)]
    if not items:
        return []
    key_w = max(len(k) for k, _ in items)
    room = None if width is None else max(12, width - key_w - 2)
    return [(k, wrap_cell(v, room) if room else [v]) for k, v in items]


def wrap_text(text: str, width: int | None) -> list[str]:
    """A title's lines at ``width`` (one line when None)."""
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) if width else [text]


def plain_text(report: Report, names: list[str], columns: list[str] | None,
               width: int | None) -> str:
    """The scalars and the tables ``names`` of ``report`` as plain aligned columns (pipes,
    files, captured output): each table under its title, a dashed rule under its headers and
    a line naming the columns left out at ``width`` (None: no limit)."""
    scalars = scalar_lines(report, width)
    parts = []
    if scalars:
        key_w = max(len(k) for k, _ in scalars)
        parts.append("".join(f"{(k if i == 0 else '').ljust(key_w)}  {line}".rstrip() + "\n"
                             for k, lines in scalars for i, line in enumerate(lines)))
    for name in names:
        title = "\n".join(wrap_text(report.titles.get(name, name), width))
        wide = comparison_columns(report, name) if not columns else None
        if wide is not None:
            parts.append(title + "\n" + "".join(plain_table(b) for b in blocks(wide, width, 2, 0)))
            continue
        cols = display_columns(report, name, columns)
        omitted = fit(cols, width, sep=2, edge=0, keep=KEY_COLUMNS.get(name, ()))
        foot = "".join(f"{line}\n" for line in omitted_line(omitted, width))
        parts.append(f"{title}\n{plain_table(cols)}{foot}")
    return "\n".join(parts)


def rich_tables(report: Report, names: list[str], columns: list[str] | None,
                width: int | None) -> list[Any]:
    """The same as :func:`plain_text` as rich renderables, to print in order on a terminal of
    ``width``: a borderless grid of the scalars, then per table a boxed table (header words
    wrapped as in the plain layout) and a dim line naming the columns left out."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = []
    scalars = scalar_lines(report, width)
    if scalars:
        grid = Table(show_header=False, box=None, pad_edge=False)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for k, lines in scalars:
            grid.add_row(Text(k), Text("\n".join(lines)))
        out.append(grid)
    def boxed(cols: list[Column], title: str | None, edge: bool = True) -> Any:
        if edge:
            t = Table(title=Text(title) if title else None, title_justify="left")
        else:  # two spaces between columns and a rule under the header, as the plain layout
            t = Table(title=Text(title) if title else None, title_justify="left",
                      box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
        for c in cols:
            t.add_column(Text("\n".join(wrap_header(c, c.width))),
                         justify="right" if c.right else "left", width=c.width, no_wrap=True)
        for row in plain_rows(cols):
            t.add_row(*(Text("\n".join(lines)) for lines in row))
        return t

    for name in names:
        title = report.titles.get(name, name)
        wide = comparison_columns(report, name) if not columns else None
        # rich: a border before each column and after the last, one space padding each side
        if wide is not None:
            out += [boxed(b, title if i == 0 else None, edge=False)
                    for i, b in enumerate(blocks(wide, width, 2, 0))]
            continue
        cols = display_columns(report, name, columns)
        omitted = fit(cols, width, sep=3, edge=4, keep=KEY_COLUMNS.get(name, ()))
        out.append(boxed(cols, title))
        out += [Text(line, style="dim") for line in omitted_line(omitted, width)]
    return out


def more_tables_line(rest: list[str], width: int | None) -> list[str]:
    """The line naming the tables a print left out (none when none), wrapped to ``width``."""
    if not rest:
        return []
    return ["\n".join(wrap_text(f"{len(rest)} more table{'s' if len(rest) > 1 else ''}: "
                                 f"{', '.join(rest)}; use --table NAME", width))]


def main_job_stages(load_s: float, solve_s: float, per_scenario: dict[str, dict[str, float]],
                    written: dict[str, float]) -> dict[str, float]:
    """Seconds per stage of a ``compare`` run: loading, planning and valuing the scenarios
    (``solve_s`` split in proportion to the scenarios' summed ``plan_s`` and ``value_s``), then
    each stage of writing ``--out`` (``written``: data files, backtest/stress charts, workbook,
    charts, HTML report, manifest). [s]"""
    plan = sum(t.get("plan_s", 0.0) for t in per_scenario.values())
    value = sum(t.get("value_s", 0.0) for t in per_scenario.values())
    share = plan / (plan + value) if plan + value > 0 else 1.0
    n = len(per_scenario)
    out = {"load scenarios": load_s, f"plan {n} scenarios": solve_s * share,
           f"value {n} scenarios": solve_s * (1.0 - share)}
    for key, seconds in written.items():
        out[f"write {key.removesuffix('_s').replace('_', ' ')}"] = seconds
    return out


def stage_times(stages: dict[str, float], total_s: float) -> str:
    """The ``--verbose`` table: one line per stage with its seconds and share of ``total_s``,
    then the total. [s]"""
    width = max([len("total"), *map(len, stages)])
    lines = [f"{'stage':<{width}}  seconds  share"]
    for name, seconds in stages.items():
        share = seconds / total_s if total_s > 0 else 0.0
        lines.append(f"{name:<{width}}  {seconds:7.2f}  {share:5.0%}")
    lines.append(f"{'total':<{width}}  {total_s:7.2f}   100%")
    return "\n".join(lines) + "\n"
