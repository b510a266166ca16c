"""Revenue of the finance link: GenAI revenue from the fleet, traditional revenue on its own
path, and the gross margin calibrated on the base half-year (1H23).

Pure functions of validated inputs and DataFrames; no files, no printing. The equations (units in
brackets; t is a quarter, ``base`` the last quarter of 1H23):

Revenue
    genai[t]         = served[t] = tokens_served[t] * token_price[t]
                                   + leasing_served[t] * leasing_rate[t]                [RMB m]
    B                = (1 - s_1H23) * R_1H23          (1H23 non-GenAI revenue)           [RMB m]
    f[t]             = 2 * (1 - h2) in Q1/Q2,  2 * h2 in Q3/Q4  (seasonal factor, mean 1) [1]
    r0               = (B / 2) / (2 * (1 - h2))       (de-seasonalised quarter at 1H23)  [RMB m]
    traditional[t]   = r0 * f[t] * (1 + g) ** ((t - base + 0.5) / 4)                    [RMB m]
    total[t]         = genai[t] + traditional[t]                                        [RMB m]
    genai_share      = genai / total, per quarter and per calendar year                 [1]

GenAI revenue is what the planned fleet served (the plan's ``served_revenue_m``, at most the
demand-side forecast ``genai_demand`` of :mod:`capacity.compute_demand`, which the plan's token
demand is derived from); ``capacity_bound`` marks the quarters where the fleet served less than
demanded.

Gross margin (a simple bridge calibrated on 1H23)
    m_gen            = (GM_1H23 - (1 - s_1H23) * m_trad) / s_1H23                       [1]
    dC[t]            = (depreciation + power)[t] - (depreciation + power)[t0]           [RMB m]
    gross_profit[t]  = m_trad * traditional[t] + m_gen * genai[t] - dC[t]               [RMB m]

``t0`` is the plan's first quarter. dC is always reported (``incremental_compute_cost_m``)
but deducted only with ``deduct_incremental_compute_cost = true`` (default false): the 1H23
margins already scale compute cost with revenue, so deducting dC as well counts part of it twice
and gives a conservative lower bound on the margin. A clean split (all compute cost out of the
GenAI margin) is not possible from the disclosures: with the plan's run rate scaled back to the
1H23 fleet, compute alone would exceed 80% of 1H23 GenAI revenue. Without plan cost columns
dC = 0.

The array functions (numpy, aligned to a vector ``qn`` of quarter numbers,
:func:`capacity.compute_demand.quarter_number`) are the only implementation of these equations: the
DataFrame functions check their arguments and call them, and the Monte Carlo draws of
:mod:`capacity.montecarlo` call them directly (no pandas, so thousands of draws stay fast).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.batch import per_draw
from capacity.compute_demand import quarter_number, quarter_numbers
from capacity.errors import InputError
from capacity.finance.anchors import Anchors
from capacity.schemas import FinanceInputs

CAPACITY_BOUND_TOL_RMB_M = 1e-6
"""A quarter is capacity-bound when the fleet served this much less than demanded. [RMB m]"""


# --------------------------------------------------------------------------------------------
# Array level
# --------------------------------------------------------------------------------------------


def seasonal_array(quarter_of_year: np.ndarray, h2_share: float) -> np.ndarray:
    """f = 2 * (1 - h2_share) in Q1 and Q2, 2 * h2_share in Q3 and Q4. [1]"""
    h2 = per_draw(h2_share)
    return np.where(np.asarray(quarter_of_year) <= 2, 2.0 * (1.0 - h2), 2.0 * h2)


def traditional_array(qn: np.ndarray, fin: FinanceInputs, anchors: Anchors) -> np.ndarray:
    """traditional[t] = r0 * f[t] * (1 + g) ** ((t - base + 0.5) / 4). [RMB m]

    r0 = ((1 - s_1H23) * R_1H23 / 2) / (2 * (1 - h2)).
    """
    base_nongenai = (1.0 - anchors.base_genai_share) * anchors.base_half_revenue_m
    r0 = (base_nongenai / 2.0) / (2.0 * (1.0 - per_draw(fin.traditional_h2_share)))
    k = (qn - quarter_number(anchors.base_period)).astype(float)
    growth = (1.0 + per_draw(fin.traditional_growth_annual)) ** ((k + 0.5) / 4.0)
    return r0 * seasonal_array(qn % 4 + 1, fin.traditional_h2_share) * growth


def genai_array(served_m: np.ndarray, fin: FinanceInputs) -> np.ndarray:
    """genai[t] = served[t] + other_genai_revenue_m_per_quarter. [RMB m]"""
    return np.asarray(served_m, float) + per_draw(fin.other_genai_revenue_m_per_quarter)


def revenue_arrays(qn: np.ndarray, served_m: np.ndarray, fin: FinanceInputs,
                   anchors: Anchors) -> dict[str, np.ndarray]:
    """GenAI, traditional and total revenue and the GenAI share per quarter.

    genai = served + other (:func:`genai_array`); total = genai + traditional
    (:func:`traditional_array`).

    Returns
    -------
    dict
        ``genai_revenue_m``, ``traditional_revenue_m``, ``revenue_m`` [RMB m],
        ``genai_share`` [1].
    """
    genai = genai_array(served_m, fin)
    trad = traditional_array(qn, fin, anchors)
    total = genai + trad
    return {"genai_revenue_m": genai, "traditional_revenue_m": trad,
            "revenue_m": total, "genai_share": _ratio(genai, total)}


def gross_profit_array(fin: FinanceInputs, genai_margin: float,
                       traditional_revenue_m: np.ndarray,
                       genai_revenue_m: np.ndarray, incremental_cost_m: np.ndarray
                       ) -> np.ndarray:
    """m_trad * traditional + m_gen * genai, less dC when it is deducted. [RMB m]"""
    gp = (fin.traditional_gross_margin * traditional_revenue_m
          + genai_margin * genai_revenue_m)
    if fin.deduct_incremental_compute_cost:
        gp = gp - incremental_cost_m
    return gp


# --------------------------------------------------------------------------------------------
# DataFrames
# --------------------------------------------------------------------------------------------


def require_columns(df: pd.DataFrame, cols: list[str], what: str) -> None:
    """Raise :class:`InputError` naming ``what`` when a column of ``cols`` is missing or has
    missing values."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(what, f"missing column(s) {', '.join(missing)}")
    bad = [c for c in cols if df[c].isna().any()]
    if bad:
        raise InputError(what, f"column {bad[0]} has missing values")


