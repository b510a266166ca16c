"""The shared tables of a subject: chip catalog, disclosures, actuals and the export-control
rule library, each read and validated."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from capacity.errors import InputError, validation_problem
from capacity.scenarios.files import data_dir, data_file, read_csv, read_toml
from capacity.schemas import ChipSpec, ExportRule, RuleLibrary, parse_quarter

CATALOG_NUMERIC = [
    "fp16_tflops", "int8_tops", "fp8_tflops", "memory_gb", "memory_bw_tbs", "interconnect_gbs",
    "tdp_w", "die_mm2", "price_usd", "price_rmb", "tpp_published",
]


def read_catalog(path: Path | None = None) -> pd.DataFrame:
    """Read and validate the chip catalog.

    Parameters
    ----------
    path
        CSV file; default the shipped ``chips.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per chip, indexed by ``chip``; unknown figures are NaN (never zero); ``launch`` is
        a quarterly Period.
    """
    path = path or data_file("chips.csv")
    return _catalog_from_path(str(path))


@cache
def _catalog_from_path(path_str: str) -> pd.DataFrame:
    path = Path(path_str)
    raw = read_csv(path)
    rows = []
    for i, rec in enumerate(raw.to_dict("records")):
        clean = {k: (v if v != "" else None) for k, v in rec.items()}
        try:
            rows.append(ChipSpec.model_validate(clean).model_dump())
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            name = rec.get("chip") or f"row {i + 2}"
            raise InputError(f"{path.name}[{name}].{loc}", validation_problem(err)) from None
    df = pd.DataFrame(rows)
    dup = df["chip"][df["chip"].duplicated()]
    if len(dup):
        raise InputError(f"{path.name}.chip", f"duplicate chip {dup.iloc[0]!r}")
    df["launch"] = pd.PeriodIndex(df["launch"], freq="Q")
    for col in CATALOG_NUMERIC:
        df[col] = pd.to_numeric(df[col]).astype(float)
    return df.set_index("chip")


def read_disclosures(path: Path | None = None) -> pd.DataFrame:
    """Company disclosures from the research note (``disclosures.csv``), with sources.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``period`` (quarterly Period at the period end), ``span_quarters``
        (0 for a point-in-time stock), ``value``, ``unit``, ``source``, ``published`` (ISO date
        the figure was first public), ``note``.
    """
    path = path or data_dir() / "disclosures.csv"
    df = read_csv(path)
    need = {"metric", "period_end", "span_quarters", "value", "unit", "source", "published"}
    missing = need - set(df.columns)
    if missing:
        raise InputError(path.name, f"missing columns {sorted(missing)}")
    try:
        df["period"] = pd.PeriodIndex([parse_quarter(p) for p in df["period_end"]], freq="Q")
        df["value"] = df["value"].astype(float)
        df["span_quarters"] = df["span_quarters"].astype(int)
        for text in df["published"]:
            dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(path.name, str(exc)) from None
    return df.drop(columns="period_end")


def read_actuals_csv(path: Path) -> pd.DataFrame:
    """Raw text table of an actuals file for :mod:`capacity.backtesting` (all cells as text)."""
    return read_csv(Path(path))


def disclosed(disclosures: pd.DataFrame, metric: str) -> pd.Series:
    """Values of one disclosed metric, indexed by period."""
    sel = disclosures[disclosures["metric"] == metric]
    return pd.Series(sel["value"].to_numpy(), index=pd.PeriodIndex(sel["period"]), name=metric)

def read_rule_library(path: Path | None = None) -> dict[str, ExportRule]:
    """The export-control rule library, validated, by rule id (empty when the file is absent).

    Raises
    ------
    InputError
        ``export_controls.toml: rule[i].field: problem`` for a malformed rule.
    """
    path = path or data_file("export_controls.toml")
    if not path.is_file():
        return {}
    doc = read_toml(path)
    try:
        lib = RuleLibrary.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        parts = [str(p) for p in err["loc"]]
        loc = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts).lstrip(".")
        rid = ""
        if len(parts) >= 2 and parts[0] == "rule" and parts[1].isdigit():
            rules = doc.get("rule", [])
            i = int(parts[1])
            if isinstance(rules, list) and i < len(rules) and isinstance(rules[i], dict):
                rid = f" ({rules[i].get('id', '?')})"
        where = f"{path.name}: {loc}{rid}" if loc else f"{path.name}: rule"
        raise InputError(where, validation_problem(err)) from None
    return {r.id: r for r in lib.rule}
