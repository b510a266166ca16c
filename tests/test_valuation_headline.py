"""The headline target price (fleet DCF on the plan's NPV), its bridge to the plan, the
multiple and share price from the dated comps, and the street table (issue 25, items 4-7).

Numbers are worked out by hand in the comments or recomputed here from the plan's own tables.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from capacity.errors import InputError
from capacity.finance import comps as C
from capacity.finance.street import street_bridge, street_table
from capacity.finance.valuation import fleet_dcf, npv_bridge_table
from capacity.planner import plan
from capacity.run import value_report
from capacity.scenarios import load_scenario
from capacity.scenarios.market import read_market

LATEST = dt.date(2026, 1, 31)


@pytest.fixture(scope="module")
def latest():
    sc = load_scenario("baseline")
    result = plan(sc)
    return sc, result, value_report(sc, plan_result=result)


# ------------------------------------------------------------------ fleet DCF by hand


def test_fleet_dcf_worked_example():
    # NPV 100, non-fleet -10 a quarter for 4 quarters, r 10%, g 2%, tax 25%
    df = [1.1 ** (-t / 4) for t in range(5)]
    a = sum(df[:4])                      # 3.8611 quarters
    eav = 4 * 100 / a                    # 103.60 a year
    steady = eav - 40                    # 63.60 a year, positive: taxed
    pv_tv = steady * 0.75 * 1.02 / 0.08 * df[4]
    ev = 100 - 10 * a + pv_tv
    got = fleet_dcf(100.0, np.full(4, -10.0), 0.10, 0.02, 0.25)
    assert got["annuity_quarters"] == pytest.approx(a)
    assert got["equivalent_annual_value_m"] == pytest.approx(eav)
    assert got["pv_terminal_m"] == pytest.approx(pv_tv)
    assert got["ev_m"] == pytest.approx(ev)
    assert ev == pytest.approx(614.3, abs=0.1)
    assert got["terminal_share"] == pytest.approx(pv_tv / ev)
    assert got["pv_terminal_fleet_m"] + got["pv_terminal_non_fleet_m"] == \
        pytest.approx(pv_tv)


@pytest.mark.parametrize("npv", [-500.0, 0.0, 30.0, 100.0, 5000.0])
def test_headline_ev_rises_with_the_npv_at_a_slope_of_at_least_one(npv):
    flows = np.full(8, -25.0)
    lo = fleet_dcf(npv, flows, 0.10, 0.03, 0.15)["ev_m"]
    hi = fleet_dcf(npv + 1.0, flows, 0.10, 0.03, 0.15)["ev_m"]
    assert hi - lo >= 1.0


def test_growth_at_the_rate_is_one_line_naming_it():
    with pytest.raises(InputError, match="terminal_growth_annual"):
        fleet_dcf(1.0, np.zeros(4), 0.05, 0.05, 0.1)


def test_npv_bridge_rows_sum_to_the_plan_and_the_headline():
    q = pd.DataFrame({"served_revenue_m": [50.0] * 4, "training_value_m": [10.0] * 4,
                      "power_cost_m": [2.0] * 4, "maintenance_m": [1.0] * 4,
                      "rental_cost_m": [0.5] * 4, "capex_m": [20.0, 0, 0, 0]})
    head = fleet_dcf(150.0, np.full(4, -10.0), 0.10, 0.02, 0.25)
    b = npv_bridge_table(q, 150.0, 0.10, head, 80.0).set_index("item")
    plan_rows = b[b["role"] == "plan"]["value_m"]
    assert plan_rows.sum() == pytest.approx(150.0)
    assert b.at["plan_npv", "value_m"] == pytest.approx(150.0)
    a = sum(1.1 ** (-t / 4) for t in range(4))
    # 150 - (60 - 3.5) a + 20 = the residual (the balance)
    assert b.at["residual_value", "value_m"] == pytest.approx(150 - 56.5 * a + 20)
    total = b[b["role"].isin(["plan", "valuation"])]["value_m"].sum()
    assert total == pytest.approx(head["ev_m"])
    assert b.at["headline_minus_pnl_dcf", "value_m"] == pytest.approx(head["ev_m"] - 80)


def test_value_bridge_residual_is_the_plans_residual(latest):
    sc, result, rep = latest
    b = rep.tables["npv_bridge"].set_index("item")["value_m"]
    assert b["plan_npv"] == pytest.approx(result.objective)
    assert rep.scalars["plan_npv_m"] == pytest.approx(result.objective)
    # straight-line book value from the purchases, max(0, 1 - (T - t) / life) capex df(T): the
    # plan's residual (what a unit still earns at the market rate) is capped at it
    periods = list(sc.inputs.horizon.periods)
    n, r = len(periods), sc.inputs.planner.discount_rate_annual
    lives = result.inputs.data.life_quarters
    purchases = result.purchases[~result.purchases["committed"].astype(bool)]
    book = sum(max(0.0, 1 - (n - periods.index(p.period)) / lives[p.chip]) * p.capex_m
               for p in purchases.itertuples()) * (1 + r) ** (-n / 4)
    # the integer plan's objective carries its own rounding (gap below 1e-4)
    assert b["residual_value"] == pytest.approx(result.kpis["residual_value_m"], rel=1e-3)
    assert 0.0 <= b["residual_value"] <= book * (1 + 1e-3)
    ev = rep.scalars["ev_fleet_dcf_m"]
    assert b["headline_ev"] == pytest.approx(ev)
    s = rep.scalars
    assert s["target_price"] == pytest.approx(
        s["equity_fleet_dcf_m"] / s["shares_m"] / s["fx_listing"])
    assert s["terminal_share_of_ev"] == pytest.approx(s["pv_terminal_fleet_dcf_m"] / ev)
    # one account of the fleet: the plan's NPV less the other cost of the revenue it serves
    assert b["served_other_cost"] == pytest.approx(-s["pv_served_other_cost_m"])
    assert s["fleet_value_m"] == pytest.approx(
        s["plan_npv_m"] - s["pv_served_other_cost_m"])
    valuation = b[rep.tables["npv_bridge"].set_index("item")["role"] == "valuation"].sum()
    assert b["plan_npv"] + valuation == pytest.approx(ev)


# ------------------------------------------------------------------ comps and share prices


def test_the_multiple_follows_the_stated_rule_by_vintage():
    m = read_market()
    note = C.Quote(7.5, "", "the scenario's")
    assert C.ev_sales_multiple(m["comps"], dt.date(2023, 8, 30), note) is note
    assert C.ev_sales_multiple(m["comps"], dt.date(2025, 8, 29), note).value == 7.5  # BOCI
    cmbi = C.ev_sales_multiple(m["comps"], dt.date(2025, 8, 30), note)
    assert (cmbi.value, cmbi.source_date) == (12.0, "2025-08-30")
    assert C.ev_sales_multiple(m["comps"], LATEST, note).value == 12.0  # CLSA gives no basis
    two = pd.DataFrame({"published": ["2025-01-02", "2025-01-02"], "kind": ["broker_target"] * 2,
                        "metric": ["ev_sales"] * 2, "multiple": [8.0, 11.0],
                        "source": ["a", "b"]})
    assert C.ev_sales_multiple(two, LATEST, note).value == 9.5  # median of one date


def test_share_price_upside_and_input_rows():
    m = read_market()
    assert C.share_price(m["share_prices"], dt.date(2025, 7, 28)) is None
    p = C.share_price(m["share_prices"], LATEST)
    assert (p.value, p.source_date) == (2.43, "2026-01-22")  # not the 2 Feb 2026 close
    mv = C.market_value(p, 40_424.0, 1.62)
    assert mv["market_value_m"] == pytest.approx(2.43 * 40_424.0)
    assert mv["upside"] == pytest.approx(1.62 / 2.43 - 1)
    rows = C.market_input_rows(C.Quote(12.0, "2025-08-30", "CMBI"), p)
    assert [r["name"] for r in rows] == ["ev_sales_multiple", "share_price"]
    assert all(set(r) == {"name", "value", "unit", "source_date", "source"} for r in rows)
    assert len(C.market_input_rows(C.Quote(7.5, "", "note"), None)) == 1


def test_a_bad_comps_row_is_one_line_naming_it(tmp_path):
    (tmp_path / "comps.csv").write_text(
        "published,source,kind,company,metric,basis_year,multiple,target_price\n"
        "2025-01-01,x,rumour,y,ev_sales,2026,10,\n")
    with pytest.raises(InputError, match=r"comps\.csv line 2 kind"):
        read_market(tmp_path)
    (tmp_path / "comps.csv").write_text(
        "published,source,kind,company,metric,basis_year,multiple,target_price\n"
        "2025-02-30,x,peer,y,ev_sales,2026,10,\n")
    with pytest.raises(InputError, match="published"):
        read_market(tmp_path)
    assert read_market(tmp_path / "nowhere")["street"].empty  # no files: no rows


# ------------------------------------------------------------------ street


def test_street_bridge_worked_example():
    street = pd.DataFrame({"published": ["2025-04-01"] * 4, "source": ["s"] * 4,
                           "metric": ["revenue_m", "gross_profit_m", "opex_m",
                                      "ebitda_m"], "year": [2027.0] * 4,
                           "value": [1000.0, 400.0, 500.0, -50.0]})
    model = pd.DataFrame({"revenue_m": [1200.0], "gross_profit_m": [600.0],
                          "opex_m": [450.0], "ebitda_m": [250.0]},
                         index=pd.Index([2027], name="year"))
    row = street_bridge(street, model).iloc[0]
    # gap 250 - (-50) = 300; revenue 200 x 0.4 = 80; margin (0.5 - 0.4) x 1200 = 120;
    # opex 500 - 450 = 50; other 300 - 250 = 50
    assert row["profit_gap_m"] == pytest.approx(300.0)
    assert row["revenue_effect_m"] == pytest.approx(80.0)
    assert row["margin_effect_m"] == pytest.approx(120.0)
    assert row["opex_effect_m"] == pytest.approx(50.0)
    assert row["other_effect_m"] == pytest.approx(50.0)
    t = street_table(street, model, 1.5)
    assert t["difference"].tolist() == pytest.approx([200.0, 200.0, -50.0, 300.0])


def test_value_has_the_street_known_at_the_vintage(latest):
    sc, _, rep = latest
    s, street = rep.scalars, rep.tables["street"]
    assert len(street) > 0
    assert all(dt.date.fromisoformat(d) <= sc.as_of for d in street["date"])
    assert "2026-02-02" not in set(street["date"])  # published after the vintage
    ok = street.dropna(subset=["model"])
    assert (ok["difference"] == ok["model"] - ok["value"]).all()
    tp = street[street["metric"] == "target_price"]
    assert (tp["model"] == s["target_price"]).all()
    assert s["multiple"] == 12.0 and s["multiple_source_date"] == "2025-08-30"
    assert s["note_multiple"] == 7.5 and s["note_check_reproduced"] is True
    assert s["upside"] == pytest.approx(s["target_price"] / s["share_price"] - 1)
    assert {"revenue_effect_m", "margin_effect_m", "opex_effect_m"} <= set(
        rep.tables["street_bridge"].columns)
    comps = rep.tables["comps"]
    assert all(dt.date.fromisoformat(d) <= sc.as_of for d in comps["published"])
    assert "2026-02-20" not in set(comps["published"])
    assert comps.loc[comps["chosen"], "company"].tolist() == ["CMBI"]
    assert {"peer", "subject_market", "broker_target"} <= set(comps["kind"])
