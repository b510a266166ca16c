"""Prediction intervals of backtest rows and how often they cover the actuals.

Pure functions over a vintage's fan (:class:`capacity.montecarlo.fan.Fan`: per-draw quarterly
paths) and its point paths (:func:`capacity.backtesting.stock_path`,
:func:`capacity.backtesting.flow_path`).

For a row with span q0..q1 and draws i = 1..N, the row's statistic is computed per draw by
the rules of :mod:`capacity.backtesting` (stock at q1, flow summed, ratio of sums), each
quarter outside the fan (history) taken from the point path:
    F_i = x_i[q1]                                   stock
    F_i = sum_{t=q0..q1} x_i[t]                     flow
    F_i = sum num_i[t] / sum den_i[t]               ratio
    e_j = +/- |ln(actual_j / forecast_j)| sqrt(h / h_j)   the model's own errors known at
                                                    the vintage date, both signs
                                                    (:func:`known_errors`, :func:`error_pool`);
                                                    without any, other forecasters' reported
                                                    misses (:func:`street_errors`)
    G_ij = min(F_i * exp(e_j), upper)               every draw times every known error, at
                                                    most the metric's bound (1 for a share
                                                    or margin; :func:`upper_bound`)
    p10, p50, p90 = percentiles 10, 50, 90 of the G_ij (of F_1..F_N when M = 0; linear
                    interpolation)
    inside_80  = p10 <= actual <= p90
Scores, over the n compared rows of a metric and horizon with k inside:
    coverage_80            = k / n                                              [1]
    Wilson interval        = (c -/+ h), c = (k/n + z^2/2n) / (1 + z^2/n),
                             h = z / (1 + z^2/n) * sqrt(k/n (1 - k/n) / n + z^2 / 4n^2),
                             z = 1.959964 (95%)                                 [1]
    interval score (a = 0.2; Gneiting and Raftery 2007, JASA 102(477), section 6.2):
        IS = (u - l) + (2/a) (l - y) 1{y < l} + (2/a) (y - u) 1{y > u}          [metric unit]
    interval_score_pct     = mean over rows of 100 * IS / |y|                   [%]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.errors import InputError

Z_WILSON = 1.959963984540054
"""Two-sided 95% normal quantile of the Wilson interval. [1]"""

ALPHA = 0.2
"""Miss rate of the central 80% interval (P10..P90). [1]"""


@dataclass(frozen=True)
class DrawRule:
    """How a metric's per-draw statistic is read from a fan.

    Attributes
    ----------
    fan_series, point_column
        Numerator: the fan's series and the point path's column of the same quantity.
    den_series, den_column
        Denominator of a ratio (``None`` for a stock or flow).
    upper
        The largest value the metric can take (1 for a share of revenue and a gross margin),
        or ``None``: a widened band is clipped there [metric unit].
    """

    fan_series: str
    point_column: str
    den_series: str | None = None
    den_column: str | None = None
    upper: float | None = None


DRAW_RULES: dict[str, DrawRule] = {
    "gpus_units": DrawRule("gpus_units", "gpus_units"),
    "computing_power_eflops": DrawRule("peak_eflops", "computing_power_eflops"),
    "revenue_m": DrawRule("revenue_m", "revenue_m"),
    "genai_revenue_m": DrawRule("genai_revenue_m", "genai_revenue_m"),
    "genai_share": DrawRule("genai_revenue_m", "genai_revenue_m",
                            "revenue_m", "revenue_m", upper=1.0),
    "gross_margin": DrawRule("gross_profit_m", "gross_profit_m",
                             "revenue_m", "revenue_m", upper=1.0),
    **{m: DrawRule(m, m) for m in ("net_loss_m", "adjusted_net_loss_m", "rd_opex_m",
                                   "sm_opex_m", "ga_opex_m")},
}
"""Backtest metric -> its draw rule. A metric without a rule gets no interval (extend this table
when a metric gains a fan series)."""


def _quarter_draws(series: str, column: str, quarters: pd.PeriodIndex, fan,
                   point: pd.DataFrame) -> np.ndarray | None:
    """(N, len(quarters)): the fan's draws, or the point path in quarters outside the fan."""
    where = {p: i for i, p in enumerate(fan.periods)}
    arr = fan.series.get(series)
    if arr is None:
        return None
    n = arr.shape[0]
    out = np.empty((n, len(quarters)))
    for j, q in enumerate(quarters):
        i = where.get(str(q))
        if i is not None:
            out[:, j] = arr[:, i]
        elif q in point.index and column in point.columns:
            out[:, j] = float(point.at[q, column])
        else:
            return None
    return out


