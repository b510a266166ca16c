"""The street beside the model: every broker or consensus figure known at the vintage, the
model's figure for the same metric and year, and a driver bridge of the profit gap.

Pure functions; no files. Equations (units in brackets; mod the model, s one street source)::

    difference       = model - street                                       [metric's unit]
    profit           = -adjusted_net_loss, else ebitda (the first both sides give)  [RMB m]
    gap              = profit_mod - profit_s                                          [RMB m]
    gm               = gross_profit / revenue (street: the model's gm where the source gives
                       no gross profit)                                                [1]
    revenue_effect   = (revenue_mod - revenue_s) * gm_s    volume x price            [RMB m]
    margin_effect    = (gm_mod - gm_s) * revenue_mod                                   [RMB m]
    opex_effect      = opex_s - opex_mod  (0 where the source gives no opex)         [RMB m]
    other_effect     = gap - revenue_effect - margin_effect - opex_effect           [RMB m]
"""

from __future__ import annotations

import math

import pandas as pd

STREET_MODEL_COLUMNS = ("revenue_m", "gross_profit_m", "ebitda_m", "opex_m",
                        "adjusted_net_loss_m")
"""Street metrics the model reports per calendar year (columns of its year table)."""


def model_figure(model_years: pd.DataFrame, metric: str, year: float,
                 target_price: float) -> float:
    """The model's figure for a street row: its year-table value, or the headline target
    price for ``target_price`` [HKD/share]; NaN where the model has none."""
    if metric == "target_price":
        return float(target_price)
    if metric not in model_years.columns or math.isnan(year) or int(year) not in \
            model_years.index:
        return math.nan
    return float(model_years.at[int(year), metric])


def year_or_none(year: float) -> int | None:
    """A calendar year read from a column with blanks: the int, or None for a blank."""
    return None if year is None or math.isnan(float(year)) else int(year)


def street_table(street: pd.DataFrame, model_years: pd.DataFrame, target_price: float
                 ) -> pd.DataFrame:
    """Every street figure (already those dated on or before the vintage) beside the model's.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``source``, ``metric``, ``year``, ``value``, ``model``, ``difference``
        (model - street, in the metric's unit).
    """
    rows = []
    for rec in street.to_dict("records"):
        model = model_figure(model_years, rec["metric"], rec["year"], target_price)
        rows.append({"date": rec["published"], "source": rec["source"],
                     "metric": rec["metric"], "year": year_or_none(rec["year"]),
                     "value": rec["value"],
                     "model": model, "difference": model - rec["value"]})
    out = pd.DataFrame(rows, columns=["date", "source", "metric", "year", "value", "model",
                                      "difference"])
    out["year"] = pd.array([r["year"] for r in rows], dtype="Int64")
    return out


def _profit_metric(street: dict[str, float], model: dict[str, float]) -> str:
    """The first of adjusted net loss and EBITDA that both sides give (or "")."""
    for metric in ("adjusted_net_loss_m", "ebitda_m"):
        if not math.isnan(street.get(metric, math.nan)) and \
                not math.isnan(model.get(metric, math.nan)):
            return metric
    return ""


def _profit(figures: dict[str, float], metric: str) -> float:
    """Profit in a metric's terms: a loss is negated. [RMB m]"""
    return -figures[metric] if metric == "adjusted_net_loss_m" else figures[metric]


def street_bridge(street: pd.DataFrame, model_years: pd.DataFrame) -> pd.DataFrame:
    """The driver bridge of the profit gap per street source and year (module docstring).

    Only (source, year) pairs with a revenue and a profit figure on both sides get a row.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``source``, ``year``, ``profit_metric``, ``profit_gap_m``,
        ``revenue_effect_m`` (volume x price: the street gives no volume to split it),
        ``margin_effect_m``, ``opex_effect_m``, ``other_effect_m`` [RMB m].
    """
    cols = ["date", "source", "year", "profit_metric", "profit_gap_m",
            "revenue_effect_m", "margin_effect_m", "opex_effect_m",
            "other_effect_m"]
    rows = []
    dated = street.loc[~street["year"].astype(float).isna()]
    for (date, source, year), group in dated.groupby(["published", "source", "year"],
                                                     sort=True):
        s = dict(zip(group["metric"], group["value"].astype(float), strict=True))
        y = int(year)
        if y not in model_years.index or math.isnan(s.get("revenue_m", math.nan)):
            continue
        m = {c: float(model_years.at[y, c]) for c in STREET_MODEL_COLUMNS
             if c in model_years.columns}
        metric = _profit_metric(s, m)
        if not metric:
            continue
        profit_s, profit_m = _profit(s, metric), _profit(m, metric)
        gm_m = m["gross_profit_m"] / m["revenue_m"]
        gm_s = (s["gross_profit_m"] / s["revenue_m"] if "gross_profit_m" in s
                else gm_m)
        revenue = (m["revenue_m"] - s["revenue_m"]) * gm_s
        margin = (gm_m - gm_s) * m["revenue_m"]
        opex = s["opex_m"] - m["opex_m"] if "opex_m" in s and "opex_m" in m \
            else 0.0
        gap = profit_m - profit_s
        rows.append({"date": date, "source": source, "year": y, "profit_metric": metric,
                     "profit_gap_m": gap, "revenue_effect_m": revenue,
                     "margin_effect_m": margin, "opex_effect_m": opex,
                     "other_effect_m": gap - revenue - margin - opex})
    return pd.DataFrame(rows, columns=cols)
