"""The disclosed anchors of the finance link: the base half-year (1H23) and the note's figures.

Pure functions of the disclosures table; no files, no printing. Each quarter of the base
half-year carries half of it (units in brackets; R, s, GM the half-year's revenue, GenAI share
and gross margin)::

    genai        = s * R / 2                                                          [RMB m]
    traditional  = (1 - s) * R / 2                                                    [RMB m]
    total        = R / 2                                                              [RMB m]
    gross_profit = GM * R / 2                                                         [RMB m]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from capacity.errors import InputError
from capacity.finance.accounts import (
    AccountDrivers,
    account_drivers,
    history_quarters,
    reported_halves,
)
from capacity.finance.interest import reported_interest


@dataclass(frozen=True)
class Anchors:
    """Company disclosures and the note's figures the finance link is anchored on.

    Attributes
    ----------
    base_period
        Last quarter of the base half-year (2023Q2).
    base_half_revenue_m
        Total revenue of the base half-year (1H23). [RMB m]
    base_genai_share
        GenAI share of that revenue. [1]
    base_gross_margin
        Group gross margin of that half-year. [1]
    genai_share_target
        Management's GenAI share target (None: not disclosed, an optional part). [1]
    target_year
        Year of that target (None without one). [year]
    target_price
        The note's new target price (None: no broker target, an optional part). [HKD/share]
    target_price_old
        The note's previous target price (None without one). [HKD/share]
    drivers
        Run-rates from the reported accounts
        (:func:`~capacity.finance.accounts.account_drivers`).
    history
        The base half-year as reported quarters
        (:func:`~capacity.finance.accounts.history_quarters`), or None.
    """

    base_period: pd.Period
    base_half_revenue_m: float
    base_genai_share: float
    base_gross_margin: float
    genai_share_target: float | None
    target_year: int | None
    target_price: float | None
    target_price_old: float | None
    drivers: AccountDrivers = field(default_factory=AccountDrivers, compare=False)
    history: pd.DataFrame | None = field(default=None, compare=False, repr=False)


def _one(disclosures: pd.DataFrame, metric: str, span: int | None = None) -> pd.Series:
    sel = disclosures[disclosures["metric"] == metric]
    if span is not None:
        sel = sel[sel["span_quarters"] == span]
    if sel.empty:
        what = f" over {span} quarters" if span is not None else ""
        raise InputError("disclosures.csv", f"missing metric {metric!r}{what} (needed by finance)")
    return sel.sort_values("period").iloc[-1]


OPTIONAL_METRICS = ("genai_share_target", "target_price", "target_price_old")
"""Disclosures a subject may lack: each absent one switches its outputs off (null)."""


def _value_or_none(disclosures: pd.DataFrame, metric: str) -> pd.Series | None:
    """The latest row of an optional metric (:data:`OPTIONAL_METRICS`), None when absent."""
    sel = disclosures[disclosures["metric"] == metric]
    return None if sel.empty else sel.sort_values("period").iloc[-1]


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
    rev = _one(disclosures, "revenue_m", 2)
    share = _one(disclosures, "genai_share", 2)
    gm = _one(disclosures, "gross_margin", 2)
    if not (rev["period"] == share["period"] == gm["period"]):
        raise InputError("disclosures.csv", "half-year revenue_m, genai_share and "
                         "gross_margin must be for the same period")
    target, tp, tp_old = (_value_or_none(disclosures, m) for m in OPTIONAL_METRICS)
    base = pd.Period(rev["period"], freq="Q")
    s = float(share["value"])
    if not 0.0 < s <= 1.0:  # 1: no second (traditional) segment, an optional part
        raise InputError("disclosures.csv", f"genai_share {s} must be above 0 and at most 1")
    return Anchors(
        base_period=base,
        base_half_revenue_m=float(rev["value"]),
        base_genai_share=s,
        base_gross_margin=float(gm["value"]),
        genai_share_target=None if target is None else float(target["value"]),
        target_year=None if target is None else int(pd.Period(target["period"], freq="Q").year),
        target_price=None if tp is None else float(tp["value"]),
        target_price_old=None if tp_old is None else float(tp_old["value"]),
        drivers=account_drivers(disclosures, base),
        history=history_quarters(reported_halves(disclosures), base,
                                 reported_interest(disclosures)["value"]),
    )


def actual_quarter_values(anchors: Anchors) -> dict[str, float]:
    """Each quarter of the base half-year: genai = s R / 2, traditional = (1 - s) R / 2,
    total = R / 2, gross_profit = GM R / 2. [RMB m]"""
    half = anchors.base_half_revenue_m / 2.0
    s = anchors.base_genai_share
    return {"genai_revenue_m": s * half, "traditional_revenue_m": (1.0 - s) * half,
            "revenue_m": half,
            "gross_profit_m": anchors.base_gross_margin * half}


def actual_quarters(anchors: Anchors) -> pd.DataFrame:
    """The base half-year's actuals as two equal quarters (for calendar-year totals).

    genai = s * R / 2, traditional = (1 - s) * R / 2, gross_profit = GM * R / 2 per quarter
    (:func:`actual_quarter_values`).
    """
    periods = pd.period_range(anchors.base_period - 1, anchors.base_period, freq="Q",
                              name="period")
    return pd.DataFrame(actual_quarter_values(anchors), index=periods)
