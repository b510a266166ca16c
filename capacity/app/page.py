"""The page of ``capacity serve``: its frame, the panel of fields and the results drawn.

:func:`page_layout` is the frame (panel, results, stress fan); :func:`panel` the fields for a
view's settings; :func:`results` the parts of :data:`RESULT_OUTPUTS` for an evaluation. The
callbacks that connect them are in :mod:`capacity.app.web`.
"""

from __future__ import annotations

from functools import lru_cache

import plotly.graph_objects as go
from dash import dcc, html

from capacity.app.figures import GRAPH, compute_figure, fleet_figure, purchases_figure
from capacity.app.jobs import STRESS_SAMPLES
from capacity.app.state import (
    RULES_KEY,
    Settings,
    knobs,
    parse_items,
    plan_cards,
    rule_options,
    source_of,
    split_item,
    target_prices,
)
from capacity.app.tables import column_unit, format_value, markup, rows_html, scalars_table, table
from capacity.errors import CapacityError

BINDING_ROWS = 16
"""Binding limits listed (the largest shadow prices first)."""

VALUE_TABLES = ("methods", "pnl", "annual", "cash", "bridge")
"""Tables of the value result shown beside the fleet, those it has, in this order: target price
by method, P&L, cash runway (the finance rewrite's), the calendar years and the EV/Sales bridge
(today's); every table is under "every table" as well."""


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
#headline { background: #fff; border-bottom: 1px solid #dde1e6; padding: 6px 18px; }
#headline .hk { font-size: 12px; color: #4b5a6b; }
#target-price { font-size: 20px; font-weight: 600; margin: 0 4px; }
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

HEADLINE_MARK = "<!--headline-->"
"""Where :data:`INDEX` takes the headline (:func:`headline_html`): before the app's entry point,
so it paints as soon as the HTML arrives, before the scripts load."""

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
        """ + HEADLINE_MARK + """
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
def cached_scenario(name: str):
    """The scenario ``name`` loads as shipped; only a source the app may read
    (:func:`capacity.app.state.source_of`)."""
    from capacity.scenarios import load_scenario

    return load_scenario(source_of(name))


def _shipped() -> list[str]:
    from capacity.scenarios import shipped_scenarios

    return list(shipped_scenarios())



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
        dcc.Dropdown(names, settings.base if settings.base in names else None, id="base",
                     placeholder="none"),
    ]
    try:
        sc = cached_scenario(settings.scenario)
    except CapacityError as exc:
        return [*head, html.Div(exc.one_line(), className="banner", id="panel-error"),
                *hidden_fields()]
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


def hidden_fields() -> list:
    """The fields callbacks listen to, when the scenario did not load (so the page works)."""
    return [dcc.Checklist([], [], id="rules", style={"display": "none"}),
            dcc.Textarea(id="extra", value="", style={"display": "none"}),
            html.Button("Download scenario", id="download-button"),
            html.Button("Apply", id="apply-extra", style={"display": "none"}),
            html.Button("Reset", id="reset-button")]


def knob_defaults(name: str) -> dict[str, str]:
    try:
        return {k.key: k.default for k in knobs(cached_scenario(name))}
    except CapacityError:
        return {}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _label(key: str, kind: str = "value") -> str:
    """What a card calls a scalar of a ``kind`` result: its definition in the one label table
    (a KPI's, :func:`capacity.report.names.kpi_entry`, else the key's,
    :data:`capacity.report.keys.KEYS`; a year in the name read as ``<y>``), up to its first
    bracket; else its name."""
    import re

    from capacity.report.keys import KEYS
    from capacity.report.names import kpi_entry

    entry = kpi_entry(key)
    if entry and entry[2]:
        return entry[2]
    keys = KEYS.get(kind, {})
    year = re.search(r"\d{4}", key)
    generic = key if key in keys else re.sub(r"\d{4}", "<y>", key) if year else None
    if generic not in keys or not keys[generic][1]:
        return key
    text = keys[generic][1].split(" (")[0]
    return text.replace("<y>", year.group(0)) if year else text


def _cards(ev) -> list:
    """A card per distinct price per share (a method whose price equals one shown already,
    such as the blend of one method, is named on that card rather than repeated), then the
    plan KPIs and the valuation year's sales."""
    tps = target_prices(ev.value)
    base = target_prices(ev.base_value) if ev.base_value is not None else {}
    shown: dict[str, list[str]] = {}  # by the text shown: the same price reads the same
    for k, v in tps.items():
        shown.setdefault(f"{v:,.2f}", []).append(k)
    out = []
    for k, *same in shown.values():
        v = tps[k]
        parts = [html.Div(_label(k), className="k", title=k),
                 html.Div([html.Span(f"{v:,.2f}", id=f"tp-{k}", **{"data-value": repr(v)}),
                           html.Span(f" {column_unit(k)}", style={"fontSize": "13px"})],
                          className="v")]
        if same:
            parts.append(html.Div("also " + ", ".join(same), className="b"))
        if k in base:
            parts.append(html.Div(f"{ev.settings.base}: {base[k]:,.2f} {column_unit(k)}",
                                  className="b"))
        out.append(html.Div(parts, className="card"))
    extra = plan_cards(ev)
    extra += [("valuation_sales_m", ev.value), ("valuation_genai_revenue_m", ev.value)]
    for k, res in extra:
        if k in res.scalars:
            out.append(html.Div([html.Div(_label(k, res.kind), className="k", title=k), html.Div(
                [html.Span(format_value(k, res.scalars[k]), id=f"kpi-{k}"),
                 html.Span(f" {column_unit(k)}", style={"fontSize": "13px"})], className="v")],
                className="card"))
    return out


