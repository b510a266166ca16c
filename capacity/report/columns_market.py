"""Column descriptions of ``capacity value``'s dated-input, bridge, comps and street tables
(merged into :data:`capacity.report.columns.COLUMNS`; one row ``name | unit | meaning``)."""

VALUE_MARKET_TABLES: dict[str, str] = {
    "value.inputs": """\
name | | Input: net_cash, shares, cash, borrowings (at the last balance sheet), share_price,
    fx_rate, discount_rate, ev_sales_multiple, terminal_growth, traditional_gross_margin,
    rd_opex, sm_opex, ga_opex (run-rates of the latest reported half-year), other_items,
    adjustments, debt_principal, interest_rate, debt_financed_capex_share (the interest line's
    inputs), or interest_expense = 0 with the reason where the subject discloses no debt or
    interest
value | see unit | The input's value
unit | | Unit of value
source_date | | ISO date the value stands at: a balance sheet's date for a balance, else the date
    its source was published (empty when the source names none)
source | | Where the value comes from
""",
    "value.backlog": """\
period | | {quarter} the backlog stands at (its end)
backlog_m | RMB m | Revenue backlog the subject disclosed at the quarter's end
    (disclosures.csv backlog_m)
rpo_m | RMB m | Remaining performance obligations within the backlog (rpo_m); NaN where
    not disclosed
source_date | | ISO date the backlog figure was published
source | | Where the backlog and RPO figures come from
revenue_next_4q_m | RMB m | The one P&L's revenue over the four quarters after the period
    (reported or modelled); NaN unless all four are in the P&L
revenue_to_horizon_m | RMB m | The one P&L's revenue from the quarter after the period to
    the horizon end; NaN when the P&L does not hold that quarter
backlog_cover | share | Backlog / revenue to the horizon (above 1: the backlog alone exceeds the
    modelled revenue to the horizon)
""",
    "value.equity_bridge": """\
step | | Net cash at the last balance sheet, each equity issue after it, the modelled burn to
    the valuation date (the vintage date), and the net cash at the valuation date
date | | ISO date of the step
value_m | RMB m | The step's amount (issues at the FX input)
shares_m | m shares | Shares at the balance sheet, added by an issue, or at the valuation date
source | | Where the step comes from
""",
    "value.npv_bridge": """\
item | | Bridge item: a plan flow (served_revenue, training_value, power_cost, maintenance,
    rental_cost, capex, residual_value), plan_npv, served_other_cost, non_fleet, terminal_fleet,
    terminal_non_fleet, headline_ev, or a memo (pnl_dcf_ev, headline_minus_pnl_dcf)
value_m | RMB m | Present value at the first planned quarter (the plan's discounting)
role | | plan rows sum to plan_npv; plan and valuation rows sum to headline_ev; total; memo
note | | What the item is
""",
    "value.comps": """\
published | | Publication date of the row, YYYY-MM-DD (on or before the vintage)
source | | Who published it and where
kind | | broker_target, consensus_target, subject_market or peer (comps.csv)
company | | Broker, peer or the subject
metric | | What the multiple is: ev_sales (a target's basis), ev_sales_trailing, ps_trailing
basis_year | | Forecast year the multiple applies to (null for a trailing multiple)
multiple | x | The multiple (null where the source gives none)
target_price | HKD | The target price (null for a market multiple)
chosen | | True for the row(s) multiple_rule takes the multiple from
""",
    "value.street": """\
date | | Publication date of the street figure, YYYY-MM-DD (on or before the vintage)
source | | Who published it and where
metric | | The figure's name, as the model's column (revenue_m, target_price, ...)
year | | Calendar year it is for (null for a target price)
value | see unit | The street's figure, in the metric's unit
model | see unit | The model's figure for the same metric and year (null where it has none)
difference | see unit | model - value
""",
    "value.street_bridge": """\
date | | Publication date of the street source, YYYY-MM-DD
source | | The street source
year | | Calendar year
profit_metric | | The profit both sides give: adjusted_net_loss_m, else ebitda_m
profit_gap_m | RMB m | Model profit - street profit (a loss counts negative)
revenue_effect_m | RMB m | (model revenue - street revenue) x street gross margin: volume x
    price (the street gives no volume to split it)
margin_effect_m | RMB m | (model - street gross margin) x model revenue
opex_effect_m | RMB m | Street opex - model opex (0 where the source gives none)
other_effect_m | RMB m | The rest of the gap (non-operating items, adjustments)
""",
}
"""Table key -> its rows, as in :mod:`capacity.report.columns`."""
