"""User-facing error family.

Every error a user can cause (bad file, bad value, unknown chip, infeasible request) is raised as a
:class:`CapacityError` or one of its children. The CLI turns them into one line
``path.to.field: problem`` and exit code 2; library users can catch the family.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class CapacityError(Exception):
    """Base class for every user-facing error.

    Parameters
    ----------
    field
        Dotted path of the input the problem is about (``"fleet.pipeline[0].chip"``), or a file
        path, or ``""`` when no single field is to blame.
    problem
        What is wrong, in one line.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as one line: ``field: problem``."""
        text = f"{self.field}: {self.problem}" if self.field else self.problem
        return " ".join(text.split())


class InputError(CapacityError):
    """An input file or value is missing, malformed or out of range."""


class UnknownNameError(InputError):
    """A chip, rule, scenario or override name that does not exist."""


class SolverError(CapacityError):
    """The solver did not return an optimal solution (or is not available)."""


def closest_name(name: str, known) -> str | None:
    """The known name a misspelt ``name`` most likely meant, or ``None``.

    A case-insensitive match first (``'h20'`` -> ``'H20'``); else the closest by
    :func:`difflib.get_close_matches` (similarity ratio at least 0.6, compared in lower case),
    so ``'peak_eflop_2025Q4'`` -> ``'peak_eflops_2025Q4'`` and a name like nothing known gets
    no suggestion.
    """
    import difflib

    known = [str(k) for k in known]
    by_lower: dict[str, str] = {}
    for k in known:
        by_lower.setdefault(k.lower(), k)
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def unknown_name(field: str, kind: str, name: str, known, list_known: bool = False
                 ) -> UnknownNameError:
    """The error for an unknown ``kind`` (chip, rule, ...) ``name``, with a hint.

    The hint names the closest known name (:func:`closest_name`) when there is one, else, with
    ``list_known``, every known name. An empty name says so.
    """
    known = list(known)
    if not str(name).strip():
        listed = f" (known: {', '.join(sorted(map(str, known))) or 'none'})" if list_known else ""
        return UnknownNameError(field, f"empty {kind} name{listed}")
    close = closest_name(name, known)
    if close is not None:
        hint = f" (did you mean {close!r}?)"
    elif list_known:
        hint = f" (known: {', '.join(sorted(map(str, known))) or 'none'})"
    else:
        hint = ""
    return UnknownNameError(field, f"unknown {kind} {_shown(name, 60)}{hint}")


# pydantic error types whose message reads better with the value that was given
_SHOW_INPUT = {
    "float_type", "float_parsing", "int_type", "int_parsing", "int_from_float", "finite_number",
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "bool_type",
    "date_type", "date_parsing", "date_from_datetime_inexact", "string_type",
}
_PREFIXES = ("Value error, ", "Assertion failed, ")


def _shown(value: Any, width: int = 40) -> str:
    """A short text of an input value as a file would spell it (``true``, ``1e+308``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def validation_problem(err: Mapping[str, Any]) -> str:
    """The problem of one pydantic error (an item of ``ValidationError.errors()``), one line.

    An unknown key reads ``unknown key``; pydantic's ``Value error, `` prefix is dropped; type
    and range errors end with the value given (``..., got true``), so a bool that was refused as
    a number says so.
    """
    if err.get("type") == "extra_forbidden":
        from capacity.renamed_keys import renamed_hint

        loc = err.get("loc") or ("",)
        hint = renamed_hint(str(loc[-1]))
        return f"unknown key: {hint}" if hint else "unknown key"
    msg = str(err.get("msg", "invalid value"))
    for prefix in _PREFIXES:
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    value = err.get("input")
    if err.get("type") in _SHOW_INPUT and (value is None or isinstance(
            value, bool | int | float | str)) and "got " not in msg:
        if isinstance(value, bool) and err.get("type") in ("float_type", "int_type"):
            msg = f"{msg}, got a bool ({_shown(value)})"
        else:
            msg = f"{msg}, got {_shown(value)}"
    if err.get("key"):
        msg = f"invalid key: {msg}"
    return " ".join(msg.split())


_UNION_TAG = re.compile(
    r"^(?:(?:literal|list|dict|tuple|set|function-\w+)\[.*\]|float|int|str|bool)$")
"""A union branch tag that pydantic puts in an error's location."""


def pick_error(errors: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The error to report out of pydantic's list, with union branch tags taken out of its loc.

    Normally the first error. When the first error is one branch of a union (its location has a
    tag such as ``literal['calibrated']``), the deepest error at the same place is reported
    instead: ``fleet.initial.0.units: ... got inf`` rather than ``fleet.initial: Input should be
    'calibrated'``. A location ending in ``[key]`` (a bad table key) drops that part and the
    problem says ``invalid key``.
    """
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    tag_at = next((i for i, part in enumerate(loc)
                   if isinstance(part, str) and _UNION_TAG.match(part)), None)
    best: Mapping[str, Any] = first
    if tag_at is not None:
        same = [e for e in errors if tuple(e.get("loc", ()))[:tag_at] == loc[:tag_at]]
        best = max(same, key=lambda e: len(e.get("loc", ())))
    out = dict(best)
    clean = [part for part in best.get("loc", ())
             if not (isinstance(part, str) and _UNION_TAG.match(part))]
    if clean and clean[-1] == "[key]":
        clean = clean[:-1]
        out["key"] = True
    out["loc"] = tuple(clean)
    return out


def input_error_from_validation(exc: Any, field: str | None = None) -> InputError:
    """The :class:`InputError` of a pydantic ``ValidationError`` (the error :func:`pick_error`
    chooses).

    Parameters
    ----------
    exc
        The ``ValidationError`` (anything with pydantic's ``errors()``).
    field
        Field text to report; default the error's location joined with dots.
    """
    err = pick_error(exc.errors())
    if field is None:
        field = ".".join(str(p) for p in err.get("loc", ()))
    return InputError(field, validation_problem(err))


class Stopped(BaseException):
    """The run was asked to stop by a signal (SIGINT: Ctrl-C, SIGTERM: ``kill``).

    A :class:`BaseException`, like :class:`KeyboardInterrupt`, so that no ``except Exception``
    on the way swallows it and the command-line framework does not turn it into its own abort;
    ``finally`` blocks still run, so workers are ended and partial output removed on the way
    out. Raised by the handlers :func:`capacity.stops.stop_on_signals` installs.

    Parameters
    ----------
    signum
        The signal's number.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    def one_line(self) -> str:
        """What the command line says: ``stopped by SIGINT``."""
        return f"stopped by {self.name}"

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum
