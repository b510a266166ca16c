"""Turn results into JSON, CSV and files. The only module that writes files.

A :class:`Report` is a set of named tables (DataFrames with units in column names) plus named
scalars. JSON output is one object: the scalars, then each table as a list of records, with
stable snake_case keys. Floats are cleaned of solver noise (|x| < 1e-9 -> 0) and NaN becomes
``null``, so the same inputs give byte-identical output.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.results import Report

FLOAT_DIGITS = 10
"""Significant digits kept in JSON/CSV floats (removes last-bit noise across platforms)."""


def _round(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    if abs(x) < 1e-9:
        return 0.0
    return float(f"{x:.{FLOAT_DIGITS}g}")


def jsonable(v: Any) -> Any:
    """A JSON-safe, deterministic version of ``v`` (Periods -> str, NaN -> None)."""
    if v is None:
        return None
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return None
        return _round(f) + 0.0
    if isinstance(v, pd.Period):
        return str(v)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame -> list of JSON-safe records (index included when named)."""
    frame = df.reset_index() if any(n is not None for n in df.index.names) else df
    cols = [str(c) for c in frame.columns]
    return [{c: jsonable(v) for c, v in zip(cols, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)]


def json_text(report: Report) -> str:
    """The report as one JSON object (sorted by insertion, 2-space indent)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy ready for CSV: index as columns, Periods as text, floats rounded."""
    frame = df.reset_index() if any(n is not None for n in df.index.names) else df.copy()
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.PeriodDtype):
            frame[col] = s.astype(str)
        elif pd.api.types.is_float_dtype(s):
            frame[col] = s.map(lambda x: _round(float(x)) + 0.0 if pd.notna(x) else x)
    return frame


def csv_text(df: pd.DataFrame) -> str:
    """One table as CSV text (empty cells for unknown values)."""
    buf = io.StringIO()
    csv_frame(df).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Atomic file writing
# --------------------------------------------------------------------------------------------


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, then move into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Text version of :func:`write_bytes_atomic` (UTF-8, ``\\n`` line ends)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def check_out_dir(out: Path, expected: Iterable[str] = (), overwrite: bool = False) -> None:
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


def manifest(reports: list, scenarios: list) -> dict[str, Any]:
    """What is needed to reproduce a run: resolved scenarios, input hashes, versions."""
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
    }


def _stage_files(stage: Path, reports: list, scenarios: list) -> None:
    multi = len(reports) > 1
    for report in reports:
        prefix = f"{report.scalars.get('scenario', report.kind)}_" if multi else ""
        for name, df in report.tables.items():
            write_text_atomic(stage / f"{prefix}{name}.csv", csv_text(df))
        write_text_atomic(stage / f"{prefix}{report.kind}.json", json_text(report))
        if report.kind == "backtest":
            backtest_chart(report, stage / f"{prefix}backtest.png")
    extra = globals().get("write_rich_outputs")
    if callable(extra):
        extra(stage, reports, scenarios)
    write_text_atomic(stage / "manifest.json",
                      json.dumps(manifest(reports, scenarios), indent=2, ensure_ascii=False,
                                 default=str) + "\n")


def write_output_dir(out: Path, reports: list, scenarios: list, overwrite: bool = False) -> None:
    """Write every output of a run into ``out``, all or nothing.

    Files are staged in a hidden sibling folder, then the folder is moved into place, so an
    interrupted run leaves no half-written output and an existing folder is never mixed with
    old files (it is replaced only with ``overwrite``).
    """
    import shutil

    out = Path(out)
    check_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        _stage_files(stage, reports, scenarios)
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


def backtest_chart(report: Report, path: Path) -> None:
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
        return
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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    write_bytes_atomic(path, buf.getvalue())


def _line2d(color: str, ls: str, marker: str, label: str, hollow: bool = False):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, ls=ls or "none", marker=marker or None, label=label,
                  mfc="none" if hollow else color)


# ----- end of backtest chart block ----------------------------------------------------------
