"""Issue 29, build item 1: every class of bad input, generated, through the real command line.

Each property generates one class of bad input (hypothesis) for scenario TOML files, CSV files
and command-line arguments, runs ``capacity.cli.main`` in-process and asserts the refusal is
clean: exit code 2, exactly one line on stderr that starts ``capacity:`` and names the input
(the file and line of the key, the CSV file, line and column, the option), no traceback,
nothing on stdout, and nothing written where ``--out`` pointed. The classes:

- numbers Python refuses or the limits refuse: thousands of digits, non-finite, bool, text, out
  of range (TOML, ``--set``, CSV cells);
- empty or degenerate names, and misspelt ones (the suggestion must be the closest name);
- dates: not a real date, not ``YYYY-MM-DD``, outside the vintages' span; a vintage file dated
  before the first vintage;
- missing values: an empty or ``nan`` cell in a required CSV column;
- unknown names: ``--set`` replacing a table blames the ``--set`` item, not a vintage file;
- subject folders: a missing required file; a stress distribution that cannot be drawn from.

Nothing here solves an LP except the one run of ``backtest --rolling`` on a bare subject folder.
Examples are few (``max_examples``) and derandomized, so the file stays quick and repeatable.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import capacity.schemas as S
from capacity.cli import main
from capacity.errors import InputError
from capacity.montecarlo import parse_threshold
from capacity.scenarios import shipped_data_dir, shipped_scenarios

DATA = shipped_data_dir()
FIRST_VINTAGE = dt.date(2023, 8, 31)
LATEST_VINTAGE = dt.date(2026, 1, 31)
HORIZON = LATEST_VINTAGE + dt.timedelta(days=S.MAX_DAYS_AFTER_LAST_VINTAGE)


def few(n: int):
    """Settings of one property: ``n`` examples, no deadline, repeatable."""
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# The check every case must pass
# --------------------------------------------------------------------------------------------


def run(argv: list[str]) -> tuple[int, str, str]:
    """``capacity ARGV`` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def refused(argv: list[str], needle: str, takes_out: bool = True) -> str:
    """Run ``argv`` (with ``--out`` into an empty folder when the command takes it) and assert
    a clean refusal whose line contains ``needle``; return the line."""
    with tempfile.TemporaryDirectory() as tmp:
        parent = Path(tmp) / "runs"
        parent.mkdir()
        extra = ["--out", str(parent / "out")] if takes_out else []
        code, out, err = run([*argv, *extra])
        assert "Traceback" not in err, err[-2000:]
        assert code == 2, (code, err[:500])
        assert err.startswith("capacity: ") and err.endswith("\n"), err[:500]
        assert err.count("\n") == 1, err[:2000]
        assert needle in err, f"{needle!r} not in {err!r}"
        assert out == "", out[:500]
        assert list(parent.iterdir()) == []  # no output, staging folder or lock left behind
    return err


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def subject_folder(with_disclosures: bool = True):
    """A subject folder: the shipped baseline (and disclosures), nothing else (the shared chip
    catalog and rules fall back to the shipped ones)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subject"
        folder.mkdir()
        shutil.copy(DATA / "baseline.toml", folder / "baseline.toml")
        if with_disclosures:
            shutil.copy(DATA / "disclosures.csv", folder / "disclosures.csv")
        yield folder


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------

NUMBER_KEYS = [
    # every one of these is >= 0 and at most 10 million, so -1e9 and 1e12 are out of range
    "planner.pue", "planner.fx_usd", "finance.shares_m", "finance.ev_sales_multiple",
    "planner.price_usd.H20", "demand.tokens.initial_stock_tn", "planner.lot_units",
    "fleet.default_life_quarters", "planner.capex_budget_m.2024",
    "planner.datacenter_mw.2025Q1",
]


def long_digits(n: int, first: int) -> str:
    """``n`` digits, the first ``first`` (1-9), the rest varied."""
    return str(first) + "".join(str((first * i + 7) % 10) for i in range(1, n))


@st.composite
def long_numbers(draw) -> str:
    """A TOML number of more than MAX_NUMBER_DIGITS digits: integer, signed, with ``_``
    separators, or a float with a long fraction."""
    n = draw(st.integers(S.MAX_NUMBER_DIGITS + 1, 6000))
    digits = long_digits(n, draw(st.integers(1, 9)))
    form = draw(st.sampled_from(["int", "negative", "underscores", "fraction", "hex"]))
    if form == "hex":  # Python reads these at any length, into an integer no float can hold
        return "0x" + digits.replace("0", "f")
    if form == "negative":
        return "-" + digits
    if form == "underscores":
        return "_".join(digits[i:i + 3] for i in range(0, len(digits), 3))
    if form == "fraction":
        return "1." + digits
    return digits


def scenario_text(key: str, value: str, padding: int, dotted: bool | str) -> tuple[str, int]:
    """A scenario file setting ``key`` to the TOML text ``value``: (text, line of the key).

    ``dotted`` writes ``"a.b" = v`` under ``[set]``; ``False``, ``b = v`` under ``[set.a]``;
    ``"inline"``, ``"a" = { zz = 1, b = v, yy = 2 }`` under ``[set]`` (three keys on one line).
    """
    lines = ['extends = "history"', *(["# padding"] * padding)]
    table, _, leaf = key.rpartition(".")
    if dotted == "inline":
        lines += ["[set]", f'"{table}" = {{ zz = 1, {leaf} = {value}, yy = 2 }}']
    elif dotted:
        lines += ["[set]", f'"{key}" = {value}']
    else:
        lines += [f"[set.{table}]", f"{leaf} = {value}"]
    return "\n".join(lines) + "\n", len(lines)


@few(20)
@given(key=st.sampled_from(NUMBER_KEYS), value=long_numbers(), padding=st.integers(0, 5),
       dotted=st.sampled_from([True, False, "inline"]),
       command=st.sampled_from(["validate", "plan", "value"]))
def test_toml_number_of_thousands_of_digits(key, value, padding, dotted, command):
    text, line = scenario_text(key, value, padding, dotted)
    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp), "digits.toml", text)
        argv = ["validate", str(f)] if command == "validate" else [command, "--scenario", str(f)]
        err = refused(argv, f"{f}:{line}: set.{key}: a number of ",
                      takes_out=command != "validate")
    assert f"more than the limit of {S.MAX_NUMBER_DIGITS:,} digits" in err


BAD_NUMBERS = ["inf", "-inf", "nan", "true", "false", '"1.5"', "1e400", "-1e400", "-1e9",
               "1e12", "[1]", "{ a = 1 }", "2024-01-01", "0x" + "f" * 300]


@few(15)
@given(key=st.sampled_from(NUMBER_KEYS), value=st.sampled_from(BAD_NUMBERS),
       padding=st.integers(0, 3), dotted=st.booleans())
def test_toml_number_not_finite_not_a_number_or_out_of_range(key, value, padding, dotted):
    text, line = scenario_text(key, value, padding, dotted)
    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp), "bad.toml", text)
        refused(["plan", "--scenario", str(f)], f"{f}:{line}: {key}: ")


@few(15)
@given(key=st.sampled_from(NUMBER_KEYS), value=long_numbers(),
       command=st.sampled_from(["plan", "value", "demand"]))
def test_set_value_of_thousands_of_digits(key, value, command):
    refused([command, "--set", f"{key}={value}"], f"--set {key}: a number of ",
            takes_out=command != "demand")


@few(10)
@given(key=st.sampled_from(NUMBER_KEYS), value=st.sampled_from(BAD_NUMBERS))
def test_set_value_not_a_valid_number(key, value):
    refused(["plan", "--set", f"{key}={value}"], f"capacity: <command line>: {key}: ")


# --------------------------------------------------------------------------------------------
# Missing values and numbers in CSV files
# --------------------------------------------------------------------------------------------

DISCLOSURE_COLUMNS = ["metric", "period_end", "span_quarters", "value", "unit", "source",
                      "published"]
EMPTY = ["", " ", "   "]
BAD_CELLS = {
    "metric": EMPTY, "unit": EMPTY, "source": EMPTY,
    "period_end": [*EMPTY, "2023Q5", "nan", "Q3"],
    "span_quarters": [*EMPTY, "nan", "1.5", "-1", "abc", long_digits(1200, 3)],
    "value": [*EMPTY, "nan", "NaN", "inf", "-inf", "abc", long_digits(5000, 1)],
    "published": [*EMPTY, "nan", "20230829", "2023-02-30", "29/08/2023"],
}
SHIPPED_DISCLOSURES = read_rows(DATA / "disclosures.csv")


@few(25)
@given(row=st.integers(1, len(SHIPPED_DISCLOSURES) - 1), data=st.data())
def test_disclosures_cell_missing_or_not_a_number(row, data):
    col = data.draw(st.sampled_from(DISCLOSURE_COLUMNS))
    cell = data.draw(st.sampled_from(BAD_CELLS[col]))
    rows = [list(r) for r in SHIPPED_DISCLOSURES]
    rows[row][rows[0].index(col)] = cell
    with subject_folder() as folder:
        write_rows(folder / "disclosures.csv", rows)
        command = data.draw(st.sampled_from([["plan"], ["value"], ["calibrate"]]))
        refused(["--subject", str(folder), *command],
                f"disclosures.csv line {row + 1} {col}: ", takes_out=command != ["calibrate"])


CHIP_REQUIRED = ["chip", "name", "vendor", "country", "datacenter", "launch", "source"]
CHIP_FIGURES = ["fp16_tflops", "memory_gb", "tdp_w", "price_usd", "tpp_published"]
SHIPPED_CHIPS = read_rows(DATA / "chips.csv")


@few(20)
@given(row=st.integers(1, len(SHIPPED_CHIPS) - 1), data=st.data())
def test_chip_catalog_cell_missing_or_not_a_number(row, data):
    col = data.draw(st.sampled_from(CHIP_REQUIRED + CHIP_FIGURES))
    bad = EMPTY if col in CHIP_REQUIRED else ["nan", "inf", "-5", "abc", long_digits(4500, 2)]
    cell = data.draw(st.sampled_from(bad))
    rows = [list(r) for r in SHIPPED_CHIPS]
    rows[row][rows[0].index(col)] = cell
    with subject_folder() as folder:
        write_rows(folder / "chips.csv", rows)
        err = refused(["--subject", str(folder), "plan"], f"chips.csv line {row + 1}")
    assert f" {col}: " in err
    if col in CHIP_REQUIRED:
        assert "empty cell in a required column" in err


ACTUALS_HEAD = ["period", "gpus_units", "computing_power_eflops", "revenue_m", "source"]


@few(12)
@given(n_rows=st.integers(1, 4), data=st.data())
def test_actuals_cell_not_a_finite_number(n_rows, data):
    periods = ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    rows = [ACTUALS_HEAD] + [[periods[i], "40000", "", "", "x"] for i in range(n_rows)]
    row = data.draw(st.integers(1, n_rows))
    col = data.draw(st.sampled_from(ACTUALS_HEAD[1:4]))
    cell = data.draw(st.sampled_from(["nan", "inf", "-inf", "abc", long_digits(5000, 4)]))
    rows[row][ACTUALS_HEAD.index(col)] = cell
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "actuals.csv"
        write_rows(f, rows)
        refused(["backtest", "--actuals", str(f), "--scenario", "history"],
                f"line {row + 1} {col}: ")


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

BLANK = st.sampled_from(["", " ", "\t", "   "])


@few(12)
@given(name=BLANK, command=st.sampled_from(["plan", "value", "compare", "stress"]))
def test_empty_scenario_name_is_refused_not_the_baseline(name, command):
    argv = ["compare", "history", name] if command == "compare" else \
        [command, "--scenario", name, *(["--samples", "5", "--workers", "1"]
                                        if command == "stress" else [])]
    refused(argv, "empty scenario name")


@few(4)
@given(name=BLANK)
def test_empty_subject_folder_name_is_refused(name):
    refused(["--subject", name, "plan"], "--subject: empty folder name")


@few(8)
@given(name=BLANK, padding=st.integers(0, 3))
def test_empty_extends_is_refused_at_its_line(name, padding):
    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp), "empty.toml", "# padding\n" * padding + f'extends = "{name}"\n')
        refused(["validate", str(f)], f"{f}:{padding + 1}: extends: empty scenario name",
                takes_out=False)


SHIPPED = sorted(shipped_scenarios())


@st.composite
def misspelt(draw) -> tuple[str, str]:
    """(a shipped scenario name, that name with one letter changed, dropped or doubled)."""
    name = draw(st.sampled_from([n for n in SHIPPED if len(n) >= 7]))
    i = draw(st.integers(1, len(name) - 1))
    edit = draw(st.sampled_from(["replace", "drop", "double"]))
    if edit == "replace":
        c = draw(st.sampled_from([c for c in "qxzjkv" if c != name[i]]))
        typo = name[:i] + c + name[i + 1:]
    elif edit == "drop":
        typo = name[:i] + name[i + 1:]
    else:
        typo = name[:i] + name[i] + name[i:]
    return name, typo


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


@few(20)
@given(pair=misspelt(), where=st.sampled_from(["--scenario", "extends"]))
def test_misspelt_scenario_name_suggests_the_closest(pair, where):
    name, typo = pair
    if typo in SHIPPED:
        return
    with tempfile.TemporaryDirectory() as tmp:
        if where == "extends":
            f = write(Path(tmp), "child.toml", f'extends = "{typo}"\n')
            err = refused(["validate", str(f)], f"{f}:1: extends: unknown scenario {typo!r}",
                          takes_out=False)
        else:
            err = refused(["plan", "--scenario", typo], f"scenario: unknown scenario {typo!r}")
    assert "(did you mean '" in err
    suggested = err.split("(did you mean '", 1)[1].split("'", 1)[0]
    assert suggested in SHIPPED
    # the suggestion is at least as close to the typo as the name it was made from
    assert _ratio(typo, suggested) >= _ratio(typo, name)


TABLES = ["finance", "planner", "planner.price_usd", "demand.tokens", "controls",
          "fleet.efficiency", "planner.capex_budget_m"]


@few(10)
@given(table=st.sampled_from(TABLES), value=st.sampled_from(["1", "0.5", "true", '"x"', "[1]"]))
def test_set_replacing_a_table_blames_the_set_item(table, value):
    err = refused(["plan", "--set", f"{table}={value}"], f"capacity: <command line>: {table}: ")
    assert "vintages" not in err and ".toml" not in err


KPIS = ["peak_eflops_2025Q4", "peak_eflops_2026Q4", "effective_eflops_2025Q4", "npv_m",
        "total_capex_m", "genai_share_2026", "genai_revenue_m_2026", "target_price"]


@few(25)
@given(kpi=st.sampled_from(KPIS), data=st.data())
def test_misspelt_threshold_kpi_suggests_the_closest(kpi, data):
    i = data.draw(st.integers(1, len(kpi) - 1))
    typo = kpi[:i] + kpi[i + 1:]
    if typo in KPIS:
        return
    with pytest.raises(InputError) as info:
        parse_threshold(f"{typo}>=1", KPIS)
    line = info.value.one_line()
    assert line.startswith("--threshold: unknown KPI") and "\n" not in line
    suggested = line.split("(did you mean '", 1)[1].split("'", 1)[0]
    assert suggested in KPIS and _ratio(typo, suggested) >= _ratio(typo, kpi)


@few(10)
@given(exponent=st.integers(309, 10**6), op=st.sampled_from([">=", "<=", ">", "<"]))
def test_threshold_number_must_be_finite(exponent, op):
    with pytest.raises(InputError, match=r"^--threshold: .* is not a finite number"):
        parse_threshold(f"npv_m{op}1e{exponent}", KPIS)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

OUTSIDE_SPAN = st.one_of(
    st.dates(dt.date(1, 1, 1), FIRST_VINTAGE - dt.timedelta(days=1)),
    st.dates(HORIZON + dt.timedelta(days=1), dt.date(9999, 12, 31)))
NOT_ISO = st.sampled_from(["20240101", "2024/01/01", "2024-1-1", "2024-02-30", "2025-13-01",
                           "01-01-2024", "2024-W01", "yesterday", "", "2024-01-01x"])


@few(20)
@given(value=st.one_of(
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: "nan" if x != x else ("inf" if x == float("inf") else
                                        "-inf" if x == float("-inf") else repr(x))),
    st.sampled_from(["true", "false", "[2024-01-01]", "{ day = 1 }"]),
    NOT_ISO.map(json.dumps),
    OUTSIDE_SPAN.map(lambda d: d.isoformat()),
    st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2025, 12, 31)).map(
        lambda d: d.replace(microsecond=0).isoformat()),  # a TOML date and time
), padding=st.integers(0, 3))
def test_as_of_in_a_scenario_must_be_a_date_in_the_vintages_span(value, padding):
    text = "# padding\n" * padding + f'as_of = {value}\nextends = "history"\n'
    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp), "dated.toml", text)
        refused(["plan", "--scenario", str(f)], f"{f}:{padding + 1}: as_of: ")


@few(20)
@given(value=st.one_of(NOT_ISO, OUTSIDE_SPAN.map(lambda d: d.isoformat())),
       command=st.sampled_from(["plan", "value", "compare"]))
def test_as_of_option_must_be_a_date_in_the_vintages_span(value, command):
    argv = ["compare", "history"] if command == "compare" else [command]
    refused(["--as-of", value, *argv] if value else [*argv, "--as-of="],
            "--as-of: ")


@few(8)
@given(when=st.dates(dt.date(2000, 1, 1), FIRST_VINTAGE - dt.timedelta(days=1)))
def test_vintage_file_dated_before_the_first_vintage(when):
    with subject_folder() as folder:
        (folder / "vintages").mkdir()
        f = write(folder / "vintages", f"{when.isoformat()}.toml", 'description = "early"\n')
        refused(["--subject", str(folder), "plan"], f"{f}: vintage dated {when}, before the "
                f"first vintage {FIRST_VINTAGE}")


RULE = """extends = "history"
[[set.controls.extra_rules]]
id = "x-rule"
title = "a test rule"
kind = "named"
announced = {announced}
effective = 2025-01-01
source = "test"

