"""The nomenclature's tables: every output column's unit and definition, and the KPIs.

Written as text tables, one row a line: ``name | unit | definition`` (KPIs: ``name | unit |
commands | definition``); a line that starts with spaces goes on with the definition above it,
``{quarter}`` (``{Quarter}`` at the start of a sentence) stands for :data:`_Q`, and an empty unit
marks text, labels and flags. A block the tables share (the P&L lines) is written once.
:mod:`capacity.report.names` looks columns up in them and makes ``docs/nomenclature.md``.
"""

from __future__ import annotations

from capacity.report.columns_market import VALUE_MARKET_TABLES
from capacity.report.keys import TABLES
from capacity.text_table import parse_rows

SEE_UNIT = "see unit"
"""Unit of a column whose rows carry their own unit in a ``unit`` column."""

_Q = "quarter, as text like 2024Q3"


def _rows(text: str, fields: int = 3) -> dict[str, tuple[str, ...]]:
    """Name -> (unit, definition) (``fields`` = 4: (unit, commands, definition)) of a text
    table (:func:`~capacity.text_table.parse_rows`), ``{quarter}`` spelt out."""
    quarter = {"{quarter}": _Q, "{Quarter}": _Q[0].upper() + _Q[1:]}

    def fill(text: str) -> str:
        for key, value in quarter.items():
            text = text.replace(key, value)
        return text

    return {name: tuple(fill(part) for part in rest)
            for name, rest in parse_rows(text, fields).items()}


_PNL_LINES = """\
revenue_m | RMB m | Total revenue = GenAI + traditional
genai_revenue_m | RMB m | GenAI revenue: what the fleet served + other GenAI revenue
traditional_revenue_m | RMB m | Non-GenAI revenue on its own path
cost_of_sales_m | RMB m | Serving cost + other cost of sales (reported quarters: as reported)
depreciation_m | RMB m | Fleet depreciation: existing book value and each purchase cohort,
    straight-line over its life (0 in reported quarters: not disclosed)
power_cost_m | RMB m | Electricity cost of the fleet
maintenance_m | RMB m | Fleet maintenance cost
rental_cost_m | RMB m | Cost of rented compute
serving_cost_m | RMB m | The plan's serving cost = depreciation + power + maintenance + rental
traditional_cost_of_sales_m | RMB m | (1 - traditional gross margin) x traditional revenue
genai_other_cost_of_sales_m | RMB m | GenAI cost of sales beyond the fleet (hardware sold,
    subcontracting, data-centre operations): a share of GenAI revenue calibrated on the base
    half-year's reported cost of sales
other_cost_of_sales_m | RMB m | Traditional + GenAI other cost of sales (reported quarters:
    the whole reported cost of sales)
gross_profit_m | RMB m | Revenue - cost of sales
gross_margin | share | Gross profit / revenue (the one gross margin of every table)
rd_opex_m | RMB m | Research and development expenses
sm_opex_m | RMB m | Selling and marketing expenses
ga_opex_m | RMB m | General and administrative expenses
opex_m | RMB m | Operating expenses = R&D + S&M + G&A
operating_profit_m | RMB m | Gross profit - opex (negative = operating loss)
ebitda_m | RMB m | Operating profit + fleet depreciation
non_operating_loss_m | RMB m | Other items between opex and the reported loss (other income,
    impairments, finance items, tax; a loss positive), at the latest reported half-year's rate
interest_expense_m | RMB m | Interest expense: reported in a history quarter that
    discloses it (then out of the other items); forecast = implied rate / 4 x debt (the
    latest dated debt + the debt-financed share of capex paid before the quarter); 0 where the
    subject discloses no debt and interest (value.inputs says why)
net_loss_m | RMB m | Reported net loss = -(operating profit - other items - interest);
    negative = a profit
adjustments_m | RMB m | The company's bridge from reported to adjusted net loss
    (share-based pay and its other non-IFRS items), at the latest reported half-year's rate
adjusted_net_loss_m | RMB m | Adjusted (non-IFRS) net loss = net loss - adjustments
capex_paid_m | RMB m | Capex paid (at order)
fcf_m | RMB m | Free cash flow = EBITDA - capex paid (working capital held)
"""
"""The P&L lines of ``value.pnl`` (a row per year) and ``value.pnl_by_quarter``, defined once."""

