"""The inputs of one scenario: every section's model under one root."""

from __future__ import annotations

from pydantic import Field

from capacity.schemas.base import StrictModel
from capacity.schemas.controls import ControlsInputs, SubjectInputs
from capacity.schemas.demand import DemandInputs
from capacity.schemas.finance import FinanceInputs
from capacity.schemas.fleet import CalibrationInputs, FleetInputs, Horizon
from capacity.schemas.planner import PlannerInputs


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
