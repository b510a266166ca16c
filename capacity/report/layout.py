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
    """A cell's lines at ``width``: whole when it fits, else wrapped (long words cut)."""
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def column_cells(frame, name, row_decimals: list[int] | None) -> tuple[list[str], bool]:
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
    return [format_cell(v) if not (isinstance(v, float) and math.isnan(v)) else "-"
            for v in values], False


def row_decimals(frame) -> list[int] | None:
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


def fit(cols: list[Column], width: int | None, sep: int, edge: int) -> list[str]:
    """Fit columns into ``width``: each at least its narrowest (numbers whole, text wrapped to
    :data:`TEXT_MIN_WIDTH`, header words whole), left to right while they fit, then widened
    towards their natural width. Returns the names left out. ``sep`` is the space between
    columns and ``edge`` what the frame adds (rich: borders and padding)."""
    if width is None:
        for c in cols:
            c.width = c.natural
        return []
    used = edge
    shown: list[Column] = []
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
    decimals = row_decimals(frame)
    cols = []
    for c in pick_columns(frame, columns, name):
        cells, right = column_cells(frame, c, decimals)
        # a text column whose name ends like a unit (stress: kpi_eflops) shows its name
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
        cols = display_columns(report, name, columns)
        omitted = fit(cols, width, sep=2, edge=0)
        title = "\n".join(wrap_text(report.titles.get(name, name), width))
        foot = "".join(f"{line}\n" for line in omitted_line(omitted, width))
        parts.append(f"{title}\n{plain_table(cols)}{foot}")
    return "\n".join(parts)


def rich_tables(report: Report, names: list[str], columns: list[str] | None,
                width: int | None) -> list[Any]:
    """The same as :func:`plain_text` as rich renderables, to print in order on a terminal of
    ``width``: a borderless grid of the scalars, then per table a boxed table (header words
    wrapped as in the plain layout) and a dim line naming the columns left out."""
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
    for name in names:
        cols = display_columns(report, name, columns)
        # rich: a border before each column and after the last, one space padding each side
        omitted = fit(cols, width, sep=3, edge=4)
        t = Table(title=Text(report.titles.get(name, name)), title_justify="left")
        for c in cols:
            t.add_column(Text("\n".join(wrap_header(c, c.width))),
                         justify="right" if c.right else "left", width=c.width, no_wrap=True)
        for row in plain_rows(cols):
            t.add_row(*(Text("\n".join(lines)) for lines in row))
        out.append(t)
        out += [Text(line, style="dim") for line in omitted_line(omitted, width)]
    return out