def traditional_revenue(periods: pd.PeriodIndex, fin: FinanceInputs,
                        anchors: Anchors) -> pd.Series:
    """Non-GenAI revenue (traditional AI segments and Smart Auto) on its own path.

    traditional[t] = r0 * f[t] * (1 + g) ** ((t - base + 0.5) / 4),
    r0 = ((1 - s_1H23) * R_1H23 / 2) / (2 * (1 - h2))

    The exponent counts years from the middle of 1H23 (between its two quarters). See
    :func:`traditional_array`.

    Parameters
    ----------
    periods
        Quarters to forecast.
    fin
        ``traditional_growth_annual`` g [1/year] and ``traditional_h2_share`` h2 [1].
    anchors
        1H23 revenue R [RMB m] and GenAI share s [1], and the base period.

    Returns
    -------
    pandas.Series
        Revenue per quarter. [RMB m]
    """
    periods = pd.PeriodIndex(periods, freq="Q")
    out = pd.Series(traditional_array(quarter_numbers(periods), fin, anchors),
                    index=periods.rename("period"), name="traditional_revenue_m")
    out.attrs["unit"] = "RMB m"
    return out


def genai_margin(fin: FinanceInputs, anchors: Anchors) -> float:
    """GenAI gross margin that makes 1H23 reproduce the disclosed group margin.

    m_gen = (GM_1H23 - (1 - s_1H23) * m_trad) / s_1H23

    Returns
    -------
    float
        GenAI (incl. AIDC) gross margin. [1]

    Raises
    ------
    InputError
        When the solved margin falls outside 0..1 (the traditional margin is inconsistent with
        the disclosed group margin).
    """
    s = anchors.base_genai_share
    m = (anchors.base_gross_margin - (1.0 - s) * fin.traditional_gross_margin) / s
    if not 0.0 <= m <= 1.0:
        raise InputError("finance.traditional_gross_margin",
                         f"{fin.traditional_gross_margin} implies a GenAI gross margin of "
                         f"{m:.3f} (outside 0..1) given the base half-year's group margin "
                         f"{anchors.base_gross_margin} and GenAI share {s}")
    return float(m)


