"""Today's scenarios (issue 15, item 5) and entity-specific licensing.

Each shipped "today" scenario extends ``baseline`` at the latest vintage, validates and runs
``capacity plan`` and ``capacity value`` through the CLI; the expectations below are worked
out by hand from the rule dates and the quarter convention of docs/controls.md (a rule dated D
applies to quarter q when it is in force for at least half of q).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from cli_helpers import cli_json

from capacity import export_controls as ctl
from capacity.errors import InputError
from capacity.scenarios import load_scenario, shipped_scenarios
from capacity.schemas import quarter_range

TODAY = ["h20-discouraged-2025", "h200-customs-block-2026", "h200-class-rule-2026",
         "b30a-allowed", "b30a-denied", "ascend-950-ramp", "remote-access-closed",
         "entity-list-buyer"]
US_CHIPS = ["V100", "A100", "A800", "H100", "H800", "H20", "L20", "L40S", "RTX4090",
            "RTX4090D", "H200", "B200", "B30A"]


@pytest.fixture(scope="module")
def plans():
    """``capacity plan`` JSON of the latest vintage's baseline and every today scenario (one
    solve each)."""
    return {name: cli_json("plan", "--scenario", name) for name in ["baseline", *TODAY]}


def bought(plan: dict, chip: str, first: str | None = None) -> float:
    """Units of ``chip`` the plan buys, over deliveries from quarter ``first`` on. [units]"""
    start = pd.Period(first, freq="Q") if first else None
    return sum(p["units"] for p in plan["purchases"] if p["chip"] == chip
               and (start is None or pd.Period(p["period"], freq="Q") >= start))


def per_quarter(plan: dict, chip: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for p in plan["purchases"]:
        if p["chip"] == chip:
            out[p["period"]] = out.get(p["period"], 0.0) + p["units"]
    return out


def status(name: str, quarter: str) -> pd.DataFrame:
    return ctl.status_at(load_scenario(name), quarter)


@pytest.mark.parametrize("name", TODAY)
def test_today_scenarios_are_shipped_described_and_value(name, plans):
    assert name in shipped_scenarios()
    sc = load_scenario(name)
    assert sc.as_of == load_scenario("baseline").as_of  # the latest vintage
    assert len(sc.description) > 40
    assert plans[name]["status"] == "optimal"
    value = cli_json("value", "--scenario", name)
    assert math.isfinite(value["target_price"])
    # every rule the scenario defines carries a source; hypothetical ones say so in the
    # description or in the rule
    for r in sc.inputs.controls.extra_rules:
        assert len(r.source) > 40
        if sc.description.startswith("Hypothetical"):
            assert r.hypothetical


def test_history_counterfactuals_are_marked_as_history():
    for name in ["no-2023-update", "embargo-2024"]:
        assert load_scenario(name).description.startswith("History (1H23 vintage)")


# --------------------------------------------------------------------------------------------
# China-side measures
# --------------------------------------------------------------------------------------------


def test_h20_guidance_stops_h20_from_2025q3(plans):
    # guidance dated 2025-08-12: in force 12 Aug - 30 Sep = 20 + 30 = 50 days of 92, and
    # 2 x 50 >= 92 -> 2025Q3. The US licence of 11 Aug (51 days, also 2025Q3) is one day older,
    # so the guidance is the latest rule in force and decides.
    got = status("h20-discouraged-2025", "2025Q3").loc["H20"]
    assert (got["status"], got["rule"], got["cap_units"]) == (
        "banned", "cn-h20-guidance-aug-2025", 0.0)
    hist = status("baseline", "2025Q3").loc["H20"]
    assert hist["status"] == "licence" and hist["price_factor"] == pytest.approx(1 / 0.85)
    assert bought(plans["h20-discouraged-2025"], "H20", "2025Q3") == 0
    # before the guidance the H20 stays available (2024Q1: allowed, no rule)
    assert status("h20-discouraged-2025", "2024Q1").loc["H20", "status"] == "allowed"


def test_customs_block_means_no_h200(plans):
    # the baseline buys the H200 under the Jan 2026 licence: at most 500 a quarter, the first
    # delivered in 2026Q3 (ordered in the vintage quarter 2026Q1, two quarters' lead time)
    hist = per_quarter(plans["baseline"], "H200")
    assert min(hist) == "2026Q3"
    assert all(v <= 500.0 + 1e-6 for v in hist.values()) and sum(hist.values()) > 0
    assert bought(plans["h200-customs-block-2026"], "H200") == 0
    got = status("h200-customs-block-2026", "2026Q1").loc["H200"]
    assert (got["status"], got["rule"]) == ("banned", "cn-customs-h200-jan-2026")


# --------------------------------------------------------------------------------------------
# US rules of 2025-26
# --------------------------------------------------------------------------------------------


def test_h200_class_rule_as_published():
    st = status("h200-class-rule-2026", "2026Q1")
    # TPP 15,832 < 21,000 and 3.35 TB/s < 6.5: case-by-case, 25% duty = x(1 + 0.25), cap 500
    for chip in ["H100", "H800", "H200", "A100", "A800"]:
        row = st.loc[chip]
        assert (row["status"], row["rule"], row["cap_units"]) == (
            "licence", "h200-class-jan-2026", 500.0), chip
        assert row["price_factor"] == pytest.approx(1.25)
    # B200: TPP 2,250 x 16 = 36,000 >= 21,000 -> not licensable, stays banned
    assert st.loc["B200", "status"] == "banned"
    # B30A (assumed figures): TPP 1,125 x 16 = 18,000 < 21,000 and 4.0 TB/s < 6.5 -> licence
    assert st.loc["B30A", "status"] == "licence"
    # H20 keeps the Aug 2025 terms: 15% share (1/0.85), no cap
    assert st.loc["H20", "rule"] == "h20-terms-continue-2026"
    assert st.loc["H20", "price_factor"] == pytest.approx(1 / 0.85)
    assert math.isnan(st.loc["H20", "cap_units"])
    # the quarter before, the 2023 rule still bans the H100
    assert status("h200-class-rule-2026", "2025Q4").loc["H100", "status"] == "banned"
    # the rule revises the terms of controlled chips only: no other rule catches the V100
    # (TPP 2,000 < 2,400, PD 2.45 < 3.2), L20 (TPP 1,912 < 2,400) or RTX 4090D (not a data-centre
    # part: TPP 4,707 < 4,800), so they stay allowed with no cap and no price factor
    later = status("h200-class-rule-2026", "2026Q3")
    for chip in ["V100", "L20", "RTX4090D"]:
        row = later.loc[chip]
        assert (row["status"], row["rule"], row["price_factor"]) == ("allowed", "", 1.0), chip
        assert math.isnan(row["cap_units"]), chip
    assert later.loc["RTX4090", "status"] == "licence"  # TPP 5,285 >= 4,800: banned before


def test_b30a_allowed_vs_denied(plans):
    before = status("b30a-allowed", "2026Q1").loc["B30A"]
    assert (before["status"], before["rule"]) == ("banned", "h20-apr-2025")
    after = status("b30a-allowed", "2026Q2").loc["B30A"]
    assert (after["status"], after["cap_units"]) == ("licence", 2000.0)
    assert after["price_factor"] == pytest.approx(1 / 0.85)
    q = per_quarter(plans["b30a-allowed"], "B30A")
    assert q and min(q) >= "2026Q2" and max(q.values()) <= 2000.0 + 1e-6
    # denied: 2025-11-06 is in force 56 of 92 days of 2025Q4 -> 2025Q4
    denied = status("b30a-denied", "2025Q4").loc["B30A"]
    assert (denied["status"], denied["rule"]) == ("banned", "us-b30a-denied-nov-2025")
    assert bought(plans["b30a-denied"], "B30A") == 0
    assert plans["b30a-denied"]["total_capex_m"] == pytest.approx(
        plans["baseline"]["total_capex_m"])


def test_ascend_950_ramp_follows_the_roadmap_dates(plans):
    for chip, first in [("Ascend950PR", "2026Q1"), ("Ascend950DT", "2026Q4"),
                        ("Ascend960", "2027Q4")]:
        assert bought(plans["baseline"], chip) == 0  # launched after the vintage: not planned
        q = per_quarter(plans["ascend-950-ramp"], chip)
        assert all(p >= first for p in q), chip
    caps = {"Ascend950PR": 1000.0, "Ascend950DT": 2000.0}
    for chip, cap in caps.items():
        assert all(v <= cap + 1e-6 for v in per_quarter(plans["ascend-950-ramp"], chip).values())
    assert bought(plans["ascend-950-ramp"], "Ascend950DT") > 0


def test_remote_access_rule_sets_a_zero_rental_cap_from_2026q3():
    periods = quarter_range("2026Q1", "2026Q4")
    got = ctl.rental_cap_share(load_scenario("remote-access-closed"), periods)
    # 2026-07-01 is the first day of 2026Q3: in force all of it
    assert got.isna().tolist() == [True, True, False, False]
    assert got.dropna().tolist() == [0.0, 0.0]
    assert ctl.rental_cap_share(load_scenario("baseline"), periods).isna().all()
    # no chip's status changes
    pd.testing.assert_frame_equal(
        ctl.availability(load_scenario("remote-access-closed"), periods),
        ctl.availability(load_scenario("baseline"), periods))
    # and the plan rents less once renting is closed
    closed = cli_json("plan", "--scenario", "remote-access-closed")
    base = cli_json("plan", "--scenario", "baseline")
    rented = [sum(r["rented_eflops"] for r in p["quarters"] if r["period"] >= "2026Q3")
              for p in (closed, base)]
    assert rented[0] == 0.0 and rented[1] > 0.0


# --------------------------------------------------------------------------------------------
# Entity-specific licensing
# --------------------------------------------------------------------------------------------


def test_listed_subsidiary_is_not_the_buyer_in_history():
    sc = load_scenario("history")
    rule = sc.rules["entity-list-oct-2019"]
    assert rule.licence_policy == "presumption of denial"
    assert ctl.entity_matches(rule, sc) == []
    st = ctl.status_at(sc, "2024Q1")
    assert st.loc["L20", "status"] == "allowed"
    assert "entity-list" not in st.loc["L20", "note"]


def test_a_listed_buyer_loses_every_us_chip_and_keeps_domestic_ones():
    # the listed subsidiary made the buyer, matched through an alias written in another case
    sc = load_scenario("history", set_values={"subject.entities": [
        {"name": "Beijing SenseTime Technology Development Co., Ltd.",
         "aliases": ["BEIJING  sensetime"], "purchases": True}]})
    assert ctl.entity_matches(sc.rules["entity-list-oct-2019"], sc)
    st = ctl.status_at(sc, "2025Q3")
    for chip in US_CHIPS:
        assert st.loc[chip, "status"] == "banned", chip
        assert st.loc[chip, "cap_units"] == 0.0
    # allowed by every chip rule, banned by the entity rule, which then decides
    assert st.loc["L20", "rule"] == "entity-list-oct-2019"
    # H20 licensed by the chip rules, but the buyer needs a licence too: denied
    assert st.loc["H20", "rule"] == "entity-list-oct-2019"
    # A100 banned by the chip rule already: that rule stays the deciding one
    assert st.loc["A100", "rule"] == "oct-2023"
    assert st.loc["Ascend910B", "status"] == "allowed"
    assert st.loc["Ascend910B", "cap_units"] == 2000.0


def test_entity_list_buyer_scenario_buys_no_us_chip_from_2026q3(plans):
    st = status("entity-list-buyer", "2026Q3")
    assert (st.loc[US_CHIPS, "status"] == "banned").all()
    assert status("entity-list-buyer", "2026Q2").loc["H200", "status"] == "licence"
    plan = plans["entity-list-buyer"]
    assert sum(bought(plan, c, "2026Q3") for c in US_CHIPS) == 0
    assert sum(bought(plans["baseline"], c, "2026Q3") for c in US_CHIPS) > 0
    # the H200 licence of 2026Q1-Q2 is out of reach: an order placed from the vintage quarter
    # (2026Q1) arrives from 2026Q3, when the listing bans it
    assert bought(plan, "H200") == 0


def test_case_by_case_entity_rule_caps_the_licence():
    rule = {"id": "entity-cbc", "title": "test: case-by-case listing", "kind": "entity",
            "announced": "2024-01-01", "effective": "2024-01-01",
            "entities": ["SenseTime Group Inc."], "licence_policy": "case-by-case",
            "cap_units_per_quarter": 300, "source": "test rule, no source"}
    sc = load_scenario("history", set_values={"controls.rules+": ["entity-cbc"],
                                              "controls.extra_rules": [rule]})
    st = ctl.status_at(sc, "2024Q2")
    # L20 allowed by the chip rules -> licence from the entity rule, cap 300, no fee
    assert (st.loc["L20", "status"], st.loc["L20", "rule"], st.loc["L20", "cap_units"]) == (
        "licence", "entity-cbc", 300.0)
    assert st.loc["L20", "price_factor"] == 1.0
    assert st.loc["A100", "status"] == "banned"  # the chip rule's ban is more severe


@pytest.mark.parametrize(("rule", "problem"), [
    ({"kind": "entity", "licence_policy": "case-by-case"}, "needs entities"),
    ({"kind": "entity", "entities": ["X Co."]}, "needs entities and licence_policy"),
    ({"kind": "remote", "rental_cap_share": 0.0,
      "band": [{"status": "banned", "chips": ["H20"]}]}, "has no band"),
    ({"kind": "remote"}, "needs rental_cap_share"),
    ({"kind": "named", "entities": ["X Co."], "band": [{"status": "banned", "chips": ["H20"]}]},
     "belong to kind = 'entity'"),
])
def test_malformed_entity_and_remote_rules_are_refused(rule, problem):
    body = {"id": "bad-rule", "title": "bad rule", "announced": "2024-01-01",
            "effective": "2024-01-01", "source": "test rule", **rule}
    with pytest.raises(InputError, match=problem):
        load_scenario("history", set_values={"controls.rules+": ["bad-rule"],
                                             "controls.extra_rules": [body]})
