"""Export-control rules: spec tests, quarter convention, precedence, scenarios, CLI errors.

Expected values are worked out by hand from data/chips.csv in the comments (TPP = dense rate x bit
length, max over precisions; PD = TPP / die area in mm2).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from capacity import export_controls as ctl
from capacity.chips import performance_density, tpp
from capacity.cli import main
from capacity.errors import InputError, UnknownNameError
from capacity.scenarios import load_scenario, read_rule_library
from capacity.schemas import quarter_range

DOMESTIC = ["Ascend910", "Ascend910B", "Ascend910C", "MLU370-X8", "Ascend950PR", "Ascend950DT",
            "Ascend960"]

NOTE_VINTAGE = ("--as-of", "2023-08-31")
"""The 1H23 note's vintage (the default is the latest)."""


@pytest.fixture(scope="module")
def catalog(history):
    return history.catalog


def status(scenario, quarter: str) -> dict[str, str]:
    q = pd.Period(quarter, freq="Q")
    av = ctl.availability(scenario, pd.PeriodIndex([q], name="period"))
    return av.xs(q, level="period")["status"].to_dict()


# --------------------------------------------------------------------------------------------
# TPP and density from the catalog
# --------------------------------------------------------------------------------------------


def test_tpp_of_h100_a800_h20(catalog):
    t = tpp(catalog)
    # H100: max(989.4 x 16 = 15,830.4, 1,979 x 8 = 15,832) = 15,832 (Epoch/BIS figure 15,832)
    assert t["H100"] == pytest.approx(15_832, rel=0.005)
    # A800: max(311.8 x 16 = 4,988.8, 623.7 x 8 = 4,989.6) = 4,989.6 (Epoch: 4,989)
    assert t["A800"] == pytest.approx(4_990, abs=2)
    assert t["A800"] == pytest.approx(623.7 * 8)
    # H20: max(148 x 16 = 2,368, 296 x 8 = 2,368) = 2,368
    assert t["H20"] == pytest.approx(2_368)


def test_density_and_unknown_die(catalog):
    pdn = performance_density(catalog)
    # H20: 2,368 / 814 = 2.909; L20: 1,912 / 609 = 3.1396; A100: 4,992 / 826 = 6.0436
    assert pdn["H20"] == pytest.approx(2.909, abs=1e-3)
    assert pdn["L20"] == pytest.approx(3.1396, abs=1e-4)
    assert pdn["A100"] == pytest.approx(6.0436, abs=1e-4)
    # H200: die area not published -> PD unknown (NaN, never 0)
    assert math.isnan(pdn["H200"])


# --------------------------------------------------------------------------------------------
# Quarter convention
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("date", "quarter"), [
    # 2022Q4 has 92 days; 7 Oct -> 31 Dec is 86 days in force, 2 x 86 >= 92
    (dt.date(2022, 10, 7), "2022Q4"),
    # 23 Oct -> 31 Dec: 70 days
    (dt.date(2023, 10, 23), "2023Q4"),
    # 17 Nov -> 31 Dec: 45 days, 2 x 45 = 90 < 92 -> next quarter
    (dt.date(2023, 11, 17), "2024Q1"),
    # 16 Nov -> 31 Dec: 46 days, 2 x 46 = 92: exactly half counts
    (dt.date(2023, 11, 16), "2023Q4"),
    # 2 Dec -> 31 Dec: 30 days
    (dt.date(2024, 12, 2), "2025Q1"),
    # 2025Q2 has 91 days; 9 Apr -> 30 Jun is 83
    (dt.date(2025, 4, 9), "2025Q2"),
    # 2025Q3 has 92 days; 11 Aug -> 30 Sep is 51
    (dt.date(2025, 8, 11), "2025Q3"),
    # 2026Q1 has 90 days; 13 Jan -> 31 Mar is 78
    (dt.date(2026, 1, 13), "2026Q1"),
])
def test_quarter_in_force(date, quarter):
    assert ctl.quarter_in_force(date) == pd.Period(quarter, freq="Q")


# --------------------------------------------------------------------------------------------
# Every catalog chip under each rule (dates ignored)
# --------------------------------------------------------------------------------------------

