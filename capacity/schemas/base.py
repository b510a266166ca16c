"""Quarters, dates and the number types every input model is built from.

Quarters are written ``"2023Q3"`` in files and converted to :class:`pandas.Period` (freq ``Q``)
by :func:`to_period`. Numbers are strict: an int is accepted where a float is expected, but a
bool (``true``) or text (``"1.4"``) is not a number, and a float is not a whole number.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated

import pandas as pd
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from capacity.errors import InputError
from capacity.schemas.limits import (
    FIRST_DATE,
    FIRST_QUARTER,
    FIRST_YEAR,
    LAST_DATE,
    LAST_QUARTER,
    LAST_YEAR,
    MAX_CHIP_PRICE_USD,
    MAX_EFFICIENCY,
    MAX_EFLOPS,
    MAX_LEAD_TIME_QUARTERS,
    MAX_LIFE_QUARTERS,
    MAX_NUMBER_DIGITS,
    MAX_UNITS,
    MAX_UNITS_PER_QUARTER,
)

_QUARTER_RE = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_ALT_QUARTER_RE = re.compile(r"^([1-4])Q(\d{2})$", re.IGNORECASE)


def parse_quarter(text: str) -> str:
    """Normalise a quarter label to ``YYYYQn``.

    Accepts ``2023Q3``, ``2023-Q3`` and the note's ``3Q23`` style.

    Parameters
    ----------
    text
        The label.

    Returns
    -------
    str
        ``"2023Q3"``-style label.

    Raises
    ------
    ValueError
        When the label is not a quarter.
    """
    if isinstance(text, pd.Period):
        return str(text.asfreq("Q"))
    if not isinstance(text, str):
        raise ValueError(f"expected a quarter like '2023Q3', got {text!r}")
    s = text.strip()
    m = _QUARTER_RE.match(s)
    if m:
        return f"{m.group(1)}Q{m.group(2)}"
    m = _ALT_QUARTER_RE.match(s)
    if m:
        return f"20{m.group(2)}Q{m.group(1)}"
    raise ValueError(f"expected a quarter like '2023Q3', got {shown_text(text)}")


def shown_text(text: str, width: int = 40) -> str:
    """``repr`` of a text as given, cut to ``width`` characters (an error line stays short)."""
    shown = repr(text)
    return shown if len(shown) <= width else shown[:width - 4] + "...'"


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def too_many_digits(text: str) -> str | None:
    """The problem of a number written with more than MAX_NUMBER_DIGITS digits, else ``None``.

    The one digit-count rule of every number given as text: a TOML value, a ``--set`` value, a
    CSV cell (Python itself refuses to read an integer of more than 4300 digits).
    """
    n = sum(c in _HEX_DIGITS for c in text)  # hex digits too: 0xfff... is a number
    if n > MAX_NUMBER_DIGITS:
        return (f"a number of {n:,} digits, more than the limit of {MAX_NUMBER_DIGITS:,} digits "
                "for a number")
    return None


def number_from_text(text: str, whole: bool = False) -> float | int:
    """A number written as text (a CSV cell): present, within the digit limit, finite.

    Parameters
    ----------
    text
        The cell, as written.
    whole
        Require a whole number (``3``, not ``3.0`` or ``3.5``).

    Returns
    -------
    float or int
        The number (an int when ``whole``).

    Raises
    ------
    ValueError
        One line: ``empty cell in a required column``, the digit limit, ``'x' is not a number``,
        ``'nan' is not a finite number``, ``'3.5' is not a whole number``.
    """
    cell = str(text).strip()
    if not cell:
        raise ValueError("empty cell in a required column")
    long = too_many_digits(cell)
    if long:
        raise ValueError(long)
    if whole:
        if not re.fullmatch(r"[-+]?\d+", cell):
            raise ValueError(f"{shown_text(cell)} is not a whole number")
        return int(cell)
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{shown_text(cell)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{shown_text(cell)} is not a finite number")
    return value


def _number_text(value: object) -> object:
    """A number given as text (a CSV cell) read by :func:`number_from_text`, before pydantic
    checks its range; any other value is left to pydantic."""
    return number_from_text(value) if isinstance(value, str) else value


def _quarter_in_range(label: str) -> str:
    """Refuse a (normalised) quarter outside [FIRST_QUARTER, LAST_QUARTER]."""
    if not FIRST_QUARTER <= label <= LAST_QUARTER:  # "YYYYQn" sorts as text
        raise ValueError(f"quarter {label} is outside {FIRST_QUARTER} to {LAST_QUARTER}")
    return label


def _date_in_range(value: dt.date) -> dt.date:
    """Refuse a date outside [FIRST_DATE, LAST_DATE]."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"date {value} is outside {FIRST_DATE} to {LAST_DATE}")
    return value


