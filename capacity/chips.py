"""Chip catalog arithmetic: TPP, performance density, prices, fitness for training.

Functions take the catalog DataFrame from :func:`capacity.scenarios.read_catalog` (indexed by chip)
and return Series or DataFrames indexed by chip (the price rule, :func:`price_per_unit`, takes
the catalog's price columns as arrays, so that a batch of stress draws prices with it too).
Unknown figures stay NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.batch import batch_shape, per_draw
from capacity.errors import UnknownNameError, unknown_name

#: Bit length of each dense-rate column, for TPP = rate x bit length (BIS 3A090 technical note).
RATE_BITS: dict[str, int] = {"fp16_tflops": 16, "int8_tops": 8, "fp8_tflops": 8}

TFLOPS_PER_EFLOPS = 1e6


def tpp(catalog: pd.DataFrame) -> pd.Series:
    """Total processing performance per chip.

    TPP = max over precisions p of (dense rate_p [TFLOPS or TOPS]) x (bit length_p), the BIS 3A090
    definition with rates in tera-operations per second. Where no dense rate is known, the
    published TPP (``tpp_published``) is used; where neither is known, NaN.

    Parameters
    ----------
    catalog
        Chip catalog indexed by chip.

    Returns
    -------
    pandas.Series
        TPP per chip. [1] (``unit`` attr: ``"TPP"``)

    Examples
    --------
    H100: max(989.4 x 16, 1979 x 8) = max(15,830.4, 15,832) = 15,832.
    """
    parts = pd.concat([catalog[col] * bits for col, bits in RATE_BITS.items()], axis=1)
    computed = parts.max(axis=1, skipna=True)
    out = computed.where(parts.notna().any(axis=1), catalog["tpp_published"])
    out.name = "tpp"
    out.attrs["unit"] = "TPP"
    return out


def tpp_source(catalog: pd.DataFrame) -> pd.Series:
    """Where each chip's TPP comes from: ``computed``, ``published`` or ``unknown``."""
    has_rate = catalog[list(RATE_BITS)].notna().any(axis=1)
    src = np.where(has_rate, "computed",
                   np.where(catalog["tpp_published"].notna(), "published", "unknown"))
    return pd.Series(src, index=catalog.index, name="tpp_source")


def performance_density(catalog: pd.DataFrame) -> pd.Series:
    """Performance density PD = TPP / die area. [TPP/mm^2]; NaN where the die area is unknown."""
    out = tpp(catalog) / catalog["die_mm2"]
    out.name = "performance_density"
    out.attrs["unit"] = "TPP/mm2"
    return out


def peak_tflops(catalog: pd.DataFrame) -> pd.Series:
    """Dense FP16/BF16 peak per chip, the basis the company discloses. [TFLOPS]"""
    out = catalog["fp16_tflops"].rename("peak_tflops")
    out.attrs["unit"] = "TFLOPS"
    return out


def usd_price_basis(catalog_price_rmb, catalog_price_usd, price_usd: dict[int, object]
                    ) -> np.ndarray:
    """The USD price each chip is priced from (the first two branches of
    :func:`price_per_unit`). [USD/unit]

        usd[c] = price_usd[c]       where the scenario sets one (``planner.price_usd``)
               = catalog_usd[c]     else, where the catalog quotes no RMB price
               = NaN                else (priced in RMB, or unknown)

    ``catalog_price_rmb``, ``catalog_price_usd``: shape (C,), NaN unknown. [RMB/unit],
    [USD/unit]. ``price_usd``: {position c: price}, a float or one per draw (B,) [USD/unit].
    Shape (C,), or (B, C) when a price is per draw.
    """
    rmb = np.asarray(catalog_price_rmb, float)
    usd = np.where(np.isfinite(rmb), np.nan, np.asarray(catalog_price_usd, float))
    usd = np.array(np.broadcast_to(usd, (*batch_shape(*price_usd.values()), usd.shape[-1])))
    for j, price in price_usd.items():
        usd[..., j] = price
    return usd


