"""Chip economics of one plan: all-in cost, maintenance, compute rates, tokens, demand.

:func:`economic_numbers` is the one call site for the plan
(:func:`capacity.planner.data.plan_data_from_scenario`) and for every stress draw; the
equations it combines are the functions above it, each with its unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.batch import per_draw, stack_last
from capacity.planner.periods import hours_per_period, periods_per_year, quarter_steps
from capacity.planner.prices import PriceFrame, price_matrix, unit_power_kw, unit_price_m
from capacity.serving import (  # the serving equations live in the domain room; re-exported
    compute_rate_m_per_eflops,
    effective_eflops_per_unit,  # noqa: F401 (data.py and callers import it from here)
    inference_demand,
    inference_demand_eflops,  # noqa: F401
    inference_demand_tn,  # noqa: F401
    serving_tokens_per_s,  # noqa: F401
    tokens_per_unit_period,  # noqa: F401
)


def opex_m_per_mw(hours_per_period: float, rmb_per_kwh: float) -> float:
    """Power cost of one MW for one period: MW * h * 1000 kWh/MWh * RMB/kWh / 1e6. [RMB m]"""
    return hours_per_period * 1000.0 * rmb_per_kwh / 1e6


def all_in_cost_m(card_m, system_m, network_share, facility_m_per_mw: float,
                      power_kw):
    """All-in cost of one installed accelerator, on one basis for every chip. [RMB m/unit]

        all_in = (card + system) x (1 + network_share) + facility x kW / 1000

    Parameters
    ----------
    card_m
        Card price (licence fees included), shape (T, C) or (C,). [RMB m/unit]
    system_m, network_share, power_kw
        Per chip, shape (C,): system share per slot [RMB m/unit], cluster network as a share of
        card + system [1], facility power per unit [kW/unit].
    facility_m_per_mw
        Facility fit-out per MW of facility power. [RMB m/MW]
    """
    return ((np.asarray(card_m, float) + system_m) * (1.0 + network_share)
            + facility_m_per_mw * np.asarray(power_kw, float) / 1000.0)


def maintenance_m_per_period(card_m, system_m, network_share,
                                 share_annual: float, periods_per_year: int):
    """Maintenance of one unit in service for one period: a share of its hardware cost.

        maintenance = share_annual / P x (card + system) x (1 + network_share)  [RMB m/unit]
    """
    return share_annual / periods_per_year * (np.asarray(card_m, float) + system_m) \
        * (1.0 + network_share)


def work_rates(pl, econ: EconomicsFrame, periods: pd.PeriodIndex) -> dict[str, np.ndarray]:
    """The compute rates of one plan per quarter (:func:`compute_rate_m_per_eflops`):
    ``training_value_m``, ``leasing_m``, ``rental_m``. [RMB m/(EFLOPS*period)]"""
    ppy = periods_per_year(periods)
    years = np.arange(len(periods)) / ppy
    hours = hours_per_period(ppy)
    return {name: compute_rate_m_per_eflops(usd, pl.fx_usd, econ.reference_eflops_per_unit,
                                                pl.compute_price_change_annual, years, hours)
            for name, usd in (("training_value_m", pl.training_value_usd_per_gpu_hour),
                              ("leasing_m", pl.leasing_usd_per_gpu_hour),
                              ("rental_m", pl.rental_usd_per_gpu_hour))}


def chip_cost_basis(pl, chips: tuple[str, ...] | list[str], fit: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per chip: system share [RMB m/unit] and network share [1] (training-fit chips carry
    ``planner.network_share_training``, the others ``planner.network_share_inference``).

    From the planner inputs ``pl``; shape (C,), or (B, C) when some of them are per-draw
    arrays (B,) (:mod:`capacity.batch`)."""
    system = stack_last([pl.system_per_unit_by_chip.get(c, pl.system_per_unit)
                         for c in chips]) / 1e6
    net = np.where(fit, per_draw(pl.network_share_training),
                   per_draw(pl.network_share_inference))
    return system, net


ECONOMIC_DEMAND_COLUMNS = ("training_demand_eflops", "leasing_demand_eflops", "genai_demand_m",
                           "token_price_per_m_tokens")
