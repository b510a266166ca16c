"""Scenario -> domain inputs: calibration (cached), the existing fleet, availability, demand.

The one place where a validated :class:`~capacity.scenarios.Scenario` becomes the inputs the
planner, finance and the commands start from. Pure: no printing, no files.
"""

from __future__ import annotations

import pandas as pd

from capacity.calibration import Calibration, calibrate
from capacity.scenarios import Scenario


def purchasable_table(scenario: Scenario, periods: pd.PeriodIndex) -> pd.DataFrame | None:
    """Whether each chip could be bought in each quarter under the scenario's export controls.

    Returns ``None`` when the scenario names no rules (everything launched is purchasable).
    """
    if not scenario.inputs.controls.rules:
        return None
    from capacity.export_controls import availability

    av = availability(scenario, periods)
    return av["status"].ne("banned").unstack("chip")


_CALIBRATION_CACHE: dict[tuple, Calibration] = {}


def run_calibration(scenario: Scenario, solver: str = "highs") -> Calibration:
    """Calibrate the chip mix, honouring export controls between disclosure dates.

    Cached on everything calibration reads (calibration inputs, base period, rule timeline,
    input-file hashes), since plan, value, compare and stress all start from it.
    """
    from capacity.lp import make_solver

    make_solver(solver)  # an unknown or unavailable solver is refused here, in one line
    inp = scenario.inputs
    key = (inp.calibration.model_dump_json(), inp.horizon.base_period,
           inp.controls.model_dump_json(), tuple(sorted(scenario.files.items())), solver,
           scenario.as_of)
    hit = _CALIBRATION_CACHE.get(key)
    if hit is not None:
        return hit
    first = scenario.disclosures["period"].min()
    last = max(inp.horizon.base, scenario.disclosures["period"].max())
    periods = pd.period_range(first - inp.calibration.delivery_lag_quarters, last + 1,
                              freq="Q", name="period")
    cal = calibrate(scenario, purchasable_table(scenario, periods), solver=solver)
    if len(_CALIBRATION_CACHE) > 64:
        _CALIBRATION_CACHE.clear()
    _CALIBRATION_CACHE[key] = cal
    return cal


def existing_cohorts(scenario: Scenario, calibration: Calibration | None = None,
                     solver: str = "highs") -> pd.DataFrame:
    """Cohorts of the fleet at the base period plus the orders already placed.

    The initial fleet is the calibrated central mix at the base period unless the scenario
    gives ``fleet.initial`` explicitly.
    """
    from capacity.fleet import build_cohorts

    fleet = scenario.inputs.fleet
    initial_units = None
    if fleet.initial != "calibrated":
        return build_cohorts(fleet, scenario.catalog, initial_units)
    cal = calibration or run_calibration(scenario, solver)
    base = scenario.inputs.horizon.base
    cohorts = build_cohorts(fleet, scenario.catalog, cal.central_at(base))
    return pd.concat([cohorts, disclosed_additions(scenario, cal)], ignore_index=True)


def disclosed_additions(scenario: Scenario, calibration: Calibration) -> pd.DataFrame:
    """Cohorts the vintage already knows arrived after the base period.

    A fleet disclosure can be dated after the base period of the financials (the 23,000 PF of
    end-Mar 2025 came with the FY24 results). The calibrated path then runs past the base;
    each quarter q after it adds max(0, u[c, q] - u[c, q - 1]) units of chip c, in service
    from q (origin ``disclosed``).
    """
    from capacity.fleet import COHORT_COLUMNS

    base = scenario.inputs.horizon.base
    units = calibration.mix.pivot_table(index="period", columns="chip", values="central_units",
                                        aggfunc="sum").fillna(0.0).sort_index()
    rows = []
    for prev, cur in zip(units.index[:-1], units.index[1:], strict=True):
        if cur <= base:
            continue
        for chip, delta in (units.loc[cur] - units.loc[prev]).items():
            if delta > 1e-6:
                rows.append({"chip": chip, "units": float(delta), "start": cur,
                             "retire": cur + scenario.inputs.fleet.life_of(chip),
                             "origin": "disclosed"})
    return pd.DataFrame(rows, columns=COHORT_COLUMNS)


def existing_fleet_eflops(scenario: Scenario, calibration: Calibration | None = None,
                          solver: str = "highs") -> pd.DataFrame:
    """Peak and effective EFLOPS of the existing fleet (no new purchases), history included.

    Quarters from the first disclosure date through the horizon end. Up to the base period the
    figures come from the calibrated central mixes (the disclosure dates; quarters between them
    carry the earlier date forward); after it, from the initial cohorts and placed orders, with
    retirements.

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``gpus_units``, ``peak_eflops``, ``effective_eflops``.
    """
    from capacity.fleet import efficiency_vector, fleet_summary

    cal = calibration or run_calibration(scenario, solver)
    hz = scenario.inputs.horizon
    base = hz.base
    future = fleet_summary(existing_cohorts(scenario, cal), hz.periods, scenario.catalog,
                           scenario.inputs.fleet)
    mix = cal.mix.copy()
    eff = efficiency_vector(scenario.inputs.fleet, list(mix["chip"].unique()))
    mix["effective_eflops"] = mix["central_eflops"] * mix["chip"].map(eff)
    hist = mix.groupby("period").agg(gpus_units=("central_units", "sum"),
                                     peak_eflops=("central_eflops", "sum"),
                                     effective_eflops=("effective_eflops", "sum"))
    first = hist.index.min()
    hist = hist.reindex(pd.period_range(first, base, freq="Q", name="period")).ffill()
    out = pd.concat([hist, future])
    out.index.name = "period"
    return out


def scenario_availability(scenario: Scenario) -> pd.DataFrame | None:
    """Export-control availability over the planned quarters (None when no rules are set)."""
    if not scenario.inputs.controls.rules:
        return None
    from capacity.export_controls import availability

    return availability(scenario, scenario.inputs.horizon.periods)


def scenario_demand(scenario: Scenario, fleet_effective_eflops: pd.Series) -> pd.DataFrame:
    """Effective EFLOPS demand per planned quarter (training, inference, leasing)."""
    from capacity.compute_demand import demand_table

    return demand_table(scenario, scenario.inputs.horizon.periods, fleet_effective_eflops)
