"""Self-describing outputs (issue 16 items 4, 5 and 7; issue 17 "no null where a number is
promised"): the Frictionless data package of an ``--out`` folder, JSON without nulls on every
shipped scenario, every output column in docs/nomenclature.md, and the charts' form."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import cli_json

from capacity.cli import main

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs"
LATER = DOCS / "actuals-later.csv"
SHIPPED = ["history", "no-2023-update", "embargo-2024", "h20-ban-stays", "h200-opens-2026",
           "domestic-squeeze"]

NOTE_VINTAGE = ("--as-of", "2023-08-31")
"""The 1H23 note's vintage (the default is the latest)."""


def _out(tmp: Path, *args: str) -> Path:
    out = tmp / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--out", str(out), "--format", "json"]) == 0
    return out


@pytest.fixture(scope="module")
def compare_out(tmp_path_factory) -> Path:
    return _out(tmp_path_factory.mktemp("tidy"), "compare", "history", "embargo-2024",
                "h200-opens-2026")


@pytest.fixture(scope="module")
def backtest_out(tmp_path_factory) -> Path:
    return _out(tmp_path_factory.mktemp("tidybt"), *NOTE_VINTAGE, "backtest", "--scenario",
                "history", "--actuals", str(LATER))


# --------------------------------------------------------------------------------------------
# datapackage.json
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["compare_out", "backtest_out"])
def test_datapackage_validates_and_describes_every_csv_column(which, request):
    frictionless = pytest.importorskip("frictionless")
    out = request.getfixturevalue(which)
    report = frictionless.validate(out / "datapackage.json")
    assert report.valid, report.flatten(["type", "message"])[:5]
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["path"]: r for r in package["resources"]}
    csvs = sorted(p.name for p in out.glob("*.csv"))
    parquets = sorted(p.name for p in out.glob("*.parquet"))
    assert sorted(p for p in resources if p.endswith(".csv")) == csvs
    assert sorted(p for p in resources if p.endswith(".parquet")) == parquets
    for name in csvs:
        header = list(pd.read_csv(out / name, nrows=0).columns)
        fields = resources[name]["schema"]["fields"]
        assert [f["name"] for f in fields] == header, name
        for f in fields:
            assert f["description"] and "[unit: " in f["description"], (name, f)
            assert "unit" in f, (name, f)
    # units come from the column names' suffixes and the nomenclature
    if which == "compare_out":
        quarters = {f["name"]: f for f in resources["quarters.csv"]["schema"]["fields"]}
        assert quarters["peak_eflops"]["unit"] == "EFLOPS"
        assert quarters["capex_m"]["unit"] == "RMB m" and quarters["capex_m"][
            "type"] == "number"
        assert quarters["scenario"]["type"] == "string"
    # sources: the disclosure document and each scenario
    titles = [s["title"] for s in package["sources"]]
    assert any(t.startswith("BOCI research note") for t in titles)
    assert any(t.startswith("scenario history") for t in titles)
    # the manifest lists the package and every table file
    listed = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert {"datapackage.json", *csvs, *parquets} <= set(listed)


