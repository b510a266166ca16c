"""Blindness everywhere (issue 26): every dated input of every vintage, the chip catalog and
the export rules included, is published on or before the vintage date."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from capacity.errors import InputError
from capacity.scenarios import load_scenario, read_catalog, vintage_dates
from capacity.scenarios.vintages import (
    check_blind,
    chips_used,
    dated_inputs,
    publication_date,
    source_date,
)

BLIND = "2023-08-31"


@pytest.mark.parametrize("when", vintage_dates())
def test_every_dated_input_of_every_vintage_is_public_by_its_date(when):
    sc = load_scenario("baseline", as_of=when)
    found = dated_inputs(sc)
    kinds = {where.split(" ")[0].split(".")[0] for where, _, _ in found}
    assert kinds == {"sources", "chips", "export_controls"}  # chips and rules are read too
    rules = [w for w, _, _ in found if w.startswith("export_controls.toml")]
    assert len(rules) == len(sc.inputs.controls.rules)
    assert len([w for w, _, _ in found if w.startswith("chips.csv")]) == len(chips_used(sc))
    for where, text, published in found:
        assert published is None or published <= when, (where, text)
    check_blind(sc)


def test_every_catalog_row_and_every_rule_carries_a_publication_date():
    cat = read_catalog()
    assert (cat["source_date"].astype(str).str.len() >= 4).all()
    sc = load_scenario("baseline")
    for rid, rule in sc.rules.items():
        assert publication_date(rule.source_date) is not None, rid


def test_publication_dates_read_a_bare_year_or_month_as_its_last_day():
    assert publication_date("2024") == dt.date(2024, 12, 31)
    assert publication_date("2024-02") == dt.date(2024, 2, 29)
    assert publication_date("2023-10-25") == dt.date(2023, 10, 25)
    assert publication_date("") is None
    with pytest.raises(ValueError):
        publication_date("Oct 2023")


def test_cited_bare_years_date_a_source_text():
    # the old 1H23 electricity source: a figure of 2024 with its citation
    old = "China average industrial power rate about RMB 0.63/kWh in 2024 (China Briefing)"
    assert source_date(old) == dt.date(2024, 12, 31)
    assert source_date("a market study (Omdia, 2022)") == dt.date(2022, 12, 31)
    # years that are the subject, not the date, are not read
    assert source_date("PUE below 1.3 by 2025 (NDRC/NEA guideline, Dec 2021)") == dt.date(
        2021, 12, 1)
    assert source_date("growth 150% in 2024, 60% in 2025") is None


@pytest.mark.parametrize("key, text, match", [
    # the electricity price the 1H23 vintage used to cite
    ("planner.electricity_per_kwh",
     "China average industrial power rate about RMB 0.63/kWh in 2024 (China Briefing); coastal "
     "Shanghai assumed at 0.7",
     r"sources\.planner\.electricity_per_kwh: cites a source dated 2024-12-31, after the "
     r"vintage"),
    # a planted post-dated source
    ("planner.pue", "Lingang peers average 1.25 (China Securities Journal, Oct 2024)",
     r"sources\.planner\.pue: cites a source dated 2024-10-01, after the vintage 2023-08-31"),
])
def test_a_post_dated_source_fails_the_blind_vintage(key, text, match):
    sc = load_scenario("baseline", as_of=BLIND)
    planted = replace(sc, sources={**sc.sources, key: text})
    with pytest.raises(InputError, match=match):
        check_blind(planted)


def test_a_post_dated_chip_row_or_rule_fails():
    sc = load_scenario("baseline", as_of=BLIND)
    cat = sc.catalog.copy()
    cat.loc["Ascend910B", "source_date"] = "2025-04-21"  # the TechPowerUp bandwidth report
    with pytest.raises(InputError, match=r"chips\.csv Ascend910B source_date: cites a source "
                                         r"dated 2025-04-21"):
        check_blind(replace(sc, catalog=cat))
    cat.loc["Ascend910B", "source_date"] = ""
    with pytest.raises(InputError, match="Ascend910B source_date: no publication date"):
        check_blind(replace(sc, catalog=cat))
    rid = sc.inputs.controls.rules[0]
    rules = {**sc.rules, rid: sc.rules[rid].model_copy(update={"source_date": "2024"})}
    with pytest.raises(InputError, match=rf"export_controls\.toml {rid} source_date: cites a "
                                         r"source dated 2024-12-31"):
        check_blind(replace(sc, rules=rules))


def test_inputs_of_a_chip_the_vintage_cannot_use_are_not_read():
    # the H200's assumed price is dated by its 13 Nov 2023 announcement; the 1H23 vintage does
    # not plan the H200, the FY24 vintage does and may read it
    sc = load_scenario("baseline", as_of=BLIND)
    assert "H200" not in chips_used(sc)
    assert source_date(sc.source_of("planner.price_usd.H200")) == dt.date(2023, 11, 13)
    assert not [w for w, _, _ in dated_inputs(sc) if "H200" in w]
    later = load_scenario("baseline", as_of="2025-03-31")
    assert "sources.planner.price_usd.H200" in [w for w, _, _ in dated_inputs(later)]


def test_the_error_pool_of_every_vintage_holds_only_actuals_published_by_it(monkeypatch):
    """The known past errors that widen a vintage's intervals come from earlier vintages'
    rows whose actual was published on or before the vintage date (docs/backtest.md)."""
    from capacity import backtesting as bt
    from capacity.commands import rolling_backtest_report

    seen, priors = {}, {}
    real = bt.rolling_rows

    def spy(vintage, base, actuals, stocks, flows, fan=None, known=None, prior=None):
        seen[vintage], priors[vintage] = known, prior
        return real(vintage, base, actuals, stocks, flows, fan, known, prior)

    monkeypatch.setattr(bt, "rolling_rows", spy)
    rows = rolling_backtest_report(samples=4).tables["rows"]
    dates = [d.isoformat() for d in vintage_dates()]
    assert list(seen) == dates
    assert seen[dates[0]].empty  # the first vintage knows no error of the model's own
    # its prior: the street's misses in the note of its own date, nothing published later
    assert len(priors[dates[0]]) == 2
    first = rows[(rows["vintage"] == dates[0]) & (rows["status"] == bt.STATUS_COMPARED)]
    assert set(first["error_pool"]) == {"street"}
    for when, prior in priors.items():
        assert (prior["published"] <= when).all(), when
    for when, known in seen.items():
        assert (known["published"] <= when).all(), when
        assert (known["vintage"] < when).all(), when
        # every error it could have known is there: earlier rows published by its date
        could = rows[(rows["vintage"] < when) & (rows["published"] <= when)
                     & (rows["status"] == bt.STATUS_COMPARED)]
        assert len(known) == len(could), when
    # the later vintages learn from their past: 11 errors known on 31 Mar 2024 (the 1H23
    # vintage's rows published with the FY23 results), all 94 once the 1H25 results are out
    assert [len(seen[d]) for d in dates] == [0, 11, 31, 54, 94, 94]