# Domestic (CN) chips are never covered by US status rules.
CN_ALLOWED = dict.fromkeys(DOMESTIC, "allowed")


def test_oct_2022_classification(history, catalog):
    # banned iff TPP >= 4800 AND chip-to-chip I/O >= 600 GB/s
    expected = {
        "V100": "allowed",      # TPP 125 x 16 = 2,000 < 4,800
        "A100": "banned",       # 4,992 >= 4,800 and 600 >= 600
        "A800": "allowed",      # 4,988.8 but I/O 400 < 600 (designed to pass)
        "H100": "banned",       # 15,832 and 900
        "H800": "allowed",      # 15,832 but I/O 400 < 600
        "H20": "allowed",       # 2,368 < 4,800
        "L20": "allowed",       # 1,912 < 4,800
        "L40S": "allowed",      # 733 x 8 = 5,864 but PCIe 64 < 600
        "RTX4090": "allowed",   # 660.6 x 8 = 5,284.8 but PCIe 64 < 600
        "RTX4090D": "allowed",  # published 4,707 < 4,800
        "H200": "banned",       # 15,832 and 900
        "B200": "banned",       # 2,250 x 16 = 36,000 and 1,800
        "B30A": "banned",       # 1,125 x 16 = 18,000 and 1,800 (assumed figures)
        **CN_ALLOWED,
    }
    assert ctl.classify(history.rules["oct-2022"], catalog).to_dict() == expected


def test_oct_2023_classification(history, catalog):
    # 3A090.a: TPP >= 4800 (all chips); or TPP >= 1600 and PD >= 5.92 (data-centre parts)
    # 3A090.b (notify, data-centre parts): 2400 <= TPP < 4800 and 1.6 <= PD < 5.92,
    #                                      or TPP >= 1600 and 3.2 <= PD < 5.92
    expected = {
        "V100": "allowed",      # TPP 2,000: < 2,400; PD 2,000/815 = 2.45 < 3.2
        "A100": "banned",       # 4,992 >= 4,800
        "A800": "banned",       # 4,988.8 >= 4,800
        "H100": "banned",       # 15,832
        "H800": "banned",       # 15,832
        "H20": "allowed",       # 2,368 < 2,400 and PD 2,368/814 = 2.91 < 3.2
        "L20": "allowed",       # 1,912 < 2,400 and PD 1,912/609 = 3.14 < 3.2
        "L40S": "banned",       # 5,864 >= 4,800
        "RTX4090": "banned",    # 5,284.8 >= 4,800 (TPP test applies to consumer parts too)
        "RTX4090D": "allowed",  # 4,707 < 4,800; consumer part, so PD 4,707/608 = 7.74 is not
                                # tested (it would be 3A090.a for a data-centre part)
        "H200": "banned",       # 15,832 (die unknown, but TPP alone decides)
        "B200": "banned",       # 36,000
        "B30A": "banned",       # 18,000 >= 4,800
        **CN_ALLOWED,           # e.g. Ascend 910C TPP 12,800: not a US-origin chip
    }
    assert ctl.classify(history.rules["oct-2023"], catalog).to_dict() == expected


def test_h20_apr_2025_classification(history, catalog):
    # named H20, or memory bandwidth >= 4.0 TB/s, or chip-to-chip >= 900 GB/s
    expected = {
        "V100": "allowed",      # 0.9 TB/s, 300 GB/s
        "A100": "allowed",      # 2.04 TB/s, 600 GB/s
        "A800": "allowed",      # 2.04, 400
        "H100": "banned",       # 900 GB/s >= 900
        "H800": "allowed",      # 3.36, 400
        "H20": "banned",        # named (also 4.0 TB/s and 900 GB/s)
        "L20": "allowed",       # 0.86, 64
        "L40S": "allowed",      # 0.86, 64
        "RTX4090": "allowed",   # 1.0, 64
        "RTX4090D": "allowed",  # 1.0, 64
        "H200": "banned",       # 4.8 TB/s
        "B200": "banned",       # 8.0 TB/s, 1,800 GB/s
        "B30A": "banned",       # 4.0 TB/s (assumed), 1,800 GB/s
        **CN_ALLOWED,           # Ascend 910C 3.2 TB/s, 784 GB/s, and CN anyway
    }
    assert ctl.classify(history.rules["h20-apr-2025"], catalog).to_dict() == expected


