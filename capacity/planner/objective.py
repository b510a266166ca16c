"""Objectives of the purchase LP: a value per column of each variable family, and a constant.

Each objective is one function of the plan's numbers and the variable families that returns
``({family: value per column}, constant)``; :mod:`.model` places them in column order. Both
objectives are maximised.

Discounting is one convention throughout: a flow in planned period t (0 the first planned
quarter) is worth ``df(t) = (1 + r) ** (-t / P)`` at the start of the first planned quarter,
with P periods a year; capex is paid at order (t - L_c), the residual value is counted at the
end of the horizon (t = T).

The numbers may carry a leading batch axis (one LP per stress draw, :mod:`capacity.batch`);
the costs are then (B, n) and the constant (B,).
"""

from __future__ import annotations

import numpy as np

from capacity.batch import dot, matvec, per_draw
from capacity.planner.arrays import PlanArrays
from capacity.planner.periods import discount_factor, order_quarter
from capacity.planner.variables import VarFamily

OBJECTIVES = ("npv", "max-compute")

MAX_COMPUTE_COST_WEIGHT = 1e-6
"""Tie-break weight of discounted capex in ``max-compute``. [EFLOPS-quarters per RMB m]"""


def _df(a: PlanArrays, k) -> np.ndarray:
    return discount_factor(k, a.discount_rate_annual, a.periods_per_year)


def book_share(a: PlanArrays, buy: VarFamily) -> np.ndarray:
    """Straight-line book value left at the end of the horizon, as a share of cost. [1]

        book[c, t] = max(0, 1 - (T - t) / life_c)

    (a unit delivered in t serves T - t planned quarters).
    """
    served = len(a.periods) - buy.t
    return np.maximum(0.0, 1.0 - served / a.life_quarters[buy.c])


def residual_value_m(a: PlanArrays, buy: VarFamily) -> np.ndarray:
    """Value at the end of the horizon (quarter T) of one unit of each buy column: what the
    unit will still earn renting out its compute at the market (leasing) rate over the rest of
    its life, net of its running cost, at most its straight-line book value. [RMB m/unit]

        R[c, t]     = max(0, life_c - (T - t))             quarters of life left after T
        q           = lease[T-1] / lease[T-2]              the rate's quarterly change
        earn[c, t]  = sum_{j=0}^{R-1} max(0, k[c] lease[T-1] q^(j+1) - run[c]) (1+r)^(-j/P)
        residual    = min(price[c, t] x book[c, t], earn[c, t])        (:func:`book_share`)

    ``lease`` is the leasing rate [RMB m/(EFLOPS*quarter)], which falls along the compute
    price path (``planner.compute_price_change_annual``: q = (1 + g) ** (1/P)); k the
    effective EFLOPS of a unit, run its power and maintenance (:func:`running_cost_per_unit`),
    r the discount rate. The plan's own demand ends at T, so after it a unit is worth what the
    compute market pays for it, not what it would earn serving the subject's tokens. A
    one-quarter horizon has no rate path: q = 1.
    """
    T = len(a.periods)
    lease = np.asarray(a.leasing_m, float)
    last = lease[..., -1]
    q = np.divide(last, lease[..., -2], out=np.ones_like(last), where=lease[..., -2] > 0) \
        if T >= 2 else np.ones_like(last)
    left = np.maximum(0, a.life_quarters[buy.c] - (T - buy.t))              # (n,)
    j = np.arange(max(int(left.max(initial=0)), 1))                          # (J,)
    k = a.effective_per_unit[..., buy.c]                                     # (n,) or (B, n)
    run = running_cost_per_unit(a)[..., buy.c]
    rate = per_draw(last, 2) * per_draw(q, 2) ** (j + 1.0)                   # (J,) or (B, 1, J)
    margin = np.maximum(0.0, np.asarray(k)[..., None] * rate - np.asarray(run)[..., None])
    df = discount_factor(j, a.discount_rate_annual, a.periods_per_year)     # (J,) or (B, J)
    df = df[..., None, :] if np.ndim(df) == 2 else df
    earn = (margin * df * (j < left[:, None])).sum(axis=-1)
    book = a.price_m[..., buy.t, buy.c] * book_share(a, buy)
    return np.minimum(book, earn)


def discounted_unit_price(a: PlanArrays, buy: VarFamily) -> np.ndarray:
    """All-in cost of one buy column at order, net of its residual value at the horizon end,
    discounted to the first planned period. [RMB m]

        (price[c, t] df(t - L_c) - residual[c, t] df(T)) x scale

    with residual the :func:`residual_value_m`.
    """
    price = a.price_m[..., buy.t, buy.c]
    return (price * _df(a, order_quarter(buy.t, a.lead_quarters[buy.c]))
            - residual_value_m(a, buy) * _df(a, len(a.periods))) * buy.scale


def power_cost_per_unit(a: PlanArrays) -> np.ndarray:
    """Electricity of one unit in service for a period, per chip. [RMB m/unit]

        opex_per_mw x kw[c] / 1000
    """
    return per_draw(a.opex_m_per_mw) * a.power_kw / 1000.0


