"""A stress run: draws, the tornado cases, batches through an executor, and the reductions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.montecarlo.draws import UncertainInput, draw_states, parse_threshold
from capacity.montecarlo.evaluate import build_context, kpi_names
from capacity.montecarlo.executors import run_tasks
from capacity.montecarlo.reduce import Task, merge, stride_for
from capacity.results import Report, money_text
from capacity.scenarios import Scenario
from capacity.schemas import check_stress_request

BATCH_SIZE = 25
"""Smallest number of draws per batch (one task sent to a worker)."""

MAX_BATCH_SIZE = 1000
"""Largest number of draws per batch."""

TASKS_PER_RUN = 64
"""About how many batches a large run is cut into (enough to keep every worker busy)."""


def batch_size_for(samples: int) -> int:
    """Draws per batch for a run of ``samples`` draws: about :data:`TASKS_PER_RUN` batches,
    between :data:`BATCH_SIZE` and :data:`MAX_BATCH_SIZE` draws each. [draws]

    Every draw starts from the template's basis, so the batch size changes how the work is
    shipped, never a result.
    """
    return int(min(MAX_BATCH_SIZE, max(BATCH_SIZE, -(-samples // TASKS_PER_RUN))))

def default_thresholds() -> tuple[str, ...]:
    """Thresholds tested without ``--threshold``: the subject's (``subject.toml``
    ``stress.thresholds``; none when it ships none)."""
    from capacity.subjects import stress_defaults

    return tuple(stress_defaults().thresholds)



@dataclass
class StressResult:
    """Everything a stress run produced (tables ready for a report)."""

    samples: int
    seed: int
    batch_size: int
    percentiles: pd.DataFrame
    thresholds: pd.DataFrame
    binding_frequency: pd.DataFrame
    tornado: pd.DataFrame
    inputs: pd.DataFrame
    fan: pd.DataFrame
    centre_target_price: float
    notes: list[str]


def _cut(start: int, rows: np.ndarray, size: int, labels: list[str] | None = None
         ) -> list[Task]:
    """Explicit rows (the tornado cases) as tasks of ``size`` rows, every draw kept."""
    out = []
    for i in range(0, len(rows), size):
        part = rows[i:i + size]
        out.append(Task(start + i, len(part), rows=part,
                        labels=labels[i:i + size] if labels else None))
    return out


def run_stress(scenario: Scenario, specs: list[UncertainInput], samples: int, seed: int,
               thresholds: list[str] | None = None, executor: str = "processes",
               workers: int = 1, scheduler: str | None = None,
               progress: Callable[[int, int], None] | None = None,
               solver: str = "highs") -> StressResult:
    """Monte Carlo over the uncertain inputs, plus the one-at-a-time tornado.

    Parameters
    ----------
    scenario
        Validated scenario (its values are the template the draws replace).
    specs
        Uncertain inputs (:func:`parse_uncertain`).
    samples
        Number of draws N.
    seed
        Seed of ``numpy.random.default_rng``.
    thresholds
        Expressions ``kpi OP number``, the KPI named as ``capacity compare`` names it
        (``kpi@period`` is read as an alias; default :func:`default_thresholds`).
    executor, workers, scheduler
        See :func:`run_tasks`. Results do not depend on them.
    progress
        Called with (draws done, total) as batches finish. An exception it raises ends the
        run between two batches (``capacity serve`` cancels a run whose page left this way).
    """
    check_stress_request(samples, seed, workers, n_inputs=len(specs),
                         n_kpis=2 * len(scenario.inputs.horizon.kpi_quarters())
                         + 2 * len(scenario.inputs.horizon.kpi_years()) + 3,
                         n_periods=len(scenario.inputs.horizon.periods))
    size = batch_size_for(samples)
    states, dmin, dmax = draw_states(specs, samples, seed, size)
    q = {p: np.array([s.quantile(p) for s in specs]) for p in (0.05, 0.5, 0.95)}
    lo = np.minimum(dmin, q[0.05])
    hi = np.maximum(dmax, q[0.95])
    ctx = build_context(scenario, specs, lo, hi, solver)
    names = kpi_names(ctx)
    kpis = [n for n, _ in names]
    if thresholds:
        parsed = [parse_threshold(e, kpis) for e in thresholds]
    else:  # the defaults that this horizon has a KPI for; a note names the others
        parsed = []
        for e in default_thresholds():
            if e.split(">")[0].split("<")[0] in kpis:
                parsed.append(parse_threshold(e, kpis))
            else:
                ctx.notes.append(f"default threshold {e} left out: this vintage's horizon has "
                                 "no such KPI (pass --threshold)")
    # tornado cases: centre, then each input at p5 and at p95 (others at p50)
    cases = [q[0.5]]
    case_labels = ["tornado centre (all inputs at p50)"]
    for i, s in enumerate(specs):
        for p in (0.05, 0.95):
            v = q[0.5].copy()
            v[i] = q[p][i]
            cases.append(v)
            case_labels.append(f"tornado case {s.key} at p{int(p * 100)}")
    stride = stride_for(samples)
    mc_tasks = [Task(b * size, min(size, samples - b * size), states=st, stride=stride,
                     thresholds=tuple(parsed)) for b, st in enumerate(states)]
    tasks = mc_tasks + _cut(samples, np.array(cases), BATCH_SIZE, case_labels)
    total = samples + len(cases)
    state = {"done": 0}

    def tick(n: int) -> None:
        state["done"] += n
        if progress:
            progress(state["done"], total)

    results = run_tasks(ctx, tasks, executor, workers, scheduler, tick)
    T = len(ctx.periods)
    m = merge(results[:len(mc_tasks)], len(ctx.labels), T)
    tor = merge(results[len(mc_tasks):], len(ctx.labels), T).kpis
    series = m.series

    pct = pd.DataFrame([{"kpi": n, "unit": money_text(u),  # in the subject's currency
                         **dict(zip(("p5", "p50", "p95"),
                                    np.percentile(m.kpis[n], [5, 50, 95]).tolist(),
                                    strict=True)),
                         "mean": m.kpi_mean[n]} for n, u in names])
    thr = pd.DataFrame([{"expr": f"{k}{op}{num:g}", "kpi": k,
                         "probability": float(m.threshold_share[i])}
                        for i, (k, op, num) in enumerate(parsed)],
                       columns=["expr", "kpi", "probability"])
    bind = pd.DataFrame({"limit": ctx.labels,
                         "share": m.binding_share if len(ctx.labels) else []})
    bind["constraint"] = list(ctx.label_families)
    bind = bind[["constraint", "limit", "share"]]
    eff_kpi = next((f"effective_eflops_{q_}" for q_ in reversed(ctx.kpi_quarter_index)), None)
    rows = []
    for i, s in enumerate(specs):
        lo_i, hi_i = 1 + 2 * i, 2 + 2 * i
        row = {"input": s.key, "p5_value": float(q[0.05][i]), "p95_value": float(q[0.95][i]),
               "target_price_at_p5": float(tor["target_price"][lo_i]),
               "target_price_at_p95": float(tor["target_price"][hi_i]),
               "target_price_swing": float(abs(tor["target_price"][hi_i]
                                                   - tor["target_price"][lo_i])),
               "target_price_dcf_at_p5": float(tor["target_price_dcf"][lo_i]),
               "target_price_dcf_at_p95": float(tor["target_price_dcf"][hi_i]),
               "target_price_dcf_swing": float(abs(tor["target_price_dcf"][hi_i]
                                                       - tor["target_price_dcf"][lo_i]))}
        if eff_kpi:
            row.update({"effective_kpi": eff_kpi,
                        "effective_at_p5_eflops": float(tor[eff_kpi][lo_i]),
                        "effective_at_p95_eflops": float(tor[eff_kpi][hi_i]),
                        "effective_swing_eflops": float(abs(tor[eff_kpi][hi_i]
                                                            - tor[eff_kpi][lo_i]))})
        rows.append(row)
    tornado = pd.DataFrame(rows).sort_values(["target_price_swing", "input"],
                                             ascending=[False, True], kind="stable")
    fan_rows = []
    for n, arr in series.items():
        bands = np.percentile(arr, [5, 25, 50, 75, 95], axis=0)
        for t, p in enumerate(ctx.periods):
            fan_rows.append({"series": n, "period": p, "p5": bands[0, t], "p25": bands[1, t],
                             "p50": bands[2, t], "p75": bands[3, t], "p95": bands[4, t]})
    return StressResult(
        samples=samples, seed=seed, batch_size=size, percentiles=pct, thresholds=thr,
        binding_frequency=bind, tornado=tornado.reset_index(drop=True),
        inputs=pd.DataFrame([s.as_record() for s in specs]), fan=pd.DataFrame(fan_rows),
        centre_target_price=float(tor["target_price"][0]), notes=list(ctx.notes))


def to_report(result: StressResult, scenario: Scenario, source: str) -> Report:
    """The ``stress`` report: scalars and tables (no worker count or timings: the JSON is the
    same for any executor)."""
    return Report(
        "stress",
        scalars={"scenario": scenario.name, "as_of": scenario.as_of.isoformat(),
                 "samples": result.samples, "seed": result.seed,
                 "uncertain_source": source, "batch_size": result.batch_size,
                 # percentiles and fan bands use every draw up to EXACT_DRAWS, then every
                 # stride-th (means, thresholds and binding shares count every draw)
                 "percentile_draws": -(-result.samples // stride_for(result.samples)),
                 "centre_target_price": result.centre_target_price,
                 "notes": result.notes},
        tables={"percentiles": result.percentiles, "thresholds": result.thresholds,
                "binding_frequency": result.binding_frequency, "tornado": result.tornado,
                "inputs": result.inputs, "fan": result.fan},
        primary="percentiles",
        titles={"percentiles": "KPI percentiles over the draws",
                "thresholds": "Probability that each threshold is met",
                "binding_frequency": "Share of draws in which each limit binds",
                "tornado": "One-at-a-time swings (p5 vs p95, other inputs at p50)",
                "inputs": "Uncertain inputs",
                "fan": "Percentile bands per quarter"})
