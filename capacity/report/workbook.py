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
from dataclasses import dataclass
from typing import Any

import pandas as pd

from capacity.report.formats import assumptions_table, cell_value, scalars_table
from capacity.report.sheets import (
    INPUT_FILL,
    UNIT_FORMATS,
    WORKBOOK_TIMESTAMP,
    _abs_ref,
    _add_table_sheet,
    _Book,
    _Formats,
    _print_setup,
    _quote_sheet,
    _Sheet,
    _sheet_name,
    _size_columns,
    column_unit,
    scalar_unit,
    sheet_labels,
)
from capacity.results import Report, csv_frame, money_text


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


_VALUATION_KEYS = ("multiple", "net_cash_m", "shares_m", "fx_listing", "valuation_year",
                   "target_price")


def _valuation_inputs(report: Report) -> dict[str, float] | None:
    """The bridge inputs of a value report, or None when it does not carry them all."""
    s = report.scalars
    if report.kind != "value" or not all(isinstance(s.get(k), int | float) for k in
                                         _VALUATION_KEYS):
        return None
    year = int(s["valuation_year"])
    sales = s.get("valuation_sales_m")
    if not isinstance(sales, int | float):
        return None
    return {"year": year, "sales_m": float(sales), "multiple": float(s["multiple"]),
            "net_cash_m": float(s["net_cash_m"]), "shares_m": float(s["shares_m"]),
            "fx_listing": float(s["fx_listing"]),
            "note_tp": s.get("note_target_price")}


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
    v = value_from_sales(inp["sales_m"], inp["multiple"], inp["net_cash_m"],
                         inp["shares_m"], inp["fx_listing"])
    # rows (zero-based); Excel row = index + 1, the value in column B
    rows: list[tuple[str, str, Any, str, str]] = [
        ("multiple", "x", v.multiple, "input", "EV/Sales multiple (finance.ev_sales_multiple)"),
        ("valuation_sales_m", "RMB m", v.sales_m, "input",
         f"{year}E sales from the tool's capacity-linked revenue"),
        ("net_cash_m", "RMB m", v.net_cash_m, "input", "net cash (finance.net_cash_m)"),
        ("shares_m", "m shares", v.shares_m, "input", "shares outstanding (finance.shares_m)"),
        ("fx_listing", "RMB/HKD", v.fx_listing, "input", "exchange rate (finance.fx_listing)"),
        ("ev_m", "RMB m", v.ev_m, "=B2*B3", "EV = multiple x sales"),
        ("equity_m", "RMB m", v.equity_m, "=B7+B4", "equity = EV + net cash"),
        ("target_price_ev_sales", "HKD", v.target_price, "=B8/B5/B6",
         "TP = equity / shares / RMB per HKD"),
    ]
    note = inp.get("note_tp")
    if isinstance(note, int | float) and v.multiple > 0:
        rows += [
            ("note_target_price", "HKD", float(note), "input", "the note's target price"),
            ("implied_valuation_sales_m", "RMB m",
             implied_sales(float(note), v.multiple, v.net_cash_m, v.shares_m,
                           v.fx_listing),
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
            ws.write_formula(i, 1, how, fmt.get(num, bold=item == "target_price_ev_sales"),
                             value=value)
            ws.write_string(i, 3, how)
        ws.write_string(i, 2, money_text(unit))  # the subject's currencies
        ws.write_string(i, 4, money_text(meaning))
    ws.add_table(0, 0, len(rows), len(headers) - 1, {
        "name": book.table_name(sheet), "columns": [{"header": h} for h in headers],
        "style": "Table Style Light 9"})
    _size_columns(ws, [26, 14, 10, 20, 72])
    ws.freeze_panes(1, 0)
    _print_setup(ws, len(rows), len(headers) - 1)
    book.index.append(_Sheet(sheet, f"value {scen}",
                             f"EV/Sales bridge on {year}E sales as live formulas: change the "
                             "yellow inputs and the target price recalculates", len(rows)))
    cells = _ValuationCells(sheet, multiple=1, sales=2, net_cash=3, shares=4, fx=5, tp=8)
    for raw, row, value, unit, what in [
        (f"tp_{scen}", cells.tp, v.target_price, "HKD", "target price"),
        (f"multiple_{scen}", cells.multiple, v.multiple, "x", "EV/Sales multiple"),
        (f"valuation_sales_{scen}", cells.sales, v.sales_m, "RMB m", f"{year}E sales"),
        (f"net_cash_{scen}", cells.net_cash, v.net_cash_m, "RMB m", "net cash"),
        (f"shares_{scen}", cells.shares, v.shares_m, "m shares", "shares outstanding"),
        (f"fx_listing_{scen}", cells.fx, v.fx_listing, "RMB/HKD", "exchange rate"),
        (f"ev_{scen}", 6, v.ev_m, "RMB m", "enterprise value"),
        (f"equity_{scen}", 7, v.equity_m, "RMB m", "equity value"),
    ]:
        book.define(raw, _abs_ref(sheet, row, 1), value, unit, what)
    return cells


def _grid_axes(df: pd.DataFrame) -> tuple[list[float], list[float]] | None:
    """Multiples and sales changes of a sensitivity table, when it is a complete grid."""
    if not {"multiple", "sales_change", "target_price"} <= set(df.columns):
        return None
    mult = [float(m) for m in dict.fromkeys(df["multiple"].tolist())]
    chg = [float(d) for d in dict.fromkeys(df["sales_change"].tolist())]
    if len(df) != len(mult) * len(chg) or not all(map(math.isfinite, mult + chg)):
        return None
    return mult, chg


def _add_sensitivity_grid(book: _Book, sheet: str, scen: str, title: str,
                          axes: tuple[list[float], list[float]], cells: _ValuationCells,
                          inp: dict[str, Any], prints: bool = True) -> None:
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
    headers = [money_text(h) for h in headers]  # the subject's listing currency
    tp_fmt = fmt.get(UNIT_FORMATS["HKD"])
    for i, m in enumerate(mult, start=1):
        ws.write_number(i, 0, m, fmt.get(UNIT_FORMATS["x"], bg_color=INPUT_FILL,
                                         font_color="#1F4E79"))
        for j, d in enumerate(chg, start=1):
            value = value_from_sales(inp["sales_m"] * (1.0 + d), m, inp["net_cash_m"],
                                     inp["shares_m"], inp["fx_listing"]).target_price
            formula = (f"=($A{i + 1}*{v_ref['sales']}*(1{d:+.12g})+{v_ref['net_cash']})"
                       f"/{v_ref['shares']}/{v_ref['fx']}")
            ws.write_formula(i, j, formula, tp_fmt, value=value)
    ws.add_table(0, 0, max(len(mult), 1), len(headers) - 1, {
        "name": book.table_name(sheet), "columns": [{"header": h} for h in headers],
        "style": "Table Style Light 9"})
    _size_columns(ws, [14] + [max(len(h), 10) for h in headers[1:]])
    ws.freeze_panes(1, 1)
    _print_setup(ws, max(len(mult), 1), len(headers) - 1, prints)
    book.index.append(_Sheet(sheet, f"value {scen}", f"{title} (grid of formulas over the "
                             "valuation sheet's inputs)", len(mult), prints))


_HEADLINES: dict[tuple[str, str], str] = {
    ("plan", "total_capex_m"): "capex_total",
    ("plan", "total_shortfall_eflops_quarters"): "shortfall_total",
    ("plan", "objective_m"): "objective",
    ("value", "note_target_price"): "note_tp",
    ("value", "valuation_genai_revenue_m"): "valuation_genai_revenue",
    ("value", "valuation_gross_margin"): "valuation_gross_margin",
    ("stress", "centre_target_price"): "tp_centre",
}
"""(report kind, scalar key) -> defined-name stem of headline figures on the scalars sheet
(``{year}`` is the valuation year). The valuation bridge names its own cells."""


_TABLE_HEADLINES: dict[tuple[str, str], tuple[str, dict[str, str], tuple[str, ...]]] = {
    ("stress", "percentiles"): ("kpi", {"target_price": "tp"}, ("p5", "p50", "p95", "mean")),
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
    # scenarios first, so a code s<k> is the k-th scenario of the run (a comparison's own sheets
    # are named by its kind, which fits)
    order = sorted(labels, key=lambda label: label not in {
        str(r.scalars["scenario"]) for r in reports if r.scalars.get("scenario")})
    prefix = sheet_labels(order, longest) if multi else {}

    def sheet_for(label: str, table: str) -> str:
        raw_name = f"{prefix[label]}_{table}" if multi else table
        return _sheet_name(raw_name, book.sheets_used)

    # every sheet's name first (in the order written), so a summary sheet can refer to the data
    # sheets written after it
    planned: list[dict[str, str]] = []
    for r, label in zip(reports, labels, strict=True):
        names = {"valuation": sheet_for(label, "valuation")} if _valuation_inputs(r) else {}
        names.update({name: sheet_for(label, name) for name in r.tables})
        planned.append(names)
    scal = scalars_table(reports)
    scal_sheet = _sheet_name("scalars", book.sheets_used)
    assumptions_sheet = _sheet_name("assumptions", book.sheets_used) if scenarios else ""
    frames = [{name: csv_frame(df) for name, df in r.tables.items()} for r in reports]

    for r, sheets, tables in zip(reports, planned, frames, strict=True):
        scen = str(r.scalars.get("scenario", "")) or r.kind
        what = f"{r.kind} {r.scalars.get('scenario', '')}".strip()
        inp = _valuation_inputs(r)
        cells = None
        if inp is not None:
            cells = _add_valuation_sheet(book, sheets["valuation"], scen, inp)
        for name, df in r.tables.items():
            title = r.titles.get(name, name)
            prints = not multi or (r.kind, name) in SUMMARY_TABLES
            axes = _grid_axes(df) if name == "sensitivity" else None
            if cells is not None and axes is not None:
                _add_sensitivity_grid(book, sheets[name], scen, title, axes, cells, inp, prints)
            else:
                sheet, frame = sheets[name], tables[name]
                formulas = (kpi_formulas(frame, reports, planned, frames, scal, scal_sheet)
                            if (r.kind, name) == ("compare", "kpis") else None)
                _add_table_sheet(book, sheet, frame, what, title, prints, formulas)
                _name_table_figures(book, r, name, frame, sheet, scen)

    _add_table_sheet(book, scal_sheet, scal, "every report",
                     "Single figures of each report (target price, totals, ...)", not multi)
    _name_scalars(book, scal_sheet, scal, reports)
    if scenarios:
        _add_table_sheet(book, assumptions_sheet, assumptions_table(scenarios), "inputs",
                         "Every input (dotted key), its value per scenario and its source")
    if book.names:
        _add_names_sheet(book)
    _write_index(book, index_ws)
    wb.close()
    return raw.getvalue()


SUMMARY_TABLES = {("compare", "kpis"), ("compare", "kpis_text"), ("compare", "scenarios"),
                  ("compare", "binding")}
"""(report kind, table) of the tables that print in a workbook of several reports; the other
tables of such a workbook (each scenario's detail, the vintage changes, the scalars) are detail
sheets that do not print (:func:`_print_setup`). The valuation bridges, the assumptions, the
defined names and the index print too."""

_ANNUAL_KPIS = {"genai_revenue_m": "genai_revenue_m", "genai_share": "genai_share",
                "total_revenue_m": "revenue_m"}
"""KPI stem -> column of the value report's ``annual`` table that holds it per year
(:func:`capacity.comparison.scenario_kpis`)."""

_SCALAR_KPIS = {"npv_m": "objective_m"}
"""KPI -> the plan scalar holding the same figure under another key."""

_KPI_PERIOD = re.compile(r"^(?P<stem>.+)_(?P<period>\d{4}(Q[1-4])?)$")


def _same(a: Any, b: Any) -> bool:
    """Whether a data cell holds the KPI's figure (a reference is written only then)."""
    if not (isinstance(a, int | float) and isinstance(b, int | float)) or isinstance(a, bool):
        return False
    a, b = float(a), float(b)
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-9 * max(1.0, abs(b))


def kpi_formulas(kpis: pd.DataFrame, reports: list[Report], planned: list[dict[str, str]],
                 frames: list[dict[str, pd.DataFrame]], scal: pd.DataFrame, scal_sheet: str
                 ) -> dict[tuple[int, int], str]:
    """Formulas of the ``compare_kpis`` sheet over the data sheets: (row, column) -> formula.

    A scenario's KPI refers to the data cell that holds it (the ``scalars`` sheet's value of a
    plan or value scalar, the plan's ``quarters`` cell of that quarter, the value report's
    ``annual`` cell of that year), or sums the plan's quarters up to that quarter
    (``cumulative_capex_m_<quarter>`` = SUM of ``capex_m``), or sums the scenario's
    rows of the comparison's ``binding`` sheet (``binding_limits`` = SUMIFS of
    ``quarters_binding``). A difference column ``<s>_vs_<first>`` is the scenario's cell minus
    the first scenario's. Only cells whose data cell holds the figure itself get a reference;
    the rest (``shortfall_quarters``) stay values. Rows and columns are zero-based, header
    row 0.
    """
    from xlsxwriter.utility import xl_rowcol_to_cell

    cols = [str(c) for c in kpis.columns]
    scen_cols = [c for c in cols if c not in ("kpi", "unit")]
    first = scen_cols[0] if scen_cols else ""
    names = [c for c in scen_cols if c == first or not c.endswith(f"_vs_{first}")]
    by_scen: dict[tuple[str, str], int] = {}
    for k, r in enumerate(reports):
        if r.kind in ("plan", "value") and "scenario" in r.scalars:
            by_scen.setdefault((r.kind, str(r.scalars["scenario"])), k)
    scal_row = {(str(rep), str(sc), str(key)): i for i, (rep, sc, key) in
                enumerate(zip(scal["report"], scal["scenario"], scal["key"], strict=True),
                          start=1)}
    value_col = list(scal.columns).index("value")

    def table_ref(k: int | None, table: str, key_col: str, key: str, col: str
                  ) -> tuple[str, int, int, pd.DataFrame] | None:
        if k is None or table not in frames[k]:
            return None
        frame = frames[k][table]
        if key_col not in frame.columns or col not in frame.columns:
            return None
        hits = [i for i, v in enumerate(frame[key_col].astype(str)) if v == key]
        if not hits:
            return None
        return planned[k][table], hits[0] + 1, list(frame.columns).index(col), frame

    cmp = next((k for k, r in enumerate(reports) if r.kind == "compare"), None)

    def source(scen: str, kpi: str, value: Any) -> str | None:
        plan, val = by_scen.get(("plan", scen)), by_scen.get(("value", scen))
        if kpi == "binding_limits" and cmp is not None:  # the sum of the binding table's rows
            got = table_ref(cmp, "binding", "scenario", scen, "quarters_binding")
            if got is None:
                return None
            sheet, _, col, frame = got
            mine = frame["scenario"].astype(str) == scen
            if not _same(float(frame.loc[mine, "quarters_binding"].sum()), value):
                return None
            n = len(frame)
            by = list(frame.columns).index("scenario")
            ref = f"{_quote_sheet(sheet)}!"
            quoted = scen.replace('"', '""')
            return (f"=SUMIFS({ref}{xl_rowcol_to_cell(1, col, True, True)}:"
                    f"{xl_rowcol_to_cell(n, col, True, True)},{ref}"
                    f"{xl_rowcol_to_cell(1, by, True, True)}:{xl_rowcol_to_cell(n, by, True, True)}"
                    f',"{quoted}")')
        for kind, key in (("plan", _SCALAR_KPIS.get(kpi, kpi)), ("value", kpi)):
            i = scal_row.get((kind, scen, key))
            if i is not None and _same(scal["value"].iloc[i - 1], value):
                return "=" + _abs_ref(scal_sheet, i, value_col)
        m = _KPI_PERIOD.match(kpi)
        if m is None:
            return None
        stem, period = m["stem"], m["period"]
        if "Q" in period:
            cum = stem == "cumulative_capex_m"
            got = table_ref(plan, "quarters", "period", period, "capex_m" if cum else stem)
            if got is None:
                return None
            sheet, row, col, frame = got
            if cum:
                total = float(frame["capex_m"].iloc[:row].sum())
                top = xl_rowcol_to_cell(1, col, True, True)
                end = xl_rowcol_to_cell(row, col, True, True)
                return f"=SUM({_quote_sheet(sheet)}!{top}:{end})" if _same(total, value) \
                    else None
        elif stem in _ANNUAL_KPIS:
            got = table_ref(val, "annual", "year", period, _ANNUAL_KPIS[stem])
            if got is None:
                return None
            sheet, row, col, frame = got
        else:
            return None
        return "=" + _abs_ref(sheet, row, col) if _same(frame.iloc[row - 1, col], value) \
            else None

    from xlsxwriter.utility import xl_rowcol_to_cell as cell

    out: dict[tuple[int, int], str] = {}
    for i, kpi in enumerate(kpis["kpi"].astype(str), start=1):
        for name in names:
            f = source(name, kpi, kpis[name].iloc[i - 1])
            if f is not None:
                out[(i, cols.index(name))] = f
        for name in names[1:]:
            diff = f"{name}_vs_{first}"
            if diff in cols:
                out[(i, cols.index(diff))] = (f"={cell(i, cols.index(name))}"
                                              f"-{cell(i, cols.index(first))}")
    return out


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
    """The ``names`` sheet: each defined name, where it points, and its value as a formula
    over that name (so the sheet shows what the model would link to, live)."""
    frame = pd.DataFrame(book.names, columns=["name", "refers_to", "value", "unit", "what"])
    sheet = _sheet_name("names", book.sheets_used)
    value_col = list(frame.columns).index("value")
    formulas = {(i, value_col): f"={name}" for i, name in enumerate(frame["name"], start=1)}
    _add_table_sheet(book, sheet, frame, "every report",
                     "Defined names of the headline figures, for a valuation model to link to",
                     formulas=formulas)


NOT_PRINTED = "no: detail (print area off; set one to print it)"
"""The index sheet's ``prints`` entry of a detail sheet (:func:`_print_setup`)."""


def _write_index(book: _Book, ws: Any) -> None:
    """The first sheet: a hyperlink, the report's whole name, a one-line description, the row
    count and whether it prints, per sheet, as an Excel Table."""
    fmt = book.fmt
    headers = ["sheet", "report", "description", "rows", "prints"]
    link = fmt.get(None, font_color="blue", underline=1)
    for i, s in enumerate(book.index, start=1):
        ws.write_url(i, 0, f"internal:{_quote_sheet(s.name)}!A1", link, string=s.name)
        ws.write_string(i, 1, s.what)
        ws.write_string(i, 2, s.title)
        ws.write_number(i, 3, s.rows, fmt.get("#,##0"))
        ws.write_string(i, 4, "yes" if s.prints else NOT_PRINTED)
    last_row = max(len(book.index), 1)
    ws.add_table(0, 0, last_row, len(headers) - 1, {
        "name": book.table_name("index"), "columns": [{"header": h} for h in headers],
        "style": "Table Style Light 9"})
    widths = [max([5] + [len(s.name) for s in book.index]),
              min(max([24] + [len(s.what) for s in book.index]), 40),
              min(max([40] + [len(s.title) for s in book.index]), 90), 6,
              max(len(NOT_PRINTED) if any(not s.prints for s in book.index) else 6, 6)]
    _size_columns(ws, widths)
    ws.freeze_panes(1, 0)
    _print_setup(ws, last_row, len(headers) - 1)
    ws.activate()
