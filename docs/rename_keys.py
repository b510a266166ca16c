"""Rename every currency-named key to a currency-free one (issue #27, item 1), re-runnably.

    python docs/rename_keys.py [--root DIR] [--dry-run]

One run does the whole mechanical part of the rename over ``capacity/``, ``tests/``, ``docs/``,
``benchmarks/``, ``data/`` (every subject folder, scenario and vintage) and ``README.md``:

* Every word (identifier, key, CSV column, disclosure metric, KPI name, TOML key) that spells a
  currency of the subject is renamed by :data:`RULES` (``revenue_rmb_m`` -> ``revenue_m``,
  ``price_rmb_per_m_tokens`` -> ``price_per_m_tokens``, ``target_price_hkd`` ->
  ``target_price``, ``market_value_hkd_m`` -> ``market_value_m``) or by :data:`EXPLICIT`
  (``rmb_per_hkd`` -> ``fx_listing``, ``usd_rmb`` -> ``fx_usd``). Output
  keys, input keys, the data files and the code that reads them change together, so the tree
  stays consistent. The currency a money key is in is the subject's (``subject.toml``
  ``[currency]``), stated by the ``currency`` field of plan, value and compare, and by every
  header (:func:`capacity.results.unit_of`).
* Kept on purpose: ``_usd`` keys (``planner.price_usd``, ``leasing_usd_per_gpu_hour``: chip and
  GPU-hour prices are quoted in US dollars in every market, whatever the subject reports in),
  the chip catalog's ``price_rmb`` (a China part's own RMB list price, a fact of the part), and
  upper-case constants (internal limits, never output).
* ``docs/key-map.json`` gets every rename (old -> new, older entries chained to the newest
  name), ``docs/key-map.md`` its table (between the ``currency-free`` markers), and
  ``capacity/renamed_keys.py`` the renamed input keys, so a user's scenario file or
  ``--set`` with an old key stops with one line naming the new key (exit 2).

Two words that would get one name are left alone and listed (none in the shipped tree);
``--dry-run`` also lists Python files where a new name is already a word beside the old one.
Running the script twice changes nothing the second time. ``--dry-run`` lists what it would change.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREES = ("capacity", "tests", "docs", "benchmarks", "data")
FILES = ("README.md",)
SUFFIXES = (".py", ".md", ".toml", ".csv", ".json", ".ipynb", ".txt")
SKIP = ("key-map.json", "key-map.md", "rename_keys.py", "renamed_keys.py")
"""Files the rename leaves alone: the maps of old names (they must keep them; key-map.md's
table is rewritten by :func:`write_maps`)."""

EXPLICIT = {
    "rmb_per_hkd": "fx_listing",
    "usd_rmb": "fx_usd",
    "MIN_USD_RMB": "MIN_FX_USD",
    "MAX_RMB_PER_HKD": "MAX_FX_LISTING",
}
"""Words whose rule-made name would say nothing: an FX rate is a ratio of two currencies.
``fx_listing`` is reporting-currency units per listing-currency unit (RMB per HKD for the
shipped subject, 1 for a USD one), ``fx_usd`` reporting-currency units per US dollar (the
chip market's currency). Short on purpose: no line of the tree grows past its limit."""

RULES = (
    (re.compile(r"(?<=[a-z0-9])_rmb_per_hkd(?=_|$)"), "_fx_listing"),
    (re.compile(r"(?<=[a-z0-9])_(?:rmb|hkd)_m(?=_|$)"), "_m"),
    (re.compile(r"(?<=[a-z0-9])_rmb(?=_per_)"), ""),
    (re.compile(r"(?<=[a-z0-9])_hkd(?=_|$)"), ""),
)
"""(pattern, replacement) applied in order to a lower-case word: ``_rmb_m``/``_hkd_m`` ->
``_m``, ``_rmb_per_`` -> ``_per_``, ``_hkd`` -> (nothing: a per-share amount)."""

COMPOSED = {'"rmb_m"': '"m"'}
"""Suffixes that code joins onto a stem (``f"served_value_{sfx}"`` in ``capacity/planner/
duals.py``, sfx the string literal ``"rmb_m"``): replaced as whole string literals."""

WORD = re.compile(r"\b[A-Za-z0-9_]*(?:rmb|hkd|RMB|HKD)[A-Za-z0-9_]*\b")
ANY_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
MARK_START = "<!-- currency-free: start (docs/rename_keys.py) -->"
MARK_END = "<!-- currency-free: end -->"


def files(root: Path) -> list[Path]:
    out = [root / f for f in FILES if (root / f).is_file()]
    for tree in TREES:
        out += sorted(p for p in (root / tree).rglob("*") if p.is_file() and p.suffix in SUFFIXES
                      and p.name not in SKIP and "__pycache__" not in p.parts)
    return out


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # a test's deliberately broken file
        return None


def new_name(word: str) -> str:
    """The currency-free name of ``word`` (``word`` itself when it needs none)."""
    if word in EXPLICIT:
        return EXPLICIT[word]
    if word[0].isupper() or word == word.upper() or word.startswith("_"):
        return word  # constants, CamelCase and bare suffixes (capacity.results' unit table)
    out = re.sub(r"^rmb_per_hkd(?=_|$)", "fx_listing", word)
    for rx, repl in RULES:
        out = rx.sub(repl, out)
    return out


def build_map(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(renames old -> new, collisions old -> why) over the words of the tree."""
    found: set[str] = set()
    for path in files(root):
        text = read(path)
        if text is None:
            continue
        found |= set(WORD.findall(text))
    renames: dict[str, str] = {}
    collisions: dict[str, str] = {}
    for old in sorted(found):
        new = new_name(old)
        if new == old:
            continue
        if not new or (new.endswith("_") and not old.endswith("_")):
            collisions[old] = f"would become {new!r}"
        else:
            renames[old] = new
    targets: dict[str, list[str]] = {}
    for old, new in renames.items():
        targets.setdefault(new, []).append(old)
    for new, olds in targets.items():
        if len(olds) > 1:
            for old in olds:
                collisions[old] = f"{', '.join(olds)} would all become {new!r}"
                renames.pop(old, None)
    return renames, collisions


def review(root: Path, renames: dict[str, str]) -> list[str]:
    """Python files where a new name is already a word beside the old one (a local variable
    or function of that name): checked by hand (``--dry-run`` lists them); the shipped tree's
    were (``share_price`` in finance/comps.py is a function, the key a string)."""
    out = []
    for path in files(root):
        text = read(path) if path.suffix == ".py" else None
        words = set(ANY_WORD.findall(text)) if text else set()
        out += [f"{path.relative_to(root)}: {o} -> {n}" for o, n in sorted(renames.items())
                if o in words and n in words and n not in renames]
    return out


def apply(root: Path, renames: dict[str, str], dry: bool) -> dict[str, int]:
    """Replace each old word whole; (file -> replacements)."""
    rx = re.compile(r"\b(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True)))
                    + r")\b") if renames else None
    changed = {}
    for path in files(root):
        text = read(path)
        if text is None:
            continue
        new, n = rx.subn(lambda m: renames[m.group(1)], text) if rx else (text, 0)
        if path.suffix == ".py" and "capacity" in path.relative_to(root).parts:
            for old, repl in COMPOSED.items():
                n += new.count(old)
                new = new.replace(old, repl)
        if n:
            changed[str(path.relative_to(root))] = n
            if not dry:
                path.write_text(new, encoding="utf-8")
    return changed


def input_words(root: Path) -> set[str]:
    """Words a user writes in a scenario, ``--set``, subject folder or vintage: the keys of the
    shipped TOML files and the column names and metrics of the shipped CSV files."""
    out: set[str] = set()
    for path in (root / "data").rglob("*"):
        text = read(path) if path.suffix in (".toml", ".csv") else None
        if text is None:
            continue
        if path.suffix == ".toml":
            out |= set(re.findall(r"^\s*\[*\s*([A-Za-z0-9_.]+)\s*\]*\s*=?", text, re.M))
            out |= {w for line in text.splitlines() for w in re.findall(r"([A-Za-z0-9_]+)\s*=",
                                                                        line.split("#")[0])}
        else:
            lines = text.splitlines()
            out |= set(lines[0].split(",")) if lines else set()
            out |= {line.split(",")[0] for line in lines[1:]}
    return {w for part in out for w in part.split(".")}


def write_maps(root: Path, renames: dict[str, str]) -> None:
    """docs/key-map.json (old -> newest), docs/key-map.md's table, capacity/renamed_keys.py."""
    path = root / "docs" / "key-map.json"
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    chained = {old: renames.get(new, new) for old, new in current.items()}  # old -> newest
    merged = {**chained, **renames}
    path.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")

    mod = root / "capacity" / "renamed_keys.py"
    old_inputs: dict[str, str] = {}
    if mod.is_file():
        m = re.search(r"RENAMED: dict\[str, str\] = (\{.*?\})\n", mod.read_text(encoding="utf-8"),
                      re.S)
        old_inputs = json.loads(m.group(1)) if m else {}
    inputs = input_words(root) | set(old_inputs)
    old_inputs = {o: merged.get(n, n) for o, n in old_inputs.items()}
    old_inputs.update({o: n for o, n in renames.items() if o in inputs or n in inputs})
    body = json.dumps(dict(sorted(old_inputs.items())), indent=4)
    mod.write_text(
        '"""Input keys, CSV columns and disclosure metrics renamed by issue #27 (currency-free\n'
        'keys), old -> new. Written by ``docs/rename_keys.py``; do not edit by hand.\n\n'
        'An old name in a scenario file, ``--set`` or a subject folder stops with one line naming\n'
        'the new one (:func:`renamed_hint`); ``docs/key-map.md`` lists every rename.\n"""\n\n'
        "from __future__ import annotations\n\n"
        f"RENAMED: dict[str, str] = {body}\n"
        '"""Old input name -> new."""\n\n\n'
        "def renamed_hint(name: str) -> str | None:\n"
        '    """``renamed to \'new\'`` when ``name`` (a key or its last dotted part) is an old\n'
        '    input name, else None."""\n'
        '    leaf = str(name).split(".")[-1]\n'
        "    if leaf not in RENAMED:\n"
        "        return None\n"
        '    return f"renamed to {RENAMED[leaf]!r} (docs/key-map.md: keys carry no currency)"\n',
        encoding="utf-8")

    md = root / "docs" / "key-map.md"
    text = md.read_text(encoding="utf-8") if md.is_file() else "# Key map\n"
    cur = {o: n for o, n in merged.items() if WORD.fullmatch(o) and not WORD.fullmatch(n)}
    rows = ["| old key | new key | input too |", "|---|---|---|"]
    rows += [f"| `{o}` | `{n}` | {'yes' if o in old_inputs else ''} |"
             for o, n in sorted(cur.items())]
    block = "\n".join([MARK_START, *rows, MARK_END])
    if MARK_START in text:
        text = re.sub(re.escape(MARK_START) + r".*?" + re.escape(MARK_END), lambda _m: block,
                      text, flags=re.S)
    else:
        text = (text.rstrip("\n") + "\n\n## Applied: currency-free keys (the table)\n\n"
                + block + "\n")
    md.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=HERE.parent)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    root = args.root.resolve()
    renames, collisions = build_map(root)
    if not args.dry_run:
        write_maps(root, renames)
    changed = apply(root, renames, args.dry_run)
    py = [str(root / f) for f in changed if f.endswith(".py")]
    if py and not args.dry_run:  # a renamed import can change the import order (ruff I001)
        import shutil
        import subprocess

        ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
        if Path(ruff).is_file():
            subprocess.run([ruff, "check", "--fix", "--select", "I001", "-q", *py],
                           cwd=root, check=False)
    print(f"{len(renames)} renames, {sum(changed.values())} replacements in {len(changed)} files")
    if args.dry_run:
        for old, new in sorted(renames.items()):
            print(f"rename: {old} -> {new}")
        for line in review(root, renames):
            print(f"review: {line}")
    for old, why in sorted(collisions.items()):
        print(f"collision (left alone): {old}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
