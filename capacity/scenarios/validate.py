"""Checks across the validated inputs: names of rules and chips, pydantic errors as one
line at the file and line of the scenario key that set the field."""

from __future__ import annotations

import re

from pydantic import ValidationError

from capacity.errors import (
    InputError,
    UnknownNameError,
    pick_error,
    unknown_name,
    validation_problem,
)
from capacity.scenarios.keys import Layer
from capacity.scenarios.positions import key_where
from capacity.scenarios.scenario import Scenario
from capacity.schemas import supersession_cycle


def validation_to_input_error(exc: ValidationError, origin_of: dict[str, Layer],
                               default_where: str) -> InputError:
    err = pick_error(exc.errors())
    loc = ".".join(str(p) for p in err["loc"])
    where = origin_where(loc, origin_of) or default_where
    return InputError(f"{where}: {loc}" if where else loc, validation_problem(err))


def check_rules(scenario: Scenario, where: str = "",
                origin_of: dict[str, Layer] | None = None) -> None:
    """The scenario's rules must exist and name only catalog chips and known rules.

    Checks that ``controls.extra_rules`` ids do not clash with the library, every id in
    ``controls.rules`` is defined (once), every ``superseded_by`` names a defined rule, and every
    chip a rule names is in the catalog.

    Also checks that no ``superseded_by`` links form a cycle. ``origin_of`` (key -> the layer
    that set it, from :func:`~capacity.scenarios.load.load_scenario`) puts the file and line of
    the key in errors; without it ``where`` prefixes them.

    Raises
    ------
    UnknownNameError, InputError
        One line naming the key and the problem.
    """
    pre = f"{where}: " if where else ""

    def at(field: str) -> str:
        located = origin_where(field, origin_of) if origin_of else None
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


def origin_where(field: str, origin_of: dict[str, Layer] | None) -> str | None:
    """``file:line`` of the scenario key that set ``field`` (longest matching key), or None."""
    plain = re.sub(r"\[\d+\]", "", field)
    dotted = re.sub(r"\[(\d+)\]", r".\1", field)  # items as dotted parts: runs.0.mfu
    for key in sorted(origin_of or {}, key=len, reverse=True):
        if plain == key or plain.startswith(key + ".") or key.startswith(plain + "."):
            rest = dotted[len(key) + 1:] if dotted.startswith(key + ".") else ""
            layer = origin_of[key]
            return key_where(layer.path, layer.table, key, rest)
    return None


def _located(field: str, origin_of: dict[str, Layer] | None) -> str:
    """``field`` prefixed with ``file:line`` of the scenario key that set it, where known."""
    where = origin_where(field, origin_of)
    return f"{where}: {field}" if where else field


def check_chip_names(scenario: Scenario,
                     origin_of: dict[str, Layer] | None = None) -> None:
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
