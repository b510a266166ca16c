"""Finance link: capacity -> revenue -> P&L and cash (fleet depreciation) -> target price by
EV/Sales, EV/EBITDA and DCF, and their blend.

The P&L, cash and DCF equations are stated at the head of their section below ("P&L, cash and
DCF from the fleet"); docs/finance.md collects every equation with its units and inputs.

Pure functions of validated inputs and DataFrames; no files, no printing. The equations (units in
brackets; t is a quarter, y a calendar year, ``base`` the last quarter of 1H23):

Revenue
    genai[t]         = served[t] = tokens_served[t] * token_price[t]
                                   + leasing_served[t] * leasing_rate[t]                [RMB m]
    B                = (1 - s_1H23) * R_1H23          (1H23 non-GenAI revenue)           [RMB m]
    f[t]             = 2 * (1 - h2) in Q1/Q2,  2 * h2 in Q3/Q4  (seasonal factor, mean 1) [1]
    r0               = (B / 2) / (2 * (1 - h2))       (de-seasonalised quarter at 1H23)  [RMB m]
    traditional[t]   = r0 * f[t] * (1 + g) ** ((t - base + 0.5) / 4)                    [RMB m]
    total[t]         = genai[t] + traditional[t]                                        [RMB m]
    genai_share      = genai / total, per quarter and per calendar year                 [1]

GenAI revenue is what the planned fleet served (the plan's ``served_revenue_rmb_m``, at most the
demand-side forecast ``genai_demand`` of :mod:`capacity.demand`, which the plan's token demand is
derived from); ``capacity_bound`` marks the quarters where the fleet served less than demanded.

Gross margin (a simple bridge calibrated on 1H23)
    m_gen            = (GM_1H23 - (1 - s_1H23) * m_trad) / s_1H23                       [1]
    dC[t]            = (depreciation + power)[t] - (depreciation + power)[t0]           [RMB m]
    gross_profit[t]  = m_trad * traditional[t] + m_gen * genai[t] - dC[t]               [RMB m]

``t0`` is the plan's first quarter. dC is always reported (``incremental_compute_cost_rmb_m``)
but deducted only with ``deduct_incremental_compute_cost = true`` (default false): the 1H23
margins already scale compute cost with revenue, so deducting dC as well counts part of it twice
and gives a conservative lower bound on the margin. A clean split (all compute cost out of the
GenAI margin) is not possible from the disclosures: with the plan's run rate scaled back to the
1H23 fleet, compute alone would exceed 80% of 1H23 GenAI revenue. Without plan cost columns
dC = 0.

Valuation (EV/Sales, the note's method)
    EV      = multiple * sales[valuation_year]                                          [RMB m]
    equity  = EV + net_cash                                                             [RMB m]
    TP      = equity / shares / rmb_per_hkd                                             [HKD/share]
    implied sales for a given TP = (TP * shares * rmb_per_hkd - net_cash) / multiple    [RMB m]

FY2023 combines the 1H23 actuals (split evenly over 2023Q1 and 2023Q2) with the modelled 2H23.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capacity.batch import number, per_draw
from capacity.demand import quarter_number, quarter_numbers
from capacity.errors import InputError
from capacity.planner.results import cohort_depreciation_array
from capacity.schemas import FinanceInputs

# --------------------------------------------------------------------------------------------
# Disclosed anchors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchors:
    """Company disclosures and the note's figures the finance link is anchored on.

    Attributes
    ----------
    base_period
        Last quarter of the base half-year (2023Q2).
    base_half_revenue_rmb_m
        Total revenue of the base half-year (1H23). [RMB m]
    base_genai_share
        GenAI share of that revenue. [1]
    base_gross_margin
        Group gross margin of that half-year. [1]
    genai_share_target
        Management's GenAI share target. [1]
    target_year
        Year of that target. [year]
    target_price_hkd
        The note's new target price. [HKD/share]
    target_price_old_hkd
        The note's previous target price. [HKD/share]
    """

    base_period: pd.Period
    base_half_revenue_rmb_m: float
    base_genai_share: float
    base_gross_margin: float
    genai_share_target: float
    target_year: int
    target_price_hkd: float
    target_price_old_hkd: float


def _one(disclosures: pd.DataFrame, metric: str, span: int | None = None) -> pd.Series:
    sel = disclosures[disclosures["metric"] == metric]
    if span is not None:
        sel = sel[sel["span_quarters"] == span]
    if sel.empty:
        what = f" over {span} quarters" if span is not None else ""
        raise InputError("disclosures.csv", f"missing metric {metric!r}{what} (needed by finance)")
    return sel.sort_values("period").iloc[-1]


def anchors_from_disclosures(disclosures: pd.DataFrame) -> Anchors:
    """Pick the finance anchors out of the disclosures table.

    Parameters
    ----------
    disclosures
        Table from :func:`capacity.scenarios.read_disclosures` (columns ``metric``, ``period``,
        ``span_quarters``, ``value``, ...).

    Returns
    -------
    Anchors
        The latest half-year revenue, GenAI share and gross margin, the GenAI share target and
        the note's new and old target prices.

    Raises
    ------
    InputError
        When a metric is missing or the half-year figures are for different periods.
    """
    rev = _one(disclosures, "revenue_rmb_m", 2)
    share = _one(disclosures, "genai_share", 2)
    gm = _one(disclosures, "gross_margin", 2)
    if not (rev["period"] == share["period"] == gm["period"]):
        raise InputError("disclosures.csv", "half-year revenue_rmb_m, genai_share and "
                         "gross_margin must be for the same period")
    target = _one(disclosures, "genai_share_target")
    tp = _one(disclosures, "target_price_hkd")
    tp_old = _one(disclosures, "target_price_old_hkd")
    s = float(share["value"])
    if not 0.0 < s < 1.0:
        raise InputError("disclosures.csv", f"genai_share {s} must be between 0 and 1")
    return Anchors(
        base_period=pd.Period(rev["period"], freq="Q"),
        base_half_revenue_rmb_m=float(rev["value"]),
        base_genai_share=s,
        base_gross_margin=float(gm["value"]),
        genai_share_target=float(target["value"]),
        target_year=int(pd.Period(target["period"], freq="Q").year),
        target_price_hkd=float(tp["value"]),
        target_price_old_hkd=float(tp_old["value"]),
    )


# --------------------------------------------------------------------------------------------
# Array level: the equations on numpy arrays indexed by quarter number
# --------------------------------------------------------------------------------------------
#
# Pure functions of validated inputs, the anchors and arrays aligned to a vector ``qn`` of
# quarter numbers (:func:`capacity.demand.quarter_number`). They are the only implementation of
# the revenue, calendar-year and valuation equations: the DataFrame functions below check their
# arguments and call them, and the Monte Carlo draws of :mod:`capacity.stress` call them
# directly (no pandas, so thousands of draws stay fast).


def seasonal_array(quarter_of_year: np.ndarray, h2_share: float) -> np.ndarray:
    """f = 2 * (1 - h2_share) in Q1 and Q2, 2 * h2_share in Q3 and Q4. [1]"""
    h2 = per_draw(h2_share)
    return np.where(np.asarray(quarter_of_year) <= 2, 2.0 * (1.0 - h2), 2.0 * h2)


def traditional_array(qn: np.ndarray, fin: FinanceInputs, anchors: Anchors) -> np.ndarray:
    """traditional[t] = r0 * f[t] * (1 + g) ** ((t - base + 0.5) / 4). [RMB m]

    r0 = ((1 - s_1H23) * R_1H23 / 2) / (2 * (1 - h2)).
    """
    base_nongenai = (1.0 - anchors.base_genai_share) * anchors.base_half_revenue_rmb_m
    r0 = (base_nongenai / 2.0) / (2.0 * (1.0 - per_draw(fin.traditional_h2_share)))
    k = (qn - quarter_number(anchors.base_period)).astype(float)
    growth = (1.0 + per_draw(fin.traditional_growth_annual)) ** ((k + 0.5) / 4.0)
    return r0 * seasonal_array(qn % 4 + 1, fin.traditional_h2_share) * growth


def genai_array(served_rmb_m: np.ndarray, fin: FinanceInputs) -> np.ndarray:
    """genai[t] = served[t] + other_genai_revenue_rmb_m_per_quarter. [RMB m]"""
    return np.asarray(served_rmb_m, float) + per_draw(fin.other_genai_revenue_rmb_m_per_quarter)


def revenue_arrays(qn: np.ndarray, served_rmb_m: np.ndarray, fin: FinanceInputs,
                   anchors: Anchors) -> dict[str, np.ndarray]:
    """GenAI, traditional and total revenue and the GenAI share per quarter.

    genai = served + other (:func:`genai_array`); total = genai + traditional
    (:func:`traditional_array`).

    Returns
    -------
    dict
        ``genai_rmb_m``, ``traditional_rmb_m``, ``total_rmb_m`` [RMB m], ``genai_share`` [1].
    """
    genai = genai_array(served_rmb_m, fin)
    trad = traditional_array(qn, fin, anchors)
    total = genai + trad
    return {"genai_rmb_m": genai, "traditional_rmb_m": trad, "total_rmb_m": total,
            "genai_share": genai / total}


def gross_profit_array(fin: FinanceInputs, genai_margin: float, traditional_rmb_m: np.ndarray,
                       genai_rmb_m: np.ndarray, incremental_cost_rmb_m: np.ndarray
                       ) -> np.ndarray:
    """m_trad * traditional + m_gen * genai, less dC when it is deducted. [RMB m]"""
    gp = fin.traditional_gross_margin * traditional_rmb_m + genai_margin * genai_rmb_m
    if fin.deduct_incremental_compute_cost:
        gp = gp - incremental_cost_rmb_m
    return gp


def actual_quarter_values(anchors: Anchors) -> dict[str, float]:
    """Each quarter of the base half-year: genai = s R / 2, traditional = (1 - s) R / 2,
    total = R / 2, gross_profit = GM R / 2. [RMB m]"""
    half = anchors.base_half_revenue_rmb_m / 2.0
    s = anchors.base_genai_share
    return {"genai_rmb_m": s * half, "traditional_rmb_m": (1.0 - s) * half, "total_rmb_m": half,
            "gross_profit_rmb_m": anchors.base_gross_margin * half}


@dataclass(frozen=True)
class YearLayout:
    """Which calendar year each quarter falls in, the base half-year's actuals included.

    Built by :func:`year_layout` once per set of quarters; :func:`annual_arrays` uses it.

    Attributes
    ----------
    n_actual
        Actual quarters of the base half-year that the modelled quarters do not cover; they
        come first in the combined list, the modelled quarters after them.
    order
        Positions of the combined list sorted by quarter.
    starts
        Position (in ``order``) where each calendar year starts.
    complete
        Per calendar year: all four quarters known.
    years
        The complete years.
    actual_quarters
        Actual quarters in each complete year.
    """

    n_actual: int
    order: np.ndarray
    starts: np.ndarray
    complete: np.ndarray
    years: np.ndarray
    actual_quarters: np.ndarray


def year_layout(qn: np.ndarray, anchors: Anchors) -> YearLayout:
    """The :class:`YearLayout` of the quarters ``qn`` (quarter numbers) and the base half-year."""
    b = quarter_number(anchors.base_period)
    covered = set(np.asarray(qn).tolist())
    act_q = [q for q in (b - 1, b) if q not in covered]
    allq = np.concatenate([np.array(act_q, np.int64), np.asarray(qn, np.int64)])
    order = np.argsort(allq, kind="stable")
    years_all = allq[order] // 4
    starts = np.flatnonzero(np.concatenate([[True], years_all[1:] != years_all[:-1]]))
    complete = np.diff(np.append(starts, len(allq))) == 4
    is_act = (np.arange(len(allq)) < len(act_q)).astype(np.int64)[order]
    return YearLayout(len(act_q), order, starts, complete, years_all[starts][complete],
                      np.add.reduceat(is_act, starts)[complete])


def annual_arrays(layout: YearLayout, anchors: Anchors, genai_rmb_m: np.ndarray,
                  total_rmb_m: np.ndarray, traditional_rmb_m: np.ndarray | None = None,
                  gross_profit_rmb_m: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Calendar-year sums of the modelled quarters plus the base half-year's actuals.

    An actual quarter counts where the modelled quarters do not cover it; a year is kept only
    when all four of its quarters are known (``layout`` from :func:`year_layout`). Each year's
    quarters are summed in calendar order with ``numpy.add.reduceat``.

    Returns
    -------
    dict
        ``year``, ``actual_quarters`` [quarters], ``genai_rmb_m``, ``total_rmb_m`` [RMB m],
        ``genai_share`` [1]; with the optional inputs also ``traditional_rmb_m``,
        ``gross_profit_rmb_m`` [RMB m] and ``gross_margin`` [1]. Complete years only.
        For quarterly arrays of a batch of draws (B, T) the sums are (B, years).
    """
    act = actual_quarter_values(anchors)
    out: dict[str, np.ndarray] = {"year": layout.years,
                                  "actual_quarters": layout.actual_quarters}
    given = {"genai_rmb_m": genai_rmb_m, "traditional_rmb_m": traditional_rmb_m,
             "total_rmb_m": total_rmb_m, "gross_profit_rmb_m": gross_profit_rmb_m}
    for name, values in given.items():
        if values is not None:
            values = np.asarray(values, float)
            v = np.concatenate([np.full((*values.shape[:-1], layout.n_actual), act[name]),
                                values], axis=-1)
            out[name] = np.add.reduceat(v[..., layout.order], layout.starts,
                                        axis=-1)[..., layout.complete]
    out["genai_share"] = out["genai_rmb_m"] / out["total_rmb_m"]
    if gross_profit_rmb_m is not None:
        out["gross_margin"] = out["gross_profit_rmb_m"] / out["total_rmb_m"]
    return out


