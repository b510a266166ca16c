"""Stress runs of the browser explorer: started on request, run in a background thread, and
cancelled when the page that asked for them stops polling (its poll is the heartbeat).

Bounds (:mod:`capacity.app.limits`): draws per run, runs at once, the heartbeat timeout.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from capacity.app.limits import (
    MAX_APP_STRESS_JOBS,
    MAX_APP_STRESS_SAMPLES,
    STRESS_HEARTBEAT_TIMEOUT_S,
)
from capacity.app.state import Settings, source_of
from capacity.errors import CapacityError, InputError

STRESS_SAMPLES = 100
"""Draws of a stress run unless the analyst asks for another number (small: seconds)."""

STRESS_KEPT = 8
"""Finished stress runs kept (the oldest dropped first)."""

STRESS_SEED = 0
"""Seed of the app's stress runs (same settings and samples, same fan)."""


class JobCancelled(Exception):
    """A stress run stopped because its page stopped polling it (or it was asked to)."""


@dataclass
class StressJob:
    """One stress run of the current settings (``capacity stress --executor inline``).

    Attributes
    ----------
    settings, samples
        What is run. [draws]
    done, total
        Progress: draws (and one-at-a-time swings) finished and to do. [runs]
    report
        The stress report when finished.
    error
        The one-line error when it failed or was cancelled.
    last_poll
        ``time.monotonic()`` of the last poll of its page (the heartbeat; the start counts as
        one). [s]
    cancelled
        Set to stop the run between two batches.
    ended
        ``time.monotonic()`` when its thread finished, or None while it runs. [s]
    """

    settings: Settings
    samples: int
    done: int = 0
    total: int = 0
    report: Any = None
    error: str | None = None
    seconds: float = 0.0
    last_poll: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    ended: float | None = None

    @property
    def finished(self) -> bool:
        return self.report is not None or self.error is not None

    def check(self) -> None:
        """Raise :class:`JobCancelled` when the run was cancelled or its page has not polled
        for :data:`~capacity.app.limits.STRESS_HEARTBEAT_TIMEOUT_S` (called between batches).
        """
        if time.monotonic() - self.last_poll > STRESS_HEARTBEAT_TIMEOUT_S:
            self.cancelled.set()
        if self.cancelled.is_set():
            raise JobCancelled


_jobs: dict[str, StressJob] = {}
_jobs_lock = threading.Lock()


def check_app_stress(samples: int) -> None:
    """A stress run the app takes: 1 to :data:`~capacity.app.limits.MAX_APP_STRESS_SAMPLES`
    draws (then the command line's own checks, :func:`capacity.schemas.check_stress_request`).

    Raises
    ------
    InputError
        ``draws: ...`` out of range.
    """
    from capacity.schemas import check_stress_request

    if isinstance(samples, int) and not isinstance(samples, bool) and \
            samples > MAX_APP_STRESS_SAMPLES:
        raise InputError("draws", f"at most {MAX_APP_STRESS_SAMPLES:,} in the app, got "
                         f"{samples:,} (capacity stress --samples on the command line takes "
                         "more)")
    check_stress_request(samples, STRESS_SEED, 1)


def start_stress(settings: Settings, samples: int) -> str:
    """Start a stress run of ``settings`` with ``samples`` draws in a thread; its job id.

    The same settings and samples share one run (a finished one is served again; a failed or
    cancelled one is started again). At most :data:`~capacity.app.limits.MAX_APP_STRESS_JOBS`
    run at once.

    Raises
    ------
    InputError
        A number of samples out of range (:func:`check_app_stress`), or as many runs going as
        the app allows.
    """
    check_app_stress(samples)
    job_id = f"{settings.query()}#samples={samples}"
    with _jobs_lock:
        if job_id in _jobs and _jobs[job_id].error is None:
            _jobs[job_id].last_poll = time.monotonic()
            return job_id
        running = sum(1 for j in _jobs.values() if j.ended is None)
        if running >= MAX_APP_STRESS_JOBS:
            raise InputError("stress", f"{running} stress runs are going in this server (the "
                             f"most it runs at once); start this one when one has finished")
        job = _jobs[job_id] = StressJob(settings, samples, total=samples)
        for old in [k for k, j in _jobs.items() if j.finished][:-STRESS_KEPT]:
            del _jobs[old]  # oldest finished runs first (dicts keep insertion order)
    threading.Thread(target=_run_stress, args=(job,), daemon=True,
                     name="capacity-stress").start()
    return job_id


def stress_job(job_id: str) -> StressJob | None:
    """The job of ``job_id`` (None when unknown, e.g. after a restart). Asking is the page's
    heartbeat: it keeps the run going (:meth:`StressJob.check`)."""
    with _jobs_lock:
        job = _jobs.get(job_id)
    if job is not None:
        job.last_poll = time.monotonic()
    return job


def _run_stress(job: StressJob) -> None:
    import capacity
    from capacity.api import Result
    from capacity.commands import stress_report

    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total
        job.check()  # between two batches: a cancelled run stops here

    try:
        sc = capacity.load_scenario(source_of(job.settings.scenario),
                                    set_values=job.settings.set_values() or None)
        job.check()
        report = stress_report(sc, job.samples, STRESS_SEED, None, "inline", 1, None, progress)
        job.report = Result.of(report, [sc])
    except JobCancelled:
        job.error = (f"stress run cancelled after {job.done} of {job.total} runs: its page "
                     "stopped asking for it")
    except CapacityError as exc:
        job.error = exc.one_line()
    except Exception as exc:  # a bug: the page says so in one line, the log has the traceback
        import traceback

        traceback.print_exc()
        job.error = "internal error: " + " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    job.seconds = time.perf_counter() - t0
    job.ended = time.monotonic()
