"""P&L, cash, DCF and target price by method (issue 14): identities, hand-worked toys and the
shipped scenarios."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cli_json

from capacity import finance as F
from capacity.cli import main
from capacity.compute_demand import quarter_number
from capacity.errors import InputError
from capacity.metrics.costs import straight_line_m
from capacity.scenarios import load_scenario

TOL = 1e-5
"""Absolute tolerance of the identities on JSON output (rounded to 1e-6). [RMB m]"""


@pytest.fixture(scope="module")
def hist() -> dict:
    return cli_json("value", "-s", "history")


@pytest.fixture(scope="module")
def fin():
    return load_scenario("history").inputs.finance


# --------------------------------------------------------------------------------------------
# Identities on the shipped report
# --------------------------------------------------------------------------------------------


def test_gross_profit_is_revenue_less_cost_of_sales(hist):
    for rows in (hist["pnl"], hist["pnl_by_quarter"]):
        assert rows
        for r in rows:
            assert r["gross_profit_m"] == pytest.approx(
                r["revenue_m"] - r["cost_of_sales_m"], abs=TOL)
            assert r["adjusted_net_loss_m"] == pytest.approx(
                r["net_loss_m"] - r["adjustments_m"], abs=TOL)
            parts = (r["depreciation_m"] + r["power_cost_m"] + r["maintenance_m"]
                     + r["rental_cost_m"] + r["other_cost_of_sales_m"])
            assert r["cost_of_sales_m"] == pytest.approx(parts, abs=TOL)
            assert r["ebitda_m"] == pytest.approx(
                r["gross_profit_m"] - r["opex_m"] + r["depreciation_m"], abs=TOL)


def test_yearly_pnl_is_the_sum_of_its_quarters(hist):
    q = pd.DataFrame(hist["pnl_by_quarter"])
    q["year"] = q["period"].str[:4].astype(int)
    for r in hist["pnl"]:
        sel = q[q["year"] == r["year"]]
        assert len(sel) == 4
        assert r["actual_quarters"] == int(sel["actual"].sum())
        for c in ("revenue_m", "genai_revenue_m", "depreciation_m", "opex_m",
                  "ebitda_m", "net_loss_m", "adjusted_net_loss_m"):
            assert r[c] == pytest.approx(sel[c].sum(), abs=1e-5)
        assert r["gross_margin"] == pytest.approx(r["gross_profit_m"] / r["revenue_m"])


def test_net_cash_moves_by_free_cash_flow(hist, fin):
    prev = fin.net_cash_m  # the last reported balance, 30 Jun 2023
    assert hist["cash"][0]["period"] == "2023Q3"
    for r in hist["cash"]:
        assert r["net_cash_m"] == pytest.approx(prev + r["fcf_m"], abs=1e-5)
        # the working-capital simplification: FCF = EBITDA - capex paid, nothing else
        assert r["fcf_m"] == pytest.approx(r["ebitda_m"] - r["capex_paid_m"],
                                               abs=TOL)
        assert r["below_floor"] == (r["net_cash_m"] < fin.cash_floor_m)
        prev = r["net_cash_m"]


def test_capex_is_paid_in_the_order_quarter(hist):
    cash = {r["period"]: r["capex_paid_m"] for r in hist["cash"]}
    by_order: dict[str, float] = {}
    for r in hist["cohorts"]:
        by_order[r["order_period"]] = by_order.get(r["order_period"], 0.0) + r["capex_m"]
    for p, v in by_order.items():
        if p in cash:
            assert cash[p] == pytest.approx(v, abs=1e-5)
    assert sum(cash.values()) == pytest.approx(
        sum(v for p, v in by_order.items() if p in cash), abs=1e-5)


def test_target_price_times_shares_times_fx_is_equity(hist, fin):
    for r in hist["methods"]:
        if r["applies"]:
            assert r["target_price"] * fin.shares_m * fin.fx_listing == pytest.approx(
                r["equity_m"], rel=1e-9)
            assert r["equity_m"] == pytest.approx(r["ev_m"] + fin.net_cash_m)
    dcf = next(r for r in hist["methods"] if r["method"] == "dcf")
    assert dcf["target_price"] == pytest.approx(hist["target_price_dcf"])


def test_default_blend_is_the_notes_method_and_reproduces_its_check(hist):
    # blend weights 1/0/0 (baseline.toml): the multiples' TP is the EV/Sales TP (the headline
    # is the fleet DCF, tests/test_valuation_headline.py)
    assert hist["target_price_multiples"] == pytest.approx(hist["target_price_ev_sales"])
    assert hist["blend_weight_ev_sales"] == 1.0
    # HK$1.75 on 7.5x 2024E: (1.75 x 33,500 x 0.93 - 9,000) / 7.5 = 6,069.5 -> HK$1.75 again
    assert hist["implied_valuation_sales_m"] == pytest.approx(6069.5)
    assert hist["note_check_target_price"] == pytest.approx(1.75)
    assert hist["note_check_reproduced"] is True
    assert hist["ev_ebitda_applies"] is False  # 2024E EBITDA is negative
    assert hist["target_price_ev_ebitda"] is None


def test_existing_fleet_depreciation_is_its_book_value_over_its_life(hist, fin):
    per_q = fin.existing_fleet_book_value_m / fin.existing_fleet_remaining_life_quarters
    first = next(r for r in hist["pnl_by_quarter"] if not r["actual"])  # 2023Q3: deliveries
    # of 2023Q3 are in the cohorts
    new = sum(r["depreciation_per_quarter_m"] for r in hist["cohorts"]
              if r["period"] <= "2023Q3" < _plus(r["period"], r["life_quarters"]))
    assert first["depreciation_m"] == pytest.approx(per_q + new, abs=1e-6)


def _plus(period: str, n: int) -> str:
    return str(pd.Period(period, freq="Q") + n)


# --------------------------------------------------------------------------------------------
# Array functions, by hand
# --------------------------------------------------------------------------------------------


def test_cohort_depreciation_by_hand_and_sums_to_capex():
    # RMB 120m delivered in position 2 over 4 quarters: 30 a quarter in positions 2..5
    dep = straight_line_m(10, np.array([2]), np.array([120.0]), np.array([4]))
    assert dep.tolist() == [0, 0, 30, 30, 30, 30, 0, 0, 0, 0]
    # three cohorts, one starting before the window and one running past it
    d, cap, life = np.array([-3, 0, 7]), np.array([80.0, 100.0, 90.0]), np.array([8, 5, 6])
    whole = straight_line_m(30, d + 10, cap, life)  # a window holding every life
    for i in range(3):
        one = straight_line_m(30, d[i:i + 1] + 10, cap[i:i + 1], life[i:i + 1])
        assert one.sum() == pytest.approx(cap[i])
    assert whole.sum() == pytest.approx(cap.sum())
    cut = straight_line_m(10, d, cap, life)  # inside the 10 quarters only
    assert cut.sum() == pytest.approx(80 / 8 * 5 + 100 + 90 / 6 * 3)


def test_existing_depreciation_by_hand():
    assert F.existing_depreciation_array(5, 300.0, 3).tolist() == [100, 100, 100, 0, 0]


def test_opex_line_follows_the_yearly_total_convention():
    base = quarter_number("2023Q2")
    qn = np.arange(quarter_number("2023Q1"), quarter_number("2025Q4") + 1)
    line = F.opex_line_array(qn, base, 1780.0, -0.10)
    assert line[:2].sum() == pytest.approx(1780.0)  # the base half-year is B
    years = qn // 4
    tot = {y: line[years == y].sum() for y in (2023, 2024, 2025)}
    assert tot[2024] / tot[2023] == pytest.approx(0.9)
    assert tot[2025] / tot[2024] == pytest.approx(0.9)
    flat = F.opex_line_array(qn, base, 1780.0, 0.0)
    assert np.allclose(flat, 890.0)


def test_cash_path_and_runway_by_hand():
    c = F.cash_arrays(np.array([-100.0, -100.0, -100.0]), np.array([0.0, 50.0, 0.0]),
                      300.0, 100.0)
    assert c["fcf_m"].tolist() == [-100, -150, -100]
    assert c["net_cash_m"].tolist() == [200, 50, -50]
    assert c["below_floor"].tolist() == [False, True, True]
    assert c["runway_quarters"] == 1 and c["funding_need_index"] == 1
    never = F.cash_arrays(np.array([10.0, 10.0]), np.zeros(2), 300.0, 100.0)
    assert never["runway_quarters"] == 2 and never["funding_need_index"] == -1


def test_dcf_on_a_three_year_toy_by_hand():
    # FCF 100, 110, 121 at the ends of years 1-3 (quarters 4, 8, 12), WACC 10%, g 2%,
    # terminal EBIT 200 taxed at 25% -> NOPAT 150; TV = 150 x 1.02 / 0.08 = 1,912.5
    # PV = 100/1.1 + 110/1.21 + 121/1.331 = 90.909 + 90.909 + 90.909 = 272.727
    # PV(TV) = 1,912.5 / 1.331 = 1,436.889;  EV = 1,709.616
    r = F.dcf_ev(np.array([100.0, 110.0, 121.0]), np.array([4, 8, 12]), 200.0, 0.10, 0.02,
                 0.25)
    assert r["terminal_value_m"] == pytest.approx(1912.5)
    assert r["pv_fcf_m"].sum() == pytest.approx(300.0 / 1.1)
    assert r["pv_terminal_m"] == pytest.approx(1912.5 / 1.331)
    assert r["ev_m"] == pytest.approx(300.0 / 1.1 + 1912.5 / 1.331)
    assert r["ev_m"] == pytest.approx(1709.616, abs=1e-3)
    # a terminal loss is not taxed: NOPAT = EBIT = -80 -> TV = -80 x 1.02 / 0.08 = -1,020
    loss = F.dcf_ev(np.array([0.0, 0.0, 0.0]), np.array([4, 8, 12]), -80.0, 0.10, 0.02, 0.25)
    assert loss["terminal_value_m"] == pytest.approx(-1020.0)
    with pytest.raises(InputError, match="terminal_growth_annual"):
        F.dcf_ev(np.array([1.0]), np.array([4]), 1.0, 0.05, 0.05, 0.0)


def test_equity_and_target_price_by_hand():
    # EV 45,521.25 + net cash 9,000 = 54,521.25; / 33,500 / 0.93 = HK$1.75
    eq, tp = F.equity_and_target_price(45521.25, 9000.0, 33500.0, 0.93)
    assert eq == pytest.approx(54521.25)
    assert tp == pytest.approx(1.75)


def test_blend_renormalises_over_the_methods_that_apply():
    tp, w = F.blend_target_price({"ev_sales": 1.2, "ev_ebitda": None, "dcf": 0.4},
                                 {"ev_sales": 0.25, "ev_ebitda": 0.5, "dcf": 0.25})
    assert w == {"ev_sales": 0.5, "dcf": 0.5}
    assert tp == pytest.approx(0.8)
    with pytest.raises(InputError, match="blend_weights"):
        F.blend_target_price({"ev_sales": 1.2, "ev_ebitda": None, "dcf": 0.4},
                             {"ev_sales": 0.0, "ev_ebitda": 1.0, "dcf": 0.0})


def test_a_half_blend_is_the_mean_of_ev_sales_and_dcf():
    d = cli_json("value", "-s", "history", "--set", "finance.blend_weights.dcf=1.0")
    assert d["blend_weight_dcf"] == pytest.approx(0.5)
    assert d["target_price_multiples"] == pytest.approx(
        (d["target_price_ev_sales"] + d["target_price_dcf"]) / 2)


def test_dcf_sensitivity_grid_centre_is_the_dcf_price(hist, fin):
    grid = pd.DataFrame(hist["dcf_sensitivity"])
    assert len(grid) == len(fin.sensitivity_wacc_annual) * len(
        fin.sensitivity_terminal_growth_annual)
    centre = grid[(grid["wacc_annual"] == fin.wacc_annual)
                  & (grid["terminal_growth_annual"] == fin.terminal_growth_annual)]
    assert centre["target_price"].iloc[0] == pytest.approx(hist["target_price_dcf"])
    # a higher WACC shrinks the (negative) terminal value in the baseline: TP rises with WACC
    g = grid[grid["terminal_growth_annual"] == fin.terminal_growth_annual]
    assert g["target_price"].is_monotonic_increasing == (hist["pv_terminal_m"] < 0)


# --------------------------------------------------------------------------------------------
# Scenarios move value (the DCF registers capex and served compute)
# --------------------------------------------------------------------------------------------


SHIPPED = ["history", "no-2023-update", "embargo-2024", "h20-ban-stays", "h200-opens-2026",
           "domestic-squeeze"]


def test_dcf_separates_the_shipped_scenarios_and_orders_the_export_controls():
    docs = {s: cli_json("value", "-s", s) for s in SHIPPED}
    tp = {s: d["target_price_dcf"] for s, d in docs.items()}
    capex = {s: tuple(round(r["capex_paid_m"], 6) for r in d["cash"])
             for s, d in docs.items()}
    served = {s: tuple(round(r["genai_revenue_m"], 6) for r in d["pnl_by_quarter"])
              for s, d in docs.items()}
    for i, a in enumerate(SHIPPED):
        for b in SHIPPED[i + 1:]:
            if capex[a] != capex[b] or served[a] != served[b]:
                assert abs(tp[a] - tp[b]) > 1e-6, (a, b)
    assert tp["embargo-2024"] < tp["history"] < tp["no-2023-update"]


STRESS_TABLE = {
    "planner.price_usd.H20": {"p5": 10000, "p50": 11500, "p95": 13000},
    "planner.datacenter_mw.2025Q1": {"dist": "uniform", "low": 80, "high": 130},
    "planner.pue": {"dist": "uniform", "low": 1.2, "high": 1.5},
    "finance.wacc_annual": {"dist": "uniform", "low": 0.10, "high": 0.14},
    # the all-in cost basis moves per draw too (it was once fixed at the template's)
    "planner.network_share_training": {"dist": "uniform", "low": 0.05, "high": 0.25},
    "planner.system_per_unit_by_chip.L20": {"dist": "uniform", "low": 10000, "high": 30000},
}


def test_stress_draw_dcf_matches_the_value_command(history):
    """A draw re-solves the continuous relaxation (docs/model.md), so it matches ``value`` on
    the relaxed plan of the same inputs."""
    from capacity import montecarlo as stress
    from capacity.planner import plan
    from capacity.run import value_report

    specs = stress.parse_uncertain(STRESS_TABLE)
    draws = stress.sample_draws(specs, 2, seed=5)
    ctx = stress.build_context(history, specs, draws.min(axis=0), draws.max(axis=0))
    h = stress.resolver_for(ctx)
    seen = set()
    for row in draws:
        k, _, _ = stress.evaluate_draw(ctx, h, row, "test draw")
        drawn = history.with_inputs(stress.draw_inputs(ctx, row, "test draw"))
        v = value_report(drawn, plan_result=plan(drawn, integer=False)).scalars
        assert k["target_price_dcf"] == pytest.approx(v["target_price_dcf"], rel=1e-7)
        assert k["target_price"] == pytest.approx(v["target_price"], rel=1e-9)
        seen.add(round(k["target_price_dcf"], 9))
    assert len(seen) == 2  # the draws move the DCF


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("setting, field", [
    ("finance.terminal_growth_annual=0.2", "terminal_growth_annual"),
    ("finance.wacc_annual=1.5", "wacc_annual"),
    ("finance.blend_weights.ev_sales=0.0", "blend_weights"),
    ("finance.existing_fleet_remaining_life_quarters=0", "existing_fleet_remaining_life"),
    ("finance.valuation_method='pe'", "valuation_method"),
])
def test_bad_finance_input_is_one_line_and_exit_2(setting, field):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["value", "-s", "history", "--set", setting])
    text = err.getvalue().strip()
    assert code == 2
    assert "Traceback" not in text
    assert field in text
