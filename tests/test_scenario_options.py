"""Scenario kinds (``options``) and the headline target price that follows the plan's NPV
(issue 25, items 5 and 6).

Every shipped scenario file says what it does to the options of the scenario it extends:
one that only removes options has a plan NPV and a headline target price no higher than its
parent's, one that only adds no lower, one that changes nothing equal ones. Across today's
nine scenarios the headline moves the same way as the plan's NPV wherever the NPV moves by
more than 0.5%, and by more than 1% wherever the NPV moves by more than 1%.
"""

from __future__ import annotations

import pytest

from capacity.errors import InputError
from capacity.run import value_report
from capacity.scenarios import load_scenario, shipped_scenarios
from capacity.scenarios.files import read_toml
from capacity.schemas import SCENARIO_OPTIONS

TODAY = ["baseline", "h20-discouraged-2025", "h200-customs-block-2026", "h200-class-rule-2026",
         "b30a-allowed", "b30a-denied", "ascend-950-ramp", "remote-access-closed",
         "entity-list-buyer"]
REL_TOL = 1e-4
"""Relative slack of an order: the integer plan's optimality gap is below it."""


def options_of(name: str) -> tuple[str, str]:
    """(the file's ``options``, the scenario it is compared with: its parent, or baseline)."""
    doc = read_toml(shipped_scenarios()[name])
    return doc["options"], doc.get("extends", "baseline")


_VALUES: dict[str, dict] = {}


def value(name: str) -> dict:
    """``capacity value`` scalars of a shipped scenario (one run each per test module)."""
    if name not in _VALUES:
        rep = value_report(load_scenario(name))
        _VALUES[name] = {**rep.scalars, "npv_bridge": rep.tables["npv_bridge"].to_dict("records")}
    return _VALUES[name]


def test_every_shipped_scenario_says_its_kind():
    for path in shipped_scenarios().values():
        doc = read_toml(path)
        assert doc.get("options") in SCENARIO_OPTIONS, f"{path.name}: options"


def test_an_unknown_kind_is_one_line_naming_the_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('description = "x"\noptions = "fewer"\nextends = "baseline"\n')
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert "options" in str(exc.value) and "removes" in str(exc.value)


ORDERED = [n for n, p in shipped_scenarios().items() if options_of(n)[0] != "mixed"
           and "extends" in read_toml(p)]
"""Every shipped scenario that is not mixed and extends another (the roots compare with
nothing)."""


@pytest.mark.parametrize("name", ORDERED)
@pytest.mark.parametrize("key", ["plan_npv_m", "target_price"])
def test_removing_options_cannot_raise_value_nor_adding_lower_it(name, key):
    kind, parent = options_of(name)
    mine, theirs = value(name)[key], value(parent)[key]
    slack = REL_TOL * abs(theirs)
    if kind in ("removes", "none"):
        assert mine <= theirs + slack, f"{name} ({kind}) {key} {mine} > {parent} {theirs}"
    if kind in ("adds", "none"):
        assert mine >= theirs - slack, f"{name} ({kind}) {key} {mine} < {parent} {theirs}"


@pytest.mark.parametrize("name", TODAY[1:])
def test_headline_moves_with_the_plan_npv(name):
    base, mine = value("baseline"), value(name)
    d_npv = mine["plan_npv_m"] / base["plan_npv_m"] - 1.0
    d_tp = mine["target_price"] / base["target_price"] - 1.0
    if abs(d_npv) > 0.005:
        assert d_tp * d_npv > 0, f"{name}: NPV {d_npv:+.2%}, TP {d_tp:+.2%}"
    if abs(d_npv) > 0.01:
        assert abs(d_tp) > 0.01, f"{name}: NPV {d_npv:+.2%}, TP {d_tp:+.2%}"
    assert mine["valuation_method"] == "fleet_dcf"
    # the terminal's share of EV is the bridge's two terminal rows over its headline EV (it may
    # be negative: a terminal flow below zero, or above one: an explicit period worth less than 0)
    bridge = {r["item"]: r["value_m"] for r in mine["npv_bridge"]}
    assert mine["terminal_share_of_ev"] == pytest.approx(
        (bridge["terminal_fleet"] + bridge["terminal_non_fleet"]) / bridge["headline_ev"])
