"""The ``.xlsx`` workbook of an ``--out`` folder, as bytes (written by :mod:`.write`).

Written with xlsxwriter (see ``docs/dependencies.md``) so that a valuation model can link to it
and an analyst can work in it:

* an ``index`` sheet first, with a hyperlink and a one-line description for every other sheet;
* one sheet per table of every report, each holding one Excel Table (``add_table``) with units
  in the headers (:func:`~capacity.results.header_with_unit`), a number format per unit
  (:data:`UNIT_FORMATS`), a frozen header row, sized columns and a print set-up of one page wide,
  landscape, with the header row repeated on every page;
* per valued scenario, a ``valuation`` sheet whose EV/Sales bridge is live formulas over input
  cells (:func:`capacity.finance.value_from_sales`), and a ``sensitivity`` sheet laid out as a
  grid (multiples down, sales changes across) of formulas over the same inputs;
* the scalars of every report, the assumptions of every scenario and a ``names`` sheet listing
  the defined names (``tp_<scenario>``, ``multiple_<scenario>``, ...) a model links to.

Notes
-----
The valuation bridge in Excel, cell by cell (the inputs are the scenario's figures):

    EV [RMB m] = multiple [x] * sales [RMB m]
    equity [RMB m] = EV + net cash [RMB m]
    TP [HKD/share] = equity / shares [m] / RMB per HKD

Every formula cell also carries its result computed in Python, so a reader that does not
recalculate (pandas, openpyxl with ``data_only=True``) sees the tool's figures. The creation
time is :data:`WORKBOOK_TIMESTAMP` and xlsxwriter's in-memory mode dates every zip entry
1980-01-01, so the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from capacity.report.formats import assumptions_table, cell_value, scalars_table
from capacity.results import Report, csv_frame, header_with_unit, unit_of

WORKBOOK_TIMESTAMP = "2000-01-01T00:00:00"
"""Created/modified time written into every workbook, so the same inputs give the same bytes."""

SHEET_NAME_MAX = 31
"""Excel's limit on the length of a sheet name. [characters]"""

