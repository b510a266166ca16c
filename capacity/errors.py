"""User-facing error family.

Every error a user can cause (bad file, bad value, unknown chip, infeasible request) is raised as a
:class:`CapacityError` or one of its children. The CLI turns them into one line
``path.to.field: problem`` and exit code 2; library users can catch the family.
"""

from __future__ import annotations


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


def unknown_name(field: str, kind: str, name: str, known, list_known: bool = False
                 ) -> UnknownNameError:
    """The error for an unknown ``kind`` (chip, rule, ...) ``name``, with a hint.

    The hint names a case-insensitive match (``'h20'`` -> ``'H20'``) when there is one, else, with
    ``list_known``, every known name.
    """
    known = list(known)
    close = [k for k in known if k.lower() == name.lower()]
    if close:
        hint = f" (did you mean {close[0]!r}?)"
    elif list_known:
        hint = f" (known: {', '.join(sorted(known)) or 'none'})"
    else:
        hint = ""
    return UnknownNameError(field, f"unknown {kind} {name!r}{hint}")