def year_sales(years: Sequence[int] | np.ndarray, totals: Sequence[float] | np.ndarray,
               year: int) -> float:
    """Total sales of ``year`` from calendar-year totals (complete years only). [RMB m]

    Raises
    ------
    InputError
        When the year is not a complete year of the horizon.
    """
    years = [int(y) for y in years]
    if year not in years:
        span = f"{years[0]}..{years[-1]}" if years else "none"
        raise InputError("finance.valuation_year",
                         f"{year} is not a complete modelled year (complete years: {span})")
    return number(np.asarray(totals)[..., years.index(year)])


# --------------------------------------------------------------------------------------------
# Revenue
# --------------------------------------------------------------------------------------------


def _require(df: pd.DataFrame, cols: list[str], what: str) -> None:
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
                    index=periods.rename("period"), name="traditional_rmb_m")
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
                         f"{m:.3f} (outside 0..1) given the 1H23 group margin "
                         f"{anchors.base_gross_margin} and GenAI share {s}")
    return float(m)


def incremental_compute_cost(quarters: pd.DataFrame) -> pd.Series:
    """Compute cost (depreciation + power) above the first quarter's run rate.

    dC[t] = (capital_charge_rmb_m + opex_rmb_m)[t] - (capital_charge_rmb_m + opex_rmb_m)[t0]

    Returns zeros when the quarters carry neither cost column (a fleet without a plan).

    Returns
    -------
    pandas.Series
        Incremental cost per quarter. [RMB m]
    """
    cols = [c for c in ("capital_charge_rmb_m", "opex_rmb_m") if c in quarters.columns]
    if not cols:
        return pd.Series(0.0, index=quarters.index, name="incremental_compute_cost_rmb_m")
    _require(quarters, cols, "capacity quarters")
    cost = quarters[cols].astype(float).sum(axis=1)
    out = (cost - cost.iloc[0]).rename("incremental_compute_cost_rmb_m")
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


