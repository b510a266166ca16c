"""A two-chip, two-quarter purchase LP solved by hand, and a golden LP file.

Chips (lead time 0, life 10 quarters, no existing fleet, electricity free):
  A: 500 TFLOPS x efficiency 1.0 = 5e-4 effective EFLOPS/unit, training-fit, RMB 0.20 m/unit
  B: 250 TFLOPS x efficiency 0.8 = 2e-4 effective EFLOPS/unit, inference only, RMB 0.05 m/unit
Cost per effective EFLOPS: A 0.20 / 5e-4 = 400 RMB m; B 0.05 / 2e-4 = 250 RMB m.
Demand: training 1.0 EFLOPS in 2024Q1 and 2024Q2; inference 0.5 EFLOPS in 2024Q2 only.
B launches in 2024Q2 (no price in 2024Q1) and is capped at 1,000 units then (0.2 EFLOPS).

Worked optimum (discount 10%/yr, so buying later is cheaper: df(2024Q2) = 1.1**-0.25):
  2024Q1: 1.0 / 5e-4 = 2,000 A                                  -> 400 RMB m
  2024Q2: 1,000 B (0.2 EFLOPS, cap binds) + 0.3 / 5e-4 = 600 A   -> (50 + 120) x df
  objective = 400 + 170 x 0.976454 = 565.997 RMB m
Shadow price of the B cap in 2024Q2: one more B replaces 2e-4 / 5e-4 = 0.4 A:
  (0.4 x 0.20 - 0.05) x df = 0.03 x 0.976454 RMB m = RMB 29,294 per unit.
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


def two_chip_data(**overrides) -> PlanData:
    periods = pd.period_range("2024Q1", "2024Q2", freq="Q", name="period")
    chips = ["A", "B"]
    s = lambda a, b: pd.Series([a, b], index=chips)  # noqa: E731
    price = pd.DataFrame({"A": [0.20, 0.20], "B": [np.nan, 0.05]}, index=periods)
    cap = pd.DataFrame({"A": [np.nan, np.nan], "B": [np.nan, 1000.0]}, index=periods)
    kw = dict(
        periods=periods, chips=chips, peak_tflops=s(500.0, 250.0), efficiency=s(1.0, 0.8),
        training_fit=s(True, False), power_kw=s(1.0, 0.5), life_quarters=s(10, 10),
        lead_quarters=s(0, 0), price_rmb_m=price, cap_units=cap,
        existing_units=pd.DataFrame(0.0, index=periods, columns=chips),
        demand_eflops=pd.DataFrame({"training": [1.0, 1.0], "inference": [0.0, 0.5]},
                                   index=periods),
        discount_rate_annual=0.10, electricity_rmb_per_kwh=0.0, penalty_rmb_m_per_eflops=1e5,
    )
    kw.update(overrides)
    return PlanData(**kw)


def units(plan, chip, period):
    p = plan.purchases
    sel = p[(p["chip"] == chip) & (p["period"] == pd.Period(period, freq="Q"))]
    return float(sel["units"].sum())


def test_two_chip_optimum_matches_hand_solution():
    plan = solve_data(two_chip_data())
    assert plan.status == "optimal"
    assert units(plan, "A", "2024Q1") == pytest.approx(2000.0)
    assert units(plan, "A", "2024Q2") == pytest.approx(600.0)
    assert units(plan, "B", "2024Q2") == pytest.approx(1000.0)
    assert units(plan, "B", "2024Q1") == pytest.approx(0.0)
    assert plan.objective == pytest.approx(400 + 170 * DF_Q2, rel=1e-9)
    assert plan.quarters["shortfall_eflops"].sum() == pytest.approx(0.0, abs=1e-9)


def test_two_chip_shadow_price_of_the_cap():
    plan = solve_data(two_chip_data())
    b = plan.binding
    row = b[(b["constraint"] == "access") & (b["chip"] == "B")]
    assert len(row) == 1
    assert row["period"].iloc[0] == "2024Q2"
    assert row["unit"].iloc[0] == "RMB m per unit"
    assert row["shadow_price_rmb_m"].iloc[0] == pytest.approx(0.03 * DF_Q2, rel=1e-6)


def test_shortfall_instead_of_infeasible_when_everything_is_banned():
    # Ban both chips: nothing can be bought, demand of 1.0 / 1.5 EFLOPS is all shortfall.
    # (Shortfall is not discounted: 1e5 x 2.5 EFLOPS-quarters.)
    periods = pd.period_range("2024Q1", "2024Q2", freq="Q", name="period")
    zero = pd.DataFrame(0.0, index=periods, columns=["A", "B"])
    plan = solve_data(two_chip_data(cap_units=zero))
    assert plan.quarters["shortfall_eflops"].tolist() == pytest.approx([1.0, 1.5])
    assert plan.objective == pytest.approx(1e5 * 2.5)
    # Lifting the A ban by one unit in 2024Q1 avoids 5e-4 EFLOPS of shortfall in both
    # quarters (1e5 x 5e-4 x 2 = 100 RMB m) for RMB 0.20 m (paid in Q1, df = 1):
    # worth RMB 99.8 m per unit.
    b = plan.binding
    a_q1 = b[(b["constraint"] == "access") & (b["chip"] == "A") & (b["period"] == "2024Q1")]
    assert a_q1["shadow_price_rmb_m"].iloc[0] == pytest.approx(100 - 0.20, rel=1e-6)


def test_budget_caps_spend_and_leaves_shortfall():
    # RMB 300 m for 2024. Shortfall avoided per RMB m: A bought in Q1 serves both quarters,
    # 2 x 5e-4 / 0.20 = 5e-3 EFLOPS-quarters; B in Q2 2e-4 / 0.05 = 4e-3; A in Q2 only
    # 5e-4 / 0.195 = 2.6e-3. So all 300 buys 1,500 A in Q1 = 0.75 EFLOPS:
    # Q1 shortfall 1.0 - 0.75 = 0.25 (training); Q2 0.25 training + 0.5 inference = 0.75.
    plan = solve_data(two_chip_data(budget_rmb_m={2024: 300.0}))
    capex = plan.purchases["capex_rmb_m"].sum()
    assert capex == pytest.approx(300.0)
    assert units(plan, "A", "2024Q1") == pytest.approx(1500.0)
    assert plan.quarters["shortfall_eflops"].tolist() == pytest.approx([0.25, 0.75])
    assert (plan.binding["constraint"] == "budget").any()


def test_power_limit_binds():
    # 1.0 MW: A draws 1 kW/unit, so at most 1,000 A (0.5 EFLOPS) fit. Per kW, A gives
    # 5e-4 EFLOPS usable by both workloads, B (0.5 kW) 2e-4 / 0.5 = 4e-4 for inference only,
    # so the MW goes to 1,000 A bought in Q1: shortfall Q1 1.0 - 0.5 = 0.5 (training);
    # Q2 0.5 training + 0.5 inference = 1.0.
    power = pd.Series([1.0, 1.0], index=pd.period_range("2024Q1", "2024Q2", freq="Q"))
    plan = solve_data(two_chip_data(power_mw=power))
    assert plan.quarters["power_mw"].tolist() == pytest.approx([1.0, 1.0])
    assert units(plan, "A", "2024Q1") == pytest.approx(1000.0)
    assert plan.quarters["shortfall_eflops"].tolist() == pytest.approx([0.5, 1.0])
    assert (plan.binding["constraint"] == "power").any()


def test_integer_lots_are_whole_servers():
    plan = solve_data(two_chip_data(lot_units=8), integer=True)
    lots = plan.purchases["units"] / 8
    assert np.allclose(lots, lots.round())
    assert plan.quarters["shortfall_eflops"].sum() == pytest.approx(0.0, abs=1e-9)


def test_golden_lp_file_locks_the_formulation(tmp_path):
    prob = to_pulp(build_model(two_chip_data())).problem
    out = tmp_path / "two_chip.lp"
    prob.writeLP(str(out))
    assert out.read_text() == GOLDEN.read_text(), (
        "the LP formulation changed; if intended, regenerate tests/golden/two_chip.lp")
