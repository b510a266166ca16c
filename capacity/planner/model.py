"""Assemble the purchase LP once from its families: labelled arrays, no names, no solver.

:func:`build_model` calls every variable family (:mod:`.variables`), places the columns,
calls every constraint family (:mod:`.constraints`) and the objective (:mod:`.objective`) in
a fixed order, and returns a :class:`Model`: column costs and bounds, row bounds and the
coefficient pattern as COO arrays, with the label tables that map every column and row back to
(chip, quarter, ...). :mod:`.solve` passes it to HiGHS; :mod:`.export` to PuLP.

The column order is that of the columns' export names (``buy_<chip>_<quarter>``, ...), sorted,
so that the HiGHS model and its PuLP export (CBC, ``--save-lp``) are the same model column
for column. Names order the columns and nothing else: every result is read back by position
through the label tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.planner.arrays import WORKLOADS, PlanArrays, buyable_index
from capacity.planner.constraints import Columns, RowFamily, row_families
from capacity.planner.data import PlanData
from capacity.planner.objective import OBJECTIVE_FUNCTIONS, OBJECTIVES
from capacity.planner.variables import VarFamily, variable_families


def tag(*parts: object) -> str:
    """Stable snake_case name part: ``tag("MLU370-X8", 2024Q1)`` -> ``MLU370_X8_2024Q1``."""
    return "_".join(str(p).replace("-", "_").replace(".", "_").replace(" ", "_") for p in parts)


def _name_array(fam: VarFamily, chips: list[str], periods: pd.PeriodIndex,
                tails: np.ndarray | None = None) -> np.ndarray:
    """Export names of a family's columns as a numpy string array:
    ``<family>_<tag(chip or workload)>_<tag(period)>`` joined by position (``tails``: the
    period tags, when the caller has them already)."""
    prefix = "lots" if fam.integer else fam.name
    names = chips if fam.key == "chip" else list(WORKLOADS)
    heads = np.array([f"{prefix}_{tag(n)}_" for n in names])
    if tails is None:
        tails = period_tags(periods)
    if not len(fam):
        return np.zeros(0, dtype=str)
    return np.char.add(heads[fam.c], tails[fam.t])


def period_tags(periods: pd.PeriodIndex) -> np.ndarray:
    """``tag`` of every period, as a numpy string array."""
    return np.array([tag(p) for p in periods])


def column_names(fam: VarFamily, chips: list[str], periods: pd.PeriodIndex) -> list[str]:
    """Export names of a family's columns (``lots_`` for integer buys)."""
    return _name_array(fam, chips, periods).tolist()


def row_names(fam: RowFamily) -> list[str]:
    """Export names of a family's rows (``access_<chip>_<quarter>``, ``budget_<year>``)."""
    lab = fam.labels
    parts = [lab["constraint"].astype(str)]
    if "chip" in lab:
        parts.append(lab["chip"].map(tag))
    for key in ("period", "year"):
        if key in lab:
            parts.append(lab[key].astype(str))
    return ["_".join(p) for p in zip(*parts, strict=True)]


@dataclass
class Model:
    """One purchase LP as arrays.

    Attributes
    ----------
    objective
        ``npv`` (RMB m) or ``max-compute`` (EFLOPS-quarters); both maximised.
    periods, chips
        Axes of the labels.
    vars, rows
        The families in model order; ``var_start``/``row_start`` give each family's first
        column/row. [index]
    cols
        Model column of each variable (:class:`~capacity.planner.constraints.Columns`).
    col_cost, col_lower, col_upper, integer
        Per column, in model order.
    row_lower, row_upper
        Per row.
    a_row, a_col, a_val
        Coefficient pattern (COO, zeros kept).
    offset
        Constant of the objective (the existing fleet's power opex or compute).
    """

    objective: str
    periods: pd.PeriodIndex
    chips: list[str]
    vars: list[VarFamily]
    rows: list[RowFamily]
    var_start: dict[str, int]
    row_start: dict[str, int]
    cols: Columns
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_row: np.ndarray
    a_col: np.ndarray
    a_val: np.ndarray
    offset: float
    perm: np.ndarray = field(repr=False)
    """Model column of each column in family order (buy, fleet, shortfall). [index]"""

    @property
    def maximize(self) -> bool:
        return True

    @property
    def num_col(self) -> int:
        return len(self.col_cost)

    @property
    def num_row(self) -> int:
        return len(self.row_lower)

    def family(self, name: str) -> VarFamily:
        """The variable family called ``name``."""
        return next(f for f in self.vars if f.name == name)

    def columns_of(self, name: str) -> np.ndarray:
        """Model columns of a variable family, in the family's label order. [index]"""
        start = self.var_start[name]
        return self.perm[start:start + len(self.family(name))]

    def row_labels(self) -> pd.DataFrame:
        """Every row's labels (``family``, ``constraint``, ``period``, ``chip``, ``year``)."""
        frames = [f.labels.assign(family=f.name) for f in self.rows if len(f)]
        out = pd.concat(frames, ignore_index=True)
        return out[["family", *[c for c in out.columns if c != "family"]]]

    def structure(self) -> tuple:
        """What must not change for an in-place re-solve: the families, their labels' sizes,
        integrality and the coefficient pattern."""
        return (self.objective,
                tuple((f.name, f.integer, f.c.tobytes(), f.t.tobytes()) for f in self.vars),
                tuple((f.name, len(f)) for f in self.rows), self.a_row.tobytes(),
                self.a_col.tobytes())


