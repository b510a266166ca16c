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
        return buyable_index(self.arrays)

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

    @cached_property
    def arrays(self) -> PlanArrays:
        """The numbers as numpy arrays aligned to (periods, chips)."""
        p, c = self.periods, self.chips
        ci = self.peak_tflops.index if list(self.peak_tflops.index) == list(c) else pd.Index(c)
        first = self.first_order_period if self.first_order_period is not None else p[0]
        d = self.demand_eflops
        years = tuple(sorted(self.budget_rmb_m))
        return PlanArrays(
            periods=p, chips=c, price_rmb_m=_grid(self.price_rmb_m, p, c),
            cap_units=_grid(self.cap_units, p, c),
            existing_units=_grid(self.existing_units, p, c),
            demand_training_eflops=_vector(d["training"], p),
            demand_inference_eflops=_vector(d["inference"], p),
            effective_per_unit=_vector(self.peak_tflops, ci) * _vector(self.efficiency, ci)
            / TFLOPS_PER_EFLOPS,
            training_fit=_vector(self.training_fit, ci, bool),
            power_kw=_vector(self.power_kw, ci),
            life_quarters=_vector(self.life_quarters, ci, np.int64),
            lead_quarters=_vector(self.lead_quarters, ci, np.int64),
            power_mw=None if self.power_mw is None else _vector(self.power_mw, p),
            budget_years=years,
            budget_rmb_m=np.array([self.budget_rmb_m[y] for y in years], float),
            budget_carryover=self.budget_carryover,
            electricity_rmb_per_kwh=float(self.electricity_rmb_per_kwh),
            discount_rate_annual=float(self.discount_rate_annual),
            penalty_rmb_m_per_eflops=float(self.penalty_rmb_m_per_eflops),
            training_shortfall_weight=float(self.training_shortfall_weight),
            periods_per_year=self.periods_per_year, first_order_offset=(first - p[0]).n,
            lot_units=int(self.lot_units))

    def with_numbers(self, **changes) -> PlanData:
        """A copy with some numbers replaced (same structure)."""
        return replace(self, **changes)


def _grid(df: pd.DataFrame, index: pd.Index, columns: list[str]) -> np.ndarray:
    """``df`` as a float array aligned to (index, columns) (no copy of the labels when they
    already match)."""
    if not (df.index.equals(index) and list(df.columns) == list(columns)):
        df = df.reindex(index=index, columns=columns)
    return df.to_numpy(float)


def _vector(s: pd.Series, index: pd.Index, dtype=float) -> np.ndarray:
    """``s`` as an array aligned to ``index``."""
    if not s.index.equals(index):
        s = s.reindex(index)
    return s.to_numpy(dtype)


def buyable_index(a: PlanArrays) -> tuple[np.ndarray, np.ndarray]:
    """(chip, delivery quarter) positions with a known price and an order quarter not before
    the first order period, chip-major. [index]"""
    ok = np.isfinite(a.price_rmb_m) & (np.arange(len(a.periods))[:, None]
                                       - a.lead_quarters[None, :] >= a.first_order_offset)
    c, t = np.nonzero(ok.T)  # chip-major, periods in order within a chip
    return c.astype(np.int64), t.astype(np.int64)


