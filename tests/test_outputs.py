"""--out folders: CSVs, workbook, PNG charts, self-contained HTML report, manifest."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from capacity.report import (
    assumptions_table,
    charts,
    csv_text,
    header_with_unit,
    workbook_bytes,
)
from capacity.results import Report

SCENARIOS = ["history", "embargo-2024", "no-2023-update"]
PER_SCENARIO_TABLES = ["quarters", "purchases", "binding", "fleet", "purchase_value",  # plan
                       "economics", "revenue", "annual", "bridge", "sensitivity",  # value
                       "pnl", "pnl_by_quarter", "cash", "cohorts", "methods", "dcf_sensitivity",
                       "inputs", "equity_bridge", "backlog",
    "npv_bridge", "comps", "street", "street_bridge"]
COMPARE_TABLES = ["kpis", "kpis_text", "scenarios", "binding", "changes"]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> tuple[Path, dict]:
    """One `capacity compare history embargo-2024 no-2023-update --out DIR` run."""
    from capacity.cli import main

    out = tmp_path_factory.mktemp("cmp") / "out"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["compare", *SCENARIOS, "--out", str(out), "--format", "json"])
    assert code == 0
    return out, json.loads(buf.getvalue())


PER_SCENARIO_CSVS = ["quarters", "purchases", "plan_binding", "fleet",       # plan
                     "purchase_value", "economics", "revenue", "annual", "bridge",  # plan, value
                     "sensitivity", "pnl", "pnl_by_quarter", "cash", "cohorts", "methods",
                     "dcf_sensitivity", "inputs", "equity_bridge", "backlog",
    "npv_bridge", "comps", "street", "street_bridge"]
COMPARE_CSVS = ["kpis", "kpis_text", "scenarios", "compare_binding", "changes"]


def expected_csvs() -> list[str]:
    """One long table per kind across scenarios (``binding`` is in both plan and compare)."""
    return sorted(f"{t}.csv" for t in COMPARE_CSVS + PER_SCENARIO_CSVS)


def test_one_long_table_per_kind(out_dir):
    out, doc = out_dir
    assert sorted(p.name for p in out.glob("*.csv")) == expected_csvs()
    assert sorted(p.name for p in out.glob("*.parquet")) == sorted(
        n.replace(".csv", ".parquet") for n in expected_csvs())
    assert not list(out.glob("*_quarters.csv")) and not (out / "compare_compare.json").exists()
    assert sorted(p.name for p in out.glob("*.json")) == sorted(
        ["compare.json", "datapackage.json", "manifest.json",
         *(f"{k}_{s}.json" for k in ("plan", "value") for s in SCENARIOS)])
    quarters = pd.read_csv(out / "quarters.csv")
    assert list(quarters.columns[:2]) == ["scenario", "period"]
    assert list(dict.fromkeys(quarters["scenario"])) == SCENARIOS
    plan = json.loads((out / "plan_embargo-2024.json").read_text())
    mine = quarters[quarters["scenario"] == "embargo-2024"]
    assert list(mine["period"]) == [r["period"] for r in plan["quarters"]]
    assert mine["peak_eflops"].tolist() == pytest.approx([r["peak_eflops"] for r in
                                                          plan["quarters"]], rel=1e-9)
    # the Parquet copy holds the same table
    pq = pd.read_parquet(out / "quarters.parquet")
    assert list(pq.columns) == list(quarters.columns) and len(pq) == len(quarters)
    assert pq["capex_m"].tolist() == pytest.approx(quarters["capex_m"].tolist())
    # the compare KPIs: one row per KPI and scenario
    kpis = pd.read_csv(out / "kpis.csv", keep_default_na=False)
    assert list(kpis.columns) == ["kpi", "unit", "scenario", "value", "reference",
                                  "vs_reference"]
    row = kpis[(kpis["kpi"] == "target_price") & (kpis["scenario"] == "embargo-2024")]
    tp_json = next(r for r in doc["kpis"] if r["kpi"] == "target_price")
    assert float(row["value"].iloc[0]) == pytest.approx(tp_json["embargo-2024"], rel=1e-9)
    assert float(row["vs_reference"].iloc[0]) == pytest.approx(
        tp_json["embargo-2024_vs_history"], rel=1e-6)
    assert "most_valuable_limits" not in set(kpis["kpi"])  # text KPIs: kpis_text.csv
    text = pd.read_csv(out / "kpis_text.csv", keep_default_na=False)
    assert list(text.columns) == ["kpi", "scenario", "text"]
    limits = text[text["kpi"] == "most_valuable_limits"]
    assert sorted(limits["scenario"]) == sorted(SCENARIOS) and limits["text"].ne("").all()
    # nothing left over from staging
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_workbook_sheet_per_table(out_dir):
    from openpyxl import load_workbook

    out, _ = out_dir
    books = list(out.glob("*.xlsx"))
    assert [b.name for b in books] == ["compare.xlsx"]
    wb = load_workbook(books[0])
    extra = ("index", "scalars", "assumptions", "names",
             *(f"{s}_valuation" for s in SCENARIOS))
    table_sheets = [n for n in wb.sheetnames if n not in extra]
    assert sorted(table_sheets) == sorted(
        [f"compare_{t}" for t in COMPARE_TABLES]
        + [f"{s}_{t}" for s in SCENARIOS for t in PER_SCENARIO_TABLES])
    assert wb.sheetnames[0] == "index"
    assert set(extra) <= set(wb.sheetnames)
    # the index sheet lists every other sheet
    listed = [row[0] for row in wb["index"].iter_rows(min_row=2, values_only=True)]
    assert listed == wb.sheetnames[1:]


def test_workbook_units_in_headers_and_numbers_not_text(out_dir):
    from openpyxl import load_workbook

    out, doc = out_dir
    wb = load_workbook(out / "compare.xlsx")
    ws = wb["history_quarters"]
    header = [c.value for c in ws[1]]
    assert header[0] == "period"
    assert "peak_eflops [EFLOPS]" in header
    assert "capex_m [RMB m]" in header
    col = header.index("peak_eflops [EFLOPS]")
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "2024Q4")
    assert isinstance(row[col], int | float) and not isinstance(row[col], bool)
    kpi = next(r for r in doc["kpis"] if r["kpi"] == "peak_eflops_2024Q4")
    assert row[col] == pytest.approx(kpi["history"], rel=1e-9)
    # the TP a valuation model links to is a number on the scalars sheet
    scal = [r for r in wb["scalars"].iter_rows(min_row=2, values_only=True)
            if r[0] == "value" and r[1] == "embargo-2024" and r[2] == "target_price"]
    assert len(scal) == 1 and isinstance(scal[0][3], float) and scal[0][4] == "HKD"


def test_workbook_assumptions_sheet(out_dir, history):
    from openpyxl import load_workbook

    out, _ = out_dir
    ws = load_workbook(out / "compare.xlsx")["assumptions"]
    header = [c.value for c in ws[1]]
    assert header == ["key", *SCENARIOS, "source", "changed_by"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    pue = rows["planner.pue"]
    assert pue[1] == history.inputs.planner.pue and isinstance(pue[1], float)
    assert pue[4] == history.source_of("planner.pue") != ""
    rules = rows["controls.rules"]
    assert json.loads(rules[3]) == ["oct-2022"]          # no-2023-update
    assert "no-2023-update: no-2023-update.toml" in rules[5]
    # every input of the resolved scenario is there, as a dotted key
    from capacity.scenarios import flatten

    assert set(flatten(history.inputs.model_dump(mode="json"))) <= set(rows)


CHARTS = ["capex_by_quarter", "cash_runway", "compute_vs_demand", "compute_vs_disclosed",
          "fleet_by_chip", "genai_revenue", "gpu_mix_by_chip", "pnl_by_year", "target_price",
          "token_cost_by_chip"]


def test_charts_png_and_svg(out_dir):
    import matplotlib.image as mpimg

    out, _ = out_dir
    pngs = sorted(out.glob("*.png"))
    assert [p.stem for p in pngs] == CHARTS
    assert [p.stem for p in sorted(out.glob("*.svg"))] == CHARTS
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(p)
        h, w = img.shape[:2]
        assert 250 <= h <= 3000 and 400 <= w <= 4000, (p.name, img.shape)
        assert img.shape[2] in (3, 4)
        assert float(img[..., :3].std()) > 0.01, f"{p.name} is blank"


def test_html_is_self_contained(out_dir):
    out, _ = out_dir
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for pattern in (r'src\s*=\s*["\']?(https?:)?//', r'href\s*=\s*["\']?(https?:)?//',
                    r"url\(\s*['\"]?(https?:)?//", r"@import", r"<link\b", r"<script\b"):
        assert not re.search(pattern, html, re.I), pattern
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    pngs = sorted(out.glob("*.png"))
    assert len(images) == len(pngs)
    assert base64.b64decode(images[0]) in {p.read_bytes() for p in pngs}
    assert "peak_eflops_2024Q4" in html and "embargo-2024" in html


def test_manifest(out_dir):
    out, _ = out_dir
    m = json.loads((out / "manifest.json").read_text())
    assert [s["name"] for s in m["scenarios"]] == SCENARIOS
    assert m["solver"] == "highs"
    assert set(m["timings_s"]["scenarios"]) == set(SCENARIOS)
    assert m["timings_s"]["write_outputs_s"] > 0
    assert m["versions"]["xlsxwriter"] != "not installed"
    for s in m["scenarios"]:
        assert len(s["input_files_sha256"]["baseline.toml"]) == 64


# --------------------------------------------------------------------------------------------
# Small synthetic reports: determinism and the plan-only path, without solving
# --------------------------------------------------------------------------------------------


def _tiny_reports() -> list[Report]:
    periods = pd.period_range("2024Q1", "2024Q4", freq="Q", name="period")
    quarters = pd.DataFrame({
        "gpus_units": [100.0, 120.0, 150.0, 150.0], "peak_eflops": [1.0, 1.2, 1.5, 1.5],
        "effective_eflops": [0.8, 1.0, 1.2, 1.2], "demand_eflops": [0.7, 1.1, 1.4, 1.2],
        "shortfall_eflops": [0.0, 0.1, 0.2, 0.0], "capex_m": [10.0, 20.0, 30.0, 0.0],
    }, index=periods)
    fleet = pd.DataFrame({"period": list(periods) * 2, "chip": ["A800"] * 4 + ["H20"] * 4,
                          "units": [100.0, 100.0, 100.0, 100.0, 0.0, 20.0, 50.0, 50.0]})
    economics = pd.DataFrame({"period": list(periods) * 2, "chip": ["A800"] * 4 + ["H20"] * 4,
                              "token_cost_per_m_tokens": [3.0] * 4 + [2.5, 2.5, 2.8, 2.8],
                              "token_price_per_m_tokens": [6.0, 5.5, 5.0, 4.5] * 2})
    plan = Report("plan", scalars={"scenario": "tiny", "solver": "highs"},
                  tables={"quarters": quarters, "fleet": fleet, "economics": economics},
                  primary="quarters")
    annual = pd.DataFrame({"genai_revenue_m": [100.0], "genai_share": [0.25],
                           "revenue_m": [400.0]}, index=pd.Index([2024], name="year"))
    pnl = pd.DataFrame({"revenue_m": [400.0], "gross_profit_m": [150.0],
                        "ebitda_m": [-50.0], "net_loss_m": [120.0]},
                       index=pd.Index([2024], name="year"))
    cash = pd.DataFrame({"net_cash_m": [900.0, 800.0, 650.0, 500.0]}, index=periods)
    value = Report("value", scalars={"scenario": "tiny", "target_price": 1.5,
                                     "note_target_price": 1.75, "runway_quarters": 4,
                                     "cash_floor_m": 200.0},
                   tables={"annual": annual, "pnl": pnl, "cash": cash}, primary="annual")
    return [plan, value]


def test_charts_and_workbook_are_byte_identical():
    reports = _tiny_reports()
    first, second = charts(reports), charts(reports)
    assert sorted(first) == sorted(f"{c}.{ext}" for c in CHARTS for ext in ("png", "svg"))
    assert first == second
    assert workbook_bytes(reports, []) == workbook_bytes(reports, [])


def test_workbook_fixed_timestamps():
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(workbook_bytes(_tiny_reports(), [])))
    assert wb.properties.created.isoformat().startswith("2000-01-01")
    assert wb.properties.modified.isoformat().startswith("2000-01-01")
    assert wb.sheetnames == ["index", "tiny_quarters", "tiny_fleet", "tiny_economics",
                             "tiny_annual",
                             "tiny_pnl", "tiny_cash", "scalars", "names"]


def test_plan_out_writes_plan_charts_only(run_cli, tmp_path):
    out = tmp_path / "plan"
    code, _, err = run_cli("plan", "--scenario", "history", "--out", str(out), "--format", "json")
    assert code == 0, err
    assert sorted(p.name for p in out.glob("*.png")) == ["capex_by_quarter.png",
                                                         "compute_vs_demand.png",
                                                         "compute_vs_disclosed.png",
                                                         "fleet_by_chip.png",
                                                         "gpu_mix_by_chip.png",
                                                         "token_cost_by_chip.png"]
    assert (out / "quarters.csv").is_file() and (out / "plan.json").is_file()
    assert (out / "plan.xlsx").is_file() and (out / "report.html").is_file()
    m = json.loads((out / "manifest.json").read_text())
    assert m["solver"] == "highs" and "solve_s" in m["timings_s"]


def test_sheet_names_are_excel_safe():
    from capacity.report import _sheet_name

    used: set[str] = set()
    long = "a-very-long-scenario-name-indeed_sensitivity"
    a = _sheet_name(long, used)
    b = _sheet_name(long, used)
    assert len(a) == 31 and len(b) <= 31 and a != b
    assert _sheet_name("odd[name]:*?/\\", used) == "odd_name______"


def test_header_units():
    assert header_with_unit("peak_eflops") == "peak_eflops [EFLOPS]"
    assert header_with_unit("capex_m") == "capex_m [RMB m]"
    assert header_with_unit("price_m_per_unit") == "price_m_per_unit [RMB m per unit]"
    assert header_with_unit("target_price") == "target_price [HKD]"
    assert header_with_unit("chip") == "chip"


def test_assumptions_table_sources(history):
    from capacity.scenarios import load_scenario

    emb = load_scenario("embargo-2024")
    t = assumptions_table([history, emb]).set_index("key")
    assert list(t.columns) == ["history", "embargo-2024", "source", "changed_by"]
    # history sets the enacted timeline on the 1H23 vintage; embargo-2024 replaces it again
    assert t.at["controls.rules", "changed_by"] == \
        "history: history.toml; embargo-2024: embargo-2024.toml"
    assert t.at["planner.pue", "changed_by"] == ""
    assert "Federal Register" in t.at["controls.rules", "source"]


def test_mixed_kpi_column_csv_is_rounded():
    df = pd.DataFrame({"kpi": ["x", "y"], "a": pd.Series([1 / 3, "text"], dtype=object)})
    assert csv_text(df).splitlines()[1] == "x,0.3333333333"


def test_chart_footer_is_whole_and_inside_the_figure():
    """A footer of many lines is drawn whole (every word, in order) and inside the figure, and
    the figure grows by the lines it needs, so the plot keeps its height."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401 (Agg canvas)

    from capacity.report.figure import finish, new_figure

    footer = "Source: capacity; " + "; ".join(f"document {i} (2025-0{i % 9 + 1}-01)"
                                              for i in range(60)) + "; inputs as of 2026-01-31."
    fig = new_figure(8.0, 4.0)
    fig.subplots().plot([0, 1], [0, 1])
    finish(fig, "title", footer)
    text = fig.texts[-1]
    assert text.get_text().split() == footer.split()
    assert text.get_text().count("\n") >= 4  # wrapped, not cut at two lines
    assert fig.get_figheight() > 4.0
    fig.canvas.draw()
    box = text.get_window_extent()
    width, height = fig.canvas.get_width_height()
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height


