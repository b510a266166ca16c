"""Terminal tables fit the terminal (issue 16, item 1).

Every command's default table is rendered at 80, 100 and 120 columns, plain (piped, ``COLUMNS``
set) and boxed (rich, as on a terminal): no line is wider than the width, every header shown is
a whole column header (:func:`capacity.results.short_header` of a column name, wrapped only
between words), and the columns left out are named on one footer line. Each command runs once;
its report is captured and rendered again at each width.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from capacity import cli
from capacity.cli import Format, main, render
from capacity.report.layout import kpi_header, wrap_text
from capacity.results import plain_frame, short_header

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (80, 100, 120)

COMMANDS = {
    "calibrate": ["calibrate"],
    "chips": ["chips"],
    "scenarios": ["scenarios"],
    "demand": ["demand"],
    "plan": ["plan"],
    "value": ["value"],
    "controls": ["controls"],
    "timeline": ["controls", "--timeline"],
    "backtest": ["backtest", "--actuals", str(ROOT / "docs" / "actuals-later.csv")],
    "compare": ["compare", "history", "embargo-2024"],
    "stress": ["stress", "--samples", "6", "--executor", "inline", "--workers", "1"],
}
"""Each command with the arguments of its default table (stress: a few draws, inline)."""

TABLE_CHOICES = {
    "calibrate": ["mix", "dates", "orders"],
    "demand": ["quarters", "runs"],
    "plan": ["quarters", "purchases", "binding", "fleet", "purchase_value", "economics"],
    "value": ["revenue", "annual", "bridge", "sensitivity", "pnl", "pnl_by_quarter", "cash",
              "cohorts", "methods", "dcf_sensitivity", "inputs", "equity_bridge", "backlog",
    "npv_bridge", "comps", "street", "street_bridge"],
    "backtest": ["rows", "summary", "paths", "reference", "coverage"],  # last two: --rolling
    "compare": ["kpis", "kpis_text", "scenarios", "binding", "changes"],
    "stress": ["percentiles", "thresholds", "binding_frequency", "tornado", "inputs", "fan"],
}

RULE = re.compile(r"^-+(  -+)*$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _capture(args: list[str]) -> tuple:
    """The (report, table, shown) a command asked ``render`` to print."""
    calls = []
    real = cli.render

    def spy(report, fmt, table=None, columns=None, shown=None):
        calls.append((report, table, shown))

    cli.render = spy
    try:
        assert main(args) == 0, args
    finally:
        cli.render = real
    return calls[-1]


@pytest.fixture(scope="module")
def captured():
    """Per command, the (report, table, shown) it asked ``render`` to print by default."""
    return {key: _capture(args) for key, args in COMMANDS.items()}


def _render(report, table, width, terminal, monkeypatch, columns=None, shown=None) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(cli, "_stdout_is_terminal", lambda: terminal)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        render(report, Format.table, table, columns, shown)
    return ANSI.sub("", buf.getvalue())


def _names(report, table, shown=None):
    return [table] if table else [n for n in report.tables if shown is None or n in shown]


def _is_comparison(report, name) -> bool:
    """A KPIs-side-by-side table: shown with the scenarios as rows, in blocks of KPIs."""
    return bool(report.tables[name].attrs.get("scenarios"))


def _headers(report, name) -> dict[str, str]:
    """Header -> column: the short header, or the name of a text column."""
    frame = plain_frame(report.tables[name])
    out = {short_header(str(c)): str(c) for c in frame.columns}
    out.update({str(c): str(c) for c in frame.columns})
    return out


def _join(parts: list[str]) -> str:
    text = ""
    for p in (p.strip() for p in parts):
        if not p:
            continue
        text = p if not text else (text + p if text.endswith("_") else f"{text} {p}")
    return text


def _plain_headers(out: str, report, names, width) -> list[list[str]]:
    """Headers of each plain table: the lines between its title and its dashed rule, cut by
    the rule's spans."""
    lines = out.split("\n")
    rules = [i for i, line in enumerate(lines) if RULE.match(line)]
    tables = []
    for name, i in zip(names, rules, strict=True):
        title_end = wrap_text(report.titles.get(name, name), width)[-1]
        j = max(k for k in range(i) if lines[k] == title_end)
        head = lines[j + 1:i]
        spans = [m.span() for m in re.finditer(r"-+", lines[i])]
        tables.append([_join([h[a:b] for h in head]) for a, b in spans])
    return tables


def _rich_headers(out: str) -> list[list[str]]:
    tables, rows = [], None
    for line in out.split("\n"):
        if line.startswith("┏"):
            rows = []
        elif rows is not None and line.startswith("┃"):
            rows.append(line.strip("┃").split("┃"))
        elif rows is not None and line.startswith("┡"):
            tables.append([_join(list(parts)) for parts in zip(*rows, strict=True)])
            rows = None
    return tables


