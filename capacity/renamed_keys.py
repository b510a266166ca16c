"""Input keys, CSV columns and disclosure metrics renamed by issue #27 (currency-free
keys), old -> new. Written by ``docs/rename_keys.py``; do not edit by hand.

An old name in a scenario file, ``--set`` or a subject folder stops with one line naming
the new one (:func:`renamed_hint`); ``docs/key-map.md`` lists every rename.
"""

from __future__ import annotations

RENAMED: dict[str, str] = {
    "adjusted_ebitda_rmb_m": "adjusted_ebitda_m",
    "adjusted_net_loss_rmb_m": "adjusted_net_loss_m",
    "adjusted_operating_income_guidance_high_rmb_m": "adjusted_operating_income_guidance_high_m",
    "adjusted_operating_income_guidance_low_rmb_m": "adjusted_operating_income_guidance_low_m",
    "adjusted_operating_income_rmb_m": "adjusted_operating_income_m",
    "arr_guidance_high_rmb_m": "arr_guidance_high_m",
    "arr_guidance_low_rmb_m": "arr_guidance_low_m",
    "arr_rmb_m": "arr_m",
    "backlog_rmb_m": "backlog_m",
    "base_half_year_rmb_m": "base_half_year_m",
    "borrowings_rmb_m": "borrowings_m",
    "capex_budget_rmb_m": "capex_budget_m",
    "capex_guidance_high_rmb_m": "capex_guidance_high_m",
    "capex_guidance_low_rmb_m": "capex_guidance_low_m",
    "capex_guidance_rmb_m": "capex_guidance_m",
    "capex_rmb_m": "capex_m",
    "cash_floor_rmb_m": "cash_floor_m",
    "cash_reserve_rmb_m": "cash_reserve_m",
    "cash_rmb_m": "cash_m",
    "contract_value_low_rmb_m": "contract_value_low_m",
    "contract_value_meta_rmb_m": "contract_value_meta_m",
    "cost_of_revenue_rmb_m": "cost_of_revenue_m",
    "debt_noncurrent_rmb_m": "debt_noncurrent_m",
    "debt_principal_rmb_m": "debt_principal_m",
    "debt_total_rmb_m": "debt_total_m",
    "deferred_revenue_rmb_m": "deferred_revenue_m",
    "depreciation_rmb_m": "depreciation_m",
    "electricity_rmb_per_kwh": "electricity_per_kwh",
    "equity_raised_hkd_m": "equity_raised_m",
    "existing_fleet_book_value_rmb_m": "existing_fleet_book_value_m",
    "facility_rmb_m_per_mw": "facility_m_per_mw",
    "ga_half_rmb_m": "ga_half_m",
    "ga_opex_rmb_m": "ga_opex_m",
    "genai_revenue_rmb_m": "genai_revenue_m",
    "interest_expense_debt_rmb_m": "interest_expense_debt_m",
    "interest_expense_guidance_high_rmb_m": "interest_expense_guidance_high_m",
    "interest_expense_guidance_low_rmb_m": "interest_expense_guidance_low_m",
    "interest_expense_rmb_m": "interest_expense_m",
    "net_cash_rmb_m": "net_cash_m",
    "net_income_continuing_rmb_m": "net_income_continuing_m",
    "net_income_rmb_m": "net_income_m",
    "net_loss_continuing_rmb_m": "net_loss_continuing_m",
    "net_loss_rmb_m": "net_loss_m",
    "non_operating_loss_rmb_m_per_quarter": "non_operating_loss_m_per_quarter",
    "operating_expenses_rmb_m": "operating_expenses_m",
    "operating_income_rmb_m": "operating_income_m",
    "other_genai_revenue_rmb_m_per_quarter": "other_genai_revenue_m_per_quarter",
    "ppe_net_rmb_m": "ppe_net_m",
    "price_hkd": "price",
    "price_rmb_per_m_tokens": "price_per_m_tokens",
    "rd_half_rmb_m": "rd_half_m",
    "rd_opex_rmb_m": "rd_opex_m",
    "revenue_core_rmb_m": "revenue_core_m",
    "revenue_guidance_high_rmb_m": "revenue_guidance_high_m",
    "revenue_guidance_low_rmb_m": "revenue_guidance_low_m",
    "revenue_rmb_m": "revenue_m",
    "rmb_per_hkd": "fx_listing",
    "rpo_rmb_m": "rpo_m",
    "share_price_hkd": "share_price",
    "sm_half_rmb_m": "sm_half_m",
    "sm_opex_rmb_m": "sm_opex_m",
    "system_rmb_per_unit": "system_per_unit",
    "system_rmb_per_unit_by_chip": "system_per_unit_by_chip",
    "target_price_hkd": "target_price",
    "target_price_old_hkd": "target_price_old",
    "usd_rmb": "fx_usd"
}
"""Old input name -> new."""


def renamed_hint(name: str) -> str | None:
    """``renamed to 'new'`` when ``name`` (a key or its last dotted part) is an old
    input name, else None."""
    leaf = str(name).split(".")[-1]
    if leaf not in RENAMED:
        return None
    return f"renamed to {RENAMED[leaf]!r} (docs/key-map.md: keys carry no currency)"
