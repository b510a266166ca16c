"""Monte Carlo stress tests: uncertain inputs -> N draws of the whole pipeline -> percentiles.

A scenario's ``[uncertain]`` table gives inputs as distributions (dotted keys, as in ``[set]``).
Every draw is sampled up front in the calling process from ``numpy.random.default_rng(seed)``,
one column per input in table order, so the same seed gives the same draws for any number of
workers. Each draw then runs plan -> demand -> finance with the calibration and the existing
fleet fixed (they do not depend on the uncertain inputs), and the purchase LP re-solved in HiGHS
with the draw's numbers (:mod:`capacity.planner.fast`).

Distributions
-------------
``{p5 = a, p50 = b, p95 = c}``
    Split (two-piece) normal through the three points: median ``b``, standard deviation
    ``(b - a) / z`` below it and ``(c - b) / z` above it, ``z = 1.6449`` (the 95% normal
    quantile), so P(x <= a) = 5%, P(x <= b) = 50%, P(x <= c) = 95% exactly and a skewed range
    keeps its skew. Draw: x = b + s_left * z if z < 0 else b + s_right * z, z ~ N(0, 1).
``{dist = "uniform", low = a, high = b}``, ``{dist = "normal", mean = m, sd = s}``,
``{dist = "triangular", low = a, mode = m, high = b}``
    As named. Use uniform or triangular for inputs with hard bounds (a share <= 1): a split
    normal has unbounded tails, and a draw outside an input's valid range is an error.

Which inputs may be uncertain
-----------------------------
Any number under ``demand.`` and ``finance.``; under ``planner.``: ``price_usd.<chip>``,
``usd_rmb``, ``pue``, ``server_overhead``, ``electricity_rmb_per_kwh``, ``discount_rate_annual``,
``shortfall_penalty_rmb_m_per_eflops``, ``training_shortfall_weight``,
``capex_budget_rmb_m.<year>``, ``datacenter_mw.<quarter>``; supply caps
``controls.base_supply_units_per_quarter.<chip>``; licence fees
``rules.<rule id>.fee_revenue_share``. List items are addressed by name (``demand.runs.
large_400b.mfu``) or index. Keys under ``calibration.``, ``fleet.`` and ``horizon.`` are refused
(they move the calibrated fleet, which is computed once), as are inputs that change the LP's
structure (lead times, the training interconnect bar, which rules apply).

Batches and determinism
-----------------------
Draws are cut into batches of ``BATCH_SIZE`` by draw index; each batch is solved in order from a
freshly loaded model (HiGHS warm starts may land on another optimal vertex, so the start must
not depend on which worker ran what before). Results are therefore identical for any number of
workers and for every executor.

Outputs
-------
Percentiles (p5/p50/p95) of each KPI; the probability of threshold expressions
(``kpi@period OP number``); how often each limit binds (non-zero dual on a tight row) by family
and name; a tornado of one-at-a-time p5/p95 swings (other inputs at p50) on the target price and
on effective EFLOPS at the last Q4 of the KPI years; percentile bands per quarter for fan charts.
"""

from __future__ import annotations

import copy
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from capacity.errors import InputError
from capacity.results import Report
from capacity.scenarios import Scenario

BATCH_SIZE = 25
"""Draws per batch (and per task sent to a worker)."""

Z95 = 1.6448536269514722
"""95% quantile of the standard normal. [1]"""

KPI_QUARTERS = ("2023Q4", "2024Q4", "2025Q4")
KPI_YEARS = (2024, 2025)
DEFAULT_THRESHOLDS = ("peak_eflops@2025Q4>=20", "genai_share@2025>=0.4")
FALLBACK_UNCERTAIN = "history-uncertain"
"""Shipped scenario whose ``[uncertain]`` table is used when the chosen scenario has none."""

_PLANNER_KEYS = {"usd_rmb", "pue", "server_overhead", "electricity_rmb_per_kwh",
                 "discount_rate_annual", "shortfall_penalty_rmb_m_per_eflops",
                 "training_shortfall_weight"}
_PLANNER_MAPS = {"price_usd", "capex_budget_rmb_m", "datacenter_mw"}


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UncertainInput:
    """One uncertain input: a dotted key and its distribution.

    Attributes
    ----------
    key
        Dotted input key (``planner.price_usd.H800``).
    dist
        ``split-normal`` (from p5/p50/p95), ``uniform``, ``normal`` or ``triangular``.
    params
        Distribution parameters (p5, p50, p95 | low, high | mean, sd | low, mode, high).
    """

    key: str
    dist: str
    params: tuple[float, ...]

    def quantile(self, q: float) -> float:
        """The 5%, 50% or 95% quantile (the tornado's low, centre and high values)."""
        z = {0.05: -Z95, 0.5: 0.0, 0.95: Z95}[q]
        p = self.params
        if self.dist == "split-normal":
            return p[0] if q == 0.05 else p[1] if q == 0.5 else p[2]
        if self.dist == "normal":
            return p[0] + z * p[1]
        if self.dist == "uniform":
            return p[0] + q * (p[1] - p[0])
        lo, mode, hi = p  # triangular: inverse CDF
        f = (mode - lo) / (hi - lo)
        if q <= f:
            return lo + math.sqrt(q * (hi - lo) * (mode - lo))
        return hi - math.sqrt((1 - q) * (hi - lo) * (hi - mode))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws from ``rng``."""
        p = self.params
        if self.dist == "split-normal":
            z = rng.standard_normal(n)
            left, right = (p[1] - p[0]) / Z95, (p[2] - p[1]) / Z95
            return p[1] + np.where(z < 0, left, right) * z
        if self.dist == "normal":
            return rng.normal(p[0], p[1], n)
        if self.dist == "uniform":
            return rng.uniform(p[0], p[1], n)
        return rng.triangular(p[0], p[1], p[2], n)

    def as_record(self) -> dict[str, Any]:
        return {"input": self.key, "distribution": self.dist,
                "params": ", ".join(f"{x:g}" for x in self.params),
                "p5": self.quantile(0.05), "p50": self.quantile(0.5),
                "p95": self.quantile(0.95)}


_DIST_FIELDS = {"uniform": ("low", "high"), "normal": ("mean", "sd"),
                "triangular": ("low", "mode", "high")}


_SPEC_WORDS = {"p5", "p50", "p95", "dist"}


def _flat_specs(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Unquoted dotted keys nest in TOML: flatten down to the distribution tables."""
    out: dict[str, Any] = {}
    for key, spec in table.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(spec, dict) and spec and not (_SPEC_WORDS & set(spec)) and all(
                isinstance(v, dict) for v in spec.values()):
            out.update(_flat_specs(spec, path))
        else:
            out[path] = spec
    return out


