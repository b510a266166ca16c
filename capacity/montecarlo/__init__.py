"""Monte Carlo stress tests: uncertain inputs -> N draws of the whole pipeline -> percentiles.

A scenario's ``[uncertain]`` table gives inputs as distributions (dotted keys, as in ``[set]``).
The draws are the numbers of ``numpy.random.default_rng(seed)``, one column per input in table
order (:func:`sample_draws`); the calling process keeps only where each batch of each column
starts in that stream and a worker rebuilds its batch from there, so the same seed gives the same
draws for any number of workers. Each draw then runs plan -> demand -> finance with the
calibration and the existing fleet fixed (they do not depend on the uncertain inputs), and the
purchase LP re-solved in HiGHS with the draw's numbers
(:class:`capacity.planner.solve.Resolver`).

Distributions
-------------
``{p5 = a, p50 = b, p95 = c}``
    Split (two-piece) normal through the three points: median ``b``, standard deviation
    ``(b - a) / z`` below it and ``(c - b) / z` above it, ``z = 1.6449`` (the 95% normal
    quantile), so P(x <= a) = 5%, P(x <= b) = 50%, P(x <= c) = 95% exactly and a skewed range
    keeps its skew. Draw: x = b + s_left * z if z < 0 else b + s_right * z, z ~ N(0, 1).
``{dist = "uniform", low = a, high = b}``, ``{dist = "normal", mean = m, sd = s}``,
``{dist = "triangular", low = a, mode = m, high = b}``
    As named. Use uniform or triangular for inputs with hard bounds (a share <= 1): a split
    normal has unbounded tails, and a draw outside an input's valid range is an error.

Which inputs may be uncertain
-----------------------------
Any number under ``demand.`` and ``finance.``; under ``planner.``: ``price_usd.<chip>``,
``fx_usd``, ``pue``, ``server_overhead``, ``electricity_per_kwh``, ``discount_rate_annual``,
the all-in cost inputs (``system_per_unit``, ``system_per_unit_by_chip.<chip>``,
``network_share_training``, ``network_share_inference``, ``facility_m_per_mw``,
``maintenance_share_annual``), the compute rates (``training_value_usd_per_gpu_hour``,
``leasing_usd_per_gpu_hour``, ``rental_usd_per_gpu_hour``, ``compute_price_change_annual``),
``rental_cap_share.<quarter>``, ``capex_budget_m.<year>``, ``datacenter_mw.<quarter>``;
supply caps ``controls.base_supply_units_per_quarter.<chip>``; licence fees
``rules.<rule id>.fee_revenue_share``. List items are addressed by name (``demand.runs.
large_400b.mfu``) or index. Keys under ``calibration.``, ``fleet.`` and ``horizon.`` are refused
(they move the calibrated fleet, which is computed once), as are inputs that change the LP's
structure (lead times, the training interconnect bar, which rules apply).

Batches and determinism
-----------------------
Draws are cut into batches by draw index (``batch_size_for``: about 64 batches, 25 to 1,000
draws each). Every draw is solved from the template's optimal basis (HiGHS warm starts may land
on another optimal vertex, so the start must not depend on what was solved before). Results are
therefore identical for any number of workers, any batch composition and every executor.
Workers reduce their batches (:mod:`capacity.montecarlo.reduce`): counts, sums and the draws kept
for the percentiles (every draw up to 10,000, else every stride-th), merged in batch order.

Outputs
-------
Percentiles (p5/p50/p95) of each KPI (named as ``capacity compare`` names it); the probability
of threshold expressions (``kpi OP number``, ``peak_eflops_2025Q4>=20``); how often each limit
binds (non-zero dual on a tight row) by family and name; a tornado of one-at-a-time p5/p95
swings (other inputs at p50) on the target price and on effective EFLOPS at the last Q4 of the
KPI years; percentile bands per quarter for fan charts.
"""

from __future__ import annotations

from capacity.montecarlo.draws import (
    UncertainInput,
    check_key,
    parse_threshold,
    parse_uncertain,
    sample_draws,
)
from capacity.montecarlo.evaluate import (
    DrawContext,
    build_context,
    demand_numbers,
    draw_arrays,
    draw_inputs,
    evaluate_batch,
    evaluate_draw,
    kpi_names,
    resolver_for,
)
from capacity.montecarlo.executors import EXECUTORS, run_tasks
from capacity.montecarlo.run import (
    BATCH_SIZE,
    StressResult,
    default_thresholds,
    run_stress,
    to_report,
)


def fallback_uncertain() -> str:
    """The scenario whose ``[uncertain]`` table is used when the chosen scenario has none: the
    subject's (``subject.toml`` ``stress.fallback_uncertain``).

    Raises
    ------
    InputError
        The subject ships none.
    """
    from capacity.errors import InputError
    from capacity.subjects import stress_defaults

    name = stress_defaults().fallback_uncertain
    if name is None:
        raise InputError("scenario", "has no [uncertain] table and the subject names no "
                         "fallback (subject.toml stress.fallback_uncertain)")
    return name


__all__ = ["BATCH_SIZE", "EXECUTORS", "DrawContext", "StressResult", "UncertainInput",
           "build_context", "check_key", "default_thresholds", "demand_numbers", "draw_arrays",
           "draw_inputs", "evaluate_batch", "evaluate_draw", "fallback_uncertain", "kpi_names",
           "parse_threshold", "parse_uncertain", "resolver_for", "run_stress", "run_tasks",
           "sample_draws", "to_report"]
