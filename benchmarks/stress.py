"""Time ``capacity stress``: draws per second by executor, against HiGHS alone on the same LP.

Run on demand (not part of the tests):

    python benchmarks/stress.py [--samples 2000] [--scenario history]

Rows:
- ``highs fresh (MPS)``: HiGHS reads the exported MPS and solves it from scratch, N times;
- ``highs re-solve``: one HiGHS model, the N draws' LP numbers pushed and re-solved in batches
  of 25 (what the pipeline does, without demand, finance or KPIs);
- ``pipeline inline`` / ``processes x2`` / ``dask x2``: the whole stress run (draws, calibration
  and LP set-up once, N draws + tornado cases, percentiles), wall clock.

The uncertain inputs are those of ``data/scenarios/history-uncertain.toml``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from capacity import stress
from capacity.lp import _silence_highs_banner
from capacity.scenarios import load_scenario


def bare_highs(ctx: stress.DrawContext, draws: np.ndarray) -> tuple[float, float]:
    """(fresh MPS solves, warm re-solves) seconds for len(draws) solves."""
    import highspy

    from capacity.planner.build import build_problem

    fp = ctx.planner
    # the LP numbers of every draw, computed beforehand (not timed)
    numbers = []
    for i, row in enumerate(draws):
        inputs = stress.draw_inputs(ctx, row, f"draw {i}")
        nums = stress.lp_numbers(ctx, inputs, row)
        dem = stress.demand_numbers(ctx, inputs)
        nums.demand_eflops = np.column_stack([dem["training_eflops"],
                                              dem["inference_eflops"] + dem["leasing_eflops"]])
        numbers.append(nums)
    from capacity.planner import plan_data

    prob, _ = build_problem(plan_data(load_scenario("history")))
    fd, path = tempfile.mkstemp(suffix=".mps")
    os.close(fd)
    prob.writeMPS(path)
    t0 = time.perf_counter()
    for _ in range(len(draws)):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.readModel(path)
        h.run()
    fresh = time.perf_counter() - t0
    os.unlink(path)
    t0 = time.perf_counter()
    for start in range(0, len(draws), stress.BATCH_SIZE):
        h = fp.fresh()
        for nums in numbers[start:start + stress.BATCH_SIZE]:
            fp.solve(h, nums)
    warm = time.perf_counter() - t0
    return fresh, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--scenario", default="history")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    _silence_highs_banner()
    n = args.samples
    sc = load_scenario(args.scenario)
    specs = stress.parse_uncertain(load_scenario(stress.FALLBACK_UNCERTAIN).uncertain)
    draws = stress.sample_draws(specs, n, 1)
    ctx = stress.build_context(sc, specs, draws.min(axis=0), draws.max(axis=0))
    fresh, warm = bare_highs(ctx, draws)
    rows = [("highs fresh (MPS)", fresh), ("highs re-solve", warm)]
    runs = [("pipeline inline", "inline", 1), ("pipeline processes x2", "processes", 2)]
    if not args.no_dask:
        try:
            import distributed  # noqa: F401

            runs.append(("pipeline dask x2", "dask", 2))
        except ImportError:
            print("(dask not installed: skipping the dask row)")
    for label, ex, w in runs:
        t0 = time.perf_counter()
        stress.run_stress(sc, specs, n, 1, executor=ex, workers=w)
        rows.append((label, time.perf_counter() - t0))
    print(f"\n{args.scenario}: {n} draws, {len(specs)} uncertain inputs, {os.cpu_count()} CPUs")
    print(f"{'run':<24}{'seconds':>10}{'draws/s':>10}{'ms/draw':>10}")
    for label, s in rows:
        print(f"{label:<24}{s:>10.2f}{n / s:>10.0f}{1000 * s / n:>10.2f}")


if __name__ == "__main__":
    main()
