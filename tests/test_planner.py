"""The purchase LP on the shipped scenarios: balances recomputed from the output, MPS round trip,
and monotonicity properties (hypothesis)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capacity.chips import peak_tflops
from capacity.planner import plan, plan_data, solve_data
from capacity.scenarios import load_scenario, shipped_scenarios

TOL = 1e-6  # absolute tolerance on recomputed balances [EFLOPS, units, RMB m, MW]


@pytest.fixture(scope="module")
def hist_plan(history):
    return plan(history)


def test_plan_json_shape(run_json):
    out = run_json("plan", "--scenario", "history")
    assert out["status"] == "optimal"
    assert isinstance(out["objective_m"], float)
    assert set(out["quarters"][0]) >= {"period", "peak_eflops", "effective_eflops",
                                       "demand_eflops", "shortfall_eflops", "capex_m",
                                       "power_mw"}
    if out["purchases"]:
        assert set(out["purchases"][0]) >= {"period", "chip", "units", "capex_m"}
    assert all(set(b) >= {"constraint", "period", "chip", "limit", "set_key",
                          "shadow_price", "unit", "side", "degenerate"}
               for b in out["binding"])
    assert all(isinstance(b["set_key"], str) for b in out["binding"])
    assert set(out["purchase_value"][0]) >= {
        "period", "chip", "units", "served_value_m", "cost_m", "running_cost_m",
        "limits_m", "net_value_m"}


def lp_purchases(plan) -> pd.DataFrame:
    """The purchases the LP decided (committed orders left out)."""
    return plan.purchases[~plan.purchases["committed"].astype(bool)]


def test_committed_orders_are_data_with_their_source(hist_plan, history_plan_data, history):
    """The 1H23 pipeline (2 + 2 EFLOPS of A800 and H800 for 2023Q3, placed before the plan
    decides) is in the purchases as committed rows with the fleet.pipeline source, and in
    the existing fleet, not bought again; the LP orders only from the vintage quarter on."""
    p = hist_plan.purchases
    com = p[p["committed"].astype(bool)]
    assert sorted(com["chip"]) == ["A800", "H800"]
    assert (com["period"] == pd.Period("2023Q3", "Q")).all()
    rate = peak_tflops(history.catalog)
    for r in com.itertuples(index=False):
        assert r.units == pytest.approx(2.0 * 1e6 / rate[r.chip])
        assert r.source == history.source_of("fleet.pipeline") and r.source
        assert r.capex_m == 0.0
    first = pd.Period(history.as_of, "Q")
    assert (lp_purchases(hist_plan)["order_period"] >= first).all()
    assert history_plan_data.first_order_period == max(first, history_plan_data.periods[0])


def test_fleet_balance_recomputed(hist_plan, history_plan_data):
    """installed[c,t] = existing[c,t] + purchases delivered in (t - life_c, t]."""
    fleet = hist_plan.fleet.set_index(["period", "chip"])["units"]
    buys = lp_purchases(hist_plan)  # committed orders are in the existing fleet
    for t in history_plan_data.periods:
        for c in history_plan_data.chips:
            life = int(history_plan_data.life_quarters[c])
            alive = buys[(buys["chip"] == c) & (buys["period"] > t - life) & (buys["period"] <= t)]
            expected = history_plan_data.existing_units.at[t, c] + alive["units"].sum()
            got = fleet.get((t, c), 0.0)
            assert got == pytest.approx(expected, abs=TOL)


def test_compute_demand_and_power_balances(hist_plan, history_plan_data, history):
    q = hist_plan.quarters
    f = hist_plan.fleet
    rate = peak_tflops(history.catalog)
    peak = (f["units"] * f["chip"].map(rate)).groupby(f["period"]).sum() / 1e6
    eff = (f["units"] * f["chip"].map(rate) * f["chip"].map(history_plan_data.efficiency)
           ).groupby(f["period"]).sum() / 1e6
    assert np.allclose(q["peak_eflops"], peak.reindex(q.index), atol=TOL)
    assert np.allclose(q["effective_eflops"], eff.reindex(q.index), atol=TOL)
    # work served: at most the demand, shortfall = demand - served, and within capacity
    for w, unit in (("training", "eflops"), ("leasing", "eflops"), ("inference", "tn_tokens")):
        served, dem = q[f"{w}_served_{unit}"], q[f"{w}_demand_{unit}"]
        assert (served >= -TOL).all() and (served <= dem + TOL).all(), w
        assert np.allclose(q[f"{w}_shortfall_{unit}"], dem - served, atol=TOL), w
    # own training runs on training-fit units or rented compute; the rest serve leasing
    assert (q["training_served_eflops"] <= q["training_fit_eflops"] + q["rented_eflops"]
            + TOL).all()
    assert (q["training_served_eflops"] + q["leasing_served_eflops"]
            <= q["effective_eflops"] + q["rented_eflops"] + TOL).all()
    assert (q["inference_served_tn_tokens"] <= q["token_capacity_tn_tokens"] + TOL).all()
    # the rental limit is a share of the whole fleet's effective compute (existing + bought)
    assert (q["rented_eflops"] <= history_plan_data.rental_cap_share * q["effective_eflops"]
            + TOL).all()
    # power: recomputed from units x kW, within the limit
    mw = (f["units"] * f["chip"].map(history_plan_data.power_kw)).groupby(f["period"]).sum() / 1000
    assert np.allclose(q["power_mw"], mw.reindex(q.index), atol=TOL)
    lim = q["power_limit_mw"].fillna(np.inf)
    assert (q["power_mw"] <= lim + TOL).all()


def test_capex_and_budget_balances(hist_plan, history_plan_data):
    p = lp_purchases(hist_plan)
    assert np.allclose(p["capex_m"], p["units"] * p["all_in_cost_m_per_unit"])
    by_order = p.groupby("order_period")["capex_m"].sum()
    q = hist_plan.quarters
    assert q["capex_m"].sum() == pytest.approx(p["capex_m"].sum())
    for year, budget in history_plan_data.budget_m.items():
        spent = by_order[[t.year == year for t in by_order.index]].sum()
        assert spent <= budget + TOL


def test_purchases_respect_access(hist_plan, history_plan_data):
    p = lp_purchases(hist_plan)
    for row in p.itertuples(index=False):
        assert history_plan_data.status.at[row.period, row.chip] != "banned"
        cap = history_plan_data.cap_units.at[row.period, row.chip]
        if not pd.isna(cap):
            assert row.units <= cap + TOL
        assert row.order_period >= history_plan_data.periods[0]


@pytest.mark.parametrize("name", ["history", "embargo-2024", "no-2023-update"])
def test_no_banned_purchases_in_shipped_scenarios(name):
    sc = load_scenario(name)
    data = plan_data(sc)
    result = solve_data(data)
    for row in result.purchases.itertuples(index=False):
        assert data.status.at[row.period, row.chip] != "banned", (name, row)


def test_save_mps_resolves_to_same_objective(tmp_path, run_cli):
    highspy = pytest.importorskip("highspy")

    def resolve(path):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(str(path))
        h.run()
        assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
        return h.getInfo().objective_function_value, h.getLp().integrality_

    # the LP (--continuous): its optimum is unique, so the file re-solves to it
    mps = tmp_path / "plan.mps"
    lpf = tmp_path / "plan.lp"
    code, out, err = run_cli("plan", "--continuous", "--save-mps", str(mps), "--save-lp",
                             str(lpf), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    # MPS files carry no objective constant (the existing fleet's power opex): add it back.
    objective = doc["objective_m"] - doc["objective_constant_m"]
    value, _ = resolve(mps)
    assert value == pytest.approx(objective, rel=1e-7)
    assert lpf.read_text().startswith("\\*")
    # whole servers (the default): the file holds the integer lots; a MIP solve stops within
    # the 1e-4 relative gap, so the two answers agree to that and neither beats the LP
    whole = tmp_path / "whole.mps"
    code, out, err = run_cli("plan", "--save-mps", str(whole), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    value, integrality = resolve(whole)
    assert any(int(i) == 1 for i in integrality)
    mip = doc["objective_m"] - doc["objective_constant_m"]
    assert value == pytest.approx(mip, rel=1e-4)
    assert max(value, mip) <= objective * (1 + 1e-9)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_stricter_regime_never_gives_more_npv():
    """The embargo only tightens access caps, so its NPV is at most history's, and no-2023-update
    (fewer rules) at least history's: each feasible set contains the next."""
    npv = {n: plan(load_scenario(n)).objective for n in ("embargo-2024", "history",
                                                       "no-2023-update")}
    assert npv["embargo-2024"] <= npv["history"] + TOL <= npv["no-2023-update"] + 2 * TOL


