"""Which rows of a solved LP bind: one test, with a tolerance relative to each row's scale.

Every reader of binding limits (the plan's ``binding`` table, stress's binding frequency,
compare's limit groups) asks :func:`binding_mask`; which rows are *limits* (rather than
identities or work balances) is the family registry's word
(:mod:`capacity.planner.registry`).
"""

from __future__ import annotations

import numpy as np

ACTIVE_TOL = 1e-9
"""A row binds only when |dual| is at least this ... [objective unit per row unit]"""

SLACK_RTOL = 1e-6
"""... and its slack on the bound it sits on is within this of max(1, |bound|). [1]"""


def binding_mask(row_lower: np.ndarray, row_upper: np.ndarray, row_activity: np.ndarray,
                 row_dual: np.ndarray) -> np.ndarray:
    """Rows with a non-zero dual and no slack, relative to the row's scale. [bool]

        binds_i = |y_i| >= ACTIVE_TOL  and  |s_i| <= SLACK_RTOL x max(1, |b_i|)

    with b_i the bound the row sits on (its upper bound where finite, else its lower one) and
    s_i = b_i - a_i (upper) or a_i - b_i (lower) its slack. A tolerance relative to the bound
    treats a budget of RMB 3,000 m and an access cap of 0 units alike: the same relative
    rounding of the solver does not flip either.

    Parameters
    ----------
    row_lower, row_upper
        Row bounds, shape (m,) (``-inf``/``inf`` where open).
    row_activity, row_dual
        The solution's row activities and duals, shape (m,) or (B, m) for a batch.

    Returns
    -------
    numpy.ndarray
        Bool, the shape of ``row_activity``.
    """
    lo, up = np.asarray(row_lower, float), np.asarray(row_upper, float)
    act = np.asarray(row_activity, float)
    is_up = np.isfinite(up)
    bound = np.where(is_up, up, lo)
    with np.errstate(invalid="ignore"):
        slack = np.where(is_up, up - act, act - lo)
    return (np.abs(np.asarray(row_dual, float)) >= ACTIVE_TOL) & (
        np.abs(slack) <= SLACK_RTOL * np.maximum(1.0, np.abs(bound)))
