"""Backtest: period parsing, comparison rules on hand-made paths, the CLI on both example files."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import cli_json

from capacity import backtesting as bt
from capacity.errors import InputError

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLE = DOCS / "actuals-example.csv"
LATER = DOCS / "actuals-later.csv"
EPS = 1e-9

NOTE_VINTAGE = ("--as-of", "2023-08-31")
"""The 1H23 note's vintage (the default is the latest)."""


@pytest.fixture(scope="module")
def example() -> dict:
    return cli_json(*NOTE_VINTAGE, "backtest", "--scenario", "history", "--actuals", str(EXAMPLE))


@pytest.fixture(scope="module")
def later() -> dict:
    return cli_json(*NOTE_VINTAGE, "backtest", "--scenario", "history", "--actuals", str(LATER))


def _row(report: dict, period: str, metric: str) -> dict:
    hits = [r for r in report["rows"] if r["period"] == period and r["metric"] == metric]
    assert len(hits) == 1, (period, metric)
    return hits[0]


def _raw(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label, first, last", [
    ("2023Q2", "2023Q2", "2023Q2"),
    ("2023-Q2", "2023Q2", "2023Q2"),
    ("2Q23", "2023Q2", "2023Q2"),
    ("1H23", "2023Q1", "2023Q2"),
    ("2H23", "2023Q3", "2023Q4"),
    ("1H2024", "2024Q1", "2024Q2"),
    ("2024H2", "2024Q3", "2024Q4"),
    ("FY2023", "2023Q1", "2023Q4"),
    ("FY23", "2023Q1", "2023Q4"),
    ("2023", "2023Q1", "2023Q4"),
])
def test_period_labels_map_to_quarter_spans(label, first, last):
    assert bt.parse_period(label) == (pd.Period(first, freq="Q"), pd.Period(last, freq="Q"))


@pytest.mark.parametrize("label", ["2023Q5", "2023Q0", "3H23", "0H23", "H1", "Q2", "23", "1H"])
def test_bad_period_labels_are_refused(label):
    with pytest.raises(ValueError):
        bt.parse_period(label)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def test_parse_converts_pflops_percent_and_thousands_separators():
    raw = _raw('period,gpus_units,computing_power_pflops,genai_share,source\n'
               '2023Q4,"45,000",12000,,a\n'
               '1H24,,,60.4%,b\n')
    df = bt.parse_actuals(raw, "x.csv")
    assert list(df["metric"]) == ["gpus_units", "computing_power_eflops", "genai_share"]
    assert list(df["actual"]) == pytest.approx([45000.0, 12000 / 1000, 0.604])
    assert list(df["span_quarters"]) == [1, 1, 2]
    assert list(df["source"]) == ["a", "a", "b"]
    assert list(df["unit"]) == ["units", "EFLOPS", "share"]


@pytest.mark.parametrize("text, needle", [
    ("period,gpus_thousands\n2023Q2,30\n", "unit 'thousands'"),
    ("period,computing_power_zflops\n2023Q2,1\n", "computing_power_pflops or"),
    ("period,capex_m\n2023Q2,1\n", "unknown column 'capex_m'"),
    ("quarter,gpus_units\n2023Q2,1\n", "missing column 'period'"),
    ("period,gpus_units\n2023Q5,1\n", "line 2 period"),
    ("period,gpus_units\n2023Q1,1\n3H23,1\n", "line 3 period"),
    ("period,gpus_units\n2023Q2,lots\n", "'lots' is not a number"),
    ("period,genai_share\n1H23,20.3\n", "not a fraction"),
    ("period,gpus_units\n2023Q2,-5\n", "negative"),
    ("period,gpus_units\n2023Q2,1\n2Q23,2\n", "line 3 period"),
    ("period,gpus_units\n2023Q2,\n", "no figures"),
    ("period,source\n2023Q2,x\n", "no metric columns"),
    ("period,computing_power_pflops,computing_power_eflops\n2023Q2,1,2\n", "one column only"),
])
def test_parse_errors_name_the_problem(text, needle):
    with pytest.raises(InputError) as info:
        bt.parse_actuals(_raw(text), "x.csv")
    assert needle in info.value.one_line()
    assert "\n" not in info.value.one_line()


