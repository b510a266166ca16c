"""Input models of the export controls and of the subject (owned by
:mod:`capacity.export_controls`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, model_validator

from capacity.schemas.base import Date, Fraction, NonNegative, Real, StrictModel, UnitsPerQuarter
from capacity.schemas.limits import (
    MAX_DUTY_RATE,
    MAX_INTERCONNECT_GBS,
    MAX_MEMORY_BW_TBS,
    MAX_PERFORMANCE_DENSITY,
    MAX_SUPPLY_FACTOR,
    MAX_TPP,
)


class RuleBand(StrictModel):
    """One test of a rule: every condition given must hold for the band to catch a chip.

    Thresholds compare the catalog's figures: ``tpp`` and ``pd`` (performance density) from
    :mod:`capacity.chips`, ``memory_bw_tbs``, ``interconnect_gbs``. ``*_min`` means value >= min,
    ``*_max`` means value < max. An unknown figure cannot clear a test: the condition counts as
    met (conservative) and the chip's note says so. A band with no condition at all catches every
    chip the rule covers (allowed only in ``kind = "embargo"`` rules).
    """

    status: Literal["allowed", "notify", "licence", "banned"]
    """Status of a chip this band catches."""
    label: str = ""
    """Short text for the chip's note (``"3A090.a: TPP >= 4800"``)."""
    chips: list[str] | None = None
    """Named chips (catalog ids); ``None`` = any chip the rule covers."""
    datacenter_only: bool = False
    """Only chips designed or marketed for data centres (catalog ``datacenter``)."""
    tpp_min: Annotated[NonNegative, Field(le=MAX_TPP)] | None = None
    """TPP >= this. [1]"""
    tpp_max: Annotated[NonNegative, Field(le=MAX_TPP)] | None = None
    """TPP < this. [1]"""
    pd_min: Annotated[NonNegative, Field(le=MAX_PERFORMANCE_DENSITY)] | None = None
    """Performance density >= this. [TPP/mm^2]"""
    pd_max: Annotated[NonNegative, Field(le=MAX_PERFORMANCE_DENSITY)] | None = None
    """Performance density < this. [TPP/mm^2]"""
    memory_bw_tbs_min: Annotated[NonNegative, Field(le=MAX_MEMORY_BW_TBS)] | None = None
    """Memory bandwidth >= this. [TB/s]"""
    memory_bw_tbs_max: Annotated[NonNegative, Field(le=MAX_MEMORY_BW_TBS)] | None = None
    """Memory bandwidth < this. [TB/s]"""
    interconnect_gbs_min: Annotated[NonNegative, Field(le=MAX_INTERCONNECT_GBS)] | None = None
    """Bidirectional chip-to-chip bandwidth >= this. [GB/s]"""
    interconnect_gbs_max: Annotated[NonNegative, Field(le=MAX_INTERCONNECT_GBS)] | None = None
    """Bidirectional chip-to-chip bandwidth < this. [GB/s]"""

    @model_validator(mode="after")
    def _bounds(self) -> RuleBand:
        for name in ("tpp", "pd", "memory_bw_tbs", "interconnect_gbs"):
            lo, hi = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if lo is not None and hi is not None and not lo < hi:
                raise ValueError(f"{name}_min ({lo}) must be below {name}_max ({hi})")
        if self.chips is not None and not self.chips:
            raise ValueError("chips, when given, must name at least one chip")
        return self

    def conditions(self) -> dict[str, float]:
        """The numeric thresholds given, ``{"tpp_min": 4800.0, ...}``."""
        names = ("tpp", "pd", "memory_bw_tbs", "interconnect_gbs")
        out = {}
        for name in names:
            for side in ("min", "max"):
                v = getattr(self, f"{name}_{side}")
                if v is not None:
                    out[f"{name}_{side}"] = float(v)
        return out

    def is_catch_all(self) -> bool:
        """True when the band has no condition (catches every covered chip)."""
        return self.chips is None and not self.datacenter_only and not self.conditions()


