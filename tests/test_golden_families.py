"""A golden test for every constraint family: a tiny plan where it binds, solved by hand.

Each test builds a :class:`~capacity.planner.PlanData` of one or two chips and one to three
quarters, solves it through the planner's public path (:func:`capacity.planner.solve_data`,
HiGHS) and asserts the NPV, the primal values and the family's shadow price against numbers
worked out by hand in its docstring. Every quoted shadow price is asserted as the planner
reports it (``plan.binding``: the relax and tighten sides and the solver's dual) and confirmed
independently by moving the limit a small step and re-solving (``ΔNPV / Δlimit``): once on
the model's row (:func:`row_secant`) and, where the limit is an input (demand, rental cap,
access cap, budget, power), once on the input (:func:`input_secant`).

Conventions of every plan unless its test says otherwise: peak TFLOPS x efficiency 1.0, so a
chip of 1,000 TFLOPS has k = 1e-3 EFLOPS/unit; no electricity, no maintenance, no existing
fleet, discount 0, lead time 0, life 1 quarter (so no residual value); own training is worth
RMB 300 m per EFLOPS-quarter, leasing pays 200, renting costs 1,000 and is closed (cap 0),
tokens sell at RMB 0 m per tn. Under these, a unit of chip A (1,000 TFLOPS, training-fit,
RMB 0.2 m) trains 1e-3 EFLOPS worth 0.3 for a cost of 0.2: RMB 200 m per EFLOPS of capacity.

:data:`FAMILY_TESTS` maps every row family to its golden test;
:func:`test_every_family_has_a_golden_test` fails when the planner builds a family (in the
default plan or in a plan with every optional family) that has none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest

from capacity.planner import PlanData, build_model, solve_data
from capacity.planner.solve import solve

REL = 1e-8
"""Agreement asked of a solved number with the hand-worked one. [1]"""

STEP = 1e-3
"""Move of a limit for its secant, relative to max(1, |limit|). [1]"""


# --------------------------------------------------------------------------- tiny plans


@dataclass(frozen=True)
class Chip:
    """One chip of a tiny plan (scalars, or one value per quarter where noted).

    price: RMB m/unit per delivery quarter (None: not buyable); cap: units/quarter (None:
    uncapped); existing: units in service per quarter.
    """

    tflops: float = 1000.0
    fit: bool = True
    tau_tn: float = 0.0
    kw: float = 1.0
    life: int = 1
    lead: int = 0
    price: float | list | None = 0.2
    cap: float | list | None = None
    existing: float | list = 0.0
    maintenance: float = 0.0


def _per_quarter(v, n: int, missing=np.nan) -> list[float]:
    if v is None:
        return [missing] * n
    if np.ndim(v) == 0:
        return [float(v)] * n
    assert len(v) == n
    return [missing if x is None else float(x) for x in v]


def tiny(chips: dict[str, Chip], first: str = "2024Q1", n: int = 1, *, training=0.0,
         leasing=0.0, tokens=0.0, training_value=300.0, leasing_rate=200.0,
         rental_rate=1000.0, token_price=0.0, rental_cap=0.0, **overrides) -> PlanData:
    """A hand-sized plan: ``n`` quarters from ``first``; demand and rates per quarter (a
    scalar for every quarter, or a list)."""
    periods = pd.period_range(first, periods=n, freq="Q", name="period")
    names = list(chips)

    def s(attr, dtype=float):
        return pd.Series([getattr(chips[c], attr) for c in names], index=names, dtype=dtype)

    def grid(attr):
        return pd.DataFrame({c: _per_quarter(getattr(chips[c], attr), n) for c in names},
                            index=periods)

    q = lambda v: _per_quarter(v, n)  # noqa: E731
    kw = dict(
        periods=periods, chips=names, peak_tflops=s("tflops"),
        efficiency=pd.Series(1.0, index=names), training_fit=s("fit", bool),
        power_kw=s("kw"), life_quarters=s("life", int), lead_quarters=s("lead", int),
        price_m=grid("price"), cap_units=grid("cap"),
        existing_units=grid("existing").fillna(0.0),
        demand=pd.DataFrame({"training_demand_eflops": q(training),
                             "leasing_demand_eflops": q(leasing),
                             "inference_tn_tokens": q(tokens)}, index=periods),
        tokens_per_unit_tn=s("tau_tn"), maintenance_m=s("maintenance"),
        rates=pd.DataFrame({"training_value_m_per_eflops_quarter": q(training_value),
                            "leasing_m_per_eflops": q(leasing_rate),
                            "rental_m_per_eflops": q(rental_rate),
                            "token_price_per_m_tokens": q(token_price)}, index=periods),
        rental_cap_eflops=pd.Series(q(rental_cap), index=periods),
        discount_rate_annual=0.0, electricity_per_kwh=0.0)
    kw.update(overrides)
    return PlanData(**kw)


def df(t: float, rate: float = 0.10) -> float:
    """Discount factor t quarters after the first: (1 + rate) ** (-t / 4). [1]"""
    return (1.0 + rate) ** (-t / 4.0)


# --------------------------------------------------------------------------- reading


def units(plan, chip: str, period: str) -> float:
    """Units of ``chip`` delivered in ``period`` (0 when none)."""
    p = plan.purchases
    if p.empty:
        return 0.0
    sel = p[(p["chip"] == chip) & (p["period"] == pd.Period(period, freq="Q"))]
    return float(sel["units"].sum())


def binding(plan, constraint: str, period: str, chip: str = "") -> pd.Series:
    """The one binding-table record of a limit (fails when it does not bind)."""
    b = plan.binding
    sel = b[(b["constraint"] == constraint) & (b["period"] == period) & (b["chip"] == chip)]
    assert len(sel) == 1, f"{constraint} {period} {chip!r} does not bind:\n{b}"
    return sel.iloc[0]


def not_binding(plan, constraint: str, period: str, chip: str = "") -> None:
    b = plan.binding
    assert not ((b["constraint"] == constraint) & (b["period"] == period)
                & (b["chip"] == chip)).any(), f"{constraint} {period} {chip!r} binds"


def assert_price(plan, constraint: str, period: str, expected: float, chip: str = "",
                 tighten: bool = True) -> None:
    """The shadow price of one limit is ``expected`` [RMB m per limit unit]: as the planner
    reports it (quoted, relax and tighten sides, the solver's dual; ``tighten`` false where
    the limit cannot be tightened) and as re-solving with the row's bound moved finds it
    (:func:`row_secant`, a step up and, with ``tighten``, a step down)."""
    rec = binding(plan, constraint, period, chip)
    assert rec["shadow_price"] == pytest.approx(expected, rel=1e-7)
    assert rec["shadow_price_relax"] == pytest.approx(expected, rel=1e-7)
    assert rec["dual"] == pytest.approx(expected, rel=1e-7)
    assert not rec["degenerate"]
    assert row_secant(plan, constraint, period, chip) == pytest.approx(expected, rel=1e-7)
    if tighten:
        assert rec["shadow_price_tighten"] == pytest.approx(expected, rel=1e-7)
        assert row_secant(plan, constraint, period, chip, sign=-1.0) \
            == pytest.approx(expected, rel=1e-7)


def row_index(model, constraint: str, period: str, chip: str = "") -> int:
    """Model row of one labelled row (``constraint`` names one family's rows: the family,
    or ``training_demand``/``leasing_demand`` within ``demand``)."""
    lab = model.row_labels()
    when = lab["year"].astype("Int64").astype(str).where(lab["family"] == "budget",
                                                          lab["period"].astype(str)) \
        if "year" in lab else lab["period"].astype(str)
    sel = (lab["constraint"] == constraint) & (when == period)
    if chip:
        sel &= lab["chip"] == chip
    idx = np.flatnonzero(sel.to_numpy())
    assert len(idx) == 1, (constraint, period, chip)
    return int(idx[0])


def row_secant(plan, constraint: str, period: str, chip: str = "", sign: float = 1.0,
               step: float | None = None) -> float:
    """NPV change per unit the row's bound moves, by re-solving the plan's LP with the bound
    moved by ``sign`` x h: (NPV(b + h) - NPV(b)) / h, or (NPV(b) - NPV(b - h)) / h with
    ``sign`` -1. An equality row has both bounds moved. [RMB m/unit]"""
    model = plan.extra["lp_model"]
    i = row_index(model, constraint, period, chip)
    bound = model.row_upper[i]
    assert np.isfinite(bound)
    h = step if step is not None else STEP * max(1.0, abs(bound))
    up = model.row_upper.copy()
    up[i] += sign * h
    lo = model.row_lower.copy()
    if model.row_lower[i] == model.row_upper[i]:
        lo[i] += sign * h
    moved = solve(replace(model, row_lower=lo, row_upper=up))
    return sign * (moved.objective - plan.extra["lp_solution"].objective) / h


def input_secant(plan, data: PlanData, h: float, **changes) -> float:
    """NPV gain per unit of an input limit moved by ``h`` (``changes``: the moved numbers),
    re-planned from the inputs. [RMB m/unit]"""
    return (solve_data(data.with_numbers(**changes)).objective - plan.objective) / h


def moved_demand(data: PlanData, column: str, period: str, h: float) -> dict:
    dem = data.demand.copy()
    dem.at[pd.Period(period, freq="Q"), column] += h
    return {"demand": dem}


# --------------------------------------------------------------------------- the families


def test_fleet_balance_life_retirement_residual_and_discount():
    """fleet_balance: fleet[t] = fleet[t-1] + buy[t] - buy[t - life].

    Chip A (k = 1e-3, RMB 0.5 m), life 2 quarters, 2024Q1-Q3 (T = 3), discount 10 %/year:
    df1 = 1.1^-0.25 = 0.976454, df2 = 0.953463, df3 = 0.931012. Training demand 1 EFLOPS
    (1,000 units) each quarter at RMB 300 m per EFLOPS: a unit earns 0.3 a quarter.

    Residual (straight-line book, T - t quarters served, capped by what the unit earns leased
    out after T: 1e-3 EFLOPS x RMB 300 m = 0.3 a quarter of life left): bought in Q1 0, Q2 0,
    Q3 min(0.5 x (1 - 1/2), 0.3) = 0.25, worth 0.25 x df3 at the horizon end.
    - A unit bought in Q1 serves Q1 and Q2 (retires before Q3): 0.3 + 0.3 df1 - 0.5 =
      0.092936 > 0: buy 1,000.
    - Q3 needs 1,000 more: bought in Q3, 0.3 df2 - 0.5 df2 + 0.25 df3 = 0.042060 > 0; bought
      in Q2 it would be idle in Q2 (demand met) and cost 0.5 df1 for 0.3 df2: worse. Buy
      1,000 in Q3, none in Q2.
    NPV = 1000 x (0.3 + 0.3 df1 - 0.5 + (0.3 - 0.5) df2 + 0.25 df3) = 134.996 RMB m.

    Duals of the identity rows (gain per unit of new fleet that appears from nowhere in t and
    stays to the horizon end):
    - Q3 row: one unit less to buy in Q3: 0.5 df2 - 0.25 df3 = 0.243979.
    - Q1 row: one unit less to buy in Q1 and, as it never retires, one less in Q3:
      0.5 + 0.243979 = 0.743979.
    (The Q2 row sits on a kink: a unit more there saves only the Q3 purchase, a unit less
    needs a Q2 purchase; it is not asserted.)
    """
    life2 = Chip(price=0.5, life=2)
    data = tiny({"A": life2}, n=3, training=1.0, discount_rate_annual=0.10, leasing_rate=300.0)
    plan = solve_data(data)
    assert units(plan, "A", "2024Q1") == pytest.approx(1000.0)
    assert units(plan, "A", "2024Q2") == pytest.approx(0.0, abs=1e-6)
    assert units(plan, "A", "2024Q3") == pytest.approx(1000.0)
    fleet = plan.quarters["training_served_eflops"].tolist()
    assert fleet == pytest.approx([1.0, 1.0, 1.0])
    npv = 1000 * (0.3 + 0.3 * df(1) - 0.5 + (0.3 - 0.5) * df(2) + 0.25 * df(3))
    assert npv == pytest.approx(134.996, abs=1e-3)
    assert plan.objective == pytest.approx(npv, rel=REL)
    q3 = 0.5 * df(2) - 0.25 * df(3)
    assert q3 == pytest.approx(0.243979, abs=1e-6)
    # both ways (a unit more and a unit less in service give the same slope: no kink)
    for sign in (1.0, -1.0):
        assert row_secant(plan, "fleet_balance", "2024Q3", "A", sign) \
            == pytest.approx(q3, rel=1e-7)
        assert row_secant(plan, "fleet_balance", "2024Q1", "A", sign) \
            == pytest.approx(0.5 + q3, rel=1e-7)
    # the solver's dual of the identity agrees (HiGHS minimises -NPV: gain = -dual)
    sol, model = plan.extra["lp_solution"], plan.extra["lp_model"]
    for period, gain in (("2024Q1", 0.5 + q3), ("2024Q3", q3)):
        i = row_index(model, "fleet_balance", period, "A")
        assert -sol.row_dual[i] == pytest.approx(gain, rel=1e-7)
    # an identity is not a limit: never in the binding table
    assert not (plan.binding["constraint"] == "fleet_balance").any()


def test_residual_is_what_the_unit_still_earns_at_the_market_rate():
    """residual[c, t] = min(price x book, sum_j max(0, k lease[T-1] q^(j+1) - run) df(j)).

    The plan above with the leasing rate at RMB 200 m per EFLOPS-quarter: a unit bought in Q3
    earns 1e-3 x 200 = 0.2 in its one quarter of life after T, below its book value 0.25, so
    residual = 0.2 and the Q3 purchase is worth 0.3 df2 - 0.5 df2 + 0.2 df3 = -0.004490 < 0:
    not bought, and Q3's training goes unmet. NPV = 1000 x (0.3 + 0.3 df1 - 0.5) = 92.936.

    A falling rate path: life 4, T = 3, leasing 200, 180, 162 (q = 0.9), k = 1e-3, running
    cost 0.01 a quarter (maintenance), no discounting. A unit bought in Q3 has 3 quarters left:
    earn = (0.1458 - 0.01) + (0.13122 - 0.01) + (0.118098 - 0.01) = 0.365118, below its book
    0.5 x (1 - 1/4) = 0.375.
    """
    from capacity.planner.objective import residual_value_m
    from capacity.planner.variables import buy_vars

    data = tiny({"A": Chip(price=0.5, life=2)}, n=3, training=1.0, discount_rate_annual=0.10,
                leasing_rate=200.0)
    plan = solve_data(data)
    assert units(plan, "A", "2024Q3") == pytest.approx(0.0, abs=1e-6)
    assert 0.3 * df(2) - 0.5 * df(2) + 0.2 * df(3) == pytest.approx(-0.004490, abs=1e-6)
    assert plan.objective == pytest.approx(1000 * (0.3 + 0.3 * df(1) - 0.5), rel=REL)
    assert plan.quarters["training_shortfall_eflops"].tolist() == pytest.approx([0, 0, 1.0])

    falling = tiny({"A": Chip(price=0.5, life=4, maintenance=0.01)}, n=3,
                   leasing_rate=[200.0, 180.0, 162.0])
    a = falling.arrays
    buy = buy_vars(a)
    res = residual_value_m(a, buy)
    q3 = int(np.flatnonzero(buy.t == 2)[0])
    assert res[q3] == pytest.approx(0.365118, rel=1e-9)
    q1 = int(np.flatnonzero(buy.t == 0)[0])  # 1 quarter left: min(0.5 x 1/4, 0.1358)
    assert res[q1] == pytest.approx(0.125, rel=1e-9)


def test_allocation_training_and_leasing_share_the_units():
    """allocation: train[c, t] + lease[c, t] - fleet[c, t] <= existing[c, t].

    1,000 existing units of A (k = 1e-3: 1 EFLOPS), nothing to buy. Training demand 0.6 EFLOPS
    at 300, leasing demand 0.6 at 200. The units go to training first (0.3 a unit against
    0.2): train 600 (0.6 EFLOPS, 180), lease the other 400 (0.4 EFLOPS, 80). NPV = 260.

    Duals (the basis train, lease, served_training, served_leasing is unique):
    - allocation: one more unit is leased: k x 200 = 0.2 per unit.
    - training row: one EFLOPS more of training capacity frees 1,000 units to lease: 200.
    - leasing row: one EFLOPS more served as leased: 200.
    - training demand: one EFLOPS more of it moves 1,000 units from leasing: 300 - 200 = 100.
    """
    data = tiny({"A": Chip(price=None, existing=1000.0)}, training=0.6, leasing=0.6)
    plan = solve_data(data)
    q = plan.quarters.iloc[0]
    assert plan.purchases.empty
    assert q["training_served_eflops"] == pytest.approx(0.6)
    assert q["leasing_served_eflops"] == pytest.approx(0.4)
    assert plan.objective == pytest.approx(0.6 * 300 + 0.4 * 200, rel=REL)
    assert_price(plan, "allocation", "2024Q1", 0.2, chip="A")
    assert_price(plan, "training", "2024Q1", 200.0)
    assert_price(plan, "leasing", "2024Q1", 200.0)
    assert_price(plan, "training_demand", "2024Q1", 100.0)
    not_binding(plan, "leasing_demand", "2024Q1")
    # moving the existing fleet moves the allocation row's right-hand side (tau = 0: no token
    # row moves with it): 1 unit more is leased, 0.2
    h = 1.0
    assert input_secant(plan, data, h, existing_units=data.existing_units + h) \
        == pytest.approx(0.2, rel=1e-7)


def test_training_row_runs_on_units_assigned_to_training():
    """training: served[training, t] - sum_c k[c] train[c, t] - rent[t] <= 0.

    1,000 existing units of A (1 EFLOPS), nothing to buy, training demand 2 EFLOPS at 300:
    every unit trains, 1 EFLOPS served, 1 unmet. NPV = 300.
    - training row: one EFLOPS more of training capacity serves one more EFLOPS: 300.
    - allocation: one more unit trains k = 1e-3 EFLOPS: 0.3 per unit.
    Training demand does not bind (1 EFLOPS short).
    """
    data = tiny({"A": Chip(price=None, existing=1000.0)}, training=2.0)
    plan = solve_data(data)
    q = plan.quarters.iloc[0]
    assert q["training_served_eflops"] == pytest.approx(1.0)
    assert q["training_shortfall_eflops"] == pytest.approx(1.0)
    assert plan.objective == pytest.approx(300.0, rel=REL)
    assert_price(plan, "training", "2024Q1", 300.0)
    assert_price(plan, "allocation", "2024Q1", 0.3, chip="A")
    not_binding(plan, "training_demand", "2024Q1")


def test_leasing_row_runs_on_units_leased_out():
    """leasing: served[leasing, t] - sum_c k[c] lease[c, t] <= 0.

    Chip B (1,000 TFLOPS, not training-fit, RMB 0.1 m: RMB 100 m per EFLOPS), leasing demand
    0.4 EFLOPS at 250: buy 400, lease all. NPV = 0.4 x (250 - 100) = 60.
    - leasing row: one EFLOPS more of leased capacity saves 1,000 units: 100.
    - leasing demand: one EFLOPS more is served by 1,000 more units: 250 - 100 = 150.
    - allocation: one more unit in service saves buying one: 0.1 per unit.
    """
    data = tiny({"B": Chip(fit=False, price=0.1)}, leasing=0.4, leasing_rate=250.0)
    plan = solve_data(data)
    assert units(plan, "B", "2024Q1") == pytest.approx(400.0)
    assert plan.quarters.iloc[0]["leasing_served_eflops"] == pytest.approx(0.4)
    assert plan.objective == pytest.approx(60.0, rel=REL)
    assert_price(plan, "leasing", "2024Q1", 100.0)
    assert_price(plan, "leasing_demand", "2024Q1", 150.0)
    assert_price(plan, "allocation", "2024Q1", 0.1, chip="B")
    # a chip not fit for training trains nothing, however valuable training is
    plan2 = solve_data(data.with_numbers(demand=data.demand.assign(training_demand_eflops=1.0)))
    assert plan2.quarters.iloc[0]["training_served_eflops"] == pytest.approx(0.0, abs=1e-9)
    assert plan2.objective == pytest.approx(60.0, rel=REL)


def test_tokens_row_serves_with_units_neither_training_nor_leased():
    """tokens: served[inference, t] + sum_c tau[c] (train + lease - fleet) <= sum_c tau[c]
    existing[c, t].

    100 existing units of B (not training-fit, tau = 0.01 tn a quarter, maintenance RMB 0.01 m
    a quarter), nothing to buy; token demand 3 tn at RMB 10 m per tn. The units serve
    100 x 0.01 = 1 tn, worth 10; the existing fleet's maintenance is a constant 100 x 0.01 = 1.
    NPV = 10 - 1 = 9.
    - tokens row: one tn more of serving capacity sells one tn more: 10 per tn.
    - allocation does not bind (no unit trains or is leased).
    """
    b = Chip(fit=False, tau_tn=0.01, price=None, existing=100.0, maintenance=0.01)
    data = tiny({"B": b}, tokens=3.0, token_price=10.0)
    plan = solve_data(data)
    q = plan.quarters.iloc[0]
    assert q["inference_served_tn_tokens"] == pytest.approx(1.0)
    assert q["inference_shortfall_tn_tokens"] == pytest.approx(2.0)
    assert plan.extra["objective_constant"] == pytest.approx(-1.0, rel=REL)
    assert plan.objective == pytest.approx(9.0, rel=REL)
    assert_price(plan, "tokens", "2024Q1", 10.0)
    not_binding(plan, "allocation", "2024Q1", "B")
    not_binding(plan, "token_demand", "2024Q1")


def test_token_demand_caps_tokens_served():
    """token_demand: served[inference, t] <= D_tokens[t].

    Chip B (not training-fit, tau = 0.01 tn, RMB 0.05 m: RMB 5 m per tn of capacity), token
    demand 2 tn at RMB 10 m per tn: buy 200 units. NPV = 2 x 10 - 200 x 0.05 = 10.
    - token demand: one tn more is served by 100 more units: 10 - 5 = 5 per tn.
    - tokens row: one tn more of capacity saves 100 units: 5 per tn.
    """
    data = tiny({"B": Chip(fit=False, tau_tn=0.01, price=0.05)}, tokens=2.0, token_price=10.0)
    plan = solve_data(data)
    assert units(plan, "B", "2024Q1") == pytest.approx(200.0)
    assert plan.quarters.iloc[0]["inference_served_tn_tokens"] == pytest.approx(2.0)
    assert plan.quarters.iloc[0]["served_revenue_m"] == pytest.approx(20.0)
    assert plan.objective == pytest.approx(10.0, rel=REL)
    assert_price(plan, "token_demand", "2024Q1", 5.0)
    assert_price(plan, "tokens", "2024Q1", 5.0)
    h = 0.01
    assert input_secant(plan, data, h, **moved_demand(data, "inference_tn_tokens", "2024Q1",
                                                      h)) == pytest.approx(5.0, rel=1e-7)


def test_demand_caps_training_and_leasing_served():
    """demand: served[w, t] <= D[w, t] for w in (training, leasing).

    Chip A (RMB 200 m per EFLOPS of capacity, training-fit, so it can also be leased out).
    Training demand 1 EFLOPS at 300, leasing demand 0.5 at 250: both are worth more than the
    capacity costs, so buy 1,500 units, train 1,000 and lease 500.
    NPV = 1 x (300 - 200) + 0.5 x (250 - 200) = 125.
    - training demand: 300 - 200 = 100 per EFLOPS; leasing demand: 250 - 200 = 50.
    """
    data = tiny({"A": Chip()}, training=1.0, leasing=0.5, leasing_rate=250.0)
    plan = solve_data(data)
    assert units(plan, "A", "2024Q1") == pytest.approx(1500.0)
    q = plan.quarters.iloc[0]
    assert q["training_served_eflops"] == pytest.approx(1.0)
    assert q["leasing_served_eflops"] == pytest.approx(0.5)
    assert plan.objective == pytest.approx(125.0, rel=REL)
    assert_price(plan, "training_demand", "2024Q1", 100.0)
    assert_price(plan, "leasing_demand", "2024Q1", 50.0)
    h = 0.01
    assert input_secant(plan, data, h, **moved_demand(data, "training_demand_eflops",
                                                      "2024Q1", h)) \
        == pytest.approx(100.0, rel=1e-7)
    assert input_secant(plan, data, h, **moved_demand(data, "leasing_demand_eflops", "2024Q1", h)) \
        == pytest.approx(50.0, rel=1e-7)


def test_rental_cap_binds_when_renting_is_cheaper():
    """rental: rent[t] <= cap[t].

    Chip A at RMB 0.4 m (400 per EFLOPS), renting at 300 per EFLOPS capped at 0.1, training
    demand 1 EFLOPS worth 600: rent 0.1 and buy 900 units.
    NPV = 600 - 0.1 x 300 - 900 x 0.4 = 210.
    - rental cap: one EFLOPS more rented replaces 1,000 units: 400 - 300 = 100 per EFLOPS.
    - training demand: one EFLOPS more is served by A: 600 - 400 = 200.
    """
    data = tiny({"A": Chip(price=0.4)}, training=1.0, training_value=600.0, rental_rate=300.0,
                rental_cap=0.1)
    plan = solve_data(data)
    assert units(plan, "A", "2024Q1") == pytest.approx(900.0)
    q = plan.quarters.iloc[0]
    assert q["rented_eflops"] == pytest.approx(0.1)
    assert q["rental_cost_m"] == pytest.approx(30.0)
    assert plan.objective == pytest.approx(210.0, rel=REL)
    assert_price(plan, "rental", "2024Q1", 100.0)
    assert_price(plan, "training_demand", "2024Q1", 200.0)
    h = 0.001
    rc = data.rental_cap_eflops + h
    assert input_secant(plan, data, h, rental_cap_eflops=rc) == pytest.approx(100.0, rel=1e-7)


def test_rental_cap_is_a_share_of_the_whole_fleet():
    """rental: rent[t] - s[t] sum_c k[c] fleet[c, t] <= s[t] existing_eflops[t].

    Chip A (k = 1e-3, RMB 0.2 m: 200 per EFLOPS), no existing fleet, renting at 100 per EFLOPS
    capped at s = 0.5 of the whole fleet's compute, training demand 1 EFLOPS worth 300. Rent
    as much as the cap allows: 1e-3 f + r = 1 and r = 0.5e-3 f, so f = 666.667 units and
    r = 0.333 EFLOPS. NPV = 300 - 0.2 x 666.667 - 100 x 0.333 = 133.333 (buying all of it:
    100). Rental cap: one EFLOPS more allowed saves 1 / 1.5e-3 units at 0.2 less 1/1.5 EFLOPS
    of own compute rented instead at 100: 0.1 x 666.667 = 66.667 per EFLOPS.
    """
    periods = pd.period_range("2024Q1", periods=1, freq="Q", name="period")
    data = tiny({"A": Chip(price=0.2)}, training=1.0, training_value=300.0, rental_rate=100.0,
                rental_cap=0.0, rental_cap_share=pd.Series([0.5], index=periods))
    plan = solve_data(data)
    assert units(plan, "A", "2024Q1") == pytest.approx(2000.0 / 3.0)
    assert plan.quarters.iloc[0]["rented_eflops"] == pytest.approx(1.0 / 3.0)
    assert plan.objective == pytest.approx(300.0 - 0.2 * 2000.0 / 3.0 - 100.0 / 3.0, rel=REL)
    assert_price(plan, "rental", "2024Q1", 0.1 / 1.5e-3)


def test_access_cap_limits_purchases():
    """access: buy[c, t] <= cap_units[c, t].

    Chip B (tau = 0.01 tn, RMB 0.05 m) capped at 100 units; token demand 2 tn at RMB 10 m per
    tn (200 units' worth). Buy the 100 allowed, serving 1 tn. NPV = 10 - 100 x 0.05 = 5.
    - access: one more unit serves 0.01 tn worth 0.1 for 0.05: 0.05 per unit.
    - tokens row: one tn more of capacity sells one more tn: 10 per tn.
    Token demand does not bind (1 tn unmet).
    """
    data = tiny({"B": Chip(fit=False, tau_tn=0.01, price=0.05, cap=100.0)}, tokens=2.0,
                token_price=10.0)
    plan = solve_data(data)
    assert units(plan, "B", "2024Q1") == pytest.approx(100.0)
    assert plan.quarters.iloc[0]["inference_served_tn_tokens"] == pytest.approx(1.0)
    assert plan.objective == pytest.approx(5.0, rel=REL)
    assert_price(plan, "access", "2024Q1", 0.05, chip="B")
    rec = binding(plan, "access", "2024Q1", "B")
    assert rec["limit"] == pytest.approx(100.0) and rec["limit_unit"] == "unit"
    assert_price(plan, "tokens", "2024Q1", 10.0)
    not_binding(plan, "token_demand", "2024Q1")
    # the value of one more unit, split by family: serves 0.01 tn at 10 (0.1), costs 0.05,
    # uses one unit of the cap (0.05): net 0 for a chip bought
    pv = plan.purchase_value.iloc[0]
    assert pv["served_value_m"] == pytest.approx(0.1, rel=1e-7)
    assert pv["cost_m"] == pytest.approx(0.05, rel=1e-7)
    assert pv["limit_access_m"] == pytest.approx(0.05, rel=1e-7)
    assert pv["net_value_m"] == pytest.approx(0.0, abs=1e-9)
    h = 1.0
    assert input_secant(plan, data, h, cap_units=data.cap_units + h) \
        == pytest.approx(0.05, rel=1e-7)


def test_budget_per_order_year_with_and_without_carry_over():
    """budget: sum_{order year = Y} price x buy <= B_Y (cumulative with carry-over).

    Chip A (RMB 0.2 m a unit), 2024Q4 and 2025Q1. Training demand 0.2 EFLOPS in 2024Q4 (200
    units, RMB 40 m) worth 400 (a unit nets 0.4 - 0.2 = 0.2), 1 EFLOPS in 2025Q1 worth 300
    (a unit nets 0.1: 0.5 per RMB m spent). Budget 2024: RMB 100 m, 2025: RMB 50 m.
    Without carry-over: 2024Q4 buys its 200 (40 of 100: slack); 2025Q1 spends its 50 on 250
    units. NPV = 200 x 0.2 + 250 x 0.1 = 65; the 2025 budget is worth 0.1 / 0.2 = 0.5 per
    RMB m, the 2024 one nothing.
    With carry-over the 60 left of 2024 roll into 2025 (rows: spend_2024 <= 100,
    spend_2024 + spend_2025 <= 150): 2025Q1 spends 110 on 550 units. NPV = 40 + 55 = 95; the
    cumulative 2025 limit (RMB 150 m) is worth 0.5 per RMB m, and so is one RMB m more of the
    2024 budget (it rolls into 2025).
    """
    data = tiny({"A": Chip()}, first="2024Q4", n=2, training=[0.2, 1.0],
                training_value=[400.0, 300.0], budget_m={2024: 100.0, 2025: 50.0})
    plan = solve_data(data)
    assert units(plan, "A", "2024Q4") == pytest.approx(200.0)
    assert units(plan, "A", "2025Q1") == pytest.approx(250.0)
    assert plan.objective == pytest.approx(65.0, rel=REL)
    assert_price(plan, "budget", "2025", 0.5)
    not_binding(plan, "budget", "2024")
    assert input_secant(plan, data, 1.0, budget_m={2024: 100.0, 2025: 51.0}) \
        == pytest.approx(0.5, rel=1e-7)
    assert input_secant(plan, data, 1.0, budget_m={2024: 101.0, 2025: 50.0}) \
        == pytest.approx(0.0, abs=1e-9)

    carry = data.with_numbers(budget_carryover=True)
    plan = solve_data(carry)
    assert units(plan, "A", "2024Q4") == pytest.approx(200.0)
    assert units(plan, "A", "2025Q1") == pytest.approx(550.0)
    assert plan.purchases["capex_m"].sum() == pytest.approx(150.0)
    assert plan.objective == pytest.approx(95.0, rel=REL)
    assert_price(plan, "budget", "2025", 0.5)
    assert binding(plan, "budget", "2025")["limit"] == pytest.approx(150.0)
    not_binding(plan, "budget", "2024")
    # one RMB m more in 2024 rolls into 2025 as well
    assert input_secant(plan, carry, 1.0, budget_m={2024: 101.0, 2025: 50.0}) \
        == pytest.approx(0.5, rel=1e-7)


def test_power_limit_with_an_existing_fleet_and_electricity():
    """power: sum_c fleet[c, t] kw[c] / 1000 <= max(MW[t], existing_mw[t]) - existing_mw[t].

    Chip A at 2 kW a unit, 1 MW available, 100 existing units of A (0.2 MW): 0.8 MW left for
    400 new units. Training demand 1 EFLOPS (1,000 units) at 300. Electricity RMB 0.5 per kWh;
    a quarter is 365.25 x 24 / 4 = 2,191.5 h, so a MW costs 2,191.5 x 1,000 x 0.5 / 1e6 =
    RMB 1.09575 m a quarter and a unit (2 kW) 0.0021915.
    All 500 units train (0.5 EFLOPS): NPV = 500 x 0.3 - 400 x 0.2 - 500 x 0.0021915
    = 150 - 80 - 1.09575 = 68.90425 (the existing 100 units' power, 0.21915, is the
    objective's constant).
    - power: one MW more is 500 units netting 0.3 - 0.2 - 0.0021915 = 0.0978085 each:
      48.90425 per MW. The stated limit is 1 MW (the existing draw added back).
    """
    data = tiny({"A": Chip(kw=2.0, existing=100.0)}, training=1.0,
                power_mw=pd.Series([1.0], index=pd.period_range("2024Q1", periods=1, freq="Q")),
                electricity_per_kwh=0.5)
    plan = solve_data(data)
    mw_cost = 2191.5 * 1000 * 0.5 / 1e6
    assert mw_cost == pytest.approx(1.09575)
    per_unit = 2.0 / 1000 * mw_cost
    assert units(plan, "A", "2024Q1") == pytest.approx(400.0)
    assert plan.quarters.iloc[0]["power_mw"] == pytest.approx(1.0)
    assert plan.extra["objective_constant"] == pytest.approx(-100 * per_unit, rel=REL)
    assert plan.objective == pytest.approx(500 * 0.3 - 400 * 0.2 - 500 * per_unit, rel=REL)
    assert plan.objective == pytest.approx(68.90425, rel=REL)
    gain = 500 * (0.3 - 0.2 - per_unit)
    assert gain == pytest.approx(48.90425)
    assert_price(plan, "power", "2024Q1", gain)
    rec = binding(plan, "power", "2024Q1")
    assert rec["limit"] == pytest.approx(1.0) and rec["limit_unit"] == "MW"
    # one more unit: trains 1e-3 EFLOPS (0.3, through the allocation row's dual), costs 0.2,
    # runs 0.0021915, draws 0.002 MW at 48.90425 (0.0978085): net 0
    pv = plan.purchase_value.iloc[0]
    assert pv["served_value_m"] == pytest.approx(0.3, rel=1e-7)
    assert pv["cost_m"] == pytest.approx(0.2, rel=1e-7)
    assert pv["running_cost_m"] == pytest.approx(per_unit, rel=1e-7)
    assert pv["limit_power_m"] == pytest.approx(0.002 * gain, rel=1e-7)
    assert pv["net_value_m"] == pytest.approx(0.0, abs=1e-9)
    h = 0.01
    assert input_secant(plan, data, h, power_mw=data.power_mw + h) \
        == pytest.approx(gain, rel=1e-7)


def test_lead_time_pays_at_order_and_books_the_order_year():
    """Lead time L: a delivery in t is ordered (and paid, and budgeted) in t - L.

    Chip A with L = 1, 2024Q4-2025Q2, discount 10 %/year (df1 = 0.976454, df2 = 0.953463);
    orders from 2024Q4 on, so nothing can be delivered in 2024Q4. Training demand 1 EFLOPS in
    2025Q1 and 2025Q2 (1,000 units each) at 300; life 1 quarter. Budget 2024: RMB 100 m;
    2025 unlimited.
    - Delivery 2025Q1 is ordered in 2024Q4, so it is paid at df(0) and counts against the
      2024 budget: 100 / 0.2 = 500 units, each netting 0.3 df1 - 0.2 = 0.092936.
    - Delivery 2025Q2 is ordered in 2025Q1 (no budget): 1,000 units netting
      0.3 df2 - 0.2 df1 = 0.090748.
    NPV = 500 x 0.092936 + 1000 x 0.090748 = 137.216.
    - budget 2024: one RMB m more buys 5 units for 2025Q1: 5 x 0.092936 = 0.464682 per RMB m.
    """
    data = tiny({"A": Chip(lead=1)}, first="2024Q4", n=3, training=[0.0, 1.0, 1.0],
                budget_m={2024: 100.0}, discount_rate_annual=0.10)
    a = data.arrays
    ci, ti = a.buyable
    assert [(a.chips[c], a.periods[t]) for c, t in zip(ci, ti, strict=True)] == \
        [("A", pd.Period("2025Q1", "Q")), ("A", pd.Period("2025Q2", "Q"))]
    plan = solve_data(data)
    assert units(plan, "A", "2025Q1") == pytest.approx(500.0)
    assert units(plan, "A", "2025Q2") == pytest.approx(1000.0)
    p = plan.purchases.set_index("period")
    assert p.loc[pd.Period("2025Q1", "Q"), "order_period"] == pd.Period("2024Q4", "Q")
    q1 = 0.3 * df(1) - 0.2
    q2 = 0.3 * df(2) - 0.2 * df(1)
    assert plan.objective == pytest.approx(500 * q1 + 1000 * q2, rel=REL)
    assert plan.objective == pytest.approx(137.216, abs=1e-3)
    assert_price(plan, "budget", "2024", q1 / 0.2)
    assert q1 / 0.2 == pytest.approx(0.464682, abs=1e-6)


def test_whole_lots_round_to_the_better_whole_server():
    """Lots: buy[c, t] = lot_units x n[c, t], n integer (the MIP), 8 units a lot.

    Chip A, training demand 0.1 EFLOPS (100 units = 12.5 lots) at 300 (0.3 a unit).
    - At RMB 0.2 m a unit: 12 lots (96 units) net 96 x 0.1 = 9.6; 13 lots (104 units, 4 idle)
      net 100 x 0.3 - 104 x 0.2 = 9.2: buy 12 lots. Relaxation: 12.5 lots, 100 x 0.1 = 10;
      gap (10 - 9.6) / 10 = 0.04.
    - At RMB 0.1 m: 12 lots net 96 x 0.2 = 19.2, 13 lots 30 - 10.4 = 19.6: buy 13 lots.
    - With an access cap of 100 units (RMB 0.2 m): 12 lots (13 would be 104 > 100), 9.6.
    - With a budget of RMB 10 m at 0.1 a unit (100 units): 12 lots, spend 9.6, 19.2.
    """
    data = tiny({"A": Chip()}, training=0.1)
    plan = solve_data(data, integer=True)
    assert units(plan, "A", "2024Q1") == pytest.approx(96.0)
    assert plan.objective == pytest.approx(9.6, rel=REL)
    assert plan.extra["relaxed_objective"] == pytest.approx(10.0, rel=REL)
    assert plan.extra["integrality_gap"] == pytest.approx(0.04, rel=1e-6)
    assert plan.extra["model"].integer.sum() == 1  # one lot column
    cheap = data.with_numbers(price_m=data.price_m * 0.5)
    plan = solve_data(cheap, integer=True)
    assert units(plan, "A", "2024Q1") == pytest.approx(104.0)
    assert plan.objective == pytest.approx(19.6, rel=REL)
    assert plan.quarters.iloc[0]["training_served_eflops"] == pytest.approx(0.1)
    capped = data.with_numbers(cap_units=data.cap_units.fillna(100.0))
    plan = solve_data(capped, integer=True)
    assert units(plan, "A", "2024Q1") == pytest.approx(96.0)
    assert plan.objective == pytest.approx(9.6, rel=REL)
    budgeted = cheap.with_numbers(budget_m={2024: 10.0},
                                  demand=cheap.demand.assign(training_demand_eflops=1.0))
    plan = solve_data(budgeted, integer=True)
    assert units(plan, "A", "2024Q1") == pytest.approx(96.0)
    assert plan.purchases["capex_m"].sum() == pytest.approx(9.6)
    assert plan.objective == pytest.approx(19.2, rel=REL)


# --------------------------------------------------------------------------- coverage

FAMILY_TESTS = {
    "fleet_balance": test_fleet_balance_life_retirement_residual_and_discount,
    "allocation": test_allocation_training_and_leasing_share_the_units,
    "training": test_training_row_runs_on_units_assigned_to_training,
    "leasing": test_leasing_row_runs_on_units_leased_out,
    "tokens": test_tokens_row_serves_with_units_neither_training_nor_leased,
    "token_demand": test_token_demand_caps_tokens_served,
    "demand": test_demand_caps_training_and_leasing_served,
    "rental": test_rental_cap_binds_when_renting_is_cheaper,
    "access": test_access_cap_limits_purchases,
    "budget": test_budget_per_order_year_with_and_without_carry_over,
    "power": test_power_limit_with_an_existing_fleet_and_electricity,
}
"""Row family -> its golden test in this file."""

FEATURE_TESTS = {
    "lead_time": test_lead_time_pays_at_order_and_books_the_order_year,
    "lots": test_whole_lots_round_to_the_better_whole_server,
}
"""Formulation features that are not a row family of their own -> their golden test."""


def built_families(data: PlanData) -> set[str]:
    """Distinct family names in the row-label table of ``data``'s model."""
    return set(build_model(data).row_labels()["family"])


def test_every_family_has_a_golden_test():
    """Every family the planner builds, for the default plan and for a tiny plan with every
    optional family (budget, power, caps), has a golden test here."""
    from capacity.planner import plan_data
    from capacity.scenarios import load_scenario

    full = tiny({"A": Chip(cap=10.0)}, training=1.0,
                budget_m={2024: 1.0},
                power_mw=pd.Series([1.0], index=pd.period_range("2024Q1", periods=1, freq="Q")))
    families = built_families(plan_data(load_scenario())) | built_families(full)
    missing = sorted(families - set(FAMILY_TESTS))
    assert not missing, f"row families without a golden test: {missing}"
    assert families >= {"fleet_balance", "budget", "power", "access"}
    stale = sorted(set(FAMILY_TESTS) - families)
    assert not stale, f"golden tests of families the planner no longer builds: {stale}"
    for test in (*FAMILY_TESTS.values(), *FEATURE_TESTS.values()):
        assert test.__name__.startswith("test_") and globals()[test.__name__] is test