def revenue_table(quarters: pd.DataFrame, genai_demand: pd.Series, fin: FinanceInputs,
                  anchors: Anchors) -> pd.DataFrame:
    """Quarterly revenue from the fleet: GenAI, traditional, total, share and gross margin.

    genai[t] = served[t]; total = genai + traditional;
    gross_profit = m_trad * traditional + m_gen * genai - dC (see the module docstring).
    Checks the arguments and calls :func:`revenue_arrays` and :func:`gross_profit_array`.

    Parameters
    ----------
    quarters
        A plan's ``quarters`` indexed by ``period``: ``served_revenue_rmb_m`` [RMB m],
        optionally ``capital_charge_rmb_m``, ``opex_rmb_m`` [RMB m].
    genai_demand
        Demand-side GenAI revenue forecast per quarter. [RMB m]
    fin
        Finance inputs.
    anchors
        1H23 disclosures.

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``genai_demand_rmb_m``, ``genai_rmb_m``,
        ``traditional_rmb_m``, ``total_rmb_m`` [RMB m], ``genai_share`` [1],
        ``capacity_bound`` (served below demand), ``incremental_compute_cost_rmb_m`` [RMB m]
        (memo unless deducted), ``gross_profit_rmb_m`` [RMB m], ``gross_margin`` [1].
    """
    if len(quarters) == 0:
        raise InputError("capacity quarters", "no quarters to value")
    _require(quarters, ["served_revenue_rmb_m"], "capacity quarters")
    periods = pd.PeriodIndex(quarters.index, freq="Q", name="period")
    q = quarters.copy()
    q.index = periods
    demand = _check_demand(genai_demand, periods).to_numpy()
    r = revenue_arrays(quarter_numbers(periods), q["served_revenue_rmb_m"].to_numpy(float), fin,
                       anchors)
    m_gen = genai_margin(fin, anchors)
    d_cost = incremental_compute_cost(q).to_numpy(float)
    gp = gross_profit_array(fin, m_gen, r["traditional_rmb_m"], r["genai_rmb_m"], d_cost)
    return pd.DataFrame({
        "genai_demand_rmb_m": demand,
        "genai_rmb_m": r["genai_rmb_m"],
        "traditional_rmb_m": r["traditional_rmb_m"],
        "total_rmb_m": r["total_rmb_m"],
        "genai_share": r["genai_share"],
        "capacity_bound": r["genai_rmb_m"] < demand - CAPACITY_BOUND_TOL_RMB_M,
        "incremental_compute_cost_rmb_m": d_cost,
        "gross_profit_rmb_m": gp,
        "gross_margin": gp / r["total_rmb_m"],
    }, index=periods)


CAPACITY_BOUND_TOL_RMB_M = 1e-6
"""A quarter is capacity-bound when the fleet served this much less than demanded. [RMB m]"""


def actual_quarters(anchors: Anchors) -> pd.DataFrame:
    """The base half-year's actuals as two equal quarters (for calendar-year totals).

    genai = s * R / 2, traditional = (1 - s) * R / 2, gross_profit = GM * R / 2 per quarter
    (:func:`actual_quarter_values`).
    """
    periods = pd.period_range(anchors.base_period - 1, anchors.base_period, freq="Q",
                              name="period")
    return pd.DataFrame(actual_quarter_values(anchors), index=periods)


def annual_table(revenue: pd.DataFrame, anchors: Anchors) -> pd.DataFrame:
    """Calendar-year revenue, GenAI share and gross margin (complete years only).

    Quarters of the base half-year are taken from the actuals (:func:`actual_quarters`), the
    rest from ``revenue``; a year appears only when all four quarters are known
    (:func:`annual_arrays`).

    Returns
    -------
    pandas.DataFrame
        Index ``year``; columns ``actual_quarters`` [quarters], ``genai_rmb_m``,
        ``traditional_rmb_m``, ``total_rmb_m`` [RMB m], ``genai_share`` [1],
        ``gross_profit_rmb_m`` [RMB m], ``gross_margin`` [1].
    """
    col = {c: revenue[c].to_numpy(float) for c in
           ("genai_rmb_m", "traditional_rmb_m", "total_rmb_m", "gross_profit_rmb_m")}
    layout = year_layout(quarter_numbers(revenue.index), anchors)
    a = annual_arrays(layout, anchors, col["genai_rmb_m"], col["total_rmb_m"],
                      col["traditional_rmb_m"], col["gross_profit_rmb_m"])
    cols = ["actual_quarters", "genai_rmb_m", "traditional_rmb_m", "total_rmb_m",
            "genai_share", "gross_profit_rmb_m", "gross_margin"]
    return pd.DataFrame({c: a[c] for c in cols}, index=pd.Index(a["year"], name="year"))


def target_check(annual: pd.DataFrame, anchors: Anchors) -> tuple[float | None, bool | None]:
    """GenAI share in the target year and whether it reaches the target.

    Returns
    -------
    tuple
        (share [1], met) where met = share >= target; ``(None, None)`` when the target year is
        not a complete year of the table.
    """
    if anchors.target_year not in annual.index:
        return None, None
    share = float(annual.at[anchors.target_year, "genai_share"])
    return share, bool(share >= anchors.genai_share_target)


# --------------------------------------------------------------------------------------------
# Valuation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Valuation:
    """One EV/Sales valuation, every step kept so the bridge can be checked.

    Attributes
    ----------
    sales_rmb_m
        Valuation-year sales. [RMB m]
    multiple
        EV/Sales. [1]
    ev_rmb_m
        Enterprise value = multiple * sales. [RMB m]
    net_cash_rmb_m
        Net cash. [RMB m]
    equity_rmb_m
        Equity value = EV + net cash. [RMB m]
    shares_m
        Shares. [m shares]
    rmb_per_hkd
        FX. [RMB/HKD]
    target_price_hkd
        equity / shares / rmb_per_hkd. [HKD/share]
    """

    sales_rmb_m: float
    multiple: float
    ev_rmb_m: float
    net_cash_rmb_m: float
    equity_rmb_m: float
    shares_m: float
    rmb_per_hkd: float
    target_price_hkd: float


