"""Compose the domain modules into the results each command reports.

Each ``*_report`` function takes a validated :class:`~capacity.scenarios.Scenario` and returns a
:class:`~capacity.results.Report`; the CLI renders it and the Python API returns it.
"""

from __future__ import annotations

import pandas as pd

from capacity.calibrate import Calibration, calibrate
from capacity.results import Report
from capacity.scenarios import Scenario


def purchasable_table(scenario: Scenario, periods: pd.PeriodIndex) -> pd.DataFrame | None:
    """Whether each chip could be bought in each quarter under the scenario's export controls.

    Returns ``None`` when the scenario names no rules (everything launched is purchasable).
    """
    if not scenario.inputs.controls.rules:
        return None
    from capacity.controls import availability

    av = availability(scenario, periods)
    return av["status"].ne("banned").unstack("chip")


def run_calibration(scenario: Scenario, solver: str = "highs") -> Calibration:
    """Calibrate the chip mix, honouring export controls between disclosure dates."""
    first = scenario.disclosures["period"].min()
    periods = pd.period_range(first, pd.Period(scenario.inputs.horizon.base_period, freq="Q") + 1,
                              freq="Q", name="period")
    return calibrate(scenario, purchasable_table(scenario, periods), solver=solver)


def calibration_report(scenario: Scenario, solver: str = "highs") -> Report:
    """``capacity calibrate``: fitted totals per date, mix ranges per chip, orders in units."""
    cal = run_calibration(scenario, solver)
    return Report(
        "calibrate",
        scalars={"scenario": scenario.name,
                 "base_period": scenario.inputs.horizon.base_period,
                 "tolerance": scenario.inputs.calibration.tolerance},
        tables={"dates": cal.dates, "mix": cal.mix, "orders": cal.orders},
        primary="mix",
        titles={"dates": "Disclosed vs fitted totals",
                "mix": "Chip mix per disclosure date (central, min, max)",
                "orders": "The disclosed EFLOPS on placed orders, in units of each chip"},
    )
