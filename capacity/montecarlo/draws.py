"""Uncertain inputs: distributions, draws from one seed, which keys a draw may set, thresholds.

See :mod:`capacity.montecarlo` for the distributions and the rules on keys.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from capacity.errors import InputError, closest_name
from capacity.scenarios import Scenario
from capacity.schemas import number_from_text, shown_text

Z95 = 1.6448536269514722
"""95% quantile of the standard normal. [1]"""

_PLANNER_KEYS = {"fx_usd", "pue", "server_overhead", "electricity_per_kwh",
                 "discount_rate_annual", "system_per_unit", "network_share_training",
                 "network_share_inference", "facility_m_per_mw",
                 "maintenance_share_annual", "training_value_usd_per_gpu_hour",
                 "leasing_usd_per_gpu_hour", "rental_usd_per_gpu_hour",
                 "compute_price_change_annual"}
_PLANNER_MAPS = {"price_usd", "capex_budget_m", "datacenter_mw", "rental_cap_share",
                 "system_per_unit_by_chip"}


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

    @property
    def bounded(self) -> bool:
        """Whether every draw lies in a finite range (uniform, triangular); a normal or split
        normal has no bound, so enough draws reach any value."""
        return self.dist in ("uniform", "triangular")

    def outside_range(self, value: float, reason: str) -> str:
        """The problem, in one line, when a draw of ``value`` is outside the input's valid range
        (``reason`` says how): the distribution is to blame, not the number of draws.

        Parameters
        ----------
        value
            The draw (or quantile) that is not a valid input.
        reason
            Why not (pydantic's message, or the range).
        """
        names = _DIST_FIELDS.get(self.dist, ("p5", "p50", "p95"))
        params = ", ".join(f"{n} {x:g}" for n, x in zip(names, self.params, strict=True))
        if self.bounded:
            return (f"the {self.dist} distribution ({params}) reaches {value:g}, outside the "
                    f"input's valid range ({reason}); narrow the distribution's range")
        side = "lower" if value < self.quantile(0.5) else "upper"
        return (f"the {self.dist} distribution ({params}) has no {side} bound, so its draws "
                f"reach {value:g}, outside the input's valid range ({reason}); the distribution "
                "is the problem, not the number of draws: use a bounded distribution (uniform "
                "or triangular) within the range")

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
            try:
                finite = not isinstance(v, bool) and isinstance(v, int | float) and \
                    math.isfinite(float(v))
            except OverflowError:  # an integer too large for a float
                finite = False
            if not finite:
                shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
                raise InputError(f"{field_}.{n}", f"must be a finite number, got {shown}")
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


def draw_states(specs: list[UncertainInput], n: int, seed: int, size: int
                ) -> tuple[list[list[dict]], np.ndarray, np.ndarray]:
    """Where each batch of :func:`sample_draws`'s columns starts in the generator's stream.

    One pass over the same stream as :func:`sample_draws` (columns in table order, each in
    batches of ``size`` draws), holding one batch at a time: numpy's generators give the same
    numbers drawn in pieces as at once, so :func:`draws_from_states` rebuilds any batch exactly.

    Returns
    -------
    tuple
        (per batch, per input: the bit generator's state at the batch's first draw; each
        input's smallest and largest draw)
    """
    rng = np.random.default_rng(seed)
    starts = list(range(0, n, size))
    states: list[list[dict]] = [[] for _ in starts]
    lo = np.full(len(specs), np.inf)
    hi = np.full(len(specs), -np.inf)
    for i, s in enumerate(specs):
        for b, a in enumerate(starts):
            states[b].append(rng.bit_generator.state)
            v = s.sample(rng, min(size, n - a))
            lo[i], hi[i] = min(lo[i], float(v.min())), max(hi[i], float(v.max()))
    return states, lo, hi


def draws_from_states(specs: list[UncertainInput], states: list[dict], count: int
                      ) -> np.ndarray:
    """``count`` draws of one batch from its generator states (:func:`draw_states`), shape
    (count, inputs): the same numbers as those rows of :func:`sample_draws`."""
    cols = []
    for s, st in zip(specs, states, strict=True):
        rng = np.random.default_rng()
        rng.bit_generator.state = st
        cols.append(s.sample(rng, count))
    return np.column_stack(cols) if cols else np.zeros((count, 0))


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
# Thresholds
# --------------------------------------------------------------------------------------------

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_THRESHOLD = re.compile(r"^\s*([a-z_][A-Za-z0-9_]*(?:@[0-9]{4}(?:Q[1-4])?)?)\s*(>=|<=|>|<)\s*"
                        r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
"""``kpi OP number``; the KPI is named as ``capacity compare`` names it (``peak_eflops_2025Q4``,
``genai_share_2025``); the older ``kpi@period`` spelling is read as an alias."""


def parse_threshold(expr: str, kpis: list[str]) -> tuple[str, str, float]:
    """``"peak_eflops_2025Q4>=20"`` -> (kpi, op, number); ``"peak_eflops@2025Q4>=20"`` (the
    older spelling) gives the same.

    Raises
    ------
    InputError
        ``--threshold: ...`` for a malformed expression or an unknown KPI.
    """
    m = _THRESHOLD.match(expr)
    if not m:
        raise InputError("--threshold", f"cannot read {shown_text(expr, 80)}; expected 'kpi OP "
                         "number' with OP one of >=, <=, >, < (e.g. peak_eflops_2026Q4>=10)")
    kpi, op = m.group(1).replace("@", "_"), m.group(2)
    if kpi not in kpis:
        close = closest_name(kpi, kpis)
        hint = f"did you mean {close!r}?" if close else f"KPIs: {', '.join(kpis)}"
        raise InputError("--threshold", f"unknown KPI {kpi!r} in {shown_text(expr, 80)} "
                         f"({hint})")
    try:
        num = float(number_from_text(m.group(3)))
    except ValueError as exc:
        raise InputError("--threshold", f"{shown_text(expr, 80)}: {exc}") from None
    return kpi, op, num
