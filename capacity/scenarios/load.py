"""Compose a scenario: the baseline, vintage layers, the scenario files it extends, its
named overrides and ``[set]`` table, ``--set`` values; then validate it once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from capacity.errors import InputError, UnknownNameError, closest_name, unknown_name
from capacity.scenarios.files import data_dir, data_file, file_sha256, read_toml, value_depth
from capacity.scenarios.keys import (
    Change,
    Layer,
    apply_layers,
    flatten,
    get_key,
    later_origins,
    set_key,
)
from capacity.scenarios.positions import key_where
from capacity.scenarios.power import power_ramp_mw
from capacity.scenarios.scenario import Scenario
from capacity.scenarios.tables import read_catalog, read_disclosures, read_rule_library
from capacity.scenarios.validate import check_chip_names, check_rules, validation_to_input_error
from capacity.scenarios.vintages import (
    as_of_date,
    check_as_of,
    check_vintages,
    chips_launched_after,
    default_as_of,
    disclosures_known_by,
    rules_known_by,
    vintage_layers,
)
from capacity.schemas import (
    MAX_EXTENDS_DEPTH,
    MAX_NESTING_DEPTH,
    SCENARIO_OPTIONS,
    Inputs,
    shown_text,
)

DEFAULT_SCENARIO = "baseline"


def shipped_scenarios() -> dict[str, Path]:
    """Scenario files of the subject folder (``scenarios/*.toml``) by name."""
    folder = data_dir() / "scenarios"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def describe_shipped() -> pd.DataFrame:
    """Name, description and file of every shipped scenario."""
    rows = []
    for name, path in shipped_scenarios().items():
        doc = read_toml(path)
        rows.append({"scenario": name, "description": str(doc.get("description", "")),
                     "file": path.name})
    return pd.DataFrame(rows, columns=["scenario", "description", "file"])  # none: no rows


def _resolve_path(name_or_path: str | Path, field: str = "scenario") -> Path:
    """The file of a scenario given by name or path; ``field`` is named in an error.

    Raises
    ------
    InputError
        An empty name, a name that cannot be a path, a missing file, or an unknown shipped
        name (with the closest shipped name, :func:`~capacity.errors.closest_name`).
    """
    text = str(name_or_path)
    if not text.strip():
        raise InputError(field, "empty scenario name (give a shipped scenario name, see "
                         "'capacity scenarios', or a .toml file)")
    if "\x00" in text:
        raise InputError(field, f"{shown_text(text)} is not a scenario name or file path")
    p = Path(text)
    try:
        exists = p.exists()
    except (OSError, ValueError):
        raise InputError(field, f"{shown_text(text)} is not a scenario name or file path"
                         ) from None
    if p.suffix == ".toml" or exists or "/" in text:
        if not exists:
            raise InputError(str(p), "file not found")
        return p
    shipped = shipped_scenarios()
    if text not in shipped:
        close = closest_name(text, shipped)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise UnknownNameError(field, f"unknown scenario {shown_text(text, 60)}{hint}; "
                               f"shipped: {', '.join(shipped) or 'none'}")
    return shipped[text]


_SCENARIO_KEYS = {"as_of", "description", "extends", "options", "overrides", "override",
                  "set", "uncertain"}


def _parent_path(path: Path, parent: str) -> Path:
    """File a scenario ``extends``: a file next to it, else a shipped name or a path."""
    field = f"{key_where(path, '', 'extends')}: extends"
    if not parent.strip():
        raise InputError(field, "empty scenario name (give a shipped scenario name or a .toml "
                         "file)")
    try:
        sibling = path.parent / parent
        if sibling.is_file():
            return sibling
    except (OSError, ValueError):
        pass
    return _resolve_path(parent, field)


@dataclass(frozen=True)
class _Chain:
    """A scenario file and the files it extends, read once: layers parents first."""

    layers: list[Layer]
    uncertain: dict[str, dict[str, Any]]
    description: str
    as_of: dt.date | None = None
    """The vintage the scenario is pinned to (its own ``as_of`` or its parent's)."""
    as_of_where: str = "as_of"
    """``file:line: as_of`` of the pin, for an error about it."""


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
    doc = read_toml(path)
    unknown = set(doc) - _SCENARIO_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(f"{key_where(path, '', key)}: {key}", f"unknown top-level key (allowed: "
                         f"{', '.join(sorted(_SCENARIO_KEYS))})")
    if doc.get("options", "mixed") not in SCENARIO_OPTIONS:
        raise InputError(f"{key_where(path, '', 'options')}: options", f"{doc['options']!r} is "
                         f"not one of {', '.join(SCENARIO_OPTIONS)}")
    layers: list[Layer] = []
    uncertain: dict[str, dict[str, Any]] = {}
    pinned = doc.get("as_of")
    pinned_where = f"{key_where(path, '', 'as_of')}: as_of" if pinned is not None else "as_of"
    if pinned is not None:
        pinned = as_of_date(pinned, pinned_where)
    parent = doc.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError(f"{key_where(path, '', 'extends')}: extends", "must be a scenario "
                             "name or file path")
        up = _scenario_chain(_parent_path(path, parent), (*seen, resolved))
        layers += up.layers
        uncertain.update(up.uncertain)
        if pinned is None:
            pinned, pinned_where = up.as_of, up.as_of_where
    uncertain.update(_uncertain_table(path, doc))
    library_path = data_dir() / "overrides.toml"
    library = read_toml(library_path) if library_path.is_file() else {}
    local = doc.get("override", {})
    if not isinstance(local, dict):
        raise InputError(f"{path}: override", "must be a table of named overrides")
    names = doc.get("overrides", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{path}: overrides", "must be a list of override names")
    claimed: dict[str, str] = {}
    for name in names:
        if name in local:
            body, written = local[name], (path, f"override.{name}")
        elif name in library:
            body, written = library[name], (library_path, name)
        else:
            raise unknown_name(f"{key_where(path, '', 'overrides')}: overrides", "override",
                               name, sorted(set(local) | set(library)), list_known=True)
        flat = flatten(body)
        for key in flat:
            if key in claimed:
                raise InputError(f"{key_where(*written, key)}: {key}", "set by both overrides "
                                 f"{claimed[key]!r} and "
                                 f"{name!r} in one scenario")
            claimed[key] = name
        layers.append(Layer(f"{path.name} [{name}]", flat, *written))
    own = doc.get("set", {})
    if not isinstance(own, dict):
        raise InputError(f"{path}: set", "must be a table of keys to set")
    if own:
        layers.append(Layer(path.name, flatten(own), path, "set"))
    return _Chain(layers, uncertain, str(doc.get("description", "")), pinned, pinned_where)


def read_baseline() -> tuple[dict[str, Any], dict[str, str]]:
    """The baseline inputs (raw) and their sources, from ``data/baseline.toml``."""
    doc = read_toml(data_dir() / "baseline.toml")
    sources = doc.pop("sources", {})
    doc.pop("meta", None)
    return doc, {str(k): str(v) for k, v in flatten(sources).items()} if sources else {}


def _power_ramp(inputs: Inputs, disclosures: pd.DataFrame, when: dt.date
                ) -> tuple[Inputs, dict[str, str], Change]:
    """Inputs whose ``planner.datacenter_mw`` is the ramp from the dated power disclosures
    (:func:`~capacity.scenarios.power.power_ramp_mw`); a step the layers set wins. Returns
    (inputs, the steps' sources, the change record)."""
    pl = inputs.planner
    steps, ramp_sources = power_ramp_mw(disclosures, pl.power_ramp.contracted_by)
    explicit = dict(pl.datacenter_mw)
    merged = dict(sorted({**steps, **explicit}.items()))
    for q in explicit:
        ramp_sources[f"planner.datacenter_mw.{q}"] = (
            f"a step of {explicit[q]:g} MW the scenario or --set gives (wins over "
            "planner.power_ramp at its quarter)")
    planner = pl.model_copy(update={"datacenter_mw": merged})
    change = Change("planner.datacenter_mw", explicit, merged,
                    f"vintage {when}: the power ramp from the dated active and contracted MW "
                    "(planner.power_ramp)")
    return inputs.model_copy(update={"planner": planner}), ramp_sources, change


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
    if name_or_path in (None, DEFAULT_SCENARIO) and DEFAULT_SCENARIO not in shipped_scenarios():
        # a subject folder without scenarios/history.toml: the baseline itself
        path = data_dir() / "baseline.toml"
        chain = _Chain([], {}, "The subject's baseline (its folder has no "
                       f"scenarios/{DEFAULT_SCENARIO}.toml)")
    else:
        path = _resolve_path(DEFAULT_SCENARIO if name_or_path is None else name_or_path)
        chain = _scenario_chain(path)
    base, sources = read_baseline()
    every_disclosure = read_disclosures()
    span = check_vintages(every_disclosure)
    asked = check_as_of(as_of_date(as_of), span, "--as-of") if as_of is not None else None
    if chain.as_of is not None:
        check_as_of(chain.as_of, span, chain.as_of_where)
    if asked is not None and chain.as_of is not None and asked != chain.as_of:
        raise InputError("--as-of", f"scenario {path.stem!r} is pinned to the {chain.as_of} "
                         f"vintage (as_of in its file); drop --as-of {asked} or pick another "
                         "scenario")
    when = asked or chain.as_of or default_as_of()
    v_layers, v_sources = vintage_layers(when)
    sources = {**sources, **v_sources}
    library = read_rule_library()
    tree, v_changes, v_origin = apply_layers(base, v_layers)
    known = rules_known_by(list(get_key(tree, "controls.rules") or []), library, when)
    if known != list(get_key(tree, "controls.rules") or []):
        v_changes.append(Change("controls.rules", get_key(tree, "controls.rules"), known,
                                f"vintage {when}: rules announced later dropped"))
        set_key(tree, "controls.rules", known)
    catalog = read_catalog()
    unlaunched = chips_launched_after(catalog, when)
    excluded = list(get_key(tree, "planner.exclude_chips") or [])
    added = [c for c in unlaunched if c not in excluded]
    if added:
        v_changes.append(Change("planner.exclude_chips", excluded, excluded + added,
                                f"vintage {when}: chips launched later excluded"))
        set_key(tree, "planner.exclude_chips", excluded + added)
    layers = list(chain.layers)
    if set_values:
        for key, value in set_values.items():
            if key.count(".") >= MAX_NESTING_DEPTH or value_depth(value) > MAX_NESTING_DEPTH:
                raise InputError(f"<command line>: {key[:80]}", f"nested more than "
                                 f"{MAX_NESTING_DEPTH} levels deep (the limit for inputs)")
        layers.append(Layer("--set", dict(set_values), Path("<command line>")))
    tree, changes, origin_of = apply_layers(tree, layers)
    changes = [*v_changes, *changes]
    origin_of = later_origins(v_origin, origin_of)
    try:
        inputs = Inputs.model_validate(tree)
    except ValidationError as exc:
        raise validation_to_input_error(exc, origin_of, str(path)) from None
    known_disclosures = disclosures_known_by(every_disclosure, when)
    if inputs.planner.power_ramp is not None:
        inputs, ramp_sources, change = _power_ramp(inputs, known_disclosures, when)
        sources = {**sources, **ramp_sources}
        changes.append(change)
    read = [data_dir() / "baseline.toml", data_file("chips.csv"),
            data_dir() / "disclosures.csv", *(layer.path for layer in v_layers), path]
    files = {p.name if p.parent.name != "vintages" else f"vintages/{p.name}": file_sha256(p)
             for p in read}
    rules_path = data_file("export_controls.toml")
    if rules_path.is_file():
        files[rules_path.name] = file_sha256(rules_path)
    scenario = Scenario(
        name=path.stem, description=chain.description, inputs=inputs,
        catalog=catalog, disclosures=known_disclosures,
        rules=library, changes=tuple(changes), sources=sources, files=files,
        uncertain=chain.uncertain, as_of=when)
    check_chip_names(scenario, origin_of)
    rules_where = next((str(layer.path) for k, layer in origin_of.items()
                        if k.startswith("controls.")), "")
    check_rules(scenario, rules_where, origin_of)
    return scenario