@dataclass(frozen=True)
class PlanArrays:
    """The numbers of one purchase LP as numpy arrays, aligned to (periods, chips).

    What the constraint and objective families read (:mod:`capacity.planner.constraints`,
    :mod:`capacity.planner.objective`): made once from a :class:`PlanData`
    (:attr:`PlanData.arrays`), or by a stress draw with some numbers replaced
    (``dataclasses.replace``), so a re-solve does no pandas work.

    Attributes
    ----------
    periods, chips
        Labels of the axes (for label tables only).
    price_rmb_m, cap_units, existing_units
        Shape (T, C). [RMB m/unit], [units/quarter] (NaN = uncapped), [units]
    demand_training_eflops, demand_inference_eflops
        Shape (T,). [EFLOPS]
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
    budget_years, budget_rmb_m
        Budgeted order years and their budgets. [year], [RMB m]
    """

    periods: pd.PeriodIndex
    chips: list[str]
    price_rmb_m: np.ndarray
    cap_units: np.ndarray
    existing_units: np.ndarray
    demand_training_eflops: np.ndarray
    demand_inference_eflops: np.ndarray
    effective_per_unit: np.ndarray
    training_fit: np.ndarray
    power_kw: np.ndarray
    life_quarters: np.ndarray
    lead_quarters: np.ndarray
    power_mw: np.ndarray | None
    budget_years: tuple[int, ...]
    budget_rmb_m: np.ndarray
    budget_carryover: bool
    electricity_rmb_per_kwh: float
    discount_rate_annual: float
    penalty_rmb_m_per_eflops: float
    training_shortfall_weight: float
    periods_per_year: int
    first_order_offset: int
    lot_units: int

    @property
    def opex_rmb_m_per_mw(self) -> float:
        """Power cost of one MW for one period. [RMB m]"""
        return opex_rmb_m_per_mw(365.25 * 24 / self.periods_per_year,
                                 self.electricity_rmb_per_kwh)

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
        """Facility power of the existing fleet per quarter, shape (T,). [MW]"""
        return self.existing_units @ self.power_kw / 1000.0


@dataclass(frozen=True)
class PriceFrame:
    """What is fixed about a scenario's prices, power and caps across draws (one scenario).

    Attributes
    ----------
    periods, chips
        Axes.
    priced
        Shape (T, C): the chip is planned and launched in t (so it has a price). [bool]
    price_factor
        Shape (T, C): export-control multiplier on the price (licence fees). [1]
    catalog_price_rmb, catalog_price_usd, tdp_w
        Shape (C,): catalog figures (NaN unknown). [RMB/unit], [USD/unit], [W]
    power_step
        Shape (T,): which ``planner.datacenter_mw`` step applies in t (-1: none). [index]
    power_keys
        The steps' quarters, in step order.
    """

    periods: pd.PeriodIndex
    chips: list[str]
    priced: np.ndarray
    price_factor: np.ndarray
    catalog_price_rmb: np.ndarray
    catalog_price_usd: np.ndarray
    tdp_w: np.ndarray
    power_step: np.ndarray
    power_keys: tuple[str, ...]


def unit_price_rmb_m(frame: PriceFrame, usd_rmb: float, price_usd: dict[str, float]
                     ) -> np.ndarray:
    """Reference price per unit of each chip, shape (C,). [RMB m/unit]

        price[c] = price_usd[c] x usd_rmb  (scenario input), else catalog RMB, else catalog
        USD x usd_rmb; NaN when unknown.
    """
    base = np.where(np.isfinite(frame.catalog_price_rmb), frame.catalog_price_rmb,
                    frame.catalog_price_usd * usd_rmb)
    for j, c in enumerate(frame.chips):
        if c in price_usd:
            base[j] = price_usd[c] * usd_rmb
    return base / 1e6


def price_matrix(frame: PriceFrame, unit_price: np.ndarray,
                 price_factor: np.ndarray | None = None) -> np.ndarray:
    """Price per unit delivered in t, shape (T, C); NaN where not buyable. [RMB m/unit]

        price[t, c] = unit_price[c] x price_factor[t, c]   where priced[t, c]
    """
    pf = frame.price_factor if price_factor is None else price_factor
    return np.where(frame.priced, unit_price[None, :] * pf, np.nan)


def unit_power_kw(tdp_w: np.ndarray, server_overhead: float, pue: float) -> np.ndarray:
    """Facility power per installed unit: TDP x server overhead x PUE / 1000. [kW/unit]"""
    return tdp_w * server_overhead * pue / 1000.0


