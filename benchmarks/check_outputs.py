"""Refactoring guard: the JSON of every command on every shipped scenario, before and after.

Usage::

    python benchmarks/check_outputs.py write DIR     # JSON of this checkout into DIR
    python benchmarks/check_outputs.py compare A B   # every number of A equals B within 1e-9 rel

``write`` runs ``plan``, ``value``, ``stress`` (200 draws, seed 7, inline) and ``backtest``
(``docs/actuals-later.csv``) on every shipped scenario, and ``compare`` over all of them, through
the installed ``capacity`` command, one JSON file each. ``compare`` walks two such folders and
reports every number that differs by more than ``RTOL`` (relative, with an absolute floor of
``ATOL``), every key present on one side only, and every string that differs. Timing fields
(``*_s``) are skipped. Exit code 0 when the folders agree, 1 otherwise.

Generate the reference folder from the commit before a change (``git stash`` or a worktree),
the other from after it, and compare.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

RTOL = 1e-9
"""Relative tolerance on every number. [1]"""

ATOL = 1e-9
"""Absolute floor for numbers near zero (in the number's own unit)."""

SCENARIOS = ["history", "no-2023-update", "embargo-2024", "h20-ban-stays", "h200-opens-2026",
             "domestic-squeeze"]

ROOT = Path(__file__).resolve().parent.parent


def commands() -> dict[str, list[str]]:
    """File name -> capacity arguments (JSON output)."""
    out: dict[str, list[str]] = {}
    for sc in SCENARIOS:
        out[f"plan_{sc}"] = ["plan", "--scenario", sc]
        out[f"value_{sc}"] = ["value", "--scenario", sc]
        out[f"backtest_{sc}"] = ["backtest", "--scenario", sc, "--actuals",
                                 str(ROOT / "docs" / "actuals-later.csv")]
    out["stress_history"] = ["stress", "--scenario", "history-uncertain", "--samples", "200",
                             "--seed", "7", "--executor", "inline"]
    out["compare_all"] = ["compare", *SCENARIOS]
    return out


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).parent / "capacity"
    for name, args in commands().items():
        res = subprocess.run([str(exe), *args, "--format", "json"], capture_output=True,
                             text=True, check=False)
        if res.returncode != 0:
            raise SystemExit(f"{name}: exit {res.returncode}: {res.stderr.strip()}")
        (folder / f"{name}.json").write_text(res.stdout, encoding="utf-8")
        print(f"wrote {name}.json", file=sys.stderr)


def _diff(a, b, path: str, out: list[str]) -> None:
    if path.rsplit(".", 1)[-1].endswith("_s"):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'after' if k not in a else 'before'}")
                continue
            _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items before, {len(b)} after")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, f"{path}[{i}]", out)
    elif isinstance(a, bool) or isinstance(b, bool) or not (
            isinstance(a, int | float) and isinstance(b, int | float)):
        if a != b:
            out.append(f"{path}: {a!r} before, {b!r} after")
    elif not math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=ATOL):
        out.append(f"{path}: {a!r} before, {b!r} after")


def compare(before: Path, after: Path) -> int:
    problems: list[str] = []
    for f in sorted(before.glob("*.json")):
        g = after / f.name
        if not g.exists():
            problems.append(f"{f.name}: missing after")
            continue
        _diff(json.loads(f.read_text()), json.loads(g.read_text()), f.stem, problems)
    for line in problems[:200]:
        print(line)
    print(f"{len(problems)} differences over {len(list(before.glob('*.json')))} files")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        raise SystemExit(__doc__)
