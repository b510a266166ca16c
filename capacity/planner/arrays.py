"""The numbers of one purchase LP as numpy arrays (:class:`PlanArrays`), and the buyable pairs.

What every variable, constraint and objective family reads; made from a
:class:`~capacity.planner.data.PlanData` or by a stress draw with some numbers replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from capacity.batch import matvec
from capacity.planner.economics import opex_m_per_mw
from capacity.planner.periods import hours_per_period, order_quarter

WORKLOADS = ("training", "leasing", "inference")
"""Work the fleet serves: own training and AIDC leasing [effective EFLOPS], inference
[tn tokens]."""


def buyable_index(a: PlanArrays) -> tuple[np.ndarray, np.ndarray]:
    """(chip, delivery quarter) positions with a known price and an order quarter not before
    the first order period, chip-major. [index]

    Worked out once per :class:`PlanArrays` (:attr:`PlanArrays.buyable`; the variable families
    all ask for it).

    Raises
    ------
    ValueError
        For a batch of draws (prices (B, T, C)) whose draws have different buyable pairs.
    """
    return a.buyable


def _buyable_index(a: PlanArrays) -> tuple[np.ndarray, np.ndarray]:
    """:func:`buyable_index`, computed."""
    priced = np.isfinite(a.price_m)
    if priced.ndim == 3:
        if not (priced == priced[:1]).all():
            raise ValueError("the buyable (chip, quarter) pairs differ between draws")
        priced = priced[0]
    ok = priced & (order_quarter(np.arange(len(a.periods))[:, None], a.lead_quarters[None, :])
                   >= a.first_order_offset)
    c, t = np.nonzero(ok.T)  # chip-major, periods in order within a chip
    return c.astype(np.int64), t.astype(np.int64)


@dataclass(frozen=True)
class PlanArrays:
    """The numbers of one purchase LP as numpy arrays, aligned to (periods, chips).

    What the constraint and objective families read (:mod:`capacity.planner.constraints`,
    :mod:`capacity.planner.objective`): made once from a
    :class:`~capacity.planner.data.PlanData` (``PlanData.arrays``), or by a stress draw with
    some numbers replaced (``dataclasses.replace``), so a re-solve does no pandas work.

    Attributes
    ----------
    periods, chips
        Labels of the axes (for label tables only).
    price_m, cap_units, existing_units
        Shape (T, C). [RMB m/unit], [units/quarter] (NaN = uncapped), [units]
    demand_training_eflops, demand_leasing_eflops, demand_inference_tn
        Shape (T,). [EFLOPS], [EFLOPS], [tn tokens]
    demand_inference_eflops
        Shape (T,): the token demand as effective compute at the reference chip's roofline
        (:func:`~capacity.planner.economics.inference_demand_eflops`; reported, not a limit;
        NaN for a hand-built plan without it). [EFLOPS]
    tokens_per_unit_tn, maintenance_m
        Shape (C,). [tn tokens/(unit*quarter)], [RMB m/(unit*quarter)]
    training_value_m, leasing_m, rental_m
        Shape (T,). [RMB m/(EFLOPS*quarter)]
    token_price_m_per_tn
        Shape (T,). [RMB m/tn tokens]
    rental_cap_eflops
        Shape (T,): the rental limit the existing fleet gives (share x its compute). [EFLOPS]
    rental_cap_share
        Shape (T,): most rented compute as a share of the whole fleet's (existing and new)
        effective compute, so each new unit raises the limit by share x k[c]. [1]
    effective_per_unit
        Shape (C,). [EFLOPS/unit]
    training_fit
        Shape (C,), bool.
    power_kw
        Shape (C,). [kW/unit]
    life_quarters, lead_quarters
        Shape (C,), int. [quarters]
    power_mw
        Shape (T,); NaN = unlimited; None without power limits. [MW]
    budget_years, budget_m
        Budgeted order years and their budgets. [year], [RMB m]
    """

    periods: pd.PeriodIndex
    chips: list[str]
    price_m: np.ndarray
    cap_units: np.ndarray
    existing_units: np.ndarray
    demand_training_eflops: np.ndarray
    demand_leasing_eflops: np.ndarray
    demand_inference_tn: np.ndarray
    demand_inference_eflops: np.ndarray
    tokens_per_unit_tn: np.ndarray
    maintenance_m: np.ndarray
    training_value_m: np.ndarray
    leasing_m: np.ndarray
    rental_m: np.ndarray
    token_price_m_per_tn: np.ndarray
    rental_cap_eflops: np.ndarray
    rental_cap_share: np.ndarray
    effective_per_unit: np.ndarray
    training_fit: np.ndarray
    power_kw: np.ndarray
    life_quarters: np.ndarray
    lead_quarters: np.ndarray
    power_mw: np.ndarray | None
    budget_years: tuple[int, ...]
    budget_m: np.ndarray
    budget_carryover: bool
    electricity_per_kwh: float
    discount_rate_annual: float
    periods_per_year: int
    first_order_offset: int
    lot_units: int

    @cached_property
    def buyable(self) -> tuple[np.ndarray, np.ndarray]:
        """(chip, delivery quarter) positions that get a purchase variable
        (:func:`buyable_index`), read-only. [index]"""
        c, t = _buyable_index(self)
        c.flags.writeable = t.flags.writeable = False
        return c, t

    @property
    def opex_m_per_mw(self) -> float:
        """Power cost of one MW for one period. [RMB m]"""
        return opex_m_per_mw(hours_per_period(self.periods_per_year),
                                 self.electricity_per_kwh)

    @property
    def existing_effective(self) -> np.ndarray:
        """Effective EFLOPS of the existing fleet per quarter, shape (T,). [EFLOPS]"""
        return self.existing_units @ self.effective_per_unit

    @property
    def existing_fit_effective(self) -> np.ndarray:
        """Effective EFLOPS of the existing training-fit chips per quarter. [EFLOPS]"""
        return self.existing_units @ (self.effective_per_unit * self.training_fit)

    @property
    def existing_power_mw(self) -> np.ndarray:
        """Facility power of the existing fleet per quarter, shape (T,) or (B, T). [MW]"""
        return matvec(self.existing_units, self.power_kw) / 1000.0
