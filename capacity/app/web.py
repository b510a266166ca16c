"""The Dash app of ``capacity serve``: the page, its callbacks, the figures and tables.

The page is a panel of fields (scenario, base scenario, export-control rules, the inputs of
:func:`capacity.app.state.knobs`, free ``--set`` lines) and the results of the view. The state
is the query string (:class:`capacity.app.state.Settings`), held in a ``dcc.Location``:

1. :func:`build_panel` draws the fields for the settings in the URL (on load, on back/forward,
   on a change of scenario) and records them in the ``settings`` store;
2. :func:`collect` turns the fields into settings after each change and writes them to the URL
   and the store;
3. :func:`show` evaluates the stored settings (:func:`capacity.app.state.evaluate`, cached) and
   draws the results; an error is shown beside the field it is about, the earlier results stay.

Every asset is served by this process (``serve_locally``, no external scripts or fonts).
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from capacity.app.state import (
    RULES_KEY,
    STRESS_SAMPLES,
    Settings,
    evaluate,
    knobs,
    parse_items,
    plan_cards,
    rule_options,
    rules_item,
    same_value,
    split_item,
    start_stress,
    stress_job,
    target_prices,
)
from capacity.errors import CapacityError

BINDING_ROWS = 16
"""Binding limits listed (the largest shadow prices first)."""

VALUE_TABLES = ("methods", "pnl", "annual", "cash", "bridge")
"""Tables of the value result shown beside the fleet, those it has, in this order: target price
by method, P&L, cash runway (the finance rewrite's), the calendar years and the EV/Sales bridge
(today's); every table is under "every table" as well."""

GRAPH = {"displaylogo": False, "displayModeBar": False}
"""Figure options: no plotly logo or mode bar."""

BINDING_PER_FAMILY = 4
"""Binding limits listed per family (access, budget, power, demand, ...)."""

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1d2733; background: #f6f7f9; font-size: 14px; }
header { background: #1d2733; color: #fff; padding: 10px 18px; }
header h1 { font-size: 18px; margin: 0; display: inline-block; }
header span { margin-left: 14px; color: #b8c2cc; font-size: 13px; }
.layout { display: flex; align-items: flex-start; }
aside { width: 330px; min-width: 330px; padding: 12px 14px; background: #fff;
        border-right: 1px solid #dde1e6; height: calc(100vh - 44px); overflow-y: auto;
        box-sizing: border-box; position: sticky; top: 0; }
main { flex: 1; padding: 12px 18px; min-width: 0; }
h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #4b5a6b;
     margin: 14px 0 6px; }
h2 { font-size: 15px; margin: 16px 0 6px; }
.knob { display: grid; grid-template-columns: 1fr 92px; gap: 2px 6px; margin: 4px 0; }
.knob label { font-size: 11px; overflow-wrap: anywhere; }
.knob code { font-size: 11px; }
.knob { align-items: center; }
.table-key { font-size: 11px; margin: 2px 0 0; }
.knob input { width: 88px; font-size: 13px; padding: 2px 4px; }
.unit { font-size: 11px; color: #6b7785; }
.err { color: #b00020; font-size: 12px; grid-column: 1 / 3; }
.err:empty { display: none; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 8px 12px;
        min-width: 150px; }
.card .k { font-size: 11px; color: #6b7785; }
.card .v { font-size: 22px; font-weight: 600; }
.card .b { font-size: 11px; color: #6b7785; }
table { border-collapse: collapse; background: #fff; font-size: 12px; margin-bottom: 8px; }
th, td { border: 1px solid #dde1e6; padding: 3px 6px; }
th { background: #eef1f4; text-align: left; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.row { display: flex; flex-wrap: wrap; gap: 12px; }
.row > div { flex: 1 1 420px; min-width: 0; overflow-x: auto; }
.status { font-size: 12px; color: #4b5a6b; margin: 6px 0; }
.banner { color: #b00020; background: #fdecee; border: 1px solid #f5c2c9; padding: 6px 10px;
          border-radius: 4px; margin: 6px 0; }
.banner:empty { display: none; }
textarea { width: 100%; font-family: ui-monospace, monospace; font-size: 12px; }
button { font-size: 13px; padding: 4px 10px; margin: 4px 4px 4px 0; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; }
"""

INDEX = """<!DOCTYPE html>
<html>
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
        <style>""" + CSS + """</style>
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


# --------------------------------------------------------------------------------------------
# Loading a scenario's defaults (the fields' starting values)
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _scenario(name: str):
    from capacity.scenarios import load_scenario

    return load_scenario(name)


def _shipped() -> list[str]:
    from capacity.scenarios import shipped_scenarios

    return list(shipped_scenarios())


# --------------------------------------------------------------------------------------------
# Numbers with units
# --------------------------------------------------------------------------------------------


def _unit(col: str) -> str:
    from capacity.results import unit_of

    return unit_of(col)


def _fmt(col: str, v: Any, decimals: int | None = None) -> str:
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
    places = {c: decimals_for(_unit(str(c)), list(frame[c])) for c in cols
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
            text = "-" if isinstance(v, float) and pd.isna(v) else _fmt(str(c), v,
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
    return _markup(table_html(df, kind, name, table_id or f"t-{name}", columns))


def _markup(text: str) -> dcc.Markdown:
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

    return _markup(_rows_html([(header_with_unit(k), display_scalar(k, v))
                               for k, v in result.scalars.items()
                               if not isinstance(v, list | dict)], table_id))


def _rows_html(rows: list[tuple[str, ...]], table_id: str, head: tuple[str, ...] = ()) -> str:
    """Rows of (label, number text, ...) as an HTML table; the first cell a header."""
    import html as esc

    def tr(r: tuple[str, ...], cell: str = "td") -> str:
        first = "th" if cell == "td" else cell
        return (f"<tr><{first}>{esc.escape(r[0])}</{first}>" + "".join(
            f"<{cell} class=\"n\">{esc.escape(c)}</{cell}>" for c in r[1:]) + "</tr>")

    thead = f"<thead>{tr(head, 'th')}</thead>" if head else ""
    return (f"<table id=\"{table_id}\">{thead}<tbody>{''.join(tr(r) for r in rows)}"
            "</tbody></table>")


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _layout(fig: go.Figure, title: str, ytitle: str) -> go.Figure:
    fig.update_layout(title={"text": title, "font": {"size": 14}}, margin=dict(l=50, r=10,
                      t=40, b=40), height=330, legend={"font": {"size": 10}},
                      paper_bgcolor="#fff", plot_bgcolor="#fff", yaxis_title=ytitle,
                      xaxis_title="quarter")
    fig.update_xaxes(type="category", gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee", rangemode="tozero")
    return fig


def compute_figure(ev) -> go.Figure:
    """Effective and peak compute of the plan against demand and the disclosed points (and the
    base scenario's effective compute)."""
    from capacity.results import plain_frame

    q = plain_frame(ev.plan.tables["quarters"])
    x = [str(p) for p in q["period"]]
    d = ev.scenario.disclosures
    points = {m: d[d["metric"] == m] for m in ("peak_eflops", "peak_eflops_with_orders")}
    xs = sorted({*x, *(str(p) for s in points.values() for p in s["period"])})
    fig = go.Figure()
    fig.add_scatter(x=x, y=q["peak_eflops"], name="peak_eflops (plan)", mode="lines")
    fig.add_scatter(x=x, y=q["effective_eflops"], name="effective_eflops (plan)", mode="lines")
    fig.add_scatter(x=x, y=q["demand_eflops"], name="demand_eflops", mode="lines",
                    line={"dash": "dash", "color": "#444"})
    if ev.base_plan is not None:
        b = plain_frame(ev.base_plan.tables["quarters"])
        fig.add_scatter(x=[str(p) for p in b["period"]], y=b["effective_eflops"],
                        name=f"effective_eflops ({ev.settings.base})", mode="lines",
                        line={"dash": "dot", "color": "#999"})
    for metric, sel in points.items():
        if len(sel):
            fig.add_scatter(x=[str(p) for p in sel["period"]], y=sel["value"],
                            name=f"disclosed {metric}", mode="markers",
                            marker={"symbol": "diamond-open" if "orders" in metric else
                                    "diamond", "size": 9, "color": "black"})
    _layout(fig, "Compute vs demand and the disclosed points", "compute [EFLOPS]")
    fig.update_xaxes(categoryorder="array", categoryarray=xs)
    return fig


def purchases_figure(ev) -> go.Figure:
    """GPUs bought by delivery quarter and chip."""
    from capacity.results import plain_frame

    p = plain_frame(ev.plan.tables["purchases"])
    q = [str(x) for x in plain_frame(ev.plan.tables["quarters"])["period"]]
    fig = go.Figure()
    if len(p):
        by = p.groupby(["chip", p["period"].astype(str)], sort=False)["units"].sum()
        for chip in dict.fromkeys(p["chip"]):
            s = by.loc[chip]
            fig.add_bar(x=list(s.index), y=list(s.values), name=chip)
    fig.update_layout(barmode="stack")
    _layout(fig, "Purchases by delivery quarter", "GPUs bought [units]")
    fig.update_xaxes(categoryorder="array", categoryarray=q)
    return fig


def fleet_figure(ev) -> go.Figure:
    """Installed GPUs by chip."""
    from capacity.results import plain_frame

    f = plain_frame(ev.plan.tables["fleet"])
    f = f.assign(period=f["period"].astype(str))
    wide = f.pivot_table(index="period", columns="chip", values="units", aggfunc="sum",
                         sort=False).fillna(0.0)
    fig = go.Figure()
    for chip in wide.columns:
        if float(wide[chip].abs().max()) > 0.5:
            fig.add_scatter(x=list(wide.index), y=list(wide[chip]), name=str(chip),
                            stackgroup="fleet", mode="lines", line={"width": 0.5})
    return _layout(fig, "Fleet by chip (installed)", "GPUs installed [units]")


def fan_figure(report, series: str) -> go.Figure:
    """Percentile bands (p5-p95, p25-p75) and the median of one series of a stress fan."""
    from capacity.results import plain_frame, unit_of

    fan = plain_frame(report.tables["fan"])
    d = fan[fan["series"] == series]
    x = [str(p) for p in d["period"]]
    fig = go.Figure()
    fig.add_scatter(x=x, y=d["p95"], mode="lines", line={"width": 0}, showlegend=False,
                    hoverinfo="skip")
    fig.add_scatter(x=x, y=d["p5"], mode="lines", line={"width": 0}, fill="tonexty",
                    fillcolor="#c6dbef", name="p5-p95")
    fig.add_scatter(x=x, y=d["p75"], mode="lines", line={"width": 0}, showlegend=False,
                    hoverinfo="skip")
    fig.add_scatter(x=x, y=d["p25"], mode="lines", line={"width": 0}, fill="tonexty",
                    fillcolor="#6baed6", name="p25-p75")
    fig.add_scatter(x=x, y=d["p50"], mode="lines", line={"color": "#08306b"}, name="median")
    return _layout(fig, series, f"{series} [{unit_of(series)}]")


def stress_view(report) -> list:
    """The fan of each series, the percentiles and threshold probabilities of a stress run."""
    fan = report.tables["fan"]
    graphs = [html.Div(dcc.Graph(figure=fan_figure(report, s), config=GRAPH,
                                 id=f"g-fan-{s}")) for s in dict.fromkeys(fan["series"])]
    return [html.Div(graphs, className="row"),
            html.Div([html.Div([html.H3("stress"), scalars_table(report, "s-stress")]),
                      html.Div([html.H3(report.titles.get("thresholds", "thresholds")),
                                table(report.tables["thresholds"], "stress", "thresholds")])],
                     className="row"),
            html.H3(report.titles.get("percentiles", "percentiles")),
            table(report.tables["percentiles"], "stress", "percentiles")]


# --------------------------------------------------------------------------------------------
# The panel of fields
# --------------------------------------------------------------------------------------------


def _err(key: str) -> html.Div:
    return html.Div(id={"type": "err", "key": key}, className="err")


def panel(settings: Settings) -> list:
    """The fields for ``settings`` (its scenario's defaults, its items filled in)."""
    names = _shipped()
    head = [
        html.H3("Scenario"),
        dcc.Dropdown(names, settings.scenario if settings.scenario in names else None,
                     id="scenario", clearable=False),
        html.H3("Base scenario (side by side)"),
        dcc.Dropdown(names, settings.base, id="base", placeholder="none"),
    ]
    try:
        sc = _scenario(settings.scenario)
    except CapacityError as exc:
        return [*head, html.Div(exc.one_line(), className="banner", id="panel-error"),
                *_hidden_fields()]
    given = {}
    for item in settings.sets:
        try:
            key, raw = split_item(item)
        except CapacityError:
            key, raw = item, ""
        given[key] = raw
    try:
        rules_now = parse_items([f"{RULES_KEY}={given[RULES_KEY]}"])[RULES_KEY] \
            if RULES_KEY in given else None
    except CapacityError:
        rules_now = None
    options = rule_options(sc)
    on = [o.id for o in options if (o.id in rules_now if isinstance(rules_now, list)
                                    else o.on)]
    fields = [html.H3("Export-control rules in force"),
              dcc.Checklist([{"label": f" {o.id} ({o.first})", "value": o.id,
                              "title": o.title} for o in options], on, id="rules",
                            labelStyle={"display": "block", "fontSize": "12px"}),
              _err(RULES_KEY)]
    ks = knobs(sc)
    group = prefix = None
    for k in ks:
        if k.group != group:
            group, prefix = k.group, None
            fields.append(html.H3(group))
        if k.prefix and k.prefix != prefix:
            fields.append(html.Div([html.Code(f"{k.prefix}*"),
                                    html.Span(f" [{k.unit or 'no unit'}]", className="unit")],
                                   className="table-key"))
        prefix = k.prefix
        unit = [] if k.prefix else [html.Span(f" [{k.unit or 'no unit'}]", className="unit")]
        fields.append(html.Div([
            html.Label([html.Code(k.label), *unit], title=k.key),
            dcc.Input(id={"type": "knob", "key": k.key}, name=k.key, type="text",
                      value=given.get(k.key, k.default), debounce=True,
                      placeholder=k.default),
            _err(k.key)], className="knob"))
    offered = {k.key for k in ks} | {RULES_KEY}
    extra = [f"{k}={v}" for k, v in given.items() if k not in offered]
    fields += [html.H3("Other --set lines (KEY=VALUE)"),
               dcc.Textarea(id="extra", value="\n".join(extra), rows=3,
                            placeholder="planner.pue=1.4"),
               html.Button("Apply", id="apply-extra"),
               _err("extra"),
               html.H3("Reproduce"),
               html.Button("Download scenario", id="download-button"),
               html.Button("Reset", id="reset-button")]
    return [*head, *fields]


def _hidden_fields() -> list:
    """The fields callbacks listen to, when the scenario did not load (so the page works)."""
    return [dcc.Checklist([], [], id="rules", style={"display": "none"}),
            dcc.Textarea(id="extra", value="", style={"display": "none"}),
            html.Button("Download scenario", id="download-button"),
            html.Button("Apply", id="apply-extra", style={"display": "none"}),
            html.Button("Reset", id="reset-button")]


def _defaults(name: str) -> dict[str, str]:
    try:
        return {k.key: k.default for k in knobs(_scenario(name))}
    except CapacityError:
        return {}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _cards(ev) -> list:
    tps = target_prices(ev.value)
    base = target_prices(ev.base_value) if ev.base_value is not None else {}
    out = []
    for k, v in tps.items():
        parts = [html.Div(k, className="k"),
                 html.Div([html.Span(f"{v:,.2f}", id=f"tp-{k}", **{"data-value": repr(v)}),
                           html.Span(f" {_unit(k)}", style={"fontSize": "13px"})],
                          className="v")]
        if k in base:
            parts.append(html.Div(f"{ev.settings.base}: {base[k]:,.2f} {_unit(k)}",
                                  className="b"))
        out.append(html.Div(parts, className="card"))
    extra = plan_cards(ev)
    y = ev.value.scalars.get("valuation_year")
    extra += [(f"sales_{y}e_rmb_m", ev.value), (f"genai_sales_{y}e_rmb_m", ev.value)]
    for k, res in extra:
        if k in res.scalars:
            out.append(html.Div([html.Div(k, className="k"), html.Div(
                [html.Span(_fmt(k, res.scalars[k]), id=f"kpi-{k}"),
                 html.Span(f" {_unit(k)}", style={"fontSize": "13px"})], className="v")],
                className="card"))
    return out


def _compare(ev) -> list:
    """Base vs this view: every numeric scalar the two value and plan results share."""
    if ev.base_value is None:
        return []
    from capacity.results import display_scalar, header_with_unit

    rows = []
    for cur, base in ((ev.value, ev.base_value), (ev.plan, ev.base_plan)):
        for k, v in cur.scalars.items():
            b = base.scalars.get(k)
            if isinstance(v, bool) or not isinstance(v, int | float) or \
                    isinstance(b, bool) or not isinstance(b, int | float):
                continue
            rows.append((header_with_unit(k), display_scalar(k, b), display_scalar(k, v),
                         display_scalar(k, v - b)))
    head = ("scalar [unit]", str(ev.settings.base), f"{ev.settings.scenario} (this view)",
            "change")
    return [html.H2(f"Side by side: {ev.settings.scenario} (this view) vs "
                    f"{ev.settings.base} (as shipped)"),
            _markup(_rows_html(rows, "t-compare", head))]


RESULT_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("cards", "children"), ("g-compute", "figure"), ("g-purchases", "figure"),
    ("g-fleet", "figure"), ("pnl", "children"), ("compare", "children"),
    ("binding", "children"), ("scalars", "children"))
"""The parts of the page a new evaluation redraws (component id, property); the figures are
updated in place (``Plotly.react``), not mounted again."""


def _figure(builder, ev) -> go.Figure:
    """``builder(ev)``, or a figure saying which column of the results it missed (the page
    keeps working when a table changes shape)."""
    try:
        return builder(ev)
    except KeyError as exc:
        fig = go.Figure()
        fig.update_layout(title={"text": f"{builder.__name__}: not drawn, the results have no "
                                 f"{exc}", "font": {"size": 12}}, height=200)
        return fig


def results(ev) -> list:
    """The parts of :data:`RESULT_OUTPUTS` for an evaluation: target prices, figures, P&L,
    the side-by-side comparison, binding limits, scalars."""
    from capacity.results import plain_frame

    binding = plain_frame(ev.plan.tables["binding"])
    if len(binding):  # the largest of each family of limits, families by their largest
        binding = binding.assign(_size=binding["shadow_price_rmb_m"].abs()).sort_values(
            "_size", ascending=False, kind="stable")
        binding = binding.groupby("constraint", sort=False).head(BINDING_PER_FAMILY)
        binding = binding.head(BINDING_ROWS).drop(columns="_size")
    return [
        _cards(ev),
        _figure(compute_figure, ev), _figure(purchases_figure, ev), _figure(fleet_figure, ev),
        [part for name in VALUE_TABLES if name in ev.value.tables
         for part in (html.H2(ev.value.titles.get(name, name)),
                      table(ev.value.tables[name], "value", name))],
        _compare(ev),
        [html.H2(f"Binding limits and their shadow prices (the {BINDING_PER_FAMILY} largest "
                 f"of each family; all {len(ev.plan.tables['binding'])} under 'every table')"),
         table(binding, "plan", "binding", ["constraint", "period", "chip", "limit",
                                            "limit_unit", "set_key", "shadow_price_rmb_m",
                                            "unit", "side", "degenerate"])],
        [html.H2("Scalars"),
         html.Div([html.Div([html.H3("value"), scalars_table(ev.value, "s-value")]),
                   html.Div([html.H3("plan"), scalars_table(ev.plan, "s-plan")])],
                  className="row")],
    ]


def every_table(ev) -> list:
    """Every table of the value and plan results (drawn only when asked for)."""
    out = []
    for res in (ev.value, ev.plan):
        for name, df in res.tables.items():
            out.append(html.Details([
                html.Summary(f"{res.kind}: {res.titles.get(name, name)} ({name}, "
                             f"{len(df)} rows)"),
                table(df, res.kind, name, table_id=f"d-{res.kind}-{name}")]))
    return out


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------


def make_app() -> Dash:
    """The Dash app (not started)."""
    app = Dash(__name__, title="capacity serve", update_title=None, serve_locally=True,
               suppress_callback_exceptions=True, index_string=INDEX,
               assets_ignore=".*", include_assets_files=False)
    app.layout = html.Div([
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="settings"),
        dcc.Download(id="download"),
        html.Header([html.H1("capacity: explore a scenario"),
                     html.Span("every number from the planner and valuation; units in "
                               "brackets")]),
        html.Div([html.Aside(id="panel"),
                  html.Main([html.Div(id="status", className="status"),
                             html.Div(id="cli-line", className="status"),
                             html.Div(id="error", className="banner"),
                             html.Div(id="cards", className="cards"),
                             html.Div([html.Div(dcc.Graph(id="g-compute", config=GRAPH)),
                                       html.Div(dcc.Graph(id="g-purchases", config=GRAPH))],
                                      className="row"),
                             html.Div([html.Div(dcc.Graph(id="g-fleet", config=GRAPH)),
                                       html.Div(id="pnl")], className="row"),
                             html.Div(id="compare"), html.Div(id="binding"),
                             html.Div(id="scalars"),
                             html.H2("Stress fan of these settings (Monte Carlo over the "
                                     "scenario's uncertain inputs)"),
                             html.Div("As capacity stress: the inputs of the scenario's "
                                      "[uncertain] table (history-uncertain's where it has "
                                      "none) are drawn from their distributions, so for those "
                                      "keys the draws, not the fields, decide; seed 0.",
                                      className="status"),
                             html.Div([html.Label("draws [count] "),
                                       dcc.Input(id="stress-samples", type="text",
                                                 value=str(STRESS_SAMPLES), size="6"),
                                       html.Button("Run stress fan", id="stress-button"),
                                       html.Span(id="stress-progress", className="status")]),
                             html.Div(id="stress-error", className="err"),
                             dcc.Store(id="stress-job"),
                             dcc.Interval(id="stress-poll", interval=400, disabled=True),
                             html.Div(id="stress"),
                             dcc.Checklist([{"label": " every table of the plan and the "
                                             "valuation", "value": "on"}], [], id="show-every"),
                             html.Div(id="every")])],
                 className="layout"),
    ])

    @app.callback(Output("panel", "children"), Output("settings", "data"),
                  Input("url", "search"), State("settings", "data"))
    def build_panel(search, stored):
        settings = Settings.from_query(search)
        if stored is not None and _settings(stored) == settings:
            raise PreventUpdate
        try:
            return panel(settings), _data(settings)
        except Exception as exc:  # the page keeps working; the server log has the traceback
            return [html.Div(_internal(exc), className="banner", id="panel-error"),
                    *_hidden_fields()], _data(settings)

    @app.callback(Output("url", "search"), Output("settings", "data", allow_duplicate=True),
                  Input("scenario", "value"), Input("base", "value"), Input("rules", "value"),
                  Input({"type": "knob", "key": ALL}, "value"), Input("apply-extra", "n_clicks"),
                  Input("reset-button", "n_clicks"), State("extra", "value"),
                  State({"type": "knob", "key": ALL}, "id"), State("settings", "data"),
                  prevent_initial_call=True)
    def collect(scenario, base, rules, values, _apply, _reset, extra, ids, stored):
        if stored is None or scenario is None:
            raise PreventUpdate
        old = _settings(stored)
        trigger = ctx.triggered_id
        if trigger == "reset-button":
            return Settings(old.scenario, old.base).query(), no_update
        if scenario != old.scenario:  # new fields: build_panel redraws them from the URL
            return Settings(scenario, base).query(), no_update
        defaults = _defaults(scenario)
        items = []
        try:
            rule_set = rules_item(_scenario(scenario), list(rules or []))
        except CapacityError:
            rule_set = None
        if rule_set is not None:
            items.append(rule_set)
        for i, v in zip(ids, values, strict=True):
            text = "" if v is None else str(v).strip()
            if text and not same_value(text, defaults.get(i["key"], ""), i["key"]):
                items.append(f"{i['key']}={text}")
        items += [line.strip() for line in (extra or "").splitlines() if line.strip()]
        new = Settings(scenario, base or None, tuple(items))
        if new == old:
            raise PreventUpdate
        return new.query(), _data(new)

    @app.callback(*(Output(i, p) for i, p in RESULT_OUTPUTS), Output("status", "children"),
                  Output("error", "children"), Output("cli-line", "children"),
                  Input("url", "search"))
    def show(search):
        settings = Settings.from_query(search)
        cli = "same view in a terminal: capacity value " + " ".join(
            _quote(a) for a in settings.cli_args())
        t0 = time.perf_counter()
        try:
            ev, cached = evaluate(settings)
            drawn = None if ev.error else results(ev)
        except Exception as exc:  # the page keeps working; the server log has the traceback
            return *_unchanged(), "not solved", _internal(exc), cli
        if ev.error:
            return (*_unchanged(), "not solved: fix the field marked in red (the results "
                    "shown are the last view that solved)", ev.error, cli)
        took = time.perf_counter() - t0
        status = (f"from the cache in {took:.3f} s (solved in {ev.seconds:.2f} s when first "
                  "asked)" if cached else f"re-solved in {ev.seconds:.2f} s")
        return (*drawn, html.Span(status, id="timing", **{"data-seconds": repr(
            ev.seconds), "data-cached": str(cached).lower()}), "", cli)

    @app.callback(Output({"type": "err", "key": ALL}, "children"), Input("settings", "data"),
                  State({"type": "err", "key": ALL}, "id"))
    def field_errors(stored, err_ids):
        """The error line beside the field it is about (the free --set lines otherwise)."""
        keys = [i["key"] for i in err_ids]
        if stored is None:
            raise PreventUpdate
        try:
            ev, _ = evaluate(_settings(stored))
        except Exception:  # show() reports it
            return ["" for _ in keys]
        where = ev.error_key if ev.error_key in keys else "extra" if "extra" in keys else None
        return [ev.error if ev.error and k == where else "" for k in keys]

    @app.callback(Output("every", "children"), Input("url", "search"),
                  Input("show-every", "value"))
    def every(search, shown):
        if not shown:
            return []
        ev, _ = evaluate(Settings.from_query(search))
        return [] if ev.error else every_table(ev)

    @app.callback(Output("stress-job", "data"), Output("stress-poll", "disabled"),
                  Output("stress-error", "children"), Input("stress-button", "n_clicks"),
                  State("url", "search"), State("stress-samples", "value"),
                  prevent_initial_call=True)
    def start(_n, search, samples):
        try:
            n = int(str(samples).strip())
        except ValueError:
            return no_update, True, f"draws: expected a whole number, got {samples!r}"
        try:
            return start_stress(Settings.from_query(search), n), False, ""
        except CapacityError as exc:
            return no_update, True, exc.one_line()

    @app.callback(Output("stress-progress", "children"), Output("stress", "children"),
                  Output("stress-poll", "disabled", allow_duplicate=True),
                  Input("stress-poll", "n_intervals"), State("stress-job", "data"),
                  prevent_initial_call=True)
    def poll(_n, job_id):
        job = stress_job(job_id) if job_id else None
        if job is None:
            return "", no_update, True
        if not job.finished:
            return f"running: {job.done} of {job.total} runs", no_update, False
        if job.error:
            return "", html.Div(job.error, className="banner"), True
        return (f"{job.samples} draws done in {job.seconds:.1f} s", stress_view(job.report),
                True)

    @app.callback(Output("download", "data"), Input("download-button", "n_clicks"),
                  State("settings", "data"), prevent_initial_call=True)
    def download(n, stored):
        if not n or stored is None:
            raise PreventUpdate
        settings = _settings(stored)
        try:
            text = settings.scenario_toml()
        except CapacityError as exc:
            text = f"# {exc.one_line()}\n"
        return dcc.send_string(text, f"{settings.scenario}-serve.toml")

    return app


def _unchanged() -> list:
    return [no_update for _ in RESULT_OUTPUTS]


def _internal(exc: Exception) -> str:
    """One line for an unexpected error (a bug, not the analyst's input); the traceback goes
    to the server's log only."""
    import traceback

    traceback.print_exc()
    return "internal error: " + " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _quote(arg: str) -> str:
    from capacity.app.state import _shell

    return _shell(arg)


def _settings(data: dict) -> Settings:
    return Settings(data.get("scenario") or "history", data.get("base"),
                    tuple(data.get("sets") or ()))


def _data(settings: Settings) -> dict:
    return {"scenario": settings.scenario, "base": settings.base, "sets": list(settings.sets)}
