"""Finance link: revenue from capacity, the EV/Sales bridge, the note's HK$1.75 check, the CLI.

Expected values are worked out by hand in the comments; the note's figures are HK$1.75 on 7.5x
2024E EV/Sales, with net cash RMB 9,000m, 33,500m shares and RMB 0.93 per HKD (baseline.toml).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from capacity import finance as F
from capacity.errors import InputError
from capacity.schemas import FinanceInputs as _FinanceInputs

NOTE_FINANCE = dict(ev_sales_multiple=7.5, valuation_year=2024, net_cash_m=9000.0,
                    shares_m=33500.0, fx_listing=0.93)
"""The note's valuation inputs (baseline.toml): the schema has no company defaults for them."""


def FinanceInputs(**kw):  # stands in for the model, with the note's balance
    return _FinanceInputs(**{**NOTE_FINANCE, **kw})

CENT_RMB_M = 0.005e-6
"""Half a cent in RMB m: 'to the cent'."""

ANCHORS = F.Anchors(base_period=pd.Period("2023Q2", freq="Q"), base_half_revenue_m=1400.0,
                    base_genai_share=0.203, base_gross_margin=0.453, genai_share_target=0.40,
                    target_year=2025, target_price=1.75, target_price_old=2.85)
NOTE = dict(multiple=7.5, net_cash_m=9000.0, shares_m=33500.0, fx_listing=0.93)

NOTE_VINTAGE = ("--as-of", "2023-08-31")
"""The 1H23 note's vintage (the default is the latest)."""