def parse_uncertain(table: dict[str, dict[str, Any]], where: str = "uncertain"
                    ) -> list[UncertainInput]:
    """Validate an ``[uncertain]`` table into :class:`UncertainInput` (table order kept).

    Raises
    ------
    InputError
        ``uncertain.<key>: problem`` for a malformed entry.
    """
    out = []
    for key, spec in _flat_specs(table).items():
        field_ = f"{where}.{key}"
        if not isinstance(spec, dict):
            raise InputError(field_, "must be a table like {p5 = 1, p50 = 2, p95 = 3}")
        spec = dict(spec)
        dist = spec.pop("dist", None)
        if dist is None:
            names: tuple[str, ...] = ("p5", "p50", "p95")
            dist = "split-normal"
        elif dist in _DIST_FIELDS:
            names = _DIST_FIELDS[dist]
        else:
            raise InputError(f"{field_}.dist", f"unknown distribution {dist!r} (choose from "
                             f"{', '.join(_DIST_FIELDS)}, or give p5/p50/p95)")
        extra = set(spec) - set(names)
        missing = [n for n in names if n not in spec]
        if extra or missing:
            raise InputError(field_, f"expected keys {', '.join(names)}"
                             + (f"; unknown {sorted(extra)[0]!r}" if extra else "")
                             + (f"; missing {missing[0]!r}" if missing else ""))
        vals = []
        for n in names:
            v = spec[n]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"{field_}.{n}", f"must be a finite number, got {v!r}")
            vals.append(float(v))
        if dist == "split-normal" and not (vals[0] <= vals[1] <= vals[2] and vals[0] < vals[2]):
            raise InputError(field_, "needs p5 <= p50 <= p95 with p5 < p95")
        if dist == "uniform" and not vals[0] < vals[1]:
            raise InputError(field_, "needs low < high")
        if dist == "normal" and not vals[1] > 0:
            raise InputError(f"{field_}.sd", "must be positive")
        if dist == "triangular" and not (vals[0] <= vals[1] <= vals[2] and vals[0] < vals[2]):
            raise InputError(field_, "needs low <= mode <= high with low < high")
        out.append(UncertainInput(key, dist, tuple(vals)))
    if not out:
        raise InputError(where, "no uncertain inputs")
    return out


def sample_draws(specs: list[UncertainInput], n: int, seed: int) -> np.ndarray:
    """All draws, shape (n, inputs): one generator, columns sampled in table order."""
    rng = np.random.default_rng(seed)
    return np.column_stack([s.sample(rng, n) for s in specs]) if n else \
        np.zeros((0, len(specs)))


# --------------------------------------------------------------------------------------------
# Keys: where a draw goes
# --------------------------------------------------------------------------------------------


def _step(node: Any, part: str, key: str) -> Any:
    if isinstance(node, dict):
        for k in node:
            if str(k) == part:
                return k
        raise InputError(f"uncertain.{key}", f"unknown input ({part!r} not found)")
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and part in (item.get("name"), item.get("id")):
                return i
        if part.isdigit() and int(part) < len(node):
            return int(part)
        raise InputError(f"uncertain.{key}", f"unknown input (no list item {part!r})")
    raise InputError(f"uncertain.{key}", "unknown input")


def _path(tree: dict[str, Any], key: str) -> tuple[Any, ...]:
    """Resolve a dotted key in an inputs tree to a tuple of dict keys / list indices."""
    node: Any = tree
    out = []
    for part in key.split("."):
        k = _step(node, part, key)
        out.append(k)
        node = node[k]
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise InputError(f"uncertain.{key}", f"not a number (the input is {node!r})")
    return tuple(out)


def check_key(key: str, scenario: Scenario) -> str:
    """Classify a key: ``inputs`` (set in the inputs tree) or ``fee`` (a rule's licence fee).

    Raises
    ------
    InputError
        For keys a stress test cannot vary, with the reason.
    """
    field_ = f"uncertain.{key}"
    head, _, rest = key.partition(".")
    if head in ("calibration", "fleet", "horizon"):
        raise InputError(field_, f"'{head}.' inputs feed the calibrated existing fleet, which a "
                         "stress test computes once; they cannot be uncertain")
    if head == "rules":
        rid, _, attr = rest.partition(".")
        rules = scenario.all_rules()
        if rid not in rules:
            raise InputError(field_, f"unknown rule {rid!r}")
        if attr != "fee_revenue_share":
            raise InputError(field_, "only a rule's fee_revenue_share can be uncertain")
        return "fee"
    if head == "controls":
        if not rest.startswith("base_supply_units_per_quarter."):
            raise InputError(field_, "only controls.base_supply_units_per_quarter.<chip> can be "
                             "uncertain (the rule list sets the LP's structure)")
    elif head == "planner":
        sub = rest.split(".")[0]
        if sub not in _PLANNER_KEYS and not (sub in _PLANNER_MAPS and "." in rest):
            allowed = sorted(_PLANNER_KEYS | {m + ".*" for m in _PLANNER_MAPS})
            raise InputError(field_, "changes the LP's structure or is not a number a stress "
                             f"test can vary (allowed under planner.: {', '.join(allowed)})")
    elif head not in ("demand", "finance"):
        raise InputError(field_, "unknown input (uncertain keys start with demand., finance., "
                         "planner., controls.base_supply_units_per_quarter. or rules.)")
    return "inputs"


