"""Result container shared by every command (named tables plus scalars) and its JSON/CSV text.

A :class:`Report` is a set of named tables (DataFrames with units in column names) plus named
scalars. JSON output is one object: the scalars, then each table as a list of records, with
stable snake_case keys. Floats are cleaned of solver noise (|x| < 1e-9 -> 0) and NaN becomes
``null``, so the same inputs give byte-identical output. CSV text follows the same rounding.
The serialisation lives here, below every room that prints or writes it (``cli``, ``report``),
so :meth:`Report.to_dict` needs nothing from above.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Report:
    """Named tables and scalars of one command's result.

    Attributes
    ----------
    kind
        Command that made it (``calibrate``, ``plan``, ...).
    scalars
        Top-level values (``status``, ``objective_rmb_m``, ...).
    tables
        Named DataFrames; column names carry units.
    primary
        The table printed by ``--format csv`` and first by ``--format table``.
    titles
        Optional display title per table.
    """

    kind: str
    scalars: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    primary: str = ""
    titles: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object as Python data."""
        out: dict[str, Any] = {k: jsonable(v) for k, v in self.scalars.items()}
        for name, df in self.tables.items():
            out[name] = records(df)
        return out


UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_tokens_tn", "tn tokens"), ("_rmb_m_per_unit", "RMB m per unit"), ("_rmb_m", "RMB m"),
    ("_per_hkd", "RMB/HKD"), ("_hkd", "HKD"), ("_usd", "USD"), ("_rmb", "RMB"),
    ("_eflops_quarters", "EFLOPS-quarters"), ("_eflops", "EFLOPS"), ("_pflops", "PFLOPS"),
    ("_tflops", "TFLOPS"), ("_units", "units"), ("_mw", "MW"), ("_kw", "kW"), ("_tn", "tn"),
    ("_share", "share"), ("_margin", "share"), ("_pct", "%"), ("_quarters", "quarters"),
    ("_gbs", "GB/s"), ("_flop", "FLOP"), ("_seconds", "s"), ("_days", "days"),
)
"""Column-name suffix -> unit shown in workbook and HTML headers (longest suffix first)."""


def unit_of(col: str) -> str:
    """Unit of a column from its name suffix (``peak_eflops`` -> ``EFLOPS``; ``""`` if none)."""
    for suffix, unit in UNIT_SUFFIXES:
        if col.endswith(suffix):
            return unit
    return ""


def header_with_unit(col: str) -> str:
    """``peak_eflops`` -> ``peak_eflops [EFLOPS]``: the header a workbook or report shows."""
    unit = unit_of(col)
    return f"{col} [{unit}]" if unit else col


def format_number(v: float) -> str:
    """A float for the eye: thousands separators for large values, 3 decimals for small ones.

    Used by the terminal tables and the HTML report (files keep full precision).
    """
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    if abs(v) >= 0.01:
        return f"{v:.3f}"
    return f"{v:.3g}"


def plain_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table with its named index levels as ordinary columns (for records, CSV, display)."""
    return df.reset_index() if any(n is not None for n in df.index.names) else df


# --------------------------------------------------------------------------------------------
# JSON and CSV text (byte-identical for the same inputs)
# --------------------------------------------------------------------------------------------

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
    frame = plain_frame(df)
    cols = [str(c) for c in frame.columns]
    return [{c: jsonable(v) for c, v in zip(cols, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)]


def json_text(report: Report) -> str:
    """The report as one JSON object (sorted by insertion, 2-space indent)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy ready for CSV: index as columns, Periods as text, floats rounded."""
    frame = plain_frame(df).copy()
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.PeriodDtype):
            frame[col] = s.astype(str)
        elif pd.api.types.is_float_dtype(s):
            frame[col] = s.map(lambda x: _round(float(x)) + 0.0 if pd.notna(x) else x)
        elif s.dtype == object:  # mixed columns (e.g. a KPI table with a text row)
            frame[col] = s.map(lambda x: _round(float(x)) + 0.0
                               if isinstance(x, float | np.floating) and math.isfinite(x) else x)
    return frame


def csv_text(df: pd.DataFrame) -> str:
    """One table as CSV text (empty cells for unknown values)."""
    buf = io.StringIO()
    csv_frame(df).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
