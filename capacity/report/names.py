"""Every output column of every command: its unit and what it means (issue 16, item 7).

The tables are :data:`COLUMNS`, keyed by ``<command>.<table>`` then column name, and
:data:`KPIS` (written in :mod:`capacity.report.columns`). They are the source of
``docs/nomenclature.md`` (:func:`nomenclature_markdown`; ``python -m capacity.report.names``
prints it) and of the field descriptions in the ``datapackage.json`` of an ``--out`` folder
(:func:`describe`). Units are written as :data:`capacity.results.UNIT_SUFFIXES` spells them
(``share`` is a fraction 0..1, ``RMB m`` millions of renminbi); ``""`` marks text, labels and
flags. A unit ``see unit`` means the row's own ``unit`` column gives it.
"""

from __future__ import annotations

import re

from capacity.report.columns import COLUMNS, FILE_COLUMNS, KPI_LONG_COLUMNS, KPIS, SEE_UNIT
from capacity.report.keys import keys_rows

__all__ = ["COLUMNS", "FILE_COLUMNS", "KPIS", "KPI_LONG_COLUMNS", "SEE_UNIT", "describe",
           "kpi_entry", "nomenclature_markdown"]

_QUARTER = re.compile(r"\d{4}Q[1-4]")


def kpi_entry(name: str) -> tuple[str, str, str] | None:
    """The :data:`KPIS` entry a KPI name matches (``peak_eflops_2025Q4`` ->
    ``peak_eflops_<q>``), or None."""
    for pattern, entry in KPIS.items():
        rx = re.escape(pattern).replace("<q>", r"\d{4}Q[1-4]").replace("<y>", r"\d{4}")
        if re.fullmatch(rx, name):
            return entry
    return None


def describe(kind: str, table: str, column: str) -> tuple[str, str] | None:
    """(unit, definition) of a column of a command's table, or None when undocumented."""
    cols = COLUMNS.get(f"{kind}.{table}", {})
    if column in cols:
        return cols[column]
    if column in FILE_COLUMNS:  # added by --out files, or a column of the long kpis.csv
        return FILE_COLUMNS[column]
    if kind == "controls" and table == "timeline" and _QUARTER.fullmatch(column):
        return cols["<quarter>"]
    if kind == "compare" and table == "kpis_text":  # one column per scenario
        return cols["<scenario>"]
    if kind == "compare" and table == "kpis":  # the wide table: one column per scenario
        if "_vs_" in column:
            return cols["<scenario>_vs_<reference>"]
        return cols["<scenario>"]
    return None


def nomenclature_markdown() -> str:
    """The text of ``docs/nomenclature.md``."""
    lines = [
        "# Nomenclature: every output column, its unit and meaning",
        "",
        "Generated from `capacity/report/names.py` (`python -m capacity.report.names > "
        "docs/nomenclature.md`);",
        "tests check that every top-level key and every column of every command's JSON and CSV "
        "output",
        "is listed here (tests/test_nomenclature.py, tests/test_tidy_outputs.py).",
        "",
        "Units: `share` is a fraction (0.25 = 25%), `RMB m` millions of renminbi, `HKD` Hong "
        "Kong dollars",
        "per share, `EFLOPS` 10^18 FLOP/s (dense, peak unless the name says effective), "
        "`units` GPUs.",
        "A unit `see unit` means the row's own `unit` column gives it. Column names carry their "
        "unit as",
        "a suffix (`_eflops`, `_m`, `_units`, `_share`, `_mw`, `_pct`); a money key carries "
        "no currency",
        "(`revenue_m`, `target_price`: the unit column says which). Quarters are text like",
        "`2024Q3` in files. `null` in JSON (an empty cell in CSV) appears only where a "
        "definition says so.",
        "",
        "Currencies: `RMB` in a unit is the subject's reporting currency (`_m` keys), "
        "`HKD` (per-share keys)",
        "its listing currency, as the subject's `subject.toml` states them "
        "(docs/subjects.md); headers and",
        "labels print the subject's own (`revenue [USDm]` for a subject reporting in US "
        "dollars), and plan,",
        "value and compare carry them in their `currency` field.",
        "",
    ]
    kinds = list(dict.fromkeys(key.split(".")[0] for key in COLUMNS))
    ordered = [k for kind in kinds for k in COLUMNS if k.split(".")[0] == kind]
    current = ""
    for key in ordered:  # each command's tables under one heading
        cols = COLUMNS[key]
        kind, table = key.split(".")
        if kind != current:
            lines += [f"## `capacity {kind}`", "", *keys_rows(kind)]
            current = kind
        lines += [f"### `{table}`", "", "| column | unit | definition |", "| --- | --- | --- |"]
        lines += [f"| `{c}` | {u} | {d} |" for c, (u, d) in cols.items()]
        lines.append("")
    lines += ["## Columns of `--out` files", "",
              "`--out` writes one long table per kind of table across scenarios (`quarters.csv`"
              " holds every",
              "scenario's plan quarters) with these columns added, and the compare KPIs as "
              "`kpis.csv` with",
              "one row per KPI and scenario: " + ", ".join(f"`{c}`" for c in KPI_LONG_COLUMNS)
              + ".", "",
              "| column | unit | definition |", "| --- | --- | --- |"]
    lines += [f"| `{c}` | {u} | {d} |" for c, (u, d) in FILE_COLUMNS.items()]
    lines += ["", "## KPIs", "",
              "The rows of `compare`'s `kpis` table and `stress`'s `percentiles`, and the KPIs a "
              "`stress",
              "--threshold` tests (`peak_eflops_2026Q4>=10`; the older `peak_eflops@2026Q4>=10` "
              "is read as",
              "an alias). `<q>` is a quarter like `2025Q4`, `<y>` a year. A quantity has one name "
              "and one unit",
              "in every command that reports it.", "",
              "| kpi | unit | reported by | definition |", "| --- | --- | --- | --- |"]
    lines += [f"| `{k}` | {u} | {c} | {d} |" for k, (u, c, d) in KPIS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(nomenclature_markdown(), end="")
