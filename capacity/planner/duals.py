"""Shadow prices verified on both sides, and the value of one more purchase split into parts.

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

Purchases (:func:`purchase_value`). The reduced cost of a buy column, ``d_j = c_j - sum_i a_ij
y_i``, is split by row family after substituting the fleet-balance identity, which puts a unit
bought in t into service in ``fleet[c, t .. t + life - 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capacity.metrics.limits import SLACK_RTOL, binding_mask
from capacity.planner import registry as reg
from capacity.planner.model import Model
from capacity.planner.periods import quarter_step_index
from capacity.planner.registry import IDENTITY_FAMILIES, SERVED_FAMILIES
from capacity.planner.solve import RowRanging

OBJECTIVE_UNITS: dict[str, tuple[str, str]] = {
    "npv": ("RMB m", "m"),
    "max-compute": ("EFLOPS-quarters", "eflops_quarters"),
}
"""Objective -> (unit, column-name suffix) of its figures."""


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



def objective_unit(model: Model) -> tuple[str, str]:
    """(unit, column suffix) of the model's objective (``RMB m``, ``m`` for npv)."""
    return OBJECTIVE_UNITS.get(model.objective, ("objective unit", "objective"))


def minimised_costs(model: Model) -> np.ndarray:
    """Column costs of the minimisation HiGHS solves: c for min, -c for max."""
    return -model.col_cost if model.maximize else model.col_cost


