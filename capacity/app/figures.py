"""The figures of ``capacity serve``: compute against demand, purchases, fleet, stress fans."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import dcc, html

from capacity.app.tables import scalars_table, table

GRAPH = {"displaylogo": False, "displayModeBar": False}
"""Figure options: no plotly logo or mode bar."""


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