HEADLINE_KEY = "target_price"
"""The scalar of ``capacity value`` the page's headline shows (``#target-price``)."""


def headline_data(ev) -> dict | None:
    """What the headline shows for an evaluation: the target price as text and as a number,
    and the view it is of (scenario, vintage, method); None without results."""
    if ev is None or ev.error or ev.value is None:
        return None
    s = ev.value.scalars
    v = float(s[HEADLINE_KEY])
    of = f"{s.get('scenario', ev.settings.scenario)}, vintage {s.get('as_of', '?')}"
    if s.get("valuation_method"):
        of += f", method {s['valuation_method']}"
    return {"text": f"{v:,.2f}", "value": repr(v), "of": of}


def headline_html(ev) -> str:
    """The headline as HTML text, served in the page itself (before any script runs):
    ``#target-price`` holds the target price of ``ev`` (empty until solved, then kept up to
    date by the page's ``headline`` store)."""
    import html as esc

    d = headline_data(ev) or {"text": "", "value": "", "of": "solving..."}
    label = f"{_label(HEADLINE_KEY)} [{column_unit(HEADLINE_KEY)}]"
    return (f'<div id="headline"><span class="hk">{esc.escape(label)}</span> '
            f'<span id="target-price" data-value="{esc.escape(d["value"])}">'
            f'{esc.escape(d["text"])}</span> <span class="hk" id="headline-of">'
            f'{esc.escape(d["of"])}</span></div>')


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
            markup(rows_html(rows, "t-compare", head))]


RESULT_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("cards", "children"), ("g-compute", "figure"), ("g-purchases", "figure"),
    ("g-fleet", "figure"), ("pnl", "children"), ("compare", "children"),
    ("binding", "children"), ("scalars", "children"), ("headline", "data"))
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
        binding = binding.assign(_size=binding["shadow_price"].abs()).sort_values(
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
                                            "limit_unit", "set_key", "shadow_price",
                                            "unit", "side", "degenerate"])],
        [html.H2("Scalars"),
         html.Div([html.Div([html.H3("value"), scalars_table(ev.value, "s-value")]),
                   html.Div([html.H3("plan"), scalars_table(ev.plan, "s-plan")])],
                  className="row")],
        headline_data(ev),
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
# The frame of the page
# --------------------------------------------------------------------------------------------


def page_layout(drawn: list | None = None) -> html.Div:
    """The page: header, the panel (drawn by ``build_panel``), the results of the view, the
    stress fan and every table; the ids are those the callbacks of :mod:`capacity.app.web`
    read and write. ``drawn`` (:func:`results` of the view the page opens on, when solved
    already) fills the results in the layout itself, so they show without waiting for a
    callback; the figures draw once plotly has loaded."""
    first = dict(zip(RESULT_OUTPUTS, drawn, strict=True)) if drawn else {}

    def part(i: str, prop: str = "children") -> dict:
        return {prop: first[(i, prop)]} if (i, prop) in first else {}

    return html.Div([
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="settings"),
        dcc.Store(id="headline", **part("headline", "data")),
        dcc.Store(id="headline-sync"),
        dcc.Download(id="download"),
        html.Header([html.H1("capacity: explore a scenario"),
                     html.Span("every number from the planner and valuation; units in "
                               "brackets")]),
        html.Div([html.Aside(id="panel"),
                  html.Main([html.Div(id="status", className="status"),
                             html.Div(id="cli-line", className="status"),
                             html.Div(id="error", className="banner"),
                             html.Div(id="cards", className="cards", **part("cards")),
                             html.Div([html.Div(dcc.Graph(id="g-compute", config=GRAPH,
                                                          **part("g-compute", "figure"))),
                                       html.Div(dcc.Graph(id="g-purchases", config=GRAPH,
                                                          **part("g-purchases", "figure")))],
                                      className="row"),
                             html.Div([html.Div(dcc.Graph(id="g-fleet", config=GRAPH,
                                                          **part("g-fleet", "figure"))),
                                       html.Div(id="pnl", **part("pnl"))], className="row"),
                             html.Div(id="compare", **part("compare")),
                             html.Div(id="binding", **part("binding")),
                             html.Div(id="scalars", **part("scalars")),
                             html.H2("Stress fan of these settings (Monte Carlo over the "
                                     "scenario's uncertain inputs)"),
                             html.Div("As capacity stress: the inputs of the scenario's "
                                      "[uncertain] table (the subject's fallback "
                                      "scenario's where it has none) are drawn from their "
                                      "distributions, so for those "
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
