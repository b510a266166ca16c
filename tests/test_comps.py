"""``capacity comps``: one row per subject in one stated currency (issue 27, item 6).

The conversion is recomputed by hand from the subject.toml FX rows; the tiling of reported
flows and the FX path are checked on small tables worked out by hand; bad input is one line
and exit code 2.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import cli_json

from capacity.cli import main
from capacity.comps_report import trailing_flow
from capacity.errors import InputError
from capacity.scenarios.files import shipped_subjects
from capacity.subjects import SubjectFile, conversion

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def comps() -> dict:
    return cli_json("comps", "--no-backtest")


@pytest.fixture(scope="module")
def sensetime_value() -> dict:
    return cli_json("--subject", "sensetime", "value")


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_one_row_per_shipped_subject_in_one_currency(comps):
    assert comps["currency"] == "USD"
    rows = comps["comps"]
    assert sorted(r["subject"] for r in rows) == sorted(shipped_subjects())
    assert all("currency" not in r for r in rows)  # the currency is stated once, at the top
    for r in rows:
        assert r["target_price"] is not None and r["upside"] is not None, r["subject"]
        assert r["upside"] == pytest.approx(r["target_price"] / r["share_price"] - 1, rel=1e-6)
        assert r["market_ev_m"] == pytest.approx(r["market_value_m"] - r["net_cash_m"])
        assert r["ev_sales_next_year"] == pytest.approx(
            r["market_ev_m"] / r["revenue_next_year_m"])
        assert r["backtest_revenue_mape_h1_pct"] is None  # --no-backtest


def test_usd_subjects_convert_nothing_and_list_no_rate(comps):
    for r in comps["comps"]:
        if r["reporting_currency"] == r["listing_currency"] == "USD":
            assert r["fx_reporting"] == r["fx_listing"] == 1.0
            assert not [f for f in comps["fx"] if f["subject"] == r["subject"]]


def test_the_conversion_is_recomputed_by_hand_from_the_fx_rows(comps, sensetime_value):
    doc = tomllib.loads((DATA / "subject.toml").read_text())
    rate = {f["pair"]: f["rate"] for f in sorted(doc["fx"], key=lambda f: f["date"])}
    rmb_per_usd, fx_listing = rate["RMB/USD"], rate["RMB/HKD"]  # the latest rows of the file
    row = next(r for r in comps["comps"] if r["subject"] == "sensetime")
    assert row["fx_reporting"] == pytest.approx(1 / rmb_per_usd)
    assert row["fx_listing"] == pytest.approx(fx_listing / rmb_per_usd)
    v = sensetime_value
    assert row["target_price"] == pytest.approx(v["target_price"] * fx_listing / rmb_per_usd)
    assert row["share_price"] == pytest.approx(v["share_price"] * fx_listing / rmb_per_usd)
    assert row["net_cash_m"] == pytest.approx(v["net_cash_m"] / rmb_per_usd)
    assert row["upside"] == pytest.approx(v["upside"])
    used = {(f["converts"], f["pair"]): f for f in comps["fx"] if f["subject"] == "sensetime"}
    assert set(used) == {("reporting RMB -> USD", "RMB/USD"), ("listing HKD -> USD", "RMB/HKD"),
                         ("listing HKD -> USD", "RMB/USD")}
    latest = {f["pair"]: str(f["date"]) for f in sorted(doc["fx"], key=lambda f: f["date"])}
    assert all(f["date"] == latest[f["pair"]] and f["source"] for f in used.values())


def _disclosures(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"metric": m, "period": pd.Period(p, freq="Q"), "span_quarters": s,
                          "value": v, "published": "2025-09-01"} for m, p, s, v in rows])


def test_reported_revenue_tiles_the_latest_four_quarters():
    d = _disclosures([("revenue_m", "2025Q2", 2, 10.0), ("revenue_m", "2024Q4", 2, 7.0),
                      ("revenue_m", "2024Q4", 4, 12.0), ("revenue_m", "2024Q2", 2, 5.0)])
    assert trailing_flow(d, "revenue_m") == {"value": 17.0, "period": "2025Q2",
                                                  "published": "2025-09-01"}  # 10 + 7
    gap = _disclosures([("revenue_m", "2025Q1", 1, 3.0), ("revenue_m", "2024Q4", 4, 12.0)])
    assert trailing_flow(gap, "revenue_m")["value"] == 12.0  # 2025Q1 alone does not tile
    assert trailing_flow(gap, "ebitda_m") is None


def _subject(fx: list[dict]) -> SubjectFile:
    return SubjectFile.model_validate({"name": "x", "title": "X", "currency": {
        "reporting": "RMB", "listing": "HKD"}, "fx": fx})


def test_conversion_takes_the_latest_dated_rate_and_one_cross():
    s = _subject([{"pair": "RMB/USD", "date": dt.date(2024, 1, 1), "rate": 7.0, "source": "a"},
                  {"pair": "RMB/USD", "date": dt.date(2025, 1, 1), "rate": 8.0, "source": "b"},
                  {"pair": "RMB/HKD", "date": dt.date(2024, 1, 1), "rate": 0.9, "source": "c"}])
    assert conversion(s, "RMB", "USD", dt.date(2024, 6, 30))[0] == pytest.approx(1 / 7.0)
    factor, used = conversion(s, "HKD", "USD", dt.date(2025, 6, 30))
    assert factor == pytest.approx(0.9 / 8.0)  # 1 HKD = 0.9 RMB = 0.9 / 8 USD
    assert [r.source for r in used] == ["c", "b"]
    assert conversion(s, "USD", "HKD", dt.date(2025, 6, 30))[0] == pytest.approx(8.0 / 0.9)
    with pytest.raises(InputError, match="no dated FX rate from RMB to EUR"):
        conversion(s, "RMB", "EUR", dt.date(2025, 6, 30))


@pytest.mark.parametrize("argv, words", [
    (["comps", "--subject", "no-such-subject"], "--subject"),
    (["comps", "--as-of", "2026-02-30", "--no-backtest"], "--as-of"),
    (["comps", "--currency", "dollars", "--no-backtest"], "--currency"),
    (["comps", "--currency", "EUR", "--no-backtest"], "no dated FX rate"),
    (["comps", "--as-of", "2020-01-01", "--no-backtest"],
     "coreweave: 2020-01-01 is before the first vintage"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words):
    code, out, err = _run(argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("capacity: ")


def test_every_key_and_column_is_documented(comps):
    from capacity.report.keys import KEYS
    from capacity.report.names import describe

    assert [k for k in comps if k not in KEYS["comps"]] == []
    for table in ("comps", "fx"):
        cols = {c for row in comps[table] for c in row}
        assert sorted(c for c in cols if describe("comps", table, c) is None) == []


def test_out_writes_the_comps_sheet_and_chart(tmp_path):
    import openpyxl

    out = tmp_path / "comps"
    code, _, err = _run(["comps", "--no-backtest", "--subject", "nebius", "--out", str(out),
                         "--format", "csv"])
    assert code == 0, err
    assert (out / "comps.png").is_file() and (out / "comps.svg").is_file()
    wb = openpyxl.load_workbook(out / "comps.xlsx", read_only=True)
    assert {"comps", "fx"} <= set(wb.sheetnames)
    rows = list(wb["comps"].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "nebius"  # the header and the one subject
