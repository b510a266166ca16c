"""Input limits: the named bounds every input is checked against.

docs/limits.md lists every one with its unit (a test keeps the two in step); the models of
:mod:`capacity.schemas` use them as field bounds.
"""

from __future__ import annotations

import datetime as dt

# Files (enforced by capacity.scenarios when reading)
MAX_INPUT_FILE_BYTES = 1_048_576
"""Largest input file read: scenario, baseline, rule library, catalog, disclosures, actuals CSV.
[bytes] (1 MiB; the shipped baseline is about 20 KiB)."""
MAX_NESTING_DEPTH = 32
"""Deepest nesting of tables and arrays in a TOML file or a ``--set`` value. [levels]"""
MAX_EXTENDS_DEPTH = 16
"""Longest chain of scenario files that ``extends`` one another. [files]"""
MAX_NUMBER_DIGITS = 1000
"""Most digits in one number as written (a TOML value, a ``--set`` value, a CSV cell). [digits]
(Python refuses to read an integer of more than 4300 digits; a real figure has at most about 20
significant digits, and 1e308 written out in full has 309.)"""

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
MAX_DAYS_AFTER_LAST_VINTAGE = 366
"""Latest vintage date (``--as-of``, a scenario's ``as_of``) after the subject's latest vintage.
[days] (a vintage is what was known on a date; a year past the latest one, the data would claim
to know a future nobody has published.)"""

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
MAX_DUTY_RATE = 10.0
"""Highest duty on a licensed chip, as a share of its price (1000%). [1]"""
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
MIN_FX_RATE = 1e-4
"""Lowest exchange rate of any currency pair (units of one currency per unit of another):
currency-neutral, so a subject reporting in the currency it is listed in (rate 1) or in a
currency of large units passes; a rate below it is a typing error. [BASE/QUOTE]"""
MAX_FX_RATE = 1e5
"""Highest exchange rate of any currency pair (the weakest traded currencies are a few tens of
thousands per US dollar). [BASE/QUOTE]"""
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