@pytest.mark.parametrize(("rule", "chip"), [("h20-licence-aug-2025", "H20"),
                                            ("h200-jan-2026", "H200")])
def test_licence_rules_name_one_chip(history, catalog, rule, chip):
    got = ctl.classify(history.rules[rule], catalog).to_dict()
    assert got == {c: ("licence" if c == chip else "allowed") for c in catalog.index}


def test_supply_rule_tests_nothing(history, catalog):
    got = ctl.classify(history.rules["hbm-dec-2024"], catalog)
    assert set(got) == {"allowed"}


def test_notification_bands_with_made_up_parts(history, catalog):
    cat = catalog.copy()
    # L20 on a 590 mm2 die: PD = 1,912 / 590 = 3.241 >= 3.2 and < 5.92, TPP 1,912 >= 1,600
    # -> 3A090.b second band: notify
    cat.loc["L20", "die_mm2"] = 590.0
    # V100 at 160 TFLOPS: TPP 160 x 16 = 2,560 in [2,400, 4,800); PD 2,560/815 = 3.14 in
    # [1.6, 5.92) -> 3A090.b first band: notify
    cat.loc["V100", "fp16_tflops"] = 160.0
    # H20 as a consumer card on a 300 mm2 die: PD 2,368/300 = 7.9, but the density tests apply
    # only to data-centre parts and TPP 2,368 < 4,800 -> allowed
    cat.loc["H20", "die_mm2"] = 300.0
    cat.loc["H20", "datacenter"] = False
    got = ctl.classify(history.rules["oct-2023"], cat)
    assert got["L20"] == "notify"
    assert got["V100"] == "notify"
    assert got["H20"] == "allowed"


def test_unknown_die_area_cannot_clear_density_test(history, catalog):
    cat = catalog.copy()
    # L20 with no die area: TPP 1,912 >= 1,600 and PD unknown -> the 3A090.a density band
    # (PD >= 5.92) cannot be cleared -> banned, and the note says why
    cat.loc["L20", "die_mm2"] = np.nan
    sc = dataclasses.replace(history, catalog=cat)
    av = ctl.availability(sc, quarter_range("2024Q1", "2024Q1")).xs(
        pd.Period("2024Q1", freq="Q"), level="period")
    assert av.at["L20", "status"] == "banned"
    assert "die area unknown: density test cannot clear it" in av.at["L20", "note"]
    # H200's die is unknown too, but TPP >= 4,800 alone catches it: no such note
    assert "die area unknown" not in av.at["H200", "note"]


# --------------------------------------------------------------------------------------------
# Availability: the contract and the history timeline
# --------------------------------------------------------------------------------------------


def test_availability_contract(history):
    periods = quarter_range("2022Q3", "2027Q4")
    av = ctl.availability(history, periods)
    assert list(av.index.names) == ["period", "chip"]
    assert list(av.columns) == ["status", "rule", "cap_units", "price_factor", "note"]
    assert len(av) == len(periods) * len(history.catalog)
    assert list(av.index.get_level_values("chip")[: len(history.catalog)]) == \
        list(history.catalog.index)
    assert set(av["status"]) <= set(ctl.STATUSES)
    assert (av["price_factor"] >= 1.0).all()
    assert av["cap_units"].dtype == float and av["price_factor"].dtype == float
    assert (av.loc[av["status"] == "banned", "cap_units"] == 0).all()
    assert (av.loc[av["status"] != "banned", "rule"].isin(["", *history.rules])).all()
    # before any rule (2022Q3) nothing is banned
    assert set(av.xs(pd.Period("2022Q3", freq="Q"), level="period")["status"]) == {"allowed"}


def test_history_2023q1(history):
    s = status(history, "2023Q1")
    assert (s["A100"], s["H100"], s["A800"], s["H800"]) == ("banned", "banned", "allowed",
                                                            "allowed")


