"""Tables and values prepared for files: workbook cells, the scalars and assumptions tables, names.

Pure functions of reports and scenarios: nothing here writes or prints. The JSON and CSV text of
one table (``csv_frame``, ``csv_text``, ``json_text``) lives in :mod:`capacity.results`, below
this package, so that a :class:`~capacity.results.Report` can serialise itself.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from capacity.results import Report, csv_frame, jsonable, money_text, unit_of


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
    ``unit`` (what a valuation model links a single cell to, e.g. ``target_price``)."""
    rows = []
    for r in reports:
        for k, v in r.scalars.items():
            if k in ("changes",):
                continue
            rows.append({"report": r.kind, "scenario": r.scalars.get("scenario", ""),
                         "key": k, "value": cell_value(v),
                         "unit": money_text(unit_of(k))})  # the subject's currencies
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


# --------------------------------------------------------------------------------------------
# Tidy long tables of an --out folder, and their Frictionless data package
# --------------------------------------------------------------------------------------------


def json_name(report: Report, reports: list[Report]) -> str:
    """File name of a report's JSON in an ``--out`` folder: ``<kind>.json`` when it is the only
    report of its kind (``compare.json``, ``plan.json``), else ``<kind>_<scenario>.json``."""
    same = [r for r in reports if r.kind == report.kind]
    if len(same) == 1 or "scenario" not in report.scalars:
        return f"{report.kind}.json"
    return f"{report.kind}_{report.scalars['scenario']}.json"


def _text_cell(v: Any) -> Any:
    """A cell of a text column: text stays, numbers and lists become their JSON text."""
    v = jsonable(v)
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


