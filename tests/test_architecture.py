"""The house rules of DESIGN.md, checked on the source: no import cycles, no upward imports.

``capacity/`` is parsed with :mod:`ast` (nothing is imported). Every ``import`` and
``from ... import`` counts, wherever it is: at the top, inside functions, under ``if
TYPE_CHECKING:`` or ``try:``; so does ``importlib.import_module("capacity....")`` with a literal
name. An import names the module it loads (``from capacity import lp`` -> ``capacity.lp``;
``from capacity import __version__`` -> ``capacity``); the parent packages the interpreter runs
on the way are not counted as imports.

Each module belongs to one room of :data:`ROOMS`, listed top (imported by everything) to bottom
(imports everything). A module may import modules of its own room or of rooms listed before it,
never after; within a room the imports must not form a cycle, and neither may they anywhere.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "capacity"

ROOMS: list[tuple[str, tuple[str, ...]]] = [
    ("errors", ("capacity.errors", "capacity.renamed_keys", "capacity._version", "capacity.batch",
                "capacity.stops",
                "capacity.text_table")),
    ("lp", ("capacity.lp",)),  # the PuLP wrapper: imports only errors
    ("schemas", ("capacity.schemas", "capacity.schemas.*")),
    ("results", ("capacity.results",)),
    ("scenarios", ("capacity.scenarios", "capacity.scenarios.*", "capacity.subjects")),
    ("domain", ("capacity.chips", "capacity.export_controls", "capacity.fleet",
                "capacity.calibration", "capacity.flops", "capacity.serving",
                "capacity.compute_demand")),
    ("inputs", ("capacity.inputs",)),
    # post-solve quantities as array functions, so the planner's read-back calls them too
    ("metrics", ("capacity.metrics", "capacity.metrics.*")),
    ("planner", ("capacity.planner", "capacity.planner.*")),
    ("finance", ("capacity.finance", "capacity.finance.*")),
    ("run", ("capacity.run",)),
    ("many", ("capacity.comparison", "capacity.montecarlo", "capacity.montecarlo.*",
              "capacity.montecarlo_boot",
              "capacity.backtesting", "capacity.backtest_intervals")),
    ("commands", ("capacity.commands", "capacity.comps_report")),
    ("report", ("capacity.report", "capacity.report.*")),
    # the package itself is the Python API: what each command returns, as Result objects that
    # write their workbook through report/ (so the API sits below it)
    ("api", ("capacity", "capacity.api")),
    ("cli", ("capacity.cli", "capacity.cli_options", "capacity.cli_subjects", "capacity.app",
             "capacity.app.*", "capacity.__main__")),
]
"""Rooms in DESIGN.md order; a pattern ending in ``.*`` covers a package's submodules."""