def equity_and_target_price(ev_rmb_m: float, net_cash_rmb_m: float, shares_m: float,
                            rmb_per_hkd: float) -> tuple[float, float]:
    """Equity value and target price from an enterprise value (every method ends here).

    equity = EV + net_cash;  TP = equity / shares / rmb_per_hkd

    Parameters
    ----------
    ev_rmb_m
        Enterprise value. [RMB m]
    net_cash_rmb_m
        Net cash (negative = net debt). [RMB m]
    shares_m
        Shares outstanding. [m shares]
    rmb_per_hkd
        Exchange rate. [RMB/HKD]

    Returns
    -------
    tuple
        (equity [RMB m], target price [HKD/share]; RMB m / m shares = RMB/share).
    """
    if np.any(np.asarray(shares_m) <= 0) or np.any(np.asarray(rmb_per_hkd) <= 0):
        raise InputError("finance", "shares_m and rmb_per_hkd must be positive")
    equity = number(ev_rmb_m) + number(net_cash_rmb_m)
    return equity, equity / shares_m / rmb_per_hkd


def value_from_sales(sales_rmb_m: float, multiple: float, net_cash_rmb_m: float,
                     shares_m: float, rmb_per_hkd: float) -> Valuation:
    """EV/Sales target price.

    EV = multiple * sales; equity = EV + net_cash; TP = equity / shares / rmb_per_hkd.

    Parameters
    ----------
    sales_rmb_m
        Valuation-year sales. [RMB m]
    multiple
        EV/Sales. [1]
    net_cash_rmb_m
        Net cash (negative = net debt). [RMB m]
    shares_m
        Shares outstanding. [m shares]
    rmb_per_hkd
        Exchange rate. [RMB/HKD]

    Returns
    -------
    Valuation
        With ``target_price_hkd`` in [HKD/share] (RMB m / m shares = RMB/share); for a batch
        of draws (arguments of shape (B,)) every field is an array of shape (B,).
    """
    ev = multiple * sales_rmb_m
    equity, tp = equity_and_target_price(ev, net_cash_rmb_m, shares_m, rmb_per_hkd)
    return Valuation(number(sales_rmb_m), number(multiple), number(ev), number(net_cash_rmb_m),
                     number(equity), number(shares_m), number(rmb_per_hkd), number(tp))


def implied_sales(target_price_hkd: float, multiple: float, net_cash_rmb_m: float,
                  shares_m: float, rmb_per_hkd: float) -> float:
    """Valuation-year sales that a target price implies at a multiple (the inverse bridge).

    sales = (TP * shares * rmb_per_hkd - net_cash) / multiple

    Parameters
    ----------
    target_price_hkd
        Target price. [HKD/share]
    multiple, net_cash_rmb_m, shares_m, rmb_per_hkd
        As in :func:`value_from_sales`.

    Returns
    -------
    float
        Sales. [RMB m]
    """
    if multiple <= 0:
        raise InputError("finance.ev_sales_multiple", "must be positive")
    return float((target_price_hkd * shares_m * rmb_per_hkd - net_cash_rmb_m) / multiple)


def valuation_sales(annual: pd.DataFrame, year: int) -> float:
    """Total sales of the valuation year from the annual table (:func:`year_sales`).

    Raises
    ------
    InputError
        When the year is not a complete year of the horizon.
    """
    return year_sales(annual.index, annual["total_rmb_m"].to_numpy(float), year)


def sensitivity_grid(sales_rmb_m: float, fin: FinanceInputs) -> pd.DataFrame:
    """Target price over EV/Sales multiples and changes to the valuation-year sales.

    TP[m, d] = (m * sales * (1 + d) + net_cash) / shares / rmb_per_hkd

    Returns
    -------
    pandas.DataFrame
        One row per (multiple, change): ``multiple`` [1], ``sales_change`` [1],
        ``sales_rmb_m`` [RMB m], ``ev_rmb_m`` [RMB m], ``target_price_hkd`` [HKD/share].
    """
    rows = []
    for m in fin.sensitivity_multiples:
        for d in fin.sensitivity_sales_changes:
            v = value_from_sales(sales_rmb_m * (1.0 + d), m, fin.net_cash_rmb_m, fin.shares_m,
                                 fin.rmb_per_hkd)
            rows.append({"multiple": float(m), "sales_change": float(d),
                         "sales_rmb_m": v.sales_rmb_m, "ev_rmb_m": v.ev_rmb_m,
                         "target_price_hkd": v.target_price_hkd})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class FinanceResult:
    """Everything the finance link computes for one scenario.

    Attributes
    ----------
    revenue
        Quarterly table (:func:`revenue_table`).
    annual
        Calendar-year table (:func:`annual_table`).
    valuation
        The tool's capacity-linked valuation.
    implied_sales_rmb_m
        Valuation-year sales the note's new TP implies at the scenario's inputs. [RMB m]
    implied_sales_old_rmb_m
        Same for the note's old TP. [RMB m]
    bridge
        Side-by-side bridge: the tool, the note's new TP and old TP.
    sensitivity
        TP grid (:func:`sensitivity_grid`).
    genai_share_target_year
        GenAI share in the target year, or None. [1]
    genai_target_met
        Whether it reaches the target, or None.
    genai_gross_margin
        Solved GenAI margin. [1]
    """

    revenue: pd.DataFrame
    annual: pd.DataFrame
    valuation: Valuation
    implied_sales_rmb_m: float
    implied_sales_old_rmb_m: float
    bridge: pd.DataFrame
    sensitivity: pd.DataFrame
    genai_share_target_year: float | None
    genai_target_met: bool | None
    genai_gross_margin: float


def bridge_table(valuation: Valuation, anchors: Anchors, fin: FinanceInputs) -> pd.DataFrame:
    """The tool's valuation beside the sales the note's new and old TPs imply.

    Each row runs the same bridge (sales -> EV -> equity -> TP) with the scenario's multiple,
    net cash, shares and FX; the note rows start from the implied sales, so their TP comes back
    to the note's figure.
    """
    rows = []
    for label, sales in [
        ("tool (capacity-linked)", valuation.sales_rmb_m),
        (f"note TP HK${anchors.target_price_hkd:g} (implied)",
         implied_sales(anchors.target_price_hkd, fin.ev_sales_multiple, fin.net_cash_rmb_m,
                       fin.shares_m, fin.rmb_per_hkd)),
        (f"note old TP HK${anchors.target_price_old_hkd:g} (implied)",
         implied_sales(anchors.target_price_old_hkd, fin.ev_sales_multiple, fin.net_cash_rmb_m,
                       fin.shares_m, fin.rmb_per_hkd)),
    ]:
        v = value_from_sales(sales, fin.ev_sales_multiple, fin.net_cash_rmb_m, fin.shares_m,
                             fin.rmb_per_hkd)
        rows.append({"case": label, "sales_rmb_m": v.sales_rmb_m, "multiple": v.multiple,
                     "ev_rmb_m": v.ev_rmb_m, "net_cash_rmb_m": v.net_cash_rmb_m,
                     "equity_rmb_m": v.equity_rmb_m, "target_price_hkd": v.target_price_hkd})
    return pd.DataFrame(rows)