def _footers(out: str) -> list[str]:
    return re.findall(r"(\d+) more columns?: ([^;]*); use --columns", " ".join(out.split("\n")))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "rich"])
@pytest.mark.parametrize("key", list(COMMANDS))
def test_default_table_fits(captured, key, width, terminal, monkeypatch):
    report, table, picked = captured[key]
    out = _render(report, table, width, terminal, monkeypatch, shown=picked)
    assert out.strip()
    wide = [line for line in out.split("\n") if len(line) > width]
    assert not wide, f"{key} at {width}: {len(wide[0])} columns: {wide[0]!r}"
    names = _names(report, table, picked)
    if any(_is_comparison(report, n) for n in names):  # test_comparison_blocks_show_everything
        assert "more column" not in out
        return
    shown = _rich_headers(out) if terminal else _plain_headers(out, report, names, width)
    assert len(shown) == len(names)
    for name, headers in zip(names, shown, strict=True):
        known = _headers(report, name)
        for h in headers:
            assert h in known, f"{key}/{name} at {width}: header {h!r} is cut or unknown"
    # columns left out are named, and together with those shown make the whole table
    foot = _footers(out)
    total_shown = sum(len(h) for h in shown)
    total = sum(len(plain_frame(report.tables[n]).columns) for n in names)
    left = sum(int(n) for n, _ in foot)
    assert total_shown + left == total, (key, width)


def _labels(report, name) -> list[str]:
    """Row labels of a comparison table: each scenario, then its differences row."""
    attrs = report.tables[name].attrs
    scenarios, diffs = attrs["scenarios"], attrs.get("differences", {})
    out = []
    for s in scenarios:
        out += [s, f"  vs {scenarios[0]}"] if s in diffs else [s]
    return out


def _comparison_blocks(out: str, labels: list[str]) -> list[tuple[list[str], str, list]]:
    """(header lines, rule, cells of each row) of every block of a comparison table, plain or
    rich: a block is its header, a rule (dashes, or rich's line) and one row per label, in
    order; cells are the figures after the label (figures have no spaces)."""
    lines = out.split("\n")
    got = []
    start = None
    for i, line in enumerate(lines):
        if start is None and line.startswith("KPIs side by side"):
            start = i + 1
        if line.startswith("Text KPIs"):  # the next table
            break
        if start is None or not (RULE.match(line) or re.fullmatch(r"─+", line)):
            continue
        rows = []
        for label, row in zip(labels, lines[i + 1:i + 1 + len(labels)], strict=True):
            assert row.startswith(label + " "), (label, row)
            rows.append(row[len(label):].split())
        got.append((lines[start:i], line, rows))
        start = i + 1 + len(labels)
    return got


def _comparison_cells(out: str, report, name: str = "kpis") -> dict[str, list[str]]:
    """KPI -> its cells, one per row label, read off the blocks of a plain print."""
    kpis = list(report.tables[name]["kpi"])
    blocks = _comparison_blocks(out, _labels(report, name))
    per_row = [[c for _, _, rows in blocks for c in rows[k]] for k in range(len(blocks[0][2]))]
    assert all(len(cells) == len(kpis) for cells in per_row), [len(c) for c in per_row]
    return {kpi: [cells[j] for cells in per_row] for j, kpi in enumerate(kpis)}


def _check_comparison(out: str, report, width: int) -> None:
    """Every scenario row and differences row, each with every KPI, the figures equal to the
    report's to the decimals shown (differences signed), and no line wider than ``width``."""
    assert max(len(line) for line in out.split("\n")) <= width
    frame = report.tables["kpis"]
    attrs = frame.attrs
    columns = [c for s in attrs["scenarios"] for c in
               ([s, attrs["differences"][s]] if s in attrs["differences"] else [s])]
    cells = _comparison_cells(out, report)
    for i, kpi in enumerate(frame["kpi"]):
        for col, cell in zip(columns, cells[kpi], strict=True):
            want = float(frame[col].iloc[i])
            places = len(cell.split(".")[1]) if "." in cell else 0
            assert abs(float(cell.replace(",", "")) - want) <= 0.5 * 10 ** -places + 1e-9, \
                (kpi, col, cell, want)
            if col != attrs["scenarios"][0] and col in attrs["differences"].values() \
                    and float(cell.replace(",", "")) > 0:
                assert cell.startswith("+"), (kpi, col, cell)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "rich"])
