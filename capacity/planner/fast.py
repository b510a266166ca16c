"""Re-solvable purchase LP: build once with PuLP, re-solve with new numbers in HiGHS.

A stress test solves the same LP structure thousands of times with different numbers (prices,
caps, demand, budget, power). Building the model through PuLP each time costs ~50 ms; HiGHS
re-solves a changed model in well under a millisecond. :class:`FastPlanner` therefore

1. builds the min-cost LP once with :func:`capacity.planner.build_problem` on a template
   :class:`~capacity.planner.data.PlanData`, writes it as MPS and loads it into ``highspy``;
2. maps every column and row back to its label from the stable names (``buy_<chip>_<t>``,
   ``fleet_<chip>_<t>``, ``shortfall_<k>_<t>``; ``training_demand_<t>``, ``total_demand_<t>``,
   ``access_<chip>_<t>``, ``budget_<Y>``, ``power_<t>``, ``fleet_balance_<chip>_<t>``);
3. per solve, recomputes from :class:`LPNumbers` only the numbers that can change and pushes
   them with ``changeColsCost``, ``changeRowsBounds`` and ``changeCoeff``:

   - cost: ``price[c, t] * df(t - L_c)`` on ``buy``; ``df(t) * opex_per_mw * kw[c] / 1000`` on
     ``fleet``; the penalty (times the training weight) on ``shortfall``;
   - rows: demand minus the existing fleet's effective EFLOPS; access caps; budgets (cumulative
     with carry-over); power limit minus the existing fleet's draw;
   - coefficients: prices in the budget rows, ``kw[c] / 1000`` in the power rows.

The structure (which pairs are buyable, which are capped, budget years, power quarters) is fixed;
:meth:`FastPlanner.numbers` refuses data whose structure differs. At construction the numbers
recomputed for the template are checked against the model PuLP wrote, so a change in the planner
that this module does not know about fails loudly instead of giving wrong answers.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capacity.errors import SolverError
from capacity.planner.data import WORKLOADS, PlanData, discount_factor, opex_rmb_m_per_mw
from capacity.planner.variables import tag

INF = 1e30
"""What HiGHS reads as infinite."""

CHECK_RTOL = 1e-9
"""Relative tolerance of the template self-check (MPS numbers carry 12+ significant digits)."""


@dataclass
class LPNumbers:
    """The numbers of one purchase LP that a stress draw may change (numpy, one draw).

    Attributes
    ----------
    price_rmb_m
        Price per unit delivered in t, shape (T, C); NaN where not buyable. [RMB m/unit]
    cap_units
        Purchase cap, shape (T, C); NaN = uncapped. [units/quarter]
    demand_eflops
        Effective demand, shape (T, 2): training, inference (leasing included). [EFLOPS]
    budget_rmb_m
        Capex budget per budgeted year, in :attr:`FastPlanner.budget_years` order. [RMB m]
    power_mw
        Facility power per quarter, shape (T,); NaN = unlimited. [MW]
    power_kw
        Facility power per installed unit, shape (C,). [kW/unit]
    electricity_rmb_per_kwh
        [RMB/kWh]
    discount_rate_annual
        [1/year]
    penalty_rmb_m_per_eflops
        [RMB m/(EFLOPS*quarter)]
    training_shortfall_weight
        Weight of training shortfall relative to inference in the penalty. [1]
    """

    price_rmb_m: np.ndarray
    cap_units: np.ndarray
    demand_eflops: np.ndarray
    budget_rmb_m: np.ndarray
    power_mw: np.ndarray
    power_kw: np.ndarray
    electricity_rmb_per_kwh: float
    discount_rate_annual: float
    penalty_rmb_m_per_eflops: float
    training_shortfall_weight: float = 1.0


@dataclass
class FastSolution:
    """One re-solve: objective, purchases, shortfall and duals (numpy, labels on the planner).

    Attributes
    ----------
    objective_rmb_m
        Min-cost objective including the existing fleet's power opex (the constant the MPS file
        omits), as :func:`capacity.planner.solve_data` reports it. [RMB m, present value]
    buy_units
        Units per buy column, in :attr:`FastPlanner.buy_keys` order. [units]
    shortfall_eflops
        Shortfall, shape (T, 2): training, inference. [EFLOPS]
    row_dual
        Dual of every row (HiGHS sign convention). Row slack is in ``row_slack``.
    row_slack
        Distance of each row activity from its nearest finite bound.
    """

    objective_rmb_m: float
    buy_units: np.ndarray
    shortfall_eflops: np.ndarray
    row_dual: np.ndarray
    row_slack: np.ndarray


@dataclass
class ModelArrays:
    """The template LP as plain arrays (picklable; re-loaded into a fresh ``Highs``)."""

    num_col: int
    num_row: int
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    col_names: list[str] = field(default_factory=list)
    row_names: list[str] = field(default_factory=list)


def _highs():
    """A silent single-thread ``Highs`` (banner kept off stdout)."""
    import highspy

    from capacity.lp import _silence_highs_banner

    _silence_highs_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def _read_template(data: PlanData) -> ModelArrays:
    """Build the min-cost LP with PuLP, write MPS, read it back with HiGHS as arrays."""
    from capacity.planner.build import build_problem

    prob, _ = build_problem(data, "min-cost", integer=False)
    fd, path = tempfile.mkstemp(prefix="capacity_stress_", suffix=".mps")
    os.close(fd)
    try:
        prob.writeMPS(path)
        h = _highs()
        h.readModel(path)
    finally:
        os.unlink(path)
    lp = h.getLp()
    a = lp.a_matrix_
    return ModelArrays(
        num_col=lp.num_col_, num_row=lp.num_row_,
        col_cost=np.asarray(lp.col_cost_, float), col_lower=np.asarray(lp.col_lower_, float),
        col_upper=np.asarray(lp.col_upper_, float), row_lower=np.asarray(lp.row_lower_, float),
        row_upper=np.asarray(lp.row_upper_, float), a_start=np.asarray(a.start_, np.int32),
        a_index=np.asarray(a.index_, np.int32), a_value=np.asarray(a.value_, float),
        col_names=list(lp.col_names_), row_names=list(lp.row_names_))


class FastPlanner:
    """The min-cost purchase LP of one structure, re-solvable with new numbers.

    Parameters
    ----------
    template
        The data the structure is taken from (buyable pairs, capped pairs, budget years, power
        quarters, training fit, lead times, lives, existing fleet).

    Notes
    -----
    Picklable: the model travels as :class:`ModelArrays`; call :meth:`fresh` in each process (or
    each batch, for results independent of what was solved before) to load it into HiGHS.
    """

    def __init__(self, template: PlanData) -> None:
        d = template
        self.periods = d.periods
        self.chips = list(d.chips)
        self.T, self.C = len(d.periods), len(d.chips)
        self.periods_per_year = d.periods_per_year
        self.hours_per_period = d.hours_per_period
        self.model = _read_template(d)
        col = {n: i for i, n in enumerate(self.model.col_names)}
        row = {n: i for i, n in enumerate(self.model.row_names)}
        ci = {c: j for j, c in enumerate(self.chips)}
        ti = {t: i for i, t in enumerate(d.periods)}

        def need(names: dict[str, int], name: str, what: str) -> int:
            if name not in names:
                raise RuntimeError(f"fast re-solve: {what} {name!r} not in the planner's model; "
                                   "capacity/planner/fast.py is out of date with the planner")
            return names[name]

        # columns
        self.buy_keys = d.buyable()
        self.buy_col = np.array([need(col, f"buy_{tag(c, t)}", "column")
                                 for c, t in self.buy_keys], np.int32)
        self.buy_c = np.array([ci[c] for c, _ in self.buy_keys], np.int64)
        self.buy_t = np.array([ti[t] for _, t in self.buy_keys], np.int64)
        self.lead = np.array([int(d.lead_quarters[c]) for c in self.chips], np.int64)
        self.life = np.array([int(d.life_quarters[c]) for c in self.chips], np.int64)
        self.buy_order = self.buy_t - self.lead[self.buy_c]  # order quarter, index from periods[0]
        self.buyable_mask = np.zeros((self.T, self.C), bool)
        self.buyable_mask[self.buy_t, self.buy_c] = True
        self.priced_mask = np.isfinite(d.price_rmb_m.reindex(index=d.periods,
                                                            columns=self.chips).to_numpy(float))
        fleet = [(ci[c], ti[t], col[f"fleet_{tag(c, t)}"]) for c in self.chips for t in d.periods
                 if f"fleet_{tag(c, t)}" in col]
        self.fleet_c = np.array([f[0] for f in fleet], np.int64)
        self.fleet_t = np.array([f[1] for f in fleet], np.int64)
        self.fleet_col = np.array([f[2] for f in fleet], np.int32)
        self.short_col = np.array([[need(col, f"shortfall_{tag(k, t)}", "column")
                                    for k in WORKLOADS] for t in d.periods], np.int32)
        # rows
        self.train_row = np.array([need(row, f"training_demand_{t}", "row") for t in d.periods],
                                  np.int32)
        self.total_row = np.array([need(row, f"total_demand_{t}", "row") for t in d.periods],
                                  np.int32)
        cap = d.cap_units.to_numpy(float)
        capped = [(k, c, t) for k, (c, t) in enumerate(self.buy_keys)
                  if not np.isnan(cap[ti[t], ci[c]])]
        self.capped_mask = np.zeros((self.T, self.C), bool)
        for _, c, t in capped:
            self.capped_mask[ti[t], ci[c]] = True
        self.access_row = np.array([need(row, f"access_{tag(c, t)}", "row") for _, c, t in capped],
                                   np.int32)
        self.access_t = np.array([ti[t] for _, _, t in capped], np.int64)
        self.access_c = np.array([ci[c] for _, c, _ in capped], np.int64)
        self.budget_years = sorted(d.budget_rmb_m)
        self.budget_carryover = d.budget_carryover
        self.budget_row = np.array([need(row, f"budget_{y}", "row") for y in self.budget_years],
                                   np.int32)
        # budget coefficients: (row, col, buy index) for each buy in each budget row
        order_year = np.array([(d.periods[0] + int(k)).year for k in self.buy_order])
        entries = []
        for r, y in zip(self.budget_row, self.budget_years, strict=True):
            sel = order_year <= y if self.budget_carryover else order_year == y
            entries += [(int(r), int(self.buy_col[k]), k) for k in np.flatnonzero(sel)]
        self.bud_row = np.array([e[0] for e in entries], np.int32)
        self.bud_col = np.array([e[1] for e in entries], np.int32)
        self.bud_buy = np.array([e[2] for e in entries], np.int64)
        power = d.power_mw.reindex(d.periods).to_numpy(float) if d.power_mw is not None else \
            np.full(self.T, np.nan)
        self.power_t = np.flatnonzero(np.isfinite(power))
        self.power_row = np.array([need(row, f"power_{d.periods[i]}", "row")
                                   for i in self.power_t], np.int32)
        pos = {int(t): r for t, r in zip(self.power_t, self.power_row, strict=True)}
        pw = [(pos[int(t)], k) for k, t in enumerate(self.fleet_t) if int(t) in pos]
        self.pw_row = np.array([p[0] for p in pw], np.int32)
        self.pw_fleet = np.array([p[1] for p in pw], np.int64)
        self.pw_col = self.fleet_col[self.pw_fleet]
        # fixed numbers
        self.existing = d.existing_units.reindex(index=d.periods, columns=self.chips).to_numpy(
            float)
        self.k_eff = d.effective_per_unit.reindex(self.chips).to_numpy(float)
        self.peak_tflops = d.peak_tflops.reindex(self.chips).to_numpy(float)
        self.fit = d.training_fit.reindex(self.chips).to_numpy(bool)
        self.existing_eff = self.existing @ self.k_eff
        self.existing_fit_eff = self.existing @ (self.k_eff * self.fit)
        # The template's own numbers must reproduce the model PuLP wrote.
        self._template = self.numbers(d)
        self._check(self._template)

    # ------------------------------------------------------------------ numbers
    def numbers(self, data: PlanData) -> LPNumbers:
        """The changeable numbers of ``data`` (same structure as the template).

        Raises
        ------
        ValueError
            When ``data`` has another structure (buyable or capped pairs, budget years, power
            quarters).
        """
        price = data.price_rmb_m.reindex(index=self.periods, columns=self.chips).to_numpy(float)
        cap = data.cap_units.reindex(index=self.periods, columns=self.chips).to_numpy(float)
        power = data.power_mw.reindex(self.periods).to_numpy(float) if data.power_mw is not None \
            else np.full(self.T, np.nan)
        if sorted(data.budget_rmb_m) != self.budget_years:
            raise ValueError("budget years differ from the template")
        nums = LPNumbers(
            price_rmb_m=price, cap_units=cap,
            demand_eflops=data.demand_eflops[list(WORKLOADS)].reindex(self.periods).to_numpy(
                float),
            budget_rmb_m=np.array([data.budget_rmb_m[y] for y in self.budget_years], float),
            power_mw=power,
            power_kw=data.power_kw.reindex(self.chips).to_numpy(float),
            electricity_rmb_per_kwh=float(data.electricity_rmb_per_kwh),
            discount_rate_annual=float(data.discount_rate_annual),
            penalty_rmb_m_per_eflops=float(data.penalty_rmb_m_per_eflops),
            training_shortfall_weight=float(data.training_shortfall_weight))
        self.check_structure(nums)
        return nums

    def check_structure(self, n: LPNumbers) -> str | None:
        """Raise ``ValueError`` naming what differs when ``n`` does not fit the structure."""
        if not np.array_equal(np.isfinite(n.price_rmb_m), self.priced_mask):
            raise ValueError("the set of buyable (chip, quarter) pairs differs from the template")
        if not np.array_equal(np.isfinite(n.cap_units) & self.buyable_mask, self.capped_mask):
            raise ValueError("the set of capped (chip, quarter) pairs differs from the template")
        if not np.array_equal(np.flatnonzero(np.isfinite(n.power_mw)), self.power_t):
            raise ValueError("the quarters with a power limit differ from the template")
        if len(n.budget_rmb_m) != len(self.budget_years):
            raise ValueError("budget years differ from the template")
        return None

    def _df(self, k: np.ndarray, rate: float) -> np.ndarray:
        return discount_factor(k, rate, self.periods_per_year)

    def cost(self, n: LPNumbers) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(buy cost, fleet cost, shortfall cost, objective constant). [RMB m per unit]"""
        df_t = self._df(np.arange(self.T), n.discount_rate_annual)
        per_mw = opex_rmb_m_per_mw(self.hours_per_period, n.electricity_rmb_per_kwh)
        buy = n.price_rmb_m[self.buy_t, self.buy_c] * self._df(self.buy_order,
                                                                n.discount_rate_annual)
        fleet = df_t[self.fleet_t] * per_mw * n.power_kw[self.fleet_c] / 1000.0
        existing_mw = self.existing @ n.power_kw / 1000.0
        const = float(np.sum(df_t * per_mw * existing_mw))
        weight = np.array([n.training_shortfall_weight if k == "training" else 1.0
                           for k in WORKLOADS])
        short = np.tile(n.penalty_rmb_m_per_eflops * weight, self.T)  # short_col is (T, 2)
        return buy, fleet, short, const

    def rows(self, n: LPNumbers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row indices, lower, upper) of every row whose bounds can change."""
        d = n.demand_eflops
        idx = [self.train_row, self.total_row, self.access_row, self.budget_row, self.power_row]
        lo = [d[:, 0] - self.existing_fit_eff, d[:, 0] + d[:, 1] - self.existing_eff,
              np.full(len(self.access_row), -INF), np.full(len(self.budget_row), -INF),
              np.full(len(self.power_row), -INF)]
        budget = np.cumsum(n.budget_rmb_m) if self.budget_carryover else n.budget_rmb_m
        existing_mw = (self.existing @ n.power_kw / 1000.0)[self.power_t]
        power = np.maximum(n.power_mw[self.power_t], existing_mw) - existing_mw
        up = [np.full(self.T, INF), np.full(self.T, INF),
              n.cap_units[self.access_t, self.access_c], budget, power]
        return (np.concatenate(idx).astype(np.int32), np.concatenate(lo),
                np.concatenate(up))

    def coefficients(self, n: LPNumbers) -> tuple[np.ndarray, np.ndarray]:
        """(budget-row coefficients, power-row coefficients) in entry order."""
        bud = n.price_rmb_m[self.buy_t[self.bud_buy], self.buy_c[self.bud_buy]]
        pw = n.power_kw[self.fleet_c[self.pw_fleet]] / 1000.0
        return bud, pw

    def _check(self, n: LPNumbers) -> None:
        m = self.model

        def close(a: np.ndarray, b: np.ndarray) -> bool:
            a = np.where(np.abs(a) >= INF, INF * np.sign(a), a)
            b = np.where(np.abs(b) >= INF, INF * np.sign(b), b)
            return bool(np.allclose(a, b, rtol=CHECK_RTOL, atol=1e-9))

        buy, fleet, short, _ = self.cost(n)
        cost = np.zeros(m.num_col)
        cost[self.buy_col] = buy
        cost[self.fleet_col] = fleet
        cost[self.short_col.ravel()] = short
        what = None
        if not close(cost, m.col_cost):
            what = "column costs"
        idx, lo, up = self.rows(n)
        if not close(lo, m.row_lower[idx]) or not close(up, m.row_upper[idx]):
            what = "row bounds"
        dense = self._coef_lookup()
        bud, pw = self.coefficients(n)
        got_b = np.array([dense.get((int(r), int(c)), 0.0) for r, c in
                          zip(self.bud_row, self.bud_col, strict=True)])
        got_p = np.array([dense.get((int(r), int(c)), 0.0) for r, c in
                          zip(self.pw_row, self.pw_col, strict=True)])
        if not close(bud, got_b) or not close(pw, got_p):
            what = "budget or power coefficients"
        if what is not None:
            raise RuntimeError(f"fast re-solve: recomputed {what} differ from the planner's "
                               "model; capacity/planner/fast.py is out of date with the planner")

    def _coef_lookup(self) -> dict[tuple[int, int], float]:
        m = self.model
        out = {}
        for j in range(m.num_col):
            for p in range(m.a_start[j], m.a_start[j + 1]):
                out[int(m.a_index[p]), j] = float(m.a_value[p])
        return out

    # ------------------------------------------------------------------ solving
    def fresh(self):
        """A fresh single-thread ``Highs`` holding the template model."""
        import highspy

        m = self.model
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = m.num_col, m.num_row
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = m.col_cost, m.col_lower, m.col_upper
        lp.row_lower_, lp.row_upper_ = m.row_lower, m.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = m.num_col, m.num_row
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (m.a_start, m.a_index,
                                                                         m.a_value)
        h = _highs()
        h.passModel(lp)
        return h

    def solve(self, h, n: LPNumbers, what: str = "purchase plan") -> FastSolution:
        """Push ``n`` into ``h`` (from :meth:`fresh`) and solve; warm-starts from ``h``'s state.

        Raises
        ------
        SolverError
            When HiGHS does not report an optimal solution.
        """
        import highspy

        buy, fleet, short, const = self.cost(n)
        cols = np.concatenate([self.buy_col, self.fleet_col, self.short_col.ravel()])
        h.changeColsCost(len(cols), cols, np.concatenate([buy, fleet, short]))
        idx, lo, up = self.rows(n)
        h.changeRowsBounds(len(idx), idx, np.clip(lo, -INF, INF), np.clip(up, -INF, INF))
        bud, pw = self.coefficients(n)
        last = getattr(h, "_capacity_coefficients", None)
        for rows, cols, new, old in ((self.bud_row, self.bud_col, bud, last and last[0]),
                                     (self.pw_row, self.pw_col, pw, last and last[1])):
            changed = np.arange(len(new)) if old is None else np.flatnonzero(new != old)
            for k in changed.tolist():
                h.changeCoeff(int(rows[k]), int(cols[k]), float(new[k]))
        h._capacity_coefficients = (bud, pw)  # push only what changes next time
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError("solver", f"{what}: HiGHS returned "
                              f"{h.modelStatusToString(status).lower()}, not optimal")
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        act = np.asarray(sol.row_value)
        row_lo = self.model.row_lower.copy()
        row_up = self.model.row_upper.copy()
        row_lo[idx] = lo
        row_up[idx] = up
        slack = np.minimum(np.where(row_lo > -INF, act - row_lo, INF),
                           np.where(row_up < INF, row_up - act, INF))
        return FastSolution(
            objective_rmb_m=float(h.getInfo().objective_function_value) + const,
            buy_units=x[self.buy_col], shortfall_eflops=x[self.short_col],
            row_dual=np.asarray(sol.row_dual), row_slack=slack)

    def purchases(self, sol: FastSolution, tol: float = 1e-6) -> pd.Series:
        """Purchases with units above ``tol``, indexed by (period, chip). [units]"""
        keep = sol.buy_units > tol
        idx = pd.MultiIndex.from_tuples([(t, c) for (c, t), k in zip(self.buy_keys, keep,
                                                                     strict=True) if k],
                                        names=["period", "chip"])
        return pd.Series(sol.buy_units[keep], index=idx, name="units")
