"""Work demanded, served and unmet after the solve: one function per quantity.

Workloads: own training and AIDC leasing in effective EFLOPS, inference in tn tokens a quarter.
Arrays may carry a leading batch axis (one row per stress draw).
"""

from __future__ import annotations

import numpy as np

SHORTFALL_TOL_EFLOPS = 1e-6
"""Unmet demand below this is treated as met when counting quarters with a shortfall. [EFLOPS]"""


def shortfall(demand: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Unmet demand of a workload per period. [unit of the demand: EFLOPS or tn tokens]

        shortfall[t] = max(D[t] - served[t], 0)
    """
    return np.clip(np.asarray(demand, float) - np.asarray(served, float), 0.0, None)


def compute_shortfall_eflops(training_demand: np.ndarray, training_served: np.ndarray,
                             leasing_demand: np.ndarray, leasing_served: np.ndarray
                             ) -> np.ndarray:
    """Unmet compute demand per period: own training plus leasing (inference is in tokens,
    :func:`shortfall` of the token demand). [EFLOPS]

        shortfall[t] = max(D_train[t] - s_train[t], 0) + max(D_lease[t] - s_lease[t], 0)
    """
    return shortfall(training_demand, training_served) + shortfall(leasing_demand,
                                                                   leasing_served)


def shortfall_quarters(shortfall_eflops: np.ndarray) -> int:
    """Quarters with unmet compute demand above :data:`SHORTFALL_TOL_EFLOPS`. [quarters]

        n = #{t : shortfall[t] > tol}
    """
    return int((np.asarray(shortfall_eflops, float) > SHORTFALL_TOL_EFLOPS).sum())


def inference_compute_eflops(pool_units: np.ndarray, k_eflops: np.ndarray,
                             tau_tn: np.ndarray, served_tn: np.ndarray) -> np.ndarray:
    """Effective compute serving tokens per quarter. [EFLOPS]

        inference[t] = K_pool[t] x served[t] / tau_pool[t]        (0 where tau_pool[t] = 0)

    with pool[c, t] the units in service neither training nor leased (the units that serve
    tokens), K_pool[t] = sum_c k[c] pool[c, t] their effective EFLOPS and
    tau_pool[t] = sum_c tau[c] pool[c, t] their token capacity. The LP decides how many tokens
    are served, not which of those units serve them; they are taken as spread evenly over the
    pool (every unit at the same share of its token capacity), so the figure is at most K_pool.

    Parameters
    ----------
    pool_units
        Shape (T, C). [units]
    k_eflops, tau_tn
        Per unit, shape (C,). [EFLOPS/unit], [tn tokens/(unit*quarter)]
    served_tn
        Tokens served, shape (T,). [tn tokens]
    """
    pool = np.clip(pool_units, 0.0, None)
    capacity = pool @ tau_tn
    share = np.divide(served_tn, capacity, out=np.zeros_like(capacity), where=capacity > 0)
    return (pool @ k_eflops) * np.minimum(share, 1.0)


def served_compute_eflops(training_served: np.ndarray, leasing_served: np.ndarray,
                          inference_served_eflops: np.ndarray) -> np.ndarray:
    """Compute put to work per quarter. [EFLOPS]

        served[t] = s_train[t] + s_lease[t] + inference[t]    (:func:`inference_compute_eflops`)
    """
    return (np.asarray(training_served, float) + np.asarray(leasing_served, float)
            + np.asarray(inference_served_eflops, float))