# --------------------------------------------------------------------------------------------
# The model every worker evaluates
# --------------------------------------------------------------------------------------------


@dataclass
class DrawContext:
    """Everything fixed across draws, as plain arrays (picklable, sent once to each worker)."""

    periods: list[str]
    base_period: str
    chips: list[str]
    tree: dict[str, Any]
    paths: list[tuple[Any, ...] | None]
    fee_rules: list[str | None]
    keys: list[str]
    # prices
    cat_price_rmb: np.ndarray
    cat_price_usd: np.ndarray
    tdp_w: np.ndarray
    price_factor: np.ndarray
    licence_rule: np.ndarray
    # caps: cap = cap0 + sum_k slope_k * (value_k - base_k)
    cap0: np.ndarray
    cap_slopes: dict[int, np.ndarray]
    cap_base: dict[int, float]
    power_step: np.ndarray
    power_keys: list[str]
    # demand: disclosures and the calibration-window fleet; the existing fleet per quarter
    demand_fixed: Any
    fleet_eflops: np.ndarray
    # finance anchors
    anchors: Any
    # fast LP
    planner: Any
    alive: np.ndarray
    labels: list[str]
    label_of_row: np.ndarray
    existing_peak_eflops: np.ndarray
    existing_eff_eflops: np.ndarray
    kpi_quarter_index: dict[str, int]
    years: np.ndarray
    quarter_no: np.ndarray
    year_layout: Any
    notes: list[str] = field(default_factory=list)


