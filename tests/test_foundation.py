"""Catalog, fleet and calibration: numbers worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from capacity.calibration import calibrate
from capacity.chips import peak_tflops, performance_density, price_rmb, tpp, training_fit
from capacity.fleet import build_cohorts, effective_eflops, installed_units, peak_eflops
from capacity.scenarios import read_catalog
from capacity.schemas import FleetInputs, parse_quarter


@pytest.fixture(scope="module")
def catalog():
    return read_catalog()


def test_catalog_has_the_sixteen_reference_chips(catalog):
    expected = {"V100", "A100", "A800", "H100", "H800", "H20", "L20", "L40S", "RTX4090",
                "RTX4090D", "H200", "B200", "Ascend910", "Ascend910B", "Ascend910C",
                "MLU370-X8"}
    assert expected <= set(catalog.index)
    assert catalog["source"].str.len().min() > 10


def test_unknown_figures_are_nan_not_zero(catalog):
    # H200 die area and A800 price are not published: NaN, never 0.
    assert np.isnan(catalog.at["H200", "die_mm2"])
    assert np.isnan(catalog.at["A800", "price_usd"])
    assert np.isnan(catalog.at["RTX4090D", "fp16_tflops"])
    numeric = catalog.select_dtypes("number")
    assert not (numeric == 0).any().any()


def test_tpp_hand_worked(catalog):
    t = tpp(catalog)
    assert t["H100"] == pytest.approx(max(989.4 * 16, 1979 * 8))  # 15,832
    assert t["A800"] == pytest.approx(623.7 * 8)  # max(311.8 x 16 = 4,988.8, 4,989.6)
    assert t["H20"] == pytest.approx(148 * 16)  # 2,368
    assert t["RTX4090D"] == 4707  # no dense rates: published TPP


def test_performance_density_hand_worked(catalog):
    pd_ = performance_density(catalog)
    assert pd_["A100"] == pytest.approx(312 * 16 / 826, rel=1e-9)  # 6.04
    assert pd_["L20"] == pytest.approx(119.5 * 16 / 609, rel=1e-9)  # 3.14
    assert np.isnan(pd_["H200"])  # die area unknown


def test_prices_and_training_fitness(catalog):
    p = price_rmb(catalog, 7.0, {"A800": 12_000})
    assert p["A800"] == pytest.approx(84_000)  # override x FX
    assert p["Ascend910B"] == pytest.approx(120_000)  # quoted in RMB
    assert p["V100"] == pytest.approx(11_458 * 7.0)
    assert np.isnan(p["B200"])
    fit = training_fit(catalog, 300)
    assert fit["A800"] and fit["H20"] and not fit["L20"] and not fit["MLU370-X8"]


def test_27k_a100_is_8_42_eflops_peak(catalog):
    # 27,000 units x 312 TFLOPS = 8,424,000 TFLOPS = 8.424 EFLOPS
    periods = pd.period_range("2023Q1", "2023Q1", freq="Q")
    inst = pd.DataFrame({"A100": [27_000.0]}, index=periods)
    assert peak_eflops(inst, catalog).iloc[0] == pytest.approx(8.424)
    fleet = FleetInputs(efficiency={"A100": 0.5})
    assert effective_eflops(inst, catalog, fleet).iloc[0] == pytest.approx(4.212)


def test_cohorts_retire_at_end_of_life(catalog):
    fleet = FleetInputs(initial=[{"chip": "V100", "units": 1000, "installed": "2020Q1"}],
                        pipeline=[{"chip": "H800", "peak_eflops": 0.989, "delivery": "2023Q4"}],
                        life_quarters={"V100": 16})
    cohorts = build_cohorts(fleet, catalog)
    # 0.989 EFLOPS / 989 TFLOPS = 1,000 units
    assert cohorts.loc[cohorts["chip"] == "H800", "units"].iloc[0] == pytest.approx(1000)
    periods = pd.period_range("2023Q3", "2024Q2", freq="Q")
    inst = installed_units(cohorts, periods)
    # V100 in service 2020Q1..2023Q4 (16 quarters), gone from 2024Q1
    assert inst["V100"].tolist() == [1000, 1000, 0, 0]
    assert inst["H800"].tolist() == [0, 1000, 1000, 1000]


def test_quarter_labels():
    assert parse_quarter("3Q23") == "2023Q3"
    assert parse_quarter("2024-q1") == "2024Q1"
    with pytest.raises(ValueError):
        parse_quarter("2024Q5")


def test_calibration_matches_disclosures(history):
    cal = calibrate(history)
    d = cal.dates.set_index("period")
    q2, q4 = pd.Period("2023Q2", "Q"), pd.Period("2022Q4", "Q")
    assert d.at[q2, "fitted_units"] == pytest.approx(30_000, rel=0.01)
    assert d.at[q2, "fitted_eflops"] == pytest.approx(6.0, rel=0.01)
    assert d.at[q4, "fitted_eflops"] == pytest.approx(5.0, rel=0.01)
    # The central fit matches every disclosed total exactly (the band only widens min/max).
    for p, col, value in [(q2, "fitted_units", 30_000), (q2, "fitted_eflops", 6.0),
                          (q4, "fitted_eflops", 5.0),
                          (pd.Period("2023Q1", "Q"), "fitted_units", 27_000)]:
        assert d.at[p, col] == pytest.approx(value, rel=1e-7)
    m = cal.mix
    assert (m["min_units"] <= m["central_units"] + 1e-6).all()
    assert (m["central_units"] <= m["max_units"] + 1e-6).all()
    # Recompute the fitted EFLOPS from the mix independently of the solver.
    rate = peak_tflops(history.catalog)
    eflops = (m["central_units"] * m["chip"].map(rate)).groupby(m["period"]).sum() / 1e6
    assert eflops[q2] == pytest.approx(d.at[q2, "fitted_eflops"])


def test_calibration_order_units(history):
    cal = calibrate(history)
    o = cal.orders.set_index("chip")
    # +4 EFLOPS (10 - 6) in H800s: 4e6 TFLOPS / 989 = 4,044.5 units
    assert o.at["H800", "needed_units"] == pytest.approx(4e6 / 989)
    assert o.at["A800", "needed_units"] == pytest.approx(4e6 / 311.8)


def test_calibrate_cli_json(run_json):
    out = run_json("calibrate")
    assert {"dates", "mix", "orders"} <= set(out)
    assert set(out["dates"][0]) >= {"period", "reported_units", "reported_eflops",
                                    "fitted_units", "fitted_eflops"}
    assert set(out["mix"][0]) >= {"period", "chip", "central_units", "min_units", "max_units"}
    q2 = [m for m in out["mix"] if m["period"] == "2023Q2"]
    assert sum(m["central_units"] for m in q2) == pytest.approx(30_000, rel=1e-7)
    assert sum(m["central_eflops"] for m in q2) == pytest.approx(6.0, rel=1e-7)


def test_calibrate_cli_csv_is_valid(run_cli):
    import csv
    import io

    code, out, _ = run_cli("calibrate", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) > 5
    assert {"period", "chip", "central_units", "min_units", "max_units"} <= set(rows[0])
    q2 = [r for r in rows if r["period"] == "2023Q2"]
    assert sum(float(r["central_units"]) for r in q2) == pytest.approx(30_000, rel=1e-7)


@pytest.mark.parametrize("content, needle", [
    ("[set]\n\"calibration.tolerance\" = -1\n", "calibration.tolerance"),
    ("[set]\n\"fleet.pipeline\" = [{chip = \"H900\", units = 1, delivery = \"2023Q3\"}]\n",
     "H900"),
    ("[set]\n\"calibration.prior_sharee\" = {}\n", "prior_sharee"),
    ("this is not toml", "not valid TOML"),
    ("", "empty"),
])
def test_bad_input_file_is_one_line_exit_2(tmp_path, run_cli, content, needle):
    f = tmp_path / "bad.toml"
    f.write_text(content)
    code, out, err = run_cli("calibrate", "--scenario", str(f), "--format", "json")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err
    assert "Traceback" not in err


def test_missing_file_and_bad_option(run_cli):
    code, _, err = run_cli("calibrate", "--scenario", "nowhere/x.toml")
    assert code == 2 and "file not found" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("calibrate", "--format", "xml")
    assert code == 2 and "--format" in err and len(err.strip().splitlines()) == 1


def test_version(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("capacity ")


def test_json_is_deterministic(run_cli, monkeypatch):
    from capacity import inputs as pipeline

    a = run_cli("calibrate", "--format", "json")[1]
    monkeypatch.setattr(pipeline, "_CALIBRATION_CACHE", {})  # solve again, not from cache
    b = run_cli("calibrate", "--format", "json")[1]
    assert a == b
    json.loads(a)


def test_calibration_and_plan_agree_across_solvers(history):
    """The central mix is unique (lexicographic tie-break), so HiGHS and CBC agree."""
    from capacity.lp import available_solvers
    from capacity.planner import plan

    if "cbc" not in available_solvers():
        pytest.skip("PuLP ships no CBC here (PuLP 4.x wheels)")
    a = calibrate(history, solver="highs").mix.set_index(["period", "chip"])
    b = calibrate(history, solver="cbc").mix.set_index(["period", "chip"])
    assert np.allclose(a["central_units"], b["central_units"], rtol=1e-5, atol=0.5)
    pa, pb = plan(history, solver="highs", integer=False), plan(history, solver="cbc",
                                                                integer=False)
    assert pb.objective == pytest.approx(pa.objective, rel=1e-5)
