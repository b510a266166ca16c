"""Executors for batches of draws: inline, local processes (spawn), or Dask.

Results come back in task order, so the reduction does not depend on which worker ran what.
"""

from __future__ import annotations

from collections.abc import Callable

from capacity.errors import InputError
from capacity.montecarlo.evaluate import DrawContext
from capacity.montecarlo.reduce import BatchSummary, Task, run_task


def _worker_batch(task: Task) -> BatchSummary:
    from capacity.montecarlo_boot import worker_context

    return run_task(worker_context(), task)


def _dask_batch(ctx: DrawContext, task: Task) -> BatchSummary:
    return run_task(ctx, task)


EXECUTORS = ("processes", "dask", "inline")


def _end_pool(pool) -> None:
    """Cancel what has not started and terminate the workers of a process pool at once.

    ``shutdown(cancel_futures=True)`` alone would still wait for the batches in flight (up to
    seconds each); the workers are killed (SIGKILL: a worker still starting up holds SIGTERM
    back until its start-up data is read, and it owns nothing that needs a clean exit) and
    reaped, and the pool's manager thread is given a second to close its queues.
    ``_processes`` and ``_executor_manager_thread`` are the pool's own (CPython's; read
    defensively).
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.kill()
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

        from capacity.montecarlo_boot import init_worker
        from capacity.stops import spawning_shielded

        payload = pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL)
        results: list[BatchSummary | None] = [None] * len(tasks)
        pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)) or 1,
                                   mp_context=mp.get_context("spawn"),
                                   initializer=init_worker, initargs=(payload, os.getpid()))
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
