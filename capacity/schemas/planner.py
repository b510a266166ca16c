"""Input models of the purchase planner and its serving roofline."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from capacity.schemas.base import (
    LeadQuarters,
    NonNegative,
    Positive,
    PositiveShare,
    PriceUsd,
    Quarter,
    Real,
    StrictModel,
    Whole,
    Year,
)
from capacity.schemas.limits import (
    MAX_BUDGET_RMB_M,
    MAX_DATACENTER_MW,
    MAX_ELECTRICITY_RMB_PER_KWH,
    MAX_FACILITY_RMB_M_PER_MW,
    MAX_FX_RATE,
    MAX_INTERCONNECT_GBS,
    MAX_KV_VALUES_PER_TOKEN_K,
    MAX_LOT_UNITS,
    MAX_PUE,
    MAX_RENTAL_CAP_SHARE,
    MAX_REQUEST_TOKENS,
    MAX_SERVER_OVERHEAD,
    MAX_SERVING_BATCH,
    MAX_SYSTEM_RMB_PER_UNIT,
    MAX_USD_PER_GPU_HOUR,
    MIN_FX_RATE,
    MIN_PUE,
)


class ServingInputs(StrictModel):
    """Reference model and request mix the serving roofline is computed for
    (:func:`capacity.chips.roofline_tokens_per_s`). The model size is
    ``demand.inference.served_params_bn``."""

    active_share: PositiveShare = 1.0
    """Share of the parameters active per token (1 for a dense model). [1]"""
    kv_values_per_token_k: Annotated[Positive, Field(le=MAX_KV_VALUES_PER_TOKEN_K)] = 163.84
    """KV-cache values stored per token of context: 2 x layers x KV heads x head dim. [k]"""
    input_tokens: Annotated[Positive, Field(le=MAX_REQUEST_TOKENS)] = 300.0
    """Input (prompt) tokens per request. [tokens]"""
    output_tokens: Annotated[Positive, Field(le=MAX_REQUEST_TOKENS)] = 290.0
    """Output tokens per request. [tokens]"""
    max_batch: Annotated[Positive, Field(le=MAX_SERVING_BATCH)] = 128.0
    """Most requests one serving instance decodes together. [requests]"""
    memory_usable_share: PositiveShare = 0.9
    """Share of memory available to weights and KV cache. [1]"""
    achieved_share: PositiveShare = 0.70
    """Achieved throughput / roofline (kernels, attention, communication). [1]"""
    time_utilisation: PositiveShare = 0.8
    """Share of the quarter a serving chip is busy (diurnal load). [1]"""


class PowerRamp(StrictModel):
    """The power limit from the subject's dated power disclosures (docs/subjects.md).

    With a ramp, ``planner.datacenter_mw`` gets one step per quarter from the latest
    ``active_power_mw`` disclosed by the vintage date to ``contracted_by``, linear between the
    knots (active MW; each later ``active_power_guidance_mw`` before ``contracted_by``; the
    latest ``contracted_power_mw`` at ``contracted_by``), then held
    (:func:`capacity.scenarios.power.power_ramp_mw`). A step the scenario sets itself wins.
    """

    contracted_by: Quarter
    """Quarter by which all contracted power is available (the subject's stated
    assumption). [quarter]"""


class PlannerInputs(StrictModel):
    """Purchase LP inputs: prices, lead times, budget, power and costs."""

    fx_usd: Annotated[Real, Field(ge=MIN_FX_RATE, le=MAX_FX_RATE)] = 7.2
    """Exchange rate. [RMB/USD]"""
    price_usd: dict[str, PriceUsd] = Field(default_factory=dict)
    """Price per unit where the catalog has none, or to override it. [USD/unit]"""
    lead_time_quarters: dict[str, LeadQuarters] = Field(default_factory=dict)
    """Quarters between order (payment) and delivery, per chip. [quarters]"""
    default_lead_time_quarters: LeadQuarters = 2
    """Lead time for chips not in ``lead_time_quarters``. [quarters]"""
    capex_budget_m: dict[Year, Annotated[NonNegative, Field(le=MAX_BUDGET_RMB_M)]] = Field(
        default_factory=dict)
    """GPU capex budget per calendar year (paid at order). [RMB m] Years not listed: unlimited."""
    budget_carryover: bool = False
    """Unspent budget of a year may be spent in later years."""
    datacenter_mw: dict[Quarter, Annotated[NonNegative, Field(le=MAX_DATACENTER_MW)]] = Field(
        default_factory=dict)
    """Data-centre power available from the given quarter on (a step function). [MW]"""
    power_ramp: PowerRamp | None = None
    """Power limit from the dated active and contracted MW disclosures (:class:`PowerRamp`);
    None: ``datacenter_mw`` as given."""
    pue: Annotated[Real, Field(ge=MIN_PUE, le=MAX_PUE)] = 1.35
    """Power usage effectiveness. [1]"""
    server_overhead: Annotated[Real, Field(ge=1.0, le=MAX_SERVER_OVERHEAD)] = 1.5
    """Server power per GPU as a multiple of GPU TDP (CPU, memory, network). [1]"""
    electricity_per_kwh: Annotated[NonNegative, Field(le=MAX_ELECTRICITY_RMB_PER_KWH)] = 0.6
    """Electricity price. [RMB/kWh]"""
    discount_rate_annual: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.10
    """Annual discount rate for the cost objective. [1/year]"""
    system_per_unit: Annotated[NonNegative, Field(le=MAX_SYSTEM_RMB_PER_UNIT)] = 50_000.0
    """System share per accelerator slot (server chassis, CPUs, memory, NICs, switch board),
    for chips not in ``system_per_unit_by_chip``. [RMB/unit]"""
    system_per_unit_by_chip: dict[str, Annotated[NonNegative, Field(
        le=MAX_SYSTEM_RMB_PER_UNIT)]] = Field(default_factory=dict)
    """System share per slot for chips whose servers differ (PCIe hosts, bundled hosts).
    [RMB/unit]"""
    network_share_training: Annotated[NonNegative, Field(le=1.0)] = 0.10
    """Cluster network (switches, cables, optics) as a share of card + system, for chips fit
    for large-cluster training. [1]"""
    network_share_inference: Annotated[NonNegative, Field(le=1.0)] = 0.05
    """The same for inference-only (PCIe) chips. [1]"""
    facility_m_per_mw: Annotated[NonNegative, Field(le=MAX_FACILITY_RMB_M_PER_MW)] = 40.0
    """Facility fit-out per MW of facility power an installed unit draws. [RMB m/MW]"""
    maintenance_share_annual: Annotated[NonNegative, Field(le=1.0)] = 0.03
    """Maintenance and spares per year as a share of the hardware cost (card + system +
    network). [1/year]"""
    compute_reference_chip: str = "A100"
    """Chip whose GPU-hour the compute rates below are quoted for."""
    training_value_usd_per_gpu_hour: Annotated[Positive, Field(le=MAX_USD_PER_GPU_HOUR)] = 4.10
    """Value of one reference GPU-hour of own training served on time: the on-demand price
    of the same compute (what a delayed run's compute costs at short notice). [USD/GPU-hour]"""
    leasing_usd_per_gpu_hour: Annotated[NonNegative, Field(le=MAX_USD_PER_GPU_HOUR)] = 1.25
    """Price AIDC customers pay per reference GPU-hour leased. [USD/GPU-hour]"""
    rental_usd_per_gpu_hour: Annotated[NonNegative, Field(le=MAX_USD_PER_GPU_HOUR)] = 1.25
    """Price the company pays per reference GPU-hour rented for training. [USD/GPU-hour]"""
    compute_price_change_annual: Annotated[Real, Field(gt=-1.0, le=1.0)] = -0.2
    """Yearly change of the three compute rates above. [1/year]"""
    rental_cap_share: dict[Quarter, Annotated[NonNegative, Field(le=MAX_RENTAL_CAP_SHARE)]] = \
        Field(default_factory=dict)
    """Most rented compute as a share of owned effective compute, from the given quarter on
    (a step function; 0 closes renting; no steps: no renting). [1]"""
    serving: ServingInputs = Field(default_factory=lambda: ServingInputs())
    """Reference model and request mix of the serving roofline."""
    training_min_interconnect_gbs: Annotated[NonNegative, Field(le=MAX_INTERCONNECT_GBS)] = 300.0
    """Chips with less chip-to-chip bandwidth cannot serve large-cluster training. [GB/s]"""
    lot_units: Annotated[Whole, Field(ge=1, le=MAX_LOT_UNITS)] = 8
    """Purchase lot of whole-server plans (GPUs per server; ``--continuous`` plans fractions).
    [units]"""
    exclude_chips: list[str] = Field(default_factory=list)
    """Chips the planner may not buy (e.g. consumer cards)."""