def finance_result(quarters: pd.DataFrame, genai_demand: pd.Series, fin: FinanceInputs,
                   anchors: Anchors) -> FinanceResult:
    """Capacity -> revenue -> valuation for one scenario.

    Parameters
    ----------
    quarters
        Per-quarter capacity (see :func:`revenue_table`).
    genai_demand
        Demand-side GenAI revenue per quarter. [RMB m]
    fin
        Finance inputs.
    anchors
        Disclosures (:func:`anchors_from_disclosures`).

    Returns
    -------
    FinanceResult
    """
    revenue = revenue_table(quarters, genai_demand, fin, anchors)
    annual = annual_table(revenue, anchors)
    sales = valuation_sales(annual, fin.valuation_year)
    val = value_from_sales(sales, fin.ev_sales_multiple, fin.net_cash_rmb_m, fin.shares_m,
                           fin.rmb_per_hkd)
    share, met = target_check(annual, anchors)
    args = (fin.ev_sales_multiple, fin.net_cash_rmb_m, fin.shares_m, fin.rmb_per_hkd)
    return FinanceResult(
        revenue=revenue, annual=annual, valuation=val,
        implied_sales_rmb_m=implied_sales(anchors.target_price_hkd, *args),
        implied_sales_old_rmb_m=implied_sales(anchors.target_price_old_hkd, *args),
        bridge=bridge_table(val, anchors, fin),
        sensitivity=sensitivity_grid(sales, fin),
        genai_share_target_year=share, genai_target_met=met,
        genai_gross_margin=genai_margin(fin, anchors),
    )


# --------------------------------------------------------------------------------------------
# P&L, cash and DCF from the fleet (issue 14)
# --------------------------------------------------------------------------------------------
#
# Array level first (numpy, indexed like ``qn``: the modelled quarters, base + 1 onward), so the
# stress draws and the DataFrame path below run the same equations. k = qn - base is the
# quarter count after the base period (2023Q3 -> 1).
#
# Revenue
#     genai[t]        = served[t] + other_genai                                      [RMB m]
#     revenue[t]      = genai[t] + traditional[t]                                    [RMB m]
# Cost of sales
#     dep[t]          = existing_book / L0 for k <= L0                               [RMB m]
#                       + sum over cohorts c with d_c <= t < d_c + L_c of capex_c / L_c
#     other_cos[t]    = (1 - m_trad) * traditional[t]                                [RMB m]
#     cos[t]          = dep[t] + power[t] + maintenance[t] + rental[t] + other_cos[t]
#     gross_profit[t] = revenue[t] - cos[t];  gross_margin = gross_profit / revenue  [RMB m], [1]
# Operating expenses (each line; B its 1H23 half-year, g its yearly growth)
#     line[t]         = B * (1 + g) ** ((k + 0.5) / 4) / ((1 + g) ** -1/8 + (1 + g) ** 1/8)
#     opex[t]         = rd[t] + sm[t] + ga[t]
#     operating_profit[t] = gross_profit[t] - opex[t]
#     ebitda[t]       = operating_profit[t] + dep[t]
#     net_loss[t]     = -(operating_profit[t] - non_operating_loss)  (a loss is positive)
# Cash (working capital held at its base level, dWC = 0; no cash tax on losses; the
# non-operating line is non-cash)
#     fcf[t]          = ebitda[t] - capex_paid[t]                                    [RMB m]
#     net_cash[t]     = net_cash[t - 1] + fcf[t],  net_cash[base] = last reported    [RMB m]
# DCF (valuation date = the base period's end; end-of-quarter discounting)
#     df[t]           = (1 + wacc) ** (-k / 4)                                       [1]
#     ebit_T          = sum of operating_profit over the last four modelled quarters [RMB m]
#     nopat_T         = ebit_T * (1 - tax) if ebit_T > 0 else ebit_T
#     TV              = nopat_T * (1 + g) / (wacc - g)    (steady state: capex = dep, dWC = 0)
#     EV_dcf          = sum_t fcf[t] * df[t] + TV * df[T]                            [RMB m]
# Every method: equity = EV + net_cash[base]; TP = equity / shares / rmb_per_hkd.


def opex_line_array(qn: np.ndarray, base_qno: int, half_rmb_m: float, growth_annual: float
                    ) -> np.ndarray:
    """One operating-expense line per quarter: line[t] = B * (1 + g) ** ((k + 0.5) / 4) / c.

    k = qn - base_qno, c = (1 + g) ** (-1/8) + (1 + g) ** (1/8). The exponent counts years
    from the middle of the base half-year, so each calendar year's total is (1 + g) times the
    year before's (the yearly-total convention); c makes the base half-year's two quarters
    (k = -1, 0) sum to B exactly. With g = 0 every quarter is B / 2.

    Parameters
    ----------
    qn
        Quarter numbers (:func:`capacity.demand.quarter_number`). [1]
    base_qno
        Quarter number of the base period. [1]
    half_rmb_m
        The line in the base half-year. [RMB m/half-year]
    growth_annual
        Yearly growth. [1/year]

    Returns
    -------
    numpy.ndarray
        The line per quarter. [RMB m]
    """
    k = (np.asarray(qn) - base_qno).astype(float)
    f = 1.0 + per_draw(growth_annual)
    return per_draw(half_rmb_m) * f ** ((k + 0.5) / 4.0) / (f ** -0.125 + f ** 0.125)


def existing_depreciation_array(n: int, book_value_rmb_m: float, life_quarters: int
                                ) -> np.ndarray:
    """dep0[t] = book / L0 in the first L0 modelled quarters, 0 after. [RMB m]"""
    return np.where(np.arange(n) < per_draw(life_quarters),
                    per_draw(book_value_rmb_m) / per_draw(life_quarters), 0.0)


def pnl_arrays(qn: np.ndarray, base_qno: int, served_rmb_m: np.ndarray,
               traditional_rmb_m: np.ndarray, depreciation_rmb_m: np.ndarray,
               power_rmb_m: np.ndarray, maintenance_rmb_m: np.ndarray,
               rental_rmb_m: np.ndarray, fin: FinanceInputs) -> dict[str, np.ndarray]:
    """The quarterly P&L from served revenue and fleet costs (equations above). [RMB m]

    Returns
    -------
    dict
        ``genai_revenue_rmb_m``, ``traditional_rmb_m``, ``revenue_rmb_m``,
        ``depreciation_rmb_m``, ``power_cost_rmb_m``, ``maintenance_rmb_m``,
        ``rental_cost_rmb_m``, ``other_cost_of_sales_rmb_m``, ``cost_of_sales_rmb_m``,
        ``gross_profit_rmb_m``, ``rd_rmb_m``, ``sm_rmb_m``, ``ga_rmb_m``, ``opex_rmb_m``,
        ``operating_profit_rmb_m``, ``ebitda_rmb_m``, ``non_operating_loss_rmb_m``,
        ``net_loss_rmb_m`` [RMB m] and ``gross_margin`` [1].
    """
    genai = genai_array(served_rmb_m, fin)
    trad = np.asarray(traditional_rmb_m, float)
    revenue = genai + trad
    other = (1.0 - per_draw(fin.traditional_gross_margin)) * trad
    cos = depreciation_rmb_m + power_rmb_m + maintenance_rmb_m + rental_rmb_m + other
    gp = revenue - cos
    rd = opex_line_array(qn, base_qno, fin.rd_half_rmb_m, fin.rd_growth_annual)
    sm = opex_line_array(qn, base_qno, fin.sm_half_rmb_m, fin.sm_growth_annual)
    ga = opex_line_array(qn, base_qno, fin.ga_half_rmb_m, fin.ga_growth_annual)
    opex = rd + sm + ga
    op = gp - opex
    nonop = np.zeros(np.shape(gp)) + per_draw(fin.non_operating_loss_rmb_m_per_quarter)
    with np.errstate(divide="ignore", invalid="ignore"):
        gm = np.where(revenue > 0, gp / np.where(revenue > 0, revenue, 1.0), 0.0)
    return {"genai_revenue_rmb_m": genai, "traditional_rmb_m": trad, "revenue_rmb_m": revenue,
            "depreciation_rmb_m": np.asarray(depreciation_rmb_m, float),
            "power_cost_rmb_m": np.asarray(power_rmb_m, float),
            "maintenance_rmb_m": np.asarray(maintenance_rmb_m, float),
            "rental_cost_rmb_m": np.asarray(rental_rmb_m, float),
            "other_cost_of_sales_rmb_m": other, "cost_of_sales_rmb_m": cos,
            "gross_profit_rmb_m": gp, "gross_margin": gm, "rd_rmb_m": rd, "sm_rmb_m": sm,
            "ga_rmb_m": ga, "opex_rmb_m": opex, "operating_profit_rmb_m": op,
            "ebitda_rmb_m": op + depreciation_rmb_m, "non_operating_loss_rmb_m": nonop,
            "net_loss_rmb_m": -(op - nonop)}


