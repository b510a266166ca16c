"""The ``capacity`` command: the console script and ``python -m capacity``."""

from __future__ import annotations

import sys


def entry() -> None:
    """Run :func:`capacity.cli.main` on ``sys.argv`` and exit with its code.

    SIGINT and SIGTERM stop the run from the first moment, start-up included
    (:func:`capacity.stops.stop_on_signals`). After a stop, the run's own clean-up has already
    happened on the way out (workers ended, staging removed); the interpreter's teardown of a
    large run's objects would take most of a second more, so the process flushes its streams,
    runs the exit handlers (multiprocessing's among them) and ends at once.
    """
    from capacity.errors import Stopped
    from capacity.stops import stop_on_signals, stop_requested

    try:
        with stop_on_signals():
            from capacity.cli import main  # importing the command line takes a while too

            code = main()
    except Stopped as exc:  # stopped before main() took over
        sys.stderr.write(f"capacity: {exc.one_line()}\n")
        code = exc.exit_code
    if stop_requested() is None:
        sys.exit(code)
    import atexit
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    getattr(atexit, "_run_exitfuncs", lambda: None)()  # CPython's; elsewhere they are skipped
    os._exit(code)


if __name__ == "__main__":
    entry()