def price_per_unit(catalog_price_rmb, catalog_price_usd, fx_usd,
                       price_usd: dict[int, object]) -> np.ndarray:
    """Reference price per unit of each chip: the one price rule. [RMB/unit]

        price[c] = price_usd[c] x fx_usd   where the scenario sets one
                 = catalog_rmb[c]           else, where the catalog quotes RMB
                 = catalog_usd[c] x fx_usd else; NaN when unknown (not purchasable)

    (:func:`usd_price_basis` for the arguments.) ``fx_usd`` [RMB/USD] is a float or one rate
    per draw (B,); shape (C,), or (B, C) for a batch.
    """
    usd = usd_price_basis(catalog_price_rmb, catalog_price_usd, price_usd)
    bs = (*batch_shape(fx_usd), usd.shape[-1]) if usd.ndim == 1 else usd.shape
    return np.where(np.isfinite(usd), usd * per_draw(fx_usd),
                    np.broadcast_to(np.asarray(catalog_price_rmb, float), bs))


def price_rmb(catalog: pd.DataFrame, fx_usd: float,
              price_usd_override: dict[str, float] | None = None) -> pd.Series:
    """Reference price per chip in RMB (:func:`price_per_unit`).

    Priority: ``price_usd_override`` (scenario input) x ``fx_usd``; else the catalog's RMB
    price; else the catalog's USD price x ``fx_usd``; else NaN (unknown: not purchasable).

    Parameters
    ----------
    catalog
        Chip catalog.
    fx_usd
        Exchange rate. [RMB/USD]
    price_usd_override
        Prices from the scenario. [USD/unit]

    Returns
    -------
    pandas.Series
        Price per unit. [RMB/unit]
    """
    override = {}
    for chip, price in (price_usd_override or {}).items():
        if chip not in catalog.index:
            raise UnknownNameError(f"planner.price_usd.{chip}", f"unknown chip {chip!r}")
        override[catalog.index.get_loc(chip)] = price
    out = pd.Series(price_per_unit(catalog["price_rmb"].to_numpy(float),
                                       catalog["price_usd"].to_numpy(float), fx_usd, override),
                    index=catalog.index, name="price_rmb")
    out.attrs["unit"] = "RMB/unit"
    return out


def training_fit(catalog: pd.DataFrame, min_interconnect_gbs: float) -> pd.Series:
    """Whether a chip can serve large-cluster training: chip-to-chip bandwidth >= threshold.

    Unknown bandwidth counts as not fit (it cannot be shown to clear the bar).
    """
    bw = catalog["interconnect_gbs"]
    out = (bw >= min_interconnect_gbs) & bw.notna()
    out.name = "training_fit"
    return out


def require_chip(catalog: pd.DataFrame, chip: str, field: str = "chip") -> None:
    """Raise :class:`UnknownNameError` if ``chip`` is not in the catalog."""
    if chip not in catalog.index:
        raise unknown_name(field, "chip", chip, catalog.index)


def catalog_table(catalog: pd.DataFrame) -> pd.DataFrame:
    """The catalog with derived TPP and density columns, for display and export."""
    out = catalog.copy()
    out["tpp"] = tpp(catalog)
    out["tpp_source"] = tpp_source(catalog)
    out["performance_density"] = performance_density(catalog)
    out["launch"] = out["launch"].astype(str)
    return out.reset_index()


# --------------------------------------------------------------------------------------------
# Serving throughput: a roofline over dense FLOPS, memory bandwidth and memory capacity
# --------------------------------------------------------------------------------------------

INSTANCE_SIZES = (1, 2, 4, 8)
"""Chips per serving instance (tensor-parallel group) the roofline may choose from."""