"""Demand columns :func:`economic_numbers` reads (of
:func:`capacity.compute_demand.demand_arrays`)."""


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
    reference_tokens_per_unit_tn
        Tokens one unit of it serves a quarter (:func:`tokens_per_unit_period`).
        [tn tokens/(unit*quarter)]
    existing_effective_eflops
        Shape (T,): the existing fleet's effective compute. [EFLOPS]
    rental_rule_share
        Shape (T,): the most rented compute a remote-access rule in force allows, as a share
        of the whole fleet's (:func:`capacity.export_controls.rental_cap_share`; NaN: no
        rule). [1]
    """

    chips: tuple[str, ...]
    fit: np.ndarray
    reference_eflops_per_unit: float
    existing_effective_eflops: np.ndarray
    rental_rule_share: np.ndarray
    reference_tokens_per_unit_tn: float = float("nan")


def economic_numbers(pl, frame: PriceFrame, econ: EconomicsFrame, demand: dict,
                     price_factor: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The chip-economics and work numbers of one plan, from the planner inputs ``pl`` and the
    demand arrays (:func:`capacity.compute_demand.demand_arrays` or the demand table's columns).

    One call site for the plan (:func:`capacity.planner.data.plan_data_from_scenario`) and
    for every stress draw: for a batch of draws, every number of ``pl`` that varies is an array
    of one value per draw (B,) and the demand arrays are (B, T); the results then carry the
    batch as their first axis (:mod:`capacity.batch`).

    Returns
    -------
    dict
        ``power_kw`` (C,) [kW/unit]; ``price_m`` (T, C, all-in) [RMB m/unit];
        ``maintenance_m`` (C,) [RMB m/(unit*period)]; the rates
        ``training_value_m``, ``leasing_m``, ``rental_m`` [RMB m/(EFLOPS*period)]
        and ``token_price_m_per_tn``; ``demand_training_eflops``,
        ``demand_leasing_eflops``, ``demand_inference_tn``, ``demand_inference_eflops``
        (:func:`inference_demand`), ``rental_cap_eflops``,
        ``rental_cap_share`` (T,) (:func:`rental_limits`).
    """
    periods = frame.periods
    ppy = periods_per_year(periods)
    kw = np.nan_to_num(unit_power_kw(frame.tdp_w, pl.server_overhead, pl.pue))
    card_unit = unit_price_m(frame, pl.fx_usd, pl.price_usd)
    card = price_matrix(frame, card_unit, price_factor)
    system, net = chip_cost_basis(pl, econ.chips, econ.fit)
    rate = work_rates(pl, econ, periods)
    token_price = np.asarray(demand["token_price_per_m_tokens"], float)
    leasing = np.asarray(demand["leasing_demand_eflops"], float)
    return {
        "power_kw": kw,
        "price_m": all_in_cost_m(card, system[..., None, :], net[..., None, :],
                                         per_draw(pl.facility_m_per_mw, 2),
                                         kw[..., None, :]),
        "maintenance_m": np.nan_to_num(maintenance_m_per_period(
            card_unit, system, net,
            per_draw(pl.maintenance_share_annual), ppy)),
        **rate, "token_price_m_per_tn": token_price,
        "demand_training_eflops": np.asarray(demand["training_demand_eflops"], float),
        "demand_leasing_eflops": leasing,
        **inference_demand(demand, rate["leasing_m"], econ.reference_eflops_per_unit,
                           econ.reference_tokens_per_unit_tn),
        **rental_limits(periods, pl.rental_cap_share, econ),
    }


def rental_limits(periods: pd.PeriodIndex, cap_share: dict[str, float], econ: EconomicsFrame
                  ) -> dict[str, np.ndarray]:
    """Most rented training compute, as a share of the whole fleet's effective compute.

        s[t] = min(planner.rental_cap_share[t], remote-access rule share[t])        [1]
        rent[t] <= s[t] x (existing[t] + sum_c k[c] fleet[c, t])                   [EFLOPS]

    Returns
    -------
    dict
        ``rental_cap_share`` s (T,) [1] and ``rental_cap_eflops`` = s x the existing fleet's
        effective compute (the part of the limit the existing fleet gives) (T,) [EFLOPS].
    """
    share = np.fmin(quarter_steps(periods, cap_share), econ.rental_rule_share)
    return {"rental_cap_share": share,
            "rental_cap_eflops": share * econ.existing_effective_eflops}