def row_draws(metric: str, kind: str, first: pd.Period, last: pd.Period, fan,
              stocks: pd.DataFrame, flows: pd.DataFrame | None) -> np.ndarray | None:
    """The per-draw statistic F_1..F_N of one row, or ``None`` without a fan or a rule.

    Parameters
    ----------
    metric, kind
        Backtest metric and its kind (``stock``, ``flow``, ``ratio``).
    first, last
        The row's first and last quarter.
    fan
        The vintage's fan, or ``None``.
    stocks, flows
        The point paths (for quarters before the fan's first).
    """
    rule = DRAW_RULES.get(metric)
    if fan is None or rule is None:
        return None
    if kind == "stock":
        x = _quarter_draws(rule.fan_series, rule.point_column, pd.PeriodIndex([last]), fan,
                           stocks)
        return None if x is None else x[:, 0]
    if flows is None:
        return None
    span = pd.period_range(first, last, freq="Q")
    num = _quarter_draws(rule.fan_series, rule.point_column, span, fan, flows)
    if num is None:
        return None
    if rule.den_series is None:
        return num.sum(axis=1)
    den = _quarter_draws(rule.den_series, rule.den_column, span, fan, flows)
    return None if den is None else num.sum(axis=1) / den.sum(axis=1)


def percentiles(draws: np.ndarray | None) -> tuple[float, float, float]:
    """(p10, p50, p90) of the draws [metric unit]; NaN without draws or when any is NaN."""
    if draws is None or not len(draws) or not np.isfinite(draws).all():
        return math.nan, math.nan, math.nan
    p10, p50, p90 = np.percentile(draws, [10, 50, 90])
    return float(p10), float(p50), float(p90)


def wilson_interval(k: int, n: int, z: float = Z_WILSON) -> tuple[float, float]:
    """Wilson score interval of a binomial share k / n (see the module docstring). [1]"""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    d = 1.0 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, c - h), min(1.0, c + h)


def interval_score(lo: float, hi: float, y: float, alpha: float = ALPHA) -> float:
    """IS_a(l, u; y) = (u - l) + (2/a)(l - y)1{y < l} + (2/a)(y - u)1{y > u} [metric unit]."""
    return ((hi - lo) + (2.0 / alpha) * max(0.0, lo - y) + (2.0 / alpha) * max(0.0, y - hi))


def coverage(rows: pd.DataFrame) -> dict[str, float | int]:
    """Coverage of the 80% interval over ``rows`` (columns ``p10``, ``p90``, ``actual``).

    Returns
    -------
    dict
        ``n_intervals`` (rows with an interval), ``n_inside``, ``coverage_80`` [1],
        ``coverage_80_low``, ``coverage_80_high`` (Wilson, 95%) [1], ``interval_score_pct``
        = mean 100 * IS / |actual| [%]; NaN where no row has an interval.
    """
    band = rows.reindex(columns=["p10", "p90", "actual"]).astype(float)
    has = band[np.isfinite(band["p10"]) & np.isfinite(band["p90"])]
    n = len(has)
    lo, hi, y = (has[c].to_numpy(float) for c in ("p10", "p90", "actual"))
    k = int(((lo <= y) & (y <= hi)).sum())
    w = wilson_interval(k, n)
    scores = [100.0 * interval_score(a, b, v) / abs(v) for a, b, v in zip(lo, hi, y, strict=True)
              if v != 0]
    return {"n_intervals": n, "n_inside": k, "coverage_80": k / n if n else math.nan,
            "coverage_80_low": w[0], "coverage_80_high": w[1],
            "interval_score_pct": float(np.mean(scores)) if scores else math.nan}


