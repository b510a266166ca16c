"""Start-up time: ``capacity --version`` against ``python -c "import pandas"``.

Run on demand (not part of the tests):

    python benchmarks/startup.py [--rounds 15]

Each round starts both commands once as fresh subprocesses, in alternating order, so drift in
the machine's load hits both alike; the figures are wall times [s] per command over all rounds
(min and median) and their ratio (target ``<= 0.25``, DESIGN.md "Performance targets"). The
``capacity`` console script of the running interpreter is used, i.e. what a user types. One
warm-up round (not counted) fills the file cache and bytecode caches.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 0.25
"""Largest acceptable ratio of ``capacity --version`` to ``import pandas`` wall time. [1]"""


def commands() -> dict[str, list[str]]:
    """Name -> argv of the two commands compared."""
    exe = Path(sys.executable).parent / "capacity"
    version = [str(exe), "--version"] if exe.exists() else \
        [sys.executable, "-m", "capacity.cli", "--version"]
    return {"capacity --version": version,
            "import pandas": [sys.executable, "-c", "import pandas"]}


def wall_time(argv: list[str]) -> float:
    """Wall time of one run of ``argv`` [s]; raises if it fails."""
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def measure(rounds: int = 15) -> dict[str, list[float]]:
    """Wall times [s] of each command over ``rounds`` interleaved rounds (after one warm-up)."""
    cmds = commands()
    for argv in cmds.values():
        wall_time(argv)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    names = list(cmds)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(wall_time(cmds[name]))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    times = measure(args.rounds)
    cap, pandas = times["capacity --version"], times["import pandas"]
    print(f"{'command':<20} {'min [s]':>9} {'median [s]':>11}   ({args.rounds} rounds)")
    for name, ts in times.items():
        print(f"{name:<20} {min(ts):>9.4f} {statistics.median(ts):>11.4f}")
    ratio_min = min(cap) / min(pandas)
    ratio_med = statistics.median(cap) / statistics.median(pandas)
    print(f"ratio capacity/pandas: min {ratio_min:.3f}, median {ratio_med:.3f} "
          f"(target <= {TARGET})")
    return 0 if ratio_med <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