_TABLES: dict[str, str] = {
    # ---------------------------------------------------------------- plan
    "plan.quarters": """\
period | | Planning {quarter} (base period + 1 to the horizon end)
gpus_units | units | GPUs installed at the quarter's end (existing fleet + delivered purchases -
    retirements)
new_units | units | GPUs bought by the plan and in service at the quarter's end (delivered, not
    yet retired)
peak_eflops | EFLOPS | Peak dense compute of the installed fleet (vendor peak FLOP/s, summed over
    GPUs)
effective_eflops | EFLOPS | Peak compute times each chip's efficiency factor (interconnect and
    software derating)
training_fit_eflops | EFLOPS | Effective compute of the chips fit for large-cluster training
    (NVLink-class interconnect)
token_capacity_tn_tokens | tn tokens | Tokens the installed fleet could serve in the quarter if it
    did nothing else (serving roofline x achieved share x time utilisation)
training_demand_eflops | EFLOPS | Compute the scheduled training runs need in the quarter
training_served_eflops | EFLOPS | Own training served (training-fit units assigned to it, plus
    rented compute)
rented_eflops | EFLOPS | Rented effective compute serving own training
training_shortfall_eflops | EFLOPS | Training demand the plan leaves unmet (the named runs' delay;
    at most the demand)
leasing_demand_eflops | EFLOPS | AIDC leasing customers' demand (a share of the calibration
    window's fleet, growing with the GenAI market)
leasing_served_eflops | EFLOPS | AIDC leasing served
leasing_shortfall_eflops | EFLOPS | Leasing demand the plan leaves unmet
demand_eflops | EFLOPS | Training + leasing demand
shortfall_eflops | EFLOPS | Training + leasing shortfall
inference_demand_tn_tokens | tn tokens | Tokens demanded: GenAI revenue not earned by leasing /
    token price
inference_served_tn_tokens | tn tokens | Tokens served
inference_shortfall_tn_tokens | tn tokens | Tokens demanded but not served
inference_demand_eflops | EFLOPS | Tokens demanded as effective compute at the reference chip's
    serving roofline (the demand module's inference_demand_eflops, one function)
inference_served_eflops | EFLOPS | Effective compute serving tokens: the units neither training nor
    leased, at the share of their token capacity the tokens served use (spread evenly over those
    units)
served_compute_eflops | EFLOPS | Compute put to work: training served (with rented) + leasing
    served + inference served
token_price_per_m_tokens | RMB per m tokens | Realised token price
token_revenue_m | RMB m | Tokens served x token price
leasing_revenue_m | RMB m | Leasing served x leasing rate
served_revenue_m | RMB m | Revenue of the work served: tokens + leasing
training_value_m | RMB m | Own training served valued at the on-demand compute rate (imputed,
    not revenue)
capex_m | RMB m | GPU capex paid in the quarter (purchases paid at order)
power_mw | MW | Facility power the installed fleet draws (GPU TDP x server overhead x PUE)
power_limit_mw | MW | Data-centre power available in the quarter
power_limit_source | | Where the quarter's power limit came from: the source of the
    planner.datacenter_mw step in force (for a planner.power_ramp, the dated MW disclosures
    and the ramp between them)
power_cost_m | RMB m | Electricity cost of the installed fleet in the quarter
maintenance_m | RMB m | Maintenance of the installed fleet in the quarter
rental_cost_m | RMB m | Cost of the rented compute in the quarter
opex_m | RMB m | Power + maintenance + rental in the quarter
capital_charge_m | RMB m | Straight-line capital charge of the fleet in service: purchases at
    their all-in cost, the existing fleet at reference prices, over the chip's life (not the P&L's
    depreciation)
""",
    "plan.purchases": """\
period | | Delivery {quarter}
order_period | | Order (payment) {quarter}: delivery minus the lead time
chip | | Chip name (chips.csv)
units | units | GPUs bought
all_in_cost_m_per_unit | RMB m per unit | All-in cost per GPU: card (licence fees included) +
    system + network + facility fit-out
capex_m | RMB m | units x all-in cost
status | | Export-control status of the chip in the delivery quarter (allowed, licence, capped)
rule | | Id of the rule that sets the status (empty: none)
committed | | True for an order placed before the plan decides (fleet.pipeline): data with its
    source, already in the fleet's existing_units, capex 0 (in the existing fleet's cost); false
    for the LP's purchases, ordered from the quarter that holds the vintage date on
source | | Source of a committed order (empty for the LP's purchases)
""",
    "plan.economics": """\
period | | Delivery {quarter}
chip | | Chip name (chips.csv)
all_in_cost_m_per_unit | RMB m per unit | Card (licence fees included) + system + network +
    facility fit-out
cost_m_per_unit_quarter | RMB m per unit-quarter | All-in cost x capital recovery factor over
    its life + power + maintenance
training_cost_m_per_eflops_quarter | RMB m per EFLOPS-quarter | Levelised cost of one effective
    EFLOPS-quarter of training (null for a chip unfit for training)
token_cost_per_m_tokens | RMB per m tokens | Levelised cost of serving a million tokens
    (serving roofline; null where it is unknown)
served_tokens_tn_tokens_per_mw_quarter | tn tokens per MW-quarter | Tokens one chip's
    capacity serves per MW of facility power in a quarter
token_price_per_m_tokens | RMB per m tokens | Realised token price
training_value_m_per_eflops_quarter | RMB m per EFLOPS-quarter | Value of own training served
tokens_per_s | tokens per s | Billed tokens one busy chip serves per second: the serving roofline
    at the chip's serving precision (its narrowest published dense rate: FP8, else INT8, else
    FP16) x the achieved share
""",
    "plan.binding": """\
constraint | | Family of the limit: access, budget, power, total_demand, ...
period | | {Quarter} (or year) the limit applies to
chip | | Chip of a per-chip limit (empty otherwise)
limit | see limit_unit | The limit as stated: the cap in units, the budget in RMB m, the power in
    MW, the demand in EFLOPS
limit_unit | | Unit of limit
set_key | | The --set key that moves the limit (empty where none exists: bans, licence caps,
    demand)
shadow_price | see unit | Objective gain from relaxing the limit by one unit (>= 0), the side
    named by side, verified by re-solving
unit | | Unit of the shadow prices: the objective's unit (RMB m; EFLOPS-quarters under
    --objective max-compute) per unit of the limit: per unit (access), per RMB m (budget), per
    MW (power), per EFLOPS (demand)
side | | Which side shadow_price quotes: relax (loosen the limit by one unit) or tighten
degenerate | | True when relaxing and tightening are worth different amounts (the solver's dual
    then overstates one of them)
shadow_price_relax | see unit | Objective gain from loosening the limit by one unit
shadow_price_tighten | see unit | Objective loss from tightening the limit by one unit; null
    where the limit cannot be tightened (a ban or cap already at 0)
dual | see unit | The solver's row dual, for comparison with the verified sides
""",
    "plan.purchase_value": """\
period | | Delivery {quarter}
chip | | Chip name (chips.csv)
units | units | GPUs the continuous relaxation buys for delivery in the quarter (the LP whose duals
    split the value; the whole-server purchases are in `purchases`)
served_value_m | RMB m | Value of the work one more unit serves over its life (demand duals x
    its compute), present value
cost_m | RMB m | Its discounted price at order
running_cost_m | RMB m | Its discounted power and maintenance over its life
limits_m | RMB m | Shadow prices of the limits it uses (access + budget + power)
limit_access_m | RMB m | Shadow price of its access row (cap or ban)
limit_budget_m | RMB m | Shadow price of the budget it uses
limit_power_m | RMB m | Shadow price of the power it draws
bound_value_m | RMB m | Value on the implied bound fleet >= 0 at degenerate points (so the
    parts sum to the reduced cost)
net_value_m | RMB m | served - cost - power - limits - bound: the solver's reduced cost; 0 for
    a chip bought, <= 0 otherwise
served_value_eflops_quarters | EFLOPS-quarters | As served_value_m, under --objective
    max-compute (EFLOPS-quarters of the objective)
cost_eflops_quarters | EFLOPS-quarters | As cost_m, under --objective max-compute
    (EFLOPS-quarters of the objective)
running_cost_eflops_quarters | EFLOPS-quarters | As running_cost_m, under --objective
    max-compute (EFLOPS-quarters of the objective)
limits_eflops_quarters | EFLOPS-quarters | As limits_m, under --objective max-compute
    (EFLOPS-quarters of the objective)
limit_access_eflops_quarters | EFLOPS-quarters | As limit_access_m, under --objective
    max-compute (EFLOPS-quarters of the objective)
limit_budget_eflops_quarters | EFLOPS-quarters | As limit_budget_m, under --objective
    max-compute (EFLOPS-quarters of the objective)
limit_power_eflops_quarters | EFLOPS-quarters | As limit_power_m, under --objective max-compute
    (EFLOPS-quarters of the objective)
bound_value_eflops_quarters | EFLOPS-quarters | As bound_value_m, under --objective max-compute
    (EFLOPS-quarters of the objective)
net_value_eflops_quarters | EFLOPS-quarters | As net_value_m, under --objective max-compute
    (EFLOPS-quarters of the objective)
""",
    "plan.fleet": """\
period | | {quarter}
chip | | Chip name (chips.csv)
existing_units | units | GPUs of the calibrated starting fleet still in service
new_units | units | GPUs bought by the plan and in service
units | units | existing_units + new_units
""",
    # ---------------------------------------------------------------- value
    "value.revenue": """\
period | | {quarter}
genai_demand_m | RMB m | GenAI revenue the demand path asks for
genai_revenue_m | RMB m | GenAI revenue: what the planned fleet served (tokens x price +
    leasing, the plan's served_revenue_m)
traditional_revenue_m | RMB m | Non-GenAI revenue
revenue_m | RMB m | GenAI + traditional revenue
genai_share | share | GenAI revenue / total revenue
capacity_bound | | True when the fleet served less than the demand path asks for
incremental_compute_cost_m | RMB m | The plan's capital charge and opex above the first
    quarter's, deducted from gross profit (0 unless switched on)
gross_profit_m | RMB m | The P&L's gross profit of the quarter (value.pnl_by_quarter)
gross_margin | share | Gross profit / total revenue
""",
    "value.annual": """\
year | | Calendar (= financial) year
actual_quarters | quarters | Quarters of the year taken from disclosed actuals
genai_revenue_m | RMB m | GenAI revenue of the year
traditional_revenue_m | RMB m | Non-GenAI revenue of the year
revenue_m | RMB m | Total revenue of the year
genai_share | share | GenAI revenue / total revenue
gross_profit_m | RMB m | Gross profit of the year (the P&L's, value.pnl)
gross_margin | share | Gross profit / total revenue (equal to value.pnl's)
""",
    "value.bridge": """\
case | | Which sales: the tool's (capacity-linked) or the note's implied figures
sales_m | RMB m | Valuation-year sales
multiple | x | EV/Sales multiple
ev_m | RMB m | Enterprise value = sales x multiple
net_cash_m | RMB m | Net cash added to EV
equity_m | RMB m | Equity value = EV + net cash
target_price | HKD | Target price per share = equity / shares / RMB per HKD
""",
    "value.sensitivity": """\
multiple | x | EV/Sales multiple of the grid point
sales_change | share | Change applied to the tool's valuation-year sales (-0.1 = 10% lower)
sales_m | RMB m | Valuation-year sales after the change
ev_m | RMB m | Enterprise value
target_price | HKD | Target price per share
""",
    "value.pnl": """\
year | | Calendar year whose four quarters are all known (reported or modelled)
actual_quarters | quarters | Quarters of the year taken from the reported accounts
""" + _PNL_LINES + """\
net_cash_end_m | RMB m | Net cash at the year's end
""",
    "value.pnl_by_quarter": """\
period | | {quarter}
actual | | True for a quarter of the reported accounts (half of its half-year), False when
    modelled; a line the accounts do not report is 0 in a reported quarter (the fleet's cost
    lines: all its cost of sales is in other_cost_of_sales_m; EBITDA = operating profit;
    the cash and DCF columns: the cash path starts after the balance sheet)
""" + _PNL_LINES + """\
net_cash_m | RMB m | Net cash at the quarter's end
below_floor | | True when net cash is below the funding floor
discount_factor | share | DCF discount factor (1 + WACC) ** (-quarters / 4)
pv_fcf_m | RMB m | Free cash flow x discount factor
""",
    "value.cash": """\
period | | {quarter}
capex_paid_m | RMB m | Capex paid (at order)
ebitda_m | RMB m | EBITDA of the quarter
fcf_m | RMB m | Free cash flow = EBITDA - capex paid
net_cash_m | RMB m | Net cash at the quarter's end = previous + FCF
below_floor | | True when net cash is below the funding floor
""",
    "value.cohorts": """\
period | | Delivery {quarter} (depreciation starts)
order_period | | Order (payment) {quarter}
chip | | Chip name (chips.csv)
capex_m | RMB m | All-in cost of the cohort
life_quarters | quarters | Depreciation life
depreciation_per_quarter_m | RMB m | capex / life, each quarter of the life
depreciation_in_horizon_m | RMB m | The part of the capex depreciated inside the horizon
""",
    "value.methods": """\
method | | ev_sales, ev_ebitda or dcf
applies | | False for EV/EBITDA when the valuation year's EBITDA is not positive (its numbers are
    then 0)
weight | share | Weight in the blended target price (renormalised over the methods that apply)
ev_m | RMB m | Enterprise value by the method
equity_m | RMB m | Equity value = EV + net cash
target_price | HKD | Target price per share = equity / shares / RMB per HKD
""",
    "value.dcf_sensitivity": """\
wacc_annual | share | WACC of the grid point (a year)
terminal_growth_annual | share | Terminal growth of the grid point (a year)
ev_m | RMB m | DCF enterprise value
target_price | HKD | DCF target price per share
""",
    **VALUE_MARKET_TABLES,
    # ---------------------------------------------------------------- compare
    "compare.kpis": """\
kpi | | KPI name; a period or year in the name is the KPI's date (peak_eflops_2024Q4,
    genai_share_2025)
unit | | Unit of the KPI's values
<scenario> | see unit | The KPI in that scenario (one column per scenario)
<scenario>_vs_<reference> | see unit | Scenario minus reference (the first scenario)
""",
    "compare.kpis_text": """\
kpi | | Text KPI name (most_valuable_limits: up to three limits with the largest shadow price)
<scenario> | | The text KPI in that scenario (one column per scenario)
""",
    "compare.scenarios": """\
name | | Scenario name
description | | Scenario description (its TOML file)
changes | count | Inputs the scenario changes against the baseline
""",
    "compare.binding": """\
scenario | | Scenario name
limit | | Limit as a label (family and chip)
constraint | | Family of the limit (access, budget, power, ...)
chip | | Chip of a per-chip limit (empty otherwise)
quarters_binding | quarters | Quarters in which the limit binds
first_period | | First {quarter} it binds
max_shadow_price | see unit | Largest shadow price of the limit over its binding quarters
unit | | Unit of max_shadow_price, as in the plan's binding table (RMB m per unit, RMB m per
    MW, RMB m per RMB m, RMB m per EFLOPS)
""",
    "plan.changes": """\
key | | Dotted input key the scenario (or its vintage) changed
old | | Baseline value (JSON text for lists and tables)
new | | The scenario's value
origin | | File (vintage, scenario or --set) that made the change
""",
    "compare.changes": """\
scenario | | Scenario name
key | | Dotted input key (planner.pue)
old | | Baseline value (JSON text for lists and tables)
new | | The scenario's value
origin | | File (and --set) that made the change
""",
    # ---------------------------------------------------------------- backtest
    "backtest.rows": """\
period | | Reporting period as written in the actuals file (2023Q4, 1H24, FY2023)
metric | | Metric name (gpus_units, computing_power_eflops, revenue_m, ...)
unit | | Unit of actual, forecast and error
first_quarter | | First {quarter} of the period's span
last_quarter | | Last {quarter} of the period's span
span_quarters | quarters | Quarters in the span
actual | see unit | The disclosed figure
forecast | see unit | The tool's figure for the same span (stock at the end, flow summed, ratio of
    sums); null unless status is compared
error | see unit | forecast - actual; null unless compared
error_pct | % | 100 x error / actual; null unless compared or when actual is 0
status | | compared, not forecast or not comparable
basis | | Where the forecast comes from (calibration, plan, finance ...)
detail | | How the forecast was formed, or why there is none
source | | Citation of the actual (from the actuals file)
vintage | | --rolling: date of the vintage that made the forecast (YYYY-MM-DD; 'note' for the
    research note's own figure)
base_period | | --rolling: the vintage's base {quarter}
horizon_halves | half-years | --rolling: half-years from the vintage's base period to the figure's
    last quarter, rounded up
published | | --rolling: date the actual was first public (YYYY-MM-DD)
p10 | see unit | --rolling: 10th percentile of the row's forecast over the draws of the vintage's
    uncertain inputs, each times every known past error exp(+/- abs(e_j)) (error_pool); null unless
    compared
p50 | see unit | --rolling: median of the same values
p90 | see unit | --rolling: 90th percentile of the same values
inside_80 | | --rolling: p10 <= actual <= p90 (null without an interval)
n_known_errors | count | --rolling: values of the error pool that widen the draws (2 per known
    error, both signs; 0: draws alone; null without an interval)
error_pool | | --rolling: whose past errors widen the row: the metric itself, its family (fleet,
    revenue, accounts), all (rows of earlier vintages whose actual was published by this
    vintage's date); street (no such row: other forecasters' misses published by this date,
    street_misses.csv); or none
""",
    "backtest.summary": """\
metric | | Metric name
unit | | Unit of the metric
n_rows | count | Rows of the metric in the actuals
n_compared | count | Rows compared
mape | % | Mean |error_pct| over compared rows; null when none was compared
bias_pct | % | Mean error_pct over compared rows (negative: tool below actuals)
max_abs_error_pct | % | Largest |error_pct|
horizon_halves | half-years | --rolling: forecast horizon of the rows pooled
n_vintages | count | --rolling: vintages with a compared row at this horizon
n_intervals | count | --rolling: compared rows with an interval (p10 and p90)
n_inside | count | --rolling: rows with p10 <= actual <= p90
coverage_80 | share | --rolling: n_inside / n_intervals (the 80% interval's coverage)
coverage_80_low | share | --rolling: lower end of the Wilson 95% interval of coverage_80
coverage_80_high | share | --rolling: upper end of the Wilson 95% interval of coverage_80
interval_score_pct | % | --rolling: mean interval score (alpha 0.2) over the rows, in % of the
    actual: 100 x ((p90 - p10) + 10 x miss below p10 + 10 x miss above p90) / |actual|
""",
    "backtest.paths": """\
period | | {quarter}
metric | | Forecast metric (gpus_units, computing_power_eflops, revenue_m,
    genai_revenue_m, genai_share, gross_margin)
value | see unit | The tool's forecast of the metric in the quarter (one row only where a forecast
    exists)
unit | | Unit of value (units, EFLOPS, RMB m, share)
basis | | Where the path comes from: calibration (history), plan, or finance (actuals or forecast)
""",
    # ---------------------------------------------------------------- stress
    "stress.percentiles": """\
kpi | | KPI, named as compare names it (peak_eflops_2025Q4, genai_share_2025; see KPIs below)
unit | | Unit of the percentiles and mean
p5 | see unit | 5th percentile over the draws
p50 | see unit | Median over the draws
p95 | see unit | 95th percentile over the draws
mean | see unit | Mean over the draws
""",
    "stress.thresholds": """\
expr | | The threshold as read: kpi OP number (peak_eflops_2026Q4>=10; the older kpi@period
    spelling is read as an alias)
kpi | | KPI the threshold tests
probability | share | Share of draws that meet it
""",
    "stress.binding_frequency": """\
constraint | | Family of the limit (access, budget, power, ...)
limit | | Limit as a label
share | share | Share of draws in which the limit binds at least once
""",
    "stress.tornado": """\
input | | Dotted input key
p5_value | input's unit | The input's 5th percentile
p95_value | input's unit | The input's 95th percentile
target_price_at_p5 | HKD | Target price with this input at p5, others at p50
target_price_at_p95 | HKD | Target price with this input at p95, others at p50
target_price_swing | HKD | |TP at p95 - TP at p5|
target_price_dcf_at_p5 | HKD | DCF target price with this input at p5, others at p50
target_price_dcf_at_p95 | HKD | DCF target price with this input at p95, others at p50
target_price_dcf_swing | HKD | |DCF TP at p95 - DCF TP at p5|
effective_kpi | | The compute KPI of the swing columns (effective_eflops_<last KPI quarter>)
effective_at_p5_eflops | EFLOPS | Effective EFLOPS with this input at p5
effective_at_p95_eflops | EFLOPS | Effective EFLOPS with this input at p95
effective_swing_eflops | EFLOPS | |effective at p95 - effective at p5|
""",
    "stress.inputs": """\
input | | Dotted input key
distribution | | Distribution of the draws (normal, split-normal, uniform, ...)
params | | Its parameters as written in the [uncertain] table
p5 | input's unit | 5th percentile of the distribution
p50 | input's unit | Median of the distribution
p95 | input's unit | 95th percentile of the distribution
""",
    "stress.fan": """\
series | | peak_eflops, effective_eflops (EFLOPS) or genai_revenue_m (RMB m)
period | | {quarter}
p5 | series' unit | 5th percentile of the series in the quarter
p25 | series' unit | 25th percentile
p50 | series' unit | Median
p75 | series' unit | 75th percentile
p95 | series' unit | 95th percentile
""",
    # ---------------------------------------------------------------- calibrate
    "calibrate.dates": """\
period | | Disclosure {quarter}
reported_units | units | Disclosed GPU count (null: none disclosed at this date)
reported_eflops | EFLOPS | Disclosed peak computing power (null: none disclosed)
fitted_units | units | GPUs of the fitted central mix
fitted_eflops | EFLOPS | Peak EFLOPS of the fitted central mix
units_error_pct | % | 100 x (fitted_units - reported_units) / reported_units; null where no count
    is disclosed
eflops_error_pct | % | 100 x (fitted_eflops - reported_eflops) / reported_eflops; null where no
    computing power is disclosed
""",
    "calibrate.mix": """\
period | | Disclosure {quarter}
chip | | Chip name
peak_tflops | TFLOPS | Peak dense TFLOPS of one GPU
central_units | units | Units in the central (prior-closest) fitted mix
min_units | units | Fewest units of the chip in any mix that fits the disclosures
max_units | units | Most units of the chip in any mix that fits
central_eflops | EFLOPS | Peak EFLOPS of the chip's central units
""",
    "calibrate.orders": """\
chip | | Chip name
peak_tflops | TFLOPS | Peak dense TFLOPS of one GPU
order_eflops | EFLOPS | Compute on order (disclosed with-orders minus installed)
needed_units | units | GPUs of this chip alone that would supply it
""",
    # ---------------------------------------------------------------- demand
    "demand.quarters": """\
period | | {quarter}
tokens_produced_tn_tokens | tn tokens | High-quality tokens produced in the quarter
token_stock_tn_tokens | tn tokens | Token stock at the quarter's end
training_demand_eflops | EFLOPS | Effective compute the training runs need
genai_demand_m | RMB m | GenAI revenue path of the demand model
genai_tokens_demanded_tn_tokens | tn tokens | Tokens the GenAI revenue path pays for (revenue /
    token price)
token_price_per_m_tokens | RMB per m tokens | Realised token price
inference_yield_eflops | EFLOPS | Fleet in use the calibrated revenue yield implies (revenue /
    yield; for comparison, not the inference demand)
inference_demand_tn_tokens | tn tokens | Tokens demanded: GenAI revenue not earned by leasing /
    token price (the plan's inference_demand_tn_tokens)
inference_demand_eflops | EFLOPS | Those tokens as effective compute at the reference chip's
    serving roofline (the plan's inference_demand_eflops, one function)
leasing_demand_eflops | EFLOPS | Compute leased to outside customers: a share of the calibration
    window's fleet, growing with the GenAI market
total_demand_eflops | EFLOPS | Training + inference + leasing
existing_fleet_effective_eflops | EFLOPS | Effective compute of the existing fleet alone
""",
    "demand.runs": """\
name | | Training run name
params_bn | bn parameters | Model size
tokens_tn_tokens | tn tokens | Training tokens
tokens_per_param | tokens per parameter | tokens / parameters
flop | FLOP | Training compute = 6 x parameters x tokens
start | | First {quarter} of the run
end | | Last {quarter} of the run
duration_quarters | quarters | Quarters the run spans
mfu | share | Model FLOP utilisation assumed
effective_eflops | EFLOPS | Effective compute the run needs while it runs
days_at_base_fleet | days | Days the run would take on the base-period fleet
token_stock_at_start_tn_tokens | tn tokens | Token stock when the run starts
""",
    # ---------------------------------------------------------------- controls
    "controls.chips": """\
chip | | Chip name
country | | Country of origin (US, CN)
datacenter | | True for a data-centre part
tpp | TPP | Total processing performance (BIS: 2 x MAC TOPS x bit length)
performance_density | TPP per mm2 | TPP / die area
status | | Status in the quarter: allowed, banned, licence or capped
rule | | Id of the rule that sets it (empty: none)
cap_units | units | Units per quarter allowed by a cap (null: no cap)
price_factor | x | Price multiplier of a licence: 1 / (1 - revenue share) x (1 + duty rate)
note | | Why, in words
""",
    "controls.rules": """\
rule | | Rule id
kind | | spec (a performance test), named (listed chips), licence, supply, embargo
title | | Rule title
announced | | Announcement date (YYYY-MM-DD)
effective | | Effective date
effective_datacenter | | Later effective date for data-centre parts (empty: same)
first_quarter | | First {quarter} it applies in
until | | Last date (empty: open-ended)
superseded_by | | Rule that replaces it (empty: none)
hypothetical | | True for a counterfactual rule of a scenario
source | | Citation (Federal Register, filing)
""",
}