def serving_precision(catalog: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Serving precision per chip: the narrowest precision the catalog gives a dense rate for.

        bits[c]  = min { bit length_p : rate_p[c] known }      over the columns of RATE_BITS
        rate[c]  = max { rate_p[c] : bit length_p = bits[c] }  (FP8 or INT8 at 8 bits: the higher)
        bytes[c] = bits[c] / 8

    A chip with an 8-bit rate (FP8, or INT8 where it has no FP8, as the A100) serves 8-bit
    weights and KV cache; one with only an FP16 rate serves FP16. NaN rate (and 2 bytes) where
    no dense rate is known.

    Returns
    -------
    tuple of pandas.Series
        (dense rate at that precision [TFLOPS or TOPS], bytes per weight and per KV element
        [bytes])

    Examples
    --------
    A100: INT8 624 TOPS, 1 byte (no FP8 rate); H100: FP8 = INT8 = 1,979, 1 byte; V100: FP16
    125 TFLOPS, 2 bytes.
    """
    rate = pd.Series(np.nan, index=catalog.index, dtype=float)
    bits = pd.Series(np.nan, index=catalog.index, dtype=float)
    for b in sorted(set(RATE_BITS.values())):
        cols = [col for col, n in RATE_BITS.items() if n == b]
        rate_b = catalog[cols].astype(float).max(axis=1, skipna=True)
        take = rate.isna() & rate_b.notna()
        rate = rate.where(~take, rate_b)
        bits = bits.where(~take, float(b))
    nbytes = (bits.fillna(max(RATE_BITS.values())) / 8.0).rename(None)
    return rate.rename(None), nbytes


def roofline_tokens_per_s(rate_tflops, bytes_per_value, memory_bw_gbs, memory_gb, *,
                          total_params_bn: float, active_params_bn: float,
                          kv_values_per_token_k: float, input_tokens: float,
                          output_tokens: float, max_batch: float,
                          memory_usable_share: float) -> np.ndarray:
    """Billed tokens (input + output) a chip serves per second at the roofline. [tokens/s/chip]

    A serving instance of g chips (g in :data:`INSTANCE_SIZES`) holds the weights
    W = N_total x b [bytes] and the KV cache of a batch of B requests, each of L_in input and
    L_out output tokens, with kv values per token of context (b bytes each):

        B(g)      = min(B_max, floor((g u M - W) / ((L_in + L_out) kv b)))   (memory capacity)
        t_pre     = B 2 N_active L_in / (g F)                                (prefill: FLOPS)
        t_step    = max(2 N_active B / (g F),  (W + B (L_in + L_out / 2) kv b) / (g BW))
        tokens/s  = B (L_in + L_out) / (g (t_pre + L_out t_step))            per chip

    with F the dense rate [FLOP/s], BW the memory bandwidth [bytes/s], M the memory [bytes]
    and u the usable share; the instance size with the most tokens per chip is taken. Attention
    FLOPs and communication are left out, so this is an upper bound that an achieved share
    scales down. NaN where the weights fit on no instance, or a figure is unknown.

    Parameters
    ----------
    rate_tflops, bytes_per_value, memory_bw_gbs, memory_gb
        Per chip (arrays): dense rate at the serving precision [TFLOPS], bytes per weight and
        KV value [bytes], memory bandwidth [GB/s], memory capacity [GB].
    total_params_bn, active_params_bn
        Reference model size, all weights and those active per token. [bn parameters]
    kv_values_per_token_k
        KV-cache values stored per token of context (2 x layers x KV heads x head dim). [k]
    input_tokens, output_tokens
        Tokens per request. [tokens]
    max_batch
        Most requests decoded together by one instance. [requests]
    memory_usable_share
        Share of memory available to weights and KV cache. [1]

    Examples
    --------
    H100 (FP8 1,979 TFLOPS, 3,350 GB/s, 80 GB) vs H200 (same FLOPS, 4,800 GB/s, 141 GB) on a
    70bn dense model: about 1.4x (tests/test_roofline.py).
    """
    f = np.asarray(rate_tflops, float) * 1e12
    b = np.asarray(bytes_per_value, float)
    bw = np.asarray(memory_bw_gbs, float) * 1e9
    mem = np.asarray(memory_gb, float) * 1e9
    weights = total_params_bn * 1e9 * b
    kv = kv_values_per_token_k * 1e3 * b
    flop_tok = 2.0 * active_params_bn * 1e9
    best = np.full(f.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for g in INSTANCE_SIZES:
            batch = np.minimum(max_batch, np.floor((g * memory_usable_share * mem - weights)
                                                   / ((input_tokens + output_tokens) * kv)))
            ok = batch >= 1
            t_pre = batch * flop_tok * input_tokens / (g * f)
            t_step = np.maximum(flop_tok * batch / (g * f),
                                (weights + batch * (input_tokens + output_tokens / 2) * kv)
                                / (g * bw))
            tps = batch * (input_tokens + output_tokens) / (g * (t_pre + output_tokens * t_step))
            tps = np.where(ok & np.isfinite(tps), tps, np.nan)
            best = np.fmax(best, tps)
    return best
