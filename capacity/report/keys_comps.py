"""Top-level keys and table columns of ``capacity comps`` (:mod:`capacity.comps_report`), read
by :mod:`capacity.report.keys` into ``docs/nomenclature.md``.

Unit ``cur m`` is millions of the report's ``currency`` (``--currency``, default USD) and
``cur/share`` that currency per share: the comps table is in one stated currency, so its money
keys carry no currency in their names.
"""

from __future__ import annotations

from capacity.text_table import parse_rows

COMPS_KEYS = parse_rows("""\
currency | | The one currency (code) of every amount of the comps table (--currency, default
    USD); amounts are converted at each subject's dated FX series (the fx table)
as_of | | The date asked with --as-of, YYYY-MM-DD (null: each subject's latest vintage on or
    before today)
n_subjects | count | Subjects compared (rows of the comps table)
backtest | | Whether each subject's rolling backtest ran (--no-backtest: false, its columns
    null)
backtest_samples | count | Draws per vintage of that backtest (null without it)
comps | table | One row per subject
fx | table | The dated FX rates the conversions use
""")

COMPS_TABLES = {
    "comps.comps": parse_rows("""\
subject | | Short name of the subject (subject.toml name)
title | | Display name (subject.toml title)
as_of | | Date of the row: --as-of, else the subject's latest vintage on or before today
    (YYYY-MM-DD)
vintage | | The subject's latest vintage on or before as_of, whose inputs the model used
reporting_currency | | The subject's reporting currency (subject.toml currency.reporting)
listing_currency | | The subject's listing currency (subject.toml currency.listing)
gpus_units | units | Latest disclosed GPU count by as_of (disclosures.csv gpus_units; null:
    not disclosed)
gpus_period | | Quarter gpus_units is for
computing_power_eflops | EFLOPS | Latest disclosed computing power by as_of (disclosures.csv
    peak_eflops; null: not disclosed)
computing_power_period | | Quarter computing_power_eflops is for
power_mw | MW | Latest disclosed power by as_of (disclosures.csv active_power_mw, else
    connected_power_mw, the later period; null: not disclosed)
power_period | | Quarter power_mw is for
model_period | | First planned quarter of the model at the vintage
model_gpus_units | units | The model's fleet in model_period (plan quarters gpus_units)
model_peak_eflops | EFLOPS | The model's peak compute in model_period (plan quarters
    peak_eflops)
model_power_mw | MW | The model's power draw in model_period (plan quarters power_mw)
revenue_reported_m | cur m | Reported revenue over the latest four consecutive quarters the
    disclosures tile by as_of (a fiscal year, two halves or quarters; null: none tile)
revenue_reported_period | | Last quarter of those four
next_year | year | The calendar year after as_of's year
revenue_next_year_m | cur m | The model's revenue in next_year (value's annual table)
eflops_per_revenue_m | EFLOPS per cur m | computing_power_eflops / revenue_reported_m (null:
    either unknown)
model_eflops_per_revenue_m | EFLOPS per cur m | model_peak_eflops / revenue_reported_m
ebitda_reported_m | cur m | Reported EBITDA (disclosures.csv ebitda_m, else
    adjusted_ebitda_m) over four consecutive quarters, as revenue_reported_m (null: none
    tile)
ebitda_reported_period | | Last quarter of those four
ebitda_next_year_m | cur m | The model's EBITDA in next_year (value's pnl table; null: the
    year is not in the P&L)
share_price | cur/share | Latest share price dated on or before as_of (value's
    share_price, converted; null: none)
share_price_date | | Date of that price
shares_m | m shares | Shares of the valuation (value's shares_m)
market_value_m | cur m | share_price x shares_m (value's market_value_m, converted)
net_cash_m | cur m | Net cash of the valuation (value's net_cash_m, converted; below 0:
    net debt)
market_ev_m | cur m | The market's EV: market_value_m - net_cash_m
ev_sales_reported | x | market_ev_m / revenue_reported_m (null: unknown or not above 0)
ev_sales_next_year | x | market_ev_m / revenue_next_year_m (null: unknown or not above 0)
ev_ebitda_reported | x | market_ev_m / ebitda_reported_m (null: unknown or not above 0)
ev_ebitda_next_year | x | market_ev_m / ebitda_next_year_m (null: unknown or not above 0)
target_price | cur/share | The model's headline target price (value's target_price,
    converted)
valuation_method | | Method of that target price (value's valuation_method)
upside | share | target_price / share_price - 1 (value's upside; null without a price)
fx_reporting | cur per reporting | Factor that turns an amount in the reporting currency into
    the stated currency (1: the same currency; the fx table gives the rates)
fx_listing | cur per listing | Factor that turns an amount in the listing currency into the
    stated currency
backtest_revenue_mape_h1_pct | % | The rolling backtest's mean absolute percentage error of
    revenue one half-year ahead, over the subject's shipped vintages (null: --no-backtest, or
    no compared row)
backtest_revenue_n_h1 | count | Rows compared in that error
"""),
    "comps.fx": parse_rows("""\
subject | | Subject whose subject.toml [[fx]] series holds the rate
converts | | The conversion the rate serves: reporting or listing currency -> the stated one
pair | | BASE/QUOTE: the rate is units of BASE per one QUOTE
rate | see pair | The rate: the latest of the pair dated on or before the row's as_of
date | | Date the rate is for (YYYY-MM-DD)
published | | Publication date of its source (null: not stated)
source | | Where the rate is published
"""),
}
"""``comps.<table>`` -> column -> (unit, definition)."""
