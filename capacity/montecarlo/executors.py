"""Executors for batches of draws: inline, local processes (spawn), or Dask.

Results come back in task order, so the reduction does not depend on which worker ran what.
"""

from __future__ import annotations

from collections.abc import Callable

from capacity.errors import InputError
from capacity.montecarlo.evaluate import DrawContext
from capacity.montecarlo.reduce import BatchSummary, Task, run_task

_WORKER_CTX: DrawContext | None = None

PARENT_POLL_S = 0.5
"""How often a worker checks that its parent is alive where the OS cannot tell it. [s]"""


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` is gone (a killed ``capacity stress`` leaves
    no worker behind).

    On Linux the kernel delivers SIGKILL when the parent thread exits
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread also checks every
    :data:`PARENT_POLL_S` seconds that the parent is still this process's parent.
    """
    import os
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="capacity-parent-watch", daemon=True).start()


def _init_worker(payload: bytes, parent_pid: int) -> None:
    import pickle

    from capacity.stops import worker_started

    worker_started()
    die_with_parent(parent_pid)
    global _WORKER_CTX
    _WORKER_CTX = pickle.loads(payload)


def _worker_batch(task: Task) -> BatchSummary:
    assert _WORKER_CTX is not None
    return run_task(_WORKER_CTX, task)


def _dask_batch(ctx: DrawContext, task: Task) -> BatchSummary:
    return run_task(ctx, task)


EXECUTORS = ("processes", "dask", "inline")


def _end_pool(pool) -> None:
    """Cancel what has not started and terminate the workers of a process pool at once.

    ``shutdown(cancel_futures=True)`` alone would still wait for the batches in flight (up to
    seconds each); the workers are ended with SIGTERM and reaped, and the pool's manager thread
    is given a second to close its queues. ``_processes`` and ``_executor_manager_thread`` are
    the pool's own (CPython's; read defensively).
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=1.0)
    # the pool's manager thread closes its queues (and their semaphores) once it sees the
    # workers gone; a process that ends at once after a stop must not cut that short
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=1.0)


def run_tasks(ctx: DrawContext, tasks: list[Task], executor: str = "processes",
              workers: int = 1, scheduler: str | None = None,
              progress: Callable[[int], None] | None = None) -> list[BatchSummary]:
    """Evaluate and reduce batches with an executor (:func:`capacity.montecarlo.reduce.run_task`,
    in the workers); summaries in task order.

    ``processes`` uses a spawn-context process pool (no fork after HiGHS has run in this
    process); one worker runs inline. Whatever ends the wait early (a failed batch, a
    :class:`~capacity.errors.Stopped` from Ctrl-C or SIGTERM) terminates the workers at once
    instead of waiting for the batches in flight. ``dask`` starts a ``LocalCluster`` (one
    thread per worker process) unless ``scheduler`` names a running one.
    """
    done = progress or (lambda n: None)
    if executor not in EXECUTORS:
        raise InputError("--executor", f"unknown executor {executor!r} (choose from "
                         f"{', '.join(EXECUTORS)})")
    if workers < 1:
        raise InputError("--workers", "must be at least 1")
    if executor == "inline" or (executor == "processes" and workers == 1):
        out = []
        for t in tasks:
            out.append(run_task(ctx, t))
            done(t.count)
        return out
    if executor == "processes":
        import multiprocessing as mp
        import os
        import pickle
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from capacity.stops import spawning_shielded

        payload = pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL)
        results: list[BatchSummary | None] = [None] * len(tasks)
        pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)) or 1,
                                   mp_context=mp.get_context("spawn"),
                                   initializer=_init_worker, initargs=(payload, os.getpid()))
        try:
            with spawning_shielded():  # workers start here and never see a group's Ctrl-C
                futs = {pool.submit(_worker_batch, t): i for i, t in enumerate(tasks)}
            for f in as_completed(futs):
                i = futs[f]
                results[i] = f.result()
                done(tasks[i].count)
        except BaseException:  # a stop or a failed batch: end the workers now, not later
            _end_pool(pool)
            raise
        pool.shutdown(wait=True)
        return [r for r in results if r is not None]
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("--executor", "dask is not installed (pip install "
                         "'capacity[dask]')") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        shared = client.scatter(ctx, broadcast=True)
        futs = client.map(_dask_batch, [shared] * len(tasks), tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futs)}
        results = [None] * len(tasks)
        for f in as_completed(futs):
            i = index[f.key]
            results[i] = f.result()
            done(tasks[i].count)
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
