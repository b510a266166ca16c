"""A generic subject (issue 15, item 6): a second company needs data alone.

A small synthetic company ("Acme Compute", made up for this test) lives in a folder built in
``tmp_path``: its own baseline.toml, disclosures.csv, chips.csv (three rows of the shipped
catalog), export_controls.toml (one entity rule naming its buyer) and scenarios/. ``plan``,
``value`` and ``backtest`` run on it end to end through the CLI with ``--subject DIR`` and with
``$CAPACITY_SUBJECT``; the expectations are worked out by hand below.
"""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest
from cli_helpers import cli_json

from capacity.cli import main
from capacity.scenarios import data_dir, shipped_data_dir

BASELINE = """\
# Acme Compute: a synthetic subject for tests (made-up figures, no real company).
[meta]
as_of = "2025-01-31"

[horizon]
base_period = "2024Q2"
end = "2025Q4"

[fleet]
initial = "calibrated"
default_installed = "2023Q2"

[calibration]
candidates = ["A100"]

[calibration.prior_share]
A100 = 1.0

[controls]
rules = ["acme-listed-2025"]

[controls.base_supply_units_per_quarter]
Ascend910B = 100

[demand.tokens]
per_month_tn = 0.1
target_tn = 1.0

# revenue triples in 2024, so token demand outgrows the 1,000 A100s (which serve at INT8) and
# the plan must buy
[demand.revenue.growth_by_year]
2024 = 2.0

[demand.leasing]
share_of_fleet = 0.0

[planner]
fx_usd = 7.0
exclude_chips = []

[planner.capex_budget_m]
2024 = 500
2025 = 500

[planner.datacenter_mw]
2024Q3 = 20

[finance]
ev_sales_multiple = 4.0
valuation_year = 2025
net_cash_m = 1000.0
shares_m = 2000.0
fx_listing = 0.9

[subject]
name = "Acme Compute (synthetic)"

[[subject.entities]]
name = "Acme Compute Ltd."
purchases = true
"""

RULES = """\
description = "Acme's rule library: one entity rule"

[[rule]]
id = "acme-listed-2025"
title = "Synthetic listing of Acme's buyer"
kind = "entity"
announced = 2025-01-01
effective = 2025-01-01
entities = ["ACME COMPUTE LTD"]
licence_policy = "presumption of denial"
hypothetical = true
source = "synthetic test rule"
"""

DISCLOSURES = """\
metric,period_end,span_quarters,value,unit,source,published,note
gpus_units,2024Q1,0,1000,units,synthetic,2024-08-31,
gpus_units,2024Q2,0,1000,units,synthetic,2024-08-31,
peak_eflops,2024Q1,0,0.312,EFLOPS,synthetic,2024-08-31,1000 A100 x 312 TFLOPS
peak_eflops,2024Q2,0,0.312,EFLOPS,synthetic,2024-08-31,1000 A100 x 312 TFLOPS
revenue_m,2024Q2,2,400,RMB m,synthetic,2024-08-31,
gross_margin,2024Q2,2,0.4,ratio,synthetic,2024-08-31,
genai_share,2024Q2,2,0.25,ratio,synthetic,2024-08-31,
genai_share_target,2025Q4,4,0.5,ratio,synthetic,2024-08-31,
target_price,2024Q2,0,1.0,HKD/share,synthetic,2024-08-31,
target_price_old,2024Q2,0,1.2,HKD/share,synthetic,2024-08-31,
"""

ACTUALS = """\
period,gpus_units,source
2024Q4,1250,synthetic
"""

SCENARIO = """\
description = "Acme history: the baseline as it is"
"""

