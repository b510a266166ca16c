"""Charts of a set of plans and valuations (an ``--out`` folder) as PNG and SVG bytes, written
by :mod:`.write`: fleet and GPU mix by chip, compute against demand and against the disclosed
points, capex, cost per token by chip, GenAI revenue, target price, P&L and cash runway
(:func:`charts`).

Drawn with the figure kit of :mod:`capacity.report.figure` (default style, fixed DPI, no date,
fixed SVG hash salt: the same reports give the same bytes; the footer names the source and is
dated by the data's as-of date and base period, never by the clock:
:func:`capacity.report.formats.chart_footer`). The chart of one backtest or stress report is in
:mod:`capacity.report.command_charts`.

The cost per token by chip (:func:`chart_token_cost`) draws the plan's ``economics`` table as
it stands: the levelised cost of serving a million tokens on each chip bought in a quarter
(serving roofline; :func:`capacity.planner.results.chip_economics`), against the realised token
price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capacity.report.figure import (
    chip_colors,
    finish,
    finish_panels,
    legend_right,
    line2d,
    new_figure,
    panels,
    quarter_ticks,
    render,
    style,
)

if TYPE_CHECKING:
    import pandas as pd

    from capacity.results import Report

# numpy, pandas and matplotlib are imported inside the functions: the package binds the name
# ``charts`` to the function below when it loads this module, which must therefore be light.


def _by_kind(reports: list[Report], kind: str) -> dict[str, Report]:
    return {str(r.scalars.get("scenario", r.kind)): r for r in reports if r.kind == kind}



def _fleet_pivots(plans: dict[str, Report]) -> dict[str, pd.DataFrame]:
    from capacity.results import plain_frame

    pivots = {}
    for name, r in plans.items():
        fleet = plain_frame(r.tables["fleet"])
        pv = fleet.pivot_table(index="period", columns="chip", values="units", aggfunc="sum",
                               sort=True).fillna(0.0)
        pivots[name] = pv.loc[:, pv.max() > 0.5]
    return pivots


def chart_fleet_by_chip(plans: dict[str, Report], footer: str = ""):
    """Installed units by chip per quarter, stacked; one panel per scenario."""
    pivots = _fleet_pivots(plans)
    colors = chip_colors(sorted({c for pv in pivots.values() for c in pv.columns}))
    fig, axes, cols = panels(len(pivots))
    for ax, (name, pv) in zip(axes, pivots.items(), strict=True):
        labels = [str(p) for p in pv.index]
        ax.stackplot(range(len(pv)), *(pv[c].to_numpy() / 1000 for c in pv.columns),
                     labels=list(pv.columns), colors=[colors[c] for c in pv.columns])
        ax.set_title(name, fontsize=9)
        quarter_ticks(ax, labels)
        ax.grid(axis="y", alpha=0.3)
    finish_panels(fig, axes, cols, "installed GPUs [thousand units]",
                  "Installed GPUs by chip at quarter end (thousand units)", footer)
    return fig


def chart_gpu_mix(plans: dict[str, Report], footer: str = ""):
    """Share of installed GPUs by chip at each year end (100% stacked bars); one panel per
    scenario."""
    import numpy as np

    pivots = _fleet_pivots(plans)
    colors = chip_colors(sorted({c for pv in pivots.values() for c in pv.columns}))
    fig, axes, cols = panels(len(pivots), panel_w=3.6)
    for ax, (name, pv) in zip(axes, pivots.items(), strict=True):
        ends = [p for p in pv.index if p.quarter == 4] or [pv.index[-1]]
        sub = pv.loc[ends]
        total = sub.sum(axis=1).replace(0.0, np.nan)
        share = sub.div(total, axis=0).fillna(0.0) * 100
        x = np.arange(len(sub))
        bottom = np.zeros(len(sub))
        for chip in sub.columns:
            ax.bar(x, share[chip].to_numpy(), bottom=bottom, color=colors[chip], label=chip,
                   width=0.7)
            bottom += share[chip].to_numpy()
        ax.set_xticks(x)
        ax.set_xticklabels([str(p) for p in sub.index], fontsize=7)
        ax.set_ylim(0, 100)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("year end", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    finish_panels(fig, axes, cols, "share of installed GPUs [%]",
                  "GPU mix by chip at each year end (share of installed units)", footer)
    return fig


def chart_compute_vs_demand(plans: dict[str, Report], footer: str = ""):
    """Effective EFLOPS vs demand with the shortfall shaded; peak EFLOPS dashed."""
    import numpy as np

    from capacity.results import plain_frame

    fig, axes, cols = panels(len(plans))
    for ax, (name, r) in zip(axes, plans.items(), strict=True):
        q = plain_frame(r.tables["quarters"])
        x = np.arange(len(q))
        demand = q["demand_eflops"].to_numpy(dtype=float)
        short = q["shortfall_eflops"].to_numpy(dtype=float)
        served = demand - short
        ax.plot(x, q["effective_eflops"].to_numpy(dtype=float), label="effective compute",
                color="tab:blue")
        ax.plot(x, q["peak_eflops"].to_numpy(dtype=float), label="peak compute",
                color="tab:blue", linestyle="--", alpha=0.6)
        ax.plot(x, demand, label="demand", color="black")
        ax.fill_between(x, served, demand, where=short > 1e-9, color="tab:red", alpha=0.35,
                        label="shortfall", interpolate=True)
        ax.set_title(name, fontsize=9)
        quarter_ticks(ax, [str(p) for p in q["period"]])
        ax.grid(alpha=0.3)
    finish_panels(fig, axes, cols, "compute [EFLOPS]",
                  "Effective compute vs demand per quarter (shortfall shaded)", footer)
    return fig


def chart_capex(plans: dict[str, Report], footer: str = ""):
    """Planned capex per quarter: one small panel per scenario (same scale), bars coloured by
    calendar year, the year's total written above its bars."""
    import numpy as np

    from capacity.results import plain_frame

    fig, axes, cols = panels(len(plans), extra_w=0.6)
    years_all: list[int] = []
    for r in plans.values():
        q = plain_frame(r.tables["quarters"])
        years_all += [p.year for p in q["period"]]
    years = sorted(set(years_all))
    colour = {y: f"C{i % 10}" for i, y in enumerate(years)}
    for ax, (name, r) in zip(axes, plans.items(), strict=True):
        q = plain_frame(r.tables["quarters"])
        periods = list(q["period"])
        capex = q["capex_m"].to_numpy(dtype=float)
        x = np.arange(len(q))
        ax.bar(x, capex, color=[colour[p.year] for p in periods], width=0.8)
        for y in years:
            idx = [i for i, p in enumerate(periods) if p.year == y]
            if idx:
                total = float(capex[idx].sum())
                ax.annotate(f"{y}: {total:,.0f}", (float(np.mean(idx)), 0),
                            xycoords=("data", "axes fraction"), xytext=(0, -30),
                            textcoords="offset points", ha="center", fontsize=6.5,
                            color=colour[y])
        ax.set_xticks(x[::2])
        ax.set_xticklabels([f"Q{p.quarter}" for p in periods][::2], fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    finish_panels(fig, axes, cols, "capex [RMB m per quarter]",
                  "GPU capex by order quarter (RMB m; year totals under the axis)", footer,
                  legend=False)
    return fig


def chart_genai(values: dict[str, Report], footer: str = ""):
    """GenAI revenue per calendar year (bars, left) and GenAI share of revenue (lines, right)."""
    import numpy as np

    from capacity.results import plain_frame

    fig = new_figure(10.0 + 0.2 * len(values), 4.8)
    ax = fig.subplots()
    ax2 = ax.twinx()
    n = len(values)
    width = 0.8 / max(n, 1)
    years: list[int] = []
    handles, labels = [], []
    for i, (name, r) in enumerate(values.items()):
        annual = plain_frame(r.tables["annual"])
        years = years or [int(y) for y in annual["year"]]
        x = np.arange(len(annual))
        color = f"C{i % 10}"
        ax.bar(x + (i - (n - 1) / 2) * width, annual["genai_revenue_m"].to_numpy(dtype=float),
               width=width, color=color, alpha=0.8)
        ax2.plot(x, annual["genai_share"].to_numpy(dtype=float) * 100, color=color, marker="o",
                 lw=1.2)
        handles.append(line2d(color, "-", "s", name))
        labels.append(name)
    from matplotlib.patches import Patch

    handles += [Patch(color="grey", alpha=0.8, label="bars: GenAI revenue (left)"),
                line2d("grey", "-", "o", "lines: GenAI share (right)")]
    labels += ["bars: GenAI revenue (left)", "lines: GenAI share (right)"]
    ax.set_xticks(range(len(years)))
    ax.set_xticklabels([str(y) for y in years])
    ax.set_xlabel("calendar year", fontsize=8)
    ax.set_ylabel("GenAI revenue [RMB m per year]", fontsize=8)
    ax2.set_ylabel("GenAI share of revenue [%]", fontsize=8)
    ax2.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    legend_right(fig, handles, labels)
    finish(fig, "GenAI revenue and share of revenue by calendar year", footer)
    return fig


def chart_target_price(values: dict[str, Report], footer: str = ""):
    """Target price per scenario by method (EV/Sales, DCF, EV/EBITDA where it applies) and the
    blended ``target_price``, against the note's target price."""
    import numpy as np

    methods = [("target_price_ev_sales", "EV/Sales"), ("target_price_dcf", "DCF"),
               ("target_price_ev_ebitda", "EV/EBITDA")]
    names = list(values)
    shown = [(k, lab) for k, lab in methods
             if any(values[n].scalars.get(k) is not None for n in names)]
    if not shown:  # a value report from before the methods: the one price
        shown = [("target_price", "target price")]
    fig = new_figure(8.0 + 0.5 * len(values), 4.6)
    ax = fig.subplots()
    width = 0.8 / len(shown)
    x = np.arange(len(names))
    handles, labels = [], []
    for j, (key, lab) in enumerate(shown):
        tps = [float(values[n].scalars.get(key) if values[n].scalars.get(key) is not None
                     else float("nan")) for n in names]
        bars = ax.bar(x + (j - (len(shown) - 1) / 2) * width, tps, width=width,
                      color=f"C{j % 10}")
        for b, tp in zip(bars, tps, strict=True):
            if np.isfinite(tp):
                ax.annotate(f"{tp:.2f}", (b.get_x() + b.get_width() / 2, tp), ha="center",
                            va="bottom" if tp >= 0 else "top", fontsize=7)
        handles.append(bars)
        labels.append(lab)
    blend = [float(values[n].scalars.get("target_price", float("nan"))) for n in names]
    (mark,) = ax.plot(x, blend, "D", color="black", ms=5, ls="none")
    handles.append(mark)
    labels.append("target_price (blend)")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    note = values[names[0]].scalars.get("note_target_price") if names else None
    if note is not None:
        line = ax.axhline(float(note), color="black", linestyle="--", linewidth=1)
        handles.append(line)
        labels.append(f"note's TP HKD {float(note):.2f}")
    legend_right(fig, handles, labels)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_xlabel("scenario", fontsize=8)
    ax.set_ylabel("target price [HKD per share]", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    finish(fig, "Target price by scenario and method", footer)
    return fig


def chart_pnl(values: dict[str, Report], footer: str = ""):
    """P&L bars per calendar year, one panel per scenario (same scale): revenue, gross profit,
    EBITDA and net loss (drawn below zero)."""
    import numpy as np

    from capacity.results import plain_frame

    lines = [("revenue_m", "revenue", 1.0), ("gross_profit_m", "gross profit", 1.0),
             ("ebitda_m", "EBITDA", 1.0), ("net_loss_m", "net loss (below 0)", -1.0)]
    fig, axes, cols = panels(len(values))
    width = 0.8 / len(lines)
    for ax, (name, r) in zip(axes, values.items(), strict=True):
        pnl = plain_frame(r.tables["pnl"])
        x = np.arange(len(pnl))
        for j, (col, lab, sign) in enumerate(lines):
            ax.bar(x + (j - (len(lines) - 1) / 2) * width, sign * pnl[col].to_numpy(float),
                   width=width, color=f"C{j}", label=lab)
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels([str(int(y)) for y in pnl["year"]], fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    finish_panels(fig, axes, cols, "P&L line [RMB m per year]",
                  "P&L by calendar year: revenue, gross profit, EBITDA, net loss", footer)
    return fig


def chart_cash(values: dict[str, Report], footer: str = ""):
    """Net cash per quarter for each scenario against the funding floor (the runway)."""
    from capacity.results import plain_frame

    fig = new_figure(10.0, 4.8)
    ax = fig.subplots()
    handles, labels = [], []
    periods: list[str] = []
    for i, (name, r) in enumerate(values.items()):
        cash = plain_frame(r.tables["cash"])
        periods = periods or [str(p) for p in cash["period"]]
        (h,) = ax.plot(range(len(cash)), cash["net_cash_m"].to_numpy(float),
                       color=f"C{i % 10}", marker="o", ms=3, lw=1.4)
        handles.append(h)
        runway = r.scalars.get("runway_quarters")
        labels.append(f"{name} (runway {runway} q)" if runway is not None else name)
    first = next(iter(values.values()), None)
    floor = first.scalars.get("cash_floor_m") if first is not None else None
    if floor is not None:
        line = ax.axhline(float(floor), color="black", linestyle="--", linewidth=1)
        handles.append(line)
        labels.append(f"funding floor RMB {float(floor):,.0f}m")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    quarter_ticks(ax, periods)
    ax.set_xlabel("quarter", fontsize=8)
    ax.set_ylabel("net cash at quarter end [RMB m]", fontsize=8)
    ax.grid(alpha=0.3)
    legend_right(fig, handles, labels)
    finish(fig, "Cash runway: net cash from the base period's end, FCF = EBITDA - capex paid",
           footer)
    return fig


def _disclosed(scenarios: list, metric: str) -> list[tuple[Any, float, str]]:
    """(quarter, value, note) of a disclosed stock metric, from the first scenario's
    disclosures."""
    for sc in scenarios:
        d = getattr(sc, "disclosures", None)
        if d is None or "metric" not in d:
            continue
        sel = d[d["metric"] == metric]
        return [(p, float(v), str(n)) for p, v, n in zip(sel["period"], sel["value"],
                                                           sel["note"], strict=True)]
    return []


def chart_compute_vs_disclosed(plans: dict[str, Report], scenarios: list, footer: str = ""):
    """The plan's peak and effective EFLOPS and GPU paths against the disclosed points
    (computing power and GPU counts at their dates; the with-orders figure hollow)."""
    from capacity.results import plain_frame

    def qend(p):
        return p.end_time.normalize()

    fig = new_figure(12.5, 4.8)
    ax_c, ax_g = fig.subplots(1, 2)
    handles: dict[str, Any] = {}
    for i, (name, r) in enumerate(plans.items()):
        q = plain_frame(r.tables["quarters"])
        xs = [qend(p) for p in q["period"]]
        c = f"C{i % 10}"
        (h,) = ax_c.plot(xs, q["peak_eflops"].to_numpy(float), color=c, lw=1.4)
        ax_c.plot(xs, q["effective_eflops"].to_numpy(float), color=c, lw=1.0, ls="--")
        ax_g.plot(xs, q["gpus_units"].to_numpy(float) / 1000, color=c, lw=1.4)
        handles[name] = h
    for metric, ax, scale, marker in (("peak_eflops", ax_c, 1.0, "D"),
                                     ("peak_eflops_with_orders", ax_c, 1.0, "D"),
                                      ("gpus_units", ax_g, 1000.0, "D")):
        for k, (p, v, _note) in enumerate(_disclosed(scenarios, metric)):
            hollow = metric.endswith("with_orders")
            ax.plot([qend(p)], [v / scale], marker, color="black", ms=6,
                    mfc="none" if hollow else "black", zorder=5)
            label = f"{p}: {v / scale:g}" + (" with orders" if hollow else "")
            # neighbouring points: labels alternately below and above; with orders: right
            offset, va = ((8, 0), "center") if hollow else \
                (((0, -9), "top") if k % 2 == 0 else ((0, 9), "bottom"))
            ha = "left" if hollow or k == 0 else "center"  # the first: clear of the y axis
            ax.annotate(label, (qend(p), v / scale), textcoords="offset points",
                        xytext=(-4, offset[1]) if ha == "left" and not hollow else offset,
                        fontsize=7, ha=ha, va=va)
    ax_c.set_title("Computing power", fontsize=9)
    ax_c.set_ylabel("compute [EFLOPS]", fontsize=8)
    ax_g.set_title("GPUs installed", fontsize=9)
    ax_g.set_ylabel("GPUs [thousand units]", fontsize=8)
    for ax in (ax_c, ax_g):
        ax.set_ylim(bottom=0)  # room under the disclosed points for their labels
        ax.set_xlabel("quarter end", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    keys = [*handles.values(), line2d("grey", "-", "", "peak (plan)"),
            line2d("grey", "--", "", "effective (plan)"),
            line2d("black", "", "D", "disclosed"),
            line2d("black", "", "D", "disclosed, with placed orders", hollow=True)]
    legend_right(fig, keys, [*handles, "peak (plan)", "effective (plan)", "disclosed",
                              "disclosed, with placed orders"])
    finish(fig, "Compute and GPUs: the plan's path against the disclosed points", footer)
    return fig


def token_cost_pivots(plans: dict[str, Report]) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    """What :func:`chart_token_cost` draws, per scenario: the ``economics`` table's
    ``token_cost_per_m_tokens`` as a (delivery quarter x chip) frame, chips without a token
    cost in any quarter left out, and ``token_price_per_m_tokens`` per quarter. [RMB per m
    tokens]"""
    from capacity.results import plain_frame

    out = {}
    for name, r in plans.items():
        if "economics" not in r.tables:
            continue
        e = plain_frame(r.tables["economics"])
        if e.empty:
            continue
        cost = e.pivot_table(index="period", columns="chip",
                             values="token_cost_per_m_tokens", aggfunc="first",
                             sort=True, dropna=False)
        cost = cost.loc[:, cost.notna().any()]
        price = e.groupby("period", sort=True)["token_price_per_m_tokens"].first()
        out[name] = (cost, price.reindex(cost.index))
    return out


def chart_token_cost(plans: dict[str, Report], footer: str = ""):
    """Cost per token by chip: the levelised cost of serving a million tokens on each chip the
    plan could buy for delivery in a quarter (a line per chip, where it is buyable and has a
    serving roofline), against the realised token price (black, dashed); one panel per
    scenario (same scale). None when no plan has an ``economics`` table."""
    import numpy as np

    pivots = token_cost_pivots(plans)
    if not pivots:
        return None
    colors = chip_colors(sorted({c for cost, _ in pivots.values() for c in cost.columns}))
    fig, axes, cols = panels(len(pivots))
    for ax, (name, (cost, price)) in zip(axes, pivots.items(), strict=True):
        x = np.arange(len(cost))
        for chip in cost.columns:
            ax.plot(x, cost[chip].to_numpy(float), color=colors[chip], lw=1.4, label=chip,
                    drawstyle="steps-mid")
        ax.plot(x, price.to_numpy(float), color="black", ls="--", lw=1.2, label="token price",
                drawstyle="steps-mid")
        ax.set_ylim(bottom=0)
        ax.set_title(name, fontsize=9)
        quarter_ticks(ax, [str(p) for p in cost.index])
        ax.set_xlabel("delivery quarter", fontsize=8)
        ax.grid(alpha=0.3)
    finish_panels(fig, axes, cols, "cost to serve [RMB per m tokens]",
                  "Cost per token by chip: levelised cost of serving a million tokens, against "
                  "the token price", footer)
    return fig


def chart_jobs(reports: list[Report], scenarios: list | None = None
               ) -> list[tuple[str, Any]]:
    """The charts the reports call for, in order, as ``(file stem, draw)`` pairs: ``draw()``
    returns that chart's figure, or None when it has nothing to show. Drawing one at a time
    lets a writer report each chart as it goes (:func:`capacity.report.write.write_rich_outputs`);
    :func:`charts` draws them all."""
    from capacity.report.formats import chart_footer

    scenarios = list(scenarios or [])
    plans = _by_kind(reports, "plan")
    values = _by_kind(reports, "value")
    footer = chart_footer(reports, scenarios)
    jobs: list[tuple[str, Any]] = []
    if plans:
        jobs += [("fleet_by_chip", lambda: chart_fleet_by_chip(plans, footer)),
                 ("gpu_mix_by_chip", lambda: chart_gpu_mix(plans, footer)),
                 ("compute_vs_demand", lambda: chart_compute_vs_demand(plans, footer)),
                 ("compute_vs_disclosed",
                  lambda: chart_compute_vs_disclosed(plans, scenarios, footer)),
                 ("capex_by_quarter", lambda: chart_capex(plans, footer)),
                 ("token_cost_by_chip", lambda: chart_token_cost(plans, footer))]
    if values:
        jobs += [("genai_revenue", lambda: chart_genai(values, footer)),
                 ("target_price", lambda: chart_target_price(values, footer))]
        if all("pnl" in r.tables and "cash" in r.tables for r in values.values()):
            jobs += [("pnl_by_year", lambda: chart_pnl(values, footer)),
                     ("cash_runway", lambda: chart_cash(values, footer))]
    return jobs


def render_job(draw: Any, stem: str) -> dict[str, bytes]:
    """``<stem>.png`` and ``<stem>.svg`` of one chart job (empty when it draws nothing), in the
    charts' style."""
    import matplotlib

    with matplotlib.rc_context(rc=style()):
        fig = draw()
        return {} if fig is None else render(fig, stem)


def charts(reports: list[Report], scenarios: list | None = None) -> dict[str, bytes]:
    """Charts for whatever the reports hold: file name -> bytes (each chart as PNG and SVG).

    Plan reports give the fleet, GPU mix, compute-vs-demand, compute-vs-disclosed, capex and
    cost-per-token-by-chip charts; value reports the GenAI revenue and target-price charts.
    ``scenarios`` (as loaded) give the footer its data citations and dates and the disclosed
    points; without them the footer names the scenarios only and the disclosed points are left
    out. Rendered with matplotlib's Agg canvas, a fixed DPI, the default style, no software or
    date tag and a fixed SVG hash salt, so the same inputs give byte-identical files.
    """
    out: dict[str, bytes] = {}
    for stem, draw in chart_jobs(reports, scenarios):
        out.update(render_job(draw, stem))
    return out
