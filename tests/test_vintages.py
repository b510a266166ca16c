"""Vintages (issue 15): inputs as they could be known on a date, the blindness check, the
calibration to every dated fleet disclosure, and the rolling-origin backtest.

Expected numbers are the disclosures themselves (data/disclosures.csv) or worked out by hand in
the comments.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from capacity import backtesting as bt
from capacity.errors import InputError
from capacity.scenarios import (
    check_blind,
    load_scenario,
    rules_known_by,
    source_date,
    vintage_dates,
)

BLIND = "2023-08-31"


# ------------------------------------------------------------------------------ source dates


@pytest.mark.parametrize("text, expected", [
    ("BOCI note (29 Aug 2023)", dt.date(2023, 8, 29)),
    ("Reuters, Feb 2024 = RMB 250k", dt.date(2024, 2, 1)),
    ("published 2025-09-29; earlier Jan 2022", dt.date(2025, 9, 29)),
    ("Sina Finance, 23 May 2024; Wu Xiaobo Channel, 25 May 2024", dt.date(2024, 5, 25)),
    ("Assumption: planning window through 2027Q4 (2020-22 capex)", None),
])
def test_source_date_reads_the_latest_written_date(text, expected):
    assert source_date(text) == expected


# ------------------------------------------------------------------------------ blindness


@pytest.mark.parametrize("when", vintage_dates())
def test_every_vintage_cites_only_sources_public_by_its_date(when):
    check_blind(load_scenario("baseline", as_of=when))  # raises on a post-dated source


def test_the_blind_vintage_sees_no_later_disclosure():
    sc = load_scenario("baseline", as_of=BLIND)
    assert (sc.disclosures["published"] <= BLIND).all()
    # the FY23 figures (published 26-28 Mar 2024) are not visible, the 1H23 ones are
    assert not ((sc.disclosures["metric"] == "gpus_units")
                & (sc.disclosures["period"] == pd.Period("2023Q4", freq="Q"))).any()
    assert len(sc.disclosures) == 28  # 22 + the 1H23 accounts: R&D, S&M, G&A, adjusted
    # net loss, the end-2022 borrowings and the 28 Aug 2023 close


# ------------------------------------------------------------------------------ rules by date


def test_a_vintage_keeps_only_the_rules_announced_by_its_date():
    # announced: entity-list-oct-2019 7 Oct 2019, oct-2022 7 Oct 2022, oct-2023 17 Oct 2023,
    # hbm-dec-2024 2 Dec 2024, h20-apr-2025 9 Apr 2025, h20-licence-aug-2025 11 Aug 2025,
    # h200-jan-2026 13 Jan 2026
    assert load_scenario("baseline", as_of=BLIND).inputs.controls.rules == [
        "entity-list-oct-2019", "oct-2022"]
    assert load_scenario("baseline", as_of="2024-03-31").inputs.controls.rules == [
        "entity-list-oct-2019", "oct-2022", "oct-2023"]
    assert load_scenario("baseline", as_of="2025-08-31").inputs.controls.rules[-1] == \
        "h20-licence-aug-2025"
    sc = load_scenario("baseline", as_of=BLIND)
    assert rules_known_by(["oct-2022", "oct-2023", "mine"], sc.rules,
                          dt.date(2023, 10, 16)) == ["oct-2022", "mine"]


def test_history_is_pinned_to_the_blind_vintage_with_the_enacted_rules():
    sc = load_scenario("history")
    assert sc.as_of == dt.date(2023, 8, 31)
    assert sc.inputs.controls.rules[-1] == "h200-jan-2026"
    with pytest.raises(InputError, match="pinned to the 2023-08-31 vintage"):
        load_scenario("history", as_of="2025-08-31")


def test_an_as_of_before_the_first_vintage_is_refused():
    with pytest.raises(InputError, match="before the first vintage 2023-08-31"):
        load_scenario("baseline", as_of="2023-01-01")
    with pytest.raises(InputError, match="not a date"):
        load_scenario("baseline", as_of="31/08/2023")


def test_vintage_sets_base_valuation_year_and_balance():
    sc = load_scenario("baseline", as_of="2025-03-31")
    # FY24 vintage: base 2H24, valuation year = base year + 1
    assert sc.inputs.horizon.base_period == "2024Q4"
    assert sc.inputs.finance.valuation_year == 2025
    # 12,752 cash reserve less 4,700 borrowings (16,602.7 - 11,900 at end-2022) = 8,052 ~ 8,050
    assert sc.inputs.finance.net_cash_m == pytest.approx(8050.0)
    assert sc.inputs.finance.shares_m == pytest.approx(37010.0)


# ------------------------------------------------------------------------------ calibration


def test_calibration_as_of_1h25_fits_every_dated_disclosure_within_1pct():
    from capacity.commands import calibration_report

    dates = calibration_report(load_scenario("baseline", as_of="2025-08-31")).tables["dates"]
    want = {  # (period, units, EFLOPS) from disclosures.csv
        "2023Q1": (27000, None), "2023Q2": (30000, 6.0), "2023Q4": (45000, 12.0),
        "2024Q2": (54000, 20.0), "2025Q1": (None, 23.0), "2025Q2": (None, 25.0),
    }
    by = dates.set_index(dates["period"].astype(str))
    for period, (units, eflops) in want.items():
        if units is not None:
            assert by.at[period, "fitted_units"] == pytest.approx(units, rel=0.01)
        if eflops is not None:
            assert by.at[period, "fitted_eflops"] == pytest.approx(eflops, rel=0.01)


# ------------------------------------------------------------------------------ rolling


def test_horizon_halves_rounds_up():
    q = pd.Period
    assert bt.horizon_halves(q("2023Q2", "Q"), q("2023Q4", "Q")) == 1
    assert bt.horizon_halves(q("2023Q2", "Q"), q("2024Q2", "Q")) == 2
    assert bt.horizon_halves(q("2024Q4", "Q"), q("2025Q1", "Q")) == 1


def test_later_disclosures_are_unseen_and_after_the_base():
    from capacity.scenarios import read_disclosures

    later = bt.later_disclosures(read_disclosures(), pd.Period("2024Q4", freq="Q"),
                                 "2025-03-31")
    # the 23 EFLOPS of end-Mar 2025 was published 26 Mar 2025: seen, so not scored
    assert set(later["period"]) == {"2025Q2", "1H25"}
    assert (later["published"] > "2025-03-31").all()
    hit = later[later["metric"] == "computing_power_eflops"]
    assert hit["actual"].tolist() == [25.0]


def test_rolling_summary_pools_vintages_by_metric_and_horizon():
    rows = pd.DataFrame({
        "vintage": ["a", "b", "a"], "metric": ["revenue_m"] * 3,
        "horizon_halves": [1, 1, 2], "error_pct": [10.0, -20.0, 5.0],
        "status": [bt.STATUS_COMPARED] * 3})
    s = bt.rolling_summary(rows).set_index("horizon_halves")
    assert s.at[1, "mape"] == pytest.approx(15.0)  # (10 + 20) / 2
    assert s.at[1, "bias_pct"] == pytest.approx(-5.0)  # (10 - 20) / 2
    assert s.at[1, "n_vintages"] == 2
    assert s.at[2, "mape"] == pytest.approx(5.0)


def test_a_vintage_does_not_plan_chips_launched_after_it():
    # chips.csv launch quarters after 2023Q3: H20, RTX4090D (2023Q4), H200, B200, Ascend910C
    # (2024Q4), B30A and the Ascend 950PR/950DT/960 (2026-27); RTX4090D is excluded in the
    # baseline already; the L20 launched in 2023Q3 but its row is dated Sep 2023 (source_date
    # 2023-09 = 30 Sep 2023), after the vintage
    sc = load_scenario("baseline", as_of=BLIND)
    assert sc.inputs.planner.exclude_chips[3:] == [
        "H20", "L20", "H200", "B200", "Ascend910C", "Ascend950PR", "Ascend950DT", "Ascend960",
        "B30A"]
    assert "H20" not in load_scenario("baseline", as_of="2024-03-31").inputs.planner.exclude_chips


# ------------------------------------------------------------------------------ command line


def test_as_of_is_a_global_option_shown_in_the_output():
    from cli_helpers import cli_json

    out = cli_json("--as-of", "2024-03-31", "calibrate", "--scenario", "baseline")
    assert out["as_of"] == "2024-03-31" and out["base_period"] == "2023Q4"
    assert cli_json("--as-of", BLIND, "value", "--scenario", "baseline")["as_of"] == BLIND


def test_bad_as_of_is_one_line_and_exit_2(capsys):
    from capacity.cli import main

    assert main(["--as-of", "2025-13-01", "calibrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capacity: --as-of: '2025-13-01' is not a date") and err.count("\n") == 1


@pytest.fixture(scope="module")
def rolling():
    from cli_helpers import cli_json

    return cli_json("backtest", "--rolling", "--samples", "10")


def test_rolling_backtest_scores_every_vintage_against_later_disclosures(rolling):
    rows = pd.DataFrame(rolling["rows"])
    for col in ("vintage", "period", "metric", "horizon_halves", "actual", "forecast",
                "error_pct"):
        assert col in rows
    assert set(rows["vintage"]) == {"2023-08-31", "2024-03-31", "2024-08-31", "2025-03-31"}
    assert (rows["published"] > rows["vintage"]).all()  # only what the vintage could not see
    # the blind vintage's 2H23 revenue is scored against FY23 less 1H23 = 1,972.7
    hit = rows[(rows["vintage"] == BLIND) & (rows["period"] == "2H23")
               & (rows["metric"] == "revenue_m")]
    assert hit["actual"].tolist() == [pytest.approx(1972.7)]
    e = hit.iloc[0]
    assert e["error_pct"] == pytest.approx(100 * (e["forecast"] - e["actual"]) / e["actual"])
    summary = pd.DataFrame(rolling["summary"])
    one = summary[(summary["metric"] == "revenue_m") & (summary["horizon_halves"] == 1)]
    mine = rows[(rows["metric"] == "revenue_m") & (rows["horizon_halves"] == 1)]
    assert one["mape"].iloc[0] == pytest.approx(mine["error_pct"].abs().mean())
    # the note's own forecast: (1.75 x 33,500 x 0.93 - 9,000) / 7.5 = 6,069.5 vs FY24 3,772
    ref = rolling["reference"][0]
    assert ref["forecast"] == pytest.approx(6069.5) and ref["actual"] == pytest.approx(3772.0)


def test_every_compared_rolling_row_carries_its_80_percent_interval(rolling):
    rows = pd.DataFrame(rolling["rows"])
    done = rows[rows["status"] == "compared"]
    assert done["p10"].notna().all() and done["p90"].notna().all()
    assert (done["p10"] <= done["p50"]).all() and (done["p50"] <= done["p90"]).all()
    assert (done["inside_80"] == ((done["p10"] <= done["actual"])
                                  & (done["actual"] <= done["p90"]))).all()
    summary = pd.DataFrame(rolling["summary"])
    for col in ("coverage_80", "coverage_80_low", "coverage_80_high", "interval_score_pct"):
        assert summary[col].notna().all()
    assert (summary["coverage_80_low"] <= summary["coverage_80"]).all()
    assert (summary["coverage_80"] <= summary["coverage_80_high"]).all()
    everything = pd.DataFrame(rolling["coverage"]).set_index("metric").loc["all"]
    assert everything["n_inside"] == int(done["inside_80"].sum())
    assert rolling["coverage_80"] == pytest.approx(done["inside_80"].mean())
    assert rolling["samples"] == 10


def test_rolling_refuses_as_of_and_actuals(capsys):
    from capacity.cli import main

    assert main(["--as-of", BLIND, "backtest", "--rolling"]) == 2
    assert main(["backtest"]) == 2
    assert "--actuals: give either --actuals FILE or --rolling" in capsys.readouterr().err


def test_as_of_may_follow_the_command():
    from cli_helpers import cli_json

    from capacity.cli_options import hoist_as_of

    assert hoist_as_of(["value", "--as-of", BLIND, "-f", "json"]) == \
        ["--as-of", BLIND, "value", "-f", "json"]
    assert hoist_as_of(["plan", "--as-of=2024-03-31"]) == ["--as-of=2024-03-31", "plan"]
    out = cli_json("calibrate", "--scenario", "baseline", "--as-of", "2024-08-31")
    assert out["as_of"] == "2024-08-31" and out["base_period"] == "2024Q2"
