"""Vintages: the inputs, rules, chips and disclosures as they could be known on a date, and
the check that every source cited is dated by then."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd

from capacity.errors import InputError
from capacity.scenarios.files import data_dir, read_toml
from capacity.scenarios.keys import Layer, flatten, source_of
from capacity.scenarios.scenario import Scenario
from capacity.schemas import MAX_DAYS_AFTER_LAST_VINTAGE, ExportRule, date_from_text


def as_of_date(value: Any, where: str = "--as-of") -> dt.date:
    """A vintage date from ISO text (``2025-08-31``) or a TOML date (not a date and time).

    Only the form ``YYYY-MM-DD`` is read: a number (``as_of = 20240101``), a bool or text in
    another form (``20240101``, ``2024-W01``) is refused, and so is a day that does not exist
    (``2025-02-30``).

    Raises
    ------
    InputError
        ``where: ... is not a date (use YYYY-MM-DD)``.
    """
    if isinstance(value, dt.datetime):
        raise InputError(where, f"must be a date like 2025-08-31, not a date and time "
                         f"({value.isoformat()})")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        shown = ("true" if value else "false") if isinstance(value, bool) else repr(value)
        raise InputError(where, f"must be a date like 2025-08-31 (a TOML date or "
                         f"'YYYY-MM-DD'), got {shown[:40]}")
    try:
        return date_from_text(value)
    except ValueError as exc:
        raise InputError(where, str(exc)) from None


def baseline_as_of() -> dt.date:
    """Date of the first vintage: ``[meta] as_of`` of ``data/baseline.toml`` (the blind 1H23
    vintage, 2023-08-31)."""
    meta = read_toml(data_dir() / "baseline.toml").get("meta", {})
    if not isinstance(meta, dict) or meta.get("as_of") is None:
        raise InputError(f"{data_dir() / 'baseline.toml'}: meta.as_of", "missing (the date of "
                         "the first vintage, like 2023-08-31)")
    return as_of_date(meta.get("as_of"), "baseline.toml: meta.as_of")


def vintage_files() -> dict[dt.date, Path]:
    """The vintage layers ``data/vintages/<YYYY-MM-DD>.toml`` by date, oldest first."""
    folder = data_dir() / "vintages"
    out = {as_of_date(p.stem, f"{p}: file name"): p for p in sorted(folder.glob("*.toml"))}
    return dict(sorted(out.items()))


def vintage_dates() -> list[dt.date]:
    """Every vintage date: the baseline's, then each vintage file's."""
    return [baseline_as_of(), *vintage_files()]


def default_as_of() -> dt.date:
    """The vintage used when none is asked for: the latest."""
    return vintage_dates()[-1]


def check_vintages(disclosures: pd.DataFrame) -> tuple[dt.date, dt.date]:
    """The span of the vintages, checked: no vintage file before the first vintage (the
    baseline's ``meta.as_of``), and the first vintage not before the first disclosure.

    Parameters
    ----------
    disclosures
        Every disclosure (:func:`~capacity.scenarios.tables.read_disclosures`).

    Returns
    -------
    tuple
        The first and the latest vintage date.

    Raises
    ------
    InputError
        Naming the vintage file, or ``baseline.toml: meta.as_of``.
    """
    first = baseline_as_of()
    files = vintage_files()
    early = [d for d in files if d < first]
    if early:
        raise InputError(str(files[early[0]]), f"vintage dated {early[0]}, before the first "
                         f"vintage {first} (baseline.toml meta.as_of)")
    published = sorted(str(p) for p in disclosures.get("published", []))
    if published and first < dt.date.fromisoformat(published[0]):
        raise InputError("baseline.toml: meta.as_of", f"the first vintage {first} is before "
                         f"the first disclosure (published {published[0]}): a vintage is what "
                         "was published by its date")
    return first, max([first, *files])


def check_as_of(when: dt.date, span: tuple[dt.date, dt.date], where: str) -> dt.date:
    """A vintage date asked for (``--as-of``, a scenario's ``as_of``) inside the vintages'
    span: from the first vintage to MAX_DAYS_AFTER_LAST_VINTAGE days after the latest.

    Raises
    ------
    InputError
        ``where: ...`` naming the span.
    """
    first, last = span
    horizon = last + dt.timedelta(days=MAX_DAYS_AFTER_LAST_VINTAGE)
    if when < first:
        raise InputError(where, f"{when} is before the first vintage {first} (the baseline's "
                         "date)")
    if when > horizon:
        raise InputError(where, f"{when} is more than {MAX_DAYS_AFTER_LAST_VINTAGE} days after "
                         f"the latest vintage {last} (vintage dates run to {horizon})")
    return when


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
        raise InputError("as_of", f"{as_of} is before the first vintage {first} "
                         "(the baseline's date)")
    layers: list[Layer] = []
    sources: dict[str, str] = {}
    for date, path in vintage_files().items():
        if date > as_of:
            break
        doc = read_toml(path)
        unknown = set(doc) - _VINTAGE_KEYS
        if unknown:
            raise InputError(f"{path}: {sorted(unknown)[0]}", "unknown top-level key (allowed: "
                             f"{', '.join(sorted(_VINTAGE_KEYS))})")
        own = doc.get("set", {})
        if not isinstance(own, dict):
            raise InputError(f"{path}: set", "must be a table of keys to set")
        layers.append(Layer(f"vintages/{path.name}", flatten(own), path, "set"))
        sources.update({str(k): str(v) for k, v in flatten(doc.get("sources", {})).items()})
    return layers, sources


def rules_known_by(rule_ids: list[str], library: dict[str, ExportRule],
                   as_of: dt.date) -> list[str]:
    """The rule ids announced on or before ``as_of`` (ids not in the library are kept, for
    :func:`check_rules` to report)."""
    return [r for r in rule_ids if r not in library or library[r].announced <= as_of]


def chips_launched_after(catalog: pd.DataFrame, as_of: dt.date) -> list[str]:
    """Chips whose launch quarter (chips.csv) is after the quarter of ``as_of``, or whose row
    was published after ``as_of`` (``source_date``, :func:`publication_date`; a chip launched
    in the vintage's quarter but after its date): unknown to that vintage, so it does not plan
    them (a scenario may allow them again)."""
    q = pd.Period(as_of, freq="Q")
    dates = catalog["source_date"] if "source_date" in catalog.columns else {}
    return [c for c in catalog.index if catalog.at[c, "launch"] > q
            or (publication_date(str(dates.get(c, "") or "")) or as_of) > as_of]


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


_CITED_YEARS = [re.compile(r"\([^()]*[A-Za-z][^()]*,\s*((?:19|20)\d{2})\)"),
                re.compile(r"\bin\s+((?:19|20)\d{2})\s+\((?=[A-Z])[^()]*\)")]
"""Bare years read as dates: a citation ending in one, ``(China Briefing, 2024)``, and a figure
of a year followed by its citation, ``in 2024 (China Briefing)``."""


def publication_date(value: str) -> dt.date | None:
    """A ``source_date`` field as a date: ``YYYY-MM-DD``; ``YYYY-MM`` and ``YYYY`` count as the
    last day of that month or year (a source is never dated earlier than it could be);
    ``None`` for "".

    Raises
    ------
    ValueError
        For text in another form, or a day that does not exist.
    """
    text = str(value).strip()
    if not text:
        return None
    parts = text.split("-")
    if not all(p.isdigit() for p in parts) or len(parts[0]) != 4 or len(parts) > 3:
        raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)")
    y = int(parts[0])
    if len(parts) == 1:
        return dt.date(y, 12, 31)
    m = int(parts[1])
    if len(parts) == 2:
        return (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)) if 1 <= m <= 12 \
            else dt.date(y, m, 1)  # month 13 raises
    return dt.date(y, m, int(parts[2]))


def source_date(text: str) -> dt.date | None:
    """The latest calendar date written in a source text, or ``None`` when it names none.

    Forms read: ``2023-08-31``, ``31 Aug 2023`` and ``Aug 2023`` (a month alone counts as its
    first day, so a source is never dated later than it could be), and two bare-year forms that
    count as 31 Dec of that year: a citation's year ``(Publisher, 2024)`` (a parenthesis whose
    text ends in ``, YYYY``) and a cited figure of a year ``... in 2024 (Publisher)`` (the
    figure cannot be published before its year is over). Other bare years and quarters
    (``by 2025``, ``2027Q4``, ``2020-22``) are periods the source talks about, not its date,
    and are not read. See docs/data.md.
    """
    found: list[dt.date] = [dt.date(int(m.group(1)), 12, 31) for rx in _CITED_YEARS
                            for m in rx.finditer(text)]
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


def chips_used(scenario: Scenario) -> list[str]:
    """Catalog chips the scenario can plan, calibrate or hold: not excluded from planning, or a
    calibration candidate, or in the installed fleet (catalog order)."""
    inp = scenario.inputs
    keep = set(inp.calibration.candidates) | set(inp.fleet.initial_installed)
    out = set(scenario.catalog.index) - set(inp.planner.exclude_chips)
    return [c for c in scenario.catalog.index if c in out | keep]


def dated_inputs(scenario: Scenario) -> list[tuple[str, str, dt.date | None]]:
    """Every dated input the scenario reads, as (where, source text, publication date).

    - each input key's source (``[sources]``, :func:`sources_used`; dated by
      :func:`source_date`), except keys of a chip the scenario does not use
      (``planner.price_usd.H200`` in a vintage that cannot plan the H200);
    - each catalog row it uses (:func:`chips_used`; ``chips.csv`` ``source_date``);
    - each export-control rule it applies (``source_date`` of the rule in
      ``export_controls.toml``, or of the scenario's own rule).

    A catalog row or a rule without ``source_date`` has date ``None`` (an error for
    :func:`check_blind`: every dated input carries its date).
    """
    used = set(chips_used(scenario))
    unused = set(scenario.catalog.index) - used
    out: list[tuple[str, str, dt.date | None]] = []
    for key, text in sorted(sources_used(scenario).items()):
        if unused & set(key.split(".")):
            continue
        out.append((f"sources.{key}", text, source_date(text)))
    for chip in chips_used(scenario):
        row = scenario.catalog.loc[chip]
        raw = str(row.get("source_date", "") or "")
        out.append((f"chips.csv {chip} source_date", str(row["source"]),
                    publication_date(raw)))
    rules = scenario.all_rules()
    for rid in scenario.inputs.controls.rules:
        rule = rules.get(rid)
        if rule is not None:
            out.append((f"export_controls.toml {rid} source_date", rule.source,
                        publication_date(rule.source_date)))
    return out


def check_blind(scenario: Scenario) -> None:
    """Every dated input the scenario uses must be published on or before its vintage
    (:func:`dated_inputs`: input sources, the chips it uses, the rules it applies).

    Raises
    ------
    InputError
        ``WHERE: cites a source dated D, after the vintage V`` for the first such input, or
        ``WHERE: no publication date`` for a catalog row or rule without ``source_date``.
    """
    for where, text, when in dated_inputs(scenario):
        if when is None and not where.startswith("sources."):
            raise InputError(where, "no publication date (add source_date: YYYY-MM-DD, "
                             "YYYY-MM or YYYY)")
        if when is not None and when > scenario.as_of:
            raise InputError(where, f"cites a source dated {when}, after the "
                             f"vintage {scenario.as_of}: {text[:100]}")