class ExportRule(StrictModel):
    """One dated export-control rule (``[[rule]]`` in ``data/export_controls.toml``).

    Status rules (every kind but ``supply``) test each covered chip with their ``band`` list; the
    latest such rule in force that catches a chip decides its status (see
    :mod:`capacity.export_controls`).
    Supply rules scale the base supply of the chips they name.
    """

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    """Stable id, lower-case words joined by ``-`` (``oct-2023``)."""
    title: Annotated[str, Field(min_length=3)]
    kind: Literal["spec", "named", "licence", "embargo", "supply", "entity", "remote"]
    """``spec``: performance tests; ``named``: listed chips or chips like them; ``licence``:
    licences granted (with a fee or a volume cap); ``embargo``: every covered chip;
    ``supply``: a factor on the supply of named chips; ``entity``: an Entity List-style licence
    requirement on every covered item for the named ``entities`` (applies when one of them is a
    purchasing entity of the subject); ``remote``: a limit on renting covered chips remotely
    (``rental_cap_share``)."""
    announced: Date
    """Date the rule was published or made known."""
    effective: Date
    """Date it took effect (for every chip, or for chips not made for data centres when
    ``effective_datacenter`` is given)."""
    effective_datacenter: Date | None = None
    """Earlier effective date for chips designed or marketed for data centres."""
    until: Date | None = None
    """Date the rule ceased to apply (rescinded or replaced); ``None`` = open-ended."""
    superseded_by: str | None = None
    """Id of a later rule that replaces this one: once that rule is in force for a chip (and is in
    the scenario), this one no longer applies to it."""
    origin: list[Annotated[str, Field(min_length=2, max_length=2)]] = Field(
        default_factory=lambda: ["US"])
    """Countries whose chips the status tests cover (US rules reach US-origin chips)."""
    band: list[RuleBand] = Field(default_factory=list)
    """Tests; a chip caught by several bands gets the most severe status."""
    fee_revenue_share: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.0
    """Revenue share: share of the seller's revenue paid to a government as the price of the
    licence; passed through in full, the buyer pays price / (1 - share). [1]"""
    duty_rate: Annotated[NonNegative, Field(le=MAX_DUTY_RATE)] = 0.0
    """Duty (tariff) on a licensed chip as a share of its price, levied on the chip and passed
    through in full: the buyer pays price x (1 + rate). [1]"""
    applies_to: Literal["all", "controlled"] = "all"
    """``all``: the bands test every covered chip. ``controlled``: the rule revises the licence
    terms of controlled chips only (a change of licence review policy, not a new control): it
    is a candidate for a chip in a quarter only when the scenario's other status rules, by
    themselves, give that chip ``licence`` or ``banned`` there."""
    cap_units_per_quarter: UnitsPerQuarter | None = None
    """Licensed volume a quarter for the company, where the licence caps it. [units/quarter]"""
    supply_chips: list[str] = Field(default_factory=list)
    """``kind = "supply"``: chips whose base supply the rule scales."""
    supply_factor: Annotated[NonNegative, Field(le=MAX_SUPPLY_FACTOR)] | None = None
    """``kind = "supply"``: multiplier on the base supply of ``supply_chips``. [1]"""
    entities: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    """``kind = "entity"``: names of the listed entities as the list gives them (matched to the
    subject's ``subject.entities`` names and aliases, ignoring case and spacing)."""
    licence_policy: Literal["presumption of denial", "case-by-case"] | None = None
    """``kind = "entity"``: licence review policy for the covered items: ``presumption of
    denial`` makes them ``banned`` for a listed purchaser, ``case-by-case`` makes them
    ``licence`` (capped by ``cap_units_per_quarter`` when given)."""
    rental_cap_share: Fraction | None = None
    """``kind = "remote"``: most capacity of covered chips the subject may rent remotely, as a
    share of its own effective capacity (0 closes the cloud route). [1]"""
    hypothetical: bool = False
    """True for counterfactual rules (scenarios), False for rules as enacted."""
    source: Annotated[str, Field(min_length=3)]
    """Where the rule and its dates come from."""
    note: str = ""
    """Text added to the note of each chip the rule decides."""

    @model_validator(mode="after")
    def _consistent(self) -> ExportRule:
        for name in ("effective", "effective_datacenter"):
            d = getattr(self, name)
            if d is not None and d < self.announced:
                raise ValueError(f"{name} {d} is before announced {self.announced}")
        first = min(d for d in (self.effective, self.effective_datacenter) if d is not None)
        if self.until is not None and self.until <= first:
            raise ValueError(f"until {self.until} must be after the effective date {first}")
        if self.superseded_by == self.id:
            raise ValueError("a rule cannot supersede itself")
        if self.kind != "entity" and (self.entities or self.licence_policy is not None):
            raise ValueError("entities and licence_policy belong to kind = 'entity' rules")
        if self.kind != "remote" and self.rental_cap_share is not None:
            raise ValueError("rental_cap_share belongs to kind = 'remote' rules")
        if self.kind in ("entity", "remote"):
            if self.band:
                raise ValueError(f"a {self.kind} rule has no band (it covers every item of "
                                 "its origin)")
            if self.supply_factor is not None or self.supply_chips:
                raise ValueError("supply_factor and supply_chips belong to kind = 'supply' rules")
            if self.kind == "entity" and (not self.entities or self.licence_policy is None):
                raise ValueError("an entity rule needs entities and licence_policy")
            if self.kind == "remote" and self.rental_cap_share is None:
                raise ValueError("a remote rule needs rental_cap_share")
            if self.applies_to != "all":
                raise ValueError(f"applies_to belongs to status rules, not {self.kind} rules")
            if self.licence_terms() and self.licence_policy != "case-by-case":
                raise ValueError("fee_revenue_share, duty_rate and cap_units_per_quarter need a "
                                 "licence (an entity rule with licence_policy = 'case-by-case')")
            return self
        if self.kind == "supply":
            if self.applies_to != "all":
                raise ValueError("applies_to belongs to status rules, not supply rules")
            if self.band:
                raise ValueError("a supply rule has no band (it scales supply, it tests nothing)")
            if self.supply_factor is None or not self.supply_chips:
                raise ValueError("a supply rule needs supply_factor and supply_chips")
        else:
            if not self.band:
                raise ValueError(f"a {self.kind} rule needs at least one [[rule.band]]")
            if self.supply_factor is not None or self.supply_chips:
                raise ValueError("supply_factor and supply_chips belong to kind = 'supply' rules")
            for i, b in enumerate(self.band):
                if b.is_catch_all() and self.kind != "embargo":
                    raise ValueError(f"band[{i}] has no condition: only an embargo rule may "
                                     "catch every chip")
        if self.licence_terms() and not any(b.status == "licence" for b in self.band):
            raise ValueError("fee_revenue_share, duty_rate and cap_units_per_quarter need a "
                             "licence band")
        return self

    def licence_terms(self) -> bool:
        """True when the rule sets a term of a licence (revenue share, duty or volume cap)."""
        return (self.fee_revenue_share > 0 or self.duty_rate > 0
                or self.cap_units_per_quarter is not None)

    def effective_for(self, datacenter: bool) -> dt.date:
        """Effective date for a chip made for data centres (``True``) or not."""
        if datacenter and self.effective_datacenter is not None:
            return self.effective_datacenter
        return self.effective

    def chip_names(self) -> list[tuple[str, str]]:
        """Every chip the rule names, as ``(field, chip)`` pairs, for name checks."""
        out = [(f"supply_chips[{i}]", c) for i, c in enumerate(self.supply_chips)]
        for i, b in enumerate(self.band):
            out += [(f"band[{i}].chips[{j}]", c) for j, c in enumerate(b.chips or [])]
        return out


