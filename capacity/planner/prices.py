"""What is fixed about a scenario's chip prices, power and caps, and the price per quarter.

:func:`price_frame` reads a scenario once (:class:`PriceFrame`); the plan and every stress draw
then price the chips from it (:func:`unit_price_m`, :func:`price_matrix`) and derive power
per unit and the facility power limit (:func:`unit_power_kw`, :func:`power_limit_mw`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.batch import per_draw, step_values
from capacity.chips import peak_tflops, price_per_unit, price_rmb
from capacity.planner.periods import quarter_step_index


def availability_grids(availability: pd.DataFrame, periods: pd.PeriodIndex, chips: list[str],
                       columns: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Columns of :func:`capacity.export_controls.availability` (index period x chip) as tables
    aligned to (periods, chips); NaN where a pair is missing."""
    av = availability.reset_index()
    av = av[av["period"].isin(periods)]
    return {col: av.pivot(index="period", columns="chip", values=col).reindex(
        index=periods, columns=chips) for col in columns}


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
        Shape (T,): position in ``power_keys`` of the ``planner.datacenter_mw`` step in force
        in t (:func:`capacity.planner.periods.quarter_step_index`; -1: none). [index]
    power_keys
        The steps' quarters.
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


def unit_price_m(frame: PriceFrame, fx_usd: float, price_usd: dict[str, float]
                     ) -> np.ndarray:
    """Reference price per unit of each chip, shape (C,) or (B, C). [RMB m/unit]

        price[c] = price_usd[c] x fx_usd  (scenario input), else catalog RMB, else catalog
        USD x fx_usd; NaN when unknown (:func:`capacity.chips.price_per_unit`).
    """
    override = {j: price_usd[c] for j, c in enumerate(frame.chips) if c in price_usd}
    return price_per_unit(frame.catalog_price_rmb, frame.catalog_price_usd, fx_usd,
                              override) / 1e6


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

    Each ``datacenter_mw`` step holds from its quarter until the next one
    (:func:`capacity.batch.step_values`); None without steps.
    """
    if not frame.power_keys:
        return None
    return step_values(frame.power_step, [datacenter_mw[q] for q in frame.power_keys], np.nan)


def price_frame(scenario, availability: pd.DataFrame | None) -> tuple[PriceFrame, list[str]]:
    """The fixed part of a scenario's prices and power (and notes on unplannable chips)."""
    inp = scenario.inputs
    pl = inp.planner
    cat = scenario.catalog
    periods = inp.horizon.periods
    chips = list(cat.index)
    rate = peak_tflops(cat)
    base = price_rmb(cat, pl.fx_usd, pl.price_usd)
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
        pf = availability_grids(availability, periods, chips, ("price_factor",))[
            "price_factor"].astype(float).fillna(1.0).to_numpy()
    keys = tuple(pl.datacenter_mw)
    step = quarter_step_index(periods, keys)
    frame = PriceFrame(periods, chips, priced, pf, cat["price_rmb"].to_numpy(float),
                       cat["price_usd"].to_numpy(float), cat["tdp_w"].to_numpy(float), step,
                       keys)
    return frame, notes
