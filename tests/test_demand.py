"""Demand side: tokens, training runs (6 N D), the 1H23-calibrated inference yield, leasing.

Hand-worked anchors:
  C = 6 x 100e9 x 10e12 = 6.0e24 FLOP
  at 6 EFLOPS and 40% MFU: 6e24 / (6e18 x 0.4) = 2.5e6 s = 2.5e6 / 86,400 = 28.935 days
  a quarter = 365.25 / 4 = 91.3125 days = 91.3125 x 86,400 = 7,889,400 s
  1H23 GenAI revenue = 0.203 x 1,400 = 284.2 RMB m
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from capacity import compute_demand as dm
from capacity.cli import main
from capacity.errors import InputError
from capacity.scenarios import load_scenario

Q = "Q"

NOTE_VINTAGE = ("--as-of", "2023-08-31")
"""The 1H23 note's vintage (the default is the latest)."""


def fleet_series(values: dict[str, float]) -> pd.Series:
    """A hand-made fleet in effective EFLOPS."""
    return pd.Series(list(values.values()),
                     index=pd.PeriodIndex(list(values), freq=Q, name="period"), dtype=float)


def flat_fleet(level: float, first: str = "2022Q4", last: str = "2027Q4") -> pd.Series:
    idx = pd.period_range(first, last, freq=Q, name="period")
    return pd.Series(level, index=idx, dtype=float)


ONE_RUN = ('[{name="base", params_bn=100, tokens_tn=10, start="2024Q1", duration_quarters=1, '
           'mfu=0.4}]')


@pytest.fixture(scope="module")
def base_scenario():
    return load_scenario("history")


def scenario(**sets):
    return load_scenario("history", set_values=sets)


# ------------------------------------------------------------------------------------------
# Plain arithmetic
# ------------------------------------------------------------------------------------------


def test_training_flop_is_6nd():
    assert dm.training_flop(100, 10) == pytest.approx(6 * 100e9 * 10e12)
    assert dm.training_flop(100, 10) == pytest.approx(6.0e24)


def test_run_time_at_6_eflops_and_40pct_mfu():
    seconds = dm.run_seconds(6.0e24, 6.0, 0.4)
    assert seconds == pytest.approx(6e24 / (6e18 * 0.4))
    assert seconds == pytest.approx(2.5e6)
    assert seconds / 86_400 == pytest.approx(28.935, abs=1e-3)


def test_required_eflops_inverts_run_time():
    assert dm.required_effective_eflops(6.0e24, 2.5e6, 0.4) == pytest.approx(6.0)


def test_quarter_length():
    assert dm.QUARTER_DAYS == 91.3125
    assert dm.QUARTER_SECONDS == 7_889_400.0


