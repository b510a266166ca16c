"""The building blocks of the workbook (:mod:`.workbook`): sheet and defined names, number
formats by unit, the print set-up, and the book being written (:class:`_Book`) with its table
sheets.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from capacity.report.formats import cell_value
from capacity.results import header_with_unit, money_text, unit_of

WORKBOOK_TIMESTAMP = "2000-01-01T00:00:00"
"""Created/modified time written into every workbook, so the same inputs give the same bytes."""

SHEET_NAME_MAX = 31
"""Excel's limit on the length of a sheet name. [characters]"""

UNIT_FORMATS: dict[str, str] = {
    "RMB m": "#,##0.0", "RMB m per unit": "#,##0.000", "RMB per unit": "#,##0",
    "RMB": "#,##0", "USD": "#,##0", "HKD": "0.00", "HKD/share": "0.00", "RMB/HKD": "0.0000",
    "RMB/USD": "0.0000",
    "EFLOPS": "0.00", "EFLOPS-quarters": "#,##0.00", "PFLOPS": "#,##0.0", "TFLOPS": "#,##0.0",
    "units": "#,##0", "count": "0", "MW": "#,##0.0", "kW": "#,##0.0", "tn tokens": "#,##0.0",
    "tn": "#,##0.0", "share": "0.0%", "%": "0.0", "quarters": "0", "half-years": "0",
    "GB/s": "#,##0",
    "FLOP": "0.00E+00", "s": "0.00", "days": "#,##0", "x": "0.0#", "m shares": "#,##0",
    "RMB m per EFLOPS-quarter": "#,##0.00", "RMB m per unit-quarter": "0.0000",
    "RMB per m tokens": "0.000", "USD per GPU-hour": "0.00", "tn tokens per MW-quarter": "#,##0.0",
}
"""Excel number format per unit (the units of :data:`capacity.results.UNIT_SUFFIXES` and of the
``unit`` columns of the KPI and scalar tables)."""

NAME_UNITS: dict[str, str] = {"multiple": "x", "sales_change": "share", "shares_m": "m shares",
                              "mape": "%", "probability": "share"}
"""Units of columns whose name carries no unit suffix (``n_*`` columns are counts)."""

_SHEET_FORBIDDEN = set('[]:*?/\\')
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.]")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[RrCc]([0-9]*)|[Rr][0-9]*[Cc][0-9]*)$")

HEADER_WRAP_AT = 14
"""Headers longer than this wrap onto more lines unless their column's values are wider.
[characters]"""

INPUT_FILL = "#FFF2CC"
"""Background of cells meant to be changed by hand (the valuation inputs)."""


# --------------------------------------------------------------------------------------------
# Names: sheets, defined names, tables
# --------------------------------------------------------------------------------------------


def _sheet_name(raw: str, used: set[str]) -> str:
    """An Excel-safe, unique sheet name of at most :data:`SHEET_NAME_MAX` characters.

    Forbidden characters become ``_``, leading/trailing apostrophes go, Excel's reserved name
    ``History`` gets a trailing ``_``; a name already in ``used`` (compared case-insensitively,
    as Excel does) gets ``_2``, ``_3``, ... (the name before it cut to make room, so a name is
    never cut with ``~``). The chosen name is added to ``used`` (lower case).
    """
    name = "".join("_" if ch in _SHEET_FORBIDDEN else ch for ch in raw).strip("'") or "sheet"
    name = name[:SHEET_NAME_MAX]
    if name.lower() == "history":
        name += "_"
    base, n = name, 2
    while name.lower() in used:
        tail = f"_{n}"
        name = base[:SHEET_NAME_MAX - len(tail)] + tail
        n += 1
    used.add(name.lower())
    return name


def sheet_labels(labels: list[str], longest_table: dict[str, int]) -> dict[str, str]:
    """A whole, distinct prefix per report label so that ``<prefix>_<table>`` fits 31 characters.

    A label that fits beside its longest table name is its own prefix (``baseline`` ->
    ``baseline_quarters``). A label too long for that is never cut: it gets the short code
    ``s<k>``, ``k`` its position among the labels (``h200-customs-block-2026``, the third, ->
    ``s3_quarters``), and the index sheet maps every sheet to its report's whole name. The same
    labels in the same order give the same names; a code another label already uses as its name
    moves on to the next free ``k``.

    Parameters
    ----------
    labels
        Report labels (scenario names, or the report kind when there is none), in order.
    longest_table
        Length of the longest sheet suffix (table name) per label. [characters]

    Returns
    -------
    dict
        Label -> prefix (without the ``_``).
    """
    out: dict[str, str] = {}
    order = list(dict.fromkeys(labels))
    clean = {label: "".join("_" if ch in _SHEET_FORBIDDEN else ch for ch in label).strip("'")
             or "sheet" for label in order}
    fits = {label: len(clean[label]) <= SHEET_NAME_MAX - 1 - longest_table.get(label, 0)
            for label in order}
    taken = {clean[label].lower() for label in order if fits[label]}
    for k, label in enumerate(order, start=1):
        if fits[label] and clean[label].lower() not in {v.lower() for v in out.values()}:
            out[label] = clean[label]
            continue
        while f"s{k}" in taken:
            k += len(order)
        out[label] = f"s{k}"
        taken.add(f"s{k}")
    return out