def test_comparison_blocks_show_everything(captured, width, terminal, monkeypatch):
    """compare's default print: the scenarios as rows, each followed by its differences, in
    blocks of KPIs that fit the width (nothing left to a "more columns" line); the other
    tables named on a last line, the changes among them."""
    report, table, shown = captured["compare"]
    out = _render(report, table, width, terminal, monkeypatch, shown=shown)
    _check_comparison(out, report, width)
    assert "more column" not in out
    assert report.titles["changes"] not in out
    assert "more tables: scenarios, binding, changes; use --table NAME" in " ".join(out.split())
    if not terminal:  # every KPI's header once, whole, in order; each block led by the labels
        frame = report.tables["kpis"]
        want = [kpi_header(k, u) for k, u in zip(frame["kpi"], frame["unit"], strict=True)]
        heads = []
        for head, rule, _ in _comparison_blocks(out, _labels(report, "kpis")):
            spans = [m.span() for m in re.finditer(r"-+", rule)]
            got = [_join([h[x:y] for h in head]) for x, y in spans]
            assert got[0] == "scenario"
            heads += got[1:]
        assert heads == want


TODAY = ["baseline", "h20-discouraged-2025", "h200-customs-block-2026", "h200-class-rule-2026",
         "b30a-allowed", "b30a-denied", "ascend-950-ramp", "remote-access-closed",
         "entity-list-buyer"]
"""The main job's nine scenarios (the README's first command)."""


@pytest.fixture(scope="module")
def today():
    return _capture(["compare", *TODAY])


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "rich"])
def test_todays_nine_scenarios_at_80_columns(today, terminal, monkeypatch):
    """Issue 28: every scenario and its differences at 80 columns, in at most 150 lines, with
    no changes section unless asked for."""
    report, table, shown = today
    assert "changes" not in shown
    out = _render(report, table, 80, terminal, monkeypatch, shown=shown)
    lines = out.rstrip("\n").split("\n")
    assert len(lines) <= 150, len(lines)
    _check_comparison(out, report, 80)
    assert report.tables["kpis"].attrs["scenarios"] == TODAY
    assert report.titles["changes"] not in out


def test_changes_print_only_with_the_flag_and_change_something(monkeypatch):
    report, table, shown = _capture(["compare", "history", "embargo-2024", "--changes"])
    assert "changes" in shown
    out = _render(report, table, 100, False, monkeypatch, shown=shown)
    assert report.titles["changes"] in out
    changes = report.tables["changes"]
    assert len(changes) > 0
    assert not (changes["old"] == changes["new"]).any()  # no no-ops
    counts = dict(zip(report.tables["scenarios"]["name"], report.tables["scenarios"]["changes"],
                      strict=True))
    assert counts == changes.groupby("scenario").size().reindex(list(counts), fill_value=0) \
        .to_dict()


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "rich"])
def test_plan_binding_keeps_the_shadow_price_at_80(captured, terminal, monkeypatch):
    """The binding table keeps what binds, when, and its shadow price at 80 columns, and names
    the columns it left out; the shadow prices of one unit share one number of decimals."""
    report, _, _ = captured["plan"]
    out = _render(report, "binding", 80, terminal, monkeypatch)
    assert max(len(line) for line in out.split("\n")) <= 80
    shown = _rich_headers(out) if terminal else _plain_headers(out, report, ["binding"], 80)
    for key in ("constraint", "period", "chip", "limit", "shadow_price"):
        assert key in shown[0], shown[0]
    (n, names), = _footers(out)
    assert int(n) + len(shown[0]) == len(report.tables["binding"].columns)
    assert "shadow_price" not in names.split(", ")
    if not terminal:
        lines = out.split("\n")
        at = next(i for i, line in enumerate(lines) if RULE.match(line))
        spans = [m.span() for m in re.finditer(r"-+", lines[at])]
        a, b = spans[shown[0].index("shadow_price")]
        frame = report.tables["binding"]
        cells = [line[a:b].strip() for line in lines[at + 1:at + 1 + len(frame)]]
        places: dict[str, set[int]] = {}
        for unit, cell in zip(frame["unit"], cells, strict=True):
            places.setdefault(unit, set()).add(len(cell.split(".")[1]) if "." in cell else 0)
        assert all(len(p) == 1 for p in places.values()), places
        assert places["RMB m per unit"] == {3}  # access prices are a few hundredths


def test_plan_at_80_names_the_rest_and_columns_picks(captured, monkeypatch):
    report, _, _ = captured["plan"]
    out = " ".join(_render(report, "quarters", 80, False, monkeypatch).split())
    assert "more columns:" in out and "capex_m" in out and "use --columns" in out
    picked = _render(report, "quarters", 80, False, monkeypatch,
                     columns=["period", "capex_m", "peak_eflops"])
    lines = picked.split("\n")
    header = lines[lines.index(report.titles["quarters"]) + 1]
    assert header.split() == ["period", "capex", "[RMBm]", "peak", "[EFLOPS]"]
    assert "more columns" not in picked


