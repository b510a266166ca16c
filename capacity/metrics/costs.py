"""Cost lines of a solved plan: capex per purchase and as paid, running costs, capital charge.

The running-cost *rates* are the LP's own (:func:`capacity.planner.objective.period_costs`);
these functions add them up the one way every report does. Arrays may carry a leading batch
axis (one row per stress draw).
"""

from __future__ import annotations

import numpy as np

from capacity.batch import matvec
from capacity.errors import InputError


def capex_m(buy_units: np.ndarray, price_m: np.ndarray) -> np.ndarray:
    """Capex of each purchase, at its all-in price in its delivery quarter. [RMB m]

        capex_j = buy_j x price[t_j, c_j]
    """
    return np.asarray(buy_units, float) * np.asarray(price_m, float)


def capex_paid_m(capex: np.ndarray, order_index: np.ndarray, n_periods: int) -> np.ndarray:
    """Capex paid per period: each purchase's capex in its order quarter (delivery minus lead
    time); purchases ordered before the first planned quarter are not in the plan's periods.
    [RMB m]

        paid[t] = sum_{j : o_j = t} capex_j        (0 <= o_j < T)
    """
    capex = np.asarray(capex, float)
    order = np.asarray(order_index, np.int64)
    ok = (order >= 0) & (order < n_periods)
    paid = np.zeros((*capex.shape[:-1], n_periods))
    np.add.at(paid, (Ellipsis, order[ok]), capex[..., ok])
    return paid


def opex_m(power_cost_m: np.ndarray, maintenance_m: np.ndarray,
               rental_cost_m: np.ndarray) -> np.ndarray:
    """Running costs per period: power, maintenance and rented compute. [RMB m]

        opex[t] = power[t] + maintenance[t] + rental[t]
    """
    return (np.asarray(power_cost_m, float) + np.asarray(maintenance_m, float)
            + np.asarray(rental_cost_m, float))


def straight_line_m(n: int, delivery_index: np.ndarray, capex_m: np.ndarray,
                        life_quarters: np.ndarray) -> np.ndarray:
    """Straight-line charge of purchase cohorts in each of ``n`` quarters. [RMB m]

        charge[t] = sum over cohorts c with d_c <= t < d_c + L_c of capex_c / L_c

    Parameters
    ----------
    n
        Number of quarters. [quarters]
    delivery_index
        Position of each cohort's delivery quarter among the ``n`` (may lie outside). [index]
    capex_m
        All-in cost of each cohort, shape (cohorts,) or (B, cohorts). [RMB m]
    life_quarters
        Life of each cohort. [quarters]

    Returns
    -------
    numpy.ndarray
        Shape (n,) or (B, n), one row per stress draw for capex of shape (B, cohorts). Over a
        cohort's whole life it sums to its capex.

    Raises
    ------
    InputError
        When a cohort's life is under one quarter.
    """
    d = np.asarray(delivery_index, np.int64)
    cap = np.asarray(capex_m, float)
    life = np.asarray(life_quarters, np.int64)
    if (life < 1).any():
        raise InputError("purchases.life_quarters", "every cohort needs a life of 1 quarter "
                                                    "or more")
    if len(d) == 0:
        return np.zeros((*cap.shape[:-1], n))
    t = np.arange(n)[:, None]
    alive = (t >= d[None, :]) & (t < (d + life)[None, :])
    return matvec(alive, cap / life)


def share_of_npv(part_m: float, npv_m: float) -> float:
    """A part of the NPV as a share of it (NaN where the NPV is 0). [1]

        share = part / NPV
    """
    return float(part_m / npv_m) if npv_m else float("nan")
