"""The subject as data: who it is, the currencies its money is in, its dated FX series and the
defaults shipped with it (``subject.toml`` of a subject folder; docs/subjects.md).

The code names no company: a title, a currency label, a stress threshold or a fallback scenario
that belongs to one subject is read here from that subject's ``subject.toml``. The money keys of
the outputs carry no currency (``revenue_m``: millions of the *reporting* currency;
``target_price``: per share in the *listing* currency; docs/key-map.md); the labels that reach a
reader (:func:`money_label`) say the subject's currencies, and every plan, value and compare
report carries a ``currency`` field (:func:`report_fields`).

FX series rows are dated: ``rate`` is units of the pair's first currency per one unit of its
second (``RMB/HKD = 0.93``: 0.93 renminbi buy one Hong Kong dollar), as published on ``date``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import Field, field_validator, model_validator

from capacity.errors import InputError
from capacity.results import set_money_labels
from capacity.scenarios.files import (
    REQUIRED_FILES,
    SUBJECT_FILE,
    data_dir,
    read_toml,
    shipped_data_dir,
    shipped_subjects,
    subject_doc,
)
from capacity.schemas import MAX_FX_RATE, MIN_FX_RATE, StrictModel

CURRENCY_CODE = re.compile(r"[A-Z]{3}")
"""A currency code: three capital letters (ISO 4217 style: ``USD``, ``HKD``; the renminbi is
written ``RMB`` as its reports write it)."""

KEY_CURRENCIES = {"RMB": "reporting", "HKD": "listing"}
"""The currency words of the units (``RMB m``, ``HKD``: capacity.results.UNIT_SUFFIXES) -> the
currency of the subject each stands for; :func:`money_label` puts the subject's label in their
place."""

_WORD = re.compile(r"\b(RMB|HKD)")
"""A currency word of a key's unit at the start of a word (``RMB m``, ``RMBm/unit``, ``HKD``)."""


class FxRate(StrictModel):
    """One dated FX rate of the subject's series."""

    pair: str
    """``BASE/QUOTE`` in currency codes (``RMB/HKD``): units of BASE per one unit of QUOTE."""
    date: dt.date
    """Date the rate is for (a close, or the rate a filing states). [YYYY-MM-DD]"""
    rate: Annotated[float, Field(ge=MIN_FX_RATE, le=MAX_FX_RATE, allow_inf_nan=False)]
    """Units of BASE per unit of QUOTE. [BASE/QUOTE]"""
    source: Annotated[str, Field(min_length=1)]
    """Where the rate is published (a central bank's series, a filing)."""
    published: dt.date | None = None
    """Publication date of the source, when it differs from ``date``. [YYYY-MM-DD]"""

    @field_validator("pair")
    @classmethod
    def _pair(cls, v: str) -> str:
        parts = v.split("/")
        if len(parts) != 2 or not all(CURRENCY_CODE.fullmatch(p) for p in parts) \
                or parts[0] == parts[1]:
            raise ValueError(f"{v!r} is not a pair of two currency codes like 'RMB/HKD'")
        return v


class Currency(StrictModel):
    """The subject's currencies and how labels spell them."""

    reporting: str
    """Currency of the accounts: every ``*_m`` money key is millions of it (code, ``RMB``)."""
    listing: str
    """Currency the shares trade in: every per-share key (``target_price``) is in it (code,
    ``HKD``)."""
    reporting_label: str = ""
    """How a label writes the reporting currency (default: its code)."""
    listing_label: str = ""
    """How a label writes the listing currency (default: its code; ``HK$``)."""

    @field_validator("reporting", "listing")
    @classmethod
    def _code(cls, v: str) -> str:
        if not CURRENCY_CODE.fullmatch(v):
            raise ValueError(f"{v!r} is not a currency code (three capital letters, like USD)")
        return v


class StressDefaults(StrictModel):
    """Defaults of ``capacity stress`` shipped with the subject (both optional)."""

    thresholds: list[str] = Field(default_factory=list)
    """Thresholds tested without ``--threshold`` (``kpi>=number``, as ``--threshold``)."""
    fallback_uncertain: str | None = None
    """Scenario whose ``[uncertain]`` table a scenario without one is drawn from."""


