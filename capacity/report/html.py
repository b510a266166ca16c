"""The self-contained HTML report of an ``--out`` folder, as text (written by :mod:`.write`).

Inline CSS, charts as base64 PNG, no external loads. It reads on a laptop and on a phone: the
page is at most 1,200 px wide and as wide as the screen below that (a ``viewport`` tag), charts
shrink to fit, and a table wider than the screen scrolls inside its own box.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from capacity.results import Report, format_number, header_with_unit, jsonable, plain_frame


def _fmt(v: Any) -> str:
    v = jsonable(v)
    if v is None:
        return "&ndash;"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format_number(v)
    if isinstance(v, list | dict):
        return _esc(json.dumps(v, ensure_ascii=False))
    return _esc(str(v))


def _esc(text: str) -> str:
    return escape(text, quote=True)


def _html_table(df: pd.DataFrame, max_rows: int = 400) -> str:
    frame = plain_frame(df)
    head = "".join(f"<th>{_esc(header_with_unit(str(c)))}</th>" for c in frame.columns)
    body = []
    for row in frame.head(max_rows).itertuples(index=False, name=None):
        cells = "".join(
            f'<td class="n">{_fmt(v)}</td>' if isinstance(v, int | float | np.number)
            and not isinstance(v, bool) else f"<td>{_fmt(v)}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    more = (f'<p class="muted">{len(frame) - max_rows} more rows in the CSV and workbook.</p>'
            if len(frame) > max_rows else "")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>{more}")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;
padding:0 1em;color:#222;max-width:1200px;overflow-wrap:anywhere}
@media (max-width:600px){body{margin:0.5em auto;padding:0 0.5em}h1{font-size:1.25em}}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1.05em}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0}
th,td{border:1px solid #ddd;padding:2px 6px}th{background:#f3f3f3;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;border:1px solid #eee;margin:0.5em 0}
.scroll{max-width:100%;overflow-x:auto}table th,table td{overflow-wrap:normal}
.muted{color:#777;font-size:12px}details{margin:0.4em 0}summary{cursor:pointer}
"""


def html_report(reports: list[Report], scenarios: list, pngs: dict[str, bytes]) -> str:
    """A self-contained HTML report: inline CSS, charts as base64 PNG, no external loads.

    ``pngs`` maps chart file names to bytes; only the ``.png`` entries are embedded (the SVG of
    each chart is a file beside the report).
    """
    import base64

    kinds = ", ".join(dict.fromkeys(r.kind for r in reports))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>capacity {_esc(kinds)}</title><style>{_CSS}</style></head><body>",
             f"<h1>capacity: {_esc(kinds)}</h1>"]
    if scenarios:
        parts.append("<h2>Scenarios</h2><ul>")
        for sc in scenarios:
            parts.append(f"<li><b>{_esc(sc.name)}</b>: {_esc(sc.description)} "
                         f'<span class="muted">({len(sc.changes)} changes)</span></li>')
        parts.append("</ul>")
    primary_first = sorted(reports, key=lambda r: r.kind != "compare")
    compare_rep = next((r for r in primary_first if r.kind == "compare"), None)
    if compare_rep is not None:
        parts.append(f"<h2>{_esc(compare_rep.titles.get('kpis', 'KPIs'))}</h2>")
        parts.append(_html_table(compare_rep.tables["kpis"]))
    pngs = {name: data for name, data in pngs.items() if name.endswith(".png")}  # SVGs: files
    if pngs:
        parts.append("<h2>Charts</h2>")
        for name, data in pngs.items():
            b64 = base64.b64encode(data).decode("ascii")
            parts.append(f'<h3>{_esc(name.removesuffix(".png").replace("_", " "))}</h3>'
                         f'<a href="{_esc(name)}"><img alt="{_esc(name)}" '
                         f'src="data:image/png;base64,{b64}"></a>')
    for r in primary_first:
        label = f"{r.kind}: {r.scalars['scenario']}" if "scenario" in r.scalars else r.kind
        parts.append(f"<h2>{_esc(label)}</h2>")
        scal = [(k, v) for k, v in r.scalars.items() if k != "changes"]
        if scal:
            parts.append('<div class="scroll"><table><tbody>' + "".join(
                f"<tr><th>{_esc(header_with_unit(k))}</th><td>{_fmt(v)}</td></tr>"
                for k, v in scal) + "</tbody></table></div>")
        for name, df in r.tables.items():
            if r is compare_rep and name == "kpis":
                continue
            title = r.titles.get(name, name)
            parts.append(f"<details><summary>{_esc(title)} ({len(df)} rows)</summary>"
                         f"{_html_table(df)}</details>")
    if scenarios:
        parts.append("<h2>Changes against the baseline</h2>")
        for sc in scenarios:
            parts.append(f"<h3>{_esc(sc.name)}</h3>")
            if not sc.changes:
                parts.append('<p class="muted">none: the baseline as shipped</p>')
                continue
            parts.append("<ul>" + "".join(
                f"<li><code>{_esc(c.key)}</code>: {_fmt(c.as_record()['old'])} &rarr; "
                f"{_fmt(c.as_record()['new'])} <span class=\"muted\">({_esc(c.origin)})"
                f"</span></li>" for c in sc.changes) + "</ul>")
    parts.append('<p class="muted">Written by capacity; inputs, hashes and versions are in '
                 "manifest.json beside this file.</p></body></html>")
    return "\n".join(parts) + "\n"


