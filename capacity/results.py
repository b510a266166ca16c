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
import re
from collections.abc import Callable
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
        Top-level values (``status``, ``objective_m``, ...).
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

    def __post_init__(self) -> None:
        for df in self.tables.values():
            annotate_units(df)
        self.titles = {k: money_text(v) for k, v in self.titles.items()}  # subject's currency

    def to_dict(self) -> dict[str, Any]:
        """The JSON object as Python data."""
        out: dict[str, Any] = {k: jsonable(v) for k, v in self.scalars.items()}
        for name, df in self.tables.items():
            out[name] = records(df)
        return out

    def to_json(self) -> str:
        """The report as JSON text: the same bytes as ``--format json``."""
        return json_text(self)

    def __getattr__(self, name: str) -> pd.DataFrame:
        """A table by attribute: ``report.quarters`` is ``report.tables["quarters"]``."""
        tables = self.__dict__.get("tables")
        if tables is not None and name in tables:
            return tables[name]
        raise AttributeError(f"{type(self).__name__} {self.__dict__.get('kind', '')!r} has no "
                             f"attribute or table {name!r} (tables: "
                             f"{', '.join(tables or {}) or 'none'})")

    def select(self, table: str, **where: Any) -> pd.DataFrame:
        """Rows of ``table`` where each named column equals the value given.

        Text is read as the column's type, so ``select("mix", period="2023Q2")`` matches the
        Period ``2023Q2`` (a ``query("period == '2023Q2'")`` compares a Period with a string and
        matches nothing). A value the column does not hold is an error, never an empty frame.

        Raises
        ------
        InputError
            Unknown table or column, or a value not in the column.
        """
        from capacity.errors import InputError

        if table not in self.tables:
            raise InputError("table", f"unknown table {table!r} (tables: "
                             f"{', '.join(self.tables)})")
        frame = plain_frame(self.tables[table])
        mask = pd.Series(True, index=frame.index)
        for col, want in where.items():
            if col not in frame.columns:
                raise InputError(col, f"table {table!r} has no column {col!r} (columns: "
                                 f"{', '.join(map(str, frame.columns))})")
            s = frame[col]
            value = want
            if isinstance(s.dtype, pd.PeriodDtype) and isinstance(want, str):
                try:
                    value = pd.Period(want, freq=s.dtype.freq)
                except ValueError:
                    raise InputError(col, f"{want!r} is not a period like "
                                     f"{s.iloc[0] if len(s) else '2023Q2'}") from None
            hit = s == value
            if not hit.any():
                shown = sorted({str(v) for v in s.dropna()})
                listed = ", ".join(shown[:12]) + (", ..." if len(shown) > 12 else "")
                raise InputError(col, f"{want!r} not in table {table!r} (holds: {listed})")
            mask &= hit
        return self.tables[table][mask.to_numpy()]

    def _repr_html_(self) -> str:
        """Notebook display: the scalars, then each table with units in its headers."""
        import html

        parts = [f"<h4>capacity {html.escape(self.kind)}</h4>"]
        shown = {k: v for k, v in self.scalars.items() if not isinstance(v, list | dict)}
        if shown:
            rows = "".join(f"<tr><th style='text-align:left'>{html.escape(header_with_unit(k))}"
                           f"</th><td>{html.escape(display_scalar(k, v))}</td></tr>"
                           for k, v in shown.items())
            parts.append(f"<table>{rows}</table>")
        for name, df in self.tables.items():
            title = self.titles.get(name, name)
            frame = plain_frame(df)
            head = frame.head(MAX_HTML_ROWS).rename(columns=lambda c: header_with_unit(str(c)))
            more = (f"<p>{len(frame) - MAX_HTML_ROWS} more rows: "
                    f"<code>.tables[{name!r}]</code></p>" if len(frame) > MAX_HTML_ROWS else "")
            parts.append(f"<h5>{html.escape(title)} <code>{html.escape(name)}</code></h5>"
                         f"{head.to_html(index=False, na_rep='-')}{more}")
        return "\n".join(parts)


MAX_HTML_ROWS = 20
"""Rows of each table shown by a report's notebook display (the frames hold all)."""


UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_rmb_m_per_eflops_quarter", "RMB m per EFLOPS-quarter"),
    ("_rmb_m_per_eflops", "RMB m per EFLOPS-quarter"),
    ("_rmb_m_per_unit_quarter", "RMB m per unit-quarter"),
    ("_rmb_per_m_tokens", "RMB per m tokens"), ("_usd_per_gpu_hour", "USD per GPU-hour"),
    ("_m_per_eflops_quarter", "RMB m per EFLOPS-quarter"),
    ("_m_per_eflops", "RMB m per EFLOPS-quarter"),
    ("_m_per_unit_quarter", "RMB m per unit-quarter"),
    ("_per_m_tokens", "RMB per m tokens"),
    ("_per_mw_tn_tokens", "tn tokens per MW-quarter"), ("_tn_tokens", "tn tokens"),
    ("_tokens_tn", "tn tokens"), ("_rmb_m_per_unit", "RMB m per unit"), ("_rmb_m", "RMB m"),
    ("_m_per_unit", "RMB m per unit"), ("_m", "RMB m"),
    ("_per_hkd", "RMB/HKD"), ("fx_listing", "RMB/HKD"), ("fx_usd", "RMB/USD"),
    ("_hkd", "HKD"), ("_usd", "USD"), ("_rmb", "RMB"),
    ("_eflops_quarters", "EFLOPS-quarters"), ("_eflops", "EFLOPS"), ("_pflops", "PFLOPS"),
    ("_tflops", "TFLOPS"), ("_units", "units"), ("_mw", "MW"), ("_kw", "kW"), ("_tn", "tn"),
    ("_share", "share"), ("_margin", "share"), ("_pct", "%"), ("_quarters", "quarters"),
    ("_gbs", "GB/s"), ("_flop", "FLOP"), ("_seconds", "s"), ("_days", "days"),
    ("_halves", "half-years"),
)
"""Column-name suffix -> unit shown in workbook and HTML headers (longest suffix first). Units
are spelt as ``docs/nomenclature.md`` spells them (``RMB m per unit``: "per", not "/"). ``RMB``
and ``HKD`` in a unit are the subject's reporting and listing currency (:func:`money_text`
writes the subject's own); a money key carries no currency (``revenue_m``, issue #27), so
``_m`` is millions of the reporting currency unless the nomenclature gives the key another
unit (``shares_m``: m shares; ``market_value_m``: HKD m) (:func:`documented_unit`)."""


KEY_UNITS: dict[str, str] = {
    "shares_m": "m shares", "market_value_m": "HKD m", "equity_raised_m": "HKD m",
    "proceeds_m": "HKD m", "placement_gross_proceeds_m": "HKD m",
    "eflops_per_revenue_m": "EFLOPS per RMB m", "model_eflops_per_revenue_m": "EFLOPS per RMB m",
}
"""Keys whose suffix does not tell their unit: ``_m`` that is not millions of the reporting
currency (shares, or money in the listing currency). ``docs/nomenclature.md`` gives the same
units (tests/test_nomenclature.py checks it)."""

_PER_SHARE = re.compile(r"(?:^|_)(?:target_price|share_price|placement_price)(?:_[a-z0-9_]*)?$")
"""A per-share amount in the listing currency (``target_price_dcf_at_p5``, ``share_price``)."""


def documented_unit(col: str) -> str | None:
    """The unit of a key whose suffix cannot tell it: :data:`KEY_UNITS`, else ``HKD`` (the
    listing currency per share) for a target, share or placement price (``target_price``,
    ``note_target_price_old``; not its ``_date``); None otherwise."""
    if col in KEY_UNITS:
        return KEY_UNITS[col]
    if _PER_SHARE.search(col) and not col.endswith(("_date", "_source", "_reproduced")):
        return "HKD"
    return None


_money_labels: Callable[[str], str] | None = None
"""The current subject's currency labeller (:func:`capacity.subjects.money_label`), set by
:func:`set_money_labels` when the subjects module loads; None keeps the keys' own words."""


def set_money_labels(labeller: Callable[[str], str] | None) -> None:
    """Install the function that writes a unit in the subject's currencies (``RMB m`` ->
    ``USD m``); headers and labels call it through :func:`money_text`."""
    global _money_labels
    _money_labels = labeller


def money_text(text: str) -> str:
    """A unit or header in the current subject's currencies (unchanged without a labeller)."""
    return _money_labels(text) if _money_labels is not None and text else text


