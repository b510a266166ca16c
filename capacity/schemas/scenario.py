"""The inputs of one scenario: every section's model under one root."""

from __future__ import annotations

from pydantic import Field

from capacity.schemas.base import StrictModel
from capacity.schemas.controls import ControlsInputs, SubjectInputs
from capacity.schemas.demand import DemandInputs
from capacity.schemas.finance import FinanceInputs
from capacity.schemas.fleet import CalibrationInputs, FleetInputs, Horizon
from capacity.schemas.planner import PlannerInputs

SCENARIO_OPTIONS = ("none", "removes", "adds", "mixed")
"""What a scenario file's ``options`` says it does to the options of the scenario it extends
(the baseline when it extends none): nothing, only removes some, only adds some, or both. A
scenario that only removes options can have no higher plan NPV or target price, one that only
adds no lower (tests/test_scenario_options.py)."""


class Inputs(StrictModel):
    """Every model input of one scenario (baseline plus overrides, validated once)."""

    horizon: Horizon
    fleet: FleetInputs
    calibration: CalibrationInputs = Field(default_factory=CalibrationInputs)
    controls: ControlsInputs = Field(default_factory=ControlsInputs)
    demand: DemandInputs = Field(default_factory=DemandInputs)
    planner: PlannerInputs = Field(default_factory=PlannerInputs)
    finance: FinanceInputs
    subject: SubjectInputs = Field(default_factory=SubjectInputs)
