"""The rules written once and called from every place: steps over dated values, the chip price
rule and the order quarter, checked against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capacity.batch import step_index, step_values
from capacity.chips import price_per_unit, usd_price_basis
from capacity.planner.periods import order_quarter, quarter_step_index, quarter_steps


def test_step_index_holds_each_step_until_the_next():
    # starts given out of order: 10 (k=0), 4 (k=1), 7 (k=2); sorted 4, 7, 10
    got = step_index([10, 4, 7], [3, 4, 6, 7, 9, 10, 12])
    assert got.tolist() == [-1, 1, 1, 2, 2, 0, 0]
    assert step_index([], [1, 2]).tolist() == [-1, -1]


def test_step_values_default_before_the_first_and_per_draw_values():
    idx = np.array([-1, 0, 1, 1])
    assert step_values(idx, [2.0, 5.0]).tolist() == [0.0, 2.0, 5.0, 5.0]
    assert np.isnan(step_values(idx, [2.0, 5.0], np.nan)[0])
    # one step per draw (B = 2): rows are draws
    got = step_values(idx, [np.array([1.0, 3.0]), 5.0], default=-1.0)
    assert got.tolist() == [[-1.0, 1.0, 5.0, 5.0], [-1.0, 3.0, 5.0, 5.0]]


def test_quarter_steps_over_labels():
    periods = pd.period_range("2024Q3", "2025Q2", freq="Q")
    steps = {"2025Q1": 100.0, "2024Q4": 60.0}  # in force from 2024Q4, then 100 from 2025Q1
    assert quarter_step_index(periods, steps).tolist() == [-1, 1, 0, 0]
    assert quarter_steps(periods, steps).tolist() == [0.0, 60.0, 100.0, 100.0]


def test_price_rule_scenario_then_catalog_rmb_then_catalog_usd():
    rmb = np.array([120_000.0, np.nan, np.nan, 50_000.0])
    usd = np.array([np.nan, 11_458.0, np.nan, 9_000.0])
    # chip 2 priced by the scenario at 12,000 USD; chip 3 quotes RMB (its USD is not used)
    basis = usd_price_basis(rmb, usd, {2: 12_000.0})
    assert basis[[1, 2]].tolist() == [11_458.0, 12_000.0]
    assert np.isnan(basis[[0, 3]]).all()
    price = price_per_unit(rmb, usd, 7.0, {2: 12_000.0})
    assert price.tolist() == pytest.approx([120_000.0, 80_206.0, 84_000.0, 50_000.0])
    # an exchange rate per draw (B = 2): 11,458 x 6.5 = 74,477 in the first draw
    batch = price_per_unit(rmb, usd, np.array([6.5, 7.0]), {})
    assert batch.shape == (2, 4)
    assert batch[:, 1].tolist() == pytest.approx([74_477.0, 80_206.0])
    assert batch[:, 0].tolist() == [120_000.0, 120_000.0]
    assert np.isnan(batch[:, 2]).all()


def test_order_quarter_is_delivery_minus_lead_time():
    assert order_quarter(pd.Period("2025Q2", freq="Q"), 2) == pd.Period("2024Q4", freq="Q")
    assert order_quarter(np.array([0, 3, 5]), np.array([2, 1, 0])).tolist() == [-2, 2, 5]
