"""What the browser explorer holds and computes, without the web framework.

The state of a view is a :class:`Settings`: a scenario (shipped name), an optional base scenario
to compare with, and ``--set`` items exactly as the command line takes them
(``finance.ev_sales_multiple=8.0``, ``controls.rules=["oct-2022", "oct-2023"]``). It is the query
string of the page (:meth:`Settings.query`, :meth:`Settings.from_query`), so a link reproduces
the view, and it is the scenario file "Download scenario" gives (:meth:`Settings.scenario_toml`:
``extends`` the scenario, the items in a ``[set]`` table), which ``capacity validate`` accepts
and ``capacity value --scenario FILE`` reproduces.

Every number shown comes from the Python API (:func:`capacity.plan`, :func:`capacity.value`) on
the scenario these settings load (:func:`evaluate`); results are kept by settings
(:data:`CACHE_SIZE` of them), so going back to an earlier view costs nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from capacity.app.limits import (
    MAX_CONCURRENT_SOLVES,
)
from capacity.errors import CapacityError, InputError

RULES_KEY = "controls.rules"
"""The ``--set`` key of the list of export-control rules in force (the rule toggles)."""

CACHE_SIZE = 64
"""Results kept, by settings (least recently used dropped first)."""

KNOB_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Capex budget", ("planner.capex_budget_m.",)),
    ("Chip prices", ("planner.price_usd.",)),
    ("Supply caps", ("controls.base_supply_units_per_quarter.",)),
    ("Power", ("planner.datacenter_mw.",)),
    ("Demand", ("demand.tokens.growth_annual", "demand.revenue.growth_by_year.",
                "demand.inference.price_per_m_tokens")),
    ("Finance", ("finance.ev_sales_multiple", "planner.discount_rate_annual")),
)
"""Groups of inputs offered as fields: each entry a dotted key, or a prefix ending in ``.`` that
offers every number under it the scenario holds (every budget year, every priced chip)."""

DISCOVERED_GROUPS: tuple[tuple[str, str], ...] = (
    ("Finance", r"(^|[._])wacc"),
    ("Rent", r"(^|[._])rent(al)?(_|$)"),
)
"""Inputs offered when the scenario has them, found by a pattern on the dotted key: a WACC and
rental rates (the finance and planner rewrites add them)."""

INPUT_UNITS: dict[str, str] = {
    "growth_annual": "share per year",
    "discount_rate_annual": "share per year",
    "growth_by_year": "share per year",
    "ev_sales_multiple": "x sales",
    "price_per_m_tokens": "RMB per m tokens",
    "base_supply_units_per_quarter": "units per quarter",
    "price_usd": "USD per unit",
    "wacc": "share per year",
}
"""Units of input names that do not end in a unit suffix (:func:`capacity.results.unit_of`)."""


def input_unit(key: str) -> str:
    """Unit of a dotted input key: its innermost name with a unit (``planner.capex_budget_m.
    2024`` -> ``RMB m``, ``planner.price_usd.H20`` -> ``USD per unit``); ``""`` when none."""
    from capacity.results import unit_of

    for part in reversed(key.split(".")):
        if part in INPUT_UNITS:
            return INPUT_UNITS[part]
        if "wacc" in part:
            return INPUT_UNITS["wacc"]
        unit = unit_of(part)
        if unit:
            return unit
    return ""


# --------------------------------------------------------------------------------------------
# TOML values (the --set text and the downloaded file)
# --------------------------------------------------------------------------------------------


def toml_value(v: Any) -> str:
    """``v`` as a TOML value (the text after ``=``): numbers, booleans, strings, dates, arrays
    and inline tables; a float keeps every digit (``repr``), so reading it back gives the same
    number."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return {math.inf: "inf", -math.inf: "-inf"}.get(v, "nan")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string: \" \\ \n \uXXXX escapes are TOML's too
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}"
                               for k, x in v.items()) + "}"
    raise InputError("value", f"cannot be written as TOML: {v!r}")


def field_text(v: int | float) -> str:
    """A number as a field shows it: whole numbers without ``.0`` (``3000``), others with every
    digit (``0.35``)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return toml_value(v)


def split_item(item: str) -> tuple[str, str]:
    """``"a.b = 1"`` -> ``("a.b", "1")``.

    Raises
    ------
    InputError
        ``--set: expected KEY=VALUE`` without ``=``.
    """
    if "=" not in item:
        raise InputError("--set", f"expected KEY=VALUE, got {item!r}")
    key, raw = item.split("=", 1)
    return key.strip(), raw.strip()


def parse_items(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``--set`` items -> ``{key: value}`` as the command line parses them
    (:func:`capacity.scenarios.parse_set_value`); a later item for the same key wins."""
    from capacity.scenarios import parse_set_value

    out: dict[str, Any] = {}
    for item in items:
        key, raw = split_item(item)
        if not key:
            raise InputError("--set", f"empty key in {item!r}")
        out[key] = parse_set_value(raw, key)
    return out


