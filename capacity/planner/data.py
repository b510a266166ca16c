"""The numbers the purchase LP is built from, gathered once from a scenario.

:class:`PlanData` is a plain container of labelled pandas objects (chip x quarter), so a tiny
problem can be written by hand in a test, and a stress test can swap numbers without touching
the LP structure; :attr:`PlanData.arrays` gives the same numbers as numpy arrays
(:class:`~capacity.planner.arrays.PlanArrays`). :func:`plan_data_from_scenario` gathers them from
a scenario: prices and power from :mod:`.prices`, chip economics from :mod:`.economics`, time
from :mod:`.periods`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from capacity.chips import peak_tflops, training_fit
from capacity.errors import InputError
from capacity.planner.arrays import PlanArrays, buyable_index
from capacity.planner.economics import (
    ECONOMIC_DEMAND_COLUMNS,
    EconomicsFrame,
    economic_numbers,
    effective_eflops_per_unit,
    serving_tokens_per_s,
    tokens_per_unit_period,
)
from capacity.planner.periods import hours_per_period, order_quarter, periods_per_year
from capacity.planner.prices import availability_grids, power_limit_mw, price_frame
from capacity.serving import serving_reference

__all__ = ["PlanArrays", "PlanData", "buyable_index", "plan_data_from_scenario"]
"""What other modules import from here (:class:`PlanArrays` and :func:`buyable_index` live in
:mod:`.arrays`)."""


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
    price_m
        All-in cost per unit delivered in quarter t, paid at order: card (licence fees
        included), system share, network share and facility fit-out
        (:func:`all_in_cost_m`). [RMB m/unit]; NaN where the chip cannot be bought for
        delivery in t.
    cap_units
        Most units deliverable in quarter t [units/quarter]; NaN = uncapped; 0 = banned.
    status
        Export-control status per quarter and chip (for reporting).
    rule
        Deciding rule per quarter and chip (for reporting).
    existing_units
        Units of the existing fleet (initial + placed orders, after retirements). [units]
    demand
        Work demanded per quarter: ``training_demand_eflops`` (own training, training-fit
        chips only)
        and ``leasing_demand_eflops`` (AIDC customers, any chip) [effective EFLOPS];
        ``inference_tn_tokens`` (served tokens, any chip) [tn tokens/quarter]; optionally
        ``inference_demand_eflops``, the tokens as effective compute (reported only) [EFLOPS].
    tokens_per_unit_tn
        Tokens one unit serves in a quarter (roofline x achieved share x time utilisation,
        :func:`tokens_per_unit_quarter`). [tn tokens/(unit*quarter)]
    maintenance_m
        Maintenance of one unit in service for a quarter. [RMB m/(unit*quarter)]
    rates
        Per quarter: ``training_value_m_per_eflops_quarter`` (value of own training served),
        ``leasing_m_per_eflops`` (leasing revenue), ``rental_m_per_eflops`` (cost of
        rented training compute) [RMB m/(EFLOPS*quarter)]; ``token_price_per_m_tokens``
        (= RMB m per tn tokens).
    rental_cap_eflops
        Most rented training compute per quarter the existing fleet allows (0: closed): share
        x the existing fleet's compute. [effective EFLOPS]
    rental_cap_share
        Most rented compute as a share of the whole fleet's effective compute, so the limit
        grows with the units the plan buys (None: 0, the limit is ``rental_cap_eflops``). [1]
    budget_m
        Capex budget per calendar year of the order quarter. [RMB m]; years absent are unlimited.
    budget_carryover
        Whether unspent budget rolls forward.
    power_mw
        Facility power available per quarter. [MW]; NaN = unlimited.
    electricity_per_kwh
        Electricity price. [RMB/kWh]
    discount_rate_annual
        [1/year]
    first_order_period
        Earliest quarter the LP can place an order: the quarter that holds the vintage date
        (:func:`decision_quarter`), or the first planned quarter if later. Quarters before it are
        history or nowcast: deliveries then come from the existing fleet and committed orders
        (``fleet.pipeline``, with their source), never from a free decision.
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
    price_m: pd.DataFrame
    cap_units: pd.DataFrame
    existing_units: pd.DataFrame
    demand: pd.DataFrame
    tokens_per_unit_tn: pd.Series
    maintenance_m: pd.Series
    rates: pd.DataFrame
    rental_cap_eflops: pd.Series
    budget_m: dict[int, float] = field(default_factory=dict)
    budget_carryover: bool = False
    power_mw: pd.Series | None = None
    electricity_per_kwh: float = 0.0
    discount_rate_annual: float = 0.0
    first_order_period: pd.Period | None = None
    lot_units: int = 8
    status: pd.DataFrame | None = None
    rule: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    economics: EconomicsFrame | None = None
    """The fixed chip economics it was built from (for stress draws); None for a hand-built
    plan."""
    committed: pd.DataFrame | None = None
    """Orders placed before the plan decides (``fleet.pipeline``) delivered in a planned
    quarter: columns ``period`` (delivery), ``order_period``, ``chip``, ``units`` [units],
    ``source`` (:func:`committed_orders`). They are in ``existing_units`` already; the table
    says where those deliveries come from. None: none."""
    rental_cap_share: pd.Series | None = None
    """Most rented compute as a share of the whole fleet's effective compute (see the class
    docstring); None: 0."""
    tokens_per_s: pd.Series | None = None
    """Billed tokens one busy chip serves per second (roofline x achieved share,
    :func:`serving_tokens_per_s`), for the economics table. [tokens/s/chip]; None for a
    hand-built plan."""

    def order_period(self, chip: str, t: pd.Period) -> pd.Period:
        """Quarter an order for delivery in ``t`` is placed (and paid)
        (:func:`~capacity.planner.periods.order_quarter`)."""
        return order_quarter(t, int(self.lead_quarters[chip]))

    # Derived once per instance (the LP build asks for them per quarter); a copy made with
    # :meth:`with_numbers` derives them afresh.
    @cached_property
    def effective_per_unit(self) -> pd.Series:
        """Effective EFLOPS of one unit of each chip (:func:`effective_eflops_per_unit`).
        [EFLOPS]"""
        return pd.Series(effective_eflops_per_unit(self.peak_tflops, self.efficiency),
                         index=self.peak_tflops.index)

    @cached_property
    def arrays(self) -> PlanArrays:
        """The numbers as numpy arrays aligned to (periods, chips)."""
        p, c = self.periods, self.chips
        ci = self.peak_tflops.index if self.peak_tflops.index.tolist() == c else pd.Index(c)
        first = self.first_order_period if self.first_order_period is not None else p[0]
        d = _columns(self.demand, p, ("training_demand_eflops", "leasing_demand_eflops",
                                      "inference_tn_tokens"))
        r = _columns(self.rates, p, ("training_value_m_per_eflops_quarter",
                                     "leasing_m_per_eflops", "rental_m_per_eflops",
                                     "token_price_per_m_tokens"))
        years = tuple(sorted(self.budget_m))
        return PlanArrays(
            periods=p, chips=c, price_m=_grid(self.price_m, p, c),
            cap_units=_grid(self.cap_units, p, c),
            existing_units=_grid(self.existing_units, p, c),
            demand_training_eflops=d["training_demand_eflops"],
            demand_leasing_eflops=d["leasing_demand_eflops"],
            demand_inference_tn=d["inference_tn_tokens"],
            demand_inference_eflops=(
                self.demand["inference_demand_eflops"].reindex(p).to_numpy(float)
                if "inference_demand_eflops" in self.demand.columns else np.full(len(p), np.nan)),
            tokens_per_unit_tn=_vector(self.tokens_per_unit_tn, ci),
            maintenance_m=_vector(self.maintenance_m, ci),
            training_value_m=r["training_value_m_per_eflops_quarter"],
            leasing_m=r["leasing_m_per_eflops"],
            rental_m=r["rental_m_per_eflops"],
            token_price_m_per_tn=r["token_price_per_m_tokens"],
            rental_cap_eflops=_vector(self.rental_cap_eflops, p),
            rental_cap_share=(np.zeros(len(p)) if self.rental_cap_share is None
                              else _vector(self.rental_cap_share, p)),
            effective_per_unit=effective_eflops_per_unit(_vector(self.peak_tflops, ci),
                                                         _vector(self.efficiency, ci)),
            training_fit=_vector(self.training_fit, ci, bool),
            power_kw=_vector(self.power_kw, ci),
            life_quarters=_vector(self.life_quarters, ci, np.int64),
            lead_quarters=_vector(self.lead_quarters, ci, np.int64),
            power_mw=None if self.power_mw is None else _vector(self.power_mw, p),
            budget_years=years,
            budget_m=np.array([self.budget_m[y] for y in years], float),
            budget_carryover=self.budget_carryover,
            electricity_per_kwh=float(self.electricity_per_kwh),
            discount_rate_annual=float(self.discount_rate_annual),
            periods_per_year=periods_per_year(p), first_order_offset=(first - p[0]).n,
            lot_units=int(self.lot_units))

    def with_numbers(self, **changes) -> PlanData:
        """A copy with some numbers replaced (same structure)."""
        return replace(self, **changes)


def _grid(df: pd.DataFrame, index: pd.Index, columns: list[str]) -> np.ndarray:
    """``df`` as a float array aligned to (index, columns) (no copy of the labels when they
    already match)."""
    if not (df.index.equals(index) and df.columns.tolist() == list(columns)):
        df = df.reindex(index=index, columns=columns)
    return df.to_numpy(float)


def _columns(df: pd.DataFrame, index: pd.Index, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Columns ``names`` of ``df`` as float arrays aligned to ``index`` (one conversion of the
    frame, not one lookup per column).

    Raises
    ------
    KeyError
        When a column is missing.
    """
    if not df.index.equals(index):
        df = df.reindex(index)
    pos = [df.columns.get_loc(n) for n in names]  # KeyError naming a missing column
    try:
        values = df.to_numpy(float)
    except (TypeError, ValueError):  # another column is not numeric: convert only these
        values, pos = df.iloc[:, pos].to_numpy(float), list(range(len(names)))
    return {n: values[:, j] for n, j in zip(names, pos, strict=True)}