def unit_of(col: str) -> str:
    """Unit of a column from its name suffix (``peak_eflops`` -> ``EFLOPS``), or for a key whose
    suffix cannot tell (none, or the bare ``_m``) from the nomenclature
    (:func:`documented_unit`); ``""`` if none."""
    for suffix, unit in UNIT_SUFFIXES:
        if col.endswith(suffix):
            if suffix == "_m":
                return documented_unit(col) or unit
            return unit
    return documented_unit(col) or ""


UNIT_ABBREVIATIONS: dict[str, str] = {
    "tn tokens": "tn tok", "RMB m per unit": "RMBm/unit", "RMB m": "RMBm", "RMB/HKD": "RMB/HKD",
    "HKD": "HKD", "HKD m": "HKDm", "USD": "USD", "RMB": "RMB", "EFLOPS-quarters": "EFLOPS-q",
    "EFLOPS": "EFLOPS",
    "PFLOPS": "PFLOPS", "TFLOPS": "TFLOPS", "units": "#", "MW": "MW", "kW": "kW", "tn": "tn",
    "share": "share", "%": "%", "quarters": "q", "GB/s": "GB/s", "FLOP": "FLOP", "s": "s",
    "days": "d", "half-years": "halves", "RMB m per EFLOPS-quarter": "RMBm/EF-q",
    "RMB m per unit-quarter": "RMBm/unit-q", "RMB per m tokens": "RMB/Mtok",
    "USD per GPU-hour": "USD/GPUh", "tn tokens per MW-quarter": "tn tok/MW-q",
}
"""Unit -> the abbreviation terminal headers show (``docs/user-guide.md`` lists them)."""

_NAME_SUFFIXES = ("_share", "_margin")
"""Suffixes that are part of a quantity's name, kept in a short header (``genai_share``)."""


def unit_suffix(col: str) -> str:
    """The unit suffix of a column name (``_eflops`` of ``peak_eflops``; ``""`` if none)."""
    for suffix, _unit in UNIT_SUFFIXES:
        if col.endswith(suffix):
            return suffix
    return ""


def short_header(col: str) -> str:
    """The terminal header of a column: the name with its unit suffix replaced by the unit's
    abbreviation in brackets (``peak_eflops`` -> ``peak [EFLOPS]``, ``gpus_units`` ->
    ``gpus [#]``, ``price_m_per_unit`` -> ``price [RMBm/unit]``); ``genai_share`` and
    ``gross_margin`` keep their names (``genai_share [share]``). A column without a unit suffix
    is shown by its name."""
    suffix = unit_suffix(col)
    if not suffix and unit_of(col):  # a money key without a suffix (``target_price``)
        return f"{col} [{money_text(UNIT_ABBREVIATIONS.get(unit_of(col), unit_of(col)))}]"
    if not suffix or suffix == col or (suffix == "_m" and unit_of(col) == "m shares"):
        return col
    abbr = UNIT_ABBREVIATIONS.get(unit_of(col), unit_of(col))
    stem = col if suffix in _NAME_SUFFIXES else col[: -len(suffix)]
    return f"{stem} [{money_text(abbr)}]"


def annotate_units(df: pd.DataFrame) -> pd.DataFrame:
    """Record each numeric column's unit in ``df.attrs["unit"]`` (``{"peak_eflops": "EFLOPS"}``;
    columns without a unit suffix are left out, units the table's maker set are kept; tables
    with a ``unit`` column carry units per row)."""
    cols = [*(n for n in df.index.names if n is not None), *df.columns]
    frame = plain_frame(df)
    found = {str(c): unit_of(str(c)) for c in cols
             if unit_of(str(c)) and pd.api.types.is_numeric_dtype(frame[c])}
    given = df.attrs.get("unit")
    if isinstance(given, dict):  # pandas carries attrs through pivots: keep the table's own
        given = {k: u for k, u in given.items() if k in {str(c) for c in cols}}
    df.attrs["unit"] = {**found, **given} if isinstance(given, dict) else \
        (found if given is None else given)  # a unit set by the table's maker wins
    return df


UNIT_DECIMALS: dict[str, int] = {
    "units": 0, "count": 0, "quarters": 0, "days": 1, "share": 3, "%": 1, "HKD": 3,
    "HKD/share": 3, "RMB/HKD": 3,
}
"""Decimals a terminal shows for a unit whatever the size of the figures (counts whole, shares
and per-share prices to 3 places); other units take theirs from the largest figure
(:func:`decimals_for`)."""


