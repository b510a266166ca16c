"""Input model of revenue, P&L, cash and valuation (owned by :mod:`capacity.finance`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from capacity.schemas.base import (
    Fraction,
    LifeQuarters,
    NonNegative,
    Positive,
    Real,
    StrictModel,
    Whole,
)
from capacity.schemas.limits import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_ABS_NET_CASH_RMB_M,
    MAX_EV_EBITDA_MULTIPLE,
    MAX_EV_SALES_MULTIPLE,
    MAX_FX_RATE,
    MAX_OPEX_RMB_M,
    MAX_SENSITIVITY_POINTS,
    MAX_SHARES_M,
    MAX_TRADITIONAL_GROWTH_ANNUAL,
    MIN_FX_RATE,
    MIN_SHARES_M,
)


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
    net_cash_m: Annotated[Real, Field(ge=-MAX_ABS_NET_CASH_RMB_M,
                                          le=MAX_ABS_NET_CASH_RMB_M)]
    """Cash and short-term investments minus borrowings (negative = net debt; the subject's
    data). [RMB m]"""
    shares_m: Annotated[Real, Field(ge=MIN_SHARES_M, le=MAX_SHARES_M)]
    """Shares outstanding (the subject's data). [m shares]"""
    fx_listing: Annotated[Real, Field(ge=MIN_FX_RATE, le=MAX_FX_RATE)]
    """Exchange rate (the subject's data). [RMB/HKD]"""
    traditional_growth_annual: Annotated[Real, Field(
        gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = -0.15
    """Growth of non-GenAI (traditional AI + Smart Auto) revenue, de-seasonalised. [1/year]"""
    traditional_h2_share: Annotated[Real, Field(gt=0.0, lt=1.0)] = 0.55
    """Share of a year's non-GenAI revenue booked in the second half (seasonality). [1]"""
    traditional_gross_margin: Fraction = 0.5
    """Gross margin of non-GenAI revenue; the GenAI margin is solved so the base half-year gives the
    disclosed overall margin. [1]"""
    deduct_incremental_compute_cost: bool = False
    """Also deduct the plan's compute depreciation and power above its first quarter's run rate
    from gross profit (a conservative lower bound: the base half-year's margins already scale
    compute cost with revenue)."""
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
    other_genai_revenue_m_per_quarter: Annotated[NonNegative, Field(
        le=MAX_OPEX_RMB_M)] = 0.0
    """GenAI revenue not served by the fleet (model licences, software), added to served
    revenue every quarter. [RMB m/quarter]"""
    existing_fleet_book_value_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 2200.0
    """Net book value at the base period's end of the fleet already owned (and of orders
    already paid), depreciated straight-line over the next
    ``existing_fleet_remaining_life_quarters``. [RMB m]"""
    existing_fleet_remaining_life_quarters: LifeQuarters = 14
    """Quarters over which the existing fleet's book value is depreciated. [quarters]"""
    rd_half_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 1780.0
    """Research and development expenses of the base half-year. [RMB m/half-year]"""
    sm_half_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 418.0
    """Selling and marketing expenses of the base half-year. [RMB m/half-year]"""
    ga_half_m: Annotated[NonNegative, Field(le=MAX_OPEX_RMB_M)] = 796.5
    """General and administrative expenses of the base half-year. [RMB m/half-year]"""
    rd_growth_annual: Annotated[Real, Field(gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = 0.0
    """Growth of R&D expenses, yearly total on yearly total. [1/year]"""
    sm_growth_annual: Annotated[Real, Field(gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = -0.10
    """Growth of selling and marketing expenses, yearly total on yearly total. [1/year]"""
    ga_growth_annual: Annotated[Real, Field(gt=-1.0, le=MAX_TRADITIONAL_GROWTH_ANNUAL)] = -0.10
    """Growth of general and administrative expenses, yearly total on yearly total.
    [1/year]"""
    non_operating_loss_m_per_quarter: Annotated[Real, Field(
        ge=-MAX_OPEX_RMB_M, le=MAX_OPEX_RMB_M)] = 398.4
    """Loss below the operating line (finance costs, fair-value changes, share of associates,
    tax), non-cash in the cash path; negative = a gain. [RMB m/quarter]"""
    debt_financed_capex_share: Annotated[Real, Field(ge=0.0, le=1.0)] = 0.0
    """Share of the plan's capex paid with new debt, which then bears interest at the rate
    the disclosures imply (:mod:`capacity.finance.interest`). [1]"""
    cash_floor_m: Annotated[Real, Field(ge=-MAX_ABS_NET_CASH_RMB_M,
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
    """Which target price ``target_price`` reports: one method's, or the blend."""
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