@dataclass(frozen=True)
class Edge:
    """One import: ``importer`` loads ``imported`` at ``path:line``."""

    importer: str
    imported: str
    path: str
    line: int

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: {self.importer} ({room_of(self.importer)}) imports "
                f"{self.imported} ({room_of(self.imported)})")


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` file under the package folder ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def room_of(module: str) -> str | None:
    """The room of ``module``, or None when :data:`ROOMS` does not place it."""
    for room, patterns in ROOMS:
        for p in patterns:
            if module == p or (p.endswith(".*") and module.startswith(p[:-1])):
                return room
    return None


def rank_of(module: str) -> int:
    return [room for room, _ in ROOMS].index(room_of(module))


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The module of ours that importing ``name`` loads (its longest known prefix)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(known: dict[str, Path], root: Path = PACKAGE) -> list[Edge]:
    """Every import of one of our modules by another, found in the source."""
    edges = []
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        rel = str(path.relative_to(root.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=rel)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                names = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source
                         for a in node.names]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                    node.func, "id", None)) == "import_module" and node.args
                  and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                names = [node.args[0].value]
            for name in names:
                target = _target(name, known) if name.split(".")[0] == "capacity" else None
                if target is not None and target != module:
                    edges.append(Edge(module, target, rel, node.lineno))
    return sorted(set(edges), key=lambda e: (e.path, e.line, e.imported))


def cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.importer, set()).add(e.imported)
        graph.setdefault(e.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return sorted(found)


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge]]:
    known = modules()
    return known, imports(known)


def test_every_module_has_a_room(graph):
    known, _edges = graph
    unplaced = [m for m in known if room_of(m) is None]
    assert not unplaced, (
        f"place these modules in a room of ROOMS in tests/test_architecture.py (DESIGN.md "
        f"'Rules of the house'): {', '.join(unplaced)}")


def test_no_import_cycles(graph):
    _known, edges = graph
    found = cycles(edges)
    detail = []
    for comp in found:
        members = set(comp)
        detail += [f"  {e}" for e in edges if e.importer in members and e.imported in members]
    assert not found, "import cycles:\n" + "\n".join(
        [" <-> ".join(c) for c in found] + ["edges inside them:", *detail])


def test_no_upward_imports(graph):
    _known, edges = graph
    placed = [e for e in edges if room_of(e.importer) and room_of(e.imported)]
    upward = [e for e in placed if rank_of(e.imported) > rank_of(e.importer)]
    assert not upward, ("imports of a room below the importer's (DESIGN.md order: "
                        f"{' < '.join(r for r, _ in ROOMS)}):\n"
                        + "\n".join(f"  {e}" for e in upward))


def test_the_walker_sees_function_level_and_relative_imports(tmp_path):
    """The parser itself, on a small package: deferred, relative and from-imports count."""
    pkg = tmp_path / "capacity"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import leaf\n")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from ..errors import X\n")
    (pkg / "top.py").write_text("from capacity import errors, sub\nimport capacity.sub.leaf\n"
                                "import importlib\nimportlib.import_module('capacity.errors')\n")
    known = modules(pkg)
    got = {(e.importer, e.imported) for e in imports(known, pkg)}
    assert got == {("capacity.sub", "capacity.sub.leaf"),
                   ("capacity.sub.leaf", "capacity.errors"),
                   ("capacity.top", "capacity.errors"), ("capacity.top", "capacity.sub"),
                   ("capacity.top", "capacity.sub.leaf")}
    assert cycles([Edge("a", "b", "", 1), Edge("b", "c", "", 1), Edge("c", "a", "", 1),
                   Edge("c", "d", "", 1)]) == [["a", "b", "c"]]


MAX_MODULE_LINES = 700
"""The most lines one module of ``capacity/`` may have (issue #30: rooms of one job)."""

API_FUNCTIONS = ("calibrate", "controls", "demand", "plan", "value", "compare", "stress",
                 "backtest")
"""The Python API's entry points: plain functions of the package."""


def test_no_module_is_over_the_size_bound():
    sizes = {p.relative_to(PACKAGE.parent).as_posix(): len(p.read_text(encoding="utf-8")
                                                            .splitlines())
             for p in PACKAGE.rglob("*.py")}
    over = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"


def test_no_module_assigns_a_module_class():
    """No ``X.__class__ = ...`` anywhere in the package: modules stay plain modules."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
            found += [f"{path.name}:{node.lineno}" for t in targets
                      if isinstance(t, ast.Attribute) and t.attr == "__class__"]
    assert not found


def test_api_entry_points_are_plain_functions_with_named_parameters():
    """``capacity.plan`` & co. are functions (not callable modules) whose signatures name their
    parameters, before and after their implementing modules are imported."""
    import importlib
    import inspect

    import capacity

    for mod in ("comparison", "backtesting", "montecarlo", "calibration", "export_controls",
                "compute_demand"):
        importlib.import_module(f"capacity.{mod}")
    for name in API_FUNCTIONS:
        fn = getattr(capacity, name)
        assert inspect.isfunction(fn), name
        params = inspect.signature(fn).parameters
        assert params and all(p.kind is not p.VAR_KEYWORD for p in params.values()), name
        assert fn.__doc__ and "Parameters" in fn.__doc__ and "Returns" in fn.__doc__, name


SUBJECT_WORDS = ("SenseTime", "SenseCore", "1H23")
"""Words of the shipped subject that belong in its data folder, never in the code's strings."""


def _subject_words() -> tuple[str, ...]:
    """The shipped subject's names and figures as its data states them: the words above, its
    title, its legal entities, its stress thresholds and fallback scenario (subject.toml), and
    its broker target prices written as a price (``HK$1.75``, ``HKD 1.75``)."""
    import tomllib

    data = PACKAGE.parent / "data"
    subject = tomllib.loads((data / "subject.toml").read_text(encoding="utf-8"))
    baseline = tomllib.loads((data / "baseline.toml").read_text(encoding="utf-8"))
    words = [*SUBJECT_WORDS, subject["title"], *subject["stress"]["thresholds"],
             subject["stress"]["fallback_uncertain"]]
    words += [e["name"] for e in baseline["subject"]["entities"]]
    for line in (data / "disclosures.csv").read_text(encoding="utf-8").splitlines():
        metric, *rest = line.split(",")
        if metric.startswith("target_price"):
            words += [f"HK${float(rest[2]):g}", f"HKD {float(rest[2]):g}"]
    return tuple(words)


def test_no_string_in_the_code_names_the_shipped_subject():
    """String literals of ``capacity/`` (docstrings aside) carry no name, vintage, threshold,
    fallback scenario or target price of the shipped subject: titles, help, errors and defaults
    read them from the subject's data (issue #27)."""
    words = _subject_words()
    assert "peak_eflops_2025Q4>=20" in words and "history-uncertain" in words
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and n.body and isinstance(n.body[0], ast.Expr)
                and isinstance(n.body[0].value, ast.Constant)}
        found += [f"{path.relative_to(PACKAGE.parent)}:{n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)
                  and id(n) not in docs and any(w in n.value for w in words)]
    assert not found