def cash_arrays(ebitda_rmb_m: np.ndarray, capex_paid_rmb_m: np.ndarray,
                net_cash0_rmb_m: float, floor_rmb_m: float) -> dict[str, Any]:
    """Free cash flow, the net cash path and the runway. [RMB m]

    fcf[t] = ebitda[t] - capex_paid[t];  net_cash[t] = net_cash[t-1] + fcf[t]
    runway = quarters before net cash first falls below the floor (all of them if never).

    Returns
    -------
    dict
        ``fcf_rmb_m``, ``net_cash_rmb_m`` [RMB m] arrays, ``below_floor`` (bool array),
        ``runway_quarters`` [quarters] and ``funding_need_index`` (first quarter below the
        floor, or -1).
    """
    fcf = np.asarray(ebitda_rmb_m, float) - np.asarray(capex_paid_rmb_m, float)
    net_cash = per_draw(net_cash0_rmb_m) + np.cumsum(fcf, axis=-1)
    below = net_cash < per_draw(floor_rmb_m)
    first = np.where(below.any(axis=-1), np.argmax(below, axis=-1), -1)
    runway = np.where(first >= 0, first, fcf.shape[-1])
    if first.ndim == 0:
        first, runway = int(first), int(runway)
    return {"fcf_rmb_m": fcf, "net_cash_rmb_m": net_cash, "below_floor": below,
            "runway_quarters": runway, "funding_need_index": first}


def dcf_ev(fcf_rmb_m: np.ndarray, k: np.ndarray, ebit_terminal_rmb_m: float,
           wacc_annual: float, terminal_growth_annual: float, tax_rate: float
           ) -> dict[str, Any]:
    """Enterprise value by discounted free cash flow plus a Gordon terminal value.

    df[t] = (1 + wacc) ** (-k / 4);  nopat_T = ebit_T (1 - tax) if ebit_T > 0 else ebit_T;
    TV = nopat_T (1 + g) / (wacc - g);  EV = sum fcf df + TV df[last]

    Parameters
    ----------
    fcf_rmb_m
        Free cash flow per modelled quarter. [RMB m]
    k
        Quarters after the valuation date of each (1, 2, ...). [quarters]
    ebit_terminal_rmb_m
        Operating profit of the last four modelled quarters. [RMB m/year]
    wacc_annual, terminal_growth_annual
        Discount rate and terminal growth, g < wacc. [1/year]
    tax_rate
        Tax on a positive terminal operating profit. [1]

    Returns
    -------
    dict
        ``discount_factor`` [1] and ``pv_fcf_rmb_m`` [RMB m] arrays, ``terminal_value_rmb_m``,
        ``pv_terminal_rmb_m``, ``ev_rmb_m`` [RMB m].
    """
    if np.any(np.asarray(terminal_growth_annual) >= wacc_annual):
        raise InputError("finance.terminal_growth_annual",
                         f"{terminal_growth_annual} must be below the WACC {wacc_annual}")
    df = (1.0 + per_draw(wacc_annual)) ** (-np.asarray(k, float) / 4.0)
    pv = np.asarray(fcf_rmb_m, float) * df
    ebit = np.asarray(ebit_terminal_rmb_m, float)
    nopat = np.where(ebit > 0, ebit * (1.0 - tax_rate), ebit)
    tv = nopat * (1.0 + terminal_growth_annual) / (wacc_annual - terminal_growth_annual)
    pv_tv = tv * df[..., -1]
    return {"discount_factor": df, "pv_fcf_rmb_m": pv, "terminal_value_rmb_m": number(tv),
            "pv_terminal_rmb_m": number(pv_tv), "ev_rmb_m": number(pv.sum(axis=-1) + pv_tv)}


def year_total(qn: np.ndarray, values: np.ndarray, year: int) -> float | None:
    """Sum of ``values`` over the modelled quarters of ``year``; None unless all four are
    modelled. [RMB m]"""
    sel = np.asarray(qn) // 4 == year
    if int(sel.sum()) != 4:
        return None
    return number(np.asarray(values, float)[..., sel].sum(axis=-1))


METHODS = ("ev_sales", "ev_ebitda", "dcf")
"""Valuation methods, in report order."""


def blend_target_price(tps: dict[str, float | None], weights: dict[str, float]
                       ) -> tuple[float, dict[str, float]]:
    """Weighted target price over the methods that apply.

    TP_blend = sum_m w_m TP_m / sum_m w_m over methods m with a TP (w renormalised).

    Parameters
    ----------
    tps
        Target price per method, None where it does not apply. [HKD/share]
    weights
        Weight per method (``finance.blend_weights``). [1]

    Returns
    -------
    tuple
        (blended TP [HKD/share], the weights used, summing to 1 [1])

    Raises
    ------
    InputError
        When every weighted method does not apply.

    Notes
    -----
    For a batch of draws each TP is an array (B,), NaN where the method does not apply to that
    draw; the blended TP is then (B,) and the weights are arrays (0 where not applied).
    """
    applies = {m: (tps.get(m) is not None) & ~np.isnan(np.asarray(tps[m], float))
               for m in METHODS if tps.get(m) is not None}
    total: Any = 0
    for m, ok in applies.items():
        total = total + np.where(ok, float(weights.get(m, 0.0)), 0.0)
    if np.any(np.asarray(total) <= 0.0):
        raise InputError("finance.blend_weights", "every method with a weight above 0 is "
                         "inapplicable (EV/EBITDA needs a positive EBITDA in the valuation "
                         "year)")
    w = {m: np.where(ok, float(weights.get(m, 0.0)) / total, 0.0) for m, ok in applies.items()}
    blended: Any = 0
    for m, ok in applies.items():
        blended = blended + np.where(ok, w[m] * np.asarray(tps[m], float), 0.0)
    if np.ndim(blended) == 0:
        return float(blended), {m: float(v) for m, v in w.items()}
    return blended, w


