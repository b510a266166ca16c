"""Compute demand: training-token pipeline, training runs, inference from revenue, AIDC leasing.

Every compute figure is in *effective* EFLOPS: dense FP16 peak x the chip's efficiency factor
(``fleet.efficiency``, 1.0 for a full-NVLink NVIDIA data-centre part). The run MFU (or the serving
utilisation) carries the absolute utilisation on top of that.

Notes
-----
A quarter is ``QUARTER_DAYS`` = 365.25 / 4 = 91.3125 days = 7,889,400 s.

Token stock, with ``j = 1, 2, ...`` the quarters after the base period::

    produced_j [tn]  = 3 x per_month_tn x (1 + growth_annual) ** ((j - 1) / 4) x quality_yield
    stock_j    [tn]  = initial_stock_tn + sum_{i <= j} produced_i

Training run of N parameters on D tokens, over the quarters q = start..end, at MFU m::

    C [FLOP]            = 6 x N x D
    run EFLOPS [eff.]   = C / (quarters x QUARTER_SECONDS x m) / 1e18   (each quarter of the run)
    days at a fleet F   = C / (F x 1e18 x m) / 86,400

Inference, method ``yield`` (calibrated on the half-year ending at the base period, 1H23)::

    yield [RMB m / (EFLOPS x quarter)] = GenAI revenue_1H23 / sum_{q in 1H23} (share x F_q)
    inference_j [EFLOPS] = revenue_j / (yield x (1 + yield_change_annual) ** (j / 4))

Inference, method ``tokens``::

    tokens served_j [tn] = revenue_j [RMB m] / price_j [RMB / m tokens]
    inference_j [EFLOPS] = 2 x N_served x tokens_j x 1e12 / (QUARTER_SECONDS x u) / 1e18
    price_j              = price x (1 + price_change_annual) ** (j / 4)

GenAI revenue (demand side): the base is the calibration half-year's GenAI revenue over 2 quarters;
each later quarter grows by ``(1 + g_year) ** (1 / 4)``, so ``g_year`` is the year-on-year growth of
the quarterly run rate in that calendar year.

Leasing: ``share_of_fleet x F_q + fixed_eflops(q)`` (the fixed amount a step function).
"""

from __future__ import annotations

import math

import pandas as pd

from capacity.errors import InputError
from capacity.scenarios import Scenario, disclosed
from capacity.schemas import DemandInputs, TrainingRun, to_period

QUARTER_DAYS = 365.25 / 4
"""Length of a quarter. [days]"""
SECONDS_PER_DAY = 86_400.0
QUARTER_SECONDS = QUARTER_DAYS * SECONDS_PER_DAY
"""Length of a quarter: 7,889,400. [s]"""
TRAINING_FLOP_PER_PARAM_TOKEN = 6.0
"""Forward + backward pass FLOP per parameter per training token. [FLOP]"""
INFERENCE_FLOP_PER_PARAM_TOKEN = 2.0
"""Forward pass FLOP per parameter per served token. [FLOP]"""


# --------------------------------------------------------------------------------------------
# Plain arithmetic
# --------------------------------------------------------------------------------------------


def training_flop(params_bn: float, tokens_tn: float) -> float:
    """Training compute ``C = 6 N D``.

    Parameters
    ----------
    params_bn
        Parameters N. [bn]
    tokens_tn
        Training tokens D. [tn tokens]

    Returns
    -------
    float
        Compute. [FLOP]

    Examples
    --------
    >>> training_flop(100, 10)  # 6 x 100e9 x 10e12
    6e+24
    """
    return TRAINING_FLOP_PER_PARAM_TOKEN * params_bn * 1e9 * tokens_tn * 1e12


def required_effective_eflops(flop: float, seconds: float, mfu: float) -> float:
    """Effective EFLOPS that run ``flop`` in ``seconds`` at utilisation ``mfu``: C / (T m) / 1e18.

    Parameters
    ----------
    flop
        Compute. [FLOP]
    seconds
        Wall-clock window. [s]
    mfu
        Achieved over effective peak FLOP/s. [1]

    Returns
    -------
    float
        [effective EFLOPS]
    """
    return flop / (seconds * mfu) / 1e18


