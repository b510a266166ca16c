"""A GPU cloud's own economics (issue #27): the power limit from its dated active and
contracted MW, the backlog table and the interest-expense line.

The expected numbers are worked out by hand from data/subjects/coreweave/disclosures.csv and
the vintage files (the knots and the rate in the comments), not read back from the code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import strings

from capacity.cli import main
from capacity.finance.backlog import BACKLOG_COLUMNS
from capacity.finance.interest import debt_and_rate, interest_array
from capacity.scenarios.power import power_ramp_mw

CW = Path(__file__).resolve().parents[1] / "data" / "subjects" / "coreweave"
FORBIDDEN = ("RMB", "HK$", "HKD", "SenseTime", "SenseCore")


def run_json(argv: list[str]) -> dict:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def known_by(day: str) -> pd.DataFrame:
    """CoreWeave's disclosures published by ``day``, read here independently of the code."""
    d = pd.read_csv(CW / "disclosures.csv", dtype={"published": str})
    d = d[[dt.date.fromisoformat(p) <= dt.date.fromisoformat(day) for p in d["published"]]]
    d = d.assign(period=pd.PeriodIndex(d["period_end"], freq="Q"))
    return d.drop(columns="period_end").reset_index(drop=True)


def test_power_ramp_first_vintage_by_hand():
    # 14 May 2025: active 420 MW at 2025Q1, contracted 1,600 MW, all by 2027Q1 (baseline):
    # 8 quarters of (1600 - 420) / 8 = 147.5 MW each
    steps, sources = power_ramp_mw(known_by("2025-05-14"), "2027Q1")
    quarters = [str(p) for p in pd.period_range("2025Q1", "2027Q1", freq="Q")]
    assert list(steps) == quarters
    assert steps == pytest.approx({q: 420 + 147.5 * k for k, q in enumerate(quarters)})
    assert "published 2025-05-14" in sources["planner.datacenter_mw.2027Q1"]
    assert "linear between" in sources["planner.datacenter_mw.2026Q1"]


def test_power_ramp_passes_through_guidance_by_hand():
    # 26 Feb 2026: active 850 MW at 2025Q4; guidance 1,700 MW at 2026Q4 (published that day);
    # contracted 3,100 MW by 2027Q4 (the vintage's contracted_by)
    steps, _ = power_ramp_mw(known_by("2026-02-26"), "2027Q4")
    assert steps["2025Q4"] == pytest.approx(850.0)
    assert steps["2026Q1"] == pytest.approx(850 + 850 / 4)       # 1,062.5
    assert steps["2026Q4"] == pytest.approx(1700.0)
    assert steps["2027Q1"] == pytest.approx(1700 + 1400 / 4)     # 2,050
    assert steps["2027Q4"] == pytest.approx(3100.0)
    # a later contracted figure (none after 2025Q4's 3,100) cannot leak in from a later date
    later, _ = power_ramp_mw(known_by("2025-08-12"), "2027Q1")
    assert later["2027Q1"] == pytest.approx(2200.0)              # 2.2 GW of 12 Aug 2025


@pytest.fixture(scope="module")
def cw_plan() -> dict:
    return run_json(["--subject", "coreweave", "plan", "--format", "json"])


@pytest.fixture(scope="module")
def cw_value() -> dict:
    return run_json(["--subject", "coreweave", "value", "--format", "json"])


def test_plan_power_limit_is_the_dated_ramp(cw_plan):
    # default vintage 7 May 2026: active 1,000 MW at 2026Q1, guidance 1,700 MW at 2026Q4,
    # contracted 3,100 MW by 2027Q4 (vintage 2026-02-26's contracted_by), held after
    q = {r["period"]: r for r in cw_plan["quarters"]}
    assert q["2026Q2"]["power_limit_mw"] == pytest.approx(1000 + 700 / 3, abs=1e-3)
    assert q["2026Q4"]["power_limit_mw"] == pytest.approx(1700.0)
    assert q["2027Q2"]["power_limit_mw"] == pytest.approx(1700 + 1400 / 2)
    assert q["2029Q4"]["power_limit_mw"] == pytest.approx(3100.0)
    assert "contracted_power_mw 3100 MW" in q["2029Q4"]["power_limit_source"]
    assert all(r["power_mw"] <= r["power_limit_mw"] + 1e-6 for r in cw_plan["quarters"])