Quarter = Annotated[str, AfterValidator(parse_quarter), AfterValidator(_quarter_in_range)]
"""A quarter label, normalised to ``YYYYQn``, from FIRST_QUARTER to LAST_QUARTER."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def date_from_text(text: str) -> dt.date:
    """A date written as text: exactly ``YYYY-MM-DD`` and a day that exists.

    The one rule for dates given as text (a vintage date, a CSV ``published`` cell, a rule date
    written as a string): ``20240101`` or ``1704067200`` (which pydantic would read as a Unix
    time) is not a date, and neither is ``2025-02-30``.

    Raises
    ------
    ValueError
        ``'...' is not a date (use YYYY-MM-DD)`` or ``... (no such day)``.
    """
    cell = str(text).strip()
    if not _ISO_DATE.match(cell):
        raise ValueError(f"{shown_text(cell)} is not a date (use YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(cell)
    except ValueError:
        raise ValueError(f"{cell!r} is not a date (no such day)") from None


def _not_a_number(value: object) -> object:
    """Refuse a number or bool where a date belongs (pydantic would read 0 as 1970-01-01), and
    text that is not written ``YYYY-MM-DD`` (:func:`date_from_text`; pydantic would read
    ``"1704067200"`` as a Unix time)."""
    if isinstance(value, bool | int | float):
        raise ValueError(f"expected a date like 2024-01-01, got {value!r}")
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        date_from_text(value)  # raises: not YYYY-MM-DD (pydantic says when the day is not real)
    return value


Date = Annotated[dt.date, BeforeValidator(_not_a_number), AfterValidator(_date_in_range)]

SourceDate = Annotated[str, Field(pattern=r"^(\d{4}(-\d{2}(-\d{2})?)?)?$")]
"""Publication date of a source: ``YYYY-MM-DD``, or ``YYYY-MM`` / ``YYYY`` counted as the last
day of that month or year (``capacity.scenarios.vintages.publication_date``); "" = none given."""
"""A calendar date from FIRST_DATE to LAST_DATE (a TOML date, or text like ``"2024-01-01"``)."""

Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
"""A calendar year, FIRST_YEAR to LAST_YEAR (lax: used for table keys, which TOML writes as
text)."""

Real = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite number: an int is accepted, a bool or text is not."""
Whole = Annotated[int, Field(strict=True)]
"""A whole number: a bool, a float or text is not accepted."""
Fraction = Annotated[Real, Field(ge=0.0, le=1.0)]
"""A share in [0, 1]. [1]"""
PositiveShare = Annotated[Real, Field(gt=0.0, le=1.0)]
"""A share in (0, 1]. [1]"""
NonNegative = Annotated[Real, Field(ge=0.0)]
"""A finite number >= 0 (give an upper bound with it)."""
Positive = Annotated[Real, Field(gt=0.0)]
"""A finite number > 0 (give an upper bound with it)."""
Units = Annotated[NonNegative, Field(le=MAX_UNITS)]
"""A number of accelerators. [units]"""
UnitsPerQuarter = Annotated[NonNegative, Field(le=MAX_UNITS_PER_QUARTER)]
"""A supply or licence cap. [units/quarter]"""
Eflops = Annotated[NonNegative, Field(le=MAX_EFLOPS)]
"""An amount of compute. [EFLOPS]"""
Efficiency = Annotated[Real, Field(gt=0.0, le=MAX_EFFICIENCY)]
"""Effective-to-peak factor. [1]"""
LifeQuarters = Annotated[Whole, Field(ge=1, le=MAX_LIFE_QUARTERS)]
"""Service life. [quarters]"""
LeadQuarters = Annotated[Whole, Field(ge=0, le=MAX_LEAD_TIME_QUARTERS)]
"""Order-to-delivery lead time. [quarters]"""
PriceUsd = Annotated[Positive, Field(le=MAX_CHIP_PRICE_USD)]
"""Price of one accelerator. [USD/unit]"""

Figure = Annotated[float, BeforeValidator(_number_text),
                   Field(gt=0.0, allow_inf_nan=False)]
"""A positive, finite catalog figure. Lax on purpose: the catalog CSV is read as text, so
``"312"`` must convert; a bool cannot arrive from a CSV cell."""


def to_period(label: str | pd.Period) -> pd.Period:
    """Turn a quarter label (or Period) into a quarterly :class:`pandas.Period`.

    Raises
    ------
    InputError
        When the label is not a quarter.
    """
    if isinstance(label, pd.Period):
        return label.asfreq("Q")
    try:
        return pd.Period(parse_quarter(label), freq="Q")
    except ValueError as exc:
        raise InputError("quarter", str(exc)) from None


def quarter_arg(label: str | pd.Period, field: str) -> pd.Period:
    """A quarter given on the command line (``--at``, ``--start``, ``--end``), range-checked.

    Parameters
    ----------
    label
        Quarter label (or Period).
    field
        Option to name in an error (``"--at"``).

    Returns
    -------
    pandas.Period
        Quarterly Period within FIRST_QUARTER to LAST_QUARTER.

    Raises
    ------
    InputError
        ``field: problem`` for a label that is not a quarter or is out of range.
    """
    try:
        return pd.Period(_quarter_in_range(parse_quarter(label)), freq="Q")
    except ValueError as exc:
        raise InputError(field, str(exc)) from None


def quarter_range(start: str | pd.Period, end: str | pd.Period) -> pd.PeriodIndex:
    """Quarters from ``start`` to ``end`` inclusive, as a ``PeriodIndex`` named ``period``."""
    return pd.period_range(to_period(start), to_period(end), freq="Q", name="period")


class StrictModel(BaseModel):
    """Base of every input model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