# --------------------------------------------------------------------------------------------
# What a view may load: shipped scenarios and the subject folder's files, nothing else
# --------------------------------------------------------------------------------------------

REFUSED = "(refused)"
"""What a ``scenario`` or ``base`` parameter becomes when it names anything but a source of
:func:`scenario_sources`: one marker for every refused value, so a missing and a forbidden
path give the same page."""

SOURCE_REFUSED = ("not a shipped scenario or a scenario file of the subject folder (the app "
                  "reads nothing else)")
"""The error line (after the field name) for a refused ``scenario`` or ``base``; it never
repeats the value, so every refused value reads the same."""


SOURCES_TTL_S = 5.0
"""How long the listing of :func:`scenario_sources` is kept before the folder is listed again
(a scenario file added while the app runs is offered after at most this long). [s]"""

_sources: dict[str, tuple[float, dict[str, Path]]] = {}


def scenario_sources() -> dict[str, Path]:
    """What a view's ``scenario`` and ``base`` may name, and the file each loads.

    Every shipped scenario by name (``history``), and every ``.toml`` file inside the subject
    folder (:func:`capacity.scenarios.data_dir`) by its path relative to the folder
    (``scenarios/history.toml``) and by its absolute path. Listed from the folder itself
    (symbolic links are not followed out of it), so a value a visitor gives is only ever
    looked up in this table, never used to reach the filesystem.
    """
    from capacity.scenarios import data_dir

    root = data_dir().resolve()
    now = time.monotonic()
    kept = _sources.get(str(root))
    if kept is not None and now - kept[0] < SOURCES_TTL_S:
        return kept[1]
    out = _list_sources(root)
    _sources[str(root)] = (now, out)
    return out


def _list_sources(root: Path) -> dict[str, Path]:
    from capacity.scenarios import shipped_scenarios

    out: dict[str, Path] = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in sorted(files):
            path = Path(dirpath) / f
            if f.endswith(".toml") and path.resolve().is_relative_to(root):
                out[path.relative_to(root).as_posix()] = path
                out[str(path)] = path
    for name, path in shipped_scenarios().items():
        if path.resolve().is_relative_to(root):
            out[name] = path
    return out


def source_of(name: str, field_name: str = "scenario") -> Path:
    """The file a view's ``scenario`` (or ``base``) loads.

    Raises
    ------
    InputError
        ``scenario: not a shipped scenario or ...`` (:data:`SOURCE_REFUSED`) for anything
        :func:`scenario_sources` does not list, without touching the filesystem for it.
    """
    path = scenario_sources().get(name) if name != REFUSED else None
    if path is None:
        raise InputError(field_name, SOURCE_REFUSED)
    return path


def _allowed(name: str | None) -> str | None:
    """``name`` when :func:`scenario_sources` lists it, else :data:`REFUSED` (None stays)."""
    if name is None:
        return None
    return name if name != REFUSED and name in scenario_sources() else REFUSED


def default_scenario() -> str:
    """The scenario a view opens on: the one ``capacity value`` loads without ``--scenario``
    (:data:`capacity.scenarios.DEFAULT_SCENARIO`, at the vintage :func:`capacity.scenarios.
    load_scenario` picks for it, so the page and the command line agree); the first shipped
    scenario where the subject folder does not ship that one."""
    from capacity.scenarios import DEFAULT_SCENARIO, shipped_scenarios

    names = list(shipped_scenarios())
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO in names or not names else names[0]


