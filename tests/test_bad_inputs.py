"""Issue 17: a corpus of bad inputs, each refused in one line with exit code 2.

Every case runs through the real command line (in-process, ``capacity.cli.main``; a few also in
a subprocess) and must give: exit code 2, exactly one line on stderr starting ``capacity:`` and
naming the field (or the file), no traceback, nothing on stdout, and nothing written where
``--out`` pointed. The cases:

- ``tests/bad_inputs/*.toml``: scenario files, each with the text its error must contain on its
  first line (``# expect: ...``; a leading ``:`` stands for the file's own path);
- :data:`SET_CASES`: ``--set`` values;
- :data:`CLI_CASES`: command-line arguments;
- :data:`ACTUALS_CASES`: actuals CSVs for ``backtest``;
- :data:`STRESS_CASES`: stress requests, against :func:`capacity.schemas.check_stress_request`
  and, once ``capacity stress`` calls it, through the command line;
- generated files too large to keep in the repository.

Nothing here solves an LP: every case is refused while the inputs are read.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

import capacity.schemas as S
from capacity.cli import main
from capacity.errors import InputError, validation_problem
from capacity.scenarios import (
    load_scenario,
    loads_toml,
    nesting_too_deep,
    parse_set_value,
    shipped_scenarios,
    value_depth,
)

HERE = Path(__file__).parent
CORPUS = HERE / "bad_inputs"
CORPUS_FILES = sorted(CORPUS.glob("*.toml"))
ACTUALS_OK = HERE.parent / "docs" / "actuals-example.csv"
BIG = 2**63 - 1

# --------------------------------------------------------------------------------------------
# The check every case must pass
# --------------------------------------------------------------------------------------------


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    got = capsys.readouterr()
    return code, got.out, got.err


def assert_refused(code: int, out: str, err: str, needle: str) -> None:
    """Exit 2, one ``capacity:`` line on stderr containing ``needle``, no traceback, no stdout."""
    assert "Traceback" not in err, err[-2000:]
    assert code == 2, (code, err[:500])
    assert err.endswith("\n") and err.count("\n") == 1, err[:2000]
    assert err.startswith("capacity: "), err
    assert needle in err, f"{needle!r} not in {err!r}"
    assert out == "", out[:500]


def refused_writes_nothing(capsys, tmp_path: Path, argv: list[str], needle: str) -> str:
    """Run ``argv`` with ``--out`` into an empty folder; assert the refusal and no output.

    Returns the error line.
    """
    parent = tmp_path / "runs"
    parent.mkdir()
    out_dir = parent / "out"
    code, out, err = _run(capsys, [*argv, "--out", str(out_dir)])
    assert_refused(code, out, err, needle)
    assert not out_dir.exists()
    assert list(parent.iterdir()) == []  # no staging folder or lock left behind either
    return err


# --------------------------------------------------------------------------------------------
# Scenario files
# --------------------------------------------------------------------------------------------


def _expect(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    text = first.removeprefix("# expect: ")
    return f"{path}{text}" if text.startswith(":") else text


# Each file runs through one of these (rotating), so every loading command is exercised.
_COMMANDS = [
    lambda f: ["plan", "--scenario", f],
    lambda f: ["value", "--scenario", f],
    lambda f: ["compare", "history", f],
    lambda f: ["stress", "--scenario", f, "--samples", "5", "--workers", "1"],
    lambda f: ["backtest", "--actuals", str(ACTUALS_OK), "--scenario", f],
]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_bad_scenario_file_is_refused_and_writes_nothing(capsys, tmp_path, path):
    argv = _COMMANDS[CORPUS_FILES.index(path) % len(_COMMANDS)](str(path))
    refused_writes_nothing(capsys, tmp_path, argv, _expect(path))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_bad_scenario_file_fails_validate(capsys, path):
    code, out, err = _run(capsys, ["validate", str(path)])
    assert_refused(code, out, err, _expect(path))


def test_huge_scenario_file(capsys, tmp_path):
    f = tmp_path / "in" / "huge.toml"
    f.parent.mkdir()
    f.write_text('extends = "history"\n' + "# padding\n" * (S.MAX_INPUT_FILE_BYTES // 10 + 1))
    refused_writes_nothing(capsys, tmp_path, ["plan", "--scenario", str(f)],
                           f"{f}: file is {f.stat().st_size:,} bytes, larger than the limit")


def test_huge_parent_scenario_file(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "parent.toml").write_text('extends = "history"\n[set]\n"planner.pue" = 1.2\n'
                                        + " " * S.MAX_INPUT_FILE_BYTES)
    child = folder / "child.toml"
    child.write_text('extends = "parent.toml"\n')
    refused_writes_nothing(capsys, tmp_path, ["value", "--scenario", str(child)],
                           "parent.toml: file is")


def test_long_extends_chain(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "s0.toml").write_text('extends = "history"\n')
    for i in range(1, S.MAX_EXTENDS_DEPTH + 2):
        (folder / f"s{i}.toml").write_text(f'extends = "s{i - 1}.toml"\n')
    last = folder / f"s{S.MAX_EXTENDS_DEPTH + 1}.toml"
    refused_writes_nothing(capsys, tmp_path, ["plan", "--scenario", str(last)],
                           f"extends: more than {S.MAX_EXTENDS_DEPTH} scenario files")


def test_huge_rule_library_and_cycle_in_library(tmp_path):
    from capacity.scenarios import read_rule_library

    big = tmp_path / "big.toml"
    big.write_text("#" * (S.MAX_INPUT_FILE_BYTES + 1))
    with pytest.raises(InputError, match="larger than the limit"):
        read_rule_library(big)
    lib = tmp_path / "lib.toml"
    rule = ('[[rule]]\nid = "{id}"\ntitle = "rule {id}"\nkind = "named"\n'
            'announced = 2024-01-01\neffective = 2024-01-01\nsuperseded_by = "{next}"\n'
            'source = "test"\n[[rule.band]]\nstatus = "banned"\nchips = ["H20"]\n')
    lib.write_text(rule.format(id="a", next="b") + rule.format(id="b", next="a"))
    with pytest.raises(InputError, match=r"lib.toml: rule: superseded_by links form a cycle: "
                                         r"a -> b -> a"):
        read_rule_library(lib)


# --------------------------------------------------------------------------------------------
# --set values
# --------------------------------------------------------------------------------------------

SET_CASES: list[tuple[str, str]] = [
    ("planner.pue=true", "planner.pue: Input should be a valid number, got a bool (true)"),
    ("planner.pue=false", "planner.pue: Input should be a valid number, got a bool (false)"),
    ('planner.pue="1.3"', "planner.pue: Input should be a valid number, got '1.3'"),
    ("planner.pue=inf", "planner.pue: Input should be a finite number, got inf"),
    ("planner.pue=-inf", "planner.pue: Input should be a finite number, got -inf"),
    ("planner.pue=nan", "planner.pue: Input should be a finite number, got nan"),
    ("planner.pue=1e400", "planner.pue: Input should be a finite number, got inf"),
    ("planner.pue=" + "1" + "0" * 400, "planner.pue: Input should be a valid number"),
    ("planner.pue=0.5", "planner.pue: Input should be greater than or equal to 1, got 0.5"),
    ("planner.fx_usd=inf", "planner.fx_usd: Input should be a finite number, got inf"),
    ("planner.fx_usd=1e308", "planner.fx_usd: Input should be less than or equal to 100000"),
    ("planner.fx_usd=1e-320", "planner.fx_usd: Input should be greater than or equal to "
     "0.0001"),
    ("finance.fx_listing=1e-320", "finance.fx_listing: Input should be greater than or "
     "equal to 0.0001"),
    ("finance.shares_m=5e-324", "finance.shares_m: Input should be greater than or equal to 1"),
    ("finance.net_cash_m=-1e308", "finance.net_cash_m: Input should be greater than or "
     "equal to -10000000"),
    ("planner.datacenter_mw.2025Q1=inf", "planner.datacenter_mw.2025Q1: Input should be a "
     "finite number"),
    (f"fleet.default_life_quarters={BIG}", "fleet.default_life_quarters: Input should be less "
     "than or equal to 40"),
    ("fleet.default_life_quarters=20.0", "fleet.default_life_quarters: Input should be a valid "
     "integer, got 20.0"),
    ('horizon.end="9999Q4"', "horizon.end: quarter 9999Q4 is outside 2000Q1 to 2040Q4"),
    ("horizon.end=9999", "horizon.end: Input should be a valid string, got 9999"),
    ("demand.tokens.initial_stock_tn=inf", "demand.tokens.initial_stock_tn: Input should be a "
     "finite number"),
    ("planner.capex_budget_m.2024=-1", "planner.capex_budget_m.2024: Input should be "
     "greater than or equal to 0"),
    ("planner.price_usd.H20=1e308", "planner.price_usd.H20: Input should be less than or "
     "equal to 10000000"),
    ("planner.electricity_per_kwh=inf", "planner.electricity_per_kwh: Input should be "
     "a finite number"),
    ("planner.lot_units=true", "planner.lot_units: Input should be a valid integer, got a bool"),
    ("planner.lot_units=100000", "planner.lot_units: Input should be less than or equal to "
     "1024"),
    ("planner.discount_rate_annual=1", "planner.discount_rate_annual: Input should be less "
     "than 1"),
    ("planner.default_lead_time_quarters=-1", "planner.default_lead_time_quarters: Input should "
     "be greater than or equal to 0"),
    ("demand.inference.serving_utilisation=0", "demand.inference.serving_utilisation: Input "
     "should be greater than 0"),
    ("demand.tokens.per_month_tn=true", "demand.tokens.per_month_tn: tokens a month must be a "
     "number or 'disclosed', got a bool (true)"),
    ("finance.valuation_year=2024.0", "finance.valuation_year: Input should be a valid integer"),
    ("finance.ev_sales_multiple=-inf", "finance.ev_sales_multiple: Input should be a finite "
     "number"),
    ("controls.base_supply_units_per_quarter.Ascend910B=1e308",
     "controls.base_supply_units_per_quarter.Ascend910B: Input should be less than or equal to "
     "10000000"),
    # too deep: named '<command line>: KEY' by load_scenario, or '--set KEY' once the CLI
    # parses values with parse_set_value; either way the line ends 'KEY: nested ...'
    ("planner.exclude_chips=" + "[" * 40 + "]" * 40, "planner.exclude_chips: nested more than "
     "32 levels deep"),
    (".".join(["a"] * 40) + "=1", "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"),
]


@pytest.mark.parametrize(("item", "needle"), SET_CASES, ids=[s[:40] for s, _ in SET_CASES])
def test_bad_set_value_is_refused_and_writes_nothing(capsys, tmp_path, item, needle):
    if "nested" not in needle and not needle.startswith("a.a"):
        needle = f"capacity: <command line>: {needle}"
    refused_writes_nothing(capsys, tmp_path, ["plan", "--set", item], needle)


def test_deep_set_value_through_the_cli(capsys, tmp_path):
    deep = "planner.exclude_chips=" + "[" * 2000 + "]" * 2000
    refused_writes_nothing(capsys, tmp_path, ["plan", "--set", deep],
                           "nested more than 32 levels deep")


def test_parse_set_value_guards_depth():
    assert parse_set_value("1.4") == 1.4
    assert parse_set_value(" [1, 2] ") == [1, 2]
    assert parse_set_value("not toml at all") == "not toml at all"  # as the CLI does today
    with pytest.raises(InputError, match=r"^--set planner.exclude_chips: nested more than 32"):
        parse_set_value("[" * 2000 + "]" * 2000, "planner.exclude_chips")


# --------------------------------------------------------------------------------------------
# Command-line arguments
# --------------------------------------------------------------------------------------------

CLI_CASES: list[tuple[list[str], str, bool]] = [
    # (argv, needle, takes --out)
    (["plan", "--scenario", "nowhere/missing.toml"], "nowhere/missing.toml: file not found",
     True),
    (["plan", "--scenario", "no-such-scenario"], "unknown scenario 'no-such-scenario'", True),
    (["plan", "--set", "planner.pue"], "--set: expected KEY=VALUE", True),
    (["plan", "--set", "planner.pue_ratio=1.4"], "planner.pue_ratio: unknown key", True),
    (["plan", "--format", "xml"], "--format", True),
    (["value", "--multiple", "inf"], "finance.ev_sales_multiple: Input should be a finite "
     "number", True),
    (["value", "--multiple", "nan"], "finance.ev_sales_multiple: Input should be a finite "
     "number", True),
    (["value", "--multiple", "-3"], "finance.ev_sales_multiple: Input should be greater than 0",
     True),
    (["value", "--multiple", "1e308"], "finance.ev_sales_multiple: Input should be less than or "
     "equal to 100", True),
    (["compare"], "Missing argument", True),
    (["compare", "history", "nowhere.toml"], "nowhere.toml: file not found", True),
    (["backtest"], "--actuals: give either --actuals FILE or --rolling", True),
    (["backtest", "--actuals", "nowhere.csv"], "nowhere.csv: file not found", True),
    (["stress", "--samples", "abc"], "--samples", True),
    (["stress", "--seed", "1.5"], "--seed", True),
    (["stress", "--samples", "0", "--workers", "1"], "--samples: ", True),
    (["stress", "--samples", "-5", "--workers", "1"], "--samples: ", True),
    (["stress", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler: goes with --executor dask",
     True),
    (["validate", "nowhere.toml"], "nowhere.toml: file not found", False),
    (["controls", "--at", "2025Q5"], "expected a quarter", False),
    (["controls", "--at", "9999Q4"], "--at: quarter 9999Q4 is outside", False),
    (["controls", "--at", "1990Q1"], "--at: quarter 1990Q1 is outside", False),
    (["controls", "--timeline", "--end", "2050Q1"], "--end: quarter 2050Q1 is outside", False),
    (["plan", "--solver", "bogus"], "solver: unknown solver 'bogus'", True),
    (["plan", "--time-limit", "0"], "--time-limit: must be a number of seconds", True),
    (["compare", "history", "--time-limit", "inf"], "--time-limit: must be a number", True),
    (["demand", "--set", 'horizon.end="2041Q1"'], "horizon.end: quarter 2041Q1 is outside",
     False),
    (["calibrate", "--set", "calibration.tolerance=0.5"], "calibration.tolerance: Input should "
     "be less than 0.5", False),
]


@pytest.mark.parametrize(("argv", "needle", "takes_out"), CLI_CASES,
                         ids=[" ".join(a)[:50] for a, _, _ in CLI_CASES])
def test_bad_cli_arguments(capsys, tmp_path, argv, needle, takes_out):
    if takes_out:
        refused_writes_nothing(capsys, tmp_path, argv, needle)
    else:
        assert_refused(*_run(capsys, argv), needle)


# --------------------------------------------------------------------------------------------
# Actuals CSVs for backtest
# --------------------------------------------------------------------------------------------

_HEAD = "period,gpus_units,computing_power_eflops,revenue_m,genai_share,source\n"
ACTUALS_CASES: list[tuple[str, str, bytes | str]] = [
    # (id, needle, file content)
    ("not-a-number", "line 2 gpus_units: 'many' is not a number", _HEAD + "2023Q2,many,,,,x\n"),
    ("inf", "line 2 gpus_units: 'inf' is not a finite number", _HEAD + "2023Q2,inf,,,,x\n"),
    ("nan", "line 2 computing_power_eflops: 'nan' is not a finite number",
     _HEAD + "2023Q2,,nan,,,x\n"),
    ("negative", "line 2 revenue_m: -5 is negative", _HEAD + "1H23,,,-5,,x\n"),
    ("share-not-fraction", "line 2 genai_share: 20.3 is not a fraction",
     _HEAD + "1H23,,,,20.3,x\n"),
    ("bad-period", "line 2 period", _HEAD + "2023Q5,30000,,,,x\n"),
    ("empty-period", "line 2 period: empty period", _HEAD + ",30000,,,,x\n"),
    ("duplicate-period", "line 3 period: '2Q23' is the same period as line 2",
     _HEAD + "2023Q2,30000,,,,x\n2Q23,31000,,,,y\n"),
    ("no-period-column", "missing column 'period'", "gpus_units\n30000\n"),
    ("unknown-column", "column 'gpu_count'", "period,gpu_count\n2023Q2,30000\n"),
    ("no-figures", "no figures", _HEAD + "2023Q2,,,,,x\n"),
    ("empty-file", "not valid CSV", ""),
    ("not-utf8", "not valid CSV", b"period,gpus_units\n2023Q2,30\xe9\xff\n"),
    ("huge", "file is", _HEAD + "# padding\n" * (S.MAX_INPUT_FILE_BYTES // 10 + 1)),
]


@pytest.mark.parametrize(("needle", "content"), [c[1:] for c in ACTUALS_CASES],
                         ids=[c[0] for c in ACTUALS_CASES])
def test_bad_actuals_csv(capsys, tmp_path, needle, content):
    f = tmp_path / "in" / "bad.csv"
    f.parent.mkdir()
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content)
    err = refused_writes_nothing(capsys, tmp_path, ["backtest", "--actuals", str(f)], needle)
    assert "bad.csv" in err  # the line names the file


# --------------------------------------------------------------------------------------------
# Stress requests
# --------------------------------------------------------------------------------------------

STRESS_CASES: list[tuple[dict, str]] = [
    (dict(samples=1_000_000_000, seed=0, workers=1), "--samples: Input should be less than or "
     "equal to 10000000, got 1000000000"),
    (dict(samples=0, seed=0, workers=1), "--samples: Input should be greater than or equal to 1"),
    (dict(samples=-1, seed=0, workers=1), "--samples: Input should be greater than or equal to "
     "1"),
    (dict(samples=True, seed=0, workers=1), "--samples: Input should be a valid integer, got a "
     "bool (true)"),
    (dict(samples=10.0, seed=0, workers=1), "--samples: Input should be a valid integer"),
    (dict(samples=10, seed=-1, workers=1), "--seed: Input should be greater than or equal to 0, "
     "got -1"),
    (dict(samples=10, seed=2**63, workers=1), "--seed: Input should be less than "
     "9223372036854775808"),
    (dict(samples=10, seed="7", workers=1), "--seed: Input should be a valid integer"),
    (dict(samples=10, seed=0, workers=0), "--workers: Input should be greater than or equal to "
     "1"),
    (dict(samples=10, seed=0, workers=257), "--workers: Input should be less than or equal to "
     "256"),
    (dict(samples=S.MAX_STRESS_SAMPLES, seed=0, workers=4, n_kpis=13, n_inputs=10,
          n_periods=18), "--samples: 10000000 draws need about"),
    (dict(samples=1000, seed=0, workers=4, n_kpis=13, n_inputs=10, n_periods=18,
          budget_bytes=1000), "over the budget of 0.0 GiB; use at most 0 draws"),
]


@pytest.mark.parametrize(("kwargs", "needle"), STRESS_CASES,
                         ids=[str(k)[:60] for k, _ in STRESS_CASES])
def test_bad_stress_request(kwargs, needle):
    with pytest.raises(InputError) as info:
        S.check_stress_request(**kwargs)
    line = info.value.one_line()
    assert "\n" not in line and needle in line, line


STRESS_CLI_CASES: list[tuple[list[str], str]] = [
    (["--samples", "1000000000"], "--samples: Input should be less than or equal to 10000000"),
    (["--seed", "-1"], "--seed: Input should be greater than or equal to 0"),
    (["--seed", str(2**63)], "--seed: Input should be less than 9223372036854775808"),
    (["--workers", "1000"], "--workers: Input should be less than or equal to 256"),
    (["--samples", "9000000"], "--samples: 9000000 draws need about"),
]


@pytest.mark.parametrize(("args", "needle"), STRESS_CLI_CASES,
                         ids=[" ".join(a) for a, _ in STRESS_CLI_CASES])
def test_bad_stress_arguments_through_the_cli(capsys, tmp_path, args, needle):
    refused_writes_nothing(capsys, tmp_path, ["stress", *args], needle)


def test_stress_request_accepts_the_limits_and_estimates_linearly():
    ok = S.check_stress_request(S.MAX_STRESS_SAMPLES, S.SEED_LIMIT - 1, S.MAX_STRESS_WORKERS)
    assert (ok.samples, ok.seed, ok.workers) == (S.MAX_STRESS_SAMPLES, 2**63 - 1, 256)
    assert S.check_stress_request(1000, 0, 1, n_kpis=13, n_inputs=10, n_periods=18).samples \
        == 1000
    one = S.estimate_stress_memory_bytes(1, 13, 10, 18, n_limits=40)
    assert S.estimate_stress_memory_bytes(1000, 13, 10, 18, n_limits=40) == 1000 * one
    # measured with tracemalloc on history-uncertain (10 inputs, 18 quarters): about 1,355 bytes
    # a draw between 2,000 and 30,000 draws; the estimate must not be below it
    assert 1355 <= one <= 2 * 1355


# --------------------------------------------------------------------------------------------
# A representative subset in a real process (default recursion limit, real stderr)
# --------------------------------------------------------------------------------------------

_SUBPROCESS = [
    (["validate", str(CORPUS / "deep-arrays.toml")], "nested more than 32 levels deep"),
    (["plan", "--set", "planner.pue=true"], "planner.pue: Input should be a valid number, got "
     "a bool (true)"),
    (["compare", "history", str(CORPUS / "rule-cycle.toml")], "superseded_by links form a "
     "cycle"),
    (["value", "--scenario", str(CORPUS / "horizon-9999.toml")], "horizon.end: quarter 9999Q4"),
]


@pytest.mark.parametrize(("argv", "needle"), _SUBPROCESS, ids=[a[0] for a, _ in _SUBPROCESS])
def test_subprocess_subset(tmp_path, argv, needle):
    parent = tmp_path / "runs"
    parent.mkdir()
    out_dir = parent / "out"
    extra = [] if argv[0] == "validate" else ["--out", str(out_dir)]
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from capacity.cli import main; "
         "sys.exit(main(sys.argv[1:]))", *argv, *extra],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert_refused(proc.returncode, proc.stdout, proc.stderr, needle)
    assert list(parent.iterdir()) == []


GENERATED_CASES = 4
"""Bad inputs made in the tests above: a huge file, a huge parent, a long extends chain, a
library with a cycle (and a huge library)."""


def test_corpus_size():
    """Issue 17 asks for at least 80 bad inputs; count what this module runs."""
    n = (len(CORPUS_FILES) + GENERATED_CASES + len(SET_CASES) + len(CLI_CASES)
         + len(ACTUALS_CASES) + len(STRESS_CASES) + len(STRESS_CLI_CASES))
    assert len(CORPUS_FILES) >= 80
    assert n >= 160


# --------------------------------------------------------------------------------------------
# Nothing valid is refused
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_shipped_scenarios_validate(capsys, name):
    code, out, err = _run(capsys, ["validate", name])
    assert code == 0 and err == "" and "ok" in out


VALID_AT_THE_LIMITS = [
    "planner.pue=1", "planner.pue=3", "planner.pue=2",  # an int where a float belongs
    f"planner.fx_usd={S.MIN_FX_RATE}", f"planner.fx_usd={S.MAX_FX_RATE}",
    f"finance.fx_listing={S.MIN_FX_RATE}", f"finance.fx_listing={S.MAX_FX_RATE}",
    f"finance.shares_m={S.MIN_SHARES_M}", f"finance.shares_m={S.MAX_SHARES_M}",
    f"finance.net_cash_m={-S.MAX_ABS_NET_CASH_RMB_M}", "finance.net_cash_m=-500",
    f"fleet.default_life_quarters={S.MAX_LIFE_QUARTERS}", "fleet.default_life_quarters=1",
    f'horizon.end="{S.LAST_QUARTER}"', 'horizon.end="4Q30"',
    f"planner.default_lead_time_quarters={S.MAX_LEAD_TIME_QUARTERS}",
    f"planner.lot_units={S.MAX_LOT_UNITS}",
    f"planner.capex_budget_m.2024={S.MAX_BUDGET_RMB_M}",
    f"planner.capex_budget_m.{S.LAST_YEAR}=0",
    f"planner.datacenter_mw.2025Q1={S.MAX_DATACENTER_MW}",
    f"planner.price_usd.H20={S.MAX_CHIP_PRICE_USD}",
    f"planner.electricity_per_kwh={S.MAX_ELECTRICITY_RMB_PER_KWH}",
    f"demand.tokens.per_month_tn={S.MAX_TOKENS_TN}", "demand.tokens.per_month_tn=0",
    f"demand.revenue.growth_by_year.2024={S.MAX_GROWTH_ANNUAL}",
    "demand.revenue.growth_by_year.2024=-0.99",
    f"finance.valuation_year={S.LAST_YEAR}",
    'demand.runs=[{name = "r", params_bn = 100, tokens_tn = "stock", start = "2024Q1", '
    f'duration_quarters = {S.MAX_RUN_QUARTERS}, mfu = 1}}]',
    'demand.runs=[{name = "r", params_bn = 100, tokens_per_param = 20, start = "2024Q1", '
    'end = "2033Q4", mfu = 0.4}]',
    'planner.exclude_chips=["V100"]',
]


@pytest.mark.parametrize("item", VALID_AT_THE_LIMITS, ids=[s[:40] for s in VALID_AT_THE_LIMITS])
def test_values_at_the_limits_are_accepted(item):
    from capacity.cli import parse_sets

    load_scenario("history", set_values=parse_sets([item]))


def test_strict_numbers_keep_their_values():
    sc = load_scenario("history", set_values={"planner.pue": 2, "planner.lot_units": 16})
    assert sc.inputs.planner.pue == 2.0 and isinstance(sc.inputs.planner.pue, float)
    assert sc.inputs.planner.lot_units == 16


def test_dates_still_accept_text_and_toml_dates():
    rule = S.ExportRule(id="x", title="test rule", kind="embargo", announced="2024-01-01",
                        effective=dt.date(2024, 1, 1), source="test",
                        band=[{"status": "banned"}])
    assert rule.announced == dt.date(2024, 1, 1)


# --------------------------------------------------------------------------------------------
# The pieces
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line"), [
    ("a = [[1]]", None),
    ("a = " + "[" * 32 + "]" * 32, None),
    ("a = " + "[" * 33 + "]" * 33, 1),
    ('a = "' + "[" * 50 + '"\n', None),                       # brackets in a basic string
    ("a = '" + "{" * 50 + "'\n", None),                       # in a literal string
    ('a = """\n' + "[" * 50 + '\n"""\nb = 1\n', None),        # in a multi-line string
    ("a = '''\n" + "[" * 50 + "\n'''\n", None),
    ('a = "\\"' + "[" * 50 + '"\n', None),                    # after an escaped quote
    ("# " + "[" * 50 + "\nb = 1\n", None),                    # in a comment
    ('x = 1\ny = """two\nlines"""\nz = ' + "{a = " * 40 + "1" + "}" * 40, 4),
])
def test_nesting_scan(text, line):
    assert nesting_too_deep(text) == line


def test_value_depth_and_loads_toml():
    assert value_depth(1) == 0 and value_depth([]) == 1 and value_depth({"a": [[1]]}) == 3
    deep: list = []
    node = deep
    for _ in range(5000):  # deeper than Python's recursion limit: measured without recursion
        node.append([])
        node = node[0]
    assert value_depth(deep) == 5001
    assert loads_toml("a = 1", "f.toml") == {"a": 1}
    with pytest.raises(InputError, match=r"^f.toml: nested more than"):
        loads_toml(".".join(["k"] * 40) + " = 1", "f.toml")
    with pytest.raises(InputError, match=r"^f.toml:1: nested more than"):
        loads_toml("a = " + "[" * 5000 + "]" * 5000, "f.toml")
    with pytest.raises(InputError, match=r"^f.toml: not valid TOML"):
        loads_toml("a = = 1", "f.toml")


def _rule(rid: str, sup: str | None) -> S.ExportRule:
    return S.ExportRule(id=rid, title=f"rule {rid}", kind="embargo", announced="2024-01-01",
                        effective="2024-01-01", superseded_by=sup, source="test",
                        band=[{"status": "banned"}])


def test_supersession_cycle():
    chain = {r.id: r for r in [_rule("a", "b"), _rule("b", "c"), _rule("c", None)]}
    assert S.supersession_cycle(chain) is None
    assert S.supersession_cycle({"a": _rule("a", "zzz")}) is None  # unknown ids not followed
    loop = {r.id: r for r in [_rule("t", "a"), _rule("a", "b"), _rule("b", "a")]}
    assert S.supersession_cycle(loop) == ["a", "b", "a"]
    big = {f"r{i}": _rule(f"r{i}", f"r{(i + 1) % 500}") for i in range(500)}
    assert len(S.supersession_cycle(big)) == 501


def test_shipped_library_has_no_cycle(history):
    assert S.supersession_cycle(history.all_rules()) is None


def test_validation_problem_texts():
    assert validation_problem({"type": "extra_forbidden", "msg": "x", "input": 1}) == \
        "unknown key"
    assert validation_problem({"type": "value_error", "msg": "Value error, bad thing"}) == \
        "bad thing"
    assert validation_problem({"type": "float_type", "msg": "Input should be a valid number",
                               "input": True}) == \
        "Input should be a valid number, got a bool (true)"
    long = validation_problem({"type": "float_type", "msg": "Input should be a valid number",
                               "input": "x" * 500})
    assert len(long) < 100


def test_quarter_arg():
    assert str(S.quarter_arg("3Q24", "--at")) == "2024Q3"
    with pytest.raises(InputError, match=r"^--at: quarter 9999Q4 is outside 2000Q1 to 2040Q4"):
        S.quarter_arg("9999Q4", "--at")


# --------------------------------------------------------------------------------------------
# docs/limits.md lists every limit
# --------------------------------------------------------------------------------------------

_LIMIT_NAME = re.compile(
    r"^(?:MAX|MIN|FIRST|LAST)_[A-Z0-9_]+$|^SEED_LIMIT$|^STRESS_MEMORY_BUDGET_BYTES$")


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_limits_doc_lists_every_limit():
    doc = (HERE.parent / "docs" / "limits.md").read_text(encoding="utf-8")
    names = [n for n in vars(S) if _LIMIT_NAME.match(n)]
    assert len(names) >= 50
    for name in names:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"docs/limits.md has no row for {name}"
        assert f"| {_shown(getattr(S, name))} |" in row, f"{name}: {row}"
    guide = (HERE.parent / "docs" / "user-guide.md").read_text(encoding="utf-8")
    assert "limits.md" in guide
