"""Client memory and throughput of ``capacity stress`` as the number of draws grows (Dask).

Run on demand (long: not a test):

    python benchmarks/stress_scale.py [--draws 10000,100000] [--workers 2] [--scenario history]
                                      [--executor dask]

Each run is a fresh Python process (so its peak resident memory is its own): it loads the
scenario and the ``history-uncertain`` inputs, starts a ``distributed.LocalCluster`` with
``--workers`` single-thread worker processes and runs :func:`capacity.montecarlo.run_stress`.
Printed per run: draws, the client's peak RSS (``ru_maxrss``: the calling process only, the
workers are other processes) and its RSS before the run (after imports and loading), the wall
clock and draws per second. Workers reduce their batches (``capacity.montecarlo.reduce``), so the
client's peak should not grow with the draws.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from capacity import montecarlo as stress
from capacity.lp import _silence_highs_banner
from capacity.scenarios import load_scenario

n, workers, scenario, executor = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
_silence_highs_banner()
sc = load_scenario(scenario)
specs = stress.parse_uncertain(load_scenario(stress.fallback_uncertain()).uncertain)
import distributed  # noqa: F401  (imported before the baseline, as the run needs it)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
res = stress.run_stress(sc, specs, n, 1, executor=executor, workers=workers)
s = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"draws": n, "seconds": s, "rss_before_mb": before / 1024,
                  "peak_rss_mb": peak / 1024, "tp_p50": float(
                      res.percentiles.set_index("kpi").at["target_price", "p50"])}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", default="10000,100000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenario", default="history")
    ap.add_argument("--executor", default="dask", choices=("dask", "processes"))
    args = ap.parse_args()
    print(f"{args.scenario}, {args.executor} x{args.workers}")
    print(f"{'draws':>9}{'peak RSS MB':>13}{'RSS before MB':>15}{'seconds':>10}{'draws/s':>9}")
    for n in (int(x) for x in args.draws.split(",")):
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(args.workers),
                              args.scenario, args.executor], capture_output=True, text=True,
                             check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{n:>9}{r['peak_rss_mb']:>13.0f}{r['rss_before_mb']:>15.0f}"
              f"{r['seconds']:>10.1f}{n / r['seconds']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
