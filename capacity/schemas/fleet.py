"""Input models of the chip catalog row, the horizon, the fleet and its calibration."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, model_validator

from capacity.schemas.base import (
    Efficiency,
    Eflops,
    Figure,
    Fraction,
    LifeQuarters,
    Quarter,
    Real,
    SourceDate,
    StrictModel,
    Units,
    quarter_range,
    to_period,
)
from capacity.schemas.limits import (
    MAX_CHIP_PRICE_RMB,
    MAX_CHIP_PRICE_USD,
    MAX_CHIP_TFLOPS,
    MAX_DIE_MM2,
    MAX_INTERCONNECT_GBS,
    MAX_MEMORY_BW_TBS,
    MAX_MEMORY_GB,
    MAX_TDP_W,
    MAX_TPP,
)


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
    source_date: SourceDate = ""
    """Publication date of the latest source the row's figures come from (the blindness check
    of every vintage that uses the chip reads it)."""


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
    :mod:`capacity.calibration`, or give entries explicitly."""
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
