"""The subject's market tables: comps (broker targets and their bases, market multiples), share
prices, street estimates and the street's reported misses, each row with its source and
publication date; read and validated.

A missing file is an empty table (the subject has no such data: the outputs built on it switch
off). Rows are kept whatever their date; the valuation keeps those dated on or before the
vintage (:func:`capacity.finance.comps.on_or_before`).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import pandas as pd

from capacity.errors import InputError
from capacity.scenarios.files import data_dir, read_csv
from capacity.schemas import date_from_text, number_from_text

COMPS_COLUMNS = ("published", "source", "kind", "company", "metric", "basis_year", "multiple",
                 "target_price")
"""Required columns of ``comps.csv``; ``multiple`` [1] and ``target_price`` [HKD/share]
may be empty, ``basis_year`` is the forecast year a multiple applies to."""
COMPS_KINDS = ("broker_target", "consensus_target", "subject_market", "peer")
"""What a comps row is: a broker's target and its basis, a consensus target, the subject's own
market multiple, or a peer's market multiple."""
PRICE_COLUMNS = ("date", "price", "source")
"""Required columns of ``share_prices.csv``: ``price`` [HKD/share]."""
STREET_COLUMNS = ("published", "source", "metric", "year", "value")
"""Required columns of ``street.csv``: one broker or consensus figure a row."""
STREET_MISS_COLUMNS = ("published", "source", "metric", "period", "forecaster", "miss_pct",
                       "horizon_halves")
"""Required columns of ``street_misses.csv``: a forecaster's miss on a reported figure, as
the source states it when the figure comes out: ``miss_pct`` = 100 (actual / estimate - 1)
[%] (-23: the actual came in 23% below the estimate), ``horizon_halves`` = half-years from the
last reported period the estimate could rest on to the end of ``period`` [half-years, >= 1]."""
_NUMBERS = {"comps.csv": ("multiple", "target_price", "basis_year"),
            "share_prices.csv": ("price",), "street.csv": ("value", "year"),
            "street_misses.csv": ("miss_pct", "horizon_halves")}
_DATES = {"comps.csv": "published", "share_prices.csv": "date", "street.csv": "published",
          "street_misses.csv": "published"}
_REQUIRED = {"comps.csv": COMPS_COLUMNS, "share_prices.csv": PRICE_COLUMNS,
             "street.csv": STREET_COLUMNS, "street_misses.csv": STREET_MISS_COLUMNS}
_MAY_BE_EMPTY = {"multiple", "target_price", "basis_year", "year", "company", "metric"}


def _table(name: str, folder: Path) -> pd.DataFrame:
    path = folder / name
    cols = _REQUIRED[name]
    if not path.is_file():
        return pd.DataFrame(columns=list(cols))
    df = read_csv(path)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(path.name, f"missing columns {missing}")
    out = df.copy()
    for i, rec in enumerate(df.to_dict("records")):
        at = f"{path.name} line {i + 2}"
        for col in cols:
            if col not in _MAY_BE_EMPTY and not str(rec[col]).strip():
                raise InputError(f"{at} {col}", "empty cell in a required column")
        try:
            date_from_text(str(rec[_DATES[name]]).strip())
        except ValueError as exc:
            raise InputError(f"{at} {_DATES[name]}", str(exc)) from None
        if name == "street_misses.csv" and not str(rec["metric"]).strip():
            raise InputError(f"{at} metric", "empty cell in a required column")
        if name == "comps.csv" and rec["kind"].strip() not in COMPS_KINDS:
            raise InputError(f"{at} kind", f"{rec['kind']!r} is not one of "
                             f"{', '.join(COMPS_KINDS)}")
        for col in _NUMBERS[name]:
            text = str(rec[col]).strip()
            if not text:
                continue
            try:
                value = float(number_from_text(text))
            except ValueError as exc:
                raise InputError(f"{at} {col}", str(exc)) from None
            if col in ("multiple", "price", "target_price") and not value > 0:
                raise InputError(f"{at} {col}", f"{text} must be above 0")
            if col == "miss_pct" and not value > -100:
                raise InputError(f"{at} {col}", f"{text} must be above -100 (an actual "
                                 "below zero is not a miss in percent)")
            if col == "horizon_halves" and not (value >= 1 and value == int(value)):
                raise InputError(f"{at} {col}", f"{text} must be a whole number of "
                                 "half-years, at least 1")
    for col in _NUMBERS[name]:
        out[col] = [float(number_from_text(t)) if str(t).strip() else math.nan for t in df[col]]
    date_col = _DATES[name]
    out[date_col] = [str(t).strip() for t in df[date_col]]
    return out


@cache
def _market(folder: str) -> dict[str, pd.DataFrame]:
    return {name: _table(name, Path(folder)) for name in _REQUIRED}


def read_market(folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """The subject's ``comps``, ``share_prices``, ``street`` and ``street_misses`` tables
    (validated; copies).

    Returns
    -------
    dict
        ``comps`` (:data:`COMPS_COLUMNS` and any others), ``share_prices``
        (:data:`PRICE_COLUMNS`), ``street`` (:data:`STREET_COLUMNS`), ``street_misses``
        (:data:`STREET_MISS_COLUMNS`); dates as ISO text.
    """
    tables = _market(str(folder or data_dir()))
    return {"comps": tables["comps.csv"].copy(), "share_prices": tables["share_prices.csv"].copy(),
            "street": tables["street.csv"].copy(),
            "street_misses": tables["street_misses.csv"].copy()}