SCENARIO_FREE = """\
description = "Acme without the listing"
extends = "history"

[set]
"controls.rules" = []
"""


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acme")
    (folder / "baseline.toml").write_text(BASELINE, encoding="utf-8")
    (folder / "export_controls.toml").write_text(RULES, encoding="utf-8")
    (folder / "disclosures.csv").write_text(DISCLOSURES, encoding="utf-8")
    shipped = pd.read_csv(shipped_data_dir() / "chips.csv", dtype=str, keep_default_na=False)
    shipped[shipped["chip"].isin(["A100", "H20", "Ascend910B"])].to_csv(
        folder / "chips.csv", index=False)
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "history.toml").write_text(SCENARIO, encoding="utf-8")
    (folder / "scenarios" / "unlisted.toml").write_text(SCENARIO_FREE, encoding="utf-8")
    (folder / "actuals.csv").write_text(ACTUALS, encoding="utf-8")
    return folder


def units_by_chip(plan: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for p in plan["purchases"]:
        out[p["chip"]] = out.get(p["chip"], 0.0) + p["units"]
    return out


def test_plan_on_the_synthetic_subject(subject):
    plan = cli_json("--subject", str(subject), "plan", "--scenario", "history")
    assert plan["scenario"] == "history" and plan["status"] == "optimal"
    first = plan["quarters"][0]
    # calibrated fleet: the only candidate is the A100, so 1,000 units = 0.312 EFLOPS
    # (1,000 x 312 TFLOPS / 1e6); nothing new arrives before 2025Q1 (2-quarter lead time)
    assert first["period"] == "2024Q3"
    assert first["gpus_units"] == pytest.approx(1000.0, rel=1e-6)
    assert first["peak_eflops"] == pytest.approx(0.312, rel=1e-6)
    # the catalog is the subject's own: three chips, no H100 anywhere
    chips = {row["chip"] for row in plan["fleet"]}
    assert chips <= {"A100", "H20", "Ascend910B"}
    # the buyer is listed from 2025-01-01 (2025Q1) and deliveries start in 2025Q1, so no US
    # chip is ever bought; domestic purchases respect the 100-a-quarter allocation
    bought = units_by_chip(plan)
    assert bought.get("A100", 0.0) == 0.0 and bought.get("H20", 0.0) == 0.0
    per_q = [p["units"] for p in plan["purchases"] if p["chip"] == "Ascend910B"]
    assert per_q and max(per_q) <= 100.0 + 1e-6


def test_the_subjects_own_scenario_and_rules_apply(subject):
    free = cli_json("--subject", str(subject), "plan", "--scenario", "unlisted")
    listed = cli_json("--subject", str(subject), "plan", "--scenario", "history")
    # without the listing US chips (allowed: Acme's library has no chip rule) are bought
    us = ("A100", "H20")
    assert sum(units_by_chip(free).get(c, 0.0) for c in us) > 0.0
    assert sum(units_by_chip(listed).get(c, 0.0) for c in us) == 0.0
    ctl = cli_json("--subject", str(subject), "controls", "--at", "2025Q1")
    rows = {r["chip"]: r for r in ctl["chips"]}
    assert rows["H20"]["status"] == "banned" and rows["H20"]["rule"] == "acme-listed-2025"
    assert rows["Ascend910B"]["status"] == "allowed"


def test_value_on_the_synthetic_subject(subject):
    v = cli_json("--subject", str(subject), "value", "--scenario", "history")
    assert v["valuation_year"] == 2025
    sales = v["valuation_sales_m"]
    # TP = (multiple x sales + net cash) / shares / RMB per HKD, with Acme's inputs; the net
    # cash at the valuation date (31 Jan 2025) is the 1,000 of the balance sheet (2024Q2) plus
    # the modelled free cash flow of 2024Q3 and 2024Q4 (the equity bridge)
    bridge = v["equity_bridge"]
    assert bridge[0]["value_m"] == pytest.approx(1000.0)
    assert bridge[-1]["value_m"] == pytest.approx(1000.0 + bridge[-2]["value_m"])
    assert v["target_price_ev_sales"] == pytest.approx(
        (4.0 * sales + bridge[-1]["value_m"]) / 2000.0 / 0.9)
    # the headline: the fleet DCF's equity over the same shares and FX
    assert v["target_price"] == pytest.approx(v["equity_fleet_dcf_m"] / 2000.0 / 0.9)
    assert v["street"] == [] and "upside" not in v  # no street or share-price files
    assert v["note_target_price"] == 1.0


def test_backtest_on_the_synthetic_subject(subject):
    bt = cli_json("--subject", str(subject), "backtest", "--scenario", "history", "--actuals",
                  str(subject / "actuals.csv"))
    (row,) = [r for r in bt["rows"] if r["metric"] == "gpus_units"]
    # forecast 1,000 GPUs at 2024Q4 (no delivery before 2025Q1) vs 1,250 disclosed:
    # error = (1,000 - 1,250) / 1,250 = -20%
    assert row["forecast"] == pytest.approx(1000.0, rel=1e-6)
    assert row["actual"] == 1250.0
    assert row["error_pct"] == pytest.approx(-20.0, rel=1e-4)


def test_environment_variable_selects_the_subject(subject, monkeypatch):
    monkeypatch.setenv("CAPACITY_SUBJECT", str(subject))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["scenarios", "--format", "json"]) == 0
    names = {r["scenario"] for r in json.loads(buf.getvalue())["scenarios"]}
    assert names == {"history", "unlisted"}


