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
from capacity.report.layout import wrap_text
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
              "cohorts", "methods", "dcf_sensitivity"],
    "backtest": ["rows", "summary", "paths", "reference"],  # reference: --rolling only
    "compare": ["kpis", "kpis_text", "scenarios", "binding", "changes"],
    "stress": ["percentiles", "thresholds", "binding_frequency", "tornado", "inputs", "fan"],
}

RULE = re.compile(r"^-+(  -+)*$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def captured():
    """Per command, the (report, table) it asked ``render`` to print by default."""
    got = {}
    real = cli.render

    for key, args in COMMANDS.items():
        calls = []

        def spy(report, fmt, table=None, columns=None, _calls=calls):
            _calls.append((report, table))

        cli.render = spy
        try:
            assert main(args) == 0, key
        finally:
            cli.render = real
        got[key] = calls[-1]
    return got


def _render(report, table, width, terminal, monkeypatch, columns=None) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(cli, "_stdout_is_terminal", lambda: terminal)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        render(report, Format.table, table, columns)
    return ANSI.sub("", buf.getvalue())


def _names(report, table):
    return [table] if table else list(report.tables)


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
    report, table = captured[key]
    out = _render(report, table, width, terminal, monkeypatch)
    assert out.strip()
    wide = [line for line in out.split("\n") if len(line) > width]
    assert not wide, f"{key} at {width}: {len(wide[0])} columns: {wide[0]!r}"
    names = _names(report, table)
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


def test_plan_at_80_names_the_rest_and_columns_picks(captured, monkeypatch):
    report, _ = captured["plan"]
    out = " ".join(_render(report, "quarters", 80, False, monkeypatch).split())
    assert "more columns:" in out and "capex_rmb_m" in out and "use --columns" in out
    picked = _render(report, "quarters", 80, False, monkeypatch,
                     columns=["period", "capex_rmb_m", "peak_eflops"])
    lines = picked.split("\n")
    header = lines[lines.index(report.titles["quarters"]) + 1]
    assert header.split() == ["period", "capex", "[RMBm]", "peak", "[EFLOPS]"]
    assert "more columns" not in picked


def test_decimals_are_consistent_within_a_column(captured, monkeypatch):
    """The compare differences: 0.8 next to 3.1, not 0.799 next to 3.1."""
    report, _ = captured["compare"]
    out = _render(report, "kpis", 200, False, monkeypatch)
    rows = {line.split()[0]: line.split() for line in out.split("\n") if line.strip()}
    for kpi in ("peak_eflops_2024Q4", "peak_eflops_2025Q4"):  # EFLOPS: one decimal
        assert re.fullmatch(r"-?\d+\.\d", rows[kpi][-1]), rows[kpi]
    assert re.fullmatch(r"-?[\d,]+", rows["gpus_units_2025Q4"][-1])  # units: whole, grouped
    report, _ = captured["plan"]
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
    report, table = captured["plan"]
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
    report, _ = captured[key]
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
                                     "compare", "stress", "backtest", "scenarios", "serve"])
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
