"""Commands of the ``capacity`` command line across subjects or without a scenario:
``subjects`` (the shipped subjects), ``comps`` (one row per subject in one currency) and
``serve`` (the browser app). :func:`register` adds them to the typer app of
:mod:`capacity.cli`, which stays the one module that renders a report.

Like :mod:`capacity.cli`, this module imports only typer at load time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from capacity.cli_options import (
    AS_OF,
    ColumnsOpt,
    Format,
    FormatOpt,
    OutOpt,
    OverwriteOpt,
    SolverOpt,
    busy,
    claim_out,
    split_columns,
    table_option,
)


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

    @app.command(name="comps")
    def comps(
        subjects: Annotated[list[str] | None, typer.Option(
            "--subject", metavar="NAME|DIR", help="A subject to compare: a shipped name or a "
            "subject folder (repeatable; default: every shipped subject).")] = None,
        currency: Annotated[str, typer.Option(
            "--currency", metavar="CODE", help="Currency of every amount, converted at each "
            "subject's dated FX series (the fx rows of its subject.toml; the fx table lists "
            "the rates used).")] = "USD",
        backtest: Annotated[bool, typer.Option(
            "--backtest/--no-backtest", help="Run each subject's rolling backtest for its "
            "revenue error at one half-year (a few seconds a subject).")] = True,
        samples: Annotated[int, typer.Option(
            "--backtest-samples", min=1, metavar="N", help="Draws per vintage of that "
            "backtest.")] = 20,
        fmt: FormatOpt = Format.table,
        table: table_option("comps", "fx") = None,
        columns: ColumnsOpt = None,
        solver: SolverOpt = "highs",
        out: OutOpt = None,
        overwrite: OverwriteOpt = False,
    ) -> None:
        """Comps across subjects in one currency: fleet (GPUs, EFLOPS, MW), revenue, compute
        per revenue, EV/Sales and EV/EBITDA at the dated share price, the model's target
        price and upside, and the backtest's revenue error. --as-of DATE: every subject as
        of that date (default: each one's latest vintage)."""
        from capacity.comps_report import comps_report
        from capacity.scenarios.vintages import as_of_date

        asked = as_of_date(AS_OF["value"]) if AS_OF["value"] is not None else None
        from capacity.subjects import labels_in_one_currency

        with claim_out(out, overwrite):
            with busy("comps") as update:
                report = comps_report(subjects, asked, currency, backtest, solver, samples,
                                      progress=update)
            with labels_in_one_currency(report.scalars["currency"]):
                if out is not None:
                    from capacity.cli_options import write_outputs

                    write_outputs(out, [report], [], overwrite)
        with labels_in_one_currency(report.scalars["currency"]):
            render(report, fmt, table, split_columns(columns))

    app.command(name="serve")(serve)
