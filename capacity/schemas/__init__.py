"""Strict pydantic input models: the ground floor every other module builds on.

All inputs are validated once, after scenario overrides are merged (see :mod:`capacity.scenarios`).
Every model forbids unknown keys and is frozen. Quarters are written ``"2023Q3"`` in files and
converted to :class:`pandas.Period` (freq ``Q``) by :func:`to_period`.

Numbers are strict: an int is accepted where a float is expected, but a bool (``true``) or text
(``"1.4"``) is not a number, and a float is not a whole number. Every number must be finite and
inside the range documented with its field; the named limits are listed, with their units, in
``docs/limits.md`` (a test keeps the two in step).

One module per part of the inputs, each name re-exported here (``from capacity.schemas import X``):

- :mod:`~capacity.schemas.limits`: the named input limits;
- :mod:`~capacity.schemas.base`: quarters, dates, the number types and :class:`StrictModel`;
- :mod:`~capacity.schemas.fleet`: the chip catalog row, the horizon, the fleet, calibration;
- :mod:`~capacity.schemas.controls`: export-control rules and the subject's entities;
- :mod:`~capacity.schemas.demand`: tokens, training runs, inference, revenue, leasing;
- :mod:`~capacity.schemas.planner`: the purchase planner and its serving roofline;
- :mod:`~capacity.schemas.finance`: revenue, P&L, cash and valuation;
- :mod:`~capacity.schemas.scenario`: :class:`Inputs`, every section under one root;
- :mod:`~capacity.schemas.stress`: the stress command's request and its memory estimate.
"""

from __future__ import annotations

# every public name of the parts (their own imports among them); __all__ below is the API
from capacity.schemas.base import *
from capacity.schemas.controls import *
from capacity.schemas.demand import *
from capacity.schemas.finance import *
from capacity.schemas.fleet import *
from capacity.schemas.limits import *
from capacity.schemas.planner import *
from capacity.schemas.scenario import *
from capacity.schemas.stress import *

__all__ = [
    "FIRST_DATE", "FIRST_QUARTER", "FIRST_YEAR", "LAST_DATE", "LAST_QUARTER", "LAST_YEAR",
    "MAX_ABS_NET_CASH_RMB_M", "MAX_BUDGET_RMB_M", "MAX_CHIP_PRICE_RMB", "MAX_CHIP_PRICE_USD",
    "MAX_CHIP_TFLOPS", "MAX_DATACENTER_MW",
    "MAX_DAYS_AFTER_LAST_VINTAGE", "MAX_DIE_MM2", "MAX_EFFICIENCY", "MAX_EFLOPS",
    "MAX_ELECTRICITY_RMB_PER_KWH", "MAX_EV_EBITDA_MULTIPLE", "MAX_EV_SALES_MULTIPLE",
    "MAX_EXTENDS_DEPTH", "MAX_FACILITY_RMB_M_PER_MW", "MAX_FX_RATE", "MAX_GROWTH_ANNUAL",
    "MAX_INPUT_FILE_BYTES", "MAX_INTERCONNECT_GBS", "MAX_KV_VALUES_PER_TOKEN_K",
    "MAX_LEAD_TIME_QUARTERS", "MAX_LIFE_QUARTERS", "MAX_LOT_UNITS", "MAX_MEMORY_BW_TBS",
    "MAX_MEMORY_GB", "MAX_NESTING_DEPTH", "MAX_NUMBER_DIGITS",
    "MAX_OPEX_RMB_M", "MAX_PARAMS_BN",
    "MAX_PERFORMANCE_DENSITY", "MAX_PUE", "MAX_RENTAL_CAP_SHARE", "MAX_REQUEST_TOKENS",
    "MAX_REVENUE_RMB_M", "MAX_RUN_QUARTERS", "MAX_SENSITIVITY_POINTS",
    "MAX_SERVER_OVERHEAD", "MAX_SERVING_BATCH", "MAX_SHARES_M", "MAX_STRESS_SAMPLES",
    "MAX_STRESS_WORKERS", "MAX_SUPPLY_FACTOR", "MAX_SYSTEM_RMB_PER_UNIT", "MAX_TDP_W",
    "MAX_TOKENS_PER_PARAM", "MAX_TOKENS_TN", "MAX_TOKEN_PRICE_RMB_PER_M", "MAX_TPP",
    "MAX_TRADITIONAL_GROWTH_ANNUAL", "MAX_UNITS", "MAX_UNITS_PER_QUARTER",
    "MAX_USD_PER_GPU_HOUR", "MIN_FX_RATE", "MIN_PUE", "MIN_SHARES_M",
    "SEED_LIMIT", "STRESS_MEMORY_BUDGET_BYTES", "STRESS_SERIES",
    "CalibrationInputs", "ChipSpec", "ControlsInputs", "Date", "DemandInputs", "Efficiency",
    "Eflops", "ExportRule", "Figure", "FinanceInputs", "FleetEntry", "FleetInputs", "Fraction",
    "GrowthRate", "Horizon", "InferenceInputs", "Inputs", "LeadQuarters", "LeasingInputs",
    "LifeQuarters", "NonNegative", "PipelineOrder", "PlannerInputs", "Positive",
    "PositiveShare", "PriceUsd", "Quarter", "Real", "RevenueInputs", "RuleBand", "RuleLibrary",
    "ServingInputs", "StressRequest", "StrictModel", "SubjectEntity", "SubjectInputs",
    "TokenInputs", "TrainingRun", "Units", "UnitsPerQuarter", "Whole", "Year",
    "check_stress_request", "date_from_text", "entity_key", "estimate_stress_memory_bytes",
    "number_from_text", "parse_quarter", "quarter_arg", "quarter_range", "shown_text",
    "supersession_cycle", "to_period", "too_many_digits",
]