def _set_path(tree: dict[str, Any], path: tuple[Any, ...], value: float) -> None:
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def build_context(scenario: Scenario, specs: list[UncertainInput], lo: np.ndarray,
                  hi: np.ndarray, solver: str = "highs") -> DrawContext:
    """Prepare the fixed part of every draw (runs the calibration and builds the LP once).

    Parameters
    ----------
    scenario
        Validated scenario.
    specs
        Uncertain inputs.
    lo, hi
        Smallest and largest value each input takes in any draw (for the supply-cap probes).
    """
    from capacity import demand as dm
    from capacity import finance
    from capacity.planner.data import plan_data_from_scenario
    from capacity.planner.fast import FastPlanner
    from capacity.schemas import Inputs

    tree = scenario.inputs.model_dump()
    kinds = [check_key(s.key, scenario) for s in specs]
    for s in specs:  # a chip priced from the catalog in USD: vary that price
        if s.key.startswith("planner.price_usd.") and s.key.count(".") == 2:
            chip = s.key.rsplit(".", 1)[1]
            if chip not in tree["planner"]["price_usd"] and chip in scenario.catalog.index:
                row = scenario.catalog.loc[chip]
                if pd.isna(row["price_rmb"]) and pd.notna(row["price_usd"]):
                    tree["planner"]["price_usd"][chip] = float(row["price_usd"])
    paths = [_path(tree, s.key) if k == "inputs" else None
             for s, k in zip(specs, kinds, strict=True)]
    fee_rules = [s.key.split(".")[1] if k == "fee" else None
                 for s, k in zip(specs, kinds, strict=True)]
    keys = [s.key for s in specs]
    _check_extremes(specs, tree, paths, lo, hi)
    from capacity.planner import gather

    gathered = gather(scenario, solver)
    data, existing, fleet_hist = gathered.data, gathered.existing_units, gathered.fleet_history
    av = gathered.availability
    planner = FastPlanner(data)
    periods = data.periods
    chips = list(data.chips)
    T, C = len(periods), len(chips)
    cat = scenario.catalog.reindex(chips)
    notes: list[str] = []

    # prices: price[t, c] = base_rmb[c] / 1e6 * price_factor[t, c] on the priced pairs
    if av is not None:
        pf = av["price_factor"].unstack("chip").reindex(index=periods, columns=chips)
        pf = pf.astype(float).fillna(1.0).to_numpy()
        st = av["status"].unstack("chip").reindex(index=periods, columns=chips).fillna("")
        rl = av["rule"].unstack("chip").reindex(index=periods, columns=chips).fillna("")
        licence_rule = np.where(st.to_numpy() == "licence", rl.to_numpy(), "")
        rule_arr = rl.to_numpy()
        status_arr = st.to_numpy()
    else:
        pf = np.ones((T, C))
        licence_rule = np.full((T, C), "", dtype=object)
        rule_arr = np.full((T, C), "", dtype=object)
        status_arr = np.full((T, C), "allowed", dtype=object)
    for rid in {r for r in fee_rules if r}:
        if not (licence_rule == rid).any():
            notes.append(f"rules.{rid}.fee_revenue_share: the rule licenses nothing this "
                         "scenario can buy; its fee has no effect")

    # supply caps: affine in each chip's base supply over the sampled range (probed)
    cap0 = data.cap_units.reindex(index=periods, columns=chips).to_numpy(float)
    cap_slopes: dict[int, np.ndarray] = {}
    cap_base: dict[int, float] = {}
    supply = [i for i, s in enumerate(specs)
              if s.key.startswith("controls.base_supply_units_per_quarter.")]
    if supply:
        demand0 = gathered.demand
        from capacity.pipeline import scenario_availability

        probes = {}
        for name, pick in (("lo", lo), ("mid", (lo + hi) / 2), ("hi", hi)):
            t2 = copy.deepcopy(tree)
            for i in supply:
                _set_path(t2, paths[i], float(pick[i]))
            sc2 = scenario.with_inputs(Inputs.model_validate(t2))
            d2 = plan_data_from_scenario(sc2, existing, demand0, scenario_availability(sc2))
            probes[name] = d2.cap_units.reindex(index=periods, columns=chips).to_numpy(float)
        for i in supply:
            chip = specs[i].key.rsplit(".", 1)[1]
            j = chips.index(chip)
            a, m, b = probes["lo"][:, j], probes["mid"][:, j], probes["hi"][:, j]
            span = hi[i] - lo[i]
            slope = np.zeros((T, C))
            if span > 0:
                s = (b - a) / span
                ok = np.isclose(m, a + s * (hi[i] - lo[i]) / 2, rtol=1e-9, atol=1e-9) | (
                    np.isnan(a) & np.isnan(b))
                if not ok.all():
                    raise InputError(f"uncertain.{specs[i].key}", "the purchase cap is not "
                                     "linear in this supply over the sampled range (a licence "
                                     "volume cap binds inside it); narrow the range")
                slope[:, j] = np.nan_to_num(s)
            base_val = float(scenario.inputs.controls.base_supply_units_per_quarter[chip])
            cap_slopes[i] = slope
            cap_base[i] = base_val

    # power: which datacenter_mw step applies in each quarter (-1 = none)
    power_keys = sorted(scenario.inputs.planner.datacenter_mw)
    step = np.full(T, -1)
    for k, q in enumerate(power_keys):
        step[periods >= pd.Period(q, freq="Q")] = k

    # demand numbers that depend only on the disclosures and the fixed fleet
    fleet_eff = fleet_hist["effective_eflops"]
    demand_fixed = dm.demand_fixed(scenario, fleet_eff)
    fleet_eflops = fleet_eff.reindex(periods).astype(float).to_numpy()

    # solution -> fleet: alive[t, k] = 1 when buy k is in service in t
    life = planner.life[planner.buy_c]
    tt = np.arange(T)[:, None]
    alive = ((tt >= planner.buy_t[None, :]) & (tt < planner.buy_t[None, :] + life[None, :])
             ).astype(float)
    existing_np = planner.existing
    # binding labels per row
    labels: list[str] = []
    label_of_row = np.full(planner.model.num_row, -1)

    def label(name: str) -> int:
        if name not in labels:
            labels.append(name)
        return labels.index(name)

    for r, t, c in zip(planner.access_row, planner.access_t, planner.access_c, strict=True):
        status, rule = status_arr[t, c], rule_arr[t, c]
        if status in ("banned", "licence") and rule:
            label_of_row[r] = label(f"export rule {rule}")
        else:
            label_of_row[r] = label(f"supply cap {chips[c]}")
    for r, y in zip(planner.budget_row, planner.budget_years, strict=True):
        label_of_row[r] = label(f"budget {y}")
    for r in planner.power_row:
        label_of_row[r] = label("power")
    labels_sorted = sorted(labels)
    remap = np.array([labels_sorted.index(x) for x in labels] + [-1])
    label_of_row = np.where(label_of_row >= 0, remap[label_of_row], -1)

    kq = {q: i for i, q in enumerate(map(str, periods)) if q in KPI_QUARTERS}
    anchors = finance.anchors_from_disclosures(scenario.disclosures)
    ctx = DrawContext(
        periods=[str(p) for p in periods], base_period=scenario.inputs.horizon.base_period,
        chips=chips, tree=tree, paths=paths, fee_rules=fee_rules, keys=keys,
        cat_price_rmb=cat["price_rmb"].to_numpy(float),
        cat_price_usd=cat["price_usd"].to_numpy(float), tdp_w=cat["tdp_w"].to_numpy(float),
        price_factor=pf, licence_rule=licence_rule.astype(str), cap0=cap0,
        cap_slopes=cap_slopes, cap_base=cap_base, power_step=step, power_keys=power_keys,
        demand_fixed=demand_fixed, fleet_eflops=fleet_eflops,
        anchors=anchors, planner=planner,
        alive=alive, labels=labels_sorted, label_of_row=label_of_row,
        existing_peak_eflops=existing_np @ planner.peak_tflops / 1e6,
        existing_eff_eflops=planner.existing_eff, kpi_quarter_index=kq,
        years=np.array([p.year for p in periods]), quarter_no=dm.quarter_numbers(periods),
        year_layout=finance.year_layout(dm.quarter_numbers(periods), anchors), notes=notes)
    # the fast numbers of the template must reproduce the planner's own
    nums = lp_numbers(ctx, scenario.inputs, np.array([
        _value_at(tree, p) if p is not None else _fee_of(scenario, r)
        for p, r in zip(paths, fee_rules, strict=True)]))
    ref = planner.numbers(data)
    for name in ("price_rmb_m", "cap_units", "power_mw", "power_kw", "budget_rmb_m"):
        a, b = getattr(nums, name), getattr(ref, name)
        if not np.allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True):
            raise RuntimeError(f"stress: recomputed {name} differs from the planner's data")
    return ctx


