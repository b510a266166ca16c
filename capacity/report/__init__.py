"""Files of a run: formats, charts, workbook, HTML report, and the one writer.

==================  ========================================================================
module              job
==================  ========================================================================
``formats``         tables and values prepared for files (workbook cells, scalars,
                    assumptions, file names)
``layout``          terminal tables laid out to a width (``capacity.cli`` prints them)
``figure``          the charts' figure kit: style, layout, PNG and SVG bytes
``charts``          charts of a set of plans and valuations as bytes
``command_charts``  the chart of one backtest or stress report as bytes
``workbook``        the ``.xlsx`` workbook as bytes
``html``            the self-contained HTML report as text
``write``           the only module that writes files: locks, atomic writes, staging
                    folders, manifest, moving into place, LP/MPS model files
==================  ========================================================================

The JSON and CSV text of a report (``json_text``, ``csv_text``, ``jsonable``, ``records``) is
made in :mod:`capacity.results` and re-exported here. Names load lazily (PEP 562), so importing
:mod:`capacity.report.write` to lock a destination costs no pandas or matplotlib.
"""

from __future__ import annotations

import importlib

# ``charts`` names a submodule and its main function. Load the (light) submodule now and bind the
# function: otherwise the first ``import capacity.report.charts`` would set the name to the module.
from capacity.report.charts import charts

_EXPORTS: dict[str, str] = {
    # capacity.results: the text of a report
    "csv_frame": "capacity.results",
    "csv_text": "capacity.results",
    "header_with_unit": "capacity.results",
    "json_text": "capacity.results",
    "jsonable": "capacity.results",
    "records": "capacity.results",
    # formats
    "assumptions_table": "capacity.report.formats",
    "cell_value": "capacity.report.formats",
    "scalars_table": "capacity.report.formats",
    # charts
    "CHART_DPI": "capacity.report.figure",
    "REPORT_CHARTS": "capacity.report.command_charts",
    "backtest_chart": "capacity.report.command_charts",
    "stress_fan_chart": "capacity.report.command_charts",
    # workbook
    "WORKBOOK_TIMESTAMP": "capacity.report.workbook",
    "_sheet_name": "capacity.report.workbook",  # tests/test_outputs.py checks it directly
    "workbook_bytes": "capacity.report.workbook",
    # html
    "html_report": "capacity.report.html",
    # write
    "check_new_file": "capacity.report.write",
    "check_out_dir": "capacity.report.write",
    "claim_destination": "capacity.report.write",
    "manifest": "capacity.report.write",
    "write_bytes_atomic": "capacity.report.write",
    "write_lp": "capacity.report.write",
    "write_mps": "capacity.report.write",
    "write_output_dir": "capacity.report.write",
    "write_rich_outputs": "capacity.report.write",
    "write_text_atomic": "capacity.report.write",
}

__all__ = [
    "CHART_DPI",
    "REPORT_CHARTS",
    "WORKBOOK_TIMESTAMP",
    "assumptions_table",
    "backtest_chart",
    "cell_value",
    "charts",
    "check_new_file",
    "check_out_dir",
    "claim_destination",
    "csv_frame",
    "csv_text",
    "header_with_unit",
    "html_report",
    "json_text",
    "jsonable",
    "manifest",
    "records",
    "scalars_table",
    "stress_fan_chart",
    "workbook_bytes",
    "write_bytes_atomic",
    "write_lp",
    "write_mps",
    "write_output_dir",
    "write_rich_outputs",
    "write_text_atomic",
]


def __getattr__(name: str):
    """Load an exported name from its module on first use (PEP 562)."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, "charts", "command_charts", "figure", "formats", "html", "layout",
                   "workbook", "write"})
