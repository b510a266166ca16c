"""One P&L tied to the reported accounts (issue 25): history rows, run-rates, the dated inputs,
the equity bridge, and docs/finance.md against the code.

Expected numbers are the disclosures themselves (data/disclosures.csv) or worked out by hand in
the comments.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import cli_json

from capacity import finance as F
from capacity.finance.accounts import AccountDrivers
from capacity.finance.pnl import PLAN_COLUMNS, PURCHASE_COLUMNS, genai_other_cost_share
from capacity.scenarios import load_scenario, read_disclosures

ROOT = Path(__file__).resolve().parent.parent
INPUT_NAMES = {"net_cash", "borrowings", "shares", "fx_rate", "discount_rate",
               "ev_sales_multiple", "rd_opex", "sm_opex", "ga_opex", "share_price"}


@pytest.fixture(scope="module")
def h1_25() -> dict:
    return cli_json("value", "--as-of", "2025-09-30")


@pytest.fixture(scope="module")
def latest() -> dict:
    return cli_json("value")


def test_1h25_is_reproduced_from_its_own_tables(h1_25):
    q = pd.DataFrame(h1_25["pnl_by_quarter"]).set_index("period")
    rows = q.loc[["2025Q1", "2025Q2"]]
    assert rows["actual"].all() and not q.drop(index=["2025Q1", "2025Q2"])["actual"].any()
    s = rows.sum(numeric_only=True)
    # 1H25 interim results: revenue 2,358.2, gross margin 38.5%, loss 1,489.3, adjusted 1,162.1
    assert s["revenue_m"] == pytest.approx(2358.2, rel=0.01)
    assert s["gross_profit_m"] / s["revenue_m"] == pytest.approx(0.385, abs=0.01)
    assert s["net_loss_m"] == pytest.approx(1489.3, rel=0.03)
    assert s["adjusted_net_loss_m"] == pytest.approx(1162.1, rel=0.03)
    assert s["rd_opex_m"] == pytest.approx(2118.5)
    for r in h1_25["pnl"]:
        assert "adjusted_net_loss_m" in r


@pytest.mark.parametrize("doc", ["h1_25", "latest"])
def test_one_gross_margin_per_year(doc, request):
    d = request.getfixturevalue(doc)
    annual = {r["year"]: r["gross_margin"] for r in d["annual"]}
    pnl = {r["year"]: r["gross_margin"] for r in d["pnl"]}
    assert annual and set(annual) == set(pnl)
    for y in annual:
        assert annual[y] == pytest.approx(pnl[y], abs=1e-9)
    y = d["valuation_year"]
    assert d["valuation_gross_margin"] == pytest.approx(pnl[y], abs=1e-9)
    q = {r["period"]: r for r in d["pnl_by_quarter"]}
    for r in d["revenue"]:  # the revenue table's gross profit is the P&L's
        assert r["gross_profit_m"] == pytest.approx(q[r["period"]]["gross_profit_m"])


def test_inputs_table_is_dated_by_the_vintage(latest):
    rows = {r["name"]: r for r in latest["inputs"]}
    assert set(rows) >= INPUT_NAMES
    for r in latest["inputs"]:
        assert set(r) == {"name", "value", "unit", "source_date", "source"}
        assert r["source_date"] <= "2026-01-31"
    assert rows["net_cash"]["source_date"] == rows["shares"]["source_date"] == "2025-06-30"
    # 40,424 - 1,666.667 (Jul 2025) - 1,750 (Dec 2025) = 37,007.333; the data: 37,007.4
    assert rows["shares"]["value"] == pytest.approx(37007.333)
    # cash reserve 13,158.4 less borrowings 8,317 (30 Jun 2025) = 4,841.4; the input less the
    # two issues at the vintage's 0.8959 RMB/HKD: 9,903.235 - (2,500 + 3,150) x 0.8959 = 4,841.4
    assert rows["net_cash"]["value"] == pytest.approx(4841.4)
    assert rows["borrowings"]["source_date"] == "2025-06-30"
    assert rows["borrowings"]["value"] == 8317
    assert rows["cash"]["value"] - rows["borrowings"]["value"] == pytest.approx(
        rows["net_cash"]["value"], rel=1e-3)
    assert rows["rd_opex"]["value"] == 2118.5 and rows["rd_opex"]["source_date"] == "2025-08-28"
    assert rows["share_price"]["value"] == 1.97  # close of 17 Dec 2025


def test_equity_bridge_adds_up_and_feeds_ev_sales(latest):
    b = latest["equity_bridge"]
    total = sum(r["value_m"] for r in b[:-1])
    assert b[-1]["value_m"] == pytest.approx(total)
    assert b[-1]["value_m"] == pytest.approx(latest["net_cash_m"])
    q = [r for r in latest["pnl_by_quarter"] if not r["actual"] and r["period"] <= "2025Q4"]
    assert [r["period"] for r in q] == ["2025Q3", "2025Q4"]  # quarters ending by 31 Jan 2026
    assert b[-2]["value_m"] == pytest.approx(sum(r["fcf_m"] for r in q))
    ev = next(r for r in latest["methods"] if r["method"] == "ev_sales")
    assert ev["equity_m"] == pytest.approx(ev["ev_m"] + b[-1]["value_m"])


def test_reported_halves_by_hand():
    h = F.reported_halves(read_disclosures()).loc[pd.Period("2025Q2", freq="Q")]
    # other items = 1,489.3 + 0.385 x 2,358.2 - (2,118.5 + 270 + 600) = -591.293
    assert h["non_operating_loss_m"] == pytest.approx(1489.3 + 0.385 * 2358.2 - 2988.5)
    assert h["adjustments_m"] == pytest.approx(1489.3 - 1162.1)
    assert h["traditional_revenue_m"] == pytest.approx(2358.2 - 1815.5)


def test_drivers_see_only_what_the_vintage_saw():
    for when, rd in (("2024-03-31", 1686.0), ("2025-03-31", 2238.8), ("2025-09-30", 2118.5)):
        sc = load_scenario(None, as_of=pd.Timestamp(when).date())
        d = F.anchors_from_disclosures(sc.disclosures).drivers
        assert d.rd_half_m == pytest.approx(rd)
        assert all(r["published"] <= when for r in d.dated)
    # FY24 S&M is not in the data: the FY24 vintage runs S&M at 1H24's 329.2
    sc = load_scenario(None, as_of=pd.Timestamp("2025-03-31").date())
    assert F.anchors_from_disclosures(sc.disclosures).drivers.sm_half_m == 329.2


def test_genai_other_cost_share_by_hand():
    fin = load_scenario("history").inputs.finance  # m_trad = 0.5
    d = AccountDrivers(base_cost_of_sales_half_m=1000.0, base_traditional_half_m=400.0,
                       base_genai_half_m=1600.0)
    # (1,000 - 0.5 x 400 - 2 x 150) / 1,600 = 0.3125
    assert genai_other_cost_share(d, fin, 150.0) == pytest.approx(0.3125)
    assert genai_other_cost_share(d, fin, 500.0) == 0.0  # the fleet alone exceeds it
    assert genai_other_cost_share(AccountDrivers(), fin, 150.0) == 0.0


# --------------------------------------------------------------------------------------------
# docs/finance.md against the code
# --------------------------------------------------------------------------------------------

DOC = (ROOT / "docs" / "finance.md").read_text(encoding="utf-8")


def test_finance_doc_generated_blocks_are_current():
    spec = importlib.util.spec_from_file_location("build_finance_md",
                                                  ROOT / "docs" / "build_finance_md.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.render(DOC) == DOC, "docs/finance.md is out of date: run python " \
                                   "docs/build_finance_md.py"


def test_finance_doc_seam_names_the_plan_columns():
    seam = DOC.split("## 0.")[1].split("## 1.")[0]
    named = set(re.findall(r"`([a-z_]+)`", seam))
    assert set(PLAN_COLUMNS) <= named and set(PURCHASE_COLUMNS) <= named


def test_finance_doc_inputs_table_matches_the_baseline():
    base = tomllib.loads((ROOT / "data" / "baseline.toml").read_text(encoding="utf-8"))
    fin = base["finance"]
    table = DOC.split("## 8.")[1].split("## 9.")[0]
    checked = 0
    for m in re.finditer(r"^\| `([a-z_]+)` \| ([-0-9.,]+)(%|x)? \|", table, re.M):
        key, text, suffix = m.groups()
        if key not in fin or isinstance(fin[key], (list, dict, str, bool)):
            continue
        value = float(text.replace(",", "")) / (100.0 if suffix == "%" else 1.0)
        assert fin[key] == pytest.approx(value, rel=1e-3), key
        checked += 1
    assert checked >= 15


def test_rolling_backtest_scores_the_accounts():
    d = cli_json("backtest", "--rolling", "--samples", "20")
    scored = {(r["metric"], r["horizon_halves"]) for r in d["summary"] if r["n_compared"]}
    for metric in ("adjusted_net_loss_m", "gross_margin", "net_loss_m",
                   "rd_opex_m"):
        assert {(metric, 1), (metric, 2)} <= scored, metric
    # a 1H25 row of the FY24 vintage: the forecast is its P&L's 2025Q1 + 2025Q2
    row = next(r for r in d["rows"] if r["vintage"] == "2025-03-31"
               and r["metric"] == "adjusted_net_loss_m" and r["period"] == "1H25")
    assert row["actual"] == 1162.1 and row["horizon_halves"] == 1
    q = {r["period"]: r for r in cli_json("value", "--as-of", "2025-03-31")["pnl_by_quarter"]}
    assert row["forecast"] == pytest.approx(q["2025Q1"]["adjusted_net_loss_m"]
                                            + q["2025Q2"]["adjusted_net_loss_m"], rel=1e-6)


def test_no_vintage_reads_a_later_input():
    from capacity.run import value_report
    from capacity.scenarios import vintage_dates

    for when in vintage_dates():
        sc = load_scenario(None, as_of=when)
        rep = value_report(sc)
        t = rep.tables["inputs"]
        assert (t["source_date"] <= when.isoformat()).all(), when
        net = t.set_index("name").at["net_cash", "source_date"]
        assert net == sc.inputs.horizon.base.end_time.date().isoformat()  # the balance sheet
        assert {"rd_opex", "sm_opex", "ga_opex", "fx_rate", "discount_rate",
                "ev_sales_multiple", "share_price", "borrowings"} <= set(t["name"])
