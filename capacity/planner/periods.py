"""Time on the planning horizon: periods a year, hours, discounting, order quarters, steps.

One definition each of the conventions every part of the planner (and the stress and finance
code that re-uses its numbers) counts time by.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.batch import per_draw, step_index, step_values

HOURS_PER_YEAR = 365.25 * 24
"""[h]"""


def periods_per_year(periods: pd.PeriodIndex) -> int:
    """4 for a quarterly horizon, 12 for a monthly one."""
    return 12 if periods.freqstr.startswith("M") else 4


def hours_per_period(per_year: int) -> float:
    """Hours in an average period of a year of ``per_year`` periods. [h]"""
    return HOURS_PER_YEAR / per_year


def discount_factor(k, rate, periods_per_year: int):
    """(1 + rate) ** (-k / periods_per_year) for k periods after the first. [1]

    ``rate`` is a float or one rate per draw, shape (B,) (then the result is (B, ...)).
    """
    return (1.0 + per_draw(rate, np.ndim(k))) ** (-np.asarray(k, dtype=float) / periods_per_year)


def order_quarter(delivery, lead_quarters):
    """Quarter an order for delivery in ``delivery`` is placed (and paid).

        order = delivery - L        [period, or period index]

    with L the chip's order-to-delivery lead time [quarters]; ``delivery`` a ``Period`` or
    period positions, ``lead_quarters`` an int or one per position.
    """
    return delivery - lead_quarters


def quarter_step_index(periods, quarters) -> np.ndarray:
    """Position in ``quarters`` (quarter labels such as ``"2025Q1"``) of the step in force in
    each of ``periods``: each step holds from its quarter until the next one; -1 before the
    first (:func:`capacity.batch.step_index`). [index], shape (T,)"""
    starts = [pd.Period(str(q), freq="Q").ordinal for q in quarters]
    return step_index(starts, pd.PeriodIndex(periods, freq="Q").asi8)


def quarter_steps(periods: pd.PeriodIndex, steps: dict[str, float], default: float = 0.0
                  ) -> np.ndarray:
    """A step function of quarters: each step holds from its quarter to the next one
    (:func:`quarter_step_index`); ``default`` before the first.

    Shape (T,), or (B, T) when a step is one value per draw (B,). [unit of the steps]
    """
    return step_values(quarter_step_index(periods, steps), list(steps.values()), default)