def supersession_cycle(rules: Mapping[str, ExportRule]) -> list[str] | None:
    """A cycle of ``superseded_by`` links among ``rules``, or ``None`` when there is none.

    Each rule names at most one rule that supersedes it, so following the links from any rule
    either leaves ``rules`` (an id not in it is not followed), stops at a rule superseded by
    nothing, or comes back to a rule already on the path: a cycle, in which every rule would
    switch off the next and none would ever apply.

    Parameters
    ----------
    rules
        Rules by id.

    Returns
    -------
    list of str or None
        The ids on the cycle in link order, the first repeated at the end
        (``["a", "b", "a"]``), for the first cycle found in ``rules`` order.
    """
    done: set[str] = set()
    for start in rules:
        path: list[str] = []
        on_path: set[str] = set()
        rid: str | None = start
        while rid is not None and rid in rules and rid not in done:
            if rid in on_path:
                return [*path[path.index(rid):], rid]
            path.append(rid)
            on_path.add(rid)
            rid = rules[rid].superseded_by
        done.update(path)
    return None


class RuleLibrary(StrictModel):
    """The rule library file: ``[[rule]]`` tables."""

    description: str = ""
    rule: list[ExportRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> RuleLibrary:
        seen: set[str] = set()
        for r in self.rule:
            if r.id in seen:
                raise ValueError(f"duplicate rule id {r.id!r}")
            seen.add(r.id)
        cycle = supersession_cycle({r.id: r for r in self.rule})
        if cycle:
            raise ValueError(f"superseded_by links form a cycle: {' -> '.join(cycle)}")
        return self


class ControlsInputs(StrictModel):
    """Export-control regime of a scenario: a timeline of rules (``data/export_controls.toml``)."""

    rules: list[str] = Field(default_factory=list)
    """Ids of the rules in force in this scenario (each rule carries its own dates). Order breaks
    ties between rules with the same effective date (later in the list wins)."""
    extra_rules: list[ExportRule] = Field(default_factory=list)
    """Rules defined by the scenario itself (counterfactuals), added to the library; their ids
    must not clash with the library's and must still be listed in ``rules`` to apply."""
    base_supply_units_per_quarter: dict[str, UnitsPerQuarter] = Field(default_factory=dict)
    """Units of each chip the company can obtain a quarter before any rule. [units/quarter]
    Chips not listed are uncapped."""


# --------------------------------------------------------------------------------------------
# The subject (owned by capacity.export_controls for entity rules)
# --------------------------------------------------------------------------------------------


def entity_key(name: str) -> str:
    """Name as compared with list entries: lower case, runs of spaces as one, no trailing
    period (``"Beijing  SenseTime Co., Ltd."`` -> ``"beijing sensetime co., ltd"``)."""
    return " ".join(str(name).lower().split()).rstrip(".")


class SubjectEntity(StrictModel):
    """One legal entity of the subject (a group company, a subsidiary)."""

    name: Annotated[str, Field(min_length=2)]
    """Legal name."""
    aliases: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    """Other names it is known or listed by."""
    purchases: bool = False
    """It buys (imports) the accelerators of the planned fleet; entity rules apply to the
    subject's purchases only through such entities."""

    def name_keys(self) -> set[str]:
        """Its name and aliases, normalised by :func:`entity_key`."""
        return {entity_key(n) for n in [self.name, *self.aliases]}


class SubjectInputs(StrictModel):
    """Who the subject is, as data: its display name and legal entities."""

    name: str = ""
    """Display name of the subject (the company and its listing, as the data folder gives it)."""
    entities: list[SubjectEntity] = Field(default_factory=list)
    """Its legal entities; export-control entity rules match their names and aliases."""

    def purchaser_keys(self) -> dict[str, str]:
        """Normalised name or alias -> legal name, over the purchasing entities."""
        return {k: e.name for e in self.entities if e.purchases for k in e.name_keys()}
