"""The KPI list, as data: every KPI's name, unit, what it is read per, and its definition.

``compare`` reports :data:`COMPARE_KPIS`, ``stress`` draws :data:`STRESS_KPIS` and ``plan`` its
horizon totals (:data:`PLAN_TOTALS`), each a selection of :data:`KPIS` in its own order; the
names, units and definitions exist here only. A KPI read per quarter or year is named
``<name>_<quarter>`` / ``<name>_<year>`` (:func:`expand`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Kpi:
    """One KPI.

    Attributes
    ----------
    name
        Its name (before any quarter or year).
    unit
        Its unit (``""`` for text).
    per
        ``quarter`` (read at each KPI quarter), ``year`` (each KPI year) or ``horizon``.
    definition
        What it is, in a line.
    column
        Where it is read: for a horizon total the plan ``quarters`` column it sums
        (:func:`horizon_totals`), for a year KPI the value report's ``annual`` column.
    text
        Whether its value is text (kept out of numeric tables).
    """

    name: str
    unit: str
    per: str
    definition: str
    column: str = ""
    text: bool = False


KPIS: tuple[Kpi, ...] = (
    Kpi("peak_eflops", "EFLOPS", "quarter", "installed dense FP16 peak at the end of q"),
    Kpi("effective_eflops", "EFLOPS", "quarter",
        "peak x per-chip efficiency (what serves demand) at the end of q"),
    Kpi("gpus_units", "units", "quarter", "installed accelerators at the end of q"),
    Kpi("cumulative_capex_m", "RMB m", "quarter",
        "planned capex, first planned quarter..q"),
    Kpi("total_capex_m", "RMB m", "horizon", "planned capex over the horizon",
        "capex_m"),
    Kpi("npv_m", "RMB m", "horizon", "the plan's NPV at the first planned quarter"),
    Kpi("total_served_revenue_m", "RMB m", "horizon",
        "revenue of the work served (tokens + leasing)", "served_revenue_m"),
    Kpi("total_inference_served_tn_tokens", "tn tokens", "horizon",
        "tokens served over the horizon", "inference_served_tn_tokens"),
    Kpi("total_served_compute_eflops_quarters", "EFLOPS-quarters", "horizon",
        "compute put to work over the horizon: training + leasing + inference served",
        "served_compute_eflops"),
    Kpi("total_rented_eflops_quarters", "EFLOPS-quarters", "horizon",
        "rented training compute over the horizon", "rented_eflops"),
    Kpi("total_shortfall_eflops_quarters", "EFLOPS-quarters", "horizon",
        "unmet training + leasing (effective EFLOPS)", "shortfall_eflops"),
    Kpi("shortfall_quarters", "quarters", "horizon", "quarters with unmet demand (> 1e-6 EFLOPS)"),
    Kpi("binding_limits", "count", "horizon", "binding limits with a non-zero shadow price"),
    Kpi("most_valuable_limits", "", "horizon",
        "up to three limits with the largest shadow price", text=True),
    Kpi("genai_revenue_m", "RMB m", "year", "GenAI revenue in calendar year y",
        "genai_revenue_m"),
    Kpi("genai_share", "share", "year", "GenAI revenue / total revenue in year y",
        "genai_share"),
    Kpi("total_revenue_m", "RMB m", "year", "total revenue in year y", "revenue_m"),
    Kpi("target_price", "HKD", "horizon",
        "headline target price per share (valuation_method: the fleet DCF)"),
    Kpi("target_price_ev_sales", "HKD", "horizon", "EV/Sales target price per share"),
    Kpi("target_price_dcf", "HKD", "horizon", "DCF target price per share"),
)
"""Every KPI, in ``compare``'s order."""

BY_NAME: dict[str, Kpi] = {k.name: k for k in KPIS}

COMPARE_KPIS: tuple[str, ...] = tuple(k.name for k in KPIS)
"""What ``capacity compare`` reports, in order."""

STRESS_KPIS: tuple[str, ...] = (
    "peak_eflops", "effective_eflops", "npv_m", "total_shortfall_eflops_quarters",
    "total_capex_m", "genai_revenue_m", "genai_share", "target_price",
    "target_price_ev_sales", "target_price_dcf")
"""What ``capacity stress`` draws, in order."""

PLAN_TOTALS: tuple[str, ...] = (
    "total_capex_m", "total_shortfall_eflops_quarters", "total_served_revenue_m",
    "total_inference_served_tn_tokens", "total_served_compute_eflops_quarters",
    "total_rented_eflops_quarters")
"""The horizon totals ``capacity plan`` reports as scalars, in order."""

EXPLORER_KPIS: tuple[str, ...] = ("total_capex_m", "total_shortfall_eflops_quarters")
"""The plan KPIs ``capacity serve`` shows as cards beside the target prices, in order."""

TEXT_KPIS: tuple[str, ...] = tuple(k.name for k in KPIS if k.text)
"""KPIs whose values are text."""


def expand(names: tuple[str, ...], quarters: tuple[str, ...], years: tuple[int, ...]
           ) -> list[tuple[str, str, Kpi, str | int | None]]:
    """The KPIs ``names`` read at ``quarters`` and ``years``, in order.

    Returns
    -------
    list
        ``(kpi name, unit, Kpi, quarter or year or None)``: ``peak_eflops_2025Q4``,
        ``genai_share_2025``, ``npv_m``.
    """
    out: list[tuple[str, str, Kpi, str | int | None]] = []
    for n in names:
        k = BY_NAME[n]
        at: tuple = quarters if k.per == "quarter" else years if k.per == "year" else (None,)
        out += [(n if p is None else f"{n}_{p}", k.unit, k, p) for p in at]
    return out


HORIZON_TOTALS: dict[str, tuple[str, str]] = {
    n: (BY_NAME[n].column, BY_NAME[n].unit) for n in PLAN_TOTALS}
"""Horizon total -> (the ``quarters`` column it sums, its unit) (:func:`horizon_totals`)."""


def horizon_totals(quarters: pd.DataFrame) -> dict[str, float]:
    """Each flow of the plan's ``quarters`` summed over the horizon (:data:`HORIZON_TOTALS`).

        total_x = sum_t x[t]    [RMB m for a flow in RMB m; EFLOPS-quarters for one in EFLOPS]
    """
    return {name: float(quarters[col].sum()) for name, (col, _) in HORIZON_TOTALS.items()}


def horizon_total(per_period: np.ndarray) -> np.ndarray:
    """A flow summed over the horizon (the last axis), one value per draw for a batch.

        total = sum_t x[t]
    """
    return np.asarray(per_period, float).sum(axis=-1)
