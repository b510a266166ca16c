"""Shadow prices verified on both sides.

Everything here is read from a :class:`~capacity.planner.model.Model`'s arrays (costs, bounds,
coefficients, the constants its families moved to the bounds) and a solution's duals, so it
holds for any objective the model is built with. Signs are those of the minimisation HiGHS is
given (:class:`~capacity.planner.solve.Solution`): ``g = f`` for a minimisation, ``g = -f`` for
a maximisation. A *gain* is a decrease of ``g``, i.e. an improvement of the objective, so every
figure below reads the same way for both senses. See ``docs/model.md`` ("Shadow prices and the
value of a purchase") for the equations.

Shadow prices (:func:`one_sided_prices`). The dual ``y_i`` of a binding row is one element of
the subdifferential of the optimal value in the row's bound; at a degenerate vertex the optimal
value has a kink there and the dual can sit anywhere between the two one-sided slopes. So each
side of each binding row is priced on its own: from HiGHS ranging where the optimal basis stays
optimal over a step that way (the price is then the dual), else by moving the row's bound a
small step that way on the live HiGHS model and re-solving
(:meth:`~capacity.planner.solve.Resolver.probe_row_bounds`); a re-solved row dual is taken once
the secant over the step agrees with it (the optimal value is then linear over the step), else
the step is halved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from capacity.planner.model import Model
from capacity.planner.solve import RowRanging

OBJECTIVE_UNITS: dict[str, tuple[str, str]] = {
    "min-cost": ("RMB m", "rmb_m"),
    "max-compute": ("EFLOPS-quarters", "eflops_quarters"),
}
"""Objective -> (unit, column-name suffix) of its figures."""

IDENTITY_FAMILIES = ("fleet_balance",)
"""Row families that are identities (equalities defining the fleet columns), not limits."""

QUOTED_SIDE = "relax"
"""Side quoted as ``shadow_price_<unit>``: the gain from relaxing the limit by one unit."""

STEP_REL = 1e-3
"""First step of a verification re-solve, relative to max(1, |limit|). [1]"""

MAX_HALVINGS = 8
"""Halvings of the step before a side is given up (infeasible) or its secant taken."""

WARM_PROBES = True
"""Re-solve each probe from the basis the live model holds (the previous probe's) rather than
the template's: no refactorisation per probe. A side's price does not depend on it (beyond
AGREE_RTOL), since it is only taken when it matches the secant of the unique optimal value."""

AGREE_RTOL = 1e-6
"""Secant over the step vs the re-solved dual: relative agreement that the step stayed on one
linear piece of the optimal value. [1]"""

OBJECTIVE_NOISE_REL = 1e-12
"""Rounding of a solved objective relative to max(1, |objective|), allowed in the secant. [1]"""

DEGENERATE_RTOL = 1e-6
"""Relative gap between the relax and tighten prices (or, where the limit cannot be tightened,
between the relax price and the solver's dual) above which a limit is flagged degenerate. [1]"""

PRICE_ATOL = 1e-9
"""Absolute floor of the degeneracy test. [objective unit per limit unit]"""

ACTIVE_TOL = 1e-9
"""A row binds when |dual| is at least this ... [objective unit per limit unit]"""

SLACK_RTOL = 1e-6
"""... and its slack is within this of max(1, |bound|). [1]"""


def objective_unit(model: Model) -> tuple[str, str]:
    """(unit, column suffix) of the model's objective (``RMB m``, ``rmb_m`` for min-cost)."""
    return OBJECTIVE_UNITS.get(model.objective, ("objective unit", "objective"))


def family_rows(model: Model, name: str) -> np.ndarray:
    """Model rows of a row family. [index]"""
    fam = next(f for f in model.rows if f.name == name)
    r0 = model.row_start[name]
    return np.arange(r0, r0 + len(fam))


def stated_limits(model: Model) -> np.ndarray:
    """Per row, the limit as the analyst states it: the bound it binds on plus the constant its
    family moved there.

        limit_i = b_i + k_i      b_i = upper bound if finite, else lower bound

    (power: MW, the existing fleet's draw added back; demand: EFLOPS, the existing fleet's
    compute added back; access: units; budget: RMB m).
    """
    bound = np.where(np.isfinite(model.row_upper), model.row_upper, model.row_lower)
    const = np.concatenate([f.constant if f.constant is not None else np.zeros(len(f))
                            for f in model.rows]) if model.rows else np.zeros(0)
    return bound + const


def relax_direction(model: Model, rows: np.ndarray, row_dual: np.ndarray) -> np.ndarray:
    """+1 where relaxing a row raises its bound (an upper limit), -1 where it lowers it (a
    lower requirement); an equality relaxes the way its dual says the objective gains."""
    lo, up = model.row_lower[rows], model.row_upper[rows]
    out = np.where(np.isfinite(up), 1.0, -1.0)
    eq = lo == up
    out[eq] = np.where(row_dual[rows][eq] > 0, -1.0, 1.0)
    return out


def dual_gain(row_dual: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The solver's shadow price: gain in objective per unit the limit is relaxed.

        gain_i = -s_i y_i      s_i = +1 (upper limit) or -1 (lower requirement)
    """
    return -direction * row_dual


def binding_rows(model: Model, row_activity: np.ndarray, row_dual: np.ndarray) -> np.ndarray:
    """Rows (outside the identities) with a non-zero dual and no slack on the bound they sit
    on: |y_i| >= ACTIVE_TOL and |slack_i| <= SLACK_RTOL max(1, |b_i|). [index]"""
    out = []
    for fam in model.rows:
        if fam.name in IDENTITY_FAMILIES:
            continue
        idx = family_rows(model, fam.name)
        lo, up, act = model.row_lower[idx], model.row_upper[idx], row_activity[idx]
        is_up = np.isfinite(up)
        bound = np.where(is_up, up, lo)
        slack = np.where(is_up, up - act, act - lo)
        tight = (np.abs(row_dual[idx]) >= ACTIVE_TOL) & (
            np.abs(slack) <= SLACK_RTOL * np.maximum(1.0, np.abs(bound)))
        out.append(idx[tight])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def activity_range(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Least and most activity of every row over the column bounds alone.

        min_i = sum_{a_ij > 0} a_ij l_j + sum_{a_ij < 0} a_ij u_j    (max_i likewise)

    A bound moved beyond it is infeasible without a solve (a ban at 0 cannot be tightened).
    """
    a, j, i = model.a_val, model.a_col, model.a_row
    lo, up = model.col_lower[j], model.col_upper[j]
    pos, neg = a > 0, a < 0
    with np.errstate(invalid="ignore"):
        least = np.where(pos, a * lo, np.where(neg, a * up, 0.0))
        most = np.where(pos, a * up, np.where(neg, a * lo, 0.0))
    return (np.bincount(i, weights=least, minlength=model.num_row),
            np.bincount(i, weights=most, minlength=model.num_row))


def side_price(resolver, model: Model, row: int, s: float, move: float, step: float,
               base: float, reach: tuple[float, float]) -> float:
    """Price per unit of moving one row's bound by ``move`` (+1 relax, -1 tighten) along its
    relax direction ``s`` (:func:`relax_direction`), measured by re-solving. NaN when the
    move is infeasible.

        relax:    p = (g(b) - g(b + s h)) / h        tighten:  p = (g(b - s h) - g(b)) / h

    (g the minimised objective, ``base`` = g(b)). The price returned is the re-solved row's
    own gain ``-s y_i`` once the secant agrees with it, so the step stayed on one linear piece
    of g; else the step is halved (MAX_HALVINGS times, then the last secant is returned).
    """
    lo, up = float(model.row_lower[row]), float(model.row_upper[row])
    on_upper = s > 0 if lo == up else np.isfinite(up)
    bound = up if on_upper else lo
    sense = -1.0 if model.maximize else 1.0  # g = sense * f
    least, most = reach
    secant = np.nan
    h = step
    for _ in range(MAX_HALVINGS + 1):
        new = bound + move * s * h
        if new < least - 1e-9 * max(1.0, abs(least)) or new > most + 1e-9 * max(1.0, abs(most)):
            return np.nan  # past what the column bounds allow: infeasible without a solve
        cold = not WARM_PROBES
        if lo == up:
            probe = resolver.probe_row_bounds(row, new, new, cold)
        elif on_upper:
            probe = resolver.probe_row_bounds(row, lo, new, cold)
        else:
            probe = resolver.probe_row_bounds(row, new, up, cold)
        if probe is None:
            h /= 2.0
            continue
        g_new = sense * probe[0]
        secant = (base - g_new) / h if move > 0 else (g_new - base) / h
        dual = float(-s * probe[1])
        noise = OBJECTIVE_NOISE_REL * max(1.0, abs(base)) / h
        if abs(secant - dual) <= AGREE_RTOL * max(abs(secant), abs(dual)) + noise:
            return dual
        h /= 2.0
    return float(secant)


def ranged_price(rng: RowRanging, model: Model, row: int, s: float, move: float, dual: float,
                 base: float) -> float:
    """A side's price from HiGHS ranging, without a solve: the dual where the current basis
    stays optimal over a step of that side, NaN where it does not (a zero range, or a
    secant over the range that disagrees with the dual).

        relax:    p = (g(b) - g(v)) / |v - b|        tighten:  p = (g(v) - g(b)) / |v - b|

    with v the end of the range and g(v) the objective there (:class:`RowRanging`).
    An unbounded range takes the dual.
    """
    lo, up = float(model.row_lower[row]), float(model.row_upper[row])
    bound = up if (s > 0 if lo == up else np.isfinite(up)) else lo
    rising = move * s > 0
    end = float(rng.up_value[row] if rising else rng.dn_value[row])
    width = abs(end - bound)
    if not width > SLACK_RTOL * max(1.0, abs(bound)):
        return np.nan
    if not np.isfinite(end) or abs(end) >= 1e30:
        return dual
    g_end = float(rng.up_objective[row] if rising else rng.dn_objective[row])
    secant = (base - g_end) / width if move > 0 else (g_end - base) / width
    noise = OBJECTIVE_NOISE_REL * max(1.0, abs(base)) / width
    return dual if abs(secant - dual) <= AGREE_RTOL * max(abs(secant), abs(dual)) + noise \
        else np.nan


def one_sided_prices(resolver, model: Model, rows: np.ndarray, row_dual: np.ndarray,
                     ranging: bool = True) -> pd.DataFrame:
    """Relax and tighten prices of ``rows``, the side quoted and whether they differ.

    Each side is read from HiGHS ranging where the optimal basis stays optimal over a step of
    it (:func:`ranged_price`; the price is then the dual), else measured by re-solving
    (:func:`side_price`).

    Parameters
    ----------
    resolver
        A :class:`~capacity.planner.solve.Resolver` whose last model pushed is ``model``.
    rows
        Model rows to price (the binding ones). [index]
    row_dual
        The solution's row duals (HiGHS convention), for the solver's own shadow price.
    ranging
        Use ranging where it settles a side (False: re-solve every side).

    Returns
    -------
    pandas.DataFrame
        One row per entry of ``rows``: ``limit`` (:func:`stated_limits`), ``dual`` (the
        solver's gain per unit relaxed), ``relax``, ``tighten`` (NaN where the limit cannot be
        tightened), ``price`` (the side quoted), ``side`` and ``degenerate``; prices in
        objective units per unit of the limit.
    """
    rows = np.asarray(rows, np.int64)
    limits = stated_limits(model)[rows]
    direction = relax_direction(model, rows, row_dual)
    dual = dual_gain(row_dual[rows], direction)
    base = float((-1.0 if model.maximize else 1.0) * resolver.template_solution.objective)
    least, most = activity_range(model)
    rng = resolver.ranging() if ranging and len(rows) else None
    sides = np.full((2, len(rows)), np.nan)
    for k, i in enumerate(rows.tolist()):
        step = STEP_REL * max(1.0, abs(float(limits[k])))
        reach = (float(least[i]), float(most[i]))
        for n, move in enumerate((+1.0, -1.0)):
            if rng is not None:
                sides[n, k] = ranged_price(rng, model, i, direction[k], move, float(dual[k]),
                                           base)
            if np.isnan(sides[n, k]):
                sides[n, k] = side_price(resolver, model, i, direction[k], move, step, base,
                                         reach)
    return quote(limits, dual, sides[0], sides[1])


def quote(limits: np.ndarray, dual: np.ndarray, relax: np.ndarray, tighten: np.ndarray
          ) -> pd.DataFrame:
    """The side quoted and the degeneracy flag of measured one-sided prices.

        degenerate = |relax - tighten| > tol            where the limit can be tightened
                     |relax - dual| > tol               where it cannot (tighten is NaN)
        tol = DEGENERATE_RTOL max(|relax|, |tighten|, |dual|) + PRICE_ATOL

    The quoted side is :data:`QUOTED_SIDE` (relax) where it was measured, else the other one,
    else the solver's dual.
    """
    scale = np.fmax(np.fmax(np.abs(relax), np.abs(tighten)), np.abs(dual))
    tol = DEGENERATE_RTOL * np.nan_to_num(scale) + PRICE_ATOL
    other = np.where(np.isfinite(tighten), tighten, dual)
    degenerate = np.isfinite(relax) & (np.abs(relax - other) > tol)
    first, second = (relax, tighten) if QUOTED_SIDE == "relax" else (tighten, relax)
    names = ("relax", "tighten") if QUOTED_SIDE == "relax" else ("tighten", "relax")
    price = np.where(np.isfinite(first), first, np.where(np.isfinite(second), second, dual))
    side = np.where(np.isfinite(first) | ~np.isfinite(second), names[0], names[1])
    return pd.DataFrame({"limit": limits, "dual": dual, "relax": relax, "tighten": tighten,
                         "price": price, "side": side.astype(object),
                         "degenerate": degenerate})


def set_keys(binding: pd.DataFrame, scenario: Any, availability: pd.DataFrame | None
             ) -> list[str]:
    """The ``--set`` key that moves each binding limit ("" where none does).

    - ``budget`` Y: ``planner.capex_budget_rmb_m.<Y>`` (with carry-over it also moves the
      later years' cumulative limits);
    - ``power`` t: ``planner.datacenter_mw.<step>``, the step in force in t (it moves every
      quarter of that step);
    - ``access`` (c, t): ``controls.base_supply_units_per_quarter.<c>`` where the cap is the
      base supply (times any supply factor; it moves every quarter of the chip); none for a
      ban or a licence's own cap (rules are not ``--set`` inputs);
    - demand: none (it is derived from the runs and the token and revenue paths).
    """
    pl = scenario.inputs.planner
    budget_keys = {str(k): str(k) for k in pl.capex_budget_rmb_m}
    steps = sorted(((pd.Period(str(q), freq="Q"), str(q)) for q in pl.datacenter_mw),
                   key=lambda kv: kv[0])
    base = scenario.inputs.controls.base_supply_units_per_quarter
    rules = scenario.all_rules() if availability is not None else {}
    out = []
    for con, period, chip in zip(binding["constraint"], binding["period"], binding["chip"],
                                 strict=True):
        key = ""
        if con == "budget" and str(period) in budget_keys:
            key = f"planner.capex_budget_rmb_m.{budget_keys[str(period)]}"
        elif con == "power":
            t = pd.Period(str(period), freq="Q")
            held = [q for p, q in steps if p <= t]
            key = f"planner.datacenter_mw.{held[-1]}" if held else ""
        elif con == "access" and chip in base:
            key = f"controls.base_supply_units_per_quarter.{chip}"
            if availability is not None:
                av = availability.loc[(pd.Period(str(period), freq="Q"), chip)]
                rule = rules.get(str(av["rule"]))
                lic = getattr(rule, "cap_units_per_quarter", None)
                if av["status"] == "banned" or (av["status"] == "licence" and lic is not None
                                                and float(av["cap_units"]) == float(lic)):
                    key = ""
        out.append(key)
    return out