UNIT_FORMATS: dict[str, str] = {
    "RMB m": "#,##0.0", "RMB m per unit": "#,##0.000", "RMB per unit": "#,##0",
    "RMB": "#,##0", "USD": "#,##0", "HKD": "0.00", "HKD/share": "0.00", "RMB/HKD": "0.0000",
    "EFLOPS": "0.00", "EFLOPS-quarters": "#,##0.00", "PFLOPS": "#,##0.0", "TFLOPS": "#,##0.0",
    "units": "#,##0", "count": "0", "MW": "#,##0.0", "kW": "#,##0.0", "tn tokens": "#,##0.0",
    "tn": "#,##0.0", "share": "0.0%", "%": "0.0", "quarters": "0", "half-years": "0",
    "GB/s": "#,##0",
    "FLOP": "0.00E+00", "s": "0.00", "days": "#,##0", "x": '0.0"x"', "m shares": "#,##0",
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
    as Excel does) gets ``~2``, ``~3``, ... The chosen name is added to ``used`` (lower case).
    """
    name = "".join("_" if ch in _SHEET_FORBIDDEN else ch for ch in raw).strip("'") or "sheet"
    name = name[:SHEET_NAME_MAX]
    if name.lower() == "history":
        name += "_"
    base, n = name, 2
    while name.lower() in used:
        tail = f"~{n}"
        name = base[:SHEET_NAME_MAX - len(tail)] + tail
        n += 1
    used.add(name.lower())
    return name


def sheet_labels(labels: list[str], longest_table: dict[str, int]) -> dict[str, str]:
    """A short, distinct prefix per report label so that ``<prefix>_<table>`` fits 31 characters.

    A label is cut only as much as its longest table name needs, so every table of one scenario
    keeps its whole table name and all share one readable prefix, never ``~2`` to ``~8``. A cut
    label keeps its start and its end around a ``~`` (where scenario names tend to differ:
    ``a-very-long-scenario-name-for-the-workbook-one`` -> ``a-very-long-~ok-one``). Two labels
    that still cut to the same prefix are told apart by ``~2``, ``~3``, ...

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
    taken: set[str] = set()
    for label in dict.fromkeys(labels):
        budget = max(SHEET_NAME_MAX - 1 - longest_table.get(label, 0), 6)
        clean = "".join("_" if ch in _SHEET_FORBIDDEN else ch for ch in label).strip("'")
        short, n = clean or "sheet", 2
        if len(short) > budget:
            keep = min(8, budget // 3)  # characters kept from the end
            short = f"{clean[:budget - keep - 1]}~{clean[-keep:]}"
        while short.lower() in taken:
            tail = f"~{n}"
            short = clean[:budget - len(tail)] + tail
            n += 1
        taken.add(short.lower())
        out[label] = short
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


def _print_setup(ws: Any, header_rows: int = 1) -> None:
    """Landscape A4, one page wide, header rows repeated, sheet name and page in the footer."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, header_rows - 1)
    ws.set_footer("&L&A&RPage &P of &N")


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
        self.names.append((name, ref, value, unit, what))
        return name

    def table_name(self, sheet: str) -> str:
        """A unique Excel Table name for a sheet (tables and defined names share one namespace
        in Excel, so both draw from :attr:`names_used`)."""
        return defined_name(f"t_{sheet}", self.names_used)


def _add_table_sheet(book: _Book, sheet: str, frame: pd.DataFrame, what: str, title: str
                     ) -> None:
    """A sheet holding ``frame`` (one row per record, header row 1) as one Excel Table.

    Cells are numbers, booleans or text (never formulas); each numeric cell has the number
    format of its column's unit, or of the row's ``unit`` entry in mixed-unit tables.
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
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=1):
        for j, (col, raw) in enumerate(zip(cols, row, strict=True)):
            v = cell_value(raw)
            widths[j] = max(widths[j], _display_width(v))
            if isinstance(v, str):
                ws.write_string(i, j, v)
                continue
            num = number_format(col, row_units[i - 1] if row_units else "")
            cell_fmt = fmt.get(num) if num else None
            if isinstance(v, bool):
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
    _print_setup(ws)
    book.index.append(_Sheet(sheet, what, title, n))


def _size_columns(ws: Any, widths: list[int]) -> None:
    """Column widths from the longest entry, 8 to 50 characters wide (2 of padding)."""
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(max(w + 2, 8), 50))


@dataclass(frozen=True)
class _ValuationCells:
    """Where the valuation inputs of one scenario sit (sheet and zero-based rows, column 1)."""

    sheet: str
    multiple: int
    sales: int
    net_cash: int
    shares: int
    fx: int
    tp: int


_VALUATION_KEYS = ("multiple", "net_cash_rmb_m", "shares_m", "rmb_per_hkd", "valuation_year",
                   "target_price_hkd")


def _valuation_inputs(report: Report) -> dict[str, float] | None:
    """The bridge inputs of a value report, or None when it does not carry them all."""
    s = report.scalars
    if report.kind != "value" or not all(isinstance(s.get(k), int | float) for k in
                                         _VALUATION_KEYS):
        return None
    year = int(s["valuation_year"])
    sales = s.get(f"sales_{year}e_rmb_m")
    if not isinstance(sales, int | float):
        return None
    return {"year": year, "sales_rmb_m": float(sales), "multiple": float(s["multiple"]),
            "net_cash_rmb_m": float(s["net_cash_rmb_m"]), "shares_m": float(s["shares_m"]),
            "rmb_per_hkd": float(s["rmb_per_hkd"]),
            "note_tp_hkd": s.get("note_target_price_hkd")}