COLUMNS: dict[str, dict[str, tuple[str, str]]] = {key: _rows(text) for key, text in _TABLES.items()}
"""``<command>.<table>`` -> column -> (unit, definition)."""

COLUMNS["controls.availability"] = {  # controls --timeline: one row per quarter and chip
    "period": ("", _Q), **{c: COLUMNS["controls.chips"][c] for c in
                           ("chip", "status", "rule", "cap_units", "price_factor", "note")}}
COLUMNS["controls.timeline"] = _rows("""\
chip | | Chip name
<quarter> | | controls --timeline: the chip's status in that quarter (one column per quarter,
    named like 2024Q3)
""")
COLUMNS["backtest.reference"] = {  # backtest --rolling: the research note's own forecasts
    **COLUMNS["backtest.rows"]}
COLUMNS["backtest.coverage"] = {  # backtest --rolling: coverage per metric, horizons pooled
    k: v for k, v in COLUMNS["backtest.summary"].items()
    if k in ("metric", "unit", "n_compared", "n_intervals", "n_inside", "coverage_80",
             "coverage_80_low", "coverage_80_high", "interval_score_pct")}


def _max_compute_twins(table: str) -> None:
    """``--objective max-compute`` prices the plan's limits and parts of a unit's value in
    EFLOPS-quarters of the objective instead of RMB m: the same columns with that suffix."""
    cols = COLUMNS[table]
    for col, (unit, _text) in list(cols.items()):
        if col.endswith("_rmb_m"):
            twin = col[: -len("_rmb_m")] + "_eflops_quarters"
            cols[twin] = ("EFLOPS-quarters" if unit == "RMB m" else unit,
                          f"As {col}, under --objective max-compute (EFLOPS-quarters of the "
                          "objective)")