def reduced_costs(model: Model, row_dual: np.ndarray) -> np.ndarray:
    """Reduced cost of every column from the model's arrays and the row duals.

        d_j = c_j - sum_i a_ij y_i      (c the minimised costs)

    Exact and solver-independent; equals HiGHS's ``col_dual``.
    """
    aty = np.bincount(model.a_col, weights=model.a_val * row_dual[model.a_row],
                      minlength=model.num_col)
    return minimised_costs(model) - aty


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
    """Rows (outside the identities) that bind (:func:`capacity.metrics.limits.binding_mask`:
    a non-zero dual and no slack relative to the row's bound). [index]"""
    mask = binding_mask(model.row_lower, model.row_upper, row_activity, row_dual)
    for fam in model.rows:
        if fam.name in IDENTITY_FAMILIES:
            mask[family_rows(model, fam.name)] = False
    return np.flatnonzero(mask)


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

    - ``budget`` Y: ``planner.capex_budget_m.<Y>`` (with carry-over it also moves the
      later years' cumulative limits);
    - ``power`` t: ``planner.datacenter_mw.<step>``, the step in force in t (it moves every
      quarter of that step);
    - ``access`` (c, t): ``controls.base_supply_units_per_quarter.<c>`` where the cap is the
      base supply (times any supply factor; it moves every quarter of the chip); none for a
      ban or a licence's own cap (rules are not ``--set`` inputs);
    - demand: none (it is derived from the runs and the token and revenue paths).
    """
    pl = scenario.inputs.planner
    budget_keys = {str(k): str(k) for k in pl.capex_budget_m}
    power_keys = [str(q) for q in pl.datacenter_mw]
    base = scenario.inputs.controls.base_supply_units_per_quarter
    rules = scenario.all_rules() if availability is not None else {}
    out = []
    for con, period, chip in zip(binding["constraint"], binding["period"], binding["chip"],
                                 strict=True):
        key = ""
        if con == reg.BUDGET.name and str(period) in budget_keys:
            key = f"planner.capex_budget_m.{budget_keys[str(period)]}"
        elif con == reg.POWER.name:
            k = int(quarter_step_index([pd.Period(str(period), freq="Q")], power_keys)[0])
            key = f"planner.datacenter_mw.{power_keys[k]}" if k >= 0 else ""
        elif con == reg.ACCESS.name and chip in base:
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


@dataclass(frozen=True)
class InService:
    """The fleet-balance identity as sparse arrays: what a unit bought puts into service.

    The identity rows, one per fleet column, read ``B_f fleet + B_b buy = 0``, so

        fleet = M buy,      M = -B_f^{-1} B_b

    and buying one unit in t puts ``M[:, j]`` units in service (one in each of
    fleet[c, t .. t + life - 1]). M is never formed: :meth:`carry` needs only ``M^T v``.

    Attributes
    ----------
    buy, fleet
        Model columns of the buy and fleet families (family order). [index]
    diag
        Diagonal of B_f (each row's own fleet column), in fleet order.
    off
        Off-diagonal entries of B_f: (row, fleet position, value).
    bb
        Entries of B_b: (row, buy position, value).
    """

    buy: np.ndarray
    fleet: np.ndarray
    diag: np.ndarray
    off: tuple[np.ndarray, np.ndarray, np.ndarray]
    bb: tuple[np.ndarray, np.ndarray, np.ndarray]

    def solve(self, rhs: np.ndarray, transpose: bool = False) -> np.ndarray:
        """X with ``B_f X = rhs`` (``B_f^T X = rhs`` with ``transpose``), rhs shape (n, q).

        With ``B_f = D + O`` (D the diagonal), X is the fixed point of
        ``X = D^{-1} (rhs - O X)``, reached exactly in at most n steps because each row refers
        only to the quarter before (O is nilpotent).
        """
        r, k, v = self.off
        src, dst = (r, k) if transpose else (k, r)
        n = len(self.diag)
        x = rhs / self.diag[:, None]
        for _ in range(n + 1):
            ox = np.stack([np.bincount(dst, weights=v * x[src, q], minlength=n)
                           for q in range(rhs.shape[1])], axis=1)
            new = (rhs - ox) / self.diag[:, None]
            if np.array_equal(new, x):
                return x
            x = new
        raise ValueError("the identity rows are not a recursion (no fixed point)")

    def carry(self, per_fleet: np.ndarray) -> np.ndarray:
        """``M^T V = -B_b^T B_f^{-T} V`` for per-fleet-column vectors V (shape (n, q)): each
        one's total over what one unit of each buy column puts in service, shape (buy, q)."""
        u = self.solve(per_fleet, transpose=True)
        r, j, v = self.bb
        return -np.stack([np.bincount(j, weights=v * u[r, q], minlength=len(self.buy))
                          for q in range(per_fleet.shape[1])], axis=1)

    def units(self) -> np.ndarray:
        """M itself, dense (fleet x buy): units in service per unit bought (small models)."""
        r, j, v = self.bb
        rhs = np.zeros((len(self.diag), len(self.buy)))
        np.add.at(rhs, (r, j), -v)
        return self.solve(rhs)


def substitution(model: Model) -> InService:
    """The identity rows of ``model`` as an :class:`InService`.

    Raises
    ------
    ValueError
        When the identity rows do not define the fleet columns one to one.
    """
    buy, fleet = model.columns_of("buy"), model.columns_of("fleet")
    rows = np.concatenate([family_rows(model, n) for n in IDENTITY_FAMILIES])
    if len(rows) != len(fleet):
        raise ValueError("the identity rows do not define the fleet columns one to one")
    pos_row = np.full(model.num_row, -1)
    pos_row[rows] = np.arange(len(rows))
    pos_f = np.full(model.num_col, -1)
    pos_f[fleet] = np.arange(len(fleet))
    pos_b = np.full(model.num_col, -1)
    pos_b[buy] = np.arange(len(buy))
    sel = (pos_row[model.a_row] >= 0) & (model.a_val != 0.0)
    r, col, v = pos_row[model.a_row[sel]], model.a_col[sel], model.a_val[sel]
    f, b = pos_f[col] >= 0, pos_b[col] >= 0
    if not np.all(f | b):
        raise ValueError("an identity row holds a column that is neither buy nor fleet")
    fr, fk, fv = r[f], pos_f[col[f]], v[f]
    on = fr == fk
    diag = np.zeros(len(rows))
    np.add.at(diag, fr[on], fv[on])
    if np.any(diag == 0.0):
        raise ValueError("an identity row does not hold its own fleet column")
    return InService(buy, fleet, diag, (fr[~on], fk[~on], fv[~on]),
                     (r[b], pos_b[col[b]], v[b]))


def value_parts(model: Model, row_dual: np.ndarray) -> dict[str, np.ndarray]:
    """Net value of one more buy column, split into parts, per buy column (family order).

        -d_j = sum_F v_F,j + bound_j - cost_j - run_j

    with, for the fleet columns it puts in service (M from :class:`InService`), y the row
    duals, d the reduced costs and c the minimised costs:

        v_F,j   = sum_{i in F} (a_ij + sum_k a_ik M_kj) y_i    per row family F
        cost_j  = c_j                                        its own cost
        run_j   = sum_k M_kj c_k                             its fleet columns' cost
        bound_j = sum_k M_kj d_k                             value of those columns' bounds

    ``bound`` is non-zero only at a degenerate vertex (the fleet >= 0 bounds are implied by
    buy >= 0, yet a solver may put a dual on them). Returned per column (per lot in
    a whole-server model); keys ``cost``, ``run``, ``bound``, ``net`` and one per row family.
    """
    ins = substitution(model)
    buy, fleet = ins.buy, ins.fleet
    c = minimised_costs(model)
    d = reduced_costs(model, row_dual)
    names, direct, per_fleet = [], [], []
    for fam in model.rows:
        if fam.name in IDENTITY_FAMILIES:
            continue
        sel = (model.a_row >= model.row_start[fam.name]) & (
            model.a_row < model.row_start[fam.name] + len(fam))
        w = np.bincount(model.a_col[sel], weights=model.a_val[sel] * row_dual[model.a_row[sel]],
                        minlength=model.num_col)
        names.append(fam.name)
        direct.append(w[buy])
        per_fleet.append(w[fleet])
    carried = ins.carry(np.stack([*per_fleet, c[fleet], d[fleet]], axis=1))
    out = {n: direct[q] + carried[:, q] for q, n in enumerate(names)}
    out["cost"] = c[buy]
    out["run"] = carried[:, len(names)]
    out["bound"] = carried[:, len(names) + 1]
    out["net"] = sum((out[n] for n in names), np.zeros(len(buy))) + out["bound"] \
        - out["cost"] - out["run"]
    return out


ENABLING_FAMILIES: tuple[str, ...] = ("rental",)
"""Limits a unit bought relaxes rather than uses (the rental cap is a share of the whole
fleet): their part is value the unit adds, counted in ``served_value``."""


def purchase_value(model: Model, x: np.ndarray, row_dual: np.ndarray, unit_tol: float = 0.0
                   ) -> pd.DataFrame:
    """The ``purchase_value`` table: per buyable (delivery quarter, chip), the net value of
    buying one more unit and its parts, per unit bought (:func:`value_parts` / lot size).

    Columns (suffix the objective's unit, ``m`` for npv): ``units`` bought;
    ``served_value`` (the served-work families' duals, and the rental row's: a unit in service
    raises the rental limit by s x k, so more training can be rented, :data:`ENABLING_FAMILIES`);
    ``cost`` (its own discounted price);
    ``running_cost`` (its fleet columns' discounted power and maintenance); ``limits`` (the
    shadow prices
    of the limits it uses: ``limit_<family>`` for access, budget, power); ``bound_value``
    (:func:`value_parts`); ``net_value = served_value + bound_value - cost - running_cost -
    limits``, which is minus the column's reduced cost: 0 for a chip bought, <= 0 for one not.
    """
    _, sfx = objective_unit(model)
    fam = model.family("buy")
    buy = model.columns_of("buy")
    units = x[buy] * fam.scale
    units = np.where(np.abs(units) < unit_tol, 0.0, units)
    parts = value_parts(model, row_dual)
    per = 1.0 / fam.scale
    touches = np.zeros(model.num_col, bool)
    touches[buy] = True
    touches[model.columns_of("fleet")] = True
    starts = np.array([model.row_start[f.name] for f in model.rows])
    used = set((np.searchsorted(starts, np.unique(model.a_row[touches[model.a_col]]),
                                side="right") - 1).tolist())
    gains = (*SERVED_FAMILIES, *ENABLING_FAMILIES)
    limit_fams = [f.name for i, f in enumerate(model.rows)  # limits a purchase can use
                  if f.name not in IDENTITY_FAMILIES and f.name not in gains and i in used]
    served = sum((parts[n] for n in gains if n in parts), np.zeros(len(buy)))
    limits = {n: -parts[n] for n in limit_fams}
    table = pd.DataFrame({
        "period": fam.labels["period"], "chip": fam.labels["chip"],
        "units": units,
        f"served_value_{sfx}": served * per,
        f"cost_{sfx}": parts["cost"] * per,
        f"running_cost_{sfx}": parts["run"] * per,
        f"limits_{sfx}": sum(limits.values(), np.zeros(len(buy))) * per,
        **{f"limit_{n}_{sfx}": v * per for n, v in limits.items()},
        f"bound_value_{sfx}": parts["bound"] * per,
        f"net_value_{sfx}": parts["net"] * per,
    })
    return table.sort_values(["period", "chip"], kind="stable").reset_index(drop=True)