def test_history_2023q4_consumer_parts_follow_later_date(history):
    # the Oct 2023 update applies to data-centre parts from 23 Oct (2023Q4) but to others from
    # 17 Nov (2024Q1): RTX 4090 is still on sale in 2023Q4, the L40S and A800 are not
    s = status(history, "2023Q4")
    assert s["RTX4090"] == "allowed"
    assert s["L40S"] == "banned" and s["A800"] == "banned"
    assert status(history, "2024Q1")["RTX4090"] == "banned"


def test_history_2024q1(history):
    s = status(history, "2024Q1")
    for chip in ["A100", "A800", "H100", "H800", "L40S", "RTX4090"]:
        assert s[chip] == "banned", chip
    for chip in ["H20", "L20", "RTX4090D"]:
        assert s[chip] != "banned", chip


def test_history_h20_ban_then_licence(history):
    av = ctl.availability(history, quarter_range("2025Q1", "2026Q1"))
    h20 = av.xs("H20", level="chip")
    q = lambda s: pd.Period(s, freq="Q")  # noqa: E731
    assert h20.at[q("2025Q1"), "status"] == "allowed"
    assert h20.at[q("2025Q2"), "status"] == "banned"
    assert h20.at[q("2025Q2"), "rule"] == "h20-apr-2025"
    assert h20.at[q("2025Q4"), "status"] == "licence"
    # 15% of revenue passed through: price / (1 - 0.15) = 1.17647
    assert h20.at[q("2025Q4"), "price_factor"] == pytest.approx(1 / 0.85)
    assert h20.at[q("2025Q4"), "price_factor"] >= 1.15
    h200 = av.xs("H200", level="chip")
    assert h200.at[q("2025Q4"), "status"] == "banned"
    # Jan 2026: licence with a 500-unit cap and a 25% duty: 1 + 0.25 = 1.25 (were it a 25%
    # revenue share, 1 / 0.75 = 1.333)
    assert h200.at[q("2026Q1"), "status"] == "licence"
    assert h200.at[q("2026Q1"), "cap_units"] == 500
    assert h200.at[q("2026Q1"), "price_factor"] == pytest.approx(1.25)


def test_history_domestic_supply(history):
    av = ctl.availability(history, quarter_range("2024Q4", "2025Q1"))
    for q in ["2024Q4", "2025Q1"]:
        row = av.loc[(pd.Period(q, freq="Q"), "Ascend910B")]
        # base supply 2,000 a quarter x HBM factor 1.0 in history
        assert row["status"] == "allowed" and row["cap_units"] == 2000
    assert av.loc[(pd.Period("2025Q1", freq="Q"), "Ascend910B"), "rule"] == "hbm-dec-2024"
    # US chips have no base cap: NaN (no cap), not zero
    assert math.isnan(av.loc[(pd.Period("2025Q1", freq="Q"), "L20"), "cap_units"])


# --------------------------------------------------------------------------------------------
# The shipped counterfactual scenarios
# --------------------------------------------------------------------------------------------


def test_no_2023_update_keeps_a800_h800():
    sc = load_scenario("no-2023-update")
    av = ctl.availability(sc, quarter_range("2023Q1", "2025Q4"))
    for chip in ["A800", "H800"]:
        assert set(av.xs(chip, level="chip")["status"]) == {"allowed"}
    assert set(av.xs("A100", level="chip")["status"]) == {"banned"}


def test_embargo_2024_stops_every_us_chip():
    sc = load_scenario("embargo-2024")
    av = ctl.availability(sc, quarter_range("2024Q1", "2027Q4"))
    us = [c for c in sc.catalog.index if sc.catalog.at[c, "country"] == "US"]
    assert set(av.loc[(slice(None), us), "status"]) == {"banned"}
    assert set(av.loc[(slice(None), DOMESTIC), "status"]) == {"allowed"}
    # 2023Q4 is before the embargo: H20 still allowed then
    assert status(sc, "2023Q4")["H20"] == "allowed"


