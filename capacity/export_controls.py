"""Export-control rules -> availability of every catalog chip in every quarter.

A scenario lists rule ids (``controls.rules``) from the library ``data/export_controls.toml``
plus any rules it defines itself (``controls.extra_rules``). This module turns them into a status
per chip and quarter: ``allowed``, ``notify``, ``licence`` or ``banned``, with the rule that
decided it, a purchase cap and a price factor.

Notes
-----
Spec tests use the catalog figures (:mod:`capacity.chips`):

    TPP = max_p (dense rate_p [TOPS] x bit length_p)            (BIS 3A090 technical note)
    PD  = TPP / die area [mm^2]

A band catches a chip when every condition it gives holds (``x_min``: x >= min; ``x_max``:
x < max). An unknown figure cannot clear a test: the condition counts as met and the chip's note
says so (e.g. "die area unknown: density test cannot clear it").

Quarter convention: a rule dated D applies to quarter q when it is in force for at least half of
q, i.e. when ``2 x (days from D to the end of q, inclusive) >= days in q``; otherwise it applies
from the next quarter. ``until`` ends a rule the same way: it no longer applies from the quarter
its ``until`` date would apply to.

Precedence for chip c in quarter q: among the scenario's status rules that cover c (its country is
in the rule's ``origin``), are in force at q and are not superseded (``superseded_by`` names a rule
of the scenario that is in force for c at q), the rules whose bands catch c are candidates; the one
with the latest effective date for c decides (ties: later in ``controls.rules`` wins). Within a
rule, the most severe status of the bands that catch c applies
(banned > licence > notify > allowed). No candidate: ``allowed``.

A rule with ``applies_to = "controlled"`` revises the licence terms of controlled chips (a
change of licence review policy) and controls nothing new: it is a candidate for c at q only
when the other status rules alone decide c at q as ``licence`` or ``banned``
(:data:`CONTROLLED`); for any other chip it is skipped, so a chip no rule controls stays as
the other rules leave it.

Caps and prices:

    cap[c, q] = min( base_supply[c] x prod_r supply_factor_r ,  licence cap of the deciding rule )
    cap[c, q] = 0                         when banned
    price_factor[c, q] = 1 / (1 - fee_revenue_share) x (1 + duty_rate)
                                                     when a licence rule decides, else 1

where the product runs over supply rules in force at q naming c; a missing base supply or licence
cap is no limit (NaN). A revenue share (the seller pays a share f of its revenue) and a duty
(a tariff at rate d of the price) are separate terms of a licence, both assumed passed through
to the buyer in full: a 25% revenue share is x1.333, a 25% duty x1.25.

Entity rules (``kind = "entity"``, the Entity List) are not in the precedence chain: they add a
licence requirement for the buyer on top of whatever the chip rules say. One applies when one of
its ``entities`` matches the name or an alias of a purchasing entity of the subject
(``subject.entities`` with ``purchases = true``; :func:`entity_matches`), and it covers every chip
of its ``origin`` while in force. Its status is ``banned`` (presumption of denial) or ``licence``
(case-by-case); the chip's final status is the more severe of the chip rules' and the entity
rules':

    status[c, q] = max_severity( chip-rule status[c, q],  entity status_r  for r applying at q )

and when an entity rule is the more severe it decides (its cap, its fee; 0 units when banned).

Remote-access rules (``kind = "remote"``) change no chip's status: :func:`rental_cap_share`
gives, per quarter, the least ``rental_cap_share`` among those in force (NaN where none), the
limit on capacity the subject may rent remotely as a share of its own effective capacity.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.chips import performance_density, tpp
from capacity.errors import unknown_name
from capacity.scenarios import Scenario
from capacity.schemas import ExportRule, RuleBand, entity_key, to_period

STATUSES: tuple[str, ...] = ("allowed", "notify", "licence", "banned")
"""Statuses from least to most severe."""

SEVERITY: dict[str, int] = {s: i for i, s in enumerate(STATUSES)}

#: Catalog figure behind each threshold prefix, with its name for notes.
_FIGURES: dict[str, tuple[str, str]] = {
    "tpp": ("tpp", "TPP unknown: TPP test cannot clear it"),
    "pd": ("performance_density", "die area unknown: density test cannot clear it"),
    "memory_bw_tbs": ("memory_bw_tbs", "memory bandwidth unknown: bandwidth test cannot clear it"),
    "interconnect_gbs": ("interconnect_gbs",
                         "chip-to-chip bandwidth unknown: interconnect test cannot clear it"),
}


# --------------------------------------------------------------------------------------------
# Dates -> quarters
# --------------------------------------------------------------------------------------------


def quarter_in_force(date: dt.date) -> pd.Period:
    """First quarter a rule dated ``date`` applies to.

    The quarter containing ``date`` when the rule is in force for at least half of it
    (``date`` on or before the quarter's midpoint), else the next quarter.

    Parameters
    ----------
    date
        Effective (or ``until``) date.

    Returns
    -------
    pandas.Period
        Quarter (freq ``Q``).

    Examples
    --------
    2022-10-07: in force 86 of 92 days of 2022Q4 -> 2022Q4.
    2023-11-17: in force 45 of 92 days of 2023Q4 (45 x 2 = 90 < 92) -> 2024Q1.
    2024-12-02: in force 30 of 92 days -> 2025Q1.
    """
    q = pd.Period(date, freq="Q")
    start = q.start_time.date()
    end = q.end_time.date()
    days = (end - start).days + 1
    in_force = (end - date).days + 1
    return q if 2 * in_force >= days else q + 1


# --------------------------------------------------------------------------------------------
# Rule sets
# --------------------------------------------------------------------------------------------


def scenario_rules(scenario: Scenario) -> list[ExportRule]:
    """The rules the scenario lists, in its order.

    Raises
    ------
    UnknownNameError
        For an id that is neither in the library nor defined by the scenario.
    """
    lib = scenario.all_rules()
    out = []
    for i, rid in enumerate(scenario.inputs.controls.rules):
        if rid not in lib:
            raise unknown_name(f"controls.rules[{i}]", "rule", rid, lib, list_known=True)
        out.append(lib[rid])
    return out


@dataclass(frozen=True)
class _Window:
    """Quarters a rule applies to for one class of chip: ``start <= q < stop``."""

    start: pd.Period
    stop: pd.Period | None

    def contains(self, q: pd.Period) -> bool:
        return self.start <= q and (self.stop is None or q < self.stop)


def rule_window(rule: ExportRule, datacenter: bool) -> _Window:
    """Quarters ``rule`` is in force for a data-centre (``True``) or other chip."""
    stop = quarter_in_force(rule.until) if rule.until is not None else None
    return _Window(quarter_in_force(rule.effective_for(datacenter)), stop)


# --------------------------------------------------------------------------------------------
# Spec tests
# --------------------------------------------------------------------------------------------


def chip_figures(catalog: pd.DataFrame) -> pd.DataFrame:
    """Figures the tests compare, per chip: tpp, performance_density, memory_bw_tbs,
    interconnect_gbs, datacenter, country. Unknown figures are NaN."""
    return pd.DataFrame({
        "tpp": tpp(catalog),
        "performance_density": performance_density(catalog),
        "memory_bw_tbs": catalog["memory_bw_tbs"],
        "interconnect_gbs": catalog["interconnect_gbs"],
        "datacenter": catalog["datacenter"].astype(bool),
        "country": catalog["country"],
    }, index=catalog.index)


def band_catches(band: RuleBand, chip: str, figures: pd.Series) -> tuple[bool, list[str]]:
    """Whether ``band`` catches a chip, and the notes on unknown figures it relied on.

    Parameters
    ----------
    band
        The test.
    chip
        Catalog id.
    figures
        The chip's row of :func:`chip_figures`.

    Returns
    -------
    (bool, list of str)
        Caught or not; when caught, one note per unknown figure that counted as meeting a
        threshold (empty when the catalog figures alone decide).
    """
    if band.chips is not None and chip not in band.chips:
        return False, []
    if band.datacenter_only and not bool(figures["datacenter"]):
        return False, []
    unknown: list[str] = []
    for key, threshold in band.conditions().items():
        prefix, side = key.rsplit("_", 1)
        column, note = _FIGURES[prefix]
        value = figures[column]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if note not in unknown:
                unknown.append(note)
            continue
        ok = value >= threshold if side == "min" else value < threshold
        if not ok:
            return False, []
    return True, unknown


#: Kinds outside the chip-rule precedence chain.
_SIDE_KINDS = ("supply", "entity", "remote")


def entity_matches(rule: ExportRule, scenario: Scenario) -> list[tuple[str, str]]:
    """Listed names of an entity rule that match a purchasing entity of the subject.

    Names compare after :func:`~capacity.schemas.entity_key` (case and spacing ignored).

    Returns
    -------
    list of (listed name, subject entity's legal name)
        Empty when the rule is not an entity rule or names none of the subject's purchasers.
    """
    if rule.kind != "entity":
        return []
    buyers = scenario.inputs.subject.purchaser_keys()
    return [(n, buyers[entity_key(n)]) for n in rule.entities if entity_key(n) in buyers]


def entity_status(rule: ExportRule) -> str:
    """Status an entity rule gives every covered chip of a listed buyer."""
    return "banned" if rule.licence_policy == "presumption of denial" else "licence"


def rule_verdict(rule: ExportRule, chip: str, figures: pd.Series
                 ) -> tuple[str, str, list[str]] | None:
    """What a status rule says about a chip, ignoring dates.

    Returns
    -------
    (status, label, unknown notes) or None
        The most severe status among the bands that catch the chip (ties: a band decided by known
        figures first, then the first band), that band's label and its unknown-figure notes;
        ``None`` when the rule does not cover or does not catch the chip.
    """
    if rule.kind in _SIDE_KINDS or figures["country"] not in rule.origin:
        return None
    best: tuple[int, int, int, str, str, list[str]] | None = None
    for i, band in enumerate(rule.band):
        caught, unknown = band_catches(band, chip, figures)
        if not caught:
            continue
        key = (SEVERITY[band.status], 0 if unknown else 1, -i)
        if best is None or key > best[:3]:
            best = (*key, band.status, band.label, unknown)
    if best is None:
        return None
    return best[3], best[4], best[5]


def classify(rule: ExportRule, catalog: pd.DataFrame) -> pd.Series:
    """Status each catalog chip would get from ``rule`` alone, ignoring dates.

    Returns
    -------
    pandas.Series
        Index chip; ``"allowed"`` for chips the rule does not catch (or does not cover).
    """
    figs = chip_figures(catalog)
    out = {}
    for chip in catalog.index:
        v = rule_verdict(rule, chip, figs.loc[chip])
        out[chip] = v[0] if v else "allowed"
    return pd.Series(out, name=rule.id)


# --------------------------------------------------------------------------------------------
# Availability
# --------------------------------------------------------------------------------------------


def revenue_share_price_factor(fee_revenue_share):
    """Multiplier on the price of a chip whose seller pays a share f of its revenue. [1]

        factor = 1 / (1 - f)

    Passed through in full, the seller's net price is unchanged: P' (1 - f) = P (works on
    floats and numpy arrays).
    """
    return 1.0 / (1.0 - fee_revenue_share)


def duty_price_factor(duty_rate):
    """Multiplier on the price of a chip that bears a duty at rate d of its price. [1]

        factor = 1 + d

    A duty is levied on the price and passed through in full: P' = P (1 + d) (a 25% duty is
    x1.25; works on floats and numpy arrays).
    """
    return 1.0 + duty_rate


def licence_price_factor(fee_revenue_share, duty_rate=0.0):
    """Multiplier on the price of a licensed chip: its revenue share and its duty. [1]

        factor = 1 / (1 - f) x (1 + d)

    (:func:`revenue_share_price_factor`, :func:`duty_price_factor`; works on floats and numpy
    arrays.)
    """
    return revenue_share_price_factor(fee_revenue_share) * duty_price_factor(duty_rate)


#: Statuses that make a chip controlled: it needs a licence to be exported.
CONTROLLED: tuple[str, ...] = ("licence", "banned")


def controlled(verdict: tuple[str, str, list[str]] | None) -> bool:
    """Whether a verdict (:func:`rule_verdict`, None = no rule catches the chip) controls the
    chip: its status is one of :data:`CONTROLLED`."""
    return verdict is not None and verdict[0] in CONTROLLED


def _deciding_rule(rules: list[ExportRule], verdicts: dict, windows: dict, by_id: dict,
                   order: dict, datacenter: bool, q: pd.Period
                   ) -> tuple[ExportRule | None, tuple[str, str, list[str]] | None]:
    """The rule of ``rules`` that decides a chip in quarter ``q`` and its verdict (the
    precedence of the module docstring: the latest in force that catches the chip, not
    superseded; ties to the later in the scenario's list). (None, None) when none catches it."""
    deciding: ExportRule | None = None
    verdict = None
    for r in rules:
        v = verdicts[r.id]
        if v is None or not windows[r.id].contains(q):
            continue
        sup = r.superseded_by
        if sup is not None and sup in by_id and windows[sup].contains(q):
            continue
        if deciding is None or (r.effective_for(datacenter), order[r.id]) > (
                deciding.effective_for(datacenter), order[deciding.id]):
            deciding, verdict = r, v
    return deciding, verdict


def availability(scenario: Scenario, periods: pd.PeriodIndex) -> pd.DataFrame:
    """Status, deciding rule, purchase cap and price factor of every chip in every quarter.

    Parameters
    ----------
    scenario
        A validated scenario; its ``controls.rules`` name the rules in force.
    periods
        Quarters to evaluate (freq ``Q``).

    Returns
    -------
    pandas.DataFrame
        MultiIndex (``period``, ``chip``) over ``periods`` x every catalog chip; columns
        ``status`` (allowed / notify / licence / banned), ``rule`` (id of the deciding rule, ``""``
        if none), ``cap_units`` (units a quarter the company may buy; NaN = no cap)
        [units/quarter], ``price_factor`` (multiplier on the catalog price, >= 1) [1] and
        ``note``. See the module docstring for the equations and precedence.

    Raises
    ------
    UnknownNameError
        For a rule id the scenario lists but nobody defines.
    """
    periods = pd.PeriodIndex([to_period(p) for p in periods], freq="Q", name="period")
    catalog = scenario.catalog
    controls = scenario.inputs.controls
    rules = scenario_rules(scenario)
    ids = [r.id for r in rules]
    order = {rid: i for i, rid in enumerate(ids)}
    by_id = {r.id: r for r in rules}
    figs = chip_figures(catalog)
    status_rules = [r for r in rules if r.kind not in _SIDE_KINDS]
    general_rules = [r for r in status_rules if r.applies_to == "all"]
    review_rules = [r for r in status_rules if r.applies_to == "controlled"]
    supply_rules = [r for r in rules if r.kind == "supply"]
    entity_rules = [(r, m) for r in rules if (m := entity_matches(r, scenario))]

    rows = []
    for chip in catalog.index:
        f = figs.loc[chip]
        dc = bool(f["datacenter"])
        verdicts = {r.id: rule_verdict(r, chip, f) for r in status_rules}
        windows = {r.id: rule_window(r, dc) for r in rules}
        base = controls.base_supply_units_per_quarter.get(chip)
        base_cap = float(base) if base is not None else np.nan
        for q in periods:
            deciding, verdict = _deciding_rule(general_rules, verdicts, windows, by_id, order,
                                               dc, q)
            if review_rules and controlled(verdict):
                deciding, verdict = _deciding_rule(status_rules, verdicts, windows, by_id,
                                                   order, dc, q)
            notes: list[str] = []
            cap = base_cap
            supply_rule: ExportRule | None = None
            for r in supply_rules:
                if chip in r.supply_chips and windows[r.id].contains(q):
                    factor = float(r.supply_factor or 0.0)
                    cap = cap * factor
                    if supply_rule is None or (r.effective, order[r.id]) >= (
                            supply_rule.effective, order[supply_rule.id]):
                        supply_rule = r
                    notes.append(r.note or f"{r.id}: supply x{factor:g}")
                    if np.isnan(base_cap) and factor != 1.0:
                        notes.append(f"{r.id}: no base supply given, so the factor "
                                     f"x{factor:g} caps nothing")
            price_factor = 1.0
            if deciding is not None and verdict is not None:
                status, label, unknown = verdict
                rule_id = deciding.id
                head = [label] if label else []
                if deciding.note:
                    head.append(deciding.note)
                notes = head + unknown + notes
                if status == "banned":
                    cap = 0.0
                elif status == "licence":
                    price_factor = licence_price_factor(deciding.fee_revenue_share,
                                                        deciding.duty_rate)
                    lic = deciding.cap_units_per_quarter
                    if lic is not None:
                        cap = float(lic) if np.isnan(cap) else min(cap, float(lic))
            else:
                status = "allowed"
                rule_id = supply_rule.id if supply_rule is not None else ""
            for r, matched in entity_rules:
                if f["country"] not in r.origin or not windows[r.id].contains(q):
                    continue
                e_status = entity_status(r)
                listed = ", ".join(f"{n!r} (listed) = {legal!r}" if entity_key(n) != entity_key(
                    legal) else repr(legal) for n, legal in matched)
                notes.append(f"{r.id}: buyer {listed} needs a licence for every item subject to "
                             f"the EAR, {r.licence_policy}")
                if r.note:
                    notes.append(r.note)
                lic = r.cap_units_per_quarter
                if SEVERITY[e_status] > SEVERITY[status]:
                    status, rule_id = e_status, r.id
                    if e_status == "banned":
                        cap = 0.0
                    else:
                        price_factor = licence_price_factor(r.fee_revenue_share, r.duty_rate)
                if status == "licence" and e_status == "licence" and lic is not None:
                    cap = float(lic) if np.isnan(cap) else min(cap, float(lic))
            rows.append({"period": q, "chip": chip, "status": status, "rule": rule_id,
                         "cap_units": cap, "price_factor": price_factor,
                         "note": "; ".join(dict.fromkeys(notes))})
    out = pd.DataFrame(rows, columns=["period", "chip", "status", "rule", "cap_units",
                                      "price_factor", "note"])
    out["period"] = pd.PeriodIndex(out["period"], freq="Q")
    out["cap_units"] = out["cap_units"].astype(float)
    out["price_factor"] = out["price_factor"].astype(float)
    full = pd.MultiIndex.from_product([periods, catalog.index], names=["period", "chip"])
    out = out.set_index(["period", "chip"]).reindex(full)
    out.attrs["unit"] = {"cap_units": "units", "price_factor": "x"}  # per quarter; a factor
    return out


def rental_cap_share(scenario: Scenario, periods: pd.PeriodIndex) -> pd.Series:
    """Limit on remotely rented capacity per quarter, from the scenario's remote-access rules.

        cap_share[q] = min_r rental_cap_share_r   over ``kind = "remote"`` rules in force at q
                     = NaN                          when none is (no rule limits renting)

    Parameters
    ----------
    scenario
        A validated scenario.
    periods
        Quarters (freq ``Q``).

    Returns
    -------
    pandas.Series
        Index ``period``; share of the subject's own effective capacity it may rent. [1]
    """
    periods = pd.PeriodIndex([to_period(p) for p in periods], freq="Q", name="period")
    remote = [r for r in scenario_rules(scenario) if r.kind == "remote"]
    out = pd.Series(np.nan, index=periods, name="rental_cap_share", dtype=float)
    for r in remote:
        window = rule_window(r, True)
        for q in periods:
            if window.contains(q):
                share = float(r.rental_cap_share or 0.0)
                out[q] = share if np.isnan(out[q]) else min(out[q], share)
    out.attrs["unit"] = "1"
    return out


def status_at(scenario: Scenario, quarter: str | pd.Period) -> pd.DataFrame:
    """Availability in one quarter with the chip's TPP and density, indexed by chip.

    Returns
    -------
    pandas.DataFrame
        Columns ``country``, ``datacenter``, ``tpp`` [1], ``performance_density`` [TPP/mm^2],
        ``status``, ``rule``, ``cap_units`` [units/quarter], ``price_factor`` [1], ``note``.
    """
    q = to_period(quarter)
    av = availability(scenario, pd.PeriodIndex([q], freq="Q", name="period")).xs(q, level="period")
    figs = chip_figures(scenario.catalog)
    out = pd.concat([figs[["country", "datacenter", "tpp", "performance_density"]], av], axis=1)
    out.index.name = "chip"
    return out


def timeline(scenario: Scenario, periods: pd.PeriodIndex) -> pd.DataFrame:
    """Chip x quarter status matrix: rows chip (catalog order), columns ``"2023Q3"``-style."""
    av = availability(scenario, periods)
    mat = av["status"].unstack("period")
    mat = mat.reindex(scenario.catalog.index)
    mat.columns = [str(c) for c in mat.columns]
    mat.index.name = "chip"
    return mat
