"""The numbers the purchase LP is built from, gathered once from a scenario.

:class:`PlanData` is a plain container of labelled pandas objects (chip x quarter), so a tiny
problem can be written by hand in a test, and a stress test can swap numbers without touching
the LP structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from capacity.chips import TFLOPS_PER_EFLOPS, peak_tflops, price_rmb, training_fit

WORKLOADS = ("training", "inference")


def discount_factor(k, rate: float, periods_per_year: int):
    """(1 + rate) ** (-k / periods_per_year) for k periods after the first. [1]"""
    return (1.0 + rate) ** (-np.asarray(k, dtype=float) / periods_per_year)


def opex_rmb_m_per_mw(hours_per_period: float, rmb_per_kwh: float) -> float:
    """Power cost of one MW for one period: MW * h * 1000 kWh/MWh * RMB/kWh / 1e6. [RMB m]"""
    return hours_per_period * 1000.0 * rmb_per_kwh / 1e6


@dataclass(frozen=True)
class PlanData:
    """Inputs of one purchase LP, labelled by chip and quarter.

    Attributes
    ----------
    periods
        Planned quarters (delivery quarters), ``PeriodIndex`` freq Q.
    chips
        Chips that exist in the fleet or may be bought.
    peak_tflops
        Dense FP16 peak per unit. [TFLOPS]
    efficiency
        Effective-to-peak factor. [1]
    training_fit
        Whether the chip may serve large-cluster training.
    power_kw
        Facility power per installed unit: TDP x server overhead x PUE / 1000. [kW/unit]
    life_quarters
        Service life. [quarters]
    lead_quarters
        Order-to-delivery lead time. [quarters]
    price_rmb_m
        Price per unit delivered in quarter t (licence fees included), paid at order.
        [RMB m/unit]; NaN where the chip cannot be bought for delivery in t.
    cap_units
        Most units deliverable in quarter t [units/quarter]; NaN = uncapped; 0 = banned.
    status
        Export-control status per quarter and chip (for reporting).
    rule
        Deciding rule per quarter and chip (for reporting).
    existing_units
        Units of the existing fleet (initial + placed orders, after retirements). [units]
    demand_eflops
        Effective demand per quarter, columns ``training``, ``inference`` (leasing included in
        inference; it can run on any chip). [EFLOPS]
    budget_rmb_m
        Capex budget per calendar year of the order quarter. [RMB m]; years absent are unlimited.
    budget_carryover
        Whether unspent budget rolls forward.
    power_mw
        Facility power available per quarter. [MW]; NaN = unlimited.
    electricity_rmb_per_kwh
        Electricity price. [RMB/kWh]
    discount_rate_annual
        [1/year]
    penalty_rmb_m_per_eflops
        Penalty on unmet effective EFLOPS per quarter. [RMB m/(EFLOPS*quarter)]
    training_shortfall_weight
        Multiplier on the penalty for unmet training (below 1: training slips first). [1]
    first_order_period
        Earliest quarter an order can be placed (the first planned quarter).
    lot_units
        Lot size for integer plans. [units]
    """

    periods: pd.PeriodIndex
    chips: list[str]
    peak_tflops: pd.Series
    efficiency: pd.Series
    training_fit: pd.Series
    power_kw: pd.Series
    life_quarters: pd.Series
    lead_quarters: pd.Series
    price_rmb_m: pd.DataFrame
    cap_units: pd.DataFrame
    existing_units: pd.DataFrame
    demand_eflops: pd.DataFrame
    budget_rmb_m: dict[int, float] = field(default_factory=dict)
    budget_carryover: bool = False
    power_mw: pd.Series | None = None
    electricity_rmb_per_kwh: float = 0.0
    discount_rate_annual: float = 0.0
    penalty_rmb_m_per_eflops: float = 1e5
    training_shortfall_weight: float = 1.0
    first_order_period: pd.Period | None = None
    lot_units: int = 8
    status: pd.DataFrame | None = None
    rule: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()

    def order_period(self, chip: str, t: pd.Period) -> pd.Period:
        """Quarter an order for delivery in ``t`` is placed (and paid)."""
        return t - int(self.lead_quarters[chip])

    def buyable_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(chip, delivery quarter) positions that get a purchase variable, chip-major.

        A pair needs a known price and an order quarter not before ``first_order_period``.
        Banned pairs keep their variable (capped at 0) so the value of the ban can be read
        from the dual of its access constraint.

        Returns
        -------
        c, t
            Positions into ``chips`` and ``periods``. [index]
        """
        first = self.first_order_period if self.first_order_period is not None else \
            self.periods[0]
        offset = (first - self.periods[0]).n
        priced = np.isfinite(self.price_rmb_m.reindex(index=self.periods, columns=self.chips)
                             .to_numpy(float))
        lead = self.lead_quarters.reindex(self.chips).to_numpy(np.int64)
        ok = priced & (np.arange(len(self.periods))[:, None] - lead[None, :] >= offset)
        c, t = np.nonzero(ok.T)  # chip-major, periods in order within a chip
        return c.astype(np.int64), t.astype(np.int64)

    def buyable(self) -> list[tuple[str, pd.Period]]:
        """(chip, delivery quarter) pairs of :meth:`buyable_index`, by label."""
        c, t = self.buyable_index()
        return [(self.chips[i], self.periods[j]) for i, j in zip(c, t, strict=True)]

    @property
    def periods_per_year(self) -> int:
        """4 for a quarterly horizon, 12 for a monthly one."""
        return 12 if self.periods.freqstr.startswith("M") else 4

    @property
    def hours_per_period(self) -> float:
        """Hours in an average period. [h]"""
        return 365.25 * 24 / self.periods_per_year

    def discount(self, t: pd.Period) -> float:
        """Discount factor of period ``t`` relative to the first planned period. [1]"""
        return float(discount_factor((t - self.periods[0]).n, self.discount_rate_annual,
                                     self.periods_per_year))

    @property
    def opex_rmb_m_per_mw(self) -> float:
        """Power cost of one MW for one period. [RMB m]"""
        return opex_rmb_m_per_mw(self.hours_per_period, self.electricity_rmb_per_kwh)

    # Derived once per instance (the LP build asks for them per quarter); a copy made with
    # :meth:`with_numbers` derives them afresh.
    @cached_property
    def effective_per_unit(self) -> pd.Series:
        """Effective EFLOPS of one unit of each chip: peak_tflops x efficiency / 1e6. [EFLOPS]"""
        return self.peak_tflops * self.efficiency / TFLOPS_PER_EFLOPS

    @cached_property
    def existing_effective(self) -> pd.Series:
        """Effective EFLOPS of the existing fleet per quarter. [EFLOPS]"""
        return (self.existing_units * self.effective_per_unit).sum(axis=1)

    @cached_property
    def existing_fit_effective(self) -> pd.Series:
        """Effective EFLOPS of the existing fleet's training-fit chips per quarter. [EFLOPS]"""
        fit = self.training_fit.astype(float)
        return (self.existing_units * (self.effective_per_unit * fit)).sum(axis=1)

    @cached_property
    def existing_power(self) -> pd.Series:
        """Facility power of the existing fleet per quarter. [MW]"""
        return (self.existing_units * self.power_kw).sum(axis=1) / 1000.0

    def with_numbers(self, **changes) -> PlanData:
        """A copy with some numbers replaced (same structure)."""
        return replace(self, **changes)


