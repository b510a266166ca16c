"""Forecasts against actuals: how far the tool's fleet and revenue paths are from disclosures.

Pure functions: the actuals arrive as a table of text cells (one row per reporting period, read by
:mod:`capacity.scenarios`), the forecasts as per-quarter DataFrames; nothing here reads or writes
files.

Periods (``period`` column)
    ``2023Q2`` / ``2023-Q2`` / ``2Q23``  one quarter            span Q..Q
    ``1H23`` / ``1H2023`` / ``2023H1``   first half             span Q1..Q2
    ``2H23`` / ``2H2023`` / ``2023H2``   second half            span Q3..Q4
    ``FY2023`` / ``FY23`` / ``2023``     calendar year          span Q1..Q4
SenseTime's financial year is the calendar year, so FY2023 = 2023Q1..2023Q4.

Comparison, for a row with span q0..q1 (quarters) and forecast path x[t]:
    stock  (GPUs, computing power)     F = x[q1]                        (at the period end)
    flow   (revenue, GenAI revenue)    F = sum_{t=q0..q1} x[t]          [RMB m]
    ratio  (GenAI share)               F = sum genai[t] / sum total[t]  over q0..q1       [1]
    ratio  (gross margin)              F = sum gross_profit[t] / sum total[t]             [1]
    error       = F - A                                                 [metric unit]
    error_pct   = 100 * (F - A) / A                                     [%]
    mape        = mean over compared rows of |error_pct|                [%]
    bias_pct    = mean over compared rows of error_pct                  [%]

A row is ``not forecast`` when the tool has no path for the metric (an account line the flow
path does not carry; revenue metrics when no finance table is given), ``not comparable`` when a
quarter it needs lies outside the forecast path (before the first calibration date or after the
horizon end), else ``compared``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.errors import InputError, closest_name
from capacity.results import money_text
from capacity.schemas import number_from_text, shown_text

STATUS_COMPARED = "compared"
STATUS_NOT_FORECAST = "not forecast"
STATUS_NOT_COMPARABLE = "not comparable"


@dataclass(frozen=True)
class Metric:
    """A metric an actuals file may carry.

    Attributes
    ----------
    name
        Name in the output rows (``computing_power_eflops``).
    kind
        ``stock`` (value at the period end), ``flow`` (summed over the span) or ``ratio``
        (a ratio of two flows over the span).
    key_unit
        Unit of ``actual``, ``forecast`` and ``error`` in the keys' currency words (``RMB m``);
        :attr:`unit` writes it in the subject's currency.
    """

    name: str
    kind: str
    key_unit: str

    @property
    def unit(self) -> str:
        """The output's unit in the subject's currency (``USD m`` for a USD subject)."""
        return money_text(self.key_unit)


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("gpus_units", "stock", "units"),
    Metric("computing_power_eflops", "stock", "EFLOPS"),
    Metric("revenue_m", "flow", "RMB m"),
    Metric("genai_revenue_m", "flow", "RMB m"),
    Metric("genai_share", "ratio", "share"),
    Metric("gross_margin", "ratio", "share"),
    Metric("net_loss_m", "flow", "RMB m"),
    # the accounts (the one P&L of capacity value): reported lines a vintage forecasts
    Metric("adjusted_net_loss_m", "flow", "RMB m"),
    Metric("rd_opex_m", "flow", "RMB m"),
    Metric("sm_opex_m", "flow", "RMB m"),
    Metric("ga_opex_m", "flow", "RMB m"),
]}
"""Metrics in output order."""

COLUMNS: dict[str, tuple[str, float]] = {
    "gpus_units": ("gpus_units", 1.0),
    "computing_power_pflops": ("computing_power_eflops", 1e-3),
    "computing_power_eflops": ("computing_power_eflops", 1.0),
    "revenue_m": ("revenue_m", 1.0),
    "genai_revenue_m": ("genai_revenue_m", 1.0),
    "genai_share": ("genai_share", 1.0),
    "gross_margin": ("gross_margin", 1.0),
    "net_loss_m": ("net_loss_m", 1.0),
}
"""Accepted metric headers -> (metric, factor to the metric's unit)."""

TEXT_COLUMNS = ("source", "note")
"""Optional free-text columns, carried into the output rows."""

_STEMS = {"gpus": "gpus_units", "gpu": "gpus_units",
          "computing_power": "computing_power_pflops or computing_power_eflops",
          "revenue": "revenue_m", "genai_revenue": "genai_revenue_m",
          "net_loss": "net_loss_m", "genai_share": "genai_share",
          "gross_margin": "gross_margin"}

NOISE = 1e-12
"""Relative size of an error treated as floating-point noise (reported as exactly 0)."""

ROW_COLUMNS = ["period", "metric", "unit", "first_quarter", "last_quarter", "span_quarters",
               "actual", "forecast", "error", "error_pct", "status", "basis", "detail", "source"]
SUMMARY_COLUMNS = ["metric", "unit", "n_rows", "n_compared", "mape", "bias_pct",
                   "max_abs_error_pct"]

# --------------------------------------------------------------------------------------------
# Parsing the actuals table
# --------------------------------------------------------------------------------------------

_Q_RE = re.compile(r"^(\d{4})\s*-?\s*Q(\d)$", re.IGNORECASE)
_QALT_RE = re.compile(r"^(\d)Q(\d{2}|\d{4})$", re.IGNORECASE)
_H_RE = re.compile(r"^(\d)H(\d{2}|\d{4})$", re.IGNORECASE)
_HALT_RE = re.compile(r"^(\d{4})\s*-?\s*H(\d)$", re.IGNORECASE)
_FY_RE = re.compile(r"^(?:FY\s*(\d{2}|\d{4})|(\d{4}))$", re.IGNORECASE)


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def parse_period(label: str) -> tuple[pd.Period, pd.Period]:
    """First and last quarter of a reporting period label.

    Parameters
    ----------
    label
        ``2023Q2``, ``2Q23``, ``1H23``, ``2023H2``, ``FY2023``, ``FY23`` or ``2023``.

    Returns
    -------
    tuple
        (first quarter, last quarter) as quarterly Periods.

    Raises
    ------
    ValueError
        When the label is none of these forms (e.g. ``2023Q5``, ``3H23``).
    """
    s = str(label).strip()
    for rx, order in ((_Q_RE, "yq"), (_QALT_RE, "qy")):
        m = rx.match(s)
        if m:
            y, q = (m.group(1), m.group(2)) if order == "yq" else (m.group(2), m.group(1))
            if not 1 <= int(q) <= 4:
                raise ValueError(f"{s!r}: quarter must be 1-4")
            p = pd.Period(f"{_year(y)}Q{int(q)}", freq="Q")
            return p, p
    for rx, order in ((_H_RE, "hy"), (_HALT_RE, "yh")):
        m = rx.match(s)
        if m:
            y, h = (m.group(2), m.group(1)) if order == "hy" else (m.group(1), m.group(2))
            if int(h) not in (1, 2):
                raise ValueError(f"{s!r}: half must be 1H or 2H")
            first = pd.Period(f"{_year(y)}Q{2 * int(h) - 1}", freq="Q")
            return first, first + 1
    m = _FY_RE.match(s)
    if m:
        y = _year(m.group(1) or m.group(2))
        return pd.Period(f"{y}Q1", freq="Q"), pd.Period(f"{y}Q4", freq="Q")
    raise ValueError(f"{shown_text(s)} is not a period (use 2024Q2, 1H24, 2H24, FY2024 or 2024)")


def _column_error(name: str, header: str) -> InputError:
    low = header.lower()
    for stem in sorted(_STEMS, key=len, reverse=True):
        if low.startswith(stem + "_") or low == stem:
            unit = low[len(stem) + 1:] or "(none)"
            return InputError(name, f"column {shown_text(header, 60)}: unit "
                              f"{shown_text(unit)} is not supported; "
                              f"use {_STEMS[stem]}")
    close = closest_name(header, [*COLUMNS, *TEXT_COLUMNS])
    hint = f"did you mean {close!r}? " if close else ""
    return InputError(name, f"unknown column {shown_text(header, 60)} ({hint}known: period, "
                      f"{', '.join(COLUMNS)}, {', '.join(TEXT_COLUMNS)})")


def _cell(value: object) -> str:
    """A CSV cell as stripped text ('' for a missing cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _number(cell: str, metric: Metric, where: str) -> float:
    text = cell.strip().replace(",", "").replace("_", "")
    pct = metric.kind == "ratio" and text.endswith("%")
    if pct:
        text = text[:-1].strip()
    if not text:
        raise InputError(where, f"{cell.strip()!r} is not a number")
    try:
        value = float(number_from_text(text))
    except ValueError as exc:
        raise InputError(where, str(exc).replace(repr(text), repr(cell.strip()))) from None
    if pct:
        value /= 100.0
    if metric.kind == "ratio" and not -1.0 <= value <= 1.0:
        raise InputError(where, f"{value:g} is not a fraction; write 20.3% as 0.203 or '20.3%'")
    if metric.name != "gross_margin" and value < 0:
        raise InputError(where, f"{value:g} is negative (net loss is written as a positive "
                         "figure)" if metric.name == "net_loss_m" else f"{value:g} is "
                         "negative")
    return value


def parse_actuals(raw: pd.DataFrame, name: str = "actuals") -> pd.DataFrame:
    """Validate an actuals table and turn it into one row per (period, metric).

    Parameters
    ----------
    raw
        The file's cells as text (header row = column names), one row per reporting period.
    name
        File name for error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` (the label as written), ``first_quarter``, ``last_quarter`` (Periods),
        ``span_quarters`` [quarters], ``metric``, ``unit``, ``actual`` [metric unit],
        ``source``; in file order, metrics in :data:`METRICS` order within a row. Empty cells
        are skipped.

    Raises
    ------
    InputError
        Unknown column or unit, missing ``period``, bad or repeated period, non-numeric cell,
        a share outside [-1, 1], a negative count, or no figures at all.
    """
    headers = [str(c).strip() for c in raw.columns]
    if "period" not in headers:
        raise InputError(name, "missing column 'period'")
    if len(set(headers)) != len(headers):
        dup = next(h for h in headers if headers.count(h) > 1)
        raise InputError(name, f"column {dup!r} appears twice")
    metric_cols = []
    for h in headers:
        if h == "period" or h in TEXT_COLUMNS:
            continue
        if h not in COLUMNS:
            raise _column_error(name, h)
        metric_cols.append(h)
    if not metric_cols:
        raise InputError(name, f"no metric columns (use any of {', '.join(COLUMNS)})")
    targets = [COLUMNS[h][0] for h in metric_cols]
    if len(set(targets)) != len(targets):
        raise InputError(name, "give computing power in one column only "
                         "(computing_power_pflops or computing_power_eflops)")
    frame = raw.copy()
    frame.columns = headers
    order = {m: i for i, m in enumerate(METRICS)}
    rows = []
    seen: dict[tuple[pd.Period, pd.Period], int] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        line = i + 2  # header is line 1
        label = _cell(rec["period"])
        where = f"{name} line {line} period"
        if not label:
            raise InputError(where, "empty period")
        try:
            first, last = parse_period(label)
        except ValueError as exc:
            raise InputError(where, str(exc)) from None
        if (first, last) in seen:
            raise InputError(where, f"{label!r} is the same period as line {seen[first, last]}")
        seen[first, last] = line
        source = _cell(rec.get("source"))
        found = []
        for h in metric_cols:
            cell = _cell(rec[h])
            if not cell:
                continue
            metric_name, factor = COLUMNS[h]
            metric = METRICS[metric_name]
            value = _number(cell, metric, f"{name} line {line} {h}") * factor
            found.append({"period": label, "first_quarter": first, "last_quarter": last,
                          "span_quarters": int(last.ordinal - first.ordinal + 1),
                          "metric": metric_name, "unit": metric.unit, "actual": value,
                          "source": source})
        rows += sorted(found, key=lambda r: order[r["metric"]])
    if not rows:
        raise InputError(name, "no figures (every metric cell is empty)")
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Forecast paths
# --------------------------------------------------------------------------------------------


def stock_path(history: pd.DataFrame, plan_quarters: pd.DataFrame,
               base_period: pd.Period) -> pd.DataFrame:
    """GPUs and peak computing power per quarter: calibrated history, then the plan.

    Parameters
    ----------
    history
        Indexed by quarter, ``gpus_units`` [units] and ``peak_eflops`` [EFLOPS]; quarters up to
        ``base_period`` are used (the calibrated central mixes).
    plan_quarters
        The plan's quarters (same columns); quarters after ``base_period`` are used.
    base_period
        Last quarter of history.

    Returns
    -------
    pandas.DataFrame
        Index ``period``; ``gpus_units`` [units], ``computing_power_eflops`` [EFLOPS],
        ``basis`` (``calibration`` or ``plan``).
    """
    cols = ["gpus_units", "peak_eflops"]
    h = history.loc[history.index <= base_period, cols].assign(basis="calibration")
    p = plan_quarters.loc[plan_quarters.index > base_period, cols].assign(basis="plan")
    out = pd.concat([h, p]).rename(columns={"peak_eflops": "computing_power_eflops"})
    out.index = pd.PeriodIndex(out.index, freq="Q", name="period")
    return out.sort_index()


ACCOUNT_FLOWS = ("net_loss_m", "adjusted_net_loss_m", "rd_opex_m", "sm_opex_m",
                 "ga_opex_m")
"""Flow metrics of the accounts a flow path carries when both its tables have them."""


def flow_path(actual_quarters: pd.DataFrame, revenue: pd.DataFrame) -> pd.DataFrame:
    """Revenue, GenAI revenue and gross profit per quarter: base-half actuals, then finance.

    Parameters
    ----------
    actual_quarters
        The finance link's base half-year split into quarters (``genai_revenue_m``,
        ``revenue_m``, ``gross_profit_m`` [RMB m]).
    revenue
        The finance link's forecast quarters (same columns).

    Returns
    -------
    pandas.DataFrame
        Index ``period``; ``revenue_m``, ``genai_revenue_m``, ``gross_profit_m``
        [RMB m], ``basis`` (``finance (1H23 actuals)``-style label or ``finance``).
    """
    cols = ["genai_revenue_m", "revenue_m", "gross_profit_m"]
    cols += [c for c in ACCOUNT_FLOWS if c in revenue.columns and c in actual_quarters.columns]
    a = actual_quarters.loc[actual_quarters.index.difference(revenue.index), cols]
    first, last = (a.index.min(), a.index.max()) if len(a) else (None, None)
    label = f"finance (actuals {first}..{last})" if len(a) else "finance"
    out = pd.concat([a.assign(basis=label), revenue[cols].assign(basis="finance")])
    out.index = pd.PeriodIndex(out.index, freq="Q", name="period")
    return out.sort_index()


def forecast_paths(stocks: pd.DataFrame, flows: pd.DataFrame | None) -> pd.DataFrame:
    """Every quarterly forecast of every metric as one tidy long table (for JSON, CSV, chart).

    One row per quarter and metric where the tool has a forecast: a quarter outside a metric's
    path (revenue before the finance link's first quarter, say) has no row, so no value is
    ever missing.

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` (quarter), ``metric`` (``gpus_units``, ``computing_power_eflops``
        and, with flows, ``revenue_m``, ``genai_revenue_m``, ``genai_share``,
        ``gross_margin``: the quarterly ratios), ``value`` (in ``unit``), ``unit`` (the
        metric's unit, :data:`METRICS`) and ``basis`` (where the path comes from:
        ``calibration``, ``plan`` or ``finance ...``); ordered by metric, then period.
    """
    series: dict[str, pd.Series] = {
        "gpus_units": stocks["gpus_units"],
        "computing_power_eflops": stocks["computing_power_eflops"],
    }
    bases = {"gpus_units": stocks["basis"], "computing_power_eflops": stocks["basis"]}
    if flows is not None:
        total = flows["revenue_m"]
        series["revenue_m"] = total
        series["genai_revenue_m"] = flows["genai_revenue_m"]
        series["genai_share"] = flows["genai_revenue_m"] / total
        series["gross_margin"] = flows["gross_profit_m"] / total
        for name in ("revenue_m", "genai_revenue_m", "genai_share", "gross_margin"):
            bases[name] = flows["basis"]
    parts = []
    for name, values in series.items():
        values = values.astype(float)
        keep = np.isfinite(values.to_numpy())
        parts.append(pd.DataFrame({
            "period": pd.PeriodIndex(values.index[keep], freq="Q"),
            "metric": name,
            "value": values.to_numpy()[keep],
            "unit": METRICS[name].unit,
            "basis": bases[name].to_numpy()[keep].astype(str),
        }))
    return pd.concat(parts, ignore_index=True)  # paths are sorted by quarter already


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


def _span_text(first: pd.Period, last: pd.Period) -> str:
    return str(last) if first == last else f"{first}..{last}"


def _forecast(row: dict, stocks: pd.DataFrame,
              flows: pd.DataFrame | None) -> tuple[float | None, str, str, str]:
    """(forecast, status, basis, detail) of one actuals row."""
    metric = METRICS[row["metric"]]
    first, last = row["first_quarter"], row["last_quarter"]
    if metric.kind == "stock":
        if last not in stocks.index:
            lo, hi = stocks.index.min(), stocks.index.max()
            return (None, STATUS_NOT_COMPARABLE, "",
                    f"period end {last} is outside the fleet path {lo}..{hi}")
        return (float(stocks.at[last, metric.name]), STATUS_COMPARED,
                str(stocks.at[last, "basis"]), f"at period end {last}")
    if flows is not None and metric.kind == "flow" and metric.name not in flows.columns:
        return None, STATUS_NOT_FORECAST, "", f"the tool does not model {metric.name}"
    if flows is None:
        return None, STATUS_NOT_FORECAST, "", "no revenue forecast in this run"
    span = pd.period_range(first, last, freq="Q")
    missing = span.difference(flows.index)
    if len(missing):
        lo, hi = flows.index.min(), flows.index.max()
        return (None, STATUS_NOT_COMPARABLE, "",
                f"span {_span_text(first, last)} is not inside the revenue path {lo}..{hi}")
    sel = flows.loc[span]
    basis = " + ".join(dict.fromkeys(sel["basis"]))
    detail = f"sum over {_span_text(first, last)}" if metric.kind == "flow" else \
        f"ratio of sums over {_span_text(first, last)}"
    if metric.kind == "flow":
        return float(sel[metric.name].sum()), STATUS_COMPARED, basis, detail
    total = float(sel["revenue_m"].sum())
    top = "genai_revenue_m" if metric.name == "genai_share" else "gross_profit_m"
    return float(sel[top].sum()) / total, STATUS_COMPARED, basis, detail


def percent_error(error: float, actual: float) -> float:
    """error_pct = 100 * error / actual [%] (NaN when the actual is 0)."""
    return 100.0 * error / actual if actual != 0 else math.nan


def compare(actuals: pd.DataFrame, stocks: pd.DataFrame,
            flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Actual, forecast, error and percentage error for every figure of the actuals.

    Parameters
    ----------
    actuals
        From :func:`parse_actuals`.
    stocks
        From :func:`stock_path`.
    flows
        From :func:`flow_path`, or None when there is no revenue forecast.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ROW_COLUMNS`: ``actual``, ``forecast``, ``error`` = forecast - actual in
        the metric's unit, ``error_pct`` = 100 * error / actual [%] (NaN unless compared or when
        the actual is 0), ``status``, ``basis`` (where the forecast came from), ``detail``.
        ``first_quarter`` and ``last_quarter`` are quarter labels.
    """
    out = []
    for row in actuals.to_dict("records"):
        f, status, basis, detail = _forecast(row, stocks, flows)
        a = float(row["actual"])
        err = f - a if f is not None else math.nan
        if f is not None and abs(err) <= NOISE * max(1.0, abs(a)):
            err = 0.0  # floating-point noise of a round trip (e.g. 0.203 * 700 * 2 / 1400)
        pct = percent_error(err, a) if f is not None else math.nan
        if f is not None and a == 0:
            detail += "; actual is 0, no percentage error"
        out.append({**row, "first_quarter": str(row["first_quarter"]),
                    "last_quarter": str(row["last_quarter"]),
                    "forecast": math.nan if f is None else f, "error": err, "error_pct": pct,
                    "status": status, "basis": basis, "detail": detail})
    return pd.DataFrame(out, columns=ROW_COLUMNS)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per metric: rows, compared rows, MAPE, bias and the largest miss (all in %).

    Every metric present in ``rows`` appears, in :data:`METRICS` order; ``mape`` is NaN when no
    row of the metric was compared.
    """
    out = []
    for name, metric in METRICS.items():
        sel = rows[rows["metric"] == name]
        if sel.empty:
            continue
        pct = sel.loc[sel["status"] == STATUS_COMPARED, "error_pct"].dropna().to_numpy(float)
        out.append({"metric": name, "unit": metric.unit, "n_rows": len(sel),
                    "n_compared": int((sel["status"] == STATUS_COMPARED).sum()),
                    "mape": float(np.mean(np.abs(pct))) if len(pct) else math.nan,
                    "bias_pct": float(np.mean(pct)) if len(pct) else math.nan,
                    "max_abs_error_pct": float(np.max(np.abs(pct))) if len(pct) else math.nan})
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


# --------------------------------------------------------------------------------------------
# Rolling origin: every vintage against every later disclosure
# --------------------------------------------------------------------------------------------

DISCLOSED_METRICS: dict[str, tuple[str, tuple[int, ...]]] = {
    "gpus_units": ("gpus_units", (0,)),
    "peak_eflops": ("computing_power_eflops", (0,)),
    "revenue_m": ("revenue_m", (2,)),
    "genai_revenue_m": ("genai_revenue_m", (2,)),
    "genai_share": ("genai_share", (2,)),
    "gross_margin": ("gross_margin", (2,)),
    # the accounts
    "net_loss_m": ("net_loss_m", (2,)),
    "adjusted_net_loss_m": ("adjusted_net_loss_m", (2,)),
    "rd_opex_m": ("rd_opex_m", (2,)),
    "sm_opex_m": ("sm_opex_m", (2,)),
    "ga_opex_m": ("ga_opex_m", (2,)),
}
"""disclosures.csv metric -> (backtest metric, spans scored [quarters]). Flows are scored per
half-year (the derived 2H rows included), not per year, so no quarter is scored twice."""

ROLLING_COLUMNS = ["vintage", "base_period", "period", "metric", "unit", "horizon_halves",
                   "actual", "forecast", "p10", "p50", "p90", "inside_80", "n_known_errors",
                   "error_pool", "error", "error_pct",
                   "status", "basis", "published", "source"]
ROLLING_SUMMARY_COLUMNS = ["metric", "unit", "horizon_halves", "n_compared", "n_vintages",
                           "mape", "bias_pct", "max_abs_error_pct", "n_intervals", "n_inside",
                           "coverage_80", "coverage_80_low", "coverage_80_high",
                           "interval_score_pct"]


def _half_label(last: pd.Period) -> str:
    return f"{1 if last.quarter <= 2 else 2}H{last.year % 100:02d}"


def horizon_halves(base: pd.Period, last: pd.Period) -> int:
    """Half-years from the base period to a figure's last quarter, rounded up:
    ceil((last - base) / 2) [half-years] (2024Q2 from 2023Q4 is 1, 2025Q1 from 2024Q4 is 1)."""
    return math.ceil((last.ordinal - base.ordinal) / 2)


def later_disclosures(disclosures: pd.DataFrame, base: pd.Period,
                      as_of: str) -> pd.DataFrame:
    """The disclosures a vintage could not see that it forecasts, as :func:`parse_actuals` rows.

    Rows of :data:`DISCLOSED_METRICS` with the scored span, published after ``as_of`` (ISO
    date) and ending after ``base``; with ``published`` kept.
    """
    rows = []
    for rec in disclosures.to_dict("records"):
        hit = DISCLOSED_METRICS.get(rec["metric"])
        if hit is None or int(rec["span_quarters"]) not in hit[1]:
            continue
        last = pd.Period(rec["period"], freq="Q")
        if last <= base or str(rec["published"]) <= as_of:
            continue
        span = max(1, int(rec["span_quarters"]))
        first = last - (span - 1)
        metric = METRICS[hit[0]]
        rows.append({"period": str(last) if metric.kind == "stock" else _half_label(last),
                     "first_quarter": first, "last_quarter": last, "span_quarters": span,
                     "metric": metric.name, "unit": metric.unit, "actual": float(rec["value"]),
                     "source": str(rec["source"]), "published": str(rec["published"])})
    cols = ["period", "first_quarter", "last_quarter", "span_quarters", "metric", "unit",
            "actual", "source", "published"]
    return pd.DataFrame(rows, columns=cols)


def rolling_rows(vintage: str, base: pd.Period, actuals: pd.DataFrame, stocks: pd.DataFrame,
                 flows: pd.DataFrame | None, fan=None,
                 known: pd.DataFrame | None = None,
                 prior: pd.DataFrame | None = None) -> pd.DataFrame:
    """One vintage's forecasts against the later disclosures (:func:`compare`), with
    ``vintage``, ``base_period`` and ``horizon_halves`` (:func:`horizon_halves`); with the
    vintage's ``fan`` (:func:`capacity.montecarlo.fan.vintage_fan`), each compared row's
    ``p10``, ``p50``, ``p90`` and ``inside_80`` (:mod:`capacity.backtest_intervals`): the
    draws combined with the model's own errors the vintage could measure (``known``,
    :func:`capacity.backtest_intervals.known_errors`; without any, the ``prior``,
    :func:`capacity.backtest_intervals.street_errors`; the pool used and its size in
    ``error_pool`` and ``n_known_errors``)."""
    from capacity import backtest_intervals as bi

    if actuals.empty:
        return pd.DataFrame(columns=ROLLING_COLUMNS)
    rows = compare(actuals.drop(columns="published"), stocks, flows)
    bands, counts, pools = [], [], []
    for rec, status in zip(actuals.to_dict("records"), rows["status"], strict=True):
        draws = bi.row_draws(rec["metric"], METRICS[rec["metric"]].kind, rec["first_quarter"],
                             rec["last_quarter"], fan, stocks, flows) \
            if status == STATUS_COMPARED else None
        errors, pool = bi.error_pool(known, rec["metric"],
                                     horizon_halves(base, rec["last_quarter"]), prior) \
            if draws is not None else (np.empty(0), None)
        counts.append(len(errors) if draws is not None else None)
        pools.append(pool)
        bands.append(bi.widened_band(draws, errors, bi.upper_bound(rec["metric"])))
    band = np.array(bands, float).reshape(len(rows), 3)
    rows["p10"], rows["p50"], rows["p90"] = band[:, 0], band[:, 1], band[:, 2]
    a = rows["actual"].to_numpy(float)
    rows["n_known_errors"] = pd.array(counts, dtype="Int64")
    rows["error_pool"] = pools
    rows["inside_80"] = [bool(lo <= y <= hi) if np.isfinite(lo) and np.isfinite(hi) else None
                         for lo, y, hi in zip(band[:, 0], a, band[:, 2], strict=True)]
    rows["published"] = actuals["published"].to_numpy()
    rows["vintage"] = vintage
    rows["base_period"] = str(base)
    rows["horizon_halves"] = [horizon_halves(base, q) for q in actuals["last_quarter"]]
    return rows[ROLLING_COLUMNS]


def rolling_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per metric and horizon: compared rows, vintages, MAPE, bias, the largest miss [%] and
    the coverage of the 80% interval (:func:`capacity.backtest_intervals.coverage`).

    mape = mean |error_pct|, bias_pct = mean error_pct over the compared rows of that metric
    and horizon (every vintage pooled); coverage_80 = share of those rows with
    p10 <= actual <= p90, with its Wilson interval and the mean interval score.
    """
    from capacity import backtest_intervals as bi

    out = []
    done = rows[rows["status"] == STATUS_COMPARED]
    for name, metric in METRICS.items():
        sel = done[done["metric"] == name]
        for h in sorted(sel["horizon_halves"].unique()):
            at = sel[sel["horizon_halves"] == h]
            pct = at["error_pct"].dropna().to_numpy(float)
            if not len(pct):
                continue
            out.append({"metric": name, "unit": metric.unit, "horizon_halves": int(h),
                        "n_compared": len(pct),
                        "n_vintages": int(sel.loc[sel["horizon_halves"] == h,
                                                  "vintage"].nunique()),
                        "mape": float(np.mean(np.abs(pct))), "bias_pct": float(np.mean(pct)),
                        "max_abs_error_pct": float(np.max(np.abs(pct))),
                        **bi.coverage(at)})
    return pd.DataFrame(out, columns=ROLLING_SUMMARY_COLUMNS)


COVERAGE_COLUMNS = ["metric", "unit", "n_compared", "n_intervals", "n_inside", "coverage_80",
                    "coverage_80_low", "coverage_80_high", "interval_score_pct"]


def coverage_by_metric(rows: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the 80% interval per metric over every horizon and vintage, then ``all``
    (every compared row of every metric) (:func:`capacity.backtest_intervals.coverage`)."""
    from capacity import backtest_intervals as bi

    done = rows[rows["status"] == STATUS_COMPARED]
    out = [{"metric": name, "unit": metric.unit, "n_compared": len(sel), **bi.coverage(sel)}
           for name, metric in METRICS.items()
           if len(sel := done[done["metric"] == name])]
    out.append({"metric": "all", "unit": "", "n_compared": len(done), **bi.coverage(done)})
    return pd.DataFrame(out, columns=COVERAGE_COLUMNS)
