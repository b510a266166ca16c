"""``capacity serve``: a local web app to explore a scenario in the browser.

The analyst picks a scenario (and a base to compare with), switches export-control rules on and
off, moves inputs by their ``--set`` keys and sees the plan and the valuation re-solved
(:mod:`capacity.app.state` holds the settings and the cached results, :mod:`capacity.app.web`
the page). It talks to people, like :mod:`capacity.cli`: the only other room that may.

It needs the optional extra ``pip install 'capacity[app]'`` (Dash); :func:`serve` says so in one
line when it is missing.
"""

from __future__ import annotations

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


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Start the app on ``host:port`` and serve until interrupted.

    Raises
    ------
    MissingExtraError
        Without the ``app`` extra.
    """
    require_extra()
    from capacity.app.web import make_app

    app = make_app()
    sys.stderr.write(f"capacity serve: http://{host}:{port}/ (Ctrl-C to stop)\n")
    sys.stderr.flush()
    app.run(host=host, port=port, debug=False, dev_tools_ui=False, dev_tools_props_check=False)