def _add_valuation_sheet(book: _Book, sheet: str, scen: str, inp: dict[str, Any]
                         ) -> _ValuationCells:
    """The EV/Sales bridge of one scenario as live formulas over input cells.

    Inputs (yellow): multiple [x], valuation-year sales [RMB m], net cash [RMB m], shares [m],
    RMB per HKD [RMB/HKD] and the note's TP [HKD]. Formulas: EV = multiple * sales,
    equity = EV + net cash, TP = equity / shares / RMB per HKD (as
    :func:`capacity.finance.value_from_sales`), and the sales the note's TP implies,
    (TP_note * shares * RMB per HKD - net cash) / multiple (:func:`capacity.finance.implied_sales`).
    """
    from capacity.finance import implied_sales, value_from_sales

    ws = book.wb.add_worksheet(sheet)
    fmt = book.fmt
    year = inp["year"]
    v = value_from_sales(inp["sales_rmb_m"], inp["multiple"], inp["net_cash_rmb_m"],
                         inp["shares_m"], inp["rmb_per_hkd"])
    # rows (zero-based); Excel row = index + 1, the value in column B
    rows: list[tuple[str, str, Any, str, str]] = [
        ("multiple", "x", v.multiple, "input", "EV/Sales multiple (finance.ev_sales_multiple)"),
        (f"sales_{year}e_rmb_m", "RMB m", v.sales_rmb_m, "input",
         f"{year}E sales from the tool's capacity-linked revenue"),
        ("net_cash_rmb_m", "RMB m", v.net_cash_rmb_m, "input", "net cash (finance.net_cash_rmb_m)"),
        ("shares_m", "m shares", v.shares_m, "input", "shares outstanding (finance.shares_m)"),
        ("rmb_per_hkd", "RMB/HKD", v.rmb_per_hkd, "input", "exchange rate (finance.rmb_per_hkd)"),
        ("ev_rmb_m", "RMB m", v.ev_rmb_m, "=B2*B3", "EV = multiple x sales"),
        ("equity_rmb_m", "RMB m", v.equity_rmb_m, "=B7+B4", "equity = EV + net cash"),
        ("target_price_hkd", "HKD", v.target_price_hkd, "=B8/B5/B6",
         "TP = equity / shares / RMB per HKD"),
    ]
    note = inp.get("note_tp_hkd")
    if isinstance(note, int | float) and v.multiple > 0:
        rows += [
            ("note_target_price_hkd", "HKD", float(note), "input", "the note's target price"),
            (f"implied_sales_{year}e_rmb_m", "RMB m",
             implied_sales(float(note), v.multiple, v.net_cash_rmb_m, v.shares_m,
                           v.rmb_per_hkd),
             "=(B10*B5*B6-B4)/B2", "sales the note's TP implies = (TP x shares x FX - net cash)"
             " / multiple"),
        ]
    headers = ["item", "value", "unit", "formula", "meaning"]
    for i, (item, unit, value, how, meaning) in enumerate(rows, start=1):
        num = UNIT_FORMATS.get(unit)
        ws.write_string(i, 0, item)
        if how == "input":
            ws.write_number(i, 1, value, fmt.get(num, bg_color=INPUT_FILL, font_color="#1F4E79"))
            ws.write_string(i, 3, "input")
        else:
            ws.write_formula(i, 1, how, fmt.get(num, bold=item == "target_price_hkd"),
                             value=value)
            ws.write_string(i, 3, how)
        ws.write_string(i, 2, unit)
        ws.write_string(i, 4, meaning)
    ws.add_table(0, 0, len(rows), len(headers) - 1, {
        "name": book.table_name(sheet), "columns": [{"header": h} for h in headers],
        "style": "Table Style Light 9"})
    _size_columns(ws, [26, 14, 10, 20, 72])
    ws.freeze_panes(1, 0)
    _print_setup(ws)
    book.index.append(_Sheet(sheet, f"value {scen}",
                             f"EV/Sales bridge on {year}E sales as live formulas: change the "
                             "yellow inputs and the target price recalculates", len(rows)))
    cells = _ValuationCells(sheet, multiple=1, sales=2, net_cash=3, shares=4, fx=5, tp=8)
    for raw, row, value, unit, what in [
        (f"tp_{scen}", cells.tp, v.target_price_hkd, "HKD", "target price"),
        (f"multiple_{scen}", cells.multiple, v.multiple, "x", "EV/Sales multiple"),
        (f"sales_{year}e_{scen}", cells.sales, v.sales_rmb_m, "RMB m", f"{year}E sales"),
        (f"net_cash_{scen}", cells.net_cash, v.net_cash_rmb_m, "RMB m", "net cash"),
        (f"shares_{scen}", cells.shares, v.shares_m, "m shares", "shares outstanding"),
        (f"rmb_per_hkd_{scen}", cells.fx, v.rmb_per_hkd, "RMB/HKD", "exchange rate"),
        (f"ev_{scen}", 6, v.ev_rmb_m, "RMB m", "enterprise value"),
        (f"equity_{scen}", 7, v.equity_rmb_m, "RMB m", "equity value"),
    ]:
        book.define(raw, _abs_ref(sheet, row, 1), value, unit, what)
    return cells