def test_h20_ban_stays():
    sc = load_scenario("h20-ban-stays")
    av = ctl.availability(sc, quarter_range("2025Q2", "2027Q4"))
    assert set(av.xs("H20", level="chip")["status"]) == {"banned"}
    assert set(av.xs("H200", level="chip")["status"]) == {"banned"}


def test_h200_opens_2026():
    sc = load_scenario("h200-opens-2026")
    av = ctl.availability(sc, quarter_range("2025Q4", "2026Q1"))
    row = av.loc[(pd.Period("2026Q1", freq="Q"), "H200")]
    # the volume rule ties on date with h200-jan-2026 and is later in the list: it decides
    assert row["rule"] == "h200-volume-2026"
    assert row["status"] == "licence"
    assert row["cap_units"] == 4000
    assert row["price_factor"] == pytest.approx(1 / (1 - 0.25))
    assert av.loc[(pd.Period("2025Q4", freq="Q"), "H200"), "status"] == "banned"


def test_domestic_squeeze_halves_supply_from_2025q1():
    sc = load_scenario("domestic-squeeze")
    av = ctl.availability(sc, quarter_range("2024Q4", "2025Q2"))
    cap = av["cap_units"].unstack("chip")
    # 2,000 x 1.0 before; 2,000 x 1.0 (hbm-dec-2024) x 0.5 (hbm-squeeze) = 1,000 from 2025Q1
    assert cap["Ascend910B"].tolist() == [2000, 1000, 1000]
    # Ascend 910C: 1,000 -> 500
    assert cap["Ascend910C"].tolist() == [1000, 500, 500]
    # MLU370-X8 uses LPDDR5, not HBM: not named by either supply rule
    assert cap["MLU370-X8"].tolist() == [500, 500, 500]


# --------------------------------------------------------------------------------------------
# Precedence: superseded_by, until, ties
# --------------------------------------------------------------------------------------------


def _rule(**kw):
    base = {"title": "test rule", "kind": "named", "source": "test", "announced": "2024-01-01",
            "effective": "2024-01-01"}
    return {**base, **kw}


def test_until_ends_a_rule_and_earlier_rule_resumes():
    # a temporary licence for A800 in 2024Q2 only: ends 1 Jul 2024 (applies from 2024Q3)
    lic = _rule(id="a800-window", kind="licence", effective="2024-04-01", until="2024-07-01",
                band=[{"status": "licence", "chips": ["A800"]}])
    sc = load_scenario("history", set_values={"controls.rules+": ["a800-window"],
                                              "controls.extra_rules": [lic]})
    s = ctl.availability(sc, quarter_range("2024Q1", "2024Q3")).xs("A800", level="chip")
    assert s["status"].tolist() == ["banned", "licence", "banned"]
    assert s["rule"].tolist() == ["oct-2023", "a800-window", "oct-2023"]


def test_superseded_rule_stops_applying():
    # without the 2023 update in force, oct-2022 decides A100; with it, oct-2023 decides, and a
    # rule superseding oct-2023 that lets the A100 through makes it allowed
    free = _rule(id="a100-free", kind="named", effective="2025-01-01", announced="2025-01-01",
                 band=[{"status": "allowed", "chips": ["A100"]}])
    sc = load_scenario("no-2023-update", set_values={
        "controls.rules": ["oct-2022", "a100-free"], "controls.extra_rules": [free]})
    s = ctl.availability(sc, quarter_range("2024Q4", "2025Q1")).xs("A100", level="chip")
    # a later rule that catches the chip decides, even to allow it
    assert s["status"].tolist() == ["banned", "allowed"]
    assert s["rule"].tolist() == ["oct-2022", "a100-free"]


