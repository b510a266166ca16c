"""Chip mixes consistent with the company's disclosed totals.

SenseTime discloses GPU counts and peak EFLOPS, not the chip mix. The fit is a path: every
quarter q from the first disclosure to the later of the base period and the last disclosure
(each disclosure the scenario's vintage can see), and each candidate chip c launched by q, gets
units u[c, q] >= 0 such that

    (1 - tol) * U_q <= sum_c u[c, q] <= (1 + tol) * U_q              (units, where disclosed at q)
    (1 - tol) * E_q <= sum_c u[c, q] * r_c / 1e6 <= (1 + tol) * E_q (EFLOPS, where disclosed at q)
    u[c, q - 1] <= u[c, q]                                  (monotone: no retirements in window)
    u[c, q] <= u[c, q - 1]   (no additions in q when c could be bought in none of q - L .. q,
                              L = calibration.delivery_lag_quarters: orders placed while a chip
                              was purchasable may land up to L quarters later)

Purchases between disclosure dates are the increases along the path.

with r_c the dense FP16 rate [TFLOPS]. Central estimate, lexicographically: first match the
disclosed totals as closely as possible (exactly when the candidates allow: the band only widens
the range), then minimise the L1 distance to the prior mix at the disclosure dates d,
sum_d sum_c |u[c, d] - p_c,d * sum_c' u[c', d]| / U_ref, with p the prior share renormalised
over the candidates at d; among mixes within 1e-7 of that optimum, take the one minimising
sum w_k u_k with fixed, distinct weights w (a lexicographic tie-break, so every solver returns the
same vertex). Range: minimise and maximise each u[c, d] over the same feasible set.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from capacity import lp
from capacity.chips import TFLOPS_PER_EFLOPS, peak_tflops
from capacity.errors import InputError, SolverError
from capacity.lp import pulp  # PuLP is imported once, where a stop cannot be lost
from capacity.results import whole_counts
from capacity.scenarios import Scenario, disclosed


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    dates
        Per disclosure date (and the base period): ``period``, ``reported_units``,
        ``reported_eflops``, ``fitted_units``, ``fitted_eflops``, ``units_error_pct``,
        ``eflops_error_pct`` (100 * (fitted - reported) / reported; reported values and errors
        NaN where not disclosed, null in JSON). ``fitted_units`` within
        :data:`capacity.results.WHOLE_UNITS_TOL` of a whole number is that number.
    mix
        Per path quarter and chip: ``period``, ``chip``, ``peak_tflops``, ``central_units``,
        ``min_units``, ``max_units``, ``central_eflops``.
    orders
        What the disclosed extra EFLOPS on placed orders means in units of each chip that could
        be bought after the base period: ``chip``, ``peak_tflops``, ``order_eflops``,
        ``needed_units``.
    """

    dates: pd.DataFrame
    mix: pd.DataFrame
    orders: pd.DataFrame

    def central_at(self, period: pd.Period) -> pd.Series:
        """Central units per chip at ``period``. [units]"""
        sel = self.mix[self.mix["period"] == period]
        return pd.Series(sel["central_units"].to_numpy(), index=sel["chip"].to_numpy(),
                         name="units")


def _candidates(scenario: Scenario, period: pd.Period) -> list[str]:
    cat = scenario.catalog
    names = scenario.inputs.calibration.candidates or list(cat.index)
    rates = peak_tflops(cat)
    return [c for c in names if cat.at[c, "launch"] <= period and not pd.isna(rates[c])]


def _disclosure_table(scenario: Scenario) -> pd.DataFrame:
    units = disclosed(scenario.disclosures, "gpus_units")
    eflops = disclosed(scenario.disclosures, "peak_eflops")
    base = scenario.inputs.horizon.base
    periods = sorted(set(units.index) | set(eflops.index))
    if not periods or periods[0] > base:
        raise InputError("disclosures.csv", "no gpus_units or peak_eflops disclosures up to the "
                         f"base period {base}")
    periods = sorted(set(periods) | {base})
    return pd.DataFrame({
        "period": periods,
        "reported_units": [units.get(p, np.nan) for p in periods],
        "reported_eflops": [eflops.get(p, np.nan) for p in periods],
    })