def incremental_compute_cost(quarters: pd.DataFrame) -> pd.Series:
    """Compute cost (depreciation + power) above the first quarter's run rate.

    dC[t] = (capital_charge_m + opex_m)[t] - (capital_charge_m + opex_m)[t0]

    Returns zeros when the quarters carry neither cost column (a fleet without a plan).

    Returns
    -------
    pandas.Series
        Incremental cost per quarter. [RMB m]
    """
    cols = [c for c in ("capital_charge_m", "opex_m") if c in quarters.columns]
    if not cols:
        return pd.Series(0.0, index=quarters.index, name="incremental_compute_cost_m")
    require_columns(quarters, cols, "capacity quarters")
    cost = quarters[cols].astype(float).sum(axis=1)
    out = (cost - cost.iloc[0]).rename("incremental_compute_cost_m")
    out.attrs["unit"] = "RMB m"
    return out


def _check_demand(genai_demand: pd.Series, periods: pd.PeriodIndex) -> pd.Series:
    missing = periods.difference(pd.PeriodIndex(genai_demand.index))
    if len(missing):
        raise InputError("genai revenue forecast", f"no value for {missing[0]}")
    d = genai_demand.reindex(periods).astype(float)
    if d.isna().any() or not np.isfinite(d.to_numpy()).all():
        raise InputError("genai revenue forecast", f"missing value at {d.index[d.isna()][0]}")
    if (d < 0).any():
        raise InputError("genai revenue forecast", f"negative value at {d.index[d < 0][0]}")
    return d


def _ratio(part: np.ndarray, revenue_m: np.ndarray) -> np.ndarray:
    """part / revenue per quarter (GenAI share, gross margin) [1]; NaN for a quarter without
    revenue, without a RuntimeWarning."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return part / revenue_m


def revenue_table(quarters: pd.DataFrame, genai_demand: pd.Series, fin: FinanceInputs,
                  anchors: Anchors) -> pd.DataFrame:
    """Quarterly revenue from the fleet: GenAI, traditional, total, share and gross margin.

    genai[t] = served[t]; total = genai + traditional;
    gross_profit = m_trad * traditional + m_gen * genai - dC (see the module docstring).
    Checks the arguments and calls :func:`revenue_arrays` and :func:`gross_profit_array`.

    Parameters
    ----------
    quarters
        A plan's ``quarters`` indexed by ``period``: ``served_revenue_m`` [RMB m],
        optionally ``capital_charge_m``, ``opex_m`` [RMB m].
    genai_demand
        Demand-side GenAI revenue forecast per quarter. [RMB m]
    fin
        Finance inputs.
    anchors
        1H23 disclosures.

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``genai_demand_m``, ``genai_revenue_m``,
        ``traditional_revenue_m``, ``revenue_m`` [RMB m], ``genai_share`` [1],
        ``capacity_bound`` (served below demand), ``incremental_compute_cost_m`` [RMB m]
        (memo unless deducted), ``gross_profit_m`` [RMB m], ``gross_margin`` [1].
    """
    if len(quarters) == 0:
        raise InputError("capacity quarters", "no quarters to value")
    require_columns(quarters, ["served_revenue_m"], "capacity quarters")
    periods = pd.PeriodIndex(quarters.index, freq="Q", name="period")
    q = quarters.copy()
    q.index = periods
    demand = _check_demand(genai_demand, periods).to_numpy()
    r = revenue_arrays(quarter_numbers(periods), q["served_revenue_m"].to_numpy(float), fin,
                       anchors)
    m_gen = genai_margin(fin, anchors)
    d_cost = incremental_compute_cost(q).to_numpy(float)
    gp = gross_profit_array(fin, m_gen, r["traditional_revenue_m"], r["genai_revenue_m"],
                            d_cost)
    return pd.DataFrame({
        "genai_demand_m": demand,
        "genai_revenue_m": r["genai_revenue_m"],
        "traditional_revenue_m": r["traditional_revenue_m"],
        "revenue_m": r["revenue_m"],
        "genai_share": r["genai_share"],
        "capacity_bound": r["genai_revenue_m"] < demand - CAPACITY_BOUND_TOL_RMB_M,
        "incremental_compute_cost_m": d_cost,
        "gross_profit_m": gp,
        "gross_margin": _ratio(gp, r["revenue_m"]),
    }, index=periods)