def test_review_policy_rule_covers_only_controlled_chips():
    # A made-up review-policy rule from 2024-01-01 (2024Q1): case-by-case for every US chip
    # with TPP < 10,000, a 10% duty and a 100-unit cap. In 2024Q1 the history rules ban the
    # A100 (oct-2023, TPP 4,992 >= 4,800) and catch neither the L20 (TPP 1,912) nor the
    # RTX 4090D (TPP 4,707, not a data-centre part, < 4,800); the H100 (TPP 15,832) fails the
    # new test. So only the A100 moves, to licence at x(1 + 0.10), cap 100; the L20 and
    # RTX 4090D stay allowed, uncapped; the H100 stays banned by oct-2023.
    review = _rule(id="review-2024", kind="licence", applies_to="controlled", duty_rate=0.1,
                   cap_units_per_quarter=100,
                   band=[{"status": "licence", "tpp_max": 10000}])
    sc = load_scenario("history", set_values={"controls.rules+": ["review-2024"],
                                              "controls.extra_rules": [review]})
    q = pd.Period("2024Q1", freq="Q")
    av = ctl.availability(sc, pd.PeriodIndex([q], name="period")).xs(q, level="period")
    assert tuple(av.loc["A100", ["status", "rule", "cap_units"]]) == (
        "licence", "review-2024", 100.0)
    assert av.loc["A100", "price_factor"] == pytest.approx(1.1)
    for chip in ["L20", "RTX4090D"]:
        assert (av.loc[chip, "status"], av.loc[chip, "rule"]) == ("allowed", ""), chip
        assert math.isnan(av.loc[chip, "cap_units"]) and av.loc[chip, "price_factor"] == 1.0
    assert (av.loc["H100", "status"], av.loc["H100", "rule"]) == ("banned", "oct-2023")
    # the same rule with applies_to = "all" imposes itself on the free chips too
    sc_all = load_scenario("history", set_values={
        "controls.rules+": ["review-2024"],
        "controls.extra_rules": [{**review, "applies_to": "all"}]})
    av_all = ctl.availability(sc_all, pd.PeriodIndex([q], name="period")).xs(q, level="period")
    assert av_all.loc["L20", "status"] == "licence"


def test_duty_and_revenue_share_are_separate_terms():
    # a 25% duty is x1.25; a 25% revenue share passed through is 1 / 0.75 = x1.333; both:
    # 1.25 / 0.85 = 1.470588 for a 15% share and a 25% duty
    assert ctl.duty_price_factor(0.25) == pytest.approx(1.25)
    assert ctl.revenue_share_price_factor(0.25) == pytest.approx(4 / 3)
    assert ctl.licence_price_factor(0.15, 0.25) == pytest.approx(1.470588, rel=1e-6)
    assert ctl.licence_price_factor(0.15) == pytest.approx(1 / 0.85)


def test_superseded_by_is_per_chip_class(history):
    # In 2023Q4 oct-2023 is in force for data-centre parts only, so oct-2022 still applies to the
    # RTX 4090 (not caught: PCIe) and no longer to the A100 (oct-2023 decides)
    av = ctl.availability(history, quarter_range("2023Q4", "2023Q4"))
    assert av["rule"].xs("A100", level="chip").iloc[0] == "oct-2023"
    assert av["rule"].xs("RTX4090", level="chip").iloc[0] == ""


# --------------------------------------------------------------------------------------------
# Validation at load time
# --------------------------------------------------------------------------------------------


def test_unknown_rule_id_is_an_error():
    with pytest.raises(UnknownNameError, match="unknown rule 'oct-2O23'"):
        load_scenario("history", set_values={"controls.rules+": ["oct-2O23"]})


def test_bad_library_is_an_error(tmp_path):
    bad = tmp_path / "export_controls.toml"
    bad.write_text('[[rule]]\nid = "x"\ntitle = "bad"\nkind = "spec"\nannounced = 2023-01-01\n'
                   'effective = 2022-01-01\nsource = "test"\n[[rule.band]]\nstatus = "banned"\n'
                   'tpp_min = 1\n')
    with pytest.raises(InputError, match="before announced"):
        read_rule_library(bad)
    assert set(read_rule_library()) >= {"oct-2022", "oct-2023", "hbm-dec-2024", "h20-apr-2025",
                                        "h20-licence-aug-2025", "h200-jan-2026"}