# --------------------------------------------------------------------------------------------
# Settings: the state of a view
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The state of one view.

    Attributes
    ----------
    scenario
        Shipped scenario name.
    base
        Shipped scenario to show beside it, or None.
    sets
        ``--set`` items ``KEY=VALUE`` applied on top of ``scenario`` (as typed; in order).
    """

    scenario: str = field(default_factory=lambda: default_scenario())
    base: str | None = None
    sets: tuple[str, ...] = ()

    def query(self) -> str:
        """The URL query string (``?scenario=history&set=finance.ev_sales_multiple%3D8.0``)."""
        pairs = [("scenario", self.scenario)]
        if self.base:
            pairs.append(("base", self.base))
        pairs += [("set", s) for s in self.sets]
        return "?" + urlencode(pairs)

    @classmethod
    def from_query(cls, search: str | None) -> Settings:
        """The settings a query string holds (unknown parameters are ignored; a missing
        scenario is :func:`default_scenario`, the command line's). A ``scenario`` or ``base``
        that :func:`scenario_sources` does not list becomes :data:`REFUSED`, whatever it
        named."""
        scenario, base, sets = None, None, []
        for k, v in parse_qsl((search or "").lstrip("?"), keep_blank_values=False):
            if k == "scenario":
                scenario = v
            elif k == "base":
                base = v or None
            elif k == "set":
                sets.append(v)
        return cls.from_data(scenario, base, sets)

    @classmethod
    def from_data(cls, scenario: str | None, base: str | None,
                  sets: list[str] | tuple[str, ...]) -> Settings:
        """Settings from values a client sent (the query string, the page's store): a
        ``scenario`` or ``base`` not listed by :func:`scenario_sources` becomes
        :data:`REFUSED`; no scenario is :func:`default_scenario`."""
        return cls(_allowed(scenario or default_scenario()), _allowed(base or None), tuple(sets))

    def set_values(self) -> dict[str, Any]:
        """The items as ``{key: value}`` (what ``load_scenario(set_values=...)`` takes)."""
        return parse_items(self.sets)

    def cli_args(self) -> list[str]:
        """The same view as command-line arguments: ``--scenario NAME --set K=V ...``."""
        args = ["--scenario", self.scenario]
        for item in self.sets:
            args += ["--set", item]
        return args

    def scenario_toml(self) -> str:
        """A scenario file of these settings: ``extends`` the scenario, every item in
        ``[set]`` (values written back from what they parse to, so the file holds exactly the
        inputs the view used)."""
        values = self.set_values()
        head = [f"description = {toml_value(self.description())}",
                f"extends = {toml_value(self.scenario)}", ""]
        lines = [f"{toml_value(k)} = {toml_value(v)}" for k, v in values.items()]
        body = ["[set]", *lines, ""] if lines else []
        note = [f"# Written by capacity serve; reproduce with: capacity value --scenario "
                f"FILE (or capacity value {' '.join(_shell(a) for a in self.cli_args())})"]
        return "\n".join([*note, *head, *body])

    def description(self) -> str:
        n = len(self.set_values())
        return f"{self.scenario} with {n} change{'s' if n != 1 else ''} made in capacity serve"


def _shell(arg: str) -> str:
    return arg if re.fullmatch(r"[A-Za-z0-9_.,:/=+-]+", arg) else "'" + arg.replace(
        "'", "'\\''") + "'"


# --------------------------------------------------------------------------------------------
# The fields a scenario offers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Knob:
    """One input offered as a field.

    Attributes
    ----------
    key
        Its ``--set`` key.
    group
        Heading it is shown under.
    default
        The scenario's value as TOML text (what the field shows before a change).
    unit
        Unit shown beside it (:func:`input_unit`).
    """

    key: str
    group: str
    default: str
    unit: str
    prefix: str = ""
    """The table it is an entry of (``planner.capex_budget_m.``), or ``""``."""

    @property
    def label(self) -> str:
        """What the field is called under its table's heading (``2024``), or its key."""
        return self.key[len(self.prefix):] if self.prefix else self.key


def _flat_inputs(scenario) -> dict[str, Any]:
    from capacity.scenarios import flatten

    return flatten(scenario.inputs.model_dump(by_alias=True, mode="python"))


def knobs(scenario) -> list[Knob]:
    """The fields offered for a loaded scenario: :data:`KNOB_GROUPS` then what
    :data:`DISCOVERED_GROUPS` finds, numbers only, each once."""
    flat = {k: v for k, v in _flat_inputs(scenario).items()
            if isinstance(v, int | float) and not isinstance(v, bool)}
    out: list[Knob] = []
    seen: set[str] = set()

    def add(group: str, key: str, prefix: str = "") -> None:
        if key not in seen:
            seen.add(key)
            out.append(Knob(key, group, field_text(flat[key]), input_unit(key), prefix))

    for group, entries in KNOB_GROUPS:
        for entry in entries:
            if entry.endswith("."):
                for key in (k for k in flat if k.startswith(entry)):
                    add(group, key, entry)
            elif entry in flat:
                add(group, entry)
    for group, pattern in DISCOVERED_GROUPS:
        for key in flat:
            if re.search(pattern, key):
                add(group, key)
    return out


@dataclass(frozen=True)
class RuleOption:
    """An export-control rule offered as a toggle."""

    id: str
    title: str
    first: str
    """Effective date (``YYYY-MM-DD``)."""
    on: bool
    """In force in the scenario as loaded."""


def rule_options(scenario) -> list[RuleOption]:
    """The scenario's rules in force (its order: later decides a tie), then every other rule it
    knows (library and its own), by effective date."""
    rules = scenario.all_rules()
    listed = list(scenario.inputs.controls.rules)
    rest = sorted((r for r in rules if r not in listed),
                  key=lambda r: (str(rules[r].effective), r))

    def option(rid: str, on: bool) -> RuleOption:
        r = rules[rid]
        return RuleOption(rid, str(getattr(r, "title", rid)), str(r.effective), on)

    return [*(option(r, True) for r in listed if r in rules), *(option(r, False) for r in rest)]


def rules_item(scenario, chosen: list[str]) -> str | None:
    """The ``--set`` item for the rules ticked (in the order :func:`rule_options` lists them),
    or None when they are the scenario's own."""
    order = [o.id for o in rule_options(scenario)]
    picked = [r for r in order if r in set(chosen)]
    if picked == list(scenario.inputs.controls.rules):
        return None
    return f"{RULES_KEY}={toml_value(picked)}"


def field_of(error: CapacityError, keys: list[str]) -> str | None:
    """The offered key an error is about (the longest key its field names), or None."""
    text = re.sub(r"\[\d+\]", "", error.field)
    hits = [k for k in keys if re.search(rf"(^|[\s:]){re.escape(k)}($|[.\s\[])", text + " ")]
    return max(hits, key=len) if hits else None


# --------------------------------------------------------------------------------------------
# Evaluation, cached by settings
# --------------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """The results of one view (or the one-line error that stopped it).

    Attributes
    ----------
    settings
        What was evaluated.
    plan, value
        :class:`capacity.Result` of :func:`capacity.plan` and :func:`capacity.value`.
    base_plan, base_value
        The same for the base scenario (None without one).
    error
        The error line when the settings do not load or solve (the results are then None).
    error_key
        The ``--set`` key the error is about, where one is (to show it beside that field).
    seconds
        Wall time of the evaluation when it was computed (not when served from the cache). [s]
    """

    settings: Settings
    plan: Any = None
    value: Any = None
    base_plan: Any = None
    base_value: Any = None
    error: str | None = None
    error_key: str | None = None
    seconds: float = 0.0
    scenario: Any = field(default=None, repr=False)
    drawn: Any = field(default=None, repr=False, compare=False)
    """The page's parts drawn from it, kept with it (:func:`capacity.app.web` draws them once
    per evaluation: a cache hit costs no redrawing)."""


_cache_lock = threading.Lock()
"""Guards :data:`_cache`, :data:`_base_cache` and :data:`_solving`; held for a dictionary
operation only, never during a solve, so a cache hit never waits for one."""
_cache: OrderedDict[Settings, Evaluation] = OrderedDict()
_base_cache: dict[str, tuple] = {}
_solving: dict[object, threading.Lock] = {}
"""One lock per key being computed (settings, or ``("base", name)``): the first caller
solves, a second caller with the same key waits for that solve and reads its result."""
_solve_slots = threading.BoundedSemaphore(MAX_CONCURRENT_SOLVES)
"""At most :data:`~capacity.app.limits.MAX_CONCURRENT_SOLVES` solves at once."""


def _run(name: str, set_values: dict[str, Any] | None, field_name: str = "scenario"):
    """Load, plan and value one scenario: :func:`capacity.plan`, then the report
    :func:`capacity.value` gives, valued on that plan rather than solving it a second time
    (:func:`capacity.run.value_report` with ``plan_result``). ``name`` must be one of
    :func:`scenario_sources` (:func:`source_of` refuses anything else)."""
    import capacity
    from capacity.api import Result
    from capacity.run import value_report

    sc = capacity.load_scenario(source_of(name, field_name), set_values=set_values or None)
    plan = capacity.plan(sc)
    return sc, plan, Result.of(value_report(sc, plan_result=plan.detail), [sc])


def _once(key: Settings, compute) -> tuple[Evaluation, bool]:
    """``_cache[key]``, computed by ``compute()`` when missing: one computation per key at a
    time (others with the same key wait for it), distinct keys at once up to
    :data:`_solve_slots`; a cached key is read without waiting.

    Returns
    -------
    (value, bool)
        The value and whether it was already there (or computed meanwhile by another caller).
    """
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key], True
        key_lock = _solving.setdefault(key, threading.Lock())
    with key_lock:
        with _cache_lock:
            if key in _cache:  # solved by the caller this one waited for
                return _cache[key], True
        try:
            with _solve_slots:
                value = compute()
            with _cache_lock:
                _cache[key] = value
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
        finally:
            with _cache_lock:
                if _solving.get(key) is key_lock:
                    del _solving[key]
    return value, False


def evaluate(settings: Settings) -> tuple[Evaluation, bool]:
    """Plan and value the settings' scenario (and its base) through the Python API.

    Results are cached by settings; a cached one is returned at once, while other settings
    are being solved (:func:`_once`).

    Returns
    -------
    (Evaluation, bool)
        The evaluation and whether it came from the cache.
    """
    return _once(settings, lambda: _evaluate(settings))


def _evaluate(settings: Settings) -> Evaluation:
    t0 = time.perf_counter()
    ev = Evaluation(settings)
    try:
        values = settings.set_values()
        ev.scenario, ev.plan, ev.value = _run(settings.scenario, values)
        if settings.base:
            _, ev.base_plan, ev.base_value = _run_base(settings.base)
    except CapacityError as exc:
        ev = Evaluation(settings, error=exc.one_line(),
                        error_key=field_of(exc, _keys_of(settings)))
    except ValueError as exc:  # pydantic's ValidationError outside load_scenario
        from capacity.errors import input_error_from_validation

        core = __import__("sys").modules.get("pydantic_core")
        if core is None or not isinstance(exc, core.ValidationError):
            raise
        err = input_error_from_validation(exc)
        ev = Evaluation(settings, error=err.one_line(),
                        error_key=field_of(err, _keys_of(settings)))
    ev.seconds = time.perf_counter() - t0
    return ev


def _run_base(name: str):
    """The base scenario as shipped, solved once per name (outside the solve slots: it runs
    inside the solve of the settings that asked for it)."""
    with _cache_lock:
        if name in _base_cache:
            return _base_cache[name]
        key_lock = _solving.setdefault(("base", name), threading.Lock())
    with key_lock:
        with _cache_lock:
            if name in _base_cache:
                return _base_cache[name]
        try:
            result = _run(name, None, "base")
            with _cache_lock:
                _base_cache[name] = result
        finally:
            with _cache_lock:
                _solving.pop(("base", name), None)
    return result


def _keys_of(settings: Settings) -> list[str]:
    keys = [RULES_KEY]
    for item in settings.sets:
        if "=" in item:
            keys.append(item.split("=", 1)[0].strip())
    return keys


def warm() -> Evaluation:
    """Solve the view a page opens on (:class:`Settings` with no items) into the cache, so the
    first page served already carries its results (``capacity serve`` calls it before it
    listens)."""
    return evaluate(Settings())[0]


def cached(settings: Settings) -> Evaluation | None:
    """The cached evaluation of ``settings``, or None; never solves."""
    with _cache_lock:
        return _cache.get(settings)


def clear_cache() -> None:
    """Forget every cached evaluation (tests)."""
    with _cache_lock:
        _cache.clear()
        _base_cache.clear()


def target_prices(value_result) -> dict[str, float]:
    """Every price per share a value result carries: its numeric scalars in HKD (name ending
    ``_hkd``, :func:`capacity.results.unit_of`; ``target_price``, one per method where the
    result has them, the note's), in its order. ``fx_listing`` is a rate, not a price."""
    from capacity.results import unit_of

    return {k: float(v) for k, v in value_result.scalars.items()
            if unit_of(k) == "HKD" and isinstance(v, int | float) and not isinstance(v, bool)}


def plan_cards(ev: Evaluation) -> list[tuple[str, Any]]:
    """The plan KPIs shown as cards (:data:`capacity.metrics.kpis.EXPLORER_KPIS`), each with
    the result that carries it: ``[(name, plan result), ...]``."""
    from capacity.metrics.kpis import EXPLORER_KPIS

    return [(k, ev.plan) for k in EXPLORER_KPIS]


def same_value(text: str, default: str, key: str = "") -> bool:
    """Whether a field's text means the scenario's value (``1500`` and ``1500.0`` do)."""
    from capacity.scenarios import parse_set_value

    if text.strip() == default.strip():
        return True
    try:
        a, b = parse_set_value(text, key), parse_set_value(default, key)
    except CapacityError:
        return False
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    return a == b if numbers else False
