"""Commands of the ``capacity`` command line that read no scenario: ``subjects`` (the shipped
subjects) and ``serve`` (the browser app). :func:`register` adds them to the typer app of
:mod:`capacity.cli`, which stays the one module that renders a report.

Like :mod:`capacity.cli`, this module imports only typer at load time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from capacity.cli_options import ColumnsOpt, Format, FormatOpt, split_columns


def serve(
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, metavar="PORT",
                                      help="Port to listen on.")] = 8050,
    host: Annotated[str, typer.Option("--host", metavar="HOST",
                                      help="Address to listen on (default: this "
                                      "machine only).")] = "127.0.0.1",
) -> None:
    """Explore scenarios in the browser: pick a scenario and rules, move inputs, see the plan
    and valuation re-solved (needs pip install 'capacity[app]')."""
    from capacity.app import serve as run_app

    run_app(host=host, port=port)


def register(app: typer.Typer, render: Callable[..., None]) -> None:
    """Add ``subjects`` and ``serve`` to ``app``; ``render`` prints a report
    (:func:`capacity.cli.render`)."""

    @app.command(name="subjects")
    def subjects(fmt: FormatOpt = Format.table, columns: ColumnsOpt = None) -> None:
        """List the shipped subjects: name (what --subject takes), folder, latest vintage,
        number of vintages, reporting and listing currency."""
        from capacity.results import Report
        from capacity.subjects import subjects_table

        render(Report("subjects", tables={"subjects": subjects_table()}, primary="subjects",
                      titles={"subjects": "Shipped subjects (--subject NAME, or a folder)"}),
               fmt, None, split_columns(columns))

    app.command(name="serve")(serve)
