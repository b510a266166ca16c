"""Calendar years of the finance link: which year each quarter falls in and the yearly totals.

Pure functions; no files, no printing. A calendar year y is kept only when all four of its
quarters are known; the base half-year's actuals (:func:`capacity.finance.anchors.
actual_quarter_values`) fill the quarters the modelled ones do not cover, so FY2023 combines the
1H23 actuals (split evenly over 2023Q1 and 2023Q2) with the modelled 2H23::

    total[y] = sum of the quarters q with q // 4 = y (actual or modelled)             [RMB m]
    share[y] = genai[y] / total[y];  gross_margin[y] = gross_profit[y] / total[y]       [1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.batch import number
from capacity.compute_demand import quarter_number, quarter_numbers
from capacity.errors import InputError
from capacity.finance.anchors import Anchors, actual_quarter_values


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


def annual_arrays(layout: YearLayout, anchors: Anchors, genai_revenue_m: np.ndarray,
                  revenue_m: np.ndarray, traditional_revenue_m: np.ndarray | None = None,
                  gross_profit_m: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Calendar-year sums of the modelled quarters plus the base half-year's actuals.

    An actual quarter counts where the modelled quarters do not cover it; a year is kept only
    when all four of its quarters are known (``layout`` from :func:`year_layout`). Each year's
    quarters are summed in calendar order with ``numpy.add.reduceat``.

    Returns
    -------
    dict
        ``year``, ``actual_quarters`` [quarters], ``genai_revenue_m``, ``revenue_m``
        [RMB m], ``genai_share`` [1]; with the optional inputs also ``traditional_revenue_m``,
        ``gross_profit_m`` [RMB m] and ``gross_margin`` [1]. Complete years only.
        For quarterly arrays of a batch of draws (B, T) the sums are (B, years).
    """
    act = actual_quarter_values(anchors)
    out: dict[str, np.ndarray] = {"year": layout.years,
                                  "actual_quarters": layout.actual_quarters}
    given = {"genai_revenue_m": genai_revenue_m,
             "traditional_revenue_m": traditional_revenue_m,
             "revenue_m": revenue_m, "gross_profit_m": gross_profit_m}
    for name, values in given.items():
        if values is not None:
            values = np.asarray(values, float)
            v = np.concatenate([np.full((*values.shape[:-1], layout.n_actual), act[name]),
                                values], axis=-1)
            out[name] = np.add.reduceat(v[..., layout.order], layout.starts,
                                        axis=-1)[..., layout.complete]
    with np.errstate(divide="ignore", invalid="ignore"):  # a year without revenue: no share
        out["genai_share"] = out["genai_revenue_m"] / out["revenue_m"]
        if gross_profit_m is not None:
            out["gross_margin"] = out["gross_profit_m"] / out["revenue_m"]
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


def annual_table(revenue: pd.DataFrame, anchors: Anchors) -> pd.DataFrame:
    """Calendar-year revenue, GenAI share and gross margin (complete years only).

    Quarters of the base half-year are taken from the actuals
    (:func:`~capacity.finance.anchors.actual_quarters`), the rest from ``revenue``; a year
    appears only when all four quarters are known
    (:func:`annual_arrays`).

    Returns
    -------
    pandas.DataFrame
        Index ``year``; columns ``actual_quarters`` [quarters], ``genai_revenue_m``,
        ``traditional_revenue_m``, ``revenue_m`` [RMB m], ``genai_share`` [1],
        ``gross_profit_m`` [RMB m], ``gross_margin`` [1].
    """
    col = {c: revenue[c].to_numpy(float) for c in
           ("genai_revenue_m", "traditional_revenue_m", "revenue_m",
            "gross_profit_m")}
    layout = year_layout(quarter_numbers(revenue.index), anchors)
    a = annual_arrays(layout, anchors, col["genai_revenue_m"], col["revenue_m"],
                      col["traditional_revenue_m"], col["gross_profit_m"])
    cols = ["actual_quarters", "genai_revenue_m", "traditional_revenue_m",
            "revenue_m", "genai_share", "gross_profit_m", "gross_margin"]
    return pd.DataFrame({c: a[c] for c in cols}, index=pd.Index(a["year"], name="year"))


def target_check(annual: pd.DataFrame, anchors: Anchors) -> tuple[float | None, bool | None]:
    """GenAI share in the target year and whether it reaches the target.

    Returns
    -------
    tuple
        (share [1], met) where met = share >= target; ``(None, None)`` when the target year is
        not a complete year of the table.
    """
    if anchors.target_year is None or anchors.genai_share_target is None \
            or anchors.target_year not in annual.index:  # no target disclosed, or not modelled
        return None, None
    share = float(annual.at[anchors.target_year, "genai_share"])
    return share, bool(share >= anchors.genai_share_target)


def year_total(qn: np.ndarray, values: np.ndarray, year: int) -> float | None:
    """Sum of ``values`` over the modelled quarters of ``year``; None unless all four are
    modelled. [RMB m]"""
    sel = np.asarray(qn) // 4 == year
    if int(sel.sum()) != 4:
        return None
    return number(np.asarray(values, float)[..., sel].sum(axis=-1))
