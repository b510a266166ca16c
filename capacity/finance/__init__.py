"""Finance link: capacity -> revenue -> P&L and cash (fleet depreciation) -> target price by
EV/Sales, EV/EBITDA and DCF, and their blend.

One job a module, in the order they build on each other (each states its equations with units;
docs/finance.md collects them all):

- :mod:`~capacity.finance.accounts`: the reported half-years (history rows) and run-rates.
- :mod:`~capacity.finance.anchors`: the disclosed base half-year (1H23) and the note's figures.
- :mod:`~capacity.finance.revenue`: GenAI and traditional revenue and the calibrated gross
  margin, per quarter.
- :mod:`~capacity.finance.years`: calendar-year totals (the base half-year's actuals included).
- :mod:`~capacity.finance.valuation`: EV -> equity -> target price; EV/Sales and the bridge to
  the note, the DCF, the blend of methods.
- :mod:`~capacity.finance.link`: one scenario's revenue -> EV/Sales valuation
  (:func:`finance_result`).
- :mod:`~capacity.finance.pnl`: P&L, cash and DCF from the fleet and the target price by method
  (:func:`value_arrays`, :func:`pnl_result`).

Pure functions of validated inputs and DataFrames; no files, no printing. Every name the package
had as one module is importable from here (``from capacity.finance import value_from_sales``).
"""

from capacity.finance.accounts import AccountDrivers, account_drivers, reported_halves
from capacity.finance.anchors import (
    Anchors,
    actual_quarter_values,
    actual_quarters,
    anchors_from_disclosures,
)
from capacity.finance.link import FinanceResult, finance_result, value_link
from capacity.finance.pnl import (
    PLAN_COLUMNS,
    PURCHASE_COLUMNS,
    PnlResult,
    cash_arrays,
    existing_depreciation_array,
    opex_line_array,
    pnl_arrays,
    pnl_result,
    value_arrays,
)
from capacity.finance.revenue import (
    CAPACITY_BOUND_TOL_RMB_M,
    genai_array,
    genai_margin,
    gross_profit_array,
    incremental_compute_cost,
    require_columns,
    revenue_arrays,
    revenue_table,
    seasonal_array,
    traditional_array,
    traditional_revenue,
)
from capacity.finance.valuation import (
    METHODS,
    Valuation,
    blend_target_price,
    bridge_table,
    dcf_ev,
    dcf_sensitivity_grid,
    equity_and_target_price,
    fleet_account,
    fleet_dcf,
    implied_sales,
    non_fleet_array,
    note_implied_sales,
    npv_bridge_table,
    plan_discount_factor,
    sensitivity_grid,
    valuation_sales,
    value_from_sales,
)
from capacity.finance.years import (
    YearLayout,
    annual_arrays,
    annual_table,
    target_check,
    year_layout,
    year_sales,
    year_total,
)

__all__ = [
    "CAPACITY_BOUND_TOL_RMB_M", "METHODS", "PLAN_COLUMNS", "PURCHASE_COLUMNS", "AccountDrivers",
    "Anchors", "FinanceResult", "PnlResult", "Valuation", "YearLayout", "account_drivers",
    "actual_quarter_values", "actual_quarters", "anchors_from_disclosures", "annual_arrays",
    "annual_table", "blend_target_price", "bridge_table", "cash_arrays", "dcf_ev",
    "dcf_sensitivity_grid", "equity_and_target_price", "existing_depreciation_array",
    "finance_result", "genai_array", "genai_margin", "gross_profit_array", "implied_sales",
    "incremental_compute_cost", "note_implied_sales", "opex_line_array", "pnl_arrays",
    "pnl_result", "reported_halves", "require_columns", "revenue_arrays", "revenue_table",
    "seasonal_array", "sensitivity_grid", "target_check", "traditional_array",
    "traditional_revenue", "valuation_sales", "value_arrays", "value_from_sales", "value_link",
    "year_layout", "year_sales", "year_total",
]
__all__ += ["fleet_account", "fleet_dcf", "non_fleet_array", "npv_bridge_table",
            "plan_discount_factor"]
