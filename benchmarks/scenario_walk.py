"""Where a scenario travels: the calls that receive it, from the planner's entry point.

Usage::

    python benchmarks/scenario_walk.py [SCENARIO]     # default: baseline

Traces :func:`capacity.planner.gather` on a freshly loaded scenario (calibration cache cold) with
:func:`sys.setprofile` and records every call of a function in ``capacity/`` that receives the
:class:`~capacity.scenarios.Scenario` object as an argument (a **stay**). Each stay is placed in
its room of ``tests/test_architecture.py``'s ``ROOMS`` (the layers of DESIGN.md, top to bottom).
It prints:

- ``stays``: the number of such calls, and of distinct functions;
- ``modules`` and ``rooms``: the distinct modules and rooms the scenario visits;
- ``climbs``: consecutive stays (in call order) whose room is listed *before* the previous
  stay's room, i.e. the scenario handed back up the layers after it had gone down;
- ``entries``: per module, how many separate runs of consecutive stays it has (how often the
  scenario re-enters it).

The figures of the walk are for the architecture notes of issue #30 (before and after a
refactor); nothing here is timed.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(name: str = "baseline") -> None:
    from test_architecture import ROOMS, room_of  # the one list of rooms

    from capacity.planner import gather
    from capacity.scenarios import Scenario, load_scenario

    scenario = load_scenario(name)
    order = [r for r, _ in ROOMS]
    stays: list[tuple[str, str, str]] = []  # (module, function, room)

    def profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if "capacity" not in code.co_filename:
            return
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        if not any(frame.f_locals.get(n) is scenario for n in names):
            return
        module = frame.f_globals.get("__name__", "?")
        stays.append((module, code.co_qualname, room_of(module) or "?"))

    assert isinstance(scenario, Scenario)
    sys.setprofile(profile)
    try:
        gather(scenario)
    finally:
        sys.setprofile(None)
    climbs = sum(1 for a, b in itertools.pairwise(stays)
                 if order.index(b[2]) < order.index(a[2]))
    runs = Counter(m for i, (m, _, _) in enumerate(stays) if i == 0 or stays[i - 1][0] != m)
    rooms = sorted({r for *_, r in stays}, key=order.index)
    print(f"scenario {name}: {len(stays)} stays ({len({s[:2] for s in stays})} functions) in "
          f"{len(runs)} modules and"
          f" {len(rooms)} rooms ({', '.join(rooms)}); {climbs} climbs back up")
    for module, n in runs.most_common():
        print(f"  {module}: entered {n} time(s)")


if __name__ == "__main__":
    main(*sys.argv[1:])