def _grid_axes(df: pd.DataFrame) -> tuple[list[float], list[float]] | None:
    """Multiples and sales changes of a sensitivity table, when it is a complete grid."""
    if not {"multiple", "sales_change", "target_price_hkd"} <= set(df.columns):
        return None
    mult = [float(m) for m in dict.fromkeys(df["multiple"].tolist())]
    chg = [float(d) for d in dict.fromkeys(df["sales_change"].tolist())]
    if len(df) != len(mult) * len(chg) or not all(map(math.isfinite, mult + chg)):
        return None
    return mult, chg


def _add_sensitivity_grid(book: _Book, sheet: str, scen: str, title: str,
                          axes: tuple[list[float], list[float]], cells: _ValuationCells,
                          inp: dict[str, Any]) -> None:
    """Target price over multiple (down) x sales change (across), as formulas.

    TP[m, d] = (m * sales * (1 + d) + net cash) / shares / RMB per HKD, with sales, net cash,
    shares and RMB per HKD read from the scenario's valuation sheet and the multiples from
    column A of this sheet (both editable).
    """
    from capacity.finance import value_from_sales

    ws = book.wb.add_worksheet(sheet)
    fmt = book.fmt
    mult, chg = axes
    v_ref = {k: _abs_ref(cells.sheet, getattr(cells, k), 1)
             for k in ("sales", "net_cash", "shares", "fx")}
    headers = ["multiple [x]"] + [f"TP at sales {d:+.0%} [HKD]" if round(d * 100, 9) % 1 == 0
                                  else f"TP at sales {d:+.1%} [HKD]" for d in chg]
    if len(set(headers)) != len(headers):  # changes closer than 0.1 %: number them instead
        headers = ["multiple [x]"] + [f"TP at sales change {d:+.6g} [HKD]" for d in chg]
    tp_fmt = fmt.get(UNIT_FORMATS["HKD"])
    for i, m in enumerate(mult, start=1):
        ws.write_number(i, 0, m, fmt.get(UNIT_FORMATS["x"], bg_color=INPUT_FILL,
                                         font_color="#1F4E79"))
        for j, d in enumerate(chg, start=1):
            value = value_from_sales(inp["sales_rmb_m"] * (1.0 + d), m, inp["net_cash_rmb_m"],
                                     inp["shares_m"], inp["rmb_per_hkd"]).target_price_hkd
            formula = (f"=($A{i + 1}*{v_ref['sales']}*(1{d:+.12g})+{v_ref['net_cash']})"
                       f"/{v_ref['shares']}/{v_ref['fx']}")
            ws.write_formula(i, j, formula, tp_fmt, value=value)
    ws.add_table(0, 0, max(len(mult), 1), len(headers) - 1, {
        "name": book.table_name(sheet), "columns": [{"header": h} for h in headers],
        "style": "Table Style Light 9"})
    _size_columns(ws, [14] + [max(len(h), 10) for h in headers[1:]])
    ws.freeze_panes(1, 1)
    _print_setup(ws)
    book.index.append(_Sheet(sheet, f"value {scen}", f"{title} (grid of formulas over the "
                             "valuation sheet's inputs)", len(mult)))


