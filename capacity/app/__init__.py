"""``capacity serve``: a local web app to explore a scenario in the browser.

The analyst picks a scenario (and a base to compare with), switches export-control rules on and
off, moves inputs by their ``--set`` keys and sees the plan and the valuation re-solved
(:mod:`capacity.app.state` holds the settings and the cached results, :mod:`capacity.app.web`
the page). It talks to people, like :mod:`capacity.cli`: the only other room that may.

It needs the optional extra ``pip install 'capacity[app]'`` (Dash); :func:`serve` says so in one
line when it is missing.
"""

from __future__ import annotations

import errno
import sys

from capacity.errors import CapacityError

DEFAULT_HOST = "127.0.0.1"
"""Where the app listens unless told otherwise: this machine only."""

DEFAULT_PORT = 8050
"""Port it listens on unless told otherwise."""


class MissingExtraError(CapacityError):
    """The ``app`` extra (Dash) is not installed."""


def require_extra() -> None:
    """Raise :class:`MissingExtraError` (one line, with the install command) when Dash or
    plotly cannot be imported."""
    try:
        import dash  # noqa: F401
        import plotly  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("capacity serve", f"needs the app extra ({exc.name} is not "
                                "installed): pip install 'capacity[app]'") from None


def check_address(host: str, port: int) -> None:
    """Refuse, in one line, an address this machine cannot listen on (a port in use, a host
    that is not one of its addresses), before anything is loaded.

    Raises
    ------
    InputError
        ``--port: 127.0.0.1:8050 is in use ...`` or ``--host: ...``.
    """
    import socket

    from capacity.errors import InputError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError("--host", f"{host!r} is not an address of this machine ({exc})") \
            from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError("--port", f"{host}:{port} is in use by another program "
                                 "(pick another with --port)") from None
            raise InputError("--host", f"cannot listen on {host}:{port}: "
                             f"{exc.strerror or exc}") from None


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Start the app on ``host:port`` and serve until interrupted.

    Raises
    ------
    MissingExtraError
        Without the ``app`` extra.
    """
    require_extra()
    check_address(host, port)
    import logging

    from capacity.app.web import make_app

    # one line per request and the development-server banner are noise for an analyst on
    # 127.0.0.1; errors still reach the terminal
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = make_app()
    sys.stderr.write(f"capacity serve: http://{host}:{port}/ (Ctrl-C to stop)\n")
    sys.stderr.flush()
    app.run(host=host, port=port, debug=False, dev_tools_ui=False, dev_tools_props_check=False)
