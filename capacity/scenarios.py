"""Read the shipped data and scenario files; compose a scenario; validate it once.

This is the only module that reads input files. A scenario is the baseline (``data/baseline.toml``)
with named overrides applied on top, in this priority order (later wins):

1. the baseline;
2. the scenario it ``extends`` (recursively, each resolved the same way);
3. the named ``overrides`` it lists, in the order listed; two of them setting the same key is an
   error;
4. its own ``[set]`` table.

Keys are dotted paths into the inputs (``planner.price_usd.H20``); nested tables are flattened to
the same paths. A key ending in ``+`` appends to a list instead of replacing it. Every change is
logged as ``key: old -> new`` with the file it came from, and travels with every result.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from capacity.errors import (
    InputError,
    UnknownNameError,
    pick_error,
    unknown_name,
    validation_problem,
)
from capacity.schemas import (
    MAX_EXTENDS_DEPTH,
    MAX_INPUT_FILE_BYTES,
    MAX_NESTING_DEPTH,
    ChipSpec,
    ExportRule,
    Inputs,
    RuleLibrary,
    parse_quarter,
    supersession_cycle,
)

DEFAULT_SCENARIO = "baseline"


# --------------------------------------------------------------------------------------------
# Where the data lives
# --------------------------------------------------------------------------------------------


SUBJECT_ENV = "CAPACITY_SUBJECT"
"""Environment variable naming the subject folder (the ``--subject`` option sets it per run)."""

SHARED_FILES = ("chips.csv", "export_controls.toml")
"""Files about the world, not the company: a subject folder may omit them and use the shipped
ones."""

_subject_folder: Path | None = None


def shipped_data_dir() -> Path:
    """Directory of the shipped data: ``capacity/_data`` when installed, ``data/`` in a checkout."""
    installed = resources.files("capacity") / "_data"
    if installed.is_dir():
        return Path(str(installed))
    checkout = Path(__file__).resolve().parent.parent / "data"
    if checkout.is_dir():
        return checkout
    raise InputError("data", f"shipped data not found (looked in {installed} and {checkout})")


def _subject_folder_checked(folder: str | Path, field: str) -> Path:
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise InputError(field, f"{str(folder)[:200]!r} is not a folder")
    if not (path / "baseline.toml").is_file():
        raise InputError(field, f"{str(folder)[:200]!r} has no baseline.toml (a subject folder "
                         "holds baseline.toml, disclosures.csv and scenarios/; see docs/data.md)")
    return path.resolve()


def set_subject(folder: str | Path | None) -> None:
    """Select the subject folder for this process; ``None`` goes back to the default.

    Raises
    ------
    InputError
        ``--subject: ...`` when the folder does not exist or has no ``baseline.toml``.
    """
    global _subject_folder
    _subject_folder = None if folder is None else _subject_folder_checked(folder, "--subject")


def data_dir() -> Path:
    """The subject folder: the one :func:`set_subject` chose, else ``$CAPACITY_SUBJECT``, else
    the shipped data (SenseTime)."""
    if _subject_folder is not None:
        return _subject_folder
    env = os.environ.get(SUBJECT_ENV, "").strip()
    if env:
        return _subject_folder_checked(env, SUBJECT_ENV)
    return shipped_data_dir()


def data_file(name: str) -> Path:
    """A file of the subject folder; for :data:`SHARED_FILES` the shipped one when the subject
    has none of its own."""
    path = data_dir() / name
    if name in SHARED_FILES and not path.is_file():
        return shipped_data_dir() / name
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (for the manifest)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_bytes(path: Path) -> bytes:
    """The bytes of an input file, refused when missing or larger than MAX_INPUT_FILE_BYTES."""
    if not path.is_file():
        raise InputError(str(path), "file not found")
    size = path.stat().st_size
    if size > MAX_INPUT_FILE_BYTES:
        raise InputError(str(path), f"file is {size:,} bytes, larger than the limit of "
                         f"{MAX_INPUT_FILE_BYTES:,} bytes for an input file")
    data = path.read_bytes()
    if len(data) > MAX_INPUT_FILE_BYTES:  # grew between stat and read
        raise InputError(str(path), f"file is larger than the limit of "
                         f"{MAX_INPUT_FILE_BYTES:,} bytes for an input file")
    return data


def _skip_string(text: str, i: int, line: int) -> tuple[int, int]:
    """Index just past the TOML string that opens at ``text[i]``, and the line it ends on.

    Handles basic (``"..."``, with backslash escapes) and literal (``'...'``) strings, single-
    and multi-line. An unterminated string runs to the end (the TOML parser reports it).
    """
    quote = text[i]
    triple = text.startswith(quote * 3, i)
    close = quote * 3 if triple else quote
    j = i + len(close)
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\" and quote == '"':
            if j + 1 < n and text[j + 1] == "\n":
                line += 1
            j += 2
            continue
        if c == "\n":
            if not triple:
                return j, line  # a one-line string cannot span lines: let the parser say so
            line += 1
        if text.startswith(close, j):
            j += len(close)
            while triple and j < n and text[j] == quote:  # up to two quotes may end the body
                j += 1
            return j, line
        j += 1
    return n, line


def nesting_too_deep(text: str, limit: int = MAX_NESTING_DEPTH) -> int | None:
    """Line of the first ``[`` or ``{`` that opens more than ``limit`` levels, else ``None``.

    A linear scan of TOML text that skips strings and comments, run before parsing so that
    deeply nested arrays or inline tables are refused instead of exhausting the parser's
    recursion.

    Parameters
    ----------
    text
        TOML text.
    limit
        Deepest nesting allowed. [levels]

    Returns
    -------
    int or None
        1-based line number, or ``None`` when the text stays within ``limit``.
    """
    depth = 0
    line = 1
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        elif c in "\"'":
            i, line = _skip_string(text, i, line)
            continue
        elif c in "[{":
            depth += 1
            if depth > limit:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def value_depth(value: Any) -> int:
    """Levels of tables and arrays in a parsed value (a scalar is 0, ``[[1]]`` is 2).

    Iterative, so any depth can be measured without recursion.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def loads_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text within the nesting limit.

    Parameters
    ----------
    text
        TOML text.
    where
        What to name in an error (a file, ``--set``).

    Raises
    ------
    InputError
        ``where[:line]: problem`` for invalid TOML or nesting deeper than
        :data:`~capacity.schemas.MAX_NESTING_DEPTH`.
    """
    deep = nesting_too_deep(text)
    too_deep = f"nested more than {MAX_NESTING_DEPTH} levels deep (the limit for input files)"
    if deep is not None:
        raise InputError(f"{where}:{deep}", too_deep)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(where, f"not valid TOML: {exc}") from None
    except RecursionError:  # nesting the scan cannot see (belt and braces)
        raise InputError(where, too_deep) from None
    if value_depth(doc) > MAX_NESTING_DEPTH:  # dotted keys and table headers nest too
        raise InputError(where, too_deep)
    return doc


def parse_set_value(raw: str, key: str = "") -> Any:
    """The value of a ``--set KEY=VALUE`` item: TOML when it parses, else the text itself.

    Parameters
    ----------
    raw
        The text after ``=``.
    key
        The text before ``=``, to name in an error.

    Raises
    ------
    InputError
        ``--set KEY: ...`` when the value nests deeper than
        :data:`~capacity.schemas.MAX_NESTING_DEPTH`.
    """
    try:
        return loads_toml(f"v = {raw.strip()}", "--set")["v"]
    except InputError as exc:
        if "not valid TOML" in exc.problem:
            return raw.strip()
        field = f"--set {key.strip()[:80]}" if key.strip() else "--set"
        raise InputError(field, exc.problem) from None


def _read_toml(path: Path) -> dict[str, Any]:
    data = _read_bytes(path)
    if not data.strip():
        raise InputError(str(path), "file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(str(path), "not UTF-8 text") from None
    return loads_toml(text, str(path))


def _read_csv(path: Path) -> pd.DataFrame:
    _read_bytes(path)  # exists and within the size limit
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"not valid CSV: {str(exc).splitlines()[0]}") from None
    return df


# --------------------------------------------------------------------------------------------
# Chip catalog and disclosures
# --------------------------------------------------------------------------------------------

CATALOG_NUMERIC = [
    "fp16_tflops", "int8_tops", "fp8_tflops", "memory_gb", "memory_bw_tbs", "interconnect_gbs",
    "tdp_w", "die_mm2", "price_usd", "price_rmb", "tpp_published",
]


def read_catalog(path: Path | None = None) -> pd.DataFrame:
    """Read and validate the chip catalog.

    Parameters
    ----------
    path
        CSV file; default the shipped ``chips.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per chip, indexed by ``chip``; unknown figures are NaN (never zero); ``launch`` is
        a quarterly Period.
    """
    path = path or data_file("chips.csv")
    return _catalog_from_path(str(path))


@cache
def _catalog_from_path(path_str: str) -> pd.DataFrame:
    path = Path(path_str)
    raw = _read_csv(path)
    rows = []
    for i, rec in enumerate(raw.to_dict("records")):
        clean = {k: (v if v != "" else None) for k, v in rec.items()}
        try:
            rows.append(ChipSpec.model_validate(clean).model_dump())
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            name = rec.get("chip") or f"row {i + 2}"
            raise InputError(f"{path.name}[{name}].{loc}", validation_problem(err)) from None
    df = pd.DataFrame(rows)
    dup = df["chip"][df["chip"].duplicated()]
    if len(dup):
        raise InputError(f"{path.name}.chip", f"duplicate chip {dup.iloc[0]!r}")
    df["launch"] = pd.PeriodIndex(df["launch"], freq="Q")
    for col in CATALOG_NUMERIC:
        df[col] = pd.to_numeric(df[col]).astype(float)
    return df.set_index("chip")


def read_disclosures(path: Path | None = None) -> pd.DataFrame:
    """Company disclosures from the research note (``disclosures.csv``), with sources.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``period`` (quarterly Period at the period end), ``span_quarters``
        (0 for a point-in-time stock), ``value``, ``unit``, ``source``, ``published`` (ISO date
        the figure was first public), ``note``.
    """
    path = path or data_dir() / "disclosures.csv"
    df = _read_csv(path)
    need = {"metric", "period_end", "span_quarters", "value", "unit", "source", "published"}
    missing = need - set(df.columns)
    if missing:
        raise InputError(path.name, f"missing columns {sorted(missing)}")
    try:
        df["period"] = pd.PeriodIndex([parse_quarter(p) for p in df["period_end"]], freq="Q")
        df["value"] = df["value"].astype(float)
        df["span_quarters"] = df["span_quarters"].astype(int)
        for text in df["published"]:
            dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(path.name, str(exc)) from None
    return df.drop(columns="period_end")


def read_actuals_csv(path: Path) -> pd.DataFrame:
    """Raw text table of an actuals file for :mod:`capacity.backtest` (all cells as text)."""
    return _read_csv(Path(path))


def disclosed(disclosures: pd.DataFrame, metric: str) -> pd.Series:
    """Values of one disclosed metric, indexed by period."""
    sel = disclosures[disclosures["metric"] == metric]
    return pd.Series(sel["value"].to_numpy(), index=pd.PeriodIndex(sel["period"]), name=metric)


# --------------------------------------------------------------------------------------------
# Flattening and applying dotted keys
# --------------------------------------------------------------------------------------------


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables -> ``{"a.b.c": leaf}``. Lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def _get(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def _item_line(lines: list[str], key: str, rest: str) -> int | None:
    """Line of a field of the n-th ``[[set.key]]`` (or ``[[key]]``) table of a list key.

    ``rest`` is the part of the field after ``key``, such as ``0.supply_factor`` or
    ``1.band.0.tpp_min``: the n-th table's header, or the line of the last name in ``rest``
    within that table when there is one.
    """
    m = re.match(r"^(\d+)(?:\.(.*))?$", rest)
    if not m:
        return None
    index, tail = int(m.group(1)), m.group(2) or ""
    headers = {f"[[set.{key}]]", f"[[{key}]]"}
    starts = [i for i, line in enumerate(lines) if line.strip().replace(" ", "") in headers]
    if index >= len(starts):
        return None
    start = starts[index]
    stop = starts[index + 1] if index + 1 < len(starts) else len(lines)
    name = next((part for part in reversed(tail.split(".")) if part and not part.isdigit()),
                None)
    if name:
        for j in range(start + 1, stop):
            s = lines[j].strip()
            if s.startswith((f"{name} ", f"{name}=")):
                return j + 1
    return start + 1


def _line_of(path: Path, key: str, rest: str = "") -> int | None:
    """Best-effort line number of a key in a TOML file (for error messages).

    ``rest`` is the part of the field below ``key`` (``0.supply_factor`` for the first table of
    a ``[[set.key]]`` list), used to find the line of an item's field.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if rest:
        hit = _item_line(lines, key, rest)
        if hit:
            return hit
    last = key.rstrip("+").split(".")[-1]
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith((f'"{key}"', f'"{key}+"', f"{key} ", f"{key}=", f"[{key}]", f"[{key}.",
                         f"[[set.{key}]]", f"[set.{key}]", f"[[{key}]]")):
            return i
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith(f"{last} ") or s.startswith(f"{last}=") or s.startswith(f'"{last}"'):
            return i
    return None


def source_of(sources: dict[str, str], key: str) -> str:
    """Source of a dotted input key: the entry for its longest prefix in ``sources`` ("" if none).

    ``[sources]`` may cover a whole table (``fleet.efficiency``) or one key in it.
    """
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        hit = sources.get(".".join(parts[:n]))
        if hit:
            return hit
    return ""


@dataclass(frozen=True)
class Change:
    """One key a scenario changed relative to the baseline."""

    key: str
    old: Any
    new: Any
    origin: str
    """``file`` or ``file [override name]`` the change came from."""

    def as_record(self) -> dict[str, Any]:
        return {"key": self.key, "old": _jsonable(self.old), "new": _jsonable(self.new),
                "origin": self.origin}


def _jsonable(v: Any) -> Any:
    """JSON-safe copy: NaN -> None, TOML dates/times -> ISO text, recursively."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the inputs plus everything read from files that goes with them.

    Attributes
    ----------
    name
        Scenario name (file stem for a file).
    description
        One line saying what the scenario assumes.
    inputs
        The validated inputs.
    catalog
        The chip catalog (see :func:`read_catalog`).
    disclosures
        Company disclosures (see :func:`read_disclosures`).
    rules
        The export-control rule library (``data/export_controls.toml``), validated, by id.
        Rules the scenario defines itself are in ``inputs.controls.extra_rules``.
    changes
        Keys changed relative to the baseline, in order applied.
    sources
        Source or rationale per dotted input key (prefix match; see :func:`source_of`).
    files
        Every file read, with its SHA-256.
    uncertain
        Uncertain inputs for stress tests: dotted key -> distribution table.
    as_of
        The vintage date: inputs as they could be known then (:func:`vintage_layers`); the
        disclosures are those published by then.
    """

    name: str
    description: str
    inputs: Inputs
    catalog: pd.DataFrame = field(repr=False)
    disclosures: pd.DataFrame = field(repr=False)
    rules: dict[str, ExportRule] = field(repr=False, default_factory=dict)
    changes: tuple[Change, ...] = ()
    sources: dict[str, str] = field(repr=False, default_factory=dict)
    files: dict[str, str] = field(repr=False, default_factory=dict)
    uncertain: dict[str, dict[str, Any]] = field(repr=False, default_factory=dict)
    as_of: dt.date = dt.date(2023, 8, 31)

    def source_of(self, key: str) -> str:
        """Source of a dotted input key: the longest matching prefix in ``sources``."""
        return source_of(self.sources, key)

    def all_rules(self) -> dict[str, Any]:
        """Library rules plus the scenario's own ``controls.extra_rules``, by id."""
        return {**self.rules, **{r.id: r for r in self.inputs.controls.extra_rules}}

    def with_inputs(self, inputs: Inputs) -> Scenario:
        """A copy with other (already validated) inputs."""
        return replace(self, inputs=inputs)


def shipped_scenarios() -> dict[str, Path]:
    """Scenario files of the subject folder (``scenarios/*.toml``) by name."""
    folder = data_dir() / "scenarios"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def describe_shipped() -> pd.DataFrame:
    """Name, description and file of every shipped scenario."""
    rows = []
    for name, path in shipped_scenarios().items():
        doc = _read_toml(path)
        rows.append({"scenario": name, "description": str(doc.get("description", "")),
                     "file": path.name})
    return pd.DataFrame(rows)


def _resolve_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or "/" in str(name_or_path):
        if not p.exists():
            raise InputError(str(p), "file not found")
        return p
    shipped = shipped_scenarios()
    if str(name_or_path) not in shipped:
        raise UnknownNameError(
            "scenario", f"unknown scenario {str(name_or_path)!r}; shipped: {', '.join(shipped)}")
    return shipped[str(name_or_path)]


_SCENARIO_KEYS = {"as_of", "description", "extends", "overrides", "override", "set",
                  "uncertain"}


def _parent_path(path: Path, parent: str) -> Path:
    """File a scenario ``extends``: a file next to it, else a shipped name or a path."""
    sibling = path.parent / parent
    return sibling if sibling.is_file() else _resolve_path(parent)


def _where(path: Path, key: str, rest: str = "") -> str:
    """``file:line`` of ``key`` in a scenario file (``file`` when the line is not found)."""
    line = _line_of(path, key, rest)
    return f"{path}:{line}" if line else str(path)


Layer = tuple[str, dict[str, Any], Path]
"""(origin label, flat ``{dotted.key: value}`` changes, file) of one override step."""


@dataclass(frozen=True)
class _Chain:
    """A scenario file and the files it extends, read once: layers parents first."""

    layers: list[Layer]
    uncertain: dict[str, dict[str, Any]]
    description: str
    as_of: dt.date | None = None
    """The vintage the scenario is pinned to (its own ``as_of`` or its parent's)."""


def _uncertain_table(path: Path, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    unc = doc.get("uncertain", {})
    if not isinstance(unc, dict):
        raise InputError(f"{path}: uncertain", "must be a table of dotted keys")
    for key, spec in unc.items():
        if not isinstance(spec, dict):
            raise InputError(f"{path}: uncertain.{key}", "must be a table like "
                             "{p5 = 1, p50 = 2, p95 = 3}")
    return dict(unc)


def _scenario_chain(path: Path, seen: tuple[Path, ...] = ()) -> _Chain:
    """Read a scenario file and, recursively, the one it ``extends`` (each file once)."""
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(p.name for p in (*seen, resolved))
        raise InputError(f"{path}: extends", f"cycle: {chain}")
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise InputError(f"{path}: extends", f"more than {MAX_EXTENDS_DEPTH} scenario files "
                         "extend one another")
    doc = _read_toml(path)
    unknown = set(doc) - _SCENARIO_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(f"{_where(path, key)}: {key}", f"unknown top-level key (allowed: "
                         f"{', '.join(sorted(_SCENARIO_KEYS))})")
    layers: list[Layer] = []
    uncertain: dict[str, dict[str, Any]] = {}
    pinned = doc.get("as_of")
    if pinned is not None:
        pinned = as_of_date(pinned, f"{_where(path, 'as_of')}: as_of")
    parent = doc.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError(f"{path}: extends", "must be a scenario name or file path")
        up = _scenario_chain(_parent_path(path, parent), (*seen, resolved))
        layers += up.layers
        uncertain.update(up.uncertain)
        pinned = pinned or up.as_of
    uncertain.update(_uncertain_table(path, doc))
    library = _read_toml(data_dir() / "overrides.toml") if (data_dir() / "overrides.toml"
                                                           ).is_file() else {}
    local = doc.get("override", {})
    if not isinstance(local, dict):
        raise InputError(f"{path}: override", "must be a table of named overrides")
    names = doc.get("overrides", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{path}: overrides", "must be a list of override names")
    claimed: dict[str, str] = {}
    for name in names:
        if name in local:
            body = local[name]
        elif name in library:
            body = library[name]
        else:
            avail = sorted(set(local) | set(library))
            raise UnknownNameError(f"{path}: overrides", f"unknown override {name!r}"
                                   f" (known: {', '.join(avail) or 'none'})")
        flat = flatten(body)
        for key in flat:
            if key in claimed:
                raise InputError(f"{_where(path, key)}: {key}", "set by both overrides "
                                 f"{claimed[key]!r} and "
                                 f"{name!r} in one scenario")
            claimed[key] = name
        layers.append((f"{path.name} [{name}]", flat, path))
    own = doc.get("set", {})
    if not isinstance(own, dict):
        raise InputError(f"{path}: set", "must be a table of keys to set")
    if own:
        layers.append((path.name, flatten(own), path))
    return _Chain(layers, uncertain, str(doc.get("description", "")), pinned)


def _apply_layers(base: dict[str, Any], layers: list[tuple[str, dict[str, Any], Path]]
                  ) -> tuple[dict[str, Any], list[Change], dict[str, tuple[str, Path]]]:
    tree = copy.deepcopy(base)
    changes: list[Change] = []
    origin_of: dict[str, tuple[str, Path]] = {}
    for origin, flat, path in layers:
        for key, value in flat.items():
            append = key.endswith("+")
            k = key[:-1] if append else key
            old = copy.deepcopy(_get(tree, k))
            if append:
                if old is not None and not isinstance(old, list):
                    raise InputError(f"{path}: {key}", "'+' appends to a list, but the key is not "
                                     "a list")
                if not isinstance(value, list):
                    value = [value]
                new = (old or []) + value
            else:
                new = value
            _set(tree, k, new)
            changes.append(Change(k, old, new, origin))
            origin_of[k] = (origin, path)
    return tree, changes, origin_of


def _validation_to_input_error(exc: ValidationError, origin_of: dict[str, tuple[str, Path]],
                               default_where: str) -> InputError:
    err = pick_error(exc.errors())
    loc = ".".join(str(p) for p in err["loc"])
    where = _origin_where(loc, origin_of) or default_where
    return InputError(f"{where}: {loc}" if where else loc, validation_problem(err))


def read_baseline() -> tuple[dict[str, Any], dict[str, str]]:
    """The baseline inputs (raw) and their sources, from ``data/baseline.toml``."""
    doc = _read_toml(data_dir() / "baseline.toml")
    sources = doc.pop("sources", {})
    doc.pop("meta", None)
    return doc, {str(k): str(v) for k, v in flatten(sources).items()} if sources else {}


# --------------------------------------------------------------------------------------------
# Vintages: the inputs as they could be known on a date
# --------------------------------------------------------------------------------------------


def as_of_date(value: Any, where: str = "--as-of") -> dt.date:
    """A vintage date from ISO text (``2025-08-31``) or a TOML date.

    Raises
    ------
    InputError
        ``where: '...' is not a date (use YYYY-MM-DD)``.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(where, f"{str(value)[:40]!r} is not a date (use YYYY-MM-DD)") from None


def baseline_as_of() -> dt.date:
    """Date of the first vintage: ``[meta] as_of`` of ``data/baseline.toml`` (the blind 1H23
    vintage, 2023-08-31)."""
    meta = _read_toml(data_dir() / "baseline.toml").get("meta", {})
    return as_of_date(meta.get("as_of"), "baseline.toml: meta.as_of")


def vintage_files() -> dict[dt.date, Path]:
    """The vintage layers ``data/vintages/<YYYY-MM-DD>.toml`` by date, oldest first."""
    folder = data_dir() / "vintages"
    out = {as_of_date(p.stem, f"vintages/{p.name}"): p for p in sorted(folder.glob("*.toml"))}
    return dict(sorted(out.items()))


def vintage_dates() -> list[dt.date]:
    """Every vintage date: the baseline's, then each vintage file's."""
    return [baseline_as_of(), *vintage_files()]


def default_as_of() -> dt.date:
    """The vintage used when none is asked for: the latest."""
    return vintage_dates()[-1]


_VINTAGE_KEYS = {"description", "set", "sources"}


def vintage_layers(as_of: dt.date) -> tuple[list[Layer], dict[str, str]]:
    """Override layers and sources of every vintage file dated on or before ``as_of``.

    Each file is like a scenario's ``[set]`` table over the baseline, plus its own ``[sources]``
    (which replace the baseline's entry for the same key). Applied oldest first, so a later
    vintage wins.

    Raises
    ------
    InputError
        ``as_of`` before the first vintage, or a malformed vintage file.
    """
    first = baseline_as_of()
    if as_of < first:
        raise InputError("--as-of", f"{as_of} is before the first vintage {first} "
                         "(the blind 1H23 baseline)")
    layers: list[Layer] = []
    sources: dict[str, str] = {}
    for date, path in vintage_files().items():
        if date > as_of:
            break
        doc = _read_toml(path)
        unknown = set(doc) - _VINTAGE_KEYS
        if unknown:
            raise InputError(f"{path}: {sorted(unknown)[0]}", "unknown top-level key (allowed: "
                             f"{', '.join(sorted(_VINTAGE_KEYS))})")
        own = doc.get("set", {})
        if not isinstance(own, dict):
            raise InputError(f"{path}: set", "must be a table of keys to set")
        layers.append((f"vintages/{path.name}", flatten(own), path))
        sources.update({str(k): str(v) for k, v in flatten(doc.get("sources", {})).items()})
    return layers, sources


def rules_known_by(rule_ids: list[str], library: dict[str, ExportRule],
                   as_of: dt.date) -> list[str]:
    """The rule ids announced on or before ``as_of`` (ids not in the library are kept, for
    :func:`check_rules` to report)."""
    return [r for r in rule_ids if r not in library or library[r].announced <= as_of]


def chips_launched_after(catalog: pd.DataFrame, as_of: dt.date) -> list[str]:
    """Chips whose launch quarter (chips.csv) is after the quarter of ``as_of``: unknown to
    that vintage, so it does not plan them (a scenario may allow them again)."""
    q = pd.Period(as_of, freq="Q")
    return [c for c in catalog.index if catalog.at[c, "launch"] > q]


def disclosures_known_by(disclosures: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Rows published on or before ``as_of``."""
    keep = [dt.date.fromisoformat(p) <= as_of for p in disclosures["published"]]
    return disclosures[keep].reset_index(drop=True)


def sources_used(scenario: Scenario) -> dict[str, str]:
    """The source of every input key of the scenario (longest matching ``[sources]`` prefix).

    Keys are the flattened inputs (lists end a key).
    """
    tree = scenario.inputs.model_dump(mode="json")
    return {key: source_of(scenario.sources, key) for key in flatten(tree)}


_MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"], 1)}
_DATE_RES = [
    re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),
    re.compile(r"\b(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+"
               r"(\d{4})\b", re.IGNORECASE),
    re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})\b",
               re.IGNORECASE),
]


def source_date(text: str) -> dt.date | None:
    """The latest calendar date written in a source text, or ``None`` when it names none.

    Forms read: ``2023-08-31``, ``31 Aug 2023`` and ``Aug 2023`` (a month alone counts as its
    first day, so a source is never dated later than it could be). Bare years and quarters
    (``2027Q4``, ``2020-22``) are periods the source talks about, not its date, and are not
    read. See docs/data.md.
    """
    found: list[dt.date] = []
    for m in _DATE_RES[0].finditer(text):
        try:
            found.append(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    for m in _DATE_RES[1].finditer(text):
        try:
            found.append(dt.date(int(m.group(3)), _MONTHS[m.group(2).lower()[:3]],
                                 int(m.group(1))))
        except ValueError:
            continue
    for m in _DATE_RES[2].finditer(text):
        found.append(dt.date(int(m.group(2)), _MONTHS[m.group(1).lower()[:3]], 1))
    return max(found) if found else None


def check_blind(scenario: Scenario) -> None:
    """Every input the scenario uses must cite sources dated on or before its vintage.

    Raises
    ------
    InputError
        ``sources.KEY: cites a source dated D, after the vintage V`` for the first such key.
    """
    for key, text in sorted(sources_used(scenario).items()):
        when = source_date(text)
        if when is not None and when > scenario.as_of:
            raise InputError(f"sources.{key}", f"cites a source dated {when}, after the "
                             f"vintage {scenario.as_of}: {text[:100]}")


def read_rule_library(path: Path | None = None) -> dict[str, ExportRule]:
    """The export-control rule library, validated, by rule id (empty when the file is absent).

    Raises
    ------
    InputError
        ``export_controls.toml: rule[i].field: problem`` for a malformed rule.
    """
    path = path or data_file("export_controls.toml")
    if not path.is_file():
        return {}
    doc = _read_toml(path)
    try:
        lib = RuleLibrary.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        parts = [str(p) for p in err["loc"]]
        loc = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts).lstrip(".")
        rid = ""
        if len(parts) >= 2 and parts[0] == "rule" and parts[1].isdigit():
            rules = doc.get("rule", [])
            i = int(parts[1])
            if isinstance(rules, list) and i < len(rules) and isinstance(rules[i], dict):
                rid = f" ({rules[i].get('id', '?')})"
        where = f"{path.name}: {loc}{rid}" if loc else f"{path.name}: rule"
        raise InputError(where, validation_problem(err)) from None
    return {r.id: r for r in lib.rule}


def check_rules(scenario: Scenario, where: str = "",
                origin_of: dict[str, tuple[str, Path]] | None = None) -> None:
    """The scenario's rules must exist and name only catalog chips and known rules.

    Checks that ``controls.extra_rules`` ids do not clash with the library, every id in
    ``controls.rules`` is defined (once), every ``superseded_by`` names a defined rule, and every
    chip a rule names is in the catalog.

    Also checks that no ``superseded_by`` links form a cycle. ``origin_of`` (key -> origin and
    file, from :func:`load_scenario`) puts the file and line of the key in errors; without it
    ``where`` prefixes them.

    Raises
    ------
    UnknownNameError, InputError
        One line naming the key and the problem.
    """
    pre = f"{where}: " if where else ""

    def at(field: str) -> str:
        located = _origin_where(field, origin_of) if origin_of else None
        return f"{located}: {field}" if located else f"{pre}{field}"

    lib = dict(scenario.rules)
    controls = scenario.inputs.controls
    for i, r in enumerate(controls.extra_rules):
        if r.id in lib:
            raise InputError(at(f"controls.extra_rules[{i}].id"), f"rule {r.id!r} is already "
                             "defined (in the library or earlier in extra_rules); pick a new id")
        lib[r.id] = r
    seen: set[str] = set()
    for i, rid in enumerate(controls.rules):
        if rid not in lib:
            raise unknown_name(at(f"controls.rules[{i}]"), "rule", rid, lib, list_known=True)
        if rid in seen:
            raise InputError(at(f"controls.rules[{i}]"), f"rule {rid!r} listed twice")
        seen.add(rid)
    known = set(scenario.catalog.index)
    extra_index = {r.id: i for i, r in enumerate(controls.extra_rules)}

    def rule_field(rid: str, sub: str) -> str:
        if rid in extra_index:
            return at(f"controls.extra_rules[{extra_index[rid]}].{sub}")
        return f"export_controls.toml: rule {rid!r}.{sub}"

    for rid, r in lib.items():
        if r.superseded_by is not None and r.superseded_by not in lib:
            raise UnknownNameError(rule_field(rid, "superseded_by"),
                                   f"unknown rule {r.superseded_by!r}")
        for sub, chip in r.chip_names():
            if chip not in known:
                raise unknown_name(rule_field(rid, sub), "chip", chip, known)
    cycle = supersession_cycle(lib)
    if cycle:
        # name a rule of the scenario's own on the cycle where there is one (that is the edit)
        rid = next((c for c in cycle if c in extra_index), cycle[0])
        raise InputError(rule_field(rid, "superseded_by"), "superseded_by links form a cycle: "
                         f"{' -> '.join(cycle)} (no rule on it could ever apply)")


def load_scenario(name_or_path: str | Path | None = None, *,
                  set_values: dict[str, Any] | None = None,
                  as_of: str | dt.date | None = None) -> Scenario:
    """Read, compose and validate a scenario at a vintage.

    The layers, later winning: the baseline; every vintage file dated on or before ``as_of``
    (:func:`vintage_layers`); the baseline's rules announced after ``as_of`` dropped
    (:func:`rules_known_by`) and the chips launched after it excluded from planning
    (:func:`chips_launched_after`); the scenario's own layers; ``set_values``. The disclosures are
    those published by ``as_of``.

    Parameters
    ----------
    name_or_path
        A shipped scenario name (``"history"``), a path to a scenario TOML file, or ``None`` for
        the default (``baseline``: the vintage as it stands).
    set_values
        Extra ``{dotted.key: value}`` applied last (e.g. from ``--set`` on the command line).
    as_of
        Vintage date (ISO text or a date). Default: the date the scenario file pins
        (``as_of``), else :func:`default_as_of`.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        One line naming the file, key and problem; also when ``as_of`` differs from the date
        the scenario pins.
    """
    if name_or_path is None and DEFAULT_SCENARIO not in shipped_scenarios():
        # a subject folder without scenarios/history.toml: the baseline itself
        path = data_dir() / "baseline.toml"
        chain = _Chain([], {}, "The subject's baseline (its folder has no scenarios/history.toml)")
    else:
        path = _resolve_path(name_or_path or DEFAULT_SCENARIO)
        chain = _scenario_chain(path)
    base, sources = read_baseline()
    asked = as_of_date(as_of) if as_of is not None else None
    if asked is not None and chain.as_of is not None and asked != chain.as_of:
        raise InputError("--as-of", f"scenario {path.stem!r} is pinned to the {chain.as_of} "
                         f"vintage (as_of in its file); drop --as-of {asked} or pick another "
                         "scenario")
    when = asked or chain.as_of or default_as_of()
    v_layers, v_sources = vintage_layers(when)
    sources = {**sources, **v_sources}
    library = read_rule_library()
    tree, v_changes, v_origin = _apply_layers(base, v_layers)
    known = rules_known_by(list(_get(tree, "controls.rules") or []), library, when)
    if known != list(_get(tree, "controls.rules") or []):
        v_changes.append(Change("controls.rules", _get(tree, "controls.rules"), known,
                                f"vintage {when}: rules announced later dropped"))
        _set(tree, "controls.rules", known)
    catalog = read_catalog()
    unlaunched = chips_launched_after(catalog, when)
    excluded = list(_get(tree, "planner.exclude_chips") or [])
    added = [c for c in unlaunched if c not in excluded]
    if added:
        v_changes.append(Change("planner.exclude_chips", excluded, excluded + added,
                                f"vintage {when}: chips launched later excluded"))
        _set(tree, "planner.exclude_chips", excluded + added)
    layers = list(chain.layers)
    if set_values:
        for key, value in set_values.items():
            if key.count(".") >= MAX_NESTING_DEPTH or value_depth(value) > MAX_NESTING_DEPTH:
                raise InputError(f"<command line>: {key[:80]}", f"nested more than "
                                 f"{MAX_NESTING_DEPTH} levels deep (the limit for inputs)")
        layers.append(("--set", dict(set_values), Path("<command line>")))
    tree, changes, origin_of = _apply_layers(tree, layers)
    changes = [*v_changes, *changes]
    origin_of = {**v_origin, **origin_of}
    try:
        inputs = Inputs.model_validate(tree)
    except ValidationError as exc:
        raise _validation_to_input_error(exc, origin_of, str(path)) from None
    read = [data_dir() / "baseline.toml", data_file("chips.csv"),
            data_dir() / "disclosures.csv", *(p for _o, _f, p in v_layers), path]
    files = {p.name if p.parent.name != "vintages" else f"vintages/{p.name}": file_sha256(p)
             for p in read}
    rules_path = data_file("export_controls.toml")
    if rules_path.is_file():
        files[rules_path.name] = file_sha256(rules_path)
    scenario = Scenario(
        name=path.stem, description=chain.description, inputs=inputs,
        catalog=catalog, disclosures=disclosures_known_by(read_disclosures(), when),
        rules=library, changes=tuple(changes), sources=sources, files=files,
        uncertain=chain.uncertain, as_of=when)
    check_chip_names(scenario, origin_of)
    rules_where = next((f"{p}" for k, (_o, p) in origin_of.items()
                        if k.startswith("controls.")), "")
    check_rules(scenario, rules_where, origin_of)
    return scenario


def _origin_where(field: str, origin_of: dict[str, tuple[str, Path]] | None) -> str | None:
    """``file:line`` of the scenario key that set ``field`` (longest matching key), or None."""
    plain = re.sub(r"\[\d+\]", "", field)
    dotted = re.sub(r"\[(\d+)\]", r".\1", field)  # items as dotted parts: runs.0.mfu
    for key in sorted(origin_of or {}, key=len, reverse=True):
        if plain == key or plain.startswith(key + ".") or key.startswith(plain + "."):
            rest = dotted[len(key) + 1:] if dotted.startswith(key + ".") else ""
            return _where(origin_of[key][1], key, rest)
    return None


def _located(field: str, origin_of: dict[str, tuple[str, Path]] | None) -> str:
    """``field`` prefixed with ``file:line`` of the scenario key that set it, where known."""
    where = _origin_where(field, origin_of)
    return f"{where}: {field}" if where else field


def check_chip_names(scenario: Scenario,
                     origin_of: dict[str, tuple[str, Path]] | None = None) -> None:
    """Every chip named anywhere in the inputs must be in the catalog.

    Raises
    ------
    UnknownNameError
        Naming the file and line (when a scenario file set it), the key and the unknown chip.
    """
    known = set(scenario.catalog.index)
    inp = scenario.inputs

    def bad(where: str, chip: str) -> None:
        raise unknown_name(_located(where, origin_of), "chip", chip, known)

    mappings = {
        "fleet.initial_installed": inp.fleet.initial_installed,
        "fleet.life_quarters": inp.fleet.life_quarters,
        "fleet.efficiency": inp.fleet.efficiency,
        "calibration.prior_share": inp.calibration.prior_share,
        "controls.base_supply_units_per_quarter": inp.controls.base_supply_units_per_quarter,
        "planner.price_usd": inp.planner.price_usd,
        "planner.lead_time_quarters": inp.planner.lead_time_quarters,
    }
    for where, mapping in mappings.items():
        for chip in mapping:
            if chip not in known:
                bad(f"{where}.{chip}", chip)
    for i, order in enumerate(inp.fleet.pipeline):
        if order.chip not in known:
            bad(f"fleet.pipeline[{i}].chip", order.chip)
    if isinstance(inp.fleet.initial, list):
        for i, entry in enumerate(inp.fleet.initial):
            if entry.chip not in known:
                bad(f"fleet.initial[{i}].chip", entry.chip)
    for i, chip in enumerate(inp.calibration.candidates or []):
        if chip not in known:
            bad(f"calibration.candidates[{i}]", chip)
    for i, chip in enumerate(inp.planner.exclude_chips):
        if chip not in known:
            bad(f"planner.exclude_chips[{i}]", chip)