def running_cost_per_unit(a: PlanArrays) -> np.ndarray:
    """Power and maintenance of one unit in service for a period, per chip. [RMB m/unit]

        opex_per_mw x kw[c] / 1000 + maintenance[c]
    """
    return power_cost_per_unit(a) + a.maintenance_m


def period_costs(a: PlanArrays, units: np.ndarray, rent_eflops: np.ndarray
                 ) -> dict[str, np.ndarray]:
    """Running costs per period of a fleet of ``units`` (shape (T, C), existing + new) and of
    the rented compute ``rent_eflops`` (shape (T,)), undiscounted (or (B, T, C) and (B, T)
    for a batch of draws). [RMB m]

        power[t] = units[t] @ power_per_unit;  maintenance[t] = units[t] @ maintenance;
        rental[t] = rental_rate[t] x rent[t]

    Returns
    -------
    dict
        ``power_cost_m``, ``maintenance_m``, ``rental_cost_m`` (shape (T,)).
    """
    return {"power_cost_m": matvec(units, power_cost_per_unit(a)),
            "maintenance_m": matvec(units, a.maintenance_m),
            "rental_cost_m": a.rental_m * rent_eflops}


def running_cost(a: PlanArrays, fleet: VarFamily) -> tuple[np.ndarray, float]:
    """Discounted running cost of one new unit in service in t, and of the existing fleet.

        df(t) x run[c] [RMB m/unit];   sum_{t,c} df(t) run[c] existing[c, t] [RMB m]
    """
    df = _df(a, np.arange(len(a.periods)))
    run = running_cost_per_unit(a)
    return run[..., fleet.c] * df[..., fleet.t], dot(df, matvec(a.existing_units, run))


def work_value(a: PlanArrays) -> np.ndarray:
    """Value of one unit of work served, per workload and period, shape (W, T):
    own training at the training value, leasing at the leasing rate [RMB m/(EFLOPS*period)],
    inference at the token price [RMB m/tn tokens]; undiscounted."""
    return np.stack(np.broadcast_arrays(a.training_value_m, a.leasing_m,
                                        a.token_price_m_per_tn), axis=-2)


def revenue_parts(a: PlanArrays, served: np.ndarray) -> dict[str, np.ndarray]:
    """Revenue of the work served per period, by source (own training is not revenue). [RMB m]

        tokens[t] = price_tok[t] served[inference, t];  leasing[t] = rate_lease[t]
        served[leasing, t]

    ``served`` has shape (T, W) in :data:`~capacity.planner.arrays.WORKLOADS` order (or
    (B, T, W) for a batch of draws).

    Returns
    -------
    dict
        ``token_revenue_m``, ``leasing_revenue_m`` (shape (T,)).
    """
    return {"token_revenue_m": a.token_price_m_per_tn * served[..., 2],
            "leasing_revenue_m": a.leasing_m * served[..., 1]}


def served_revenue_m(a: PlanArrays, served: np.ndarray) -> np.ndarray:
    """Revenue of the work served per period: tokens plus leasing (:func:`revenue_parts`).
    [RMB m]"""
    parts = revenue_parts(a, served)
    return parts["token_revenue_m"] + parts["leasing_revenue_m"]


def npv(a: PlanArrays, fams: dict[str, VarFamily]) -> tuple[dict[str, np.ndarray], float]:
    """Maximise net present value at the first planned quarter. [RMB m]

        NPV = sum_{w,t} df(t) v[w, t] served[w, t]                 value of work served
            - sum_t df(t) rental[t] rent[t]                        rented compute
            - sum_{c,t} df(t) run[c] (existing[c, t] + fleet[c, t])  power and maintenance
            - sum_{c,t} (price[c, t] df(t - L_c) - residual[c, t] df(T)) buy[c, t]

    with v the :func:`work_value` and residual the :func:`residual_value_m`; own training
    is valued at the training value (what its compute would cost on demand), leasing and
    tokens at what customers pay. No penalty: unmet work loses exactly its value.
    """
    df = _df(a, np.arange(len(a.periods)))
    served = fams["served"]
    rent = fams["rent"]
    run_new, run_existing = running_cost(a, fams["fleet"])
    return ({"buy": -discounted_unit_price(a, fams["buy"]), "fleet": -run_new,
             "served": work_value(a)[..., served.c, served.t] * df[..., served.t],
             "rent": -a.rental_m[..., rent.t] * df[..., rent.t]}, -run_existing)


def max_compute(a: PlanArrays, fams: dict[str, VarFamily]
                ) -> tuple[dict[str, np.ndarray], float]:
    """Maximise delivered effective compute summed over quarters, tie-broken by cost.

        max sum_t cap[t] - 1e-6 x discounted capex       [EFLOPS-quarters]

    with cap[t] = sum_c k[c] (existing[c, t] + fleet[c, t]).
    """
    fleet = fams["fleet"]
    const = float(a.existing_effective.sum())
    return ({"buy": -MAX_COMPUTE_COST_WEIGHT * discounted_unit_price(a, fams["buy"]),
             "fleet": a.effective_per_unit[fleet.c]}, const)


OBJECTIVE_FUNCTIONS = {"npv": npv, "max-compute": max_compute}
"""Objective name -> its function; both are maximisations."""