def test_out_folder_is_the_same_bytes_twice(tmp_path, compare_out):
    again = _out(tmp_path, "compare", "history", "embargo-2024", "h200-opens-2026")
    names = sorted(p.name for p in compare_out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    differ = [n for n in names if (compare_out / n).read_bytes() != (again / n).read_bytes()]
    assert differ == ["manifest.json"]  # its timings only


# --------------------------------------------------------------------------------------------
# No null where a number is promised
# --------------------------------------------------------------------------------------------

OPTIONAL: list[tuple[str, str, str]] = [
    # (command, table, column pattern): nulls documented in docs/nomenclature.md.
    # a ban or cap already at 0 cannot be tightened, so it has no tighten side
    ("plan", "binding", r"shadow_price_tighten"),
    # a chip unfit for training has no training cost; one with no serving roofline (unknown
    # memory) or no power figure has no token cost or tokens per MW
    ("plan", "economics", r"training_cost_m_per_eflops_quarter|token_cost_per_m_tokens"
                          r"|served_tokens_tn_tokens_per_mw_quarter"),
    # EV/EBITDA does not apply while the valuation year's EBITDA is not positive (the key stays,
    # so every subject's value JSON has the same keys)
    ("value", "target_price_ev_ebitda", r"target_price_ev_ebitda"),
    # a backlog quarter without an RPO figure, or before the P&L's first quarter
    ("value", "backlog", r"rpo_m|revenue_next_4q_m|revenue_to_horizon_m"
                         r"|backlog_cover"),
]
"""Fields that may be null, and only these (keep this short)."""


def _nulls(doc, command: str) -> list[str]:
    found = []

    def walk(v, where: str, table: str, column: str) -> None:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            if not any(c == command and t == table and re.fullmatch(p, column)
                       for c, t, p in OPTIONAL):
                found.append(f"{command}: {where}")
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{where}.{k}", table, k)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                name = table
                if isinstance(x, dict) and "kpi" in x and command == "compare":
                    name = f"{table}[{x['kpi']}]"
                walk(x, f"{where}[{i}]", name, column)

    for key, value in doc.items():
        walk(value, key, key, key)
    return found


@pytest.mark.parametrize("scenario", SHIPPED)
def test_no_null_in_json_of_shipped_scenarios(scenario):
    docs = {
        "plan": cli_json("plan", "--scenario", scenario),
        "value": cli_json("value", "--scenario", scenario),
        "backtest": cli_json("backtest", "--scenario", scenario, "--actuals", str(LATER)),
        "stress": cli_json("stress", "--scenario", scenario, "--samples", "3", "--executor",
                        "inline"),
    }
    found = [n for command, doc in docs.items() for n in _nulls(doc, command)]
    assert found == [], found[:10]
    paths = docs["backtest"]["paths"]
    assert {r["metric"] for r in paths} >= {"gpus_units", "revenue_m"}
    assert set(paths[0]) == {"period", "metric", "value", "unit", "basis"}


def test_no_null_in_compare_of_shipped_scenarios():
    doc = cli_json("compare", *SHIPPED)
    assert _nulls(doc, "compare") == []


# --------------------------------------------------------------------------------------------
# docs/nomenclature.md
# --------------------------------------------------------------------------------------------


def _tables(doc: dict) -> dict[str, list[str]]:
    out = {}
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            cols: list[str] = []
            for row in value:
                cols += [c for c in row if c not in cols]
            out[key] = cols
    return out


def test_every_output_column_is_in_nomenclature(tmp_path, compare_out, backtest_out):
    from capacity.report.names import describe

    text = (DOCS / "nomenclature.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([^`]+)` \|", text, re.M))
    commands = {
        "plan": ["plan"], "value": ["value"], "compare": ["compare", "history", "embargo-2024"],
        "backtest": ["backtest", "--actuals", str(LATER)],
        "stress": ["stress", "--samples", "3", "--executor", "inline"],
        "calibrate": ["calibrate"], "demand": ["demand"], "controls": ["controls"],
        # the options that change a command's tables
        "controls --timeline": ["controls", "--timeline"],
        "plan --objective max-compute": ["plan", "--objective", "max-compute"],
        "backtest --rolling": ["backtest", "--rolling", "--samples", "20"],
    }
    missing = []
    for label, args in commands.items():
        kind = label.split()[0]
        doc = cli_json(*args) if kind == "compare" or "--rolling" in args else \
            cli_json(*args, "--scenario", "history")
        for table, cols in _tables(doc).items():
            for col in cols:
                if kind == "compare" and table in ("kpis", "kpis_text") \
                        and col not in ("kpi", "unit"):
                    col = "<scenario>_vs_<reference>" if "_vs_" in col else "<scenario>"
                if kind == "controls" and table == "timeline" and re.fullmatch(r"\d{4}Q[1-4]",
                                                                                col):
                    col = "<quarter>"
                if col not in documented or describe(kind, table, col) is None:
                    missing.append(f"{kind}.{table}.{col}")
    # and every column of the --out files
    for folder in (compare_out, backtest_out):
        for p in folder.glob("*.csv"):
            missing += [f"{p.name}.{c}" for c in pd.read_csv(p, nrows=0).columns
                        if c not in documented]
    assert missing == []


def test_nomenclature_doc_is_the_generated_text():
    from capacity.report.names import nomenclature_markdown

    text = (DOCS / "nomenclature.md").read_text(encoding="utf-8")
    assert text == nomenclature_markdown(), \
        "regenerate: python -m capacity.report.names > docs/nomenclature.md"


# --------------------------------------------------------------------------------------------
# Charts: resolution, SVG, footer, determinism
# --------------------------------------------------------------------------------------------


