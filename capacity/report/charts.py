"""Charts of reports as PNG and SVG bytes (written by :mod:`.write`).

Drawn on matplotlib ``Figure`` objects with their own Agg canvas (no pyplot, no global state), the
default style, a fixed DPI, no software tag or date and a fixed SVG hash salt, so the same report
gives the same bytes. Every chart has a title, units on its axes, its legend outside the data
and a footer naming the source (capacity version, scenarios, data citations) and dated by the
data's as-of date and base period, never by the clock
(:func:`capacity.report.formats.chart_footer`).

The cost per token by chip (:func:`chart_token_cost`) draws the plan's ``economics`` table as
it stands: the levelised cost of serving a million tokens on each chip bought in a quarter
(serving roofline; :func:`capacity.planner.results.chip_economics`), against the realised token
price.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from capacity.results import Report

# numpy, pandas and matplotlib are imported inside the functions: the package binds the name
# ``charts`` to the function below when it loads this module, which must therefore be light.

CHART_DPI = 150
"""Resolution of the PNG charts. [dots per inch]"""

SVG_HASH_SALT = "capacity"
"""``svg.hashsalt``: fixed, so the ids inside an SVG (and so its bytes) do not change per run."""

_FOOTER_IN = 0.42
"""Height kept free at the bottom of a figure for the source footer. [inches]"""

_TITLE_IN = 0.36
"""Height kept free at the top for the title (a layout ``rect`` leaves the suptitle out of the
constrained layout's sums). [inches]"""


def _style() -> dict[str, Any]:
    """matplotlib's default style (whatever the user's matplotlibrc says) plus a fixed SVG salt;
    backend keys left alone (figures draw on their own Agg canvas; touching the backend would
    import pyplot)."""
    import matplotlib

    default = matplotlib.rcParamsDefault
    style = {k: default[k] for k in default if not k.startswith("backend") and k != "interactive"}
    style["svg.hashsalt"] = SVG_HASH_SALT
    return style


def _new_figure(width_in: float, height_in: float):
    """A figure with a constrained layout that keeps the footer strip free."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = Figure(figsize=(width_in, height_in), dpi=CHART_DPI,
                 layout=ConstrainedLayoutEngine(rect=(  # left, bottom, width, height
                     0, _FOOTER_IN / height_in, 1, 1 - (_FOOTER_IN + _TITLE_IN) / height_in)))
    FigureCanvasAgg(fig)
    return fig


def _finish(fig, title: str, footer: str) -> None:
    """Title on top, the source footer at the bottom left (wrapped to the figure's width)."""
    fig.suptitle(title, fontsize=11, y=1 - 0.06 / fig.get_figheight(), va="top")
    width_in = fig.get_figwidth()
    lines = textwrap.wrap(footer, width=max(60, int(width_in * 17)))[:2]
    fig.text(0.005, 0.006, "\n".join(lines), fontsize=6.5, color="#555555", ha="left",
             va="bottom")


def _render(fig, stem: str) -> dict[str, bytes]:
    """``<stem>.png`` at :data:`CHART_DPI` and ``<stem>.svg``, both without software or date
    tags (byte-identical for the same figure)."""
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=CHART_DPI, metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return {f"{stem}.png": png.getvalue(), f"{stem}.svg": svg.getvalue()}


def _legend_right(fig, handles, labels, ncol: int = 1) -> None:
    """A legend outside every axes, right of the data."""
    fig.legend(handles, labels, loc="outside right upper", fontsize=7, frameon=False, ncol=ncol)


def _footer_for(report: Report, scenarios: list | None) -> str:
    from capacity.report.formats import chart_footer

    name = report.scalars.get("scenario")
    mine = [sc for sc in scenarios or [] if name is None or sc.name == name]
    return chart_footer([report], mine)


# --------------------------------------------------------------------------------------------
# Backtest chart (issue 9: capacity backtest --out)
# --------------------------------------------------------------------------------------------

_BACKTEST_PANELS = {
    "gpus_units": ("GPUs, at period end", "GPUs [units]"),
    "computing_power_eflops": ("Computing power, at period end", "peak compute [EFLOPS]"),
    "revenue_rmb_m": ("Revenue", "revenue [RMB m per quarter]"),
    "genai_revenue_rmb_m": ("GenAI revenue", "GenAI revenue [RMB m per quarter]"),
    "genai_share": ("GenAI share of revenue", "GenAI share [fraction]"),
    "gross_margin": ("Gross margin", "gross margin [fraction]"),
}


def backtest_figure(report: Report, footer: str = ""):
    """The figure of :func:`backtest_chart` (None when no forecast metric is in the actuals)."""
    import pandas as pd

    if "paths" not in report.tables:  # backtest --rolling
        return rolling_figure(report, footer)
    rows = report.tables["rows"]
    paths = report.tables["paths"]  # long: period, metric, value, unit, basis
    metrics = [m for m in _BACKTEST_PANELS
               if (paths["metric"] == m).any() and (rows["metric"] == m).any()]
    if not metrics:
        return None
    ncols = 2 if len(metrics) > 1 else 1
    nrows = -(-len(metrics) // ncols)
    fig = _new_figure(5.4 * ncols + 2.6, 3.2 * nrows + 1.0)

    def qx(q: pd.Period, end: bool = True) -> pd.Timestamp:
        return (q.end_time if end else q.start_time).normalize()

    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes, metrics, strict=False):
        path = paths[paths["metric"] == metric]
        idx = pd.PeriodIndex(path["period"], freq="Q")
        ys = path["value"].to_numpy(float)
        stock = metric in ("gpus_units", "computing_power_eflops")
        if stock:  # a level at each quarter end
            ax.plot([qx(q) for q in idx], ys, color="tab:blue", lw=1.5)
        else:  # a quarter's flow or ratio held across that quarter
            ax.plot([qx(idx[0], end=False)] + [qx(q) for q in idx], [ys[0], *ys],
                    color="tab:blue", lw=1.5, drawstyle="steps-pre")
        sel = rows[rows["metric"] == metric]
        kind_flow = metric in ("revenue_rmb_m", "genai_revenue_rmb_m")
        for r in sel.itertuples(index=False):
            first = pd.Period(r.first_quarter, freq="Q")
            last = pd.Period(r.last_quarter, freq="Q")
            div = r.span_quarters if kind_flow else 1
            ok = r.status == "compared"
            colour = "tab:red" if ok else "grey"
            if stock:
                ax.plot([qx(last)], [r.actual], "o", color=colour,
                        mfc=colour if ok else "none")
                if ok:
                    ax.plot([qx(last)], [r.forecast], "x", color="tab:blue")
                ax.annotate(r.period, (qx(last), r.actual), textcoords="offset points",
                            xytext=(4, 4), fontsize=7)
                continue
            xs = [qx(first, end=False), qx(last)]
            ax.plot(xs, [r.actual / div] * 2, "-", color=colour, lw=2.5)
            if ok and r.forecast == r.forecast:
                ax.plot(xs, [r.forecast / div] * 2, "--", color="tab:blue", lw=1.5)
            ax.annotate(r.period, (xs[0], r.actual / div), textcoords="offset points",
                        xytext=(2, 4), fontsize=7)
        title, ylabel = _BACKTEST_PANELS[metric]
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_xlabel("quarter end", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles = [
        _line2d("tab:blue", "-", "", "forecast path"),
        _line2d("tab:red", "", "o", "actual (compared)"),
        _line2d("tab:blue", "", "x", "forecast at the actual's date"),
        _line2d("tab:red", "-", "", "actual over its span\n(flows: per-quarter average)"),
        _line2d("tab:blue", "--", "", "forecast over the same span"),
        _line2d("grey", "", "o", "not comparable", hollow=True),
    ]
    _legend_right(fig, handles, [h.get_label() for h in handles])
    scen = report.scalars.get("scenario", "")
    _finish(fig, f"Backtest: {report.scalars.get('actuals', '')} vs scenario {scen}", footer)
    return fig


def rolling_figure(report: Report, footer: str = ""):
    """MAPE against forecast horizon, one line per metric, of a ``backtest --rolling`` report
    (the summary table: every vintage pooled); None when nothing was compared."""
    summary = report.tables["summary"]
    metrics = [m for m in _BACKTEST_PANELS if (summary["metric"] == m).any()]
    if not metrics:
        return None
    fig = _new_figure(9.6, 4.6)
    ax = fig.subplots()
    for metric in metrics:
        sel = summary[summary["metric"] == metric].sort_values("horizon_halves")
        ax.plot(sel["horizon_halves"].to_numpy(int), sel["mape"].to_numpy(float), "o-",
                lw=1.5, label=_BACKTEST_PANELS[metric][0].split(",")[0])
    ax.set_xlabel("half-years ahead of the vintage's base period", fontsize=8)
    ax.set_ylabel("mean absolute error [%]", fontsize=8)
    ax.set_xticks(sorted({int(h) for h in summary["horizon_halves"]}))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    _legend_right(fig, handles, labels)
    n = len(str(report.scalars.get("vintages", "")).split(","))
    _finish(fig, f"Rolling backtest: error by horizon, {n} vintages pooled", footer)
    return fig


def backtest_chart(report: Report, scenarios: list | None = None) -> bytes | None:
    """PNG of the forecast paths against the actual points of a ``backtest`` report.

    One panel per forecast metric that the actuals name. Stocks: the quarterly path and the
    actual at its period end. Flows: the quarterly path and the actual as a per-quarter average
    over its span (actual / span_quarters, drawn across the span), with the forecast summed over
    the same span beside it (dashed). Ratios: the quarterly ratio and the span's actual and
    forecast ratio drawn across the span. Rows that are ``not comparable`` are hollow grey.
    """
    out = _report_images(report, scenarios, backtest_figure, "backtest")
    return out.get("backtest.png")


def _line2d(color: str, ls: str, marker: str, label: str, hollow: bool = False):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, ls=ls or "none", marker=marker or None, label=label,
                  mfc="none" if hollow else color)


# ----- end of backtest chart block ----------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Stress fan chart (issue 8: capacity stress --out)
# --------------------------------------------------------------------------------------------

_FAN_PANELS = {
    "peak_eflops": ("Peak compute (installed fleet)", "peak compute [EFLOPS]"),
    "effective_eflops": ("Effective compute (installed fleet)", "effective compute [EFLOPS]"),
    "genai_revenue_rmb_m": ("GenAI revenue", "GenAI revenue [RMB m per quarter]"),
}


def stress_fan_figure(report: Report, footer: str = ""):
    """The figure of :func:`stress_fan_chart` (None without a ``fan`` table)."""
    import numpy as np
    from matplotlib.patches import Patch

    if "fan" not in report.tables:
        return None
    fan = report.tables["fan"]
    names = [n for n in _FAN_PANELS if n in set(fan["series"])]
    if not names:
        return None
    fig = _new_figure(4.6 * len(names) + 1.6, 4.4)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        d = fan[fan["series"] == name]
        x = np.arange(len(d))
        ax.fill_between(x, d["p5"], d["p95"], color="#9ecae1")
        ax.fill_between(x, d["p25"], d["p75"], color="#4292c6")
        ax.plot(x, d["p50"], color="#08306b", lw=1.6)
        labels = [str(p) for p in d["period"]]
        ax.set_xticks(x[::2])
        ax.set_xticklabels(labels[::2], rotation=45, fontsize=7)
        title, ylabel = _FAN_PANELS[name]
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_xlabel("quarter", fontsize=8)
        ax.grid(alpha=0.3)
    handles = [Patch(color="#9ecae1", label="p5-p95"), Patch(color="#4292c6", label="p25-p75"),
               _line2d("#08306b", "-", "", "median")]
    _legend_right(fig, handles, [h.get_label() for h in handles])
    n = report.scalars.get("samples", "")
    _finish(fig, f"Stress: {report.scalars.get('scenario', '')}, {n} draws, seed "
                 f"{report.scalars.get('seed', '')}", footer)
    return fig


def stress_fan_chart(report: Report, scenarios: list | None = None) -> bytes | None:
    """PNG fan chart of a ``stress`` report: p5-p95 and p25-p75 bands and the median per quarter.

    One panel per series of the report's ``fan`` table (peak and effective EFLOPS, GenAI
    revenue).
    """
    return _report_images(report, scenarios, stress_fan_figure, "stress_fan").get(
        "stress_fan.png")


# ----- end of stress fan chart block --------------------------------------------------------


def _report_images(report: Report, scenarios: list | None, figure, stem: str
                   ) -> dict[str, bytes]:
    import matplotlib

    with matplotlib.rc_context(rc=_style()):
        fig = figure(report, _footer_for(report, scenarios))
        return {} if fig is None else _render(fig, stem)


REPORT_CHARTS: dict[str, tuple[Any, str]] = {
    "backtest": (backtest_figure, "backtest"),
    "stress": (stress_fan_figure, "stress_fan"),
}
"""Report kind -> (figure of that one report, file stem) written beside its tables as PNG and
SVG. Plan, value and compare reports get their charts from :func:`charts`."""


def report_charts(report: Report, scenarios: list | None = None) -> dict[str, bytes]:
    """The PNG and SVG files of a backtest or stress report (empty for other kinds)."""
    chart = REPORT_CHARTS.get(report.kind)
    return _report_images(report, scenarios, chart[0], chart[1]) if chart else {}


# --------------------------------------------------------------------------------------------
# Plan and value charts of an --out folder
# --------------------------------------------------------------------------------------------


def _by_kind(reports: list[Report], kind: str) -> dict[str, Report]:
    return {str(r.scalars.get("scenario", r.kind)): r for r in reports if r.kind == kind}


def _panels(n_panels: int, panel_w: float = 4.2, panel_h: float = 3.2, extra_w: float = 2.2,
            sharey: bool = True, max_cols: int = 3):
    """A figure of ``n_panels`` small multiples (room on the right for the legend)."""
    cols = min(n_panels, max_cols)
    rows = -(-n_panels // cols)
    fig = _new_figure(max(panel_w * cols + extra_w, 8.0), panel_h * rows + 1.1)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=sharey)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels], cols


def _quarter_ticks(ax, labels: list[str], every: int = 2) -> None:
    ax.set_xticks(range(0, len(labels), every))
    ax.set_xticklabels(labels[::every], rotation=60, fontsize=7)


def _chip_colors(chips: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {c: cmap(i % 20) for i, c in enumerate(sorted(chips))}


def _unique_legend(axes) -> tuple[list, list[str]]:
    handles, labs = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labs:
                handles.append(h)
                labs.append(lab)
    return handles, labs


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
    colors = _chip_colors(sorted({c for pv in pivots.values() for c in pv.columns}))
    fig, axes, cols = _panels(len(pivots))
    for ax, (name, pv) in zip(axes, pivots.items(), strict=True):
        labels = [str(p) for p in pv.index]
        ax.stackplot(range(len(pv)), *(pv[c].to_numpy() / 1000 for c in pv.columns),
                     labels=list(pv.columns), colors=[colors[c] for c in pv.columns])
        ax.set_title(name, fontsize=9)
        _quarter_ticks(ax, labels)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[::cols]:
        ax.set_ylabel("installed GPUs [thousand units]", fontsize=8)
    _legend_right(fig, *_unique_legend(axes))
    _finish(fig, "Installed GPUs by chip at quarter end (thousand units)", footer)
    return fig


def chart_gpu_mix(plans: dict[str, Report], footer: str = ""):
    """Share of installed GPUs by chip at each year end (100% stacked bars); one panel per
    scenario."""
    import numpy as np

    pivots = _fleet_pivots(plans)
    colors = _chip_colors(sorted({c for pv in pivots.values() for c in pv.columns}))
    fig, axes, cols = _panels(len(pivots), panel_w=3.6)
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
    for ax in axes[::cols]:
        ax.set_ylabel("share of installed GPUs [%]", fontsize=8)
    _legend_right(fig, *_unique_legend(axes))
    _finish(fig, "GPU mix by chip at each year end (share of installed units)", footer)
    return fig


def chart_compute_vs_demand(plans: dict[str, Report], footer: str = ""):
    """Effective EFLOPS vs demand with the shortfall shaded; peak EFLOPS dashed."""
    import numpy as np

    from capacity.results import plain_frame

    fig, axes, cols = _panels(len(plans))
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
        _quarter_ticks(ax, [str(p) for p in q["period"]])
        ax.grid(alpha=0.3)
    for ax in axes[::cols]:
        ax.set_ylabel("compute [EFLOPS]", fontsize=8)
    _legend_right(fig, *_unique_legend(axes))
    _finish(fig, "Effective compute vs demand per quarter (shortfall shaded)", footer)
    return fig


def chart_capex(plans: dict[str, Report], footer: str = ""):
    """Planned capex per quarter: one small panel per scenario (same scale), bars coloured by
    calendar year, the year's total written above its bars."""
    import numpy as np

    from capacity.results import plain_frame

    fig, axes, cols = _panels(len(plans), extra_w=0.6)
    years_all: list[int] = []
    for r in plans.values():
        q = plain_frame(r.tables["quarters"])
        years_all += [p.year for p in q["period"]]
    years = sorted(set(years_all))
    colour = {y: f"C{i % 10}" for i, y in enumerate(years)}
    for ax, (name, r) in zip(axes, plans.items(), strict=True):
        q = plain_frame(r.tables["quarters"])
        periods = list(q["period"])
        capex = q["capex_rmb_m"].to_numpy(dtype=float)
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
    for ax in axes[::cols]:
        ax.set_ylabel("capex [RMB m per quarter]", fontsize=8)
    _finish(fig, "GPU capex by order quarter (RMB m; year totals under the axis)", footer)
    return fig


def chart_genai(values: dict[str, Report], footer: str = ""):
    """GenAI revenue per calendar year (bars, left) and GenAI share of revenue (lines, right)."""
    import numpy as np

    from capacity.results import plain_frame

    fig = _new_figure(10.0 + 0.2 * len(values), 4.8)
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
        ax.bar(x + (i - (n - 1) / 2) * width, annual["genai_rmb_m"].to_numpy(dtype=float),
               width=width, color=color, alpha=0.8)
        ax2.plot(x, annual["genai_share"].to_numpy(dtype=float) * 100, color=color, marker="o",
                 lw=1.2)
        handles.append(_line2d(color, "-", "s", name))
        labels.append(name)
    from matplotlib.patches import Patch

    handles += [Patch(color="grey", alpha=0.8, label="bars: GenAI revenue (left)"),
                _line2d("grey", "-", "o", "lines: GenAI share (right)")]
    labels += ["bars: GenAI revenue (left)", "lines: GenAI share (right)"]
    ax.set_xticks(range(len(years)))
    ax.set_xticklabels([str(y) for y in years])
    ax.set_xlabel("calendar year", fontsize=8)
    ax.set_ylabel("GenAI revenue [RMB m per year]", fontsize=8)
    ax2.set_ylabel("GenAI share of revenue [%]", fontsize=8)
    ax2.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    _legend_right(fig, handles, labels)
    _finish(fig, "GenAI revenue and share of revenue by calendar year", footer)
    return fig


def chart_target_price(values: dict[str, Report], footer: str = ""):
    """Target price per scenario by method (EV/Sales, DCF, EV/EBITDA where it applies) and the
    blended ``target_price_hkd``, against the note's target price."""
    import numpy as np

    methods = [("tp_ev_sales_hkd", "EV/Sales"), ("tp_dcf_hkd", "DCF"),
               ("tp_ev_ebitda_hkd", "EV/EBITDA")]
    names = list(values)
    shown = [(k, lab) for k, lab in methods if any(k in values[n].scalars for n in names)]
    if not shown:  # a value report from before the methods: the one price
        shown = [("target_price_hkd", "target price")]
    fig = _new_figure(8.0 + 0.5 * len(values), 4.6)
    ax = fig.subplots()
    width = 0.8 / len(shown)
    x = np.arange(len(names))
    handles, labels = [], []
    for j, (key, lab) in enumerate(shown):
        tps = [float(values[n].scalars.get(key, float("nan"))) for n in names]
        bars = ax.bar(x + (j - (len(shown) - 1) / 2) * width, tps, width=width,
                      color=f"C{j % 10}")
        for b, tp in zip(bars, tps, strict=True):
            if np.isfinite(tp):
                ax.annotate(f"{tp:.2f}", (b.get_x() + b.get_width() / 2, tp), ha="center",
                            va="bottom" if tp >= 0 else "top", fontsize=7)
        handles.append(bars)
        labels.append(lab)
    blend = [float(values[n].scalars.get("target_price_hkd", float("nan"))) for n in names]
    (mark,) = ax.plot(x, blend, "D", color="black", ms=5, ls="none")
    handles.append(mark)
    labels.append("target_price_hkd (blend)")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    note = values[names[0]].scalars.get("note_target_price_hkd") if names else None
    if note is not None:
        line = ax.axhline(float(note), color="black", linestyle="--", linewidth=1)
        handles.append(line)
        labels.append(f"note's TP HK${float(note):.2f}")
    _legend_right(fig, handles, labels)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_xlabel("scenario", fontsize=8)
    ax.set_ylabel("target price [HKD per share]", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    _finish(fig, "Target price by scenario and method", footer)
    return fig


def chart_pnl(values: dict[str, Report], footer: str = ""):
    """P&L bars per calendar year, one panel per scenario (same scale): revenue, gross profit,
    EBITDA and net loss (drawn below zero)."""
    import numpy as np

    from capacity.results import plain_frame

    lines = [("revenue_rmb_m", "revenue", 1.0), ("gross_profit_rmb_m", "gross profit", 1.0),
             ("ebitda_rmb_m", "EBITDA", 1.0), ("net_loss_rmb_m", "net loss (below 0)", -1.0)]
    fig, axes, cols = _panels(len(values))
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
    for ax in axes[::cols]:
        ax.set_ylabel("P&L line [RMB m per year]", fontsize=8)
    _legend_right(fig, *_unique_legend(axes))
    _finish(fig, "P&L by calendar year: revenue, gross profit, EBITDA, net loss", footer)
    return fig


def chart_cash(values: dict[str, Report], footer: str = ""):
    """Net cash per quarter for each scenario against the funding floor (the runway)."""
    from capacity.results import plain_frame

    fig = _new_figure(10.0, 4.8)
    ax = fig.subplots()
    handles, labels = [], []
    periods: list[str] = []
    for i, (name, r) in enumerate(values.items()):
        cash = plain_frame(r.tables["cash"])
        periods = periods or [str(p) for p in cash["period"]]
        (h,) = ax.plot(range(len(cash)), cash["net_cash_rmb_m"].to_numpy(float),
                       color=f"C{i % 10}", marker="o", ms=3, lw=1.4)
        handles.append(h)
        runway = r.scalars.get("runway_quarters")
        labels.append(f"{name} (runway {runway} q)" if runway is not None else name)
    first = next(iter(values.values()), None)
    floor = first.scalars.get("cash_floor_rmb_m") if first is not None else None
    if floor is not None:
        line = ax.axhline(float(floor), color="black", linestyle="--", linewidth=1)
        handles.append(line)
        labels.append(f"funding floor RMB {float(floor):,.0f}m")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    _quarter_ticks(ax, periods)
    ax.set_xlabel("quarter", fontsize=8)
    ax.set_ylabel("net cash at quarter end [RMB m]", fontsize=8)
    ax.grid(alpha=0.3)
    _legend_right(fig, handles, labels)
    _finish(fig, "Cash runway: net cash from 30 Jun 2023, FCF = EBITDA - capex paid", footer)
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

    fig = _new_figure(12.5, 4.8)
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
    for metric, ax, scale, style in (("peak_eflops", ax_c, 1.0, "D"),
                                     ("peak_eflops_with_orders", ax_c, 1.0, "D"),
                                     ("gpus_units", ax_g, 1000.0, "D")):
        for k, (p, v, _note) in enumerate(_disclosed(scenarios, metric)):
            hollow = metric.endswith("with_orders")
            ax.plot([qend(p)], [v / scale], style, color="black", ms=6,
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
    keys = [*handles.values(), _line2d("grey", "-", "", "peak (plan)"),
            _line2d("grey", "--", "", "effective (plan)"),
            _line2d("black", "", "D", "disclosed"),
            _line2d("black", "", "D", "disclosed, with placed orders", hollow=True)]
    _legend_right(fig, keys, [*handles, "peak (plan)", "effective (plan)", "disclosed",
                              "disclosed, with placed orders"])
    _finish(fig, "Compute and GPUs: the plan's path against the disclosed points", footer)
    return fig


def token_cost_pivots(plans: dict[str, Report]) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    """What :func:`chart_token_cost` draws, per scenario: the ``economics`` table's
    ``token_cost_rmb_per_m_tokens`` as a (delivery quarter x chip) frame, chips without a token
    cost in any quarter left out, and ``token_price_rmb_per_m_tokens`` per quarter. [RMB per m
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
                             values="token_cost_rmb_per_m_tokens", aggfunc="first",
                             sort=True, dropna=False)
        cost = cost.loc[:, cost.notna().any()]
        price = e.groupby("period", sort=True)["token_price_rmb_per_m_tokens"].first()
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
    colors = _chip_colors(sorted({c for cost, _ in pivots.values() for c in cost.columns}))
    fig, axes, cols = _panels(len(pivots))
    for ax, (name, (cost, price)) in zip(axes, pivots.items(), strict=True):
        x = np.arange(len(cost))
        for chip in cost.columns:
            ax.plot(x, cost[chip].to_numpy(float), color=colors[chip], lw=1.4, label=chip,
                    drawstyle="steps-mid")
        ax.plot(x, price.to_numpy(float), color="black", ls="--", lw=1.2, label="token price",
                drawstyle="steps-mid")
        ax.set_ylim(bottom=0)
        ax.set_title(name, fontsize=9)
        _quarter_ticks(ax, [str(p) for p in cost.index])
        ax.set_xlabel("delivery quarter", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[::cols]:
        ax.set_ylabel("cost to serve [RMB per m tokens]", fontsize=8)
    _legend_right(fig, *_unique_legend(axes))
    _finish(fig, "Cost per token by chip: levelised cost of serving a million tokens, against "
                 "the token price", footer)
    return fig


def charts(reports: list[Report], scenarios: list | None = None) -> dict[str, bytes]:
    """Charts for whatever the reports hold: file name -> bytes (each chart as PNG and SVG).

    Plan reports give the fleet, GPU mix, compute-vs-demand, compute-vs-disclosed, capex and
    cost-per-token-by-chip charts; value reports the GenAI revenue and target-price charts.
    ``scenarios`` (as loaded) give the footer its data citations and dates and the disclosed
    points; without them the footer names the scenarios only and the disclosed points are left
    out. Rendered with matplotlib's Agg canvas, a fixed DPI, the default style, no software or
    date tag and a fixed SVG hash salt, so the same inputs give byte-identical files.
    """
    import matplotlib

    from capacity.report.formats import chart_footer

    scenarios = list(scenarios or [])
    plans = _by_kind(reports, "plan")
    values = _by_kind(reports, "value")
    footer = chart_footer(reports, scenarios)
    out: dict[str, bytes] = {}
    with matplotlib.rc_context(rc=_style()):
        if plans:
            out.update(_render(chart_fleet_by_chip(plans, footer), "fleet_by_chip"))
            out.update(_render(chart_gpu_mix(plans, footer), "gpu_mix_by_chip"))
            out.update(_render(chart_compute_vs_demand(plans, footer), "compute_vs_demand"))
            out.update(_render(chart_compute_vs_disclosed(plans, scenarios, footer),
                               "compute_vs_disclosed"))
            out.update(_render(chart_capex(plans, footer), "capex_by_quarter"))
            token_cost = chart_token_cost(plans, footer)
            if token_cost is not None:
                out.update(_render(token_cost, "token_cost_by_chip"))
        if values:
            out.update(_render(chart_genai(values, footer), "genai_revenue"))
            out.update(_render(chart_target_price(values, footer), "target_price"))
            if all("pnl" in r.tables and "cash" in r.tables for r in values.values()):
                out.update(_render(chart_pnl(values, footer), "pnl_by_year"))
                out.update(_render(chart_cash(values, footer), "cash_runway"))
    return out
