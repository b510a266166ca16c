"""Time the purchase LP: model build and solve, default scenario and large synthetic cases.

Run on demand (not part of the tests):

    python benchmarks/plan.py [--repeat 15]

Cases, measured in one process, interleaved (case A, B, C, A, B, C, ...) and repeated, each with
its min and median (the default case runs 5 times in a row per round; its first run after the
large cases is reported apart, as ``history cold``):

- ``history``: the shipped default scenario (quarterly horizon to 2027Q4, full catalog): build
  (:func:`capacity.planner.build_model`) plus HiGHS solve (:func:`capacity.planner.solve.solve`)
  of the LP in a warm process; target <= 5 ms. This LP carries the shadow prices and is what
  stress draws re-solve in place.
- ``history lots``: the same with whole servers (the plan's default since whole lots: the MIP,
  solved after the LP); no target, reported so the cost of whole lots is on record.
- ``monthly120x40``: a 10-year monthly horizon x 40 chips; build target <= 60 ms.
- ``monthly240x200``: a 20-year monthly horizon x 200 chips; build target <= 1 s.

Each round also times a fixed pure-Python loop (``control``): its median/min is the machine's own
noise, printed last, so a median can be read against it (on a shared 2-core VM it is 1.5-1.7).

The synthetic chips have perturbed rates, prices and power, demand growing 3% a month, and
budgets, caps and power binding. The inputs of ``history`` (calibration, controls, demand) are
gathered once, outside the timings.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from capacity.lp import _silence_highs_banner
from capacity.planner import PlanData, build_model, plan_data
from capacity.planner.solve import solve
from capacity.scenarios import load_scenario


def large_case(n_chips: int = 40, months: int = 120, seed: int = 0) -> PlanData:
    """A synthetic monthly problem of the requested size (numbers only loosely realistic)."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2024-01", periods=months, freq="M", name="period")
    chips = [f"chip{i:03d}" for i in range(n_chips)]
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
        "training_demand_eflops": 2.0 * 1.03 ** np.arange(months),
        "leasing_demand_eflops": 0.5 * 1.03 ** np.arange(months),
        "inference_tn_tokens": 20.0 * 1.03 ** np.arange(months),
    }, index=periods)
    rates = pd.DataFrame({
        "training_value_m_per_eflops_quarter": 70.0 * 0.98 ** np.arange(months),
        "leasing_m_per_eflops": 21.0 * 0.98 ** np.arange(months),
        "rental_m_per_eflops": 25.0 * 0.98 ** np.arange(months),
        "token_price_per_m_tokens": 18.0 * 0.97 ** np.arange(months),
    }, index=periods)
    existing = pd.DataFrame(0.0, index=periods, columns=chips)
    existing.iloc[:, :4] = 2000.0
    power = pd.Series(np.linspace(40, 400, months), index=periods)
    years = sorted({p.year for p in periods})
    return PlanData(
        periods=periods, chips=chips, peak_tflops=peak, efficiency=eff, training_fit=fit,
        power_kw=kw, life_quarters=life, lead_quarters=lead, price_m=price, cap_units=cap,
        existing_units=existing, demand=demand,
        tokens_per_unit_tn=pd.Series(rng.uniform(0.001, 0.01, n_chips), index=chips),
        maintenance_m=base_price * 0.03 / 12, rates=rates,
        rental_cap_eflops=pd.Series(1.0, index=periods),
        budget_m={y: 4000.0 for y in years}, power_mw=power,
        electricity_per_kwh=0.7, discount_rate_annual=0.1, first_order_period=periods[0])


WARM = 5
"""Runs of the default case in a row per round."""


def control() -> None:
    """Fixed pure-Python work (60,000 multiply-adds): its spread across rounds is the machine's
    own noise, against which the medians above can be read."""
    s = 0
    for i in range(60_000):
        s += i * i


def fresh(data: PlanData) -> PlanData:
    """The same numbers without the arrays cached on ``data`` (so a build converts them)."""
    return data.with_numbers()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    _silence_highs_banner()
    t0 = time.perf_counter()
    history = plan_data(load_scenario("history"))
    inputs_ms = 1e3 * (time.perf_counter() - t0)
    cases = {"history": history, "monthly120x40": large_case(40, 120),
             "monthly240x200": large_case(200, 240)}
    build: dict[str, list[float]] = {k: [] for k in cases}
    total: dict[str, list[float]] = {"history": [], "history cold": []}
    lots: list[float] = []
    noise: list[float] = []
    size = {}
    solve(build_model(history))  # warm the process (imports, HiGHS banner)
    for _ in range(args.repeat):
        for name, data in cases.items():
            # the default case runs WARM times in a row each round (a warm process re-planning,
            # as a notebook or the explorer does); its first run after the large cases, whose
            # 100 MB of arrays flush the caches, is reported on its own line
            for k in range(WARM if name == "history" else 1):
                d = fresh(data)
                t0 = time.perf_counter()
                model = build_model(d)
                t1 = time.perf_counter()
                build[name].append(t1 - t0)
                size[name] = (model.num_col, model.num_row, int((model.a_val != 0).sum()))
                if name == "history":
                    solve(model)
                    total["history cold" if k == 0 else name].append(time.perf_counter() - t0)
            if name == "history":
                t0 = time.perf_counter()
                control()
                noise.append(time.perf_counter() - t0)
                d = fresh(data)
                t0 = time.perf_counter()
                mip = build_model(d, integer=True)
                solve(mip)
                lots.append(time.perf_counter() - t0)
    print(f"inputs for history (calibration, controls, demand), once: {inputs_ms:.0f} ms")
    print(f"{'case':<16}{'columns':>9}{'rows':>9}{'nonzeros':>10}{'what':>16}"
          f"{'min ms':>10}{'median ms':>11}{'target ms':>11}")
    targets = {("history", "build+solve"): 5.0, ("monthly120x40", "build"): 60.0,
               ("monthly240x200", "build"): 1000.0}
    size["history lots"] = size["history"]
    rows = [(name, what, times) for name in cases
            for what, times in (("build", build[name]), ("build+solve", total.get(name)))]
    rows.insert(2, ("history cold", "build+solve", total["history cold"]))
    rows.insert(3, ("history lots", "build+solve", lots))
    size["history cold"] = size["history"]
    for name, what, times in rows:
        if not times:
            continue
        n, m, nz = size[name]
        target = targets.get((name, what))
        print(f"{name:<16}{n:>9,}{m:>9,}{nz:>10,}{what:>16}{1e3 * min(times):>10.1f}"
              f"{1e3 * statistics.median(times):>11.1f}"
              f"{'' if target is None else f'{target:.0f}':>11}")


    print(f"machine noise: fixed pure-Python work {1e3 * min(noise):.2f} ms min, "
          f"{1e3 * statistics.median(noise):.2f} ms median (median/min "
          f"{statistics.median(noise) / min(noise):.2f}); medians above carry the same noise")


if __name__ == "__main__":
    main()
