"""Strict pydantic input models: the ground floor every other module builds on.

All inputs are validated once, after scenario overrides are merged (see :mod:`capacity.scenarios`).
Every model forbids unknown keys and is frozen. Quarters are written ``"2023Q3"`` in files and
converted to :class:`pandas.Period` (freq ``Q``) by :func:`to_period`.

Numbers are strict: an int is accepted where a float is expected, but a bool (``true``) or text
(``"1.4"``) is not a number, and a float is not a whole number. Every number must be finite and
inside the range documented with its field; the named limits below are listed, with their units,
in ``docs/limits.md`` (a test keeps the two in step).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Annotated, Literal

import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from capacity.errors import InputError, input_error_from_validation

# --------------------------------------------------------------------------------------------
# Input limits (docs/limits.md lists every one)
# --------------------------------------------------------------------------------------------

# Files (enforced by capacity.scenarios when reading)
MAX_INPUT_FILE_BYTES = 1_048_576
"""Largest input file read: scenario, baseline, rule library, catalog, disclosures, actuals CSV.
[bytes] (1 MiB; the shipped baseline is about 20 KiB)."""
MAX_NESTING_DEPTH = 32
"""Deepest nesting of tables and arrays in a TOML file or a ``--set`` value. [levels]"""
MAX_EXTENDS_DEPTH = 16
"""Longest chain of scenario files that ``extends`` one another. [files]"""

# Calendar
FIRST_QUARTER = "2000Q1"
"""Earliest quarter any input may name. [quarter]"""
LAST_QUARTER = "2040Q4"
"""Latest quarter any input may name, so also the latest horizon end. [quarter]"""
FIRST_YEAR = 2000
"""Earliest calendar year a budget, growth rate or valuation may name. [year]"""
LAST_YEAR = 2040
"""Latest calendar year a budget, growth rate or valuation may name. [year]"""
FIRST_DATE = dt.date(FIRST_YEAR, 1, 1)
"""Earliest date of an export-control rule. [date]"""
LAST_DATE = dt.date(LAST_YEAR, 12, 31)
"""Latest date of an export-control rule. [date]"""

# Fleet and supply
MAX_LIFE_QUARTERS = 40
"""Longest service life of a chip (10 years). [quarters]"""
MAX_UNITS = 10_000_000
"""Most accelerators in one fleet entry or placed order. [units]"""
MAX_UNITS_PER_QUARTER = 10_000_000
"""Largest supply or licence cap. [units/quarter]"""
MAX_EFLOPS = 100_000.0
"""Largest compute amount of an order or a leasing step. [EFLOPS]"""
MAX_EFFICIENCY = 1.5
"""Largest effective-to-peak factor relative to an NVIDIA data-centre part. [1]"""
MAX_SUPPLY_FACTOR = 100.0
"""Largest factor a supply rule may put on base supply. [1]"""

# Chip figures (catalog and rule thresholds)
MAX_CHIP_TFLOPS = 1_000_000.0
"""Largest dense FP16/FP8 rate (TFLOPS) or INT8 rate (TOPS) of one chip. [TFLOPS]"""
MAX_MEMORY_GB = 100_000.0
"""Largest on-package memory of one chip. [GB]"""
MAX_MEMORY_BW_TBS = 1_000.0
"""Largest memory bandwidth of one chip or rule threshold. [TB/s]"""
MAX_INTERCONNECT_GBS = 1_000_000.0
"""Largest chip-to-chip bandwidth of one chip or threshold. [GB/s]"""
MAX_TDP_W = 100_000.0
"""Largest thermal design power of one chip. [W]"""
MAX_DIE_MM2 = 100_000.0
"""Largest die area of one chip (a whole wafer is about 70,000). [mm^2]"""
MAX_TPP = 10_000_000.0
"""Largest total processing performance of one chip or threshold. [1]"""
MAX_PERFORMANCE_DENSITY = 100_000.0
"""Largest performance-density threshold. [TPP/mm^2]"""

# Prices, money and exchange rates
MAX_CHIP_PRICE_USD = 10_000_000.0
"""Highest price of one accelerator. [USD/unit]"""
MAX_CHIP_PRICE_RMB = 100_000_000.0
"""Highest price of one accelerator quoted in RMB. [RMB/unit]"""
MAX_BUDGET_RMB_M = 10_000_000.0
"""Largest capex budget of one year (RMB 10 trillion). [RMB m/year]"""
MAX_REVENUE_RMB_M = 10_000_000.0
"""Largest half-year revenue input. [RMB m]"""
MAX_ABS_NET_CASH_RMB_M = 10_000_000.0
"""Net cash lies in [-this, +this] (RMB 10 trillion of net cash or net debt). [RMB m]"""
MIN_SHARES_M = 1.0
"""Fewest shares outstanding. [m shares]"""
MAX_SHARES_M = 1_000_000.0
"""Most shares outstanding (one trillion). [m shares]"""
MIN_USD_RMB = 2.0
"""Lowest USD/RMB exchange rate (the 1980s were about 1.5-3). [RMB/USD]"""
MAX_USD_RMB = 20.0
"""Highest USD/RMB exchange rate. [RMB/USD]"""
MIN_RMB_PER_HKD = 0.2
"""Lowest HKD/RMB exchange rate. [RMB/HKD]"""
MAX_RMB_PER_HKD = 3.0
"""Highest HKD/RMB exchange rate. [RMB/HKD]"""
MAX_ELECTRICITY_RMB_PER_KWH = 10.0
"""Highest electricity price (China's industrial tariffs are about 0.5-1). [RMB/kWh]"""
MAX_SYSTEM_RMB_PER_UNIT = 10_000_000.0
"""Highest system share per accelerator slot (a whole 8-GPU server is about RMB 2m). [RMB/unit]"""
MAX_FACILITY_RMB_M_PER_MW = 1_000.0
"""Highest facility fit-out cost (US builds are about RMB 85m per MW). [RMB m/MW]"""
MAX_USD_PER_GPU_HOUR = 1_000.0
"""Highest compute rate (on-demand H100s were about USD 12 per GPU-hour in 2023). [USD/GPU-hour]"""
MAX_RENTAL_CAP_SHARE = 10.0
"""Highest rented compute as a multiple of owned compute. [1]"""
MAX_KV_VALUES_PER_TOKEN_K = 100_000.0
"""Highest KV-cache values per token of context (a 70bn GQA model stores about 164k). [k]"""
MAX_REQUEST_TOKENS = 10_000_000.0
"""Longest request of the serving mix. [tokens]"""
MAX_SERVING_BATCH = 1_000_000.0
"""Largest serving batch per instance. [requests]"""
MAX_TOKEN_PRICE_RMB_PER_M = 10_000.0
"""Highest price of one million tokens. [RMB/m tokens]"""
MAX_EV_SALES_MULTIPLE = 100.0
"""Largest EV/Sales multiple. [1]"""

# Power and planning
MIN_PUE = 1.0
"""Lowest power usage effectiveness (no facility overhead). [1]"""
MAX_PUE = 3.0
"""Highest power usage effectiveness. [1]"""
MAX_SERVER_OVERHEAD = 4.0
"""Largest server power as a multiple of GPU TDP. [1]"""
MAX_DATACENTER_MW = 100_000.0
"""Largest data-centre power (100 GW). [MW]"""
MAX_LEAD_TIME_QUARTERS = 12
"""Longest order-to-delivery lead time. [quarters]"""
MAX_LOT_UNITS = 1024
"""Largest purchase lot (whole servers, the plan's default). [units]"""

# Demand
MAX_GROWTH_ANNUAL = 100.0
"""Largest growth rate a year (x101); the smallest is just above -1 (-100%). [1/year]"""
MAX_TOKENS_TN = 100_000.0
"""Largest token amount: monthly output, stock, target, a run's tokens. [tn tokens]"""
MAX_PARAMS_BN = 100_000.0
"""Largest model (100 trillion parameters). [bn parameters]"""
MAX_TOKENS_PER_PARAM = 10_000.0
"""Largest tokens-per-parameter ratio of a training run. [1]"""
MAX_RUN_QUARTERS = 40
"""Longest training run. [quarters]"""

# Finance
MAX_TRADITIONAL_GROWTH_ANNUAL = 10.0
"""Largest growth a year of non-GenAI revenue. [1/year]"""
MAX_SENSITIVITY_POINTS = 100
"""Most values in one sensitivity-grid axis. [values]"""
MAX_EV_EBITDA_MULTIPLE = 200.0
"""Largest EV/EBITDA multiple. [1]"""
MAX_OPEX_RMB_M = 10_000_000.0
"""Largest half-year operating-expense line, book value or quarterly cost input. [RMB m]"""

# Stress command
MAX_STRESS_SAMPLES = 10_000_000
"""Most Monte Carlo draws of one stress run. [draws]"""
SEED_LIMIT = 2**63
"""Seeds lie in [0, SEED_LIMIT). [1]"""
MAX_STRESS_WORKERS = 256
"""Most worker processes of one stress run. [processes]"""
STRESS_MEMORY_BUDGET_BYTES = 4 * 2**30
"""Largest estimated client memory of one stress run (4 GiB). [bytes]"""


_QUARTER_RE = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_ALT_QUARTER_RE = re.compile(r"^([1-4])Q(\d{2})$", re.IGNORECASE)


def parse_quarter(text: str) -> str:
    """Normalise a quarter label to ``YYYYQn``.

    Accepts ``2023Q3``, ``2023-Q3`` and the note's ``3Q23`` style.

    Parameters
    ----------
    text
        The label.

    Returns
    -------
    str
        ``"2023Q3"``-style label.

    Raises
    ------
    ValueError
        When the label is not a quarter.
    """
    if isinstance(text, pd.Period):
        return str(text.asfreq("Q"))
    if not isinstance(text, str):
        raise ValueError(f"expected a quarter like '2023Q3', got {text!r}")
    s = text.strip()
    m = _QUARTER_RE.match(s)
    if m:
        return f"{m.group(1)}Q{m.group(2)}"
    m = _ALT_QUARTER_RE.match(s)
    if m:
        return f"20{m.group(2)}Q{m.group(1)}"
    raise ValueError(f"expected a quarter like '2023Q3', got {text!r}")


def _quarter_in_range(label: str) -> str:
    """Refuse a (normalised) quarter outside [FIRST_QUARTER, LAST_QUARTER]."""
    if not FIRST_QUARTER <= label <= LAST_QUARTER:  # "YYYYQn" sorts as text
        raise ValueError(f"quarter {label} is outside {FIRST_QUARTER} to {LAST_QUARTER}")
    return label


def _date_in_range(value: dt.date) -> dt.date:
    """Refuse a date outside [FIRST_DATE, LAST_DATE]."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"date {value} is outside {FIRST_DATE} to {LAST_DATE}")
    return value


Quarter = Annotated[str, AfterValidator(parse_quarter), AfterValidator(_quarter_in_range)]
"""A quarter label, normalised to ``YYYYQn``, from FIRST_QUARTER to LAST_QUARTER."""

def _not_a_number(value: object) -> object:
    """Refuse a number or bool where a date belongs (pydantic would read 0 as 1970-01-01)."""
    if isinstance(value, bool | int | float):
        raise ValueError(f"expected a date like 2024-01-01, got {value!r}")
    return value


Date = Annotated[dt.date, BeforeValidator(_not_a_number), AfterValidator(_date_in_range)]
"""A calendar date from FIRST_DATE to LAST_DATE (a TOML date, or text like ``"2024-01-01"``)."""

Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
"""A calendar year, FIRST_YEAR to LAST_YEAR (lax: used for table keys, which TOML writes as
text)."""

Real = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite number: an int is accepted, a bool or text is not."""
Whole = Annotated[int, Field(strict=True)]
"""A whole number: a bool, a float or text is not accepted."""
Fraction = Annotated[Real, Field(ge=0.0, le=1.0)]
"""A share in [0, 1]. [1]"""
PositiveShare = Annotated[Real, Field(gt=0.0, le=1.0)]
"""A share in (0, 1]. [1]"""
NonNegative = Annotated[Real, Field(ge=0.0)]
"""A finite number >= 0 (give an upper bound with it)."""
Positive = Annotated[Real, Field(gt=0.0)]
"""A finite number > 0 (give an upper bound with it)."""
Units = Annotated[NonNegative, Field(le=MAX_UNITS)]
"""A number of accelerators. [units]"""
UnitsPerQuarter = Annotated[NonNegative, Field(le=MAX_UNITS_PER_QUARTER)]
"""A supply or licence cap. [units/quarter]"""
Eflops = Annotated[NonNegative, Field(le=MAX_EFLOPS)]
"""An amount of compute. [EFLOPS]"""
Efficiency = Annotated[Real, Field(gt=0.0, le=MAX_EFFICIENCY)]
"""Effective-to-peak factor. [1]"""
LifeQuarters = Annotated[Whole, Field(ge=1, le=MAX_LIFE_QUARTERS)]
"""Service life. [quarters]"""
LeadQuarters = Annotated[Whole, Field(ge=0, le=MAX_LEAD_TIME_QUARTERS)]
"""Order-to-delivery lead time. [quarters]"""
PriceUsd = Annotated[Positive, Field(le=MAX_CHIP_PRICE_USD)]
"""Price of one accelerator. [USD/unit]"""

Figure = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
"""A positive, finite catalog figure. Lax on purpose: the catalog CSV is read as text, so
``"312"`` must convert; a bool cannot arrive from a CSV cell."""


def to_period(label: str | pd.Period) -> pd.Period:
    """Turn a quarter label (or Period) into a quarterly :class:`pandas.Period`.

    Raises
    ------
    InputError
        When the label is not a quarter.
    """
    if isinstance(label, pd.Period):
        return label.asfreq("Q")
    try:
        return pd.Period(parse_quarter(label), freq="Q")
    except ValueError as exc:
        raise InputError("quarter", str(exc)) from None


def quarter_arg(label: str | pd.Period, field: str) -> pd.Period:
    """A quarter given on the command line (``--at``, ``--start``, ``--end``), range-checked.

    Parameters
    ----------
    label
        Quarter label (or Period).
    field
        Option to name in an error (``"--at"``).

    Returns
    -------
    pandas.Period
        Quarterly Period within FIRST_QUARTER to LAST_QUARTER.

    Raises
    ------
    InputError
        ``field: problem`` for a label that is not a quarter or is out of range.
    """
    try:
        return pd.Period(_quarter_in_range(parse_quarter(label)), freq="Q")
    except ValueError as exc:
        raise InputError(field, str(exc)) from None


def quarter_range(start: str | pd.Period, end: str | pd.Period) -> pd.PeriodIndex:
    """Quarters from ``start`` to ``end`` inclusive, as a ``PeriodIndex`` named ``period``."""
    return pd.period_range(to_period(start), to_period(end), freq="Q", name="period")


class StrictModel(BaseModel):
    """Base of every input model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------------------------
# Chip catalog row
# --------------------------------------------------------------------------------------------


class ChipSpec(StrictModel):
    """One accelerator of the catalog (``data/chips.csv``). Unknown figures are ``None``."""

    chip: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    """Short id used everywhere (``H20``)."""
    name: str
    vendor: str
    country: Annotated[str, Field(min_length=2, max_length=2)]
    """ISO country of the designer (``US``, ``CN``)."""
    datacenter: bool
    """Designed or marketed for data centres (the 2023 density tests apply only to these)."""
    fp16_tflops: Annotated[Figure, Field(le=MAX_CHIP_TFLOPS)] | None = None
    """Dense FP16/BF16 rate. [TFLOPS]"""
    int8_tops: Annotated[Figure, Field(le=MAX_CHIP_TFLOPS)] | None = None
    """Dense INT8 rate. [TOPS]"""
    fp8_tflops: Annotated[Figure, Field(le=MAX_CHIP_TFLOPS)] | None = None
    """Dense FP8 rate. [TFLOPS]"""
    memory_gb: Annotated[Figure, Field(le=MAX_MEMORY_GB)] | None = None
    """On-package memory. [GB]"""
    memory_bw_tbs: Annotated[Figure, Field(le=MAX_MEMORY_BW_TBS)] | None = None
    """Memory bandwidth. [TB/s]"""
    interconnect_gbs: Annotated[Figure, Field(le=MAX_INTERCONNECT_GBS)] | None = None
    """Bidirectional chip-to-chip bandwidth. [GB/s]"""
    tdp_w: Annotated[Figure, Field(le=MAX_TDP_W)] | None = None
    """Thermal design power. [W]"""
    die_mm2: Annotated[Figure, Field(le=MAX_DIE_MM2)] | None = None
    """Applicable die area. [mm^2]"""
    launch: Quarter
    """First quarter the chip could be bought."""
    price_usd: Annotated[Figure, Field(le=MAX_CHIP_PRICE_USD)] | None = None
    """Reported price. [USD/unit]"""
    price_rmb: Annotated[Figure, Field(le=MAX_CHIP_PRICE_RMB)] | None = None
    """Reported price where quoted in RMB. [RMB/unit]"""
    tpp_published: Annotated[Figure, Field(le=MAX_TPP)] | None = None
    """TPP as published (Epoch), used where dense rates are unknown. [1]"""
    source: Annotated[str, Field(min_length=3)]
    notes: str = ""


# --------------------------------------------------------------------------------------------
# Horizon and fleet
# --------------------------------------------------------------------------------------------


class Horizon(StrictModel):
    """Planning window."""

    base_period: Quarter
    """Last quarter with disclosed actuals; the initial fleet is the fleet at its end (the
    subject's data; no default)."""
    end: Quarter
    """Last planned quarter (inclusive; the subject's data, no default)."""

    @model_validator(mode="after")
    def _order(self) -> Horizon:
        if to_period(self.end) <= to_period(self.base_period):
            raise ValueError(f"end {self.end} must be after base_period {self.base_period}")
        return self

    @property
    def base(self) -> pd.Period:
        """``base_period`` as a quarterly Period."""
        return to_period(self.base_period)

    @property
    def periods(self) -> pd.PeriodIndex:
        """Planned quarters: the quarter after ``base_period`` through ``end``."""
        return quarter_range(self.base + 1, self.end)

    def kpi_quarters(self) -> tuple[str, ...]:
        """Quarter ends at which compare and stress read fleet and compute KPIs.

        The fourth quarters of the first three calendar years the plan reaches (from the quarter
        after ``base_period``), up to ``end``: base 2023Q2 -> 2023Q4, 2024Q4, 2025Q4.
        """
        first = self.base + 1
        last = to_period(self.end)
        ends = [pd.Period(f"{first.year + i}Q4", freq="Q") for i in range(3)]
        return tuple(str(q) for q in ends if q <= last)

    def kpi_years(self) -> tuple[int, ...]:
        """Calendar years whose revenue compare and stress report: the years of
        :meth:`kpi_quarters` after the first (that one is partly actuals), or the only one:
        base 2023Q2 -> 2024, 2025."""
        years = tuple(int(q[:4]) for q in self.kpi_quarters())
        return years[1:] if len(years) > 1 else years


class FleetEntry(StrictModel):
    """Units of one chip installed in one quarter."""

    chip: str
    units: Units
    """Installed units. [units]"""
    installed: Quarter
    """Quarter the units went into service (drives retirement)."""


class PipelineOrder(StrictModel):
    """An order already placed at the base period, delivered in a known quarter."""

    chip: str
    delivery: Quarter
    units: Units | None = None
    """Units ordered. [units] Give this or ``peak_eflops``."""
    peak_eflops: Eflops | None = None
    """Order size as dense FP16 peak compute. [EFLOPS] Converted to units with the chip's rate."""

    @model_validator(mode="after")
    def _one_size(self) -> PipelineOrder:
        if (self.units is None) == (self.peak_eflops is None):
            raise ValueError("give exactly one of units or peak_eflops")
        return self


class FleetInputs(StrictModel):
    """Installed base, placed orders, retirement and derating."""

    initial: Literal["calibrated"] | list[FleetEntry] = "calibrated"
    """Fleet at the end of ``horizon.base_period``: ``"calibrated"`` takes the central mix from
    :mod:`capacity.calibrate`, or give entries explicitly."""
    initial_installed: dict[str, Quarter] = Field(default_factory=dict)
    """For the calibrated fleet: quarter each chip's units went into service, per chip."""
    default_installed: Quarter | None = None
    """For the calibrated fleet: in-service quarter of chips missing from ``initial_installed``
    (the subject's data; no default, an error when a calibrated chip needs it)."""
    pipeline: list[PipelineOrder] = Field(default_factory=list)
    """Orders placed by the base period (the note's '+4 EFLOPS on placed orders')."""
    life_quarters: dict[str, LifeQuarters] = Field(default_factory=dict)
    """Service life per chip. [quarters]"""
    default_life_quarters: LifeQuarters = 20
    """Service life for chips not in ``life_quarters``. [quarters]"""
    efficiency: dict[str, Efficiency] = Field(default_factory=dict)
    """Effective-to-peak factor per chip, relative to an NVIDIA data-centre part (1.0). [1]"""
    default_efficiency: Efficiency = 1.0
    """Factor for chips not in ``efficiency``. [1]"""

    def life_of(self, chip: str) -> int:
        """Service life of ``chip``. [quarters]"""
        return self.life_quarters.get(chip, self.default_life_quarters)

    def efficiency_of(self, chip: str) -> float:
        """Effective-to-peak factor of ``chip``. [1]"""
        return self.efficiency.get(chip, self.default_efficiency)


class CalibrationInputs(StrictModel):
    """How disclosed totals are turned into a chip mix."""

    prior_share: dict[str, Fraction] = Field(default_factory=dict)
    """Prior share of units per chip (normalised over the chips that exist at each date). [1]"""
    tolerance: Annotated[Real, Field(ge=0.0, lt=0.5)] = 0.005
    """Relative band around each disclosed total that a mix may fall in (rounding). [1]"""
    candidates: list[str] | None = None
    """Chips allowed in the mix; ``None`` means every chip launched by the date."""
    monotone: bool = True
    """Units of a chip never fall between disclosure dates (no retirements in the window)."""
    delivery_lag_quarters: Annotated[int, Field(ge=0, le=8)] = 0
    """Quarters after the last quarter a chip could be bought in which units ordered then may
    still arrive (a path quarter adds units of a chip only if it was purchasable in this many
    quarters before). [quarters]"""


# --------------------------------------------------------------------------------------------
# Export controls (owned by capacity.controls)
# --------------------------------------------------------------------------------------------


class RuleBand(StrictModel):
    """One test of a rule: every condition given must hold for the band to catch a chip.

    Thresholds compare the catalog's figures: ``tpp`` and ``pd`` (performance density) from
    :mod:`capacity.chips`, ``memory_bw_tbs``, ``interconnect_gbs``. ``*_min`` means value >= min,
    ``*_max`` means value < max. An unknown figure cannot clear a test: the condition counts as
    met (conservative) and the chip's note says so. A band with no condition at all catches every
    chip the rule covers (allowed only in ``kind = "embargo"`` rules).
    """

    status: Literal["allowed", "notify", "licence", "banned"]
    """Status of a chip this band catches."""
    label: str = ""
    """Short text for the chip's note (``"3A090.a: TPP >= 4800"``)."""
    chips: list[str] | None = None
    """Named chips (catalog ids); ``None`` = any chip the rule covers."""
    datacenter_only: bool = False
    """Only chips designed or marketed for data centres (catalog ``datacenter``)."""
    tpp_min: Annotated[NonNegative, Field(le=MAX_TPP)] | None = None
    """TPP >= this. [1]"""
    tpp_max: Annotated[NonNegative, Field(le=MAX_TPP)] | None = None
    """TPP < this. [1]"""
    pd_min: Annotated[NonNegative, Field(le=MAX_PERFORMANCE_DENSITY)] | None = None
    """Performance density >= this. [TPP/mm^2]"""
    pd_max: Annotated[NonNegative, Field(le=MAX_PERFORMANCE_DENSITY)] | None = None
    """Performance density < this. [TPP/mm^2]"""
    memory_bw_tbs_min: Annotated[NonNegative, Field(le=MAX_MEMORY_BW_TBS)] | None = None
    """Memory bandwidth >= this. [TB/s]"""
    memory_bw_tbs_max: Annotated[NonNegative, Field(le=MAX_MEMORY_BW_TBS)] | None = None
    """Memory bandwidth < this. [TB/s]"""
    interconnect_gbs_min: Annotated[NonNegative, Field(le=MAX_INTERCONNECT_GBS)] | None = None
    """Bidirectional chip-to-chip bandwidth >= this. [GB/s]"""
    interconnect_gbs_max: Annotated[NonNegative, Field(le=MAX_INTERCONNECT_GBS)] | None = None
    """Bidirectional chip-to-chip bandwidth < this. [GB/s]"""

    @model_validator(mode="after")
    def _bounds(self) -> RuleBand:
        for name in ("tpp", "pd", "memory_bw_tbs", "interconnect_gbs"):
            lo, hi = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if lo is not None and hi is not None and not lo < hi:
                raise ValueError(f"{name}_min ({lo}) must be below {name}_max ({hi})")
        if self.chips is not None and not self.chips:
            raise ValueError("chips, when given, must name at least one chip")
        return self

    def conditions(self) -> dict[str, float]:
        """The numeric thresholds given, ``{"tpp_min": 4800.0, ...}``."""
        names = ("tpp", "pd", "memory_bw_tbs", "interconnect_gbs")
        out = {}
        for name in names:
            for side in ("min", "max"):
                v = getattr(self, f"{name}_{side}")
                if v is not None:
                    out[f"{name}_{side}"] = float(v)
        return out

    def is_catch_all(self) -> bool:
        """True when the band has no condition (catches every covered chip)."""
        return self.chips is None and not self.datacenter_only and not self.conditions()


class ExportRule(StrictModel):
    """One dated export-control rule (``[[rule]]`` in ``data/export_controls.toml``).

    Status rules (every kind but ``supply``) test each covered chip with their ``band`` list; the
    latest such rule in force that catches a chip decides its status (see :mod:`capacity.controls`).
    Supply rules scale the base supply of the chips they name.
    """

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    """Stable id, lower-case words joined by ``-`` (``oct-2023``)."""
    title: Annotated[str, Field(min_length=3)]
    kind: Literal["spec", "named", "licence", "embargo", "supply", "entity", "remote"]
    """``spec``: performance tests; ``named``: listed chips or chips like them; ``licence``:
    licences granted (with a fee or a volume cap); ``embargo``: every covered chip;
    ``supply``: a factor on the supply of named chips; ``entity``: an Entity List-style licence
    requirement on every covered item for the named ``entities`` (applies when one of them is a
    purchasing entity of the subject); ``remote``: a limit on renting covered chips remotely
    (``rental_cap_share``)."""
    announced: Date
    """Date the rule was published or made known."""
    effective: Date
    """Date it took effect (for every chip, or for chips not made for data centres when
    ``effective_datacenter`` is given)."""
    effective_datacenter: Date | None = None
    """Earlier effective date for chips designed or marketed for data centres."""
    until: Date | None = None
    """Date the rule ceased to apply (rescinded or replaced); ``None`` = open-ended."""
    superseded_by: str | None = None
    """Id of a later rule that replaces this one: once that rule is in force for a chip (and is in
    the scenario), this one no longer applies to it."""
    origin: list[Annotated[str, Field(min_length=2, max_length=2)]] = Field(
        default_factory=lambda: ["US"])
    """Countries whose chips the status tests cover (US rules reach US-origin chips)."""
    band: list[RuleBand] = Field(default_factory=list)
    """Tests; a chip caught by several bands gets the most severe status."""
    fee_revenue_share: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.0
    """Share of the seller's revenue paid as a licence fee; passed through in full, the buyer pays
    price / (1 - share). [1]"""
    cap_units_per_quarter: UnitsPerQuarter | None = None
    """Licensed volume a quarter for the company, where the licence caps it. [units/quarter]"""
    supply_chips: list[str] = Field(default_factory=list)
    """``kind = "supply"``: chips whose base supply the rule scales."""
    supply_factor: Annotated[NonNegative, Field(le=MAX_SUPPLY_FACTOR)] | None = None
    """``kind = "supply"``: multiplier on the base supply of ``supply_chips``. [1]"""
    entities: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    """``kind = "entity"``: names of the listed entities as the list gives them (matched to the
    subject's ``subject.entities`` names and aliases, ignoring case and spacing)."""
    licence_policy: Literal["presumption of denial", "case-by-case"] | None = None
    """``kind = "entity"``: licence review policy for the covered items: ``presumption of
    denial`` makes them ``banned`` for a listed purchaser, ``case-by-case`` makes them
    ``licence`` (capped by ``cap_units_per_quarter`` when given)."""
    rental_cap_share: Fraction | None = None
    """``kind = "remote"``: most capacity of covered chips the subject may rent remotely, as a
    share of its own effective capacity (0 closes the cloud route). [1]"""
    hypothetical: bool = False
    """True for counterfactual rules (scenarios), False for rules as enacted."""
    source: Annotated[str, Field(min_length=3)]
    """Where the rule and its dates come from."""
    note: str = ""
    """Text added to the note of each chip the rule decides."""

    @model_validator(mode="after")
    def _consistent(self) -> ExportRule:
        for name in ("effective", "effective_datacenter"):
            d = getattr(self, name)
            if d is not None and d < self.announced:
                raise ValueError(f"{name} {d} is before announced {self.announced}")
        first = min(d for d in (self.effective, self.effective_datacenter) if d is not None)
        if self.until is not None and self.until <= first:
            raise ValueError(f"until {self.until} must be after the effective date {first}")
        if self.superseded_by == self.id:
            raise ValueError("a rule cannot supersede itself")
        if self.kind != "entity" and (self.entities or self.licence_policy is not None):
            raise ValueError("entities and licence_policy belong to kind = 'entity' rules")
        if self.kind != "remote" and self.rental_cap_share is not None:
            raise ValueError("rental_cap_share belongs to kind = 'remote' rules")
        if self.kind in ("entity", "remote"):
            if self.band:
                raise ValueError(f"a {self.kind} rule has no band (it covers every item of "
                                 "its origin)")
            if self.supply_factor is not None or self.supply_chips:
                raise ValueError("supply_factor and supply_chips belong to kind = 'supply' rules")
            if self.kind == "entity" and (not self.entities or self.licence_policy is None):
                raise ValueError("an entity rule needs entities and licence_policy")
            if self.kind == "remote" and self.rental_cap_share is None:
                raise ValueError("a remote rule needs rental_cap_share")
            licensed = self.fee_revenue_share > 0 or self.cap_units_per_quarter is not None
            if licensed and self.licence_policy != "case-by-case":
                raise ValueError("fee_revenue_share and cap_units_per_quarter need a licence "
                                 "(an entity rule with licence_policy = 'case-by-case')")
            return self
        if self.kind == "supply":
            if self.band:
                raise ValueError("a supply rule has no band (it scales supply, it tests nothing)")
            if self.supply_factor is None or not self.supply_chips:
                raise ValueError("a supply rule needs supply_factor and supply_chips")
        else:
            if not self.band:
                raise ValueError(f"a {self.kind} rule needs at least one [[rule.band]]")
            if self.supply_factor is not None or self.supply_chips:
                raise ValueError("supply_factor and supply_chips belong to kind = 'supply' rules")
            for i, b in enumerate(self.band):
                if b.is_catch_all() and self.kind != "embargo":
                    raise ValueError(f"band[{i}] has no condition: only an embargo rule may "
                                     "catch every chip")
        if (self.fee_revenue_share > 0 or self.cap_units_per_quarter is not None) and not any(
                b.status == "licence" for b in self.band):
            raise ValueError("fee_revenue_share and cap_units_per_quarter need a licence band")
        return self

    def effective_for(self, datacenter: bool) -> dt.date:
        """Effective date for a chip made for data centres (``True``) or not."""
        if datacenter and self.effective_datacenter is not None:
            return self.effective_datacenter
        return self.effective

    def chip_names(self) -> list[tuple[str, str]]:
        """Every chip the rule names, as ``(field, chip)`` pairs, for name checks."""
        out = [(f"supply_chips[{i}]", c) for i, c in enumerate(self.supply_chips)]
        for i, b in enumerate(self.band):
            out += [(f"band[{i}].chips[{j}]", c) for j, c in enumerate(b.chips or [])]
        return out


def supersession_cycle(rules: Mapping[str, ExportRule]) -> list[str] | None:
    """A cycle of ``superseded_by`` links among ``rules``, or ``None`` when there is none.

    Each rule names at most one rule that supersedes it, so following the links from any rule
    either leaves ``rules`` (an id not in it is not followed), stops at a rule superseded by
    nothing, or comes back to a rule already on the path: a cycle, in which every rule would
    switch off the next and none would ever apply.

    Parameters
    ----------
    rules
        Rules by id.

    Returns
    -------
    list of str or None
        The ids on the cycle in link order, the first repeated at the end
        (``["a", "b", "a"]``), for the first cycle found in ``rules`` order.
    """
    done: set[str] = set()
    for start in rules:
        path: list[str] = []
        on_path: set[str] = set()
        rid: str | None = start
        while rid is not None and rid in rules and rid not in done:
            if rid in on_path:
                return [*path[path.index(rid):], rid]
            path.append(rid)
            on_path.add(rid)
            rid = rules[rid].superseded_by
        done.update(path)
    return None


class RuleLibrary(StrictModel):
    """The rule library file: ``[[rule]]`` tables."""

    description: str = ""
    rule: list[ExportRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> RuleLibrary:
        seen: set[str] = set()
        for r in self.rule:
            if r.id in seen:
                raise ValueError(f"duplicate rule id {r.id!r}")
            seen.add(r.id)
        cycle = supersession_cycle({r.id: r for r in self.rule})
        if cycle:
            raise ValueError(f"superseded_by links form a cycle: {' -> '.join(cycle)}")
        return self


class ControlsInputs(StrictModel):
    """Export-control regime of a scenario: a timeline of rules (``data/export_controls.toml``)."""

    rules: list[str] = Field(default_factory=list)
    """Ids of the rules in force in this scenario (each rule carries its own dates). Order breaks
    ties between rules with the same effective date (later in the list wins)."""
    extra_rules: list[ExportRule] = Field(default_factory=list)
    """Rules defined by the scenario itself (counterfactuals), added to the library; their ids
    must not clash with the library's and must still be listed in ``rules`` to apply."""
    base_supply_units_per_quarter: dict[str, UnitsPerQuarter] = Field(default_factory=dict)
    """Units of each chip the company can obtain a quarter before any rule. [units/quarter]
    Chips not listed are uncapped."""


# --------------------------------------------------------------------------------------------
# The subject (owned by capacity.controls for entity rules)
# --------------------------------------------------------------------------------------------


def entity_key(name: str) -> str:
    """Name as compared with list entries: lower case, runs of spaces as one, no trailing
    period (``"Beijing  SenseTime Co., Ltd."`` -> ``"beijing sensetime co., ltd"``)."""
    return " ".join(str(name).lower().split()).rstrip(".")


class SubjectEntity(StrictModel):
    """One legal entity of the subject (a group company, a subsidiary)."""

    name: Annotated[str, Field(min_length=2)]
    """Legal name."""
    aliases: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    """Other names it is known or listed by."""
    purchases: bool = False
    """It buys (imports) the accelerators of the planned fleet; entity rules apply to the
    subject's purchases only through such entities."""

    def name_keys(self) -> set[str]:
        """Its name and aliases, normalised by :func:`entity_key`."""
        return {entity_key(n) for n in [self.name, *self.aliases]}


class SubjectInputs(StrictModel):
    """Who the subject is, as data: its display name and legal entities."""

    name: str = ""
    """Display name of the subject (``"SenseTime (0020 HK)"``)."""
    entities: list[SubjectEntity] = Field(default_factory=list)
    """Its legal entities; export-control entity rules match their names and aliases."""

    def purchaser_keys(self) -> dict[str, str]:
        """Normalised name or alias -> legal name, over the purchasing entities."""
        return {k: e.name for e in self.entities if e.purchases for k in e.name_keys()}


# --------------------------------------------------------------------------------------------
# Demand (owned by capacity.demand)
# --------------------------------------------------------------------------------------------


def _number_or_word(value: object, word: str, what: str, allow_zero: bool,
                    hi: float) -> object:
    """Accept ``word`` (a keyword such as ``"stock"``) or a finite number in (0, hi] ([0, hi]
    with ``allow_zero``)."""
    if isinstance(value, str):
        if value.strip().lower() == word:
            return word
        raise ValueError(f"{what} must be a number or {word!r}, got {value!r}")
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number or {word!r}, got a bool "
                         f"({str(value).lower()})")
    if not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number or {word!r}, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    if allow_zero and number < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    if not allow_zero and not number > 0:
        raise ValueError(f"{what} must be positive, got {value}")
    if number > hi:
        raise ValueError(f"{what} must be at most {hi:g}, got {value}")
    return number


def _positive_or_word(value: object, word: str, what: str, hi: float) -> object:
    """Accept ``word`` or a finite number in (0, hi]."""
    return _number_or_word(value, word, what, allow_zero=False, hi=hi)


def _nonnegative_or_word(value: object, word: str, what: str, hi: float) -> object:
    """Accept ``word`` or a finite number in [0, hi]."""
    return _number_or_word(value, word, what, allow_zero=True, hi=hi)


GrowthRate = Annotated[Real, Field(gt=-1.0, le=MAX_GROWTH_ANNUAL)]
"""A growth rate per year: -0.5 halves, 1.0 doubles. [1/year]"""


class TokenInputs(StrictModel):
    """High-quality training-token pipeline (production, growth, stock)."""

    per_month_tn: float | str = "disclosed"
    """High-quality tokens produced a month at the base period, or ``"disclosed"`` to take
    ``tokens_per_month_tn`` from the disclosures. [tn tokens/month]"""
    growth_annual: GrowthRate = 0.0
    """Growth of monthly production per year, compounded quarterly. [1/year]"""
    quality_yield: Fraction = 1.0
    """Share of produced tokens that enter the training stock. [1]"""
    initial_stock_tn: Annotated[NonNegative, Field(le=MAX_TOKENS_TN)] = 0.0
    """Token stock at the end of the base period. [tn tokens]"""
    target_tn: float | str = "disclosed"
    """Stock target, or ``"disclosed"`` for ``token_stock_target_tn``. [tn tokens]"""

    @field_validator("per_month_tn", mode="before")
    @classmethod
    def _per_month(cls, v: object) -> object:
        return _nonnegative_or_word(v, "disclosed", "tokens a month", MAX_TOKENS_TN)

    @field_validator("target_tn", mode="before")
    @classmethod
    def _target(cls, v: object) -> object:
        return _positive_or_word(v, "disclosed", "token target", MAX_TOKENS_TN)


class TrainingRun(StrictModel):
    """One training run: 6·N·D FLOP spread evenly over its quarters at a model FLOPs utilisation."""

    name: Annotated[str, Field(min_length=1)]
    params_bn: Annotated[Positive, Field(le=MAX_PARAMS_BN)]
    """Parameters N (active parameters for a mixture-of-experts model). [bn]"""
    tokens_tn: float | str | None = None
    """Training tokens D, or ``"stock"`` for the token stock at the run's start. [tn tokens]
    Give this or ``tokens_per_param``."""
    tokens_per_param: Annotated[Positive, Field(le=MAX_TOKENS_PER_PARAM)] | None = None
    """Tokens per parameter (about 20 is compute-optimal, Chinchilla). [1]"""
    start: Quarter
    """First quarter of the run."""
    end: Quarter | None = None
    """Last quarter of the run (inclusive). Give this or ``duration_quarters``."""
    duration_quarters: Annotated[Whole, Field(ge=1, le=MAX_RUN_QUARTERS)] | None = None
    """Quarters the run lasts. [quarters]"""
    mfu: PositiveShare
    """Model FLOPs utilisation: achieved FLOP/s over effective peak FLOP/s. [1]"""

    @field_validator("tokens_tn", mode="before")
    @classmethod
    def _tokens(cls, v: object) -> object:
        return None if v is None else _positive_or_word(v, "stock", "tokens_tn",
                                                         MAX_TOKENS_TN)

    @model_validator(mode="after")
    def _shape(self) -> TrainingRun:
        if (self.tokens_tn is None) == (self.tokens_per_param is None):
            raise ValueError(f"run {self.name!r}: give exactly one of tokens_tn or "
                             "tokens_per_param")
        if (self.end is None) == (self.duration_quarters is None):
            raise ValueError(f"run {self.name!r}: give exactly one of end or duration_quarters")
        if self.end is not None and to_period(self.end) < to_period(self.start):
            raise ValueError(f"run {self.name!r} ends ({self.end}) before it starts "
                             f"({self.start})")
        if self.end is not None and (to_period(self.end) - to_period(self.start)).n \
                >= MAX_RUN_QUARTERS:
            raise ValueError(f"run {self.name!r} lasts more than {MAX_RUN_QUARTERS} quarters "
                             f"({self.start} to {self.end})")
        return self

    @property
    def start_period(self) -> pd.Period:
        """First quarter of the run."""
        return to_period(self.start)

    @property
    def end_period(self) -> pd.Period:
        """Last quarter of the run (inclusive)."""
        if self.end is not None:
            return to_period(self.end)
        return self.start_period + (int(self.duration_quarters or 1) - 1)

    @property
    def quarters(self) -> int:
        """Number of quarters the run spans. [quarters]"""
        return (self.end_period - self.start_period).n + 1


class InferenceInputs(StrictModel):
    """How GenAI revenue is turned into inference compute."""

    method: Literal["yield", "tokens"] = "yield"
    """``yield``: revenue per effective EFLOPS-quarter calibrated on 1H23; ``tokens``: revenue ->
    tokens served (price) -> FLOP (2·N a token) -> EFLOPS (serving utilisation)."""
    calibration_fleet_share: PositiveShare = 0.5
    """Share of the fleet's effective EFLOPS that earned the GenAI revenue of the calibration
    half-year (1H23). [1]"""
    yield_change_annual: GrowthRate = 0.0
    """Change per year of revenue per effective EFLOPS-quarter (price cuts < 0, serving
    efficiency gains > 0). [1/year]"""
    price_rmb_per_m_tokens: Annotated[Positive, Field(le=MAX_TOKEN_PRICE_RMB_PER_M)] = 20.0
    """Realised price of one million tokens at the base period. [RMB/m tokens]"""
    price_change_annual: GrowthRate = 0.0
    """Change of the token price per year. [1/year]"""
    served_params_bn: Annotated[Positive, Field(le=MAX_PARAMS_BN)] = 100.0
    """Parameters of the served model (2·N FLOP a token). [bn]"""
    serving_utilisation: PositiveShare = 0.15
    """Achieved FLOP/s of serving over effective peak FLOP/s. [1]"""


class RevenueInputs(StrictModel):
    """Demand-side GenAI revenue path."""

    base_half_year_rmb_m: float | str = "disclosed"
    """GenAI revenue of the calibration half-year, or ``"disclosed"`` for ``genai_share`` x
    ``revenue_rmb_m`` at the base period. [RMB m]"""
    growth_by_year: dict[Year, GrowthRate] = Field(default_factory=dict)
    """Year-on-year growth of the quarterly run rate, per calendar year; a year not listed takes
    the latest listed year before it (0 if none). [1/year]"""

    @field_validator("base_half_year_rmb_m", mode="before")
    @classmethod
    def _base(cls, v: object) -> object:
        return _nonnegative_or_word(v, "disclosed", "base GenAI revenue", MAX_REVENUE_RMB_M)

    def growth_in(self, year: int) -> float:
        """Growth rate that applies in ``year``. [1/year]"""
        earlier = [y for y in self.growth_by_year if y <= year]
        return self.growth_by_year[max(earlier)] if earlier else 0.0


class LeasingInputs(StrictModel):
    """AIDC capacity leased to outside customers."""

    share_of_fleet: Fraction = 0.0
    """Share of the existing fleet's effective EFLOPS leased out, each quarter. [1]"""
    fixed_eflops: dict[Quarter, Eflops] = Field(default_factory=dict)
    """Fixed leased amount from the given quarter on (a step function). [effective EFLOPS]"""


class DemandInputs(StrictModel):
    """Compute demand: tokens, training runs, inference from revenue, leasing."""

    tokens: TokenInputs = Field(default_factory=TokenInputs)
    runs: list[TrainingRun] = Field(default_factory=list)
    """Training runs, met only by chips fit for large-cluster training."""
    inference: InferenceInputs = Field(default_factory=InferenceInputs)
    revenue: RevenueInputs = Field(default_factory=RevenueInputs)
    leasing: LeasingInputs = Field(default_factory=LeasingInputs)

    @model_validator(mode="after")
    def _unique_runs(self) -> DemandInputs:
        seen: set[str] = set()
        for run in self.runs:
            if run.name in seen:
                raise ValueError(f"duplicate run name {run.name!r}")
            seen.add(run.name)
        return self


# --------------------------------------------------------------------------------------------
# Planner
# --------------------------------------------------------------------------------------------


class ServingInputs(StrictModel):
    """Reference model and request mix the serving roofline is computed for
    (:func:`capacity.chips.roofline_tokens_per_s`). The model size is
    ``demand.inference.served_params_bn``."""

    active_share: PositiveShare = 1.0
    """Share of the parameters active per token (1 for a dense model). [1]"""
    kv_values_per_token_k: Annotated[Positive, Field(le=MAX_KV_VALUES_PER_TOKEN_K)] = 163.84
    """KV-cache values stored per token of context: 2 x layers x KV heads x head dim. [k]"""
    input_tokens: Annotated[Positive, Field(le=MAX_REQUEST_TOKENS)] = 300.0
    """Input (prompt) tokens per request. [tokens]"""
    output_tokens: Annotated[Positive, Field(le=MAX_REQUEST_TOKENS)] = 290.0
    """Output tokens per request. [tokens]"""
    max_batch: Annotated[Positive, Field(le=MAX_SERVING_BATCH)] = 128.0
    """Most requests one serving instance decodes together. [requests]"""
    memory_usable_share: PositiveShare = 0.9
    """Share of memory available to weights and KV cache. [1]"""
    achieved_share: PositiveShare = 0.70
    """Achieved throughput / roofline (kernels, attention, communication). [1]"""
    time_utilisation: PositiveShare = 0.8
    """Share of the quarter a serving chip is busy (diurnal load). [1]"""


class PlannerInputs(StrictModel):
    """Purchase LP inputs: prices, lead times, budget, power and costs."""

    usd_rmb: Annotated[Real, Field(ge=MIN_USD_RMB, le=MAX_USD_RMB)] = 7.2
    """Exchange rate. [RMB/USD]"""
    price_usd: dict[str, PriceUsd] = Field(default_factory=dict)
    """Price per unit where the catalog has none, or to override it. [USD/unit]"""
    lead_time_quarters: dict[str, LeadQuarters] = Field(default_factory=dict)
    """Quarters between order (payment) and delivery, per chip. [quarters]"""
    default_lead_time_quarters: LeadQuarters = 2
    """Lead time for chips not in ``lead_time_quarters``. [quarters]"""
    capex_budget_rmb_m: dict[Year, Annotated[NonNegative, Field(le=MAX_BUDGET_RMB_M)]] = Field(
        default_factory=dict)
    """GPU capex budget per calendar year (paid at order). [RMB m] Years not listed: unlimited."""
    budget_carryover: bool = False
    """Unspent budget of a year may be spent in later years."""
    datacenter_mw: dict[Quarter, Annotated[NonNegative, Field(le=MAX_DATACENTER_MW)]] = Field(
        default_factory=dict)
    """Data-centre power available from the given quarter on (a step function). [MW]"""
    pue: Annotated[Real, Field(ge=MIN_PUE, le=MAX_PUE)] = 1.35
    """Power usage effectiveness. [1]"""
    server_overhead: Annotated[Real, Field(ge=1.0, le=MAX_SERVER_OVERHEAD)] = 1.5
    """Server power per GPU as a multiple of GPU TDP (CPU, memory, network). [1]"""
    electricity_rmb_per_kwh: Annotated[NonNegative, Field(le=MAX_ELECTRICITY_RMB_PER_KWH)] = 0.6
    """Electricity price. [RMB/kWh]"""
    discount_rate_annual: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.10
    """Annual discount rate for the cost objective. [1/year]"""
    system_rmb_per_unit: Annotated[NonNegative, Field(le=MAX_SYSTEM_RMB_PER_UNIT)] = 50_000.0
    """System share per accelerator slot (server chassis, CPUs, memory, NICs, switch board),
    for chips not in ``system_rmb_per_unit_by_chip``. [RMB/unit]"""
    system_rmb_per_unit_by_chip: dict[str, Annotated[NonNegative, Field(
        le=MAX_SYSTEM_RMB_PER_UNIT)]] = Field(default_factory=dict)
    """System share per slot for chips whose servers differ (PCIe hosts, bundled hosts).
    [RMB/unit]"""
    network_share_training: Annotated[NonNegative, Field(le=1.0)] = 0.10
    """Cluster network (switches, cables, optics) as a share of card + system, for chips fit
    for large-cluster training. [1]"""
    network_share_inference: Annotated[NonNegative, Field(le=1.0)] = 0.05
    """The same for inference-only (PCIe) chips. [1]"""
    facility_rmb_m_per_mw: Annotated[NonNegative, Field(le=MAX_FACILITY_RMB_M_PER_MW)] = 40.0
    """Facility fit-out per MW of facility power an installed unit draws. [RMB m/MW]"""
    maintenance_share_annual: Annotated[NonNegative, Field(le=1.0)] = 0.03
    """Maintenance and spares per year as a share of the hardware cost (card + system +
    network). [1/year]"""
    compute_reference_chip: str = "A100"
    """Chip whose GPU-hour the compute rates below are quoted for."""
    training_value_usd_per_gpu_hour: Annotated[Positive, Field(le=MAX_USD_PER_GPU_HOUR)] = 4.10
    """Value of one reference GPU-hour of own training served on time: the on-demand price
    of the same compute (what a delayed run's compute costs at short notice). [USD/GPU-hour]"""
    leasing_usd_per_gpu_hour: Annotated[NonNegative, Field(le=MAX_USD_PER_GPU_HOUR)] = 1.25
    """Price AIDC customers pay per reference GPU-hour leased. [USD/GPU-hour]"""
    rental_usd_per_gpu_hour: Annotated[NonNegative, Field(le=MAX_USD_PER_GPU_HOUR)] = 1.25
    """Price the company pays per reference GPU-hour rented for training. [USD/GPU-hour]"""
    compute_price_change_annual: Annotated[Real, Field(gt=-1.0, le=1.0)] = -0.2
    """Yearly change of the three compute rates above. [1/year]"""
    rental_cap_share: dict[Quarter, Annotated[NonNegative, Field(le=MAX_RENTAL_CAP_SHARE)]] = \
        Field(default_factory=dict)
    """Most rented compute as a share of owned effective compute, from the given quarter on
    (a step function; 0 closes renting; no steps: no renting). [1]"""
    serving: ServingInputs = Field(default_factory=lambda: ServingInputs())
    """Reference model and request mix of the serving roofline."""
    training_min_interconnect_gbs: Annotated[NonNegative, Field(le=MAX_INTERCONNECT_GBS)] = 300.0
    """Chips with less chip-to-chip bandwidth cannot serve large-cluster training. [GB/s]"""
    lot_units: Annotated[Whole, Field(ge=1, le=MAX_LOT_UNITS)] = 8
    """Purchase lot of whole-server plans (GPUs per server; ``--continuous`` plans fractions).
    [units]"""
    exclude_chips: list[str] = Field(default_factory=list)
    """Chips the planner may not buy (e.g. consumer cards)."""


# --------------------------------------------------------------------------------------------
# Finance (owned by capacity.finance)
# --------------------------------------------------------------------------------------------


class FinanceInputs(StrictModel):
    """Revenue, P&L, cash and valuation inputs (see :mod:`capacity.finance`, docs/finance.md).

    The 1H23 anchors (revenue, GenAI share, gross margin, the 40% target, the note's target
    prices) are company disclosures and come from ``disclosures.csv``, not from here.
    """

    ev_sales_multiple: Annotated[Positive, Field(le=MAX_EV_SALES_MULTIPLE)]
    """EV / sales multiple applied to the valuation year's sales (the subject's data, no
    default). [1]"""
    valuation_year: Annotated[Whole, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
    """Calendar year whose sales the multiple is applied to (the subject's data). [year]"""
    net_cash_rmb_m: Annotated[Real, Field(ge=-MAX_ABS_NET_CASH_RMB_M,
                                          le=MAX_ABS_NET_CASH_RMB_M)]
    """Cash and short-term investments minus borrowings (negative = net debt; the subject's
    data). [RMB m]"""
    shares_m: Annotated[Real, Field(ge=MIN_SHARES_M, le=MAX_SHARES_M)]
    """Shares outstanding (the subject's data). [m shares]"""
    rmb_per_hkd: Annotated[Real, Field(ge=MIN_RMB_PER_HKD, le=MAX_RMB_PER_HKD)]
    """Exchange rate (the subject's data). [RMB/HKD]"""
    traditional_growth_annual: Annotated[Real, Field(
        gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = -0.15
    """Growth of non-GenAI (traditional AI + Smart Auto) revenue, de-seasonalised. [1/year]"""
    traditional_h2_share: Annotated[Real, Field(gt=0.0, lt=1.0)] = 0.55
    """Share of a year's non-GenAI revenue booked in the second half (seasonality). [1]"""
    traditional_gross_margin: Fraction = 0.5
    """Gross margin of non-GenAI revenue; the GenAI margin is solved so 1H23 gives the
    disclosed overall margin. [1]"""
    deduct_incremental_compute_cost: bool = False
    """Also deduct the plan's compute depreciation and power above its first quarter's run rate
    from gross profit (a conservative lower bound: the 1H23 margins already scale compute cost
    with revenue)."""
    sensitivity_multiples: Annotated[
        list[Annotated[Positive, Field(le=MAX_EV_SALES_MULTIPLE)]],
        Field(min_length=1, max_length=MAX_SENSITIVITY_POINTS)] = [5.0, 6.0, 7.0, 7.5, 8.0, 9.0,
                                                                   10.0]
    """EV/Sales multiples of the sensitivity grid. [1]"""
    sensitivity_sales_changes: Annotated[
        list[Annotated[Real, Field(gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)]],
        Field(min_length=1, max_length=MAX_SENSITIVITY_POINTS)] = [-0.3, -0.2, -0.1, 0.0, 0.1,
                                                                   0.2, 0.3]
    """Relative changes of the valuation-year sales in the sensitivity grid. [1]"""

    # --- P&L, cash and DCF (issue 14) ------------------------------------------------------
    other_genai_revenue_rmb_m_per_quarter: Annotated[NonNegative, Field(
        le=MAX_OPEX_RMB_M)] = 0.0
    """GenAI revenue not served by the fleet (model licences, software), added to served
    revenue every quarter. [RMB m/quarter]"""
    existing_fleet_book_value_rmb_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 2200.0
    """Net book value at the base period's end of the fleet already owned (and of orders
    already paid), depreciated straight-line over the next
    ``existing_fleet_remaining_life_quarters``. [RMB m]"""
    existing_fleet_remaining_life_quarters: LifeQuarters = 14
    """Quarters over which the existing fleet's book value is depreciated. [quarters]"""
    rd_half_rmb_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 1780.0
    """Research and development expenses of the base half-year (1H23). [RMB m/half-year]"""
    sm_half_rmb_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 418.0
    """Selling and marketing expenses of the base half-year. [RMB m/half-year]"""
    ga_half_rmb_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 796.5
    """General and administrative expenses of the base half-year. [RMB m/half-year]"""
    rd_growth_annual: Annotated[Real, Field(gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = 0.0
    """Growth of R&D expenses, yearly total on yearly total. [1/year]"""
    sm_growth_annual: Annotated[Real, Field(gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = -0.10
    """Growth of selling and marketing expenses, yearly total on yearly total. [1/year]"""
    ga_growth_annual: Annotated[Real, Field(gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = -0.10
    """Growth of general and administrative expenses, yearly total on yearly total.
    [1/year]"""
    non_operating_loss_rmb_m_per_quarter: Annotated[Real, Field(
        ge=-MAX_OPEX_RMB_M, le=MAX_OPEX_RMB_M)] = 398.4
    """Loss below the operating line (finance costs, fair-value changes, share of associates,
    tax), non-cash in the cash path; negative = a gain. [RMB m/quarter]"""
    cash_floor_rmb_m: Annotated[Real, Field(ge=-MAX_ABS_NET_CASH_RMB_M,
                                            le=MAX_ABS_NET_CASH_RMB_M)] = 2000.0
    """Net cash below which the company needs new funding. [RMB m]"""
    ev_ebitda_multiple: Annotated[Positive, Field(le=MAX_EV_EBITDA_MULTIPLE)] = 15.0
    """EV/EBITDA multiple on the valuation year's EBITDA (used only when it is positive). [1]"""
    wacc_annual: Annotated[Real, Field(gt=0.0, lt=1.0)] = 0.12
    """Discount rate of the DCF (weighted average cost of capital). [1/year]"""
    terminal_growth_annual: Annotated[Real, Field(gt=-1.0, lt=1.0)] = 0.03
    """Growth of free cash flow after the horizon (Gordon terminal value). [1/year]"""
    tax_rate: Fraction = 0.15
    """Tax on positive terminal operating profit (none on losses in the horizon). [1]"""
    valuation_method: Literal["blend", "ev_sales", "ev_ebitda", "dcf"] = "blend"
    """Which target price ``target_price_hkd`` reports: one method's, or the blend."""
    blend_weights: dict[Literal["ev_sales", "ev_ebitda", "dcf"], Fraction] = {
        "ev_sales": 1.0, "ev_ebitda": 0.0, "dcf": 0.0}
    """Weight of each method's target price in the blend; methods that do not apply
    (EV/EBITDA with EBITDA <= 0) drop out and the rest are renormalised. [1]"""
    sensitivity_wacc_annual: Annotated[
        list[Annotated[Real, Field(gt=0.0, lt=1.0)]],
        Field(min_length=1, max_length=MAX_SENSITIVITY_POINTS)] = [0.10, 0.11, 0.12, 0.13,
                                                                   0.14]
    """WACC values of the DCF sensitivity grid. [1/year]"""
    sensitivity_terminal_growth_annual: Annotated[
        list[Annotated[Real, Field(gt=-1.0, lt=1.0)]],
        Field(min_length=1, max_length=MAX_SENSITIVITY_POINTS)] = [0.0, 0.02, 0.03, 0.04]
    """Terminal growth values of the DCF sensitivity grid. [1/year]"""

    @model_validator(mode="after")
    def _dcf_and_blend(self) -> FinanceInputs:
        if self.terminal_growth_annual >= self.wacc_annual:
            raise ValueError(f"terminal_growth_annual {self.terminal_growth_annual} must be "
                             f"below wacc_annual {self.wacc_annual}")
        if sum(self.blend_weights.values()) <= 0.0:
            raise ValueError("blend_weights must give at least one method a weight above 0")
        bad = [(w, g) for w in self.sensitivity_wacc_annual
               for g in self.sensitivity_terminal_growth_annual if g >= w]
        if bad:
            raise ValueError(f"sensitivity grid: terminal growth {bad[0][1]} is not below "
                             f"WACC {bad[0][0]}")
        return self


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# The stress command's request (checked before any draw is allocated)
# --------------------------------------------------------------------------------------------


class StressRequest(StrictModel):
    """Size and seed of one Monte Carlo stress run (``capacity stress``)."""

    samples: Annotated[Whole, Field(ge=1, le=MAX_STRESS_SAMPLES)] = 1000
    """Number of Monte Carlo draws. [draws]"""
    seed: Annotated[Whole, Field(ge=0, lt=SEED_LIMIT)] = 0
    """Seed of ``numpy.random.default_rng``. [1]"""
    workers: Annotated[Whole, Field(ge=1, le=MAX_STRESS_WORKERS)] = 1
    """Worker processes. [processes]"""


STRESS_SERIES = 3
"""Per-quarter series a stress run keeps for every draw (peak and effective EFLOPS, GenAI
revenue), for :func:`estimate_stress_memory_bytes`. [series]"""


def estimate_stress_memory_bytes(samples: int, n_kpis: int, n_inputs: int, n_periods: int,
                                 n_series: int = STRESS_SERIES, n_limits: int = 0) -> int:
    """Peak memory a stress run needs in the calling process, estimated from its shape.

    Counts the arrays that grow with the number of draws (fixed costs such as the scenario, the
    LP and the worker processes are not counted):

        draws          samples x n_inputs x 8 x 2     (the sampled columns, then stacked)
        batch results  samples x (8 n_kpis + 8 n_series n_periods + n_limits)
        concatenated   the same again                  (one array per KPI and series)
        percentiles    samples x 8 (n_periods + 3)     (a working copy of one series, masks)

    Parameters
    ----------
    samples
        Number of draws. [draws]
    n_kpis
        KPIs kept per draw. [1]
    n_inputs
        Uncertain inputs (columns of the draw matrix). [1]
    n_periods
        Planned quarters. [quarters]
    n_series
        Per-quarter series kept per draw. [1]
    n_limits
        Limits whose binding is recorded per draw (one byte each). [1]

    Returns
    -------
    int
        Estimated bytes. [bytes]
    """
    per_draw = (16 * n_inputs
                + 2 * (8 * n_kpis + 8 * n_series * n_periods + n_limits)
                + 8 * (n_periods + 3))
    return int(samples) * per_draw


def _gib(n: float) -> str:
    """Bytes as GiB text (``4.0 GiB``)."""
    return f"{n / 2**30:.1f} GiB"


def check_stress_request(samples: object, seed: object, workers: object = 1, *,
                         n_kpis: int | None = None, n_inputs: int | None = None,
                         n_periods: int | None = None, n_series: int = STRESS_SERIES,
                         n_limits: int = 0,
                         budget_bytes: int = STRESS_MEMORY_BUDGET_BYTES) -> StressRequest:
    """Validate a stress run's samples, seed and workers, and its memory estimate.

    Call it before anything is sampled. The sizes (``n_kpis``, ``n_inputs``, ``n_periods``)
    are optional: without them only the ranges are checked (the command line can do that before
    loading the scenario); with them the estimate of :func:`estimate_stress_memory_bytes` must
    fit ``budget_bytes``.

    Parameters
    ----------
    samples
        Number of draws, 1 to :data:`MAX_STRESS_SAMPLES`. [draws]
    seed
        Seed, 0 <= seed < :data:`SEED_LIMIT`. [1]
    workers
        Worker processes, 1 to :data:`MAX_STRESS_WORKERS`. [processes]
    n_kpis, n_inputs, n_periods, n_series, n_limits
        Shape of the run, see :func:`estimate_stress_memory_bytes`.
    budget_bytes
        Memory budget. [bytes]

    Returns
    -------
    StressRequest

    Raises
    ------
    InputError
        ``--samples``, ``--seed`` or ``--workers`` and the problem, in one line.
    """
    try:
        request = StressRequest(samples=samples, seed=seed, workers=workers)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise input_error_from_validation(exc, f"--{err['loc'][0]}") from None
    if n_kpis is not None and n_inputs is not None and n_periods is not None:
        need = estimate_stress_memory_bytes(request.samples, n_kpis, n_inputs, n_periods,
                                            n_series, n_limits)
        if need > budget_bytes:
            fit = budget_bytes * request.samples // need
            raise InputError("--samples", f"{request.samples} draws need about {_gib(need)} "
                             f"of memory, over the budget of {_gib(budget_bytes)}; use at "
                             f"most {fit} draws")
    return request
