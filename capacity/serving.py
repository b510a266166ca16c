"""Serving and the value of compute: a unit's effective compute and tokens, the compute rates,
and the inference demand in tokens and in compute (one function each).

Domain room: the demand module (:mod:`capacity.compute_demand`) and the planner
(:mod:`capacity.planner.economics`, which re-exports these names) both call them, so the two
report one inference demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.batch import per_draw
from capacity.chips import TFLOPS_PER_EFLOPS, peak_tflops, roofline_tokens_per_s, serving_precision
from capacity.errors import InputError


def effective_eflops_per_unit(peak_tflops, efficiency):
    """Effective compute of one unit: peak_tflops x efficiency / 1e6. [EFLOPS/unit]"""
    return np.asarray(peak_tflops, float) * np.asarray(efficiency, float) / TFLOPS_PER_EFLOPS


def compute_rate_m_per_eflops(usd_per_gpu_hour: float, fx_usd: float,
                                  reference_eflops_per_unit: float, change_annual: float,
                                  years: np.ndarray, hours_per_period: float) -> np.ndarray:
    """A compute rate quoted per reference GPU-hour, per effective EFLOPS and period.

        rate[t] = usd x fx_usd x h / 1e6 / k_ref x (1 + change) ** years[t]
                                                            [RMB m/(EFLOPS*period)]

    with k_ref the reference chip's effective EFLOPS per unit and h the hours in a period.
    """
    if not reference_eflops_per_unit > 0:
        raise InputError("planner.compute_reference_chip", "the chip has no known effective "
                         "rate (FP16 TFLOPS x efficiency)")
    return (per_draw(usd_per_gpu_hour) * per_draw(fx_usd) * hours_per_period / 1e6
            / reference_eflops_per_unit * (1.0 + per_draw(change_annual))
            ** np.asarray(years, float))


def serving_tokens_per_s(catalog: pd.DataFrame, serving, served_params_bn: float) -> pd.Series:
    """Billed tokens one busy chip of each kind serves per second. [tokens/s/chip]

        tokens_per_s = roofline_tokens_per_s x achieved_share

    at each chip's serving precision (:func:`capacity.chips.serving_precision`), for the
    reference model of ``served_params_bn`` [bn parameters] and the request mix of
    ``planner.serving`` (:func:`capacity.chips.roofline_tokens_per_s`); 0 where the roofline is
    unknown or the model does not fit.
    """
    rate, nbytes = serving_precision(catalog)
    tps = roofline_tokens_per_s(
        rate.to_numpy(float), nbytes.to_numpy(float),
        catalog["memory_bw_tbs"].to_numpy(float) * 1000.0, catalog["memory_gb"].to_numpy(float),
        total_params_bn=served_params_bn,
        active_params_bn=served_params_bn * serving.active_share,
        kv_values_per_token_k=serving.kv_values_per_token_k,
        input_tokens=serving.input_tokens, output_tokens=serving.output_tokens,
        max_batch=serving.max_batch, memory_usable_share=serving.memory_usable_share)
    return pd.Series(np.nan_to_num(tps) * serving.achieved_share, index=catalog.index,
                     name="tokens_per_s")


def tokens_per_unit_period(catalog: pd.DataFrame, serving, served_params_bn: float,
                           hours_per_period: float) -> pd.Series:
    """Tokens one unit of each chip serves in a period. [tn tokens/(unit*period)]

        tokens = tokens_per_s x time_utilisation x 3600 h / 1e12

    (:func:`serving_tokens_per_s`: the roofline x achieved share.)
    """
    tps = serving_tokens_per_s(catalog, serving, served_params_bn)
    out = tps.to_numpy(float) * serving.time_utilisation * hours_per_period * 3600.0 / 1e12
    return pd.Series(out, index=catalog.index, name="tokens_per_unit_tn")


def inference_demand_tn(genai_revenue_m, leasing_revenue_m, token_price_per_m):
    """Tokens demanded: GenAI revenue not earned by leasing, at the token price.

        tokens[t] = max(0, genai_revenue[t] - leasing_revenue[t]) / price[t]   [tn tokens]

    (RMB m over RMB per m tokens is tn tokens.)
    """
    return np.maximum(0.0, np.asarray(genai_revenue_m, float)
                      - leasing_revenue_m) / token_price_per_m


def inference_demand_eflops(tokens_tn, reference_eflops_per_unit,
                            reference_tokens_per_unit_tn):
    """Effective compute that serves the tokens demanded, at the reference chip's serving
    roofline. [effective EFLOPS]

        eflops[t] = tokens[t] x k_ref / tau_ref

    with tokens [tn tokens/quarter] from :func:`inference_demand_tn`, k_ref the reference
    chip's effective EFLOPS per unit and tau_ref the tokens one unit of it serves a quarter
    (:func:`tokens_per_unit_period`: roofline x achieved share x time utilisation). The one
    conversion of tokens to compute: the demand module and the plan both report it.
    """
    if not reference_tokens_per_unit_tn > 0:
        raise InputError("planner.compute_reference_chip", "the chip serves no tokens (no "
                         "roofline for the served model); pick a chip that holds it")
    return np.asarray(tokens_tn, float) * reference_eflops_per_unit \
        / reference_tokens_per_unit_tn


def inference_demand(demand: dict, leasing_m_per_eflops, reference_eflops_per_unit: float,
                     reference_tokens_per_unit_tn: float) -> dict[str, np.ndarray]:
    """Inference demand per quarter, in tokens and in effective compute.

        tokens[t] = max(0, genai[t] - lease_rate[t] x leasing[t]) / price[t]   [tn tokens]
        eflops[t] = tokens[t] x k_ref / tau_ref                                [EFLOPS]

    (:func:`inference_demand_tn`, :func:`inference_demand_eflops`), from the demand columns
    ``genai_demand_m``, ``leasing_demand_eflops``, ``token_price_per_m_tokens``
    and the leasing rate [RMB m/(EFLOPS*quarter)]; k_ref [EFLOPS/unit] and tau_ref
    [tn tokens/(unit*quarter)] of ``planner.compute_reference_chip``
    (:func:`capacity.planner.data.serving_reference`).

    Returns
    -------
    dict
        ``demand_inference_tn`` [tn tokens], ``demand_inference_eflops`` [EFLOPS].
    """
    price = np.asarray(demand["token_price_per_m_tokens"], float)
    leasing = np.asarray(demand["leasing_demand_eflops"], float)
    tokens = inference_demand_tn(demand["genai_demand_m"], leasing * leasing_m_per_eflops,
                                 price)
    return {"demand_inference_tn": tokens,
            "demand_inference_eflops": inference_demand_eflops(
                tokens, reference_eflops_per_unit, reference_tokens_per_unit_tn)}


def serving_reference(scenario, hours_per_period: float) -> tuple[float, float]:
    """Effective EFLOPS [EFLOPS/unit] and tokens a period [tn tokens/(unit*period)] of one unit
    of ``planner.compute_reference_chip``: the basis of the compute rates and of
    :func:`inference_demand_eflops`.

        k_ref = peak_tflops x efficiency / 1e6;   tau_ref = tokens_per_unit_period[ref]

    Raises
    ------
    InputError
        When the reference chip is not in the catalog.
    """
    inp = scenario.inputs
    ref = inp.planner.compute_reference_chip
    if ref not in scenario.catalog.index:
        raise InputError("planner.compute_reference_chip", f"unknown chip {ref!r}")
    rate = peak_tflops(scenario.catalog)
    k = float(effective_eflops_per_unit(np.nan_to_num(float(rate[ref])),
                                        inp.fleet.efficiency_of(ref)))
    tau = tokens_per_unit_period(scenario.catalog, inp.planner.serving,
                                 inp.demand.inference.served_params_bn, hours_per_period)
    return k, float(tau[ref])


def scenario_inference_demand(scenario, periods: pd.PeriodIndex, demand: dict,
                              hours_per_period: float, periods_per_year: int
                              ) -> dict[str, np.ndarray]:
    """Inference demand of a scenario's demand columns, in tokens and effective compute: the
    plan's calculation (:func:`inference_demand` with the leasing rate of
    :func:`compute_rate_m_per_eflops` from the first planned quarter on and the
    :func:`serving_reference`), for the demand module to report.

    Returns
    -------
    dict
        ``demand_inference_tn`` [tn tokens], ``demand_inference_eflops`` [EFLOPS], (T,).
    """
    pl = scenario.inputs.planner
    k_ref, tau_ref = serving_reference(scenario, hours_per_period)
    first = scenario.inputs.horizon.periods[0]
    years = np.array([(t - first).n for t in periods], float) / periods_per_year
    lease = compute_rate_m_per_eflops(pl.leasing_usd_per_gpu_hour, pl.fx_usd, k_ref,
                                          pl.compute_price_change_annual, years,
                                          hours_per_period)
    return inference_demand(demand, lease, k_ref, tau_ref)