def path_periods(table: pd.DataFrame) -> pd.PeriodIndex:
    """Every quarter from the first to the last row of the disclosure table."""
    return pd.period_range(table["period"].min(), table["period"].max(), freq="Q")


def _could_add(purchasable: pd.DataFrame | None, chip: str, q: pd.Period, lag: int) -> bool:
    """Whether units of ``chip`` may arrive in quarter ``q``: purchasable in one of q-lag..q."""
    if purchasable is None or chip not in purchasable.columns:
        return True
    window = purchasable.loc[(purchasable.index >= q - lag) & (purchasable.index <= q), chip]
    return not len(window) or bool(window.any())


def _build(scenario: Scenario, table: pd.DataFrame, purchasable: pd.DataFrame | None
           ) -> tuple[pulp.LpProblem, dict[tuple[str, pd.Period], pulp.LpVariable],
                      dict[pd.Period, list[str]]]:
    cal = scenario.inputs.calibration
    tol = cal.tolerance
    rates = peak_tflops(scenario.catalog)
    prob = lp.new_problem("calibrate")
    u: dict[tuple[str, pd.Period], pulp.LpVariable] = {}
    cands: dict[pd.Period, list[str]] = {}
    for p in path_periods(table):
        cands[p] = _candidates(scenario, p)
        if not cands[p]:
            raise InputError("calibration.candidates", f"no candidate chip launched by {p}")
        for c in cands[p]:
            u[c, p] = lp.add_var(prob, f"units_{c}_{p}".replace("-", "_"))
    for row in table.itertuples(index=False):
        p = row.period
        total = pulp.lpSum(u[c, p] for c in cands[p])
        compute = pulp.lpSum(u[c, p] * float(rates[c]) / TFLOPS_PER_EFLOPS for c in cands[p])
        if not np.isnan(row.reported_units):
            lp.add_constraint(prob, total >= (1 - tol) * row.reported_units, f"units_lo_{p}")
            lp.add_constraint(prob, total <= (1 + tol) * row.reported_units, f"units_hi_{p}")
        if not np.isnan(row.reported_eflops):
            lp.add_constraint(prob, compute >= (1 - tol) * row.reported_eflops, f"eflops_lo_{p}")
            lp.add_constraint(prob, compute <= (1 + tol) * row.reported_eflops, f"eflops_hi_{p}")
    for prev, cur in pairwise(path_periods(table)):
        for c in cands[cur]:
            name = c.replace("-", "_")
            if c not in cands[prev]:  # launched in cur: nothing before it
                if not _could_add(purchasable, c, cur, cal.delivery_lag_quarters):
                    lp.add_constraint(prob, u[c, cur] <= 0, f"no_additions_{name}_{cur}")
                continue
            if cal.monotone:
                lp.add_constraint(prob, u[c, prev] <= u[c, cur], f"monotone_{name}_{cur}")
            if not _could_add(purchasable, c, cur, cal.delivery_lag_quarters):
                lp.add_constraint(prob, u[c, cur] <= u[c, prev], f"no_additions_{name}_{cur}")
    return prob, u, cands


