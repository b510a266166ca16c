"""A two-chip, two-quarter NPV purchase LP solved by hand, and a golden LP file.

The worked example of docs/model.md ("A worked example"). Lead time 0, life 1 quarter (so no
residual value), no existing fleet, electricity and maintenance free, discount 10% a year
(df(2024Q2) = 1.1 ** -0.25 = 0.976454).

Chips:
  A: 500 TFLOPS x efficiency 1.0 = 5e-4 EFLOPS/unit, training-fit, 0.001 tn tokens a quarter,
     all-in RMB 0.20 m: RMB 400 m per EFLOPS-quarter of training.
  B: 250 TFLOPS x 0.8 = 2e-4 EFLOPS/unit, inference only, 0.004 tn tokens a quarter,
     all-in RMB 0.05 m; launches in 2024Q2 (no price in 2024Q1), capped at 400 units.
Rates (both quarters): own training worth RMB 600 m per EFLOPS-quarter; rented training
compute RMB 300 m, at most 0.1 EFLOPS a quarter; tokens RMB 20 m per tn.
Demand: training 1.0 EFLOPS in both quarters; tokens 2 tn in 2024Q2 only; no leasing.

Worked optimum:
  training: rent is cheaper than A (300 < 400 per EFLOPS), so rent 0.1 and buy 0.9 / 5e-4 =
  1,800 A in each quarter; serving it is worth 600 > 400, so all of it is served.
  tokens: B serves a tn for 0.05 / 0.004 = RMB 12.5 m < 20, so buy the 400 B allowed (1.6 tn);
  an A would serve a tn for 0.20 / 0.001 = RMB 200 m > 20, so 0.4 tn is left unserved.
  NPV = [600 - 30 - 360] + [600 + 32 - 30 - 360 - 20] x df = 210 + 222 x 0.976454
      = 426.773 RMB m
Shadow prices (relax by one unit):
  B cap 2024Q2: one more B serves 0.004 tn worth 0.08 for 0.05: 0.03 x df RMB m per unit.
  rental cap 2024Q1: one EFLOPS more rent replaces 2,000 A: 400 - 300 = RMB 100 m per EFLOPS.
  training demand 2024Q1: one EFLOPS more is served by A: 600 - 400 = RMB 200 m per EFLOPS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capacity.planner import PlanData, build_model, solve_data
from capacity.planner.export import to_pulp

DF_Q2 = 1.1 ** -0.25
GOLDEN = Path(__file__).parent / "golden" / "two_chip.lp"
NPV = 210 + 222 * DF_Q2


def two_chip_data(**overrides) -> PlanData:
    periods = pd.period_range("2024Q1", "2024Q2", freq="Q", name="period")
    chips = ["A", "B"]
    s = lambda a, b: pd.Series([a, b], index=chips)  # noqa: E731
    price = pd.DataFrame({"A": [0.20, 0.20], "B": [np.nan, 0.05]}, index=periods)
    cap = pd.DataFrame({"A": [np.nan, np.nan], "B": [np.nan, 400.0]}, index=periods)
    kw = dict(
        periods=periods, chips=chips, peak_tflops=s(500.0, 250.0), efficiency=s(1.0, 0.8),
        training_fit=s(True, False), power_kw=s(1.0, 0.5), life_quarters=s(1, 1),
        lead_quarters=s(0, 0), price_m=price, cap_units=cap,
        existing_units=pd.DataFrame(0.0, index=periods, columns=chips),
        demand=pd.DataFrame({"training_demand_eflops": [1.0, 1.0],
                             "leasing_demand_eflops": [0.0, 0.0],
                             "inference_tn_tokens": [0.0, 2.0]}, index=periods),
        tokens_per_unit_tn=s(0.001, 0.004), maintenance_m=s(0.0, 0.0),
        rates=pd.DataFrame({"training_value_m_per_eflops_quarter": [600.0, 600.0],
                            "leasing_m_per_eflops": [100.0, 100.0],
                            "rental_m_per_eflops": [300.0, 300.0],
                            "token_price_per_m_tokens": [20.0, 20.0]}, index=periods),
        rental_cap_eflops=pd.Series([0.1, 0.1], index=periods),
        discount_rate_annual=0.10, electricity_per_kwh=0.0,
    )
    kw.update(overrides)
    return PlanData(**kw)


def units(plan, chip, period):
    p = plan.purchases
    sel = p[(p["chip"] == chip) & (p["period"] == pd.Period(period, freq="Q"))]
    return float(sel["units"].sum())


def binding(plan, constraint, period, chip=""):
    b = plan.binding
    row = b[(b["constraint"] == constraint) & (b["period"] == period) & (b["chip"] == chip)]
    assert len(row) == 1, (constraint, period, chip)
    return row.iloc[0]


def test_two_chip_optimum_matches_hand_solution():
    plan = solve_data(two_chip_data())
    assert plan.status == _highs_status(plan.extra["model"])
    for q in ("2024Q1", "2024Q2"):
        assert units(plan, "A", q) == pytest.approx(1800.0)
    assert units(plan, "B", "2024Q2") == pytest.approx(400.0)
    assert plan.objective == pytest.approx(NPV, rel=1e-9)
    q = plan.quarters
    assert q["rented_eflops"].tolist() == pytest.approx([0.1, 0.1])
    assert q["training_served_eflops"].tolist() == pytest.approx([1.0, 1.0])
    assert q["training_shortfall_eflops"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert q["inference_served_tn_tokens"].tolist() == pytest.approx([0.0, 1.6])
    assert q["inference_shortfall_tn_tokens"].tolist() == pytest.approx([0.0, 0.4])
    assert q["served_revenue_m"].tolist() == pytest.approx([0.0, 32.0])
    # compute serving tokens: in 2024Q2 the 400 B (2e-4 EFLOPS each, 0.08 EFLOPS) serve 1.6 tn,
    # all of their 400 x 0.004 = 1.6 tn capacity; every A trains (1,800 x 5e-4 = 0.9 EFLOPS)
    assert q["inference_served_eflops"].tolist() == pytest.approx([0.0, 0.08])
    assert q["served_compute_eflops"].tolist() == pytest.approx([1.0, 1.08])
    assert q["rental_cost_m"].tolist() == pytest.approx([30.0, 30.0])


def test_two_chip_shadow_prices_by_hand():
    plan = solve_data(two_chip_data())
    cap = binding(plan, "access", "2024Q2", "B")
    assert cap["unit"] == "RMB m per unit"
    assert cap["shadow_price"] == pytest.approx(0.03 * DF_Q2, rel=1e-6)
    rent = binding(plan, "rental", "2024Q1")
    assert rent["shadow_price"] == pytest.approx(100.0, rel=1e-6)
    assert rent["unit"] == "RMB m per EFLOPS"
    dem = binding(plan, "training_demand", "2024Q1")
    assert dem["shadow_price"] == pytest.approx(200.0, rel=1e-6)
    assert not cap["degenerate"] and not rent["degenerate"] and not dem["degenerate"]


def test_nothing_bought_when_everything_is_banned_and_renting_closed():
    # No chip, no rent: nothing is served, the NPV is 0 and the unmet training is exactly the
    # demand (never more).
    periods = pd.period_range("2024Q1", "2024Q2", freq="Q", name="period")
    zero = pd.DataFrame(0.0, index=periods, columns=["A", "B"])
    plan = solve_data(two_chip_data(cap_units=zero,
                                    rental_cap_eflops=pd.Series([0.0, 0.0], index=periods)))
    assert plan.objective == pytest.approx(0.0, abs=1e-9)
    assert plan.quarters["training_shortfall_eflops"].tolist() == pytest.approx([1.0, 1.0])
    assert plan.quarters["inference_shortfall_tn_tokens"].tolist() == pytest.approx([0.0, 2.0])
    # Lifting the A ban by one unit in 2024Q1 serves 5e-4 EFLOPS of training worth 600 each
    # for RMB 0.20 m: 0.30 - 0.20 = RMB 0.10 m per unit.
    a_q1 = binding(plan, "access", "2024Q1", "A")
    assert a_q1["shadow_price"] == pytest.approx(0.10, rel=1e-6)


def test_budget_caps_spend():
    # RMB 300 m for 2024, paid at order. Net value per RMB m: B 0.03 / 0.05 = 0.6 (but
    # discounted: 0.6 x df); A 0.10 / 0.20 = 0.5 in Q1, 0.5 x df in Q2 (A costs and earns in
    # the same quarter). So the 300 buys 400 B (20) first, then A in Q1: 280 / 0.20 = 1,400 A
    # (A in Q1 earns 0.5 per RMB m undiscounted, more than A in Q2's 0.5 x df).
    plan = solve_data(two_chip_data(budget_m={2024: 300.0}))
    assert plan.purchases["capex_m"].sum() == pytest.approx(300.0)
    assert units(plan, "B", "2024Q2") == pytest.approx(400.0)
    assert units(plan, "A", "2024Q1") == pytest.approx(1400.0)
    assert units(plan, "A", "2024Q2") == pytest.approx(0.0, abs=1e-6)
    b = binding(plan, "budget", "2024")
    assert b["shadow_price"] == pytest.approx(0.5, rel=1e-6)


def test_power_limit_binds():
    # 0.5 MW: A draws 1 kW and earns 0.10 a unit (0.1 per kW); B draws 0.5 kW and earns 0.03
    # (0.06 per kW), so Q1 takes 500 A; Q2 500 A (0.5 MW) too, no B.
    power = pd.Series([0.5, 0.5], index=pd.period_range("2024Q1", "2024Q2", freq="Q"))
    plan = solve_data(two_chip_data(power_mw=power))
    assert plan.quarters["power_mw"].tolist() == pytest.approx([0.5, 0.5])
    assert units(plan, "A", "2024Q1") == pytest.approx(500.0)
    assert units(plan, "A", "2024Q2") == pytest.approx(500.0)
    assert units(plan, "B", "2024Q2") == pytest.approx(0.0, abs=1e-6)
    p = binding(plan, "power", "2024Q1")
    assert p["shadow_price"] == pytest.approx(0.10 / 0.001, rel=1e-6)  # per MW


def test_integer_lots_are_whole_servers():
    plan = solve_data(two_chip_data(lot_units=8), integer=True)
    lots = plan.purchases["units"] / 8
    assert np.allclose(lots, lots.round())
    assert plan.objective <= NPV + 1e-9


def test_golden_lp_file_locks_the_formulation(tmp_path):
    prob = to_pulp(build_model(two_chip_data())).problem
    out = tmp_path / "two_chip.lp"
    prob.writeLP(str(out))
    assert out.read_text() == GOLDEN.read_text(), (
        "the LP formulation changed; if intended, regenerate tests/golden/two_chip.lp")


def _highs_status(model) -> str:
    """The model status a fresh HiGHS gives ``model``, lower case (independent of the
    planner's read-back)."""

    from capacity.planner.solve import highs, pass_model

    h = highs()
    pass_model(h, model)
    h.run()
    return h.modelStatusToString(h.getModelStatus()).lower()


def test_plan_status_is_the_solvers():
    """The plan's status is the one its solution carries (the solver's), not a constant: a
    solution marked otherwise reads back marked otherwise."""
    from dataclasses import replace

    from capacity.planner.results import extract

    data = two_chip_data()
    plan = solve_data(data)
    sol = plan.extra["solution"]
    assert sol.status == _highs_status(plan.extra["model"]) == "optimal"
    odd = extract(plan.extra["model"], data, replace(sol, status="time limit reached"), None,
                  plan.binding, plan.purchase_value)
    assert odd.status == "time limit reached"