# --------------------------------------------------------------------------------------------
# The model's own error, as a vintage could have measured it (empirical, split-conformal-like)
# --------------------------------------------------------------------------------------------

MIN_POOL = 5
"""Fewest known errors a pool must hold before it is used alone; a smaller pool gives way to
the metric's family, then to every metric [count]. Fixed with the rule, before any widened
interval was scored."""

ERROR_FAMILY: dict[str, str] = {
    "gpus_units": "fleet", "computing_power_eflops": "fleet",
    "revenue_m": "revenue", "genai_revenue_m": "revenue", "genai_share": "revenue",
    **{m: "accounts" for m in ("gross_margin", "net_loss_m", "adjusted_net_loss_m",
                               "rd_opex_m", "sm_opex_m", "ga_opex_m")},
}
"""Backtest metric -> the family whose known errors it borrows when its own are too few."""

KNOWN_ERROR_COLUMNS = ["vintage", "metric", "family", "horizon_halves", "log_error", "published"]


def known_errors(past: pd.DataFrame | None, as_of: str) -> pd.DataFrame:
    """The model's own past errors a vintage dated ``as_of`` could have measured.

    Every compared row of an earlier vintage (``vintage`` < ``as_of``) whose actual was
    **published** on or before ``as_of`` (the disclosure date, not the period), with a
    positive actual and forecast:
        log_error = ln(actual / forecast)                                   [1]

    Parameters
    ----------
    past
        Rolling rows of earlier vintages (``vintage``, ``metric``, ``status``, ``actual``,
        ``forecast``, ``horizon_halves``, ``published``), or ``None``.
    as_of
        The vintage date (ISO).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KNOWN_ERROR_COLUMNS`, in the order of ``past``.
    """
    if past is None or past.empty:
        return pd.DataFrame(columns=KNOWN_ERROR_COLUMNS)
    done = past[(past["status"] == "compared") & (past["vintage"].astype(str) < as_of)
                & (past["published"].astype(str) <= as_of)]
    a, f = done["actual"].to_numpy(float), done["forecast"].to_numpy(float)
    h = done["horizon_halves"].to_numpy(float)
    ok = (a > 0) & (f > 0) & (h > 0)
    sel = done[ok]
    return pd.DataFrame({
        "vintage": sel["vintage"].astype(str).to_numpy(),
        "metric": sel["metric"].astype(str).to_numpy(),
        "family": [ERROR_FAMILY.get(m, m) for m in sel["metric"]],
        "horizon_halves": sel["horizon_halves"].astype(int).to_numpy(),
        "log_error": np.log(a[ok] / f[ok]),
        "published": sel["published"].astype(str).to_numpy()}, columns=KNOWN_ERROR_COLUMNS)


PRIOR_POOL = "street"
"""Name of the pool a vintage uses when the model has no known error of its own: the misses
of other forecasters of the subject reported by the vintage date (:func:`street_errors`)."""


def street_errors(misses: pd.DataFrame | None, as_of: str) -> pd.DataFrame:
    """Other forecasters' errors on the subject that a vintage dated ``as_of`` could read.

    Every row of ``street_misses.csv`` (:func:`capacity.scenarios.market.read_market`,
    ``street_misses``) published on or before ``as_of``: a broker's or the consensus's miss on
    a reported figure, as the source stated it when the figure came out,
        miss_pct  = 100 (actual / estimate - 1)                             [%]
        log_error = ln(actual / estimate) = ln(1 + miss_pct / 100)          [1]

    Parameters
    ----------
    misses
        The ``street_misses`` table (``published``, ``forecaster``, ``metric``, ``miss_pct``,
        ``horizon_halves``), or ``None``.
    as_of
        The vintage date (ISO).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KNOWN_ERROR_COLUMNS`; ``vintage`` holds the forecaster.

    Raises
    ------
    InputError
        ``street_misses.csv line N metric`` for a metric that is not a backtest metric (a
        typo would otherwise pass into the prior unseen).
    """
    if misses is None or misses.empty:
        return pd.DataFrame(columns=KNOWN_ERROR_COLUMNS)
    for i, metric in enumerate(misses["metric"].astype(str)):
        if metric.strip() not in ERROR_FAMILY:
            raise InputError(f"street_misses.csv line {i + 2} metric",
                             f"{metric!r} is not a backtest metric; one of "
                             f"{', '.join(ERROR_FAMILY)}")
    sel = misses[misses["published"].astype(str) <= as_of]
    miss = sel["miss_pct"].to_numpy(float)
    return pd.DataFrame({
        "vintage": sel["forecaster"].astype(str).to_numpy(),
        "metric": sel["metric"].astype(str).to_numpy(),
        "family": [ERROR_FAMILY.get(m, m) for m in sel["metric"]],
        "horizon_halves": sel["horizon_halves"].astype(int).to_numpy(),
        "log_error": np.log1p(miss / 100.0),
        "published": sel["published"].astype(str).to_numpy()}, columns=KNOWN_ERROR_COLUMNS)


