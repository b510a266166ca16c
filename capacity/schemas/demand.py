"""Input models of demand: tokens, training runs, inference, revenue, leasing
(owned by :mod:`capacity.compute_demand`)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from capacity.schemas.base import (
    Eflops,
    Fraction,
    NonNegative,
    Positive,
    PositiveShare,
    Quarter,
    Real,
    StrictModel,
    Whole,
    Year,
    to_period,
)
from capacity.schemas.limits import (
    MAX_GROWTH_ANNUAL,
    MAX_PARAMS_BN,
    MAX_REVENUE_RMB_M,
    MAX_RUN_QUARTERS,
    MAX_TOKEN_PRICE_RMB_PER_M,
    MAX_TOKENS_PER_PARAM,
    MAX_TOKENS_TN,
)


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
    """``yield``: revenue per effective EFLOPS-quarter calibrated on the base half-year;
    ``tokens``: revenue -> tokens served (price) -> FLOP (2·N a token) -> EFLOPS (serving
    utilisation)."""
    calibration_fleet_share: PositiveShare = 0.5
    """Share of the fleet's effective EFLOPS that earned the GenAI revenue of the calibration
    half-year. [1]"""
    yield_change_annual: GrowthRate = 0.0
    """Change per year of revenue per effective EFLOPS-quarter (price cuts < 0, serving
    efficiency gains > 0). [1/year]"""
    price_per_m_tokens: Annotated[Positive, Field(le=MAX_TOKEN_PRICE_RMB_PER_M)] = 20.0
    """Realised price of one million tokens at the base period. [RMB/m tokens]"""
    price_change_annual: GrowthRate = 0.0
    """Change of the token price per year. [1/year]"""
    served_params_bn: Annotated[Positive, Field(le=MAX_PARAMS_BN)] = 100.0
    """Parameters of the served model (2·N FLOP a token). [bn]"""
    serving_utilisation: PositiveShare = 0.15
    """Achieved FLOP/s of serving over effective peak FLOP/s. [1]"""


class RevenueInputs(StrictModel):
    """Demand-side GenAI revenue path."""

    base_half_year_m: float | str = "disclosed"
    """GenAI revenue of the calibration half-year, or ``"disclosed"`` for ``genai_share`` x
    ``revenue_m`` at the base period. [RMB m]"""
    growth_by_year: dict[Year, GrowthRate] = Field(default_factory=dict)
    """Year-on-year growth of the quarterly run rate, per calendar year; a year not listed takes
    the latest listed year before it (0 if none). [1/year]"""

    @field_validator("base_half_year_m", mode="before")
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
