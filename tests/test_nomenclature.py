"""Every JSON key of every command has its row in docs/nomenclature.md (issue 30, item 4).

The rule, at the latest vintage (the default) and at the 1H23 vintage (``--as-of 2023-08-31``):

- the page has one section per command, ``## `capacity <command>` ``, and in it a ``### keys``
  table and one ``### `<table>` `` table per table the command reports;
- a **top-level key** of command C (a scalar, a list such as ``notes``, or a table's name) is
  documented when a row of C's ``keys`` table has the key, in backticks, as its first cell, or
  when a row of the ``KPIs`` table does and its "reported by" cell names C;
- a **column** of table T of command C is documented when a row of C's ``T`` table has it as
  its first cell;
- a first cell may hold placeholders: ``<y>`` a year (``2025``), ``<q>`` a quarter
  (``2025Q4``), ``<quarter>`` a quarter column of ``controls --timeline``, ``<scenario>`` and
  ``<reference>`` a scenario the command was run on (``compare``'s one column per scenario);
- keys inside a cell's value are not output names: the ``old`` and ``new`` cells of ``changes``
  carry an input's own value (a list of tables for ``fleet.orders``), named by the scenario
  schema (docs/data.md).

The runs cover every command with ``--format json`` and the options that change its keys
(``plan --objective max-compute``, ``controls --timeline``, ``backtest --rolling``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import cli_json

DOCS = Path(__file__).parent.parent / "docs"
LATER = str(DOCS / "actuals-later.csv")
NOTE_VINTAGE = ("--as-of", "2023-08-31")
"""The 1H23 note's vintage (docs/vintages.md); without ``--as-of`` the latest is used."""

STRESS = ("stress", "--samples", "3", "--executor", "inline")
RUNS: dict[str, tuple[str, ...]] = {
    "plan": ("plan",),
    "plan max-compute": ("plan", "--objective", "max-compute"),
    "value": ("value",),
    "compare": ("compare", "baseline", "history", "embargo-2024"),
    "stress": STRESS,
    "calibrate": ("calibrate",),
    "demand": ("demand",),
    "controls": ("controls",),
    "controls timeline": ("controls", "--timeline"),
    "backtest": ("backtest", "--actuals", LATER),
    "backtest rolling": ("backtest", "--rolling", "--samples", "20"),
    "chips": ("chips",),
    "scenarios": ("scenarios",),
    "validate": ("validate", "history"),
}
"""Label -> CLI arguments (the command is the first)."""

VINTAGES = {"latest": (), "1H23": NOTE_VINTAGE}


# --------------------------------------------------------------------------------------------
# The page, parsed
# --------------------------------------------------------------------------------------------


def _sections(text: str) -> tuple[dict[tuple[str, str], list[str]], list[tuple[str, str]]]:
    """((command, table) -> first cells of that table's rows, [(kpi, reported by)])."""
    rows: dict[tuple[str, str], list[str]] = {}
    kpis: list[tuple[str, str]] = []
    command = table = ""
    for line in text.splitlines():
        if m := re.fullmatch(r"## `capacity (\w+)`", line):
            command, table = m.group(1), ""
        elif line.startswith("## "):
            command, table = ("<kpis>" if line == "## KPIs" else ""), ""
        elif m := re.fullmatch(r"### `?(\w+)`?", line):
            table = m.group(1)
        elif m := re.match(r"\| `([^`]+)` \|", line):
            if command == "<kpis>":
                kpis.append((m.group(1), line.split("|")[3].strip()))
            elif command:
                rows.setdefault((command, table), []).append(m.group(1))
    return rows, kpis


def _pattern(cell: str, scenarios: list[str]) -> re.Pattern:
    """A first cell as a regular expression (placeholders as in the module docstring)."""
    names = "|".join(re.escape(s) for s in scenarios) or r"(?!)"
    rx = re.escape(cell)
    for ph, sub in {"<y>": r"\d{4}", "<q>": r"\d{4}Q[1-4]", "<quarter>": r"\d{4}Q[1-4]",
                    "<scenario>": f"(?:{names})", "<reference>": f"(?:{names})"}.items():
        rx = rx.replace(re.escape(ph), sub)
    return re.compile(rx)


