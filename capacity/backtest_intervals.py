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
    p10, p50, p90 = percentiles 10, 50, 90 of F_1..F_N (linear interpolation)
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
    """

    fan_series: str
    point_column: str
    den_series: str | None = None
    den_column: str | None = None


DRAW_RULES: dict[str, DrawRule] = {
    "gpus_units": DrawRule("gpus_units", "gpus_units"),
    "computing_power_eflops": DrawRule("peak_eflops", "computing_power_eflops"),
    "revenue_rmb_m": DrawRule("revenue_rmb_m", "revenue_rmb_m"),
    "genai_revenue_rmb_m": DrawRule("genai_revenue_rmb_m", "genai_revenue_rmb_m"),
    "genai_share": DrawRule("genai_revenue_rmb_m", "genai_revenue_rmb_m",
                            "revenue_rmb_m", "revenue_rmb_m"),
    "gross_margin": DrawRule("gross_profit_rmb_m", "gross_profit_rmb_m",
                             "revenue_rmb_m", "revenue_rmb_m"),
    **{m: DrawRule(m, m) for m in ("net_loss_rmb_m", "adjusted_net_loss_rmb_m", "rd_opex_rmb_m",
                                   "sm_opex_rmb_m", "ga_opex_rmb_m")},
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
# The model's own error, as a vintage could have measured it
# --------------------------------------------------------------------------------------------

ERROR_GRID = 41
"""Points of the standard normal grid that spreads each draw by the model error [count]."""


def error_scales(past: pd.DataFrame, as_of: str) -> dict[str, float]:
    """Per metric, the model's error scale as measured by a vintage dated ``as_of``.

    Rows of earlier vintages (``past``: rolling rows with ``status``, ``actual``,
    ``forecast``, ``horizon_halves``, ``published``) whose actual was published on or before
    ``as_of`` are pooled over vintages and horizons, each log error scaled to one half-year
    (a random walk's spread grows with the square root of the horizon):
        s_m = sqrt(mean_r (ln(actual_r / forecast_r))^2 / h_r)         [1 per sqrt(half-year)]
    A metric with no such row has no scale (its band is the input fan alone).
    """
    if past is None or past.empty:
        return {}
    done = past[(past["status"] == "compared") & (past["published"].astype(str) <= as_of)]
    out: dict[str, float] = {}
    for metric, sel in done.groupby("metric", sort=False):
        a, f = sel["actual"].to_numpy(float), sel["forecast"].to_numpy(float)
        h = sel["horizon_halves"].to_numpy(float)
        ok = (a > 0) & (f > 0) & (h > 0)
        if ok.any():
            out[str(metric)] = float(np.sqrt(np.mean(np.log(a[ok] / f[ok]) ** 2 / h[ok])))
    return out


def with_model_error(draws: np.ndarray | None, scale: float | None, horizon: int
                     ) -> np.ndarray | None:
    """Each draw spread by the model's error: F_i * exp(sqrt(h) * s * z_j) over the normal
    quantiles z_j = Phi^-1((j - 0.5) / J), j = 1..:data:`ERROR_GRID` (deterministic); the
    draws unchanged without a scale."""
    if draws is None or scale is None or not np.isfinite(scale) or scale == 0:
        return draws
    from statistics import NormalDist

    z = np.array([NormalDist().inv_cdf((j - 0.5) / ERROR_GRID)
                  for j in range(1, ERROR_GRID + 1)])
    return (draws[:, None] * np.exp(math.sqrt(max(horizon, 0)) * scale * z)[None, :]).ravel()