def test_charts_are_150_dpi_png_and_deterministic_svg(compare_out, backtest_out):
    from PIL import Image

    for folder in (compare_out, backtest_out):
        pngs = sorted(folder.glob("*.png"))
        assert pngs
        for png in pngs:
            with Image.open(png) as im:
                dpi = im.info.get("dpi", (0, 0))
            assert min(dpi) >= 149.9, (png.name, dpi)
            svg = (folder / f"{png.stem}.svg").read_text(encoding="utf-8")
            assert svg.lstrip().startswith("<?xml") and "<dc:date>" not in svg
    html = (compare_out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(list(compare_out.glob("*.png")))


def test_chart_footer_is_dated_by_the_data_not_the_clock(history):
    from capacity.report.formats import chart_footer
    from capacity.results import Report

    text = chart_footer([Report("plan", scalars={"scenario": "history"})], [history])
    assert text.startswith("Source: capacity ")
    assert "scenario history" in text and "BOCI research note on SenseTime 1H23 results" in text
    assert "as of 2023-08-31" in text and "base period 2023Q2" in text


def test_every_chart_has_a_title_axis_units_and_the_footer(history):
    """Draw each chart's figure and read its texts (titles, axis labels, footer)."""
    import importlib

    import matplotlib

    # ``capacity.report.charts`` the attribute is the function; the module is in sys.modules
    charts_module = importlib.import_module("capacity.report.charts")
    from capacity.report.figure import style as chart_style
    from capacity.report.formats import chart_footer
    from capacity.run import plan_report, value_report

    plan, value = plan_report(history)[1], value_report(history)
    footer = chart_footer([plan, value], [history])
    plans, values = {"history": plan}, {"history": value}
    figures = {
        "fleet_by_chip": charts_module.chart_fleet_by_chip(plans, footer),
        "gpu_mix_by_chip": charts_module.chart_gpu_mix(plans, footer),
        "compute_vs_demand": charts_module.chart_compute_vs_demand(plans, footer),
        "compute_vs_disclosed": charts_module.chart_compute_vs_disclosed(plans, [history],
                                                                         footer),
        "capex_by_quarter": charts_module.chart_capex(plans, footer),
        "token_cost_by_chip": charts_module.chart_token_cost(plans, footer),
        "genai_revenue": charts_module.chart_genai(values, footer),
        "target_price": charts_module.chart_target_price(values, footer),
        "pnl_by_year": charts_module.chart_pnl(values, footer),
        "cash_runway": charts_module.chart_cash(values, footer),
    }
    with matplotlib.rc_context(rc=chart_style()):
        for name, fig in figures.items():
            texts = " ".join(" ".join(t.get_text() for t in fig.texts).split())
            assert fig._suptitle is not None and fig._suptitle.get_text(), name
            assert "Source: capacity" in texts and "as of 2023-08-31" in texts, name
            labels = [ax.get_ylabel() for ax in fig.axes if ax.get_visible()]
            assert any(re.search(r"\[.+\]", lab) for lab in labels), (name, labels)
            # legends sit outside every axes (figure legends, none inside an axes)
            assert all(ax.get_legend() is None for ax in fig.axes), name


def test_note_charts_are_written_by_compare_out(compare_out):
    """The three charts an analyst puts in a note: compute against the disclosed points, GPU mix
    by chip and cost per token by chip, each as PNG and SVG."""
    for stem in ("compute_vs_disclosed", "gpu_mix_by_chip", "token_cost_by_chip"):
        assert (compare_out / f"{stem}.png").is_file() and (compare_out / f"{stem}.svg").is_file()


def test_token_cost_chart_draws_the_economics_table(compare_out, history):
    """The cost-per-token chart's lines are the plan's economics table: a line per chip of
    ``token_cost_per_m_tokens`` by delivery quarter (as economics.csv of the --out folder
    holds it) and the token price, in RMB per m tokens."""
    import importlib

    import matplotlib
    import numpy as np

    charts_module = importlib.import_module("capacity.report.charts")
    from capacity.report.figure import style as chart_style
    from capacity.run import plan_report

    plan = plan_report(history)[1]
    pivots = charts_module.token_cost_pivots({"history": plan})
    cost, price = pivots["history"]
    econ = pd.read_csv(compare_out / "economics.csv")
    econ = econ[econ["scenario"] == "history"]
    assert len(cost.columns) >= 5 and "H20" in cost.columns
    for chip in cost.columns:
        rows = econ[econ["chip"] == chip].set_index("period")["token_cost_per_m_tokens"]
        drawn = cost[chip].dropna()
        assert list(drawn.index.astype(str)) == list(rows.dropna().index)
        assert np.allclose(drawn.to_numpy(), rows.dropna().to_numpy(), rtol=1e-9)
    prices = econ.groupby("period")["token_price_per_m_tokens"].first()
    assert np.allclose(price.to_numpy(), prices.loc[[str(p) for p in price.index]].to_numpy())
    with matplotlib.rc_context(rc=chart_style()):
        fig = charts_module.chart_token_cost({"history": plan}, "Source: capacity")
        ax = fig.axes[0]
        lines = {ln.get_label(): np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()}
        assert set(lines) == {*cost.columns, "token price"}
        for chip in cost.columns:
            assert np.allclose(lines[chip], cost[chip].to_numpy(float), equal_nan=True)
        assert np.allclose(lines["token price"], price.to_numpy(float))
        assert "RMB per m tokens" in ax.get_ylabel()
        assert "Cost per token by chip" in fig._suptitle.get_text()