def power_limit_mw(frame: PriceFrame, datacenter_mw: dict[str, float]) -> np.ndarray | None:
    """Facility power available per quarter, shape (T,); NaN = unlimited. [MW]

    Each ``datacenter_mw`` step holds from its quarter until the next one; None without steps.
    """
    if not frame.power_keys:
        return None
    mw = np.array([datacenter_mw[q] for q in frame.power_keys], float)
    return np.where(frame.power_step >= 0, mw[np.maximum(frame.power_step, 0)], np.nan)


def price_frame(scenario, availability: pd.DataFrame | None) -> tuple[PriceFrame, list[str]]:
    """The fixed part of a scenario's prices and power (and notes on unplannable chips)."""
    inp = scenario.inputs
    pl = inp.planner
    cat = scenario.catalog
    periods = inp.horizon.periods
    chips = list(cat.index)
    rate = peak_tflops(cat)
    base = price_rmb(cat, pl.usd_rmb, pl.price_usd)
    notes: list[str] = []
    priced = np.zeros((len(periods), len(chips)), bool)
    for j, c in enumerate(chips):
        if c in pl.exclude_chips:
            continue
        if pd.isna(rate[c]):
            notes.append(f"{c}: no known FP16 rate, not planned")
            continue
        if pd.isna(base[c]):
            notes.append(f"{c}: no known price (set planner.price_usd.{c} to plan it)")
            continue
        if pd.isna(cat.at[c, "tdp_w"]):
            notes.append(f"{c}: no known TDP, not planned")
            continue
        priced[:, j] = periods >= cat.at[c, "launch"]
    pf = np.ones(priced.shape)
    if availability is not None:
        av = availability.reset_index()
        av = av[av["period"].isin(periods)]
        pf = av.pivot(index="period", columns="chip", values="price_factor").reindex(
            index=periods, columns=chips).astype(float).fillna(1.0).to_numpy()
    keys = tuple(q for q, _ in sorted(((q, pd.Period(q, freq="Q")) for q in pl.datacenter_mw),
                                      key=lambda kv: kv[1]))
    step = np.full(len(periods), -1)
    for k, q in enumerate(keys):
        step[periods >= pd.Period(q, freq="Q")] = k
    frame = PriceFrame(periods, chips, priced, pf, cat["price_rmb"].to_numpy(float),
                       cat["price_usd"].to_numpy(float), cat["tdp_w"].to_numpy(float), step,
                       keys)
    return frame, notes


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
    frame, notes = price_frame(scenario, availability)

    eff = pd.Series([inp.fleet.efficiency_of(c) for c in chips], index=chips)
    fit = training_fit(cat, pl.training_min_interconnect_gbs).reindex(chips)
    kw = pd.Series(unit_power_kw(frame.tdp_w, pl.server_overhead, pl.pue), index=chips)
    life = pd.Series([inp.fleet.life_of(c) for c in chips], index=chips, dtype=int)
    lead = pd.Series([pl.lead_time_quarters.get(c, pl.default_lead_time_quarters)
                      for c in chips], index=chips, dtype=int)
    price = pd.DataFrame(price_matrix(frame, unit_price_rmb_m(frame, pl.usd_rmb, pl.price_usd)),
                         index=periods, columns=chips)
    cap = pd.DataFrame(np.nan, index=periods, columns=chips)
    status = pd.DataFrame("allowed", index=periods, columns=chips)
    rule = pd.DataFrame("", index=periods, columns=chips)
    if availability is not None:
        av = availability.reset_index()
        av = av[av["period"].isin(periods)]
        st = av.pivot(index="period", columns="chip", values="status").reindex(
            index=periods, columns=chips)
        cp = av.pivot(index="period", columns="chip", values="cap_units").reindex(
            index=periods, columns=chips).astype(float)
        rule = av.pivot(index="period", columns="chip", values="rule").reindex(
            index=periods, columns=chips).fillna("")
        status = st.fillna("allowed")
        cap = cp.where(status != "banned", 0.0)
    else:
        for c, units in inp.controls.base_supply_units_per_quarter.items():
            cap[c] = units
    mw = power_limit_mw(frame, pl.datacenter_mw)
    power = None if mw is None else pd.Series(mw, index=periods, dtype=float)

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
