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

Inference yield (calibrated on the half-year ending at the base period, 1H23), for comparison::

    yield [RMB m / (EFLOPS x quarter)] = GenAI revenue_1H23 / sum_{q in 1H23} (share x F_q)
    inference_yield_j [EFLOPS] = revenue_j / (yield x (1 + yield_change_annual) ** (j / 4))

Inference demand, one calculation, the plan's (``capacity.serving.inference_demand``)::

    tokens_j [tn]  = max(0, revenue_j - lease_rate_j x leasing_j) / price_j
    eflops_j       = tokens_j x k_ref / tau_ref   (reference chip's serving roofline)
    price_j        = price x (1 + price_change_annual) ** (j / 4)

GenAI revenue (demand side): the base is the calibration half-year's GenAI revenue over 2 quarters;
each later quarter grows by ``(1 + g_year) ** (1 / 4)``, so ``g_year`` is the year-on-year growth of
the quarterly run rate in that calendar year.

Leasing: ``share_of_fleet x F_window x revenue_q / revenue_window + fixed_eflops(q)`` (F_window the
calibration window's mean fleet; the fixed amount a step function): it grows with the GenAI market.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capacity.batch import batch_shape, number, per_draw, stack_last, step_index, step_values
from capacity.errors import InputError
from capacity.flops import (  # the FLOP arithmetic; the names stay importable from here too
    INFERENCE_FLOP_PER_PARAM_TOKEN,  # noqa: F401
    QUARTER_DAYS,  # noqa: F401
    QUARTER_SECONDS,
    SECONDS_PER_DAY,
    TRAINING_FLOP_PER_PARAM_TOKEN,  # noqa: F401
    required_effective_eflops,
    run_seconds,
    training_flop,
)
from capacity.scenarios import Scenario, disclosed
from capacity.schemas import (
    DemandInputs,
    InferenceInputs,
    LeasingInputs,
    RevenueInputs,
    TokenInputs,
    TrainingRun,
)

# --------------------------------------------------------------------------------------------
# Array level: the equations on numpy arrays indexed by quarter number
# --------------------------------------------------------------------------------------------
#
# These functions take validated inputs plus a few precomputed numbers (:class:`DemandFixed`)
# and arrays aligned to a vector ``qn`` of quarter numbers (:func:`quarter_number`). They are
# the only implementation of the demand equations: the DataFrame functions further down check
# their arguments and call them, and the Monte Carlo draws of :mod:`capacity.montecarlo` call them
# directly (thousands of times, so no pandas here).


def quarter_number(label: str | pd.Period) -> int:
    """Quarter number ``4 x year + quarter - 1`` of ``"2024Q3"`` or a quarterly Period.

    Consecutive quarters have consecutive numbers; ``q // 4`` is the year and ``q % 4 + 1`` the
    quarter of the year.

    Examples
    --------
    >>> quarter_number("2024Q3")  # 4 x 2024 + 3 - 1
    8098
    """
    if isinstance(label, pd.Period):
        return label.year * 4 + label.quarter - 1
    text = str(label)
    return int(text[:4]) * 4 + int(text[-1]) - 1


def quarter_numbers(periods: Iterable[str | pd.Period]) -> np.ndarray:
    """:func:`quarter_number` of each quarter. [int64]"""
    return np.array([quarter_number(p) for p in periods], np.int64)


def _quarter_label(qno: int) -> str:
    return f"{qno // 4}Q{qno % 4 + 1}"


@dataclass(frozen=True)
class DemandFixed:
    """What the demand equations need besides :class:`~capacity.schemas.DemandInputs`.

    Attributes
    ----------
    base_qno
        Quarter number of the base period.
    tokens_per_month_disclosed_tn
        Disclosed token production at the base period, used when
        ``demand.tokens.per_month_tn = "disclosed"`` (NaN otherwise). [tn tokens/month]
    calibration_revenue_disclosed_m
        Disclosed GenAI revenue of the calibration window, used when
        ``demand.revenue.base_half_year_m = "disclosed"`` (NaN otherwise). [RMB m]
    window
        The calibration window's quarters (``"2023Q1"``, ``"2023Q2"``).
    window_fleet_eflops
        Existing fleet in each quarter of the window. [effective EFLOPS]
    """

    base_qno: int
    tokens_per_month_disclosed_tn: float
    calibration_revenue_disclosed_m: float
    window: tuple[str, ...]
    window_fleet_eflops: np.ndarray


def token_production(tok: TokenInputs, per_month_tn: float, quarters: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Tokens produced and the token stock for ``i = 0 .. quarters - 1`` quarters after the base.

    ``i = 0`` is the base period: zero production (it is inside the initial stock).

    Returns
    -------
    tuple
        (produced [tn tokens/quarter], end-of-quarter stock [tn tokens])
    """
    i = np.arange(quarters, dtype=float)
    produced = 3.0 * per_draw(per_month_tn) * (1.0 + per_draw(tok.growth_annual)) \
        ** ((i - 1.0) / 4.0) * per_draw(tok.quality_yield)
    produced[..., 0] = 0.0
    return produced, per_draw(tok.initial_stock_tn) + np.cumsum(produced, axis=-1)


def run_span(run: TrainingRun) -> tuple[int, int]:
    """Quarter numbers of a run's first and last quarter (inclusive)."""
    s0 = quarter_number(run.start)
    s1 = quarter_number(run.end) if run.end is not None else \
        s0 + int(run.duration_quarters or 1) - 1
    return s0, s1


def run_numbers(run: TrainingRun, index: int, span: tuple[int, int], stock_tn: np.ndarray,
                base_qno: int) -> tuple[float, float, float]:
    """Tokens, compute and per-quarter effective EFLOPS of one training run.

    Parameters
    ----------
    run
        The run (``demand.runs[index]``).
    index
        Its position in ``demand.runs`` (for error messages).
    span
        Its first and last quarter number (:func:`run_span`).
    stock_tn
        Token stock at the end of the base period and each later quarter, covering the quarter
        before the run starts when ``tokens_tn = "stock"``. [tn tokens]
    base_qno
        Quarter number of the base period.

    Returns
    -------
    tuple
        (D [tn tokens], C = 6 N D [FLOP], C / (quarters x QUARTER_SECONDS x mfu) / 1e18
        [effective EFLOPS])
    """
    s0, s1 = span
    if run.tokens_per_param is not None:
        tokens = run.tokens_per_param * run.params_bn * 1e9 / 1e12
    elif run.tokens_tn == "stock":
        if s0 - 1 < base_qno:
            raise InputError(f"demand.runs[{index}].tokens_tn", f"'stock' needs a run starting "
                             f"after the base period {_quarter_label(base_qno)}; {run.name!r} "
                             f"starts {run.start}")
        tokens = number(stock_tn[..., s0 - 1 - base_qno])
    else:
        tokens = number(run.tokens_tn)  # type: ignore[arg-type]
    flop = training_flop(run.params_bn, tokens)
    return tokens, flop, required_effective_eflops(flop, (s1 - s0 + 1) * QUARTER_SECONDS, run.mfu)


def training_array(qn: np.ndarray, spans: Iterable[tuple[int, int]],
                   eflops: Iterable[float]) -> np.ndarray:
    """Training demand per quarter: the sum of the runs active in it. [effective EFLOPS]

    Shape (T,), or (B, T) when a run's compute is one value per draw (B,).
    """
    eflops = list(eflops)
    out = np.zeros((*batch_shape(*eflops), len(qn)))
    for (s0, s1), e in zip(spans, eflops, strict=True):
        out[..., (qn >= s0) & (qn <= s1)] += per_draw(e)
    return out


def genai_revenue_array(rev: RevenueInputs, per_quarter_m: float, base_qno: int,
                        qn: np.ndarray) -> np.ndarray:
    """Demand-side GenAI revenue per quarter (the base and earlier carry ``per_quarter_m``).

    revenue_q = revenue_{q-1} x (1 + g_year(q)) ** (1/4) after the base. [RMB m/quarter]
    """
    last = max(int(qn.max()), base_qno) if len(qn) else base_qno
    level: dict[int, float] = {}
    growth: dict[int, float] = {}
    x = per_quarter_m
    for q in range(base_qno + 1, last + 1):
        y = q // 4
        if y not in growth:
            growth[y] = (1.0 + rev.growth_in(y)) ** 0.25
        x = x * growth[y]
        level[q] = x
    return stack_last([level.get(int(q), per_quarter_m) for q in qn])


def inference_yield(revenue_m: float, fleet_share: float, window_fleet_eflops: np.ndarray,
                    window: tuple[str, ...]) -> float:
    """yield = R / sum_q (s x F_q) over the calibration window. [RMB m / (EFLOPS x quarter)]"""
    in_use = number(np.sum(per_draw(fleet_share) * window_fleet_eflops, axis=-1))
    if np.any(np.asarray(in_use) <= 0):
        raise InputError("fleet_effective_eflops", f"no fleet in {window[0]}..{window[-1]} to "
                         "calibrate the inference yield on")
    return revenue_m / in_use


def inference_yield_array(revenue_m: np.ndarray, yield_m: float, change_annual: float,
                          j: np.ndarray) -> np.ndarray:
    """revenue_j / (yield x (1 + change) ** (j / 4)). [effective EFLOPS]"""
    return revenue_m / (per_draw(yield_m) * (1.0 + per_draw(change_annual)) ** (j / 4.0))


def token_price_array(inf: InferenceInputs, j: np.ndarray) -> np.ndarray:
    """price_j = price x (1 + price_change) ** (j / 4), j quarters after the base.
    [RMB/m tokens] (= RMB m per tn tokens)"""
    return per_draw(inf.price_per_m_tokens) * (1.0 + per_draw(inf.price_change_annual)) \
        ** (j / 4.0)


def tokens_served_array(inf: InferenceInputs, revenue_m: np.ndarray, j: np.ndarray
                        ) -> np.ndarray:
    """revenue_j / price_j (:func:`token_price_array`). [tn tokens/quarter]"""
    # RMB m / (RMB / m tokens) = 1e6 x 1e6 tokens = tn tokens
    return revenue_m / token_price_array(inf, j)


def leasing_array(lease: LeasingInputs, qn: np.ndarray, window_fleet_eflops: np.ndarray,
                  market_index: np.ndarray) -> np.ndarray:
    """share_of_fleet x F_window x M_q + the fixed step in force in q. [effective EFLOPS]

    F_window is the mean existing fleet of the calibration window [effective EFLOPS] and
    M_q = revenue_q / revenue_window the GenAI market index [1] (:func:`genai_revenue_array`
    over its calibration-window level): the AIDC customers take a share of the fleet the
    market calls for, so leasing grows with the market, not with the existing fleet as it
    retires.
    """
    if np.any(np.asarray(lease.share_of_fleet) > 0):
        base = np.mean(np.asarray(window_fleet_eflops, float), axis=-1)
        out = per_draw(lease.share_of_fleet) * per_draw(base) * np.asarray(market_index, float)
    else:
        out = np.zeros(np.shape(market_index))
    if lease.fixed_eflops:
        held = step_index(quarter_numbers(lease.fixed_eflops), qn)
        out = out + step_values(held, list(lease.fixed_eflops.values()))
    return out


def _is(value: Any, word: str) -> bool:
    """Whether an input is the keyword ``word`` (not a number or one number per draw)."""
    return isinstance(value, str) and value == word


def demand_arrays(d: DemandInputs, fixed: DemandFixed, qn: np.ndarray,
                  fleet_eflops: np.ndarray) -> dict[str, Any]:
    """Every column of :func:`demand_table` as arrays aligned to ``qn`` (quarters after the base).

    Parameters
    ----------
    d
        Demand inputs.
    fixed
        Disclosures and the existing fleet of the calibration window.
    qn
        Quarter numbers (all after the base period).
    fleet_eflops
        Existing fleet in each quarter of ``qn``. [effective EFLOPS]

    Returns
    -------
    dict
        Arrays ``tokens_produced_tn_tokens``, ``token_stock_tn_tokens``,
        ``training_demand_eflops``,
        ``genai_demand_m``, ``genai_tokens_demanded_tn_tokens``, ``inference_yield_eflops``,
        ``leasing_demand_eflops``; and the float ``yield_m_per_eflops_quarter``. The
        inference demand itself (tokens net of leasing, and as compute) is the plan's
        (:func:`capacity.serving.scenario_inference_demand`), added by
        :func:`demand_table`.

    For a batch of stress draws, every number of ``d`` that varies is an array of one value
    per draw (B,); the arrays are then (B, T) and the yield (B,) (:mod:`capacity.batch`).
    """
    base = fixed.base_qno
    jj = qn - base
    j = jj.astype(float)
    tok = d.tokens
    per_month = fixed.tokens_per_month_disclosed_tn if _is(tok.per_month_tn, "disclosed") \
        else number(tok.per_month_tn)
    spans = [run_span(run) for run in d.runs]
    last = max([int(jj.max())] + [s0 - 1 - base for s0, _ in spans])
    produced, stock = token_production(tok, per_month, last + 1)
    eflops = [run_numbers(run, i, span, stock, base)[2]
              for i, (run, span) in enumerate(zip(d.runs, spans, strict=True))]
    training = training_array(qn, spans, eflops)
    rev_in = d.revenue
    r_half = fixed.calibration_revenue_disclosed_m \
        if _is(rev_in.base_half_year_m, "disclosed") else number(rev_in.base_half_year_m)
    revenue = genai_revenue_array(rev_in, r_half / len(fixed.window), base, qn)
    inf = d.inference
    yld = inference_yield(r_half, inf.calibration_fleet_share, fixed.window_fleet_eflops,
                          fixed.window)
    by_yield = inference_yield_array(revenue, yld, inf.yield_change_annual, j)
    served = tokens_served_array(inf, revenue, j)
    leasing = leasing_array(d.leasing, qn, fixed.window_fleet_eflops,
                            revenue / (r_half / len(fixed.window)))
    return {
        "tokens_produced_tn_tokens": produced[..., jj], "token_stock_tn_tokens": stock[..., jj],
        "training_demand_eflops": training, "genai_demand_m": revenue,
        "genai_tokens_demanded_tn_tokens": served,
        "token_price_per_m_tokens": token_price_array(inf, j),
        "inference_yield_eflops": by_yield, "leasing_demand_eflops": leasing,
        "yield_m_per_eflops_quarter": yld,
    }


# --------------------------------------------------------------------------------------------
# Helpers on the scenario
# --------------------------------------------------------------------------------------------


def _base(scenario: Scenario) -> pd.Period:
    return scenario.inputs.horizon.base


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


def _fleet_at(fleet_effective_eflops: pd.Series, periods: pd.PeriodIndex, what: str) -> pd.Series:
    missing = periods.difference(fleet_effective_eflops.index)
    if len(missing):
        raise InputError("fleet_effective_eflops", f"{what} needs the fleet in {missing[0]}, "
                         "which the fleet series does not cover")
    return fleet_effective_eflops.reindex(periods).astype(float)


def demand_fixed(scenario: Scenario, fleet_effective_eflops: pd.Series) -> DemandFixed:
    """The disclosures and calibration-window fleet that :func:`demand_arrays` needs.

    Raises
    ------
    InputError
        When a ``"disclosed"`` input has no disclosure or the fleet misses a window quarter.
    """
    inp = _inputs(scenario)
    tpm = tokens_per_month_tn(scenario) if inp.tokens.per_month_tn == "disclosed" else math.nan
    revenue, window = calibration_revenue(scenario)
    rev_disclosed = revenue if inp.revenue.base_half_year_m == "disclosed" else math.nan
    fleet = _fleet_at(fleet_effective_eflops, window, "the inference yield calibration")
    return DemandFixed(quarter_number(_base(scenario)), tpm, rev_disclosed,
                       tuple(str(p) for p in window), fleet.to_numpy(float))


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


def tokens_per_month_tn(scenario: Scenario) -> float:
    """High-quality tokens produced a month at the base period; NaN (the token outputs off,
    null in JSON) for a subject that discloses no token figure at all. [tn tokens/month]"""
    v = _inputs(scenario).tokens.per_month_tn
    if v == "disclosed":
        if disclosed(scenario.disclosures, "tokens_per_month_tn").empty:  # an optional part
            return math.nan
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
    base is inside the initial stock). See :func:`token_production`.

    Returns
    -------
    pandas.DataFrame
        Index ``period``; columns ``tokens_produced_tn_tokens`` [tn tokens/quarter] and
        ``token_stock_tn_tokens`` [tn tokens] (end of quarter).
    """
    base = _base(scenario)
    end = max(end, base)
    idx = pd.period_range(base, end, freq="Q", name="period")
    produced, stock = token_production(_inputs(scenario).tokens, tokens_per_month_tn(scenario),
                                       len(idx))
    return pd.DataFrame({"tokens_produced_tn_tokens": produced, "token_stock_tn_tokens": stock},
                        index=idx)


def first_quarter_reaching(stock: pd.Series, level_tn: float) -> pd.Period | None:
    """First quarter whose end-of-quarter stock is at least ``level_tn``; ``None`` if never."""
    hit = stock[stock >= level_tn - 1e-9]
    return hit.index[0] if len(hit) else None


# --------------------------------------------------------------------------------------------
# Training runs
# --------------------------------------------------------------------------------------------


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
        Columns ``name``, ``params_bn``, ``tokens_tn_tokens``, ``tokens_per_param``,
        ``flop`` [FLOP],
        ``start``, ``end``, ``duration_quarters``, ``mfu``, ``effective_eflops`` (needed in each
        quarter of the window), ``days_at_base_fleet`` (the whole base fleet on the run),
        ``token_stock_at_start_tn_tokens`` (NaN when the run starts before the base period).
    """
    base = _base(scenario)
    base_fleet = float(_fleet_at(fleet_effective_eflops, pd.PeriodIndex([base], freq="Q"),
                                 "days_at_base_fleet").iloc[0])
    runs = _inputs(scenario).runs
    last = max([base, *(r.start_period - 1 for r in runs)])
    stock = token_table(scenario, last)["token_stock_tn_tokens"]
    stock_tn = stock.to_numpy()
    rows = []
    for i, run in enumerate(runs):
        tokens, flop, eflops = run_numbers(run, i, run_span(run), stock_tn,
                                           quarter_number(base))
        before = run.start_period - 1
        rows.append({
            "name": run.name,
            "params_bn": run.params_bn,
            "tokens_tn_tokens": tokens,
            "tokens_per_param": tokens * 1e12 / (run.params_bn * 1e9),
            "flop": flop,
            "start": str(run.start_period),
            "end": str(run.end_period),
            "duration_quarters": run.quarters,
            "mfu": run.mfu,
            "effective_eflops": eflops,
            "days_at_base_fleet": run_seconds(flop, base_fleet, run.mfu) / SECONDS_PER_DAY,
            "token_stock_at_start_tn_tokens": (float(stock.loc[before]) if before >= base
                                               else math.nan),
        })
    cols = ["name", "params_bn", "tokens_tn_tokens", "tokens_per_param", "flop", "start", "end",
            "duration_quarters", "mfu", "effective_eflops", "days_at_base_fleet",
            "token_stock_at_start_tn_tokens"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["unit"] = {"tokens_tn_tokens": "tn tokens",
                         "token_stock_at_start_tn_tokens": "tn tokens"}
    return out


def training_eflops(periods: pd.PeriodIndex, runs: pd.DataFrame) -> pd.Series:
    """Training demand per quarter: the sum of the runs active in it. [effective EFLOPS]

    Parameters
    ----------
    periods
        Quarters to report.
    runs
        From :func:`runs_table` (``start``, ``end``, ``effective_eflops``).
    """
    spans = [(quarter_number(s), quarter_number(e)) for s, e in zip(runs["start"], runs["end"],
                                                                     strict=True)]
    out = training_array(quarter_numbers(periods), spans, runs["effective_eflops"].tolist())
    return pd.Series(out, index=periods, name="training_demand_eflops")


# --------------------------------------------------------------------------------------------
# Revenue and inference
# --------------------------------------------------------------------------------------------


def calibration_revenue(scenario: Scenario) -> tuple[float, pd.PeriodIndex]:
    """GenAI revenue of the calibration window and the quarters it spans.

    The window is the span of the latest ``genai_share`` disclosure at or before the base period
    (1H23: 2023Q1-2023Q2); revenue = ``genai_share`` x ``revenue_m`` of that span, unless
    ``demand.revenue.base_half_year_m`` gives it.

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
    v = _inputs(scenario).revenue.base_half_year_m
    if v != "disclosed":
        return float(v), window
    rev = d[(d["metric"] == "revenue_m") & (d["period"] == end)
            & (d["span_quarters"] == span)]
    if rev.empty:
        raise InputError("disclosures.revenue_m", f"no revenue disclosed for the {span} "
                         f"quarters ending {end}")
    return float(row["value"]) * float(rev["value"].iloc[0]), window


def inference_yield_m_per_eflops_quarter(scenario: Scenario,
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
    yield = R / sum_q (s x F_q), so yield x s x sum_q F_q reproduces the calibration revenue R
    (:func:`inference_yield`).
    """
    revenue, window = calibration_revenue(scenario)
    fleet = _fleet_at(fleet_effective_eflops, window, "the inference yield calibration")
    return inference_yield(revenue, _inputs(scenario).inference.calibration_fleet_share,
                           fleet.to_numpy(float), tuple(str(p) for p in window))


def genai_revenue_forecast(scenario: Scenario, periods: pd.PeriodIndex) -> pd.Series:
    """Demand-side GenAI revenue per quarter. [RMB m/quarter]

    Quarters of the calibration window carry its average (the actual); later quarters grow from
    the base period at ``(1 + g_year) ** (1/4)`` a quarter (:func:`genai_revenue_array`).
    Earlier quarters are an error.
    """
    revenue, window = calibration_revenue(scenario)
    if len(periods) and periods.min() < window[0]:
        raise InputError("periods", f"GenAI revenue is modelled from {window[0]} on; got "
                         f"{periods.min()}")
    out = genai_revenue_array(_inputs(scenario).revenue, revenue / len(window),
                              quarter_number(_base(scenario)), quarter_numbers(periods))
    return pd.Series(out, index=periods, dtype=float, name="genai_demand_m")


# --------------------------------------------------------------------------------------------
# The demand table
# --------------------------------------------------------------------------------------------

TOKEN_COLUMNS = ("tokens_produced_tn_tokens", "token_stock_tn_tokens")
"""The token columns of the demand table: NaN (null) for a subject that discloses no tokens."""

_TABLE_COLUMNS = ["tokens_produced_tn_tokens", "token_stock_tn_tokens", "training_demand_eflops",
                  "genai_demand_m", "genai_tokens_demanded_tn_tokens",
                  "token_price_per_m_tokens", "inference_yield_eflops",
                  "inference_demand_tn_tokens", "inference_demand_eflops",
                  "leasing_demand_eflops", "total_demand_eflops"]


def total_demand_eflops(training_eflops, inference_eflops, leasing_eflops) -> np.ndarray:
    """total[t] = training[t] + inference[t] + leasing[t]. [effective EFLOPS]"""
    return (np.asarray(training_eflops, float) + np.asarray(inference_eflops, float)
            + np.asarray(leasing_eflops, float))


def demand_table(scenario: Scenario, periods: pd.PeriodIndex,
                 fleet_effective_eflops: pd.Series) -> pd.DataFrame:
    """Compute demand per quarter, split into training, inference and leasing.

    Checks the arguments and calls :func:`demand_arrays` (the equations).

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
        Index ``period``; columns ``tokens_produced_tn_tokens``, ``token_stock_tn_tokens``,
        ``training_demand_eflops``, ``genai_demand_m``, ``genai_tokens_demanded_tn_tokens``,
        ``inference_yield_eflops`` (for comparison), ``inference_demand_tn_tokens`` and
        ``inference_demand_eflops`` (the plan's: ``capacity.serving.scenario_inference_demand``),
        ``leasing_demand_eflops``, ``total_demand_eflops`` (training + inference + leasing),
        ``existing_fleet_effective_eflops``. EFLOPS are effective EFLOPS.
    """
    periods = pd.PeriodIndex(periods, freq="Q", name="period")
    _check_after_base(scenario, periods, "demand")
    if len(periods) == 0:
        raise InputError("periods", "no quarters to model")
    fixed = demand_fixed(scenario, fleet_effective_eflops)
    fleet = _fleet_at(fleet_effective_eflops, periods, "demand")
    arrays = demand_arrays(_inputs(scenario), fixed, quarter_numbers(periods),
                           fleet.to_numpy(float))
    from capacity.serving import scenario_inference_demand

    inference = scenario_inference_demand(scenario, periods, arrays, QUARTER_SECONDS / 3600.0, 4)
    arrays["inference_demand_tn_tokens"] = inference["demand_inference_tn"]
    arrays["inference_demand_eflops"] = inference["demand_inference_eflops"]
    arrays["total_demand_eflops"] = total_demand_eflops(
        arrays["training_demand_eflops"], arrays["inference_demand_eflops"],
        arrays["leasing_demand_eflops"])
    out = pd.DataFrame({c: arrays[c] for c in _TABLE_COLUMNS}, index=periods)
    out["existing_fleet_effective_eflops"] = fleet
    out.index.name = "period"
    no_tokens = math.isnan(tokens_per_month_tn(scenario))  # an optional part: null, not 0
    checked = out.drop(columns=list(TOKEN_COLUMNS)) if no_tokens else out
    if checked.isna().any().any():
        col = checked.columns[checked.isna().any()][0]
        raise InputError(f"demand.{col}", "undefined in some quarter (NaN)")
    out.attrs["unit"] = {c: ("EFLOPS" if c.endswith("_eflops") else  # effective, as named
                             "tn tokens" if c.endswith("_tn_tokens") else
                             "RMB per m tokens" if c.endswith("_per_m_tokens") else "RMB m")
                         for c in out.columns}
    return out
