"""Fleet model: installed units by chip and quarter, and the compute they give.

A fleet is a set of *cohorts*: units of one chip that enter service in one quarter and leave after
the chip's service life. Units in service in quarter t:

    installed[c, t] = sum over cohorts k of chip c with  start_k <= t < start_k + life_c  of units_k

Peak compute uses the dense FP16/BF16 rate (the basis the company discloses):

    peak_eflops[t]      = sum_c installed[c, t] * peak_tflops[c] / 1e6
    effective_eflops[t] = sum_c installed[c, t] * peak_tflops[c] * efficiency[c] / 1e6
"""

from __future__ import annotations

import pandas as pd

from capacity.chips import TFLOPS_PER_EFLOPS, peak_tflops, require_chip
from capacity.errors import InputError
from capacity.schemas import FleetInputs, to_period

COHORT_COLUMNS = ["chip", "units", "start", "retire", "origin"]


def order_units(chip: str, units: float | None, peak_eflops: float | None,
                catalog: pd.DataFrame, field: str = "fleet.pipeline") -> float:
    """Units of an order given in units or in peak EFLOPS.

    units = peak_eflops * 1e6 / peak_tflops[chip]

    Parameters
    ----------
    chip
        Catalog id.
    units
        Order in units. [units]
    peak_eflops
        Order as dense FP16 peak. [EFLOPS]
    catalog
        Chip catalog.

    Returns
    -------
    float
        Units. [units]
    """
    require_chip(catalog, chip, f"{field}.chip")
    if units is not None:
        return float(units)
    rate = catalog.at[chip, "fp16_tflops"]
    if pd.isna(rate):
        raise InputError(f"{field}.peak_eflops",
                         f"chip {chip!r} has no known FP16 rate; give the order in units")
    return float(peak_eflops) * TFLOPS_PER_EFLOPS / float(rate)


def build_cohorts(fleet: FleetInputs, catalog: pd.DataFrame,
                  initial_units: pd.Series | None = None) -> pd.DataFrame:
    """Cohorts of the initial fleet and the placed orders.

    Parameters
    ----------
    fleet
        Fleet inputs.
    catalog
        Chip catalog.
    initial_units
        Units per chip at the base period when ``fleet.initial == "calibrated"`` (from
        :mod:`capacity.calibration`). [units]

    Returns
    -------
    pandas.DataFrame
        Columns ``chip``, ``units`` [units], ``start`` (first quarter in service), ``retire``
        (first quarter out of service), ``origin`` (``initial`` or ``pipeline``).
    """
    rows = []
    if isinstance(fleet.initial, list):
        for i, e in enumerate(fleet.initial):
            require_chip(catalog, e.chip, f"fleet.initial[{i}].chip")
            rows.append((e.chip, e.units, to_period(e.installed), "initial"))
    else:
        if initial_units is None:
            raise InputError("fleet.initial", "calibrated fleet requested but no calibration given")
        for chip, units in initial_units.items():
            if units > 0:
                installed = fleet.initial_installed.get(chip, fleet.default_installed)
                if installed is None:
                    raise InputError("fleet.default_installed", f"needed for the calibrated "
                                     f"{chip} units (no fleet.initial_installed.{chip} given)")
                start = to_period(installed)
                rows.append((chip, float(units), start, "initial"))
    for i, order in enumerate(fleet.pipeline):
        units = order_units(order.chip, order.units, order.peak_eflops, catalog,
                            f"fleet.pipeline[{i}]")
        rows.append((order.chip, units, to_period(order.delivery), "pipeline"))
    df = pd.DataFrame(rows, columns=["chip", "units", "start", "origin"])
    df["retire"] = [s + fleet.life_of(c) for c, s in zip(df["chip"], df["start"], strict=True)]
    return df[COHORT_COLUMNS]


def installed_units(cohorts: pd.DataFrame, periods: pd.PeriodIndex,
                    chips: list[str] | None = None) -> pd.DataFrame:
    """Units in service per quarter and chip.

    Parameters
    ----------
    cohorts
        From :func:`build_cohorts` (or purchases in the same shape).
    periods
        Quarters to report.
    chips
        Columns to return (default: chips present in ``cohorts``).

    Returns
    -------
    pandas.DataFrame
        Index ``period``, one column per chip. [units]
    """
    chips = chips if chips is not None else sorted(set(cohorts["chip"]))
    out = pd.DataFrame(0.0, index=periods, columns=chips)
    for chip, units, start, retire in cohorts[["chip", "units", "start", "retire"]].itertuples(
            index=False):
        if chip not in out.columns:
            continue
        mask = (periods >= start) & (periods < retire)
        out.loc[mask, chip] += units
    out.index.name = "period"
    out.columns.name = "chip"
    out.attrs["unit"] = "units"
    return out


def peak_eflops(installed: pd.DataFrame, catalog: pd.DataFrame) -> pd.Series:
    """Peak dense FP16 compute per quarter. [EFLOPS]

    peak_eflops[t] = sum_c installed[c, t] * peak_tflops[c] / 1e6
    """
    rate = peak_tflops(catalog).reindex(installed.columns)
    out = installed.mul(rate.fillna(0.0), axis=1).sum(axis=1) / TFLOPS_PER_EFLOPS
    out.name = "peak_eflops"
    out.attrs["unit"] = "EFLOPS"
    return out


def efficiency_vector(fleet: FleetInputs, chips: list[str]) -> pd.Series:
    """Effective-to-peak factor per chip. [1]"""
    return pd.Series([fleet.efficiency_of(c) for c in chips], index=chips, name="efficiency")


def effective_eflops(installed: pd.DataFrame, catalog: pd.DataFrame,
                     fleet: FleetInputs) -> pd.Series:
    """Effective compute per quarter: peak x per-chip efficiency. [EFLOPS]

    effective_eflops[t] = sum_c installed[c, t] * peak_tflops[c] * efficiency[c] / 1e6
    """
    rate = peak_tflops(catalog).reindex(installed.columns).fillna(0.0)
    eff = efficiency_vector(fleet, list(installed.columns))
    out = installed.mul(rate * eff, axis=1).sum(axis=1) / TFLOPS_PER_EFLOPS
    out.name = "effective_eflops"
    out.attrs["unit"] = "EFLOPS"
    return out


def fleet_summary(cohorts: pd.DataFrame, periods: pd.PeriodIndex, catalog: pd.DataFrame,
                  fleet: FleetInputs) -> pd.DataFrame:
    """Per quarter: GPUs in service, peak and effective EFLOPS.

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``gpus_units``, ``peak_eflops``, ``effective_eflops``.
    """
    inst = installed_units(cohorts, periods)
    out = pd.DataFrame({
        "gpus_units": inst.sum(axis=1),
        "peak_eflops": peak_eflops(inst, catalog),
        "effective_eflops": effective_eflops(inst, catalog, fleet),
    })
    out.index.name = "period"
    return out