# --------------------------------------------------------------------------------------------
# Comparison rules on hand-made paths
# --------------------------------------------------------------------------------------------


def _paths():
    q = pd.period_range("2023Q1", "2023Q4", freq="Q", name="period")
    stocks = pd.DataFrame({"gpus_units": [100.0, 110.0, 120.0, 130.0],
                           "computing_power_eflops": [1.0, 1.5, 2.0, 2.5],
                           "basis": ["calibration"] * 2 + ["plan"] * 2}, index=q)
    flows = pd.DataFrame({"revenue_m": [10.0, 20.0, 30.0, 40.0],
                          "genai_revenue_m": [1.0, 2.0, 3.0, 4.0],
                          "gross_profit_m": [5.0, 8.0, 12.0, 15.0],
                          "basis": ["actuals"] * 2 + ["finance"] * 2}, index=q)
    return stocks, flows


def test_stocks_at_period_end_flows_summed_ratios_of_sums():
    stocks, flows = _paths()
    raw = _raw("period,gpus_units,revenue_m,genai_share,gross_margin,net_loss_m\n"
               "1H23,100,,0.125,,7\n"
               "FY2023,,80,,0.5,\n")
    rows = bt.compare(bt.parse_actuals(raw), stocks, flows).set_index(["period", "metric"])
    # GPUs at the end of 1H23 = 2023Q2: 110 vs 100 -> +10, +10%
    assert rows.loc[("1H23", "gpus_units"), "forecast"] == 110.0
    assert rows.loc[("1H23", "gpus_units"), "error_pct"] == pytest.approx(100 * 10 / 100)
    # 1H23 GenAI share = (1 + 2) / (10 + 20) = 0.1 vs 0.125 -> -0.025, -20%
    assert rows.loc[("1H23", "genai_share"), "forecast"] == pytest.approx(0.1)
    assert rows.loc[("1H23", "genai_share"), "error_pct"] == pytest.approx(-20.0)
    # FY revenue = 10 + 20 + 30 + 40 = 100 vs 80 -> +20, +25%
    assert rows.loc[("FY2023", "revenue_m"), "error"] == pytest.approx(20.0)
    assert rows.loc[("FY2023", "revenue_m"), "error_pct"] == pytest.approx(25.0)
    # FY gross margin = (5 + 8 + 12 + 15) / 100 = 0.40 vs 0.5 -> -20%
    assert rows.loc[("FY2023", "gross_margin"), "forecast"] == pytest.approx(0.40)
    assert rows.loc[("FY2023", "gross_margin"), "error_pct"] == pytest.approx(-20.0)
    assert rows.loc[("FY2023", "revenue_m"), "basis"] == "actuals + finance"
    net = rows.loc[("1H23", "net_loss_m")]
    assert net["status"] == bt.STATUS_NOT_FORECAST and math.isnan(net["forecast"])

    summ = bt.summary(rows.reset_index()).set_index("metric")
    assert summ.at["genai_share", "mape"] == pytest.approx(20.0)
    assert summ.at["net_loss_m", "n_compared"] == 0
    assert math.isnan(summ.at["net_loss_m", "mape"])


def test_outside_the_paths_is_not_comparable_and_no_finance_is_not_forecast():
    stocks, flows = _paths()
    raw = _raw("period,gpus_units,revenue_m\n"
               "2022Q4,90,\n"       # before the first stock quarter
               "2H22,,5\n"          # revenue span before the path
               "2H23,,70\n"         # inside: 30 + 40 = 70 -> exact
               "FY2024,200,\n")     # stock after the horizon end
    rows = bt.compare(bt.parse_actuals(raw), stocks, flows)
    assert list(rows["status"]) == [bt.STATUS_NOT_COMPARABLE, bt.STATUS_NOT_COMPARABLE,
                                    bt.STATUS_COMPARED, bt.STATUS_NOT_COMPARABLE]
    assert rows.loc[2, "error"] == 0.0 and rows.loc[2, "error_pct"] == 0.0
    no_fin = bt.compare(bt.parse_actuals(raw), stocks, None)
    assert list(no_fin["status"])[1:3] == [bt.STATUS_NOT_FORECAST] * 2


