"""Where a key is written in a TOML file: its exact line, for ``file:line`` in error messages.

``tomllib`` gives the values and no positions. This module parses the same text with the
tree-sitter TOML grammar (a concrete syntax tree with the position of every token) and walks it
the way a TOML reader resolves keys: table headers, dotted and quoted keys, inline tables, arrays
and arrays of tables (``[[a]]`` counts its elements). The result maps every key's full dotted
path to the line it is written on, so the same key name under two tables has two lines.

It is only asked after an error, about a file ``tomllib`` has already read, so it never has to
make sense of invalid TOML.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

_KEYS = ("bare_key", "quoted_key", "dotted_key")
"""Node types of a key in the grammar."""


@cache
def _language() -> Any:
    """The TOML grammar, loaded once (imported here: only an error needs it)."""
    import tree_sitter
    import tree_sitter_toml

    return tree_sitter.Language(tree_sitter_toml.language())


def _line(node: Any) -> int:
    """1-based line a node starts on."""
    return int(node.start_point[0]) + 1


def _key_parts(node: Any) -> list[str]:
    """The names of a key node: ``a."b.c".d`` -> ``["a", "b.c", "d"]`` (quotes decoded)."""
    if node.type == "dotted_key":
        return [part for child in node.children if child.type in _KEYS
                for part in _key_parts(child)]
    text = node.text.decode("utf-8")
    if node.type == "quoted_key":  # escapes decoded by the TOML reader itself
        return [next(iter(tomllib.loads(f"{text} = 0")))]
    return [text]


def _values(node: Any) -> list[Any]:
    """Named children that are not keys or comments: a pair's value, an array's items."""
    return [c for c in node.children if c.is_named and c.type not in (*_KEYS, "comment")]


def _joined(parts: list[str]) -> str:
    return ".".join(parts)


class _Walk:
    """One pass over a document's syntax tree, filling :attr:`lines`."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        """Dotted path -> line: a key's own line, an array item's, a table's header's."""
        self._defined: set[str] = set()
        """Paths written out (a header or a key), as opposed to implied by a longer one."""
        self._elements: dict[str, int] = {}
        """Array of tables -> elements seen so far."""

    def _mark(self, parts: list[str], line: int) -> None:
        """``parts`` is written on ``line``; its prefixes are implied there unless seen before."""
        for n in range(1, len(parts)):
            self.lines.setdefault(_joined(parts[:n]), line)
        path = _joined(parts)
        if path not in self._defined:  # a header after a subtable's header still wins
            self.lines[path] = line
            self._defined.add(path)

    def _header(self, names: list[str], new_element: bool) -> list[str]:
        """Full path of a ``[table]`` or ``[[array]]`` header, with array-of-tables indices."""
        path: list[str] = []
        for i, name in enumerate(names):
            path.append(name)
            so_far = _joined(path)
            if new_element and i == len(names) - 1:
                n = self._elements.get(so_far, 0)
                self._elements[so_far] = n + 1
                path.append(str(n))
            elif so_far in self._elements:  # [a.b] under [[a]]: the latest element of a
                path.append(str(self._elements[so_far] - 1))
        return path

    def document(self, root: Any) -> None:
        for node in root.children:
            if node.type == "pair":
                self._pair(node, [])
            elif node.type in ("table", "table_array_element"):
                key = next(c for c in node.children if c.type in _KEYS)
                path = self._header(_key_parts(key), node.type == "table_array_element")
                self._mark(path, _line(node))
                for child in node.children:
                    if child.type == "pair":
                        self._pair(child, path)

    def _pair(self, node: Any, table: list[str]) -> None:
        key = next(c for c in node.children if c.type in _KEYS)
        path = [*table, *_key_parts(key)]
        self._mark(path, _line(key))
        self._value(_values(node)[-1], path)

    def _value(self, node: Any, path: list[str]) -> None:
        if node.type == "inline_table":
            for child in node.children:
                if child.type == "pair":
                    self._pair(child, path)
        elif node.type == "array":
            for i, item in enumerate(_values(node)):
                self._mark([*path, str(i)], _line(item))
                self._value(item, [*path, str(i)])


def key_lines(text: str) -> dict[str, int]:
    """Line of every key, table header and array item of a TOML document, by dotted path.

    Parameters
    ----------
    text
        TOML text (valid: ``tomllib`` has read it).

    Returns
    -------
    dict
        ``{"set.planner.pue": 6, "set.fleet.pipeline.0": 9, ...}``: the full path of each key
        (array items and array-of-tables elements by their index) to its 1-based line. A path
        implied by a longer one (``set.planner`` of ``planner.pue`` under ``[set]``) has the line
        of its first mention.
    """
    import tree_sitter

    tree = tree_sitter.Parser(_language()).parse(text.encode("utf-8"))
    walk = _Walk()
    walk.document(tree.root_node)
    return walk.lines


def key_line(path: Path, table: str, key: str, rest: str = "") -> int | None:
    """Line of ``key`` under ``table`` in a TOML file, or of the deepest part of ``rest`` below it.

    Parameters
    ----------
    path
        The TOML file.
    table
        Dotted path of the table the key is written under (``set``, ``override.NAME``; ``""`` for
        the top level).
    key
        Dotted key (``planner.price_usd.H20``); written as ``key+`` (append) is found too.
    rest
        Dotted path below ``key`` (``0.supply_factor`` for a field of the first table of a list
        key): the line of its deepest part that the file writes, else the key's own line.

    Returns
    -------
    int or None
        1-based line, or ``None`` when the file cannot be read or does not write the key.
    """
    try:
        lines = key_lines(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    below = rest.split(".") if rest else []
    for n in range(len(below), -1, -1):
        for name in (key, f"{key}+"):
            hit = lines.get(_joined([p for p in (table, name, *below[:n]) if p]))
            if hit is not None:
                return hit
    return None


def key_where(path: Path, table: str, key: str, rest: str = "") -> str:
    """``file:line`` of a key (see :func:`key_line`), or ``file`` when the line is not found."""
    line = key_line(path, table, key, rest)
    return f"{path}:{line}" if line else str(path)


def key_on_line(text: str, line: int, column: int | None = None) -> str | None:
    """Dotted path of the key (or array item) a value on ``line`` belongs to, in a TOML text.

    For an error about a value found by a scan of the text, before ``tomllib`` reads it (a
    number too long to convert): the syntax tree still has the key's position.

    Parameters
    ----------
    text
        TOML text.
    line
        1-based line of the value.
    column
        0-based column of the value: of several keys on the line (``a = 1, b = 2`` in an inline
        table), the one written last before it. Default: the deepest key on the line.

    Returns
    -------
    str or None
        ``"set.planner.pue"``-style path, or ``None`` when no key is on that line.
    """
    on_line = [path for path, at in key_lines(text).items() if at == line]
    if not on_line:
        return None
    deepest = max(on_line, key=lambda p: p.count("."))
    if column is None:
        return deepest
    written = text.split("\n", line)[line - 1][:column]
    before = [(written.rfind(p.rsplit(".", 1)[-1]), p.count("."), p) for p in on_line]
    found = [b for b in before if b[0] >= 0]
    return max(found)[2] if found else deepest