def _both_signs(sel: pd.DataFrame, horizon: int) -> np.ndarray:
    """+/- |e_j| sqrt(h / h_j) of the errors in ``sel`` (2 M values) [1]."""
    e = np.abs(sel["log_error"].to_numpy(float))
    e = e * np.sqrt(max(horizon, 1) / sel["horizon_halves"].to_numpy(float))
    return np.concatenate([-e, e])


def error_pool(known: pd.DataFrame, metric: str, horizon: int,
               prior: pd.DataFrame | None = None) -> tuple[np.ndarray, str]:
    """The known errors that widen a row of ``metric`` at ``horizon`` half-years, and the
    pool's name.

    The metric's own errors when there are at least :data:`MIN_POOL`, else its family's
    (:data:`ERROR_FAMILY`), else every metric's (``all``). Each error is taken as its size
    |e_j| with both signs (split-conformal's absolute residual score: a vintage's bias is
    re-fitted away, so an earlier vintage's sign says little about the next), carried from its
    horizon h_j to the row's horizon h as a random walk's spread grows, with the square root of
    the horizon:
        e_j' = +/- |e_j| * sqrt(h / h_j)          (2 M values from M known errors)    [1]
    When the model has no known error (the first vintage), the ``prior``: every error of
    other forecasters the vintage could read (:func:`street_errors`), by the same rule, pool
    :data:`PRIOR_POOL`; ``none`` without either.
    """
    if known is None or known.empty:
        if prior is None or prior.empty:
            return np.empty(0), "none"
        return _both_signs(prior, horizon), PRIOR_POOL
    family = ERROR_FAMILY.get(metric, metric)
    for name, sel in ((metric, known[known["metric"] == metric]),
                      (family, known[known["family"] == family]), ("all", known)):
        if len(sel) >= MIN_POOL or (name == "all" and len(sel)):
            return _both_signs(sel, horizon), name
    return np.empty(0), "none"  # pragma: no cover - 'all' takes any non-empty pool


def upper_bound(metric: str) -> float | None:
    """The largest value ``metric`` can take (:attr:`DrawRule.upper`), or ``None``."""
    rule = DRAW_RULES.get(metric)
    return None if rule is None else rule.upper


def widened_band(draws: np.ndarray | None, errors: np.ndarray,
                 upper: float | None = None) -> tuple[float, float, float]:
    """(p10, p50, p90) of the draws combined with the known errors [metric unit].

    Every pair of a draw F_i (i = 1..N) and a known error e_j (j = 1..M):
        G_ij = min(F_i * exp(e_j), upper),   p10, p50, p90 = percentiles of the N x M G_ij
    (linear interpolation; :func:`percentiles`). ``upper`` is the metric's bound
    (:func:`upper_bound`: a GenAI share or gross margin above 1 cannot happen; a clipped
    percentile is the percentile of the clipped values). Without a known error the band is the
    draws alone.
    """
    if draws is None or not len(errors):
        return percentiles(draws)
    g = (draws[:, None] * np.exp(np.asarray(errors, float))[None, :]).ravel()
    return percentiles(g if upper is None else np.minimum(g, upper))
