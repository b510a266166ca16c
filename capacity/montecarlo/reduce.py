"""Reductions: each worker turns its batch of draws into a summary whose size does not grow
with the run, and the client merges the summaries in batch order.

A :class:`Task` is one batch: either explicit rows (the tornado cases) or the generator states
at which each input's column of this batch starts (:func:`capacity.montecarlo.draws.draw_states`),
from which the worker regenerates exactly the numbers :func:`~capacity.montecarlo.draws.
sample_draws` would have given. The worker evaluates the batch
(:func:`capacity.montecarlo.evaluate.evaluate_batch`) and returns a :class:`BatchSummary`:

- threshold counts and binding counts per limit (integers: exact for any split);
- per KPI, the ``math.fsum`` of its values (means of large runs);
- the KPIs and per-quarter series of the draws kept for the percentiles: every draw when the
  run has at most :data:`EXACT_DRAWS` draws (percentiles and means then come from every draw,
  as before), else every ``stride``-th draw by draw index (a systematic subsample of at most
  :data:`EXACT_DRAWS` independent draws).

Which draws are kept depends on the draw index alone, and summaries are merged in batch-index
order, so results are the same bytes for any worker count and executor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capacity.montecarlo.draws import _OPS, draws_from_states
from capacity.montecarlo.evaluate import DrawContext, evaluate_batch

EXACT_DRAWS = 10_000
"""Largest run whose percentiles use every draw; larger runs keep every ``stride``-th draw
for them, so the client holds at most this many draws' KPIs and series. [draws]"""


def stride_for(samples: int) -> int:
    """Keep every ``stride``-th draw for the percentiles: ceil(samples / EXACT_DRAWS). [draws]"""
    return max(1, -(-int(samples) // EXACT_DRAWS))


@dataclass
class Task:
    """One batch of draws to evaluate and reduce.

    Attributes
    ----------
    start
        Index of the batch's first draw. [index]
    count
        Draws in the batch. [draws]
    rows
        The draws' values (count, inputs), or None when ``states`` regenerate them.
    states
        Per input, the generator state at which its column of this batch starts.
    labels
        A label per draw (for solver errors), or None (``draw <index>``).
    stride
        Keep draws whose index is a multiple of it. [draws]
    thresholds
        Parsed thresholds (kpi, operator, number) to count.
    """

    start: int
    count: int
    rows: np.ndarray | None = None
    states: list[dict] | None = None
    labels: list[str] | None = None
    stride: int = 1
    thresholds: tuple[tuple[str, str, float], ...] = ()


@dataclass
class BatchSummary:
    """What a worker sends back for one batch (size independent of the run's draws).

    Attributes
    ----------
    start, count
        The batch. [index], [draws]
    kpis, series
        Kept draws only: KPI values (m,) and per-quarter series (m, T), draw order.
    kpi_fsum
        Per KPI, ``math.fsum`` over every draw of the batch. [KPI unit]
    threshold_count
        Draws meeting each threshold. [draws]
    binding_count
        Draws in which each limit binds. [draws]
    """

    start: int
    count: int
    kpis: dict[str, np.ndarray]
    series: dict[str, np.ndarray]
    kpi_fsum: dict[str, float]
    threshold_count: np.ndarray
    binding_count: np.ndarray


def task_rows(ctx: DrawContext, task: Task) -> np.ndarray:
    """The draws of a task (regenerated from its generator states when it has no rows)."""
    if task.rows is not None:
        return task.rows
    return draws_from_states(ctx.specs, task.states or [], task.count)


def run_task(ctx: DrawContext, task: Task, resolver=None) -> BatchSummary:
    """Evaluate one batch and reduce it (runs in a worker)."""
    r = evaluate_batch(ctx, task.start, task_rows(ctx, task), task.labels, resolver)
    keep = np.flatnonzero((task.start + np.arange(task.count)) % task.stride == 0)
    return BatchSummary(
        start=task.start, count=task.count,
        kpis={n: v[keep] for n, v in r.kpis.items()},
        series={n: v[keep] for n, v in r.series.items()},
        kpi_fsum={n: math.fsum(v.tolist()) for n, v in r.kpis.items()},
        threshold_count=np.array([int(np.count_nonzero(_OPS[op](r.kpis[k], num)))
                                  for k, op, num in task.thresholds], np.int64),
        binding_count=r.binding.sum(axis=0, dtype=np.int64))


@dataclass
class Merged:
    """Summaries of consecutive batches merged in batch order.

    Attributes
    ----------
    count
        Draws. [draws]
    kpis, series
        Kept draws' KPIs (m,) and series (m, T).
    kpi_mean
        Per KPI, the mean over every draw (of the kept values when every draw is kept,
        else ``math.fsum`` of the batches' sums / count). [KPI unit]
    threshold_share, binding_share
        Share of draws meeting each threshold / in which each limit binds. [1]
    """

    count: int
    kpis: dict[str, np.ndarray]
    series: dict[str, np.ndarray]
    kpi_mean: dict[str, float]
    threshold_share: np.ndarray
    binding_share: np.ndarray


def merge(summaries: list[BatchSummary], n_limits: int, n_periods: int) -> Merged:
    """Merge batch summaries in batch-index order (deterministic float sums)."""
    summaries = sorted(summaries, key=lambda s: s.start)
    count = sum(s.count for s in summaries)
    if not summaries:
        return Merged(0, {}, {}, {}, np.zeros(0), np.zeros(n_limits))
    names = list(summaries[0].kpis)
    kpis = {n: np.concatenate([s.kpis[n] for s in summaries]) for n in names}
    series = {n: np.concatenate([s.series[n] for s in summaries]).reshape(-1, n_periods)
              for n in summaries[0].series}
    every = len(kpis[names[0]]) == count if names else True
    mean = {n: (float(np.mean(kpis[n])) if every else
                math.fsum(s.kpi_fsum[n] for s in summaries) / count) for n in names}
    thr = np.sum([s.threshold_count for s in summaries], axis=0, dtype=np.int64)
    bind = np.sum([s.binding_count for s in summaries], axis=0, dtype=np.int64)
    return Merged(count, kpis, series, mean, thr / count,
                  bind / count if n_limits else np.zeros(0))
