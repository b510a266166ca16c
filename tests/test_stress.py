"""Stress tests: in-place re-solve vs a fresh build and solve, draws vs the full pipeline,
determinism across workers and executors, distributions, thresholds and errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from capacity import montecarlo as stress
from capacity.cli import main
from capacity.errors import InputError
from capacity.planner import build_model, plan, solve_data
from capacity.planner.model import renumber
from capacity.planner.solve import Resolver

REL = 1e-9
"""Relative tolerance between the re-solve and the reference path (float noise only)."""


@pytest.fixture(scope="module")
def template(history_plan_data):
    return build_model(history_plan_data)


# --------------------------------------------------------------------------------------------
# In-place re-solve == a fresh build and solve
# --------------------------------------------------------------------------------------------


def _perturbations(d):
    """A few PlanData with other numbers, same structure."""
    price = d.price_m.copy()
    price["Ascend910B"] = price["Ascend910B"] * 1.4
    cap = d.cap_units.copy()
    cap["Ascend910B"] = cap["Ascend910B"] * 0.5
    budget = {y: b * (0.6 if y == 2025 else 1.0) for y, b in d.budget_m.items()}
    return [
        d,
        d.with_numbers(price_m=price),
        d.with_numbers(cap_units=cap, budget_m=budget),
        d.with_numbers(demand=d.demand * 1.3, power_mw=d.power_mw * 1.2,
                       electricity_per_kwh=1.1, discount_rate_annual=0.05),
        d.with_numbers(power_kw=d.power_kw * 1.15, rates=d.rates * 0.7,
                       rental_cap_eflops=d.rental_cap_eflops * 2.0),
    ]


def test_resolve_in_place_matches_a_fresh_solve(history_plan_data, template):
    resolver = Resolver(template)
    # every perturbation, and the template again after them: a re-solve does not depend on
    # what was solved before it
    for i, d in enumerate([*_perturbations(history_plan_data), history_plan_data]):
        ref = solve_data(d)
        model = renumber(template, d.arrays)
        sol = resolver.solve(model)
        assert sol.objective == pytest.approx(ref.objective, rel=REL), i
        buy = template.family("buy")
        got = pd.Series(sol.x[model.columns_of("buy")],
                        index=pd.MultiIndex.from_arrays([buy.labels["period"],
                                                         buy.labels["chip"]]))
        got = got[got > 1e-6]
        own = ref.purchases[~ref.purchases["committed"].astype(bool)]
        want = own.set_index(["period", "chip"])["units"]
        assert set(got.index) == set(want.index), i
        assert np.allclose(got.reindex(want.index), want, rtol=1e-7, atol=1e-6), i
        # the model pushed in place is the model a fresh build makes from the same numbers
        fresh = build_model(d)
        for name in ("col_cost", "row_lower", "row_upper", "a_val"):
            assert np.allclose(getattr(model, name), getattr(fresh, name), rtol=1e-15,
                               atol=0.0), (i, name)


def test_resolve_refuses_another_structure(history_plan_data, template):
    price = history_plan_data.price_m.copy()
    price.iloc[:, 0] = np.nan if price.iloc[:, 0].notna().any() else 1.0
    with pytest.raises(ValueError, match="buyable"):
        renumber(template, history_plan_data.with_numbers(price_m=price).arrays)
    cap = history_plan_data.cap_units.copy()
    cap[:] = np.nan
    with pytest.raises(ValueError, match="rows"):
        renumber(template, history_plan_data.with_numbers(cap_units=cap).arrays)


# --------------------------------------------------------------------------------------------
# One draw == the full pipeline (plan + value) on the draw's inputs
# --------------------------------------------------------------------------------------------

TABLE = {
    "planner.price_usd.H20": {"p5": 10000, "p50": 11500, "p95": 13000},
    "controls.base_supply_units_per_quarter.Ascend910B": {"dist": "triangular", "low": 800,
                                                          "mode": 2000, "high": 3500},
    "planner.capex_budget_m.2025": {"p5": 2000, "p50": 3000, "p95": 4000},
    "planner.datacenter_mw.2025Q1": {"dist": "uniform", "low": 80, "high": 130},
    "planner.pue": {"dist": "uniform", "low": 1.2, "high": 1.5},
    "demand.tokens.growth_annual": {"p5": 0.2, "p50": 0.5, "p95": 1.0},
    "demand.runs.large_400b.mfu": {"dist": "triangular", "low": 0.25, "mode": 0.4, "high": 0.5},
    "demand.revenue.growth_by_year.2024": {"p5": 0.8, "p50": 1.5, "p95": 2.5},
    "demand.inference.calibration_fleet_share": {"dist": "uniform", "low": 0.3, "high": 0.7},
    "finance.ev_sales_multiple": {"p5": 5, "p50": 7.5, "p95": 10},
    "finance.traditional_growth_annual": {"dist": "normal", "mean": -0.15, "sd": 0.05},
    "rules.h20-licence-aug-2025.fee_revenue_share": {"dist": "uniform", "low": 0.1, "high": 0.25},
}


def test_draws_match_full_pipeline(history):
    from capacity.run import value_report

    specs = stress.parse_uncertain(TABLE)
    draws = stress.sample_draws(specs, 3, seed=11)
    ctx = stress.build_context(history, specs, draws.min(axis=0), draws.max(axis=0))
    h = stress.resolver_for(ctx)
    fee_col = [s.key for s in specs].index("rules.h20-licence-aug-2025.fee_revenue_share")
    for row in draws:
        k, series, _ = stress.evaluate_draw(ctx, h, row, "test draw")
        inputs = stress.draw_inputs(ctx, row, "test draw")
        rules = dict(history.rules)
        rules["h20-licence-aug-2025"] = rules["h20-licence-aug-2025"].model_copy(
            update={"fee_revenue_share": float(row[fee_col])})
        sc = history.with_inputs(inputs)
        sc = type(sc)(sc.name, sc.description, sc.inputs, sc.catalog, sc.disclosures, rules,
                      sc.changes, sc.sources, sc.files, sc.uncertain)
        # a draw re-solves the continuous relaxation (docs/model.md)
        relaxed = plan(sc, integer=False)
        q = relaxed.quarters
        v = value_report(sc, plan_result=relaxed).scalars
        for quarter in ("2023Q4", "2024Q4", "2025Q4"):
            p = pd.Period(quarter, freq="Q")
            assert k[f"peak_eflops_{quarter}"] == pytest.approx(q.at[p, "peak_eflops"], rel=REL)
            assert k[f"effective_eflops_{quarter}"] == pytest.approx(q.at[p, "effective_eflops"],
                                                                     rel=REL)
        assert k["total_capex_m"] == pytest.approx(q["capex_m"].sum(), rel=REL)
        # the NPV is unique; how the fleet splits its work between uses need not be (a
        # degenerate optimum), so the shortfall is not compared
        assert k["npv_m"] == pytest.approx(relaxed.objective, rel=1e-9)
        assert k["target_price"] == pytest.approx(v["target_price"], rel=REL)
        assert k["genai_share_2025"] == pytest.approx(v["genai_share_target_year"], rel=REL)
        assert np.allclose(series["effective_eflops"], q["effective_eflops"], rtol=REL)


def test_draw_demand_is_demand_table_of_the_draw(history):
    # one implementation (capacity.compute_demand.demand_arrays): what a draw passes it (the fixed
    # disclosures, quarter numbers and existing fleet in the context) must be what demand_table
    # passes it for the draw's scenario, so the numbers agree to the bit
    from capacity.compute_demand import demand_table
    from capacity.inputs import existing_fleet_eflops

    specs = stress.parse_uncertain({"demand.tokens.growth_annual":
                                    {"p5": 0.2, "p50": 0.5, "p95": 1.0}})
    ctx = stress.build_context(history, specs, np.array([0.2]), np.array([1.0]))
    fleet = existing_fleet_eflops(history)["effective_eflops"]
    for growth in (0.1, 0.9):
        inputs = stress.draw_inputs(ctx, np.array([growth]), "x")
        ref = demand_table(history.with_inputs(inputs), history.inputs.horizon.periods, fleet)
        got = stress.demand_numbers(ctx, inputs)
        plan_side = ["inference_demand_tn_tokens", "inference_demand_eflops",
                     "total_demand_eflops"]  # the plan's calculation, not demand_arrays'
        for col in ref.columns.drop(["existing_fleet_effective_eflops", *plan_side]):
            assert np.array_equal(got[col], ref[col].to_numpy()), col
        a = stress.draw_arrays(ctx, inputs, np.array([growth]), got)
        assert np.allclose(a.demand_inference_eflops, ref["inference_demand_eflops"],
                           rtol=1e-12, atol=0.0)


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------


def test_split_normal_hits_its_three_points():
    (spec,) = stress.parse_uncertain({"x": {"p5": 2.0, "p50": 5.0, "p95": 11.0}})
    x = spec.sample(np.random.default_rng(0), 200_000)
    # P(x <= p5) = 5%, P(x <= p50) = 50%, P(x <= p95) = 95% (sampling error ~0.1 pp)
    assert np.mean(x <= 2.0) == pytest.approx(0.05, abs=0.003)
    assert np.mean(x <= 5.0) == pytest.approx(0.50, abs=0.005)
    assert np.mean(x <= 11.0) == pytest.approx(0.95, abs=0.003)
    assert (spec.quantile(0.05), spec.quantile(0.5), spec.quantile(0.95)) == (2.0, 5.0, 11.0)


def test_named_distribution_quantiles():
    u, n, t = stress.parse_uncertain({
        "a": {"dist": "uniform", "low": 10, "high": 20},
        "b": {"dist": "normal", "mean": 1.0, "sd": 2.0},
        "c": {"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 2.0}})
    assert u.quantile(0.05) == pytest.approx(10.5)  # 10 + 0.05 x 10
    assert n.quantile(0.95) == pytest.approx(1.0 + 1.6448536 * 2.0)
    # symmetric triangle on [0, 2]: F(x) = x^2 / 2 below the mode, so p5 = sqrt(0.1)
    assert t.quantile(0.05) == pytest.approx(math.sqrt(0.1))
    assert t.quantile(0.5) == pytest.approx(1.0)


def test_same_seed_same_draws_nested_keys_flattened():
    nested = {"planner": {"pue": {"p5": 1.2, "p50": 1.3, "p95": 1.5}}}
    specs = stress.parse_uncertain(nested)
    assert [s.key for s in specs] == ["planner.pue"]
    a = stress.sample_draws(specs, 50, 3)
    assert np.array_equal(a, stress.sample_draws(specs, 50, 3))
    assert not np.array_equal(a, stress.sample_draws(specs, 50, 4))


@pytest.mark.parametrize("table, match", [
    ({"x": {"p5": 3, "p50": 2, "p95": 4}}, "p5 <= p50 <= p95"),
    ({"x": {"dist": "beta", "a": 1}}, "unknown distribution"),
    ({"x": {"p5": 1, "p50": 2}}, "missing 'p95'"),
    ({"x": {"p5": 1, "p50": "two", "p95": 3}}, "finite number"),
])
def test_bad_distribution_tables(table, match):
    with pytest.raises(InputError, match=match):
        stress.parse_uncertain(table)


# --------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------


def test_threshold_grammar():
    kpis = ["peak_eflops_2025Q4", "genai_share_2025", "target_price"]
    assert stress.parse_threshold("peak_eflops_2025Q4>=20", kpis) == (
        "peak_eflops_2025Q4", ">=", 20.0)
    # the older spelling kpi@period is an alias of the compare name
    assert stress.parse_threshold("peak_eflops@2025Q4 >= 20", kpis) == (
        "peak_eflops_2025Q4", ">=", 20.0)
    assert stress.parse_threshold("genai_share@2025<0.4", kpis) == ("genai_share_2025", "<", 0.4)
    assert stress.parse_threshold(" target_price < 1.5e0 ", kpis) == (
        "target_price", "<", 1.5)
    with pytest.raises(InputError, match="expected 'kpi OP number'"):
        stress.parse_threshold("peak_eflops_2025Q4 == 20", kpis)
    with pytest.raises(InputError, match="unknown KPI"):
        stress.parse_threshold("peak@2025Q4>=20", kpis)


# --------------------------------------------------------------------------------------------
# CLI end to end: shape, determinism, executors
# --------------------------------------------------------------------------------------------


def _run(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["stress", "--format", "json", *args])
    cap = capsys.readouterr()
    return code, (json.loads(cap.out) if code == 0 else None), cap.err


def test_cli_json_shape_and_identical_reruns(capsys):
    code, a, _ = _run(capsys, "--scenario", "history", "--samples", "40", "--seed", "7",
                      "--workers", "1")
    assert code == 0
    for key in ("samples", "seed", "percentiles", "thresholds", "binding_frequency", "tornado"):
        assert key in a
    assert a["samples"] == 40 and a["seed"] == 7
    assert a["percentile_draws"] == 40  # every draw, below EXACT_DRAWS
    assert a["uncertain_source"] == "history-uncertain"  # history has no table of its own
    kpis = {r["kpi"] for r in a["percentiles"]}
    assert {"peak_eflops_2025Q4", "effective_eflops_2024Q4", "total_shortfall_eflops_quarters",
            "total_capex_m", "genai_revenue_m_2025", "genai_share_2024",
            "target_price"} <= kpis
    for r in a["percentiles"]:
        assert r["p5"] <= r["p50"] <= r["p95"]
    assert [t["expr"] for t in a["thresholds"]] == ["peak_eflops_2025Q4>=20",
                                                   "genai_share_2025>=0.4"]
    assert all(0.0 <= r["share"] <= 1.0 for r in a["binding_frequency"])
    assert {r["constraint"] for r in a["binding_frequency"]} >= {"budget", "export rule", "power"}
    assert len(a["tornado"]) == 13
    # the multiple moves only the EV/Sales price, not the fleet or the headline (fleet DCF)
    mult = next(r for r in a["tornado"] if r["input"] == "finance.ev_sales_multiple")
    assert mult["effective_swing_eflops"] == 0.0
    assert mult["target_price_at_p95"] == mult["target_price_at_p5"]
    code, b, _ = _run(capsys, "--scenario", "history", "--samples", "40", "--seed", "7",
                      "--workers", "1")
    assert a == b


def test_cli_workers_and_dask_give_identical_json(capsys):
    code, one, _ = _run(capsys, "--samples", "60", "--seed", "5", "--workers", "1")
    assert code == 0
    code, two, _ = _run(capsys, "--samples", "60", "--seed", "5", "--workers", "2")
    assert code == 0
    assert one == two
    pytest.importorskip("distributed", reason="dask[distributed] not installed (the 'dask' "
                        "extra); the dask executor cannot be tested")
    code, dsk, err = _run(capsys, "--samples", "60", "--seed", "5", "--workers", "2",
                          "--executor", "dask")
    assert code == 0, err
    assert dsk == one


def test_cli_custom_threshold_probability_recomputed(capsys, tmp_path):
    # probability of TP >= its own median is 50% +/- one draw's share (1/40)
    code, a, _ = _run(capsys, "--samples", "40", "--seed", "1", "--workers", "1")
    med = next(r["p50"] for r in a["percentiles"] if r["kpi"] == "target_price")
    code, b, _ = _run(capsys, "--samples", "40", "--seed", "1", "--workers", "1",
                      "--threshold", f"target_price>={med}")
    assert code == 0
    assert b["thresholds"][0]["probability"] == pytest.approx(0.5, abs=1 / 40 + 1e-12)


def test_cli_scenario_uncertain_table_and_errors(capsys, tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('extends = "history"\n[uncertain]\n'
                 '"finance.ev_sales_multiple" = { dist = "uniform", low = 6.0, high = 9.0 }\n')
    code, a, _ = _run(capsys, "--scenario", str(f), "--samples", "30", "--seed", "2",
                      "--workers", "1")
    assert code == 0
    assert a["uncertain_source"] == "mine"
    assert [r["input"] for r in a["inputs"]] == ["finance.ev_sales_multiple"]
    # only the multiple varies: TP = (m S + cash) / shares / fx is linear in m, so the EV/Sales
    # TP percentiles sit at the same fractions of the [6, 9] range as the multiple's draws
    tp = next(r for r in a["percentiles"] if r["kpi"] == "target_price_ev_sales")
    eff = next(r for r in a["percentiles"] if r["kpi"] == "effective_eflops_2025Q4")
    assert eff["p5"] == eff["p95"]
    assert tp["p5"] < tp["p50"] < tp["p95"]

    bad = {
        "fleet.default_life_quarters": "calibrated existing fleet",
        "planner.lead_time_quarters.H20": "LP's structure",
        "demand.tokens.nope": "unknown input",
        "planner.price_usd.NoSuchChip": "unknown input",
        "planner.pue": None,
    }
    for key, match in bad.items():
        spec = '{ p5 = 1.2, p50 = 1.3, p95 = 9.0 }' if match is None else \
            '{ p5 = 1, p50 = 2, p95 = 3 }'
        f.write_text(f'extends = "history"\n[uncertain]\n"{key}" = {spec}\n')
        code, _, err = _run(capsys, "--scenario", str(f), "--samples", "5", "--workers", "1")
        assert code == 2, key
        assert err.startswith(f"capacity: uncertain.{key}:"), err
        assert err.count("\n") == 1
        if match:
            assert match in err
        else:  # pue > 2 (schema bound) drawn from the wide upper tail
            assert "outside the input's valid range" in err
    code, _, err = _run(capsys, "--samples", "5", "--threshold", "tp >> 2")
    assert code == 2 and "--threshold" in err


def test_cli_out_writes_fan_chart(capsys, tmp_path):
    out = tmp_path / "run"
    code = main(["stress", "--samples", "30", "--seed", "4", "--workers", "1", "--format", "csv",
                 "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out.startswith("kpi,unit,p5,p50,p95,mean")
    assert (out / "stress_fan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fan = pd.read_csv(out / "fan.csv")
    assert set(fan["series"]) == {"peak_eflops", "effective_eflops", "genai_revenue_m"}
    assert (fan["p5"] <= fan["p25"]).all() and (fan["p75"] <= fan["p95"]).all()


def test_a_draw_does_not_depend_on_its_batch(history):
    """Every draw starts from the template's basis: cutting the same draws into other batches
    (or solving them in another order) gives the same numbers to the bit."""
    specs = stress.parse_uncertain(TABLE)
    draws = stress.sample_draws(specs, 12, seed=5)
    ctx = stress.build_context(history, specs, draws.min(axis=0), draws.max(axis=0))
    whole = stress.evaluate_batch(ctx, 0, draws)
    parts = [stress.evaluate_batch(ctx, 0, draws[:7]), stress.evaluate_batch(ctx, 7, draws[7:])]
    backwards = stress.evaluate_batch(ctx, 0, draws[::-1])
    for name, got in whole.kpis.items():
        assert np.array_equal(got, np.concatenate([p.kpis[name] for p in parts])), name
        assert np.array_equal(got, backwards.kpis[name][::-1]), name
    assert np.array_equal(whole.binding, np.concatenate([p.binding for p in parts]))


@pytest.mark.parametrize(("samples", "size"), [(1, 25), (1600, 25), (1601, 26), (64_000, 1000),
                                               (10**7, 1000)])
def test_batch_size_adapts_to_the_number_of_draws(samples, size):
    from capacity.montecarlo.run import batch_size_for

    assert batch_size_for(samples) == size


def test_worker_reductions_are_the_same_for_any_split_and_keep_a_subsample(history,
                                                                         monkeypatch):
    """Workers reduce their batches; merged in batch order the result is the same bytes for
    1 and 2 workers and inline, and a run over EXACT_DRAWS keeps every stride-th draw for the
    percentiles while thresholds, binding shares and means use every draw."""
    from capacity.montecarlo import reduce

    monkeypatch.setattr(reduce, "EXACT_DRAWS", 10)  # 30 draws: keep draws 0, 3, 6, ...
    specs = stress.parse_uncertain(TABLE)
    runs = [stress.run_stress(history, specs, 30, 4, executor=ex, workers=w)
            for ex, w in (("inline", 1), ("processes", 2))]
    for name in ("percentiles", "thresholds", "binding_frequency", "tornado", "fan"):
        a, b = (getattr(r, name).to_json(double_precision=15) for r in runs)
        assert a == b, name
    draws = stress.sample_draws(specs, 30, 4)
    q = {p: np.array([s.quantile(p) for s in specs]) for p in (0.05, 0.95)}
    ctx = stress.build_context(history, specs, np.minimum(draws.min(axis=0), q[0.05]),
                               np.maximum(draws.max(axis=0), q[0.95]))
    every = stress.evaluate_batch(ctx, 0, draws)
    pct = runs[0].percentiles.set_index("kpi")
    tp = every.kpis["target_price"]
    assert pct.at["target_price", "p50"] == np.percentile(tp[::3], 50)
    assert stress.to_report(runs[0], history, "test").scalars["percentile_draws"] == 10
    assert pct.at["target_price", "mean"] == pytest.approx(tp.mean(), rel=1e-12)
    bind = runs[0].binding_frequency.set_index("limit")["share"]
    assert np.array_equal(bind.to_numpy(), every.binding.mean(axis=0))
    thr = runs[0].thresholds.set_index("kpi")["probability"]
    assert thr["genai_share_2025"] == np.mean(every.kpis["genai_share_2025"] >= 0.4)



def test_an_uncertain_revenue_share_keeps_the_rules_duty(history):
    """history's h200-jan-2026 is a 25% duty and no revenue share. Drawing a share f = 0.2 for
    it, the H200 is priced at catalog x (1 + 0.25) / (1 - 0.2) = x1.5625, the price the full
    pipeline gives the same scenario with the share set: the draw keeps the duty."""
    from capacity.montecarlo.evaluate import demand_numbers, draw_arrays
    from capacity.planner import plan_data

    key = "rules.h200-jan-2026.fee_revenue_share"
    specs = stress.parse_uncertain({key: {"dist": "uniform", "low": 0.0, "high": 0.2}})
    lo, hi = np.array([0.0]), np.array([0.2])
    ctx = stress.build_context(history, specs, lo, hi)
    assert ctx.duty_rates == {"h200-jan-2026": 0.25}
    licensed = ctx.licence_rule == "h200-jan-2026"
    assert licensed.any()
    assert ctx.frame.price_factor[licensed] == pytest.approx(np.full(licensed.sum(), 1.25))
    inputs = stress.draw_inputs(ctx, hi, "share 0.2")
    got = draw_arrays(ctx, inputs, hi, demand_numbers(ctx, inputs))
    rules = dict(history.rules)
    rules["h200-jan-2026"] = rules["h200-jan-2026"].model_copy(
        update={"fee_revenue_share": 0.2})
    sc = type(history)(history.name, history.description, history.inputs, history.catalog,
                       history.disclosures, rules, history.changes, history.sources,
                       history.files, history.uncertain)
    full = plan_data(sc)
    c = ctx.chips.index("H200")
    want = full.price_m["H200"].reindex(full.periods).to_numpy(float)
    assert np.asarray(got.price_m)[:, c] == pytest.approx(want, rel=1e-12, nan_ok=True)