def test_max_compute_objective(history):
    r = plan(history, objective="max-compute")
    assert r.status == r.extra["solution"].status == "optimal"
    base = plan(history)
    # The most compute within budget is at least what the NPV-maximising plan delivers.
    assert r.quarters["effective_eflops"].sum() >= base.quarters["effective_eflops"].sum() - TOL


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scale_lo=st.floats(0.0, 2.0), extra=st.floats(0.0, 2.0))
def test_larger_budget_never_gives_less_compute(history_plan_data, scale_lo, extra):
    """Budget B1 <= B2: max-compute delivers no less, and the NPV is no lower."""
    b1 = {y: b * scale_lo for y, b in history_plan_data.budget_m.items()}
    b2 = {y: b * (scale_lo + extra) for y, b in history_plan_data.budget_m.items()}
    lo = solve_data(history_plan_data.with_numbers(budget_m=b1), objective="max-compute")
    hi = solve_data(history_plan_data.with_numbers(budget_m=b2), objective="max-compute")
    assert hi.objective >= lo.objective - 1e-6 * max(1.0, abs(lo.objective))
    d1 = history_plan_data.with_numbers(budget_m=b1)
    d2 = history_plan_data.with_numbers(budget_m=b2)
    assert solve_data(d2).objective >= solve_data(d1).objective - 1e-6


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cap=st.floats(0.0, 5000.0), extra=st.floats(0.0, 5000.0))
def test_looser_supply_caps_never_give_less_npv(history_plan_data, cap, extra):
    """Uniform per-quarter caps c1 <= c2 on every chip: NPV(c2) >= NPV(c1)."""
    def capped(c):
        caps = history_plan_data.cap_units.copy()
        banned = caps == 0
        caps[:] = c
        return history_plan_data.with_numbers(cap_units=caps.mask(banned, 0.0))
    assert solve_data(capped(cap + extra)).objective >= solve_data(capped(cap)).objective - 1e-6