class SubjectFile(StrictModel):
    """``subject.toml``: the subject's name, title, currencies, FX series and defaults."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)]
    """Short name, what ``--subject`` takes (lower case, digits, ``-``, ``_``)."""
    title: Annotated[str, Field(min_length=1, max_length=200)]
    """Display name for headings (the company and its listing)."""
    default: bool = False
    """True for the shipped subject used without ``--subject``."""
    currency: Currency
    fx: list[FxRate] = Field(default_factory=list)
    """The dated FX series (docs/subjects.md: which pairs are required)."""
    stress: StressDefaults = Field(default_factory=StressDefaults)

    @model_validator(mode="after")
    def _series(self) -> SubjectFile:
        c = self.currency
        needed = set()
        if c.reporting != c.listing:
            needed.add(f"{c.reporting}/{c.listing}")
        if c.reporting != "USD":  # chip prices are in US dollars
            needed.add(f"{c.reporting}/USD")
        missing = sorted(needed - {r.pair for r in self.fx})
        if missing:
            raise ValueError(f"fx: no rate of {', '.join(missing)} (the series needs each pair "
                             "the model converts: reporting per listing and reporting per USD)")
        return self

    def latest_rate(self, pair: str, on: dt.date | None = None) -> FxRate | None:
        """The latest rate of ``pair`` dated on or before ``on`` (default: the latest)."""
        rows = [r for r in self.fx if r.pair == pair and (on is None or r.date <= on)]
        return max(rows, key=lambda r: r.date) if rows else None


def conversion(subject: SubjectFile, source: str, target: str, on: dt.date
               ) -> tuple[float, list[FxRate]]:
    """The factor that turns an amount in ``source`` into ``target`` at the subject's dated FX
    series, and the rates it uses (the latest of each pair dated on or before ``on``).

    A row ``A/B = r`` reads 1 B = r A: B -> A multiplies by r, A -> B divides by r. The path
    is the direct pair, else one cross through a third currency of the series
    (``HKD -> USD = RMB/HKD / RMB/USD``); the same currency is 1 with no rate.

    Returns
    -------
    tuple
        (factor [target per source], the :class:`FxRate` rows used, in order).

    Raises
    ------
    InputError
        ``--currency: <subject>: no dated FX rate ...`` when the series has no path.
    """
    if source == target:
        return 1.0, []
    latest = {pair: rate for pair in dict.fromkeys(r.pair for r in subject.fx)
              if (rate := subject.latest_rate(pair, on)) is not None}
    edges: dict[str, list[tuple[str, float, FxRate]]] = {}
    for r in latest.values():
        a, b = r.pair.split("/")
        edges.setdefault(b, []).append((a, r.rate, r))
        edges.setdefault(a, []).append((b, 1.0 / r.rate, r))
    for mid, f1, r1 in edges.get(source, []):
        if mid == target:
            return f1, [r1]
    for mid, f1, r1 in sorted(edges.get(source, []), key=lambda e: e[0]):
        for end, f2, r2 in edges.get(mid, []):
            if end == target:
                return f1 * f2, [r1, r2]
    raise InputError("--currency", f"{subject.name}: no dated FX rate from {source} to "
                     f"{target} on or before {on} in its subject.toml [[fx]] series (pairs: "
                     f"{', '.join(sorted(latest)) or 'none'})")


_read: dict[tuple[str, int, int], SubjectFile] = {}
"""Subject files read, by (path, modification time, size): headers ask once per column."""


def read_subject(folder: Path | None = None) -> SubjectFile:
    """The ``subject.toml`` of a subject folder (default: the current subject, :func:`data_dir`).

    Raises
    ------
    InputError
        ``<folder>/subject.toml: file not found`` (a required file), or a field that is missing
        or out of range.
    """
    from pydantic import ValidationError

    from capacity.errors import input_error_from_validation

    path = (folder or data_dir()) / SUBJECT_FILE
    if not path.is_file():
        raise InputError(str(path), "file not found (a subject folder holds "
                         f"{', '.join((*REQUIRED_FILES, SUBJECT_FILE))}; see docs/subjects.md)")
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _read:
        return _read[key]
    try:
        _read[key] = SubjectFile.model_validate(subject_doc(path))
        return _read[key]
    except ValidationError as exc:
        err = input_error_from_validation(exc)
        raise InputError(f"{path}: {err.field}", err.problem) from None


def current_subject() -> SubjectFile | None:
    """The current subject's file, or None when its folder has none (the labels then keep the
    keys' own currency words)."""
    path = data_dir() / SUBJECT_FILE
    return read_subject(path.parent) if path.is_file() else None


def currency_labels(subject: SubjectFile | None = None) -> dict[str, str]:
    """Key currency word -> the label of the subject's currency (``{"RMB": "USD", "HKD":
    "USD"}`` for a US-listed subject reporting in dollars)."""
    s = subject if subject is not None else current_subject()
    if s is None:
        return {word: word for word in KEY_CURRENCIES}
    c = s.currency
    return {"RMB": c.reporting_label or c.reporting, "HKD": c.listing_label or c.listing}


def money_label(text: str, subject: SubjectFile | None = None) -> str:
    """A unit or header with the keys' currency words replaced by the subject's
    (``RMBm/unit`` -> ``USDm/unit``, ``RMB/HKD`` -> ``RMB/HKD`` for the shipped subject)."""
    labels = currency_labels(subject)
    return _WORD.sub(lambda m: labels[m.group(1)], text)


