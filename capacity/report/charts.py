"""PNG charts of reports, as bytes (written by :mod:`.write`).

Drawn on matplotlib ``Figure`` objects with their own Agg canvas (no pyplot, no global state), the
default style, a fixed DPI and no software tag, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from capacity.results import Report

# numpy, pandas and matplotlib are imported inside the functions: the package binds the name
# ``charts`` to the function below when it loads this module, which must therefore be light.

CHART_DPI = 100
"""Resolution of the PNG charts. [dots per inch]"""

# --------------------------------------------------------------------------------------------
# Backtest chart (issue 9: capacity backtest --out)
# --------------------------------------------------------------------------------------------

_BACKTEST_PANELS = {
    "gpus_units": "GPUs [units], at period end",
    "computing_power_eflops": "Computing power [EFLOPS], at period end",
    "revenue_rmb_m": "Revenue [RMB m per quarter]",
    "genai_revenue_rmb_m": "GenAI revenue [RMB m per quarter]",
    "genai_share": "GenAI share of revenue [1]",
    "gross_margin": "Gross margin [1]",
}


def backtest_chart(report: Report) -> bytes | None:
    """PNG of the forecast paths against the actual points of a ``backtest`` report.

    One panel per forecast metric that the actuals name. Stocks: the quarterly path and the
    actual at its period end. Flows: the quarterly path and the actual as a per-quarter average
    over its span (actual / span_quarters, drawn across the span), with the forecast summed over
    the same span beside it (dashed). Ratios: the quarterly ratio and the span's actual and
    forecast ratio drawn across the span. Rows that are ``not comparable`` are hollow grey.
    """
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = report.tables["rows"]
    paths = report.tables["paths"]
    metrics = [m for m in _BACKTEST_PANELS
               if m in paths.columns and (rows["metric"] == m).any()]
    if not metrics:
        return None
    ncols = 2 if len(metrics) > 1 else 1
    nrows = -(-len(metrics) // ncols)
    fig = Figure(figsize=(6.0 * ncols, 3.4 * nrows), dpi=110)
    FigureCanvasAgg(fig)
    idx = pd.PeriodIndex(paths.index, freq="Q")

    def qx(q: pd.Period, end: bool = True) -> pd.Timestamp:
        return (q.end_time if end else q.start_time).normalize()

    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        ys = paths[metric].to_numpy(float)
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
        ax.set_title(_BACKTEST_PANELS[metric], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.legend(handles=[
        _line2d("tab:blue", "-", "", "forecast path"),
        _line2d("tab:red", "", "o", "actual (compared)"),
        _line2d("tab:blue", "", "x", "forecast at the actual's date"),
        _line2d("tab:red", "-", "", "actual over its span (flows: per-quarter average)"),
        _line2d("tab:blue", "--", "", "forecast over the same span"),
        _line2d("grey", "", "o", "not comparable", hollow=True),
    ], loc="lower center", ncol=3, fontsize=7, frameon=False)
    scen = report.scalars.get("scenario", "")
    fig.suptitle(f"Backtest: {report.scalars.get('actuals', '')} vs scenario {scen}",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    return _png_bytes(fig)


def _line2d(color: str, ls: str, marker: str, label: str, hollow: bool = False):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, ls=ls or "none", marker=marker or None, label=label,
                  mfc="none" if hollow else color)


# ----- end of backtest chart block ----------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Stress fan chart (issue 8: capacity stress --out)
# --------------------------------------------------------------------------------------------

_FAN_PANELS = {
    "peak_eflops": "Peak EFLOPS (installed fleet)",
    "effective_eflops": "Effective EFLOPS (installed fleet)",
    "genai_revenue_rmb_m": "GenAI revenue [RMB m per quarter]",
}


def stress_fan_chart(report: Report) -> bytes | None:
    """PNG fan chart of a ``stress`` report: p5-p95 and p25-p75 bands and the median per quarter.

    One panel per series of the report's ``fan`` table (peak and effective EFLOPS, GenAI
    revenue). Rendered with the Agg canvas at a fixed DPI without a software tag, so the same
    report gives the same bytes.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if "fan" not in report.tables:
        return None
    fan = report.tables["fan"]
    names = [n for n in _FAN_PANELS if n in set(fan["series"])]
    fig = Figure(figsize=(5.2 * len(names), 3.6), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        d = fan[fan["series"] == name]
        x = np.arange(len(d))
        ax.fill_between(x, d["p5"], d["p95"], color="#9ecae1", label="p5-p95")
        ax.fill_between(x, d["p25"], d["p75"], color="#4292c6", label="p25-p75")
        ax.plot(x, d["p50"], color="#08306b", lw=1.6, label="median")
        labels = [str(p) for p in d["period"]]
        ax.set_xticks(x[::2])
        ax.set_xticklabels(labels[::2], rotation=45, fontsize=7)
        ax.set_title(_FAN_PANELS[name], fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    n = report.scalars.get("samples", "")
    fig.suptitle(f"{report.scalars.get('scenario', '')}: {n} draws, seed "
                 f"{report.scalars.get('seed', '')}", fontsize=10)
    fig.tight_layout()
    return _png_bytes(fig)


# ----- end of stress fan chart block --------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Plan and value charts of an --out folder
# --------------------------------------------------------------------------------------------


def _by_kind(reports: list[Report], kind: str) -> dict[str, Report]:
    return {str(r.scalars.get("scenario", r.kind)): r for r in reports if r.kind == kind}


def _figure(n_panels: int = 1, width_in: float = 10.0, height_in: float = 4.5):
    """A figure with ``n_panels`` side-by-side axes (no pyplot: no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(n_panels, 3)
    rows = (n_panels + cols - 1) // cols
    fig = Figure(figsize=(max(width_in, 4.2 * cols), height_in * rows), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def _png_bytes(fig, dpi: float | None = None) -> bytes:
    """PNG bytes without the software/version tag (byte-identical for the same figure), at
    ``dpi`` or the figure's own."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or "figure", metadata={"Software": None})
    return buf.getvalue()


def _png(fig) -> bytes:
    """A laid-out chart of :func:`charts` as PNG bytes at ``CHART_DPI``."""
    fig.tight_layout()
    return _png_bytes(fig, CHART_DPI)


def _quarter_ticks(ax, labels: list[str], every: int = 2) -> None:
    ax.set_xticks(range(0, len(labels), every))
    ax.set_xticklabels(labels[::every], rotation=60, fontsize=7)


def _chip_colors(chips: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {c: cmap(i % 20) for i, c in enumerate(sorted(chips))}


def chart_fleet_by_chip(plans: dict[str, Report]) -> bytes:
    """Installed units by chip per quarter, stacked; one panel per scenario."""
    from capacity.results import plain_frame

    pivots = {}
    for name, r in plans.items():
        fleet = plain_frame(r.tables["fleet"])
        pv = fleet.pivot_table(index="period", columns="chip", values="units", aggfunc="sum",
                               sort=True).fillna(0.0)
        pivots[name] = pv.loc[:, pv.max() > 0.5]
    colors = _chip_colors(sorted({c for pv in pivots.values() for c in pv.columns}))
    fig, axes = _figure(len(pivots))
    for ax, (name, pv) in zip(axes, pivots.items(), strict=True):
        labels = [str(p) for p in pv.index]
        ax.stackplot(range(len(pv)), *(pv[c].to_numpy() / 1000 for c in pv.columns),
                     labels=list(pv.columns), colors=[colors[c] for c in pv.columns])
        ax.set_title(name, fontsize=10)
        _quarter_ticks(ax, labels)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[::3]:  # first panel of each row
        ax.set_ylabel("installed GPUs [thousand units]")
    handles, labs = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labs:
                handles.append(h)
                labs.append(lab)
    axes[-1].legend(handles, labs, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Fleet by chip (installed units, thousands)", fontsize=11)
    return _png(fig)


def chart_compute_vs_demand(plans: dict[str, Report]) -> bytes:
    """Effective EFLOPS vs demand with the shortfall shaded; peak EFLOPS dashed."""
    import numpy as np

    from capacity.results import plain_frame

    fig, axes = _figure(len(plans))
    for ax, (name, r) in zip(axes, plans.items(), strict=True):
        q = plain_frame(r.tables["quarters"])
        x = np.arange(len(q))
        demand = q["demand_eflops"].to_numpy(dtype=float)
        short = q["shortfall_eflops"].to_numpy(dtype=float)
        served = demand - short
        ax.plot(x, q["effective_eflops"].to_numpy(dtype=float), label="effective EFLOPS",
                color="tab:blue")
        ax.plot(x, q["peak_eflops"].to_numpy(dtype=float), label="peak EFLOPS",
                color="tab:blue", linestyle="--", alpha=0.6)
        ax.plot(x, demand, label="demand", color="black")
        ax.fill_between(x, served, demand, where=short > 1e-9, color="tab:red", alpha=0.35,
                        label="shortfall", interpolate=True)
        ax.set_title(name, fontsize=10)
        _quarter_ticks(ax, [str(p) for p in q["period"]])
        ax.grid(alpha=0.3)
    for ax in axes[::3]:
        ax.set_ylabel("EFLOPS")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Effective compute vs demand (shortfall shaded)", fontsize=11)
    return _png(fig)


def chart_capex(plans: dict[str, Report]) -> bytes:
    """Planned capex per quarter, one bar per scenario."""
    import numpy as np

    from capacity.results import plain_frame

    fig, (ax,) = _figure(1)
    n = len(plans)
    width = 0.8 / max(n, 1)
    labels: list[str] = []
    for i, (name, r) in enumerate(plans.items()):
        q = plain_frame(r.tables["quarters"])
        labels = labels or [str(p) for p in q["period"]]
        x = np.arange(len(q)) + (i - (n - 1) / 2) * width
        ax.bar(x, q["capex_rmb_m"].to_numpy(dtype=float), width=width, label=name)
    _quarter_ticks(ax, labels, every=1)
    ax.set_ylabel("capex [RMB m]")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Capex by quarter (purchases paid at order)", fontsize=11)
    return _png(fig)


def chart_genai(values: dict[str, Report]) -> bytes:
    """GenAI revenue per calendar year (bars) and GenAI share of revenue (lines)."""
    import numpy as np

    from capacity.results import plain_frame

    fig, (ax,) = _figure(1)
    ax2 = ax.twinx()
    n = len(values)
    width = 0.8 / max(n, 1)
    years: list[int] = []
    for i, (name, r) in enumerate(values.items()):
        annual = plain_frame(r.tables["annual"])
        years = years or [int(y) for y in annual["year"]]
        x = np.arange(len(annual))
        color = f"C{i % 10}"
        ax.bar(x + (i - (n - 1) / 2) * width, annual["genai_rmb_m"].to_numpy(dtype=float),
               width=width, color=color, alpha=0.8, label=f"{name} GenAI revenue")
        ax2.plot(x, annual["genai_share"].to_numpy(dtype=float) * 100, color=color, marker="o",
                 label=f"{name} GenAI share")
    ax.set_xticks(range(len(years)))
    ax.set_xticklabels([str(y) for y in years])
    ax.set_ylabel("GenAI revenue [RMB m]")
    ax2.set_ylabel("GenAI share of revenue [%]")
    ax2.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    ax.set_title("GenAI revenue and share by calendar year", fontsize=11)
    return _png(fig)


def chart_target_price(values: dict[str, Report]) -> bytes:
    """EV/Sales target price per scenario against the note's target price."""
    fig, (ax,) = _figure(1, width_in=8.0)
    names = list(values)
    tps = [float(values[n].scalars.get("target_price_hkd", float("nan"))) for n in names]
    bars = ax.bar(range(len(names)), tps, color=[f"C{i % 10}" for i in range(len(names))])
    for b, tp in zip(bars, tps, strict=True):
        ax.annotate(f"HK${tp:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=9)
    note = values[names[0]].scalars.get("note_target_price_hkd") if names else None
    if note is not None:
        ax.axhline(float(note), color="black", linestyle="--", linewidth=1,
                   label=f"note's TP HK${float(note):.2f}")
        ax.legend(fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_ylabel("target price [HKD per share]")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("Target price by scenario (EV/Sales)", fontsize=11)
    return _png(fig)


def charts(reports: list[Report]) -> dict[str, bytes]:
    """PNG charts for whatever the reports hold: file name -> bytes.

    Plan reports give the fleet, compute-vs-demand and capex charts; value reports the GenAI
    revenue and target-price charts. Rendered with matplotlib's Agg canvas, a fixed DPI, the
    default style and no software tag, so the same inputs give byte-identical files.
    """
    import matplotlib

    plans = _by_kind(reports, "plan")
    values = _by_kind(reports, "value")
    out: dict[str, bytes] = {}
    # the default style, whatever the user's matplotlibrc says; backend keys left alone (the
    # figures draw on their own Agg canvas, and touching the backend would import pyplot)
    default = matplotlib.rcParamsDefault
    style = {k: default[k] for k in default
             if not k.startswith("backend") and k != "interactive"}
    with matplotlib.rc_context(rc=style):
        if plans:
            out["fleet_by_chip.png"] = chart_fleet_by_chip(plans)
            out["compute_vs_demand.png"] = chart_compute_vs_demand(plans)
            out["capex_by_quarter.png"] = chart_capex(plans)
        if values:
            out["genai_revenue.png"] = chart_genai(values)
            out["target_price.png"] = chart_target_price(values)
    return out


REPORT_CHARTS: dict[str, tuple[Any, str]] = {
    "backtest": (backtest_chart, "backtest.png"),
    "stress": (stress_fan_chart, "stress_fan.png"),
}
"""Report kind -> (chart of that one report, file name) written beside its tables. Plan, value
and compare reports get their charts from :func:`charts` (inside :func:`write_rich_outputs`)."""