def run_seconds(flop: float, effective_eflops: float, mfu: float) -> float:
    """Wall-clock time of ``flop`` on ``effective_eflops`` at ``mfu``: C / (F 1e18 m).

    Returns
    -------
    float
        [s]

    Examples
    --------
    >>> run_seconds(6e24, 6.0, 0.4)  # 6e24 / (6e18 x 0.4)
    2500000.0
    """
    if effective_eflops <= 0:
        return math.inf
    return flop / (effective_eflops * 1e18 * mfu)


# --------------------------------------------------------------------------------------------
# Helpers on the scenario
# --------------------------------------------------------------------------------------------


def _base(scenario: Scenario) -> pd.Period:
    return to_period(scenario.inputs.horizon.base_period)


def _inputs(scenario: Scenario) -> DemandInputs:
    return scenario.inputs.demand


def _disclosed_at_or_before(scenario: Scenario, metric: str, when: pd.Period) -> tuple[
        pd.Period, float]:
    """Latest disclosed value of ``metric`` at or before ``when``."""
    series = disclosed(scenario.disclosures, metric)
    series = series[series.index <= when]
    if series.empty:
        raise InputError(f"disclosures.{metric}", f"no value at or before {when}")
    series = series.sort_index()
    return series.index[-1], float(series.iloc[-1])


def _check_after_base(scenario: Scenario, periods: pd.PeriodIndex, what: str) -> None:
    base = _base(scenario)
    if len(periods) and periods.min() <= base:
        raise InputError("periods", f"{what} is modelled for quarters after the base period "
                         f"{base}; got {periods.min()}")


def _quarters_after_base(scenario: Scenario, periods: pd.PeriodIndex) -> pd.Series:
    """``j`` = quarters after the base period (1 for the first forecast quarter)."""
    base = _base(scenario)
    return pd.Series([(p - base).n for p in periods], index=periods, dtype=float)


def _fleet_at(fleet_effective_eflops: pd.Series, periods: pd.PeriodIndex, what: str) -> pd.Series:
    missing = periods.difference(fleet_effective_eflops.index)
    if len(missing):
        raise InputError("fleet_effective_eflops", f"{what} needs the fleet in {missing[0]}, "
                         "which the fleet series does not cover")
    return fleet_effective_eflops.reindex(periods).astype(float)


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


def tokens_per_month_tn(scenario: Scenario) -> float:
    """High-quality tokens produced a month at the base period. [tn tokens/month]"""
    v = _inputs(scenario).tokens.per_month_tn
    if v == "disclosed":
        return _disclosed_at_or_before(scenario, "tokens_per_month_tn", _base(scenario))[1]
    return float(v)


def token_target(scenario: Scenario) -> tuple[float, pd.Period | None]:
    """The token-stock target and the quarter it is due (``None`` when set by hand).

    Returns
    -------
    tuple
        (target [tn tokens], due quarter or None)
    """
    v = _inputs(scenario).tokens.target_tn
    if v == "disclosed":
        series = disclosed(scenario.disclosures, "token_stock_target_tn")
        if series.empty:
            raise InputError("disclosures.token_stock_target_tn", "not disclosed")
        return float(series.iloc[-1]), series.index[-1]
    return float(v), None


def token_table(scenario: Scenario, end: pd.Period) -> pd.DataFrame:
    """Tokens produced and the token stock per quarter, base period through ``end``.

    The base-period row carries the initial stock and zero production (production before the
    base is inside the initial stock).

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``tokens_produced_tn`` [tn tokens/quarter] and
        ``token_stock_tn`` [tn tokens] (end of quarter).
    """
    tok = _inputs(scenario).tokens
    base = _base(scenario)
    end = max(end, base)
    idx = pd.period_range(base, end, freq="Q", name="period")
    j = pd.Series(range(len(idx)), index=idx, dtype=float)
    per_month = tokens_per_month_tn(scenario)
    produced = 3.0 * per_month * (1.0 + tok.growth_annual) ** ((j - 1.0) / 4.0) * tok.quality_yield
    produced.iloc[0] = 0.0
    stock = tok.initial_stock_tn + produced.cumsum()
    return pd.DataFrame({"tokens_produced_tn": produced, "token_stock_tn": stock})


def first_quarter_reaching(stock: pd.Series, level_tn: float) -> pd.Period | None:
    """First quarter whose end-of-quarter stock is at least ``level_tn``; ``None`` if never."""
    hit = stock[stock >= level_tn - 1e-9]
    return hit.index[0] if len(hit) else None


# --------------------------------------------------------------------------------------------
# Training runs
# --------------------------------------------------------------------------------------------


