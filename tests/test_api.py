"""One Python API (issue 16, item 2): every top-level function returns a :class:`capacity.Result`
whose numeric columns have numeric dtypes and whose units are in names and ``attrs``."""

from __future__ import annotations

import contextlib
import io
import numbers
from pathlib import Path

import pandas as pd
import pytest

import capacity
from capacity.cli import main
from capacity.errors import InputError
from capacity.results import Report, unit_of

ROOT = Path(__file__).resolve().parent.parent

CALLS = {
    "calibrate": lambda: capacity.calibrate("history"),
    "controls": lambda: capacity.controls("history"),
    "timeline": lambda: capacity.controls("history", timeline=True),
    "demand": lambda: capacity.demand("history"),
    "plan": lambda: capacity.plan("history"),
    "value": lambda: capacity.value("history"),
    "compare": lambda: capacity.compare("history", "embargo-2024"),
    "stress": lambda: capacity.stress("history", samples=6),
    "backtest": lambda: capacity.backtest(str(ROOT / "docs" / "actuals-later.csv")),
}
"""One call of each top-level function (controls twice: status and timeline)."""

NOTE_VINTAGE = ("--as-of", "2023-08-31")
"""The 1H23 note's vintage (the default is the latest)."""


@pytest.fixture(scope="module")
def results():
    return {key: call() for key, call in CALLS.items()}


def test_every_function_is_top_level_and_listed():
    for name in ("calibrate", "controls", "demand", "plan", "value", "compare", "stress",
                 "backtest"):
        assert name in dir(capacity)
        assert callable(getattr(capacity, name))
    assert "Result" in dir(capacity)


@pytest.mark.parametrize("key", list(CALLS))
def test_returns_the_common_result(results, key):
    r = results[key]
    assert type(r) is capacity.Result
    assert isinstance(r, Report)
    assert r.tables and r.primary in r.tables
    assert r.to_json().startswith("{")
    assert "<table" in r._repr_html_()
    fields = {"kind", "scalars", "tables", "primary", "titles", "scenarios", "parts", "detail"}
    for name in set(r.tables) - fields:  # tables as attributes (compare: .tables["scenarios"])
        assert getattr(r, name) is r.tables[name]


def _is_number(v) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, bool)


@pytest.mark.parametrize("key", list(CALLS))
def test_numeric_columns_have_numeric_dtypes(results, key):
    """A column whose values are all numbers (NaN allowed) has a numeric dtype, and each
    numeric column with a unit suffix carries its unit in ``attrs``."""
    r = results[key]
    for rep in r.reports:
        for name, df in rep.tables.items():
            frame = df.reset_index() if any(n is not None for n in df.index.names) else df
            for col in frame.columns:
                s = frame[col]
                values = [v for v in s if not (v is None or (isinstance(v, float) and v != v))]
                if values and all(_is_number(v) for v in values):
                    assert pd.api.types.is_numeric_dtype(s), (key, rep.kind, name, col, s.dtype)
                if unit_of(str(col)) and pd.api.types.is_numeric_dtype(s):
                    assert df.attrs["unit"][str(col)].startswith(unit_of(str(col)))


def test_compare_kpis_are_numeric_and_text_is_apart(results):
    r = results["compare"]
    kpis = r.kpis
    for col in ("history", "embargo-2024", "embargo-2024_vs_history"):
        assert kpis[col].dtype == float
    assert "most_valuable_limits" not in set(kpis["kpi"])
    assert r.kpis_text.set_index("kpi").at["most_valuable_limits", "history"]
    # CompareResult attributes stay reachable
    assert r.names == ["history", "embargo-2024"]
    assert [rep.kind for rep in r.reports] == ["compare", "plan", "value", "plan", "value"]
    assert "target_price" in r.values["history"].scalars


def test_plan_result_keeps_the_plan(results):
    r = results["plan"]
    assert "peak_eflops" in r.quarters.columns
    assert r.detail.status == r.detail.extra["solution"].status == "optimal"


def test_to_json_is_the_cli_json(results):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*NOTE_VINTAGE, "calibrate", "--scenario", "history", "--format", "json"]) == 0
    assert results["calibrate"].to_json() == buf.getvalue()


def test_select_by_period_text(results):
    cal = results["calibrate"]
    rows = cal.select("mix", period="2023Q2")
    assert len(rows) > 0
    assert set(rows["period"]) == {pd.Period("2023Q2", freq="Q")}
    assert rows["central_units"].sum() == pytest.approx(30_000, abs=0.5)
    with pytest.raises(InputError, match="not in table 'mix'"):
        cal.select("mix", period="2030Q1")
    with pytest.raises(InputError, match="has no column"):
        cal.select("mix", quarter="2023Q2")
    # the documented plain-pandas way
    mix = cal.tables["mix"]
    assert len(mix[mix["period"] == pd.Period("2023Q2", freq="Q")]) == len(rows)


def test_to_excel_writes_the_workbook(results, tmp_path):
    import openpyxl

    path = results["value"].to_excel(tmp_path / "value.xlsx")
    assert Path(path).is_file()
    wb = openpyxl.load_workbook(path)
    assert len(wb.sheetnames) >= 2


