"""Executors for batches of draws: inline, local processes (spawn), or Dask.

Results come back in task order, so the reduction does not depend on which worker ran what.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from capacity.errors import InputError
from capacity.stress.evaluate import BatchResult, DrawContext, evaluate_batch

_WORKER_CTX: DrawContext | None = None


def _init_worker(payload: bytes) -> None:
    import pickle

    global _WORKER_CTX
    _WORKER_CTX = pickle.loads(payload)


def _worker_batch(task: tuple[int, np.ndarray, list[str] | None]) -> BatchResult:
    assert _WORKER_CTX is not None
    start, rows, labels = task
    return evaluate_batch(_WORKER_CTX, start, rows, labels)


def _dask_batch(ctx: DrawContext, task: tuple[int, np.ndarray, list[str] | None]
                ) -> BatchResult:
    start, rows, labels = task
    return evaluate_batch(ctx, start, rows, labels)


EXECUTORS = ("processes", "dask", "inline")


def run_tasks(ctx: DrawContext, tasks: list[tuple[int, np.ndarray, list[str] | None]],
              executor: str = "processes", workers: int = 1, scheduler: str | None = None,
              progress: Callable[[int], None] | None = None) -> list[BatchResult]:
    """Evaluate batches with an executor; results in task order.

    ``processes`` uses a spawn-context process pool (no fork after HiGHS has run in this
    process); one worker runs inline. ``dask`` starts a ``LocalCluster`` (one thread per worker
    process) unless ``scheduler`` names a running one.
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
            out.append(evaluate_batch(ctx, *t))
            done(len(t[1]))
        return out
    if executor == "processes":
        import multiprocessing as mp
        import pickle
        from concurrent.futures import ProcessPoolExecutor

        payload = pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL)
        results: list[BatchResult | None] = [None] * len(tasks)
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)) or 1,
                                 mp_context=mp.get_context("spawn"),
                                 initializer=_init_worker, initargs=(payload,)) as pool:
            futs = {pool.submit(_worker_batch, t): i for i, t in enumerate(tasks)}
            from concurrent.futures import as_completed

            for f in as_completed(futs):
                i = futs[f]
                results[i] = f.result()
                done(len(tasks[i][1]))
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
            done(len(tasks[i][1]))
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
