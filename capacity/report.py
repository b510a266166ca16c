"""Turn results into files: CSV, workbook, charts, HTML. The only module that writes files.

The JSON and CSV text of a :class:`~capacity.results.Report` is made in :mod:`capacity.results`
(``json_text``, ``csv_text``); this module writes it, with the rich outputs, into folders.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.results import (
    Report,
    csv_frame,
    csv_text,
    format_number,
    header_with_unit,
    json_text,
    jsonable,
    plain_frame,
    unit_of,
)

# --------------------------------------------------------------------------------------------
# Atomic file writing
# --------------------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def normal_mode(path: str | Path, directory: bool = False) -> None:
    """Give a temporary file or folder the permissions a plain ``open``/``mkdir`` would.

    ``mkstemp``/``mkdtemp`` create owner-only entries; outputs are meant to be shared.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, then move into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        normal_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Text version of :func:`write_bytes_atomic` (UTF-8, ``\\n`` line ends)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def check_out_dir(out: Path, overwrite: bool = False) -> None:
    """Refuse to mix new outputs with old files in an existing, non-empty folder.

    Raises
    ------
    InputError
        When ``out`` exists, is not empty, and ``overwrite`` is false; or when it is a file.
    """
    if out.exists() and not out.is_dir():
        raise InputError("--out", f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError("--out", f"{out} is not empty; choose a new folder or pass --overwrite")


# --------------------------------------------------------------------------------------------
# Output folders
# --------------------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers (for the manifest)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("capacity", "pandas", "numpy", "pulp", "highspy", "pydantic", "typer",
                 "openpyxl", "matplotlib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    import platform

    out["python"] = platform.python_version()
    return out


def manifest(reports: list, scenarios: list, run: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """What is needed to reproduce a run: resolved scenarios, input hashes, versions.

    ``run`` adds how it was run (``solver``, ``timings_s`` per step, ``command``); the solver
    defaults to the one the reports name.
    """
    run = dict(run or {})
    solvers = sorted({str(r.scalars["solver"]) for r in reports if "solver" in r.scalars})
    run.setdefault("solver", solvers[0] if len(solvers) == 1 else solvers or None)
    return {
        "kind": [r.kind for r in reports],
        "scenarios": [{
            "name": sc.name,
            "description": sc.description,
            "inputs": sc.inputs.model_dump(mode="json"),
            "changes": [c.as_record() for c in sc.changes],
            "input_files_sha256": dict(sorted(sc.files.items())),
        } for sc in scenarios],
        "scalars": [jsonable({k: v for k, v in r.scalars.items() if k != "changes"})
                    for r in reports],
        "versions": package_versions(),
        "solver": run.pop("solver"),
        "timings_s": jsonable(run.pop("timings_s", {})),
        **jsonable(run),
    }


def _stage_files(stage: Path, reports: list, scenarios: list,
                 run: dict[str, Any] | None = None) -> None:
    multi = len(reports) > 1
    for report in reports:
        prefix = f"{report.scalars.get('scenario', report.kind)}_" if multi else ""
        for name, df in report.tables.items():
            write_text_atomic(stage / f"{prefix}{name}.csv", csv_text(df))
        write_text_atomic(stage / f"{prefix}{report.kind}.json", json_text(report))
        chart = REPORT_CHARTS.get(report.kind)
        png = chart[0](report) if chart else None
        if png is not None:
            write_bytes_atomic(stage / f"{prefix}{chart[1]}", png)
    import time

    t0 = time.perf_counter()
    write_rich_outputs(stage, reports, scenarios)
    run = dict(run or {})
    run["timings_s"] = {**run.get("timings_s", {}), "write_outputs_s": time.perf_counter() - t0}
    write_text_atomic(stage / "manifest.json",
                      json.dumps(manifest(reports, scenarios, run), indent=2, ensure_ascii=False,
                                 default=str) + "\n")


def write_output_dir(out: Path, reports: list, scenarios: list, overwrite: bool = False,
                     run: dict[str, Any] | None = None) -> None:
    """Write every output of a run into ``out``, all or nothing.

    Files are staged in a hidden sibling folder, then the folder is moved into place, so an
    interrupted run leaves no half-written output and an existing folder is never mixed with
    old files (it is replaced only with ``overwrite``). ``run`` (solver, timings) goes into the
    manifest.
    """
    import shutil

    out = Path(out)
    check_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    normal_mode(stage, directory=True)
    try:
        _stage_files(stage, reports, scenarios, run)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(stage, out)
            shutil.rmtree(old)
        else:
            os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


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
# Rich outputs: workbook, charts, HTML report (called by _stage_files for --out)
# --------------------------------------------------------------------------------------------

WORKBOOK_TIMESTAMP = "2000-01-01T00:00:00"
"""Created/modified time written into every workbook, so the same inputs give the same bytes."""

CHART_DPI = 100
"""Resolution of the PNG charts. [dots per inch]"""

_SHEET_FORBIDDEN = set('[]:*?/\\')


def _cell(v: Any) -> Any:
    """A value as a workbook cell: numbers stay numbers, NaN empty, lists as JSON text."""
    v = jsonable(v)
    if isinstance(v, list | dict):
        text = json.dumps(v, ensure_ascii=False)
        return text if len(text) <= 32000 else text[:31997] + "..."
    return v


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


def assumptions_table(scenarios: list) -> pd.DataFrame:
    """Every input as a dotted key, its value per scenario, its source and who changed it.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, one column per scenario (named by the scenario), ``source`` (from the
        baseline's ``[sources]`` via ``Scenario.source_of``) and ``changed_by`` (``scenario:
        file [override]`` for each scenario that changed the key).
    """
    from capacity.scenarios import flatten

    flats = [flatten(sc.inputs.model_dump(mode="json")) for sc in scenarios]
    keys: list[str] = []
    seen: set[str] = set()
    for flat in flats:
        for k in flat:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    rows = []
    for key in keys:
        row: dict[str, Any] = {"key": key}
        for sc, flat in zip(scenarios, flats, strict=True):
            row[sc.name] = flat.get(key)
        row["source"] = scenarios[0].source_of(key) if scenarios else ""
        who = []
        for sc in scenarios:
            origins = [c.origin for c in sc.changes if c.key == key or c.key.startswith(key + ".")
                       or key.startswith(c.key + ".")]
            if origins:
                who.append(f"{sc.name}: {origins[-1]}")
        row["changed_by"] = "; ".join(who)
        rows.append(row)
    return pd.DataFrame(rows, columns=["key", *[sc.name for sc in scenarios], "source",
                                       "changed_by"])


def scalars_table(reports: list[Report]) -> pd.DataFrame:
    """Every scalar of every report, one row each: ``report``, ``scenario``, ``key``, ``value``,
    ``unit`` (what a valuation model links a single cell to, e.g. ``target_price_hkd``)."""
    rows = []
    for r in reports:
        for k, v in r.scalars.items():
            if k in ("changes",):
                continue
            rows.append({"report": r.kind, "scenario": r.scalars.get("scenario", ""),
                         "key": k, "value": _cell(v), "unit": unit_of(k)})
    return pd.DataFrame(rows, columns=["report", "scenario", "key", "value", "unit"])


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
            ws.append([_cell(v) for v in row])
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


# ---- charts --------------------------------------------------------------------------------


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


# ---- HTML ----------------------------------------------------------------------------------


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
    import html

    return html.escape(text, quote=True)


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
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{more}")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em;
color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1.05em}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0}
th,td{border:1px solid #ddd;padding:2px 6px}th{background:#f3f3f3;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}
.muted{color:#777;font-size:12px}details{margin:0.4em 0}summary{cursor:pointer}
"""


def html_report(reports: list[Report], scenarios: list, pngs: dict[str, bytes]) -> str:
    """A self-contained HTML report: inline CSS, charts as base64 PNG, no external loads."""
    import base64

    kinds = ", ".join(dict.fromkeys(r.kind for r in reports))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
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
    if pngs:
        parts.append("<h2>Charts</h2>")
        for name, data in pngs.items():
            b64 = base64.b64encode(data).decode("ascii")
            parts.append(f'<h3>{_esc(name.removesuffix(".png").replace("_", " "))}</h3>'
                         f'<img alt="{_esc(name)}" src="data:image/png;base64,{b64}">')
    for r in primary_first:
        label = f"{r.kind}: {r.scalars['scenario']}" if "scenario" in r.scalars else r.kind
        parts.append(f"<h2>{_esc(label)}</h2>")
        scal = [(k, v) for k, v in r.scalars.items() if k != "changes"]
        if scal:
            parts.append("<table><tbody>" + "".join(
                f"<tr><th>{_esc(header_with_unit(k))}</th><td>{_fmt(v)}</td></tr>"
                for k, v in scal) + "</tbody></table>")
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


def write_rich_outputs(stage: Path, reports: list[Report], scenarios: list) -> None:
    """The workbook, PNG charts and HTML report of an ``--out`` folder (into ``stage``)."""
    kinds = list(dict.fromkeys(r.kind for r in reports))
    book = "compare" if "compare" in kinds else "_".join(kinds) or "capacity"
    write_bytes_atomic(stage / f"{book}.xlsx", workbook_bytes(reports, scenarios))
    pngs = charts(reports)
    for name, data in pngs.items():
        write_bytes_atomic(stage / name, data)
    write_text_atomic(stage / "report.html", html_report(reports, scenarios, pngs))


REPORT_CHARTS: dict[str, tuple[Any, str]] = {
    "backtest": (backtest_chart, "backtest.png"),
    "stress": (stress_fan_chart, "stress_fan.png"),
}
"""Report kind -> (chart of that one report, file name) written beside its tables. Plan, value
and compare reports get their charts from :func:`charts` (inside :func:`write_rich_outputs`)."""