_HEADLINES: dict[tuple[str, str], str] = {
    ("plan", "total_capex_rmb_m"): "capex_total",
    ("plan", "total_shortfall_eflops_quarters"): "shortfall_total",
    ("plan", "objective_rmb_m"): "objective",
    ("value", "note_target_price_hkd"): "note_tp",
    ("value", "genai_sales_{year}e_rmb_m"): "genai_sales_{year}e",
    ("value", "gross_margin_{year}e"): "gross_margin_{year}e",
    ("stress", "centre_target_price_hkd"): "tp_centre",
}
"""(report kind, scalar key) -> defined-name stem of headline figures on the scalars sheet
(``{year}`` is the valuation year). The valuation bridge names its own cells."""


_TABLE_HEADLINES: dict[tuple[str, str], tuple[str, dict[str, str], tuple[str, ...]]] = {
    ("stress", "percentiles"): ("kpi", {"target_price_hkd": "tp"}, ("p5", "p50", "p95", "mean")),
}
"""(report kind, table) -> (key column, {row key: name stem}, value columns) of headline
figures inside tables: ``tp_p50_<scenario>`` is the median target price of ``stress``."""


def _name_table_figures(book: _Book, report: Report, table: str, frame: pd.DataFrame,
                        sheet: str, scen: str) -> None:
    """Defined names for the headline cells of a table sheet (:data:`_TABLE_HEADLINES`)."""
    spec = _TABLE_HEADLINES.get((report.kind, table))
    if spec is None or spec[0] not in frame.columns:
        return
    key_col, stems, value_cols = spec
    cols = list(frame.columns)
    for i, key in enumerate(frame[key_col].tolist(), start=1):
        stem = stems.get(key)
        if stem is None:
            continue
        for col in value_cols:
            if col in cols:
                v = cell_value(frame[col].iloc[i - 1])
                unit = str(frame["unit"].iloc[i - 1]) if "unit" in cols else column_unit(col)
                book.define(f"{stem}_{col}_{scen}", _abs_ref(sheet, i, cols.index(col)), v,
                            unit, f"{report.kind} {key} {col}")


def _headline_stem(report: Report, key: str) -> str | None:
    year = report.scalars.get("valuation_year")
    for (kind, pattern), stem in _HEADLINES.items():
        if kind == report.kind and pattern.format(year=year) == key:
            return stem.format(year=year)
    if report.kind == "value" and re.fullmatch(r"genai_share_\d{4}", key):
        return key
    return None