def defined_name(raw: str, used: set[str]) -> str:
    """An Excel defined name from ``raw``, unique in ``used`` (case-insensitive).

    Excel's rules: letters, digits, ``_`` and ``.`` only, starting with a letter or ``_``, at
    most 255 characters, and not a cell reference (``A1``, ``R1C1``) or ``TRUE``/``FALSE``.
    Other characters become ``_`` (``tp_embargo-2024`` -> ``tp_embargo_2024``).
    """
    name = _NAME_BAD.sub("_", raw)[:250] or "_"
    if not (name[0].isalpha() or name[0] == "_"):
        name = "_" + name
    if _CELL_LIKE.match(name) or name.upper() in ("TRUE", "FALSE"):
        name = "_" + name
    base, n = name, 2
    while name.lower() in used:
        name = f"{base}_{n}"
        n += 1
    used.add(name.lower())
    return name


def _quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _abs_ref(sheet: str, row: int, col: int) -> str:
    """``'sheet'!$B$3`` for a zero-based (row, col)."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    return f"{_quote_sheet(sheet)}!{xl_rowcol_to_cell(row, col, True, True)}"


# --------------------------------------------------------------------------------------------
# Formats and widths
# --------------------------------------------------------------------------------------------


_PERIOD_TAIL = re.compile(r"_(\d{4}(e|Q[1-4])?)$")


def scalar_unit(key: str, unit: str = "") -> str:
    """Unit of a scalar, looking past a trailing year or quarter (``genai_share_2025`` ->
    ``share``, ``gross_margin_2024e`` -> ``share``); ``unit`` when it is already known."""
    return unit or unit_of(_PERIOD_TAIL.sub("", key)) or NAME_UNITS.get(key, "")


def column_unit(col: str) -> str:
    """Unit of a column from its name: its suffix, :data:`NAME_UNITS`, ``count`` for ``n_*``."""
    return unit_of(col) or NAME_UNITS.get(col, "") or ("count" if col.startswith("n_") else "")


def number_format(col: str, row_unit: str = "") -> str | None:
    """Excel number format of a numeric cell of column ``col``, None for General.

    ``row_unit`` is the row's ``unit`` entry in tables that hold one quantity per row (KPIs,
    scalars, percentiles, backtest rows); it applies to the columns whose name carries no unit
    (``peak_eflops_2025Q4`` in ``compare_kpis``: the scenario columns take the row's EFLOPS).
    """
    return UNIT_FORMATS.get(column_unit(col) or row_unit)


def _display_width(v: Any) -> int:
    if isinstance(v, bool):
        return 5
    if isinstance(v, int | float):
        if not math.isfinite(v):
            return 4
        return len(f"{v:,.2f}") if abs(v) < 1e15 else 12
    return len(str(v)) if v is not None else 0


@dataclass
class _Formats:
    """xlsxwriter formats made once per workbook (a format per distinct property set)."""

    book: Any
    cache: dict[tuple, Any] = field(default_factory=dict)

    def get(self, num: str | None = None, **props: Any) -> Any:
        key = (num, *sorted(props.items()))
        if key not in self.cache:
            spec = dict(props)
            if num:
                spec["num_format"] = num
            self.cache[key] = self.book.add_format(spec)
        return self.cache[key]


def _print_setup(ws: Any, last_row: int, last_col: int, prints: bool = True) -> None:
    """Landscape A4, one page wide, header row repeated, sheet name and page in the footer.

    The print area is the sheet's table (rows ``0..last_row``, columns ``0..last_col``,
    zero-based); a detail sheet that does not print (``prints`` false) gets a one-cell print
    area on a blank cell right of its table instead, which LibreOffice and Excel skip as an
    empty page (the index sheet says so; set a print area to print it).
    """
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, 0)
    ws.set_footer("&L&A&RPage &P of &N")
    if prints:
        ws.print_area(0, 0, max(last_row, 0), max(last_col, 0))
    else:
        ws.print_area(0, last_col + 2, 0, last_col + 2)


# --------------------------------------------------------------------------------------------
# The workbook
# --------------------------------------------------------------------------------------------


@dataclass
class _Sheet:
    """One entry of the index sheet."""

    name: str
    what: str
    title: str
    rows: int
    prints: bool = True


@dataclass
class _Book:
    """A workbook being written: names in use, index entries, defined names."""

    wb: Any
    fmt: _Formats
    sheets_used: set[str] = field(default_factory=lambda: {"index"})
    names_used: set[str] = field(default_factory=set)
    index: list[_Sheet] = field(default_factory=list)
    names: list[tuple[str, str, Any, str, str]] = field(default_factory=list)

    def define(self, raw: str, ref: str, value: Any, unit: str, what: str) -> str:
        """Define a workbook-wide name for ``ref``; recorded for the ``names`` sheet."""
        name = defined_name(raw, self.names_used)
        self.wb.define_name(name, f"={ref}")
        self.names.append((name, ref, value, money_text(unit), money_text(what)))
        return name

    def table_name(self, sheet: str) -> str:
        """A unique Excel Table name for a sheet (tables and defined names share one namespace
        in Excel, so both draw from :attr:`names_used`)."""
        return defined_name(f"t_{sheet}", self.names_used)


def _add_table_sheet(book: _Book, sheet: str, frame: pd.DataFrame, what: str, title: str,
                     prints: bool = True, formulas: dict[tuple[int, int], str] | None = None
                     ) -> None:
    """A sheet holding ``frame`` (one row per record, header row 1) as one Excel Table.

    Cells are numbers, booleans or text; each numeric cell has the number format of its
    column's unit, or of the row's ``unit`` entry in mixed-unit tables. ``formulas`` maps a
    (zero-based row, column) to a formula written there instead, carrying the frame's value as
    its cached result (summary sheets: references to the data sheets). ``prints`` false makes it
    a detail sheet that does not print (:func:`_print_setup`).
    """
    ws = book.wb.add_worksheet(sheet)
    fmt = book.fmt
    cols = [str(c) for c in frame.columns]
    headers = [header_with_unit(c) for c in cols]
    row_units = frame["unit"].fillna("").astype(str).tolist() if "unit" in frame.columns \
        else None
    if row_units is not None and "key" in frame.columns:  # scalars: units past a year tail
        row_units = [scalar_unit(str(k), u) for k, u in zip(frame["key"], row_units,
                                                            strict=True)]
    n = len(frame)
    widths = [0] * len(cols)
    formulas = formulas or {}
    own_unit = [column_unit(c) for c in cols]  # looked up once per column, not per cell
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=1):
        for j, raw in enumerate(row):
            v = cell_value(raw)
            widths[j] = max(widths[j], _display_width(v))
            if isinstance(v, str):
                ws.write_string(i, j, v)
                continue
            num = UNIT_FORMATS.get(own_unit[j] or (row_units[i - 1] if row_units else ""))
            cell_fmt = fmt.get(num) if num else None
            formula = formulas.get((i, j))
            if formula is not None and isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_formula(i, j, formula, cell_fmt, value=v if math.isfinite(v) else "")
            elif isinstance(v, bool):
                ws.write_boolean(i, j, v)
            elif isinstance(v, int | float) and math.isfinite(v):
                ws.write_number(i, j, v, cell_fmt)
            elif v is None or isinstance(v, int | float):
                ws.write_blank(i, j, None, cell_fmt)
            else:
                ws.write_string(i, j, str(v))
    last_row = max(n, 1)  # an Excel Table needs one data row, even if blank
    # a column is as wide as its widest value; a longer header wraps (up to 4 lines) rather
    # than widening the sheet, so more columns fit one printed page
    widths = [min(max(w, min(len(h), HEADER_WRAP_AT), 6), 48) for w, h in
              zip(widths, headers, strict=True)]
    lines = max([1] + [min(math.ceil(len(h) / (w + 1)), 4) for w, h in
                       zip(widths, headers, strict=True)])
    wrap = fmt.get(None, bold=True, text_wrap=True, valign="top")
    ws.add_table(0, 0, last_row, max(len(cols) - 1, 0), {
        "name": book.table_name(sheet),
        "columns": [{"header": h, "header_format": wrap} for h in headers]
        or [{"header": "empty"}],
        "style": "Table Style Light 9",
    })
    _size_columns(ws, widths)
    if lines > 1:
        ws.set_row(0, 15 * lines)
    ws.freeze_panes(1, 0)
    _print_setup(ws, last_row, len(cols) - 1, prints)
    book.index.append(_Sheet(sheet, what, title, n, prints))


def _size_columns(ws: Any, widths: list[int]) -> None:
    """Column widths from the longest entry, 8 to 50 characters wide (2 of padding)."""
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(max(w + 2, 8), 50))