def _uniform(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column one type: object columns of mixed values become text (for Parquet)."""
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            frame[col] = pd.array([_text_cell(v) for v in s], dtype=object)
    return frame


def kpis_long(report: Report) -> pd.DataFrame:
    """The compare KPI table as a long table: one row per KPI and scenario.

    Columns :data:`capacity.report.names.KPI_LONG_COLUMNS`: ``value`` the KPI, ``vs_reference``
    the scenario minus the reference (the first scenario; empty for the reference). Text KPIs
    are in the ``kpis_text`` table.
    """
    import math

    from capacity.report.names import KPI_LONG_COLUMNS

    wide = report.tables["kpis"]
    scen = [str(c) for c in wide.columns if c not in ("kpi", "unit") and "_vs_" not in str(c)]
    ref = str(report.scalars.get("reference", scen[0] if scen else ""))
    rows = []
    for r in wide.to_dict("records"):
        base = r.get(ref)
        for s in scen:
            v = r[s]
            number = isinstance(v, int | float) and not isinstance(v, bool) \
                and math.isfinite(float(v))
            diff = None
            if number and s != ref and isinstance(base, int | float) and not isinstance(base, bool):
                diff = float(v) - float(base)
            rows.append({"kpi": r["kpi"], "unit": r["unit"], "scenario": s,
                         "value": float(v) if number else math.nan, "reference": ref,
                         "vs_reference": math.nan if diff is None else diff})
    return pd.DataFrame(rows, columns=KPI_LONG_COLUMNS)


def tidy_tables(reports: list[Report]) -> dict[str, tuple[str, str, pd.DataFrame]]:
    """One long table per kind of table across the reports of an ``--out`` folder.

    The same table of every scenario (each plan's ``quarters``) goes into one frame with a
    ``scenario`` column first; the compare KPIs become :func:`kpis_long` and the text KPIs
    ``kpi, scenario, text``. Values are as in the
    CSV (rounded, quarters as text), every column holds one type.

    Returns
    -------
    dict
        File stem -> (report kind, table name, frame). The stem is the table name, or
        ``<kind>_<table>`` when reports of two kinds have a table of that name (a comparison's
        ``binding`` and the plans' ``binding``: ``compare_binding``, ``plan_binding``).
    """
    kinds_of: dict[str, set[str]] = {}
    for r in reports:
        for name in r.tables:
            kinds_of.setdefault(name, set()).add(r.kind)
    parts: dict[str, tuple[str, str, list[pd.DataFrame]]] = {}
    for r in reports:
        for name, df in r.tables.items():
            stem = name if len(kinds_of[name]) == 1 else f"{r.kind}_{name}"
            if r.kind == "compare" and name == "kpis":
                frame = csv_frame(kpis_long(r))
            elif r.kind == "compare" and name == "kpis_text":
                frame = csv_frame(df.melt(id_vars="kpi", var_name="scenario", value_name="text"))
            else:
                frame = csv_frame(df)
                if "scenario" in r.scalars and "scenario" not in frame.columns:
                    frame.insert(0, "scenario", str(r.scalars["scenario"]))
            parts.setdefault(stem, (r.kind, name, []))[2].append(frame)
    out = {}
    for stem, (kind, name, frames) in parts.items():
        frames = [f for f in frames if len(f.columns)]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        out[stem] = (kind, name, _uniform(frame.reset_index(drop=True)))
    return out


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A long table as Parquet bytes (pyarrow, snappy, no index; same frame, same bytes)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    units = frame.attrs.get("unit")
    if units is not None:  # the units pandas stores in the file, in the subject's currencies
        frame = frame.copy(deep=False)
        frame.attrs["unit"] = ({k: money_text(str(u)) for k, u in units.items()}
                               if isinstance(units, dict) else money_text(str(units)))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


def _field_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_float_dtype(s):
        return "number"
    values = [v for v in s if v is not None and v == v]
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    return "string"


def _field(kind: str, table: str, column: str, s: pd.Series) -> dict[str, Any]:
    from capacity.report.names import describe

    known = describe(kind, table, column)
    unit, definition = known if known else (unit_of(column), "")
    unit, definition = money_text(unit), money_text(definition)  # the subject's currencies
    field: dict[str, Any] = {"name": column, "type": _field_type(s)}
    if field["type"] == "boolean":
        field["trueValues"], field["falseValues"] = ["True", "true"], ["False", "false"]
    field["description"] = f"{definition} [unit: {unit or 'none'}]".strip()
    field["unit"] = unit
    if len(s) and not s.isna().any() and not (s.astype(str) == "").any():  # "" is missing in CSV
        field["constraints"] = {"required": True}
    return field


def data_sources(scenarios: list) -> list[dict[str, str]]:
    """The sources of a run's data: each disclosure document once (its citation and as-of
    date), and each scenario's input files."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for sc in scenarios:
        for cite, as_of in _citations(sc):
            if cite not in seen:
                seen.add(cite)
                out.append({"title": cite, "version": as_of})
    for sc in scenarios:
        files = ", ".join(sorted(sc.files))
        out.append({"title": f"scenario {sc.name}: {sc.description}",
                    "path": files} if files else {"title": f"scenario {sc.name}"})
    return out


def _citations(scenario) -> list[tuple[str, str]]:
    """(document, as-of date) of each disclosure document of a scenario, in file order."""
    d = getattr(scenario, "disclosures", None)
    if d is None or "source" not in d:
        return []
    out: dict[str, str] = {}
    for src, as_of in zip(d["source"], d.get("published", [""] * len(d)), strict=True):
        doc = str(src).split(":", 1)[0].split(" (", 1)[0].strip()
        if doc:
            out[doc] = max(out.get(doc, ""), str(as_of))
    return list(out.items())


def chart_footer(reports: list[Report], scenarios: list) -> str:
    """The source-and-date line of every chart: version, scenarios, data citations, as-of.

    Dated by the data (each disclosure document's publication date, the vintage's as-of date and
    the base period), never by the clock, so the same inputs give the same chart bytes.
    """
    from capacity._version import __version__

    names = list(dict.fromkeys(
        [sc.name for sc in scenarios]
        or [str(r.scalars["scenario"]) for r in reports if "scenario" in r.scalars]))
    cites: dict[str, str] = {}
    for sc in scenarios:
        for doc, as_of in _citations(sc):
            cites[doc] = max(cites.get(doc, ""), as_of)
    bases = sorted({str(sc.inputs.horizon.base) for sc in scenarios if hasattr(sc, "inputs")}
                   | {str(r.scalars["base_period"]) for r in reports
                      if "base_period" in r.scalars})
    data = "; ".join(f"{doc} ({as_of})" if as_of else doc for doc, as_of in cites.items())
    vintages = sorted({sc.as_of.isoformat() for sc in scenarios if hasattr(sc, "as_of")})
    label = "scenario" if len(names) == 1 else "scenarios"
    text = f"Source: capacity {__version__}, {label} {', '.join(names) or 'n/a'}"
    text += f"; data: {data}" if data else "; data: see manifest.json"
    if vintages:
        text += f"; inputs as of {', '.join(vintages)}"
    if bases:
        text += f"; base period {', '.join(bases)}"
    return text + "."


def datapackage(tables: dict[str, tuple[str, str, pd.DataFrame]], reports: list[Report],
                scenarios: list, titles: dict[str, str] | None = None) -> dict[str, Any]:
    """A Frictionless (Data Package v1) descriptor of the long tables of a folder.

    Every CSV is a ``tabular-data-resource`` with a schema (name, type, description with the
    unit, ``unit``, ``required`` where no cell is empty); each Parquet file is a resource with
    the same schema. ``sources`` lists the disclosure documents and scenario files.
    """
    from capacity._version import __version__

    kinds = list(dict.fromkeys(r.kind for r in reports))
    resources = []
    for stem, (kind, table, frame) in tables.items():
        fields = [_field(kind, table, str(c), frame[c]) for c in frame.columns]
        title = (titles or {}).get(stem) or f"{kind} {table}"
        schema = {"fields": fields, "missingValues": [""]}
        base = {"title": title,
                "description": f"Table {table!r} of capacity {kind}, every scenario of the run "
                               "in one long table" if "scenario" in frame.columns else
                               f"Table {table!r} of capacity {kind}"}
        resources.append({"name": stem.lower(), "path": f"{stem}.csv",
                          "profile": "tabular-data-resource", **base, "format": "csv",
                          "mediatype": "text/csv", "encoding": "utf-8",
                          "dialect": {"delimiter": ",", "header": True,
                                      "lineTerminator": "\n"},
                          "schema": schema})
        resources.append({"name": f"{stem.lower()}-parquet", "path": f"{stem}.parquet",
                          "profile": "data-resource", **base, "format": "parquet",
                          "mediatype": "application/vnd.apache.parquet", "schema": schema})
    return {
        "profile": "data-package",  # CSVs are tabular resources, Parquet files plain ones
        "name": "capacity-" + "-".join(kinds),
        "title": f"capacity {', '.join(kinds)}: "
                 + ", ".join(sc.name for sc in scenarios),
        "version": __version__,
        "description": "Long tables of one capacity run (one per kind of table, scenario as a "
                       "column). Units are in each field's unit and description; "
                       "docs/nomenclature.md defines every column; manifest.json holds the "
                       "resolved inputs.",
        "sources": data_sources(scenarios),
        "resources": resources,
    }