def build_model(data: PlanData, objective: str = "npv", integer: bool = False) -> Model:
    """Build the purchase LP's arrays.

    Parameters
    ----------
    data
        Labelled inputs.
    objective
        ``npv`` (most net present value of the work served, :func:`.objective.npv`) or
        ``max-compute`` (most effective EFLOPS-quarters within budget, power and access).
    integer
        Buy in whole lots of ``data.lot_units``.
    """
    if objective not in OBJECTIVES:
        raise InputError("objective", f"unknown objective {objective!r} (choose from "
                         f"{', '.join(OBJECTIVES)})")
    a = data.arrays
    vfams = variable_families(a, objective, integer)
    var_start, _ = _starts(vfams)
    perm = column_order(vfams, a.chips, a.periods)
    T, C = len(data.periods), len(data.chips)
    grids = {}
    for f in vfams:
        width = C if f.key == "chip" else len(WORKLOADS)
        g = np.full((T, width), -1, np.int64)
        g[f.t, f.c] = perm[var_start[f.name]:var_start[f.name] + len(f)]
        grids[f.name] = g
    by_name = {f.name: f for f in vfams}
    buy = by_name["buy"]
    cols = Columns(grids["buy"], grids["fleet"], grids["train"], grids["lease"],
                   grids["served"], grids["rent"], buy.scale)
    rfams = row_families(a, cols, by_name)
    row_start, _ = _starts(rfams)
    costs, offset = OBJECTIVE_FUNCTIONS[objective](a, by_name)

    def place(values: list[np.ndarray]) -> np.ndarray:
        return _place(perm, values)

    return Model(
        objective=objective, periods=a.periods, chips=list(a.chips), vars=vfams, rows=rfams,
        var_start=var_start, row_start=row_start, cols=cols,
        col_cost=place([np.asarray(costs.get(f.name, np.zeros(len(f))), float) for f in vfams]),
        col_lower=place([f.lower for f in vfams]), col_upper=place([f.upper for f in vfams]),
        integer=place([np.full(len(f), float(f.integer)) for f in vfams]).astype(bool),
        row_lower=np.concatenate([f.lower for f in rfams]) if rfams else np.zeros(0),
        row_upper=np.concatenate([f.upper for f in rfams]) if rfams else np.zeros(0),
        a_row=np.concatenate([f.row + row_start[f.name] for f in rfams]),
        a_col=np.concatenate([f.col for f in rfams]),
        a_val=np.concatenate([f.val for f in rfams]),
        offset=offset, perm=perm)


_ORDER_CACHE: dict[tuple, np.ndarray] = {}
"""Column orders already worked out, by structure (:func:`column_order`)."""


def column_order(vfams: list[VarFamily], chips: list[str], periods: pd.PeriodIndex
                 ) -> np.ndarray:
    """Model column of each column in family order: the columns sorted by export name
    (:func:`column_names`), so that the HiGHS model and its PuLP export agree column for
    column. [index]

    A pure function of the structure (chips, periods, each family's positions and
    integrality), so it is kept for the next build of the same structure (a re-run of a
    scenario, an explorer move) instead of sorting strings again; the array is read-only.
    """
    key = (tuple(chips), periods.freqstr, periods.asi8.tobytes(),
           tuple((f.name, f.integer, f.c.tobytes(), f.t.tobytes()) for f in vfams))
    perm = _ORDER_CACHE.get(key)
    if perm is None:
        tails = period_tags(periods)
        names = np.concatenate([_name_array(f, chips, periods, tails) for f in vfams])
        order = np.argsort(names, kind="stable")
        perm = np.empty(len(names), np.int64)
        perm[order] = np.arange(len(names))  # family-order position -> model column
        perm.flags.writeable = False
        if len(_ORDER_CACHE) >= 64:
            _ORDER_CACHE.pop(next(iter(_ORDER_CACHE)))
        _ORDER_CACHE[key] = perm
    return perm


