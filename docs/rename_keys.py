"""Rename the output keys to currency-free names (issue #27, item 1), re-runnably.

    python docs/rename_keys.py [--root DIR] [--dry-run] [--write-map]

The map is built from the documented output keys (``capacity.report.names``: every column, every
top-level key): ``*_rmb_m`` -> ``*_m``, ``*_rmb_m_per_X`` -> ``*_m_per_X``,
``*_rmb_per_X`` -> ``*_per_X``, ``*_hkd`` -> ``*`` (a per-share amount in the listing
currency). A name is left alone, and listed under "structural", when the plain rename cannot be
right: it is also an input key or a disclosures.csv metric (``finance.net_cash_rmb_m``,
``revenue_rmb_m``: the data files would have to change with it), its new name is already
another key's, or it holds a year (``sales_<y>e_rmb_m``, ``genai_share_<y>``: the year must
become a field or a row). ``--write-map`` adds the renames to
``docs/key-map.json`` (old -> new). The rename replaces whole words in ``capacity/``, ``tests/``,
``docs/``, ``benchmarks/`` and ``README.md`` under ``--root``; running it twice changes nothing
the second time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREES = ("capacity", "tests", "docs", "benchmarks")
FILES = ("README.md",)
SUFFIXES = (".py", ".md", ".toml", ".csv", ".json", ".ipynb", ".txt")
RULES = ((re.compile(r"_rmb_m(?=_per_|$)"), "_m"), (re.compile(r"_rmb(?=_per_)"), ""),
         (re.compile(r"_hkd$"), ""))


def output_keys() -> set[str]:
    """Every documented output key and column (``capacity.report.names``)."""
    sys.path.insert(0, str(HERE.parent))
    from capacity.report.keys import KEYS
    from capacity.report.names import COLUMNS, FILE_COLUMNS, KPIS

    names = {c for cols in COLUMNS.values() for c in cols} | set(FILE_COLUMNS) | set(KPIS)
    return names | {k for keys in KEYS.values() for k in keys}


def input_leaves() -> set[str]:
    """The last part of every input key (``net_cash_rmb_m`` of ``finance.net_cash_rmb_m``)."""
    from capacity.cli_options import input_keys

    leaves = {k.split(".")[-1] for k in input_keys()}
    for path in (HERE.parent / "data").rglob("disclosures.csv"):  # metric names are data too
        leaves |= {line.split(",")[0] for line in path.read_text(encoding="utf-8").splitlines()}
    return leaves


def new_name(old: str) -> str:
    out = old
    for rx, repl in RULES:
        out = rx.sub(repl, out)
    return out


def build_map() -> tuple[dict[str, str], dict[str, str]]:
    """(renames old -> new, structural old -> why)."""
    keys = output_keys()
    inputs = input_leaves()
    renames: dict[str, str] = {}
    structural: dict[str, str] = {}
    for old in sorted(keys):
        new = new_name(old)
        if "<y>" in old or "<q>" in old:
            structural[old] = "holds a year: make the year a field or a row"
        if new == old:
            continue
        if "<" in old:
            continue
        if old in inputs:
            structural[old] = ("also an input key or a disclosures.csv metric (the data would "
                               "change with it)")
        elif new in keys:
            structural[old] = f"new name {new!r} is already another key"
        else:
            renames[old] = new
    for old, new in list(renames.items()):
        if new in renames.values() and list(renames.values()).count(new) > 1:
            structural[old] = f"two keys would become {new!r}"
            del renames[old]
    return renames, structural


COMPOSED = {'"rmb_m"': '"m"'}
"""Suffixes that code joins onto a stem (``f"served_value_{sfx}"`` in ``capacity/planner/
duals.py``, sfx the string literal ``"rmb_m"``): replaced as whole string literals."""


def files(root: Path) -> list[Path]:
    out = [root / f for f in FILES if (root / f).is_file()]
    for tree in TREES:
        out += sorted(p for p in (root / tree).rglob("*") if p.is_file() and p.suffix in SUFFIXES
                      and p.name not in ("key-map.json", "rename_keys.py"))
    return out


def apply(root: Path, renames: dict[str, str], dry: bool) -> dict[str, int]:
    """Replace each old key as a whole word; (file -> replacements)."""
    if not renames:
        return {}
    rx = re.compile(r"\b(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True)))
                    + r")\b")
    changed = {}
    for path in files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a test's deliberately broken file
            continue
        new, n = rx.subn(lambda m: renames[m.group(1)], text)
        if path.suffix == ".py" and "capacity" in path.parts:
            for old, repl in COMPOSED.items():
                n += new.count(old)
                new = new.replace(old, repl)
        if n:
            changed[str(path.relative_to(root))] = n
            if not dry:
                path.write_text(new, encoding="utf-8")
    return changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=HERE.parent)
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--write-map", action="store_true")
    args = ap.parse_args()
    renames, structural = build_map()
    if args.write_map:
        path = HERE / "key-map.json"
        current = json.loads(path.read_text(encoding="utf-8"))
        chained = {old: renames.get(new, new) for old, new in current.items()}  # old -> newest
        path.write_text(json.dumps({**chained, **renames}, indent=2) + "\n", encoding="utf-8")
    changed = apply(args.root.resolve(), renames, args.dry_run)
    print(f"{len(renames)} renames, {sum(changed.values())} replacements in {len(changed)} files")
    for old, why in sorted(structural.items()):
        print(f"structural: {old}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