def calibrate(scenario: Scenario, purchasable: pd.DataFrame | None = None,
              solver: str = "highs") -> Calibration:
    """Fit chip mixes to the disclosed GPU counts and EFLOPS.

    Parameters
    ----------
    scenario
        Validated scenario (catalog, disclosures, calibration inputs).
    purchasable
        Optional boolean table (index quarter, columns chip): whether new units of a chip could
        be bought in that quarter (from :mod:`capacity.export_controls`). Without it, any
        launched chip may be added at any time.
    solver
        ``highs`` or ``cbc``.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        When no mix of the candidate chips matches the disclosures.
    """
    table = _disclosure_table(scenario)
    prob, u, cands = _build(scenario, table, purchasable)
    rates = peak_tflops(scenario.catalog)
    prior_in = scenario.inputs.calibration.prior_share
    u_ref = float(np.nanmax(table["reported_units"])) if table["reported_units"].notna().any() \
        else 10_000.0

    # Feasibility first, for a clear message. (A real objective: CBC, via PuLP, fails on the
    # next solve of a problem once solved with an empty one.)
    prob.setObjective(pulp.lpSum(u.values()))
    try:
        lp.solve(prob, solver, what="calibration feasibility")
    except SolverError as exc:
        if "infeasible" not in exc.problem:  # a time limit or a solver failure, not the data
            raise
        raise InputError("calibration", "no mix of the candidate chips matches the disclosed "
                         "totals within the tolerance; widen calibration.tolerance or add "
                         "candidates") from None

    # Range per chip and date.
    lo: dict[tuple[str, pd.Period], float] = {}
    hi: dict[tuple[str, pd.Period], float] = {}
    for key, var in u.items():
        prob.setObjective(var)
        prob.sense = pulp.LpMinimize
        lp.solve(prob, solver, what=f"calibration min {key[0]} {key[1]}")
        lo[key] = lp.clean(var.value())
        prob.sense = pulp.LpMaximize
        lp.solve(prob, solver, what=f"calibration max {key[0]} {key[1]}")
        hi[key] = lp.clean(var.value())
    prob.sense = pulp.LpMinimize

    # Central, step 1: match the disclosed totals as closely as the candidates allow (exactly,
    # when possible); the tolerance band only widens the min/max range.
    miss = []
    for row in table.itertuples(index=False):
        p = row.period
        tag_p = str(p)
        if not np.isnan(row.reported_units):
            total = pulp.lpSum(u[c, p] for c in cands[p])
            over, under = (lp.add_var(prob, f"miss_units_{k}_{tag_p}") for k in ("hi", "lo"))
            lp.add_constraint(prob, total - row.reported_units == over - under,
                              f"fit_units_{tag_p}")
            miss += [(over, 1.0 / row.reported_units), (under, 1.0 / row.reported_units)]
        if not np.isnan(row.reported_eflops):
            compute = pulp.lpSum(u[c, p] * float(rates[c]) / TFLOPS_PER_EFLOPS for c in cands[p])
            over, under = (lp.add_var(prob, f"miss_eflops_{k}_{tag_p}") for k in ("hi", "lo"))
            lp.add_constraint(prob, compute - row.reported_eflops == over - under,
                              f"fit_eflops_{tag_p}")
            miss += [(over, 1.0 / row.reported_eflops), (under, 1.0 / row.reported_eflops)]
    miss_expr = lp.affine(miss)
    prob.setObjective(miss_expr)
    best_miss = lp.solve(prob, solver, what="calibration fit to totals").objective
    lp.add_constraint(prob, miss_expr <= best_miss + 1e-9, "fit_totals")

    # Central, step 2: closest to the prior (L1), auxiliary deviation variables.
    devs = []
    disclosed_at = table.loc[table["reported_units"].notna() | table["reported_eflops"].notna(),
                             "period"]
    for p in disclosed_at:
        names = cands[p]
        weights = np.array([prior_in.get(c, 0.0) for c in names], dtype=float)
        share = weights / weights.sum() if weights.sum() > 0 else np.full(len(names),
                                                                           1 / len(names))
        total = pulp.lpSum(u[c, p] for c in names)
        for c, s in zip(names, share, strict=True):
            tag = f"{c}_{p}".replace("-", "_")
            dp = lp.add_var(prob, f"dev_pos_{tag}")
            dn = lp.add_var(prob, f"dev_neg_{tag}")
            lp.add_constraint(prob, u[c, p] - s * total == dp - dn, f"prior_{tag}")
            devs += [dp, dn]
    l1 = pulp.lpSum(devs) * (1.0 / u_ref)
    prob.setObjective(l1)
    best = lp.solve(prob, solver, what="calibration central fit").objective
    # The L1 optimum is often not unique (HiGHS and CBC then return different mixes). Break the
    # tie lexicographically: stay within 1e-7 of the best fit and minimise sum w_k u_k with a
    # fixed, strictly increasing weight per (date, chip), far enough apart (1/U_ref) to be above
    # solver tolerances.
    lp.add_constraint(prob, l1 <= best + 1e-7 * max(1.0, abs(best)), "central_fit")
    tie = []
    for i, ((_c, _p), var) in enumerate(sorted(u.items(), key=lambda kv: (str(kv[0][1]),
                                                                            kv[0][0]))):
        tie.append((var, (1.0 + i) / u_ref))
    prob.setObjective(lp.affine(tie))
    lp.solve(prob, solver, what="calibration central fit (tie-break)")

    rows = []
    for (c, p), var in u.items():
        central = min(max(lp.clean(var.value()), lo[c, p]), hi[c, p])
        rows.append({"period": p, "chip": c, "peak_tflops": float(rates[c]),
                     "central_units": central, "min_units": lo[c, p], "max_units": hi[c, p],
                     "central_eflops": central * float(rates[c]) / TFLOPS_PER_EFLOPS})
    mix = pd.DataFrame(rows).sort_values(["period", "chip"], kind="stable").reset_index(drop=True)
    fitted = mix.groupby("period").agg(fitted_units=("central_units", "sum"),
                                       fitted_eflops=("central_eflops", "sum"))
    dates = table.merge(fitted, left_on="period", right_index=True, how="left")
    # a count fitted to a whole disclosure is shown whole (29,999.99997 -> 30,000); the mix the
    # planner starts from keeps the solver's numbers
    dates["fitted_units"] = whole_counts(dates["fitted_units"])
    dates["units_error_pct"] = 100.0 * (dates["fitted_units"] - dates["reported_units"]) \
        / dates["reported_units"]
    dates["eflops_error_pct"] = 100.0 * (dates["fitted_eflops"] - dates["reported_eflops"]) \
        / dates["reported_eflops"]
    return Calibration(dates=dates, mix=mix, orders=orders_in_units(scenario, purchasable))


