"""Time what ``capacity serve`` does after one change of a field (server side, no browser).

Run on demand (not part of the tests):

    python benchmarks/app.py [--repeat 10]

In a warm process (the first view solved, so the calibration is cached), each repeat changes one
input to a value not seen before and times :func:`capacity.app.state.evaluate` (load the
scenario with the ``--set`` items, :func:`capacity.plan`, the valuation of that plan), for the
EV/Sales multiple, a capex budget and a rule toggle; then the same settings again (served from
the cache). Target (issue 18): a re-solve after one change <= 1 s. The browser's share (a few
tenths of a second to draw) is measured by ``tests/test_app.py``, which prints both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from capacity.app.state import Settings, clear_cache, evaluate

RULES = ["oct-2022", "oct-2023", "embargo-2024", "hbm-dec-2024"]
"""The rules of the shipped embargo-2024 scenario (one is switched off per repeat)."""


def changes(i: int) -> dict[str, Settings]:
    """One change of each kind, the i-th value of it."""
    return {
        "multiple": Settings("embargo-2024", None, (f"finance.ev_sales_multiple={7.0 + i / 8}",)),
        "capex budget": Settings("embargo-2024", None,
                                 (f"planner.capex_budget_m.2024={2500 + 100 * i}",)),
        "rule toggle": Settings("embargo-2024", None, (
            "controls.rules=" + json.dumps([r for k, r in enumerate(RULES) if k != i % 4]),
            f"planner.pue={1.3 + i / 1000}")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    clear_cache()
    evaluate(Settings("embargo-2024"))  # warm: calibration, imports
    times: dict[str, list[float]] = {}
    cached: list[float] = []
    for i in range(args.repeat):
        for name, s in changes(i).items():
            t0 = time.perf_counter()
            ev, hit = evaluate(s)
            times.setdefault(name, []).append(time.perf_counter() - t0)
            assert ev.error is None and not hit, ev.error
            t0 = time.perf_counter()
            evaluate(s)
            cached.append(time.perf_counter() - t0)
    for name, ts in times.items():
        print(f"{name:14s} re-solve: min {min(ts):.3f} s  median {statistics.median(ts):.3f} s"
              f"  (target <= 1 s, {len(ts)} repeats)")
    print(f"{'cached':14s} lookup:   median {statistics.median(cached) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