def test_html_fits_a_phone(out_dir):
    out, _ = out_dir
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # every table scrolls in its own box, so no table widens the page
    assert html.count("<table>") == html.count('<div class="scroll"><table>') > 0
    assert "max-width:1200px" in html


def test_write_reports_each_file_and_times_each_stage(tmp_path):
    """``write_output_dir`` names every file before it makes it, counts up to the number of
    files it writes, and returns the seconds of each stage (also in the manifest)."""
    from capacity.report.write import write_output_dir

    table = pd.DataFrame({"period": ["2024Q1", "2024Q2"], "capex_m": [1.0, 2.0]})
    report = Report("demo", scalars={"x_m": 1.0}, tables={"t": table})
    calls: list[tuple[int, int, str]] = []
    out = tmp_path / "out"
    stages = write_output_dir(out, [report], [], progress=lambda d, n, t: calls.append((d, n, t)))
    files = sorted(p.name for p in out.iterdir())
    # t.csv, t.parquet, demo.json, datapackage.json, demo.xlsx, report.html, manifest.json
    assert len(files) == 7, files
    assert calls[-1] == (7, 7, "done")
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)  # only ever forward
    texts = [t for _, _, t in calls]
    assert "t.csv and .parquet" in texts and "demo.xlsx" in texts and "manifest.json" in texts
    assert set(stages) == {"data_files_s", "report_charts_s", "workbook_s", "charts_s",
                           "report_html_s", "manifest_s"}
    assert all(s >= 0 for s in stages.values())
    m = json.loads((out / "manifest.json").read_text())
    assert set(m["timings_s"]["write_stages"]) == set(stages) - {"manifest_s"}


def test_verbose_stage_table():
    from capacity.report.layout import main_job_stages, stage_times

    per = {"a": {"plan_s": 3.0, "value_s": 1.0}, "b": {"plan_s": 3.0, "value_s": 1.0}}
    stages = main_job_stages(1.0, 4.0, per, {"workbook_s": 2.0, "charts_s": 3.0})
    assert stages == {"load scenarios": 1.0, "plan 2 scenarios": 3.0, "value 2 scenarios": 1.0,
                      "write workbook": 2.0, "write charts": 3.0}
    text = stage_times(stages, 10.0)
    lines = text.splitlines()
    assert lines[0].split() == ["stage", "seconds", "share"]
    assert lines[2].split() == ["plan", "2", "scenarios", "3.00", "30%"]
    assert lines[-1].split() == ["total", "10.00", "100%"]