def test_interest_line_is_debt_times_rate(cw_value):
    # rate: Q1-26 interest 541 (derived row, 7 May 2026) on debt 21,400 at 31 Dec 2025 (the
    # 2026Q1 balance not disclosed) -> 4 x 541 / 21,400 a year; all capex debt-financed
    # (vintage 2026-03-31, share 1)
    rate = 4 * 541 / 21400
    rows = [r for r in cw_value["pnl_by_quarter"] if not r["actual"]]
    capex_before = 0.0
    for r in rows:
        expected = rate / 4 * (21400 + capex_before)
        if r["period"] == "2027Q2":
            assert r["interest_expense_m"] == pytest.approx(expected, rel=1e-9)
            assert r["net_loss_m"] == pytest.approx(
                r["non_operating_loss_m"] + r["interest_expense_m"]
                - r["operating_profit_m"], rel=1e-9)
        capex_before += r["capex_paid_m"]
    inputs = {r["name"]: r for r in cw_value["inputs"]}
    assert inputs["interest_rate"]["value"] == pytest.approx(rate)
    assert inputs["debt_principal"]["source_date"] == "2025-12-31"
    years = {r["year"]: r for r in cw_value["pnl"]}
    q27 = [r["interest_expense_m"] for r in rows if r["period"].startswith("2027")]
    assert years[2027]["interest_expense_m"] == pytest.approx(sum(q27))


def test_interest_functions_by_hand():
    d = known_by("2025-05-14")  # Q1-25 interest 257.4 on debt 8,800 at 31 Mar 2025
    debt, rate, _ = debt_and_rate(d, pd.Period("2025Q1", freq="Q"))
    assert (debt, rate) == (8800.0, pytest.approx(4 * 257.4 / 8800))
    assert interest_array(100.0, 0.08, 0.5, [10.0, 20.0, 0.0]).tolist() == pytest.approx(
        [2.0, 0.02 * 105.0, 0.02 * 115.0])
    assert interest_array(None, None, 1.0, [10.0, 20.0]).tolist() == [0.0, 0.0]


def test_backlog_table(cw_value):
    rows = {r["period"]: r for r in cw_value["backlog"]}
    assert rows["2025Q4"]["backlog_m"] == 66800 and rows["2025Q4"]["rpo_m"] == 60700
    assert rows["2026Q1"]["backlog_m"] == 99400 and rows["2026Q1"]["rpo_m"] is None
    revenue = {r["period"]: r["revenue_m"] for r in cw_value["pnl_by_quarter"]}
    nxt = ["2026Q2", "2026Q3", "2026Q4", "2027Q1"]
    assert rows["2026Q1"]["revenue_next_4q_m"] == pytest.approx(
        sum(revenue[q] for q in nxt))
    later = sum(v for q, v in revenue.items() if q > "2026Q1")
    assert rows["2026Q1"]["revenue_to_horizon_m"] == pytest.approx(later)
    assert rows["2026Q1"]["backlog_cover"] == pytest.approx(99400 / later)
    assert rows["2025Q1"]["revenue_to_horizon_m"] is None  # before the P&L's quarters


def test_no_other_subject_words_in_coreweave(cw_plan, cw_value):
    for doc in (cw_plan, cw_value):
        bad = [s for s in strings(doc) if any(w in s for w in FORBIDDEN)]
        assert not bad, bad[:3]


@pytest.mark.parametrize("subject", [[], ["--subject", "nebius"]])
def test_backlog_columns_and_interest_for_every_subject(subject, cw_value):
    doc = run_json([*subject, "value", "--format", "json"])
    assert doc["backlog"] == []  # neither discloses a backlog
    assert list(cw_value["backlog"][0]) == list(BACKLOG_COLUMNS)
    assert all("interest_expense_m" in r for r in doc["pnl_by_quarter"])
    if not subject:  # the shipped default has no debt rows: the line is 0, the reason stated
        assert all(r["interest_expense_m"] == 0 for r in doc["pnl_by_quarter"])
        names = [r["name"] for r in doc["inputs"]]
        assert "interest_rate" not in names and "debt_principal" not in names
        line = next(r for r in doc["inputs"] if r["name"] == "interest_expense")
        assert line["value"] == 0 and "finance costs stay within" in line["source"]


def test_power_ramp_errors_and_explicit_step():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["plan", "--set", "planner.power_ramp.contracted_by=2027Q1"])
    assert code == 2 and "needs active_power_mw rows" in err.getvalue()
    assert "Traceback" not in err.getvalue() and err.getvalue().count("\n") == 1
    doc = run_json(["--subject", "coreweave", "plan", "--format", "json",
                    "--set", "planner.datacenter_mw.2027Q1=2000"])
    q = {r["period"]: r for r in doc["quarters"]}
    assert q["2027Q1"]["power_limit_mw"] == 2000.0  # the scenario's own step wins
    assert "wins over planner.power_ramp" in q["2027Q1"]["power_limit_source"]
    assert q["2027Q2"]["power_limit_mw"] == pytest.approx(2400.0)  # the ramp resumes