_AMOUNT_WORD = re.compile(r"(?<!/)\b(RMB|HKD)(?!/)")
"""A currency word of an amount's unit (``RMB m``, ``HKD``), not of an exchange rate's pair
(``RMB/HKD``)."""


@contextmanager
def labels_in_one_currency(code: str) -> Iterator[None]:
    """While the block runs, every amount's unit says ``code`` for both currency words: the
    labels of a report whose amounts are all converted to one currency (``capacity comps``;
    ``revenue_m [USDm]``, ``target_price [USD]``). An exchange rate's pair keeps its words.
    The subject's own labeller (:func:`money_label`) is back afterwards."""
    set_money_labels(lambda text: _AMOUNT_WORD.sub(code, text))
    try:
        yield
    finally:
        set_money_labels(money_label)


def report_fields(subject: SubjectFile | None = None) -> dict[str, Any]:
    """The ``subject`` and ``currency`` fields of a plan, value or compare report: the subject's
    title and its reporting and listing currency codes (null when the folder has no
    ``subject.toml``)."""
    s = subject if subject is not None else current_subject()
    if s is None:
        return {"subject": None, "currency": {"reporting": None, "listing": None}}
    return {"subject": s.title,
            "currency": {"reporting": s.currency.reporting, "listing": s.currency.listing}}


def stress_defaults() -> StressDefaults:
    """The current subject's stress defaults (none when it ships none)."""
    s = current_subject()
    return s.stress if s is not None else StressDefaults()


def _vintage_dates(folder: Path) -> list[str]:
    """Vintage dates of a subject folder: ``[meta] as_of`` of its baseline, then each
    ``vintages/<YYYY-MM-DD>.toml``."""
    meta = read_toml(folder / "baseline.toml").get("meta", {})
    first = str(meta.get("as_of", "")) if isinstance(meta, dict) else ""
    files = sorted(p.stem for p in (folder / "vintages").glob("*.toml"))
    return [d for d in [first, *files] if d]


def subjects_table() -> pd.DataFrame:
    """``capacity subjects``: one row per shipped subject (:func:`shipped_subjects`), its folder
    written from the shipped data folder's name (``data/subjects/<name>``)."""
    root = shipped_data_dir()
    rows = []
    for name, folder in shipped_subjects().items():
        s = read_subject(folder)
        dates = _vintage_dates(folder)
        shown = (Path(root.name) / folder.relative_to(root.resolve())).as_posix()
        rows.append({"subject": name, "title": s.title, "folder": shown,
                     "default": s.default, "latest_vintage": max(dates) if dates else None,
                     "n_vintages": len(dates), "reporting_currency": s.currency.reporting,
                     "listing_currency": s.currency.listing})
    return pd.DataFrame(rows, columns=["subject", "title", "folder", "default", "latest_vintage",
                                       "n_vintages", "reporting_currency", "listing_currency"])


set_money_labels(money_label)  # headers and labels of every report say the subject's currencies


def missing_parts(scenario) -> list[str]:
    """One line per optional part the subject's data lacks, naming the outputs it switches off
    (their keys stay, null or an empty table). The CLI prints each on stderr.

    Parameters
    ----------
    scenario
        A loaded :class:`~capacity.scenarios.Scenario`.
    """
    metrics = set(scenario.disclosures["metric"])
    inputs = scenario.inputs
    out = []
    if "target_price" not in metrics:
        out.append("no broker target price (disclosures.csv target_price): the bridge's "
                   "note rows are left out and the note_* keys of value are null")
    elif "target_price_old" not in metrics:
        out.append("no previous broker target price (disclosures.csv target_price_old): "
                   "its bridge row is left out and its keys are null")
    if "genai_share_target" not in metrics:
        out.append("no GenAI share target (disclosures.csv genai_share_target): "
                   "genai_share_target and genai_target_met are null")
    if inputs.demand.tokens.per_month_tn == "disclosed" and "tokens_per_month_tn" not in metrics:
        out.append("no token figure (disclosures.csv tokens_per_month_tn): the token stock and "
                   "token production columns are null")
    base = read_toml(data_dir() / "baseline.toml")  # the subject's parts, not a scenario's
    if not base.get("demand", {}).get("runs"):
        out.append("no training programme (baseline.toml demand.runs): no training demand is "
                   "modelled")
    if not base.get("controls", {}).get("rules"):
        out.append("no export rules (baseline.toml controls.rules): no chip is restricted")
    share = scenario.disclosures[scenario.disclosures["metric"] == "genai_share"]
    if len(share) and float(share.sort_values("period")["value"].iloc[-1]) >= 1.0:
        out.append("no second segment (genai_share 1): all revenue is GenAI, the traditional "
                   "lines are nil")
    return out
