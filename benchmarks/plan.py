"""Time the purchase LP: model build vs solve, against HiGHS solving the same MPS file directly.

Run on demand (not part of the tests):

    python benchmarks/plan.py [--repeat 5]

Cases:
- ``history``: the shipped default scenario (quarterly horizon to 2027Q4, full catalog).
- ``large``: a 10-year monthly horizon x 40 chips (the 16 catalog chips plus 24 synthetic variants
  with perturbed rates, prices and power; demand growing 3% a month; budgets and power binding).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from capacity.lp import _silence_highs_banner
from capacity.planner import PlanData, build_problem, plan_data, solve_data
from capacity.scenarios import load_scenario


def large_case(n_chips: int = 40, months: int = 120, seed: int = 0) -> PlanData:
    """A synthetic monthly problem of the requested size (numbers only loosely realistic)."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2024-01", periods=months, freq="M", name="period")
    chips = [f"chip{i:02d}" for i in range(n_chips)]
    peak = pd.Series(rng.uniform(100, 2500, n_chips), index=chips)
    eff = pd.Series(rng.uniform(0.6, 1.0, n_chips), index=chips)
    fit = pd.Series(rng.uniform(size=n_chips) > 0.3, index=chips)
    kw = pd.Series(rng.uniform(0.4, 2.0, n_chips), index=chips)
    life = pd.Series(rng.integers(36, 72, n_chips), index=chips)
    lead = pd.Series(rng.integers(1, 7, n_chips), index=chips)
    base_price = peak * rng.uniform(150, 400, n_chips) / 1e6  # RMB m per unit
    launch = rng.integers(0, months // 2, n_chips)
    price = pd.DataFrame(np.nan, index=periods, columns=chips)
    cap = pd.DataFrame(np.nan, index=periods, columns=chips)
    for j, c in enumerate(chips):
        price.iloc[launch[j]:, j] = base_price[c] * (0.99 ** np.arange(months - launch[j]))
        banned_from = rng.integers(launch[j], months + 24)
        cap.iloc[launch[j]:, j] = rng.uniform(200, 3000)
        cap.iloc[min(banned_from, months):, j] = 0.0
    demand = pd.DataFrame({
        "training": 2.0 * 1.03 ** np.arange(months),
        "inference": 4.0 * 1.03 ** np.arange(months),
    }, index=periods)
    existing = pd.DataFrame(0.0, index=periods, columns=chips)
    existing.iloc[:, :4] = 2000.0
    power = pd.Series(np.linspace(40, 400, months), index=periods)
    years = sorted({p.year for p in periods})
    return PlanData(
        periods=periods, chips=chips, peak_tflops=peak, efficiency=eff, training_fit=fit,
        power_kw=kw, life_quarters=life, lead_quarters=lead, price_rmb_m=price, cap_units=cap,
        existing_units=existing, demand_eflops=demand,
        budget_rmb_m={y: 4000.0 for y in years}, power_mw=power,
        electricity_rmb_per_kwh=0.7, discount_rate_annual=0.1, penalty_rmb_m_per_eflops=1e4,
        first_order_period=periods[0])


def time_case(name: str, data: PlanData, repeat: int) -> dict:
    import highspy

    build, solve, direct = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        prob, _ = build_problem(data)
        build.append(time.perf_counter() - t0)
    plan = None
    for _ in range(repeat):
        plan = solve_data(data)
        solve.append(plan.timings["solve_s"])
    with tempfile.TemporaryDirectory() as tmp:
        mps = Path(tmp) / f"{name}.mps"
        prob.writeMPS(str(mps))
        for _ in range(repeat):
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 1)
            h.readModel(str(mps))
            t0 = time.perf_counter()
            h.run()
            direct.append(time.perf_counter() - t0)
            obj = h.getInfo().objective_function_value
    return {
        "case": name, "variables": plan.extra["n_variables"],
        "constraints": plan.extra["n_constraints"],
        "build_ms": 1e3 * statistics.median(build),
        "pulp_solve_ms": 1e3 * statistics.median(solve),
        "highs_direct_ms": 1e3 * statistics.median(direct),
        "objective_match": abs(obj + plan.extra["objective_constant"] - plan.objective)
        <= 1e-6 * max(1.0, abs(plan.objective)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    _silence_highs_banner()
    t0 = time.perf_counter()
    data = plan_data(load_scenario("history"))
    inputs_ms = 1e3 * (time.perf_counter() - t0)
    rows = [time_case("history", data, args.repeat)]
    for months, n in [(60, 40), (120, 40)]:
        rows.append(time_case(f"monthly{months}x{n}", large_case(n, months),
                              max(1, args.repeat // 2)))
    df = pd.DataFrame(rows)
    print(f"inputs for history (calibration, controls, demand): {inputs_ms:.0f} ms")
    print(df.to_string(index=False, float_format=lambda x: f"{x:,.1f}"))


if __name__ == "__main__":
    main()
