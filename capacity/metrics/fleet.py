"""The fleet in service after the solve and what it adds up to: units, compute, tokens, power.

One function per quantity; every caller (the plan's tables, stress draws, compare) reads these,
so a fleet figure has one definition. Arrays may carry a leading batch axis (one row per stress
draw, :mod:`capacity.batch`).
"""

from __future__ import annotations

import numpy as np

from capacity.batch import matvec
from capacity.chips import TFLOPS_PER_EFLOPS


def new_units_in_service(n_periods: int, n_chips: int, buy_units: np.ndarray,
                         buy_period: np.ndarray, buy_chip: np.ndarray,
                         life_quarters: np.ndarray) -> np.ndarray:
    """Units bought in the plan and not yet retired, per period and chip. [units]

        new[t, c] = sum_{j : c_j = c, t_j <= t < t_j + L_j} buy_j

    Parameters
    ----------
    n_periods, n_chips
        Size of the grid (T, C).
    buy_units
        Units delivered by each buy column j, shape (n,) or (B, n). [units]
    buy_period, buy_chip
        Delivery period and chip position of each column, shape (n,). [index]
    life_quarters
        Service life of each column's chip, shape (n,). [quarters]

    Returns
    -------
    numpy.ndarray
        Shape (T, C), or (B, T, C) for a batch. Columns are added in order, so the sums are
        the same for any batch they are in.
    """
    buy = np.asarray(buy_units, float)
    t0 = np.asarray(buy_period, np.int64)
    c = np.asarray(buy_chip, np.int64)
    life = np.asarray(life_quarters, np.int64)
    t = np.arange(n_periods)[:, None]
    alive = (t >= t0[None, :]) & (t < (t0 + life)[None, :])  # (T, n)
    out = np.zeros((*buy.shape[:-1], n_periods, n_chips))
    tt, jj = np.nonzero(alive)
    np.add.at(out, (Ellipsis, tt, c[jj]), buy[..., jj])
    return out


def units_in_service(existing_units: np.ndarray, new_units: np.ndarray) -> np.ndarray:
    """Fleet in service: the existing fleet (initial + placed orders, after retirements) plus
    the plan's units not yet retired (:func:`new_units_in_service`). [units]

        units[t, c] = existing[t, c] + new[t, c]
    """
    return np.asarray(existing_units, float) + np.asarray(new_units, float)


def peak_eflops(units: np.ndarray, peak_tflops: np.ndarray) -> np.ndarray:
    """Dense FP16 peak of a fleet per period. [EFLOPS]

        peak[t] = sum_c units[t, c] x peak_tflops[c] / 1e6

    ``units`` (T, C) or (B, T, C); ``peak_tflops`` per unit (C,). [TFLOPS/unit]
    """
    return matvec(units, np.asarray(peak_tflops, float)) / TFLOPS_PER_EFLOPS


def effective_eflops(units: np.ndarray, effective_per_unit: np.ndarray) -> np.ndarray:
    """Effective compute of a fleet per period (peak x per-chip efficiency). [EFLOPS]

        effective[t] = sum_c units[t, c] x k[c]        k [EFLOPS/unit]
    """
    return matvec(units, np.asarray(effective_per_unit, float))


def token_capacity_tn_tokens(units: np.ndarray, tokens_per_unit_tn: np.ndarray) -> np.ndarray:
    """Tokens a fleet could serve per period at each chip's roofline. [tn tokens]

        capacity[t] = sum_c units[t, c] x tau[c]       tau [tn tokens/(unit*quarter)]
    """
    return matvec(units, np.asarray(tokens_per_unit_tn, float))


def power_mw(units: np.ndarray, power_kw: np.ndarray) -> np.ndarray:
    """Data-centre power a fleet draws per period. [MW]

        power[t] = sum_c units[t, c] x kw[c] / 1000    kw [kW/unit, TDP x overhead x PUE]
    """
    return matvec(units, np.asarray(power_kw, float)) / 1000.0


def units_last_quarters_share(delivery_index: np.ndarray, units: np.ndarray, n_periods: int,
                              last: int = 2) -> float:
    """Share of the units bought that arrive in the last ``last`` planned quarters. [1]

        share = sum_{j : t_j >= T - last} units_j / sum_j units_j      (0 without purchases)

    ``delivery_index`` is each purchase's delivery quarter as a position 0..T-1.
    """
    u = np.asarray(units, float)
    total = u.sum()
    if total <= 0:
        return 0.0
    return float(u[np.asarray(delivery_index) >= n_periods - last].sum() / total)