def run_tokens_tn(scenario: Scenario, run: TrainingRun, index: int = 0) -> float:
    """Training tokens D of a run. [tn tokens]

    ``tokens_tn = "stock"`` takes the stock at the end of the quarter before the run starts.
    """
    if run.tokens_per_param is not None:
        return run.tokens_per_param * run.params_bn * 1e9 / 1e12
    if run.tokens_tn == "stock":
        before = run.start_period - 1
        if before < _base(scenario):
            raise InputError(f"demand.runs[{index}].tokens_tn", f"'stock' needs a run starting "
                             f"after the base period {_base(scenario)}; {run.name!r} starts "
                             f"{run.start_period}")
        return float(token_table(scenario, before)["token_stock_tn"].loc[before])
    return float(run.tokens_tn)  # type: ignore[arg-type]


def runs_table(scenario: Scenario, fleet_effective_eflops: pd.Series) -> pd.DataFrame:
    """One row per training run: size, compute, window and the effective EFLOPS it needs.

    Parameters
    ----------
    scenario
        The scenario.
    fleet_effective_eflops
        Existing fleet by quarter [effective EFLOPS]; its base-period value gives
        ``days_at_base_fleet``.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``params_bn``, ``tokens_tn``, ``tokens_per_param``, ``flop`` [FLOP],
        ``start``, ``end``, ``duration_quarters``, ``mfu``, ``effective_eflops`` (needed in each
        quarter of the window), ``days_at_base_fleet`` (the whole base fleet on the run),
        ``token_stock_at_start_tn`` (NaN when the run starts before the base period).
    """
    base = _base(scenario)
    base_fleet = float(_fleet_at(fleet_effective_eflops, pd.PeriodIndex([base], freq="Q"),
                                 "days_at_base_fleet").iloc[0])
    runs = _inputs(scenario).runs
    last = max([base, *(r.start_period - 1 for r in runs)])
    stock = token_table(scenario, last)["token_stock_tn"]
    rows = []
    for i, run in enumerate(runs):
        tokens = run_tokens_tn(scenario, run, i)
        flop = training_flop(run.params_bn, tokens)
        before = run.start_period - 1
        rows.append({
            "name": run.name,
            "params_bn": run.params_bn,
            "tokens_tn": tokens,
            "tokens_per_param": tokens * 1e12 / (run.params_bn * 1e9),
            "flop": flop,
            "start": str(run.start_period),
            "end": str(run.end_period),
            "duration_quarters": run.quarters,
            "mfu": run.mfu,
            "effective_eflops": required_effective_eflops(flop, run.quarters * QUARTER_SECONDS,
                                                          run.mfu),
            "days_at_base_fleet": run_seconds(flop, base_fleet, run.mfu) / SECONDS_PER_DAY,
            "token_stock_at_start_tn": float(stock.loc[before]) if before >= base else math.nan,
        })
    cols = ["name", "params_bn", "tokens_tn", "tokens_per_param", "flop", "start", "end",
            "duration_quarters", "mfu", "effective_eflops", "days_at_base_fleet",
            "token_stock_at_start_tn"]
    return pd.DataFrame(rows, columns=cols)


def training_eflops(periods: pd.PeriodIndex, runs: pd.DataFrame) -> pd.Series:
    """Training demand per quarter: the sum of the runs active in it. [effective EFLOPS]

    Parameters
    ----------
    periods
        Quarters to report.
    runs
        From :func:`runs_table` (``start``, ``end``, ``effective_eflops``).
    """
    out = pd.Series(0.0, index=periods, name="training_eflops")
    for row in runs.itertuples(index=False):
        window = pd.period_range(row.start, row.end, freq="Q")
        active = periods.intersection(window)
        out.loc[active] += row.effective_eflops
    return out


# --------------------------------------------------------------------------------------------
# Revenue and inference
# --------------------------------------------------------------------------------------------