@pytest.mark.parametrize("name", sorted(set(shipped_scenarios()) - {"history-uncertain"}))
def test_unmet_work_never_exceeds_the_demand_in_any_shipped_scenario(name):
    """Served work is at most the demand and unmet work at most the demand, every quarter, in
    every shipped scenario (issue 13: no training shortfall without training demand)."""
    from capacity.planner import gather

    data = gather(load_scenario(name)).data
    q = solve_data(data).quarters
    for w, unit in (("training", "eflops"), ("leasing", "eflops"), ("inference", "tn_tokens")):
        dem, short = q[f"{w}_demand_{unit}"], q[f"{w}_shortfall_{unit}"]
        assert ((short >= -TOL) & (short <= dem + TOL)).all(), (name, w)
    # compute put to work is the sum of its parts and never more than the compute there is
    parts = q["training_served_eflops"] + q["leasing_served_eflops"] + q["inference_served_eflops"]
    assert np.allclose(q["served_compute_eflops"], parts, rtol=0, atol=1e-12), name
    assert (q["served_compute_eflops"] <= q["effective_eflops"] + q["rented_eflops"] + TOL).all()
    assert (q["inference_served_eflops"] >= 0).all(), name
    assert (q.loc[q["inference_served_tn_tokens"] <= 0, "inference_served_eflops"] == 0).all()


def test_stricter_regime_never_serves_more_compute():
    """Issue 13: embargo-2024 <= history <= no-2023-update on compute put to work (training,
    leasing and the compute serving tokens, EFLOPS-quarters) as on NPV. Training and leasing
    alone do not order: the embargo fleet of domestic training-fit chips trains more (69.3
    against 68.1 EFLOPS-quarters) and serves half the tokens."""
    runs = {n: plan(load_scenario(n)) for n in ("embargo-2024", "history", "no-2023-update")}
    served = {n: float(p.quarters["served_compute_eflops"].sum()) for n, p in runs.items()}
    tokens = {n: float(p.quarters["inference_served_tn_tokens"].sum()) for n, p in runs.items()}
    assert served["embargo-2024"] < served["history"] < served["no-2023-update"]
    assert tokens["embargo-2024"] < tokens["history"] <= tokens["no-2023-update"] + TOL
    npv = {n: p.objective for n, p in runs.items()}
    assert npv["embargo-2024"] < npv["history"] < npv["no-2023-update"]


def test_a_solve_does_not_depend_on_what_the_thread_solved_before(history_plan_data):
    """solve() reuses one HiGHS per thread: the history LP solved after another model (a MIP
    and another scenario's LP) gives the same bytes as in a fresh HiGHS."""
    from capacity.planner import build_model
    from capacity.planner.solve import _run, highs, pass_model, solve

    lp = build_model(history_plan_data)
    fresh = highs()
    pass_model(fresh, lp)
    first = _run(fresh, lp, "history")
    solve(build_model(history_plan_data, integer=True))
    solve(build_model(plan_data(load_scenario("embargo-2024"))))
    again = solve(lp)
    for field in ("x", "row_dual", "col_dual", "row_activity"):
        assert np.array_equal(getattr(first, field), getattr(again, field)), field
    assert first.objective == again.objective
