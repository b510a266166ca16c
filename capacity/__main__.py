"""The ``capacity`` command: the console script and ``python -m capacity``."""

from __future__ import annotations

import sys


def entry() -> None:
    """Run :func:`capacity.cli.main` on ``sys.argv`` and exit with its code.

    SIGINT and SIGTERM stop the run from the first moment, start-up included
    (:func:`capacity.stops.stop_on_signals`): importing the command line takes a while too.
    """
    from capacity.errors import Stopped
    from capacity.stops import stop_on_signals

    try:
        with stop_on_signals():
            from capacity.cli import main

            code = main()
    except Stopped as exc:  # stopped before main() took over
        sys.stderr.write(f"capacity: {exc.one_line()}\n")
        code = exc.exit_code
    sys.exit(code)


if __name__ == "__main__":
    entry()