def _check_extremes(specs: list[UncertainInput], tree: dict[str, Any],
                    paths: list[tuple[Any, ...] | None], lo: np.ndarray, hi: np.ndarray) -> None:
    """Every input's smallest and largest draw must be valid (so every draw is)."""
    from capacity.schemas import Inputs

    for i, (s, p) in enumerate(zip(specs, paths, strict=True)):
        for v in (lo[i], hi[i]):
            hint = ("; use a bounded distribution (uniform or triangular) or a narrower range")
            if p is None:
                if not 0.0 <= v < 1.0:
                    raise InputError(f"uncertain.{s.key}", f"a draw of {v:g} is outside "
                                     f"[0, 1){hint}")
                continue
            t2 = dict(tree)
            t2[p[0]] = copy.deepcopy(tree[p[0]])
            _set_path(t2, p, float(v))
            try:
                Inputs.model_validate(t2)
            except ValidationError as exc:
                raise InputError(f"uncertain.{s.key}", f"a draw of {v:g} is outside the "
                                 f"input's valid range ({exc.errors()[0]['msg']}){hint}"
                                 ) from None


def _value_at(tree: dict[str, Any], path: tuple[Any, ...]) -> float:
    node: Any = tree
    for k in path:
        node = node[k]
    return float(node)


def _fee_of(scenario: Scenario, rid: str | None) -> float:
    rules = scenario.all_rules()
    return float(rules[rid].fee_revenue_share) if rid else math.nan


# --------------------------------------------------------------------------------------------
# One draw
# --------------------------------------------------------------------------------------------


def draw_inputs(ctx: DrawContext, values: np.ndarray, label: str):
    """The validated inputs of one draw (the template with the draw's values set).

    Raises
    ------
    InputError
        When a drawn value is outside the input's valid range.
    """
    from capacity.schemas import Inputs

    tree = dict(ctx.tree)
    copied: set[tuple[Any, ...]] = {()}
    for p, v in zip(ctx.paths, values, strict=True):
        if p is None:
            continue
        node = tree
        for depth, k in enumerate(p[:-1]):
            sub = p[:depth + 1]
            if sub not in copied:  # copy each container on the path once (copy-on-write)
                node[k] = copy.copy(node[k])
                copied.add(sub)
            node = node[k]
        node[p[-1]] = float(v)
    try:
        return Inputs.model_validate(tree)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        key = next((k for k, p in zip(ctx.keys, ctx.paths, strict=True)
                    if p is not None and loc.startswith(".".join(map(str, p)))), loc)
        raise InputError(f"uncertain.{key}", f"{label} drew a value outside the input's valid "
                         f"range: {err['msg']}") from None


def lp_numbers(ctx: DrawContext, inputs, values: np.ndarray):
    """The LP numbers of one draw (see :class:`capacity.planner.fast.LPNumbers`)."""
    from capacity.planner.fast import LPNumbers

    pl = inputs.planner
    fp = ctx.planner
    base = np.where(np.isfinite(ctx.cat_price_rmb), ctx.cat_price_rmb,
                    ctx.cat_price_usd * pl.usd_rmb)
    for j, c in enumerate(ctx.chips):
        if c in pl.price_usd:
            base[j] = pl.price_usd[c] * pl.usd_rmb
    pf = ctx.price_factor
    if any(ctx.fee_rules):
        pf = pf.copy()
        for rid, v in zip(ctx.fee_rules, values, strict=True):
            if rid:
                pf[ctx.licence_rule == rid] = 1.0 / (1.0 - float(v))
    price = np.where(fp.priced_mask, base[None, :] / 1e6 * pf, np.nan)
    cap = ctx.cap0
    if ctx.cap_slopes:
        cap = cap.copy()
        for i, slope in ctx.cap_slopes.items():
            cap = cap + slope * (float(values[i]) - ctx.cap_base[i])
    mw = np.array([pl.datacenter_mw[q] for q in ctx.power_keys], float)
    power = np.where(ctx.power_step >= 0, mw[np.maximum(ctx.power_step, 0)] if len(mw) else
                     np.nan, np.nan)
    kw = np.nan_to_num(ctx.tdp_w * pl.server_overhead * pl.pue / 1000.0)
    return LPNumbers(
        price_rmb_m=price, cap_units=cap, demand_eflops=np.zeros((fp.T, 2)),
        budget_rmb_m=np.array([pl.capex_budget_rmb_m[y] for y in fp.budget_years], float),
        power_mw=power, power_kw=kw, electricity_rmb_per_kwh=pl.electricity_rmb_per_kwh,
        discount_rate_annual=pl.discount_rate_annual,
        penalty_rmb_m_per_eflops=pl.shortfall_penalty_rmb_m_per_eflops,
        training_shortfall_weight=pl.training_shortfall_weight)


def demand_numbers(ctx: DrawContext, inputs) -> dict[str, Any]:
    """Demand of one draw over the planned quarters (:func:`capacity.demand.demand_arrays`).

    Returns
    -------
    dict
        ``training_eflops``, ``inference_eflops`` (chosen method), ``leasing_eflops`` [EFLOPS],
        ``genai_revenue_rmb_m`` [RMB m], ``yield_rmb_m_per_eflops_quarter``, and the other
        columns of :func:`capacity.demand.demand_table`.
    """
    from capacity.demand import demand_arrays

    return demand_arrays(inputs.demand, ctx.demand_fixed, ctx.quarter_no, ctx.fleet_eflops)


