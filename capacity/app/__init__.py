"""``capacity serve``: a local web app to explore a scenario in the browser.

The analyst picks a scenario (and a base to compare with), switches export-control rules on and
off, moves inputs by their ``--set`` keys and sees the plan and the valuation re-solved
(:mod:`capacity.app.state` holds the settings and the cached results, :mod:`capacity.app.web`
the page). It talks to people, like :mod:`capacity.cli`: the only other room that may.

It needs the optional extra ``pip install 'capacity[app]'`` (Dash and waitress); :func:`serve`
says so in one line when it is missing. The server is waitress, a production WSGI server: it
refuses an oversized body from its headers, reads bodies in its event loop (a slow client holds
no worker thread) and answers from a pool of threads; :class:`capacity.app.guard.BodyGuard`
checks each callback body in front of Dash. Every bound is in :mod:`capacity.app.limits`.
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
    """Raise :class:`MissingExtraError` (one line, with the install command) when Dash, plotly
    or waitress cannot be imported."""
    try:
        import dash  # noqa: F401
        import plotly  # noqa: F401
        import waitress  # noqa: F401
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


def make_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
    """The app behind waitress, bound to ``host:port`` but not yet serving (``.run()`` serves;
    ``port=0`` takes a free port, ``.effective_port`` says which).

    Every request bound is one of :mod:`capacity.app.limits`: body size (413 from the headers,
    nothing read), header size, idle and half-sent connections closed after
    :data:`~capacity.app.limits.CHANNEL_TIMEOUT_S`, the number of connections and of worker
    threads; callback bodies are checked by :class:`~capacity.app.guard.BodyGuard`.
    """
    import logging

    from waitress import create_server

    from capacity.app import limits
    from capacity.app.guard import BodyGuard
    from capacity.app.state import warm
    from capacity.app.web import make_app

    # a queue-depth warning per burst of requests is noise for an analyst; errors still show
    logging.getLogger("waitress").setLevel(logging.ERROR)
    app = make_app()
    warm()  # the view a page opens on, solved before the server listens (served in the HTML)
    app.server.test_client().get("/")  # Dash's first-request setup, done before listening too
    wsgi = BodyGuard(app.server, lambda: app.callback_map)
    return create_server(
        wsgi, host=host, port=port, threads=limits.SERVER_THREADS,
        max_request_body_size=limits.MAX_REQUEST_BODY_BYTES,
        max_request_header_size=limits.MAX_REQUEST_HEADER_BYTES,
        channel_timeout=limits.CHANNEL_TIMEOUT_S, cleanup_interval=limits.CLEANUP_INTERVAL_S,
        connection_limit=limits.MAX_CONNECTIONS, ident="capacity",
        clear_untrusted_proxy_headers=True)


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Start the app on ``host:port`` and serve until interrupted.

    Raises
    ------
    MissingExtraError
        Without the ``app`` extra.
    """
    require_extra()
    check_address(host, port)
    server = make_server(host, port)
    sys.stderr.write(f"capacity serve: http://{host}:{port}/ (Ctrl-C to stop)\n")
    sys.stderr.flush()
    server.run()
