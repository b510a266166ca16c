"""Dated inputs of the finance link: every number the valuation reads, with the date it stands
at and its source, and the equity bridge from the last balance sheet to the valuation date.

Pure functions of validated inputs, the disclosures a vintage can see and the P&L's cash path;
no files, no printing. The valuation date is the vintage date; the last balance sheet is the
base period's end (units in brackets; fx the RMB per HKD input)::

    raised      = sum over equity issues after the balance sheet, known by the vintage,
                  of gross proceeds * fx                                             [RMB m]
    net_cash_bs = net_cash - raised   (net_cash: the input, cash after those issues)  [RMB m]
    shares_bs   = shares - sum of the shares those issues added                      [m shares]
    burn        = sum of the modelled free cash flow of the quarters after the balance
                  sheet that end on or before the valuation date                    [RMB m]
    net_cash_valuation = net_cash_bs + raised + burn                                 [RMB m]

EV/Sales adds ``net_cash_valuation`` to its EV; the DCF, whose cash flows start after the
balance sheet (the burn among them), adds ``net_cash_bs + raised``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from capacity.finance.anchors import Anchors
from capacity.results import money_text
from capacity.schemas import FinanceInputs

INPUT_COLUMNS = ("name", "value", "unit", "source_date", "source")
"""Columns of the ``inputs`` table."""

_FIN_INPUTS = {  # inputs table name: (finance input, unit)
    "fx_rate": ("fx_listing", "RMB per HKD"),
    "discount_rate": ("wacc_annual", "share per year"),
    "ev_sales_multiple": ("ev_sales_multiple", "x"),
    "terminal_growth": ("terminal_growth_annual", "share per year"),
    "traditional_gross_margin": ("traditional_gross_margin", "share"),
}

_DRIVER_INPUTS = {"rd_opex": "rd_half_m", "sm_opex": "sm_half_m",
                  "ga_opex": "ga_half_m", "other_items": None, "adjustments": None}
"""Opex lines (finance input they fall back to) and the reported-accounts run-rates."""


def _day(text: str) -> str:
    """The date a source names (:func:`capacity.scenarios.vintages.source_date`), ISO, or ''."""
    from capacity.scenarios.vintages import source_date

    when = source_date(text)
    return when.isoformat() if when else ""


def period_end(period: pd.Period) -> str:
    """The last day of a quarter, ISO (2025Q2 -> 2025-06-30)."""
    return period.end_time.date().isoformat()


def equity_issues(disclosures: pd.DataFrame, after: pd.Period) -> pd.DataFrame:
    """Equity issues announced after the quarter ``after`` (and seen by the vintage): one row
    per quarter with ``proceeds_m`` [HKD m], ``shares_m`` [m shares], ``published``,
    ``source``."""
    d = disclosures[disclosures["period"] > after]
    cash = d[d["metric"] == "equity_raised_m"].set_index("period")
    shares = d[d["metric"] == "equity_raised_shares_m"].set_index("period")
    out = pd.DataFrame({"proceeds_m": cash["value"].astype(float),
                        "published": cash["published"], "source": cash["source"]})
    out["shares_m"] = shares["value"].reindex(out.index).fillna(0.0).astype(float)
    return out.sort_index()


def _latest(disclosures: pd.DataFrame, metric: str, upto: pd.Period) -> pd.Series | None:
    d = disclosures[(disclosures["metric"] == metric) & (disclosures["period"] <= upto)]
    return None if d.empty else d.sort_values(["period", "published"]).iloc[-1]


def burn_m(quarters: pd.DataFrame, as_of: dt.date) -> float:
    """burn = sum of ``fcf_m`` over the modelled quarters that end on or before ``as_of``
    [RMB m] (``quarters``: the P&L by quarter, with ``actual``)."""
    q = quarters[~quarters["actual"].astype(bool)]
    ends = [p.end_time.date() <= as_of for p in pd.PeriodIndex(q.index, freq="Q")]
    return float(q.loc[ends, "fcf_m"].sum())


def equity_bridge(fin: FinanceInputs, anchors: Anchors, disclosures: pd.DataFrame,
                  burn: float, as_of: dt.date) -> pd.DataFrame:
    """The module docstring's bridge as rows: ``step``, ``date``, ``value_m`` [RMB m],
    ``shares_m`` [m shares], ``source``; the last row is the net cash at the valuation
    date."""
    issues = equity_issues(disclosures, anchors.base_period)
    raised = issues["proceeds_m"] * fin.fx_listing
    bs = period_end(anchors.base_period)
    rows = [{"step": "net cash at the last balance sheet", "date": bs,
             "value_m": fin.net_cash_m - float(raised.sum()),
             "shares_m": fin.shares_m - float(issues["shares_m"].sum()),
             "source": "net_cash - raised (module capacity.finance.dated)"}]
    for p, r in issues.iterrows():
        rows.append({"step": f"equity raised {p}", "date": str(r["published"]),
                     "value_m": float(r["proceeds_m"]) * fin.fx_listing,
                     "shares_m": float(r["shares_m"]), "source": str(r["source"])})
    rows.append({"step": "burn: modelled free cash flow to the valuation date",
                 "date": as_of.isoformat(), "value_m": burn, "shares_m": 0.0,
                 "source": "value.pnl_by_quarter fcf_m"})
    rows.append({"step": "net cash at the valuation date", "date": as_of.isoformat(),
                 "value_m": fin.net_cash_m + burn, "shares_m": fin.shares_m,
                 "source": "sum of the rows above"})
    return pd.DataFrame(rows)


def debt_input_rows(fin: FinanceInputs, anchors: Anchors, sources: dict[str, str]
                    ) -> list[dict]:
    """The interest line's inputs (:mod:`capacity.finance.interest`): ``debt_principal``
    [RMB m] at its quarter's end, ``interest_rate`` [share per year] and
    ``debt_financed_capex_share`` [share]; without a debt balance or a rate, one row
    ``interest_expense`` = 0 [RMB m/quarter] that says why instead of the two."""
    from capacity.finance.interest import no_interest_reason

    dated = {d["name"]: d for d in anchors.drivers.dated}
    rows = []
    why = no_interest_reason(anchors.drivers.debt_principal_m,
                             anchors.drivers.interest_rate_annual)
    if why is not None:  # the P&L's own test (interest_array): no debt balance or no rate
        rows.append({"name": "interest_expense", "value": 0.0, "unit": "RMB m/quarter",
                     "source_date": "", "source": why})
    for name, unit in (("debt_principal", "RMB m"), ("interest_rate", "share per year")):
        d = dated.get(name)
        if d is None:
            continue
        when = period_end(pd.Period(d["period"], freq="Q")) if name == "debt_principal" \
            else str(d["published"])
        rows.append({"name": name, "value": float(d["value"]), "unit": unit,
                     "source_date": when, "source": str(d["source"])})
    text = sources.get("finance.debt_financed_capex_share", "")
    rows.append({"name": "debt_financed_capex_share", "value": fin.debt_financed_capex_share,
                 "unit": "share", "source_date": _day(text),
                 "source": text or "finance.debt_financed_capex_share (default 0: no capex "
                                   "financed by new debt)"})
    return rows


def inputs_table(fin: FinanceInputs, anchors: Anchors, disclosures: pd.DataFrame,
                 sources: dict[str, str], as_of: dt.date) -> pd.DataFrame:
    """Every dated input of the valuation: ``name``, ``value``, ``unit``, ``source_date`` (ISO:
    the balance sheet's date for a balance, else the date the source was published),
    ``source``.

    Balance items (``net_cash``, ``borrowings``, ``cash``, ``shares``) stand at the last
    balance sheet (:func:`equity_bridge`); opex lines, other items and adjustments are the
    reported-accounts run-rates (:class:`~capacity.finance.accounts.AccountDrivers`), else the
    finance input; ``share_price`` is the latest close the vintage can see.
    """
    base = anchors.base_period
    bridge = equity_bridge(fin, anchors, disclosures, 0.0, as_of)
    bs_date = period_end(base)
    net_src = sources.get("finance.net_cash_m", "finance.net_cash_m")
    shares_src = sources.get("finance.shares_m", "finance.shares_m")
    rows = [{"name": "net_cash", "value": float(bridge["value_m"].iloc[0]),
             "unit": "RMB m", "source_date": bs_date,
             "source": f"{net_src}; less the equity raised after {bs_date}"},
            {"name": "shares", "value": float(bridge["shares_m"].iloc[0]), "unit": "m shares",
             "source_date": bs_date,
             "source": f"{shares_src}; less the shares issued after {bs_date}"}]
    for name, metric in (("cash", "cash_reserve_m"), ("borrowings", "borrowings_m"),
                         ("share_price", "share_price")):
        hit = _latest(disclosures, metric, base if name != "share_price" else
                      pd.Period(as_of, freq="Q"))
        if hit is None:
            continue
        date = period_end(hit["period"]) if name != "share_price" else str(hit["published"])
        rows.append({"name": name, "value": float(hit["value"]), "unit": str(hit["unit"]),
                     "source_date": min(date, as_of.isoformat()),
                     "source": str(hit["source"])})
    for name, (key, unit) in _FIN_INPUTS.items():
        text = sources.get(f"finance.{key}", "")
        rows.append({"name": name, "value": float(getattr(fin, key)), "unit": unit,
                     "source_date": _day(text), "source": text or f"finance.{key}"})
    dated = {d["name"]: d for d in anchors.drivers.dated}
    for name, key in _DRIVER_INPUTS.items():
        if name in dated:
            d = dated[name]
            rows.append({"name": name, "value": float(d["value"]), "unit": d["unit"],
                         "source_date": str(d["published"]), "source": str(d["source"])})
        elif key is not None:
            text = sources.get(f"finance.{key}", "")
            rows.append({"name": name, "value": float(getattr(fin, key)),
                         "unit": "RMB m/half-year", "source_date": _day(text),
                         "source": text or f"finance.{key}"})
    rows += debt_input_rows(fin, anchors, sources)
    out = pd.DataFrame(rows, columns=list(INPUT_COLUMNS))
    out["unit"] = [money_text(u) for u in out["unit"]]  # in the subject's currencies
    return out
