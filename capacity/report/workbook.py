"""The ``.xlsx`` workbook of an ``--out`` folder, as bytes (written by :mod:`.write`).

A contents sheet, one sheet per table with units in the headers and numbers as numbers, the
scalars of every report and the assumptions of every scenario. Fixed timestamps and zip dates, so
the same inputs give the same bytes.
"""

from __future__ import annotations

import io

import pandas as pd

from capacity.report.formats import assumptions_table, cell_value, scalars_table
from capacity.results import Report, csv_frame, header_with_unit

WORKBOOK_TIMESTAMP = "2000-01-01T00:00:00"
"""Created/modified time written into every workbook, so the same inputs give the same bytes."""

_SHEET_FORBIDDEN = set('[]:*?/\\')


def _sheet_name(raw: str, used: set[str]) -> str:
    """An Excel-safe, unique sheet name of at most 31 characters."""
    name = "".join("_" if ch in _SHEET_FORBIDDEN else ch for ch in raw).strip("'") or "sheet"
    name = name[:31]
    base, n = name, 2
    while name.lower() in used:
        tail = f"~{n}"
        name = base[:31 - len(tail)] + tail
        n += 1
    used.add(name.lower())
    return name


def _report_label(report: Report, multi: bool) -> str:
    scen = report.scalars.get("scenario")
    if not multi:
        return ""
    return f"{scen}_" if scen else f"{report.kind}_"


def workbook_bytes(reports: list[Report], scenarios: list) -> bytes:
    """One ``.xlsx`` workbook: a contents sheet, one sheet per table, scalars and assumptions.

    Headers carry units (``peak_eflops [EFLOPS]``); figures are numbers, not text; the
    created/modified times are :data:`WORKBOOK_TIMESTAMP` and the zip entries carry a fixed
    date, so the same inputs give the same bytes.
    """
    import datetime as dt
    import zipfile

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    contents = wb.active
    contents.title = "contents"
    used = {"contents"}
    multi = len(reports) > 1
    bold = Font(bold=True)
    index_rows: list[tuple[str, str, str, str, int]] = []

    def add_sheet(name: str, df: pd.DataFrame, what: str, title: str) -> None:
        ws = wb.create_sheet(_sheet_name(name, used))
        frame = csv_frame(df)
        ws.append([header_with_unit(str(c)) for c in frame.columns])
        for cell in ws[1]:
            cell.font = bold
        for row in frame.itertuples(index=False, name=None):
            ws.append([cell_value(v) for v in row])
        ws.freeze_panes = "A2"
        for j, col in enumerate(frame.columns, 1):
            width = max([len(header_with_unit(str(col)))] +
                        [len(str(v)) for v in frame[col].head(200)])
            ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
        index_rows.append((ws.title, what, title, header_with_unit(str(frame.columns[0])),
                           len(frame)))

    for r in reports:
        label = _report_label(r, multi)
        for name, df in r.tables.items():
            add_sheet(f"{label}{name}", df, f"{r.kind} {r.scalars.get('scenario', '')}".strip(),
                      r.titles.get(name, name))
    add_sheet("scalars", scalars_table(reports), "every report",
              "Single figures of each report (target price, totals, ...)")
    if scenarios:
        add_sheet("assumptions", assumptions_table(scenarios), "inputs",
                  "Every input (dotted key), its value per scenario and its source")
    contents.append(["sheet", "report", "title", "first column", "rows"])
    for cell in contents[1]:
        cell.font = bold
    for row in index_rows:
        contents.append(list(row))
    for j, width in enumerate((34, 28, 80, 24, 8), 1):
        contents.column_dimensions[get_column_letter(j)].width = width

    stamp = dt.datetime.fromisoformat(WORKBOOK_TIMESTAMP)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "capacity"
    raw = io.BytesIO()
    try:
        from openpyxl.writer.excel import ExcelWriter

        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            ExcelWriter(wb, archive).write_data()
    except ImportError:  # pragma: no cover - older/newer openpyxl layout
        wb.save(raw)
    # re-pack with a fixed date on every entry (zip entries otherwise carry the write time)
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=(stamp.year, 1, 1, 0, 0, 0))
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = 0o600 << 16
            dst.writestr(out, src.read(info.filename))
    return fixed.getvalue()