_max_compute_twins("plan.binding")
_max_compute_twins("plan.purchase_value")
COLUMNS.update(TABLES)  # chips, scenarios, validate (capacity/report/keys.py)

FILE_COLUMNS: dict[str, tuple[str, str]] = _rows("""\
scenario | | Scenario the row belongs to (added to every per-scenario table of an --out folder)
value | see unit | The KPI's number in the scenario
text | | A text KPI's words in the scenario (kpis_text.csv)
reference | | The reference scenario (the first one compared)
vs_reference | see unit | value minus the reference scenario's value (empty for the reference
    itself)
""")
"""Columns the tidy ``--out`` files add (``scenario``) or use for the long ``kpis.csv``."""

KPIS: dict[str, tuple[str, str, str]] = _rows("""\
peak_eflops_<q> | EFLOPS | compare, stress | Installed dense peak at the end of quarter <q>
effective_eflops_<q> | EFLOPS | compare, stress | Peak x per-chip efficiency at the end of <q>
    (what serves demand)
gpus_units_<q> | units | compare | Installed accelerators at the end of <q>
cumulative_capex_m_<q> | RMB m | compare | Planned capex from the first planned quarter to <q>
total_capex_m | RMB m | compare, stress, plan | Planned capex over the horizon
npv_m | RMB m | compare, stress | The plan's NPV at the first planned quarter (the plan's
    objective_m when it maximises NPV)
total_served_revenue_m | RMB m | compare, plan | Revenue of the work served (tokens + leasing)
    over the horizon
total_inference_served_tn_tokens | tn tokens | compare, plan | Tokens served over the horizon
total_served_compute_eflops_quarters | EFLOPS-quarters | compare, plan | Compute put to work over
    the horizon: served_compute_eflops summed over quarters (training + leasing + inference)
total_rented_eflops_quarters | EFLOPS-quarters | compare, plan | Rented training compute over the
    horizon
total_shortfall_eflops_quarters | EFLOPS-quarters | compare, stress, plan | Unmet training +
    leasing demand over the horizon
shortfall_quarters | quarters | compare | Quarters with unmet demand (> 1e-6 EFLOPS)
integer | | plan | Whether purchases are whole servers (the default) or fractional GPUs
    (--continuous)
lot_units | units | plan | GPUs per whole purchase lot (planner.lot_units; null with --continuous)
relaxed_objective_m | RMB m | plan | NPV of the continuous relaxation, whose duals the binding
    and purchase_value tables report; an upper bound on the whole-server NPV
integrality_gap | share | plan | (relaxed - whole-server NPV) / relaxed NPV: a proven bound on what
    whole servers cost
binding_limits | count | compare | Binding limits with a non-zero shadow price
most_valuable_limits | | compare (kpis_text) | Up to three limits with the largest shadow price
genai_revenue_m_<y> | RMB m | compare, stress | GenAI revenue in calendar year <y>
genai_share_<y> | share | compare, stress | GenAI revenue / total revenue in year <y>
total_revenue_m_<y> | RMB m | compare | Total revenue in calendar year <y>
target_price | HKD | compare, stress, value | Headline target price per share: the fleet
    DCF on the plan's NPV (value's valuation_method fleet_dcf)
target_price_ev_sales | HKD | compare, stress, value | EV/Sales target price per share
target_price_dcf | HKD | compare, stress, value | DCF target price per share
""", fields=4)
"""KPI names (rows of ``compare``'s ``kpis`` and ``stress``'s ``percentiles``, and the KPIs of a
``--threshold``) -> (unit, commands that report it, definition). ``<q>`` is a quarter like
``2025Q4``, ``<y>`` a year; one name and one unit per quantity in every command (``plan`` and
``value`` give the same quantities as scalars under the same names)."""

KPI_LONG_COLUMNS = ["kpi", "unit", "scenario", "value", "reference", "vs_reference"]
"""Columns of ``kpis.csv`` in an ``--out`` folder: the compare KPI table, one row per KPI and
scenario."""

