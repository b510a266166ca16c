"""Result container shared by every command: named tables plus scalars."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
        from capacity.report import jsonable, records

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