def test_mape_is_mean_absolute_percentage_error():
    stocks, _ = _paths()
    raw = _raw("period,gpus_units\n2023Q1,125\n2023Q3,100\n")
    # 2023Q1: 100 vs 125 -> -20%; 2023Q3: 120 vs 100 -> +20%; MAPE 20, bias 0
    summ = bt.summary(bt.compare(bt.parse_actuals(raw), stocks, None))
    assert summ.loc[0, "mape"] == pytest.approx((20 + 20) / 2)
    assert summ.loc[0, "bias_pct"] == pytest.approx(0.0)
    assert summ.loc[0, "max_abs_error_pct"] == pytest.approx(20.0)


# --------------------------------------------------------------------------------------------
# CLI: the note-only example round-trips
# --------------------------------------------------------------------------------------------


def test_example_json_shape(example):
    keys = {"period", "metric", "unit", "actual", "forecast", "error", "error_pct", "status"}
    assert all(keys <= set(r) for r in example["rows"])
    assert {"metric", "mape"} <= set(example["summary"][0])
    assert len(example["rows"]) == 9  # every figure of the file, none dropped


def test_example_stocks_round_trip_exactly(example):
    # The central calibration matches every disclosed total exactly when the candidate chips
    # allow it (the +/-0.5% tolerance only widens the min/max range), so zero error.
    calib = cli_json(*NOTE_VINTAGE, "calibrate", "--scenario", "history", "--table",
                     "dates")["dates"]
    fitted = {d["period"]: d for d in calib}
    for period, metric, actual, col in [("2022Q4", "computing_power_eflops", 5.0, "eflops"),
                                        ("2023Q1", "gpus_units", 27000.0, "units"),
                                        ("2023Q2", "gpus_units", 30000.0, "units"),
                                        ("2023Q2", "computing_power_eflops", 6.0, "eflops")]:
        r = _row(example, period, metric)
        assert r["status"] == "compared" and r["basis"] == "calibration"
        assert r["actual"] == actual
        # the forecast is the calibration's fitted total at that date
        assert r["forecast"] == pytest.approx(fitted[period][f"fitted_{col}"], rel=1e-9)
        assert abs(r["error_pct"]) <= 1e-6


def test_example_revenue_round_trips_exactly(example):
    for metric, actual in [("revenue_m", 1400.0), ("genai_share", 0.203),
                           ("gross_margin", 0.453)]:
        r = _row(example, "1H23", metric)
        assert r["status"] == "compared"
        assert r["actual"] == actual and r["error"] == 0 and r["error_pct"] == 0


def test_example_net_loss_is_the_reported_one_and_2022_not_comparable(example):
    # the one P&L's history rows are the reported 1H23 accounts: the net loss comes back
    net = _row(example, "1H23", "net_loss_m")
    assert net["status"] == "compared" and net["actual"] == 3100.0
    assert net["forecast"] == pytest.approx(3100.0) and net["error_pct"] == pytest.approx(0.0)
    fy22 = _row(example, "FY2022", "genai_share")
    assert fy22["status"] == "not comparable" and fy22["first_quarter"] == "2022Q1"
    summ = {s["metric"]: s for s in example["summary"]}
    assert summ["net_loss_m"]["mape"] == pytest.approx(0.0, abs=1e-9)
    assert summ["revenue_m"]["mape"] == 0
    # GPUs: 27,000 and 30,000 come back exactly -> MAPE 0
    assert summ["gpus_units"]["mape"] == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------------------------
# CLI: later disclosures give numbers, cross-checked against plan and value
# --------------------------------------------------------------------------------------------


def test_later_error_pct_is_forecast_minus_actual_over_actual(later):
    assert later["n_compared"] == len(later["rows"]) == 18
    for r in later["rows"]:
        # JSON keeps 10 significant digits of each number: allow that much of the larger one
        scale = max(abs(r["forecast"]), abs(r["actual"]))
        assert r["error"] == pytest.approx(r["forecast"] - r["actual"], abs=1e-9 * scale)
        assert r["error_pct"] == pytest.approx(100 * r["error"] / r["actual"], rel=1e-8)


