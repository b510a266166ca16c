"""Top-level keys of every command's report, and the tables of ``chips``, ``scenarios`` and
``validate`` (issue 30, item 4).

:data:`KEYS` gives each command's top-level keys (scalars, lists such as ``notes``, and the
names of its tables) their unit and definition; :data:`TABLES` the columns of the tables
:data:`capacity.report.names.COLUMNS` has no entry for. ``names`` reads both into
``docs/nomenclature.md`` (a ``keys`` table at the head of each command's section). A key
that is also a KPI (``total_capex_m``, ``genai_share_<y>``, ``target_price``) is
defined once, in :data:`capacity.report.names.KPIS`, whose "reported by" names the command.
No key holds a year: the year is a field (``valuation_year``, ``genai_target_year``).
"""

from __future__ import annotations

from capacity.report.keys_comps import COMPS_KEYS, COMPS_TABLES
from capacity.text_table import parse_rows

TABLE = "table"
"""Unit of a key whose value is a table (a list of rows; its columns have a table of their own
on the page)."""

LIST = "list"
"""Unit of a key whose value is a list of text or numbers."""

KEYS: dict[str, dict[str, tuple[str, str]]] = {
    "plan": parse_rows("""\
scenario | | Scenario name (baseline, a shipped scenario, or a file)
as_of | | Vintage date of the inputs, YYYY-MM-DD (docs/vintages.md)
subject | | Title of the subject the report is about (subject.toml title; null without one)
currency | | The subject's currencies (subject.toml): reporting (the currency of every money key,
    *_m, and RMB-labelled unit) and listing (of every per-share key), as codes
status | | Solver status of the purchase plan: optimal (a solve that is not optimal is an error
    line, not a report)
objective | | What the plan maximises: npv (default) or max-compute (--objective)
solver | | LP solver used (highs, or a PuLP solver named by --solver)
objective_m | RMB m | The plan's objective value: NPV at the first planned quarter, the
    constant part included (--objective npv)
objective_eflops_quarters | EFLOPS-quarters | The plan's objective value under --objective
    max-compute: compute served over the horizon, the constant part included
objective_unit | | Unit of the objective value, in words
objective_constant_m | RMB m | Constant part of the NPV objective, fixed by the existing
    fleet (its power opex); inside objective_m, left out of --save-lp/--save-mps files
objective_constant_eflops_quarters | EFLOPS-quarters | Constant part of the max-compute
    objective, fixed by the existing fleet; inside objective_eflops_quarters, left out of LP/MPS
    files
relaxed_objective_eflops_quarters | EFLOPS-quarters | As relaxed_objective_m, under
    --objective max-compute
units_last_two_quarters_share | share | Share of the units the plan buys that arrive in the last
    two planned quarters (committed orders left out)
residual_value_m | RMB m | Horizon-end value of the units bought (what each still earns
    leased out at the falling market rate, at most its book value), at the first planned
    quarter; inside objective_m
residual_share_of_npv | share | residual_value_m / objective_m
unmet_training_runs | count | Planned training runs left partly unmet (each explained in notes)
n_variables | count | Columns of the LP solved
n_constraints | count | Rows of the LP solved
notes | list | Warnings in words (a chip left out for want of a price, ...)
changes | table | Inputs the scenario and its vintage change against the baseline: one row per
    key
quarters | table | Fleet, compute, demand, revenue and cost: one row per planned quarter
purchases | table | GPUs bought: one row per delivery quarter and chip
binding | table | Limits of the LP and their shadow prices: one row per limit row (family,
    quarter, chip)
fleet | table | GPUs in service: one row per quarter and chip
purchase_value | table | Net value of one more unit and its parts: one row per chip and delivery
    quarter
economics | table | Cost per unit, per EFLOPS-quarter and per m tokens: one row per chip and
    delivery quarter
"""),
    "value": parse_rows("""\
scenario | | Scenario name (baseline, a shipped scenario, or a file)
as_of | | Vintage date of the inputs, YYYY-MM-DD (docs/vintages.md)
subject | | Title of the subject the report is about (subject.toml title; null without one)
currency | | The subject's currencies (subject.toml): reporting (the currency of every money key,
    *_m, and RMB-labelled unit) and listing (of every per-share key), as codes
capacity_source | | Where the served capacity comes from, in words (plan (NPV purchases))
valuation_year | | Calendar year whose sales the EV/Sales bridge values (finance.valuation_year)
valuation_method | | Method target_price takes: fleet_dcf (the plan's NPV, what the plan
    does not hold and the steady state after it; docs/finance.md)
target_price_fleet_dcf | HKD | Headline target price: (ev_fleet_dcf_m + net cash) /
    shares / RMB per HKD
ev_fleet_dcf_m | RMB m | Headline EV: fleet_value_m + pv_non_fleet_m +
    pv_terminal_fleet_dcf_m (npv_bridge)
equity_fleet_dcf_m | RMB m | Headline equity value = ev_fleet_dcf_m + net cash
plan_npv_m | RMB m | The plan's NPV at the first planned quarter (its objective), the value
    of the fleet's cash flows
plan_discount_rate_annual | share per year | The plan's discount rate, used for every flow of the
    headline (planner.discount_rate_annual)
fleet_value_m | RMB m | The fleet's value: plan_npv_m - pv_served_other_cost_m
pv_served_other_cost_m | RMB m | Present value over the horizon of the other cost of sales of
    the revenue the plan serves (hardware, subcontracting, data-centre operations: the GenAI
    segment's other cost share x served revenue)
pv_non_fleet_m | RMB m | Present value over the horizon of what the plan does not hold: the
    P&L's free cash flow less the fleet's, plus the served revenue's other cost (other revenue's
    gross profit less opex)
equivalent_annual_value_m | RMB m per year | The steady-state fleet flow: 4 x
    fleet_value_m / the sum of the plan's quarterly discount factors (the level flow with
    the fleet's value)
terminal_fleet_margin | share | The plan's unit economics: NPV / present value of the work served
    (served revenue + training value)
steady_state_flow_m | RMB m per year | equivalent_annual_value_m + the last four
    quarters' non-fleet flow, before tax: the terminal value's base
pv_terminal_fleet_dcf_m | RMB m | Headline terminal value at the horizon end, discounted: the
    steady-state flow after tax x (1 + g) / (r - g)
terminal_share_of_ev | share | pv_terminal_fleet_dcf_m / ev_fleet_dcf_m
multiples_method | | Method of target_price_multiples: ev_sales, ev_ebitda, dcf or blend
    (finance.valuation_method)
target_price_multiples | HKD | Target price by the multiples (finance.valuation_method over
    the methods table)
target_price_blend | HKD | Blended target price per share: sum of weight x target price over the
    methods that apply (weights renormalised)
target_price_ev_ebitda | HKD | EV/EBITDA target price per share; null unless
    ev_ebitda_applies
ev_ebitda_applies | | True when the valuation year is fully modelled and its EBITDA is positive,
    so EV/EBITDA gives a target price
blend_weight_ev_sales | share | Weight of EV/Sales in target_price_blend (renormalised over the
    methods that apply)
blend_weight_ev_ebitda | share | Weight of EV/EBITDA in target_price_blend (0 when it does not
    apply)
blend_weight_dcf | share | Weight of the DCF in target_price_blend
ev_m | RMB m | EV/Sales enterprise value = valuation_sales_m x multiple
equity_m | RMB m | EV/Sales equity value = ev_m + net_cash_m
valuation_sales_m | RMB m | The tool's total revenue in the valuation year (valuation_year;
    GenAI + traditional), the sales the bridge values
valuation_genai_revenue_m | RMB m | The tool's GenAI revenue in the valuation year
implied_valuation_sales_m | RMB m | Valuation-year sales the note's target price implies at this
    scenario's multiple, net cash, shares and FX: (TP x shares x RMB per HKD - net cash) /
    multiple
implied_valuation_sales_old_m | RMB m | The same for the note's old target price
note_target_price | HKD | The research note's target price per share (disclosures.csv
    target_price)
note_target_price_old | HKD | The note's previous target price per share
    (target_price_old)
note_check_target_price | HKD | Target price of implied_valuation_sales_m run back through
    the bridge (equals the note's when the bridge is the note's)
note_check_reproduced | | True when note_check_target_price is within HK$0.005 of
    note_target_price
multiple | x | EV/Sales multiple of the vintage by multiple_rule (comps.csv)
multiple_source | | Source of the multiple (a comps.csv row, or finance.ev_sales_multiple's)
multiple_source_date | | Publication date of the multiple's source, YYYY-MM-DD (empty for the
    scenario's own)
multiple_rule | | The stated rule that picks the multiple from comps.csv
note_multiple | x | The note's EV/Sales multiple (finance.ev_sales_multiple): the note check's
share_price | HKD | Latest share price dated on or before the vintage (share_prices.csv);
    absent when there is none
share_price_date | | Date of share_price, YYYY-MM-DD
market_value_m | HKD m | share_price x shares_m
upside | share | target_price / share_price - 1
net_cash_m | RMB m | Net cash at the valuation date, added to EV (finance.net_cash_m)
shares_m | m shares | Shares outstanding (finance.shares_m)
fx_listing | RMB per HKD | Exchange rate (finance.fx_listing)
genai_share_target | share | GenAI share of revenue the company targets (disclosures.csv
    genai_share_target)
genai_target_year | | The year of the GenAI-share target (disclosures.csv genai_share_target's
    period; the valuation year when the subject states none)
genai_share_target_year | share | GenAI revenue / total revenue in genai_target_year (null when
    the year is not modelled)
genai_target_met | | True when genai_share_target_year reaches genai_share_target; null when
    the year is not modelled
valuation_gross_margin | share | Gross profit / total revenue in the valuation year
genai_gross_margin | share | GenAI gross margin solved so that the base half-year reproduces the
    disclosed group margin: (GM - (1 - s) x traditional margin) / s, s the GenAI share
traditional_gross_margin | share | Gross margin of non-GenAI revenue
    (finance.traditional_gross_margin)
capacity_bound_quarters | quarters | Quarters in which the fleet served less than the demand
    path asks for (capacity_bound in revenue)
ev_dcf_m | RMB m | DCF enterprise value: sum of discounted FCF + pv_terminal_m
pv_terminal_m | RMB m | Gordon terminal value x the last quarter's discount factor: NOPAT (1
    + g) / (WACC - g), NOPAT = ebit_terminal_m x (1 - tax) when positive
ebit_terminal_m | RMB m per year | Operating profit of the last four modelled quarters, the
    terminal value's base
wacc_annual | share per year | Discount rate of the DCF (finance.wacc_annual)
terminal_growth_annual | share per year | Terminal growth of the DCF
    (finance.terminal_growth_annual)
net_cash_end_m | RMB m | Net cash at the end of the last modelled quarter
cash_floor_m | RMB m | Funding floor: net cash below it is a funding need
    (finance.cash_floor_m)
runway_quarters | quarters | Modelled quarters before net cash first falls below the floor (all
    of them when it never does)
funding_need | | True when net cash falls below the floor within the horizon
funding_need_period | | First quarter below the floor, as text like 2026Q3 (empty when
    funding_need is false)
revenue | table | Revenue, gross profit and whether capacity binds: one row per modelled quarter
annual | table | Revenue and gross margin: one row per calendar year (actual quarters included)
bridge | table | EV/Sales bridge: one row for the tool's sales, one for each of the note's
    target prices
sensitivity | table | Target price over a grid of multiple x sales change
pnl | table | P&L and cash: one row per calendar year whose four quarters are modelled
pnl_by_quarter | table | P&L, cash and DCF terms: one row per modelled quarter
cash | table | FCF and net cash: one row per modelled quarter
cohorts | table | Depreciation of each purchase cohort: one row per delivery quarter and chip
methods | table | Target price by method: one row per method
dcf_sensitivity | table | DCF target price over a grid of WACC x terminal growth
inputs | table | Dated inputs of the valuation: name, value, unit, source_date, source
equity_bridge | table | Net cash from the last balance sheet to the valuation date
backlog | table | Disclosed revenue backlog and RPO beside the model's revenue after each
    quarter (no rows without backlog data)
npv_bridge | table | From the plan's NPV to the headline EV: one row per item
comps | table | Comps dated on or before the vintage: one row per broker target or multiple
street | table | Broker and consensus figures dated on or before the vintage beside the model's
street_bridge | table | The model's profit gap to a street source by driver: one row per source
    and year
"""),
    "compare": parse_rows("""\
subject | | Title of the subject the report is about (subject.toml title; null without one)
currency | | The subject's currencies (subject.toml): reporting (the currency of every money key,
    *_m, and RMB-labelled unit) and listing (of every per-share key), as codes
reference | | The reference scenario: the first named, which the <scenario>_vs_<reference>
    columns subtract
solver | | LP solver used
kpi_quarters | list | Quarters the <q> KPIs are read at: Q4 of the first three calendar years of
    the reference scenario's plan
kpi_years | list | Calendar years the <y> KPIs are read at
notes | list | Warnings in words
kpis | table | One row per KPI (KPIs below), one column per scenario and per difference against
    the reference
kpis_text | table | Text KPIs: one row per KPI, one column per scenario
scenarios | table | The scenarios compared: one row each
binding | table | Binding limits: one row per scenario and limit
changes | table | Inputs each scenario changes against the baseline: one row per scenario and
    key
"""),
    "stress": parse_rows("""\
scenario | | Scenario name (baseline, a shipped scenario, or a file)
as_of | | Vintage date of the inputs, YYYY-MM-DD (docs/vintages.md)
samples | draws | Monte Carlo draws (--samples)
seed | | Seed of the random draws (--seed); the same seed gives the same report
uncertain_source | | Scenario whose [uncertain] table was drawn from (the scenario's own, else
    the subject's fallback, subject.toml stress.fallback_uncertain)
batch_size | draws | Draws per batch shipped to a worker (changes no result)
percentile_draws | draws | Draws the percentiles and fan bands are taken over: every draw up to
    10,000, then every ceil(samples / 10,000)-th (means, thresholds and binding shares count
    every draw)
centre_target_price | HKD | Target price with every uncertain input at its median (the
    tornado's centre)
notes | list | Warnings in words (a default threshold left out, ...)
percentiles | table | KPI percentiles over the draws: one row per KPI
thresholds | table | Probability that each threshold is met: one row per threshold
binding_frequency | table | Share of draws in which each limit binds: one row per limit
tornado | table | One-at-a-time swings (p5 vs p95, other inputs at p50): one row per uncertain
    input
inputs | table | The uncertain inputs and their distributions: one row each
fan | table | Percentile bands of a series: one row per series and quarter
"""),
    "calibrate": parse_rows("""\
scenario | | Scenario name (baseline, a shipped scenario, or a file)
as_of | | Vintage date of the inputs, YYYY-MM-DD (docs/vintages.md)
base_period | | Base period: the last quarter of disclosed actuals, as text like 2025Q2;
    planning starts the quarter after
tolerance | share | Relative band around each disclosed count and EFLOPS that a fitted mix may
    fall in (calibration.tolerance)
dates | table | Disclosed vs fitted totals: one row per disclosure date
mix | table | Fitted chip mix: one row per disclosure date and chip
orders | table | Compute on placed orders in units of each chip: one row per chip (empty unless
    compute with orders is disclosed at the base period)
"""),
    "demand": parse_rows("""\
scenario | | Scenario name (baseline, a shipped scenario, or a file)
as_of | | Vintage date of the inputs, YYYY-MM-DD (docs/vintages.md)
base_period | | Base period: the last quarter of disclosed actuals, as text like 2025Q2;
    planning starts the quarter after
inference_method | | demand.inference.method, no longer read: inference_demand_eflops is the
    plan's tokens at the serving roofline
token_production_tn_tokens_per_month | tn tokens per month | Tokens produced per month, the latest
    disclosed at or before the base period unless demand.tokens.per_month_tn sets it
token_target_tn_tokens | tn tokens | Token stock the company targets
token_target_due | | Quarter the token target is due, as text like 2023Q4 (null: no due date)
token_target_reached | | First quarter the token stock reaches the target (null: not within the
    horizon)
token_target_met_on_time | | True when token_target_reached is on or before token_target_due
gpt4_training_tokens_tn_tokens | tn tokens | Disclosed estimate of GPT-4's training tokens, a
    yardstick (null: none disclosed)
gpt4_tokens_reached | | First quarter the token stock reaches gpt4_training_tokens_tn_tokens
    (null: not within the horizon, or none disclosed)
calibration_quarters | | Quarters of the calibration window, as text like 2023Q1..2023Q2: the
    span of the latest GenAI share disclosed at or before the base period
calibration_genai_revenue_m | RMB m | GenAI revenue of the calibration window: GenAI share x
    revenue of the span
calibration_fleet_share | share | Share of the existing effective fleet taken to serve that
    revenue (demand.inference.calibration_fleet_share)
calibration_fleet_in_use_eflops | EFLOPS | calibration_fleet_share x the existing fleet's
    effective EFLOPS, averaged over the window's quarters
inference_yield_m_per_eflops_quarter | RMB m per EFLOPS-quarter | Calibrated inference
    yield: window revenue / sum over its quarters of share x effective fleet
quarter_days | days | Days per quarter used for token rates: 365.25 / 4
quarters | table | Token stock and effective EFLOPS demand: one row per planned quarter
runs | table | Training runs: one row per run
"""),
    "controls": parse_rows("""\
scenario | | Scenario name (baseline, a shipped scenario, or a file)
as_of | | Vintage date of the inputs, YYYY-MM-DD (docs/vintages.md)
at | | Quarter the chips table reports, as text like 2025Q3 (--at; default the quarter after the
    base period)
start | | controls --timeline: first quarter of the timeline (--start)
end | | controls --timeline: last quarter of the timeline (--end)
chips | table | Each chip's export-control status in the quarter `at`: one row per chip
rules | table | Export-control rules in the scenario: one row per rule
timeline | table | controls --timeline: one row per chip, one column per quarter
availability | table | controls --timeline: status, rule, cap and price factor, one row per
    quarter and chip
"""),
    "backtest": parse_rows("""\
scenario | | Scenario name (baseline, a shipped scenario, or a file)
as_of | | Vintage date of the forecast, YYYY-MM-DD; 'rolling' with --rolling (every vintage)
actuals | | File name of the actuals compared against (--actuals)
base_period | | Base period: the last quarter of disclosed actuals, as text like 2025Q2;
    planning starts the quarter after
fleet_path | | Quarters of the stock path (GPUs, EFLOPS), as text like 2022Q4..2027Q4:
    calibrated history, then the plan
revenue_path | | Quarters of the flow path (revenue, GenAI revenue, gross margin): the base
    half-year's actuals, then the forecast
calibration_tolerance | share | Relative tolerance of the calibration (calibration.tolerance)
vintages | | --rolling: the vintage dates run, comma-separated
n_rows | count | Rows of the rows table
n_compared | count | Rows with status compared
n_not_forecast | count | Rows with status not forecast
n_not_comparable | count | Rows with status not comparable
error_definition | | The error formula, in words
horizon_definition | | --rolling: the horizon formula, in words
mape_unit | | Unit of mape, bias_pct and error_pct (%)
samples | draws | --rolling: draws of each vintage's uncertain inputs (--samples)
seed | | --rolling: seed of the draws
interval_definition | | --rolling: how p10..p90 are formed, in words
coverage_80 | share | --rolling: share of all compared rows (every metric) with p10 <= actual <=
    p90
coverage_80_low | share | --rolling: lower end of the Wilson 95% interval of coverage_80
coverage_80_high | share | --rolling: upper end of the Wilson 95% interval of coverage_80
fan_notes | | --rolling: uncertain inputs a vintage has no value for (not drawn)
rows | table | Actual vs forecast: one row per period and metric (and vintage with --rolling)
summary | table | Errors: one row per metric (and horizon with --rolling)
paths | table | The forecast paths: one row per quarter and metric
reference | table | --rolling: the research note's own stated forecast, one row
coverage | table | --rolling: 80% coverage per metric over every horizon and vintage, and all
"""),
    "chips": parse_rows("""\
chips | table | The chip catalog (data/chips.csv, or the subject's) with derived TPP and
    density: one row per chip
"""),
    "scenarios": parse_rows("""\
scenarios | table | The subject's scenarios: one row per scenario file
"""),
    "validate": parse_rows("""\
file | | The scenario file or shipped name checked
scenario | | Name of the scenario the file defines
description | | Its description (the TOML file's)
ok | | True: the file loads and validates (a bad file exits 2 with one error line instead)
n_changes | count | Inputs it changes against the baseline
changes | table | Inputs it changes: one row per key
"""),
}
"""Command -> top-level key -> (unit, definition)."""

TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "chips.chips": parse_rows("""\
chip | | Chip id, as the scenario files name it
name | | Product name
vendor | | Vendor
country | | Country of origin (US, CN)
datacenter | | True for a data-centre part (export rules may treat it apart)
fp16_tflops | TFLOPS | Dense FP16/BF16 peak of one GPU (no sparsity)
int8_tops | TOPS | Dense INT8 peak (null: unknown)
fp8_tflops | TFLOPS | Dense FP8 peak (null: unknown or none)
memory_gb | GB | Memory per GPU
memory_bw_tbs | TB/s | Memory bandwidth per GPU
interconnect_gbs | GB/s | Chip-to-chip bandwidth; training fit needs at least
    planner.training_min_interconnect_gbs (null: unknown, not fit)
tdp_w | W | Thermal design power of one GPU
die_mm2 | mm2 | Die area (null: unknown; a density test cannot clear it)
launch | | Launch quarter, as text like 2023Q4; a vintage before it does not plan the chip
price_usd | USD per unit | Price per GPU in US dollars (null: unknown)
price_rmb | RMB per unit | Price per GPU in renminbi, for a part priced in RMB (null: priced in
    USD or unknown)
tpp_published | TPP | TPP as published (BIS or vendor), used where the rates do not give it
source | | Citation of the specifications
notes | | Notes on the row, in words
source_date | | Publication date of the row's latest source (YYYY-MM-DD, or YYYY-MM / YYYY read
    as the last day): a vintage before it does not know the chip (docs/vintages.md)
tpp | TPP | Total processing performance (BIS: 2 x MAC TOPS x bit length), computed from the
    rates, else tpp_published
tpp_source | | Where tpp comes from: computed, published or unknown
performance_density | TPP per mm2 | tpp / die_mm2 (null without a die area)
"""),
    "subjects.subjects": parse_rows("""\
subject | | Short name of the subject: what --subject takes (subject.toml name)
title | | Display name (subject.toml title)
folder | | Folder of the subject under the shipped data
default | | True for the subject used without --subject (subject.toml default)
latest_vintage | | Latest vintage date, YYYY-MM-DD (baseline.toml meta.as_of or vintages/)
n_vintages | count | Vintages: the baseline's and one per vintages/<YYYY-MM-DD>.toml
reporting_currency | | Currency of the accounts (subject.toml currency.reporting)
listing_currency | | Currency the shares are listed in (subject.toml currency.listing)
"""),
    "scenarios.scenarios": parse_rows("""\
scenario | | Scenario name (what compare, plan --scenario ... take)
description | | One-line description (the TOML file's)
file | | File name under the subject's scenarios/
"""),
    "validate.changes": parse_rows("""\
key | | Dotted input key the scenario (or its vintage) changes
old | | Baseline value (a list or table as JSON)
new | | The scenario's value
origin | | File (vintage, scenario or --set) that made the change
"""),
}
_CURRENCY = parse_rows("""\
reporting | | Currency code of the accounts: every money (*_m) key and RMB-labelled unit is in it
    (subject.toml currency.reporting)
listing | | Currency code of the share price: every *_hkd key is in it (subject.toml
    currency.listing)
""")
TABLES.update({f"{kind}.currency": _CURRENCY for kind in ("plan", "value", "compare")})
TABLES.update(COMPS_TABLES)
KEYS["comps"] = COMPS_KEYS
"""``<command>.<table>`` -> column -> (unit, definition), for tables not in ``COLUMNS``."""


def keys_rows(kind: str) -> list[str]:
    """The ``keys`` table of command ``kind``'s section of ``docs/nomenclature.md``."""
    if kind not in KEYS:
        return []
    return (["### keys", "",
             "Top-level keys of the JSON object (a KPI among them is defined under KPIs below).",
             "", "| key | unit | definition |", "| --- | --- | --- |"]
            + [f"| `{k}` | {u} | {d} |" for k, (u, d) in KEYS[kind].items()] + [""])
