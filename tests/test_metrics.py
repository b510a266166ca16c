"""The post-solve metrics (capacity/metrics/): each quantity on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from capacity.metrics import costs, fleet, kpis, limits, work


def test_new_units_in_service_by_hand():
    # j0: 10 of chip 0 from t=0 for 2 quarters; j1: 5 of chip 1 from t=1 for 4 (past the
    # horizon); j2: 1 of chip 0 from t=3 for 2
    new = fleet.new_units_in_service(4, 2, np.array([10.0, 5.0, 1.0]), np.array([0, 1, 3]),
                                     np.array([0, 1, 0]), np.array([2, 4, 2]))
    assert new[:, 0].tolist() == [10.0, 10.0, 0.0, 1.0]
    assert new[:, 1].tolist() == [0.0, 5.0, 5.0, 5.0]
    batch = fleet.new_units_in_service(4, 2, np.array([[10.0, 5.0, 1.0], [0.0, 2.0, 0.0]]),
                                       np.array([0, 1, 3]), np.array([0, 1, 0]),
                                       np.array([2, 4, 2]))
    assert batch.shape == (2, 4, 2)
    assert np.array_equal(batch[0], new)
    assert batch[1][:, 1].tolist() == [0.0, 2.0, 2.0, 2.0] and not batch[1][:, 0].any()
    units = fleet.units_in_service(np.full((4, 2), 100.0), new)
    assert units[1].tolist() == [110.0, 105.0]


def test_fleet_compute_power_and_tokens_by_hand():
    units = np.array([[1000.0, 0.0], [1000.0, 500.0]])
    # 1,000 x 989 TFLOPS = 0.989 EFLOPS; + 500 x 148 TFLOPS = 0.074 EFLOPS
    assert fleet.peak_eflops(units, np.array([989.0, 148.0])).tolist() == pytest.approx(
        [0.989, 1.063])
    assert fleet.effective_eflops(units, np.array([5e-4, 1e-4])).tolist() == pytest.approx(
        [0.5, 0.55])
    # 1,000 x 1.95 kW = 1.95 MW; + 500 x 0.7 kW
    assert fleet.power_mw(units, np.array([1.95, 0.7])).tolist() == pytest.approx([1.95, 2.3])
    assert fleet.token_capacity_tn_tokens(units, np.array([0.01, 0.002])).tolist() == \
        pytest.approx([10.0, 11.0])
    batch = np.stack([units, 2 * units])
    assert fleet.peak_eflops(batch, np.array([989.0, 148.0]))[1].tolist() == pytest.approx(
        [1.978, 2.126])


def test_shortfall_is_unmet_demand_never_negative():
    assert work.shortfall([1.0, 2.0], [1.5, 1.25]).tolist() == [0.0, 0.75]
    assert work.compute_shortfall_eflops([1.0, 2.0], [1.0, 1.5], [0.5, 0.5],
                                         [0.0, 1.0]).tolist() == [0.5, 0.5]
    assert work.shortfall_quarters(np.array([0.0, 5e-7, 2e-6, 1.0])) == 2


def test_inference_and_served_compute_by_hand():
    # pool: 100 units of k = 0.01 EFLOPS, tau = 2 tn; 50 tn served of 200 capacity -> a quarter
    inf = work.inference_compute_eflops(np.array([[100.0]]), np.array([0.01]), np.array([2.0]),
                                        np.array([50.0]))
    assert inf.tolist() == pytest.approx([0.25])
    assert work.served_compute_eflops([1.0], [0.5], inf).tolist() == pytest.approx([1.75])


def test_binding_tolerance_is_relative_to_the_row():
    inf = np.inf
    lower = np.array([-inf, -inf, -inf, 5.0, -inf])
    upper = np.array([3000.0, 0.0, 10.0, inf, 3000.0])
    act = np.array([3000.0 - 1e-3,   # budget: slack 1e-3 <= 1e-6 x 3000
                    1e-7,            # a ban at 0: within 1e-6 x max(1, 0)
                    10.0 - 1e-3,     # a cap of 10: slack 1e-3 > 1e-5
                    5.0,             # a lower requirement, met exactly
                    3000.0])         # tight, but its dual is noise
    dual = np.array([0.5, -2.0, 1.0, 0.3, 1e-10])
    assert limits.binding_mask(lower, upper, act, dual).tolist() == [True, True, False, True,
                                                                      False]
    batch = limits.binding_mask(lower, upper, np.stack([act, act - 1.0]), np.stack([dual, dual]))
    assert batch.shape == (2, 5)
    assert batch[1].tolist() == [False, False, False, False, False]


def test_cost_lines_by_hand():
    capex = costs.capex_m(np.array([10.0, 4.0, 2.0]), np.array([1.5, 2.0, 3.0]))
    assert capex.tolist() == [15.0, 8.0, 6.0]
    # ordered in quarters -1 (before the plan), 0 and 0
    assert costs.capex_paid_m(capex, np.array([-1, 0, 0]), 2).tolist() == [14.0, 0.0]
    assert costs.opex_m([1.0], [2.0], [0.5]).tolist() == [3.5]
    # 120 over 4 quarters from quarter 1: 30 a quarter in 1..4
    assert costs.straight_line_m(6, np.array([1]), np.array([120.0]),
                                     np.array([4])).tolist() == [0, 30, 30, 30, 30, 0]


def test_kpi_list_expands_by_quarter_and_year():
    got = kpis.expand(("peak_eflops", "npv_m", "genai_share"), ("2024Q4", "2025Q4"),
                      (2025,))
    assert [(n, u) for n, u, _, _ in got] == [
        ("peak_eflops_2024Q4", "EFLOPS"), ("peak_eflops_2025Q4", "EFLOPS"),
        ("npv_m", "RMB m"), ("genai_share_2025", "share")]
    assert set(kpis.STRESS_KPIS) <= set(kpis.COMPARE_KPIS)
    assert set(kpis.PLAN_TOTALS) <= set(kpis.COMPARE_KPIS)
    assert kpis.TEXT_KPIS == ("most_valuable_limits",)


def test_kpi_units_agree_with_the_label_table():
    """report/names.py's KPI rows carry the same unit as the KPI list (until it reads it)."""
    from capacity.report.names import KPIS as LABELS

    for k in kpis.KPIS:
        key = k.name + {"quarter": "_<q>", "year": "_<y>"}.get(k.per, "")
        assert key in LABELS, key
        assert LABELS[key][0] == k.unit, key


def test_workbook_headlines_name_kpis_of_the_list():
    """The workbook's defined names for plan totals point at KPIs the plan reports."""
    from capacity.report.workbook import _HEADLINES

    plan_totals = [k for kind, k in _HEADLINES if kind == "plan" and k.startswith("total_")]
    assert plan_totals and set(plan_totals) <= set(kpis.PLAN_TOTALS)
