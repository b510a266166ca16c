"""Clean stops: SIGINT and SIGTERM become :class:`~capacity.errors.Stopped` in the main thread.

A terminal's Ctrl-C sends SIGINT to the whole process group, ``kill PID`` sends SIGTERM to the
main process alone. Both must end a run within a second, with one line, no traceback and no
partial output. The pieces:

- :func:`stop_on_signals` (the command line's entry point holds it for a run): both signals raise
  :class:`~capacity.errors.Stopped` in the main thread, and any later one is ignored while the
  run unwinds, so clean-up in ``finally`` blocks is not itself interrupted;
- :func:`deferred_stops` (around third-party code that catches every exception, such as
  PuLP's import of highspy under a bare ``except:``): both signals wait until the block ends,
  so they cannot be swallowed;
- :func:`stop_requested` (the entry point checks it after the run): whether a stop came, in
  case some code on the way swallowed the :class:`~capacity.errors.Stopped` anyway;
- :func:`spawning_shielded` (the process pool holds it while it starts workers): both signals
  wait in the parent until the children have their start-up data; each child starts with them
  blocked (a signal mask is inherited through fork and exec), opens SIGTERM again
  (:func:`worker_started`) and keeps SIGINT blocked, so a Ctrl-C to the group reaches only the
  parent, which then ends the workers itself.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from capacity.errors import Stopped

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a run."""


_STOPS: list[int] = []
"""The signals received by :func:`_raise_stopped` in this process (the first one counts)."""


def stop_requested() -> int | None:
    """The first stop signal this process received under :func:`stop_on_signals`, or None."""
    return _STOPS[0] if _STOPS else None


def _raise_stopped(signum: int, frame) -> None:
    _STOPS.append(signum)
    for s in STOP_SIGNALS:  # the run is unwinding: a second Ctrl-C must not cut its clean-up
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Stopped` in the main thread.

    Outside the main thread (where Python cannot set handlers) it does nothing. The previous
    handlers come back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    _STOPS.clear()
    try:
        for s in STOP_SIGNALS:
            signal.signal(s, _raise_stopped)
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _blocked(signals: set[int]) -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def deferred_stops():
    """Hold SIGINT and SIGTERM back in this thread until the block ends (then they arrive)."""
    return _blocked(set(STOP_SIGNALS))


@contextlib.contextmanager
def spawning_shielded() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in this thread while child processes start in the block.

    A stop that arrived while the parent was still writing a child's start-up data (the pickled
    process object) would cut it short, and the child would print an ``UnpicklingError``; held
    back, it arrives as soon as the block ends. The children inherit the blocked mask: SIGINT
    stays blocked in them (a group-wide Ctrl-C reaches only the parent, which ends them), and
    :func:`worker_started` opens SIGTERM again, the signal the parent ends them with.
    """
    with _blocked(set(STOP_SIGNALS)):
        yield


def worker_started() -> None:
    """In a worker started under :func:`spawning_shielded`: let SIGTERM end it again."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
