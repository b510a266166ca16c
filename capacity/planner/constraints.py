"""Constraint families of the purchase LP: one function each, its equation in its docstring.

Each family is a function of the plan's numbers (:class:`~capacity.planner.data.PlanArrays`)
and of where the variable families sit (:class:`Columns`); it returns its block as a
:class:`RowFamily`: a row-label table, sparse coefficients (COO: local row, model column,
value) and row bounds. A re-solve asks for the numbers only (``Columns.labelled`` false: no
label tables, no pandas). The same functions build the model and re-solve it with new numbers
(:mod:`.solve`), so no number of the LP exists in a second place.

Sets: chips c, planned quarters t, workloads w (training, leasing, inference). Compute is
effective EFLOPS: k[c] = peak_tflops x efficiency / 1e6 per unit; tokens are tn tokens a
quarter: tau[c] per unit (the serving roofline). ``existing[c, t]`` (initial fleet and placed
orders, after retirements) enters as a constant, moved to the right-hand side.

A family's numbers may carry a leading batch axis (one LP per stress draw,
:mod:`capacity.batch`): coefficient values and bounds are then (B, n), the pattern (row, col)
is shared.

Every unit in service does one thing each quarter: own training (``train``, training-fit chips
only), leasing to AIDC customers (``lease``) or serving tokens (the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from capacity.planner import registry as reg
from capacity.planner.data import PlanArrays
from capacity.planner.periods import order_quarter
from capacity.planner.registry import Family
from capacity.planner.variables import INF, VarFamily


@dataclass(frozen=True)
class Columns:
    """Model column of each variable, as (quarter, chip-or-workload) grids; -1 where absent.

    Attributes
    ----------
    buy, fleet, train, lease
        Shape (T, C). [column index]
    served
        Shape (T, 3) (training, leasing, inference).
    rent
        Shape (T, 3); column 0 (training) only.
    buy_scale
        Units per unit of a buy column (``lot_units`` with lots, else 1). [units]
    labelled
        Whether families build their label tables (False for a numbers-only re-solve).
    """

    buy: np.ndarray
    fleet: np.ndarray
    train: np.ndarray
    lease: np.ndarray
    served: np.ndarray
    rent: np.ndarray
    buy_scale: float = 1.0
    labelled: bool = True


@dataclass(frozen=True)
class Take:
    """A label column kept as (source, positions) until it is read: ``source[index]``."""

    source: object
    index: np.ndarray

    def resolve(self):
        """The label column. [labels]"""
        return np.asarray(self.source, dtype=object)[self.index] \
            if isinstance(self.source, tuple) else self.source[self.index]


@dataclass(frozen=True)
class RowFamily:
    """One family of rows.

    Attributes
    ----------
    name
        Family name (:data:`capacity.planner.registry.FAMILIES`).
    label_data
        Label columns (None in a numbers-only build): ``constraint`` (the limit's name:
        ``training_demand``, ``leasing_demand`` within ``demand``) plus ``period``, ``chip`` or
        ``year`` as they apply; a column may be a :class:`Take`, indexed only when
        :attr:`labels` is first read (keeps pandas indexing off the build).
    row, col, val
        Coefficients: local row, model column and value of each entry (zeros kept, so the
        pattern does not depend on the numbers).
    lower, upper
        Row bounds (``-inf``/``inf`` where open), in the unit of the right-hand side.
    unit
        Unit of one unit of the right-hand side (the registry's :attr:`Family.unit`).
    constant
        Per row, the constant the family moved to the right-hand side (the existing fleet's
        compute or power), so the limit as stated is ``bound + constant``; None where nothing
        was moved. [unit of the right-hand side]
    """

    name: str
    label_data: dict | None
    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    unit: str
    constant: np.ndarray | None = None

    def __len__(self) -> int:
        return np.shape(self.lower)[-1]

    @cached_property
    def labels(self) -> pd.DataFrame:
        """One row per model row (see :attr:`label_data`)."""
        if self.label_data is None:
            raise ValueError(f"{self.name}: built without labels")
        n = len(self)
        return pd.DataFrame({k: (np.full(n, v, dtype=object) if isinstance(v, str) else
                                 v.resolve() if isinstance(v, Take) else v)
                             for k, v in self.label_data.items()})


def _values(v: np.ndarray, n: int) -> np.ndarray:
    """Coefficient values of ``n`` entries: an array of ``n``, or one number for all."""
    if v.shape == (n,):
        return v
    return np.full(n, float(v)) if v.ndim == 0 else np.broadcast_to(v, (n,))


def _labels(fam: Family, cols: Columns, **index) -> dict | None:
    """A family's label columns: its ``constraint`` name (the registry's) and its index."""
    return {"constraint": fam.name, **index} if cols.labelled else None


def _rows(fam: Family, labels: dict | None, entries: list[tuple[np.ndarray, np.ndarray,
          np.ndarray]], lower: np.ndarray, upper: np.ndarray,
          constant: np.ndarray | None = None) -> RowFamily:
    """A :class:`RowFamily` of the registered family ``fam`` (its name and unit)."""
    if entries:
        row = np.concatenate([e[0] for e in entries]).astype(np.int64)
        col = np.concatenate([e[1] for e in entries]).astype(np.int64)
        vals = [np.asarray(e[2], float) for e in entries]
        if all(v.ndim <= 1 for v in vals):  # one model (the plan): no batch axis
            val = np.concatenate([_values(v, len(e[0]))
                                  for v, e in zip(vals, entries, strict=True)])
        else:  # a batch of draws: values (B, n) along a leading axis
            batch = np.broadcast_shapes(*(v.shape[:-1] for v in vals if v.ndim))
            val = np.concatenate([np.broadcast_to(v, batch + e[0].shape)
                                  for v, e in zip(vals, entries, strict=True)], axis=-1)
    else:
        row = col = np.zeros(0, np.int64)
        val = np.zeros(0)
    return RowFamily(fam.name, labels, row, col, val,
                     np.asarray(lower, float), np.asarray(upper, float), fam.unit,
                     None if constant is None else np.asarray(constant, float))


def fleet_balance(a: PlanArrays, cols: Columns, fleet: VarFamily) -> RowFamily:
    """Fleet balance of new units, one row per fleet column (an identity, not a limit).

        fleet[c, t] - fleet[c, t-1] - buy[c, t] + buy[c, t - life_c] = 0

    so fleet[c, t] = sum of buy[c, tau] for t - life_c < tau <= t: units bought in the plan and
    not yet retired. (The existing fleet's retirements are in the constant existing[c, t].)
    """
    n = len(fleet)
    r = np.arange(n)
    c, t = fleet.c, fleet.t
    life = a.life_quarters[c]
    entries = [(r, cols.fleet[t, c], 1.0)]
    prev = np.where(t >= 1, cols.fleet[np.maximum(t - 1, 0), c], -1)
    entries.append((r[prev >= 0], prev[prev >= 0], -1.0))
    now = cols.buy[t, c]
    entries.append((r[now >= 0], now[now >= 0], -cols.buy_scale))
    tl = t - life
    old = np.where(tl >= 0, cols.buy[np.maximum(tl, 0), c], -1)
    entries.append((r[old >= 0], old[old >= 0], cols.buy_scale))
    fam = reg.FLEET_BALANCE
    labels = _labels(fam, cols, period=Take(fleet.periods, fleet.t),
                     chip=Take(fleet.names, fleet.c))
    return _rows(fam, labels, entries, np.zeros(n), np.zeros(n))


def _existing_at(a: PlanArrays, fam: VarFamily) -> np.ndarray:
    return a.existing_units[fam.t, fam.c]


def allocation(a: PlanArrays, cols: Columns, lease: VarFamily) -> RowFamily:
    """Units in service shared between uses, one row per (chip, quarter) with units.

        train[c, t] + lease[c, t] - fleet[c, t] <= existing[c, t]

    (the units left over serve tokens; ``train`` exists for training-fit chips only).
    """
    n = len(lease)
    r = np.arange(n)
    c, t = lease.c, lease.t
    entries = [(r, cols.lease[t, c], 1.0)]
    tr = cols.train[t, c]
    entries.append((r[tr >= 0], tr[tr >= 0], 1.0))
    fl = cols.fleet[t, c]
    entries.append((r[fl >= 0], fl[fl >= 0], -1.0))
    fam = reg.ALLOCATION
    labels = _labels(fam, cols, period=Take(lease.periods, lease.t),
                     chip=Take(lease.names, lease.c))
    return _rows(fam, labels, entries, np.full(n, -INF), _existing_at(a, lease))


def _per_quarter(cols: Columns, fam: VarFamily, grid: np.ndarray, coef: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries summing ``coef[c] x column[c, t]`` of a chip family into row t."""
    return fam.t, grid[fam.t, fam.c], coef[fam.c]


def training(a: PlanArrays, cols: Columns, fams: dict[str, VarFamily]) -> RowFamily:
    """Own training served in t runs on training-fit units assigned to it or on rented compute.

        served[training, t] - sum_c k[c] train[c, t] - rent[t] <= 0          [EFLOPS]
    """
    T = len(a.periods)
    k = a.effective_per_unit
    r = np.arange(T)
    tr, tc, tv = _per_quarter(cols, fams["train"], cols.train, -k)
    entries = [(r, cols.served[:, 0], 1.0), (tr, tc, tv), (r, cols.rent[:, 0], -1.0)]
    fam = reg.TRAINING
    return _rows(fam, _labels(fam, cols, period=a.periods), entries, np.full(T, -INF),
                 np.zeros(T))


def leasing(a: PlanArrays, cols: Columns, fams: dict[str, VarFamily]) -> RowFamily:
    """Leasing served in t runs on units leased out.

        served[leasing, t] - sum_c k[c] lease[c, t] <= 0                     [EFLOPS]
    """
    T = len(a.periods)
    r = np.arange(T)
    lr, lc, lv = _per_quarter(cols, fams["lease"], cols.lease, -a.effective_per_unit)
    entries = [(r, cols.served[:, 1], 1.0), (lr, lc, lv)]
    fam = reg.LEASING
    return _rows(fam, _labels(fam, cols, period=a.periods), entries, np.full(T, -INF),
                 np.zeros(T))


def tokens(a: PlanArrays, cols: Columns, fams: dict[str, VarFamily]) -> RowFamily:
    """Tokens served in t by the units neither training nor leased.

        served[inference, t] + sum_c tau[c] (train[c, t] + lease[c, t] - fleet[c, t])
            <= sum_c tau[c] existing[c, t]                                   [tn tokens]
    """
    T = len(a.periods)
    tau = a.tokens_per_unit_tn
    r = np.arange(T)
    entries = [(r, cols.served[:, 2], 1.0),
               _per_quarter(cols, fams["train"], cols.train, tau),
               _per_quarter(cols, fams["lease"], cols.lease, tau)]
    fr, fc, fv = _per_quarter(cols, fams["fleet"], cols.fleet, tau)
    entries.append((fr, fc, -fv))
    existing = a.existing_units @ tau
    fam = reg.TOKENS
    return _rows(fam, _labels(fam, cols, period=a.periods), entries, np.full(T, -INF),
                 existing)


def demand(a: PlanArrays, cols: Columns) -> RowFamily:
    """Work served is at most the work demanded (rows ``training_demand``,
    ``leasing_demand``, interleaved per quarter).

        served[w, t] <= D[w, t]                                              [EFLOPS]

    Unmet own training is thus at most the training demand.
    """
    T = len(a.periods)
    rows = np.arange(2 * T)
    entries = [(rows, cols.served[:, :2].reshape(-1), 1.0)]
    tr, le = np.broadcast_arrays(a.demand_training_eflops, a.demand_leasing_eflops)
    upper = np.stack([tr, le], axis=-1).reshape((*tr.shape[:-1], 2 * T))
    fam = reg.DEMAND
    names = np.array(fam.constraint_names, object)  # training_demand, leasing_demand
    labels = {"constraint": np.tile(names, T),
              "period": Take(a.periods, np.repeat(np.arange(T), 2))} if cols.labelled else None
    return _rows(fam, labels, entries, np.full(2 * T, -INF), upper)


def token_demand(a: PlanArrays, cols: Columns) -> RowFamily:
    """Tokens served are at most the tokens demanded.

        served[inference, t] <= D_tokens[t]                                  [tn tokens]
    """
    T = len(a.periods)
    entries = [(np.arange(T), cols.served[:, 2], 1.0)]
    fam = reg.TOKEN_DEMAND
    return _rows(fam, _labels(fam, cols, period=a.periods), entries, np.full(T, -INF),
                 a.demand_inference_tn)


def rental(a: PlanArrays, cols: Columns, fleet: VarFamily) -> RowFamily:
    """Rented training compute is capped at a share of the whole fleet's effective compute
    (0 where renting is closed).

        rent[t] - s[t] sum_c k[c] fleet[c, t] <= s[t] x existing_eflops[t]        [EFLOPS]

    (:func:`capacity.planner.economics.rental_limits`: the right-hand side is
    ``rental_cap_eflops``).
    """
    T = len(a.periods)
    share = a.rental_cap_share
    entries = [(np.arange(T), cols.rent[:, 0], 1.0),
               (fleet.t, cols.fleet[fleet.t, fleet.c],
                -np.asarray(share)[..., fleet.t] * a.effective_per_unit[..., fleet.c])]
    fam = reg.RENTAL
    return _rows(fam, _labels(fam, cols, period=a.periods), entries, np.full(T, -INF),
                 a.rental_cap_eflops)


def access(a: PlanArrays, cols: Columns, buy: VarFamily) -> RowFamily:
    """Export-control access and supply caps, one row per buyable pair with a finite cap.

        buy[c, t] <= cap_units[c, t]

    A banned chip has cap 0, so the dual of its row is the value of lifting the ban by one
    unit in that quarter.
    """
    caps = a.cap_units[..., buy.t, buy.c]
    keep = np.flatnonzero(_same_in_every_draw(np.isfinite(caps), "capped pairs"))
    r = np.arange(len(keep))
    entries = [(r, cols.buy[buy.t[keep], buy.c[keep]], cols.buy_scale)]
    fam = reg.ACCESS
    labels = _labels(fam, cols, period=Take(buy.periods, buy.t[keep]),
                     chip=Take(buy.names, buy.c[keep]))
    return _rows(fam, labels, entries, np.full(len(keep), -INF), caps[..., keep])


def _same_in_every_draw(mask: np.ndarray, what: str) -> np.ndarray:
    """A structural mask of one draw, or of a batch (B, n) whose draws must all agree."""
    if mask.ndim == 1:
        return mask
    if not (mask == mask[:1]).all():
        raise ValueError(f"the {what} differ between draws")
    return mask[0]


def order_year(a: PlanArrays, buy: VarFamily) -> np.ndarray:
    """Calendar year of each buy column's order quarter (delivery minus lead time). [year]

        year = (n0 + t - L_c) // P

    with n0 the first planned period counted from year 0 and P periods per year.
    """
    first = a.periods[0]
    ppy = a.periods_per_year
    n0 = first.year * ppy + (first.month - 1 if ppy == 12 else first.quarter - 1)
    return (n0 + order_quarter(buy.t, a.lead_quarters[buy.c])) // ppy


def budget(a: PlanArrays, cols: Columns, buy: VarFamily) -> RowFamily | None:
    """Capex budget per calendar year Y of the order quarter, paid at order.

        sum_{(c, t): order year = Y} price[c, t] buy[c, t] <= B_Y

    With carry-over: sum_{Y' <= Y} spend[Y'] <= sum_{Y' <= Y} B_Y' for every budgeted Y.
    """
    if not a.budget_years:
        return None
    years = a.budget_years
    oy = order_year(a, buy)
    p = a.price_m[..., buy.t, buy.c] * cols.buy_scale
    bcol = cols.buy[buy.t, buy.c]
    entries = []
    for r, y in enumerate(years):
        sel = np.flatnonzero(oy <= y if a.budget_carryover else oy == y)
        entries.append((np.full(len(sel), r), bcol[sel], p[..., sel]))
    upper = np.cumsum(a.budget_m, axis=-1) if a.budget_carryover else a.budget_m
    fam = reg.BUDGET
    labels = _labels(fam, cols, year=np.array(years, np.int64))
    return _rows(fam, labels, entries, np.full(len(years), -INF), upper)


def power(a: PlanArrays, cols: Columns, fleet: VarFamily) -> RowFamily | None:
    """Data-centre power per quarter with a finite limit.

        sum_c fleet[c, t] kw[c] / 1000 <= max(MW[t], existing_mw[t]) - existing_mw[t]

    with kw[c] = TDP x server overhead x PUE / 1000 [kW/unit]. Where the existing fleet alone
    already exceeds MW[t], the limit is raised to the existing draw (no new units can be
    added) and the plan's notes say so, rather than failing.
    """
    if a.power_mw is None:
        return None
    mw = a.power_mw
    tq = np.flatnonzero(_same_in_every_draw(np.isfinite(mw), "power-limited quarters"))
    row_of = np.full(len(a.periods), -1)
    row_of[tq] = np.arange(len(tq))
    kw = a.power_kw
    sel = np.flatnonzero(row_of[fleet.t] >= 0)
    entries = [(row_of[fleet.t[sel]], cols.fleet[fleet.t[sel], fleet.c[sel]],
                kw[..., fleet.c[sel]] / 1000.0)]
    existing = a.existing_power_mw[..., tq]
    upper = np.maximum(mw[..., tq], existing) - existing
    fam = reg.POWER
    return _rows(fam, _labels(fam, cols, period=Take(a.periods, tq)), entries,
                 np.full(len(tq), -INF), upper, existing)


def row_families(a: PlanArrays, cols: Columns, fams: dict[str, VarFamily]) -> list[RowFamily]:
    """Every constraint family of one model, in row order (absent families left out)."""
    out = [fleet_balance(a, cols, fams["fleet"]), allocation(a, cols, fams["lease"]),
           training(a, cols, fams), leasing(a, cols, fams), tokens(a, cols, fams),
           demand(a, cols), token_demand(a, cols), rental(a, cols, fams["fleet"]),
           access(a, cols, fams["buy"]), budget(a, cols, fams["buy"]),
           power(a, cols, fams["fleet"])]
    return [f for f in out if f is not None]