def test_quarter_numbers_are_consecutive():
    # 4 x 2023 + 4 - 1 = 8095 for 2023Q4, then 8096 for 2024Q1; a Period gives the same number
    assert dm.quarter_number("2023Q4") == 8095
    assert dm.quarter_number(pd.Period("2024Q1", freq="Q")) == 8096
    q = dm.quarter_numbers(pd.period_range("2023Q3", "2024Q2", freq="Q"))
    assert q.tolist() == [8094, 8095, 8096, 8097]
    assert (q // 4).tolist() == [2023, 2023, 2024, 2024] and (q % 4 + 1).tolist() == [3, 4, 1, 2]


# ------------------------------------------------------------------------------------------
# Tokens
# ------------------------------------------------------------------------------------------


def test_token_stock_without_growth_reaches_10tn_in_4q23():
    sc = scenario(**{"demand.tokens.growth_annual": 0.0, "demand.tokens.initial_stock_tn": 2.0})
    tok = dm.token_table(sc, pd.Period("2024Q1", Q))
    # 2tn a month disclosed -> 6tn a quarter; stock 2 -> 8 -> 14 -> 20
    assert tok["tokens_produced_tn_tokens"].tolist() == pytest.approx([0, 6, 6, 6])
    assert tok["token_stock_tn_tokens"].tolist() == pytest.approx([2, 8, 14, 20])
    target, due = dm.token_target(sc)
    assert (target, str(due)) == (10.0, "2023Q4")
    assert str(dm.first_quarter_reaching(tok["token_stock_tn_tokens"], target)) == "2023Q4"
    # GPT-4's 13tn is also passed in 2023Q4 (14 >= 13), 20tn in 2024Q1
    assert str(dm.first_quarter_reaching(tok["token_stock_tn_tokens"], 13.0)) == "2023Q4"
    assert dm.first_quarter_reaching(tok["token_stock_tn_tokens"], 21.0) is None


def test_token_growth_and_quality_yield():
    sc = scenario(**{"demand.tokens.growth_annual": 0.5, "demand.tokens.quality_yield": 0.8,
                     "demand.tokens.initial_stock_tn": 0.0, "demand.tokens.per_month_tn": 1.0})
    tok = dm.token_table(sc, pd.Period("2023Q4", Q))
    # j=1: 3 x 1 x 1.5**0 x 0.8 = 2.4; j=2: 3 x 1.5**0.25 x 0.8 = 2.656
    assert tok.loc[pd.Period("2023Q3", Q), "tokens_produced_tn_tokens"] == pytest.approx(2.4)
    assert tok.loc[pd.Period("2023Q4", Q), "tokens_produced_tn_tokens"] == pytest.approx(
        3 * 1.5 ** 0.25 * 0.8)
    assert tok["token_stock_tn_tokens"].iloc[-1] == pytest.approx(2.4 + 3 * 1.5 ** 0.25 * 0.8)


# ------------------------------------------------------------------------------------------
# Training runs
# ------------------------------------------------------------------------------------------


def test_run_table_base_model_on_10tn():
    sc = scenario(**{"demand.runs": [{"name": "base", "params_bn": 100, "tokens_tn": 10,
                                      "start": "2024Q1", "duration_quarters": 1, "mfu": 0.4}]})
    runs = dm.runs_table(sc, fleet_series({"2023Q2": 6.0}))
    row = runs.iloc[0]
    assert row["flop"] == pytest.approx(6.0e24)
    # one quarter: 6e24 / (7,889,400 s x 0.4) / 1e18 = 1.90129 EFLOPS
    assert row["effective_eflops"] == pytest.approx(6e24 / (7_889_400 * 0.4) / 1e18)
    assert row["effective_eflops"] == pytest.approx(1.90129, abs=1e-5)
    # the whole 6-EFLOPS base fleet: 2.5e6 s = 28.935 days
    assert row["days_at_base_fleet"] == pytest.approx(28.935, abs=1e-3)
    assert (row["start"], row["end"], row["duration_quarters"]) == ("2024Q1", "2024Q1", 1)


def test_runs_spread_evenly_and_overlap_sums():
    runs = [
        {"name": "a", "params_bn": 100, "tokens_tn": 10, "start": "2024Q1", "end": "2024Q2",
         "mfu": 0.5},
        {"name": "b", "params_bn": 50, "tokens_per_param": 20, "start": "2024Q2",
         "duration_quarters": 1, "mfu": 0.25},
    ]
    sc = scenario(**{"demand.runs": runs})
    table = dm.runs_table(sc, flat_fleet(6.0))
    periods = pd.period_range("2023Q4", "2024Q3", freq=Q, name="period")
    train = dm.training_eflops(periods, table)
    a = 6e24 / (2 * 7_889_400 * 0.5) / 1e18  # 2 quarters at 50% MFU: 0.76051 each
    # b: 50bn x 20 tokens/param = 1tn tokens; 6 x 50e9 x 1e12 = 3e23 FLOP in one quarter at 25%
    b = 3e23 / (7_889_400 * 0.25) / 1e18
    assert table.loc[1, "tokens_tn_tokens"] == pytest.approx(1.0)
    assert train.tolist() == pytest.approx([0.0, a, a + b, 0.0])
    # the FLOP the table delivers over run a's window adds back to its 6ND
    delivered = train.iloc[1] * 1e18 * 0.5 * 7_889_400 * 2  # a alone in 2024Q1, two quarters
    assert delivered == pytest.approx(table.loc[0, "flop"]) and delivered == pytest.approx(6e24)


def test_tokens_stock_uses_stock_at_start():
    sc = scenario(**{"demand.tokens.growth_annual": 0.0, "demand.tokens.initial_stock_tn": 2.0,
                     "demand.runs": [{"name": "s", "params_bn": 100, "tokens_tn": "stock",
                                      "start": "2024Q1", "duration_quarters": 1, "mfu": 0.4}]})
    row = dm.runs_table(sc, flat_fleet(6.0)).iloc[0]
    # stock at the end of 2023Q4 = 2 + 6 + 6 = 14tn
    assert row["tokens_tn_tokens"] == pytest.approx(14.0)
    assert row["token_stock_at_start_tn_tokens"] == pytest.approx(14.0)
    assert row["flop"] == pytest.approx(6 * 100e9 * 14e12)


def test_stock_run_before_base_is_an_error():
    sc = scenario(**{"demand.runs": [{"name": "s", "params_bn": 100, "tokens_tn": "stock",
                                      "start": "2023Q2", "duration_quarters": 1, "mfu": 0.4}]})
    with pytest.raises(InputError, match=r"demand\.runs\[0\]\.tokens_tn"):
        dm.runs_table(sc, flat_fleet(6.0))


# ------------------------------------------------------------------------------------------
# Revenue and inference
# ------------------------------------------------------------------------------------------


def test_yield_reproduces_1h23_genai_revenue(base_scenario):
    fleet = fleet_series({"2023Q1": 5.0, "2023Q2": 6.0})
    y = dm.inference_yield_m_per_eflops_quarter(base_scenario, fleet)
    share = base_scenario.inputs.demand.inference.calibration_fleet_share
    # 284.2 / (0.5 x 5 + 0.5 x 6) = 284.2 / 5.5 = 51.673
    assert y == pytest.approx(0.203 * 1400 / (share * 5.0 + share * 6.0))
    # yield x fleet in use (average) x 2 quarters = 0.203 x 1400
    assert y * share * (5.0 + 6.0) / 2 * 2 == pytest.approx(0.203 * 1400)


def test_yield_on_the_pipeline_fleet(base_scenario):
    from capacity.inputs import existing_fleet_eflops

    fleet = existing_fleet_eflops(base_scenario)["effective_eflops"]
    y = dm.inference_yield_m_per_eflops_quarter(base_scenario, fleet)
    in_use = 0.5 * fleet.loc[[pd.Period("2023Q1", Q), pd.Period("2023Q2", Q)]].mean()
    assert y * in_use * 2 == pytest.approx(284.2)


def test_yield_needs_calibration_quarters(base_scenario):
    with pytest.raises(InputError, match="2023Q1"):
        dm.inference_yield_m_per_eflops_quarter(base_scenario, flat_fleet(6.0, "2023Q2"))


def test_revenue_forecast_growth_path():
    sc = scenario(**{"demand.revenue.growth_by_year": {"2023": 0.0, "2024": 1.0}})
    periods = pd.period_range("2023Q1", "2025Q2", freq=Q, name="period")
    rev = dm.genai_revenue_forecast(sc, periods)
    q = 284.2 / 2  # 142.1 a quarter in 1H23 and flat through 2023
    assert rev.loc["2023Q1":"2023Q4"].tolist() == pytest.approx([q] * 4)
    # 2024 doubles the run rate: 2**(1/4) a quarter, 2x by 2024Q4; 2025 keeps 2024's rate
    assert rev.loc[pd.Period("2024Q1", Q)] == pytest.approx(q * 2 ** 0.25)
    assert rev.loc[pd.Period("2024Q4", Q)] == pytest.approx(2 * q)
    assert rev.loc[pd.Period("2025Q2", Q)] == pytest.approx(2 * q * 2 ** 0.5)
    with pytest.raises(InputError, match="periods"):
        dm.genai_revenue_forecast(sc, pd.period_range("2022Q4", "2023Q3", freq=Q))


def test_demand_table_inference_and_total():
    sets = {"demand.revenue.growth_by_year": {"2023": 0.0},
            "demand.inference.price_per_m_tokens": 20.0,
            "demand.inference.price_change_annual": 0.0,
            "demand.inference.yield_change_annual": 0.0,
            "demand.inference.served_params_bn": 100.0,
            "demand.leasing.share_of_fleet": 0.1,
            "demand.leasing.fixed_eflops": {"2023Q4": 0.5},
            "planner.leasing_usd_per_gpu_hour": 1.25,
            "planner.fx_usd": 7.29,
            "planner.compute_price_change_annual": -0.2,
            "demand.runs": []}
    fleet = fleet_series({"2023Q1": 5.0, "2023Q2": 6.0, "2023Q3": 8.0, "2023Q4": 10.0})
    periods = pd.period_range("2023Q3", "2023Q4", freq=Q, name="period")
    sc = scenario(**sets)
    t = dm.demand_table(sc, periods, fleet)
    # yield: 284.2 / (0.5 x 11) = 51.673 RMB m/EFLOPS-q; 142.1 / 51.673 = 2.75 EFLOPS
    assert t["inference_yield_eflops"].tolist() == pytest.approx([2.75, 2.75])
    assert t["genai_tokens_demanded_tn_tokens"].tolist() == pytest.approx([7.105, 7.105])
    # leasing: 10% of the 1H23 window's mean fleet (5.5) x the flat market index, + 0.5 fixed
    assert t["leasing_demand_eflops"].tolist() == pytest.approx([0.55, 1.05])
    # leasing rate per A100 effective EFLOPS-quarter: 1.25 USD/h x 7.29 x 2191.5 h / 1e6
    # / (312 TFLOPS x 1.0 / 1e6), falling 20% a year from the first planned quarter
    rate0 = 1.25 * 7.29 * (365.25 * 24 / 4) / 1e6 / 312e-6
    rate = [rate0, rate0 * 0.8 ** 0.25]
    tokens = [(142.1 - le * r) / 20.0 for le, r in zip([0.55, 1.05], rate, strict=True)]
    assert t["inference_demand_tn_tokens"].tolist() == pytest.approx(tokens)
    # the tokens at the A100's serving roofline (tokens per unit-quarter from the plan data)
    from capacity.serving import serving_reference
    k, tau = serving_reference(sc, 365.25 * 24 / 4)
    assert k == pytest.approx(312e-6)
    inf = [x * k / tau for x in tokens]
    assert t["inference_demand_eflops"].tolist() == pytest.approx(inf)
    assert t["total_demand_eflops"].tolist() == pytest.approx(
        [inf[0] + 0.55, inf[1] + 1.05])
    assert t["training_demand_eflops"].tolist() == [0.0, 0.0]


def test_demand_table_contract_on_baseline(base_scenario):
    from capacity.inputs import existing_fleet_eflops

    fleet = existing_fleet_eflops(base_scenario)["effective_eflops"]
    periods = base_scenario.inputs.horizon.periods
    t = dm.demand_table(base_scenario, periods, fleet)
    need = ["tokens_produced_tn_tokens", "token_stock_tn_tokens", "training_demand_eflops",
            "inference_demand_eflops", "leasing_demand_eflops", "total_demand_eflops",
            "genai_demand_m"]
    assert set(need) <= set(t.columns)
    assert t.index.equals(periods) and t.index.name == "period"
    assert not t.isna().any().any()
    recomputed = (t["training_demand_eflops"] + t["inference_demand_eflops"]
                  + t["leasing_demand_eflops"])
    assert (t["total_demand_eflops"] - recomputed).abs().max() < 1e-12
    # the revenue column is the forecast the finance module reads
    rev = dm.genai_revenue_forecast(base_scenario, periods)
    assert (t["genai_demand_m"] - rev).abs().max() < 1e-12
    # runs' FLOP equals the training EFLOPS delivered over the horizon (all runs inside it)
    runs = dm.runs_table(base_scenario, fleet)
    delivered = sum(
        r.effective_eflops * 1e18 * r.mfu * dm.QUARTER_SECONDS * r.duration_quarters
        for r in runs.itertuples())
    assert delivered == pytest.approx(runs["flop"].sum())
    with pytest.raises(InputError, match="periods"):
        dm.demand_table(base_scenario, pd.period_range("2023Q2", "2023Q4", freq=Q), fleet)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def _cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_demand_json(capsys):
    code, out, err = _cli(capsys, *NOTE_VINTAGE, "demand", "--scenario", "history", "--format",
                          "json", "--set",
                          "demand.tokens.growth_annual=0.0", "--set",
                          "demand.tokens.initial_stock_tn=2.0", "--set", f"demand.runs={ONE_RUN}")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["token_target_reached"] == "2023Q4"
    assert doc["inference_yield_m_per_eflops_quarter"] > 0
    first = doc["quarters"][0]
    for key in ["period", "token_stock_tn_tokens", "training_demand_eflops",
                "inference_demand_eflops", "leasing_demand_eflops", "total_demand_eflops"]:
        assert key in first
    assert first["period"] == "2023Q3"
    assert first["token_stock_tn_tokens"] == pytest.approx(8.0)  # 2 + 3 x 2
    q1 = next(r for r in doc["quarters"] if r["period"] == "2024Q1")
    assert q1["training_demand_eflops"] == pytest.approx(6e24 / (7_889_400 * 0.4) / 1e18, rel=1e-9)
    for r in doc["quarters"]:
        assert r["total_demand_eflops"] == pytest.approx(
            r["training_demand_eflops"] + r["inference_demand_eflops"] + r["leasing_demand_eflops"])
    run = doc["runs"][0]
    assert set(["name", "params_bn", "tokens_tn_tokens", "flop", "start", "end", "mfu",
                "effective_eflops", "days_at_base_fleet"]) <= set(run)
    assert run["flop"] == pytest.approx(6.0e24)
    # the yield reproduces 1H23 GenAI revenue on the fleet in use
    assert (doc["inference_yield_m_per_eflops_quarter"]
            * doc["calibration_fleet_in_use_eflops"] * 2) == pytest.approx(0.203 * 1400)


def test_cli_demand_csv_prints_quarters(capsys):
    code, out, err = _cli(capsys, "demand", "--format", "csv")
    assert code == 0, err
    header = out.splitlines()[0].split(",")
    assert header[0] == "period" and "total_demand_eflops" in header
    code, out, _ = _cli(capsys, "demand", "--format", "csv", "--table", "runs")
    assert code == 0 and out.splitlines()[0].startswith("name,")



@pytest.mark.parametrize(("sets", "needle"), [
    ('demand.runs=[{name="x", params_bn=100, tokens_tn=-5, start="2024Q1", '
     'duration_quarters=1, mfu=0.4}]', "tokens_tn"),
    ("demand.tokens.per_month_tn=-2", "per_month_tn"),
    ("demand.tokens.initial_stock_tn=-1", "initial_stock_tn"),
    ('demand.runs=[{name="x", params_bn=100, tokens_tn=10, start="2024Q1", '
     'duration_quarters=1, mfu=1.2}]', "mfu"),
    ('demand.runs=[{name="x", params_bn=100, tokens_tn=10, start="2024Q1", '
     'duration_quarters=1, mfu=0}]', "mfu"),
    ('demand.runs=[{name="x", params_bn=100, tokens_tn=10, start="2024Q3", end="2024Q1", '
     'mfu=0.4}]', "before it starts"),
    ('demand.runs=[{name="x", params_bn=100, tokens_tn=10, tokens_per_param=20, '
     'start="2024Q1", duration_quarters=1, mfu=0.4}]', "exactly one of tokens_tn"),
    ('demand.inference.method="magic"', "method"),
])
def test_cli_bad_inputs_one_line_exit_2(capsys, sets, needle):
    code, out, err = _cli(capsys, "demand", "--set", sets)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("capacity: ")
    assert needle in lines[0]


def test_cli_bad_run_in_scenario_file(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'description = "a run that ends before it starts"\n'
        'extends = "history"\n'
        "[set]\n"
        '"demand.runs" = [{name = "late", params_bn = 100, tokens_tn = 10, start = "2025Q1", '
        'end = "2024Q4", mfu = 0.4}]\n')
    code, out, err = _cli(capsys, "demand", "--scenario", str(path))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "bad.toml" in lines[0] and "before it starts" in lines[0]


def test_duplicate_run_names_rejected(capsys):
    two = ('demand.runs=[{name="x", params_bn=1, tokens_tn=1, start="2024Q1", '
           'duration_quarters=1, mfu=0.4}, {name="x", params_bn=1, tokens_tn=1, '
           'start="2024Q2", duration_quarters=1, mfu=0.4}]')
    code, _, err = _cli(capsys, "demand", "--set", two)
    assert code == 2 and "duplicate run name" in err
