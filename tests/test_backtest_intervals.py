"""Prediction intervals of the rolling backtest (issue 26): per-row draws, percentiles, the
Wilson interval, the interval score, the fan of a vintage, and the rolling table's columns.

Numbers are worked out by hand in the comments; the fan runs 4 to 10 draws only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from capacity import backtest_intervals as bi
from capacity import backtesting as bt
from capacity.montecarlo.fan import Fan, vintage_fan, vintage_specs
from capacity.scenarios import load_scenario

Q = lambda s: pd.Period(s, freq="Q")  # noqa: E731


def _fan() -> Fan:
    # three draws over 2024Q1..2024Q2; revenue and GenAI per quarter
    rev = np.array([[100.0, 200.0], [110.0, 220.0], [90.0, 180.0]])
    gen = np.array([[50.0, 100.0], [66.0, 110.0], [45.0, 45.0]])
    gpus = np.array([[10.0, 20.0], [12.0, 24.0], [8.0, 16.0]])
    return Fan(periods=["2024Q1", "2024Q2"],
               series={"revenue_m": rev, "genai_revenue_m": gen, "gpus_units": gpus,
                       "peak_eflops": gpus / 10, "gross_profit_m": rev / 2},
               specs=[], notes=[])


def _points() -> tuple[pd.DataFrame, pd.DataFrame]:
    idx = pd.PeriodIndex(["2023Q4", "2024Q1", "2024Q2"], freq="Q", name="period")
    stocks = pd.DataFrame({"gpus_units": [5.0, 10.0, 20.0],
                           "computing_power_eflops": [0.5, 1.0, 2.0],
                           "basis": ["calibration", "plan", "plan"]}, index=idx)
    flows = pd.DataFrame({"revenue_m": [80.0, 100.0, 200.0],
                          "genai_revenue_m": [40.0, 50.0, 100.0],
                          "gross_profit_m": [40.0, 50.0, 100.0],
                          "basis": ["finance"] * 3}, index=idx)
    return stocks, flows


def test_row_draws_follow_the_comparison_rules_per_draw():
    fan, (stocks, flows) = _fan(), _points()
    # stock at the span's last quarter: 2024Q2 of each draw
    d = bi.row_draws("gpus_units", "stock", Q("2024Q1"), Q("2024Q2"), fan, stocks, flows)
    assert d.tolist() == [20.0, 24.0, 16.0]
    # flow: sum over 2024Q1..Q2 per draw: 300, 330, 270
    d = bi.row_draws("revenue_m", "flow", Q("2024Q1"), Q("2024Q2"), fan, stocks, flows)
    assert d.tolist() == [300.0, 330.0, 270.0]
    # a quarter before the fan comes from the point path: 80 + 100 / 80 + 110 / 80 + 90
    d = bi.row_draws("revenue_m", "flow", Q("2023Q4"), Q("2024Q1"), fan, stocks, flows)
    assert d.tolist() == [180.0, 190.0, 170.0]
    # ratio of sums, not a mean of ratios: (50 + 100) / 300, (66 + 110) / 330, 90 / 270
    d = bi.row_draws("genai_share", "ratio", Q("2024Q1"), Q("2024Q2"), fan, stocks, flows)
    assert d == pytest.approx([0.5, 176 / 330, 1 / 3])
    # no rule (a metric the fan does not carry) or no fan: no interval
    assert bi.row_draws("net_loss_m", "flow", Q("2024Q1"), Q("2024Q2"), fan, stocks,
                        flows) is None
    assert bi.row_draws("gpus_units", "stock", Q("2024Q1"), Q("2024Q2"), None, stocks,
                        flows) is None


def test_percentiles_interpolate_linearly():
    # draws 1..11: the 10th percentile is 2, the median 6, the 90th 10
    assert bi.percentiles(np.arange(1.0, 12.0)) == (2.0, 6.0, 10.0)
    assert all(math.isnan(x) for x in bi.percentiles(None))


def test_wilson_interval_by_hand():
    # k = 4, n = 5, z = 1.96: d = 1 + 3.8415/5 = 1.7683, c = (0.8 + 0.38415) / 1.7683 = 0.66965,
    # h = 1.96 / 1.7683 * sqrt(0.16/5 + 3.8415/100) = 1.10841 * 0.265358 = 0.29413
    lo, hi = bi.wilson_interval(4, 5)
    assert lo == pytest.approx(0.37552, abs=2e-5) and hi == pytest.approx(0.96378, abs=2e-5)
    # 0 of 3: (0, z^2 / (n + z^2)) = 3.8415 / 6.8415 = 0.56150
    lo, hi = bi.wilson_interval(0, 3)
    assert lo == 0.0 and hi == pytest.approx(0.56150, abs=2e-5)


def test_interval_score_by_hand():
    # width 20; alpha 0.2 puts 2 / 0.2 = 10 on each unit of miss
    assert bi.interval_score(90.0, 110.0, 100.0) == 20.0
    assert bi.interval_score(90.0, 110.0, 120.0) == 20.0 + 10 * 10
    assert bi.interval_score(90.0, 110.0, 85.0) == 20.0 + 10 * 5


def test_coverage_counts_rows_inside_the_band():
    rows = pd.DataFrame({"p10": [90.0, 90.0, 90.0, np.nan], "p90": [110.0, 110.0, 110.0, 1.0],
                         "actual": [100.0, 110.0, 120.0, 5.0]})
    c = bi.coverage(rows)
    assert (c["n_intervals"], c["n_inside"]) == (3, 2)  # the row without p10 is left out
    assert c["coverage_80"] == pytest.approx(2 / 3)
    # IS / |y|: 20/100, 20/110, 120/120 -> mean of 20%, 18.18%, 100%
    assert c["interval_score_pct"] == pytest.approx((20 + 2000 / 110 + 100) / 3)


def test_rolling_rows_carry_the_band_and_the_summary_its_coverage():
    fan, (stocks, flows) = _fan(), _points()
    actuals = pd.DataFrame([
        {"period": "1H24", "first_quarter": Q("2024Q1"), "last_quarter": Q("2024Q2"),
         "span_quarters": 2, "metric": "revenue_m", "unit": "RMB m", "actual": 305.0,
         "source": "s", "published": "2024-08-27"},
        {"period": "2024Q2", "first_quarter": Q("2024Q2"), "last_quarter": Q("2024Q2"),
         "span_quarters": 1, "metric": "gpus_units", "unit": "units", "actual": 30.0,
         "source": "s", "published": "2024-08-27"}])
    rows = bt.rolling_rows("2024-03-31", Q("2023Q4"), actuals, stocks, flows, fan)
    # revenue draws 300, 330, 270: p10 = 276, p90 = 324; 305 is inside
    rev = rows.iloc[0]
    assert (rev["p10"], rev["p50"], rev["p90"]) == pytest.approx((276.0, 300.0, 324.0))
    assert bool(rev["inside_80"])
    assert not rows.iloc[1]["inside_80"]  # GPUs 16..24 draws, 30 is above
    s = bt.rolling_summary(rows).set_index("metric")
    assert s.at["revenue_m", "coverage_80"] == 1.0
    assert s.at["gpus_units", "coverage_80"] == 0.0
    pooled = bt.coverage_by_metric(rows).set_index("metric")
    assert pooled.at["all", "n_inside"] == 1 and pooled.at["all", "coverage_80"] == 0.5


def test_vintage_specs_draw_around_the_vintage_own_values():
    sc = load_scenario("baseline", as_of="2024-03-31")
    specs, _ = vintage_specs(sc)
    by = {s.key: s for s in specs}
    # traditional trend -0.349 plus a shift of -0.15 / 0 / +0.15
    assert by["finance.traditional_growth_annual"].params == pytest.approx((-0.499, -0.349,
                                                                             -0.199))
    # GenAI growth 1.999 in 2024 times 0.53 / 1 / 1.67; no year before the first planned one
    assert by["demand.revenue.growth_by_year.2024"].params == pytest.approx(
        (1.999 * 0.53, 1.999, 1.999 * 1.67))
    assert "demand.revenue.growth_by_year.2023" not in by


def test_the_fan_of_a_vintage_is_deterministic_and_moves_with_its_inputs():
    sc = load_scenario("baseline", as_of="2025-03-31")
    a = vintage_fan(sc, samples=4, seed=3)
    b = vintage_fan(sc, samples=4, seed=3)
    assert a.periods[0] == "2025Q1"
    for name, arr in a.series.items():
        assert arr.shape == (4, len(a.periods))
        np.testing.assert_array_equal(arr, b.series[name])
    # the draws of GenAI growth move GenAI revenue
    assert np.ptp(a.series["genai_revenue_m"][:, -1]) > 0


def _past(**extra):
    base = {
        "vintage": ["2023-08-31"] * 4,
        "metric": ["revenue_m", "revenue_m", "revenue_m", "gpus_units"],
        "status": ["compared"] * 4, "horizon_halves": [1, 4, 1, 1],
        "actual": [110.0, 100.0, 1.0, 50.0],
        "forecast": [100.0, 100.0 * math.e ** -2, 2.0, 50.0],
        "published": ["2024-03-26", "2024-03-26", "2025-08-28", "2024-03-26"]}
    base.update(extra)
    return pd.DataFrame(base)


def test_known_errors_hold_only_what_the_vintage_could_see():
    k = bi.known_errors(_past(), "2024-03-31")
    # the row published 2025-08-28 is not read; ln(110/100), ln(e^2) = 2, ln(1) = 0
    assert k["published"].tolist() == ["2024-03-26"] * 3
    assert k["log_error"].tolist() == pytest.approx([math.log(1.1), 2.0, 0.0])
    assert k["family"].tolist() == ["revenue", "revenue", "fleet"]
    # a row of the vintage itself (or a later one) is never an error it could have known
    assert bi.known_errors(_past(vintage=["2024-03-31"] * 4), "2024-03-31").empty
    assert bi.known_errors(None, "2024-03-31").empty


def test_error_pool_falls_back_from_metric_to_family_to_all():
    k = bi.known_errors(_past(), "2024-03-31")
    # revenue has 2 known errors (< MIN_POOL = 5), its family 'revenue' too: all 3 are pooled,
    # each +/- |e| carried to horizon 4 by sqrt(4 / h_j): 0.0953 x 2, 2 x 1, 0 x 2
    e, name = bi.error_pool(k, "revenue_m", 4)
    assert name == "all"
    assert sorted(e) == pytest.approx(sorted([-2 * math.log(1.1), 2 * math.log(1.1),
                                              -2.0, 2.0, 0.0, 0.0]))
    many = pd.concat([k] * 2, ignore_index=True)  # revenue 4, fleet 2: still all (6 >= 5)
    assert bi.error_pool(many, "gpus_units", 1)[1] == "all"
    more = pd.concat([k] * 3, ignore_index=True)  # revenue 6: its own pool
    e, name = bi.error_pool(more, "revenue_m", 1)
    assert name == "revenue_m" and len(e) == 12
    assert bi.error_pool(more, "genai_share", 1)[1] == "revenue"  # family: 6 revenue rows
    assert bi.error_pool(k.iloc[:0], "revenue_m", 1)[1] == "none"


def test_widened_band_by_hand():
    # draws 90, 100, 110 times exp(-0.1), exp(0), exp(+0.1): nine values
    draws = np.array([90.0, 100.0, 110.0])
    lo, mid, hi = bi.widened_band(draws, np.array([-0.1, 0.0, 0.1]))
    g = sorted(f * math.exp(e) for f in (90, 100, 110) for e in (-0.1, 0, 0.1))
    # 9 values, percentile 10 at position 0.8: g0 + 0.8 (g1 - g0); 90 at position 7.2
    assert lo == pytest.approx(g[0] + 0.8 * (g[1] - g[0]))
    assert hi == pytest.approx(g[7] + 0.2 * (g[8] - g[7]))
    # g = 81.44, 90, 90.48, 99.47, 99.53, 100, 110, 110.52, 121.57: the median is 110 e^-0.1
    assert mid == pytest.approx(110 * math.exp(-0.1))
    # lo = 81.44 + 0.8 x 8.56 = 88.29; hi = 110.52 + 0.2 x 11.05 = 112.73
    assert lo == pytest.approx(90 * math.exp(-0.1) + 0.8 * (90 - 90 * math.exp(-0.1)))
    assert (lo, hi) == pytest.approx((88.29, 112.73), abs=0.01)
    # no known error: the draws alone (the first vintage), p10 = 90 + 0.2 x 10 = 92
    assert bi.widened_band(draws, np.empty(0)) == pytest.approx((92.0, 100.0, 108.0))
    assert all(math.isnan(x) for x in bi.widened_band(None, np.array([0.1])))


def test_rolling_rows_widen_by_the_known_errors():
    fan, (stocks, flows) = _fan(), _points()
    actuals = pd.DataFrame([
        {"period": "2024Q2", "first_quarter": Q("2024Q2"), "last_quarter": Q("2024Q2"),
         "span_quarters": 1, "metric": "gpus_units", "unit": "units", "actual": 30.0,
         "source": "s", "published": "2024-08-27"}])
    known = pd.DataFrame({"vintage": ["2023-08-31"] * 5, "metric": ["gpus_units"] * 5,
                          "family": ["fleet"] * 5, "horizon_halves": [1] * 5,
                          "log_error": [0.5] * 5, "published": ["2024-03-26"] * 5})
    row = bt.rolling_rows("2024-03-31", Q("2023Q4"), actuals, stocks, flows, fan,
                          known).iloc[0]
    assert row["error_pool"] == "gpus_units" and row["n_known_errors"] == 10
    # GPUs draws 16..24 at h = 1 times exp(+/-0.5): p90 above 24 x e^0.5 x 0.9 > 30
    g = np.sort(np.concatenate([d * np.exp([-0.5] * 5 + [0.5] * 5)
                                for d in fan.series["gpus_units"][:, 1]]))
    assert row["p90"] == pytest.approx(np.percentile(g, 90))
    # by hand: 30 values in six blocks of five, 16e^-0.5 = 9.7045 .. 24e^0.5 = 39.569; p10 at
    # position 2.9 and p90 at 26.1 fall inside the first and the last block
    assert (row["p10"], row["p90"]) == pytest.approx((16 * math.exp(-0.5), 24 * math.exp(0.5)))
    assert bool(row["inside_80"])  # 9.70 <= 30 <= 39.57


def _misses() -> pd.DataFrame:
    # a broker 23% and the consensus 31% above the actual, as a results note reports them;
    # a third miss published after the vintage
    return pd.DataFrame({"published": ["2023-08-29", "2023-08-29", "2024-03-26"],
                         "source": ["note"] * 3, "metric": ["revenue_m"] * 3,
                         "period": ["1H23", "1H23", "FY23"],
                         "forecaster": ["broker", "consensus", "broker"],
                         "miss_pct": [-23.0, -31.0, 50.0], "horizon_halves": [1, 1, 2]})


def test_street_errors_are_the_misses_the_vintage_could_read():
    s = bi.street_errors(_misses(), "2023-08-31")
    # actual = estimate x (1 - 0.23): ln(0.77) = -0.2614; ln(0.69) = -0.3711
    assert s["log_error"].tolist() == pytest.approx([math.log(0.77), math.log(0.69)])
    assert s["vintage"].tolist() == ["broker", "consensus"]
    assert s["family"].tolist() == ["revenue", "revenue"]
    assert len(bi.street_errors(_misses(), "2024-03-31")) == 3
    assert bi.street_errors(None, "2023-08-31").empty
    assert bi.street_errors(_misses(), "2023-08-28").empty  # before the note


def test_error_pool_takes_the_street_prior_only_without_an_own_error():
    prior = bi.street_errors(_misses(), "2023-08-31")
    none = bi.known_errors(None, "2023-08-31")
    e, name = bi.error_pool(none, "gpus_units", 4, prior)
    # every metric borrows the prior; +/- |e| x sqrt(4 / 1) = 2 x 0.2614, 2 x 0.3711
    assert name == bi.PRIOR_POOL == "street"
    assert sorted(e) == pytest.approx(sorted(2 * np.array([math.log(0.77), math.log(0.69),
                                                          -math.log(0.77),
                                                          -math.log(0.69)])))
    assert bi.error_pool(none, "gpus_units", 1, prior.iloc[:0])[1] == "none"
    own = bi.known_errors(_past(), "2024-03-31")
    assert bi.error_pool(own, "revenue_m", 1, prior)[1] == "all"  # own errors win


def test_a_bad_street_miss_row_is_one_line_naming_it(tmp_path):
    from capacity.errors import InputError
    from capacity.scenarios.market import read_market

    head = "published,source,metric,period,forecaster,miss_pct,horizon_halves\n"
    for row, where in (("2023-08-29,s,revenue_m,1H23,b,-100,1", "miss_pct"),
                       ("2023-08-29,s,revenue_m,1H23,b,-20,0", "horizon_halves"),
                       ("2023-08-29,s,revenue_m,1H23,b,-20,1.5", "horizon_halves"),
                       ("2023-08-29,s,,1H23,b,-20,1", "metric"),
                       ("2023-13-29,s,revenue_m,1H23,b,-20,1", "published")):
        (tmp_path / "street_misses.csv").write_text(head + row + "\n")
        with pytest.raises(InputError, match=rf"street_misses\.csv line 2 {where}"):
            read_market(tmp_path)
    (tmp_path / "street_misses.csv").write_text(head + "2023-08-29,s,revenue_m,1H23,b,-20,1\n"
                                                "2023-08-29,s,revenue,1H23,b,-20,1\n")
    misses = read_market(tmp_path)["street_misses"]
    assert misses["miss_pct"].tolist() == [-20.0, -20.0]
    with pytest.raises(InputError, match=r"street_misses\.csv line 3 metric: 'revenue' is not"):
        bi.street_errors(misses, "2023-08-31")  # a typo of a metric name


def test_a_share_or_margin_band_stops_at_one():
    # draws 0.6, 0.8, 0.9 times exp(+/-0.5): 1.319, 1.484 exceed 1 and count as 1
    draws = np.array([0.6, 0.8, 0.9])
    errors = np.array([-0.5, 0.5])
    g = np.minimum(np.outer(draws, np.exp(errors)).ravel(), 1.0)
    # six values 0.364, 0.485, 0.546, 0.989, 1, 1: p90 at position 4.5 = 1
    assert bi.widened_band(draws, errors, 1.0) == pytest.approx(
        tuple(np.percentile(g, [10, 50, 90])))
    assert bi.widened_band(draws, errors, 1.0)[2] == 1.0
    # by hand: p10 = (0.36392 + 0.48522) / 2, p50 = (0.54587 + 0.98923) / 2, p90 = 1
    assert bi.widened_band(draws, errors, 1.0) == pytest.approx((0.42457, 0.76755, 1.0),
                                                                 abs=1e-5)
    assert bi.widened_band(draws, errors)[2] > 1.0  # a count or money amount has no bound
    assert bi.upper_bound("genai_share") == bi.upper_bound("gross_margin") == 1.0
    assert bi.upper_bound("revenue_m") is None and bi.upper_bound("no_such_metric") is None
