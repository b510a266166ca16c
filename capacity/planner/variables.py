"""Variable families of the purchase LP, each a labelled block of columns.

A family is one function of :class:`~capacity.planner.arrays.PlanArrays` that returns its labels
(one row per column: chip or workload, and quarter) with integer positions into the data's
chips and periods, and its bounds. Costs live in :mod:`.objective`; the columns' place in the
model in :mod:`.model`.

Sets: chips c, planned quarters t, workloads w (training, leasing, inference).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from capacity.planner.arrays import WORKLOADS, PlanArrays, buyable_index

INF = np.inf
"""An absent bound."""


@dataclass(frozen=True)
class VarFamily:
    """One family of columns.

    Attributes
    ----------
    name
        ``buy``, ``fleet``, ``train``, ``lease``, ``served`` or ``rent``.
    key
        ``chip`` or ``workload``: what ``c`` indexes.
    names
        The chip or workload names ``c`` points into.
    periods
        The planned periods ``t`` points into.
    c, t
        Positions into ``data.chips`` (or :data:`WORKLOADS`) and ``data.periods``. [index]
    lower, upper
        Column bounds in the column's unit.
    unit
        Unit of one column (``units``, ``lots``, ``EFLOPS``, ``tn tokens``).
    integer
        Integer columns (lots of ``data.lot_units``: whole servers, the plan's default).
    scale
        Units represented by one unit of the column (``lot_units`` for lots, else 1). [units]
    """

    name: str
    key: str
    names: tuple[str, ...]
    periods: pd.PeriodIndex
    c: np.ndarray
    t: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    unit: str
    integer: bool = False
    scale: float = 1.0

    def __len__(self) -> int:
        return len(self.c)

    @cached_property
    def labels_dict(self) -> dict:
        """Label columns, one entry per column: ``chip`` or ``workload`` (names), ``period``
        (a PeriodIndex). Made when first read, so a build without labels does no pandas
        work."""
        return {self.key: np.asarray(self.names, dtype=object)[self.c],
                "period": self.periods[self.t]}

    @cached_property
    def labels(self) -> pd.DataFrame:
        """One row per column: ``chip`` or ``workload``, ``period`` (pandas Period)."""
        return pd.DataFrame(self.labels_dict)


def _family(name: str, key: str, names: list[str], periods: pd.PeriodIndex, c: np.ndarray,
            t: np.ndarray, unit: str, integer: bool = False, scale: float = 1.0) -> VarFamily:
    n = len(c)
    return VarFamily(name, key, tuple(names), periods, c.astype(np.int64), t.astype(np.int64),
                     np.zeros(n), np.full(n, INF), unit, integer, scale)


def buy_vars(a: PlanArrays, integer: bool = False) -> VarFamily:
    """``buy[c, t] >= 0``: units of chip c delivered in quarter t, for every buyable pair.

    With ``integer`` the column counts lots: buy[c, t] = lot_units * n[c, t], n integer.
    """
    c, t = buyable_index(a)
    return _family("buy", "chip", a.chips, a.periods, c, t, "lots" if integer else "units",
                   integer, float(a.lot_units) if integer else 1.0)


def fleet_vars(a: PlanArrays) -> VarFamily:
    """``fleet[c, t] >= 0``: new units of chip c in service in t (bought in the plan, not yet
    retired), for every chip that can be bought, from its first delivery quarter on."""
    bc, bt = buyable_index(a)
    first = np.full(len(a.chips), len(a.periods))
    np.minimum.at(first, bc, bt)
    cc, tt = np.meshgrid(np.arange(len(a.chips)), np.arange(len(a.periods)), indexing="ij")
    keep = tt >= first[:, None]
    return _family("fleet", "chip", a.chips, a.periods, cc[keep], tt[keep], "units")


def units_index(a: PlanArrays, only_fit: bool) -> tuple[np.ndarray, np.ndarray]:
    """(chip, quarter) positions where units of the chip can be in service: the existing fleet
    has some, or the plan can buy it by then; training-fit chips only with ``only_fit``."""
    bc, bt = buyable_index(a)
    first = np.full(len(a.chips), len(a.periods))
    np.minimum.at(first, bc, bt)
    tt = np.arange(len(a.periods))[:, None]
    keep = (a.existing_units > 0) | (tt >= first[None, :])
    if only_fit:
        keep &= a.training_fit[None, :]
    c, t = np.nonzero(keep.T)  # chip-major
    return c.astype(np.int64), t.astype(np.int64)


def train_vars(a: PlanArrays) -> VarFamily:
    """``train[c, t] >= 0``: units of training-fit chip c assigned to own training in t."""
    c, t = units_index(a, only_fit=True)
    return _family("train", "chip", a.chips, a.periods, c, t, "units")


def lease_vars(a: PlanArrays) -> VarFamily:
    """``lease[c, t] >= 0``: units of chip c leased to AIDC customers in t."""
    c, t = units_index(a, only_fit=False)
    return _family("lease", "chip", a.chips, a.periods, c, t, "units")


def served_vars(a: PlanArrays) -> VarFamily:
    """``served[w, t] >= 0``: work served, per workload and quarter (training and leasing in
    effective EFLOPS, inference in tn tokens); at most the demand (row family ``demand``)."""
    ww, tt = np.meshgrid(np.arange(len(WORKLOADS)), np.arange(len(a.periods)), indexing="ij")
    return _family("served", "workload", list(WORKLOADS), a.periods, ww.ravel(), tt.ravel(),
                   "EFLOPS or tn tokens")


def rent_vars(a: PlanArrays) -> VarFamily:
    """``rent[t] >= 0``: rented effective compute serving own training in t. [EFLOPS]"""
    t = np.arange(len(a.periods))
    return _family("rent", "workload", ["training"], a.periods, np.zeros(len(t), np.int64), t,
                   "EFLOPS")


def variable_families(a: PlanArrays, objective: str, integer: bool) -> list[VarFamily]:
    """The families of one model, in column order."""
    return [buy_vars(a, integer), fleet_vars(a), train_vars(a), lease_vars(a), served_vars(a),
            rent_vars(a)]
