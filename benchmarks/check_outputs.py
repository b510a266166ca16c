"""Refactoring guard: the JSON of every command on every shipped scenario, before and after.

Usage::

    python benchmarks/check_outputs.py write DIR     # JSON of this checkout into DIR
    python benchmarks/check_outputs.py compare A B   # every number of A equals B within 1e-9 rel

``write`` runs ``plan``, ``value`` and ``stress`` (200 draws, seed 7, inline) on every shipped
scenario, ``backtest`` (``docs/actuals-later.csv``) on the 1H23 ones, and ``compare`` over the 1H23
and over today's scenarios, through ``python -m capacity`` of the running interpreter (so
``PYTHONPATH=CHECKOUT`` selects the code), one JSON file each. ``compare A B --key-map FILE``
renames keys of ``A`` first (a JSON object old -> new, for a refactor that renames keys).
``compare`` walks two such folders and reports every number that differs by more than
``RTOL`` (relative, with an absolute floor of ``ATOL``), every key present on one side only, and
every string that differs. Timing fields (``*_s``) are skipped. Exit code 0 when the folders
agree, 1 otherwise.

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

HISTORY = ["history", "no-2023-update", "embargo-2024", "h20-ban-stays", "h200-opens-2026",
           "domestic-squeeze"]
"""The 1H23 vintage's scenarios (the research note's counterfactuals)."""

TODAY = ["baseline", "h20-discouraged-2025", "h200-customs-block-2026", "h200-class-rule-2026",
         "b30a-allowed", "b30a-denied", "ascend-950-ramp", "remote-access-closed",
         "entity-list-buyer"]
"""The scenarios for today (the README's main job)."""

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.stem for p in (ROOT / "data" / "scenarios").glob("*.toml"))


def commands() -> dict[str, list[str]]:
    """File name -> capacity arguments (JSON output)."""
    out: dict[str, list[str]] = {}
    for sc in SCENARIOS:
        out[f"plan_{sc}"] = ["plan", "--scenario", sc]
        out[f"value_{sc}"] = ["value", "--scenario", sc]
        out[f"stress_{sc}"] = ["stress", "--scenario", sc, "--samples", "200", "--seed", "7",
                               "--executor", "inline"]
    for sc in HISTORY:
        out[f"backtest_{sc}"] = ["backtest", "--scenario", sc, "--actuals",
                                 str(ROOT / "docs" / "actuals-later.csv")]
    out["compare_all"] = ["compare", *HISTORY]
    out["compare_today"] = ["compare", *TODAY]
    return out


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, args in commands().items():
        res = subprocess.run([sys.executable, "-m", "capacity", *args, "--format", "json"],
                             capture_output=True, text=True, check=False)
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


def _rename(obj, key_map: dict[str, str]):
    """``obj`` with every dict key (and every string equal to a key: column lists) renamed."""
    if isinstance(obj, dict):
        return {key_map.get(k, k): _rename(v, key_map) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rename(v, key_map) for v in obj]
    if isinstance(obj, str):
        return key_map.get(obj, obj)
    return obj


def compare(before: Path, after: Path, key_map: dict[str, str] | None = None) -> int:
    problems: list[str] = []
    for f in sorted(before.glob("*.json")):
        g = after / f.name
        if not g.exists():
            problems.append(f"{f.name}: missing after")
            continue
        old = _rename(json.loads(f.read_text()), key_map or {})
        _diff(old, json.loads(g.read_text()), f.stem, problems)
    for line in problems[:200]:
        print(line)
    print(f"{len(problems)} differences over {len(list(before.glob('*.json')))} files")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    elif len(sys.argv) == 6 and sys.argv[1] == "compare" and sys.argv[4] == "--key-map":
        key_map = json.loads(Path(sys.argv[5]).read_text(encoding="utf-8"))
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3]), key_map))
    else:
        raise SystemExit(__doc__)