def test_decimals_are_consistent_within_a_column(captured, monkeypatch):
    """The compare differences: 0.8 next to 3.1, not 0.799 next to 3.1; a KPI is a column,
    each with one number of decimals over its scenarios and differences."""
    report, _, _ = captured["compare"]
    columns = _comparison_cells(_render(report, "kpis", 1000, False, monkeypatch), report)
    for kpi in ("peak_eflops_2024Q4", "peak_eflops_2025Q4"):  # EFLOPS: one decimal
        assert all(re.fullmatch(r"[-+]?\d+\.\d", c) for c in columns[kpi]), columns[kpi]
    assert all(re.fullmatch(r"[-+]?[\d,]+", c) for c in columns["gpus_units_2025Q4"])
    assert all(re.fullmatch(r"[-+]?\d\.\d{3}", c) for c in columns["target_price"])
    for kpi, cells in columns.items():
        assert len({len(c.split(".")[1]) if "." in c else 0 for c in cells}) == 1, (kpi, cells)
    report, _, _ = captured["plan"]
    out = _render(report, "quarters", 1000, False, monkeypatch)
    lines = out.split("\n")
    at = lines.index(report.titles["quarters"])
    head = lines[at + 1].split()
    body = [line.split() for line in lines[at + 3:at + 21]]
    assert head[0] == "period"
    for cells in body[:18]:
        for cell in cells[1:]:
            decimals = len(cell.split(".")[1]) if "." in cell else 0
            assert decimals in (0, 1, 2, 3)
    # one column, one number of decimals
    for j in range(1, len(body[0])):
        got = {len(c[j].split(".")[1]) if "." in c[j] else 0 for c in body[:18]}
        assert len(got) == 1, (head, j, got)


def test_piped_without_columns_keeps_every_column(captured, monkeypatch):
    report, table, _ = captured["plan"]
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(cli, "_stdout_is_terminal", lambda: False)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        render(report, Format.table, table)
    assert "more columns" not in buf.getvalue()


def _run(args, capsys):
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_unknown_column_has_a_hint(capsys):
    code, _, err = _run(["scenarios", "--columns", "scenario,descripton"], capsys)
    assert code == 2
    assert "did you mean 'description'?" in err


def test_columns_picks_csv_columns(capsys):
    code, out, _ = _run(["scenarios", "--format", "csv", "--columns", "file,scenario"], capsys)
    assert code == 0
    assert out.split("\n")[0] == "file,scenario"


def test_misspelt_set_key_says_did_you_mean(capsys):
    code, _, err = _run(["demand", "--set", "planner.peu=1.4"], capsys)
    assert code == 2
    assert "planner.peu: unknown key (did you mean 'planner.pue'?)" in err
    code, _, err = _run(["demand", "--set", "plannr.pue=1.4"], capsys)
    assert code == 2
    assert "did you mean 'planner.pue'?" in err


@pytest.mark.parametrize("command", list(TABLE_CHOICES))
def test_help_lists_the_table_choices(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run([command, "--help"], capsys)
    assert code == 0
    text = " ".join(out.replace("│", " ").split())
    assert f"Choices: {', '.join(TABLE_CHOICES[command])}." in text
    assert "--columns" in text


@pytest.mark.parametrize("key", ["calibrate", "plan", "value", "demand", "backtest", "compare",
                                 "stress"])
def test_table_choices_are_the_report_tables(captured, key):
    report, _, _ = captured[key]
    listed = TABLE_CHOICES[key]
    if key == "backtest":  # the terminal shows rows and summary; json and --table all three
        assert set(report.tables) <= set(listed)
    else:
        assert list(report.tables) == listed or set(report.tables) == set(listed)


def test_help_shows_rich_help_and_completion(capsys):
    code, out, _ = _run(["--help"], capsys)
    assert code == 0
    assert "--install-completion" in out
    code, out, _ = _run(["plan", "--help"], capsys)
    assert "KEY=VALUE" in out
    assert "list[str]" not in out


@pytest.mark.parametrize("command", ["calibrate", "controls", "demand", "plan", "value",
                                     "compare", "stress", "backtest", "scenarios", "serve",
                                     "comps"])
def test_help_shows_no_type_beside_flags(command, capsys, monkeypatch):
    """An on/off flag takes no value, so its help shows none (typer would print <bool>), and
    every option that takes one names it (FILE, N, QUARTER, ...), not a Python type."""
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run([command, "--help"], capsys)
    assert code == 0
    assert "--help" in out
    assert re.findall(r"<(bool|str|path|list\[str\])>", out) == []


def test_no_progress_output_when_not_a_terminal(capsys):
    code, out, err = _run(["compare", "history", "--format", "json"], capsys)
    assert code == 0
    assert err == ""
    json.loads(out)