def decimals_for(unit: str, values) -> int:
    """Decimals for a column (or a row of one unit) of figures: fixed per unit
    (:data:`UNIT_DECIMALS`), else from the largest magnitude: >= 1000 -> 0, >= 10 -> 1,
    >= 1 -> 2, >= 0.01 -> 3, smaller -> 3 significant digits of the largest."""
    if unit in UNIT_DECIMALS:
        return UNIT_DECIMALS[unit]
    finite = [abs(float(v)) for v in values
              if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
              and math.isfinite(float(v))]
    m = max(finite, default=0.0)
    if m >= 1000:
        return 0
    if m >= 10:
        return 1
    if m >= 1:
        return 2
    if m >= 0.01 or m == 0:
        return 3
    return min(9, 2 - math.floor(math.log10(m)))


def format_fixed(v: float, decimals: int) -> str:
    """``v`` with thousands separators and exactly ``decimals`` places (no ``-0``)."""
    text = f"{float(v):,.{decimals}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]
    return text


def display_scalar(key: str, v: Any) -> str:
    """A scalar for the eye, formatted by its unit (:func:`decimals_for`)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return str(int(v))  # counts, years, seeds: as written
    if isinstance(v, float | np.floating):
        return format_fixed(v, decimals_for(unit_of(key), [v]))
    return str(v)


def header_with_unit(col: str) -> str:
    """``peak_eflops`` -> ``peak_eflops [EFLOPS]``: the header a workbook or report shows."""
    unit = money_text(unit_of(col))
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


WHOLE_UNITS_TOL = 1e-3
"""A count of GPUs (unit ``units``) within this of a whole number is emitted as that number:
the solvers work in floats, so the 30,000 GPUs disclosed come back as 29,999.99997. Outputs
only (JSON, CSV, Parquet, workbook); the LPs keep their numbers. [units]"""


def whole_counts(values):
    """``values`` (a Series or array of counts) with those within :data:`WHOLE_UNITS_TOL` of a
    whole number set to it; others (359.427 units of a fractional purchase) and NaN unchanged."""
    arr = np.asarray(values, dtype=float)
    near = np.rint(arr)
    out = np.where(np.abs(arr - near) <= WHOLE_UNITS_TOL, near, arr) + 0.0
    if isinstance(values, pd.Series):
        return pd.Series(out, index=values.index, name=values.name)
    return out


def _is_count(col: str, units: dict) -> bool:
    return units.get(col, unit_of(col)) == "units" or col == "units"


def whole_count_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table (index as columns) with its GPU counts whole where they are within
    :data:`WHOLE_UNITS_TOL` of a whole number (:func:`whole_counts`): columns in ``units``
    (``gpus_units``, ``units``), rows whose ``unit`` column says ``units`` (compare KPIs,
    backtest rows) and a ``limit`` whose ``limit_unit`` is a unit of GPUs. A copy when it
    changes anything."""
    frame = plain_frame(df)
    units = df.attrs.get("unit") if isinstance(df.attrs.get("unit"), dict) else {}
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    out = None

    def put(col, mask=None):
        nonlocal out
        s = frame[col] if out is None else out[col]
        new = whole_counts(s) if mask is None else s.where(~mask, whole_counts(s))
        if not new.equals(s):
            out = frame.copy() if out is None else out
            out[col] = new

    for col in floats:
        if _is_count(str(col), units):
            put(col)
    for key, targets in (("unit", [c for c in floats if not unit_of(str(c))
                                   and str(c) not in units]),
                         ("limit_unit", ["limit"] if "limit" in floats else [])):
        if key in frame.columns and targets:
            mask = frame[key].isin(["units", "unit"])
            if mask.any():
                for col in targets:
                    put(col, mask.to_numpy())
    return frame if out is None else out


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame -> list of JSON-safe records (index included when named; GPU counts whole
    where within :data:`WHOLE_UNITS_TOL`)."""
    frame = whole_count_frame(df)
    cols = [str(c) for c in frame.columns]
    return [{c: jsonable(v) for c, v in zip(cols, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)]


def json_text(report: Report) -> str:
    """The report as one JSON object (sorted by insertion, 2-space indent)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy ready for CSV: index as columns, Periods as text, floats rounded, GPU counts whole
    where within :data:`WHOLE_UNITS_TOL` (:func:`whole_count_frame`)."""
    frame = whole_count_frame(df).copy()
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