def value_arrays(qn: np.ndarray, base_qno: int, served_rmb_m: np.ndarray,
                 traditional_rmb_m: np.ndarray, cohort_delivery_index: np.ndarray,
                 cohort_capex_rmb_m: np.ndarray, cohort_life_quarters: np.ndarray,
                 capex_paid_rmb_m: np.ndarray, power_rmb_m: np.ndarray,
                 maintenance_rmb_m: np.ndarray, rental_rmb_m: np.ndarray,
                 fin: FinanceInputs, tp_ev_sales_hkd: float) -> dict[str, Any]:
    """P&L, cash, DCF and the target price per method and blended, from fleet arrays.

    The one implementation: :func:`pnl_result` and the stress draws call it.

    Parameters
    ----------
    qn
        Quarter numbers of the modelled quarters, consecutive from base + 1. [1]
    base_qno
        Quarter number of the base period (valuation date, last reported balance). [1]
    served_rmb_m
        Revenue the fleet served per quarter. [RMB m]
    traditional_rmb_m
        Non-GenAI revenue per quarter. [RMB m]
    cohort_delivery_index, cohort_capex_rmb_m, cohort_life_quarters
        Purchases: delivery position among ``qn`` [index], all-in cost [RMB m], life
        [quarters].
    capex_paid_rmb_m
        Capex paid per quarter (at order). [RMB m]
    power_rmb_m, maintenance_rmb_m, rental_rmb_m
        Fleet running costs per quarter. [RMB m]
    fin
        Finance inputs.
    tp_ev_sales_hkd
        The EV/Sales target price (:func:`value_from_sales`). [HKD/share]

    For a batch of draws the quarterly arrays are (B, T), the cohort capex (B, n) (zero for
    cohorts a draw did not buy), the numbers of ``fin`` that vary (B,); every result then
    carries the batch as its first axis, with NaN where a method does not apply to a draw.

    Returns
    -------
    dict
        ``pnl`` (:func:`pnl_arrays`), ``cash`` (:func:`cash_arrays`), ``dcf``
        (:func:`dcf_ev`), ``ebitda_year_rmb_m`` (valuation year, or None),
        ``ev_ebitda_rmb_m`` (or None), ``tp`` per method [HKD/share] (None where it does not
        apply), ``equity_rmb_m`` per method, ``weights`` used and ``target_price_hkd``.
    """
    qn = np.asarray(qn, np.int64)
    n = len(qn)
    if n < 4:
        raise InputError("horizon.end", "the DCF needs at least four modelled quarters")
    dep = (existing_depreciation_array(n, fin.existing_fleet_book_value_rmb_m,
                                       fin.existing_fleet_remaining_life_quarters)
           + cohort_depreciation_array(n, cohort_delivery_index, cohort_capex_rmb_m,
                                       cohort_life_quarters))
    pnl = pnl_arrays(qn, base_qno, served_rmb_m, traditional_rmb_m, dep, power_rmb_m,
                     maintenance_rmb_m, rental_rmb_m, fin)
    cash = cash_arrays(pnl["ebitda_rmb_m"], capex_paid_rmb_m, fin.net_cash_rmb_m,
                       fin.cash_floor_rmb_m)
    k = (qn - base_qno).astype(float)
    ebit_t = number(pnl["operating_profit_rmb_m"][..., -4:].sum(axis=-1))
    dcf = dcf_ev(cash["fcf_rmb_m"], k, ebit_t, fin.wacc_annual, fin.terminal_growth_annual,
                 fin.tax_rate)
    args = (fin.net_cash_rmb_m, fin.shares_m, fin.rmb_per_hkd)
    eq_dcf, tp_dcf = equity_and_target_price(dcf["ev_rmb_m"], *args)
    ebitda_y = year_total(qn, pnl["ebitda_rmb_m"], fin.valuation_year)
    ev_ebitda = tp_ebitda = eq_ebitda = None
    positive = np.asarray(ebitda_y if ebitda_y is not None else np.nan) > 0
    if positive.any():  # a batch: NaN for the draws whose EBITDA is not positive
        ev_ebitda = np.where(positive, per_draw(fin.ev_ebitda_multiple, 0) * ebitda_y, np.nan)
        eq_ebitda, tp_ebitda = equity_and_target_price(ev_ebitda, *args)
        if positive.ndim == 0:
            ev_ebitda, eq_ebitda, tp_ebitda = float(ev_ebitda), float(eq_ebitda), \
                float(tp_ebitda)
    tps = {"ev_sales": number(tp_ev_sales_hkd), "ev_ebitda": tp_ebitda, "dcf": tp_dcf}
    blended, weights = blend_target_price(tps, fin.blend_weights)
    chosen = blended if fin.valuation_method == "blend" else tps[fin.valuation_method]
    if chosen is None or np.isnan(chosen).any():
        raise InputError("finance.valuation_method",
                         f"{fin.valuation_method} does not apply (EBITDA of "
                         f"{fin.valuation_year} is not positive)")
    return {"pnl": pnl, "cash": cash, "dcf": dcf, "ebit_terminal_rmb_m": ebit_t,
            "ebitda_year_rmb_m": ebitda_y, "ev_ebitda_rmb_m": ev_ebitda, "tp": tps,
            "equity_rmb_m": {"dcf": eq_dcf, "ev_ebitda": eq_ebitda},
            "tp_blend_hkd": blended, "weights": weights, "target_price_hkd": number(chosen)}


PLAN_COLUMNS = ("served_revenue_rmb_m", "capex_rmb_m", "power_cost_rmb_m", "maintenance_rmb_m",
                "rental_cost_rmb_m")
"""Per-quarter columns of the plan the P&L reads (see ``capacity.run.finance_capacity``)."""
PURCHASE_COLUMNS = ("period", "order_period", "chip", "units", "capex_rmb_m", "life_quarters")
"""Columns of the purchases (one row per delivery quarter and chip) the P&L reads."""


@dataclass(frozen=True)
class PnlResult:
    """P&L, cash, DCF and the valuation by method for one scenario.

    Attributes
    ----------
    quarters
        Quarterly P&L and cash, index ``period`` (columns of :func:`pnl_arrays`, plus
        ``capex_paid_rmb_m``, ``fcf_rmb_m``, ``net_cash_rmb_m``, ``below_floor``,
        ``discount_factor``, ``pv_fcf_rmb_m``).
    pnl
        Calendar years whose four quarters are all modelled, index ``year``.
    cash
        ``period``, ``capex_paid_rmb_m``, ``ebitda_rmb_m``, ``fcf_rmb_m``, ``net_cash_rmb_m``
        [RMB m], ``below_floor``.
    cohorts
        One row per purchase: its depreciation per quarter and the part inside the horizon.
    valuation
        One row per method: ``method``, ``applies``, ``weight``, ``ev_rmb_m``,
        ``equity_rmb_m``, ``target_price_hkd``.
    dcf_sensitivity
        DCF target price over WACC x terminal growth.
    values
        The :func:`value_arrays` result.
    """

    quarters: pd.DataFrame
    pnl: pd.DataFrame
    cash: pd.DataFrame
    cohorts: pd.DataFrame
    valuation: pd.DataFrame
    dcf_sensitivity: pd.DataFrame
    values: dict[str, Any]


