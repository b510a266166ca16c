"""The text tables the label tables are written in: one ``name | unit | definition`` row a line.

A row is a line that does not start with a space and every following line that does (joined
by one space), so long rows wrap; its last field takes whatever is left after the others.
"""

from __future__ import annotations


def parse_rows(text: str, fields: int = 3) -> dict[str, tuple[str, ...]]:
    """Name -> the row's other fields, in order, of a text table of ``fields`` fields.

    Examples
    --------
    >>> parse_rows("a | x | first\\n    line\\nb |  | second")
    {'a': ('x', 'first line'), 'b': ('', 'second')}
    """
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith(" "):
            lines[-1] += " " + line.strip()
        elif line.strip():
            lines.append(line.strip())
    rows = [[part.strip() for part in line.split("|", fields - 1)] for line in lines]
    for row in rows:
        if len(row) != fields:
            raise ValueError(f"a text-table row needs {fields} fields: {row[0]!r}")
    return {name: tuple(rest) for name, *rest in rows}
