"""Tables and values prepared for files: workbook cells, the scalars and assumptions tables, names.

Pure functions of reports and scenarios: nothing here writes or prints. The JSON and CSV text of
one table (``csv_frame``, ``csv_text``, ``json_text``) lives in :mod:`capacity.results`, below
this package, so that a :class:`~capacity.results.Report` can serialise itself.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from capacity.results import Report, jsonable, unit_of


def cell_value(v: Any) -> Any:
    """A value as a workbook cell: numbers stay numbers, NaN empty, lists as JSON text."""
    v = jsonable(v)
    if isinstance(v, list | dict):
        text = json.dumps(v, ensure_ascii=False)
        return text if len(text) <= 32000 else text[:31997] + "..."
    return v


def assumptions_table(scenarios: list) -> pd.DataFrame:
    """Every input as a dotted key, its value per scenario, its source and who changed it.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, one column per scenario (named by the scenario), ``source`` (from the
        baseline's ``[sources]`` via ``Scenario.source_of``) and ``changed_by`` (``scenario:
        file [override]`` for each scenario that changed the key).
    """
    from capacity.scenarios import flatten

    flats = [flatten(sc.inputs.model_dump(mode="json")) for sc in scenarios]
    keys: list[str] = []
    seen: set[str] = set()
    for flat in flats:
        for k in flat:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    rows = []
    for key in keys:
        row: dict[str, Any] = {"key": key}
        for sc, flat in zip(scenarios, flats, strict=True):
            row[sc.name] = flat.get(key)
        row["source"] = scenarios[0].source_of(key) if scenarios else ""
        who = []
        for sc in scenarios:
            origins = [c.origin for c in sc.changes if c.key == key or c.key.startswith(key + ".")
                       or key.startswith(c.key + ".")]
            if origins:
                who.append(f"{sc.name}: {origins[-1]}")
        row["changed_by"] = "; ".join(who)
        rows.append(row)
    return pd.DataFrame(rows, columns=["key", *[sc.name for sc in scenarios], "source",
                                       "changed_by"])


def scalars_table(reports: list[Report]) -> pd.DataFrame:
    """Every scalar of every report, one row each: ``report``, ``scenario``, ``key``, ``value``,
    ``unit`` (what a valuation model links a single cell to, e.g. ``target_price_hkd``)."""
    rows = []
    for r in reports:
        for k, v in r.scalars.items():
            if k in ("changes",):
                continue
            rows.append({"report": r.kind, "scenario": r.scalars.get("scenario", ""),
                         "key": k, "value": cell_value(v), "unit": unit_of(k)})
    return pd.DataFrame(rows, columns=["report", "scenario", "key", "value", "unit"])




def file_prefix(report: Report, multi: bool) -> str:
    """Prefix of a report's file names in an ``--out`` folder: ``<scenario>_`` (or ``<kind>_``)
    when the folder holds several reports, else nothing."""
    return f"{report.scalars.get('scenario', report.kind)}_" if multi else ""


def workbook_name(reports: list[Report]) -> str:
    """File name of the workbook of an ``--out`` folder: ``compare.xlsx`` for a comparison, else
    the report kinds joined by ``_`` (``plan.xlsx``)."""
    kinds = list(dict.fromkeys(r.kind for r in reports))
    book = "compare" if "compare" in kinds else "_".join(kinds) or "capacity"
    return f"{book}.xlsx"
