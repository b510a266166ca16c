"""The chart of one command's report, written beside its tables by ``--out``: the backtest's
forecast paths against the actuals (or a rolling backtest's error by horizon) and the stress
test's fan chart, each as PNG and SVG bytes (:func:`report_charts`).

Drawn with the figure kit of :mod:`capacity.report.figure`; the charts of a set of plans and
valuations are in :mod:`capacity.report.charts`. numpy, pandas and matplotlib are imported
inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capacity.report.figure import finish, legend_right, line2d, new_figure, render, style

if TYPE_CHECKING:
    from capacity.results import Report


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
    "revenue_m": ("Revenue", "revenue [RMB m per quarter]"),
    "genai_revenue_m": ("GenAI revenue", "GenAI revenue [RMB m per quarter]"),
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
    fig = new_figure(5.4 * ncols + 2.6, 3.2 * nrows + 1.0)

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
        kind_flow = metric in ("revenue_m", "genai_revenue_m")
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
        line2d("tab:blue", "-", "", "forecast path"),
        line2d("tab:red", "", "o", "actual (compared)"),
        line2d("tab:blue", "", "x", "forecast at the actual's date"),
        line2d("tab:red", "-", "", "actual over its span\n(flows: per-quarter average)"),
        line2d("tab:blue", "--", "", "forecast over the same span"),
        line2d("grey", "", "o", "not comparable", hollow=True),
    ]
    legend_right(fig, handles, [h.get_label() for h in handles])
    scen = report.scalars.get("scenario", "")
    finish(fig, f"Backtest: {report.scalars.get('actuals', '')} vs scenario {scen}", footer)
    return fig


def rolling_figure(report: Report, footer: str = ""):
    """A ``backtest --rolling`` report's chart: MAPE against forecast horizon, one line per
    metric (the summary table: every vintage pooled), then one panel per metric with each
    compared row's error and its P10..P90 band, both in % of the actual
    (100 (p - actual) / actual): the band crosses 0 when the actual is inside it. None when
    nothing was compared."""
    import numpy as np

    summary = report.tables["summary"]
    rows = report.tables["rows"]
    metrics = [m for m in _BACKTEST_PANELS if (summary["metric"] == m).any()]
    if not metrics:
        return None
    ncols = 3
    nrows = 1 + -(-len(metrics) // ncols)
    fig = new_figure(12.0, 3.0 * nrows + 1.0)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    ax = axes[0, 0]
    for metric in metrics:
        sel = summary[summary["metric"] == metric].sort_values("horizon_halves")
        ax.plot(sel["horizon_halves"].to_numpy(int), sel["mape"].to_numpy(float), "o-",
                lw=1.5, label=_BACKTEST_PANELS[metric][0].split(",")[0])
    ax.set_xlabel("half-years ahead of the vintage's base period", fontsize=8)
    ax.set_ylabel("mean absolute error [%]", fontsize=8)
    ax.set_title("MAPE by horizon", fontsize=9)
    ax.set_xticks(sorted({int(h) for h in summary["horizon_halves"]}))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    for extra in axes[0, 1:]:
        extra.set_visible(False)
    vintages = sorted({v for v in rows["vintage"] if v != "note"})
    offset = {v: (i - (len(vintages) - 1) / 2) * 0.08 for i, v in enumerate(vintages)}
    done = rows[rows["status"] == "compared"]
    for k, metric in enumerate(metrics):
        ax = axes[1 + k // ncols, k % ncols]
        sel = done[done["metric"] == metric]
        a = sel["actual"].to_numpy(float)
        x = sel["horizon_halves"].to_numpy(float) + np.array(
            [offset.get(v, 0.0) for v in sel["vintage"]])
        cols = {c: (100 * (sel[c].to_numpy(float) - a) / a if c in sel else np.full(len(a),
                                                                                   np.nan))
                for c in ("p10", "p90", "forecast")}
        has = np.isfinite(cols["p10"]) & np.isfinite(cols["p90"])
        ax.vlines(x[has], cols["p10"][has], cols["p90"][has], color="0.45", lw=3, alpha=0.5)
        ax.plot(x, cols["forecast"], "o", ms=3.5, color="C3")
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_title(_BACKTEST_PANELS[metric][0].split(",")[0], fontsize=9)
        ax.set_xticks(sorted({int(h) for h in summary["horizon_halves"]}))
        ax.set_ylabel("% of the actual", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for extra in axes.ravel()[ncols + len(metrics):]:
        extra.set_visible(False)
    from matplotlib.lines import Line2D

    handles += [Line2D([], [], color="0.45", lw=3, alpha=0.5, label="P10..P90 band"),
                line2d("C3", "", "o", "forecast (point)")]
    legend_right(fig, handles, [h.get_label() for h in handles])
    n = len(str(report.scalars.get("vintages", "")).split(","))
    cov = report.scalars.get("coverage_80")
    shown = f"; 80% band covers {100 * cov:.0f}% of the actuals" if cov is not None else ""
    finish(fig, f"Rolling backtest: error by horizon, {n} vintages pooled{shown}", footer)
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


# ----- end of backtest chart block ----------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Stress fan chart (issue 8: capacity stress --out)
# --------------------------------------------------------------------------------------------

_FAN_PANELS = {
    "peak_eflops": ("Peak compute (installed fleet)", "peak compute [EFLOPS]"),
    "effective_eflops": ("Effective compute (installed fleet)", "effective compute [EFLOPS]"),
    "genai_revenue_m": ("GenAI revenue", "GenAI revenue [RMB m per quarter]"),
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
    fig = new_figure(4.6 * len(names) + 1.6, 4.4)
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
               line2d("#08306b", "-", "", "median")]
    legend_right(fig, handles, [h.get_label() for h in handles])
    n = report.scalars.get("samples", "")
    finish(fig, f"Stress: {report.scalars.get('scenario', '')}, {n} draws, seed "
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


_COMPS_PANELS = (
    (("ev_sales_reported", "ev_sales_next_year"), ("reported", "next year"), "EV/Sales [x]"),
    (("ev_ebitda_next_year",), ("next year",), "EV/EBITDA [x]"),
    (("upside",), ("model TP vs price",), "upside [%]"),
    (("model_eflops_per_revenue_m",), ("modelled fleet",), "EFLOPS per {cur} m of revenue"),
)
"""Panels of the comps chart: (columns, their labels, axis label)."""


def comps_figure(report: Report, footer: str = ""):
    """A ``comps`` report's chart: one panel per measure of :data:`_COMPS_PANELS`, a bar per
    subject (and column); a null figure is no bar. None without a row."""
    import numpy as np

    t = report.tables["comps"]
    if t.empty:
        return None
    cur = str(report.scalars.get("currency", ""))
    fig = new_figure(12.0, 3.6)
    axes = fig.subplots(1, len(_COMPS_PANELS), squeeze=False)[0]
    y = np.arange(len(t))
    for ax, (cols, labels, xlabel) in zip(axes, _COMPS_PANELS, strict=True):
        h = 0.8 / len(cols)
        for k, (c, lab) in enumerate(zip(cols, labels, strict=True)):
            v = np.array([np.nan if x is None else float(x) for x in t[c]], float)
            v = 100 * v if c == "upside" else v
            ax.barh(y + (k - (len(cols) - 1) / 2) * h, np.nan_to_num(v), h,  # null: no bar
                    color=f"C{k}", label=lab)
        ax.set_yticks(y, [str(s) for s in t["subject"]], fontsize=7)
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_xlabel(xlabel.format(cur=cur), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="x")
        if len(cols) > 1:
            ax.legend(fontsize=7, frameon=False)
    finish(fig, f"Comps in {cur}: market multiples at the dated share price, the model's "
           "upside, compute per revenue (no bar: not known)", footer)
    return fig


def _report_images(report: Report, scenarios: list | None, figure, stem: str
                   ) -> dict[str, bytes]:
    import matplotlib

    with matplotlib.rc_context(rc=style()):
        fig = figure(report, _footer_for(report, scenarios))
        return {} if fig is None else render(fig, stem)


REPORT_CHARTS: dict[str, tuple[Any, str]] = {
    "backtest": (backtest_figure, "backtest"),
    "stress": (stress_fan_figure, "stress_fan"),
    "comps": (comps_figure, "comps"),
}
"""Report kind -> (figure of that one report, file stem) written beside its tables as PNG and
SVG. Plan, value and compare reports get their charts from :func:`charts`."""


def report_charts(report: Report, scenarios: list | None = None) -> dict[str, bytes]:
    """The PNG and SVG files of a backtest or stress report (empty for other kinds)."""
    chart = REPORT_CHARTS.get(report.kind)
    return _report_images(report, scenarios, chart[0], chart[1]) if chart else {}
