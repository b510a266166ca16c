"""Multiples and market value from the dated comps and share-price tables.

Pure functions of tables read by :func:`capacity.scenarios.market.read_market`; no files. The
rules (units in brackets)::

    EV/Sales multiple at a vintage v: finance.ev_sales_multiple when the scenario sets it
        itself; else the basis multiple of the latest broker target on EV/Sales published
        on or before v (several on that date: their median); none: the baseline's
        finance.ev_sales_multiple (the note's)                                          [1]
    share price at v: the latest dated price on or before v                      [HKD/share]
    market value  = price * shares                                                [HKD m]
    upside        = TP / price - 1                                                    [1]
    market EV     = market value - net cash                      [m, one currency for both]
    EV multiple   = market EV / base (sales or EBITDA; none when the base is not > 0)   [x]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

MULTIPLE_RULE = ("finance.ev_sales_multiple when a scenario file or --set sets it; else the "
                 "latest broker target on EV/Sales published on or before the vintage (median "
                 "of those on its date); else finance.ev_sales_multiple (the note's)")
"""The stated rule :func:`ev_sales_multiple` applies, as reported beside the multiple."""


@dataclass(frozen=True)
class Quote:
    """One dated figure with its source.

    Attributes
    ----------
    value
        The figure (a multiple [1] or a price [HKD/share]).
    source_date
        Publication date (ISO text).
    source
        Where it is from.
    """

    value: float
    source_date: str
    source: str


def on_or_before(table: pd.DataFrame, as_of: dt.date, column: str) -> pd.DataFrame:
    """Rows of a dated table whose ``column`` (ISO date text) is on or before ``as_of``."""
    if table.empty:
        return table
    keep = np.array([dt.date.fromisoformat(p) <= as_of for p in table[column]], bool)
    return table.loc[keep]


def ev_sales_multiple(comps: pd.DataFrame, as_of: dt.date, fallback: Quote) -> Quote:
    """The EV/Sales multiple for a vintage by :data:`MULTIPLE_RULE`.

    Parameters
    ----------
    comps
        The comps table (``published``, ``kind``, ``metric``, ``multiple``, ``source``).
    as_of
        The vintage date.
    fallback
        The scenario's multiple [1] and its source, used when no broker target on EV/Sales is
        dated on or before the vintage.

    Returns
    -------
    Quote
        The multiple [1], its publication date and source.
    """
    rows = on_or_before(comps, as_of, "published")
    if not rows.empty:
        rows = rows[(rows["kind"] == "broker_target") & (rows["metric"] == "ev_sales")
                    & np.isfinite(rows["multiple"].to_numpy(float))]
    if rows.empty:
        return fallback
    last = max(rows["published"])
    same = rows[rows["published"] == last]
    return Quote(float(np.median(same["multiple"].to_numpy(float))), last,
                 "; ".join(same["source"]))


def share_price(prices: pd.DataFrame, as_of: dt.date) -> Quote | None:
    """The latest share price dated on or before the vintage [HKD/share], or None."""
    rows = on_or_before(prices, as_of, "date")
    if rows.empty:
        return None
    row = rows.loc[rows["date"] == max(rows["date"])].iloc[-1]
    return Quote(float(row["price"]), str(row["date"]), str(row["source"]))


def market_value(price: Quote | None, shares_m: float, target_price: float
                 ) -> dict[str, float | str]:
    """Market value and upside of a target price at the vintage's share price.

    market_value = price * shares [HKD m];  upside = TP / price - 1 [1]

    Returns
    -------
    dict
        ``share_price``, ``share_price_date``, ``market_value_m``, ``upside``; empty
        when no share price is dated on or before the vintage.
    """
    if price is None:
        return {}
    return {"share_price": price.value, "share_price_date": price.source_date,
            "market_value_m": price.value * shares_m,
            "upside": target_price / price.value - 1.0}


def enterprise_value(market_value_m: float, net_cash_m: float) -> float:
    """The market's EV: market value less net cash (net debt adds). [m, the currency of both]"""
    return market_value_m - net_cash_m


def ev_multiple(ev_m: float | None, base_m: float | None) -> float | None:
    """EV over a base (sales or EBITDA) [x]; None when either is unknown or the base is not
    above 0 (a multiple of a loss has no meaning)."""
    if ev_m is None or base_m is None or not np.isfinite(base_m) or base_m <= 0:
        return None
    return ev_m / base_m


def market_input_rows(multiple: Quote, price: Quote | None) -> list[dict[str, object]]:
    """Rows ``ev_sales_multiple`` and ``share_price`` for the ``inputs`` table
    (``name``, ``value``, ``unit``, ``source_date``, ``source``); no share-price row when no
    price is dated on or before the vintage."""
    rows: list[dict[str, object]] = [
        {"name": "ev_sales_multiple", "value": multiple.value, "unit": "x",
         "source_date": multiple.source_date, "source": multiple.source}]
    if price is not None:
        rows.append({"name": "share_price", "value": price.value, "unit": "HKD/share",
                     "source_date": price.source_date, "source": price.source})
    return rows


def market_quotes(market: dict[str, pd.DataFrame], as_of: dt.date, fallback: Quote
                  ) -> tuple[Quote, Quote | None]:
    """(EV/Sales multiple by :data:`MULTIPLE_RULE`, share price) at a vintage from the tables
    of :func:`capacity.scenarios.market.read_market`."""
    return (ev_sales_multiple(market["comps"], as_of, fallback),
            share_price(market["share_prices"], as_of))