def plan_data_from_scenario(scenario, existing_units: pd.DataFrame, demand: pd.DataFrame,
                            availability: pd.DataFrame | None) -> PlanData:
    """Gather :class:`PlanData` from a validated scenario.

    Parameters
    ----------
    scenario
        Validated :class:`~capacity.scenarios.Scenario`.
    existing_units
        Units in service without new purchases, index planned quarters, columns chips. [units]
    demand
        From :func:`capacity.demand.demand_table` (``training_eflops``, ``inference_eflops``,
        ``leasing_eflops``). [EFLOPS]
    availability
        From :func:`capacity.controls.availability` (index period x chip), or None for no rules.
    """
    inp = scenario.inputs
    pl = inp.planner
    cat = scenario.catalog
    periods = inp.horizon.periods
    chips = list(cat.index)
    rate = peak_tflops(cat)
    notes: list[str] = []

    eff = pd.Series([inp.fleet.efficiency_of(c) for c in chips], index=chips)
    fit = training_fit(cat, pl.training_min_interconnect_gbs).reindex(chips)
    kw = cat["tdp_w"].reindex(chips) * pl.server_overhead * pl.pue / 1000.0
    life = pd.Series([inp.fleet.life_of(c) for c in chips], index=chips, dtype=int)
    lead = pd.Series([pl.lead_time_quarters.get(c, pl.default_lead_time_quarters)
                      for c in chips], index=chips, dtype=int)
    base_price = price_rmb(cat, pl.usd_rmb, pl.price_usd) / 1e6

    price = pd.DataFrame(np.nan, index=periods, columns=chips)
    cap = pd.DataFrame(np.nan, index=periods, columns=chips)
    status = pd.DataFrame("allowed", index=periods, columns=chips)
    rule = pd.DataFrame("", index=periods, columns=chips)
    for c in chips:
        if c in pl.exclude_chips:
            continue
        if pd.isna(rate[c]):
            notes.append(f"{c}: no known FP16 rate, not planned")
            continue
        if pd.isna(base_price[c]):
            notes.append(f"{c}: no known price (set planner.price_usd.{c} to plan it)")
            continue
        if pd.isna(kw[c]):
            notes.append(f"{c}: no known TDP, not planned")
            continue
        launched = periods >= cat.at[c, "launch"]
        price.loc[launched, c] = base_price[c]
    if availability is not None:
        av = availability.reset_index()
        av = av[av["period"].isin(periods)]
        st = av.pivot(index="period", columns="chip", values="status").reindex(
            index=periods, columns=chips)
        pf = av.pivot(index="period", columns="chip", values="price_factor").reindex(
            index=periods, columns=chips).astype(float).fillna(1.0)
        cp = av.pivot(index="period", columns="chip", values="cap_units").reindex(
            index=periods, columns=chips).astype(float)
        rl = av.pivot(index="period", columns="chip", values="rule").reindex(
            index=periods, columns=chips).fillna("")
        status = st.fillna("allowed")
        rule = rl
        price = price * pf
        cap = cp.where(status != "banned", 0.0)
    else:
        for c, units in inp.controls.base_supply_units_per_quarter.items():
            cap[c] = units

    power = None
    if pl.datacenter_mw:
        steps = sorted((pd.Period(q, freq="Q"), mw) for q, mw in pl.datacenter_mw.items())
        vals = []
        for t in periods:
            applicable = [mw for q, mw in steps if q <= t]
            vals.append(applicable[-1] if applicable else np.nan)
        power = pd.Series(vals, index=periods, dtype=float)

    dem = pd.DataFrame({
        "training": demand["training_eflops"].reindex(periods).astype(float),
        "inference": (demand["inference_eflops"] + demand["leasing_eflops"]).reindex(
            periods).astype(float),
    })
    if dem.isna().any().any():
        missing = dem.index[dem.isna().any(axis=1)][0]
        raise ValueError(f"demand missing for {missing}")

    return PlanData(
        periods=periods, chips=chips, peak_tflops=rate.reindex(chips).fillna(0.0),
        efficiency=eff, training_fit=fit.fillna(False).astype(bool), power_kw=kw.fillna(0.0),
        life_quarters=life, lead_quarters=lead, price_rmb_m=price, cap_units=cap,
        existing_units=existing_units.reindex(index=periods, columns=chips, fill_value=0.0),
        demand_eflops=dem, budget_rmb_m={int(y): float(b) for y, b in
                                         pl.capex_budget_rmb_m.items()},
        budget_carryover=pl.budget_carryover, power_mw=power,
        electricity_rmb_per_kwh=pl.electricity_rmb_per_kwh,
        discount_rate_annual=pl.discount_rate_annual,
        penalty_rmb_m_per_eflops=pl.shortfall_penalty_rmb_m_per_eflops,
        training_shortfall_weight=pl.training_shortfall_weight,
        first_order_period=periods[0], lot_units=pl.lot_units, status=status, rule=rule,
        notes=tuple(notes))
