"""The stress command's request, checked before any draw is allocated."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationError

from capacity.errors import InputError, input_error_from_validation
from capacity.schemas.base import StrictModel, Whole
from capacity.schemas.limits import (
    MAX_STRESS_SAMPLES,
    MAX_STRESS_WORKERS,
    SEED_LIMIT,
    STRESS_MEMORY_BUDGET_BYTES,
)


class StressRequest(StrictModel):
    """Size and seed of one Monte Carlo stress run (``capacity stress``)."""

    samples: Annotated[Whole, Field(ge=1, le=MAX_STRESS_SAMPLES)] = 1000
    """Number of Monte Carlo draws. [draws]"""
    seed: Annotated[Whole, Field(ge=0, lt=SEED_LIMIT)] = 0
    """Seed of ``numpy.random.default_rng``. [1]"""
    workers: Annotated[Whole, Field(ge=1, le=MAX_STRESS_WORKERS)] = 1
    """Worker processes. [processes]"""


STRESS_SERIES = 3
"""Per-quarter series a stress run keeps for every draw (peak and effective EFLOPS, GenAI
revenue), for :func:`estimate_stress_memory_bytes`. [series]"""


def estimate_stress_memory_bytes(samples: int, n_kpis: int, n_inputs: int, n_periods: int,
                                 n_series: int = STRESS_SERIES, n_limits: int = 0) -> int:
    """Peak memory a stress run needs in the calling process, estimated from its shape.

    Counts the arrays that grow with the number of draws (fixed costs such as the scenario, the
    LP and the worker processes are not counted):

        draws          samples x n_inputs x 8 x 2     (the sampled columns, then stacked)
        batch results  samples x (8 n_kpis + 8 n_series n_periods + n_limits)
        concatenated   the same again                  (one array per KPI and series)
        percentiles    samples x 8 (n_periods + 3)     (a working copy of one series, masks)

    Parameters
    ----------
    samples
        Number of draws. [draws]
    n_kpis
        KPIs kept per draw. [1]
    n_inputs
        Uncertain inputs (columns of the draw matrix). [1]
    n_periods
        Planned quarters. [quarters]
    n_series
        Per-quarter series kept per draw. [1]
    n_limits
        Limits whose binding is recorded per draw (one byte each). [1]

    Returns
    -------
    int
        Estimated bytes. [bytes]
    """
    per_draw = (16 * n_inputs
                + 2 * (8 * n_kpis + 8 * n_series * n_periods + n_limits)
                + 8 * (n_periods + 3))
    return int(samples) * per_draw


def _gib(n: float) -> str:
    """Bytes as GiB text (``4.0 GiB``)."""
    return f"{n / 2**30:.1f} GiB"


def check_stress_request(samples: object, seed: object, workers: object = 1, *,
                         n_kpis: int | None = None, n_inputs: int | None = None,
                         n_periods: int | None = None, n_series: int = STRESS_SERIES,
                         n_limits: int = 0,
                         budget_bytes: int = STRESS_MEMORY_BUDGET_BYTES) -> StressRequest:
    """Validate a stress run's samples, seed and workers, and its memory estimate.

    Call it before anything is sampled. The sizes (``n_kpis``, ``n_inputs``, ``n_periods``)
    are optional: without them only the ranges are checked (the command line can do that before
    loading the scenario); with them the estimate of :func:`estimate_stress_memory_bytes` must
    fit ``budget_bytes``.

    Parameters
    ----------
    samples
        Number of draws, 1 to :data:`MAX_STRESS_SAMPLES`. [draws]
    seed
        Seed, 0 <= seed < :data:`SEED_LIMIT`. [1]
    workers
        Worker processes, 1 to :data:`MAX_STRESS_WORKERS`. [processes]
    n_kpis, n_inputs, n_periods, n_series, n_limits
        Shape of the run, see :func:`estimate_stress_memory_bytes`.
    budget_bytes
        Memory budget. [bytes]

    Returns
    -------
    StressRequest

    Raises
    ------
    InputError
        ``--samples``, ``--seed`` or ``--workers`` and the problem, in one line.
    """
    try:
        request = StressRequest(samples=samples, seed=seed, workers=workers)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise input_error_from_validation(exc, f"--{err['loc'][0]}") from None
    if n_kpis is not None and n_inputs is not None and n_periods is not None:
        need = estimate_stress_memory_bytes(request.samples, n_kpis, n_inputs, n_periods,
                                            n_series, n_limits)
        if need > budget_bytes:
            fit = budget_bytes * request.samples // need
            raise InputError("--samples", f"{request.samples} draws need about {_gib(need)} "
                             f"of memory, over the budget of {_gib(budget_bytes)}; use at "
                             f"most {fit} draws")
    return request
