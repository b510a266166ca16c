"""capacity: AI compute capacity planner.

Models a GPU fleet by chip and quarter, US export controls as dated rules, compute demand from
training runs and inference, a purchase LP under access, budget and power limits, and the link
from capacity to revenue and valuation. First subject: SenseTime's SenseCore.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capacity")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"

from capacity.errors import CapacityError, InputError, SolverError, UnknownNameError
from capacity.scenarios import Scenario, load_scenario

__all__ = [
    "CapacityError",
    "InputError",
    "Scenario",
    "SolverError",
    "UnknownNameError",
    "__version__",
    "load_scenario",
]