[[set.controls.extra_rules.band]]
status = "banned"
chips = ["H20"]
"""


@few(10)
@given(announced=st.one_of(
    st.integers(0, 2**40).map(lambda n: json.dumps(str(n))),  # a Unix time written as text
    NOT_ISO.map(json.dumps),
    st.integers(0, 2**40).map(str)))
def test_rule_date_must_be_a_date(announced):
    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp), "rule.toml", RULE.format(announced=announced))
        refused(["plan", "--scenario", str(f)],
                f"{f}:6: controls.extra_rules.0.announced: ")


def test_the_span_and_its_horizon_are_accepted_at_both_ends():
    from capacity.scenarios import load_scenario

    assert load_scenario(as_of=FIRST_VINTAGE).as_of == FIRST_VINTAGE
    assert load_scenario(as_of=HORIZON.isoformat()).as_of == dt.date(2027, 2, 1)
    with pytest.raises(InputError, match=r"^--as-of: 2027-02-02 is more than 366 days"):
        load_scenario(as_of="2027-02-02")


# --------------------------------------------------------------------------------------------
# Subject folders and stress distributions
# --------------------------------------------------------------------------------------------


@few(6)
@given(missing=st.sampled_from(["baseline.toml", "disclosures.csv"]),
       command=st.sampled_from([["plan"], ["value"], ["backtest", "--rolling", "--samples", "20"]]))
def test_subject_without_a_required_file(missing, command):
    with subject_folder() as folder:
        (folder / missing).unlink()
        needle = f"has no {missing}"  # named at --subject, before anything is read
        refused(["--subject", str(folder), *command], needle)


def test_rolling_backtest_on_a_subject_without_scenarios_runs_with_a_note():
    with subject_folder() as folder:
        code, out, err = run(["--subject", str(folder), "backtest", "--rolling", "--format",
                              "json"])
    assert code == 0, err
    got = json.loads(out)
    assert got["vintages"] == FIRST_VINTAGE.isoformat()  # no vintages/: the baseline's only
    assert "no scenarios/baseline.toml" in got["note"] and "no vintages/" in got["note"]
    assert got["n_compared"] > 0


@st.composite
def unbounded_below_one(draw) -> str:
    """A distribution for ``planner.pue`` (valid from 1 to 3) whose 5% quantile is below 1."""
    if draw(st.booleans()):
        sd = draw(st.floats(0.5, 50))
        return f'{{ dist = "normal", mean = 1.5, sd = {sd!r} }}'
    p5 = draw(st.floats(-100, 0.99))
    return f"{{ p5 = {p5!r}, p50 = 1.5, p95 = 2.0 }}"


@few(8)
@given(param=st.sampled_from(["p5", "p50", "p95"]),
       value=st.sampled_from(["inf", "-inf", "nan", "true", '"1"', "0x" + "f" * 300,
                              "-" + "9" * 400]))
def test_stress_distribution_parameter_not_a_finite_number(param, value):
    spec = {"p5": "1.2", "p50": "1.5", "p95": "2.0", param: value}
    body = ", ".join(f"{k} = {v}" for k, v in spec.items())
    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp), "u.toml", f'extends = "history"\n[uncertain]\n"planner.pue" = '
                  f"{{ {body} }}\n")
        refused(["stress", "--scenario", str(f), "--samples", "5", "--workers", "1"],
                f"uncertain.planner.pue.{param}: must be a finite number")


@few(10)
@given(spec=unbounded_below_one(), samples=st.sampled_from(["5", "50"]))
def test_stress_distribution_outside_the_range_blames_the_distribution(spec, samples):
    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp), "u.toml", f'extends = "history"\n[uncertain]\n"planner.pue" = '
                  f"{spec}\n")
        err = refused(["stress", "--scenario", str(f), "--samples", samples, "--workers", "1"],
                      "uncertain.planner.pue: the ")
    assert "distribution" in err and "has no lower bound" in err
    assert "not the number of draws" in err
