"""The shared tables of a subject: chip catalog, disclosures, actuals and the export-control
rule library, each read and validated."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from capacity.errors import InputError, validation_problem
from capacity.scenarios.files import data_dir, data_file, read_csv, read_toml
from capacity.schemas import (
    MAX_LIFE_QUARTERS,
    ChipSpec,
    ExportRule,
    RuleLibrary,
    date_from_text,
    number_from_text,
    parse_quarter,
)

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
    required = [n for n, f in ChipSpec.model_fields.items() if f.is_required()]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise InputError(path.name, f"missing columns {missing}")
    rows = []
    for i, rec in enumerate(raw.to_dict("records")):
        clean = {k: (v if v.strip() != "" else None) for k, v in rec.items()}
        at = f"{path.name} line {i + 2}" + (f" ({rec['chip']})" if rec["chip"].strip() else "")
        empty = next((c for c in required if clean.get(c) is None), None)
        if empty is not None:
            raise InputError(f"{at} {empty}", "empty cell in a required column")
        try:
            rows.append(ChipSpec.model_validate(clean).model_dump())
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise InputError(f"{at} {loc}", validation_problem(err)) from None
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
    need = ["metric", "period_end", "span_quarters", "value", "unit", "source", "published"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(path.name, f"missing columns {missing}")
    periods, values, spans = [], [], []
    for i, rec in enumerate(df.to_dict("records")):
        at = f"{path.name} line {i + 2}"  # the header is line 1
        for col in need:
            if not str(rec[col]).strip():
                raise InputError(f"{at} {col}", "empty cell in a required column")
        try:
            periods.append(parse_quarter(rec["period_end"]))
        except ValueError as exc:
            raise InputError(f"{at} period_end", str(exc)) from None
        try:
            values.append(float(number_from_text(rec["value"])))
        except ValueError as exc:
            raise InputError(f"{at} value", str(exc)) from None
        try:
            span = int(number_from_text(rec["span_quarters"], whole=True))
        except ValueError as exc:
            raise InputError(f"{at} span_quarters", str(exc)) from None
        if not 0 <= span <= MAX_LIFE_QUARTERS:
            raise InputError(f"{at} span_quarters", f"{span} is outside 0 to "
                             f"{MAX_LIFE_QUARTERS} quarters")
        spans.append(span)
        try:
            date_from_text(rec["published"])
        except ValueError as exc:
            raise InputError(f"{at} published", str(exc)) from None
    df["period"] = pd.PeriodIndex(periods, freq="Q")
    df["value"] = pd.Series(values, index=df.index, dtype=float)
    df["span_quarters"] = pd.Series(spans, index=df.index, dtype=int)
    df["published"] = [str(t).strip() for t in df["published"]]
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