def finance_numbers(ctx: DrawContext, fin, effective_eflops: np.ndarray,
                    training_demand: np.ndarray, training_shortfall: np.ndarray,
                    genai_demand: np.ndarray, yield0: float, yield_change: float
                    ) -> dict[str, Any]:
    """GenAI revenue, share and target price of one draw, by the array functions of
    :mod:`capacity.finance` that :func:`capacity.finance.finance_result` is built on.

    The gross margin is not computed (no stress KPI uses it).

    Returns
    -------
    dict
        ``genai_quarterly_rmb_m`` [RMB m], ``annual`` (:func:`capacity.finance.annual_arrays`:
        complete years only) and ``target_price_hkd`` [HKD/share].
    """
    from capacity import finance as f

    qn = ctx.quarter_no
    j = (qn - ctx.demand_fixed.base_qno).astype(float)
    avail = f.available_array(effective_eflops, training_demand, training_shortfall)
    rev = f.revenue_arrays(qn, genai_demand, avail, f.yield_array(yield0, yield_change, j), fin,
                           ctx.anchors)
    annual = f.annual_arrays(ctx.year_layout, ctx.anchors, rev["genai_rmb_m"],
                             rev["total_rmb_m"])
    sales = f.year_sales(annual["year"], annual["total_rmb_m"], fin.valuation_year)
    val = f.value_from_sales(sales, fin.ev_sales_multiple, fin.net_cash_rmb_m, fin.shares_m,
                             fin.rmb_per_hkd)
    return {"genai_quarterly_rmb_m": rev["genai_rmb_m"], "annual": annual,
            "target_price_hkd": val.target_price_hkd}


@dataclass
class BatchResult:
    """KPIs of one batch of draws (arrays, draw order)."""

    start: int
    kpis: dict[str, np.ndarray]
    series: dict[str, np.ndarray]
    binding: np.ndarray


def kpi_names(ctx: DrawContext) -> list[tuple[str, str]]:
    """(kpi, unit) in report order."""
    out = []
    for q in KPI_QUARTERS:
        if q in ctx.kpi_quarter_index:
            out.append((f"peak_eflops@{q}", "EFLOPS"))
    for q in KPI_QUARTERS:
        if q in ctx.kpi_quarter_index:
            out.append((f"effective_eflops@{q}", "EFLOPS"))
    out += [("shortfall_eflops_quarters", "EFLOPS-quarters"), ("capex_rmb_m", "RMB m")]
    years = set(int(y) for y in ctx.years)
    for y in KPI_YEARS:
        if y in years:
            out.append((f"genai_revenue_rmb_m@{y}", "RMB m"))
    for y in KPI_YEARS:
        if y in years:
            out.append((f"genai_share@{y}", "share"))
    out.append(("target_price_hkd", "HKD/share"))
    return out


def evaluate_draw(ctx: DrawContext, h, values: np.ndarray, label: str
                  ) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray]:
    """KPIs, per-quarter series and bound limits of one draw, solving on ``h``."""
    inputs = draw_inputs(ctx, values, label)
    fp = ctx.planner
    nums = lp_numbers(ctx, inputs, values)
    dem = demand_numbers(ctx, inputs)
    nums.demand_eflops = np.column_stack([dem["training_eflops"],
                                          dem["inference_eflops"] + dem["leasing_eflops"]])
    sol = fp.solve(h, nums, what=f"purchase plan of {label}")
    buy = np.clip(sol.buy_units, 0.0, None)
    peak = ctx.existing_peak_eflops + ctx.alive @ (buy * fp.peak_tflops[fp.buy_c]) / 1e6
    eff = ctx.existing_eff_eflops + ctx.alive @ (buy * fp.k_eff[fp.buy_c])
    short = np.clip(sol.shortfall_eflops, 0.0, None)
    fin = finance_numbers(ctx, inputs.finance, eff, dem["training_eflops"], short[:, 0],
                          dem["genai_revenue_rmb_m"], dem["yield_rmb_m_per_eflops_quarter"],
                          inputs.demand.inference.yield_change_annual)
    k: dict[str, float] = {}
    for q, i in ctx.kpi_quarter_index.items():
        k[f"peak_eflops@{q}"] = float(peak[i])
        k[f"effective_eflops@{q}"] = float(eff[i])
    k["shortfall_eflops_quarters"] = float(short.sum())
    k["capex_rmb_m"] = float(np.sum(buy * nums.price_rmb_m[fp.buy_t, fp.buy_c]))
    annual = fin["annual"]
    for i, y in enumerate(annual["year"].tolist()):
        if y in KPI_YEARS:
            k[f"genai_revenue_rmb_m@{y}"] = float(annual["genai_rmb_m"][i])
            k[f"genai_share@{y}"] = float(annual["genai_share"][i])
    k["target_price_hkd"] = fin["target_price_hkd"]
    tight = (np.abs(sol.row_dual) > 1e-9) & (np.abs(sol.row_slack) <= 1e-6)
    bound = np.zeros(len(ctx.labels), bool)
    rows = ctx.label_of_row[tight]
    bound[rows[rows >= 0]] = True
    series = {"peak_eflops": peak, "effective_eflops": eff,
              "genai_revenue_rmb_m": fin["genai_quarterly_rmb_m"]}
    return k, series, bound


def evaluate_batch(ctx: DrawContext, start: int, rows: np.ndarray,
                   labels: list[str] | None = None) -> BatchResult:
    """Evaluate consecutive draws ``start, start + 1, ...`` from a freshly loaded model."""
    h = ctx.planner.fresh()
    names = [n for n, _ in kpi_names(ctx)]
    kpis = {n: np.full(len(rows), np.nan) for n in names}
    series: dict[str, np.ndarray] = {}
    binding = np.zeros((len(rows), len(ctx.labels)), bool)
    for i, values in enumerate(rows):
        label = labels[i] if labels else f"draw {start + i}"
        k, s, b = evaluate_draw(ctx, h, values, label)
        for n in names:
            kpis[n][i] = k.get(n, np.nan)
        for n, arr in s.items():
            series.setdefault(n, np.zeros((len(rows), len(arr))))[i] = arr
        binding[i] = b
    return BatchResult(start, kpis, series, binding)