def _starts(families: list) -> tuple[dict[str, int], int]:
    """First column (or row) of each family in model order, and the total count. [index]"""
    starts: dict[str, int] = {}
    n = 0
    for f in families:
        starts[f.name] = n
        n += len(f)
    return starts, n


def _place(perm: np.ndarray, values: list[np.ndarray]) -> np.ndarray:
    """Per-family column values (family order) -> model column order (shape (n,), or (B, n)
    when a family's values carry a batch axis)."""
    flat = _concat(values)
    out = np.empty((*flat.shape[:-1], len(perm)))
    out[..., perm] = flat
    return out


def _concat(values: list[np.ndarray]) -> np.ndarray:
    """Blocks joined along their last axis; blocks without the batch axis of the others are
    repeated for every draw."""
    if not values:
        return np.zeros(0)
    vals = [np.asarray(v, float) for v in values]
    batch = np.broadcast_shapes(*(v.shape[:-1] for v in vals))
    if not batch:
        return np.concatenate(vals)
    return np.concatenate([np.broadcast_to(v, batch + v.shape[-1:]) for v in vals], axis=-1)


def renumber(template: Model, a: PlanArrays) -> Model:
    """The template's model with the numbers of ``a``, built by the same family functions.

    Only numbers are recomputed (no labels, no names): costs, row bounds, coefficient values
    and the objective constant. The variable families (which columns exist) are the
    template's.

    ``a`` may hold a batch of draws (:mod:`capacity.batch`); the model's numbers then carry
    the batch as their first axis (costs (B, n), row bounds (B, m), coefficients (B, nnz),
    constant (B,)) and :func:`draw_of` takes one draw out of it.

    Raises
    ------
    ValueError
        When ``a`` implies another structure (buyable pairs, capped pairs, budget years, power
        quarters, coefficient pattern) than the template.
    """
    by_name = {f.name: f for f in template.vars}
    bc, bt = buyable_index(a)
    buy = by_name["buy"]
    if not (np.array_equal(bc, buy.c) and np.array_equal(bt, buy.t)):
        raise ValueError("the buyable (chip, quarter) pairs differ from the template")
    cols = replace(template.cols, labelled=False)
    rfams = row_families(a, cols, by_name)
    if [(f.name, len(f)) for f in rfams] != [(f.name, len(f)) for f in template.rows]:
        raise ValueError("the constraint rows (capped pairs, budget years, power quarters) "
                         "differ from the template")
    a_row = np.concatenate([f.row + template.row_start[f.name] for f in rfams])
    a_col = np.concatenate([f.col for f in rfams])
    if not (np.array_equal(a_row, template.a_row) and np.array_equal(a_col, template.a_col)):
        raise ValueError("the coefficient pattern differs from the template")
    costs, offset = OBJECTIVE_FUNCTIONS[template.objective](a, by_name)
    return replace(
        template, rows=[replace(f, label_data=t.label_data) for f, t in zip(rfams, template.rows,
                                                                            strict=True)],
        col_cost=_place(template.perm, [np.asarray(costs.get(f.name, np.zeros(len(f))), float)
                                        for f in template.vars]),
        row_lower=_concat([f.lower for f in rfams]),
        row_upper=_concat([f.upper for f in rfams]),
        a_val=_concat([f.val for f in rfams]), offset=offset)


def draw_of(model: Model, b: int) -> Model:
    """Draw ``b`` of a model renumbered for a batch of draws (:func:`renumber`): the same
    model with that draw's numbers, which :class:`~capacity.planner.solve.Resolver` solves."""
    def pick(x: np.ndarray, nd: int) -> np.ndarray:
        return x[b] if np.ndim(x) > nd else x

    return replace(model, col_cost=pick(model.col_cost, 1),
                   row_lower=pick(model.row_lower, 1), row_upper=pick(model.row_upper, 1),
                   a_val=pick(model.a_val, 1), offset=float(pick(model.offset, 0)))