def test_a_run_without_subject_goes_back_to_the_shipped_data(subject):
    cli_json("--subject", str(subject), "plan")
    assert data_dir() == shipped_data_dir()  # --subject holds for that run only
    plan = cli_json("plan", "--scenario", "history")
    assert plan["quarters"][0]["period"] == "2023Q3"  # the shipped 1H23 history, not Acme's


def test_subject_without_scenarios_uses_its_baseline(subject, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ["baseline.toml", "disclosures.csv", "export_controls.toml", "chips.csv"]:
        (bare / name).write_bytes((subject / name).read_bytes())
    plan = cli_json("--subject", str(bare), "plan")
    assert plan["scenario"] == "baseline" and plan["status"] == "optimal"


def test_kpi_quarters_follow_the_subjects_horizon(subject):
    from capacity.schemas import Horizon

    # shipped baseline: plan from 2023Q3 -> Q4s of 2023, 2024, 2025; revenue years after the first
    hz = Horizon(base_period="2023Q2", end="2027Q4")
    assert hz.kpi_quarters() == ("2023Q4", "2024Q4", "2025Q4")
    assert hz.kpi_years() == (2024, 2025)
    # Acme: plan 2024Q3..2025Q4 -> 2024Q4, 2025Q4 (2026Q4 is past the end); years (2025,)
    acme = Horizon(base_period="2024Q2", end="2025Q4")
    assert acme.kpi_quarters() == ("2024Q4", "2025Q4")
    assert acme.kpi_years() == (2025,)
    cmp = cli_json("--subject", str(subject), "compare", "history", "unlisted")
    kpis = {r["kpi"] for r in cmp["kpis"]}
    assert {"peak_eflops_2024Q4", "peak_eflops_2025Q4", "genai_revenue_m_2025"} <= kpis
    assert "peak_eflops_2023Q4" not in kpis


def test_calibrated_fleet_needs_an_in_service_quarter(subject, tmp_path, capsys):
    # no default in code: a calibrated chip without fleet.default_installed (or its own
    # fleet.initial_installed entry) is one clear error
    folder = tmp_path / "no-installed"
    folder.mkdir()
    for name in ["disclosures.csv", "export_controls.toml", "chips.csv"]:
        (folder / name).write_bytes((subject / name).read_bytes())
    (folder / "baseline.toml").write_text(
        BASELINE.replace('default_installed = "2023Q2"\n', ""), encoding="utf-8")
    assert main(["--subject", str(folder), "plan"]) == 2
    err = capsys.readouterr().err
    assert "fleet.default_installed" in err and "A100" in err