def test_unknown_attribute_names_the_tables(results):
    with pytest.raises(AttributeError, match="tables: quarters"):
        _ = results["plan"].no_such_table


# --------------------------------------------------------------------------------------------
# One name and one unit per quantity (issue 16, item 7)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(CALLS))
def test_units_in_attrs_are_the_nomenclature_units(results, key):
    """``df.attrs["unit"]`` spells each column's unit as ``docs/nomenclature.md`` does (``RMB
    per m tokens``, not ``RMB/m tokens``; ``EFLOPS``, not ``EFLOPS (effective)``)."""
    from capacity.report.names import SEE_UNIT, describe

    wrong = []
    for rep in results[key].reports:
        for name, df in rep.tables.items():
            for col, unit in (df.attrs.get("unit") or {}).items():
                doc = describe(rep.kind, name, col)
                assert doc is not None, (rep.kind, name, col)
                if doc[0] not in (unit, SEE_UNIT):
                    wrong.append(f"{rep.kind}.{name}.{col}: {unit!r} vs {doc[0]!r}")
    assert wrong == []


def test_compare_and_stress_name_a_quantity_alike(results):
    """Every KPI row of ``compare`` and ``stress`` is a nomenclature KPI with its unit; the
    stress KPIs are compare KPIs (same name, same unit); plan and value scalars of the same
    names agree with compare's numbers."""
    from capacity.report.names import kpi_entry

    cmp, st = results["compare"], results["stress"]
    cmp_units = dict(zip(cmp.kpis["kpi"], cmp.kpis["unit"], strict=True))
    st_units = dict(zip(st.percentiles["kpi"], st.percentiles["unit"], strict=True))
    for kpi, unit in {**cmp_units, **st_units}.items():
        entry = kpi_entry(kpi)
        assert entry is not None and entry[0] == unit, (kpi, unit, entry)
    assert "@" not in "".join(st_units)
    assert {k: cmp_units[k] for k in st_units} == st_units
    plan, value = results["plan"], results["value"]
    row = cmp.kpis.set_index("kpi")["history"]
    for scalars in (plan.scalars, value.scalars):
        for k, v in scalars.items():
            if k in row.index and isinstance(v, float):
                assert row[k] == pytest.approx(v, rel=1e-9), k
    assert plan.scalars["total_capex_m"] == pytest.approx(row["total_capex_m"])


# --------------------------------------------------------------------------------------------
# Counted things are whole (issue 16, item 6: counts fitted to whole disclosures)
# --------------------------------------------------------------------------------------------


def _strict_json(text: str):
    import json

    def refuse(token):
        raise ValueError(f"{token} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_counts_fitted_to_whole_disclosures_are_whole(results):
    """The 27,000 and 30,000 GPUs disclosed come back whole (the fit gives 29,999.99997 before
    rounding within WHOLE_UNITS_TOL); undisclosed dates are null, never NaN; the calibrated mix
    the planner starts from keeps the solver's numbers."""
    from capacity.results import WHOLE_UNITS_TOL

    doc = _strict_json(results["calibrate"].to_json())
    dates = {r["period"]: r for r in doc["dates"]}
    assert dates["2023Q1"]["fitted_units"] == 27_000 and dates["2023Q2"]["fitted_units"] == 30_000
    assert dates["2023Q2"]["units_error_pct"] == 0.0
    assert dates["2022Q4"]["reported_units"] is None and dates["2022Q4"]["units_error_pct"] is None
    mix = results["calibrate"].mix
    raw = mix[mix["period"] == pd.Period("2023Q2", "Q")]["central_units"].sum()
    assert abs(raw - 30_000) <= WHOLE_UNITS_TOL  # the frame is the solver's
    # every GPU count emitted is whole where it is within the tolerance of a whole number
    near: list = []

    def walk(v, where, count=False):
        if isinstance(v, dict):
            is_count = v.get("unit") == "units" or v.get("limit_unit") == "unit"
            for k, x in v.items():
                walk(x, f"{where}.{k}", k.endswith("_units") or k == "units"
                     or (is_count and k in ("value", "actual", "forecast", "limit")))
        elif isinstance(v, list):
            for x in v:
                walk(x, where)
        elif count and isinstance(v, float) and v != round(v) \
                and abs(v - round(v)) <= WHOLE_UNITS_TOL:
            near.append((where, v))

    for key in ("calibrate", "plan", "backtest", "compare"):
        for r in results[key].reports:
            walk(_strict_json(r.to_json()), f"{key}:{r.kind}")
    assert near == [], near[:5]


def test_whole_counts_leaves_fractions_and_nan():
    import numpy as np

    from capacity.results import whole_counts

    got = whole_counts(pd.Series([29_999.99997, 359.427, float("nan"), 0.0004, 8_999.999991]))
    assert got.iloc[0] == 30_000 and got.iloc[1] == 359.427 and np.isnan(got.iloc[2])
    assert got.iloc[3] == 0.0 and got.iloc[4] == 9_000
