"""Scenario comparison: KPI table, differences, binding-limit ranking, validate, broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from capacity.comparison import binding_groups, kpi_table, text_kpi_table
from capacity.errors import InputError
from capacity.scenarios import load_scenario, shipped_scenarios

BROKEN = Path(__file__).parent / "broken_scenarios"

# file -> a phrase its one-line error must contain
BROKEN_CASES = {
    "unknown_key.toml": "planner.pue_ratio: unknown key",
    "wrong_type.toml": "planner.pue: Input should be a valid number",
    "duplicate_override.toml": "set by both overrides 'cheap-power' and 'dear-power'",
    "unknown_chip.toml": "unknown chip 'H900'",
    "bad_quarter.toml": "expected a quarter",
    "empty.toml": "file is empty",
    "not_toml.toml": "not valid TOML",
    "unknown_rule.toml": "unknown rule 'oct-2027'",
    "unknown_override.toml": "unknown override 'no-such-override'",
    "unknown_top_level.toml": "sett: unknown top-level key",
}


# --------------------------------------------------------------------------------------------
# Pieces, by hand
# --------------------------------------------------------------------------------------------


def test_kpi_table_differences_by_hand():
    per = {
        "a": [("peak_eflops_2024Q4", "EFLOPS", 10.0), ("most_valuable_limits", "", "power"),
              ("binding_limits", "count", 4)],
        "b": [("peak_eflops_2024Q4", "EFLOPS", 7.5), ("most_valuable_limits", "", "budget"),
              ("binding_limits", "count", 6)],
        "c": [("peak_eflops_2024Q4", "EFLOPS", 12.25), ("most_valuable_limits", "", ""),
              ("binding_limits", "count", 4)],
    }
    t = kpi_table(per).set_index("kpi")
    assert list(t.columns) == ["unit", "a", "b", "c", "b_vs_a", "c_vs_a"]
    assert t.at["peak_eflops_2024Q4", "b_vs_a"] == -2.5       # 7.5 - 10
    assert t.at["peak_eflops_2024Q4", "c_vs_a"] == 2.25       # 12.25 - 10
    assert t.at["binding_limits", "b_vs_a"] == 2              # 6 - 4
    assert "most_valuable_limits" not in t.index             # text: in its own table
    assert t.at["peak_eflops_2024Q4", "unit"] == "EFLOPS"
    for col in ("a", "b", "c", "b_vs_a", "c_vs_a"):           # numeric, whatever the KPIs
        assert t[col].dtype == float
    text = text_kpi_table(per).set_index("kpi")
    assert list(text.columns) == ["a", "b", "c"]
    assert text.at["most_valuable_limits", "b"] == "budget"


def test_kpi_table_solver_noise_is_zero():
    per = {"a": [("capex", "RMB m", 4500.0)], "b": [("capex", "RMB m", 4500.0 + 9e-13)]}
    assert kpi_table(per).at[0, "b_vs_a"] == 0.0


def test_binding_groups_rank_by_m_per_unit():
    b = pd.DataFrame([
        {"constraint": "access", "period": "2024Q1", "chip": "H100", "shadow_price": 2.0,
         "unit": "RMB m per unit"},
        {"constraint": "access", "period": "2024Q2", "chip": "H100", "shadow_price": 3.0,
         "unit": "RMB m per unit"},
        {"constraint": "access", "period": "2024Q1", "chip": "A800", "shadow_price": 0.5,
         "unit": "RMB m per unit"},
        {"constraint": "budget", "period": "2024", "chip": "", "shadow_price": 1.3,
         "unit": "RMB m per RMB m"},
        {"constraint": "power", "period": "2025Q1", "chip": "", "shadow_price": 40.0,
         "unit": "RMB m per MW"},
    ])
    g = binding_groups(b)
    assert list(g["limit"]) == ["power", "access H100", "budget", "access A800"]
    #                           40 RMB m/MW, 3.0 RMB m/unit, 1.3, 0.5 RMB m/unit
    assert list(g["max_shadow_price"]) == [40.0, 3.0, 1.3, 0.5]
    assert g.set_index("limit").at["access H100", "quarters_binding"] == 2
    assert g.set_index("limit").at["access H100", "first_period"] == "2024Q1"
    assert g.set_index("limit").at["budget", "unit"] == "RMB m per RMB m"
    assert g.set_index("limit").at["power", "unit"] == "RMB m per MW"
    assert binding_groups(b.iloc[:0]).empty


def test_compare_rejects_duplicate_names(history):
    from capacity.comparison import compare

    with pytest.raises(InputError, match="named twice"):
        compare([history, history])
    with pytest.raises(InputError, match="at least one"):
        compare([])


# --------------------------------------------------------------------------------------------
# End to end: history vs embargo-2024, KPIs recomputed from the plan and value commands
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cmp_json():
    import contextlib
    import io

    from capacity.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["compare", "history", "embargo-2024", "--format", "json"])
    assert code == 0
    return json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def api_result():
    import capacity

    return capacity.compare("history", "embargo-2024")


def _kpi(doc: dict, kpi: str) -> dict:
    rows = [r for r in doc["kpis"] if r["kpi"] == kpi]
    assert len(rows) == 1, kpi
    return rows[0]


def test_compare_json_shape(cmp_json):
    assert [s["name"] for s in cmp_json["scenarios"]] == ["history", "embargo-2024"]
    for rec in cmp_json["scenarios"]:
        assert set(rec) == {"name", "description", "changes"}
        assert rec["changes"] == len(load_scenario(rec["name"]).changes)
        assert rec["description"] == load_scenario(rec["name"]).description
    for rec in cmp_json["kpis"]:
        assert list(rec) == ["kpi", "unit", "history", "embargo-2024", "embargo-2024_vs_history"]
    kpis = [r["kpi"] for r in cmp_json["kpis"]]
    for needed in ("peak_eflops_2023Q4", "effective_eflops_2024Q4", "gpus_units_2025Q4",
                   "cumulative_capex_m_2025Q4", "total_shortfall_eflops_quarters",
                   "binding_limits", "genai_revenue_m_2024", "genai_share_2025",
                   "target_price"):
        assert needed in kpis
    assert _kpi(cmp_json, "target_price")["unit"] == "HKD"
    # the text KPI has its own table, so every kpis value is a number
    assert [r["kpi"] for r in cmp_json["kpis_text"]] == ["most_valuable_limits"]
    assert all(isinstance(r["history"], str) for r in cmp_json["kpis_text"])
    assert all(isinstance(v, float) for r in cmp_json["kpis"] for k, v in r.items()
               if k not in ("kpi", "unit"))
    assert _kpi(cmp_json, "peak_eflops_2024Q4")["unit"] == "EFLOPS"


def test_differences_are_scenario_minus_reference(cmp_json):
    for rec in cmp_json["kpis"]:
        a, b, d = rec["history"], rec["embargo-2024"], rec["embargo-2024_vs_history"]
        if isinstance(a, str):
            assert d is None
            continue
        assert d == pytest.approx(b - a, rel=1e-8, abs=1e-6), rec["kpi"]


def test_kpis_match_plan_and_value_commands(cmp_json, run_json):
    plan = run_json("plan", "--scenario", "embargo-2024")
    value = run_json("value", "--scenario", "embargo-2024")
    q = {r["period"]: r for r in plan["quarters"]}
    for period in ("2023Q4", "2024Q4", "2025Q4"):
        for col in ("peak_eflops", "effective_eflops", "gpus_units"):
            assert _kpi(cmp_json, f"{col}_{period}")["embargo-2024"] == \
                pytest.approx(q[period][col], rel=1e-9)
    # cumulative capex: the plan's capex summed over quarters up to 2024Q4
    capex_2024q4 = sum(r["capex_m"] for r in plan["quarters"] if r["period"] <= "2024Q4")
    assert _kpi(cmp_json, "cumulative_capex_m_2024Q4")["embargo-2024"] == \
        pytest.approx(capex_2024q4, rel=1e-9)
    assert _kpi(cmp_json, "total_capex_m")["embargo-2024"] == \
        pytest.approx(plan["total_capex_m"], rel=1e-9)
    assert _kpi(cmp_json, "total_shortfall_eflops_quarters")["embargo-2024"] == \
        pytest.approx(plan["total_shortfall_eflops_quarters"], rel=1e-9)
    # Work balances (demand, allocation, tokens, ...) are not limits: the count leaves them out.
    from capacity.comparison import LIMIT_CONSTRAINTS

    limits = [b for b in plan["binding"] if b["constraint"] in LIMIT_CONSTRAINTS]
    assert _kpi(cmp_json, "binding_limits")["embargo-2024"] == len(limits)
    annual = {r["year"]: r for r in value["annual"]}
    assert _kpi(cmp_json, "genai_revenue_m_2025")["embargo-2024"] == \
        pytest.approx(annual[2025]["genai_revenue_m"], rel=1e-9)
    assert _kpi(cmp_json, "genai_share_2024")["embargo-2024"] == \
        pytest.approx(annual[2024]["genai_share"], rel=1e-9)
    assert _kpi(cmp_json, "target_price")["embargo-2024"] == \
        pytest.approx(value["target_price"], rel=1e-9)


def test_embargo_cannot_beat_history(cmp_json):
    """The embargo only removes purchase options history has (its caps are tighter, nothing
    else changes), so the most NPV it can reach is no more than history's; and the KPIs that
    differ between the two say so."""
    npv = _kpi(cmp_json, "npv_m")
    assert npv["embargo-2024"] <= npv["history"] + 1e-6
    assert npv["embargo-2024_vs_history"] < -1.0  # the embargo costs NPV [RMB m]
    for kpi in ("total_capex_m", "total_inference_served_tn_tokens",
                "total_served_revenue_m"):
        assert _kpi(cmp_json, kpi)["embargo-2024_vs_history"] != 0.0, kpi


def test_python_api_result(api_result, cmp_json):
    r = api_result
    assert r.names == ["history", "embargo-2024"]
    assert set(r.plans) == set(r.values) == {"history", "embargo-2024"}
    assert [rep.kind for rep in r.reports] == ["compare", "plan", "value", "plan", "value"]
    assert "peak_eflops" in r.plans["history"].quarters.columns
    assert "target_price" in r.values["history"].scalars
    tp = r.kpis.set_index("kpi").at["target_price", "embargo-2024"]
    assert tp == pytest.approx(_kpi(cmp_json, "target_price")["embargo-2024"], rel=1e-9)
    assert set(r.binding["scenario"]) <= {"history", "embargo-2024"}
    assert r.notes == []  # every KPI quarter and year is inside the shipped horizon


# --------------------------------------------------------------------------------------------
# validate: every shipped scenario passes; every broken file fails with one line, exit 2
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_shipped_scenario_validates(run_cli, name):
    path = shipped_scenarios()[name]
    code, out, err = run_cli("validate", str(path))
    assert code == 0, err
    lines = out.splitlines()
    n = len(load_scenario(path).changes)
    assert lines[0] == f"{path}: ok ({n} changes)"
    assert len(lines) == 1 + n
    assert err == ""


def test_validate_json(run_json):
    doc = run_json("validate", "embargo-2024")
    assert doc["ok"] is True
    assert doc["scenario"] == "embargo-2024"
    assert doc["n_changes"] == len(doc["changes"]) == len(load_scenario("embargo-2024").changes)
    assert doc["changes"][-1]["origin"] == "embargo-2024.toml"


def test_broken_corpus_is_complete():
    assert sorted(p.name for p in BROKEN.glob("*.toml")) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("fname", sorted(BROKEN_CASES))
def test_broken_file_validate_one_line_exit_2(run_cli, fname):
    code, out, err = run_cli("validate", str(BROKEN / fname))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("capacity: ")
    assert BROKEN_CASES[fname] in err
    assert "Traceback" not in err


@pytest.mark.parametrize("fname", sorted(BROKEN_CASES))
def test_broken_file_compare_writes_nothing(run_cli, tmp_path, fname):
    out_dir = tmp_path / "x"
    code, out, err = run_cli("compare", "history", str(BROKEN / fname), "--out", str(out_dir))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and BROKEN_CASES[fname] in err
    assert not out_dir.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind either


def test_compare_refuses_non_empty_out_before_solving(run_cli, tmp_path):
    out_dir = tmp_path / "x"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("analyst's file\n")
    code, _out, err = run_cli("compare", "history", "--out", str(out_dir))
    assert code == 2
    assert "--out" in err and "not empty" in err
    assert [p.name for p in out_dir.iterdir()] == ["keep.txt"]


def test_compare_unknown_scenario_one_line(run_cli):
    code, out, err = run_cli("compare", "history", "no-such-scenario")
    assert code == 2
    assert "unknown scenario 'no-such-scenario'" in err
    assert err.count("\n") == 1 and out == ""


def test_notebook_is_valid_and_its_code_parses():
    """docs/notebook.ipynb: nbformat 4 JSON whose code cells are valid Python using the API."""
    import ast

    path = Path(__file__).parent.parent / "docs" / "notebook.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 10
    for src in code:
        ast.parse(src)
    text = "\n".join(code)
    for call in ("capacity.load_scenario(", "capacity.plan(", "capacity.compare(",
                 "capacity.value("):
        assert call in text