def workbook_bytes(reports: list[Report], scenarios: list) -> bytes:
    """One ``.xlsx`` workbook: index, one Table sheet per table, valuation bridges, scalars,
    assumptions and defined names (see the module docstring).

    Parameters
    ----------
    reports
        The reports of the run, in order (a comparison first, then each scenario's plan and
        value reports).
    scenarios
        The resolved scenarios (their inputs fill the ``assumptions`` sheet).

    Returns
    -------
    bytes
        The file; the same inputs give the same bytes.
    """
    import xlsxwriter

    raw = io.BytesIO()
    wb = xlsxwriter.Workbook(raw, {"in_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    stamp = dt.datetime.fromisoformat(WORKBOOK_TIMESTAMP)
    wb.set_properties({"title": "capacity results", "author": "capacity",
                       "created": stamp, "comments": "Written by capacity; numbers per unit, "
                       "valuation bridges as formulas"})
    book = _Book(wb, _Formats(wb))
    index_ws = wb.add_worksheet("index")

    multi = len(reports) > 1
    labels = [str(r.scalars.get("scenario") or r.kind) for r in reports]
    longest: dict[str, int] = {}
    for r, label in zip(reports, labels, strict=True):
        names = [*r.tables, *(["valuation"] if _valuation_inputs(r) else [])]
        longest[label] = max([longest.get(label, 0), *map(len, names)])
    prefix = sheet_labels(labels, longest) if multi else {}

    def sheet_for(label: str, table: str) -> str:
        raw_name = f"{prefix[label]}_{table}" if multi else table
        return _sheet_name(raw_name, book.sheets_used)

    for r, label in zip(reports, labels, strict=True):
        scen = str(r.scalars.get("scenario", "")) or r.kind
        what = f"{r.kind} {r.scalars.get('scenario', '')}".strip()
        inp = _valuation_inputs(r)
        cells = None
        if inp is not None:
            cells = _add_valuation_sheet(book, sheet_for(label, "valuation"), scen, inp)
        for name, df in r.tables.items():
            title = r.titles.get(name, name)
            axes = _grid_axes(df) if name == "sensitivity" else None
            if cells is not None and axes is not None:
                _add_sensitivity_grid(book, sheet_for(label, name), scen, title, axes, cells,
                                      inp)
            else:
                sheet, frame = sheet_for(label, name), csv_frame(df)
                _add_table_sheet(book, sheet, frame, what, title)
                _name_table_figures(book, r, name, frame, sheet, scen)

    scal = scalars_table(reports)
    scal_sheet = _sheet_name("scalars", book.sheets_used)
    _add_table_sheet(book, scal_sheet, scal, "every report",
                     "Single figures of each report (target price, totals, ...)")
    _name_scalars(book, scal_sheet, scal, reports)
    if scenarios:
        _add_table_sheet(book, _sheet_name("assumptions", book.sheets_used),
                         assumptions_table(scenarios), "inputs",
                         "Every input (dotted key), its value per scenario and its source")
    if book.names:
        _add_names_sheet(book)
    _write_index(book, index_ws)
    wb.close()
    return raw.getvalue()


def _name_scalars(book: _Book, sheet: str, scal: pd.DataFrame, reports: list[Report]) -> None:
    """Defined names for the headline figures on the scalars sheet (``capex_total_<scen>``)."""
    by_kind_scen = {(r.kind, str(r.scalars.get("scenario", ""))): r for r in reports}
    value_col = list(scal.columns).index("value")
    for i, row in enumerate(scal.itertuples(index=False), start=1):
        r = by_kind_scen.get((row.report, str(row.scenario)))
        if r is None or not row.scenario or not isinstance(row.value, int | float) \
                or isinstance(row.value, bool):
            continue
        stem = _headline_stem(r, row.key)
        if stem:
            book.define(f"{stem}_{row.scenario}", _abs_ref(sheet, i, value_col), row.value,
                        scalar_unit(row.key, row.unit), f"{row.report} {row.key}")


def _add_names_sheet(book: _Book) -> None:
    frame = pd.DataFrame(book.names, columns=["name", "refers_to", "value", "unit", "what"])
    sheet = _sheet_name("names", book.sheets_used)
    _add_table_sheet(book, sheet, frame, "every report",
                     "Defined names of the headline figures, for a valuation model to link to")


def _write_index(book: _Book, ws: Any) -> None:
    """The first sheet: a hyperlink and a one-line description per sheet, as an Excel Table."""
    fmt = book.fmt
    headers = ["sheet", "report", "description", "rows"]
    link = fmt.get(None, font_color="blue", underline=1)
    for i, s in enumerate(book.index, start=1):
        ws.write_url(i, 0, f"internal:{_quote_sheet(s.name)}!A1", link, string=s.name)
        ws.write_string(i, 1, s.what)
        ws.write_string(i, 2, s.title)
        ws.write_number(i, 3, s.rows, fmt.get("#,##0"))
    ws.add_table(0, 0, max(len(book.index), 1), len(headers) - 1, {
        "name": book.table_name("index"), "columns": [{"header": h} for h in headers],
        "style": "Table Style Light 9"})
    widths = [max([5] + [len(s.name) for s in book.index]), 24,
              min(max([40] + [len(s.title) for s in book.index]), 100), 8]
    _size_columns(ws, widths)
    ws.freeze_panes(1, 0)
    _print_setup(ws)
    ws.activate()