def _purchase_arrays(purchases: pd.DataFrame, first: pd.Period
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _require(purchases, list(PURCHASE_COLUMNS), "plan purchases")
    d = np.array([quarter_number(p) - quarter_number(first) for p in purchases["period"]],
                 np.int64)
    return (d, purchases["capex_rmb_m"].to_numpy(float),
            purchases["life_quarters"].to_numpy(np.int64))


def pnl_result(quarters: pd.DataFrame, purchases: pd.DataFrame, traditional_rmb_m: pd.Series,
               fin: FinanceInputs, anchors: Anchors, ev_sales: Valuation) -> PnlResult:
    """Quarterly and yearly P&L, cash path, DCF and target price by method (DataFrames).

    Checks the plan's columns (:data:`PLAN_COLUMNS`, :data:`PURCHASE_COLUMNS`) and calls
    :func:`value_arrays`; see the equations above it.

    Parameters
    ----------
    quarters
        Plan quarters indexed by ``period`` (consecutive, from the base period + 1) with
        :data:`PLAN_COLUMNS`. [RMB m]
    purchases
        Plan purchases with :data:`PURCHASE_COLUMNS`.
    traditional_rmb_m
        Non-GenAI revenue per quarter (:func:`traditional_revenue`). [RMB m]
    fin
        Finance inputs.
    anchors
        Disclosures (base period).
    ev_sales
        The EV/Sales valuation (:func:`value_from_sales`).

    Returns
    -------
    PnlResult
    """
    if len(quarters) == 0:
        raise InputError("capacity quarters", "no quarters to value")
    cols = list(PLAN_COLUMNS)
    _require(quarters, cols, "plan quarters")
    periods = pd.PeriodIndex(quarters.index, freq="Q", name="period")
    qn = quarter_numbers(periods)
    base_qno = quarter_number(anchors.base_period)
    if qn[0] != base_qno + 1 or (np.diff(qn) != 1).any():
        raise InputError("plan quarters", "must run consecutively from the quarter after the "
                                          f"base period {anchors.base_period}")
    q = {c: quarters[c].to_numpy(float) for c in cols}
    for c, v in q.items():
        if not np.isfinite(v).all():
            raise InputError("plan quarters", f"column {c} is not finite")
    trad = traditional_rmb_m.reindex(periods).to_numpy(float)
    d, capex, life = _purchase_arrays(purchases, periods[0])
    v = value_arrays(qn, base_qno, q["served_revenue_rmb_m"], trad, d, capex, life,
                     q["capex_rmb_m"], q["power_cost_rmb_m"], q["maintenance_rmb_m"],
                     q["rental_cost_rmb_m"], fin, ev_sales.target_price_hkd)
    pnl, cash, dcf = v["pnl"], v["cash"], v["dcf"]
    qt = pd.DataFrame(pnl, index=periods)
    qt["capex_paid_rmb_m"] = q["capex_rmb_m"]
    for c in ("fcf_rmb_m", "net_cash_rmb_m", "below_floor"):
        qt[c] = cash[c]
    qt["discount_factor"] = dcf["discount_factor"]
    qt["pv_fcf_rmb_m"] = dcf["pv_fcf_rmb_m"]

    years = qn // 4
    keep = [y for y in np.unique(years) if int((years == y).sum()) == 4]
    sums = ["revenue_rmb_m", "genai_revenue_rmb_m", "traditional_rmb_m", "cost_of_sales_rmb_m",
            "depreciation_rmb_m", "power_cost_rmb_m", "maintenance_rmb_m", "rental_cost_rmb_m",
            "other_cost_of_sales_rmb_m", "gross_profit_rmb_m", "rd_rmb_m", "sm_rmb_m",
            "ga_rmb_m", "opex_rmb_m", "operating_profit_rmb_m", "ebitda_rmb_m",
            "net_loss_rmb_m", "capex_paid_rmb_m", "fcf_rmb_m"]
    yearly = qt[sums].groupby(years).sum().loc[keep]
    yearly.index = pd.Index([int(y) for y in keep], name="year")
    yearly.insert(yearly.columns.get_loc("gross_profit_rmb_m") + 1, "gross_margin",
                  yearly["gross_profit_rmb_m"] / yearly["revenue_rmb_m"])
    yearly["net_cash_end_rmb_m"] = [float(cash["net_cash_rmb_m"][years == y][-1]) for y in keep]

    cash_t = qt[["capex_paid_rmb_m", "ebitda_rmb_m", "fcf_rmb_m", "net_cash_rmb_m",
                 "below_floor"]].copy()

    n = len(periods)
    per_q = capex / np.maximum(life, 1) if len(life) else capex
    inside = [float(per_q[i] * max(0, min(n, d[i] + life[i]) - max(0, d[i])))
              for i in range(len(d))]
    cohorts = pd.DataFrame({
        "period": purchases["period"].to_numpy(), "order_period":
        purchases["order_period"].to_numpy(), "chip": purchases["chip"].to_numpy(),
        "capex_rmb_m": capex, "life_quarters": life,
        "depreciation_per_quarter_rmb_m": per_q,
        "depreciation_in_horizon_rmb_m": np.array(inside, float)})

    weights = v["weights"]
    rows = []
    rows.append({"method": "ev_sales", "applies": True, "weight": weights.get("ev_sales", 0.0),
                 "ev_rmb_m": ev_sales.ev_rmb_m, "equity_rmb_m": ev_sales.equity_rmb_m,
                 "target_price_hkd": v["tp"]["ev_sales"]})
    ok = v["tp"]["ev_ebitda"] is not None
    rows.append({"method": "ev_ebitda", "applies": ok, "weight": weights.get("ev_ebitda", 0.0),
                 "ev_rmb_m": v["ev_ebitda_rmb_m"] if ok else 0.0,
                 "equity_rmb_m": v["equity_rmb_m"]["ev_ebitda"] if ok else 0.0,
                 "target_price_hkd": v["tp"]["ev_ebitda"] if ok else 0.0})
    rows.append({"method": "dcf", "applies": True, "weight": weights.get("dcf", 0.0),
                 "ev_rmb_m": dcf["ev_rmb_m"], "equity_rmb_m": v["equity_rmb_m"]["dcf"],
                 "target_price_hkd": v["tp"]["dcf"]})
    valuation = pd.DataFrame(rows)
    sens = dcf_sensitivity_grid(cash["fcf_rmb_m"], (qn - base_qno).astype(float),
                                v["ebit_terminal_rmb_m"], fin)
    return PnlResult(quarters=qt, pnl=yearly, cash=cash_t, cohorts=cohorts,
                     valuation=valuation, dcf_sensitivity=sens, values=v)


def dcf_sensitivity_grid(fcf_rmb_m: np.ndarray, k: np.ndarray, ebit_terminal_rmb_m: float,
                         fin: FinanceInputs) -> pd.DataFrame:
    """DCF target price over WACC x terminal growth (the two inputs the DCF turns on).

    TP[w, g] = (EV_dcf(w, g) + net_cash) / shares / rmb_per_hkd  (:func:`dcf_ev`)

    Returns
    -------
    pandas.DataFrame
        ``wacc_annual``, ``terminal_growth_annual`` [1/year], ``ev_rmb_m`` [RMB m],
        ``target_price_hkd`` [HKD/share].
    """
    rows = []
    for w in fin.sensitivity_wacc_annual:
        for g in fin.sensitivity_terminal_growth_annual:
            ev = dcf_ev(fcf_rmb_m, k, ebit_terminal_rmb_m, w, g, fin.tax_rate)["ev_rmb_m"]
            _, tp = equity_and_target_price(ev, fin.net_cash_rmb_m, fin.shares_m,
                                            fin.rmb_per_hkd)
            rows.append({"wacc_annual": float(w), "terminal_growth_annual": float(g),
                         "ev_rmb_m": ev, "target_price_hkd": tp})
    return pd.DataFrame(rows)
