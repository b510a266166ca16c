"""Chip catalog arithmetic: TPP, performance density, prices, fitness for training.

Functions take the catalog DataFrame from :func:`capacity.scenarios.read_catalog` (indexed by chip)
and return Series or DataFrames indexed by chip. Unknown figures stay NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def price_rmb(catalog: pd.DataFrame, usd_rmb: float,
              price_usd_override: dict[str, float] | None = None) -> pd.Series:
    """Reference price per chip in RMB.

    Priority: ``price_usd_override`` (scenario input) x ``usd_rmb``; else the catalog's RMB
    price; else the catalog's USD price x ``usd_rmb``; else NaN (unknown: not purchasable).

    Parameters
    ----------
    catalog
        Chip catalog.
    usd_rmb
        Exchange rate. [RMB/USD]
    price_usd_override
        Prices from the scenario. [USD/unit]

    Returns
    -------
    pandas.Series
        Price per unit. [RMB/unit]
    """
    out = catalog["price_rmb"].copy()
    usd = catalog["price_usd"] * usd_rmb
    out = out.where(out.notna(), usd)
    for chip, price in (price_usd_override or {}).items():
        if chip not in catalog.index:
            raise UnknownNameError(f"planner.price_usd.{chip}", f"unknown chip {chip!r}")
        out.loc[chip] = price * usd_rmb
    out.name = "price_rmb"
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
