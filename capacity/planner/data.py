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

from capacity.batch import batch_shape, matvec, per_draw, stack_last
from capacity.chips import (
    TFLOPS_PER_EFLOPS,
    peak_tflops,
    price_rmb,
    roofline_tokens_per_s,
    serving_precision,
    training_fit,
)
from capacity.errors import InputError

WORKLOADS = ("training", "leasing", "inference")
"""Work the fleet serves: own training and AIDC leasing [effective EFLOPS], inference
[tn tokens]."""

HOURS_PER_YEAR = 365.25 * 24
"""[h]"""


def periods_per_year(periods: pd.PeriodIndex) -> int:
    """4 for a quarterly horizon, 12 for a monthly one."""
    return 12 if periods.freqstr.startswith("M") else 4


def hours_per_period(per_year: int) -> float:
    """Hours in an average period of a year of ``per_year`` periods. [h]"""
    return HOURS_PER_YEAR / per_year


def effective_eflops_per_unit(peak_tflops, efficiency):
    """Effective compute of one unit: peak_tflops x efficiency / 1e6. [EFLOPS/unit]"""
    return np.asarray(peak_tflops, float) * np.asarray(efficiency, float) / TFLOPS_PER_EFLOPS


def discount_factor(k, rate, periods_per_year: int):
    """(1 + rate) ** (-k / periods_per_year) for k periods after the first. [1]

    ``rate`` is a float or one rate per draw, shape (B,) (then the result is (B, ...)).
    """
    return (1.0 + per_draw(rate, np.ndim(k))) ** (-np.asarray(k, dtype=float) / periods_per_year)


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
        All-in cost per unit delivered in quarter t, paid at order: card (licence fees
        included), system share, network share and facility fit-out
        (:func:`all_in_cost_rmb_m`). [RMB m/unit]; NaN where the chip cannot be bought for
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
        Work demanded per quarter: ``training_eflops`` (own training, training-fit chips only)
        and ``leasing_eflops`` (AIDC customers, any chip) [effective EFLOPS];
        ``inference_tn_tokens`` (served tokens, any chip) [tn tokens/quarter].
    tokens_per_unit_tn
        Tokens one unit serves in a quarter (roofline x achieved share x time utilisation,
        :func:`tokens_per_unit_quarter`). [tn tokens/(unit*quarter)]
    maintenance_rmb_m
        Maintenance of one unit in service for a quarter. [RMB m/(unit*quarter)]
    rates
        Per quarter: ``training_value_rmb_m_per_eflops`` (value of own training served),
        ``leasing_rmb_m_per_eflops`` (leasing revenue), ``rental_rmb_m_per_eflops`` (cost of
        rented training compute) [RMB m/(EFLOPS*quarter)]; ``token_price_rmb_per_m_tokens``
        (= RMB m per tn tokens).
    rental_cap_eflops
        Most rented training compute per quarter (0: closed). [effective EFLOPS]
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
    demand: pd.DataFrame
    tokens_per_unit_tn: pd.Series
    maintenance_rmb_m: pd.Series
    rates: pd.DataFrame
    rental_cap_eflops: pd.Series
    budget_rmb_m: dict[int, float] = field(default_factory=dict)
    budget_carryover: bool = False
    power_mw: pd.Series | None = None
    electricity_rmb_per_kwh: float = 0.0
    discount_rate_annual: float = 0.0
    first_order_period: pd.Period | None = None
    lot_units: int = 8
    status: pd.DataFrame | None = None
    rule: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    economics: EconomicsFrame | None = None
    """The fixed chip economics it was built from (for stress draws); None for a hand-built
    plan."""

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
        """4 for a quarterly horizon, 12 for a monthly one (:func:`periods_per_year`)."""
        return periods_per_year(self.periods)

    @property
    def hours_per_period(self) -> float:
        """Hours in an average period. [h]"""
        return hours_per_period(self.periods_per_year)

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
        """Effective EFLOPS of one unit of each chip (:func:`effective_eflops_per_unit`).
        [EFLOPS]"""
        return pd.Series(effective_eflops_per_unit(self.peak_tflops, self.efficiency),
                         index=self.peak_tflops.index)

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
        ci = self.peak_tflops.index if self.peak_tflops.index.tolist() == c else pd.Index(c)
        first = self.first_order_period if self.first_order_period is not None else p[0]
        d = _columns(self.demand, p, ("training_eflops", "leasing_eflops",
                                      "inference_tn_tokens"))
        r = _columns(self.rates, p, ("training_value_rmb_m_per_eflops",
                                     "leasing_rmb_m_per_eflops", "rental_rmb_m_per_eflops",
                                     "token_price_rmb_per_m_tokens"))
        years = tuple(sorted(self.budget_rmb_m))
        return PlanArrays(
            periods=p, chips=c, price_rmb_m=_grid(self.price_rmb_m, p, c),
            cap_units=_grid(self.cap_units, p, c),
            existing_units=_grid(self.existing_units, p, c),
            demand_training_eflops=d["training_eflops"],
            demand_leasing_eflops=d["leasing_eflops"],
            demand_inference_tn=d["inference_tn_tokens"],
            tokens_per_unit_tn=_vector(self.tokens_per_unit_tn, ci),
            maintenance_rmb_m=_vector(self.maintenance_rmb_m, ci),
            training_value_rmb_m=r["training_value_rmb_m_per_eflops"],
            leasing_rmb_m=r["leasing_rmb_m_per_eflops"],
            rental_rmb_m=r["rental_rmb_m_per_eflops"],
            token_price_rmb_m_per_tn=r["token_price_rmb_per_m_tokens"],
            rental_cap_eflops=_vector(self.rental_cap_eflops, p),
            effective_per_unit=effective_eflops_per_unit(_vector(self.peak_tflops, ci),
                                                         _vector(self.efficiency, ci)),
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
            periods_per_year=self.periods_per_year, first_order_offset=(first - p[0]).n,
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
    priced = np.isfinite(a.price_rmb_m)
    if priced.ndim == 3:
        if not (priced == priced[:1]).all():
            raise ValueError("the buyable (chip, quarter) pairs differ between draws")
        priced = priced[0]
    ok = priced & (np.arange(len(a.periods))[:, None]
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
    demand_training_eflops, demand_leasing_eflops, demand_inference_tn
        Shape (T,). [EFLOPS], [EFLOPS], [tn tokens]
    tokens_per_unit_tn, maintenance_rmb_m
        Shape (C,). [tn tokens/(unit*quarter)], [RMB m/(unit*quarter)]
    training_value_rmb_m, leasing_rmb_m, rental_rmb_m
        Shape (T,). [RMB m/(EFLOPS*quarter)]
    token_price_rmb_m_per_tn
        Shape (T,). [RMB m/tn tokens]
    rental_cap_eflops
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
    demand_leasing_eflops: np.ndarray
    demand_inference_tn: np.ndarray
    tokens_per_unit_tn: np.ndarray
    maintenance_rmb_m: np.ndarray
    training_value_rmb_m: np.ndarray
    leasing_rmb_m: np.ndarray
    rental_rmb_m: np.ndarray
    token_price_rmb_m_per_tn: np.ndarray
    rental_cap_eflops: np.ndarray
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
    def opex_rmb_m_per_mw(self) -> float:
        """Power cost of one MW for one period. [RMB m]"""
        return opex_rmb_m_per_mw(hours_per_period(self.periods_per_year),
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
        """Facility power of the existing fleet per quarter, shape (T,) or (B, T). [MW]"""
        return matvec(self.existing_units, self.power_kw) / 1000.0


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
                    frame.catalog_price_usd * per_draw(usd_rmb))
    bs = batch_shape(usd_rmb, *(price_usd[c] for c in frame.chips if c in price_usd))
    base = np.array(np.broadcast_to(base, bs + base.shape[-1:]))
    for j, c in enumerate(frame.chips):
        if c in price_usd:
            base[..., j] = price_usd[c] * usd_rmb
    return base / 1e6


def price_matrix(frame: PriceFrame, unit_price: np.ndarray,
                 price_factor: np.ndarray | None = None) -> np.ndarray:
    """Price per unit delivered in t, shape (T, C) (or (B, T, C) for a batch of draws); NaN
    where not buyable. [RMB m/unit]

        price[t, c] = unit_price[c] x price_factor[t, c]   where priced[t, c]
    """
    pf = frame.price_factor if price_factor is None else price_factor
    return np.where(frame.priced, unit_price[..., None, :] * pf, np.nan)


def unit_power_kw(tdp_w: np.ndarray, server_overhead: float, pue: float) -> np.ndarray:
    """Facility power per installed unit: TDP x server overhead x PUE / 1000. [kW/unit]

    Shape (C,), or (B, C) when ``server_overhead`` or ``pue`` is one value per draw (B,).
    """
    return tdp_w * per_draw(server_overhead) * per_draw(pue) / 1000.0


def power_limit_mw(frame: PriceFrame, datacenter_mw: dict[str, float]) -> np.ndarray | None:
    """Facility power available per quarter, shape (T,); NaN = unlimited. [MW]

    Each ``datacenter_mw`` step holds from its quarter until the next one; None without steps.
    """
    if not frame.power_keys:
        return None
    mw = stack_last([datacenter_mw[q] for q in frame.power_keys])
    return np.where(frame.power_step >= 0, mw[..., np.maximum(frame.power_step, 0)], np.nan)


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


def all_in_cost_rmb_m(card_rmb_m, system_rmb_m, network_share, facility_rmb_m_per_mw: float,
                      power_kw):
    """All-in cost of one installed accelerator, on one basis for every chip. [RMB m/unit]

        all_in = (card + system) x (1 + network_share) + facility x kW / 1000

    Parameters
    ----------
    card_rmb_m
        Card price (licence fees included), shape (T, C) or (C,). [RMB m/unit]
    system_rmb_m, network_share, power_kw
        Per chip, shape (C,): system share per slot [RMB m/unit], cluster network as a share of
        card + system [1], facility power per unit [kW/unit].
    facility_rmb_m_per_mw
        Facility fit-out per MW of facility power. [RMB m/MW]
    """
    return ((np.asarray(card_rmb_m, float) + system_rmb_m) * (1.0 + network_share)
            + facility_rmb_m_per_mw * np.asarray(power_kw, float) / 1000.0)


def maintenance_rmb_m_per_period(card_rmb_m, system_rmb_m, network_share,
                                 share_annual: float, periods_per_year: int):
    """Maintenance of one unit in service for one period: a share of its hardware cost.

        maintenance = share_annual / P x (card + system) x (1 + network_share)  [RMB m/unit]
    """
    return share_annual / periods_per_year * (np.asarray(card_rmb_m, float) + system_rmb_m) \
        * (1.0 + network_share)


def compute_rate_rmb_m_per_eflops(usd_per_gpu_hour: float, usd_rmb: float,
                                  reference_eflops_per_unit: float, change_annual: float,
                                  years: np.ndarray, hours_per_period: float) -> np.ndarray:
    """A compute rate quoted per reference GPU-hour, per effective EFLOPS and period.

        rate[t] = usd x usd_rmb x h / 1e6 / k_ref x (1 + change) ** years[t]
                                                            [RMB m/(EFLOPS*period)]

    with k_ref the reference chip's effective EFLOPS per unit and h the hours in a period.
    """
    if not reference_eflops_per_unit > 0:
        raise InputError("planner.compute_reference_chip", "the chip has no known effective "
                         "rate (FP16 TFLOPS x efficiency)")
    return (per_draw(usd_per_gpu_hour) * per_draw(usd_rmb) * hours_per_period / 1e6
            / reference_eflops_per_unit * (1.0 + per_draw(change_annual))
            ** np.asarray(years, float))


def tokens_per_unit_period(catalog: pd.DataFrame, serving, served_params_bn: float,
                           hours_per_period: float) -> pd.Series:
    """Tokens one unit of each chip serves in a period. [tn tokens/(unit*period)]

        tokens = roofline_tokens_per_s x achieved_share x time_utilisation x 3600 h / 1e12

    (:func:`capacity.chips.roofline_tokens_per_s` for the reference model and request mix of
    ``planner.serving``; 0 where the roofline is unknown or the model does not fit.)
    """
    rate, nbytes = serving_precision(catalog)
    tps = roofline_tokens_per_s(
        rate.to_numpy(float), nbytes.to_numpy(float),
        catalog["memory_bw_tbs"].to_numpy(float) * 1000.0, catalog["memory_gb"].to_numpy(float),
        total_params_bn=served_params_bn,
        active_params_bn=served_params_bn * serving.active_share,
        kv_values_per_token_k=serving.kv_values_per_token_k,
        input_tokens=serving.input_tokens, output_tokens=serving.output_tokens,
        max_batch=serving.max_batch, memory_usable_share=serving.memory_usable_share)
    out = np.nan_to_num(tps) * serving.achieved_share * serving.time_utilisation \
        * hours_per_period * 3600.0 / 1e12
    return pd.Series(out, index=catalog.index, name="tokens_per_unit_tn")


def inference_demand_tn(genai_revenue_rmb_m, leasing_revenue_rmb_m, token_price_rmb_per_m):
    """Tokens demanded: GenAI revenue not earned by leasing, at the token price.

        tokens[t] = max(0, genai_revenue[t] - leasing_revenue[t]) / price[t]   [tn tokens]

    (RMB m over RMB per m tokens is tn tokens.)
    """
    return np.maximum(0.0, np.asarray(genai_revenue_rmb_m, float)
                      - leasing_revenue_rmb_m) / token_price_rmb_per_m


def step_values(periods: pd.PeriodIndex, steps: dict[str, float], default: float = 0.0
                ) -> np.ndarray:
    """A step function of quarters: each step holds from its quarter to the next one.

    Shape (T,), or (B, T) when a step is one value per draw (B,). [unit of the steps]
    """
    out = np.full((*batch_shape(*steps.values()), len(periods)), default, float)
    for q, v in sorted(((pd.Period(q, freq="Q"), v) for q, v in steps.items()),
                       key=lambda kv: kv[0]):
        out[..., periods >= q] = per_draw(v)
    return out


def chip_cost_basis(pl, chips: tuple[str, ...] | list[str], fit: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per chip: system share [RMB m/unit] and network share [1] (training-fit chips carry
    ``planner.network_share_training``, the others ``planner.network_share_inference``).

    From the planner inputs ``pl``; shape (C,), or (B, C) when some of them are per-draw
    arrays (B,) (:mod:`capacity.batch`)."""
    system = stack_last([pl.system_rmb_per_unit_by_chip.get(c, pl.system_rmb_per_unit)
                         for c in chips]) / 1e6
    net = np.where(fit, per_draw(pl.network_share_training),
                   per_draw(pl.network_share_inference))
    return system, net


ECONOMIC_DEMAND_COLUMNS = ("training_eflops", "leasing_eflops", "genai_revenue_rmb_m",
                           "token_price_rmb_per_m_tokens")
"""Demand columns :func:`economic_numbers` reads (of :func:`capacity.demand.demand_arrays`)."""


@dataclass(frozen=True)
class EconomicsFrame:
    """What is fixed about a scenario's chip economics across stress draws.

    Attributes
    ----------
    chips
        The catalog's chips, in column order.
    fit
        Shape (C,): training-fit chips. [bool]
    reference_eflops_per_unit
        Effective EFLOPS of one unit of ``planner.compute_reference_chip``. [EFLOPS/unit]
    existing_effective_eflops
        Shape (T,): the existing fleet's effective compute. [EFLOPS]
    rental_rule_share
        Shape (T,): the most rented compute a remote-access rule in force allows, as a share
        of the existing fleet's (:func:`capacity.controls.rental_cap_share`; NaN: no rule). [1]
    """

    chips: tuple[str, ...]
    fit: np.ndarray
    reference_eflops_per_unit: float
    existing_effective_eflops: np.ndarray
    rental_rule_share: np.ndarray


def economic_numbers(pl, frame: PriceFrame, econ: EconomicsFrame, demand: dict,
                     price_factor: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The chip-economics and work numbers of one plan, from the planner inputs ``pl`` and the
    demand arrays (:func:`capacity.demand.demand_arrays` or the demand table's columns).

    One call site for the plan (:func:`plan_data_from_scenario`) and for every stress draw:
    for a batch of draws, every number of ``pl`` that varies is an array of one value per draw
    (B,) and the demand arrays are (B, T); the results then carry the batch as their first
    axis (:mod:`capacity.batch`).

    Returns
    -------
    dict
        ``power_kw`` (C,) [kW/unit]; ``price_rmb_m`` (T, C, all-in) [RMB m/unit];
        ``maintenance_rmb_m`` (C,) [RMB m/(unit*period)]; the rates
        ``training_value_rmb_m``, ``leasing_rmb_m``, ``rental_rmb_m`` [RMB m/(EFLOPS*period)]
        and ``token_price_rmb_m_per_tn``; ``demand_training_eflops``,
        ``demand_leasing_eflops``, ``demand_inference_tn``, ``rental_cap_eflops`` (T,).
    """
    periods = frame.periods
    ppy = periods_per_year(periods)
    hours = hours_per_period(ppy)
    kw = np.nan_to_num(unit_power_kw(frame.tdp_w, pl.server_overhead, pl.pue))
    card_unit = unit_price_rmb_m(frame, pl.usd_rmb, pl.price_usd)
    card = price_matrix(frame, card_unit, price_factor)
    system, net = chip_cost_basis(pl, econ.chips, econ.fit)
    years = np.arange(len(periods)) / ppy
    rate = {name: compute_rate_rmb_m_per_eflops(usd, pl.usd_rmb, econ.reference_eflops_per_unit,
                                                pl.compute_price_change_annual, years, hours)
            for name, usd in (("training_value_rmb_m", pl.training_value_usd_per_gpu_hour),
                              ("leasing_rmb_m", pl.leasing_usd_per_gpu_hour),
                              ("rental_rmb_m", pl.rental_usd_per_gpu_hour))}
    token_price = np.asarray(demand["token_price_rmb_per_m_tokens"], float)
    leasing = np.asarray(demand["leasing_eflops"], float)
    return {
        "power_kw": kw,
        "price_rmb_m": all_in_cost_rmb_m(card, system[..., None, :], net[..., None, :],
                                         per_draw(pl.facility_rmb_m_per_mw, 2),
                                         kw[..., None, :]),
        "maintenance_rmb_m": np.nan_to_num(maintenance_rmb_m_per_period(
            card_unit, system, net,
            per_draw(pl.maintenance_share_annual), ppy)),
        **rate, "token_price_rmb_m_per_tn": token_price,
        "demand_training_eflops": np.asarray(demand["training_eflops"], float),
        "demand_leasing_eflops": leasing,
        "demand_inference_tn": inference_demand_tn(demand["genai_revenue_rmb_m"],
                                                   leasing * rate["leasing_rmb_m"], token_price),
        "rental_cap_eflops": np.fmin(step_values(periods, pl.rental_cap_share),
                                     econ.rental_rule_share) * econ.existing_effective_eflops,
    }


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
        From :func:`capacity.demand.demand_table` (``training_eflops``, ``leasing_eflops``
        [EFLOPS], ``genai_revenue_rmb_m`` [RMB m], ``token_price_rmb_per_m_tokens``).
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
    life = pd.Series([inp.fleet.life_of(c) for c in chips], index=chips, dtype=int)
    lead = pd.Series([pl.lead_time_quarters.get(c, pl.default_lead_time_quarters)
                      for c in chips], index=chips, dtype=int)
    fit_arr = fit.fillna(False).astype(bool).to_numpy()
    ref = pl.compute_reference_chip
    if ref not in chips:
        raise InputError("planner.compute_reference_chip", f"unknown chip {ref!r}")
    existing = existing_units.reindex(index=periods, columns=chips, fill_value=0.0)
    k_all = effective_eflops_per_unit(rate.reindex(chips).fillna(0.0), eff)
    from capacity.controls import rental_cap_share

    econ = EconomicsFrame(tuple(chips), fit_arr, float(k_all[chips.index(ref)]),
                          existing.to_numpy(float) @ k_all,
                          rental_cap_share(scenario, periods).to_numpy(float))
    dem_cols = ECONOMIC_DEMAND_COLUMNS
    dem_in = demand.reindex(periods)[list(dem_cols)].astype(float)
    if dem_in.isna().any().any():
        missing = dem_in.index[dem_in.isna().any(axis=1)][0]
        raise ValueError(f"demand missing for {missing}")
    nums = economic_numbers(pl, frame, econ, {c: dem_in[c].to_numpy() for c in dem_cols},
                            frame.price_factor)
    price = pd.DataFrame(nums["price_rmb_m"], index=periods, columns=chips)
    kw = pd.Series(nums["power_kw"], index=chips)
    maint = pd.Series(nums["maintenance_rmb_m"], index=chips)
    tokens_unit = tokens_per_unit_period(
        cat, pl.serving, inp.demand.inference.served_params_bn,
        hours_per_period(periods_per_year(periods))).reindex(chips).fillna(0.0)
    rates = pd.DataFrame({
        "training_value_rmb_m_per_eflops": nums["training_value_rmb_m"],
        "leasing_rmb_m_per_eflops": nums["leasing_rmb_m"],
        "rental_rmb_m_per_eflops": nums["rental_rmb_m"],
        "token_price_rmb_per_m_tokens": nums["token_price_rmb_m_per_tn"]}, index=periods)
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

    dem = pd.DataFrame({"training_eflops": nums["demand_training_eflops"],
                        "leasing_eflops": nums["demand_leasing_eflops"],
                        "inference_tn_tokens": nums["demand_inference_tn"]}, index=periods)
    rental_cap = pd.Series(nums["rental_cap_eflops"], index=periods)

    return PlanData(
        periods=periods, chips=chips, peak_tflops=rate.reindex(chips).fillna(0.0),
        efficiency=eff, training_fit=fit.fillna(False).astype(bool), power_kw=kw.fillna(0.0),
        life_quarters=life, lead_quarters=lead, price_rmb_m=price, cap_units=cap,
        existing_units=existing, demand=dem, tokens_per_unit_tn=tokens_unit,
        maintenance_rmb_m=maint, rates=rates,
        rental_cap_eflops=rental_cap, budget_rmb_m={int(y): float(b) for y, b in
                                         pl.capex_budget_rmb_m.items()},
        budget_carryover=pl.budget_carryover, power_mw=power,
        electricity_rmb_per_kwh=pl.electricity_rmb_per_kwh,
        discount_rate_annual=pl.discount_rate_annual,
        first_order_period=periods[0], lot_units=pl.lot_units, status=status, rule=rule,
        notes=tuple(notes), economics=econ)
