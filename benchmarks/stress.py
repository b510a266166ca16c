"""Time ``capacity stress`` per draw against the bare warm HiGHS re-solve of the same LP.

Run on demand (not part of the tests):

    python benchmarks/stress.py [--samples 400] [--rounds 5] [--scenario history] [--no-dask]

Measured in one process, interleaved and repeated (``--rounds``), with min and median per draw:

- ``highs re-solve (floor)``: the LP of every draw built beforehand (not timed); per draw only
  what HiGHS must do: push the changed costs, bounds and coefficients into the live model, reset
  the template basis and solve (:meth:`capacity.planner.solve.Resolver.solve`);
- ``draw inline``: everything a draw does in a worker (:func:`capacity.montecarlo.evaluate_batch`):
  inputs, demand, LP numbers through the planner's family functions, the same re-solve, KPIs
  and binding limits, all the draws as one batch. Target: <= 1.25 x the floor.
- ``draw, batches of B``: the same, cut into the batches a run of ``--samples`` draws uses
  (:func:`capacity.montecarlo.run.batch_size_for`; 25 for a few hundred draws), so the per-batch
  part is counted as a run pays it.

Then, once each, the whole run (draws, calibration and LP set-up once, N draws plus the tornado
cases, percentiles), wall clock: ``run inline``, ``run processes x2``, ``run dask x2``.

The uncertain inputs are those of ``data/scenarios/history-uncertain.toml``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from capacity import montecarlo as stress
from capacity.lp import _silence_highs_banner
from capacity.montecarlo.run import batch_size_for
from capacity.planner.model import renumber
from capacity.scenarios import load_scenario


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scenario", default="history")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    _silence_highs_banner()
    n = args.samples
    sc = load_scenario(args.scenario)
    specs = stress.parse_uncertain(load_scenario(stress.fallback_uncertain()).uncertain)
    draws = stress.sample_draws(specs, n, 1)
    ctx = stress.build_context(sc, specs, draws.min(axis=0), draws.max(axis=0))
    resolver = stress.resolver_for(ctx)
    models = []
    for row in draws:  # the floor's LPs, built beforehand
        inputs = stress.draw_inputs(ctx, row)
        dem = stress.demand_numbers(ctx, inputs)
        models.append(renumber(ctx.model, stress.draw_arrays(ctx, inputs, row, dem)))
    size = batch_size_for(n)
    floor, full, cut = [], [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for m in models:
            resolver.solve(m)
        floor.append((time.perf_counter() - t0) / n)
        t0 = time.perf_counter()
        stress.evaluate_batch(ctx, 0, draws)
        full.append((time.perf_counter() - t0) / n)
        t0 = time.perf_counter()
        for i in range(0, n, size):
            stress.evaluate_batch(ctx, i, draws[i:i + size])
        cut.append((time.perf_counter() - t0) / n)
    print(f"{args.scenario}: {n} draws x {args.rounds} rounds, {len(specs)} uncertain inputs, "
          f"{os.cpu_count()} CPUs; LP {ctx.model.num_col} columns x {ctx.model.num_row} rows")
    print(f"{'per draw':<26}{'min ms':>10}{'median ms':>11}")
    cut_label = f"draw, batches of {size}"
    for label, t in (("highs re-solve (floor)", floor), ("draw inline", full), (cut_label, cut)):
        print(f"{label:<26}{1e3 * min(t):>10.3f}{1e3 * statistics.median(t):>11.3f}")
    for label, t in (("ratio draw / floor", full), (f"ratio batches of {size}", cut)):
        print(f"{label:<26}{min(t) / min(floor):>10.2f}"
              f"{statistics.median(t) / statistics.median(floor):>11.2f}   (target <= 1.25)")
    runs = [("run inline", "inline", 1), ("run processes x2", "processes", 2)]
    if not args.no_dask:
        try:
            import distributed  # noqa: F401

            runs.append(("run dask x2", "dask", 2))
        except ImportError:
            print("(dask not installed: skipping the dask row)")
    print(f"\n{'whole run':<26}{'seconds':>10}{'draws/s':>11}")
    for label, ex, w in runs:
        t0 = time.perf_counter()
        stress.run_stress(sc, specs, n, 1, executor=ex, workers=w)
        s = time.perf_counter() - t0
        print(f"{label:<26}{s:>10.2f}{n / s:>11.0f}")


if __name__ == "__main__":
    main()