def _vector(s: pd.Series, index: pd.Index, dtype=float) -> np.ndarray:
    """``s`` as an array aligned to ``index``."""
    if not s.index.equals(index):
        s = s.reindex(index)
    return s.to_numpy(dtype)


def decision_quarter(periods: pd.PeriodIndex, as_of) -> pd.Period:
    """First quarter the plan may decide an order in: the quarter holding the vintage date
    ``as_of`` (a date; None: no vintage), or the first planned quarter if that is later.

        first_order = max(periods[0], quarter(as_of))
    """
    first = periods[0]
    if as_of is None:
        return first
    return max(first, pd.Period(pd.Timestamp(as_of), freq=first.freq))


def _tokens_per_unit(scenario, periods: pd.PeriodIndex) -> pd.Series:
    """Tokens one unit of each catalog chip serves a period (:func:`tokens_per_unit_period`
    for ``planner.serving`` and the served model). [tn tokens/(unit*period)]"""
    inp = scenario.inputs
    return tokens_per_unit_period(scenario.catalog, inp.planner.serving,
                                  inp.demand.inference.served_params_bn,
                                  hours_per_period(periods_per_year(periods)))


COMMITTED_COLUMNS = ("period", "order_period", "chip", "units", "source")
"""Columns of :attr:`PlanData.committed`."""


