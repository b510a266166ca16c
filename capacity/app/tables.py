"""Result tables of ``capacity serve`` as HTML text: ``name [unit]`` headers, numbers by unit.

A table is one component of markup (:func:`table`): the browser lays it out far faster than one
component per cell.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc


def column_unit(col: str) -> str:
    from capacity.results import unit_of

    return unit_of(col)


def format_value(col: str, v: Any, decimals: int | None = None) -> str:
    from capacity.results import display_scalar, format_fixed

    if isinstance(v, float | int) and not isinstance(v, bool) and decimals is not None:
        return "-" if pd.isna(v) else format_fixed(float(v), decimals)
    return display_scalar(col, v)


def _table_parts(df: pd.DataFrame, kind: str, name: str, columns: list[str] | None
                 ) -> tuple[list[tuple[str, str | None]], list[list[tuple[str, bool]]]]:
    """Headers ``(name [unit], definition)`` and rows of ``(text, is_number)`` cells of a
    result table, numbers formatted by their unit."""
    from capacity.report.names import describe
    from capacity.results import decimals_for, header_with_unit, plain_frame

    frame = plain_frame(df)
    cols = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    head = []
    for c in cols:
        d = describe(kind, name, str(c))
        head.append((header_with_unit(str(c)), d[1] if d else None))
    places = {c: decimals_for(column_unit(str(c)), list(frame[c])) for c in cols
              if pd.api.types.is_float_dtype(frame[c])}
    per_row = "unit" in frame.columns and not pd.api.types.is_numeric_dtype(frame["unit"])
    rows = []
    for i, values in enumerate(frame[cols].itertuples(index=False)):
        if per_row:  # rows that carry their own unit (KPI tables): decimals by that unit
            d = decimals_for(str(frame["unit"].iloc[i] or ""), [
                v for v in values if isinstance(v, int | float) and not isinstance(v, bool)])
            places = dict.fromkeys(places, d)
        cells = []
        for c, v in zip(cols, values, strict=True):
            numeric = isinstance(v, int | float) and not isinstance(v, bool)
            text = "-" if isinstance(v, float) and pd.isna(v) else format_value(str(c), v,
                                                                         places.get(c))
            cells.append((text, numeric))
        rows.append(cells)
    return head, rows


def table(df: pd.DataFrame, kind: str, name: str, columns: list[str] | None = None,
          table_id: str | None = None) -> dcc.Markdown:
    """A result table with ``name [unit]`` headers (the definition from
    :mod:`capacity.report.names` as a tooltip) and numbers formatted by their unit, as one
    component of HTML text: the browser lays out a table far faster as markup than as one
    component per cell."""
    return markup(table_html(df, kind, name, table_id or f"t-{name}", columns))


def markup(text: str) -> dcc.Markdown:
    return dcc.Markdown(text, dangerously_allow_html=True)


def table_html(df: pd.DataFrame, kind: str, name: str, table_id: str,
               columns: list[str] | None = None) -> str:
    """A result table as HTML text (see :func:`table`)."""
    import html as esc

    head, rows = _table_parts(df, kind, name, columns)
    th = "".join(f"<th title=\"{esc.escape(t or '')}\">{esc.escape(h)}</th>" for h, t in head)
    body = "".join("<tr>" + "".join(f"<td class=\"{'n' if num else ''}\">{esc.escape(text)}"
                                    "</td>" for text, num in r) + "</tr>" for r in rows)
    return f"<table id=\"{table_id}\"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def scalars_table(result, table_id: str) -> dcc.Markdown:
    """The scalars of a result, ``key [unit] | value``."""
    from capacity.results import display_scalar, header_with_unit

    return markup(rows_html([(header_with_unit(k), display_scalar(k, v))
                               for k, v in result.scalars.items()
                               if not isinstance(v, list | dict)], table_id))


def rows_html(rows: list[tuple[str, ...]], table_id: str, head: tuple[str, ...] = ()) -> str:
    """Rows of (label, number text, ...) as an HTML table; the first cell a header."""
    import html as esc

    def tr(r: tuple[str, ...], cell: str = "td") -> str:
        first = "th" if cell == "td" else cell
        return (f"<tr><{first}>{esc.escape(r[0])}</{first}>" + "".join(
            f"<{cell} class=\"n\">{esc.escape(c)}</{cell}>" for c in r[1:]) + "</tr>")

    thead = f"<thead>{tr(head, 'th')}</thead>" if head else ""
    return (f"<table id=\"{table_id}\">{thead}<tbody>{''.join(tr(r) for r in rows)}"
            "</tbody></table>")