def calibration_revenue(scenario: Scenario) -> tuple[float, pd.PeriodIndex]:
    """GenAI revenue of the calibration window and the quarters it spans.

    The window is the span of the latest ``genai_share`` disclosure at or before the base period
    (1H23: 2023Q1-2023Q2); revenue = ``genai_share`` x ``revenue_rmb_m`` of that span, unless
    ``demand.revenue.base_half_year_rmb_m`` gives it.

    Returns
    -------
    tuple
        (GenAI revenue of the window [RMB m], quarters of the window)
    """
    base = _base(scenario)
    d = scenario.disclosures
    shares = d[(d["metric"] == "genai_share") & (d["period"] <= base) & (d["span_quarters"] > 0)]
    if shares.empty:
        raise InputError("disclosures.genai_share", f"no GenAI share disclosed at or before {base}")
    row = shares.sort_values("period").iloc[-1]
    end, span = row["period"], int(row["span_quarters"])
    window = pd.period_range(end - (span - 1), end, freq="Q", name="period")
    v = _inputs(scenario).revenue.base_half_year_rmb_m
    if v != "disclosed":
        return float(v), window
    rev = d[(d["metric"] == "revenue_rmb_m") & (d["period"] == end)
            & (d["span_quarters"] == span)]
    if rev.empty:
        raise InputError("disclosures.revenue_rmb_m", f"no revenue disclosed for the {span} "
                         f"quarters ending {end}")
    return float(row["value"]) * float(rev["value"].iloc[0]), window


def inference_yield_rmb_m_per_eflops_quarter(scenario: Scenario,
                                             fleet_effective_eflops: pd.Series) -> float:
    """GenAI revenue per effective EFLOPS-quarter, calibrated on the half-year ending at the base.

    Parameters
    ----------
    scenario
        The scenario (``demand.inference.calibration_fleet_share``).
    fleet_effective_eflops
        Existing fleet by quarter, covering the calibration quarters. [effective EFLOPS]

    Returns
    -------
    float
        [RMB m / (effective EFLOPS x quarter)]

    Notes
    -----
    yield = R / sum_q (s x F_q), so yield x s x sum_q F_q reproduces the calibration revenue R.
    """
    revenue, window = calibration_revenue(scenario)
    fleet = _fleet_at(fleet_effective_eflops, window, "the inference yield calibration")
    share = _inputs(scenario).inference.calibration_fleet_share
    in_use = float((share * fleet).sum())
    if in_use <= 0:
        raise InputError("fleet_effective_eflops", f"no fleet in {window[0]}..{window[-1]} to "
                         "calibrate the inference yield on")
    return revenue / in_use


def genai_revenue_forecast(scenario: Scenario, periods: pd.PeriodIndex) -> pd.Series:
    """Demand-side GenAI revenue per quarter. [RMB m/quarter]

    Quarters of the calibration window carry its average (the actual); later quarters grow from
    the base period at ``(1 + g_year) ** (1/4)`` a quarter. Earlier quarters are an error.
    """
    revenue, window = calibration_revenue(scenario)
    if len(periods) and periods.min() < window[0]:
        raise InputError("periods", f"GenAI revenue is modelled from {window[0]} on; got "
                         f"{periods.min()}")
    base = _base(scenario)
    per_quarter = revenue / len(window)
    rev_in = scenario.inputs.demand.revenue
    last = max([base, *periods]) if len(periods) else base
    level = {}
    x = per_quarter
    for p in pd.period_range(base, last, freq="Q"):
        if p > base:
            x *= (1.0 + rev_in.growth_in(p.year)) ** 0.25
        level[p] = x
    out = pd.Series([level.get(p, per_quarter) for p in periods], index=periods, dtype=float,
                    name="genai_revenue_rmb_m")
    return out


def inference_yield_eflops(scenario: Scenario, revenue: pd.Series, yield_rmb_m: float
                           ) -> pd.Series:
    """Inference demand by the revenue-yield method. [effective EFLOPS]"""
    j = _quarters_after_base(scenario, revenue.index)
    change = _inputs(scenario).inference.yield_change_annual
    return (revenue / (yield_rmb_m * (1.0 + change) ** (j / 4.0))).rename(
        "inference_yield_eflops")


def tokens_served_tn(scenario: Scenario, revenue: pd.Series) -> pd.Series:
    """Tokens served: revenue / price per million tokens. [tn tokens/quarter]"""
    inf = _inputs(scenario).inference
    j = _quarters_after_base(scenario, revenue.index)
    price = inf.price_rmb_per_m_tokens * (1.0 + inf.price_change_annual) ** (j / 4.0)
    # RMB m / (RMB / m tokens) = 1e6 x 1e6 tokens = tn tokens
    return (revenue / price).rename("tokens_served_tn")