def test_rule_sources_present(history):
    for r in history.rules.values():
        assert len(r.source) > 20, r.id
        assert not r.hypothetical, r.id


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def test_cli_json_at(run_json):
    d = run_json("controls", "--scenario", "history", "--at", "2023Q1")
    assert d["scenario"] == "history" and d["at"] == "2023Q1"
    rows = {r["chip"]: r for r in d["chips"]}
    assert {k for k in rows["A100"]} >= {"chip", "tpp", "performance_density", "status", "rule",
                                         "cap_units", "price_factor", "note"}
    assert rows["A100"]["status"] == "banned" and rows["H100"]["status"] == "banned"
    assert rows["A800"]["status"] == "allowed" and rows["H800"]["status"] == "allowed"
    assert rows["A800"]["cap_units"] is None


def test_cli_default_quarter_and_licence(run_json):
    d = run_json(*NOTE_VINTAGE, "controls", "--scenario", "history")
    assert d["at"] == "2023Q3"  # base period 2023Q2 + 1
    d = run_json(*NOTE_VINTAGE, "controls", "--scenario", "history", "--at", "2025Q4")
    h20 = next(r for r in d["chips"] if r["chip"] == "H20")
    assert h20["status"] == "licence" and h20["price_factor"] >= 1.15


def test_cli_timeline(run_json, capsys):
    d = run_json("controls", "--scenario", "embargo-2024", "--timeline")
    rows = {r["chip"]: r for r in d["timeline"]}
    assert rows["H20"]["2023Q4"] == "allowed"
    assert rows["H20"]["2024Q1"] == "banned"
    assert rows["Ascend910B"]["2027Q4"] == "allowed"
    assert d["start"] == "2023Q3" and d["end"] == "2027Q4"
    assert main(["controls", "--timeline", "--start", "2022Q4", "--end", "2023Q1",
                 "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "chip,2022Q4,2023Q1"
    assert "A100,banned,banned" in lines and "A800,allowed,allowed" in lines


BAD_RULE = """
[[set.controls.extra_rules]]
id = "x-rule"
title = "a test rule"
kind = "named"
announced = {announced}
effective = 2025-01-01
source = "test"

[[set.controls.extra_rules.band]]
status = "banned"
{test}
"""


@pytest.mark.parametrize(("body", "expect"), [
    ('[set]\n"controls.base_supply_units_per_quarter.Ascend910X" = 5\n', "unknown chip"),
    ('[set]\n"controls.rules+" = ["oct-2O23"]\n', "unknown rule 'oct-2O23'"),
    ('[set]\n"controls.rules+" = ["x-rule"]\n'
     + BAD_RULE.format(announced='"2025-13-01"', test='chips = ["H20"]'), "valid date"),
    ('[set]\n"controls.rules+" = ["x-rule"]\n'
     + BAD_RULE.format(announced="2025-01-01", test="tpp_min = -5"), "greater than or equal"),
    ('[set]\n"controls.rules+" = ["x-rule"]\n'
     + BAD_RULE.format(announced="2025-01-01", test='chips = ["H2O"]'), "unknown chip 'H2O'"),
])
def test_cli_bad_scenario_files(tmp_path, capsys, body, expect):
    f = tmp_path / "bad.toml"
    f.write_text('description = "bad"\nextends = "history"\n' + body)
    code = main(["controls", "--scenario", str(f)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("capacity: ") and expect in err
    assert "Traceback" not in err


def test_cli_bad_quarter_and_options(capsys):
    assert main(["controls", "--at", "2023Q9"]) == 2
    assert "--at" in capsys.readouterr().err
    assert main(["controls", "--at", "2023Q1", "--timeline"]) == 2
    assert "not both" in capsys.readouterr().err


def test_purchasable_table_uses_controls(history):
    from capacity.inputs import purchasable_table

    tab = purchasable_table(history, quarter_range("2023Q3", "2023Q4"))
    assert bool(tab.at[pd.Period("2023Q3", freq="Q"), "A800"]) is True
    assert bool(tab.at[pd.Period("2023Q4", freq="Q"), "A800"]) is False


def test_scenario_changes_with_rule_dates_are_json_safe():
    # extra_rules carry TOML dates; the change log travels with every result as JSON
    sc = load_scenario("embargo-2024")
    text = json.dumps([c.as_record() for c in sc.changes])
    assert '"effective": "2024-01-01"' in text
