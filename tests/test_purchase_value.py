"""Purchases are explained: the value of one more unit, split into parts that sum to the
solver's reduced cost, for every chip and quarter of the shipped scenarios."""

from __future__ import annotations

import numpy as np
import pytest
from test_planner_hand import DF_Q2, two_chip_data

from capacity.lp import available_solvers
from capacity.planner import build_model, plan, solve_data
from capacity.planner.duals import reduced_costs, substitution
from capacity.planner.export import solve_pulp
from capacity.planner.solve import solve
from capacity.scenarios import load_scenario

SCENARIOS = ["history", "no-2023-update", "embargo-2024", "h20-ban-stays", "h200-opens-2026",
             "domestic-squeeze"]

REL = 1e-6
"""Parts vs the solver's reduced cost, relative to the largest part. [1]"""

PARTS = ["served_value_m", "cost_m", "running_cost_m", "limits_m",
         "bound_value_m"]


def net_from_parts(v):
    return (v["served_value_m"] + v["bound_value_m"] - v["cost_m"]
            - v["running_cost_m"] - v["limits_m"])


@pytest.mark.parametrize("integer", [True, False], ids=["whole-servers", "continuous"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_parts_sum_to_the_solvers_reduced_cost(name, integer):
    # whole servers (the default) report the table of the continuous relaxation of the lots
    # model, since a MIP has no duals; --continuous that of the unit LP
    p = plan(load_scenario(name), integer=integer)
    model, sol = p.extra["lp_model"], p.extra["lp_solution"]
    v = p.purchase_value
    fam = model.family("buy")
    assert len(v) == len(fam)  # every buyable (chip, quarter), bought or not
    # c - A^T y from the model's arrays is HiGHS's own col_dual
    rc = reduced_costs(model, sol.row_dual)
    assert np.allclose(rc, sol.col_dual, rtol=0, atol=1e-9 * max(1.0, np.abs(rc).max()))
    # the table's rows are in (period, chip) order; HiGHS's reduced cost of each buy column
    key = {(str(t), c): -sol.col_dual[j] / fam.scale for c, t, j in
           zip(fam.labels["chip"], fam.labels["period"], model.columns_of("buy"), strict=True)}
    solver_net = np.array([key[(str(t), c)] for t, c in zip(v["period"], v["chip"],
                                                            strict=True)])
    scale = np.maximum(v[PARTS].abs().max(axis=1).to_numpy(), 1e-12)
    assert np.all(np.abs(v["net_value_m"] - solver_net) <= REL * scale)
    assert np.all(np.abs(net_from_parts(v) - v["net_value_m"]) <= REL * scale)
    limits = v[[c for c in v.columns if c.startswith("limit_")]].sum(axis=1)
    assert np.allclose(limits, v["limits_m"], rtol=1e-12, atol=1e-12)
    bought = v["units"] > 1e-6
    assert bought.any()
    assert np.all(np.abs(v.loc[bought, "net_value_m"]) <= REL * scale[bought])
    assert np.all(v.loc[~bought, "net_value_m"] <= REL * scale[~bought])
    assert (v["cost_m"] > 0).all() and (v["running_cost_m"] > 0).all()
    assert (v["limits_m"] >= -REL * scale).all()


def test_a_unit_bought_is_in_service_for_its_life(history_plan_data):
    """M (the fleet-balance identity solved for the fleet) puts one unit in fleet[c, t..t+L-1]."""
    model = build_model(history_plan_data)
    m = substitution(model).units()
    buy, fleet = model.family("buy"), model.family("fleet")
    life = history_plan_data.arrays.life_quarters
    T = len(model.periods)
    for j in range(len(buy)):
        c, t = buy.c[j], buy.t[j]
        ks = np.flatnonzero(m[:, j])
        assert np.all(m[ks, j] == 1.0)
        assert np.all(fleet.c[ks] == c)
        assert sorted(fleet.t[ks].tolist()) == list(range(t, min(t + life[c], T)))


def test_two_chip_purchase_value_by_hand():
    """The hand-worked two-chip plan (tests/test_planner_hand.py).

    One more B in 2024Q2 serves 0.004 tn of tokens worth 20 x df each (0.08 df), costs
    0.05 df, and the cap it sits on is worth 0.03 df: net 0. An A serves training whose marginal
    source in its quarter is an A itself (RMB 400 m per EFLOPS: 5e-4 x 400 = 0.20), so it is
    worth exactly its price: net 0 in both quarters.
    """
    p = solve_data(two_chip_data())
    v = p.purchase_value.set_index(["chip", p.purchase_value["period"].astype(str)])
    b = v.loc[("B", "2024Q2")]
    assert b["served_value_m"] == pytest.approx(0.08 * DF_Q2, rel=1e-9)
    assert b["cost_m"] == pytest.approx(0.05 * DF_Q2, rel=1e-9)
    assert b["limit_access_m"] == pytest.approx(0.03 * DF_Q2, rel=1e-9)
    assert b["running_cost_m"] == 0.0 and b["net_value_m"] == pytest.approx(0, abs=1e-12)
    for q, df in (("2024Q1", 1.0), ("2024Q2", DF_Q2)):
        a = v.loc[("A", q)]
        assert a["units"] == pytest.approx(1800.0)
        assert a["served_value_m"] == pytest.approx(0.20 * df, rel=1e-9)
        assert a["cost_m"] == pytest.approx(0.20 * df, rel=1e-9)
        assert a["net_value_m"] == pytest.approx(0, abs=1e-12)


def dual_signs_hold(model, sol) -> bool:
    """The row duals and reduced costs are those of a minimisation's optimum: <= 0 on an
    upper limit, >= 0 on a lower one, reduced costs >= 0 (every column sits at 0 or between
    its bounds) and 0 where the column is positive."""
    up = np.isfinite(model.row_upper) & (model.row_lower != model.row_upper)
    lo = ~np.isfinite(model.row_upper)
    d = sol.col_dual
    tol = 1e-7  # CBC reports duals to about 1e-8
    return bool(np.all(sol.row_dual[up] <= tol) and np.all(sol.row_dual[lo] >= -tol)
                and np.all(d >= -tol) and np.all(np.abs(d[sol.x > 1e-9]) <= tol))


needs_cbc = pytest.mark.skipif("cbc" not in available_solvers(),
                               reason="PuLP ships no CBC here (PuLP 4.x wheels)")


@needs_cbc
@pytest.mark.parametrize("objective", ["npv", "max-compute"])
def test_cbc_duals_read_as_highs_duals(objective):
    """CBC's pi and dj are brought to the convention of the minimisation HiGHS solves."""
    model = build_model(two_chip_data(budget_m={2024: 300.0}), objective)
    cbc = solve_pulp(model, "cbc")
    rc = reduced_costs(model, cbc.row_dual)
    # CBC prints its duals to 8 significant digits
    assert np.allclose(rc, cbc.col_dual, atol=1e-7 * max(1.0, np.abs(model.col_cost).max()))
    assert dual_signs_hold(model, cbc)
    assert dual_signs_hold(model, solve(model))


@needs_cbc
def test_cbc_and_highs_duals_agree_where_unique():
    """Where a row's shadow price is the same on both sides (not degenerate), the dual is
    unique, so CBC and HiGHS must report the same one."""
    from capacity.planner.model import row_names

    p = solve_data(two_chip_data())
    model = p.extra["model"]
    names = [n for f in model.rows for n in row_names(f)]
    unique = set(p.binding.loc[~p.binding["degenerate"], "name"])
    assert len(unique) >= 3
    rows = [i for i, n in enumerate(names) if n in unique]
    cbc, hi = solve_pulp(model, "cbc"), solve(model)
    assert np.allclose(cbc.row_dual[rows], hi.row_dual[rows], rtol=1e-6, atol=1e-8)
    assert cbc.objective == pytest.approx(hi.objective, rel=1e-9)