def committed_orders(scenario, periods: pd.PeriodIndex, lead: pd.Series) -> pd.DataFrame:
    """Committed orders (``fleet.pipeline``) delivered in a planned quarter, with their source.

        order_period = delivery - L_c   (:func:`~capacity.planner.periods.order_quarter`)

    Units from :func:`capacity.fleet.order_units` (an order given in peak EFLOPS:
    EFLOPS x 1e6 / peak TFLOPS). The source is the scenario's for ``fleet.pipeline``
    (a committed order is data with a dated source, never a decision of the plan).
    """
    from capacity.fleet import order_units

    rows = []
    source = scenario.source_of("fleet.pipeline") if hasattr(scenario, "source_of") else ""
    for i, order in enumerate(scenario.inputs.fleet.pipeline):
        t = pd.Period(str(order.delivery), freq="Q")
        if t not in periods:
            continue
        units = order_units(order.chip, order.units, order.peak_eflops, scenario.catalog,
                            f"fleet.pipeline[{i}]")
        lq = int(lead.get(order.chip, scenario.inputs.planner.default_lead_time_quarters))
        rows.append((t, order_quarter(t, lq), order.chip, units, source or ""))
    return pd.DataFrame(rows, columns=list(COMMITTED_COLUMNS))


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
        From :func:`capacity.compute_demand.demand_table` (``training_demand_eflops``,
        ``leasing_demand_eflops`` [EFLOPS], ``genai_demand_m`` [RMB m],
        ``token_price_per_m_tokens``).
    availability
        From :func:`capacity.export_controls.availability` (index period x chip), or None for
        no rules.
    """
    frame, notes = price_frame(scenario, availability)
    periods, chips = frame.periods, list(frame.chips)
    inp = scenario.inputs
    pl = inp.planner
    cat = scenario.catalog
    rate = peak_tflops(cat)

    eff = pd.Series([inp.fleet.efficiency_of(c) for c in chips], index=chips)
    fit = training_fit(cat, pl.training_min_interconnect_gbs).reindex(chips)
    life = pd.Series([inp.fleet.life_of(c) for c in chips], index=chips, dtype=int)
    lead = pd.Series([pl.lead_time_quarters.get(c, pl.default_lead_time_quarters)
                      for c in chips], index=chips, dtype=int)
    fit_arr = fit.fillna(False).astype(bool).to_numpy()
    ref = pl.compute_reference_chip
    if ref not in chips:
        raise InputError("planner.compute_reference_chip", f"unknown chip {ref!r}")
    existing = existing_units.reindex(index=periods, columns=chips, fill_value=0.0)
    k_all = effective_eflops_per_unit(rate.reindex(chips).fillna(0.0), eff)
    tokens_unit = _tokens_per_unit(scenario, periods).reindex(chips).fillna(0.0)
    from capacity.export_controls import rental_cap_share

    k_ref, tau_ref = serving_reference(scenario, hours_per_period(periods_per_year(periods)))
    econ = EconomicsFrame(tuple(chips), fit_arr, k_ref, existing.to_numpy(float) @ k_all,
                          rental_cap_share(scenario, periods).to_numpy(float), tau_ref)
    dem_cols = ECONOMIC_DEMAND_COLUMNS
    dem_in = demand.reindex(periods)[list(dem_cols)].astype(float)
    if dem_in.isna().any().any():
        missing = dem_in.index[dem_in.isna().any(axis=1)][0]
        raise ValueError(f"demand missing for {missing}")
    nums = economic_numbers(pl, frame, econ, {c: dem_in[c].to_numpy() for c in dem_cols},
                            frame.price_factor)
    price = pd.DataFrame(nums["price_m"], index=periods, columns=chips)
    kw = pd.Series(nums["power_kw"], index=chips)
    maint = pd.Series(nums["maintenance_m"], index=chips)
    tokens_s = serving_tokens_per_s(cat, pl.serving, inp.demand.inference.served_params_bn)
    rates = pd.DataFrame({
        "training_value_m_per_eflops_quarter": nums["training_value_m"],
        "leasing_m_per_eflops": nums["leasing_m"],
        "rental_m_per_eflops": nums["rental_m"],
        "token_price_per_m_tokens": nums["token_price_m_per_tn"]}, index=periods)
    cap = pd.DataFrame(np.nan, index=periods, columns=chips)
    status = pd.DataFrame("allowed", index=periods, columns=chips)
    rule = pd.DataFrame("", index=periods, columns=chips)
    if availability is not None:
        grids = availability_grids(availability, periods, chips,
                                   ("status", "cap_units", "rule"))
        rule = grids["rule"].fillna("")
        status = grids["status"].fillna("allowed")
        cap = grids["cap_units"].astype(float).where(status != "banned", 0.0)
    else:
        for c, units in inp.controls.base_supply_units_per_quarter.items():
            cap[c] = units
    mw = power_limit_mw(frame, pl.datacenter_mw)
    power = None if mw is None else pd.Series(mw, index=periods, dtype=float)

    dem = pd.DataFrame({"training_demand_eflops": nums["demand_training_eflops"],
                        "leasing_demand_eflops": nums["demand_leasing_eflops"],
                        "inference_tn_tokens": nums["demand_inference_tn"],
                        "inference_demand_eflops": nums["demand_inference_eflops"]},
                       index=periods)
    rental_cap = pd.Series(nums["rental_cap_eflops"], index=periods)
    rental_share = pd.Series(nums["rental_cap_share"], index=periods)

    return PlanData(
        periods=periods, chips=chips, peak_tflops=rate.reindex(chips).fillna(0.0),
        efficiency=eff, training_fit=fit.fillna(False).astype(bool), power_kw=kw.fillna(0.0),
        life_quarters=life, lead_quarters=lead, price_m=price, cap_units=cap,
        existing_units=existing, demand=dem, tokens_per_unit_tn=tokens_unit,
        maintenance_m=maint, rates=rates,
        rental_cap_eflops=rental_cap, rental_cap_share=rental_share,
        budget_m={int(y): float(b) for y, b in pl.capex_budget_m.items()},
        budget_carryover=pl.budget_carryover, power_mw=power,
        electricity_per_kwh=pl.electricity_per_kwh,
        discount_rate_annual=pl.discount_rate_annual,
        first_order_period=decision_quarter(periods, getattr(scenario, "as_of", None)),
        lot_units=pl.lot_units, status=status, rule=rule, notes=tuple(notes), economics=econ,
        committed=committed_orders(scenario, periods, lead), tokens_per_s=tokens_s.reindex(chips))