def quarters(start: str, **cols: list[float]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    idx = pd.period_range(start, periods=n, freq="Q", name="period")
    return pd.DataFrame(cols, index=idx)


# ---------------------------------------------------------------------------------------------
# Anchors
# ---------------------------------------------------------------------------------------------


def test_anchors_from_shipped_disclosures(history):
    a = F.anchors_from_disclosures(history.disclosures)
    assert a == ANCHORS


def test_anchors_missing_metric_is_input_error(history):
    d = history.disclosures[history.disclosures["metric"] != "gross_margin"]
    with pytest.raises(InputError, match="gross_margin"):
        F.anchors_from_disclosures(d)
    # a broker target is an optional part (issue #27): absent, it is None, not an error
    d = history.disclosures[history.disclosures["metric"] != "target_price_old"]
    assert F.anchors_from_disclosures(d).target_price_old is None


# ---------------------------------------------------------------------------------------------
# Revenue
# ---------------------------------------------------------------------------------------------


def test_traditional_path_by_hand():
    fin = FinanceInputs(traditional_growth_annual=-0.15, traditional_h2_share=0.55)
    periods = pd.period_range("2023Q3", "2024Q1", freq="Q")
    t = F.traditional_revenue(periods, fin, ANCHORS)
    # B = 0.797 * 1400 = 1115.8; r0 = (1115.8 / 2) / (2 * 0.45) = 619.888...
    r0 = 557.9 / 0.9
    # 2023Q3: k = 1, f = 2 * 0.55 = 1.1, growth 0.85 ** (1.5 / 4)
    assert t.iloc[0] == pytest.approx(r0 * 1.1 * 0.85 ** 0.375)
    # 2024Q1: k = 3, f = 0.9, growth 0.85 ** (3.5 / 4)
    assert t.iloc[2] == pytest.approx(r0 * 0.9 * 0.85 ** 0.875)


def test_traditional_flat_without_growth_or_seasonality_repeats_1h23():
    fin = FinanceInputs(traditional_growth_annual=0.0, traditional_h2_share=0.5)
    t = F.traditional_revenue(pd.period_range("2024Q1", "2024Q4", freq="Q"), fin, ANCHORS)
    # (1 - 0.203) * 1400 / 2 = 557.9 a quarter
    assert t.tolist() == pytest.approx([557.9] * 4)


def test_genai_margin_reproduces_1h23_group_margin():
    fin = FinanceInputs(traditional_gross_margin=0.5)
    m = F.genai_margin(fin, ANCHORS)
    # (0.453 - 0.797 * 0.5) / 0.203 = 0.0545 / 0.203
    assert m == pytest.approx(0.0545 / 0.203)
    assert 0.203 * m + 0.797 * 0.5 == pytest.approx(0.453)
    with pytest.raises(InputError, match="traditional_gross_margin"):
        F.genai_margin(FinanceInputs(traditional_gross_margin=0.7), ANCHORS)


def test_revenue_table_genai_is_what_the_fleet_served():
    fin = FinanceInputs(traditional_growth_annual=0.0, traditional_h2_share=0.5,
                        traditional_gross_margin=0.5)
    q = quarters("2023Q3", served_revenue_m=[100.0, 120.0], capital_charge_m=[10.0, 15.0],
                 opex_m=[5.0, 7.0])
    demand = pd.Series([100.0, 150.0], index=q.index)
    r = F.revenue_table(q, demand, fin, ANCHORS)
    # served 100 and 120 against demand 100 and 150: the second quarter is capacity-bound
    assert r["genai_revenue_m"].tolist() == [100.0, 120.0]
    assert r["capacity_bound"].tolist() == [False, True]
    assert r["revenue_m"].tolist() == pytest.approx([657.9, 677.9])
    assert r["genai_share"].iloc[1] == pytest.approx(120.0 / 677.9)
    # incremental compute cost: (15 + 7) - (10 + 5) = 7, a memo by default
    assert r["incremental_compute_cost_m"].tolist() == [0.0, 7.0]
    m = 0.0545 / 0.203
    assert r["gross_profit_m"].iloc[1] == pytest.approx(0.5 * 557.9 + m * 120.0)
    deduct = F.revenue_table(q, demand, fin.model_copy(
        update={"deduct_incremental_compute_cost": True}), ANCHORS)
    assert deduct["gross_profit_m"].iloc[1] == pytest.approx(0.5 * 557.9 + m * 120.0 - 7.0)


def test_bad_demand_series_is_input_error():
    fin = FinanceInputs()
    q = quarters("2023Q3", served_revenue_m=[10.0, 10.0])
    with pytest.raises(InputError, match="2023Q4"):
        F.revenue_table(q, pd.Series([1.0], index=q.index[:1]), fin, ANCHORS)
    with pytest.raises(InputError, match="missing value"):
        F.revenue_table(q, pd.Series([1.0, math.nan], index=q.index), fin, ANCHORS)
    with pytest.raises(InputError, match="served_revenue_m"):
        F.revenue_table(quarters("2023Q3", effective_eflops=[1.0, 1.0]),
                        pd.Series([1.0, 1.0], index=q.index), fin, ANCHORS)


def test_annual_table_adds_1h23_actuals_and_keeps_complete_years():
    fin = FinanceInputs(traditional_growth_annual=0.0, traditional_h2_share=0.5)
    demand_values = [100.0, 110.0, 120.0, 130.0, 140.0, 150.0]
    q = quarters("2023Q3", served_revenue_m=demand_values)
    demand = pd.Series(demand_values, index=q.index)
    annual = F.annual_table(F.revenue_table(q, demand, fin, ANCHORS), ANCHORS)
    # 2023 = 1H23 actual (GenAI 0.203 * 1400 = 284.2) + 2H23 model (100 + 110); 2025 incomplete
    assert list(annual.index) == [2023, 2024]
    assert annual.at[2023, "actual_quarters"] == 2
    assert annual.at[2023, "genai_revenue_m"] == pytest.approx(284.2 + 210.0)
    assert annual.at[2023, "revenue_m"] == pytest.approx(1400.0 + 210.0 + 2 * 557.9)
    # 2024: GenAI 120 + 130 + 140 + 150 = 540; traditional 4 * 557.9 = 2231.6
    assert annual.at[2024, "genai_share"] == pytest.approx(540.0 / (540.0 + 2231.6))
    share, met = F.target_check(annual, ANCHORS)
    assert (share, met) == (None, None)
    with pytest.raises(InputError, match="valuation_year"):
        F.valuation_sales(annual, 2025)


def test_target_check_against_40_percent():
    annual = pd.DataFrame({"genai_share": [0.39, 0.41]}, index=pd.Index([2024, 2025]))
    assert F.target_check(annual, ANCHORS) == (0.41, True)
    low = annual.assign(genai_share=[0.5, 0.399])
    assert F.target_check(low, ANCHORS) == (0.399, False)


# ---------------------------------------------------------------------------------------------
# Valuation
# ---------------------------------------------------------------------------------------------


def test_note_implied_sales_by_hand():
    # (1.75 * 33,500 * 0.93 - 9,000) / 7.5 = (54,521.25 - 9,000) / 7.5 = 6,069.5
    assert F.implied_sales(1.75, **NOTE) == pytest.approx(6069.5, abs=1e-9)
    # (2.85 * 33,500 * 0.93 - 9,000) / 7.5 = (88,791.75 - 9,000) / 7.5 = 10,638.9
    assert F.implied_sales(2.85, **NOTE) == pytest.approx(10638.9, abs=1e-9)


@pytest.mark.parametrize("tp", [1.75, 2.85])
def test_feeding_implied_sales_back_gives_the_note_tp(tp):
    v = F.value_from_sales(F.implied_sales(tp, **NOTE), **NOTE)
    assert abs(v.target_price - tp) < 0.01
    assert v.target_price == pytest.approx(tp, rel=1e-12)


def test_bridge_adds_up_to_the_cent():
    v = F.value_from_sales(4321.987654321, **NOTE)
    assert v.ev_m == pytest.approx(7.5 * 4321.987654321, rel=1e-15)
    assert abs(v.equity_m - (v.ev_m + v.net_cash_m)) < CENT_RMB_M
    # TP = equity / shares / FX, checked the other way round
    assert abs(v.target_price * 33500.0 * 0.93 - v.equity_m) < CENT_RMB_M
    # 6,069.5 RMB m at 7.5x: EV 45,521.25; equity 54,521.25; TP = 54,521.25 / 31,155 = 1.75
    n = F.value_from_sales(6069.5, **NOTE)
    assert (n.ev_m, n.equity_m) == (45521.25, 54521.25)
    assert n.target_price == pytest.approx(1.75, abs=1e-12)


def test_sensitivity_grid_by_hand():
    fin = FinanceInputs()
    g = F.sensitivity_grid(4000.0, fin)
    assert len(g) == 7 * 7
    cell = g[(g["multiple"] == 5.0) & (g["sales_change"] == -0.3)].iloc[0]
    # (5 * 4000 * 0.7 + 9000) / 33,500 / 0.93 = 23,000 / 31,155
    assert cell["target_price"] == pytest.approx(23000.0 / 31155.0)
    centre = g[(g["multiple"] == 7.5) & (g["sales_change"] == 0.0)].iloc[0]
    assert centre["target_price"] == pytest.approx(
        F.value_from_sales(4000.0, **NOTE).target_price)
    wide = g.pivot(index="multiple", columns="sales_change", values="target_price")
    assert (wide.diff(axis=0).iloc[1:] > 0).all().all()
    assert (wide.diff(axis=1).iloc[:, 1:] > 0).all().all()


# ---------------------------------------------------------------------------------------------
# Pipeline and CLI
# ---------------------------------------------------------------------------------------------

VALUE_KEYS = {"target_price", "ev_m", "equity_m", "valuation_sales_m",
              "implied_valuation_sales_m", "implied_valuation_sales_old_m", "multiple",
              "net_cash_m", "shares_m", "fx_listing", "genai_share_target_year",
              "genai_target_met", "revenue", "sensitivity"}


def test_cli_value_json_object(run_json):
    d = run_json(*NOTE_VINTAGE, "value", "--scenario", "history")
    assert set(d) >= VALUE_KEYS
    assert d["multiple"] == 7.5
    assert d["implied_valuation_sales_m"] == pytest.approx(6069.5)
    assert d["implied_valuation_sales_old_m"] == pytest.approx(10638.9)
    # the bridge, recomputed from the printed figures
    assert abs(d["equity_m"] - (d["ev_m"] + d["net_cash_m"])) < 1e-6
    assert d["ev_m"] == pytest.approx(7.5 * d["valuation_sales_m"], rel=1e-9)
    assert d["target_price_ev_sales"] == pytest.approx(
        d["equity_m"] / d["shares_m"] / d["fx_listing"], rel=1e-9)
    assert d["target_price"] == pytest.approx(
        d["equity_fleet_dcf_m"] / d["shares_m"] / d["fx_listing"], rel=1e-9)
    # feeding the implied sales back through the bridge gives the note's HK$1.75
    back = F.value_from_sales(d["implied_valuation_sales_m"], d["multiple"],
                              d["net_cash_m"], d["shares_m"], d["fx_listing"])
    assert abs(back.target_price - 1.75) < 0.01
    note_row = next(r for r in d["bridge"] if r["case"].startswith("note TP"))
    assert abs(note_row["target_price"] - 1.75) < 0.01
    # revenue records add up and 2024 sums to the valuation sales
    rows = d["revenue"]
    assert {"period", "genai_revenue_m", "traditional_revenue_m", "revenue_m",
            "genai_share"} <= set(rows[0])
    for r in rows:
        assert r["revenue_m"] == pytest.approx(r["genai_revenue_m"]
                                                   + r["traditional_revenue_m"])
        assert r["genai_revenue_m"] <= r["genai_demand_m"] + 1e-9
        assert r["capacity_bound"] == (r["genai_revenue_m"] < r["genai_demand_m"] - 1e-6)
    # The baseline's own figures, pinned (any change to the wiring of plan or demand into
    # finance moves them): the fleet serves RMB 4,319m of the 4,346m of 2024 sales the demand
    # path asks for (the A100s and A800s serve at INT8; leasing grows with the market and part
    # of 2024Q4's is left unserved), so the EV/Sales TP is HK$1.329:
    # (7.5 x 4,319.2 + 9,000) / 33,500 / 0.93 = 1.3286.
    assert d["valuation_sales_m"] == pytest.approx(4319.2, abs=0.5)
    assert d["target_price_ev_sales"] == pytest.approx((7.5 * d["valuation_sales_m"] + 9000)
                                                           / 33_500 / 0.93, rel=1e-9)
    assert d["target_price_ev_sales"] == pytest.approx(1.329, abs=0.001)
    y2024 = sum(r["revenue_m"] for r in rows if r["period"].startswith("2024"))
    assert y2024 == pytest.approx(d["valuation_sales_m"])
    assert d["genai_target_year"] == 2025
    assert d["genai_target_met"] == (d["genai_share_target_year"] >= 0.40)
    assert len(d["sensitivity"]) == 49


def test_cli_value_multiple_option_and_errors(run_json, run_cli):
    d = run_json(*NOTE_VINTAGE, "value", "--scenario", "history", "--multiple", "5")
    assert d["multiple"] == 5.0
    # (6069.5 * 7.5) / 5 = 9,104.25: the HK$1.75 needs more sales at a lower multiple
    assert d["implied_valuation_sales_m"] == pytest.approx(9104.25)
    assert d["ev_m"] == pytest.approx(5.0 * d["valuation_sales_m"])
    code, out, err = run_cli("value", "--multiple", "-1")
    assert code == 2 and out == ""
    assert err.startswith("capacity: ") and "ev_sales_multiple" in err and len(
        err.strip().splitlines()) == 1
    code, _, err = run_cli("value", "--set", "finance.valuation_year=2031")
    assert code == 2 and "valuation_year" in err


def test_embargo_no_better_than_history():
    from capacity.scenarios import load_scenario, shipped_scenarios

    if "embargo-2024" not in shipped_scenarios():
        pytest.skip("data/scenarios/embargo-2024.toml (controls engine) is not shipped yet")
    from capacity.run import value_report

    hist = value_report(load_scenario("history"))
    emb = value_report(load_scenario("embargo-2024"))
    tol = 1e-6
    h_rev, e_rev = hist.tables["revenue"], emb.tables["revenue"]
    # over the horizon the embargo serves less (it has fewer chips); in 2024 alone it may serve
    # more tokens than history, which puts its scarce capacity into training sooner, so the
    # EV/Sales price on 2024E is not ordered, the DCF price is
    assert e_rev["genai_revenue_m"].sum() < h_rev["genai_revenue_m"].sum() - 1.0
    assert emb.scalars["target_price_dcf"] < hist.scalars["target_price_dcf"] - tol