def inference_tokens_eflops(scenario: Scenario, tokens_tn: pd.Series) -> pd.Series:
    """Inference demand by the tokens method: 2 N FLOP a token at the serving utilisation."""
    inf = _inputs(scenario).inference
    flop = INFERENCE_FLOP_PER_PARAM_TOKEN * inf.served_params_bn * 1e9 * tokens_tn * 1e12
    return required_effective_eflops(flop, QUARTER_SECONDS, inf.serving_utilisation).rename(
        "inference_tokens_eflops")


# --------------------------------------------------------------------------------------------
# Leasing
# --------------------------------------------------------------------------------------------


def leasing_eflops(scenario: Scenario, periods: pd.PeriodIndex,
                   fleet_effective_eflops: pd.Series) -> pd.Series:
    """AIDC capacity leased out: share x existing fleet + fixed step. [effective EFLOPS]"""
    lease = _inputs(scenario).leasing
    out = pd.Series(0.0, index=periods, name="leasing_eflops")
    if lease.share_of_fleet > 0:
        out += lease.share_of_fleet * _fleet_at(fleet_effective_eflops, periods, "leasing")
    if lease.fixed_eflops:
        steps = sorted((to_period(q), v) for q, v in lease.fixed_eflops.items())
        for p in periods:
            applicable = [v for q, v in steps if q <= p]
            if applicable:
                out.loc[p] += applicable[-1]
    return out


# --------------------------------------------------------------------------------------------
# The demand table
# --------------------------------------------------------------------------------------------


def demand_table(scenario: Scenario, periods: pd.PeriodIndex,
                 fleet_effective_eflops: pd.Series) -> pd.DataFrame:
    """Compute demand per quarter, split into training, inference and leasing.

    Parameters
    ----------
    scenario
        The scenario (``demand`` inputs).
    periods
        Quarters after the base period.
    fleet_effective_eflops
        Existing fleet (initial + placed orders) by quarter, covering the calibration half-year
        and ``periods``. [effective EFLOPS]

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``tokens_produced_tn``, ``token_stock_tn``, ``training_eflops``,
        ``genai_revenue_rmb_m``, ``tokens_served_tn``, ``inference_yield_eflops``,
        ``inference_tokens_eflops``, ``inference_eflops`` (the chosen method), ``leasing_eflops``,
        ``total_eflops`` (training + inference + leasing), ``existing_fleet_effective_eflops``.
        EFLOPS are effective EFLOPS.
    """
    periods = pd.PeriodIndex(periods, freq="Q", name="period")
    _check_after_base(scenario, periods, "demand")
    if len(periods) == 0:
        raise InputError("periods", "no quarters to model")
    tokens = token_table(scenario, periods.max()).reindex(periods)
    runs = runs_table(scenario, fleet_effective_eflops)
    training = training_eflops(periods, runs)
    revenue = genai_revenue_forecast(scenario, periods)
    yld = inference_yield_rmb_m_per_eflops_quarter(scenario, fleet_effective_eflops)
    by_yield = inference_yield_eflops(scenario, revenue, yld)
    served = tokens_served_tn(scenario, revenue)
    by_tokens = inference_tokens_eflops(scenario, served)
    chosen = by_yield if _inputs(scenario).inference.method == "yield" else by_tokens
    leasing = leasing_eflops(scenario, periods, fleet_effective_eflops)
    fleet = _fleet_at(fleet_effective_eflops, periods, "demand")
    out = pd.DataFrame({
        "tokens_produced_tn": tokens["tokens_produced_tn"],
        "token_stock_tn": tokens["token_stock_tn"],
        "training_eflops": training,
        "genai_revenue_rmb_m": revenue,
        "tokens_served_tn": served,
        "inference_yield_eflops": by_yield,
        "inference_tokens_eflops": by_tokens,
        "inference_eflops": chosen,
        "leasing_eflops": leasing,
    }, index=periods)
    out["total_eflops"] = out["training_eflops"] + out["inference_eflops"] + out["leasing_eflops"]
    out["existing_fleet_effective_eflops"] = fleet
    out.index.name = "period"
    if out.isna().any().any():
        col = out.columns[out.isna().any()][0]
        raise InputError(f"demand.{col}", "undefined in some quarter (NaN)")
    out.attrs["unit"] = {c: ("EFLOPS (effective)" if c.endswith("_eflops") else
                             "tn tokens" if c.endswith("_tn") else "RMB m")
                         for c in out.columns}
    return out
