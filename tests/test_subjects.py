"""Subjects as data (issue #27): ``capacity subjects``, ``--subject NAME``, the subject's
currencies in labels and JSON, and a minimal USD subject whose optional parts are absent.

The minimal subject (``tests/fixtures/minimal_subject``: subject.toml, baseline.toml and
disclosures.csv only; made-up figures) reports and lists in US dollars, has no broker targets,
no GenAI target, no tokens, no training runs, no export rules and one segment.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from cli_helpers import strings

from capacity.cli import main

MINIMAL = Path(__file__).parent / "fixtures" / "minimal_subject"

MISSING = ["no broker target price", "no GenAI share target", "no token figure",
           "no training programme", "no export rules", "no second segment"]
"""The start of the one stderr line each absent optional part of the minimal subject gives."""


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_subjects_lists_the_shipped_subject():
    code, out, err = run(["subjects", "--format", "json"])
    assert code == 0 and err == ""
    rows = {r["subject"]: r for r in json.loads(out)["subjects"]}
    row = rows["sensetime"]
    # data/vintages holds 5 files, plus the baseline's own vintage
    assert row["n_vintages"] == 6 and row["latest_vintage"] == "2026-01-31"
    assert (row["reporting_currency"], row["listing_currency"]) == ("RMB", "HKD")
    assert row["default"] is True


def test_subjects_lists_the_shipped_gpu_clouds_beside_the_default():
    """data/ (the default) and each data/subjects/<name>/ with a subject.toml are listed."""
    code, out, err = run(["subjects", "--format", "json"])
    assert code == 0 and err == ""
    rows = {r["subject"]: r for r in json.loads(out)["subjects"]}
    assert len(rows) >= 3
    assert all(r["n_vintages"] >= 2 and r["reporting_currency"] and r["listing_currency"]
               for r in rows.values())
    cw = rows["coreweave"]
    assert cw["title"].startswith("CoreWeave") and cw["folder"].endswith("data/subjects/coreweave")
    assert (cw["reporting_currency"], cw["listing_currency"]) == ("USD", "USD")
    # the baseline's vintage plus data/subjects/coreweave/vintages/*.toml (5 files)
    assert cw["n_vintages"] == 6 and cw["latest_vintage"] == "2026-05-07"
    assert [r["subject"] for r in rows.values() if r["default"]] == ["sensetime"]


def test_a_shipped_subject_is_taken_by_name():
    code, out, _ = run(["--subject", "coreweave", "scenarios", "--format", "json"])
    assert code == 0 and "history-uncertain" in out


def test_subject_by_name_is_the_default_subject():
    by_name = run(["--subject", "sensetime", "scenarios", "--format", "json"])
    default = run(["scenarios", "--format", "json"])
    assert by_name[0] == 0 and by_name[1] == default[1]


def test_an_unknown_subject_name_is_one_line():
    code, out, err = run(["--subject", "sensetim", "plan"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "did you mean 'sensetime'" in err


def test_shipped_reports_carry_the_currency_field():
    code, out, _ = run(["plan", "--format", "json"])
    assert code == 0
    assert json.loads(out)["currency"] == {"reporting": "RMB", "listing": "HKD"}


def test_minimal_subject_plans_and_values_in_usd():
    for command in ("plan", "value"):
        code, out, err = run(["--subject", str(MINIMAL), command, "--format", "json"])
        assert code == 0, err
        doc = json.loads(out)
        assert doc["currency"] == {"reporting": "USD", "listing": "USD"}
        assert doc["subject"] == "Minimal Cloud (synthetic)"
        lines = err.splitlines()
        assert "Traceback" not in err
        for part in MISSING:  # each absent part named in exactly one line
            assert sum(part in line for line in lines) == 1, (command, part, err)
        shown = [s for s in strings(doc) if any(w in s for w in ("RMB", "HK$", "HKD"))]
        assert shown == [], shown
        code, text, _ = run(["--subject", str(MINIMAL), command])
        assert code == 0
        assert not any(w in text for w in ("RMB", "HK$", "HKD")), text
        assert "USD" in text  # the headers say the subject's currency


def test_minimal_subject_compares_and_lists_no_scenarios():
    # no scenarios/: 'baseline' by name is the subject's baseline, and the list is empty
    code, out, err = run(["--subject", str(MINIMAL), "scenarios", "--format", "json"])
    assert code == 0 and json.loads(out)["scenarios"] == []
    code, out, err = run(["--subject", str(MINIMAL), "compare", "baseline", "--format", "json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["currency"] == {"reporting": "USD", "listing": "USD"}
    assert not [s for s in strings(doc) if any(w in s for w in ("RMB", "HK$", "HKD"))]
    units = {r["kpi"]: r["unit"] for r in doc["kpis"]}
    assert units["total_capex_m"] == "USD m" and units["target_price"] == "USD"


def test_stress_without_a_fallback_scenario_is_one_line():
    code, out, err = run(["--subject", str(MINIMAL), "stress", "--samples", "5", "--workers",
                          "1"])
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == ("capacity: scenario: has no [uncertain] table and the "
                                    "subject names no fallback (subject.toml "
                                    "stress.fallback_uncertain)")


def test_minimal_subject_switches_absent_parts_off_as_null():
    code, out, _ = run(["--subject", str(MINIMAL), "value", "--format", "json"])
    assert code == 0
    v = json.loads(out)
    for key in ("note_target_price", "note_target_price_old",
                "note_check_target_price", "genai_share_target", "genai_target_met"):
        assert key in v and v[key] is None, key
    assert [r["case"] for r in v["bridge"]] == ["tool (capacity-linked)"]
    # valuation: EV/Sales on the 2025 sales; EV = 4 x sales, equity = EV + the net cash at the
    # valuation date (the balance sheet's 100 plus the modelled burn, the equity bridge's last
    # step), TP = equity / 200
    sales = v["valuation_sales_m"]
    bridge = v["equity_bridge"]
    assert bridge[0]["value_m"] == 100.0
    assert abs(v["target_price_ev_sales"]
               - (4.0 * sales + bridge[-1]["value_m"]) / 200.0 / 1.0) < 1e-6


def test_a_subject_folder_without_a_required_file_is_one_line(tmp_path):
    for name in ("baseline.toml", "disclosures.csv"):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        for f in MINIMAL.iterdir():
            if f.name != name:
                (folder / f.name).write_bytes(f.read_bytes())
        code, out, err = run(["--subject", str(folder), "plan"])
        assert code == 2 and out == "" and err.count("\n") == 1
        assert f"has no {name}" in err


def test_a_folder_without_a_subject_file_runs_with_null_currency(tmp_path):
    for name in ("baseline.toml", "disclosures.csv"):
        (tmp_path / name).write_bytes((MINIMAL / name).read_bytes())
    code, out, err = run(["--subject", str(tmp_path), "plan", "--format", "json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["subject"] is None and doc["currency"] == {"reporting": None, "listing": None}


def test_a_bad_subject_file_is_one_line(tmp_path):
    for name in ("baseline.toml", "disclosures.csv"):
        (tmp_path / name).write_bytes((MINIMAL / name).read_bytes())
    (tmp_path / "subject.toml").write_text('name = "bad"\ntitle = "Bad"\n\n[currency]\n'
                                           'reporting = "RMB"\nlisting = "HKD"\n',
                                           encoding="utf-8")
    code, out, err = run(["--subject", str(tmp_path), "plan"])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "subject.toml" in err and "RMB/HKD" in err and "RMB/USD" in err  # the FX series


def test_minimal_subject_files_say_usd(tmp_path):
    """The files of ``value --out`` (CSV, JSON, the datapackage, the workbook's cells, the
    charts and the units Parquet stores) carry no RMB or HKD label for a USD subject."""
    import openpyxl

    out = tmp_path / "out"
    code, _, err = run(["--subject", str(MINIMAL), "value", "--out", str(out)])
    assert code == 0, err
    bad = ("RMB", "HK$", "HKD")
    for path in sorted(out.iterdir()):
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            cells = [c for ws in book for row in ws.iter_rows(values_only=True) for c in row
                     if isinstance(c, str)]
            assert not [c for c in cells if any(w in c for w in bad)], path.name
        elif path.suffix != ".png":
            data = path.read_bytes()
            assert not any(w.encode() in data for w in bad), path.name


def test_minimal_subject_rolling_backtest_without_broker_target():
    # no target price: no reference row (the note's forecast), not a crash
    code, out, err = run(["--subject", str(MINIMAL), "backtest", "--rolling", "--format",
                          "json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["reference"] == [] and doc["vintages"] == "2025-01-31"
    assert not [s for s in strings(doc) if any(w in s for w in ("RMB", "HK$", "HKD"))]


GPU_CLOUDS = ["coreweave", "nebius"]
"""The shipped US-listed GPU-cloud subjects (data/subjects/<name>/)."""


def _shape(report: dict) -> tuple[set[str], dict[str, list[str]]]:
    """Top-level keys and each non-empty table's columns, a key's year written ``YYYY`` (keys
    hold no year, but KPI names such as ``genai_share_2026`` of compare and stress still do)."""
    def year_free(key: str) -> str:
        return re.sub(r"20\d\d", "YYYY", key)
    keys = {year_free(k) for k in report}
    tables = {k: sorted({year_free(c) for row in v for c in row}) for k, v in report.items()
              if isinstance(v, list) and v and isinstance(v[0], dict)}
    return keys, tables


def test_shipped_gpu_clouds_plan_and_value_like_the_default_subject():
    """plan and value (no sampling: quick) exit 0 for each shipped GPU cloud, in USD, and the
    value JSON has the default subject's top-level keys and, for every table both fill, its
    columns."""
    code, out, _ = run(["value", "--format", "json"])
    assert code == 0
    keys, tables = _shape(json.loads(out))
    for name in GPU_CLOUDS:
        code, out, _ = run(["--subject", name, "plan", "--format", "json"])
        assert code == 0, name
        assert json.loads(out)["currency"] == {"reporting": "USD", "listing": "USD"}
        code, out, _ = run(["--subject", name, "value", "--format", "json"])
        assert code == 0, name
        report = json.loads(out)
        assert report["currency"] == {"reporting": "USD", "listing": "USD"}
        sub_keys, sub_tables = _shape(report)
        assert sub_keys == keys, (name, sub_keys ^ keys)
        for table in set(tables) & set(sub_tables):
            assert sub_tables[table] == tables[table], (name, table)
        assert not any(w in s for s in strings(report)
                       for w in ("RMB", "HK$", "HKD", "SenseTime", "SenseCore")), name