# --------------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------------

_WORKER_CTX: DrawContext | None = None


def _init_worker(payload: bytes) -> None:
    import pickle

    global _WORKER_CTX
    _WORKER_CTX = pickle.loads(payload)


def _worker_batch(task: tuple[int, np.ndarray, list[str] | None]) -> BatchResult:
    assert _WORKER_CTX is not None
    start, rows, labels = task
    return evaluate_batch(_WORKER_CTX, start, rows, labels)


def _dask_batch(ctx: DrawContext, task: tuple[int, np.ndarray, list[str] | None]
                ) -> BatchResult:
    start, rows, labels = task
    return evaluate_batch(ctx, start, rows, labels)


EXECUTORS = ("processes", "dask", "inline")


def run_tasks(ctx: DrawContext, tasks: list[tuple[int, np.ndarray, list[str] | None]],
              executor: str = "processes", workers: int = 1, scheduler: str | None = None,
              progress: Callable[[int], None] | None = None) -> list[BatchResult]:
    """Evaluate batches with an executor; results in task order.

    ``processes`` uses a spawn-context process pool (no fork after HiGHS has run in this
    process); one worker runs inline. ``dask`` starts a ``LocalCluster`` (one thread per worker
    process) unless ``scheduler`` names a running one.
    """
    done = progress or (lambda n: None)
    if executor not in EXECUTORS:
        raise InputError("--executor", f"unknown executor {executor!r} (choose from "
                         f"{', '.join(EXECUTORS)})")
    if workers < 1:
        raise InputError("--workers", "must be at least 1")
    if executor == "inline" or (executor == "processes" and workers == 1):
        out = []
        for t in tasks:
            out.append(evaluate_batch(ctx, *t))
            done(len(t[1]))
        return out
    if executor == "processes":
        import multiprocessing as mp
        import pickle
        from concurrent.futures import ProcessPoolExecutor

        payload = pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL)
        results: list[BatchResult | None] = [None] * len(tasks)
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)) or 1,
                                 mp_context=mp.get_context("spawn"),
                                 initializer=_init_worker, initargs=(payload,)) as pool:
            futs = {pool.submit(_worker_batch, t): i for i, t in enumerate(tasks)}
            from concurrent.futures import as_completed

            for f in as_completed(futs):
                i = futs[f]
                results[i] = f.result()
                done(len(tasks[i][1]))
        return [r for r in results if r is not None]
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("--executor", "dask is not installed (pip install "
                         "'capacity[dask]')") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        shared = client.scatter(ctx, broadcast=True)
        futs = client.map(_dask_batch, [shared] * len(tasks), tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futs)}
        results = [None] * len(tasks)
        for f in as_completed(futs):
            i = index[f.key]
            results[i] = f.result()
            done(len(tasks[i][1]))
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_THRESHOLD = re.compile(r"^\s*([a-z_]+(?:@[0-9]{4}(?:Q[1-4])?)?)\s*(>=|<=|>|<)\s*"
                        r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_threshold(expr: str, kpis: list[str]) -> tuple[str, str, float]:
    """``"peak_eflops@2025Q4>=20"`` -> (kpi, op, number).

    Raises
    ------
    InputError
        ``--threshold: ...`` for a malformed expression or an unknown KPI.
    """
    m = _THRESHOLD.match(expr)
    if not m:
        raise InputError("--threshold", f"cannot read {expr!r}; expected 'kpi@period OP number' "
                         "with OP one of >=, <=, >, < (e.g. peak_eflops@2025Q4>=20)")
    kpi, op, num = m.group(1), m.group(2), float(m.group(3))
    if kpi not in kpis:
        raise InputError("--threshold", f"unknown KPI {kpi!r} in {expr!r} (KPIs: "
                         f"{', '.join(kpis)})")
    return kpi, op, num


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class StressResult:
    """Everything a stress run produced (tables ready for a report)."""

    samples: int
    seed: int
    percentiles: pd.DataFrame
    thresholds: pd.DataFrame
    binding_frequency: pd.DataFrame
    tornado: pd.DataFrame
    inputs: pd.DataFrame
    fan: pd.DataFrame
    centre_target_price_hkd: float
    notes: list[str]


def _cut(start: int, rows: np.ndarray, labels: list[str] | None = None
         ) -> list[tuple[int, np.ndarray, list[str] | None]]:
    out = []
    for i in range(0, len(rows), BATCH_SIZE):
        out.append((start + i, rows[i:i + BATCH_SIZE],
                    labels[i:i + BATCH_SIZE] if labels else None))
    return out


def run_stress(scenario: Scenario, specs: list[UncertainInput], samples: int, seed: int,
               thresholds: list[str] | None = None, executor: str = "processes",
               workers: int = 1, scheduler: str | None = None,
               progress: Callable[[int, int], None] | None = None,
               solver: str = "highs") -> StressResult:
    """Monte Carlo over the uncertain inputs, plus the one-at-a-time tornado.

    Parameters
    ----------
    scenario
        Validated scenario (its values are the template the draws replace).
    specs
        Uncertain inputs (:func:`parse_uncertain`).
    samples
        Number of draws N.
    seed
        Seed of ``numpy.random.default_rng``.
    thresholds
        Expressions ``kpi@period OP number`` (default :data:`DEFAULT_THRESHOLDS`).
    executor, workers, scheduler
        See :func:`run_tasks`. Results do not depend on them.
    progress
        Called with (draws done, total) as batches finish.
    """
    if samples < 1:
        raise InputError("--samples", "must be at least 1")
    draws = sample_draws(specs, samples, seed)
    q = {p: np.array([s.quantile(p) for s in specs]) for p in (0.05, 0.5, 0.95)}
    lo = np.minimum(draws.min(axis=0), q[0.05])
    hi = np.maximum(draws.max(axis=0), q[0.95])
    ctx = build_context(scenario, specs, lo, hi, solver)
    names = kpi_names(ctx)
    kpis = [n for n, _ in names]
    parsed = [parse_threshold(e, kpis) for e in (thresholds or list(DEFAULT_THRESHOLDS))]
    # tornado cases: centre, then each input at p5 and at p95 (others at p50)
    cases = [q[0.5]]
    case_labels = ["tornado centre (all inputs at p50)"]
    for i, s in enumerate(specs):
        for p in (0.05, 0.95):
            v = q[0.5].copy()
            v[i] = q[p][i]
            cases.append(v)
            case_labels.append(f"tornado case {s.key} at p{int(p * 100)}")
    tasks = _cut(0, draws) + _cut(samples, np.array(cases), case_labels)
    total = samples + len(cases)
    state = {"done": 0}

    def tick(n: int) -> None:
        state["done"] += n
        if progress:
            progress(state["done"], total)

    results = run_tasks(ctx, tasks, executor, workers, scheduler, tick)
    allk = {n: np.concatenate([r.kpis[n] for r in results]) for n in kpis}
    mc = {n: a[:samples] for n, a in allk.items()}
    tor = {n: a[samples:] for n, a in allk.items()}
    series = {n: np.concatenate([r.series[n] for r in results])[:samples]
              for n in results[0].series}
    binding = np.concatenate([r.binding for r in results])[:samples]

    pct = pd.DataFrame([{"kpi": n, "unit": u,
                         **dict(zip(("p5", "p50", "p95"),
                                    np.percentile(mc[n], [5, 50, 95]).tolist(), strict=True)),
                         "mean": float(np.mean(mc[n]))} for n, u in names])
    thr = pd.DataFrame([{"expr": f"{k}{op}{num:g}", "kpi": k,
                         "probability": float(np.mean(_OPS[op](mc[k], num)))}
                        for k, op, num in parsed], columns=["expr", "kpi", "probability"])
    bind = pd.DataFrame({"limit": ctx.labels,
                         "share": binding.mean(axis=0) if len(ctx.labels) else []})
    bind["family"] = [("export rule" if lb.startswith("export rule") else
                       "supply cap" if lb.startswith("supply cap") else
                       "budget" if lb.startswith("budget") else "power") for lb in ctx.labels]
    bind = bind[["family", "limit", "share"]]
    eff_kpi = next((f"effective_eflops@{q_}" for q_ in reversed(KPI_QUARTERS)
                    if q_ in ctx.kpi_quarter_index), None)
    rows = []
    for i, s in enumerate(specs):
        lo_i, hi_i = 1 + 2 * i, 2 + 2 * i
        row = {"input": s.key, "p5_value": float(q[0.05][i]), "p95_value": float(q[0.95][i]),
               "target_price_at_p5_hkd": float(tor["target_price_hkd"][lo_i]),
               "target_price_at_p95_hkd": float(tor["target_price_hkd"][hi_i]),
               "target_price_swing_hkd": float(abs(tor["target_price_hkd"][hi_i]
                                                   - tor["target_price_hkd"][lo_i]))}
        if eff_kpi:
            row.update({"kpi_eflops": eff_kpi,
                        "effective_at_p5_eflops": float(tor[eff_kpi][lo_i]),
                        "effective_at_p95_eflops": float(tor[eff_kpi][hi_i]),
                        "effective_swing_eflops": float(abs(tor[eff_kpi][hi_i]
                                                            - tor[eff_kpi][lo_i]))})
        rows.append(row)
    tornado = pd.DataFrame(rows).sort_values(["target_price_swing_hkd", "input"],
                                             ascending=[False, True], kind="stable")
    fan_rows = []
    for n, arr in series.items():
        bands = np.percentile(arr, [5, 25, 50, 75, 95], axis=0)
        for t, p in enumerate(ctx.periods):
            fan_rows.append({"series": n, "period": p, "p5": bands[0, t], "p25": bands[1, t],
                             "p50": bands[2, t], "p75": bands[3, t], "p95": bands[4, t]})
    return StressResult(
        samples=samples, seed=seed, percentiles=pct, thresholds=thr, binding_frequency=bind,
        tornado=tornado.reset_index(drop=True),
        inputs=pd.DataFrame([s.as_record() for s in specs]), fan=pd.DataFrame(fan_rows),
        centre_target_price_hkd=float(tor["target_price_hkd"][0]), notes=list(ctx.notes))


def to_report(result: StressResult, scenario: Scenario, source: str) -> Report:
    """The ``stress`` report: scalars and tables (no worker count or timings: the JSON is the
    same for any executor)."""
    return Report(
        "stress",
        scalars={"scenario": scenario.name, "samples": result.samples, "seed": result.seed,
                 "uncertain_source": source, "batch_size": BATCH_SIZE,
                 "centre_target_price_hkd": result.centre_target_price_hkd,
                 "notes": result.notes},
        tables={"percentiles": result.percentiles, "thresholds": result.thresholds,
                "binding_frequency": result.binding_frequency, "tornado": result.tornado,
                "inputs": result.inputs, "fan": result.fan},
        primary="percentiles",
        titles={"percentiles": "KPI percentiles over the draws",
                "thresholds": "Probability that each threshold is met",
                "binding_frequency": "Share of draws in which each limit binds",
                "tornado": "One-at-a-time swings (p5 vs p95, other inputs at p50)",
                "inputs": "Uncertain inputs",
                "fan": "Percentile bands per quarter"})
