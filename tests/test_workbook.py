"""The workbook of ``compare --out``: Tables, number formats, names, live valuation formulas.

The last tests recalculate the workbook with LibreOffice headless and compare the target price
it computes with the tool's (``capacity value``), before and after changing the multiple in the
file. LibreOffice trusts the cached results of a file that says Excel wrote it (xlsxwriter's
does) unless told otherwise, so the conversion runs with a throw-away user profile whose
``OOXMLRecalcMode`` is 0 (always recalculate); ``test_libreoffice_recipe_recalculates`` proves
it by poisoning a cached result first.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import cli_json

openpyxl = pytest.importorskip("openpyxl")

from capacity.finance import value_from_sales  # noqa: E402
from capacity.report.sheets import SHEET_NAME_MAX, UNIT_FORMATS  # noqa: E402
from capacity.results import UNIT_SUFFIXES  # noqa: E402

SCENARIOS = ["history", "embargo-2024"]
TP_TOLERANCE_HKD = 0.005
"""How close LibreOffice's recalculated target price must be to the tool's. [HKD]"""
NEW_MULTIPLE = 9.0
"""EV/Sales multiple typed into the workbook before recalculating. [x]"""
LONG_NAMES = ["a-very-long-scenario-name-for-the-workbook-one",
              "a-very-long-scenario-name-for-the-workbook-two"]
"""Two 46-character scenario names that agree on their first 42 characters."""


@pytest.fixture(scope="module")
def compare_out(tmp_path_factory) -> tuple[Path, dict]:
    """``capacity compare history embargo-2024 --out DIR``: the folder and the JSON output."""
    out = tmp_path_factory.mktemp("wb") / "out"
    doc = cli_json("compare", *SCENARIOS, "--out", str(out))
    return out, doc


@pytest.fixture(scope="module")
def book(compare_out):
    return openpyxl.load_workbook(compare_out[0] / "compare.xlsx")


@pytest.fixture(scope="module")
def cached(compare_out):
    """The same workbook as the cached results a non-recalculating reader sees."""
    return openpyxl.load_workbook(compare_out[0] / "compare.xlsx", data_only=True)


def _cell(wb, name: str):
    """The cell a workbook-wide defined name points at."""
    dests = list(wb.defined_names[name].destinations)
    assert len(dests) == 1, (name, dests)
    sheet, ref = dests[0]
    return wb[sheet][ref.replace("$", "")]


def _kpi(doc: dict, kpi: str, scenario: str) -> float:
    return next(r for r in doc["kpis"] if r["kpi"] == kpi)[scenario]


# --------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------


def test_every_sheet_holds_one_excel_table_with_unit_headers(book):
    assert book.sheetnames[0] == "index"
    for ws in book.worksheets:
        assert len(ws.tables) == 1, ws.title
        table = next(iter(ws.tables.values()))
        first = table.ref.split(":")[0]
        assert first == "A1", (ws.title, table.ref)
        header = [c.value for c in ws[1]]
        assert [col.name for col in table.tableColumns] == header, ws.title
        assert ws.freeze_panes in ("A2", "B2"), ws.title
        # print set-up: one page wide, landscape, header row on every page
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (1, None) and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1", ws.title
    quarters = book["history_quarters"]
    assert "peak_eflops [EFLOPS]" in [c.value for c in quarters[1]]


def test_index_links_every_sheet_with_a_description(book):
    rows = list(book["index"].iter_rows(min_row=2))
    assert [r[0].value for r in rows] == book.sheetnames[1:]
    for r in rows:
        assert r[0].hyperlink is not None and r[0].hyperlink.location.endswith("!A1")
        assert r[2].value  # one-line description
    desc = {r[0].value: r[2].value for r in rows}
    assert desc["history_quarters"] == "Fleet, compute, demand and cost per quarter"


def test_number_formats_follow_units(book):
    ws = book["history_quarters"]
    header = [c.value for c in ws[1]]
    fmt = {h: ws.cell(row=2, column=j + 1).number_format for j, h in enumerate(header)}
    assert fmt["capex_m [RMB m]"] == "#,##0.0"
    assert fmt["peak_eflops [EFLOPS]"] == "0.00"
    assert fmt["gpus_units [units]"] == "#,##0"
    rev = book["history_revenue"]
    header = [c.value for c in rev[1]]
    assert rev.cell(row=2, column=header.index("genai_share [share]") + 1).number_format == \
        "0.0%"
    bridge = book["history_bridge"]
    header = [c.value for c in bridge[1]]
    assert bridge.cell(row=2, column=header.index("target_price [HKD]") + 1
                       ).number_format == "0.00"
    # KPI rows take the format of their own unit
    kpis = book["compare_kpis"]
    by_kpi = {r[0].value: r for r in kpis.iter_rows(min_row=2)}
    assert by_kpi["target_price"][2].number_format == "0.00"
    assert by_kpi["genai_share_2025"][2].number_format == "0.0%"
    assert by_kpi["total_capex_m"][2].number_format == "#,##0.0"


def test_every_unit_has_a_number_format():
    assert {unit for _, unit in UNIT_SUFFIXES} <= set(UNIT_FORMATS)


def test_same_inputs_same_bytes(compare_out, tmp_path):
    out, _ = compare_out
    cli_json("compare", *SCENARIOS, "--out", str(tmp_path / "again"))
    assert (tmp_path / "again" / "compare.xlsx").read_bytes() == \
        (out / "compare.xlsx").read_bytes()


def test_long_scenario_names_give_readable_unique_sheets(tmp_path):
    paths = []
    for i, name in enumerate(LONG_NAMES):
        p = tmp_path / f"{name}.toml"
        p.write_text(f'description = "long name {i}"\nextends = "history"\n', encoding="utf-8")
        paths.append(str(p))
    assert all(len(n) >= 34 for n in LONG_NAMES)
    out = tmp_path / "long"
    cli_json("compare", "history", *paths, "--out", str(out))
    wb = openpyxl.load_workbook(out / "compare.xlsx")
    names = wb.sheetnames
    assert all(len(n) <= SHEET_NAME_MAX for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert not [n for n in names if re.search(r"~\d+$", n)]
    # each scenario's sheets share one prefix and keep their whole table name
    rows = list(wb["index"].iter_rows(min_row=2, values_only=True))
    tables = ["quarters", "purchases", "binding", "fleet", "purchase_value", "economics",
              "valuation", "revenue", "annual", "bridge", "sensitivity", "pnl", "pnl_by_quarter",
              "cash", "cohorts", "methods", "dcf_sensitivity", "inputs", "equity_bridge", "backlog",
    "npv_bridge", "comps", "street", "street_bridge"]
    prefixes = []
    for scen in LONG_NAMES:
        sheets = sorted(r[0] for r in rows if r[1].split(" ", 1)[-1] == scen)
        assert len(sheets) == len(tables)
        candidates = {s[:-len(t) - 1] for s in sheets for t in tables if s.endswith(f"_{t}")}
        prefix = [p for p in candidates if sorted(f"{p}_{t}" for t in tables) == sheets]
        assert len(prefix) == 1, sheets  # one prefix per scenario, every table name whole
        prefixes.append(prefix[0])
    assert prefixes[0] != prefixes[1]
    assert {f"tp_{n.replace('-', '_')}" for n in LONG_NAMES} <= set(wb.defined_names.keys())


# --------------------------------------------------------------------------------------------
# Names and formulas
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_defined_names_for_headline_figures(book, cached, compare_out, scenario):
    _, doc = compare_out
    s = scenario.replace("-", "_")
    for stem in ("tp", "multiple", "valuation_sales", "net_cash", "shares", "fx_listing",
                 "capex_total"):
        assert f"{stem}_{s}" in book.defined_names, f"{stem}_{s}"
    # the valuation sheet is the EV/Sales bridge in live formulas (the headline is the fleet DCF)
    assert _cell(cached, f"tp_{s}").value == pytest.approx(
        _kpi(doc, "target_price_ev_sales", scenario), abs=1e-9)
    assert _cell(cached, f"capex_total_{s}").value == pytest.approx(
        _kpi(doc, "total_capex_m", scenario), rel=1e-9)
    assert _cell(cached, f"multiple_{s}").value == 7.5


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_valuation_sheet_is_live_formulas(book, cached, scenario):
    s = scenario.replace("-", "_")
    tp, ev = _cell(book, f"tp_{s}"), _cell(book, f"ev_{s}")
    assert tp.parent.title == f"{scenario}_valuation"
    for c in (tp, ev, _cell(book, f"equity_{s}")):
        assert isinstance(c.value, str) and c.value.startswith("="), c.value
    for stem in ("multiple", "valuation_sales", "net_cash", "shares", "fx_listing"):
        assert isinstance(_cell(book, f"{stem}_{s}").value, float | int)
    # the cached results are value_from_sales of the input cells
    inp = {k: _cell(cached, f"{k}_{s}").value for k in
           ("multiple", "valuation_sales", "net_cash", "shares", "fx_listing")}
    v = value_from_sales(inp["valuation_sales"], inp["multiple"], inp["net_cash"], inp["shares"],
                         inp["fx_listing"])
    assert _cell(cached, f"tp_{s}").value == pytest.approx(v.target_price, rel=1e-12)
    assert _cell(cached, f"ev_{s}").value == pytest.approx(v.ev_m, rel=1e-12)


def test_sensitivity_is_a_grid_of_formulas(book, cached, compare_out):
    out, _ = compare_out
    long = pd.read_csv(out / "sensitivity.csv").query("scenario == 'history'")
    ws, wc = book["history_sensitivity"], cached["history_sensitivity"]
    mults = sorted(long["multiple"].unique())
    changes = sorted(long["sales_change"].unique())
    assert ws.max_row == 1 + len(mults) and ws.max_column == 1 + len(changes)
    assert [wc.cell(row=i + 2, column=1).value for i in range(len(mults))] == mults
    for _, r in long.iterrows():
        i, j = mults.index(r["multiple"]) + 2, changes.index(r["sales_change"]) + 2
        assert str(ws.cell(row=i, column=j).value).startswith("=")
        assert wc.cell(row=i, column=j).value == pytest.approx(r["target_price"], rel=1e-9)


# --------------------------------------------------------------------------------------------
# Recalculated by LibreOffice
# --------------------------------------------------------------------------------------------

_SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(
    _SOFFICE is None, reason="LibreOffice (soffice) is not installed; .ci/run installs "
    "libreoffice-calc to run the recalculation check")

_RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""
"""A LibreOffice user profile setting: always recalculate an xlsx file on load."""


def recalculate(files: list[Path], workdir: Path) -> dict[str, Path]:
    """Open each file in LibreOffice headless, recalculate every formula, save as xlsx.

    Returns the recalculated copies by file name (in ``workdir / "recalc"``).
    """
    profile = workdir / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_PROFILE,
                                                                 encoding="utf-8")
    outdir = workdir / "recalc"
    res = subprocess.run(
        [_SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir),
         *map(str, files)], capture_output=True, text=True, timeout=300, check=False)
    got = {f.name: outdir / f.name for f in files}
    missing = [n for n, p in got.items() if not p.is_file()]
    assert not missing, f"soffice did not convert {missing}: {res.stdout} {res.stderr}"
    return got


def _poison_cached_tp(src: Path, dst: Path, sheet: str, ref: str) -> None:
    """Copy ``src`` with the cached result of formula cell ``sheet!ref`` set to 999."""
    wb = openpyxl.load_workbook(src, read_only=True)
    part = f"xl/worksheets/sheet{wb.sheetnames.index(sheet) + 1}.xml"
    wb.close()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                text, n = re.subn(rf'(<c r="{ref}"[^>]*><f>[^<]*</f><v>)[^<]*(</v>)',
                                  r"\g<1>999\g<2>", data.decode("utf-8"))
                assert n == 1
                data = text.encode("utf-8")
            zout.writestr(info, data)


@pytest.fixture(scope="module")
def recalculated(compare_out, tmp_path_factory):
    """Three copies of the workbook recalculated by LibreOffice: as written, with a poisoned
    cached target price, and with the embargo-2024 multiple changed to :data:`NEW_MULTIPLE`."""
    if _SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    out, _ = compare_out
    work = tmp_path_factory.mktemp("lo")
    original = work / "original.xlsx"
    shutil.copy(out / "compare.xlsx", original)
    wb = openpyxl.load_workbook(original)
    tp = _cell(wb, "tp_embargo_2024")
    poisoned = work / "poisoned.xlsx"
    _poison_cached_tp(original, poisoned, tp.parent.title, tp.coordinate)
    _cell(wb, "multiple_embargo_2024").value = NEW_MULTIPLE
    changed = work / "changed.xlsx"
    wb.save(changed)
    got = recalculate([original, poisoned, changed], work)
    return {k.removesuffix(".xlsx"): openpyxl.load_workbook(p, data_only=True)
            for k, p in got.items()}


@needs_soffice
def test_libreoffice_recipe_recalculates(recalculated, compare_out):
    """The poisoned cache (999) is replaced by the computed target price: LO recalculated."""
    _, doc = compare_out
    tp = _cell(recalculated["poisoned"], "tp_embargo_2024").value
    assert tp != 999
    assert tp == pytest.approx(_kpi(doc, "target_price_ev_sales", "embargo-2024"),
                               abs=TP_TOLERANCE_HKD)


@needs_soffice
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_recalculated_tp_equals_tool_tp(recalculated, scenario):
    tool = cli_json("value", "--scenario", scenario)["target_price_ev_sales"]
    tp = _cell(recalculated["original"], f"tp_{scenario.replace('-', '_')}").value
    assert abs(tp - tool) <= TP_TOLERANCE_HKD, (tp, tool)


@needs_soffice
def test_changed_multiple_recalculates_like_value_multiple(recalculated):
    tool = cli_json("value", "--scenario", "embargo-2024", "--multiple", str(NEW_MULTIPLE))
    before = _cell(recalculated["original"], "tp_embargo_2024").value
    after = _cell(recalculated["changed"], "tp_embargo_2024").value
    assert _cell(recalculated["changed"], "multiple_embargo_2024").value == NEW_MULTIPLE
    assert abs(after - tool["target_price_ev_sales"]) <= TP_TOLERANCE_HKD, (after, tool)
    assert after - before > 0.1  # it moved: (9.0 - 7.5) x sales / shares / FX
    # the sensitivity grid reads the same inputs: its 0% column at 7.5x moves with the sales
    # only, so it still equals the original TP
    grid = recalculated["changed"]["embargo-2024_sensitivity"]
    row = next(r for r in grid.iter_rows(min_row=2, values_only=True) if r[0] == 7.5)
    header = [c.value for c in grid[1]]
    assert row[header.index("TP at sales +0% [HKD]")] == pytest.approx(before,
                                                                       abs=TP_TOLERANCE_HKD)


# --------------------------------------------------------------------------------------------
# Names and formats on small synthetic reports (no solving)
# --------------------------------------------------------------------------------------------


def test_defined_names_follow_excel_rules():
    from capacity.report.sheets import defined_name

    used: set[str] = set()
    assert defined_name("tp_embargo-2024", used) == "tp_embargo_2024"
    assert defined_name("tp_embargo_2024", used) == "tp_embargo_2024_2"  # no silent clash
    assert defined_name("2024", used) == "_2024"
    assert defined_name("AB12", used) == "_AB12"      # a cell reference
    assert defined_name("R1C1", used) == "_R1C1"
    assert defined_name("tp_szenario-ü", used) == "tp_szenario__"


def test_reserved_and_forbidden_sheet_names():
    from capacity.report.sheets import _sheet_name

    used: set[str] = set()
    assert _sheet_name("History", used) == "History_"  # Excel reserves 'History'
    assert _sheet_name("'quoted'", used) == "quoted"
    assert _sheet_name("QUOTED", used) == "QUOTED_2"   # Excel compares case-insensitively


def test_row_units_format_only_unitless_number_columns():
    from capacity.report.workbook import workbook_bytes
    from capacity.results import Report

    summary = pd.DataFrame({"metric": ["gpus_units", "genai_share"], "unit": ["units", "share"],
                            "n_rows": [2, 1], "mape": [0.5, 1.5], "actual": [27000.0, 0.4]})
    stress = pd.DataFrame({"kpi": ["target_price"], "unit": ["HKD"], "p5": [1.0],
                           "p50": [1.3], "p95": [1.7], "mean": [1.31]})
    reports = [Report("backtest", scalars={"scenario": "s1"}, tables={"summary": summary}),
               Report("stress", scalars={"scenario": "s1", "centre_target_price": 1.3},
                      tables={"percentiles": stress})]
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(reports, [])))
    ws = wb["s1_summary"]
    row2 = {c.value: ws.cell(row=2, column=j + 1).number_format for j, c in enumerate(ws[1])}
    row3 = {c.value: ws.cell(row=3, column=j + 1).number_format for j, c in enumerate(ws[1])}
    assert row2["actual"] == "#,##0" and row3["actual"] == "0.0%"   # the row's unit
    assert row2["mape"] == row3["mape"] == "0.0"                       # its own unit, %
    assert row2["n_rows"] == "0"                                       # a count
    assert row2["metric"] == "General"                                 # text
    for name, want in [("tp_p50_s1", 1.3), ("tp_p5_s1", 1.0), ("tp_centre_s1", 1.3)]:
        assert _cell(wb, name).value == want
    assert _cell(wb, "tp_p50_s1").number_format == "0.00"


def test_names_that_sanitise_alike_stay_distinct():
    from capacity.report.workbook import workbook_bytes
    from capacity.results import Report

    annual = pd.DataFrame({"revenue_m": [400.0]}, index=pd.Index([2024], name="year"))
    scal = {"valuation_year": 2024, "valuation_sales_m": 400.0, "multiple": 7.5,
            "net_cash_m": 90.0, "shares_m": 335.0, "fx_listing": 0.93,
            "target_price": (7.5 * 400.0 + 90.0) / 335.0 / 0.93}
    reports = [Report("value", scalars={"scenario": s, **scal}, tables={"annual": annual})
               for s in ("a-b", "a_b", "A-B")]
    data = workbook_bytes(reports, [])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    tables = [t for ws in wb.worksheets for t in ws.tables]
    names = list(wb.defined_names.keys())
    assert len({t.lower() for t in tables + names}) == len(tables) + len(names)
    assert {"tp_a_b", "tp_a_b_2", "tp_A_B_3"} <= set(names)
    assert len(set(wb.sheetnames)) == len(wb.sheetnames)


def test_start_up_does_not_load_xlsxwriter():
    import sys

    probe = ("import contextlib, io, sys\nfrom capacity.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--version'])\n"
             "print(any(m == 'xlsxwriter' or m.startswith('xlsxwriter.') for m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert res.stdout.strip() == "False"


# --------------------------------------------------------------------------------------------
# The main job's workbook (the README's first command): whole names, prints to <= 40 pages
# --------------------------------------------------------------------------------------------

MAIN_JOB = ["baseline", "h20-discouraged-2025", "h200-customs-block-2026",
            "h200-class-rule-2026", "b30a-allowed", "b30a-denied", "ascend-950-ramp",
            "remote-access-closed", "entity-list-buyer"]
MAX_PAGES = 40
"""Most pages the main job's workbook may print to (LibreOffice's PDF export)."""


@pytest.fixture(scope="module")
def main_job(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("main") / "out"
    doc = cli_json("compare", *MAIN_JOB, "--out", str(out))
    return out, doc


def test_main_job_sheet_names_are_whole_and_indexed(main_job):
    out, _ = main_job
    wb = openpyxl.load_workbook(out / "compare.xlsx")
    assert not [n for n in wb.sheetnames if "~" in n]
    rows = list(wb["index"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == wb.sheetnames[1:]
    # a name too long for its tables is the scenario's number among the run's scenarios
    by_sheet = {r[0]: r[1] for r in rows}
    assert by_sheet["s3_quarters"] == "plan h200-customs-block-2026"
    assert by_sheet["baseline_quarters"] == "plan baseline"
    assert by_sheet["ascend-950-ramp_dcf_sensitivity"] == "value ascend-950-ramp"
    prints = {r[0]: r[4] for r in rows}
    assert prints["compare_kpis"] == "yes" and prints["s3_valuation"] == "yes"
    assert prints["s3_quarters"].startswith("no")
    for ws in wb.worksheets:  # every sheet has a print area; detail sheets a blank one
        assert ws.print_area, ws.title


def test_main_job_kpis_are_formulas_over_the_data_sheets(main_job):
    out, doc = main_job
    wb = openpyxl.load_workbook(out / "compare.xlsx")
    cached = openpyxl.load_workbook(out / "compare.xlsx", data_only=True)
    ws, wc = wb["compare_kpis"], cached["compare_kpis"]
    header = [c.value for c in ws[1]]
    rows = {r[0].value: i for i, r in enumerate(ws.iter_rows(min_row=2), start=2)}
    col = header.index("h200-customs-block-2026") + 1
    assert ws.cell(rows["target_price"], col).value.startswith("='scalars'!")
    assert ws.cell(rows["peak_eflops_2026Q4"], col).value.startswith("='s3_quarters'!")
    assert ws.cell(rows["genai_share_2026"], col).value.startswith("='s3_annual'!")
    assert ws.cell(rows["binding_limits"], col).value.startswith("=SUMIFS(")
    diff = header.index("h200-customs-block-2026_vs_baseline") + 1
    assert str(ws.cell(rows["target_price"], diff).value).startswith("=")
    # the cached results are the tool's figures
    assert wc.cell(rows["target_price"], col).value == pytest.approx(
        _kpi(doc, "target_price", "h200-customs-block-2026"), rel=1e-12)
    # a multiple reads "7.5" beside its unit "x", not "7.5x x"
    val = wb["s3_valuation"]
    mult = next(r for r in val.iter_rows(min_row=2) if r[0].value == "multiple")
    assert mult[2].value == "x" and '"x"' not in mult[1].number_format


@needs_soffice
def test_main_job_prints_to_at_most_40_pages(main_job, tmp_path):
    out, _ = main_job
    profile = tmp_path / "lo-profile"
    res = subprocess.run(
        [_SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(out / "compare.xlsx")],
        capture_output=True, text=True, timeout=600, check=False)
    pdf = tmp_path / "compare.pdf"
    assert pdf.is_file(), res.stderr
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 5 <= pages <= MAX_PAGES, pages