def _documented(key: str, cells: list[str], scenarios: list[str]) -> bool:
    return any(_pattern(c, scenarios).fullmatch(key) for c in cells)


@pytest.fixture(scope="module")
def page():
    return _sections((DOCS / "nomenclature.md").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def outputs() -> dict[tuple[str, str], dict]:
    """(vintage, run label) -> the run's JSON object, each run once for the module."""
    return {(v, label): cli_json(*vargs, *args)
            for v, vargs in VINTAGES.items() for label, args in _runs(v).items()}


def _runs(vintage: str) -> dict[str, tuple[str, ...]]:
    """The runs at a vintage: ``backtest --rolling`` runs every vintage itself, so only once."""
    return {label: args for label, args in RUNS.items()
            if vintage == "latest" or label != "backtest rolling"}


def _keys(doc: dict) -> tuple[list[str], dict[str, list[str]]]:
    """(top-level keys, table name -> its columns over every row)."""
    tables: dict[str, list[str]] = {}
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            cols: list[str] = []
            for row in value:
                cols += [c for c in row if c not in cols]
            tables[key] = cols
        elif isinstance(value, dict):  # a nested object: its keys are keys of the command
            tables[key] = list(value)
    return list(doc), tables


# --------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vintage", list(VINTAGES))
def test_every_json_key_has_its_row(vintage, outputs, page):
    rows, kpis = page
    missing = []
    for label, args in _runs(vintage).items():
        command = args[0]
        doc = outputs[(vintage, label)]
        scenarios = [a for a in args[1:] if not a.startswith("-")] if command == "compare" \
            else []
        top, tables = _keys(doc)
        cells = rows.get((command, "keys"), [])
        by_kpi = [k for k, reported in kpis if command in re.findall(r"\w+", reported)]
        missing += [f"{label}: {k}" for k in top
                    if not _documented(k, cells + by_kpi, scenarios)]
        for table, cols in tables.items():
            cells = rows.get((command, table), [])
            missing += [f"{label}.{table}: {c}" for c in cols
                        if not _documented(c, cells, scenarios)]
    assert sorted(set(missing)) == []


def test_the_runs_cover_both_vintages_and_their_year_keys(outputs):
    """The two vintages differ where a key carries a year (the valuation year 2024 at 1H23):
    the check above is run on both, so a key that exists at one vintage only is checked too."""
    assert outputs[("1H23", "value")]["as_of"] == "2023-08-31"
    assert outputs[("latest", "value")]["as_of"] > "2023-08-31"
    y_note = outputs[("1H23", "value")]["valuation_year"]
    y_latest = outputs[("latest", "value")]["valuation_year"]
    assert y_note == 2024 and y_latest > y_note
    for label in ("1H23", "latest"):  # no key holds a year: the schema is one at every vintage
        keys = outputs[(label, "value")]
        assert "valuation_sales_m" in keys and "genai_target_year" in keys
        assert [k for k in keys if re.search(r"20[0-9][0-9]", k)] == []


def test_the_rule_finds_a_missing_row(page):
    """The check can fail: a made-up key and column have no row."""
    rows, kpis = page
    assert ("total_capex_m", "compare, stress, plan") in kpis
    assert not _documented("no_such_key_m", rows[("plan", "keys")], [])
    assert not _documented("no_such_column", rows[("plan", "quarters")], [])
    assert _documented("history_vs_baseline", rows[("compare", "kpis")], ["baseline", "history"])
    assert not _documented("history_vs_nowhere", rows[("compare", "kpis")], ["history"])
    assert _documented("valuation_sales_m", rows[("value", "keys")], [])