def orders_in_units(scenario: Scenario, purchasable: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the disclosed EFLOPS on placed orders means in units of each candidate chip.

    order_eflops = peak_eflops_with_orders - peak_eflops at the base period;
    needed_units[c] = order_eflops * 1e6 / r_c, for chips launched by the quarter after the base
    period and purchasable then (when ``purchasable`` is given).
    """
    base = scenario.inputs.horizon.base
    with_orders = disclosed(scenario.disclosures, "peak_eflops_with_orders")
    now = disclosed(scenario.disclosures, "peak_eflops")
    if base not in with_orders.index or base not in now.index:
        return pd.DataFrame(columns=["chip", "peak_tflops", "order_eflops", "needed_units"])
    extra = float(with_orders[base] - now[base])
    nxt = base + 1
    cat = scenario.catalog
    rates = peak_tflops(cat)
    rows = []
    for c in cat.index:
        if cat.at[c, "launch"] > nxt or pd.isna(rates[c]) or not cat.at[c, "datacenter"]:
            continue
        if purchasable is not None and c in purchasable.columns and nxt in purchasable.index \
                and not bool(purchasable.at[nxt, c]):
            continue
        rows.append({"chip": c, "peak_tflops": float(rates[c]), "order_eflops": extra,
                     "needed_units": extra * TFLOPS_PER_EFLOPS / float(rates[c])})
    return pd.DataFrame(rows)
