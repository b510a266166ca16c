"""Input keys, CSV columns and disclosure metrics renamed by issue #27 (currency-free
keys), old -> new. Written by ``docs/rename_keys.py``; do not edit by hand.

An old name in a scenario file, ``--set`` or a subject folder stops with one line naming
the new one (:func:`renamed_hint`); ``docs/key-map.md`` lists every rename.
"""

from __future__ import annotations

RENAMED: dict[str, str] = {}
"""Old input name -> new."""


def renamed_hint(name: str) -> str | None:
    """``renamed to 'new'`` when ``name`` (a key or its last dotted part) is an old
    input name, else None."""
    leaf = str(name).split(".")[-1]
    if leaf not in RENAMED:
        return None
    return f"renamed to {RENAMED[leaf]!r} (docs/key-map.md: keys carry no currency)"
