"""``capacity comps``: one row per subject (fleet, revenue, compute per revenue, market
multiples, the model's target price and upside, its backtest error) in one stated currency.

Each subject is loaded as its own data folder (:func:`capacity.scenarios.set_subject`) at a
vintage, planned and valued by the same functions as ``capacity value``
(:func:`capacity.run.value_report`); this module only picks figures from those reports and
from the subject's disclosures, and converts money at the subject's dated FX series
(:func:`capacity.subjects.conversion`). The rules (units in brackets)::

    reported flow    = the latest four consecutive quarters the disclosures tile (a fiscal-year
                       row, two halves, quarters), latest end first                   [m]
    fleet stock      = the latest disclosed value by the vintage (none: null)
    market EV        = share price x shares (value's market value) - net cash      [m]
                       (:func:`capacity.finance.comps.enterprise_value`)
    EV/Sales, EV/EBITDA = market EV / sales or EBITDA
                       (:func:`capacity.finance.comps.ev_multiple`)                [x]
    EFLOPS per revenue = EFLOPS / reported revenue                  [EFLOPS per m currency]
    an amount in the stated currency = the amount x the FX factor of its currency  [m]

No company name is in this module: every figure comes from a subject's folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from capacity.errors import InputError
from capacity.results import Report

FLEET_METRICS = {"gpus_units": ("gpus_period", ("gpus_units",)),
                 "computing_power_eflops": ("computing_power_period", ("peak_eflops",)),
                 "power_mw": ("power_period", ("active_power_mw", "connected_power_mw"))}
"""Comps fleet column -> (its period column, the disclosures.csv metrics (stocks,
``span_quarters`` 0) that give it; with several, the latest period wins)."""

REVENUE_METRIC = "revenue_m"
"""disclosures.csv metric of reported revenue [reporting currency m]."""

EBITDA_METRICS = ("ebitda_m", "adjusted_ebitda_m")
"""disclosures.csv metrics of reported EBITDA, first found wins [reporting currency m]."""

BACKTEST_SAMPLES = 20
"""Draws per vintage of the comps' rolling backtest (its intervals are not reported; the
error is of the central path, which the draws do not change)."""

COMPS_COLUMNS = [
    "subject", "title", "as_of", "vintage", "reporting_currency", "listing_currency",
    "gpus_units", "gpus_period", "computing_power_eflops", "computing_power_period",
    "power_mw", "power_period", "model_period", "model_gpus_units", "model_peak_eflops",
    "model_power_mw", "revenue_reported_m", "revenue_reported_period", "next_year",
    "revenue_next_year_m", "eflops_per_revenue_m", "model_eflops_per_revenue_m",
    "ebitda_reported_m", "ebitda_reported_period", "ebitda_next_year_m", "share_price",
    "share_price_date", "shares_m", "market_value_m", "net_cash_m", "market_ev_m",
    "ev_sales_reported", "ev_sales_next_year", "ev_ebitda_reported", "ev_ebitda_next_year",
    "target_price", "valuation_method", "upside", "fx_reporting", "fx_listing",
    "backtest_revenue_mape_h1_pct", "backtest_revenue_n_h1"]
"""Columns of the ``comps`` table, in order (docs/nomenclature.md defines each)."""

FX_COLUMNS = ["subject", "converts", "pair", "rate", "date", "published", "source"]
"""Columns of the ``fx`` table: one row per dated rate a conversion uses."""


def trailing_flow(disclosures: pd.DataFrame, metric: str) -> dict[str, Any] | None:
    """A flow over the latest four consecutive quarters the disclosures report.

    From the latest period end backward, the quarters are tiled by the rows ending there
    (the longest span that fits first: a fiscal year, a half, a quarter); the first end whose
    four quarters tile wins.

    Returns
    -------
    dict or None
        ``value`` [the metric's unit], ``period`` (the last quarter, ``2025Q4``), ``published``
        (the latest publication date of the rows used); None when no four quarters tile.
    """
    d = disclosures[(disclosures["metric"] == metric)
                    & disclosures["span_quarters"].isin([1, 2, 4])]
    if d.empty:
        return None
    d = d.assign(q=[pd.Period(str(p), freq="Q") for p in d["period"]])
    d = d.sort_values("published", kind="stable").drop_duplicates(["q", "span_quarters"],
                                                                 keep="last")
    rows = {(r.q, int(r.span_quarters)): r for r in d.itertuples()}
    for end in sorted(set(d["q"]), reverse=True):
        at, left, used = end, 4, []
        while left > 0:
            span = next((s for s in (4, 2, 1) if s <= left and (at, s) in rows), None)
            if span is None:
                break
            used.append(rows[(at, span)])
            at, left = at - span, left - span
        if left == 0:
            return {"value": float(sum(r.value for r in used)), "period": str(end),
                    "published": max(str(r.published) for r in used)}
    return None


def latest_stock(disclosures: pd.DataFrame, metrics: tuple[str, ...]
                 ) -> tuple[float, str] | tuple[None, None]:
    """(value, period) of the latest disclosed stock among ``metrics`` (``span_quarters``
    0; the latest published row of the latest period), or (None, None)."""
    d = disclosures[disclosures["metric"].isin(metrics) & (disclosures["span_quarters"] == 0)]
    if d.empty:
        return None, None
    d = d.assign(q=[pd.Period(str(p), freq="Q") for p in d["period"]])
    row = d.sort_values(["q", "published"], kind="stable").iloc[-1]
    return float(row["value"]), str(row["q"])


def per_revenue(eflops: float | None, revenue_m: float | None) -> float | None:
    """Compute per unit of revenue: EFLOPS / revenue [EFLOPS per m of the currency]; None when
    either is unknown or revenue is not above 0."""
    if eflops is None or revenue_m is None or revenue_m <= 0:
        return None
    return eflops / revenue_m


def _year_value(table: pd.DataFrame, year: int, column: str) -> float | None:
    t = table.set_index("year") if "year" in table.columns else table
    if year not in t.index or column not in t.columns or pd.isna(t.at[year, column]):
        return None
    return float(t.at[year, column])


def _times(x: float | None, factor: float) -> float | None:
    return None if x is None else x * factor


def _mape_h1(report: Report) -> tuple[float | None, int | None]:
    s = report.tables["summary"]
    hit = s[(s["metric"] == REVENUE_METRIC) & (s["horizon_halves"] == 1)]
    if hit.empty or pd.isna(hit["mape"].iloc[0]):
        return None, None
    return float(hit["mape"].iloc[0]), int(hit["n_compared"].iloc[0])


def resolve_subjects(names: list[str] | None) -> list[str | Path]:
    """The subjects to compare: ``names`` (shipped names or folders, checked), else every
    shipped subject."""
    from capacity.scenarios.files import shipped_subjects, subject_folder_checked

    if not names:
        return list(shipped_subjects())
    for n in names:
        subject_folder_checked(n, "--subject")
    return list(names)


def _vintage(asked: dt.date | None) -> tuple[dt.date, dt.date]:
    """(as_of, vintage) of the current subject: the asked date checked against its vintages,
    else its latest vintage on or before today."""
    from capacity.scenarios import vintage_dates
    from capacity.scenarios.tables import read_disclosures
    from capacity.scenarios.vintages import check_as_of, check_vintages

    dates = vintage_dates()
    if asked is not None:
        check_as_of(asked, check_vintages(read_disclosures()), "--as-of")
        return asked, max(d for d in dates if d <= asked)
    today = dt.date.today()
    known = [d for d in dates if d <= today] or dates[:1]
    return max(known), max(known)


def comps_report(subjects: list[str] | None = None, as_of: dt.date | None = None,
                 currency: str = "USD", backtest: bool = True, solver: str = "highs",
                 samples: int = BACKTEST_SAMPLES,
                 progress: Callable[[int, int, str], None] | None = None) -> Report:
    """``capacity comps``: the rows of the module docstring, one per subject.

    Parameters
    ----------
    subjects
        Shipped subject names or folders (default: every shipped subject).
    as_of
        The date of every row (each subject's vintage on or before it); default: each
        subject's latest vintage on or before today.
    currency
        Currency code every amount is converted to.
    backtest
        Run each subject's rolling backtest for its revenue error (a few seconds a subject).
    samples
        Draws per vintage of that backtest.
    progress
        ``progress(done, total, text)`` as subjects finish their steps.

    Raises
    ------
    InputError
        An unknown subject, a date outside a subject's vintages, a currency that is not a code
        or that a subject's FX series cannot reach: one line, before any solving.
    """
    from capacity.scenarios import set_subject
    from capacity.subjects import CURRENCY_CODE, conversion, read_subject

    code = currency.strip().upper()
    if not CURRENCY_CODE.fullmatch(code):
        raise InputError("--currency", f"{currency!r} is not a currency code (three letters, "
                         "like USD)")
    names = resolve_subjects(subjects)
    checked = []
    try:
        for name in names:  # every input checked before any solve
            set_subject(name)
            s = read_subject()
            try:
                when, vintage = _vintage(as_of)
            except InputError as exc:  # name the subject whose vintages refuse the date
                raise InputError(exc.field, f"{s.name}: {exc.problem}") from None
            fx = {part: conversion(s, getattr(s.currency, part), code, when)
                  for part in ("reporting", "listing")}
            checked.append((name, s, when, vintage, fx))
        rows, fx_rows = [], []
        steps = len(checked) * (2 if backtest else 1)
        done = 0
        for name, s, when, vintage, fx in checked:
            set_subject(name)
            if progress:
                progress(done, steps, f"{s.name}: plan and value")
            row = _row(s, when, vintage, fx, solver)
            done += 1
            if backtest:
                if progress:
                    progress(done, steps, f"{s.name}: rolling backtest")
                from capacity.commands import rolling_backtest_report

                row["backtest_revenue_mape_h1_pct"], row["backtest_revenue_n_h1"] = _mape_h1(
                    rolling_backtest_report(None, solver, None, samples))
                done += 1
            rows.append(row)
            for part, (_, used) in fx.items():
                cur = getattr(s.currency, part)
                fx_rows += [{"subject": s.name, "converts": f"{part} {cur} -> {code}",
                             "pair": r.pair, "rate": r.rate, "date": r.date.isoformat(),
                             "published": r.published.isoformat() if r.published else None,
                             "source": r.source} for r in used]
        if progress:
            progress(steps, steps, "done")
    finally:
        set_subject(None)
    table = pd.DataFrame(rows, columns=COMPS_COLUMNS)
    return Report(
        "comps",
        scalars={"currency": code, "as_of": as_of.isoformat() if as_of else None,
                 "n_subjects": len(rows), "backtest": backtest,
                 "backtest_samples": samples if backtest else None},
        tables={"comps": table, "fx": pd.DataFrame(fx_rows, columns=FX_COLUMNS)},
        primary="comps",
        titles={"comps": f"Comps in {code}: fleet, revenue, market multiples, the model's "
                         "target price and upside",
                "fx": "Dated FX rates used (rate: units of the pair's first currency per one "
                      "of its second)"})


def _row(s, when: dt.date, vintage: dt.date, fx: dict, solver: str) -> dict[str, Any]:
    """One subject's comps row (the current subject, loaded at ``when``)."""
    from capacity.finance import comps as fcomps
    from capacity.planner import plan
    from capacity.run import value_report
    from capacity.scenarios import load_scenario

    sc = load_scenario(None, as_of=when)
    result = plan(sc, solver=solver)
    v = value_report(sc, solver=solver, plan_result=result)
    k = v.scalars
    f_rep, f_lst = fx["reporting"][0], fx["listing"][0]
    disc = sc.disclosures
    row: dict[str, Any] = {"subject": s.name, "title": s.title, "as_of": when.isoformat(),
                           "vintage": vintage.isoformat(),
                           "reporting_currency": s.currency.reporting,
                           "listing_currency": s.currency.listing,
                           "fx_reporting": f_rep, "fx_listing": f_lst}
    for col, (period_col, metrics) in FLEET_METRICS.items():
        row[col], row[period_col] = latest_stock(disc, metrics)
    q = result.quarters.iloc[0]
    row.update({"model_period": str(result.quarters.index[0]),
                "model_gpus_units": float(q["gpus_units"]),
                "model_peak_eflops": float(q["peak_eflops"]),
                "model_power_mw": float(q["power_mw"])})
    rev = trailing_flow(disc, REVENUE_METRIC)
    ebitda = next((e for e in (trailing_flow(disc, m) for m in EBITDA_METRICS) if e), None)
    year = when.year + 1
    revenue_m = _times(rev and rev["value"], f_rep)
    row.update({
        "revenue_reported_m": revenue_m, "revenue_reported_period": rev and rev["period"],
        "next_year": year,
        "revenue_next_year_m": _times(_year_value(v.tables["annual"], year, "revenue_m"),
                                      f_rep),
        "eflops_per_revenue_m": per_revenue(row["computing_power_eflops"], revenue_m),
        "model_eflops_per_revenue_m": per_revenue(row["model_peak_eflops"], revenue_m),
        "ebitda_reported_m": _times(ebitda and ebitda["value"], f_rep),
        "ebitda_reported_period": ebitda and ebitda["period"],
        "ebitda_next_year_m": _times(_year_value(v.tables["pnl"], year, "ebitda_m"),
                                     f_rep)})
    mv = _times(k.get("market_value_m"), f_lst)
    net_cash = float(k["net_cash_m"]) * f_rep
    ev = None if mv is None else fcomps.enterprise_value(mv, net_cash)
    row.update({
        "share_price": _times(k.get("share_price"), f_lst),
        "share_price_date": k.get("share_price_date"), "shares_m": float(k["shares_m"]),
        "market_value_m": mv, "net_cash_m": net_cash, "market_ev_m": ev,
        "ev_sales_reported": fcomps.ev_multiple(ev, row["revenue_reported_m"]),
        "ev_sales_next_year": fcomps.ev_multiple(ev, row["revenue_next_year_m"]),
        "ev_ebitda_reported": fcomps.ev_multiple(ev, row["ebitda_reported_m"]),
        "ev_ebitda_next_year": fcomps.ev_multiple(ev, row["ebitda_next_year_m"]),
        "target_price": _times(k.get("target_price"), f_lst),
        "valuation_method": k.get("valuation_method"), "upside": k.get("upside"),
        "backtest_revenue_mape_h1_pct": None, "backtest_revenue_n_h1": None})
    return row
