"""The start of a stress worker process, cheap to import.

A spawned worker unpickles its initializer (a reference to this module) before the bytes of
its draw context, and the parent's write of those bytes waits until the worker reads them. So
the initializer lives here, where importing it costs nothing: the parent is free again at
once (a stop held back while workers start arrives without delay), and the worker does its
heavy imports (numpy, pandas, the planner) afterwards, in :func:`init_worker`.
"""

from __future__ import annotations

_CONTEXT: list = []
"""The worker's draw context, once loaded (one item)."""

PARENT_POLL_S = 0.5
"""How often a worker checks that its parent is alive where the OS cannot tell it. [s]"""


def init_worker(payload: bytes, parent_pid: int) -> None:
    """In a new worker: open SIGTERM again, die with the parent, then load the draw context
    (unpickling it imports what it needs)."""
    import pickle

    from capacity.stops import worker_started

    worker_started()
    die_with_parent(parent_pid)
    _CONTEXT[:] = [pickle.loads(payload)]


def worker_context():
    """The draw context :func:`init_worker` loaded in this worker
    (:class:`capacity.montecarlo.evaluate.DrawContext`)."""
    if not _CONTEXT:
        raise RuntimeError("not a stress worker started by init_worker")
    return _CONTEXT[0]


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