def test_later_forecasts_match_plan_and_value(later):
    plan = {q["period"]: q
            for q in cli_json(*NOTE_VINTAGE, "plan", "--scenario", "history")["quarters"]}
    value = cli_json(*NOTE_VINTAGE, "value", "--scenario", "history")
    rev = {q["period"]: q for q in value["revenue"]}
    annual = {a["year"]: a for a in value["annual"]}

    # end-2023: 45,000 GPUs and >12,000 PFLOPS = 12 EFLOPS vs the plan's 2023Q4 fleet
    g = _row(later, "2023Q4", "gpus_units")
    f = plan["2023Q4"]["gpus_units"]
    assert g["forecast"] == pytest.approx(f, rel=1e-9)
    assert g["error_pct"] == pytest.approx(100 * (f - 45000) / 45000, rel=1e-8)
    c = _row(later, "2023Q4", "computing_power_eflops")
    assert c["actual"] == 12.0
    assert c["error_pct"] == pytest.approx(100 * (plan["2023Q4"]["peak_eflops"] - 12) / 12,
                                           rel=1e-8)
    # FY2023 revenue 3,405.8: the finance annual table (1H23 actuals + modelled 2H23)
    r = _row(later, "FY2023", "revenue_m")
    f = annual[2023]["revenue_m"]
    assert r["error_pct"] == pytest.approx(100 * (f - 3405.8) / 3405.8, rel=1e-8)
    # 1H24 GenAI revenue 1,051.2 = 2024Q1 + 2024Q2
    r = _row(later, "1H24", "genai_revenue_m")
    f = rev["2024Q1"]["genai_revenue_m"] + rev["2024Q2"]["genai_revenue_m"]
    assert r["error_pct"] == pytest.approx(100 * (f - 1051.2) / 1051.2, rel=1e-8)
    # 1H25 GenAI share 77.0%: ratio of the half-year's sums
    r = _row(later, "1H25", "genai_share")
    f = ((rev["2025Q1"]["genai_revenue_m"] + rev["2025Q2"]["genai_revenue_m"])
         / (rev["2025Q1"]["revenue_m"] + rev["2025Q2"]["revenue_m"]))
    assert r["forecast"] == pytest.approx(f, rel=1e-9)
    assert r["error_pct"] == pytest.approx(100 * (f - 0.770) / 0.770, rel=1e-8)


def test_later_summary_mape_recomputed(later):
    for s in later["summary"]:
        pct = [abs(r["error_pct"]) for r in later["rows"] if r["metric"] == s["metric"]]
        assert s["mape"] == pytest.approx(sum(pct) / len(pct), rel=1e-9)


# --------------------------------------------------------------------------------------------
# CLI: bad files, --out
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, needle", [
    ("period,gpus_thousands\n2023Q2,30\n", "gpus_thousands"),
    ("period,computing_power_zflops\n2023Q2,1\n", "computing_power_zflops"),
    ("period,gpus_units\n2023Q5,1\n", "2023Q5"),
    ("period,revenue_m\n3H23,1\n", "3H23"),
])
def test_bad_file_one_line_exit_2(tmp_path, run_cli, text, needle):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    code, out, err = run_cli("backtest", "--actuals", str(f), "--format", "json")
    assert code == 2 and out == ""
    assert err.startswith("capacity: bad.csv") and err.count("\n") == 1 and needle in err


def test_missing_file_one_line_exit_2(tmp_path, run_cli):
    code, out, err = run_cli("backtest", "--actuals", str(tmp_path / "none.csv"))
    assert code == 2 and out == "" and err.count("\n") == 1 and "file not found" in err


def test_out_writes_tables_and_chart(tmp_path, run_cli):
    out = tmp_path / "bt"
    code, _, err = run_cli("backtest", "--actuals", str(EXAMPLE), "--out", str(out),
                           "--format", "csv")
    assert code == 0, err
    assert {"rows.csv", "summary.csv", "paths.csv", "backtest.json", "backtest.png",
            "manifest.json"} <= {p.name for p in out.iterdir()}
    assert (out / "backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 9 and set(rows["status"]) == {"compared", "not comparable"}
    code, _, err = run_cli("backtest", "--actuals", str(EXAMPLE), "--out", str(out))
    assert code == 2 and "--overwrite" in err
